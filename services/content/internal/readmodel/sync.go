package readmodel

import (
	"context"
	"fmt"
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/beaconcms/beacon/platform/changelog"
	"github.com/beaconcms/beacon/platform/textsearch"
	"github.com/beaconcms/beacon/services/content/internal/domain"
	"github.com/beaconcms/beacon/services/content/internal/render"
)

// Source is where the model reads published articles: the content store. The model only
// reads it; the content service writes the change log and prunes it (see content.Service.Run).
type Source interface {
	// ForEachLiveArticle calls fn with every article that has a live snapshot (published and
	// not deleted), in no particular order, with Draft and Rendering left empty. The snapshot
	// may come with its HTML and search text compressed (domain.Snapshot.CompressedBody), and
	// then without its Markdown body. It stops at fn's first error and returns it.
	ForEachLiveArticle(ctx context.Context, fn func(*domain.Article) error) error
	// GetArticlesForDelivery returns the current state of the articles with these ids, live
	// or not (deleted ones included, so the model sees them leave), in any order, with Draft
	// and Rendering left empty (and the body as ForEachLiveArticle says). Ids that do not
	// exist are left out, not an error.
	GetArticlesForDelivery(ctx context.Context, ids []string) ([]*domain.Article, error)
	// ListArticleChanges returns the changes of up to limit change-log entries with a time at
	// or after since, oldest first (an import's entry names many articles, so more than limit
	// changes may come back). Every successful article write is in an entry (article id, new
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
// position to follow the change log from (Follow). The articles are servable when it returns;
// their search terms are indexed by BuildSearch, which searches wait for.
func (m *Model) Load(ctx context.Context, src Source) (changelog.Position, error) {
	since := m.follower(src, time.Second).Start(ctx)
	m.SitesChanged()
	m.mu.Lock()
	defer m.mu.Unlock()
	m.searchReady = make(chan struct{}) // closed by BuildSearch
	// Records first (applied as they stream in, so only the live records stay in memory),
	// then each site they are live on rendered, in parallel, and built once.
	changed := map[string]*siteChange{}
	err := src.ForEachLiveArticle(ctx, func(a *domain.Article) error {
		m.applyLocked(a, nil, changed)
		if a.Live() {
			m.searchBacklog = append(m.searchBacklog, searchDocOf(a))
		}
		return ctx.Err()
	})
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
	return since, nil
}

// BuildSearch indexes for search the articles Load read, on every core, then lets searches
// through; until then they wait (View.Search). An article applied again since Load is indexed by
// that apply, and its loaded version is skipped. It returns when done, or nil early when ctx
// ends. Splitting it from Load lets a replica serve articles and lists about two seconds sooner
// after a start with 10,000 articles; search follows.
func (m *Model) BuildSearch(ctx context.Context) error {
	m.mu.Lock()
	backlog, ready := m.searchBacklog, m.searchReady
	m.searchBacklog = nil
	m.mu.Unlock()
	const batch = 64
	var next atomic.Int64
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			terms := make([]*textsearch.Tokenized, 0, batch)
			for {
				first := int(next.Add(batch)) - batch
				if first >= len(backlog) || ctx.Err() != nil {
					return
				}
				todo := backlog[first:min(first+batch, len(backlog))]
				terms = terms[:0]
				for _, d := range todo {
					terms = append(terms, m.tokenize(d))
				}
				m.mu.Lock()
				for i, d := range todo {
					if rec := m.records[d.id]; rec != nil && m.applied[d.id] == d.revision {
						for _, site := range rec.live.Content.TargetSites {
							m.searchIndex(site).PutTokenized(terms[i])
						}
					}
					terms[i].Release()
				}
				m.mu.Unlock()
				clear(todo) // their text can go now
			}
		})
	}
	wg.Wait()
	if ctx.Err() != nil {
		return nil
	}
	close(ready)
	m.logger.Info("delivery: search index built", "articles", len(backlog))
	// Loading decoded every stored article, and the text was kept until now: give that memory
	// back (after the start, not on its way).
	debug.FreeOSMemory()
	return nil
}

// searchDoc is what BuildSearch needs of a loaded live article.
type searchDoc struct {
	id         string
	revision   int64
	title      string
	summary    string
	text       string      // the snapshot's search text, if it was stored
	packedText []byte      // else the text compressed apart (domain.Snapshot.CompressedText)
	packed     render.HTML // else its body, which may hold it compressed
	markdown   string      // else its Markdown body
}

func searchDocOf(a *domain.Article) searchDoc {
	c := a.Published.Content
	d := searchDoc{id: a.ID, revision: a.RevisionID, title: c.Title, summary: c.Summary, text: a.Published.SearchText}
	switch {
	case d.text != "":
	case len(a.Published.CompressedText) > 0:
		d.packedText = a.Published.CompressedText
	default:
		d.packed, d.markdown = render.SnapshotHTML(a.Published), c.Body
	}
	return d
}

// Follow reads the change log every interval (with changes, when told of a write to the
// database), from since, until ctx ends, and applies the articles written by other processes.
// It returns nil when ctx ends.
func (m *Model) Follow(ctx context.Context, src Source, from changelog.Position, interval time.Duration, changes changelog.Changes) error {
	f := m.follower(src, interval)
	f.Changes = changes
	return f.Run(ctx, from)
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
		Interval:    interval,
		IdleBackoff: changelog.IdleBackoff,
		Overlap:     changeOverlap,
		Batch:       changeBatch,
		Now:         m.now,
		Logger:      m.logger.With("follows", "article change log"),
		Progress:    &m.progress,
	}
}

// applyChanges reads the articles of the changes not yet applied and applies them.
func (m *Model) applyChanges(ctx context.Context, src Source, changes []domain.ArticleChange) error {
	latest := map[string]int64{} // the newest revision the changes name, per article not applied yet
	var ids []string
	m.mu.Lock()
	for _, c := range changes {
		if c.RevisionID <= m.applied[c.ArticleID] {
			continue
		}
		if _, seen := latest[c.ArticleID]; !seen {
			ids = append(ids, c.ArticleID)
		}
		latest[c.ArticleID] = max(latest[c.ArticleID], c.RevisionID)
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
	// A write that left the live entry as it was (a draft edit of a published article) is
	// logged at its revision while the entry read stays at an earlier one: what was read is
	// what delivery shows at the logged revision, so that revision counts as applied (else each
	// later read of the log would read the entry again).
	m.mu.Lock()
	for _, a := range articles {
		m.applied[a.ID] = max(m.applied[a.ID], latest[a.ID])
	}
	m.mu.Unlock()
	return nil
}
