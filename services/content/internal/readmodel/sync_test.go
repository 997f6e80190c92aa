package readmodel

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/beaconcms/beacon/services/content/internal/domain"
	"github.com/klauspost/compress/zstd"
)

// logSource is a store written by "another process": a change log and the articles' current
// states.
type logSource struct {
	mu       sync.Mutex
	articles map[string]*domain.Article
	changes  []domain.ArticleChange
	fetched  [][]string // ids of every GetArticlesForDelivery call
}

func (s *logSource) write(a *domain.Article, at time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.articles[a.ID] = a
	s.changes = append(s.changes, domain.ArticleChange{ArticleID: a.ID, RevisionID: a.RevisionID, Time: at})
}

func (s *logSource) ForEachLiveArticle(_ context.Context, fn func(*domain.Article) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, a := range s.articles {
		if a.Live() {
			if err := fn(a); err != nil {
				return err
			}
		}
	}
	return nil
}

func (s *logSource) GetArticlesForDelivery(_ context.Context, ids []string) ([]*domain.Article, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fetched = append(s.fetched, slices.Clone(ids))
	var out []*domain.Article
	for _, id := range ids {
		if a := s.articles[id]; a != nil {
			out = append(out, a)
		}
	}
	return out, nil
}

// OwnArticleChanges: the log's writers are other processes.
func (s *logSource) OwnArticleChanges(int64, int64) bool { return false }

// ArticleChangesHead moves with every change added.
func (s *logSource) ArticleChangesHead(context.Context) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return int64(len(s.changes)), nil
}

func (s *logSource) ListArticleChanges(_ context.Context, since time.Time, limit int) ([]domain.ArticleChange, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []domain.ArticleChange
	for _, c := range s.changes {
		if !c.Time.Before(since) && len(out) < limit {
			out = append(out, c)
		}
	}
	return out, nil
}

// TestFollowAppliesOtherWriters loads a store, then follows its change log: articles written
// after the load appear, unpublished ones leave, and an article already applied at its
// revision is not fetched again.
func TestFollowAppliesOtherWriters(t *testing.T) {
	src := &logSource{articles: map[string]*domain.Article{}}
	now := time.Now()
	src.write(liveArticle("a1", 1, "one", nil, 1, nil, nil, "s1"), now.Add(-time.Minute))
	m := newTestModel(newCatalog(testSite("s1")))
	since, err := m.Load(t.Context(), src)
	if err != nil {
		t.Fatal(err)
	}
	if v := m.View("s1"); v == nil || v.Article("one") == nil {
		t.Fatal("Load did not apply the live article")
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- m.Follow(ctx, src, since, 5*time.Millisecond, nil) }()

	src.write(liveArticle("a2", 1, "two", nil, 2, nil, nil, "s1"), time.Now())
	src.write(&domain.Article{ID: "a1", State: domain.StateDraft, RevisionID: 2}, time.Now())
	waitFor(t, func() bool {
		v := m.View("s1")
		return v.Article("two") != nil && v.Article("one") == nil
	})
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Follow = %v", err)
	}
	if got := m.AppliedRevision("a1"); got != 2 {
		t.Errorf("AppliedRevision(a1) = %d, want 2", got)
	}
	src.mu.Lock()
	defer src.mu.Unlock()
	// Re-read entries (the overlap window) of applied revisions are not fetched again.
	counts := map[string]int{}
	for _, ids := range src.fetched {
		for _, id := range ids {
			counts[id]++
		}
	}
	if counts["a2"] != 1 || counts["a1"] != 1 {
		t.Errorf("articles fetched %v times; want each changed article once (the overlap re-reads are skipped)", counts)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestSearchFollowsLoad: after Load, articles are served at once while search waits for
// BuildSearch; what BuildSearch indexes is what Load read, except articles applied again in
// between (republished with other words, or unpublished), whose newer state wins.
func TestSearchFollowsLoad(t *testing.T) {
	kept := liveArticle("a1", 1, "kept", nil, 1, nil, nil, "s1")
	kept.Published.SearchText = "tapering plan"
	changed := liveArticle("a2", 1, "changed", nil, 2, nil, nil, "s1")
	changed.Published.SearchText = "tapering winter"
	gone := liveArticle("a3", 1, "gone", nil, 3, nil, nil, "s1")
	gone.Published.SearchText = "tapering autumn"
	m := newTestModel(newCatalog(testSite("s1")))
	if _, err := m.Load(t.Context(), source{[]*domain.Article{kept, changed, gone}}); err != nil {
		t.Fatal(err)
	}
	v := m.View("s1")
	if v == nil || v.Article("kept") == nil || v.Article("gone") == nil {
		t.Fatal("articles are not served right after Load")
	}
	early, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel()
	if _, err := v.Search(early, "tapering"); err == nil {
		t.Fatal("Search answered before BuildSearch; want it to wait")
	}

	republished := liveArticle("a2", 2, "changed", nil, 2, nil, nil, "s1")
	republished.Published.SearchText = "sleep after"
	unpublished := liveArticle("a3", 2, "gone", nil, 3, nil, nil, "s1")
	unpublished.State, unpublished.Published = domain.StateDraft, nil
	m.ApplyArticles(republished, unpublished)

	if err := m.BuildSearch(t.Context()); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		query string
		want  []string
	}{
		{"tapering", []string{"a1"}},
		{"plan", []string{"a1"}},
		{"sleep", []string{"a2"}},
		{"winter", nil},
		{"autumn", nil},
	} {
		hits, err := m.View("s1").Search(t.Context(), tt.query)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, h := range hits {
			got = append(got, h.Entry.ID)
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("Search(%q) = %v, want %v", tt.query, got, tt.want)
		}
	}
}

