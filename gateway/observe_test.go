package gateway

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
	"time"

	contentv1 "github.com/beaconcms/beacon/gen/beacon/content/v1"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/beaconcms/beacon/platform/apperr"
	"github.com/beaconcms/beacon/platform/metrics"
	"github.com/beaconcms/beacon/platform/ratelimit"
	"github.com/beaconcms/beacon/platform/requestid"
)

// answeringSide answers its read routes like a delivery read side: 200 with a small JSON body
// for any item but "missing", which is a 404 written by WriteError. It records the request id
// each request's context carried.
type answeringSide struct {
	segments []string
	ids      []string
}

var answerBody = []byte(`{"name":"articles/a1","title":"Kratom and you"}`)

func (s *answeringSide) Segments() []string { return s.segments }

func (s *answeringSide) ServeRead(w http.ResponseWriter, r *http.Request, req ReadRequest) {
	s.ids = append(s.ids, requestid.From(r.Context()))
	if req.Item == "missing" {
		WriteError(w, r, nil, apperr.New(apperr.NotFound, "no such article"))
		return
	}
	w.Header()["Content-Type"] = hdrJSON
	_, _ = w.Write(answerBody)
}

// observedEdge is an edge with a content read side and a management route whose service is
// down (503), wrapped by Observe with metrics and a JSON log.
type observedEdge struct {
	handler http.Handler
	side    *answeringSide
	reg     *prometheus.Registry
	logs    *bytes.Buffer
}

func newObservedEdge(tb testing.TB, sample float64) *observedEdge {
	tb.Helper()
	return newObservedEdgeWith(tb, sample, DefaultConfig(), nil)
}

// newObservedEdgeWith is newObservedEdge with the edge's cfg and the sites' CORS origins.
func newObservedEdgeWith(tb testing.TB, sample float64, cfg Config, origins SiteOrigins) *observedEdge {
	tb.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	deadAddr := lis.Addr().String()
	_ = lis.Close()
	conn, err := grpc.NewClient(deadAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = conn.Close() })
	o := &observedEdge{side: &answeringSide{segments: []string{"articles", "search"}}, reg: prometheus.NewRegistry(), logs: &bytes.Buffer{}}
	m := metrics.NewHTTP(o.reg)
	edge, err := New(tb.Context(), cfg, Upstreams{
		Conns:     map[string]*grpc.ClientConn{"content": conn},
		Routes:    map[string]RegisterFunc{"content": contentv1.RegisterArticleServiceHandler},
		ReadSides: []ReadSide{o.side},
		Verifier:  &countingVerifier{},
		Metrics:   m,
		Origins:   origins,
	})
	if err != nil {
		tb.Fatal(err)
	}
	logger := slog.New(requestid.LogHandler(slog.NewJSONHandler(o.logs, nil)))
	o.handler = Observe(edge, ObserveConfig{Metrics: m, Logger: logger, AccessLogSample: sample, IDs: requestid.NewGenerator()})
	return o
}

func (o *observedEdge) do(method, path, id string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, nil)
	if id != "" {
		req.Header.Set(requestid.Header, id)
	}
	rec := httptest.NewRecorder()
	o.handler.ServeHTTP(rec, req)
	return rec
}

func TestObserveTakesOrMakesTheRequestID(t *testing.T) {
	o := newObservedEdge(t, 0)
	for _, tc := range []struct {
		name, sent string
		kept       bool
	}{
		{"uuid", "3f2b8c1e-6f0a-4b7e-9a55-0c2d4e6f8a91", true},
		{"with dots, colons and underscores", "lb:7.req_42", true},
		{"none sent", "", false},
		{"a space", "abc 123", false},
		{"a quote", `abc"123`, false},
		{"non-ASCII", "ré-1", false},
		{"too long", strings.Repeat("a", requestid.MaxLen+1), false},
		{"longest taken", strings.Repeat("a", requestid.MaxLen), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := o.do("GET", "/v1/sites/s1/articles/a1", tc.sent)
			got := rec.Header().Get(requestid.Header)
			switch {
			case tc.kept && got != tc.sent:
				t.Errorf("echoed %q, want the sent id %q", got, tc.sent)
			case !tc.kept && (got == tc.sent || !requestid.Valid(got)):
				t.Errorf("echoed %q for %q; want a fresh valid id", got, tc.sent)
			}
			if seen := o.side.ids[len(o.side.ids)-1]; seen != got {
				t.Errorf("the read side's context carried %q, the response %q", seen, got)
			}
		})
	}
	a, b := o.do("GET", "/v1/sites/s1/articles/a1", ""), o.do("GET", "/v1/sites/s1/articles/a1", "")
	if a.Header().Get(requestid.Header) == b.Header().Get(requestid.Header) {
		t.Error("two requests without an id got the same one")
	}
}

