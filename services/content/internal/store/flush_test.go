package store_test

import (
	"context"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/event"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/beaconcms/beacon/platform/mongodb"
	"github.com/beaconcms/beacon/platform/mongodb/mongodbtest"
	"github.com/beaconcms/beacon/services/content/internal/domain"
	"github.com/beaconcms/beacon/services/content/internal/store"
)

// commandCounter counts the commands a client sends, by collection.
type commandCounter struct {
	mu     sync.Mutex
	counts map[string]int
}

func (c *commandCounter) started(_ context.Context, e *event.CommandStartedEvent) {
	coll, _ := e.Command.Lookup(e.CommandName).StringValueOK()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.counts[coll]++
}

func (c *commandCounter) reset() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.counts
	c.counts = map[string]int{}
	return out
}

// countedStore returns a Store on db through a client of its own whose commands are counted.
func countedStore(t *testing.T, db dbT) (*store.Store, *commandCounter) {
	t.Helper()
	counter := &commandCounter{counts: map[string]int{}}
	client, err := mongodb.Connect(t.Context(), mongodbtest.URI(t), options.Client().SetMonitor(&event.CommandMonitor{Started: counter.started}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = client.Disconnect(context.Background()) })
	s := store.New(client.Database(db.Name()), mongodb.NewDocLocks(), slog.New(slog.DiscardHandler))
	if err := s.LoadIndex(t.Context()); err != nil {
		t.Fatal(err)
	}
	return s, counter
}

// storeGoroutines returns the stacks of the goroutines running store code (the driver's and the
// embedded server's own goroutines, which come and go with connections, are not counted).
func storeGoroutines() []string {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	var out []string
	for g := range strings.SplitSeq(string(buf), "\n\n") {
		if strings.Contains(g, "/services/content/internal/store.") && !strings.Contains(g, "store_test.") {
			out = append(out, g)
		}
	}
	return out
}

// waitStoreIdle waits until no goroutine runs store code, failing after a few seconds.
func waitStoreIdle(t *testing.T, after string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		left := storeGoroutines()
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %d goroutines still run store code:\n%s", after, len(left), strings.Join(left, "\n\n"))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// A write that times out at any step leaves nothing behind that keeps working: no goroutine,
// and once one flush has recorded what it left pending, flushing again sends no command at all.
func TestTimedOutWriteLeavesNothingSpinning(t *testing.T) { //nolint:paralleltest // inspects every goroutine
	_, db := newStore(t)
	s, counter := countedStore(t, db)
	ctx := context.Background()
	a := newArticle("a", "a", "kh")
	mustCreate(t, s, a)
	if err := s.FlushPendingRevisions(ctx); err != nil { // the first flush always looks
		t.Fatal(err)
	}
	for _, timeout := range []time.Duration{time.Microsecond, 500 * time.Microsecond, time.Millisecond, 2 * time.Millisecond, 4 * time.Millisecond, 8 * time.Millisecond, 16 * time.Millisecond, 50 * time.Millisecond} {
		cur := getAfterTimeout(t, s, a.ID)
		next := next(cur, "update", func(n *domain.Article) { n.Draft.Title = "Timed out at " + timeout.String() })
		wctx, cancel := context.WithTimeout(ctx, timeout)
		err := s.UpdateArticle(wctx, cur, next)
		cancel()
		t.Logf("timeout %s: %v", timeout, err)
		waitStoreIdle(t, "after a write that timed out after "+timeout.String())
	}

	// A command the client gave up on may still be running in the server: let it land (the
	// store's writes are then complete or pending, never lost; the flush below finds them).
	time.Sleep(300 * time.Millisecond)
	err := s.FlushPendingRevisions(ctx)
	for range 10 {
		// A late answer of a timed-out command (see getAfterTimeout), not the flush's own; or,
		// on the embedded store, SQLite's "database is locked (517)" on a pooled connection
		// whose statement a timed-out command interrupted, seen about once in a few dozen runs
		// on a busy machine. The content service's flusher retries after its backoff; the test
		// retries at once.
		if err == nil || !strings.Contains(err.Error(), "interrupted") && !strings.Contains(err.Error(), "database is locked") {
			break
		}
		time.Sleep(100 * time.Millisecond)
		store.RetryFlushNow(s)
		err = s.FlushPendingRevisions(ctx)
	}
	if err != nil {
		t.Fatalf("FlushPendingRevisions: %v", err)
	}
	final := getAfterTimeout(t, s, a.ID)
	revs, err := s.ListRevisions(ctx, a.ID, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(revs)) != final.RevisionID {
		t.Errorf("after one flush %d revisions are recorded, want all %d", len(revs), final.RevisionID)
	}

	counter.reset()
	for range 3 {
		if err := s.FlushPendingRevisions(ctx); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(200 * time.Millisecond)
	if sent := counter.reset(); len(sent) != 0 {
		t.Errorf("flushing with nothing pending sent commands: %v", sent)
	}
	waitStoreIdle(t, "at the end")
}

// A pending revision that cannot be recorded is retried only after a backoff: flushing again at
// once does not touch the article.
func TestFlushBacksOffAFailingRevision(t *testing.T) {
	t.Parallel()
	_, db := newStore(t)
	s, counter := countedStore(t, db)
	ctx := context.Background()
	a := newArticle("a", "a", "kh")
	mustCreate(t, s, a)
	// The article's revision 1 is pending, but the article is in a format this release cannot read.
	if _, err := db.Collection("articles").UpdateOne(damage(ctx), bson.D{{Key: "_id", Value: a.ID}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "schemaVersion", Value: 99}}}}); err != nil {
		t.Fatal(err)
	}
	leaveMarker(t, db, a.ID, 1)

	if err := s.FlushPendingRevisions(ctx); err == nil {
		t.Fatal("FlushPendingRevisions recorded an unreadable article's revision")
	}
	counter.reset()
	for range 3 {
		if err := s.FlushPendingRevisions(ctx); err != nil {
			t.Errorf("FlushPendingRevisions while backing off: %v", err)
		}
	}
	if sent := counter.reset(); sent["articles"] != 0 {
		t.Errorf("flushing again at once read the failing article %d times, want 0 (backing off): %v", sent["articles"], sent)
	}
}

