package delivery

import (
	"context"
	"fmt"
	"runtime/debug"
	"time"

	"github.com/beaconcms/beacon/platform/loop"
	"github.com/beaconcms/beacon/services/content/internal/domain"
)

// Source is where the model reads published content: the content store.
type Source interface {
	ListSites(ctx context.Context, afterID string, limit int) ([]*domain.Site, error)
	ForEachLiveArticle(ctx context.Context, fn func(*domain.Article) error) error
	GetArticlesForDelivery(ctx context.Context, ids []string) ([]*domain.Article, error)
	ListArticleChanges(ctx context.Context, since time.Time, limit int) ([]domain.ArticleChange, error)
	PruneArticleChanges(ctx context.Context, before time.Time) error
}

// Freshness settings. Writes made by this process reach the model at once through the content
// service's observer; writes made by other replicas are found by polling the change log.
const (
	// changeOverlap is how far back each poll re-reads the change log, to catch entries written
	// late or by a replica whose clock is behind. Entries already applied are skipped.
	changeOverlap = 10 * time.Second
	changeBatch   = 1000
	// changeRetention is how long change-log entries are kept. Running replicas read them within
	// a poll interval (plus changeOverlap); a replica that starts later loads everything anyway.
	// Short, because on FerretDB v1 every poll decodes every entry.
	changeRetention = 5 * time.Minute
	pruneEvery      = time.Minute
)

// Load reads every site and live article into the model and returns the time to follow the
// change log from.
func (m *Model) Load(ctx context.Context, src Source) (time.Time, error) {
	since := m.now().Add(-changeOverlap)
	if err := m.syncSites(ctx, src); err != nil {
		return since, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	changed := map[string]bool{}
	err := src.ForEachLiveArticle(ctx, func(a *domain.Article) error {
		m.applyLocked(a, changed)
		return nil
	})
	if err != nil {
		return since, fmt.Errorf("load live articles: %w", err)
	}
	m.publish(changed)
	// Loading decoded every stored article; give that memory back before serving.
	debug.FreeOSMemory()
	return since, nil
}

func (m *Model) syncSites(ctx context.Context, src Source) error {
	var sites []*domain.Site
	after := ""
	for {
		batch, err := src.ListSites(ctx, after, 100)
		if err != nil {
			return fmt.Errorf("load sites: %w", err)
		}
		sites = append(sites, batch...)
		if len(batch) < 100 {
			break
		}
		after = batch[len(batch)-1].ID
	}
	m.ApplySites(sites, true)
	return nil
}

// Follow polls the store every interval, from since, until ctx ends: the sites, and the
// change log for articles written by other replicas. It returns (nil) once ctx has ended and no
// poll is running.
func (m *Model) Follow(ctx context.Context, src Source, since time.Time, interval time.Duration) error {
	lastPrune := time.Time{}
	return loop.Every(ctx, interval, func(ctx context.Context) {
		next, err := m.poll(ctx, src, since)
		if err != nil {
			if ctx.Err() == nil {
				m.logger.Warn("delivery: polling the store failed; serving what is loaded", "err", err)
			}
			return
		}
		since = next
		if time.Since(lastPrune) > pruneEvery {
			lastPrune = time.Now()
			if err := src.PruneArticleChanges(ctx, m.now().Add(-changeRetention)); err != nil && ctx.Err() == nil {
				m.logger.Warn("delivery: pruning the change log failed", "err", err)
			}
		}
	})
}

// poll applies what changed since since and returns where the next poll starts.
func (m *Model) poll(ctx context.Context, src Source, since time.Time) (time.Time, error) {
	if err := m.syncSites(ctx, src); err != nil {
		return since, err
	}
	changes, err := src.ListArticleChanges(ctx, since, changeBatch)
	if err != nil {
		return since, err
	}
	seen := map[string]bool{}
	var ids []string
	for _, c := range changes {
		if !seen[c.ArticleID] && c.RevisionID > m.AppliedRevision(c.ArticleID) {
			seen[c.ArticleID] = true
			ids = append(ids, c.ArticleID)
		}
	}
	if len(ids) > 0 {
		articles, err := src.GetArticlesForDelivery(ctx, ids)
		if err != nil {
			return since, err
		}
		m.ApplyArticles(articles)
	}
	if len(changes) == changeBatch {
		return changes[len(changes)-1].Time, nil // more to read: move on without overlap
	}
	if floor := m.now().Add(-changeOverlap); floor.After(since) {
		return floor, nil
	}
	return since, nil
}
