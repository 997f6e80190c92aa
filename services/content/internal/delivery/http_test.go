package delivery

import (
	"encoding/json"
	"encoding/xml"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/beaconcms/beacon/services/content/internal/domain"
	"github.com/beaconcms/beacon/services/content/internal/readmodel"
)

func TestRoute(t *testing.T) {
	e := newFixtureEnv(t)
	tests := []struct {
		method, path string
		routed       bool
	}{
		{"GET", "/v1/sites/public/articles", true},
		{"HEAD", "/v1/sites/public/articles", true},
		{"GET", "/v1/sites/public/articles/sleep-basics", true},
		{"GET", "/v1/sites/public/search?q=x", true},
		{"GET", "/v1/sites/public/sitemap.xml", true},
		{"GET", "/v1/sites/public/feed.xml", true},
		{"GET", "/v1/sites/nowhere/articles", true}, // routed, then 404 for the site
		{"POST", "/v1/sites/public/articles", false},
		{"DELETE", "/v1/sites/public/articles/sleep-basics", false},
		{"GET", "/v1/sites/public", false},
		{"GET", "/v1/sites//articles", false},
		{"GET", "/v1/sites/public/articles/", false},
		{"GET", "/v1/sites/public/articles/a/b", false},
		{"GET", "/v1/sites/public/articles/a%2Fb", false},
		{"GET", "/v1/sites/public/other", false},
		{"GET", "/v1/site/public/articles", false},
		{"GET", "/v2/sites/public/articles", false},
	}
	for _, tt := range tests {
		w := e.do(tt.method, tt.path)
		// The management routes (none here) answer grpc-gateway's own 404 "Not Found", and the
		// edge 405 with Allow for a read route's path under another method; delivery answers
		// everything it serves, errors included, in its own words.
		wrongMethod := w.Code == 405 && w.Header().Get("Allow") == "GET, HEAD"
		routed := (w.Code != 404 || !strings.Contains(w.Body.String(), `"Not Found"`)) && !wrongMethod
		if routed != tt.routed {
			t.Errorf("%s %s: routed to delivery = %v, want %v (status %d)", tt.method, tt.path, routed, tt.routed, w.Code)
		}
		if wantWrongMethod := tt.method != "GET" && tt.method != "HEAD"; !routed && wrongMethod != wantWrongMethod {
			t.Errorf("%s %s: status %d Allow %q from the edge; want 405 for a read route's path under another method, else 404", tt.method, tt.path, w.Code, w.Header().Get("Allow"))
		}
	}
}

// TestAccess checks who may read what, on every route.
func TestAccess(t *testing.T) {
	e := newFixtureEnv(t)
	routes := map[string]string{
		"article": "/articles/%s",
		"list":    "/articles",
		"search":  "/search?q=guide",
		"sitemap": "/sitemap.xml",
		"feed":    "/feed.xml",
	}
	slugs := map[string]string{"public": "sleep-basics", "private": "private-guide", "other": "other-guide", "nowhere": "x"}
	tests := []struct {
		name   string
		site   string
		authz  string
		status int
	}{
		{"public site, no key", "public", "", 200},
		{"public site, admin key", "public", "Bearer key-admin", 200},
		{"public site, key for another site", "public", "Bearer key-other", 404},
		{"public site, bad key", "public", "Bearer nope", 401},
		{"private site, no key", "private", "", 401},
		{"private site, its key", "private", "Bearer key-private", 200},
		{"private site, lowercase scheme", "private", "bearer key-private", 200},
		{"private site, all-sites key", "private", "Bearer key-admin", 200},
		{"private site, key for another site", "private", "Bearer key-other", 404},
		{"private site, bad key", "private", "Bearer nope", 401},
		{"private site, empty bearer", "private", "Bearer ", 401},
		{"private site, basic auth", "private", "Basic a2V5LXByaXZhdGU6", 401},
		{"private site, no scheme", "private", "key-private", 401},
		{"unknown site, no key", "nowhere", "", 404},
		{"unknown site, all-sites key", "nowhere", "Bearer key-admin", 404},
	}
	for _, tt := range tests {
		for route, suffix := range routes {
			t.Run(tt.name+"/"+route, func(t *testing.T) {
				if strings.Contains(suffix, "%s") {
					suffix = strings.Replace(suffix, "%s", slugs[tt.site], 1)
				}
				var hdr []string
				if tt.authz != "" {
					hdr = []string{"Authorization", tt.authz}
				}
				w := e.get("/v1/sites/"+tt.site+suffix, hdr...)
				mustStatus(t, w, tt.status)
				if tt.status != 200 {
					checkErrorBody(t, w, tt.status)
					return
				}
				site := e.model.View(tt.site).Site()
				if got, want := w.Header().Get("Cache-Control"), readmodel.CacheControl(site.Public, 60); got != want {
					t.Errorf("Cache-Control = %q, want %q", got, want)
				}
				wantVary := "Accept-Encoding, Origin"
				if !site.Public {
					wantVary = "Accept-Encoding, Authorization, Origin"
				}
				if got := w.Header().Get("Vary"); got != wantVary {
					t.Errorf("Vary = %q, want %q", got, wantVary)
				}
			})
		}
	}
}

