package gateway

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	sitesv1 "github.com/beaconcms/beacon/gen/beacon/sites/v1"
)

// fakeSites answers GetSite as its key says: "Bearer good" gets a site (with header and trailer
// metadata that must not reach a REST client), anything else UNAUTHENTICATED as the auth
// interceptor words it.
type fakeSites struct {
	sitesv1.UnimplementedSiteServiceServer
}

func (fakeSites) GetSite(ctx context.Context, req *sitesv1.GetSiteRequest) (*sitesv1.Site, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	if got := md.Get("authorization"); len(got) == 1 && got[0] == "Bearer good" {
		_ = grpc.SetHeader(ctx, metadata.Pairs("x-internal-node", "10.0.0.7"))
		_ = grpc.SetTrailer(ctx, metadata.Pairs("x-internal-trailer", "t"))
		return &sitesv1.Site{Name: req.GetName()}, nil
	}
	if len(md.Get("authorization")) == 0 {
		return nil, status.Error(codes.Unauthenticated, "missing API key: send 'authorization: Bearer <key>'")
	}
	return nil, status.Error(codes.Unauthenticated, "invalid or revoked API key")
}

// newSitesEdge serves the sites routes over a real gRPC connection to fakeSites, and a read side
// on "articles".
func newSitesEdge(t *testing.T) http.Handler {
	t.Helper()
	return newSitesEdgeWith(t, DefaultConfig())
}

func newSitesEdgeWith(t *testing.T, cfg Config) http.Handler {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	sitesv1.RegisterSiteServiceServer(srv, fakeSites{})
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	h, err := New(t.Context(), cfg, Upstreams{
		Conns:     map[string]*grpc.ClientConn{"sites": conn},
		Routes:    map[string]RegisterFunc{"sites": sitesv1.RegisterSiteServiceHandler},
		ReadSides: []ReadSide{&postSide{recordingSide{segments: []string{"articles", "screeners"}}}},
		Verifier:  &countingVerifier{},
	})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestWrongMethodIs405WithAllow(t *testing.T) {
	h := newSitesEdge(t)
	tests := []struct {
		name, method, path string
		header             map[string]string
		wantStatus         int
		wantAllow          string
	}{
		{"PUT on a site", "PUT", "/v1/sites/s1", nil, 405, "GET, PATCH, DELETE"},
		{"POST on a site", "POST", "/v1/sites/s1", nil, 405, "GET, PATCH, DELETE"},
		{"HEAD on a site (management has no HEAD)", "HEAD", "/v1/sites/s1", nil, 405, "GET, PATCH, DELETE"},
		{"DELETE on the collection", "DELETE", "/v1/sites", nil, 405, "GET, POST"},
		{"a form POST with X-HTTP-Method-Override is judged as a POST", "POST", "/v1/sites/s1",
			map[string]string{"X-HTTP-Method-Override": "DELETE", "Content-Type": "application/x-www-form-urlencoded"}, 405, "GET, PATCH, DELETE"},
		{"DELETE on a read route", "DELETE", "/v1/sites/s1/articles/a", nil, 405, "GET, HEAD"},
		{"PUT on a read route that takes POST", "PUT", "/v1/sites/s1/screeners/x:score", nil, 405, "GET, HEAD, POST"},
		{"an unknown path stays 404", "PUT", "/v1/nothing/here", nil, 404, ""},
		{"an unknown read segment stays 404", "DELETE", "/v1/sites/s1/unknown/a", nil, 404, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(tt.method, tt.path, strings.NewReader("x=1"))
			for k, v := range tt.header {
				req.Header.Set(k, v)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tt.wantStatus || rec.Header().Get("Allow") != tt.wantAllow {
				t.Fatalf("%s %s: %d Allow %q, want %d Allow %q; body %s", tt.method, tt.path, rec.Code, rec.Header().Get("Allow"), tt.wantStatus, tt.wantAllow, rec.Body)
			}
			if tt.wantStatus == 405 && tt.method != "HEAD" && !strings.Contains(rec.Body.String(), `"code":12`) {
				t.Errorf("405 body %s; want the JSON error shape with code 12", rec.Body)
			}
		})
	}
}

func TestUnauthorizedCarriesABearerChallenge(t *testing.T) {
	h := newSitesEdge(t)
	tests := []struct {
		name, path, authorization string
		want                      string
		wantBody                  string
	}{
		{"management, no key", "/v1/sites/s1", "", `Bearer realm="beacon"`, "missing API key"},
		{"management, unknown key", "/v1/sites/s1", "Bearer nope", `Bearer realm="beacon", error="invalid_token", error_description="invalid or revoked API key"`, "invalid or revoked"},
		{"management, not a bearer credential", "/v1/sites/s1", "Basic dTpw", `Bearer realm="beacon", error="invalid_request", error_description="invalid or revoked API key"`, "invalid or revoked"},
		{"read route, unknown key", "/v1/sites/s1/articles", "Bearer nope", `Bearer realm="beacon", error="invalid_token", error_description="invalid or revoked API key"`, "invalid or revoked"},
		{"read route, not a bearer credential", "/v1/sites/s1/articles", "Token x", `Bearer realm="beacon", error="invalid_request", error_description="missing API key: send 'authorization: Bearer <key>'"`, "missing API key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest("GET", tt.path, nil)
			if tt.authorization != "" {
				req.Header.Set("Authorization", tt.authorization)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != 401 || rec.Header().Get("WWW-Authenticate") != tt.want || !strings.Contains(rec.Body.String(), tt.wantBody) {
				t.Fatalf("%d WWW-Authenticate %q body %s; want 401 %q and %q in the body", rec.Code, rec.Header().Get("WWW-Authenticate"), rec.Body, tt.want, tt.wantBody)
			}
		})
	}
}

func TestEdgeHeaders(t *testing.T) {
	h := newSitesEdge(t)
	tests := []struct {
		name, method, path, authorization string
		wantStatus                        int
	}{
		{"management success", "GET", "/v1/sites/s1", "Bearer good", 200},
		{"management error", "GET", "/v1/sites/s1", "", 401},
		{"read route", "GET", "/v1/sites/s1/articles", "", http.StatusTeapot},
		{"health", "GET", "/healthz", "", 200},
		{"not found", "GET", "/v1/nothing", "", 404},
		{"wrong method", "PUT", "/v1/sites/s1", "", 405},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(tt.method, tt.path, nil)
			if tt.authorization != "" {
				req.Header.Set("Authorization", tt.authorization)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tt.wantStatus {
				t.Fatalf("status %d, want %d; body %s", rec.Code, tt.wantStatus, rec.Body)
			}
			if got := rec.Header().Get("X-Content-Type-Options"); got != "nosniff" {
				t.Errorf("X-Content-Type-Options %q, want nosniff", got)
			}
			if got := rec.Header().Get("Content-Security-Policy"); got != "default-src 'none'" {
				t.Errorf("Content-Security-Policy %q, want default-src 'none'", got)
			}
			for name := range rec.Header() {
				if strings.HasPrefix(name, "Grpc-") {
					t.Errorf("gRPC metadata leaks to the REST client: %s: %s", name, rec.Header().Get(name))
				}
			}
			for _, v := range rec.Header() {
				if strings.Contains(strings.Join(v, ","), "10.0.0.7") {
					t.Errorf("internal metadata value in a header: %v", rec.Header())
				}
			}
		})
	}
}

func TestChallengeText(t *testing.T) {
	if got := challengeText("a \"quoted\" \\ text\né"); got != "a  quoted    text  " {
		t.Errorf("challengeText = %q", got)
	}
}
