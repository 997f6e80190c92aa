package sitecatalog_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/beaconcms/beacon/services/sites/sitecatalog"
)

// fakeSource is a Source whose sites and availability the test sets.
type fakeSource struct {
	mu    sync.Mutex
	sites map[string]sitecatalog.Site
	down  bool
	lists int
	gets  int
}

func newFakeSource(ids ...string) *fakeSource {
	f := &fakeSource{sites: map[string]sitecatalog.Site{}}
	for _, id := range ids {
		f.sites[id] = sitecatalog.Site{ID: id, DisplayName: "Site " + id, Etag: "1"}
	}
	return f
}

var errDown = errors.New("source down")

func (f *fakeSource) ListSites(context.Context) ([]sitecatalog.Site, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lists++
	if f.down {
		return nil, errDown
	}
	var out []sitecatalog.Site
	for _, s := range f.sites {
		out = append(out, s)
	}
	return out, nil
}

func (f *fakeSource) GetSite(_ context.Context, id string) (sitecatalog.Site, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.gets++
	if f.down {
		return sitecatalog.Site{}, false, errDown
	}
	s, ok := f.sites[id]
	return s, ok, nil
}

func (f *fakeSource) set(s sitecatalog.Site) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sites[s.ID] = s
}

func (f *fakeSource) remove(id string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.sites, id)
}

func (f *fakeSource) setDown(down bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.down = down
}

func ids(sites []sitecatalog.Site) []string {
	var out []string
	for _, s := range sites {
		out = append(out, s.ID)
	}
	return out
}

