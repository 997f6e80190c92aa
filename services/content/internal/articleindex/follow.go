package articleindex

import (
	"context"
	"log/slog"
	"time"

	"github.com/beaconcms/beacon/platform/loop"
	"github.com/beaconcms/beacon/services/content/internal/domain"
)

// Source is what an index follows: the change log and articles by id (the content store).
type Source interface {
	// ListArticleChanges returns change-log entries at or after since, oldest first, at most limit.
	ListArticleChanges(ctx context.Context, since time.Time, limit int) ([]domain.ArticleChange, error)
	// GetIndexEntry reads one article's entry by _id; false when it does not exist.
	GetIndexEntry(ctx context.Context, id string) (Entry, bool, error)
}

// Following the change log: the same contract as the delivery read model's. Every recorded
// article write has an entry (articleId, revision, time) in the log; each poll re-reads
// changeOverlap back to catch entries written late or by a replica whose clock is behind, and
// skips those already applied.
const (
	changeOverlap = 10 * time.Second
	changeBatch   = 1000
)

// Load fills the index with every article load gives it (the store's ForEachIndexEntry) and
// returns the time to follow the change log from: a little before the load started, so that
// nothing written during the load is missed.
func (ix *Index) Load(ctx context.Context, load func(context.Context, func(Entry)) error, now time.Time) (time.Time, error) {
	since := now.Add(-changeOverlap)
	err := load(ctx, func(e Entry) { ix.Put(e) })
	return since, err
}

// Follow applies other replicas' writes from the change log, polling every interval from since,
// until ctx ends. Failures are logged once per outage and retried at the next tick. It returns an
// error only for a non-positive interval.
func (ix *Index) Follow(ctx context.Context, src Source, since time.Time, interval time.Duration, now func() time.Time, logger *slog.Logger) error {
	failing := false
	return loop.Every(ctx, interval, func(ctx context.Context) {
		next, err := ix.Poll(ctx, src, since, now())
		switch {
		case err != nil && ctx.Err() == nil && !failing:
			failing = true
			logger.WarnContext(ctx, "article index: reading the change log failed; lists may miss other replicas' writes until it works again", "err", err)
		case err == nil:
			if failing {
				logger.InfoContext(ctx, "article index: reading the change log works again")
			}
			failing = false
			since = next
		}
	})
}

// Poll applies the changes logged since since and returns where the next poll starts.
func (ix *Index) Poll(ctx context.Context, src Source, since, now time.Time) (time.Time, error) {
	changes, err := src.ListArticleChanges(ctx, since, changeBatch)
	if err != nil {
		return since, err
	}
	seen := map[string]bool{}
	for _, c := range changes {
		if seen[c.ArticleID] || c.RevisionID <= ix.Revision(c.ArticleID) {
			continue
		}
		seen[c.ArticleID] = true
		e, ok, err := src.GetIndexEntry(ctx, c.ArticleID)
		if err != nil {
			return since, err
		}
		if ok {
			ix.Put(e)
		}
	}
	if len(changes) == changeBatch {
		return changes[len(changes)-1].Time, nil // more to read: move on without overlap
	}
	if floor := now.Add(-changeOverlap); floor.After(since) {
		return floor, nil
	}
	return since, nil
}
