package loop_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/beaconcms/beacon/platform/loop"
)

func TestEveryCallsFnEachInterval(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	calls := make(chan time.Time, 10)
	start := time.Now()
	done := make(chan error, 1)
	go func() {
		done <- loop.Every(ctx, 20*time.Millisecond, func(context.Context) { calls <- time.Now() })
	}()
	for i := range 3 {
		select {
		case at := <-calls:
			if i == 0 && at.Sub(start) < 15*time.Millisecond {
				t.Errorf("first call after %s, want about one interval (20ms)", at.Sub(start))
			}
		case <-time.After(2 * time.Second):
			t.Fatalf("call %d did not happen within 2s", i+1)
		}
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Every returned %v after ctx ended, want nil", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("Every did not return after ctx ended")
	}
}

// TestEveryWaitsForTheRunningCall is the contract shutdown relies on: once Every returns, fn no
// longer runs, so the caller may close what fn uses.
func TestEveryWaitsForTheRunningCall(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	entered, release := make(chan struct{}), make(chan struct{})
	var running, callsAfterReturn atomic.Int32
	var returned atomic.Bool
	done := make(chan error, 1)
	go func() {
		done <- loop.Every(ctx, time.Millisecond, func(context.Context) {
			if returned.Load() {
				callsAfterReturn.Add(1)
			}
			running.Add(1)
			defer running.Add(-1)
			select {
			case entered <- struct{}{}:
			default:
			}
			<-release
		})
		returned.Store(true)
	}()
	<-entered
	cancel()
	select {
	case <-done:
		t.Fatal("Every returned while fn was still running")
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		t.Fatal("Every did not return after the running call finished")
	}
	time.Sleep(10 * time.Millisecond)
	if n := running.Load(); n != 0 {
		t.Fatalf("%d calls still running after Every returned", n)
	}
	if n := callsAfterReturn.Load(); n != 0 {
		t.Fatalf("fn called %d times after Every returned", n)
	}
}

func TestEveryCallsDoNotOverlap(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	var running, maxRunning, calls atomic.Int32
	err := loop.Every(ctx, time.Millisecond, func(context.Context) {
		n := running.Add(1)
		for {
			m := maxRunning.Load()
			if n <= m || maxRunning.CompareAndSwap(m, n) {
				break
			}
		}
		calls.Add(1)
		time.Sleep(5 * time.Millisecond) // five intervals
		running.Add(-1)
	})
	if err != nil {
		t.Fatal(err)
	}
	if calls.Load() < 2 {
		t.Fatalf("only %d calls in 200ms", calls.Load())
	}
	if m := maxRunning.Load(); m != 1 {
		t.Fatalf("%d calls ran at once, want 1", m)
	}
}

func TestEveryRefusesANonPositiveInterval(t *testing.T) {
	for _, interval := range []time.Duration{0, -time.Second} {
		called := false
		err := loop.Every(context.Background(), interval, func(context.Context) { called = true })
		if err == nil || called {
			t.Errorf("Every(%s) = %v, called %v; want an error and no call", interval, err, called)
		}
	}
}

func TestEveryReturnsAtOnceForAnEndedContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	called := false
	if err := loop.Every(ctx, time.Nanosecond, func(context.Context) { called = true }); err != nil {
		t.Fatal(err)
	}
	if called {
		t.Fatal("fn called although ctx had ended before Every started")
	}
}

// TestIdleBackoffSpacing drives an IdleBackoff tick by tick: which ticks call, for a poll that
// finds nothing new except where the table says.
func TestIdleBackoffSpacing(t *testing.T) {
	for _, tc := range []struct {
		name  string
		max   int
		busy  map[int]bool // ticks whose call finds a change
		ticks int
		want  string // one letter per tick: c = called, s = skipped
	}{
		{name: "zero value never skips", max: 0, ticks: 6, want: "cccccc"},
		{name: "max 1 never skips", max: 1, ticks: 6, want: "cccccc"},
		{name: "max 3 spaces up to every third tick", max: 3, ticks: 12, want: "ccscsscsscss"},
		{name: "a change brings it back to every tick", max: 3, busy: map[int]bool{6: true}, ticks: 12, want: "ccscsscccscs"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := loop.IdleBackoff{Max: tc.max}
			got := ""
			for tick := range tc.ticks {
				if b.Skip() {
					got += "s"
					continue
				}
				got += "c"
				if tc.busy[tick] {
					b.Busy()
				} else {
					b.Idle()
				}
			}
			if got != tc.want {
				t.Errorf("ticks = %s, want %s", got, tc.want)
			}
		})
	}
}

