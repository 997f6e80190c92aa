package delivery

import (
	"cmp"

	"errors"
	contentv1 "github.com/beaconcms/beacon/gen/beacon/content/v1"
	"google.golang.org/protobuf/encoding/protojson"
	"log/slog"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/beaconcms/beacon/platform/textsearch"
	"github.com/beaconcms/beacon/services/content/internal/domain"
)

// view is one site's published content at one moment. It is never modified after it is
// published through Model.views, so readers need no locks.
type view struct {
	site      *domain.Site
	bySlug    map[string]*entry
	redirects map[string]string // former slug → current slug
	ordered   []*entry          // newest first: publishTime desc, then id desc
	byTag     map[string][]*entry
	byTopic   map[string][]*entry
	byID      map[string]*entry
	search    *textsearch.Index // shared by the site's views; updated in place
	cacheAge  []string          // Cache-Control header value

	sitemapOnce sync.Once
	sitemap     *body
	feedOnce    sync.Once
	feed        *body

	pages     sync.Map // rendered list pages by query; bounded by pageCount
	pageCount atomic.Int32
}

// record is what the model keeps of one live article, to rebuild views when it or its site
// changes.
type record struct {
	revision int64
	article  *domain.Article // with Published set; Draft may be empty
	sites    []string        // sites it is live on
	rendered map[string]rendered
	// html is the snapshot's rendered body until the record's entries are rendered; after
	// that it is dropped (the entries' JSON holds it) to halve the model's memory.
	html string
}

// rendered is an entry rendered for one version of a site (sites are replaced, never changed,
// so the pointer identifies the version).
type rendered struct {
	site  *domain.Site
	entry *entry
}

// Model is the delivery read model of every site. It is safe for concurrent use: any number
// of readers, and writers serialized by mu.
type Model struct {
	views  atomic.Pointer[map[string]*view] // site id → current view
	logger *slog.Logger
	now    func() time.Time

	mu       sync.Mutex // serializes writers; guards everything below
	sites    map[string]*domain.Site
	records  map[string]*record // live articles by id
	applied  map[string]int64   // highest revision seen per article, live or not
	searches map[string]*textsearch.Index
	textOf   func(a *domain.Article) string
}

// NewModel returns an empty model. plainText extracts searchable text from Markdown.
func NewModel(plainText func(markdown string) string, logger *slog.Logger) *Model {
	m := &Model{
		logger:   logger,
		now:      time.Now,
		sites:    map[string]*domain.Site{},
		records:  map[string]*record{},
		applied:  map[string]int64{},
		searches: map[string]*textsearch.Index{},
		textOf:   func(a *domain.Article) string { return plainText(a.Published.Content.Body) },
	}
	empty := map[string]*view{}
	m.views.Store(&empty)
	return m
}

// view returns the current view of a site, or nil.
func (m *Model) view(site string) *view {
	return (*m.views.Load())[site]
}

// ArticleWritten applies an article the content service has just written.
func (m *Model) ArticleWritten(a *domain.Article) { m.ApplyArticles([]*domain.Article{a}) }

// SiteWritten applies a created or updated site.
func (m *Model) SiteWritten(s *domain.Site) { m.ApplySites([]*domain.Site{s}, false) }

// SiteDeleted removes a site.
func (m *Model) SiteDeleted(id string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.sites, id)
	m.publish(map[string]bool{id: true})
}

// ApplySites replaces the sites given. With complete, sites not given are removed.
func (m *Model) ApplySites(sites []*domain.Site, complete bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	changed := map[string]bool{}
	seen := map[string]bool{}
	for _, s := range sites {
		seen[s.ID] = true
		if old, ok := m.sites[s.ID]; ok && old.Revision >= s.Revision && old.Revision != 0 {
			continue
		}
		copied := *s
		m.sites[s.ID] = &copied
		changed[s.ID] = true
	}
	if complete {
		for id := range m.sites {
			if !seen[id] {
				delete(m.sites, id)
				changed[id] = true
			}
		}
	}
	m.publish(changed)
}

