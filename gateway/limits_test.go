package gateway

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc"

	"github.com/beaconcms/beacon/platform/grpcserver"
	"github.com/beaconcms/beacon/platform/ratelimit"
)

func TestEdgeRateLimits(t *testing.T) {
	cfg := DefaultConfig()
	cfg.PerAddress = ratelimit.Quota{Requests: 2, Window: time.Minute}
	cfg.PerSite = ratelimit.Quota{Requests: 3, Window: time.Minute}
	h := newSitesEdgeWith(t, cfg)
	type step struct {
		name, from, path string
		want             int
		policy           string // of the 429
	}
	steps := []step{
		{"management 1 from A", "10.0.0.1:1000", "/v1/sites/s1", 401, ""},
		{"management 2 from A, another port", "10.0.0.1:2000", "/v1/sites/s1", 401, ""},
		{"management 3 from A: refused", "10.0.0.1:1000", "/v1/sites", 429, `"address";q=2;w=60`},
		{"management from B", "10.0.0.2:1000", "/v1/sites/s1", 401, ""},
		{"delivery is not limited per address", "10.0.0.1:1000", "/v1/sites/s1/articles", http.StatusTeapot, ""},
		{"delivery s1, 2", "10.0.0.3:1000", "/v1/sites/s1/articles/a", http.StatusTeapot, ""},
		{"delivery s1, 3", "10.0.0.4:1000", "/v1/sites/s1/articles", http.StatusTeapot, ""},
		{"delivery s1, 4: refused for the site", "10.0.0.5:1000", "/v1/sites/s1/articles", 429, `"site";q=3;w=60`},
		{"delivery of another site", "10.0.0.5:1000", "/v1/sites/s2/articles", http.StatusTeapot, ""},
		{"health is not limited", "10.0.0.1:1000", "/healthz", 200, ""},
	}
	for _, s := range steps {
		req := httptest.NewRequest("GET", s.path, nil)
		req.RemoteAddr = s.from
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != s.want {
			t.Fatalf("%s: %d, want %d; body %s", s.name, rec.Code, s.want, rec.Body)
		}
		if s.want != 429 {
			continue
		}
		name := strings.Trim(strings.Split(s.policy, ";")[0], `"`)
		wantRetry := "30" // one request back every 60s/2
		if name == "site" {
			wantRetry = "20"
		}
		if got := rec.Header().Get("Retry-After"); got != wantRetry {
			t.Errorf("%s: Retry-After %q, want %s", s.name, got, wantRetry)
		}
		if got := rec.Header().Get("RateLimit-Policy"); got != s.policy {
			t.Errorf("%s: RateLimit-Policy %q, want %s", s.name, got, s.policy)
		}
		if got := rec.Header().Get("RateLimit"); got != `"`+name+`";r=0;t=`+wantRetry {
			t.Errorf("%s: RateLimit %q", s.name, got)
		}
		if !strings.Contains(rec.Body.String(), `"code":8`) || !strings.Contains(rec.Body.String(), "too many requests") {
			t.Errorf("%s: body %s; want RESOURCE_EXHAUSTED saying too many requests", s.name, rec.Body)
		}
	}
}

// TestServiceRefusalHeaders: a service's per-caller refusal (mapped once by grpcserver.Status)
// reaches a REST client as 429 with Retry-After and the RateLimit fields.
func TestServiceRefusalHeaders(t *testing.T) {
	st := grpcserver.Status(t.Context(), nil, "/x", ratelimit.Refusal(ratelimit.PolicyCaller, ratelimit.Quota{Requests: 600, Window: time.Minute}, 4200*time.Millisecond, "from apiKeys/k"))
	rec := httptest.NewRecorder()
	hideTransportErrors(t.Context(), runtime.NewServeMux(), &runtime.JSONPb{}, rec, httptest.NewRequest("GET", "/v1/sites", nil), st.Err())
	want := map[string]string{"Retry-After": "5", "RateLimit-Policy": `"caller";q=600;w=60`, "RateLimit": `"caller";r=0;t=5`}
	for k, v := range want {
		if got := rec.Header().Get(k); got != v {
			t.Errorf("%s %q, want %q", k, got, v)
		}
	}
	if rec.Code != 429 {
		t.Errorf("status %d, want 429", rec.Code)
	}
}

// BenchmarkReadRoute measures the edge on a delivery route: without limits nothing is installed
// on it (the per-address and per-caller limits apply to management calls only); a per-site
// limit costs one bucket take.
func BenchmarkReadRoute(b *testing.B) {
	for _, bc := range []struct {
		name string
		cfg  func(*Config)
	}{
		{"no limits", func(*Config) {}},
		{"management limits set", func(c *Config) { c.PerAddress = ratelimit.Quota{Requests: 1000, Window: time.Second} }},
		{"per-site limit set", func(c *Config) { c.PerSite = ratelimit.Quota{Requests: 1 << 30, Window: time.Second} }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			cfg := DefaultConfig()
			bc.cfg(&cfg)
			h, err := New(b.Context(), cfg, Upstreams{ReadSides: []ReadSide{okSide{}}, Verifier: &countingVerifier{},
				Conns: map[string]*grpc.ClientConn{}, Routes: map[string]RegisterFunc{}})
			if err != nil {
				b.Fatal(err)
			}
			req := httptest.NewRequest("GET", "/v1/sites/s1/articles/a", nil)
			w := &discardWriter{header: http.Header{}}
			b.ReportAllocs()
			for b.Loop() {
				clear(w.header)
				h.ServeHTTP(w, req)
			}
			if w.status != 200 {
				b.Fatalf("status %d", w.status)
			}
		})
	}
}

type okSide struct{}

func (okSide) Segments() []string { return []string{"articles"} }
func (okSide) ServeRead(w http.ResponseWriter, _ *http.Request, _ ReadRequest) {
	w.WriteHeader(200)
}

type discardWriter struct {
	header http.Header
	status int
}

func (d *discardWriter) Header() http.Header         { return d.header }
func (d *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (d *discardWriter) WriteHeader(code int)        { d.status = code }
