package gateway

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/beaconcms/beacon/platform/apperr"
	"github.com/beaconcms/beacon/platform/auth"
)

// recordingSide is a read side that records what it was asked to serve.
type recordingSide struct {
	segments []string
	got      []ReadRequest
}

func (s *recordingSide) Segments() []string { return s.segments }

func (s *recordingSide) ServeRead(w http.ResponseWriter, r *http.Request, req ReadRequest) {
	s.got = append(s.got, req)
	w.Header().Set("X-Read-Side", strings.Join(s.segments, ","))
	w.WriteHeader(http.StatusTeapot)
}

// countingVerifier knows one key and counts its calls.
type countingVerifier struct {
	calls atomic.Int32
	down  bool
}

var principal = auth.Principal{KeyName: "apiKeys/k", Role: auth.RoleDelivery, Site: "s1"}

func (v *countingVerifier) Verify(_ context.Context, secret string) (auth.Principal, error) {
	v.calls.Add(1)
	switch {
	case v.down:
		return auth.Principal{}, errors.New("store unreachable")
	case secret == "bk_good":
		return principal, nil
	}
	return auth.Principal{}, apperr.New(apperr.Unauthenticated, "invalid or revoked API key")
}

func newTestEdge(t testing.TB, v auth.Verifier, sides ...ReadSide) http.Handler {
	t.Helper()
	h, err := New(t.Context(), DefaultConfig(), Upstreams{ReadSides: sides, Verifier: v})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestDispatch(t *testing.T) {
	content := &recordingSide{segments: []string{"articles", "search", "sitemap.xml", "feed.xml"}}
	resources := &recordingSide{segments: []string{"resources", "directories"}}
	h := newTestEdge(t, &countingVerifier{}, content, resources)
	tests := []struct {
		method, path string
		side         *recordingSide // nil: management routes (404 here; 405 for a read route's path)
		want         ReadRequest
		wantStatus   int // when side is nil; 0 means 404
	}{
		{"GET", "/v1/sites/s1/articles", content, ReadRequest{Site: "s1", Segment: "articles"}, 0},
		{"HEAD", "/v1/sites/s1/articles", content, ReadRequest{Site: "s1", Segment: "articles"}, 0},
		{"GET", "/v1/sites/s1/articles/sleep-basics", content, ReadRequest{Site: "s1", Segment: "articles", Item: "sleep-basics"}, 0},
		{"GET", "/v1/sites/s1/search?q=x", content, ReadRequest{Site: "s1", Segment: "search"}, 0},
		{"GET", "/v1/sites/s1/sitemap.xml", content, ReadRequest{Site: "s1", Segment: "sitemap.xml"}, 0},
		{"GET", "/v1/sites/s1/feed.xml", content, ReadRequest{Site: "s1", Segment: "feed.xml"}, 0},
		{"GET", "/v1/sites/s2/resources", resources, ReadRequest{Site: "s2", Segment: "resources"}, 0},
		{"GET", "/v1/sites/s2/directories/d1", resources, ReadRequest{Site: "s2", Segment: "directories", Item: "d1"}, 0},
		{"GET", "/v1/sites/s1/screeners", nil, ReadRequest{}, 0}, // unknown segment
		{"GET", "/v1/sites/s1/other/x", nil, ReadRequest{}, 0},
		{"POST", "/v1/sites/s1/articles", nil, ReadRequest{}, http.StatusMethodNotAllowed},
		{"DELETE", "/v1/sites/s1/articles/a", nil, ReadRequest{}, http.StatusMethodNotAllowed},
		{"GET", "/v1/sites/s1", nil, ReadRequest{}, 0},
		{"GET", "/v1/sites//articles", nil, ReadRequest{}, 0},
		{"GET", "/v1/sites/s1/articles/", nil, ReadRequest{}, 0},
		{"GET", "/v1/sites/s1/articles/a/b", nil, ReadRequest{}, 0},
		{"GET", "/v1/sites/s1/articles/a%2Fb", nil, ReadRequest{}, 0},
		{"GET", "/v1/site/s1/articles", nil, ReadRequest{}, 0},
		{"GET", "/v2/sites/s1/articles", nil, ReadRequest{}, 0},
	}
	for _, tt := range tests {
		content.got, resources.got = nil, nil
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(tt.method, tt.path, nil))
		if tt.side == nil {
			want := cmp.Or(tt.wantStatus, http.StatusNotFound)
			if w.Code != want || len(content.got)+len(resources.got) != 0 {
				t.Errorf("%s %s: status %d, read sides called %d times; want the management %d", tt.method, tt.path, w.Code, len(content.got)+len(resources.got), want)
			}
			continue
		}
		if w.Code != http.StatusTeapot || len(tt.side.got) != 1 || len(content.got)+len(resources.got) != 1 {
			t.Errorf("%s %s: status %d; want exactly its read side to serve it", tt.method, tt.path, w.Code)
			continue
		}
		if got := tt.side.got[0]; got != tt.want {
			t.Errorf("%s %s: read request %+v, want %+v", tt.method, tt.path, got, tt.want)
		}
	}
}

// postSide is a read side that also takes POST on items ending in ":score".
type postSide struct{ recordingSide }

func (s *postSide) AcceptsPost(segment, item string) bool { return strings.HasSuffix(item, ":score") }