// ApplyArticles applies articles at their revisions, ignoring any older than what the model
// has seen. An article that is not live (unpublished, archived, deleted) leaves every site.
func (m *Model) ApplyArticles(articles []*domain.Article) {
	m.mu.Lock()
	defer m.mu.Unlock()
	changed := map[string]bool{}
	for _, a := range articles {
		m.applyLocked(a, changed)
	}
	m.publish(changed)
}

// applyLocked updates the records and search indexes for a and notes the sites whose views
// must be rebuilt. Caller holds mu.
func (m *Model) applyLocked(a *domain.Article, changed map[string]bool) {
	if a.RevisionID <= m.applied[a.ID] {
		return
	}
	m.applied[a.ID] = a.RevisionID
	if old := m.records[a.ID]; old != nil {
		for _, s := range old.sites {
			changed[s] = true
			if ix := m.searches[s]; ix != nil {
				ix.Delete(a.ID)
			}
		}
	}
	if !a.Live() {
		delete(m.records, a.ID)
		return
	}
	text := m.textOf(a)
	rec := &record{revision: a.RevisionID, article: slim(a), html: a.Published.Rendering.HTML, sites: a.Published.Content.TargetSites}
	m.records[a.ID] = rec
	for _, s := range rec.sites {
		changed[s] = true
		m.searchIndex(s).Put(textsearch.Document{ID: a.ID, Title: a.Published.Content.Title, Summary: a.Published.Content.Summary, Body: text})
	}
}

// AppliedRevision returns the newest revision of an article the model has applied, or 0.
func (m *Model) AppliedRevision(id string) int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.applied[id]
}

func (m *Model) searchIndex(site string) *textsearch.Index {
	ix := m.searches[site]
	if ix == nil {
		ix = textsearch.New()
		m.searches[site] = ix
	}
	return ix
}

// publish rebuilds the views of the changed sites and swaps in a new view map. Caller holds mu.
func (m *Model) publish(changed map[string]bool) {
	if len(changed) == 0 {
		return
	}
	current := *m.views.Load()
	next := make(map[string]*view, len(m.sites))
	for id, v := range current {
		if !changed[id] {
			next[id] = v
		}
	}
	for id := range changed {
		site, ok := m.sites[id]
		if !ok {
			continue
		}
		v, err := m.buildView(site)
		if err != nil {
			m.logger.Error("delivery: rebuilding a site view failed; keeping the previous one", "site", id, "err", err)
			if old := current[id]; old != nil {
				next[id] = old
			}
			continue
		}
		next[id] = v
	}
	m.views.Store(&next)
}

// buildView renders the site's view from the records. Caller holds mu.
func (m *Model) buildView(site *domain.Site) (*view, error) {
	maxAge := site.CacheMaxAgeSeconds
	if maxAge == 0 {
		maxAge = domain.DefaultCacheMaxAge
	}
	v := &view{
		site:      site,
		bySlug:    map[string]*entry{},
		redirects: map[string]string{},
		byTag:     map[string][]*entry{},
		byTopic:   map[string][]*entry{},
		byID:      map[string]*entry{},
		search:    m.searchIndex(site.ID),
		cacheAge:  []string{cacheControl(site.Public, maxAge)},
	}
	var live []*record
	for _, rec := range m.records {
		if slices.Contains(rec.sites, site.ID) {
			live = append(live, rec)
		}
	}
	if err := renderMissing(site, live); err != nil {
		return nil, err
	}
	for _, rec := range live {
		v.ordered = append(v.ordered, rec.rendered[site.ID].entry)
	}
	slices.SortFunc(v.ordered, func(a, b *entry) int {
		if c := b.publishTime.Compare(a.publishTime); c != 0 {
			return c
		}
		return cmp.Compare(b.id, a.id)
	})
	for _, e := range v.ordered {
		v.byID[e.id] = e
		if _, taken := v.bySlug[e.slug]; !taken {
			v.bySlug[e.slug] = e
		}
		for _, t := range e.tags {
			v.byTag[t] = append(v.byTag[t], e)
		}
		for _, t := range e.topics {
			v.byTopic[t] = append(v.byTopic[t], e)
		}
	}
	for _, rec := range live {
		current := rec.article.Published.Content.Slug
		for _, old := range rec.article.PublishedSlugs {
			if old == current {
				continue
			}
			if _, live := v.bySlug[old]; !live {
				v.redirects[old] = current
			}
		}
	}
	return v, nil
}