// checkErrorBody checks the {code, message, details} body of a failed request.
func checkErrorBody(tb testing.TB, w *httptest.ResponseRecorder, status int) {
	tb.Helper()
	wantCode := map[int]codes.Code{400: codes.InvalidArgument, 401: codes.Unauthenticated, 404: codes.NotFound}[status]
	if ct := w.Header().Get("Content-Type"); ct != "application/json" {
		tb.Errorf("error Content-Type = %q", ct)
	}
	if cc := w.Header().Get("Cache-Control"); cc != "no-store" {
		tb.Errorf("error Cache-Control = %q, want no-store", cc)
	}
	body := decodeJSON[errorBody](tb, w.Body.Bytes())
	if body.Code == nil || codes.Code(*body.Code) != wantCode {
		tb.Errorf("error code = %v, want %d (%v); body %s", body.Code, wantCode, wantCode, w.Body)
	}
	if body.Message == nil || *body.Message == "" {
		tb.Errorf("error without message: %s", w.Body)
	}
	// details only when there is something in them: a google.rpc.BadRequest for a bad field.
	if status == 400 && !strings.Contains(w.Body.String(), "google.rpc.BadRequest") {
		tb.Errorf("400 without a BadRequest naming the field: %s", w.Body)
	}
	if status != 400 && body.Details != nil {
		tb.Errorf("error with details that have nothing to say: %s", w.Body)
	}
}

func TestArticle(t *testing.T) {
	e := newFixtureEnv(t)
	w := e.get("/v1/sites/public/articles/sleep-basics")
	mustStatus(t, w, 200)
	a := decodeJSON[articleJSON](t, w.Body.Bytes())
	if a.Name != "articles/a2" || a.Slug != "sleep-basics" || a.Title != "Sleep basics" {
		t.Errorf("article = %+v", a)
	}
	if want := "https://public.example.org/articles/sleep-basics"; a.URL != want {
		t.Errorf("url = %q, want %q", a.URL, want)
	}
	if !strings.HasPrefix(a.HTML, "<p>Good hydration") || a.CrisisLineText != "Call or text 988" {
		t.Errorf("html = %q, crisisLineText = %q", a.HTML, a.CrisisLineText)
	}
	var ld map[string]any
	if err := json.Unmarshal([]byte(a.JSONLD), &ld); err != nil || ld["@type"] != "MedicalWebPage" || ld["url"] != a.URL {
		t.Errorf("jsonLd = %s (%v)", a.JSONLD, err)
	}
	h := w.Header()
	if got := h.Get("Content-Type"); got != "application/json" {
		t.Errorf("Content-Type = %q", got)
	}
	if got := h.Get("X-Content-Type-Options"); got != "nosniff" {
		t.Errorf("X-Content-Type-Options = %q", got)
	}
	if got := h.Get("Content-Length"); got != strconv.Itoa(w.Body.Len()) {
		t.Errorf("Content-Length = %q, body is %d bytes", got, w.Body.Len())
	}
	if got := h.Get("Surrogate-Key"); got != "site-public article-a2" {
		t.Errorf("Surrogate-Key = %q", got)
	}
	if got := h.Get("Cache-Tag"); got != "site-public,article-a2" {
		t.Errorf("Cache-Tag = %q", got)
	}
	etag := h.Get("ETag")
	if len(etag) < 3 || etag[0] != '"' || etag[len(etag)-1] != '"' || strings.HasSuffix(etag, `-gz"`) {
		t.Errorf("ETag = %q, want a strong identity tag", etag)
	}
	if again := e.get("/v1/sites/public/articles/sleep-basics"); again.Header().Get("ETag") != etag || again.Body.String() != w.Body.String() {
		t.Error("a second GET differs from the first")
	}
}

func TestArticleNotFound(t *testing.T) {
	e := newFixtureEnv(t)
	for _, slug := range []string{"no-such-article", "Sleep-Basics", "sleep-basics-", "%E2%9C%93"} {
		w := e.get("/v1/sites/public/articles/" + slug)
		mustStatus(t, w, 404)
		checkErrorBody(t, w, 404)
	}
}

