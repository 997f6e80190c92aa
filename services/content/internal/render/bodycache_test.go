package render

import (
	"bytes"
	"fmt"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/beaconcms/beacon/platform/httpcache"
	"github.com/beaconcms/beacon/services/content/internal/domain"
)

var cacheSite = &Site{ID: "s1", BaseURL: "https://s1.example.org", DisplayName: "S1", DefaultLocale: "en"}

// cachedArticle returns article n with a body of about size bytes and a clinical review that is
// current at 2025-03-01 (when the test entries render) but long overdue today: an entry that
// rendered with the clock instead of its own time would say otherwise.
func cachedArticle(n, size int) (*Article, string) {
	a := testArticle()
	a.ID = fmt.Sprintf("a%03d", n)
	a.Content.Slug = fmt.Sprintf("slug-%03d", n)
	a.Content.Reviewers = []domain.Reviewer{{Person: domain.Person{DisplayName: "Dr. Ann"}, Role: domain.RoleClinical,
		ReviewDate: domain.Date{Year: 2024, Month: 9, Day: 1}}}
	html := "<h2 id=\"one\">One</h2>" + strings.Repeat(fmt.Sprintf("<p>article %d: kratom withdrawal and sleep.</p>", n), size/45)
	return a, html
}

var entryTime = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

// newCachedEntry makes the entry of cachedArticle(n, size) in cache.
func newCachedEntry(tb testing.TB, cache *BodyCache, n, size int, html func(string) HTML) *Entry {
	tb.Helper()
	a, body := cachedArticle(n, size)
	e, err := NewEntry(cacheSite, a, html(body), entryTime, cache)
	if err != nil {
		tb.Fatal(err)
	}
	return e
}

// serve writes e's body as delivery does, with the given request headers (name, value pairs),
// and returns the recorded response.
func serve(tb testing.TB, e *Entry, headers ...string) *httptest.ResponseRecorder {
	tb.Helper()
	b, err := e.Body()
	if err != nil {
		tb.Fatal(err)
	}
	r := httptest.NewRequest("GET", "/v1/sites/s1/articles/"+e.Slug, nil)
	for i := 0; i+1 < len(headers); i += 2 {
		r.Header.Set(headers[i], headers[i+1])
	}
	w := httptest.NewRecorder()
	httpcache.Write(w, r, b, []string{"application/json"})
	return w
}

func compressedHTML(tb testing.TB) func(string) HTML {
	enc, err := zstd.NewWriter(nil)
	if err != nil {
		tb.Fatal(err)
	}
	return func(html string) HTML {
		snap := &domain.Snapshot{CompressedBody: enc.EncodeAll([]byte(html+"\x00search text"), nil)}
		return SnapshotHTML(snap)
	}
}

// An evicted entry renders again to the same bytes and ETags (those it would render at its own
// time), and a client holding the old ETag still gets 304.
func TestEvictedEntryRendersTheSameBytes(t *testing.T) {
	tests := []struct {
		name string
		size int
		html func(string) HTML
	}{
		{"plain body", 6000, PlainHTML},
		{"compressed body", 6000, compressedHTML(t)},
		{"empty body", 0, func(string) HTML { return HTML{} }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cache := NewBodyCache(1) // room for one body: each render evicts the one before
			e := newCachedEntry(t, cache, 1, tt.size, tt.html)
			first := serve(t, e, "Accept-Encoding", "gzip")
			b1, _ := e.Body()
			raw1, etag1, gzipETag := bytes.Clone(b1.Raw()), b1.ETag(), first.Header().Get("Etag")

			a, html := cachedArticle(1, tt.size)
			if tt.size == 0 {
				html = ""
			}
			pa, err := PublishedArticle(cacheSite, a, html, entryTime)
			if err != nil {
				t.Fatal(err)
			}
			want, err := jsonMarshal(pa)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(raw1, want) || !bytes.Contains(raw1, []byte("Dr. Ann")) {
				t.Fatalf("first render is not the article as of its time:\n%s\nwant\n%s", raw1, want)
			}

			other := newCachedEntry(t, cache, 2, 6000, PlainHTML)
			serve(t, other)
			if e.body.Load() != nil || e.Size() != len(e.CardJSON)+e.html.Size() {
				t.Fatalf("entry still cached after another took the only room (size %d)", e.Size())
			}
			if s := cache.Stats(); s.Evictions != 1 || s.Bodies != 1 {
				t.Fatalf("stats %+v, want one eviction and one body", s)
			}

			again := serve(t, e)
			b2, _ := e.Body()
			if b2 == b1 {
				t.Fatal("the evicted body came back: no render happened")
			}
			if !bytes.Equal(b2.Raw(), raw1) || b2.ETag() != etag1 || again.Header().Get("Etag") != etag1 {
				t.Errorf("re-rendered JSON differs: ETag %s (served %s), was %s\n%s\nwas\n%s", b2.ETag(), again.Header().Get("Etag"), etag1, b2.Raw(), raw1)
			}
			if got := serve(t, e, "Accept-Encoding", "gzip").Header().Get("Etag"); got != gzipETag {
				t.Errorf("gzip ETag %s after the re-render, was %s", got, gzipETag)
			}
			for _, inm := range []string{etag1, gzipETag} {
				if w := serve(t, e, "If-None-Match", inm); w.Code != 304 {
					t.Errorf("If-None-Match %s after the re-render: %d, want 304", inm, w.Code)
				}
			}
			if got, err := e.HTML(); err != nil || got != html {
				t.Errorf("HTML() = %.40q, %v; want the article's body", got, err)
			}
		})
	}
}

