package articleindex

import (
	"context"
	"log/slog"
	"time"

	"github.com/beaconcms/beacon/platform/changelog"
	"github.com/beaconcms/beacon/services/content/internal/domain"
)

// Source is what an index follows: the change log and articles by id (the content store).
type Source interface {
	// ListArticleChanges returns the changes of change-log entries at or after since, oldest
	// first, at most limit entries (an import's entry names many articles).
	ListArticleChanges(ctx context.Context, since time.Time, limit int) ([]domain.ArticleChange, error)
	// ArticleChangesHead returns the change log's head, which moves after every entry added.
	ArticleChangesHead(ctx context.Context) (int64, error)
	// OwnArticleChanges reports whether every head move in (from, to] was this process's own
	// writes, which reached the index in process.
	OwnArticleChanges(from, to int64) bool
	// GetIndexEntry reads one article's entry by _id; false when it does not exist.
	GetIndexEntry(ctx context.Context, id string) (Entry, bool, error)
}

// changeOverlap is how far back each read of the change log goes (see platform/changelog): the
// same window as the delivery read model's.
const changeOverlap = 10 * time.Second

// Load fills the index with every article load gives it (the store's ForEachIndexEntry) and
// returns the position to follow src's change log from: a little before now, so that nothing
// written during the load is missed, and the log's head before the load.
func (ix *Index) Load(ctx context.Context, src Source, load func(context.Context, func(Entry)) error, now time.Time) (changelog.Position, error) {
	from := ix.follower(src, time.Second, func() time.Time { return now }, nil).Start(ctx)
	err := load(ctx, func(e Entry) { ix.Put(e) })
	return from, err
}

// Follow applies other replicas' writes from the change log, reading it every interval (with
// changes, when told of a write to the database) from since, until ctx ends. It returns an
// error only for a non-positive interval.
func (ix *Index) Follow(ctx context.Context, src Source, from changelog.Position, interval time.Duration, changes changelog.Changes, now func() time.Time, logger *slog.Logger) error {
	f := ix.follower(src, interval, now, logger)
	f.Changes = changes
	return f.Run(ctx, from)
}

// Poll applies the changes logged since since, once, and returns where the next read starts.
func (ix *Index) Poll(ctx context.Context, src Source, since, now time.Time) (time.Time, error) {
	return ix.follower(src, time.Second, func() time.Time { return now }, nil).Poll(ctx, since)
}

func (ix *Index) follower(src Source, interval time.Duration, now func() time.Time, logger *slog.Logger) *changelog.Follower[domain.ArticleChange] {
	if logger != nil {
		logger = logger.With("model", "article index")
	}
	return &changelog.Follower[domain.ArticleChange]{
		List:        src.ListArticleChanges,
		Head:        src.ArticleChangesHead,
		Own:         src.OwnArticleChanges,
		TimeOf:      func(c domain.ArticleChange) time.Time { return c.Time },
		Apply:       func(ctx context.Context, changes []domain.ArticleChange) error { return ix.apply(ctx, src, changes) },
		Interval:    interval,
		IdleBackoff: changelog.IdleBackoff,
		Overlap:     changeOverlap,
		Now:         now,
		Logger:      logger,
	}
}

// apply reads, by _id, each article the changes name at a revision newer than the index holds.
func (ix *Index) apply(ctx context.Context, src Source, changes []domain.ArticleChange) error {
	seen := map[string]bool{}
	for _, c := range changes {
		if seen[c.ArticleID] || c.RevisionID <= ix.Revision(c.ArticleID) {
			continue
		}
		seen[c.ArticleID] = true
		e, ok, err := src.GetIndexEntry(ctx, c.ArticleID)
		if err != nil {
			return err
		}
		if ok {
			ix.Put(e)
		}
	}
	return nil
}
