package readmodel

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/beaconcms/beacon/platform/httpcache"
	"github.com/beaconcms/beacon/services/content/internal/domain"
)

// cacheModel returns a model with the given body budget and n live articles of about 6 KB,
// slugged slug-000 onwards, on s1 (every third also on s2).
func cacheModel(tb testing.TB, budget int64, n int) (*Model, []*domain.Article) {
	tb.Helper()
	m := New(newCatalog(testSite("s1"), testSite("s2")), Options{PlainText: func(md string) string { return md },
		BodyCacheBytes: budget, Logger: slog.New(slog.DiscardHandler)})
	m.SitesChanged()
	var all []*domain.Article
	for i := range n {
		all = append(all, sizedArticle(i, 1))
	}
	m.ApplyArticles(all...)
	return m, all
}

// sizedArticle is article i at revision rev with a body of about 6 KB.
func sizedArticle(i int, rev int64) *domain.Article {
	sites := []string{"s1"}
	if i%3 == 0 {
		sites = append(sites, "s2")
	}
	a := liveArticle(fmt.Sprintf("a%03d", i), rev, fmt.Sprintf("slug-%03d", i), nil, i, []string{"kratom"}, nil, sites...)
	a.Published.Content.Title = fmt.Sprintf("Article %d, revision %d", i, rev)
	a.Published.Rendering.HTML = strings.Repeat(fmt.Sprintf("<p>article %d: kratom withdrawal and sleep.</p>", i), 6000/45)
	return a
}

// read serves the article of slug on site as delivery does, gzipped when gz, and returns its
// body.
func read(tb testing.TB, m *Model, site, slug string, gz bool) *httpcache.Body {
	tb.Helper()
	e := m.View(site).Article(slug)
	if e == nil {
		tb.Fatalf("%s/%s: no entry", site, slug)
	}
	b, err := e.Body()
	if err != nil {
		tb.Fatalf("%s/%s: %v", site, slug, err)
	}
	r := httptest.NewRequest("GET", "/v1/sites/"+site+"/articles/"+slug, nil)
	if gz {
		r.Header.Set("Accept-Encoding", "gzip")
	}
	httpcache.Write(httptest.NewRecorder(), r, b, []string{"application/json"})
	return b
}

// Reading every article of every site once, then again, keeps the rendered bodies within the
// model's budget (plus at most one body); unbounded, every body stays.
func TestModelBodiesStayWithinTheBudget(t *testing.T) {
	const articles = 60
	tests := []struct {
		name   string
		budget int64
	}{
		{"small budget", 64 << 10},
		{"one body", 1},
		{"unbounded", -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, _ := cacheModel(t, tt.budget, articles)
			largest := int64(0)
			reads := 0
			for round := range 2 {
				for i := range articles {
					for _, site := range []string{"s1", "s2"} {
						if site == "s2" && i%3 != 0 {
							continue
						}
						slug := fmt.Sprintf("slug-%03d", i)
						read(t, m, site, slug, (i+round)%2 == 0)
						reads++
						largest = max(largest, int64(m.View(site).Article(slug).Size()))
						s := m.Stats().Bodies
						if tt.budget > 0 && s.Bytes > tt.budget+largest {
							t.Fatalf("round %d, %s/%s: %d bytes of bodies, budget %d (largest entry %d)", round, site, slug, s.Bytes, tt.budget, largest)
						}
					}
				}
			}
			s := m.Stats().Bodies
			if tt.budget < 0 {
				if s.Bodies != reads/2 || s.Evictions != 0 || s.Renders != int64(reads/2) {
					t.Errorf("unbounded after %d reads of %d entries: %+v; want every body rendered once and kept", reads, reads/2, s)
				}
				return
			}
			if s.Evictions == 0 || s.Renders <= int64(reads/2) {
				t.Errorf("budget %d: %+v; want evictions, and renders again after them", tt.budget, s)
			}
		})
	}
}

