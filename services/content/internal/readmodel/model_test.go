package readmodel

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/beaconcms/beacon/platform/markdown"
	"github.com/beaconcms/beacon/services/content/internal/domain"
)

var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

// catalog is a site catalog fed by the test.
type catalog struct {
	mu    sync.Mutex
	sites map[string]Site
}

func newCatalog(sites ...Site) *catalog {
	c := &catalog{sites: map[string]Site{}}
	for _, s := range sites {
		c.sites[s.ID] = s
	}
	return c
}

func (c *catalog) All() []Site {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Collect(maps.Values(c.sites))
}

func (c *catalog) put(s Site) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sites[s.ID] = s
}

func testSite(id string) Site {
	return Site{ID: id, DisplayName: "Site " + id, BaseURL: "https://" + id + ".example.org", DefaultLocale: "en",
		CrisisLineText: "Call 988", Public: true, CacheMaxAgeSeconds: 60, CreateTime: t0.AddDate(-1, 0, 0), UpdateTime: t0}
}

func newTestModel(c *catalog) *Model {
	m := New(c, Options{PlainText: func(md string) string { return md }, Logger: slog.New(slog.DiscardHandler)})
	m.SitesChanged()
	return m
}

// liveArticle returns a published article at revision rev.
func liveArticle(id string, rev int64, slug string, former []string, minutes int, tags, topics []string, sites ...string) *domain.Article {
	body := "Words about " + slug + " and " + id
	return &domain.Article{
		ID: id, State: domain.StatePublished, RevisionID: rev,
		Published: &domain.Snapshot{
			Content: domain.Content{Title: "Title " + id, Slug: slug, Summary: "About " + id, Body: body,
				Tags: tags, Topics: topics, TargetSites: sites, EditorNotes: "NOTE"},
			Rendering:   markdown.Rendering{HTML: "<p>" + body + "</p>", WordCount: 6, ReadingTimeMinutes: 1},
			RevisionID:  rev,
			PublishTime: t0.Add(time.Duration(minutes) * time.Minute),
		},
		PublishedSlugs: append(slices.Clone(former), slug),
	}
}

// source serves a fixed set of articles to Load.
type source struct{ articles []*domain.Article }

func (s source) ForEachLiveArticle(_ context.Context, fn func(*domain.Article) error) error {
	for _, a := range s.articles {
		if a.Live() {
			if err := fn(a); err != nil {
				return err
			}
		}
	}
	return nil
}

func (s source) GetArticlesForDelivery(context.Context, []string) ([]*domain.Article, error) {
	return nil, errors.New("not used")
}

func (s source) ArticleChangesHead(context.Context) (int64, error) { return 0, nil }

func (s source) OwnArticleChanges(int64, int64) bool { return false }

func (s source) ListArticleChanges(context.Context, time.Time, int) ([]domain.ArticleChange, error) {
	return nil, nil
}

// viewState is everything a view answers, by id, to compare two views.
type viewState struct {
	Ordered   []string
	ByID      []string
	BySlug    map[string]string
	Redirects map[string]string
	ByTag     map[string][]string
	ByTopic   map[string][]string
	Search    map[string][]string
}

func stateOf(v *View, words []string) viewState {
	idsOf := func(es []*Entry) []string {
		out := []string{}
		for _, e := range es {
			out = append(out, e.ID)
		}
		return out
	}
	s := viewState{Ordered: idsOf(v.ordered.slice()), ByID: idsIn(v.byID), BySlug: map[string]string{},
		Redirects: map[string]string{}, ByTag: map[string][]string{}, ByTopic: map[string][]string{}, Search: map[string][]string{}}
	v.bySlug.all(func(slug string, e *Entry) { s.BySlug[slug] = e.ID })
	v.redirects.all(func(slug, to string) { s.Redirects[slug] = to })
	v.byTag.all(func(t string, es *entryList) { s.ByTag[t] = idsOf(es.slice()) })
	v.byTopic.all(func(t string, es *entryList) { s.ByTopic[t] = idsOf(es.slice()) })
	for _, w := range words {
		var hits []string
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		found, err := v.Search(ctx, w)
		cancel()
		if err != nil {
			panic(fmt.Sprintf("Search(%q): %v", w, err)) // stateOf has no testing.TB; a hang would be worse
		}
		for _, h := range found {
			hits = append(hits, h.Entry.ID)
		}
		slices.Sort(hits)
		s.Search[w] = hits
	}
	return s
}

