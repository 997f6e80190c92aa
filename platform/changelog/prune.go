package changelog

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/beaconcms/beacon/platform/loop"
)

// Pruner deletes a change log's entries once they are older than Retention, every Interval. On
// the embedded store a delete by time decodes every entry the log holds (about 350 ms of CPU for
// the entries of a 10,000-article import), so after its first delete the Pruner deletes only when
// it knows that some entry is old enough to go.
//
// It knows it from the head: writers insert an entry before they move the head past it, so when
// the Pruner first sees the head at h, at time t, every entry up to h was written before t. Each
// PruneOnce notes the head it reads with the time it first saw it (a mark); a delete is asked for
// only when a mark older than the cutoff covers entries that no earlier delete was known to take,
// and that delete takes all of them. Skipping can only leave entries behind for longer (an entry
// is gone within Retention plus two Intervals of its write, or of the Pruner's first delete for
// entries older than that), never delete one younger than Retention that a follower still needs.
type Pruner struct {
	// Head returns the log's head, as for Follower.Head. Required.
	Head func(ctx context.Context) (int64, error)
	// Prune deletes the entries whose time is before the given time. Required.
	Prune func(ctx context.Context, before time.Time) error
	// Retention is how long entries are kept; Interval how often Run prunes. Both required.
	Retention, Interval time.Duration
	// Now is the clock; default time.Now.
	Now    func() time.Time
	Logger *slog.Logger

	started bool        // the first, unconditional delete succeeded
	marks   []pruneMark // heads seen since deletedThrough, oldest first
	covered int64       // every entry up to this head is known deleted (when started)
}

// maxPruneMarks bounds the marks a Pruner keeps; one is added per PruneOnce at most, and a
// successful delete drops all but about Retention/Interval of them.
const maxPruneMarks = 64

// pruneMark is a head the Pruner read and when it first read it: every entry up to head was
// written before seen.
type pruneMark struct {
	head int64
	seen time.Time
}

func (p *Pruner) now() time.Time {
	if p.Now != nil {
		return p.Now()
	}
	return time.Now()
}

// PruneOnce prunes now, unless no entry is known to be old enough to go. It reports whether it
// deleted (asked the store to).
func (p *Pruner) PruneOnce(ctx context.Context) (bool, error) {
	now := p.now()
	h, err := p.Head(ctx)
	if err != nil {
		return false, fmt.Errorf("reading the change log's head: %w", err)
	}
	switch last := len(p.marks) - 1; {
	case last >= 0 && h < p.marks[last].head, p.started && h < p.covered:
		// The head went back (the log was reset): start over.
		p.started, p.marks = false, nil
		p.marks = append(p.marks, pruneMark{head: h, seen: now})
	case last >= 0 && h == p.marks[last].head, p.started && last < 0 && h == p.covered:
		// Seen before, or every entry up to it is known gone.
	default:
		if len(p.marks) == maxPruneMarks {
			// Deletes keep failing: forget the oldest mark. The next one covers its entries too,
			// with a later time, so they are only kept longer.
			p.marks = append(p.marks[:0], p.marks[1:]...)
		}
		p.marks = append(p.marks, pruneMark{head: h, seen: now})
	}
	cutoff := now.Add(-p.Retention)
	if !p.started {
		// What the log held before the Pruner first saw it is unknown: delete once, whatever it is.
		if err := p.Prune(ctx, cutoff); err != nil {
			return true, err
		}
		p.started = true
		p.dropMarksBefore(cutoff)
		return true, nil
	}
	// The newest mark older than the cutoff: every entry up to its head goes with this delete.
	old := -1
	for i, m := range p.marks {
		if m.seen.Before(cutoff) {
			old = i
		}
	}
	if old < 0 {
		return false, nil
	}
	if err := p.Prune(ctx, cutoff); err != nil {
		return true, err
	}
	p.dropMarksBefore(cutoff)
	return true, nil
}

// dropMarksBefore forgets the marks a delete at cutoff has just covered: every entry up to their
// heads was written before their sight, before the cutoff, and so is gone.
func (p *Pruner) dropMarksBefore(cutoff time.Time) {
	n := 0
	for n < len(p.marks) && p.marks[n].seen.Before(cutoff) {
		p.covered = p.marks[n].head
		n++
	}
	p.marks = append(p.marks[:0], p.marks[n:]...)
}

// Run prunes at once and then every Interval until ctx ends, logging failures; it returns nil
// once no prune is running, or an error at once for a bad configuration.
func (p *Pruner) Run(ctx context.Context) error {
	if p.Head == nil || p.Prune == nil || p.Retention <= 0 || p.Interval <= 0 {
		return fmt.Errorf("changelog: Pruner needs Head, Prune and a positive Retention and Interval")
	}
	logger := p.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	prune := func(ctx context.Context) {
		if _, err := p.PruneOnce(ctx); err != nil && ctx.Err() == nil {
			logger.WarnContext(ctx, "pruning the change log failed", "err", err)
		}
	}
	// The first prune, the one that deletes whatever it finds, runs at start, where the store
	// rules allow a scan; later ones only once an entry the Pruner saw is past the retention.
	prune(ctx)
	return loop.Every(ctx, p.Interval, prune)
}
