package api_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/beaconcms/beacon/gateway"
	resourcesv1 "github.com/beaconcms/beacon/gen/beacon/resources/v1"
	"github.com/beaconcms/beacon/platform/auth"
	"github.com/beaconcms/beacon/services/resources/internal/api"
)

// policies is a fake api.SitePolicies: the public sites and their max-age.
type policies map[string]int

func (p policies) Public(_ context.Context, site string) bool { _, ok := p[site]; return ok }
func (p policies) CacheMaxAge(_ context.Context, site string) int {
	if age := p[site]; age > 0 {
		return age
	}
	return 60
}

// TestReadSideCachingHeaders: a public site's responses are public with the site's max-age
// (capped at 60 s), a strong ETag that answers 304, and surrogate keys naming the site and every
// resource and directory in the body; a private site's stay private and vary by Authorization.
func TestReadSideCachingHeaders(t *testing.T) {
	e := sitesEnv(t)
	hot := mustCreateResource(t, e, line("Hotline", "sites/site-a", "sites/site-b"))
	mustCreateDirectory(t, e, keyAdmin, &resourcesv1.Directory{Title: "Lines", Site: "sites/site-a", Entries: entries(hot.GetName())})
	hotID := strings.TrimPrefix(hot.GetName(), "resources/")

	tests := []struct {
		name       string
		sites      policies
		req        gateway.ReadRequest
		wantStatus int
		wantCC     string
		wantVary   string
		wantKeys   string
	}{
		{name: "public list", sites: policies{"site-a": 0}, req: gateway.ReadRequest{Site: "site-a", Segment: "resources"},
			wantStatus: 200, wantCC: "public, max-age=60, stale-while-revalidate=60", wantVary: "Accept-Encoding", wantKeys: "site-site-a resource-" + hotID},
		{name: "public site with a short max-age", sites: policies{"site-a": 30}, req: gateway.ReadRequest{Site: "site-a", Segment: "crisis-lines"},
			wantStatus: 200, wantCC: "public, max-age=30, stale-while-revalidate=60", wantVary: "Accept-Encoding", wantKeys: "site-site-a resource-" + hotID},
		{name: "public site with a day's max-age: capped", sites: policies{"site-a": 86400}, req: gateway.ReadRequest{Site: "site-a", Segment: "resources", Item: hotID},
			wantStatus: 200, wantCC: "public, max-age=60, stale-while-revalidate=60", wantVary: "Accept-Encoding", wantKeys: "site-site-a resource-" + hotID},
		{name: "public directory", sites: policies{"site-a": 0}, req: gateway.ReadRequest{Site: "site-a", Segment: "directories", Item: "lines"},
			wantStatus: 200, wantCC: "public, max-age=60, stale-while-revalidate=60", wantVary: "Accept-Encoding"},
		{name: "public site read with a key: still public", sites: policies{"site-a": 0},
			req:        gateway.ReadRequest{Site: "site-a", Segment: "resources", Authenticated: true, Caller: auth.Principal{KeyName: "apiKeys/d", Role: auth.RoleDelivery, Site: "site-a"}},
			wantStatus: 200, wantCC: "public, max-age=60, stale-while-revalidate=60", wantVary: "Accept-Encoding", wantKeys: "site-site-a resource-" + hotID},
		{name: "private site with a key", sites: policies{"site-a": 0},
			req:        gateway.ReadRequest{Site: "site-b", Segment: "resources", Authenticated: true, Caller: auth.Principal{KeyName: "apiKeys/d", Role: auth.RoleDelivery, Site: "site-b"}},
			wantStatus: 200, wantCC: "private, max-age=0, must-revalidate", wantVary: "Accept-Encoding, Authorization"},
		{name: "private site without a key", sites: policies{"site-a": 0}, req: gateway.ReadRequest{Site: "site-b", Segment: "resources"}, wantStatus: 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rs := api.NewReadSide(e.deliveryServer, tt.sites, nil)
			serve := func(inm string) *httptest.ResponseRecorder {
				r := httptest.NewRequest(http.MethodGet, "/v1/sites/"+tt.req.Site+"/"+tt.req.Segment, nil)
				if inm != "" {
					r.Header.Set("If-None-Match", inm)
				}
				w := httptest.NewRecorder()
				rs.ServeRead(w, r, tt.req)
				return w
			}
			w := serve("")
			if w.Code != tt.wantStatus {
				t.Fatalf("status %d, want %d: %s", w.Code, tt.wantStatus, w.Body)
			}
			if tt.wantStatus != 200 {
				return
			}
			h := w.Header()
			if h.Get("Cache-Control") != tt.wantCC || h.Get("Vary") != tt.wantVary {
				t.Errorf("Cache-Control %q, Vary %q; want %q, %q", h.Get("Cache-Control"), h.Get("Vary"), tt.wantCC, tt.wantVary)
			}
			switch keys := h.Get("Surrogate-Key"); {
			case strings.HasPrefix(tt.wantCC, "private") && keys != "":
				t.Errorf("a private response names surrogate keys %q", keys)
			case tt.wantKeys != "" && keys != tt.wantKeys:
				t.Errorf("Surrogate-Key %q, want %q", keys, tt.wantKeys)
			case tt.req.Segment == "directories" && (!strings.HasPrefix(keys, "site-site-a directory-") || !strings.HasSuffix(keys, " resource-"+hotID)):
				t.Errorf("directory Surrogate-Key %q", keys)
			}
			if tt.wantKeys != "" && h.Get("Cache-Tag") != strings.ReplaceAll(tt.wantKeys, " ", ",") {
				t.Errorf("Cache-Tag %q", h.Get("Cache-Tag"))
			}
			etag := h.Get("Etag")
			if !strings.HasPrefix(etag, `"`) || strings.HasPrefix(etag, "W/") {
				t.Fatalf("ETag %q, want a strong one", etag)
			}
			if again := serve(etag); again.Code != http.StatusNotModified || again.Body.Len() != 0 {
				t.Errorf("If-None-Match with the ETag: %d (%d bytes), want 304 without a body", again.Code, again.Body.Len())
			}
		})
	}
}
