// Package loop runs periodic background work until its context ends. It is the one way Beacon
// writes "every interval, do this" loops, so that every such loop stops the same way and can be
// joined (for example with errgroup.Group.Go) before the resources it uses are closed.
package loop

import (
	"context"
	"errors"
	"time"
)

// Every calls fn every interval until ctx ends, then returns nil.
//
// The first call happens one interval after Every is called, and each next one an interval after
// the previous call returned; a caller that wants an immediate first run calls fn itself before
// Every. Calls never overlap: a call that takes longer than interval delays the next one. Every
// returns only after ctx has ended and no call of fn is running, so a caller that waits for Every
// knows that fn is done with whatever it uses. fn receives ctx and handles (logs) its own errors.
//
// Every returns an error only for an interval that is not positive, without calling fn.
func Every(ctx context.Context, interval time.Duration, fn func(context.Context)) error {
	return Poll(ctx, interval, &IdleBackoff{}, fn) // the zero IdleBackoff never skips
}

// Poll is Every for a polling loop spaced by b (fn records on b whether each call found
// something): after a call, it sleeps through the ticks b skips instead of waking for each, so
// an idle process is not woken every interval only to skip. The first call happens one interval
// after Poll is called; the other contracts are Every's.
func Poll(ctx context.Context, interval time.Duration, b *IdleBackoff, fn func(context.Context)) error {
	if interval <= 0 {
		return errors.New("loop: interval must be positive")
	}
	t := time.NewTimer(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		if ctx.Err() != nil { // both were ready: stopping wins
			return nil
		}
		fn(ctx)
		t.Reset(time.Duration(b.ticksToNext()) * interval)
	}
}

// Notified is the loop of work that is told when there is something to do, instead of looking
// for it every interval: it calls fn at once, then each time wake receives, until ctx ends, and
// returns nil then, once no call of fn is running. fn reports whether it is done; a call that is
// not (it failed, or left more to do) is followed by another one retry later, and so on, until a
// call is done or wake receives. Between a done call and the next value on wake, Notified does
// not wake the process at all.
//
// wake should hold one pending value (a channel with a buffer of one, sent to without blocking),
// so that a notice sent while fn runs makes fn run once more afterwards: the notifier never waits
// and nothing is lost. A nil wake never receives. The other contracts are Every's: calls never
// overlap, and Notified returns an error, without calling fn, for a retry that is not positive.
func Notified(ctx context.Context, wake <-chan struct{}, retry time.Duration, fn func(context.Context) (done bool)) error {
	if retry <= 0 {
		return errors.New("loop: retry interval must be positive")
	}
	if ctx.Err() != nil {
		return nil
	}
	t := time.NewTimer(retry)
	defer t.Stop()
	for {
		if fn(ctx) {
			t.Stop()
		} else {
			t.Reset(retry)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-wake:
		case <-t.C:
		}
		if ctx.Err() != nil { // both were ready: stopping wins
			return nil
		}
	}
}

// Timed is the loop of work due at times it can tell, rather than every interval: when, called
// at the start, after each call of fn and each time wake receives, returns how long from now the
// next call is due, or false when none is due until wake receives. A wake never puts off a call
// already due sooner. In between, Timed sleeps without waking the process. It returns nil once
// ctx has ended and no call of fn is running; calls never overlap. wake should hold one pending
// value (see Notified); a nil wake never receives.
func Timed(ctx context.Context, wake <-chan struct{}, when func() (time.Duration, bool), fn func(context.Context)) error {
	t := time.NewTimer(time.Hour)
	t.Stop()
	defer t.Stop()
	var due time.Time // when the timer fires; zero: stopped
	arm := func(earlierOnly bool) {
		d, ok := when()
		if !ok {
			if !earlierOnly {
				t.Stop()
				due = time.Time{}
			}
			return
		}
		at := time.Now().Add(d)
		if earlierOnly && !due.IsZero() && !at.Before(due) {
			return
		}
		t.Reset(d)
		due = at
	}
	arm(false)
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-wake:
			arm(true)
		case <-t.C:
			if ctx.Err() != nil { // both were ready: stopping wins
				return nil
			}
			due = time.Time{}
			fn(ctx)
			arm(false)
		}
	}
}

// IdleBackoff spaces the calls of a polling loop while what it polls stays unchanged: after each
// call that found nothing new (Idle), the loop skips one more tick before the next, up to Max-1
// skipped ticks (a call every Max intervals); a call that found something (Busy) brings it back
// to every tick. So a change made elsewhere is seen within Max intervals plus one call. Max 0 or 1
// never skips. The zero value never skips. It is not safe for concurrent use: one loop owns it,
// calling Skip on every tick of Every, or handing it to Poll, which sleeps through the skipped
// ticks.
type IdleBackoff struct {
	Max  int
	idle int // calls in a row that found nothing new
	skip int // ticks left to skip
}

// Skip reports whether this tick is to be skipped; the loop calls it first on every tick.
func (b *IdleBackoff) Skip() bool {
	if b.skip > 0 {
		b.skip--
		return true
	}
	return false
}

// ticksToNext returns how many intervals from now the next call is due (1 + the ticks to
// skip), and consumes the skips.
func (b *IdleBackoff) ticksToNext() int {
	n := 1 + b.skip
	b.skip = 0
	return n
}

// Idle records a call that found nothing new.
func (b *IdleBackoff) Idle() {
	b.idle++
	b.skip = min(b.idle, max(b.Max, 1)) - 1
}

// Busy records a call that found a change (or failed, and must be retried at the next tick).
func (b *IdleBackoff) Busy() { b.idle, b.skip = 0, 0 }