// TestIncrementalEqualsRebuild applies a random sequence of publishes, republishes,
// unpublishes, deletes and site changes one by one, and checks that every site's view equals
// the one a fresh model builds from the final state in one load.
func TestIncrementalEqualsRebuild(t *testing.T) {
	siteIDs := []string{"s1", "s2", "s3", "s4"}
	slugs := []string{"alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta"}
	tags := []string{"kratom", "sleep", "pain"}
	words := []string{"alpha", "beta", "words", "a3", "gamma"}
	for seed := range uint64(20) {
		t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 7))
			pick := func(from []string, max int) []string {
				var out []string
				for _, x := range from {
					if rng.IntN(len(from)) < max {
						out = append(out, x)
					}
				}
				return out
			}
			cat := newCatalog()
			for _, id := range siteIDs {
				cat.put(testSite(id))
			}
			m := newTestModel(cat)
			final := map[string]*domain.Article{}
			revs := map[string]int64{}
			for step := range 300 {
				id := fmt.Sprintf("a%d", rng.IntN(25))
				revs[id]++
				var a *domain.Article
				switch r := rng.IntN(10); {
				case r < 6: // publish or republish, maybe elsewhere, under another slug
					sites := pick(siteIDs, 2)
					if len(sites) == 0 {
						sites = []string{siteIDs[rng.IntN(len(siteIDs))]}
					}
					a = liveArticle(id, revs[id], slugs[rng.IntN(len(slugs))], pick(slugs, 2), rng.IntN(8),
						pick(tags, 2), pick(tags, 1), sites...)
				case r < 8: // unpublish
					a = &domain.Article{ID: id, State: domain.StateDraft, RevisionID: revs[id]}
				case r < 9: // delete a live article
					a = liveArticle(id, revs[id], slugs[rng.IntN(len(slugs))], nil, 1, nil, nil, "s1")
					a.DeleteTime = t0
				default: // a site's settings change, or it is deleted or undeleted
					revs[id]--
					s := testSite(siteIDs[rng.IntN(len(siteIDs))])
					s.CrisisLineText = fmt.Sprint("Call ", step)
					s.Deleted = rng.IntN(3) == 0
					cat.put(s)
					m.SitesChanged()
					continue
				}
				final[id] = a
				m.ApplyArticles(a)
			}

			fresh := New(cat, Options{PlainText: func(md string) string { return md }})
			if _, err := fresh.Load(t.Context(), source{slices.Collect(maps.Values(final))}); err != nil {
				t.Fatal(err)
			}
			if err := fresh.BuildSearch(t.Context()); err != nil {
				t.Fatal(err)
			}
			for _, site := range siteIDs {
				got, want := m.View(site), fresh.View(site)
				if (got == nil) != (want == nil) {
					t.Fatalf("site %s: incremental view %v, rebuilt view %v", site, got != nil, want != nil)
				}
				if got == nil {
					continue
				}
				gs, ws := stateOf(got, words), stateOf(want, words)
				if fmt.Sprint(gs) != fmt.Sprint(ws) {
					t.Fatalf("site %s:\nincremental %+v\nrebuilt     %+v", site, gs, ws)
				}
				want.byID.all(func(id string, e *Entry) {
					g, _ := got.byID.get(id)
					if g == nil {
						t.Fatalf("site %s, article %s: missing from the incremental view", site, id)
					}
					gb, gerr := g.Body()
					wb, werr := e.Body()
					if gerr != nil || werr != nil || !bytes.Equal(gb.Raw(), wb.Raw()) || !bytes.Equal(g.CardJSON, e.CardJSON) {
						t.Fatalf("site %s, article %s: rendered bytes differ (errors %v, %v)", site, id, gerr, werr)
					}
				})
				if *got.Site() != *want.Site() {
					t.Fatalf("site %s: settings %+v, want %+v", site, *got.Site(), *want.Site())
				}
			}
		})
	}
}

