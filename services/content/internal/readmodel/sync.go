package readmodel

import (
	"context"
	"fmt"
	"runtime"
	"runtime/debug"
	"sync"
	"time"

	"github.com/beaconcms/beacon/platform/changelog"
	"github.com/beaconcms/beacon/services/content/internal/domain"
)

// Source is where the model reads published articles: the content store. The model only
// reads it; the content service writes the change log and prunes it (see content.Service.Run).
type Source interface {
	// ForEachLiveArticle calls fn with every article that has a live snapshot (published and
	// not deleted), in no particular order, with Draft and Rendering left empty. It stops at
	// fn's first error and returns it.
	ForEachLiveArticle(ctx context.Context, fn func(*domain.Article) error) error
	// GetArticlesForDelivery returns the current state of the articles with these ids, live
	// or not (deleted ones included, so the model sees them leave), in any order, with Draft
	// and Rendering left empty. Ids that do not exist are left out, not an error.
	GetArticlesForDelivery(ctx context.Context, ids []string) ([]*domain.Article, error)
	// ListArticleChanges returns up to limit change-log entries with a time at or after
	// since, oldest first. Every successful article write has an entry (article id, new
	// revision, time of the write) once its revision is recorded; entries older than a
	// retention period (minutes) may be gone.
	ListArticleChanges(ctx context.Context, since time.Time, limit int) ([]domain.ArticleChange, error)
	// ArticleChangesHead returns the change log's head, which moves after every entry added:
	// the model reads the log only when it moved.
	ArticleChangesHead(ctx context.Context) (int64, error)
	// OwnArticleChanges reports whether every head move in (from, to] was a write of this
	// process, which the model is given in process (ApplyArticles).
	OwnArticleChanges(from, to int64) bool
}

// Freshness settings. Writes made by this process reach the model at once; writes made by
// other processes are found by following the change log.
const (
	// changeOverlap is how far back each read re-reads the change log, to catch entries
	// written late or by a writer whose clock is behind. Entries already applied are skipped.
	changeOverlap = 10 * time.Second
	changeBatch   = 1000
)

// Load reads every site from the catalog and every live article from src, and returns the
// position to follow the change log from (Follow).
func (m *Model) Load(ctx context.Context, src Source) (changelog.Position, error) {
	since := m.follower(src, time.Second).Start(ctx)
	m.SitesChanged()
	m.mu.Lock()
	defer m.mu.Unlock()
	// Records first (applied as they stream in, so only the live records stay in memory),
	// then each site they are live on rendered, in parallel, and built once.
	// The searchable text of each is extracted on every core meanwhile.
	changed := map[string]*siteChange{}
	type withText struct {
		a    *domain.Article
		text string
	}
	loaded := make(chan *domain.Article, 64)
	prepared := make(chan withText, 64)
	var extractors sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		extractors.Go(func() {
			for a := range loaded {
				prepared <- withText{a, m.searchText(a)}
			}
		})
	}
	applied := make(chan struct{})
	go func() {
		defer close(applied)
		for p := range prepared {
			m.applyLocked(p.a, p.text, changed) // Load holds m.mu for this goroutine
		}
	}()
	err := src.ForEachLiveArticle(ctx, func(a *domain.Article) error {
		select {
		case loaded <- a:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	})
	close(loaded)
	extractors.Wait()
	close(prepared)
	<-applied
	if err != nil {
		return since, fmt.Errorf("load live articles: %w", err)
	}
	ids := map[string]bool{}
	for id := range changed {
		if st := m.sites[id]; st != nil {
			m.rebuildLocked(st)
			ids[id] = true
		}
	}
	m.dropRenderedHTMLLocked(changed)
	m.publishLocked(ids)
	// Loading decoded every stored article; give that memory back before serving.
	debug.FreeOSMemory()
	return since, nil
}

// Follow reads the change log every interval, from since, until ctx ends, and applies the
// articles written by other processes. It returns nil when ctx ends.
func (m *Model) Follow(ctx context.Context, src Source, from changelog.Position, interval time.Duration) error {
	return m.follower(src, interval).Run(ctx, from)
}

func (m *Model) follower(src Source, interval time.Duration) *changelog.Follower[domain.ArticleChange] {
	return &changelog.Follower[domain.ArticleChange]{
		List:   src.ListArticleChanges,
		Head:   src.ArticleChangesHead,
		Own:    src.OwnArticleChanges,
		TimeOf: func(c domain.ArticleChange) time.Time { return c.Time },
		Apply: func(ctx context.Context, changes []domain.ArticleChange) error {
			return m.applyChanges(ctx, src, changes)
		},
		Interval: interval,
		Overlap:  changeOverlap,
		Batch:    changeBatch,
		Now:      m.now,
		Logger:   m.logger.With("follows", "article change log"),
	}
}

// applyChanges reads the articles of the changes not yet applied and applies them.
func (m *Model) applyChanges(ctx context.Context, src Source, changes []domain.ArticleChange) error {
	seen := map[string]bool{}
	var ids []string
	m.mu.Lock()
	for _, c := range changes {
		if !seen[c.ArticleID] && c.RevisionID > m.applied[c.ArticleID] {
			seen[c.ArticleID] = true
			ids = append(ids, c.ArticleID)
		}
	}
	m.mu.Unlock()
	if len(ids) == 0 {
		return nil
	}
	articles, err := src.GetArticlesForDelivery(ctx, ids)
	if err != nil {
		return err
	}
	m.ApplyArticles(articles...)
	return nil
}
