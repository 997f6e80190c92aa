package changelog

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/beaconcms/beacon/platform/loop"
)

// Pruner deletes a change log's entries once they are older than Retention, every Interval. On
// the embedded store a delete by time decodes every entry the log holds, so the Pruner skips it
// when it can tell that nothing is left to delete: the head has not moved since a delete whose
// cutoff was later than the moment that head was first seen (every entry then in the log had been
// written before that moment, so that delete took them all). Skipping can only leave entries
// behind, never lose one that a follower still needs: a writer whose clock runs ahead may leave an
// entry that the next delete after the head moves takes.
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

	head      int64     // the head last read
	headSeen  time.Time // when head was first read at its value
	emptyHead int64     // a head at which the log is known to be empty
	empty     bool      // emptyHead is set
}

func (p *Pruner) now() time.Time {
	if p.Now != nil {
		return p.Now()
	}
	return time.Now()
}

// PruneOnce prunes now, unless the log is known to hold nothing to delete. It reports whether it
// deleted (asked the store to).
func (p *Pruner) PruneOnce(ctx context.Context) (bool, error) {
	now := p.now()
	h, err := p.Head(ctx)
	if err != nil {
		return false, fmt.Errorf("reading the change log's head: %w", err)
	}
	if h != p.head || p.headSeen.IsZero() {
		p.head, p.headSeen = h, now
	}
	if p.empty && h == p.emptyHead {
		return false, nil
	}
	cutoff := now.Add(-p.Retention)
	if err := p.Prune(ctx, cutoff); err != nil {
		return true, err
	}
	// Entries are written before the head moves, so every entry the log held when the head was
	// first seen at h is older than headSeen; a cutoff past it took them all.
	p.empty, p.emptyHead = cutoff.After(p.headSeen), h
	return true, nil
}

// Run prunes every Interval until ctx ends, logging failures; it returns nil once no prune is
// running, or an error at once for a bad configuration.
func (p *Pruner) Run(ctx context.Context) error {
	if p.Head == nil || p.Prune == nil || p.Retention <= 0 || p.Interval <= 0 {
		return fmt.Errorf("changelog: Pruner needs Head, Prune and a positive Retention and Interval")
	}
	logger := p.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return loop.Every(ctx, p.Interval, func(ctx context.Context) {
		if _, err := p.PruneOnce(ctx); err != nil && ctx.Err() == nil {
			logger.WarnContext(ctx, "pruning the change log failed", "err", err)
		}
	})
}