func TestRefreshAndSubscribe(t *testing.T) {
	src := newFakeSource("b", "a")
	c := sitecatalog.New(src, sitecatalog.Config{}, nil)
	var notified atomic.Int32
	c.Subscribe(func() { notified.Add(1) })
	if c.Loaded() || len(c.All()) != 0 {
		t.Fatalf("a new catalog holds %v", c.All())
	}
	if err := c.Refresh(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(ids(c.All()), ","); got != "a,b" || !c.Loaded() {
		t.Fatalf("All = %s (loaded %v), want a,b ordered by id", got, c.Loaded())
	}
	if notified.Load() != 1 {
		t.Errorf("%d notifications for the first load, want 1", notified.Load())
	}
	first, _, _ := c.Lookup(t.Context(), "a")

	// Nothing changed: no notification, same version.
	if err := c.Refresh(t.Context()); err != nil {
		t.Fatal(err)
	}
	if notified.Load() != 1 {
		t.Errorf("a refresh without changes notified")
	}
	// A change, a deletion mark and a removal.
	src.set(sitecatalog.Site{ID: "a", DisplayName: "Renamed", Etag: "2"})
	src.set(sitecatalog.Site{ID: "b", DisplayName: "Site b", Etag: "2", DeleteTime: time.Unix(1, 0)})
	src.set(sitecatalog.Site{ID: "c", Etag: "1"})
	src.remove("c")
	if err := c.Refresh(t.Context()); err != nil {
		t.Fatal(err)
	}
	if notified.Load() != 2 {
		t.Errorf("%d notifications, want 2", notified.Load())
	}
	a, found, err := c.Lookup(t.Context(), "a")
	if err != nil || !found || a.DisplayName != "Renamed" || a.Version <= first.Version {
		t.Errorf("Lookup(a) = %+v, %v, %v; want the renamed site with a higher version than %d", a, found, err, first.Version)
	}
	if b, _, _ := c.Lookup(t.Context(), "b"); !b.Deleted() {
		t.Errorf("site b = %+v, want it kept and marked deleted", b)
	}
	src.remove("b")
	if err := c.Refresh(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(ids(c.All()), ","); got != "a" {
		t.Errorf("All after b left the source = %s, want a", got)
	}
}

func TestLookupReadsThroughOnAMiss(t *testing.T) {
	src := newFakeSource("a")
	c := sitecatalog.New(src, sitecatalog.Config{}, nil)
	if err := c.Refresh(t.Context()); err != nil {
		t.Fatal(err)
	}
	src.set(sitecatalog.Site{ID: "new", DisplayName: "Created a moment ago"})
	s, found, err := c.Lookup(t.Context(), "new")
	if err != nil || !found || s.DisplayName != "Created a moment ago" {
		t.Fatalf("Lookup(new) = %+v, %v, %v; want it read through", s, found, err)
	}
	gets := src.gets
	if _, found, _ := c.Lookup(t.Context(), "new"); !found || src.gets != gets {
		t.Errorf("the second Lookup read the source again (%d reads, want %d)", src.gets, gets)
	}
	if _, found, err := c.Lookup(t.Context(), "nowhere"); found || err != nil {
		t.Errorf("Lookup(nowhere) = %v, %v; want not found", found, err)
	}
	src.setDown(true)
	if _, _, err := c.Lookup(t.Context(), "unknown"); !errors.Is(err, errDown) {
		t.Errorf("Lookup of an unknown site while the source is down = %v, want its error", err)
	}
	if _, found, err := c.Lookup(t.Context(), "a"); !found || err != nil {
		t.Errorf("Lookup of a known site while the source is down = %v, %v; want it from memory", found, err)
	}
}

// syncBuffer is a bytes.Buffer safe for the logger and the test at once.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestRunKeepsTheLastCopyWhileTheSourceIsDown: Run refreshes every interval; while the source
// fails it keeps serving the last good copy, logs the outage once, and picks up changes again
// when the source is back. It returns when its context ends.
func TestRunKeepsTheLastCopyWhileTheSourceIsDown(t *testing.T) {
	src := newFakeSource("a", "b")
	var logs syncBuffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	c := sitecatalog.New(src, sitecatalog.Config{Refresh: 5 * time.Millisecond}, logger)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()

	waitFor := func(what string, ok func() bool) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for !ok() {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s", what)
			}
			time.Sleep(time.Millisecond)
		}
	}
	waitFor("the first load", c.Loaded)

	src.setDown(true)
	src.mu.Lock()
	listsAtOutage := src.lists
	src.mu.Unlock()
	waitFor("several failed refreshes", func() bool { src.mu.Lock(); defer src.mu.Unlock(); return src.lists >= listsAtOutage+5 })
	if got := strings.Join(ids(c.All()), ","); got != "a,b" {
		t.Errorf("All while the source is down = %s, want the last copy a,b", got)
	}
	if n := strings.Count(logs.String(), "source is unavailable"); n != 1 {
		t.Errorf("the outage was logged %d times, want once:\n%s", n, logs.String())
	}

	src.set(sitecatalog.Site{ID: "c"})
	src.setDown(false)
	waitFor("the change after the outage", func() bool { return len(c.All()) == 3 })
	if !strings.Contains(logs.String(), "answers again") {
		t.Errorf("the recovery was not logged:\n%s", logs.String())
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run = %v, want nil when its context ends", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
}

// notifyingSource is a fakeSource that is also a Notifier.
type notifyingSource struct {
	*fakeSource
	watchers []func(sitecatalog.Site)
}

func (n *notifyingSource) WatchSites(fn func(sitecatalog.Site)) { n.watchers = append(n.watchers, fn) }

func (n *notifyingSource) write(s sitecatalog.Site) {
	n.set(s)
	for _, fn := range n.watchers {
		fn(s)
	}
}

// TestNotifiedWritesWinOverAnOlderRefresh: a write notified while a full reload is in flight is
// newer than what that reload read, so the reload must not undo it.
func TestNotifiedWritesWinOverAnOlderRefresh(t *testing.T) {
	src := &notifyingSource{fakeSource: newFakeSource("a")}
	c := sitecatalog.New(src, sitecatalog.Config{}, nil)
	if err := c.Refresh(t.Context()); err != nil {
		t.Fatal(err)
	}
	var notified atomic.Int32
	c.Subscribe(func() { notified.Add(1) })
	src.write(sitecatalog.Site{ID: "a", DeleteTime: time.Unix(5, 0), Etag: "2"})
	if a, _, _ := c.Lookup(t.Context(), "a"); !a.Deleted() || notified.Load() != 1 {
		t.Fatalf("after a notified delete: %+v, %d notifications; want it deleted at once, notified once", a, notified.Load())
	}

	// A reload that read the source before the write: simulated by a source that answers
	// with the old copy while the write lands.
	stale := &staleSource{old: []sitecatalog.Site{{ID: "a", Etag: "1"}}}
	c2 := sitecatalog.New(stale, sitecatalog.Config{}, nil)
	if err := c2.Refresh(t.Context()); err != nil {
		t.Fatal(err)
	}
	if a, _, _ := c2.Lookup(t.Context(), "a"); !a.Deleted() {
		t.Errorf("a reload that started before the write undid it: %+v", a)
	}
}

// staleSource answers ListSites with old, but first lets a newer write be notified (as if it
// landed while the list was read).
type staleSource struct {
	old      []sitecatalog.Site
	watchers []func(sitecatalog.Site)
}

func (s *staleSource) WatchSites(fn func(sitecatalog.Site)) { s.watchers = append(s.watchers, fn) }

func (s *staleSource) ListSites(context.Context) ([]sitecatalog.Site, error) {
	for _, fn := range s.watchers {
		fn(sitecatalog.Site{ID: "a", DeleteTime: time.Unix(5, 0), Etag: "2"})
	}
	return s.old, nil
}

func (s *staleSource) GetSite(context.Context, string) (sitecatalog.Site, bool, error) {
	return sitecatalog.Site{}, false, nil
}

// fakeClock is a clock the test moves by hand.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (f *fakeClock) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

func (f *fakeClock) advance(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now = f.now.Add(d)
}

// TestLookupRemembersMisses: a site that does not exist is read from the source once per
// MissTTL, not on every Lookup; the memory is forgotten when the site arrives (in-process
// write or refresh) and holds at most MaxMisses ids.
func TestLookupRemembersMisses(t *testing.T) {
	newCatalog := func(t testing.TB, src sitecatalog.Source, maxMisses int) (*sitecatalog.Catalog, *fakeClock) {
		t.Helper()
		c := sitecatalog.New(src, sitecatalog.Config{MissTTL: time.Second, MaxMisses: maxMisses}, nil)
		clock := &fakeClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
		sitecatalog.SetClock(c, clock.Now)
		return c, clock
	}
	lookupMissing := func(t testing.TB, c *sitecatalog.Catalog, id string) {
		t.Helper()
		if s, found, err := c.Lookup(t.Context(), id); found || err != nil {
			t.Fatalf("Lookup(%s) = %+v, %v, %v; want not found", id, s, found, err)
		}
	}

	t.Run("one read per TTL", func(t *testing.T) {
		src := newFakeSource()
		c, clock := newCatalog(t, src, 0)
		for range 50 {
			lookupMissing(t, c, "gone")
		}
		if src.gets != 1 {
			t.Errorf("50 lookups of a missing site read the source %d times, want 1", src.gets)
		}
		clock.advance(999 * time.Millisecond)
		lookupMissing(t, c, "gone")
		if src.gets != 1 {
			t.Errorf("a lookup within the TTL read the source (%d reads)", src.gets)
		}
		clock.advance(time.Millisecond)
		lookupMissing(t, c, "gone")
		if src.gets != 2 {
			t.Errorf("a lookup after the TTL made %d reads in all, want 2", src.gets)
		}
	})

	t.Run("errors are not remembered", func(t *testing.T) {
		src := newFakeSource()
		c, _ := newCatalog(t, src, 0)
		src.setDown(true)
		if _, _, err := c.Lookup(t.Context(), "x"); !errors.Is(err, errDown) {
			t.Fatalf("Lookup while down = %v, want the source's error", err)
		}
		src.setDown(false)
		src.set(sitecatalog.Site{ID: "x"})
		if _, found, err := c.Lookup(t.Context(), "x"); !found || err != nil {
			t.Errorf("Lookup after the source came back = %v, %v; want found", found, err)
		}
	})

	t.Run("a refresh that brings the site forgets the miss", func(t *testing.T) {
		src := newFakeSource()
		c, _ := newCatalog(t, src, 0)
		lookupMissing(t, c, "late")
		src.set(sitecatalog.Site{ID: "late", DisplayName: "Late"})
		lookupMissing(t, c, "late") // still remembered: the source is not asked within the TTL
		if err := c.Refresh(t.Context()); err != nil {
			t.Fatal(err)
		}
		if s, found, _ := c.Lookup(t.Context(), "late"); !found || s.DisplayName != "Late" {
			t.Errorf("after a refresh Lookup(late) = %+v, %v; want found", s, found)
		}
		if n := sitecatalog.RememberedMisses(c); n != 0 {
			t.Errorf("%d misses still remembered after the site arrived", n)
		}
	})

	t.Run("an in-process create forgets the miss", func(t *testing.T) {
		src := &notifyingSource{fakeSource: newFakeSource()}
		c, _ := newCatalog(t, src, 0)
		lookupMissing(t, c, "kh")
		src.write(sitecatalog.Site{ID: "kh", DisplayName: "KH"})
		if s, found, _ := c.Lookup(t.Context(), "kh"); !found || s.DisplayName != "KH" {
			t.Errorf("after an in-process create Lookup(kh) = %+v, %v; want found at once", s, found)
		}
	})

	t.Run("bounded", func(t *testing.T) {
		src := newFakeSource()
		c, clock := newCatalog(t, src, 8)
		for i := range 1000 {
			lookupMissing(t, c, "made-up-"+strconv.Itoa(i))
			if n := sitecatalog.RememberedMisses(c); n > 8 {
				t.Fatalf("after %d made-up ids %d misses are remembered, want at most 8", i+1, n)
			}
		}
		// The newest miss is remembered even when the memory was full.
		gets := src.gets
		lookupMissing(t, c, "made-up-999")
		if src.gets != gets {
			t.Errorf("the last miss was not remembered")
		}
		clock.advance(2 * time.Second)
		lookupMissing(t, c, "fresh")
		if n := sitecatalog.RememberedMisses(c); n != 1 {
			t.Errorf("after the TTL a full memory kept %d entries on a new miss, want the expired ones dropped (1 left)", n)
		}
	})
}

// TestCachedNeverReadsThrough: Cached answers from memory only; a site arrives with a refresh,
// and a changed allowed_origins setting is a change of the site.
func TestCachedNeverReadsThrough(t *testing.T) {
	src := newFakeSource("a")
	c := sitecatalog.New(src, sitecatalog.Config{}, nil)
	if _, found := c.Cached("a"); found {
		t.Fatalf("Cached found a site before any load")
	}
	if src.gets != 0 || src.lists != 0 {
		t.Fatalf("Cached read the source (%d gets, %d lists)", src.gets, src.lists)
	}
	if err := c.Refresh(t.Context()); err != nil {
		t.Fatal(err)
	}
	first, found := c.Cached("a")
	if !found {
		t.Fatalf("Cached did not find a loaded site")
	}
	src.mu.Lock()
	s := src.sites["a"]
	s.AllowedOrigins = []string{"https://app.example.org"}
	src.sites["a"] = s
	src.mu.Unlock()
	if err := c.Refresh(t.Context()); err != nil {
		t.Fatal(err)
	}
	got, _ := c.Cached("a")
	if len(got.AllowedOrigins) != 1 || got.AllowedOrigins[0] != "https://app.example.org" || got.Version == first.Version {
		t.Errorf("after a refresh Cached = %+v, want the new origins under a new version", got)
	}
	if _, found := c.Cached("nowhere"); found || src.gets != 0 {
		t.Errorf("Cached(nowhere) found %v after %d gets, want not found and no read", found, src.gets)
	}
}

// toldChanges is a sitecatalog.Changes the test notifies by hand.
type toldChanges struct{ ch chan struct{} }

func (c *toldChanges) Watch() (<-chan struct{}, func()) { return c.ch, func() {} }

// TestRunWithChangesReloadsOnlyWhenTold: with Config.Changes and a Refresh of an hour, Run loads
// at once, then does not call the source at all while nobody tells it of a write, reloads when
// told (a site written elsewhere, not through a Notifier), and retries a failed reload every
// Refresh without a notice.
func TestRunWithChangesReloadsOnlyWhenTold(t *testing.T) {
	src := newFakeSource("a")
	changes := &toldChanges{ch: make(chan struct{}, 1)}
	c := sitecatalog.New(src, sitecatalog.Config{Refresh: time.Hour, Changes: changes}, nil)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	lists := func() int { src.mu.Lock(); defer src.mu.Unlock(); return src.lists }
	waitFor := func(what string, ok func() bool) {
		t.Helper()
		for deadline := time.Now().Add(5 * time.Second); !ok(); time.Sleep(time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s", what)
			}
		}
	}
	waitFor("the first load", c.Loaded)
	time.Sleep(100 * time.Millisecond)
	if n := lists(); n != 1 {
		t.Fatalf("%d loads with nothing told, want the first one only", n)
	}

	src.set(sitecatalog.Site{ID: "b"})
	changes.ch <- struct{}{}
	waitFor("the site written elsewhere, once told", func() bool { _, ok := c.Cached("b"); return ok })
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}

	// A failed reload is retried every Refresh, not only at the next notice.
	c = sitecatalog.New(src, sitecatalog.Config{Refresh: 5 * time.Millisecond, Changes: changes}, nil)
	src.setDown(true)
	ctx, cancel = context.WithCancel(t.Context())
	defer cancel()
	go func() { done <- c.Run(ctx) }()
	before := lists()
	waitFor("retries of a failed reload", func() bool { return lists() >= before+5 })
	src.setDown(false)
	waitFor("the load once the source answers", c.Loaded)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
