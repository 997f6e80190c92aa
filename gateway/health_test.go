package gateway

import (
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	contentv1 "github.com/beaconcms/beacon/gen/beacon/content/v1"
)

// TestHealthEndpointsDoNotFollowUpstreams: with every service unreachable, /healthz (liveness)
// and /readyz (readiness) stay 200, read routes keep answering from memory, and nothing names an
// internal address. /readyz turns 503 only when the edge says it is not ready (shutting down).
func TestHealthEndpointsDoNotFollowUpstreams(t *testing.T) {
	// An address nothing listens on: the service is down.
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadAddr := lis.Addr().String()
	_ = lis.Close()
	conn, err := grpc.NewClient(deadAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()

	var ready atomic.Bool
	ready.Store(true)
	side := &recordingSide{segments: []string{"articles"}}
	cfg := DefaultConfig()
	cfg.Version = "v1.2.3-test"
	h, err := New(t.Context(), cfg, Upstreams{
		Conns:     map[string]*grpc.ClientConn{"content": conn},
		Routes:    map[string]RegisterFunc{"content": contentv1.RegisterArticleServiceHandler},
		ReadSides: []ReadSide{side},
		Verifier:  &countingVerifier{down: true},
		Ready:     ready.Load,
	})
	if err != nil {
		t.Fatal(err)
	}
	do := func(method, path string) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(method, path, nil))
		if strings.Contains(rec.Body.String(), deadAddr) || strings.Contains(rec.Body.String(), "127.0.0.1") {
			t.Errorf("%s %s exposes an internal address: %s", method, path, rec.Body)
		}
		return rec
	}

	for _, tc := range []struct {
		method, path string
		ready        bool
		wantStatus   int
		wantBody     string
	}{
		{"GET", "/healthz", true, 200, `{"status":"SERVING","version":"v1.2.3-test"}`},
		{"GET", "/readyz", true, 200, `{"status":"SERVING","version":"v1.2.3-test"}`},
		{"HEAD", "/readyz", true, 200, ""},
		{"GET", "/healthz", false, 200, `{"status":"SERVING","version":"v1.2.3-test"}`},
		{"GET", "/readyz", false, 503, `{"status":"NOT_SERVING","version":"v1.2.3-test"}`},
		{"POST", "/healthz", true, 405, ""},
	} {
		ready.Store(tc.ready)
		rec := do(tc.method, tc.path)
		if rec.Code != tc.wantStatus {
			t.Errorf("%s %s (ready %v) = %d, want %d", tc.method, tc.path, tc.ready, rec.Code, tc.wantStatus)
		}
		if tc.wantBody != "" && rec.Body.String() != tc.wantBody {
			t.Errorf("%s %s body = %q, want %q", tc.method, tc.path, rec.Body, tc.wantBody)
		}
		if tc.method == "HEAD" && rec.Body.Len() != 0 {
			t.Errorf("HEAD %s has a body", tc.path)
		}
	}

	ready.Store(true)
	if rec := do("GET", "/v1/sites/s1/articles"); rec.Code != http.StatusTeapot {
		t.Errorf("read route with the services down = %d, want the read side's answer", rec.Code)
	}
	if rec := do("GET", "/v1/articles/a1"); rec.Code != http.StatusServiceUnavailable {
		t.Errorf("management route with its service down = %d, want 503", rec.Code)
	}
}