// Entries a publish or a site's settings replaced leave the cache of bodies once nobody holds
// them, however large the budget.
func TestReplacedEntriesLeaveTheBodyCache(t *testing.T) {
	const articles = 30
	entriesOnS1 := articles
	entriesOnS2 := (articles + 2) / 3
	tests := []struct {
		name    string
		replace func(m *Model, all []*domain.Article)
		// left is how many of the old bodies a collection leaves (those not replaced).
		left int
	}{
		{"every article republished", func(m *Model, all []*domain.Article) {
			var next []*domain.Article
			for i := range all {
				next = append(next, sizedArticle(i, 2))
			}
			m.ApplyArticles(next...)
		}, 0},
		{"every article unpublished", func(m *Model, all []*domain.Article) {
			var gone []*domain.Article
			for _, a := range all {
				gone = append(gone, &domain.Article{ID: a.ID, State: domain.StateDraft, RevisionID: 2})
			}
			m.ApplyArticles(gone...)
		}, 0},
		{"s2's settings changed", func(m *Model, _ []*domain.Article) {
			s2 := testSite("s2")
			s2.DisplayName = "Renamed"
			m.catalog.(*catalog).put(s2)
			m.SitesChanged()
		}, entriesOnS1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, all := cacheModel(t, -1, articles)
			readAll := func() {
				for i := range articles {
					for _, site := range []string{"s1", "s2"} {
						if v := m.View(site); v != nil && v.Article(fmt.Sprintf("slug-%03d", i)) != nil {
							read(t, m, site, fmt.Sprintf("slug-%03d", i), i%2 == 0)
						}
					}
				}
			}
			readAll()
			if s := m.Stats().Bodies; s.Bodies != entriesOnS1+entriesOnS2 {
				t.Fatalf("%d bodies after reading %d entries", s.Bodies, entriesOnS1+entriesOnS2)
			}
			tt.replace(m, all)
			runtime.GC()
			if s := m.Stats().Bodies; s.Bodies != tt.left {
				t.Errorf("%d bodies after the replacement and a collection (%d bytes); want %d", s.Bodies, s.Bytes, tt.left)
			}
		})
	}
}

// Readers racing evictions, publishes and collections always get a whole body: its ETag is
// its bytes' hash, its JSON is the article asked for, an entry's body is the same bytes every
// time, and its gzip form unpacks to them. Run with -race.
func TestBodiesUnderConcurrentReadsEvictionsAndPublishes(t *testing.T) {
	const articles, readers, readsEach = 24, 4, 1500
	m, _ := cacheModel(t, 40<<10, articles) // room for about three bodies: constant eviction
	var wg sync.WaitGroup
	stop := make(chan struct{})
	var failed sync.Once
	fail := func(format string, args ...any) {
		failed.Do(func() { t.Errorf(format, args...) })
	}
	for r := range readers {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(r), 7))
			seen := map[*Entry][32]byte{}
			for range readsEach {
				i := rng.IntN(articles)
				slug := fmt.Sprintf("slug-%03d", i)
				e := m.View("s1").Article(slug)
				if e == nil {
					fail("s1/%s: no entry", slug)
					return
				}
				b, err := e.Body()
				if err != nil || b == nil {
					fail("s1/%s: body %v, %v", slug, b, err)
					return
				}
				sum := sha256.Sum256(b.Raw())
				if b.Hash() != hex.EncodeToString(sum[:12]) {
					fail("s1/%s: ETag %s is not the hash of its bytes", slug, b.ETag())
					return
				}
				if first, ok := seen[e]; ok && first != sum {
					fail("s1/%s: the entry rendered different bytes after an eviction", slug)
					return
				}
				seen[e] = sum
				var pa struct{ Name, Slug string }
				if err := json.Unmarshal(b.Raw(), &pa); err != nil || pa.Name != "articles/"+e.ID || pa.Slug != slug {
					fail("s1/%s: JSON names %+v, %v", slug, pa, err)
					return
				}
				if rng.IntN(3) == 0 {
					req := httptest.NewRequest("GET", "/x", nil)
					req.Header.Set("Accept-Encoding", "gzip")
					w := httptest.NewRecorder()
					httpcache.Write(w, req, b, []string{"application/json"})
					zr, err := gzip.NewReader(w.Body)
					if err != nil {
						fail("s1/%s: gzip: %v", slug, err)
						return
					}
					if raw, err := io.ReadAll(zr); err != nil || !bytes.Equal(raw, b.Raw()) {
						fail("s1/%s: the gzip form is not the body (%v)", slug, err)
						return
					}
				}
			}
		})
	}
	var side sync.WaitGroup
	side.Go(func() { // publishes replace entries
		for rev := int64(2); ; rev++ {
			select {
			case <-stop:
				return
			default:
			}
			m.ApplyArticles(sizedArticle(int(rev)%articles, rev))
		}
	})
	side.Go(func() { // collections drop replaced entries; Stats sweeps their slots
		for {
			select {
			case <-stop:
				return
			default:
			}
			runtime.GC()
			if s := m.Stats().Bodies; s.Bytes < 0 || s.Bodies < 0 {
				fail("stats %+v", s)
			}
		}
	})
	wg.Wait()
	close(stop)
	side.Wait()
	if s := m.Stats().Bodies; s.Evictions == 0 {
		t.Errorf("no eviction happened: %+v", s)
	}
}
