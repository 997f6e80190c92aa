package gateway

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// mapOrigins is SiteOrigins from a map; it counts its calls.
type mapOrigins struct {
	bySite map[string][]string
	calls  int
}

func (m *mapOrigins) AllowedOrigins(_ context.Context, site string) []string {
	m.calls++
	return m.bySite[site]
}

// scoreSide accepts POST on "{slug}:score" items, as screening's read side does.
type scoreSide struct{ recordingSide }

func (s *scoreSide) AcceptsPost(_, item string) bool { return strings.HasSuffix(item, ":score") }

// corsHeaders are the response headers of the CORS protocol.
var corsHeaders = []string{"Access-Control-Allow-Origin", "Access-Control-Allow-Methods", "Access-Control-Allow-Headers",
	"Access-Control-Max-Age", "Access-Control-Expose-Headers", "Access-Control-Allow-Credentials"}

func TestCORS(t *testing.T) {
	// Header names are case-insensitive; rs/cors writes them in Go's canonical form.
	const exposed = "Etag, Location, Retry-After, Www-Authenticate, X-Request-Id, Ratelimit, Ratelimit-Policy"
	origins := &mapOrigins{bySite: map[string][]string{
		"s1":  {"https://app.example.org", "http://localhost:5173"},
		"any": {"*"},
	}}
	content := &recordingSide{segments: []string{"articles", "feed.xml"}}
	screening := &scoreSide{recordingSide{segments: []string{"screeners"}}}
	h, err := New(t.Context(), Config{ManagementOrigins: []string{"https://admin.example.org"}},
		Upstreams{ReadSides: []ReadSide{content, screening}, Verifier: &countingVerifier{}, Origins: origins})
	if err != nil {
		t.Fatal(err)
	}
	preflight := func(method, origin, reqHeaders string) []string {
		h := []string{"Origin", origin, "Access-Control-Request-Method", method}
		if reqHeaders != "" {
			h = append(h, "Access-Control-Request-Headers", reqHeaders)
		}
		return h
	}
	tests := []struct {
		name        string
		method      string
		path        string
		headers     []string
		wantStatus  int
		wantHeaders map[string]string // "" means absent; unlisted CORS headers must be absent
	}{
		{name: "preflight from an allowed origin", method: "OPTIONS", path: "/v1/sites/s1/articles/a",
			headers: preflight("GET", "https://app.example.org", "authorization,if-none-match"), wantStatus: 204,
			wantHeaders: map[string]string{"Access-Control-Allow-Origin": "https://app.example.org", "Access-Control-Allow-Methods": "GET",
				"Access-Control-Allow-Headers": "authorization,if-none-match", "Access-Control-Max-Age": "7200",
				"Vary": "Origin, Access-Control-Request-Method, Access-Control-Request-Headers"}},
		{name: "preflight of a score POST", method: "OPTIONS", path: "/v1/sites/s1/screeners/phq-9:score",
			headers: preflight("POST", "http://localhost:5173", "content-type"), wantStatus: 204,
			wantHeaders: map[string]string{"Access-Control-Allow-Origin": "http://localhost:5173", "Access-Control-Allow-Methods": "POST",
				"Access-Control-Allow-Headers": "content-type", "Access-Control-Max-Age": "7200"}},
		{name: "preflight from another origin", method: "OPTIONS", path: "/v1/sites/s1/articles",
			headers: preflight("GET", "https://evil.example.net", ""), wantStatus: 204},
		{name: "preflight from an origin that differs in port", method: "OPTIONS", path: "/v1/sites/s1/articles",
			headers: preflight("GET", "http://localhost:5174", ""), wantStatus: 204},
		{name: "preflight for a site that allows none", method: "OPTIONS", path: "/v1/sites/s2/articles",
			headers: preflight("GET", "https://app.example.org", ""), wantStatus: 204},
		{name: "preflight asking for DELETE", method: "OPTIONS", path: "/v1/sites/s1/articles/a",
			headers: preflight("DELETE", "https://app.example.org", ""), wantStatus: 204},
		{name: "preflight asking for a header not allowed", method: "OPTIONS", path: "/v1/sites/s1/articles",
			headers: preflight("GET", "https://app.example.org", "x-secret"), wantStatus: 204},
		{name: "preflight, site allowing any origin", method: "OPTIONS", path: "/v1/sites/any/feed.xml",
			headers: preflight("GET", "https://whoever.example", ""), wantStatus: 204,
			wantHeaders: map[string]string{"Access-Control-Allow-Origin": "https://whoever.example", "Access-Control-Allow-Methods": "GET", "Access-Control-Max-Age": "7200"}},
		{name: "GET from an allowed origin", method: "GET", path: "/v1/sites/s1/articles/a",
			headers: []string{"Origin", "https://app.example.org"}, wantStatus: http.StatusTeapot,
			wantHeaders: map[string]string{"Access-Control-Allow-Origin": "https://app.example.org",
				"Access-Control-Expose-Headers": exposed, "Vary": "Origin"}},
		{name: "GET from another origin", method: "GET", path: "/v1/sites/s1/articles/a",
			headers: []string{"Origin", "https://evil.example.net"}, wantStatus: http.StatusTeapot, wantHeaders: map[string]string{"Vary": "Origin"}},
		{name: "GET without Origin", method: "GET", path: "/v1/sites/s1/articles/a", wantStatus: http.StatusTeapot, wantHeaders: map[string]string{"Vary": ""}},
		{name: "management preflight from the operator's origin", method: "OPTIONS", path: "/v1/articles/a",
			headers: preflight("PATCH", "https://admin.example.org", "authorization,content-type,if-match"), wantStatus: 204,
			wantHeaders: map[string]string{"Access-Control-Allow-Origin": "https://admin.example.org", "Access-Control-Allow-Methods": "PATCH",
				"Access-Control-Allow-Headers": "authorization,content-type,if-match", "Access-Control-Max-Age": "7200"}},
		{name: "management preflight from a site's origin", method: "OPTIONS", path: "/v1/articles/a",
			headers: preflight("PATCH", "https://app.example.org", ""), wantStatus: 204},
		{name: "management call from the operator's origin", method: "GET", path: "/v1/articles",
			headers: []string{"Origin", "https://admin.example.org"}, wantStatus: 404,
			wantHeaders: map[string]string{"Access-Control-Allow-Origin": "https://admin.example.org",
				"Access-Control-Expose-Headers": exposed}},
		{name: "management call from another origin", method: "GET", path: "/v1/articles",
			headers: []string{"Origin", "https://app.example.org"}, wantStatus: 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(tt.method, tt.path, nil)
			for i := 0; i+1 < len(tt.headers); i += 2 {
				r.Header.Set(tt.headers[i], tt.headers[i+1])
			}
			w := httptest.NewRecorder()
			calls := origins.calls
			h.ServeHTTP(w, r)
			if r.Header.Get("Origin") == "" && origins.calls != calls {
				t.Errorf("a request without Origin asked for the site's origins")
			}
			if w.Code != tt.wantStatus {
				t.Errorf("status %d, want %d", w.Code, tt.wantStatus)
			}
			for _, name := range corsHeaders {
				if _, listed := tt.wantHeaders[name]; !listed && w.Header().Get(name) != "" {
					t.Errorf("%s: %q, want none", name, w.Header().Get(name))
				}
			}
			for name, want := range tt.wantHeaders {
				if got := strings.Join(w.Header().Values(name), ", "); got != want {
					t.Errorf("%s: %q, want %q", name, got, want)
				}
			}
		})
	}
}