func TestDispatchPost(t *testing.T) {
	screeners := &postSide{recordingSide{segments: []string{"screeners"}}}
	content := &recordingSide{segments: []string{"articles"}}
	h := newTestEdge(t, &countingVerifier{}, content, screeners)
	tests := []struct {
		path   string
		body   string
		status int // 418: served by the screeners read side
	}{
		{"/v1/sites/s1/screeners/check:score", `{}`, http.StatusTeapot},
		{"/v1/sites/s1/screeners/check", `{}`, http.StatusMethodNotAllowed},  // not an item it takes by POST (Allow: GET, HEAD)
		{"/v1/sites/s1/articles/a:score", `{}`, http.StatusMethodNotAllowed}, // a read side without POST
		{"/v1/sites/s1/screeners/check:score", strings.Repeat("x", 2<<20), http.StatusRequestEntityTooLarge},
	}
	for _, tt := range tests {
		screeners.got, content.got = nil, nil
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("POST", tt.path, strings.NewReader(tt.body)))
		if w.Code != tt.status {
			t.Errorf("POST %s (%d bytes): %d, want %d", tt.path, len(tt.body), w.Code, tt.status)
		}
		if served := len(screeners.got) == 1; served != (tt.status == http.StatusTeapot) || len(content.got) != 0 {
			t.Errorf("POST %s: screeners served %d, content %d", tt.path, len(screeners.got), len(content.got))
		}
	}
}

func TestNewRefusesBadReadSides(t *testing.T) {
	v := &countingVerifier{}
	tests := []struct {
		name  string
		up    Upstreams
		wants string
	}{
		{"segment claimed twice", Upstreams{Verifier: v, ReadSides: []ReadSide{&recordingSide{segments: []string{"a"}}, &recordingSide{segments: []string{"a"}}}}, `two read sides serve segment "a"`},
		{"segment with a slash", Upstreams{Verifier: v, ReadSides: []ReadSide{&recordingSide{segments: []string{"a/b"}}}}, "one non-empty path segment"},
		{"empty segment", Upstreams{Verifier: v, ReadSides: []ReadSide{&recordingSide{segments: []string{""}}}}, "one non-empty path segment"},
		{"no verifier", Upstreams{ReadSides: []ReadSide{&recordingSide{segments: []string{"a"}}}}, "need a Verifier"},
		{"routes without a connection", Upstreams{Routes: map[string]RegisterFunc{"sites": nil}}, `routes of service "sites" but no connection`},
	}
	for _, tt := range tests {
		if _, err := New(t.Context(), DefaultConfig(), tt.up); err == nil || !strings.Contains(err.Error(), tt.wants) {
			t.Errorf("%s: New error = %v, want one containing %q", tt.name, err, tt.wants)
		}
	}
}

// TestOneAuthPath checks that the edge authenticates a read request once, with the bearer
// parser the gRPC interceptor uses, and hands the principal to the read side.
func TestOneAuthPath(t *testing.T) {
	tests := []struct {
		name        string
		header      string // "" = none
		down        bool
		wantStatus  int
		wantVerify  int32
		wantAuthed  bool
		wantMessage string
	}{
		{"no header: anonymous", "", false, http.StatusTeapot, 0, false, ""},
		{"good key", "Bearer bk_good", false, http.StatusTeapot, 1, true, ""},
		{"lower-case scheme", "bearer bk_good", false, http.StatusTeapot, 1, true, ""},
		{"extra spaces", "Bearer    bk_good  ", false, http.StatusTeapot, 1, true, ""},
		{"unknown key", "Bearer bk_nobody", false, http.StatusUnauthorized, 1, false, "invalid or revoked API key"},
		{"empty token", "Bearer ", false, http.StatusUnauthorized, 0, false, "missing API key"},
		{"scheme only", "Bearer", false, http.StatusUnauthorized, 0, false, "missing API key"},
		{"token with a space", "Bearer bk_good x", false, http.StatusUnauthorized, 0, false, "missing API key"},
		{"basic auth", "Basic Ymtfb2s6", false, http.StatusUnauthorized, 0, false, "missing API key"},
		{"verifier cannot tell", "Bearer bk_good", true, http.StatusInternalServerError, 1, false, "internal error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := &countingVerifier{down: tt.down}
			side := &recordingSide{segments: []string{"articles"}}
			h := newTestEdge(t, v, side)
			r := httptest.NewRequest("GET", "/v1/sites/s1/articles", nil)
			if tt.header != "" {
				r.Header.Set("Authorization", tt.header)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != tt.wantStatus {
				t.Fatalf("status %d, want %d; body %s", w.Code, tt.wantStatus, w.Body)
			}
			if got := v.calls.Load(); got != tt.wantVerify {
				t.Errorf("Verify called %d times, want %d", got, tt.wantVerify)
			}
			// The edge accepts exactly the headers auth.BearerToken (the gRPC parser) accepts.
			if _, ok := auth.BearerToken(tt.header); tt.header != "" && ok != (tt.wantVerify == 1) {
				t.Errorf("edge and auth.BearerToken disagree on %q", tt.header)
			}
			if tt.wantStatus != http.StatusTeapot {
				if len(side.got) != 0 {
					t.Fatal("the read side was called for a refused request")
				}
				var body struct {
					Code    int    `json:"code"`
					Message string `json:"message"`
				}
				if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || !strings.Contains(body.Message, tt.wantMessage) {
					t.Errorf("error body %s, want a message containing %q", w.Body, tt.wantMessage)
				}
				if w.Header().Get("Cache-Control") != "no-store" {
					t.Errorf("error Cache-Control %q, want no-store", w.Header().Get("Cache-Control"))
				}
				return
			}
			got := side.got[0]
			if got.Authenticated != tt.wantAuthed || (tt.wantAuthed && got.Caller != principal) {
				t.Errorf("read side got authenticated=%v caller=%+v", got.Authenticated, got.Caller)
			}
		})
	}
}