func TestRedirects(t *testing.T) {
	e := newFixtureEnv(t)
	tests := []struct {
		slug string
		to   string // "" means served, not redirected
		id   string
	}{
		{"kratom-withdrawal-old", "kratom-withdrawal", "a1"},  // first of two renames: one hop to the current slug
		{"kratom-withdrawal-2024", "kratom-withdrawal", "a1"}, // second rename
		{"kratom-withdrawal", "", "a1"},
		{"hydration-tips", "", "a5"}, // a2's former slug, now a5's: a5 wins
	}
	for _, tt := range tests {
		t.Run(tt.slug, func(t *testing.T) {
			w := e.get("/v1/sites/public/articles/" + tt.slug)
			if tt.to == "" {
				mustStatus(t, w, 200)
				if got := decodeJSON[articleJSON](t, w.Body.Bytes()); got.Name != "articles/"+tt.id {
					t.Errorf("served %s, want articles/%s", got.Name, tt.id)
				}
				return
			}
			mustStatus(t, w, http.StatusMovedPermanently)
			loc := w.Header().Get("Location")
			if want := "/v1/sites/public/articles/" + tt.to; loc != want {
				t.Errorf("Location = %q, want %q", loc, want)
			}
			if got := decodeJSON[articleJSON](t, w.Body.Bytes()); got.RedirectSlug != tt.to {
				t.Errorf("redirectSlug = %q, want %q", got.RedirectSlug, tt.to)
			}
			if cc := w.Header().Get("Cache-Control"); !strings.HasPrefix(cc, "public, max-age=") {
				t.Errorf("Cache-Control = %q", cc)
			}
			// One hop: the target is served, not redirected again.
			next := e.get(loc)
			mustStatus(t, next, 200)
			if got := decodeJSON[articleJSON](t, next.Body.Bytes()); got.Name != "articles/"+tt.id {
				t.Errorf("after the redirect: %s, want articles/%s", got.Name, tt.id)
			}
		})
	}
	// Private sites redirect only for callers that may read them.
	p := revise(fixtureArticles()[6], func(a *domain.Article) {
		a.Published.Content.Slug = "private-guide-2"
		a.PublishedSlugs = append(a.PublishedSlugs, "private-guide-2")
	})
	e.model.ApplyArticles(p)
	mustStatus(t, e.get("/v1/sites/private/articles/private-guide"), 401)
	mustStatus(t, e.get("/v1/sites/private/articles/private-guide", "Authorization", "Bearer key-other"), 404)
	w := e.get("/v1/sites/private/articles/private-guide", "Authorization", "Bearer key-private")
	mustStatus(t, w, 301)
	if loc := w.Header().Get("Location"); loc != "/v1/sites/private/articles/private-guide-2" {
		t.Errorf("Location = %q", loc)
	}
}

func TestConditionalAndGzip(t *testing.T) {
	e := newFixtureEnv(t)
	// A long body, so that gzip pays.
	long := withBody(newArticle("g1", "long-read", "A long read", 50, "public"), strings.Repeat("Kratom withdrawal is uncomfortable but rarely dangerous. ", 80))
	e.model.ApplyArticles(long)
	const path = "/v1/sites/public/articles/long-read"

	plain := e.get(path)
	mustStatus(t, plain, 200)
	etag := plain.Header().Get("ETag")
	zipped := e.get(path, "Accept-Encoding", "br, gzip")
	mustStatus(t, zipped, 200)
	gzEtag := zipped.Header().Get("ETag")
	if zipped.Header().Get("Content-Encoding") != "gzip" {
		t.Fatalf("Content-Encoding = %q, want gzip", zipped.Header().Get("Content-Encoding"))
	}
	if plain.Header().Get("Content-Encoding") != "" {
		t.Errorf("identity response has Content-Encoding %q", plain.Header().Get("Content-Encoding"))
	}
	if got := gunzip(t, zipped.Body.Bytes()); string(got) != plain.Body.String() {
		t.Error("the gzip body does not decompress to the identity body")
	}
	if zipped.Body.Len() >= plain.Body.Len() {
		t.Errorf("gzip body %d bytes, identity %d", zipped.Body.Len(), plain.Body.Len())
	}
	if got := zipped.Header().Get("Content-Length"); got != strconv.Itoa(zipped.Body.Len()) {
		t.Errorf("gzip Content-Length = %q, body is %d bytes", got, zipped.Body.Len())
	}
	if gzEtag == etag || gzEtag != strings.TrimSuffix(etag, `"`)+`-gz"` {
		t.Errorf("gzip ETag = %q, identity ETag = %q; want the identity tag with -gz", gzEtag, etag)
	}
	if a, b := plain.Header().Get("Surrogate-Key"), zipped.Header().Get("Surrogate-Key"); a != b || a != "site-public article-g1" {
		t.Errorf("Surrogate-Key = %q / %q", a, b)
	}
	// Declined gzip is identity.
	if w := e.get(path, "Accept-Encoding", "gzip;q=0, br"); w.Header().Get("Content-Encoding") != "" || w.Header().Get("ETag") != etag {
		t.Errorf("gzip;q=0 gave Content-Encoding %q, ETag %q", w.Header().Get("Content-Encoding"), w.Header().Get("ETag"))
	}

	weak := "W/" + etag
	tests := []struct {
		name     string
		inm, ae  string
		status   int
		wantEtag string
	}{
		{"strong", etag, "", 304, etag},
		{"weak", weak, "", 304, etag},
		{"gzip tag, identity client", gzEtag, "", 304, etag},
		{"gzip tag, gzip client", gzEtag, "gzip", 304, gzEtag},
		{"identity tag, gzip client", etag, "gzip", 304, gzEtag},
		{"in a list", `"nope", ` + gzEtag, "gzip", 304, gzEtag},
		{"star", "*", "", 304, etag},
		{"stale", `"0123456789abcdef01234567"`, "", 200, etag},
		{"stale, gzip", `"0123456789abcdef01234567-gz"`, "gzip", 200, gzEtag},
		{"garbage", `,,W/`, "", 200, etag},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hdr := []string{"If-None-Match", tt.inm}
			if tt.ae != "" {
				hdr = append(hdr, "Accept-Encoding", tt.ae)
			}
			for _, method := range []string{http.MethodGet, http.MethodHead} {
				w := e.do(method, path, hdr...)
				mustStatus(t, w, tt.status)
				if got := w.Header().Get("ETag"); got != tt.wantEtag {
					t.Errorf("%s: ETag = %q, want %q", method, got, tt.wantEtag)
				}
				if w.Header().Get("Cache-Control") == "" || w.Header().Get("Vary") == "" {
					t.Errorf("%s: Cache-Control %q, Vary %q", method, w.Header().Get("Cache-Control"), w.Header().Get("Vary"))
				}
				if tt.status == 304 && (w.Body.Len() != 0 || w.Header().Get("Content-Length") != "" || w.Header().Get("Content-Type") != "") {
					t.Errorf("%s: 304 with body %q, Content-Length %q, Content-Type %q", method, w.Body, w.Header().Get("Content-Length"), w.Header().Get("Content-Type"))
				}
			}
		})
	}

	// HEAD: the GET headers, no body.
	for _, ae := range []string{"", "gzip"} {
		get := e.get(path, "Accept-Encoding", ae)
		head := e.do(http.MethodHead, path, "Accept-Encoding", ae)
		mustStatus(t, head, 200)
		if head.Body.Len() != 0 {
			t.Errorf("HEAD (%q) has a %d-byte body", ae, head.Body.Len())
		}
		for _, k := range []string{"Content-Length", "Content-Type", "ETag", "Content-Encoding", "Surrogate-Key", "Cache-Tag", "Cache-Control"} {
			if head.Header().Get(k) != get.Header().Get(k) {
				t.Errorf("HEAD (%q) %s = %q, GET has %q", ae, k, head.Header().Get(k), get.Header().Get(k))
			}
		}
	}
}