// TestCORSSameOriginByDefault: without Origins and ManagementOrigins the edge sends no CORS
// header anywhere, and a management preflight is an OPTIONS request like any other.
func TestCORSSameOriginByDefault(t *testing.T) {
	h := newTestEdge(t, &countingVerifier{}, &recordingSide{segments: []string{"articles"}})
	for _, path := range []string{"/v1/sites/s1/articles", "/v1/articles"} {
		for _, method := range []string{"OPTIONS", "GET"} {
			r := httptest.NewRequest(method, path, nil)
			r.Header.Set("Origin", "https://app.example.org")
			r.Header.Set("Access-Control-Request-Method", "GET")
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			for _, name := range corsHeaders {
				if w.Header().Get(name) != "" {
					t.Errorf("%s %s: %s %q, want none", method, path, name, w.Header().Get(name))
				}
			}
			if method == "OPTIONS" && path == "/v1/articles" && w.Code == http.StatusNoContent {
				t.Errorf("OPTIONS %s answered 204 as a preflight without an opt-in", path)
			}
		}
	}
}

func TestManagementOriginsChecked(t *testing.T) {
	for _, origin := range []string{"*", "https://*.example.org", "https://admin.example.org/"} {
		if _, err := New(t.Context(), Config{ManagementOrigins: []string{origin}}, Upstreams{}); err == nil {
			t.Errorf("ManagementOrigins %q accepted", origin)
		}
	}
}

// TestOpenAPIDocument: /openapi.json is served without a key, with an ETag (304 on a match),
// readable from any origin; other methods get 405.
func TestOpenAPIDocument(t *testing.T) {
	doc := []byte(`{"openapi":"3.0.3","info":{"title":"t","version":"v1"},"paths":{}}`)
	h, err := New(t.Context(), DefaultConfig(), Upstreams{OpenAPI: doc})
	if err != nil {
		t.Fatal(err)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/openapi.json", nil))
	etag := w.Header().Get("ETag")
	if w.Code != 200 || w.Body.String() != string(doc) || w.Header().Get("Content-Type") != "application/json" || etag == "" ||
		w.Header().Get("Access-Control-Allow-Origin") != "*" || w.Header().Get("Cache-Control") != "public, max-age=300" {
		t.Fatalf("GET /openapi.json = %d %v %q", w.Code, w.Header(), w.Body)
	}
	r := httptest.NewRequest("GET", "/openapi.json", nil)
	r.Header.Set("If-None-Match", etag)
	w = httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != 304 {
		t.Errorf("GET with If-None-Match = %d, want 304", w.Code)
	}
	w = httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("POST", "/openapi.json", nil))
	if w.Code != 405 || w.Header().Get("Allow") != "GET, HEAD" {
		t.Errorf("POST /openapi.json = %d, Allow %q; want 405 with Allow", w.Code, w.Header().Get("Allow"))
	}
	h, _ = New(t.Context(), DefaultConfig(), Upstreams{})
	w = httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/openapi.json", nil))
	if w.Code != 404 {
		t.Errorf("without a document GET /openapi.json = %d, want 404", w.Code)
	}
}
