package changelog

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

type entry struct {
	key string
	at  time.Time
}

// fakeLog is an in-memory change log.
type fakeLog struct {
	mu      sync.Mutex
	entries []entry
	fail    error
	reads   []time.Time // since of every read
}

func (l *fakeLog) add(key string, at time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.entries = append(l.entries, entry{key, at})
	slices.SortStableFunc(l.entries, func(a, b entry) int { return a.at.Compare(b.at) })
}

func (l *fakeLog) list(_ context.Context, since time.Time, limit int) ([]entry, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.reads = append(l.reads, since)
	if l.fail != nil {
		return nil, l.fail
	}
	var out []entry
	for _, e := range l.entries {
		if !e.at.Before(since) && len(out) < limit {
			out = append(out, e)
		}
	}
	return out, nil
}

func TestPoll(t *testing.T) {
	t0 := time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)
	now := t0
	log := &fakeLog{}
	var applied []string
	f := &Follower[entry]{
		List:   log.list,
		TimeOf: func(e entry) time.Time { return e.at },
		Apply: func(_ context.Context, es []entry) error {
			for _, e := range es {
				applied = append(applied, e.key)
			}
			return nil
		},
		Interval: time.Second,
		Overlap:  10 * time.Second,
		Batch:    2,
		Now:      func() time.Time { return now },
	}
	since := f.Start(t.Context()).Since
	if want := t0.Add(-10 * time.Second); !since.Equal(want) {
		t.Fatalf("Start = %v, want %v", since, want)
	}
	log.add("a", t0.Add(time.Second))
	log.add("b", t0.Add(2*time.Second))
	log.add("c", t0.Add(3*time.Second))
	now = t0.Add(5 * time.Second)

	// A full batch: the next read starts at its last entry, without going back.
	next, err := f.Poll(t.Context(), since)
	if err != nil || !next.Equal(t0.Add(2*time.Second)) {
		t.Fatalf("Poll after a full batch = %v, %v; want the last entry's time", next, err)
	}
	next, err = f.Poll(t.Context(), next) // b, c: full again
	if err != nil || !next.Equal(t0.Add(3*time.Second)) {
		t.Fatalf("Poll = %v, %v; want c's time", next, err)
	}
	// A partial batch: the next read starts an overlap before now, never later than since.
	next, err = f.Poll(t.Context(), next)
	if err != nil || !next.Equal(t0.Add(3*time.Second)) {
		t.Fatalf("Poll = %v, %v; want since kept (now-overlap is earlier)", next, err)
	}
	now = t0.Add(time.Minute)
	next, err = f.Poll(t.Context(), next)
	if err != nil || !next.Equal(now.Add(-10*time.Second)) {
		t.Fatalf("Poll = %v, %v; want now-overlap", next, err)
	}
	if want := []string{"a", "b", "b", "c", "c", "c"}; !slices.Equal(applied, want) {
		t.Errorf("applied %v, want %v (overlapping reads repeat entries)", applied, want)
	}

	// A failed read or apply keeps since.
	log.fail = errors.New("store down")
	if got, err := f.Poll(t.Context(), next); err == nil || !got.Equal(next) {
		t.Errorf("failed read: Poll = %v, %v; want since and the error", got, err)
	}
	log.fail = nil
	log.add("d", now)
	f.Apply = func(context.Context, []entry) error { return errors.New("apply failed") }
	if got, err := f.Poll(t.Context(), next); err == nil || !got.Equal(next) {
		t.Errorf("failed apply: Poll = %v, %v; want since and the error", got, err)
	}
}

