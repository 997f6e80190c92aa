// Package changelog follows a change log: a collection of (time, key) entries that writers
// append with every write, so that read models in other processes can find what changed.
//
// A [Follower] reads the log from a since-time every interval until its context ends. Each
// read goes back an overlap window before the newest time it has seen, to catch entries that
// were written late or by a writer whose clock is behind; re-read entries reach Apply again,
// so Apply must ignore what it has already applied (for example by revision).
package changelog

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/beaconcms/beacon/platform/loop"
)

// Follower reads a change log every Interval and hands what it finds to Apply.
type Follower[E any] struct {
	// List returns the entries whose time is at or after since, oldest first: up to limit
	// stored entries, or more when a stored entry stands for several (a batch). At least limit
	// entries mean the read may not have reached the end.
	List func(ctx context.Context, since time.Time, limit int) ([]E, error)
	// TimeOf returns an entry's time.
	TimeOf func(E) time.Time
	// Apply applies a batch of entries, oldest first. It may see an entry more than once.
	Apply func(ctx context.Context, entries []E) error
	// Interval is the time between reads. Required.
	Interval time.Duration
	// Overlap is how far back before the last read each read starts.
	Overlap time.Duration
	// Batch is the most entries one read asks for; when a read returns a full batch (or more),
	// the next starts at its last entry's time instead of going back by Overlap. Default 1000.
	Batch int
	// Now is the clock; default time.Now.
	Now func() time.Time
	// Logger reports failed reads (once per run of failures, and the recovery). nil discards.
	Logger *slog.Logger
	// Head, when set, returns the log's head: a value that writers change after each entry
	// they add (a counter in one document read by _id). Run then reads the log only when the
	// head moved since its last read, so that an idle log costs one point read per interval
	// (on FerretDB v1 every read of the log decodes every entry it holds). When Head fails,
	// Run reads the log.
	Head func(ctx context.Context) (int64, error)
	// Own, when set with Head, reports whether every move of the head after from, up to and
	// including to, was made by writes of this process that Apply's reader has been given
	// already (in process): Run then does not read the log for them.
	Own func(from, to int64) bool
	// IdleBackoff, with Head, spaces the head reads of an idle log: after each read that finds
	// it unmoved, Run waits one more Interval before the next, up to IdleBackoff intervals; any
	// move brings it back to every Interval. So other writers' changes arrive within
	// IdleBackoff × Interval (plus one read). 0 or 1: every Interval.
	IdleBackoff int
	// Progress, when set, records how far the follower has got (for metrics): the time of the
	// newest entry it applied, and when it last knew it had read the log to its end.
	Progress *Progress
	// Changes, when set, tells of every write to the log's database as it happens (the embedded
	// store running in this process sees every commit to its files: mongodb.Embedded.Changes).
	// Run then reads the head (and the log if it moved) only when told, instead of every
	// Interval: an idle log costs nothing. Interval then only spaces the retries of a read that
	// failed (or left more to read). Without it (MongoDB, a store in another process), Run polls.
	Changes Changes
}

// Changes tells a reader in process of writes to a database (*mongodb.DatabaseChanges).
type Changes interface {
	// Watch returns a channel that receives after writes to the database, one value for however
	// many came since the last (it holds one pending value), until stop is called.
	Watch() (changed <-chan struct{}, stop func())
}

// Progress is how far a reader of a change log has got. It is safe for concurrent use; the
// zero value has seen nothing.
type Progress struct {
	lastChange atomic.Int64 // unix nanoseconds of the newest change applied; 0: none
	synced     atomic.Int64 // unix nanoseconds when the log was last read to its end; 0: never
	// told is set while a follower told of every write (Follower.Changes) has read everything
	// it was told of: it is then synced now, not when it last read.
	told atomic.Bool
}

// Applied records that a change written at t has been applied (by a follower, or in process
// by the writer itself); the newest time is kept.
func (p *Progress) Applied(t time.Time) { storeMax(&p.lastChange, t.UnixNano()) }

// LastChange is the time of the newest change applied, or zero.
func (p *Progress) LastChange() time.Time { return fromUnixNano(p.lastChange.Load()) }

// Synced is when the log was last known read to its end, or zero. A follower told of every
// write (Follower.Changes) whose last read succeeded is synced now: it is behind only by the
// notices on their way (the notifier's own spacing, about 2 s for the embedded store).
func (p *Progress) Synced() time.Time {
	if p.told.Load() {
		return time.Now()
	}
	return fromUnixNano(p.synced.Load())
}

func (p *Progress) markSynced(t time.Time) { storeMax(&p.synced, t.UnixNano()) }

func storeMax(v *atomic.Int64, n int64) {
	for {
		old := v.Load()
		if n <= old || v.CompareAndSwap(old, n) {
			return
		}
	}
}

func fromUnixNano(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n)
}

// IdleBackoff is the Follower.IdleBackoff of Beacon's followers: at their 1 s interval an idle
// process reads each head every 2 s, so that other replicas' writes arrive well within the 5 s
// the services promise, even on a busy machine (at 3 s, an end-to-end test missed the 5 s twice
// under CI's load).
const IdleBackoff = 2