func cacheControl(public bool, maxAge int) string {
	if public {
		return "public, max-age=" + itoa(maxAge) + ", stale-while-revalidate=300"
	}
	return "private, max-age=" + itoa(maxAge)
}

// renderMissing renders, in parallel, the entries of records not yet rendered for this version
// of the site. Caller holds mu.
func renderMissing(site *domain.Site, records []*record) error {
	var todo []*record
	for _, rec := range records {
		if r, ok := rec.rendered[site.ID]; !ok || r.site != site {
			todo = append(todo, rec)
		}
	}
	if len(todo) == 0 {
		return nil
	}
	entries := make([]*entry, len(todo))
	errs := make([]error, len(todo))
	workers := min(runtime.GOMAXPROCS(0), len(todo))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= len(todo) {
					return
				}
				entries[i], errs[i] = newEntry(site, todo[i].article, todo[i].bodyHTML())
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	pack(entries)
	for i, rec := range todo {
		if rec.rendered == nil {
			rec.rendered = map[string]rendered{}
		}
		rec.rendered[site.ID] = rendered{site: site, entry: entries[i]}
		if len(rec.rendered) == len(rec.sites) {
			rec.html = ""
		}
	}
	return nil
}

// bodyHTML returns the article's rendered body: kept in the record until first rendered,
// then read back from any rendered entry (needed again only when a site's settings change).
func (rec *record) bodyHTML() string {
	if rec.html != "" {
		return rec.html
	}
	for _, r := range rec.rendered {
		var pa contentv1.PublishedArticle
		if err := protojson.Unmarshal(r.entry.article.raw, &pa); err == nil {
			return pa.GetHtml()
		}
	}
	return ""
}

// lastChange is when the view's content last changed: the newest publish time, or the site's
// own update time.
func (v *view) lastChange() time.Time {
	t := v.site.UpdateTime
	if len(v.ordered) > 0 && v.ordered[0].publishTime.After(t) {
		t = v.ordered[0].publishTime
	}
	if t.IsZero() {
		t = time.Unix(0, 0).UTC()
	}
	return t
}

// slim returns the parts of a that delivery renders from: the live snapshot without its
// Markdown (only the search index needs that, and it has it by now) or HTML (kept in the
// record until rendered), and no draft.
func slim(a *domain.Article) *domain.Article {
	snap := *a.Published
	snap.Content.Body = ""
	snap.Rendering.HTML = ""
	return &domain.Article{
		ID:             a.ID,
		State:          a.State,
		RevisionID:     a.RevisionID,
		DeleteTime:     a.DeleteTime,
		Published:      &snap,
		PublishedSlugs: a.PublishedSlugs,
	}
}

// slabSize is the size of the blocks pack copies rendered bytes into.
const slabSize = 4 << 20

// pack copies the entries' rendered bytes into a few large blocks. Thousands of separately
// allocated 3-10 KB slices fragment the heap (measured: a third more heap in use than live
// data with 10,000 articles); contiguous blocks do not. A block lives while any entry in it
// does, so republishing leaves some dead bytes in blocks, at most one block's worth per
// still-live entry.
func pack(entries []*entry) {
	remaining := 0
	for _, e := range entries {
		remaining += len(e.article.raw) + len(e.article.gz) + len(e.cardJSON)
	}
	var slab []byte
	take := func(b []byte) []byte {
		if len(b) == 0 {
			return b
		}
		defer func() { remaining -= len(b) }()
		if len(b) > slabSize/4 {
			return b // large bodies stay on their own
		}
		if cap(slab)-len(slab) < len(b) {
			slab = make([]byte, 0, min(slabSize, remaining))
		}
		start := len(slab)
		slab = append(slab, b...)
		return slab[start:len(slab):len(slab)]
	}
	for _, e := range entries {
		e.article.raw = take(e.article.raw)
		e.article.gz = take(e.article.gz)
		e.cardJSON = take(e.cardJSON)
	}
}