func TestObserveErrorBodiesCarryTheRequestID(t *testing.T) {
	o := newObservedEdge(t, 0)
	for _, tc := range []struct {
		name, path string
		status     int
	}{
		{"read route (WriteError)", "/v1/sites/s1/articles/missing", http.StatusNotFound},
		{"management route (grpc-gateway)", "/v1/articles/a1", http.StatusServiceUnavailable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := o.do("GET", tc.path, "err-"+tc.name[:4])
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, tc.status, rec.Body)
			}
			var body struct {
				Code      int    `json:"code"`
				Message   string `json:"message"`
				RequestID string `json:"requestId"`
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
				t.Fatalf("error body %q: %v", rec.Body, err)
			}
			if body.RequestID != "err-"+tc.name[:4] || body.Message == "" || body.Code == 0 {
				t.Errorf("error body %s; want code, message and requestId %q", rec.Body, "err-"+tc.name[:4])
			}
		})
	}
}

// TestObserveRefusalsAndCORS: what the edge answers itself before any handler, a rate limit's
// 429 and a CORS preflight, still carries the request id (header and error body), and a 429 is
// counted under its route with code 429.
func TestObserveRefusalsAndCORS(t *testing.T) {
	cfg := DefaultConfig()
	cfg.PerSite = ratelimit.Quota{Requests: 1, Window: time.Minute}
	cfg.PerAddress = ratelimit.Quota{Requests: 1, Window: time.Minute}
	origins := &mapOrigins{bySite: map[string][]string{"s1": {"https://app.example.org"}}}
	o := newObservedEdgeWith(t, 0, cfg, origins)
	send := func(method, path, id string, headers ...string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(method, path, nil)
		req.Header.Set(requestid.Header, id)
		for i := 0; i < len(headers); i += 2 {
			req.Header.Set(headers[i], headers[i+1])
		}
		rec := httptest.NewRecorder()
		o.handler.ServeHTTP(rec, req)
		return rec
	}
	for _, tc := range []struct {
		name, method, path string
		headers            []string
		want               int
		wantBodyID         bool
	}{
		{name: "delivery, first", method: "GET", path: "/v1/sites/s1/articles/a1", want: 200},
		{name: "delivery, over the site's limit", method: "GET", path: "/v1/sites/s1/articles/a1", want: 429, wantBodyID: true},
		{name: "delivery from an allowed origin, over the limit", method: "GET", path: "/v1/sites/s1/articles/a1",
			headers: []string{"Origin", "https://app.example.org"}, want: 429, wantBodyID: true},
		{name: "preflight", method: "OPTIONS", path: "/v1/sites/s1/articles/a1",
			headers: []string{"Origin", "https://app.example.org", "Access-Control-Request-Method", "GET"}, want: 204},
		{name: "management, first", method: "GET", path: "/v1/articles/a1", want: 503, wantBodyID: true},
		{name: "management, over the address's limit", method: "GET", path: "/v1/articles/a1", want: 429, wantBodyID: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id := "id-" + strings.NewReplacer(" ", "-", ",", "", "'", "").Replace(tc.name)
			rec := send(tc.method, tc.path, id, tc.headers...)
			if rec.Code != tc.want {
				t.Fatalf("status %d, want %d: %s", rec.Code, tc.want, rec.Body)
			}
			if got := rec.Header().Get(requestid.Header); got != id {
				t.Errorf("X-Request-Id %q, want %q", got, id)
			}
			if tc.wantBodyID && !strings.Contains(rec.Body.String(), `"requestId":"`+id+`"`) {
				t.Errorf("body %s; want requestId %q", rec.Body, id)
			}
			if origin := tc.headers; len(origin) > 0 && rec.Header().Get("Access-Control-Allow-Origin") != "https://app.example.org" {
				t.Errorf("Access-Control-Allow-Origin %q, want the allowed origin", rec.Header().Get("Access-Control-Allow-Origin"))
			}
		})
	}
	for _, tc := range []struct {
		route, method, code string
		want                float64
	}{
		{"/v1/sites/{site}/articles/{item}", "GET", "200", 1},
		{"/v1/sites/{site}/articles/{item}", "GET", "429", 2},
		{"/v1/{name=articles/*}", "GET", "503", 1},
		{"other", "GET", "429", 1}, // the limit per address comes before the routes are matched
	} {
		if got, routes := counter(t, o.reg, tc.route, tc.method, tc.code); got != tc.want {
			t.Errorf("requests{%s %s %s} = %v, want %v (routes %v)", tc.route, tc.method, tc.code, got, tc.want, routes)
		}
	}
}

