package api_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/genproto/googleapis/type/latlng"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

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
			wantStatus: 200, wantCC: "public, max-age=60, stale-while-revalidate=60", wantVary: "Accept-Encoding, Origin", wantKeys: "site-site-a resource-" + hotID},
		{name: "public site with a short max-age", sites: policies{"site-a": 30}, req: gateway.ReadRequest{Site: "site-a", Segment: "crisis-lines"},
			wantStatus: 200, wantCC: "public, max-age=30, stale-while-revalidate=60", wantVary: "Accept-Encoding, Origin", wantKeys: "site-site-a resource-" + hotID},
		{name: "public site with a day's max-age: capped", sites: policies{"site-a": 86400}, req: gateway.ReadRequest{Site: "site-a", Segment: "resources", Item: hotID},
			wantStatus: 200, wantCC: "public, max-age=60, stale-while-revalidate=60", wantVary: "Accept-Encoding, Origin", wantKeys: "site-site-a resource-" + hotID},
		{name: "public directory", sites: policies{"site-a": 0}, req: gateway.ReadRequest{Site: "site-a", Segment: "directories", Item: "lines"},
			wantStatus: 200, wantCC: "public, max-age=60, stale-while-revalidate=60", wantVary: "Accept-Encoding, Origin"},
		{name: "public site read with a key: still public", sites: policies{"site-a": 0},
			req:        gateway.ReadRequest{Site: "site-a", Segment: "resources", Authenticated: true, Caller: auth.Principal{KeyName: "apiKeys/d", Role: auth.RoleDelivery, Site: "site-a"}},
			wantStatus: 200, wantCC: "public, max-age=60, stale-while-revalidate=60", wantVary: "Accept-Encoding, Origin", wantKeys: "site-site-a resource-" + hotID},
		{name: "private site with a key", sites: policies{"site-a": 0},
			req:        gateway.ReadRequest{Site: "site-b", Segment: "resources", Authenticated: true, Caller: auth.Principal{KeyName: "apiKeys/d", Role: auth.RoleDelivery, Site: "site-b"}},
			wantStatus: 200, wantCC: "private, max-age=0, must-revalidate", wantVary: "Accept-Encoding, Authorization, Origin"},
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

// TestReadSideJSONIsTheProtoJSON: the read side's JSON (assembled from per-revision fragments)
// decodes to exactly the message the gRPC API returns, per-request fields (distance, open now,
// stale) and page tokens included, also after an edit.
func TestReadSideJSONIsTheProtoJSON(t *testing.T) {
	e := sitesEnv(t)
	clinic := line("Clinic", "sites/site-a")
	clinic.Crisis, clinic.Kind, clinic.Description = false, resourcesv1.Kind_KIND_TREATMENT_PROVIDER, "Walk-in **hours**."
	clinic.Locations = []*resourcesv1.Location{{Type: resourcesv1.Location_TYPE_PHYSICAL, Address: &resourcesv1.Address{City: "Austin", Country: "US"},
		Coordinates: &latlng.LatLng{Latitude: 30.27, Longitude: -97.75}}}
	c := mustCreateResource(t, e, clinic)
	always := line("Always", "sites/site-a")
	always.Hours = &resourcesv1.Hours{AlwaysOpen: true}
	mustCreateResource(t, e, always)
	mustCreateResource(t, e, line("Sunday line", "sites/site-a"))
	rs := api.NewReadSide(e.deliveryServer, policies{"site-a": 0}, nil)
	get := func(path string, req gateway.ReadRequest, into proto.Message) {
		t.Helper()
		w := httptest.NewRecorder()
		rs.ServeRead(w, httptest.NewRequest(http.MethodGet, path, nil), req)
		if w.Code != 200 {
			t.Fatalf("GET %s: %d %s", path, w.Code, w.Body)
		}
		if err := protojson.Unmarshal(w.Body.Bytes(), into); err != nil {
			t.Fatalf("GET %s: %v in %s", path, err, w.Body)
		}
	}
	ctx := as(keyAdmin)
	for round := range 2 {
		grpcList, err := e.delivery.ListSiteResources(ctx, &resourcesv1.ListSiteResourcesRequest{Site: "sites/site-a", Near: "30.2672,-97.7431", PageSize: 1})
		if err != nil {
			t.Fatal(err)
		}
		restList := &resourcesv1.ListSiteResourcesResponse{}
		get("/v1/sites/site-a/resources?near=30.2672,-97.7431&pageSize=1", gateway.ReadRequest{Site: "site-a", Segment: "resources"}, restList)
		restList.NextPageToken, grpcList.NextPageToken = "", "" // signed per call scope: equal scope, fresh signature
		if diff := cmp.Diff(grpcList, restList, protocmp.Transform()); diff != "" {
			t.Errorf("round %d: list (-gRPC +REST):\n%s", round, diff)
		}
		if len(restList.GetResources()) != 1 || restList.GetResources()[0].GetDistanceKm() == 0 || len(restList.GetRemoteResources()) != 2 {
			t.Errorf("round %d: list %v", round, restList)
		}
		grpcLines, err := e.delivery.ListCrisisLines(ctx, &resourcesv1.ListCrisisLinesRequest{Site: "sites/site-a"})
		if err != nil {
			t.Fatal(err)
		}
		restLines := &resourcesv1.ListCrisisLinesResponse{}
		get("/v1/sites/site-a/crisis-lines", gateway.ReadRequest{Site: "site-a", Segment: "crisis-lines"}, restLines)
		if diff := cmp.Diff(grpcLines, restLines, protocmp.Transform()); diff != "" {
			t.Errorf("round %d: crisis lines (-gRPC +REST):\n%s", round, diff)
		}
		id := strings.TrimPrefix(c.GetName(), "resources/")
		grpcOne, err := e.delivery.GetSiteResource(ctx, &resourcesv1.GetSiteResourceRequest{Site: "sites/site-a", Resource: id})
		if err != nil {
			t.Fatal(err)
		}
		restOne := &resourcesv1.PublishedResource{}
		get("/v1/sites/site-a/resources/"+id, gateway.ReadRequest{Site: "site-a", Segment: "resources", Item: id}, restOne)
		if diff := cmp.Diff(grpcOne, restOne, protocmp.Transform()); diff != "" {
			t.Errorf("round %d: resource (-gRPC +REST):\n%s", round, diff)
		}
		if round == 0 { // an edit must reach the cached fragment
			if !strings.Contains(restOne.GetDescriptionHtml(), "<strong>hours</strong>") {
				t.Errorf("description %q", restOne.GetDescriptionHtml())
			}
			cur, _ := e.resources.GetResource(ctx, &resourcesv1.GetResourceRequest{Name: c.GetName()})
			if _, err := e.resources.UpdateResource(ctx, &resourcesv1.UpdateResourceRequest{Resource: &resourcesv1.Resource{Name: c.GetName(), Etag: cur.GetEtag(), Description: "Closed *Mondays*."},
				UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"description"}}}); err != nil {
				t.Fatal(err)
			}
		} else if !strings.Contains(restOne.GetDescriptionHtml(), "<em>Mondays</em>") {
			t.Errorf("after the edit the read side serves %q", restOne.GetDescriptionHtml())
		}
	}
}