// TestGzipOtherBodies checks gzip on the list (pre-compressed) and search (compressed per
// request) bodies.
func TestGzipOtherBodies(t *testing.T) {
	e := newFixtureEnv(t)
	for _, path := range []string{"/v1/sites/public/articles", "/v1/sites/public/search?q=guide", "/v1/sites/public/sitemap.xml", "/v1/sites/public/feed.xml"} {
		plain := e.get(path)
		zipped := e.get(path, "Accept-Encoding", "gzip")
		mustStatus(t, plain, 200)
		mustStatus(t, zipped, 200)
		if zipped.Header().Get("Content-Encoding") != "gzip" {
			t.Errorf("%s: not gzipped (%d bytes)", path, plain.Body.Len())
			continue
		}
		if string(gunzip(t, zipped.Body.Bytes())) != plain.Body.String() {
			t.Errorf("%s: gzip body differs from identity", path)
		}
		etag, gzEtag := plain.Header().Get("ETag"), zipped.Header().Get("ETag")
		if gzEtag != strings.TrimSuffix(etag, `"`)+`-gz"` {
			t.Errorf("%s: ETags %q / %q", path, etag, gzEtag)
		}
		if w := e.get(path, "Accept-Encoding", "gzip", "If-None-Match", gzEtag); w.Code != 304 || w.Body.Len() != 0 {
			t.Errorf("%s: If-None-Match gave %d, %d bytes", path, w.Code, w.Body.Len())
		}
	}
}

func getList(tb testing.TB, e *testEnv, query string, headers ...string) listJSON {
	tb.Helper()
	w := e.get("/v1/sites/public/articles?"+query, headers...)
	mustStatus(tb, w, 200)
	return decodeJSON[listJSON](tb, w.Body.Bytes())
}

// listFilters are list queries over the fixture and the ids they list, in order.
var listFilters = []struct {
	query string
	want  []string
}{
	{"", fixtureOrder},
	{"tag=kratom", []string{"a4", "a3", "a1", "m1"}},
	{"tag=KRATOM", []string{"a4", "a3", "a1", "m1"}},
	{"topic=addiction", []string{"a5", "a3", "a1"}},
	{"tag=kratom&topic=addiction", []string{"a3", "a1"}},
	{"tag=sleep&topic=wellbeing", []string{"a3", "a2"}},
	{"tag=hydration&topic=recovery", []string{}},
	{"tag=nope", []string{}},
}

func TestListFilters(t *testing.T) {
	e := newFixtureEnv(t)
	for _, f := range listFilters {
		got := getList(t, e, f.query)
		if !slices.Equal(ids(got.Articles), f.want) {
			t.Errorf("?%s lists %v, want %v", f.query, ids(got.Articles), f.want)
		}
		if got.NextPageToken != "" {
			t.Errorf("?%s: a single page has nextPageToken", f.query)
		}
	}
	w := e.get("/v1/sites/public/articles?tag=kratom")
	if got := w.Header().Get("Surrogate-Key"); got != "site-public article-a4 article-a3 article-a1 article-m1" {
		t.Errorf("Surrogate-Key = %q", got)
	}
	if got := w.Header().Get("Cache-Tag"); got != "site-public,article-a4,article-a3,article-a1,article-m1" {
		t.Errorf("Cache-Tag = %q", got)
	}
	// The private site lists its own articles only.
	w = e.get("/v1/sites/private/articles", "Authorization", "Bearer key-private")
	mustStatus(t, w, 200)
	if got := ids(decodeJSON[listJSON](t, w.Body.Bytes()).Articles); !slices.Equal(got, []string{"p1", "m1"}) {
		t.Errorf("private site lists %v", got)
	}
}

