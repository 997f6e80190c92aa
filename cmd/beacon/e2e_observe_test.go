package main_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	contentv1 "github.com/beaconcms/beacon/gen/beacon/content/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
)

// scrape returns the metrics text of url.
func scrape(tb testing.TB, url string) string {
	tb.Helper()
	resp, err := http.Get(url)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		tb.Fatalf("GET %s = %d: %s", url, resp.StatusCode, b)
	}
	return string(b)
}

// metricValue returns the value of the sample whose line starts with series (name and labels
// exactly as exposed), or -1 when there is none.
func metricValue(text, series string) float64 {
	for line := range strings.Lines(text) {
		if rest, ok := strings.CutPrefix(line, series+" "); ok {
			v, err := strconv.ParseFloat(strings.TrimSpace(rest), 64)
			if err == nil {
				return v
			}
		}
	}
	return -1
}

// A real beacon with --metrics-addr: after a delivery request and a gRPC call, /metrics on the
// metrics port (and not the public one) counts both, with the read models, the scheduler, the
// store and the Go runtime; request ids are echoed, carried to the service and logged; the
// health endpoint and the startup log carry the version.
func TestObservability(t *testing.T) {
	in := startDev(t, t.TempDir(), "--metrics-addr", "127.0.0.1:0", "--log-level", "info", "--log-format", "json",
		"--access-log-sample", "1")
	if in.metricsURL == "" {
		t.Fatal("no metrics address printed")
	}

	// A delivery request with an id of its own, one with an invalid id, a management call.
	req, _ := http.NewRequest("GET", in.restURL+"/v1/sites/kratom-help/articles", nil)
	req.Header.Set("X-Request-Id", "e2e-delivery-1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("X-Request-Id") != "e2e-delivery-1" {
		t.Errorf("delivery: %d, X-Request-Id %q; want 200 and the id echoed", resp.StatusCode, resp.Header.Get("X-Request-Id"))
	}
	req, _ = http.NewRequest("GET", in.restURL+"/v1/sites/kratom-help/articles/no-such-article", nil)
	req.Header.Set("X-Request-Id", "not valid!")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var errBody struct {
		RequestID string `json:"requestId"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&errBody)
	resp.Body.Close()
	made := resp.Header.Get("X-Request-Id")
	if resp.StatusCode != 404 || made == "" || made == "not valid!" || errBody.RequestID != made {
		t.Errorf("404 with an invalid id: X-Request-Id %q, body requestId %q; want a fresh id in both", made, errBody.RequestID)
	}
	req, _ = http.NewRequest("GET", in.restURL+"/v1/articles", nil)
	req.Header.Set("Authorization", "Bearer "+in.adminKey)
	req.Header.Set("X-Request-Id", "e2e-management-1")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("management list = %d", resp.StatusCode)
	}

	// A gRPC call with its own request id.
	conn, err := grpc.NewClient(in.grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(metadata.AppendToOutgoingContext(context.Background(),
		"authorization", "Bearer "+in.adminKey, "x-request-id", "e2e-grpc-1"), 10*time.Second)
	defer cancel()
	if _, err := contentv1.NewArticleServiceClient(conn).ListArticles(ctx, &contentv1.ListArticlesRequest{}); err != nil {
		t.Fatalf("gRPC ListArticles: %v", err)
	}

	health := in.call(t, "", "GET", "/healthz", nil).must(t, 200)
	if v := health.str("version"); v == "" {
		t.Errorf("/healthz %s: no version", health.raw)
	}
	if r := in.call(t, "", "GET", "/metrics", nil); r.status != 404 {
		t.Errorf("/metrics on the public port = %d, want 404", r.status)
	}

	text := scrape(t, in.metricsURL)
	for _, tc := range []struct {
		series string
		min    float64
	}{
		{`beacon_http_requests_total{code="200",method="GET",route="/v1/sites/{site}/articles"}`, 1},
		{`beacon_http_requests_total{code="404",method="GET",route="/v1/sites/{site}/articles/{item}"}`, 1},
		{`beacon_http_requests_total{code="200",method="GET",route="/v1/articles"}`, 1},
		{`beacon_http_request_duration_seconds_count{method="GET",route="/v1/sites/{site}/articles"}`, 1},
		// The REST management call and the direct gRPC call.
		{`grpc_server_handled_total{grpc_code="OK",grpc_method="ListArticles",grpc_service="beacon.content.v1.ArticleService",grpc_type="unary"}`, 2},
		{`grpc_server_handling_seconds_count{grpc_method="ListArticles",grpc_service="beacon.content.v1.ArticleService",grpc_type="unary"}`, 2},
		{`beacon_read_model_entries{read_model="content"}`, 1},
		{`beacon_read_model_bytes{read_model="content"}`, 1},
		{`beacon_read_model_render_cache_budget_bytes{read_model="content"}`, 16 << 20}, // the default
		{`beacon_read_model_render_cache_renders_total{read_model="content"}`, 0},       // present
		{`beacon_read_model_entries{read_model="resources"}`, 1},
		{`beacon_read_model_last_change_age_seconds{read_model="content"}`, 0},
		{`beacon_scheduler_runs_total{scheduler="content"}`, 0}, // present; its first run may be a second away
		{`beacon_store_command_duration_seconds_count{collection="api_keys",command="find",database="beacon_access"}`, 1},
		{`go_goroutines`, 1},
	} {
		if got := metricValue(text, tc.series); got < tc.min {
			t.Errorf("%s = %v, want at least %v", tc.series, got, tc.min)
		}
	}
	// Beacon's GOGC default (--gc-percent) is applied, unless the test's environment sets GOGC.
	if wantGOGC := 75.0; os.Getenv("GOGC") == "" && metricValue(text, "go_gc_gogc_percent") != wantGOGC {
		t.Errorf("go_gc_gogc_percent = %v, want %v", metricValue(text, "go_gc_gogc_percent"), wantGOGC)
	}
	if regexp.MustCompile(`route="[^"]*kratom-help`).MatchString(text) {
		t.Error("a route label holds a raw path")
	}

	in.stop(t)
	logs := in.stderr.String()
	if strings.Contains(logs, in.adminKey) {
		t.Error("the log holds the admin key's secret")
	}
	type record map[string]any
	var records []record
	sc := bufio.NewScanner(strings.NewReader(logs))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var r record
		if json.Unmarshal(sc.Bytes(), &r) == nil {
			records = append(records, r)
		}
	}
	find := func(msg, id string) record {
		for _, r := range records {
			if r["msg"] == msg && r["request_id"] == id {
				return r
			}
		}
		return nil
	}
	for _, tc := range []struct{ msg, id string }{
		{"http", "e2e-delivery-1"}, {"http", made}, {"http", "e2e-management-1"},
		{"rpc", "e2e-management-1"}, // the gateway carried the id to the service
		{"rpc", "e2e-grpc-1"},
	} {
		r := find(tc.msg, tc.id)
		if r == nil {
			t.Errorf("no %q log line with request_id %q", tc.msg, tc.id)
			continue
		}
		if _, ok := r["duration_ms"].(float64); !ok || r["level"] != "INFO" {
			t.Errorf("log line %v: want INFO with duration_ms", r)
		}
		if tc.msg == "rpc" && !strings.HasPrefix(r["caller"].(string), "apiKeys/") {
			t.Errorf("rpc log line %v: want the caller key's name", r)
		}
	}
	var started bool
	for _, r := range records {
		if r["msg"] == "beacon starting" && r["version"] != nil && r["version"] != "" {
			started = true
		}
	}
	if !started {
		t.Error("no startup log line with the version")
	}
}

// beacon version prints the version the build injected with -ldflags (TestMain builds the
// binary as make build does), which go version -m shows too.
func TestVersionCommand(t *testing.T) {
	out, err := exec.Command(beaconBinary, "version").CombinedOutput()
	if err != nil || string(out) != "beacon "+e2eVersion+"\n" {
		t.Errorf("beacon version = %q, %v; want beacon %s", out, err, e2eVersion)
	}
	out, err = exec.Command("go", "version", "-m", beaconBinary).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "main.version="+e2eVersion) {
		t.Errorf("go version -m does not show the version: %s %v", out, err)
	}
}
