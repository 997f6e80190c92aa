package main_test

import (
	"bytes"
	"compress/gzip"
	"crypto/rand"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"sync"
	"testing"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"
)

// otlpReceiver is a tiny OTLP/HTTP collector: it keeps every span it is sent, with the
// beacon.target of the process that sent it.
type otlpReceiver struct {
	mu    sync.Mutex
	spans []receivedSpan
}

type receivedSpan struct {
	target string
	span   *tracepb.Span
}

func (rc *otlpReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/v1/traces" {
		http.NotFound(w, r)
		return
	}
	var body io.Reader = r.Body
	if r.Header.Get("Content-Encoding") == "gzip" {
		gz, err := gzip.NewReader(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		body = gz
	}
	raw, err := io.ReadAll(body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var req coltracepb.ExportTraceServiceRequest
	if err := proto.Unmarshal(raw, &req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	rc.mu.Lock()
	for _, rs := range req.GetResourceSpans() {
		target := ""
		for _, kv := range rs.GetResource().GetAttributes() {
			if kv.GetKey() == "beacon.target" {
				target = kv.GetValue().GetStringValue()
			}
		}
		for _, ss := range rs.GetScopeSpans() {
			for _, s := range ss.GetSpans() {
				rc.spans = append(rc.spans, receivedSpan{target: target, span: s})
			}
		}
	}
	rc.mu.Unlock()
	out, _ := proto.Marshal(&coltracepb.ExportTraceServiceResponse{})
	w.Header().Set("Content-Type", "application/x-protobuf")
	_, _ = w.Write(out)
}

func (rc *otlpReceiver) trace(traceID []byte) []receivedSpan {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	var out []receivedSpan
	for _, s := range rc.spans {
		if bytes.Equal(s.span.GetTraceId(), traceID) {
			out = append(out, s)
		}
	}
	return out
}

// One trace spans the gateway and a service in another process: the edge takes the caller's
// W3C traceparent, its server span is the caller's child, the gateway's gRPC client span is the
// server span's child, and the sites service's span (in its own process, over real gRPC) is the
// client span's child. Both processes export by OTLP to a receiver of the test's.
func TestTraceSpansGatewayAndService(t *testing.T) {
	receiver := &otlpReceiver{}
	collector := httptest.NewServer(receiver)
	defer collector.Close()

	store := startUntil(t, "store ", "store", "--data-dir", t.TempDir(), "--log-level", "warn")
	shared := []string{"--mongodb-uri", store.storeURI, "--page-token-secret", strings.Repeat("p", 32), "--log-level", "warn"}
	out, err := exec.Command(beaconBinary, append([]string{"admin-key", "--key-name", "trace"}, shared...)...).Output()
	if err != nil {
		t.Fatalf("beacon admin-key: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	admin := lines[len(lines)-1]

	traced := append([]string{"--otlp-endpoint", collector.URL}, shared...)
	sites := startUntil(t, "gRPC  ", append([]string{"serve", "--target=sites", "--grpc-addr", "127.0.0.1:0"}, traced...)...)
	// A management-only gateway: the other services are never called here.
	gw := start(t, "serve", "--target=gateway", "--read-sides=", "--http-addr", "127.0.0.1:0",
		"--sites-addr", sites.grpcAddr, "--content-addr", "127.0.0.1:1", "--access-addr", "127.0.0.1:1",
		"--resources-addr", "127.0.0.1:1", "--screening-addr", "127.0.0.1:1", "--otlp-endpoint", collector.URL, "--log-level", "warn")

	traceID, parentID := make([]byte, 16), make([]byte, 8)
	_, _ = rand.Read(traceID)
	_, _ = rand.Read(parentID)
	req, _ := http.NewRequest("GET", gw.restURL+"/v1/sites", nil)
	req.Header.Set("Authorization", "Bearer "+admin)
	req.Header.Set("traceparent", "00-"+hex.EncodeToString(traceID)+"-"+hex.EncodeToString(parentID)+"-01")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET /v1/sites = %d", resp.StatusCode)
	}
	// SIGTERM sends the spans still buffered.
	gw.stop(t)
	sites.stop(t)

	spans := receiver.trace(traceID)
	find := func(target string, kind tracepb.Span_SpanKind, parent []byte) *tracepb.Span {
		for _, s := range spans {
			if s.target == target && s.span.GetKind() == kind && bytes.Equal(s.span.GetParentSpanId(), parent) {
				return s.span
			}
		}
		return nil
	}
	describe := func() string {
		var b strings.Builder
		for _, s := range spans {
			b.WriteString("\n  " + s.target + " " + s.span.GetKind().String() + " " + s.span.GetName() +
				" span " + hex.EncodeToString(s.span.GetSpanId()) + " parent " + hex.EncodeToString(s.span.GetParentSpanId()))
		}
		return b.String()
	}
	edge := find("gateway", tracepb.Span_SPAN_KIND_SERVER, parentID)
	if edge == nil {
		t.Fatalf("no gateway server span child of the caller's traceparent in the trace:%s", describe())
	}
	if edge.GetName() != "GET /v1/sites" {
		t.Errorf("gateway span named %q, want the route pattern %q", edge.GetName(), "GET /v1/sites")
	}
	client := find("gateway", tracepb.Span_SPAN_KIND_CLIENT, edge.GetSpanId())
	if client == nil {
		t.Fatalf("no gateway gRPC client span child of its server span:%s", describe())
	}
	service := find("sites", tracepb.Span_SPAN_KIND_SERVER, client.GetSpanId())
	if service == nil {
		t.Fatalf("no sites service span child of the gateway's client span:%s", describe())
	}
	if !strings.Contains(service.GetName(), "ListSites") {
		t.Errorf("service span named %q, want the gRPC method", service.GetName())
	}
}