func TestListPagination(t *testing.T) {
	e := newFixtureEnv(t)
	for _, f := range listFilters {
		for size := 1; size <= 3; size++ {
			var seen []string
			query := f.query
			if query != "" {
				query += "&"
			}
			token := ""
			for pages := 0; ; pages++ {
				if pages > len(f.want)+1 {
					t.Fatalf("?%s pageSize=%d: too many pages", f.query, size)
				}
				q := query + "pageSize=" + strconv.Itoa(size)
				if token != "" {
					q += "&pageToken=" + url.QueryEscape(token)
				}
				page := getList(t, e, q)
				if len(page.Articles) > size {
					t.Errorf("?%s: %d cards", q, len(page.Articles))
				}
				if len(page.Articles) == 0 && len(f.want) > 0 {
					t.Errorf("?%s: empty page", q)
				}
				seen = append(seen, ids(page.Articles)...)
				if page.NextPageToken == "" {
					break
				}
				token = page.NextPageToken
			}
			if !slices.Equal(seen, f.want) {
				t.Errorf("?%s pageSize=%d visits %v, want %v", f.query, size, seen, f.want)
			}
		}
	}
}

func TestListBadRequests(t *testing.T) {
	e := newFixtureEnv(t)
	first := getList(t, e, "pageSize=2")
	tok := first.NextPageToken
	if tok == "" {
		t.Fatal("no nextPageToken")
	}
	tampered := []byte(tok) // one base64 character changed: a well-formed token with a bad MAC
	if i := len(tampered) / 2; tampered[i] == 'A' {
		tampered[i] = 'B'
	} else {
		tampered[i] = 'A'
	}
	queries := []string{
		"pageSize=-1",
		"pageSize=abc",
		"pageSize=2&pageToken=" + url.QueryEscape(string(tampered)),
		"pageSize=2&pageToken=" + url.QueryEscape(tok[:len(tok)-1]),
		"pageSize=2&pageToken=" + url.QueryEscape(tok+"A"),
		"pageSize=2&pageToken=garbage!",
		"pageSize=2&tag=kratom&pageToken=" + url.QueryEscape(tok), // token of another filter
	}
	for _, q := range queries {
		w := e.get("/v1/sites/public/articles?" + q)
		mustStatus(t, w, 400)
		checkErrorBody(t, w, 400)
	}
	// A token of another site.
	other := e.get("/v1/sites/private/articles?pageSize=1", "Authorization", "Bearer key-private")
	otherTok := decodeJSON[listJSON](t, other.Body.Bytes()).NextPageToken
	if otherTok == "" {
		t.Fatal("no nextPageToken on the private site")
	}
	mustStatus(t, e.get("/v1/sites/public/articles?pageSize=1&pageToken="+url.QueryEscape(otherTok)), 400)
	// The original token still works.
	if got := ids(getList(t, e, "pageSize=2&pageToken="+url.QueryEscape(tok)).Articles); !slices.Equal(got, fixtureOrder[2:4]) {
		t.Errorf("page 2 = %v", got)
	}
}

// TestListTokenOutlivesCachedPage: a site's view, and the list pages cached in it, live until
// its content changes, which on a quiet site can be days; the next-page tokens in a cached page
// must still be accepted (page tokens expire pagetoken.TTL after they were made).
func TestListTokenOutlivesCachedPage(t *testing.T) {
	for _, wait := range []time.Duration{time.Minute, 12 * time.Hour, 25 * time.Hour, 72 * time.Hour} {
		e := newFixtureEnv(t)
		getList(t, e, "pageSize=2") // cached now
		e.clock.Advance(wait)
		first := getList(t, e, "pageSize=2")
		w := e.get("/v1/sites/public/articles?pageSize=2&pageToken=" + url.QueryEscape(first.NextPageToken))
		if w.Code != 200 {
			t.Errorf("%v later: the first page's nextPageToken gives %d: %s", wait, w.Code, w.Body)
		}
	}
}

func TestOlderRevisionIgnored(t *testing.T) {
	a2 := fixtureArticles()[1]
	v5 := revise(a2, func(a *domain.Article) { a.RevisionID = 5; a.Published.Content.Title = "Sleep basics v5" })
	tests := []struct {
		name  string
		later *domain.Article
	}{
		{"older", revise(a2, func(a *domain.Article) { a.RevisionID = 4; a.Published.Content.Title = "Sleep basics v4" })},
		{"same revision", revise(a2, func(a *domain.Article) { a.RevisionID = 5; a.Published.Content.Title = "Sleep basics again" })},
		{"older unpublish", revise(a2, func(a *domain.Article) { a.RevisionID = 3; a.Published = nil; a.State = domain.StateDraft })},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newFixtureEnv(t)
			e.model.ApplyArticles(v5)
			e.model.ApplyArticles(tt.later)
			w := e.get("/v1/sites/public/articles/sleep-basics")
			mustStatus(t, w, 200)
			if got := decodeJSON[articleJSON](t, w.Body.Bytes()).Title; got != "Sleep basics v5" {
				t.Errorf("title = %q, want revision 5's", got)
			}
			if got := e.model.AppliedRevision("a2"); got != 5 {
				t.Errorf("AppliedRevision = %d, want 5", got)
			}
		})
	}
	// Within one batch too.
	e := newFixtureEnv(t)
	e.model.ApplyArticles(v5, tests[0].later)
	if got := decodeJSON[articleJSON](t, e.get("/v1/sites/public/articles/sleep-basics").Body.Bytes()).Title; got != "Sleep basics v5" {
		t.Errorf("batch: title = %q", got)
	}
}

