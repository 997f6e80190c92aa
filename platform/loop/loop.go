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
// The first call happens one interval after Every is called; a caller that wants an immediate first
// run calls fn itself before Every. Calls never overlap: a call that takes longer than interval
// delays the next one, and ticks missed meanwhile are dropped, not queued. Every returns only after
// ctx has ended and no call of fn is running, so a caller that waits for Every knows that fn is done
// with whatever it uses. fn receives ctx and handles (logs) its own errors.
//
// Every returns an error only for an interval that is not positive, without calling fn.
func Every(ctx context.Context, interval time.Duration, fn func(context.Context)) error {
	if interval <= 0 {
		return errors.New("loop: interval must be positive")
	}
	t := time.NewTicker(interval)
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
	}
}