// Reading every entry keeps the cache within its budget (a body larger than the budget alone
// excepted), gzip forms included, and its bytes equal to what the cached entries hold.
func TestBodyCacheStaysWithinItsBudget(t *testing.T) {
	tests := []struct {
		name          string
		budget        int64
		wantEvictions bool
	}{
		{"room for one body", 1, true},
		{"a few bodies", 40 << 10, true},
		{"about half", 150 << 10, true},
		{"unbounded", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cache := NewBodyCache(tt.budget)
			var entries []*Entry
			for i := range 40 {
				entries = append(entries, newCachedEntry(t, cache, i, 1000+i*300, PlainHTML))
			}
			largest, total := int64(0), int64(0)
			for round := range 2 {
				for i, e := range entries {
					w := serve(t, e, "Accept-Encoding", []string{"identity", "gzip"}[(i+round)%2])
					if w.Code != 200 {
						t.Fatalf("status %d", w.Code)
					}
					if b := e.body.Load(); b != nil && w.Header().Get("Content-Encoding") == "gzip" {
						if want := fmt.Sprint(e.held.Load() - int64(len(b.Raw()))); w.Header().Get("Content-Length") != want {
							t.Fatalf("entry %d holds %d bytes of gzip, served %s", i, e.held.Load()-int64(len(b.Raw())), w.Header().Get("Content-Length"))
						}
					}
					largest = max(largest, e.held.Load())
					s := cache.Stats()
					held := int64(0)
					for _, e := range entries {
						held += e.held.Load()
					}
					if s.Bytes != held {
						t.Fatalf("cache counts %d bytes, its entries hold %d", s.Bytes, held)
					}
					if tt.budget > 0 && s.Bytes > max(tt.budget, largest) {
						t.Fatalf("round %d entry %d: %d bytes cached, budget %d (largest body %d)", round, i, s.Bytes, tt.budget, largest)
					}
				}
			}
			for _, e := range entries {
				total += e.held.Load()
			}
			s := cache.Stats()
			if (s.Evictions > 0) != tt.wantEvictions {
				t.Errorf("%d evictions; want some: %v", s.Evictions, tt.wantEvictions)
			}
			if !tt.wantEvictions && (s.Bodies != len(entries) || s.Renders != int64(len(entries)) || s.Bytes != total) {
				t.Errorf("unbounded: %+v; want every body once, %d bytes", s, total)
			}
			if s.Renders-s.Evictions != int64(s.Bodies) {
				t.Errorf("%+v: every render adds a body, every eviction takes one", s)
			}
		})
	}
}

// An entry read again since the clock hand last passed keeps its body (second chance); the
// first unmarked entry after it goes.
func TestBodyCacheGivesASecondChance(t *testing.T) {
	cache := NewBodyCache(0)
	var entries []*Entry
	for i := range 4 {
		entries = append(entries, newCachedEntry(t, cache, i, 3000, PlainHTML))
	}
	a, b, c, d := entries[0], entries[1], entries[2], entries[3]
	for _, e := range []*Entry{a, b, c} {
		serve(t, e) // admitted unmarked
	}
	cache.budget = cache.Stats().Bytes + 10 // room for these three only
	serve(t, a)                             // read again: marked
	serve(t, d)                             // needs room: the hand passes a, evicts b
	if a.body.Load() == nil || b.body.Load() != nil || c.body.Load() == nil || d.body.Load() == nil {
		t.Errorf("cached after d came: a %v b %v c %v d %v; want a, c and d", a.body.Load() != nil, b.body.Load() != nil, c.body.Load() != nil, d.body.Load() != nil)
	}
	if a.used.Load() {
		t.Error("the hand passed a without clearing its mark")
	}
}

// The cache holds its entries weakly: entries nobody else holds are collected with their
// bodies, and leave the cache's count.
func TestBodyCacheDropsCollectedEntries(t *testing.T) {
	cache := NewBodyCache(0)
	kept := newCachedEntry(t, cache, 0, 3000, PlainHTML)
	serve(t, kept)
	dropped := []*Entry{}
	for i := 1; i <= 20; i++ {
		dropped = append(dropped, newCachedEntry(t, cache, i, 3000, PlainHTML))
		serve(t, dropped[i-1])
	}
	if s := cache.Stats(); s.Bodies != 21 {
		t.Fatalf("%d bodies after 21 renders, all entries held", s.Bodies)
	}
	runtime.KeepAlive(dropped)
	runtime.GC()
	s := cache.Stats()
	if s.Bodies != 1 || s.Bytes != kept.held.Load() {
		t.Errorf("after a collection: %+v; want only the kept entry's %d bytes", s, kept.held.Load())
	}
	runtime.KeepAlive(kept)
}

// An unbounded cache never sweeps, yet the slots of collected entries do not pile up.
func TestUnboundedBodyCacheDropsCollectedSlots(t *testing.T) {
	cache := NewBodyCache(0)
	const renders = 3000
	for i := range renders {
		serve(t, newCachedEntry(t, cache, i, 200, PlainHTML))
		if i%500 == 499 {
			runtime.GC()
		}
	}
	cache.mu.Lock()
	slots := len(cache.ring)
	cache.mu.Unlock()
	if slots > 2000 {
		t.Errorf("%d slots after %d renders of entries dropped at once", slots, renders)
	}
}