func TestPublishTouchesOnlyItsSites(t *testing.T) {
	m := newTestModel(newCatalog(testSite("s1"), testSite("s2"), testSite("s3")))
	m.ApplyArticles(liveArticle("a1", 1, "one", nil, 1, nil, nil, "s1"), liveArticle("a2", 1, "two", nil, 2, nil, nil, "s2"))
	before := map[string]*View{"s1": m.View("s1"), "s2": m.View("s2"), "s3": m.View("s3")}
	untouched, _ := m.View("s1").byID.get("a1")
	m.ApplyArticles(liveArticle("a3", 1, "three", nil, 3, nil, nil, "s1"))
	if m.View("s2") != before["s2"] || m.View("s3") != before["s3"] {
		t.Error("a publish on s1 replaced the views of other sites")
	}
	if m.View("s1") == before["s1"] || m.View("s1").Len() != 2 {
		t.Fatalf("s1 view not updated: %d articles", m.View("s1").Len())
	}
	if e, _ := m.View("s1").byID.get("a1"); e != untouched {
		t.Error("a publish re-rendered an unchanged article")
	}
	if before["s1"].Len() != 1 {
		t.Error("the previous view was modified")
	}
}

func TestDeletedSiteIsNotServedAndUndeleteRestoresIt(t *testing.T) {
	cat := newCatalog(testSite("s1"))
	m := newTestModel(cat)
	m.ApplyArticles(liveArticle("a1", 1, "one", nil, 1, nil, nil, "s1"))
	deleted := testSite("s1")
	deleted.Deleted = true
	cat.put(deleted)
	m.SitesChanged()
	if m.View("s1") != nil {
		t.Fatal("a deleted site has a view")
	}
	if _, err := m.Access("s1", adminPrincipal, true); err == nil {
		t.Fatal("Access to a deleted site succeeded")
	}
	m.ApplyArticles(liveArticle("a2", 1, "two", nil, 2, nil, nil, "s1")) // while deleted
	cat.put(testSite("s1"))
	m.SitesChanged()
	v := m.View("s1")
	if v == nil || v.Len() != 2 || v.Article("one") == nil || v.Article("two") == nil {
		t.Fatalf("after undelete: %v", v)
	}
}

func TestHTMLKeptUntilRenderedEverywhere(t *testing.T) {
	cat := newCatalog(testSite("s1"))
	m := newTestModel(cat)
	a := liveArticle("a1", 1, "one", nil, 1, nil, nil, "s1", "s2") // s2 is not known yet
	m.ApplyArticles(a)
	if m.records["a1"].html.IsZero() {
		t.Fatal("html dropped before the article was rendered on all its sites")
	}
	cat.put(testSite("s2"))
	m.SitesChanged()
	if !m.records["a1"].html.IsZero() {
		t.Error("html kept after the article was rendered on all its sites")
	}
	if html, err := m.View("s2").Article("one").HTML(); err != nil || html != a.Published.Rendering.HTML {
		t.Errorf("s2 entry HTML = %q, %v", html, err)
	}
}

func TestSettingsChangeRerendersFromTheEntries(t *testing.T) {
	cat := newCatalog(testSite("s1"))
	m := newTestModel(cat)
	a := liveArticle("a1", 1, "one", nil, 1, nil, nil, "s1")
	m.ApplyArticles(a)
	if !m.records["a1"].html.IsZero() {
		t.Fatal("html kept after rendering the article on its only site")
	}
	s := testSite("s1")
	s.CrisisLineText = "Text HOME"
	cat.put(s)
	m.SitesChanged()
	e := m.View("s1").Article("one")
	html, err := e.HTML()
	if err != nil || html != a.Published.Rendering.HTML {
		t.Fatalf("HTML after re-render = %q, %v; want %q", html, err, a.Published.Rendering.HTML)
	}
	body, err := e.Body()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(body.Raw(), []byte("Text HOME")) {
		t.Errorf("entry not re-rendered with the new settings: %s", body.Raw())
	}
}

func TestSitemapRenderIsRetriedAfterAFailure(t *testing.T) {
	m := newTestModel(newCatalog(testSite("s1")))
	calls := 0
	m.renderSitemap = func(*Site, []*Entry, time.Time) ([]byte, error) {
		calls++
		if calls == 1 {
			return nil, errors.New("transient")
		}
		return []byte("<urlset/>"), nil
	}
	m.renderFeed = m.renderSitemap
	m.ApplyArticles(liveArticle("a1", 1, "one", nil, 1, nil, nil, "s1"))
	v := m.View("s1")
	if _, err := v.Sitemap(); err == nil {
		t.Fatal("first render: no error")
	}
	b, err := v.Sitemap()
	if err != nil || string(b.Raw()) != "<urlset/>" {
		t.Fatalf("second render = %v, %v; want it retried and served", b, err)
	}
	if again, _ := v.Sitemap(); again != b || calls != 2 {
		t.Fatalf("third call rendered again (calls %d)", calls)
	}
	// The feed has its own body, with the same retry.
	calls = 0
	if _, err := v.Feed(); err == nil {
		t.Fatal("feed: first render no error")
	}
	if b, err := v.Feed(); err != nil || string(b.Raw()) != "<urlset/>" {
		t.Fatalf("feed retry = %v, %v", b, err)
	}
}

