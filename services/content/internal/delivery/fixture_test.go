package delivery

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/beaconcms/beacon/gateway"
	"github.com/beaconcms/beacon/platform/apperr"
	"github.com/beaconcms/beacon/platform/auth"
	"github.com/beaconcms/beacon/platform/markdown"
	"github.com/beaconcms/beacon/platform/pagetoken"
	"github.com/beaconcms/beacon/services/content/internal/domain"
	"github.com/beaconcms/beacon/services/content/internal/readmodel"
)

// Markers that must never reach a site: editor notes (in the published snapshot too, although
// publish strips them in the domain) and draft-only text.
const (
	editorNoteMarker = "EDITOR-NOTE-7f3a2c"
	draftMarker      = "DRAFT-ONLY-9c1e4b"
)

var (
	testT0     = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	testSecret = []byte("beacon-delivery-test-secret-0123") // 32 bytes
)

// fakeVerifier knows a fixed set of keys; any other secret is Unauthenticated.
type fakeVerifier map[string]auth.Principal

func (f fakeVerifier) Verify(_ context.Context, secret string) (auth.Principal, error) {
	if p, ok := f[secret]; ok {
		return p, nil
	}
	return auth.Principal{}, apperr.New(apperr.Unauthenticated, "invalid or revoked API key")
}

var (
	principalPrivate = auth.Principal{KeyName: "apiKeys/k-private", Role: auth.RoleDelivery, Site: "private"}
	principalOther   = auth.Principal{KeyName: "apiKeys/k-other", Role: auth.RoleDelivery, Site: "other"}
	principalAdmin   = auth.Principal{KeyName: "apiKeys/k-admin", Role: auth.RoleAdmin}
	testKeys         = fakeVerifier{"key-private": principalPrivate, "key-other": principalOther, "key-admin": principalAdmin}
)

// testClock is a settable clock shared by the model and the page-token codec.
type testClock struct{ ns atomic.Int64 }

func newTestClock(t time.Time) *testClock {
	c := &testClock{}
	c.ns.Store(t.UnixNano())
	return c
}