// liveEverywhere reports where an article (by id and slug, with a word only its body has)
// shows on site public.
func liveEverywhere(tb testing.TB, e *testEnv, id, slug, word string) map[string]bool {
	tb.Helper()
	where := map[string]bool{}
	if w := e.get("/v1/sites/public/articles/" + slug); w.Code == 200 {
		where["slug"] = true
	} else if w.Code != 404 {
		tb.Errorf("GET %s: %d", slug, w.Code)
	}
	where["list"] = slices.Contains(ids(getList(tb, e, "pageSize=100").Articles), id)
	where["tag list"] = slices.Contains(ids(getList(tb, e, "tag=kratom").Articles), id)
	w := e.get("/v1/sites/public/search?q=" + word)
	mustStatus(tb, w, 200)
	for _, r := range decodeJSON[searchJSON](tb, w.Body.Bytes()).Results {
		where["search"] = where["search"] || r.Article.Name == "articles/"+id
	}
	u := "https://public.example.org/articles/" + slug
	where["sitemap"] = slices.Contains(sitemapLocs(tb, e, "public"), u)
	for _, en := range feedEntries(tb, e, "public") {
		where["feed"] = where["feed"] || en.Link.Href == u
	}
	return where
}

func TestUnpublishRemoves(t *testing.T) {
	a3 := fixtureArticles()[2]
	tests := []struct {
		name string
		next *domain.Article
	}{
		{"unpublished", revise(a3, func(a *domain.Article) { a.State, a.Published = domain.StateDraft, nil })},
		{"archived", revise(a3, func(a *domain.Article) { a.State, a.Published = domain.StateArchived, nil })},
		{"deleted", revise(a3, func(a *domain.Article) { a.DeleteTime = testT0.Add(time.Hour) })},
		{"retargeted", revise(a3, func(a *domain.Article) { a.Published.Content.TargetSites = []string{"other"} })},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newFixtureEnv(t)
			before := liveEverywhere(t, e, "a3", "kratom-and-sleep", "melatonin")
			for _, k := range []string{"slug", "list", "tag list", "search", "sitemap", "feed"} {
				if !before[k] {
					t.Fatalf("before: a3 not in %s", k)
				}
			}
			e.model.ApplyArticles(tt.next)
			for k, v := range liveEverywhere(t, e, "a3", "kratom-and-sleep", "melatonin") {
				if v {
					t.Errorf("after: a3 still in the %s", k)
				}
			}
			if got := ids(getList(t, e, "").Articles); !slices.Equal(got, []string{"a5", "a4", "a2", "a1", "m1"}) {
				t.Errorf("list = %v", got)
			}
			// Republishing brings it back.
			back := revise(tt.next, func(a *domain.Article) {
				a.State, a.DeleteTime, a.Published = domain.StatePublished, time.Time{}, a3.Published
			})
			e.model.ApplyArticles(back)
			if got := ids(getList(t, e, "").Articles); !slices.Equal(got, fixtureOrder) {
				t.Errorf("republished: list = %v", got)
			}
		})
	}
	// Unpublishing an article removes the redirects of its former slugs too.
	e := newFixtureEnv(t)
	e.model.ApplyArticles(revise(fixtureArticles()[0], func(a *domain.Article) { a.Published = nil }))
	mustStatus(t, e.get("/v1/sites/public/articles/kratom-withdrawal-old"), 404)
}

// TestSiteSettingsChange re-renders every article of a site whose settings change, from the
// HTML kept in its rendered entries (the record no longer holds it).
func TestSiteSettingsChange(t *testing.T) {
	e := newFixtureEnv(t)
	before := decodeJSON[articleJSON](t, e.get("/v1/sites/public/articles/shared-guide").Body.Bytes())
	changed := newSite("public", true, 2)
	changed.CrisisLineText = "Text HOME to 741741"
	changed.BaseURL = "https://help.example.net/"
	changed.CacheMaxAgeSeconds = 300
	e.putSites(changed)

	for _, slug := range []string{"shared-guide", "sleep-basics", "kratom-withdrawal"} {
		w := e.get("/v1/sites/public/articles/" + slug)
		mustStatus(t, w, 200)
		a := decodeJSON[articleJSON](t, w.Body.Bytes())
		if want := "https://help.example.net/articles/" + slug; a.URL != want {
			t.Errorf("%s: url = %q, want %q", slug, a.URL, want)
		}
		if a.CrisisLineText != "Text HOME to 741741" {
			t.Errorf("%s: crisisLineText = %q", slug, a.CrisisLineText)
		}
		if !strings.HasPrefix(a.HTML, "<p>") || !strings.HasSuffix(a.HTML, "</p>") {
			t.Errorf("%s: html after the re-render = %q", slug, a.HTML)
		}
		if cc := w.Header().Get("Cache-Control"); cc != "public, max-age=300, stale-while-revalidate=300" {
			t.Errorf("%s: Cache-Control = %q", slug, cc)
		}
	}
	after := decodeJSON[articleJSON](t, e.get("/v1/sites/public/articles/shared-guide").Body.Bytes())
	if after.HTML != before.HTML || before.HTML == "" {
		t.Errorf("html changed from %q to %q", before.HTML, after.HTML)
	}
	// The other site of the shared article keeps its settings.
	p := decodeJSON[articleJSON](t, e.get("/v1/sites/private/articles/shared-guide", "Authorization", "Bearer key-private").Body.Bytes())
	if p.URL != "https://private.example.org/articles/shared-guide" || p.CrisisLineText != "Call or text 988" || p.HTML != before.HTML {
		t.Errorf("private site's copy = %+v", p)
	}
	if locs := sitemapLocs(t, e, "public"); len(locs) == 0 || locs[0] != "https://help.example.net/" {
		t.Errorf("sitemap = %v", locs)
	}
	// A second change re-renders again from the entries.
	again := newSite("public", true, 3)
	again.CrisisLineText = "Third"
	e.putSites(again)
	a := decodeJSON[articleJSON](t, e.get("/v1/sites/public/articles/shared-guide").Body.Bytes())
	if a.CrisisLineText != "Third" || a.HTML != before.HTML {
		t.Errorf("after a second change: %+v", a)
	}
	// An older or equal site revision is ignored.
	stale := newSite("public", true, 2)
	stale.CrisisLineText = "Stale"
	e.putSites(stale, newSite("public", true, 3))
	if got := decodeJSON[articleJSON](t, e.get("/v1/sites/public/articles/shared-guide").Body.Bytes()).CrisisLineText; got != "Third" {
		t.Errorf("crisisLineText = %q after a stale site revision", got)
	}
	// A site made private needs a key from then on.
	private := newSite("public", false, 4)
	e.putSites(private)
	mustStatus(t, e.get("/v1/sites/public/articles/shared-guide"), 401)
	// A deleted site is gone.
	e.removeSite("public")
	mustStatus(t, e.get("/v1/sites/public/articles/shared-guide", "Authorization", "Bearer key-admin"), 404)
}