// getAfterTimeout reads an article right after a call timed out. The driver may keep the timed-out
// command's connection to read its late answer, and on FerretDB the next command on it has been
// seen to get that answer's "interrupted" error instead of its own (1 run in several hundred);
// that read is retried.
func getAfterTimeout(tb testing.TB, s *store.Store, id string) *domain.Article {
	tb.Helper()
	var err error
	for range 3 {
		var a *domain.Article
		if a, err = s.GetArticle(context.Background(), id); err == nil {
			return a
		}
		time.Sleep(50 * time.Millisecond)
	}
	tb.Fatalf("GetArticle(%s): %v", id, err)
	return nil
}

// TestFlusherSleepsWhileNothingIsPending: after a flush that found nothing, the next flush has
// work only at the periodic rescan, minutes away, and nothing wakes the flusher; a suspected
// pending revision (a failed revision write) wakes it and makes the next flush due soon; the
// flush that clears it puts the flusher back to sleep.
func TestFlusherSleepsWhileNothingIsPending(t *testing.T) {
	s, _ := newStore(t)
	ctx := context.Background()
	mustCreate(t, s, newArticle("a", "a", "kh"))
	if err := s.FlushPendingRevisions(ctx); err != nil {
		t.Fatal(err)
	}
	const soon = 10 * time.Second
	woken := func() bool {
		select {
		case <-s.FlushWake():
			return true
		default:
			return false
		}
	}
	if d := s.NextFlush(soon); d < 5*time.Minute {
		t.Errorf("NextFlush with nothing pending = %s, want the rescan minutes away", d)
	}
	if woken() {
		t.Error("the flusher was woken with nothing pending")
	}
	store.SuspectPending(s)
	if !woken() {
		t.Error("a suspected pending revision did not wake the flusher")
	}
	if d := s.NextFlush(soon); d != soon {
		t.Errorf("NextFlush with a suspected pending revision = %s, want %s", d, soon)
	}
	if err := s.FlushPendingRevisions(ctx); err != nil {
		t.Fatal(err)
	}
	if d := s.NextFlush(soon); d < 5*time.Minute {
		t.Errorf("NextFlush after the flush = %s, want the rescan minutes away", d)
	}
}