func (c *testClock) Now() time.Time          { return time.Unix(0, c.ns.Load()).UTC() }
func (c *testClock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

func newSite(id string, public bool, revision int64) *domain.Site {
	return &domain.Site{
		ID:             id,
		DisplayName:    "Site " + id,
		BaseURL:        "https://" + id + ".example.org",
		DefaultLocale:  "en",
		CrisisLineText: "Call or text 988",
		Public:         public,
		CreateTime:     testT0.AddDate(-1, 0, 0),
		UpdateTime:     testT0.AddDate(0, 0, -1),
		Revision:       revision,
	}
}

// newArticle returns a live article at revision 2, published minutes after testT0 on sites.
// Its draft holds draftMarker and both draft and snapshot hold editorNoteMarker as notes.
func newArticle(id, slug, title string, minutes int, sites ...string) *domain.Article {
	body := "A guide about " + title + " for readers."
	pt := testT0.Add(time.Duration(minutes) * time.Minute)
	return &domain.Article{
		ID:         id,
		State:      domain.StatePublished,
		RevisionID: 2,
		CreateTime: testT0,
		UpdateTime: pt,
		Draft: domain.Content{Title: draftMarker, Slug: slug, Body: draftMarker, Summary: draftMarker,
			EditorNotes: editorNoteMarker, TargetSites: sites},
		Published: &domain.Snapshot{
			Content: domain.Content{
				Title:       title,
				Slug:        slug,
				Summary:     "Summary of " + id,
				Body:        body,
				Authors:     []domain.Person{{DisplayName: "Dr. Ada Example", Credentials: "MD"}},
				TargetSites: sites,
				EditorNotes: editorNoteMarker,
			},
			Rendering:   markdown.Rendering{HTML: "<p>" + body + "</p>", WordCount: 8, ReadingTimeMinutes: 1},
			RevisionID:  2,
			PublishTime: pt,
		},
		PublishedSlugs: []string{slug},
	}
}

// revise returns a deep enough copy of a at the next revision, changed by fn.
func revise(a *domain.Article, fn func(*domain.Article)) *domain.Article {
	c := *a
	c.RevisionID++
	c.PublishedSlugs = slices.Clone(a.PublishedSlugs)
	if a.Published != nil {
		snap := *a.Published
		snap.Content.Tags = slices.Clone(snap.Content.Tags)
		snap.Content.Topics = slices.Clone(snap.Content.Topics)
		snap.Content.TargetSites = slices.Clone(snap.Content.TargetSites)
		c.Published = &snap
	}
	if fn != nil {
		fn(&c)
	}
	return &c
}

func withLabels(a *domain.Article, tags, topics []string) *domain.Article {
	a.Published.Content.Tags, a.Published.Content.Topics = tags, topics
	return a
}

func withBody(a *domain.Article, body string) *domain.Article {
	a.Published.Content.Body = body
	a.Published.Rendering.HTML = "<p>" + body + "</p>"
	return a
}

// The standard fixture. Site "public" is public, "private" and "other" need a key.
//
// Listing order of site public (publish time desc, id desc):
//
//	a5 (40) a4 (30) a3 (30) a2 (20) a1 (10) m1 (5)
func fixtureArticles() []*domain.Article {
	a1 := withLabels(newArticle("a1", "kratom-withdrawal", "Kratom withdrawal: what to expect", 10, "public"),
		[]string{"kratom", "withdrawal"}, []string{"addiction"})
	a1.PublishedSlugs = []string{"kratom-withdrawal-old", "kratom-withdrawal-2024", "kratom-withdrawal"} // two renames
	a2 := withLabels(newArticle("a2", "sleep-basics", "Sleep basics", 20, "public"),
		[]string{"sleep"}, []string{"wellbeing"})
	withBody(a2, "Good hydration helps sleep. Hydration matters; hydration before bed is a guide topic.")
	a2.PublishedSlugs = []string{"hydration-tips", "sleep-basics"} // its former slug is a5's current one
	a3 := withLabels(newArticle("a3", "kratom-and-sleep", "Kratom and sleep", 30, "public"),
		[]string{"kratom", "sleep"}, []string{"addiction", "wellbeing"})
	withBody(a3, "Melatonin and kratom: a guide for readers.")
	a4 := withLabels(newArticle("a4", "tapering-plans", "Tapering plans", 30, "public"),
		[]string{"kratom"}, []string{"recovery"})
	a5 := withLabels(newArticle("a5", "hydration-tips", "Hydration tips", 40, "public"),
		[]string{"hydration"}, []string{"addiction", "wellbeing"})
	withBody(a5, "Drink water often. This guide has tips.")
	m1 := withLabels(newArticle("m1", "shared-guide", "A shared guide", 5, "public", "private"),
		[]string{"kratom"}, []string{"wellbeing"})
	p1 := newArticle("p1", "private-guide", "Private guide", 15, "private")
	o1 := newArticle("o1", "other-guide", "Other guide", 15, "other")
	return []*domain.Article{a1, a2, a3, a4, a5, m1, p1, o1}
}

var fixtureOrder = []string{"a5", "a4", "a3", "a2", "a1", "m1"}

type testEnv struct {
	clock   *testClock
	catalog *fakeCatalog
	model   *readmodel.Model
	tokens  *pagetoken.Codec
	handler *Handler
	server  *Server
	edge    http.Handler
}

// fakeCatalog is a site catalog fed by the test. Like the content service's, it ignores a site
// revision older than or equal to the one it has.
type fakeCatalog struct {
	mu    sync.Mutex
	sites map[string]*domain.Site
}

func (c *fakeCatalog) All() []readmodel.Site {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []readmodel.Site
	for _, s := range c.sites {
		maxAge := s.CacheMaxAgeSeconds
		if maxAge == 0 {
			maxAge = domain.DefaultCacheMaxAge
		}
		out = append(out, readmodel.Site{ID: s.ID, DisplayName: s.DisplayName, BaseURL: s.BaseURL, DefaultLocale: s.DefaultLocale,
			CrisisLineText: s.CrisisLineText, Public: s.Public, CacheMaxAgeSeconds: maxAge, CreateTime: s.CreateTime, UpdateTime: s.UpdateTime})
	}
	return out
}

// putSites writes sites to the catalog and tells the model.
func (e *testEnv) putSites(sites ...*domain.Site) {
	e.catalog.mu.Lock()
	for _, s := range sites {
		if old := e.catalog.sites[s.ID]; old == nil || old.Revision < s.Revision {
			e.catalog.sites[s.ID] = s
		}
	}
	e.catalog.mu.Unlock()
	e.model.SitesChanged()
}

// removeSite removes a site from the catalog and tells the model.
func (e *testEnv) removeSite(id string) {
	e.catalog.mu.Lock()
	delete(e.catalog.sites, id)
	e.catalog.mu.Unlock()
	e.model.SitesChanged()
}

// newTestEnv returns a model fed directly with sites and articles, its REST handler behind a
// gateway edge (with no management routes) and its gRPC server, and the clock they read.
func newTestEnv(tb testing.TB, sites []*domain.Site, articles []*domain.Article) *testEnv {
	tb.Helper()
	clock := newTestClock(testT0.Add(24 * time.Hour))
	logger := slog.New(slog.DiscardHandler)
	catalog := &fakeCatalog{sites: map[string]*domain.Site{}}
	m := readmodel.New(catalog, readmodel.Options{PlainText: func(md string) string { return md }, Now: clock.Now, Logger: logger})
	tokens, err := pagetoken.NewCodec(testSecret, pagetoken.WithClock(clock.Now))
	if err != nil {
		tb.Fatal(err)
	}
	h := NewHandler(m, tokens, logger)
	h.now = clock.Now
	edge, err := gateway.New(context.Background(), gateway.DefaultConfig(), gateway.Upstreams{ReadSides: []gateway.ReadSide{h}, Verifier: testKeys, Logger: logger})
	if err != nil {
		tb.Fatal(err)
	}
	e := &testEnv{clock: clock, catalog: catalog, model: m, tokens: tokens, handler: h, server: NewServer(m, tokens), edge: edge}
	e.putSites(sites...)
	m.ApplyArticles(articles...)
	return e
}

func newFixtureEnv(tb testing.TB) *testEnv {
	tb.Helper()
	sites := []*domain.Site{newSite("public", true, 1), newSite("private", false, 1), newSite("other", false, 1)}
	return newTestEnv(tb, sites, fixtureArticles())
}

// ServeHTTP serves r the way the beacon binary does: through the gateway edge, which
// dispatches read routes to the handler (anything else answers 404 here: no management routes).
func (e *testEnv) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	e.edge.ServeHTTP(w, r)
}