func TestRunStopsWithItsContextAndRetries(t *testing.T) {
	log := &fakeLog{fail: errors.New("store down")}
	applied := make(chan string, 10)
	f := &Follower[entry]{
		List:   log.list,
		TimeOf: func(e entry) time.Time { return e.at },
		Apply: func(_ context.Context, es []entry) error {
			for _, e := range es {
				applied <- e.key
			}
			return nil
		},
		Interval: 5 * time.Millisecond,
		Overlap:  time.Minute,
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- f.Run(ctx, f.Start(ctx)) }()
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
		log.mu.Lock()
		failed := len(log.reads)
		if failed >= 2 { // two failing reads, then the log recovers
			log.fail = nil
		}
		log.mu.Unlock()
		if failed >= 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("only %d reads within 5s", failed)
		}
	}
	log.add("a", time.Now())
	select {
	case k := <-applied:
		if k != "a" {
			t.Fatalf("applied %q", k)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the entry was not applied after the log recovered")
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run = %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
	log.mu.Lock()
	defer log.mu.Unlock()
	first := log.reads[0]
	for _, s := range log.reads[:2] {
		if !s.Equal(first) {
			t.Fatalf("a failed read moved since: %v", log.reads)
		}
	}
}

func TestRunRefusesAZeroInterval(t *testing.T) {
	f := &Follower[entry]{}
	if err := f.Run(t.Context(), Position{}); err == nil {
		t.Fatal("Run with no interval returned nil")
	}
}

// With a head, an idle log is not read: not at start (the head is the one read before loading),
// and then only after the head moves; a full batch is followed by another read whatever the head says; a failing head
// falls back to reading.
func TestRunReadsOnlyWhenTheHeadMoves(t *testing.T) {
	log := &fakeLog{}
	var mu sync.Mutex
	var head int64
	var headErr error
	applied := make(chan string, 100)
	f := &Follower[entry]{
		List:   log.list,
		TimeOf: func(e entry) time.Time { return e.at },
		Apply: func(_ context.Context, es []entry) error {
			for _, e := range es {
				applied <- e.key
			}
			return nil
		},
		Head: func(context.Context) (int64, error) {
			mu.Lock()
			defer mu.Unlock()
			return head, headErr
		},
		Interval: 2 * time.Millisecond,
		Overlap:  time.Hour,
		Batch:    2,
	}
	reads := func() int {
		log.mu.Lock()
		defer log.mu.Unlock()
		return len(log.reads)
	}
	waitApplied := func(want ...string) {
		t.Helper()
		var got []string
		for len(got) < len(want) {
			select {
			case k := <-applied:
				if !slices.Contains(got, k) {
					got = append(got, k)
				}
			case <-time.After(5 * time.Second):
				t.Fatalf("applied %v, want %v", got, want)
			}
		}
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- f.Run(ctx, f.Start(ctx)) }()

	time.Sleep(50 * time.Millisecond) // about 25 intervals
	if n := reads(); n != 0 {
		t.Fatalf("%d reads of a log idle since the reader loaded, want none", n)
	}

	// Three entries and a head move: a full batch (2), then the rest.
	now := time.Now()
	log.add("a", now)
	log.add("b", now.Add(time.Millisecond))
	log.add("c", now.Add(2*time.Millisecond))
	mu.Lock()
	head++
	mu.Unlock()
	waitApplied("a", "b", "c")
	time.Sleep(50 * time.Millisecond)
	settled := reads()
	time.Sleep(50 * time.Millisecond)
	if n := reads(); n != settled {
		t.Fatalf("the log was read %d more times after the head settled", n-settled)
	}

	// A failing head: the log is read every interval.
	mu.Lock()
	headErr = errors.New("head unreadable")
	mu.Unlock()
	time.Sleep(50 * time.Millisecond)
	if n := reads(); n < settled+5 {
		t.Fatalf("with a failing head the log was read %d times in 50ms, want it read every interval", n-settled)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run = %v", err)
	}
}

// Head moves that are all the process's own writes are not read back; one foreign move among
// them is.
func TestRunSkipsItsOwnWrites(t *testing.T) {
	log := &fakeLog{}
	var mu sync.Mutex
	var head int64
	own := map[int64]bool{}
	f := &Follower[entry]{
		List:   log.list,
		TimeOf: func(e entry) time.Time { return e.at },
		Apply:  func(context.Context, []entry) error { return nil },
		Head: func(context.Context) (int64, error) {
			mu.Lock()
			defer mu.Unlock()
			return head, nil
		},
		Own: func(from, to int64) bool {
			mu.Lock()
			defer mu.Unlock()
			for s := from + 1; s <= to; s++ {
				if !own[s] {
					return false
				}
			}
			return true
		},
		Interval: 2 * time.Millisecond,
		Overlap:  time.Hour,
	}
	reads := func() int {
		log.mu.Lock()
		defer log.mu.Unlock()
		return len(log.reads)
	}
	move := func(mine bool) {
		mu.Lock()
		defer mu.Unlock()
		head++
		own[head] = mine
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- f.Run(ctx, f.Start(ctx)) }()
	for range 5 {
		move(true)
		time.Sleep(5 * time.Millisecond)
	}
	if n := reads(); n != 0 {
		t.Fatalf("the log was read %d times for the process's own writes, want none", n)
	}
	move(true)
	move(false)
	move(true)
	for deadline := time.Now().Add(5 * time.Second); reads() < 1; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("a foreign write among own ones was not read")
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// A follower started without a head reading (a Position of a since-time only, or a head that failed) reads the log on
// its first tick.
func TestRunWithoutAStartHeadReadsOnce(t *testing.T) {
	log := &fakeLog{}
	f := &Follower[entry]{
		List:     log.list,
		TimeOf:   func(e entry) time.Time { return e.at },
		Apply:    func(context.Context, []entry) error { return nil },
		Head:     func(context.Context) (int64, error) { return 7, nil },
		Interval: 2 * time.Millisecond,
		Overlap:  time.Hour,
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- f.Run(ctx, Position{Since: time.Now().Add(-time.Hour)}) }()
	time.Sleep(50 * time.Millisecond)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	log.mu.Lock()
	defer log.mu.Unlock()
	if len(log.reads) != 1 {
		t.Fatalf("%d reads, want 1 (the first tick; the head did not move after it)", len(log.reads))
	}
}

// TestIdleBackoffSpacesHeadReads runs two followers of one idle log side by side, one reading
// the head every interval and one with IdleBackoff 4: the second reads it about a quarter as
// often. A move of the head is then applied by both.
func TestIdleBackoffSpacesHeadReads(t *testing.T) {
	log := &fakeLog{}
	var head, everyTick, backedOff atomic.Int64
	applied := make(chan string, 10)
	follower := func(backoff int, reads *atomic.Int64) *Follower[entry] {
		return &Follower[entry]{
			List:   log.list,
			TimeOf: func(e entry) time.Time { return e.at },
			Apply: func(_ context.Context, es []entry) error {
				for range es {
					applied <- fmt.Sprint(backoff)
				}
				return nil
			},
			Head: func(context.Context) (int64, error) {
				reads.Add(1)
				return head.Load(), nil
			},
			Interval:    2 * time.Millisecond,
			Overlap:     time.Hour,
			IdleBackoff: backoff,
		}
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var wg sync.WaitGroup
	for _, f := range []*Follower[entry]{follower(1, &everyTick), follower(4, &backedOff)} {
		wg.Go(func() { _ = f.Run(ctx, f.Start(ctx)) })
	}
	deadline := time.Now().Add(10 * time.Second)
	for everyTick.Load() < 81 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	a, b := everyTick.Load(), backedOff.Load()
	if a < 81 || b > a/2 {
		t.Errorf("head reads of an idle log: %d every interval, %d with IdleBackoff 4; want about a quarter", a, b)
	}
	log.add("x", time.Now())
	head.Add(1)
	got := map[string]bool{}
	for len(got) < 2 {
		select {
		case k := <-applied:
			got[k] = true
		case <-time.After(5 * time.Second):
			t.Fatalf("after a move, applied by %v; want both followers", got)
		}
	}
	cancel()
	wg.Wait()
}

// Progress records the newest entry applied and when the log was last read to its end; a
// failing read does not move Synced.
func TestRunRecordsProgress(t *testing.T) {
	t0 := time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)
	var clock atomic.Int64
	clock.Store(t0.UnixNano())
	log := &fakeLog{}
	log.add("a", t0.Add(-2*time.Second))
	log.add("b", t0.Add(-time.Second))
	log.add("c", t0.Add(-time.Second))
	progress := &Progress{}
	var applies atomic.Int64
	f := &Follower[entry]{
		List:     log.list,
		TimeOf:   func(e entry) time.Time { return e.at },
		Apply:    func(context.Context, []entry) error { applies.Add(1); return nil },
		Interval: 2 * time.Millisecond,
		Overlap:  time.Minute,
		Now:      func() time.Time { return time.Unix(0, clock.Load()) },
		Progress: progress,
	}
	if !progress.LastChange().IsZero() || !progress.Synced().IsZero() {
		t.Fatal("a new Progress has seen something")
	}
	progress.Applied(t0.Add(-time.Hour)) // an older change applied in process: kept until a newer one
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- f.Run(ctx, Position{Since: t0.Add(-time.Minute)}) }()
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		for deadline := time.Now().Add(5 * time.Second); !cond(); time.Sleep(time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%s: not within 5s (last change %v, synced %v)", what, progress.LastChange(), progress.Synced())
			}
		}
	}
	waitFor("read to the end", func() bool { return progress.Synced().Equal(t0) })
	if got := progress.LastChange(); !got.Equal(t0.Add(-time.Second)) {
		t.Errorf("LastChange = %v, want the newest entry's time %v", got, t0.Add(-time.Second))
	}
	log.mu.Lock()
	log.fail = errors.New("store down")
	log.mu.Unlock()
	clock.Store(t0.Add(time.Minute).UnixNano())
	reads := func() int { log.mu.Lock(); defer log.mu.Unlock(); return len(log.reads) }
	before := reads()
	waitFor("failing reads", func() bool { return reads() >= before+3 })
	if got := progress.Synced(); !got.Equal(t0) {
		t.Errorf("Synced moved to %v while reads failed", got)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// fakeChanges is a Changes a test notifies by hand.
type fakeChanges struct{ ch chan struct{} }

func (c *fakeChanges) Watch() (<-chan struct{}, func()) { return c.ch, func() {} }

func (c *fakeChanges) tell() {
	select {
	case c.ch <- struct{}{}:
	default:
	}
}

// TestRunToldOfChangesReadsOnlyWhenTold: with Changes and an Interval of an hour, a follower reads
// the head once at the start (covering writes made before it watched), then nothing at all while
// nobody tells it of a write, and applies a foreign write as soon as it is told; a failed read
// is retried every Interval, not only at the next notice; Progress reports it synced while its
// last read succeeded.
func TestRunToldOfChangesReadsOnlyWhenTold(t *testing.T) {
	log := &fakeLog{}
	var headReads atomic.Int32
	var head atomic.Int64
	applied := make(chan []entry, 10)
	changes := &fakeChanges{ch: make(chan struct{}, 1)}
	var progress Progress
	base := time.Now()
	f := &Follower[entry]{
		List:     log.list,
		TimeOf:   func(e entry) time.Time { return e.at },
		Apply:    func(_ context.Context, es []entry) error { applied <- es; return nil },
		Head:     func(context.Context) (int64, error) { headReads.Add(1); return head.Load(), nil },
		Interval: time.Hour,
		Overlap:  time.Minute,
		Changes:  changes,
		Progress: &progress,
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	from := f.Start(ctx)
	headReads.Store(0)
	// A write between Start and Run: the first read finds it without a notice.
	log.add("before", base)
	head.Store(1)
	done := make(chan error, 1)
	go func() { done <- f.Run(ctx, from) }()
	wantApplied := func(key string) {
		t.Helper()
		select {
		case es := <-applied:
			if es[len(es)-1].key != key {
				t.Fatalf("applied %v, want %s last", es, key)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("%s was not applied within 5 s (an Interval is an hour)", key)
		}
	}
	wantApplied("before")

	time.Sleep(100 * time.Millisecond)
	if n := headReads.Load(); n != 1 {
		t.Fatalf("%d head reads with nothing told, want the first one only", n)
	}
	if s := progress.Synced(); time.Since(s) > time.Second {
		t.Errorf("Synced = %s ago after a successful read, want now", time.Since(s))
	}

	log.add("told", base.Add(time.Second))
	head.Store(2)
	changes.tell()
	wantApplied("told")

	// A read that fails is retried every Interval without a notice.
	f2 := *f
	f2.Interval = 5 * time.Millisecond
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if progress.told.Load() {
		t.Error("Progress still reports synced now after Run returned")
	}
	ctx2, cancel2 := context.WithCancel(t.Context())
	defer cancel2()
	log.mu.Lock()
	log.fail = errors.New("store down")
	log.mu.Unlock()
	head.Store(3)
	log.mu.Lock()
	before := len(log.reads)
	log.mu.Unlock()
	go func() { done <- f2.Run(ctx2, Position{Since: base}) }()
	time.Sleep(100 * time.Millisecond)
	log.mu.Lock()
	retries := len(log.reads) - before
	log.mu.Unlock()
	if retries < 3 {
		t.Errorf("a failing read was tried %d times in 100 ms at a 5 ms Interval, want it retried", retries)
	}
	if progress.told.Load() {
		t.Error("Progress reports synced while reads fail")
	}
	cancel2()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