func TestCacheControl(t *testing.T) {
	tests := []struct {
		public bool
		maxAge int
		want   string
	}{
		{true, 60, "public, max-age=60, stale-while-revalidate=300"},
		{true, 0, "public, max-age=0, stale-while-revalidate=300"},
		{false, 60, "private, max-age=60"},
		{false, 86400, "private, max-age=86400"},
	}
	for _, tt := range tests {
		if got := CacheControl(tt.public, tt.maxAge); got != tt.want {
			t.Errorf("CacheControl(%v, %d) = %q, want %q", tt.public, tt.maxAge, got, tt.want)
		}
	}
}

func TestCursorAfter(t *testing.T) {
	t1 := t0
	t2 := t0.Add(time.Second)
	cursor := &Cursor{T: t1, I: "m"}
	tests := []struct {
		name string
		e    *Entry
		want bool
	}{
		{"older comes after", &Entry{ID: "z", PublishTime: t1.Add(-time.Nanosecond)}, true},
		{"newer comes before", &Entry{ID: "a", PublishTime: t2}, false},
		{"same time, smaller id comes after", &Entry{ID: "l", PublishTime: t1}, true},
		{"same time, same id is the cursor itself", &Entry{ID: "m", PublishTime: t1}, false},
		{"same time, larger id comes before", &Entry{ID: "n", PublishTime: t1}, false},
		{"same instant in another zone", &Entry{ID: "l", PublishTime: t1.In(time.FixedZone("x", 3600))}, true},
	}
	for _, tt := range tests {
		if got := cursor.after(tt.e); got != tt.want {
			t.Errorf("%s: after = %v, want %v", tt.name, got, tt.want)
		}
	}
}

// TestReadersDuringWrites runs readers against the views while a writer publishes, unpublishes
// and changes site settings (run with -race).
func TestReadersDuringWrites(t *testing.T) {
	cat := newCatalog(testSite("s1"), testSite("s2"))
	m := newTestModel(cat)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				for _, site := range []string{"s1", "s2"} {
					v, err := m.Access(site, adminPrincipal, true)
					if err != nil {
						continue // deleted for a moment
					}
					v.ListPage("kratom", "", nil, 10)
					_, _ = v.Search(context.Background(), "words")
					_, _ = v.Sitemap()
					_, _ = v.Feed()
					if e := v.Article("alpha"); e != nil {
						_, _ = e.HTML()
					}
				}
			}
		})
	}
	for i := range 300 {
		id := fmt.Sprintf("a%d", i%20)
		m.ApplyArticles(liveArticle(id, int64(i+1), []string{"alpha", "beta", "gamma"}[i%3], []string{"alpha"}, i%7,
			[]string{"kratom"}, nil, []string{"s1", "s2"}[i%2]))
		if i%50 == 0 {
			s := testSite("s2")
			s.CrisisLineText = fmt.Sprint(i)
			s.Deleted = i%100 == 0
			cat.put(s)
			m.SitesChanged()
		}
	}
	close(stop)
	wg.Wait()
}

func idsIn(ix *shardedMap[*Entry]) []string {
	var out []string
	ix.all(func(id string, _ *Entry) { out = append(out, id) })
	slices.Sort(out)
	return out
}