// counter returns beacon_http_requests_total for the labels, and every route label seen.
func counter(tb testing.TB, reg *prometheus.Registry, route, method, code string) (float64, []string) {
	tb.Helper()
	families, err := reg.Gather()
	if err != nil {
		tb.Fatal(err)
	}
	var value float64
	var routes []string
	for _, f := range families {
		if f.GetName() != "beacon_http_requests_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			labels := labelsOf(m)
			routes = append(routes, labels["route"])
			if labels["route"] == route && labels["method"] == method && labels["code"] == code {
				value = m.GetCounter().GetValue()
			}
		}
	}
	return value, routes
}

func labelsOf(m *dto.Metric) map[string]string {
	out := map[string]string{}
	for _, l := range m.GetLabel() {
		out[l.GetName()] = l.GetValue()
	}
	return out
}

func TestObserveCountsByRoutePattern(t *testing.T) {
	o := newObservedEdge(t, 0)
	requests := []struct{ method, path string }{
		{"GET", "/v1/sites/s1/articles"},
		{"GET", "/v1/sites/s2/articles"},
		{"HEAD", "/v1/sites/s1/articles"},
		{"GET", "/v1/sites/s1/articles/a1"},
		{"GET", "/v1/sites/s9/articles/a2"},
		{"GET", "/v1/sites/s1/articles/missing"},
		{"GET", "/v1/sites/s1/search"},
		{"GET", "/healthz"},
		{"GET", "/v1/articles/a1"},
		{"DELETE", "/v1/articles/a2"},
		{"GET", "/no/such/route"},
		{"BREW", "/v1/sites/s1/articles"},
	}
	for _, r := range requests {
		o.do(r.method, r.path, "")
	}
	for _, tc := range []struct {
		route, method, code string
		want                float64
	}{
		{"/v1/sites/{site}/articles", "GET", "200", 2},
		{"/v1/sites/{site}/articles", "HEAD", "200", 1},
		{"/v1/sites/{site}/articles/{item}", "GET", "200", 2},
		{"/v1/sites/{site}/articles/{item}", "GET", "404", 1},
		{"/v1/sites/{site}/search", "GET", "200", 1},
		{"/healthz", "GET", "200", 1},
		{"/v1/{name=articles/*}", "GET", "503", 1},
		{"/v1/{name=articles/*}", "DELETE", "503", 1},
		{"other", "GET", "404", 1},
		{"other", "OTHER", "405", 1}, // an unknown method: not a read route, no pattern
	} {
		if got, routes := counter(t, o.reg, tc.route, tc.method, tc.code); got != tc.want {
			t.Errorf("requests{%s %s %s} = %v, want %v (routes %v)", tc.route, tc.method, tc.code, got, tc.want, routes)
		}
	}
	_, routes := counter(t, o.reg, "", "", "")
	for _, r := range routes {
		if strings.Contains(r, "s1") || strings.Contains(r, "a1") || strings.Contains(r, "/no/") {
			t.Errorf("route label %q holds a raw path", r)
		}
	}
}

// logLines returns the JSON log records with msg "http".
func (o *observedEdge) logLines(tb testing.TB) []map[string]any {
	tb.Helper()
	var out []map[string]any
	for line := range strings.Lines(o.logs.String()) {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			tb.Fatalf("log line %q: %v", line, err)
		}
		if rec["msg"] == "http" {
			out = append(out, rec)
		}
	}
	return out
}