// Position is where a follower starts: the since-time, and the log's head as it was before the
// reader loaded its state.
type Position struct {
	Since     time.Time
	head      int64
	headKnown bool
}

// Start returns the position to follow from for a reader that loads the current state right
// after: the start of the overlap window before now and, with a Head, the head now. A log whose
// head has not moved since is then not read at all: every entry it holds was loaded. A head
// that cannot be read makes the first tick read the log.
func (f *Follower[E]) Start(ctx context.Context) Position {
	p := Position{Since: f.now().Add(-f.Overlap)}
	if f.Head != nil {
		if h, err := f.Head(ctx); err == nil {
			p.head, p.headKnown = h, true
		}
	}
	return p
}

// Run reads the log every Interval (with Changes: when told of a write), starting at from,
// until ctx ends, and then returns nil once no read is running (see loop.Poll and
// loop.Notified). A failed read is logged and retried at the next tick (with Changes: after
// Interval) from the same since-time.
func (f *Follower[E]) Run(ctx context.Context, from Position) error {
	if f.Interval <= 0 {
		return fmt.Errorf("changelog: Interval must be positive, got %v", f.Interval)
	}
	logger := f.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	failing := false
	since, head, headKnown := from.Since, from.head, from.headKnown
	// read reads the head and, when it moved for writes not applied in process, the log. It
	// reports whether the head had not moved (idle), and whether everything up to the head was
	// read (done; false after a failure or a full batch).
	read := func(ctx context.Context) (idle, done bool) {
		tick := f.now()
		var h int64
		var headErr error = errNoHead
		if f.Head != nil {
			h, headErr = f.Head(ctx)
			if headErr == nil && headKnown && (h == head || (f.Own != nil && f.Own(head, h))) {
				// Nothing was added since the last read, which covered everything up to it, but
				// what this process wrote (and applied) itself.
				idle = h == head
				f.synced(tick)
				head = h
				if floor := f.now().Add(-f.Overlap); floor.After(since) {
					since = floor
				}
				return idle, true
			}
		}
		next, full, err := f.poll(ctx, since)
		if err == nil {
			// A full batch leaves more to read: keep reading whatever the head says.
			head, headKnown = h, headErr == nil && !full
			if !full {
				f.synced(tick)
			}
		}
		switch {
		case err != nil && ctx.Err() != nil:
			return false, false
		case err != nil:
			if !failing {
				logger.Warn("reading the change log failed; serving what is loaded and retrying every interval", "err", err)
			}
			failing = true
			return false, false
		case failing:
			logger.Info("reading the change log works again")
			failing = false
		}
		since = next
		return false, !full
	}
	if f.Changes != nil {
		changed, stop := f.Changes.Watch()
		defer stop()
		if f.Progress != nil {
			defer f.Progress.told.Store(false)
		}
		// The first read, at once, covers what was written between Start and the Watch.
		return loop.Notified(ctx, changed, f.Interval, func(ctx context.Context) bool {
			_, done := read(ctx)
			if f.Progress != nil {
				f.Progress.told.Store(done)
			}
			return done
		})
	}
	backoff := loop.IdleBackoff{Max: f.IdleBackoff}
	return loop.Poll(ctx, f.Interval, &backoff, func(ctx context.Context) {
		if idle, done := read(ctx); idle && done {
			backoff.Idle()
		} else {
			backoff.Busy()
		}
	})
}

// errNoHead stands for a head that was not read.
var errNoHead = errors.New("changelog: no head")

// Poll reads the log once from since, applies what it found and returns where the next read
// starts. On error nothing moves: the next read starts at since again.
func (f *Follower[E]) Poll(ctx context.Context, since time.Time) (time.Time, error) {
	next, _, err := f.poll(ctx, since)
	return next, err
}

// poll is Poll that also reports whether the read returned a full batch (more may follow).
func (f *Follower[E]) poll(ctx context.Context, since time.Time) (next time.Time, full bool, err error) {
	batch := f.Batch
	if batch <= 0 {
		batch = 1000
	}
	entries, err := f.List(ctx, since, batch)
	if err != nil {
		return since, false, err
	}
	if len(entries) > 0 {
		if err := f.Apply(ctx, entries); err != nil {
			return since, false, err
		}
		if f.Progress != nil {
			f.Progress.Applied(f.TimeOf(entries[len(entries)-1]))
		}
	}
	if len(entries) >= batch {
		return f.TimeOf(entries[len(entries)-1]), true, nil // more to read: move on without overlap
	}
	if floor := f.now().Add(-f.Overlap); floor.After(since) {
		return floor, false, nil
	}
	return since, false, nil
}

// synced records, with a Progress, that the log was read to its end as of t.
func (f *Follower[E]) synced(t time.Time) {
	if f.Progress != nil {
		f.Progress.markSynced(t)
	}
}

func (f *Follower[E]) now() time.Time {
	if f.Now != nil {
		return f.Now()
	}
	return time.Now()
}