func TestSearch(t *testing.T) {
	e := newFixtureEnv(t)
	search := func(q string) searchJSON {
		t.Helper()
		w := e.get("/v1/sites/public/search?" + q)
		mustStatus(t, w, 200)
		if got := w.Header().Get("Surrogate-Key"); got != "site-public" {
			t.Errorf("Surrogate-Key = %q", got)
		}
		return decodeJSON[searchJSON](t, w.Body.Bytes())
	}
	res := search("q=hydration")
	if got := ids(cards(res)); !slices.Equal(got, []string{"a5", "a2"}) {
		t.Errorf("hydration: %v, want the title match a5 first, then a2", got)
	}
	if res.TotalSize != 2 || res.Results[0].Score <= res.Results[1].Score {
		t.Errorf("hydration: totalSize %d, scores %v", res.TotalSize, res.Results)
	}
	if got := ids(cards(search("q=melatonin"))); !slices.Equal(got, []string{"a3"}) {
		t.Errorf("melatonin: %v", got)
	}
	if got := search("q=zzyzx"); len(got.Results) != 0 || got.TotalSize != 0 {
		t.Errorf("zzyzx: %+v", got)
	}
	// Articles of other sites are not found.
	if got := search("q=private"); len(got.Results) != 0 {
		t.Errorf("private: %v", ids(cards(got)))
	}

	for _, q := range []string{"", "q=", "q=%20%20", "q=" + strings.Repeat("a", maxQueryLen+1), "q=guide&pageSize=-1", "q=guide&pageToken=nope"} {
		w := e.get("/v1/sites/public/search?" + q)
		mustStatus(t, w, 400)
		checkErrorBody(t, w, 400)
	}

	// Pagination over every article that says "guide" (all six).
	for size := 1; size <= 3; size++ {
		var seen []string
		token := ""
		for pages := 0; ; pages++ {
			if pages > 7 {
				t.Fatal("too many pages")
			}
			q := "q=guide&pageSize=" + strconv.Itoa(size)
			if token != "" {
				q += "&pageToken=" + url.QueryEscape(token)
			}
			page := search(q)
			if page.TotalSize != len(fixtureOrder) || len(page.Results) > size {
				t.Errorf("%s: totalSize %d, %d results", q, page.TotalSize, len(page.Results))
			}
			seen = append(seen, ids(cards(page))...)
			if token = page.NextPageToken; token == "" {
				break
			}
		}
		slices.Sort(seen)
		if want := slices.Sorted(slices.Values(fixtureOrder)); !slices.Equal(seen, want) {
			t.Errorf("pageSize=%d visits %v, want each of %v once", size, seen, want)
		}
		// A token is bound to its query.
		first := search("q=guide&pageSize=" + strconv.Itoa(size))
		if first.NextPageToken != "" {
			mustStatus(t, e.get("/v1/sites/public/search?q=guides&pageToken="+url.QueryEscape(first.NextPageToken)), 400)
		}
	}
}

func cards(s searchJSON) []cardJSON {
	out := make([]cardJSON, 0, len(s.Results))
	for _, r := range s.Results {
		out = append(out, r.Article)
	}
	return out
}