// TestFollowAppliesALiveKeptWrite: a write that left the live entry as it was (a draft edit of a
// published article) is logged at its revision while the entry read back stays at the earlier
// one; the model counts the logged revision as applied, so later reads of the log (the overlap
// window) do not fetch the article again.
func TestFollowAppliesALiveKeptWrite(t *testing.T) {
	src := &logSource{articles: map[string]*domain.Article{}}
	now := time.Now()
	src.write(liveArticle("a1", 1, "one", nil, 1, nil, nil, "s1"), now.Add(-time.Minute))
	m := newTestModel(newCatalog(testSite("s1")))
	since, err := m.Load(t.Context(), src)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- m.Follow(ctx, src, since, 5*time.Millisecond, nil) }()

	src.mu.Lock() // revision 2 of a1 edits its draft only: logged, the live entry kept at 1
	src.changes = append(src.changes, domain.ArticleChange{ArticleID: "a1", RevisionID: 2, Time: time.Now()})
	src.mu.Unlock()
	waitFor(t, func() bool { return m.AppliedRevision("a1") == 2 })
	for i := range 3 { // later writes move the head: each read of the log re-reads a1's entry
		src.write(liveArticle("b"+strconv.Itoa(i), 1, "b-"+strconv.Itoa(i), nil, 2, nil, nil, "s1"), time.Now())
		waitFor(t, func() bool { return m.View("s1").Article("b-"+strconv.Itoa(i)) != nil })
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Follow = %v", err)
	}
	if m.View("s1").Article("one") == nil {
		t.Error("the article of the kept live entry left the site")
	}
	src.mu.Lock()
	defer src.mu.Unlock()
	fetched := 0
	for _, ids := range src.fetched {
		fetched += strings.Count(strings.Join(ids, ",")+",", "a1,")
	}
	if fetched != 1 {
		t.Errorf("a1 fetched %d times, want once", fetched)
	}
}

// TestSearchReadsEveryStoredForm: a live snapshot reaches the model in each form a store hands
// it (search text plain, compressed apart from the HTML, joined with the HTML in one compressed
// body as entries written before the split have it, or absent, to be derived from the
// Markdown), by Load and by ApplyArticles; each is served with its HTML and found by a word only
// its text holds.
func TestSearchReadsEveryStoredForm(t *testing.T) {
	enc, err := zstd.NewWriter(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	pack := func(s string) []byte { return enc.EncodeAll([]byte(s), nil) }
	tests := []struct {
		name string
		form func(s *domain.Snapshot, text string)
	}{
		{"plain text", func(s *domain.Snapshot, text string) { s.SearchText = text }},
		{"compressed apart", func(s *domain.Snapshot, text string) {
			s.CompressedBody, s.CompressedText = pack(s.Rendering.HTML), pack(text)
			s.Rendering.HTML, s.Content.Body = "", ""
		}},
		{"compressed together (before the split)", func(s *domain.Snapshot, text string) {
			s.CompressedBody = pack(s.Rendering.HTML + "\x00" + text)
			s.Rendering.HTML, s.Content.Body = "", ""
		}},
		{"Markdown only", func(s *domain.Snapshot, text string) { s.Content.Body = text }},
	}
	for _, tt := range tests {
		for _, byLoad := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s/load=%v", tt.name, byLoad), func(t *testing.T) {
				a := liveArticle("a1", 1, "stored", nil, 1, nil, nil, "s1")
				wantHTML := a.Published.Rendering.HTML
				tt.form(a.Published, "buprenorphine taper")
				m := newTestModel(newCatalog(testSite("s1")))
				var loaded []*domain.Article
				if byLoad {
					loaded = append(loaded, a)
				}
				if _, err := m.Load(t.Context(), source{loaded}); err != nil {
					t.Fatal(err)
				}
				if !byLoad {
					m.ApplyArticles(a)
				}
				if err := m.BuildSearch(t.Context()); err != nil {
					t.Fatal(err)
				}
				e := m.View("s1").Article("stored")
				if e == nil {
					t.Fatal("the article is not served")
				}
				if html, err := e.HTML(); err != nil || html != wantHTML {
					t.Errorf("HTML = %q, %v; want %q", html, err, wantHTML)
				}
				hits, err := m.View("s1").Search(t.Context(), "buprenorphine")
				if err != nil {
					t.Fatal(err)
				}
				if len(hits) != 1 || hits[0].Entry.ID != "a1" {
					t.Errorf("Search(buprenorphine) = %d hits, want a1", len(hits))
				}
			})
		}
	}
}