// TestQueryParamsReadLikeURLValues: the read side's query parsing gives what url.Values.Get gives.
func TestQueryParamsReadLikeURLValues(t *testing.T) {
	for _, raw := range []string{
		"near=40.7%2C-74&radiusKm=50&kind=support_group",
		"q=kratom+help&q=second&near=1,2",
		"a=1;b=2&near=3,4",
		"near=%zz&near=5,6",
		"&&near&=x&pageToken=abc%3D%3D",
		"",
	} {
		want, _ := url.ParseQuery(raw)
		got := api.ParseQuery(raw)
		for _, name := range []string{"near", "q", "kind", "radiusKm", "pageToken", "a", "b", ""} {
			if g, w := api.QueryGet(got, name), want.Get(name); g != w {
				t.Errorf("%q: %s = %q, want %q", raw, name, g, w)
			}
		}
	}
}

// TestKindParameter: the kind parameter takes a kind's enum name with or without KIND_, in any
// case; UNSPECIFIED and unknown names are INVALID_ARGUMENT naming the field.
func TestKindParameter(t *testing.T) {
	e := newAnswersEnv(t, time.Date(2026, 1, 5, 18, 0, 0, 0, time.UTC))
	e.ix.Put(weekdayOffice("a", "Alpha group", 1, 30.27, -97.74))
	for _, kind := range []string{"support_group", "SUPPORT_GROUP", "Support_Group", "KIND_SUPPORT_GROUP", "kind_support_group", "Kind_Support_group"} {
		if body := e.get1(t, "kind="+kind); !strings.Contains(body, "Alpha group") {
			t.Errorf("kind=%s: %s", kind, body)
		}
	}
	if body := e.get1(t, "kind=crisis_line"); strings.Contains(body, "Alpha group") {
		t.Errorf("kind=crisis_line lists a support group: %s", body)
	}
	for _, kind := range []string{"unspecified", "KIND_UNSPECIFIED", "support", "KIND_", "%20support_group"} {
		w := httptest.NewRecorder()
		e.rs.ServeRead(w, httptest.NewRequest(http.MethodGet, "/v1/sites/s/resources?kind="+kind, nil), gateway.ReadRequest{Site: "s", Segment: "resources"})
		if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), "kind") {
			t.Errorf("kind=%s: %d %s, want 400 naming kind", kind, w.Code, w.Body)
		}
	}
}