// do sends a request with headers given as name, value pairs. (It does not fail, so it may be
// called from a fuzz target of the *testing.F that made e.)
func (e *testEnv) do(method, target string, headers ...string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, target, nil)
	for i := 0; i+1 < len(headers); i += 2 {
		r.Header.Set(headers[i], headers[i+1])
	}
	w := httptest.NewRecorder()
	e.ServeHTTP(w, r)
	return w
}

func (e *testEnv) get(target string, headers ...string) *httptest.ResponseRecorder {
	return e.do(http.MethodGet, target, headers...)
}

// mustStatus fails unless w has the status, showing the body.
func mustStatus(tb testing.TB, w *httptest.ResponseRecorder, want int) {
	tb.Helper()
	if w.Code != want {
		tb.Fatalf("status %d, want %d; body: %.500s", w.Code, want, w.Body.String())
	}
}

func decodeJSON[T any](tb testing.TB, raw []byte) T {
	tb.Helper()
	var v T
	if err := json.Unmarshal(raw, &v); err != nil {
		tb.Fatalf("decode JSON: %v; body: %.500s", err, raw)
	}
	return v
}

func gunzip(tb testing.TB, raw []byte) []byte {
	tb.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		tb.Fatalf("gzip: %v", err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		tb.Fatalf("gzip: %v", err)
	}
	return out
}

// errorBody is the JSON of a failed request.
type errorBody struct {
	Code    *int    `json:"code"`
	Message *string `json:"message"`
	Details []any   `json:"details"`
}

// articleJSON is the part of a PublishedArticle the tests read.
type articleJSON struct {
	Name           string `json:"name"`
	Title          string `json:"title"`
	Slug           string `json:"slug"`
	HTML           string `json:"html"`
	URL            string `json:"url"`
	CrisisLineText string `json:"crisisLineText"`
	JSONLD         string `json:"jsonLd"`
	RedirectSlug   string `json:"redirectSlug"`
}

type cardJSON struct {
	Name string   `json:"name"`
	Slug string   `json:"slug"`
	Tags []string `json:"tags"`
}

type listJSON struct {
	Articles      []cardJSON `json:"articles"`
	NextPageToken string     `json:"nextPageToken"`
}

type searchJSON struct {
	Results []struct {
		Article cardJSON `json:"article"`
		Score   float64  `json:"score"`
	} `json:"results"`
	NextPageToken string `json:"nextPageToken"`
	TotalSize     int    `json:"totalSize"`
}

// ids returns the article ids of cards ("articles/a1" → "a1").
func ids(cards []cardJSON) []string {
	out := []string{}
	for _, c := range cards {
		out = append(out, c.Name[len("articles/"):])
	}
	return out
}