// TestPollSleepsThroughSkippedTicks: Poll calls when Every with Skip would, but wakes only for
// the calls. Driven with a fake of time would need a clock in the package; instead the spacing
// is checked through IdleBackoff.ticksToNext (TestIdleBackoffSpacing's table, as Poll uses it),
// and Poll itself for calls spaced by the backoff and a prompt return.
func TestPollSleepsThroughSkippedTicks(t *testing.T) {
	for _, tc := range []struct {
		name  string
		max   int
		busy  map[int]bool // calls that find a change
		calls int
		want  []int // intervals before each call after the first
	}{
		{name: "max 1 never sleeps longer", max: 1, calls: 4, want: []int{1, 1, 1}},
		{name: "max 3 spaces up to every third tick", max: 3, calls: 5, want: []int{1, 2, 3, 3}},
		{name: "a change brings it back to every tick", max: 3, busy: map[int]bool{2: true}, calls: 6, want: []int{1, 2, 1, 1, 2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := loop.IdleBackoff{Max: tc.max}
			var got []int
			for call := range tc.calls {
				if call > 0 {
					got = append(got, loop.TicksToNext(&b))
				}
				if tc.busy[call] {
					b.Busy()
				} else {
					b.Idle()
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("intervals = %v, want %v", got, tc.want)
			}
		})
	}

	// The loop: always idle with Max 4 at 10 ms, calls come at 10, 20, 30, 40, 40 ms apart.
	ctx, cancel := context.WithCancel(context.Background())
	b := loop.IdleBackoff{Max: 4}
	calls := make(chan time.Time, 10)
	done := make(chan error, 1)
	go func() {
		done <- loop.Poll(ctx, 10*time.Millisecond, &b, func(context.Context) { b.Idle(); calls <- time.Now() })
	}()
	var prev time.Time
	for i := range 5 {
		select {
		case at := <-calls:
			if i > 0 {
				want := time.Duration(min(i, 4)) * 10 * time.Millisecond
				if gap := at.Sub(prev); gap < want-2*time.Millisecond {
					t.Errorf("call %d came %s after the previous, want at least %s", i+1, gap, want)
				}
			}
			prev = at
		case <-time.After(5 * time.Second):
			t.Fatalf("call %d did not happen within 5s", i+1)
		}
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Poll returned %v after ctx ended, want nil", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("Poll did not return after ctx ended")
	}
}

// TestNotifiedWakesOnlyWhenTold: the first call at once, then one call per notice (notices sent
// during a call make one more call after it), and no call at all while nobody notifies, however
// short the retry interval; a call that is not done is retried every retry until one is.
func TestNotifiedWakesOnlyWhenTold(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	wake := make(chan struct{}, 1)
	notify := func() { // as a notifier does: never blocking
		select {
		case wake <- struct{}{}:
		default:
		}
	}
	var calls atomic.Int32
	var failUntil atomic.Int32 // calls up to this number report "not done"
	entered := make(chan int32, 100)
	gate := make(chan struct{}, 100) // a call returns once it takes a token
	done := make(chan error, 1)
	go func() {
		done <- loop.Notified(ctx, wake, 5*time.Millisecond, func(context.Context) bool {
			n := calls.Add(1)
			entered <- n
			<-gate
			return n > failUntil.Load()
		})
	}()
	next := func(what string) int32 {
		t.Helper()
		select {
		case n := <-entered:
			return n
		case <-time.After(5 * time.Second):
			t.Fatalf("%s: no call within 5s", what)
			return 0
		}
	}
	quiet := func(what string) {
		t.Helper()
		select {
		case n := <-entered:
			t.Fatalf("%s: call %d with nothing to do", what, n)
		case <-time.After(100 * time.Millisecond): // twenty retry intervals
		}
	}
	if n := next("the first call"); n != 1 {
		t.Fatalf("first call is call %d", n)
	}
	// Two notices while the first call runs: one more call after it, then quiet.
	notify()
	notify()
	gate <- struct{}{}
	next("the notices sent during the first call")
	gate <- struct{}{}
	quiet("after the calls were done")

	notify()
	next("a notice")
	gate <- struct{}{}
	quiet("after a notice's call")

	// Calls that are not done are retried every retry until one is.
	failUntil.Store(calls.Load() + 3)
	for range 4 {
		gate <- struct{}{}
	}
	notify()
	for i := range 4 {
		next(fmt.Sprintf("retry %d", i))
	}
	quiet("after a call was done")

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Notified returned %v after ctx ended, want nil", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("Notified did not return after ctx ended")
	}
}

func TestNotifiedRefusesANonPositiveRetry(t *testing.T) {
	called := false
	if err := loop.Notified(context.Background(), nil, 0, func(context.Context) bool { called = true; return true }); err == nil || called {
		t.Fatalf("Notified(retry 0) = %v, called %v; want an error and no call", err, called)
	}
}

// TestTimedCallsWhenDue: no call while nothing is due, however long; a wake that makes a call
// due calls it then; steady wakes never put off a call already due; and Timed returns once ctx
// ends.
func TestTimedCallsWhenDue(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	wake := make(chan struct{}, 1)
	notify := func() {
		select {
		case wake <- struct{}{}:
		default:
		}
	}
	var dueIn atomic.Int64 // nanoseconds; 0: nothing due
	calls := make(chan time.Time, 100)
	done := make(chan error, 1)
	go func() {
		done <- loop.Timed(ctx, wake, func() (time.Duration, bool) {
			d := time.Duration(dueIn.Load())
			return d, d > 0
		}, func(context.Context) { dueIn.Store(0); calls <- time.Now() }) // the work done, nothing is due
	}()
	quiet := func(what string, d time.Duration) {
		t.Helper()
		select {
		case <-calls:
			t.Fatalf("%s: a call with nothing due", what)
		case <-time.After(d):
		}
	}
	quiet("at the start", 100*time.Millisecond)

	// Due in 30 ms once told; after the call nothing is due.
	dueIn.Store(int64(30 * time.Millisecond))
	told := time.Now()
	notify()
	select {
	case at := <-calls:
		if at.Sub(told) < 25*time.Millisecond {
			t.Errorf("called %s after the wake, want about 30ms", at.Sub(told))
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no call within 5s of a wake that made one due")
	}
	quiet("after the call", 100*time.Millisecond)

	// Wakes every 5 ms while a call is due 40 ms after each: the first due time holds.
	dueIn.Store(int64(40 * time.Millisecond))
	stopWaking := make(chan struct{})
	go func() {
		for {
			select {
			case <-stopWaking:
				return
			case <-time.After(5 * time.Millisecond):
				notify()
			}
		}
	}()
	select {
	case <-calls:
	case <-time.After(5 * time.Second):
		t.Fatal("steady wakes put off a due call for 5s")
	}
	close(stopWaking)

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Timed returned %v after ctx ended, want nil", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("Timed did not return after ctx ended")
	}
}