func TestObserveLogs(t *testing.T) {
	for _, tc := range []struct {
		name      string
		sample    float64
		wantReads int
	}{
		{"delivery access logs off (default)", 0, 0},
		{"every delivery request logged", 1, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := newObservedEdge(t, tc.sample)
			o.do("GET", "/v1/sites/s1/articles", "read-1")
			o.do("GET", "/v1/sites/s1/articles/missing", "read-2")
			o.do("GET", "/healthz", "probe-1")
			o.do("DELETE", "/v1/articles/a1", "manage-1")
			reads, manages := 0, 0
			for _, rec := range o.logLines(t) {
				id, _ := rec["request_id"].(string)
				switch {
				case strings.HasPrefix(id, "read-"):
					reads++
				case id == "manage-1":
					manages++
					if rec["method"] != "DELETE" || rec["route"] != "/v1/{name=articles/*}" || rec["path"] != "/v1/articles/a1" ||
						rec["status"] != float64(503) || rec["level"] != "INFO" {
						t.Errorf("management log line %v; want method, route, path, status 503 at INFO", rec)
					}
					if _, ok := rec["duration_ms"].(float64); !ok {
						t.Errorf("management log line %v has no duration_ms", rec)
					}
				case id == "probe-1":
					t.Errorf("a health probe was logged: %v", rec)
				default:
					t.Errorf("log line without a known request id: %v", rec)
				}
			}
			if reads != tc.wantReads || manages != 1 {
				t.Errorf("logged %d delivery and %d management requests, want %d and 1", reads, manages, tc.wantReads)
			}
		})
	}
}

// The delivery path pays a fixed, small number of allocations for observing it: the request's
// state, the request's shallow copy, and the id when the client sent none.
func TestObserveAllocations(t *testing.T) {
	o := newObservedEdge(t, 0)
	bare := newTestEdge(t, &countingVerifier{}, &answeringSide{segments: []string{"articles"}})
	measure := func(h http.Handler, id string) float64 {
		req := httptest.NewRequest("GET", "/v1/sites/s1/articles/a1", nil)
		if id != "" {
			req.Header.Set(requestid.Header, id)
		}
		w := &discardWriter{header: http.Header{}}
		h.ServeHTTP(w, req) // warm the route's metric cache
		return testing.AllocsPerRun(200, func() {
			clear(w.header)
			h.ServeHTTP(w, req)
		})
	}
	base := measure(bare, "")
	for _, tc := range []struct {
		id    string
		extra float64
	}{{"sent-by-client", 2}, {"", 3}} {
		if got := measure(o.handler, tc.id) - base; got > tc.extra {
			t.Errorf("Observe with id %q costs %v allocations per request, want at most %v", tc.id, got, tc.extra)
		}
	}
}

// BenchmarkObservedReadRoute measures one delivery request through the edge, bare and observed
// (request id, metrics, sampled-off access log).
func BenchmarkObservedReadRoute(b *testing.B) {
	o := newObservedEdge(b, 0)
	bare := newTestEdge(b, &countingVerifier{}, &answeringSide{segments: []string{"articles"}})
	for _, bc := range []struct {
		name string
		h    http.Handler
		id   string
	}{{"bare", bare, ""}, {"observed", o.handler, ""}, {"observed-client-id", o.handler, "lb-1234"}} {
		b.Run(bc.name, func(b *testing.B) {
			req := httptest.NewRequest("GET", "/v1/sites/s1/articles/a1", nil)
			if bc.id != "" {
				req.Header.Set(requestid.Header, bc.id)
			}
			w := &discardWriter{header: http.Header{}}
			b.ReportAllocs()
			cpu := processCPU()
			for b.Loop() {
				clear(w.header)
				bc.h.ServeHTTP(w, req)
			}
			// On a shared machine wall-clock ns/op measures the queue for a core; the process's
			// CPU time per request (all threads, GC included) does not.
			b.ReportMetric(float64(processCPU()-cpu)/float64(b.N), "cpu-ns/op")
		})
	}
}

// processCPU is the CPU time the process has used (user and system), in nanoseconds.
func processCPU() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