// TestRefreshReviewsDropsOverdueReviewers checks that a reviewer leaves the served JSON-LD once
// the review falls due, with time alone (no write), and that only then is anything re-rendered.
func TestRefreshReviewsDropsOverdueReviewers(t *testing.T) {
	var mu sync.Mutex
	now := t0
	c := newCatalog(testSite("s1"), testSite("s2"))
	m := New(c, Options{PlainText: func(md string) string { return md }, Logger: slog.New(slog.DiscardHandler),
		Now: func() time.Time { mu.Lock(); defer mu.Unlock(); return now }})
	m.SitesChanged()
	due := time.Date(2025, 3, 3, 0, 0, 0, 0, time.UTC) // reviews fall due at midnight UTC
	reviewed := due.AddDate(0, -domain.DefaultReviewValidityMonths, 0)
	a := liveArticle("a1", 1, "one", nil, 0, nil, nil, "s1", "s2")
	a.Published.Content.Reviewers = []domain.Reviewer{{Person: domain.Person{DisplayName: "Dr. Real", Credentials: "MD"}, Role: domain.RoleClinical,
		ReviewDate: domain.Date{Year: reviewed.Year(), Month: int(reviewed.Month()), Day: reviewed.Day()}}}
	b := liveArticle("b1", 1, "two", nil, 1, nil, nil, "s1") // no review: never re-rendered
	m.ApplyArticles(a, b)
	served := func(site, slug string) *Entry { return m.View(site).Article(slug) }
	before := map[string]*Entry{"s1/one": served("s1", "one"), "s2/one": served("s2", "one"), "s1/two": served("s1", "two")}
	for _, key := range []string{"s1/one", "s2/one"} {
		if !bytes.Contains(entryJSON(t, before[key]), []byte(`reviewedBy`)) {
			t.Fatalf("%s: no reviewedBy while the review is current", key)
		}
	}
	mu.Lock()
	now = due.Add(-time.Second)
	mu.Unlock()
	m.RefreshReviews()
	if served("s1", "one") != before["s1/one"] {
		t.Fatal("re-rendered before the review fell due")
	}
	mu.Lock()
	now = due
	mu.Unlock()
	m.RefreshReviews()
	for _, key := range []string{"s1/one", "s2/one"} {
		site, slug, _ := bytes.Cut([]byte(key), []byte("/"))
		e := served(string(site), string(slug))
		if e == before[key] || bytes.Contains(entryJSON(t, e), []byte(`reviewedBy`)) || bytes.Contains(entryJSON(t, e), []byte(`lastReviewed`)) {
			t.Errorf("%s after the review fell due: still %s", key, entryJSON(t, e))
		}
		if !bytes.Contains(entryJSON(t, e), []byte(`Dr. Real`)) {
			t.Errorf("%s: the reviewer left the reviewers list too (it should stay, marked not current)", key)
		}
	}
	if served("s1", "two") != before["s1/two"] {
		t.Error("an article without reviews was re-rendered")
	}
	if m.reviewRefresh != (time.Time{}) {
		t.Errorf("refresh still pending at %v", m.reviewRefresh)
	}
}

// entryJSON returns e's PublishedArticle JSON, rendering it.
func entryJSON(tb testing.TB, e *Entry) []byte {
	tb.Helper()
	b, err := e.Body()
	if err != nil {
		tb.Fatalf("render %s: %v", e.ID, err)
	}
	return b.Raw()
}

// Stats counts the live articles, grows with what is rendered, and reports the newest write
// applied; an article that leaves delivery leaves the count.
func TestStats(t *testing.T) {
	m := newTestModel(newCatalog(testSite("s1"), testSite("s2")))
	if s := m.Stats(); s.Articles != 0 || s.Bytes != 0 || !s.LastChange.IsZero() || !s.Synced.IsZero() {
		t.Fatalf("empty model: %+v", s)
	}
	a1 := liveArticle("a1", 1, "one", nil, 1, nil, nil, "s1", "s2")
	a1.UpdateTime = t0.Add(time.Hour)
	a2 := liveArticle("a2", 1, "two", nil, 2, nil, nil, "s1")
	a2.UpdateTime = t0.Add(2 * time.Hour)
	m.ApplyArticles(a1, a2)
	before := m.Stats()
	if before.Articles != 2 || before.Bytes <= 0 || !before.LastChange.Equal(a2.UpdateTime) {
		t.Fatalf("two live articles: %+v; want 2, some bytes, last change %v", before, a2.UpdateTime)
	}
	if _, err := m.View("s1").Article("one").Body(); err != nil { // rendered on first request
		t.Fatal(err)
	}
	if after := m.Stats(); after.Bytes <= before.Bytes {
		t.Errorf("bytes %d after rendering an article's JSON, %d before: want more", after.Bytes, before.Bytes)
	}
	// An older clock: the newest change stays.
	gone := &domain.Article{ID: "a2", State: domain.StateDraft, RevisionID: 2, UpdateTime: t0.Add(time.Hour)}
	m.ApplyArticles(gone)
	if s := m.Stats(); s.Articles != 1 || !s.LastChange.Equal(a2.UpdateTime) {
		t.Errorf("after unpublishing a2: %+v; want 1 article, last change still %v", s, a2.UpdateTime)
	}
}
