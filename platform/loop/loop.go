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