func sitemapLocs(tb testing.TB, e *testEnv, site string, headers ...string) []string {
	tb.Helper()
	w := e.get("/v1/sites/"+site+"/sitemap.xml", headers...)
	mustStatus(tb, w, 200)
	if ct := w.Header().Get("Content-Type"); ct != "application/xml; charset=utf-8" {
		tb.Errorf("sitemap Content-Type = %q", ct)
	}
	var doc struct {
		XMLName xml.Name `xml:"http://www.sitemaps.org/schemas/sitemap/0.9 urlset"`
		URLs    []struct {
			Loc     string `xml:"loc"`
			LastMod string `xml:"lastmod"`
		} `xml:"url"`
	}
	if err := xml.Unmarshal(w.Body.Bytes(), &doc); err != nil {
		tb.Fatalf("sitemap: %v\n%s", err, w.Body)
	}
	var locs []string
	for _, u := range doc.URLs {
		locs = append(locs, u.Loc)
	}
	return locs
}

type atomEntryXML struct {
	ID    string `xml:"id"`
	Title string `xml:"title"`
	Link  struct {
		Href string `xml:"href,attr"`
	} `xml:"link"`
}

func feedEntries(tb testing.TB, e *testEnv, site string, headers ...string) []atomEntryXML {
	tb.Helper()
	w := e.get("/v1/sites/"+site+"/feed.xml", headers...)
	mustStatus(tb, w, 200)
	if ct := w.Header().Get("Content-Type"); ct != "application/atom+xml; charset=utf-8" {
		tb.Errorf("feed Content-Type = %q", ct)
	}
	var doc struct {
		XMLName xml.Name       `xml:"http://www.w3.org/2005/Atom feed"`
		Entries []atomEntryXML `xml:"entry"`
	}
	if err := xml.Unmarshal(w.Body.Bytes(), &doc); err != nil {
		tb.Fatalf("feed: %v\n%s", err, w.Body)
	}
	return doc.Entries
}

func TestSitemapAndFeed(t *testing.T) {
	e := newFixtureEnv(t)
	// Unpublish one, so "live" is a strict subset of what was ever applied.
	e.model.ApplyArticles(revise(fixtureArticles()[3], func(a *domain.Article) { a.Published = nil }))
	live := []string{"a5", "a3", "a2", "a1", "m1"}
	slugOf := map[string]string{}
	for _, a := range fixtureArticles() {
		slugOf[a.ID] = a.Published.Content.Slug
	}
	want := []string{"https://public.example.org/"}
	for _, id := range live {
		want = append(want, "https://public.example.org/articles/"+slugOf[id])
	}
	if got := sitemapLocs(t, e, "public"); !slices.Equal(got, want) {
		t.Errorf("sitemap = %v, want %v", got, want)
	}
	entries := feedEntries(t, e, "public")
	var links []string
	for _, en := range entries {
		links = append(links, en.Link.Href)
		if !strings.HasPrefix(en.ID, "tag:public.example.org,2024:articles/") {
			t.Errorf("feed entry id %q", en.ID)
		}
	}
	if !slices.Equal(links, want[1:]) {
		t.Errorf("feed = %v, want %v", links, want[1:])
	}
	// The private site's, with a key.
	key := []string{"Authorization", "Bearer key-private"}
	if got := sitemapLocs(t, e, "private", key...); !slices.Equal(got, []string{"https://private.example.org/",
		"https://private.example.org/articles/private-guide", "https://private.example.org/articles/shared-guide"}) {
		t.Errorf("private sitemap = %v", got)
	}
	if got := feedEntries(t, e, "private", key...); len(got) != 2 {
		t.Errorf("private feed has %d entries", len(got))
	}
}

// TestNothingUnpublishedLeaks checks that no response carries editor notes or draft text.
func TestNothingUnpublishedLeaks(t *testing.T) {
	e := newFixtureEnv(t)
	paths := []string{
		"/v1/sites/public/articles",
		"/v1/sites/public/articles?tag=kratom",
		"/v1/sites/public/articles/sleep-basics",
		"/v1/sites/public/articles/shared-guide",
		"/v1/sites/public/articles/kratom-withdrawal-old",
		"/v1/sites/public/search?q=guide",
		"/v1/sites/public/search?q=" + draftMarker,
		"/v1/sites/public/search?q=" + editorNoteMarker,
		"/v1/sites/public/sitemap.xml",
		"/v1/sites/public/feed.xml",
		"/v1/sites/private/articles/private-guide",
	}
	for _, p := range paths {
		for _, ae := range []string{"", "gzip"} {
			w := e.get(p, "Accept-Encoding", ae, "Authorization", "Bearer key-admin")
			if w.Code >= 400 {
				t.Errorf("%s: %d", p, w.Code)
			}
			body := w.Body.Bytes()
			if w.Header().Get("Content-Encoding") == "gzip" {
				body = gunzip(t, body)
			}
			for _, marker := range []string{editorNoteMarker, draftMarker} {
				if strings.Contains(string(body), marker) || strings.Contains(strings.Join(flatten(w.Header()), " "), marker) {
					t.Errorf("%s (%q) contains %s", p, ae, marker)
				}
			}
		}
	}
	// Searches for the markers find nothing.
	for _, m := range []string{draftMarker, editorNoteMarker} {
		if got := decodeJSON[searchJSON](t, e.get("/v1/sites/public/search?q="+m).Body.Bytes()); got.TotalSize != 0 {
			t.Errorf("search %s: %d results", m, got.TotalSize)
		}
	}
}

func flatten(h http.Header) []string {
	var out []string
	for k, vs := range h {
		out = append(out, k)
		out = append(out, vs...)
	}
	return out
}
