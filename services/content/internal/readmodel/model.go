// Package readmodel is content delivery's in-memory read model: per site, an immutable view of
// its live articles (their cards pre-rendered, their JSON rendered on request and kept in a
// cache of bounded size: see package render), in listing order, with tag, topic, slug and
// full-text indexes.
//
// Readers load a site's current view with one atomic pointer read and never lock or touch the
// store. Writers (the content service's own writes, the change-log follower for writes made by
// other processes, and site catalog changes) are serialized by one mutex; a write touches only
// the sites the changed articles are (or were) live on, renders only the changed articles, and
// derives each such site's next view from its current one (copy-on-write: the listing order and
// each tag's and topic's entries are chunked lists, and the id, slug, redirect and label indexes
// sharded maps, of which a write copies only the chunks and shards it changes, so its cost does
// not grow with the site). A site's settings change re-renders that site only.
//
// The read model only reads: it never migrates or prunes the store it follows.
package readmodel

import (
	"cmp"
	"errors"
	"log/slog"
	"maps"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/beaconcms/beacon/platform/changelog"
	"github.com/beaconcms/beacon/platform/textsearch"
	"github.com/beaconcms/beacon/services/content/internal/domain"
	"github.com/beaconcms/beacon/services/content/internal/render"
)

// Site, Article and Entry are the rendering package's types: site settings, the live record
// of an article, and an article rendered for one site.
type (
	Site    = render.Site
	Article = render.Article
	Entry   = render.Entry
)

// SiteCatalog is where the read model reads the sites' settings. A catalog with Lookup, All
// and change notification (services/sites/sitecatalog) fits through an adapter: All is its
// All, converted, and its change notification calls [Model.SitesChanged].
type SiteCatalog interface {
	// All returns the settings of every known site, deleted ones included (marked Deleted),
	// with CacheMaxAgeSeconds defaulted. The model does not modify the result.
	All() []Site
}

// Model is the delivery read model of every site. It is safe for concurrent use.
type Model struct {
	views     atomic.Pointer[map[string]*View] // site id → current view; deleted sites have none
	logger    *slog.Logger
	catalog   SiteCatalog
	plainText func(markdown string) string
	now       func() time.Time
	// renderSitemap and renderFeed render a view's sitemap and feed (render.Sitemap and
	// render.Feed; tests replace them).
	renderSitemap func(*Site, []*Entry, time.Time) ([]byte, error)
	renderFeed    func(*Site, []*Entry, time.Time) ([]byte, error)
	// bodies holds the entries' rendered JSON, within its budget, for every site.
	bodies *render.BodyCache

	mu      sync.Mutex            // serializes writers; guards everything below
	sites   map[string]*siteState // every site of the catalog, deleted ones included
	records map[string]*record    // live articles by id
	applied map[string]int64      // highest revision seen per article, live or not
	// searches are the full-text indexes by site id, for every site a live article targets,
	// known to the catalog or not (yet): the searchable text is not kept, so an index must be
	// fed when the article is applied. Updated in place; shared by the site's views.
	searches map[string]*textsearch.Index
	// searchReady is closed once every loaded article is in the search indexes (see
	// BuildSearch); searchBacklog holds the loaded live articles until then.
	searchReady   chan struct{}
	searchBacklog []searchDoc
	// progress is how far the model has got: the newest change applied (a write seen in
	// process or read from the change log) and when the log was last read to its end.
	progress changelog.Progress
	// reviewRefresh is at or before the earliest Entry.ReviewRefresh of every site's entries
	// (zero: none): when RefreshReviews has work to do.
	reviewRefresh time.Time
}

// record is what the model keeps of one live article.
type record struct {
	live *Article
	// html is the article's body until there is an entry of it on every known site it
	// targets; then it is dropped: the entries keep it (Entry.Source).
	html render.HTML
}

// siteState is a site's writer-side state: the source of its views. Guarded by Model.mu.
type siteState struct {
	site    *Site             // replaced, never modified, when the settings change
	entries map[string]*Entry // rendered live articles by id
	// slugs maps a slug to the live articles whose current slug it is (current) and those that
	// were published under it before (former); the view resolves each slug from these.
	current map[string][]string
	former  map[string][]string
	view    *View // the published view, nil while the site is deleted
}

// Options are the model's dependencies.
type Options struct {
	// PlainText extracts searchable text from Markdown. Required.
	PlainText func(markdown string) string
	// Now is the clock (default time.Now).
	Now func() time.Time
	// BodyCacheBytes bounds the memory of the rendered PublishedArticle JSON (and its gzip
	// form) of every site's entries: 0 for render.DefaultBodyCacheBytes, less than 0 for no
	// bound. An entry whose JSON was evicted renders it again on its next request.
	BodyCacheBytes int64
	Logger         *slog.Logger
}

// New returns an empty model reading site settings from catalog. Call SitesChanged (and Load)
// to fill it.
func New(catalog SiteCatalog, opts Options) *Model {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.BodyCacheBytes == 0 {
		opts.BodyCacheBytes = render.DefaultBodyCacheBytes
	}
	m := &Model{
		logger:        opts.Logger,
		catalog:       catalog,
		plainText:     opts.PlainText,
		now:           opts.Now,
		renderSitemap: render.Sitemap,
		renderFeed:    render.Feed,
		bodies:        render.NewBodyCache(opts.BodyCacheBytes),
		sites:         map[string]*siteState{},
		records:       map[string]*record{},
		applied:       map[string]int64{},
		searches:      map[string]*textsearch.Index{},
		searchReady:   make(chan struct{}),
	}
	close(m.searchReady) // nothing to index until Load
	empty := map[string]*View{}
	m.views.Store(&empty)
	return m
}

// Stats is the model's size and progress, for metrics.
type Stats struct {
	// Articles is how many live articles it holds; Bytes estimates their data (bodies, cards,
	// and the rendered JSON cached) across every site.
	Articles int
	Bytes    int64
	// Bodies is the cache of rendered JSON: its bytes (within Options.BodyCacheBytes), renders
	// and evictions.
	Bodies render.BodyCacheStats
	// LastChange is when the newest article write it applied was made; Synced is when it
	// last read the change log to its end (zero: not yet).
	LastChange, Synced time.Time
}

// Stats reports the model's size and progress. It walks every site's entries under the
// writers' lock (readers do not wait for it).
func (m *Model) Stats() Stats {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := Stats{Articles: len(m.records), LastChange: m.progress.LastChange(), Synced: m.progress.Synced(), Bodies: m.bodies.Stats()}
	for _, rec := range m.records {
		s.Bytes += int64(rec.html.Size())
	}
	for _, st := range m.sites {
		for _, e := range st.entries {
			s.Bytes += int64(e.Size())
		}
	}
	return s
}

// View returns the current view of a site, or nil when the site is unknown or deleted.
func (m *Model) View(site string) *View {
	return (*m.views.Load())[site]
}

// AppliedRevision returns the newest revision of an article the model has applied, or 0.
func (m *Model) AppliedRevision(id string) int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.applied[id]
}

// SitesChanged re-reads the catalog and applies what changed: a new site is built from the
// live articles, a site whose settings changed is re-rendered, a deleted site stops being
// served (its articles stay, for an undelete), and a site gone from the catalog is dropped.
//
// The catalog is read under the model's lock, so that concurrent calls apply the catalog in the
// order they read it: the last one applies the newest state. (The catalog must therefore not
// call SitesChanged while All would block, e.g. while holding the lock All takes.)
func (m *Model) SitesChanged() {
	m.mu.Lock()
	defer m.mu.Unlock()
	sites := m.catalog.All()
	seen := make(map[string]bool, len(sites))
	changed := map[string]bool{}
	for i := range sites {
		s := sites[i]
		seen[s.ID] = true
		st := m.sites[s.ID]
		switch {
		case st == nil:
			st = &siteState{site: &s}
			m.sites[s.ID] = st
			m.rebuildLocked(st)
		case *st.site == s:
			continue
		case withDeleted(*st.site, s.Deleted) == s:
			st.site = &s // only the deleted mark changed: nothing to render
			st.view = nil
			if !s.Deleted {
				st.view = newView(m, st)
			}
		default:
			st.site = &s
			m.rebuildLocked(st)
		}
		changed[s.ID] = true
	}
	for id := range m.sites {
		if !seen[id] {
			delete(m.sites, id)
			changed[id] = true
		}
	}
	m.publishLocked(changed)
}

func withDeleted(s Site, deleted bool) Site {
	s.Deleted = deleted
	return s
}

// ApplyArticles applies articles at their revisions, ignoring any at or below what the model
// has seen. An article that is not live (unpublished, archived, deleted) leaves every site.
func (m *Model) ApplyArticles(articles ...*domain.Article) {
	terms := make([]*textsearch.Tokenized, len(articles)) // outside the lock: the costly part
	for i, a := range articles {
		terms[i] = m.searchTerms(a)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	changed := map[string]*siteChange{}
	for i, a := range articles {
		m.applyLocked(a, terms[i], changed)
		terms[i].Release()
	}
	sites := map[string]bool{}
	for site, c := range changed {
		st := m.sites[site]
		if st == nil {
			continue
		}
		if err := m.renderLocked(st, slices.Collect(maps.Keys(c.old))); err != nil {
			m.logger.Error("delivery: rendering articles failed; serving the site without them", "site", site, "err", err)
		}
		switch {
		case st.site.Deleted:
			st.view = nil
		case st.view == nil:
			st.view = newView(m, st)
		default:
			st.view = st.view.patched(m, st, c)
		}
		sites[site] = true
	}
	m.dropRenderedHTMLLocked(changed)
	m.publishLocked(sites)
}

// siteChange is what a batch of applied articles changed on one site.
type siteChange struct {
	old   map[string]*Entry // changed article id → its entry before (nil if it had none)
	slugs map[string]bool   // every slug (current or former) of the changed articles, before and after
}

// applyLocked updates the record, the applied revision, the search indexes and the slug
// indexes for a, and notes in changed, per site it was or is live on, the entry it had there.
// terms is searchTerms(a), or nil to leave the article out of search for now (Load); the caller
// releases it.
func (m *Model) applyLocked(a *domain.Article, terms *textsearch.Tokenized, changed map[string]*siteChange) {
	if a.RevisionID <= m.applied[a.ID] {
		return
	}
	m.applied[a.ID] = a.RevisionID
	m.progress.Applied(a.UpdateTime)
	note := func(site string, live *Article) {
		c := changed[site]
		if c == nil {
			c = &siteChange{old: map[string]*Entry{}, slugs: map[string]bool{}}
			changed[site] = c
		}
		if _, noted := c.old[a.ID]; !noted {
			var old *Entry
			if st := m.sites[site]; st != nil {
				old = st.entries[a.ID]
			}
			c.old[a.ID] = old
		}
		for _, slug := range live.PublishedSlugs {
			c.slugs[slug] = true
		}
		c.slugs[live.Content.Slug] = true
	}
	if old := m.records[a.ID]; old != nil {
		for _, site := range old.live.Content.TargetSites {
			note(site, old.live)
			if st := m.sites[site]; st != nil {
				st.unindex(old.live)
			}
			if ix := m.searches[site]; ix != nil {
				ix.Delete(a.ID)
			}
		}
		delete(m.records, a.ID)
	}
	live, html := render.LiveArticle(a)
	if live == nil {
		return
	}
	rec := &record{live: live, html: html}
	m.records[a.ID] = rec
	for _, site := range live.Content.TargetSites {
		note(site, live)
		if st := m.sites[site]; st != nil {
			st.index(live)
		}
		if terms != nil {
			m.searchIndex(site).PutTokenized(terms)
		}
	}
}

// searchTerms is a's live snapshot tokenized for the search indexes, nil when nothing of it is
// live.
func (m *Model) searchTerms(a *domain.Article) *textsearch.Tokenized {
	if !a.Live() {
		return nil
	}
	return m.tokenize(searchDocOf(a))
}

// tokenize splits d's title, summary and text (unpacked from its compressed text or body, or
// derived from its Markdown when it has none) into search terms.
func (m *Model) tokenize(d searchDoc) *textsearch.Tokenized {
	body := d.text
	if body == "" {
		unpack := d.packed.SearchText
		if len(d.packedText) > 0 {
			unpack = func() (string, error) { return render.UnpackSearchText(d.packedText) }
		}
		text, err := unpack()
		if err != nil {
			m.logger.Error("delivery: reading an article's search text failed; indexing its title and summary", "article", d.id, "err", err)
		}
		body = text
	}
	if body == "" {
		body = m.plainText(d.markdown)
	}
	return textsearch.Tokenize(textsearch.Document{ID: d.id, Title: d.title, Summary: d.summary, Body: body})
}

func (m *Model) searchIndex(site string) *textsearch.Index {
	ix := m.searches[site]
	if ix == nil {
		ix = textsearch.New()
		m.searches[site] = ix
	}
	return ix
}

// index adds a live article to the site's slug indexes (not its entry: renderLocked makes it).
func (st *siteState) index(a *Article) {
	if st.current == nil {
		st.current, st.former = map[string][]string{}, map[string][]string{}
	}
	st.current[a.Content.Slug] = append(st.current[a.Content.Slug], a.ID)
	for _, f := range formerSlugs(a) {
		st.former[f] = append(st.former[f], a.ID)
	}
}

// unindex removes what index added, and the article's entry.
func (st *siteState) unindex(a *Article) {
	remove := func(idx map[string][]string, slug string) {
		ids := slices.DeleteFunc(slices.Clone(idx[slug]), func(id string) bool { return id == a.ID })
		if len(ids) == 0 {
			delete(idx, slug)
		} else {
			idx[slug] = ids
		}
	}
	remove(st.current, a.Content.Slug)
	for _, f := range formerSlugs(a) {
		remove(st.former, f)
	}
	delete(st.entries, a.ID)
}

// formerSlugs returns the slugs a was published under before, without its current one.
func formerSlugs(a *Article) []string {
	var out []string
	for _, s := range a.PublishedSlugs {
		if s != a.Content.Slug && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// rebuildLocked re-indexes and re-renders every live article of st's site and builds its view
// from scratch: for a new site and for changed settings.
func (m *Model) rebuildLocked(st *siteState) {
	st.current, st.former = map[string][]string{}, map[string][]string{}
	var ids []string
	for id, rec := range m.records {
		if slices.Contains(rec.live.Content.TargetSites, st.site.ID) {
			ids = append(ids, id)
			st.current[rec.live.Content.Slug] = append(st.current[rec.live.Content.Slug], id)
			for _, f := range formerSlugs(rec.live) {
				st.former[f] = append(st.former[f], id)
			}
		}
	}
	// The old entries stay until the new ones are made: an HTML body may only be in them.
	if err := m.renderLocked(st, ids); err != nil {
		m.logger.Error("delivery: rendering a site failed; serving it without the articles that failed", "site", st.site.ID, "err", err)
	}
	live := make(map[string]bool, len(ids))
	for _, id := range ids {
		live[id] = true
		m.dropHTMLLocked(id)
	}
	for id := range st.entries {
		if !live[id] {
			delete(st.entries, id)
		}
	}
	if st.site.Deleted {
		st.view = nil
		return
	}
	st.view = newView(m, st)
}

// renderLocked renders, in parallel, the entries of the given articles that are live on st's
// site. An article that fails to render is left out of the site (and logged by the caller).
func (m *Model) renderLocked(st *siteState, ids []string) error {
	if st.entries == nil {
		st.entries = map[string]*Entry{}
	}
	type job struct {
		rec  *record
		html render.HTML
	}
	var todo []job
	now := m.now()
	for _, id := range ids {
		rec := m.records[id]
		if rec == nil || !slices.Contains(rec.live.Content.TargetSites, st.site.ID) {
			delete(st.entries, id)
			continue
		}
		todo = append(todo, job{rec, m.htmlLocked(rec)})
	}
	entries := make([]*Entry, len(todo))
	renderErrs := make([]error, len(todo))
	renderOne := func(i int) {
		entries[i], renderErrs[i] = render.NewEntry(st.site, todo[i].rec.live, todo[i].html, now, m.bodies)
	}
	if len(todo) < 8 { // a publish: render on the caller's goroutine
		for i := range todo {
			renderOne(i)
		}
	} else { // a load or a site change: render in parallel
		var next atomic.Int64
		var wg sync.WaitGroup
		for range min(runtime.GOMAXPROCS(0), len(todo)) {
			wg.Go(func() {
				for i := int(next.Add(1)) - 1; i < len(todo); i = int(next.Add(1)) - 1 {
					renderOne(i)
				}
			})
		}
		wg.Wait()
	}
	var done []*Entry
	for i, e := range entries {
		if renderErrs[i] != nil {
			delete(st.entries, todo[i].rec.live.ID)
			continue
		}
		done = append(done, e)
		st.entries[e.ID] = e
		if r := e.ReviewRefresh; !r.IsZero() && (m.reviewRefresh.IsZero() || r.Before(m.reviewRefresh)) {
			m.reviewRefresh = r
		}
	}
	render.Pack(done)
	return errors.Join(renderErrs...)
}

// htmlLocked returns a record's HTML body: kept in the record until it has an entry everywhere,
// then in its entries.
func (m *Model) htmlLocked(rec *record) render.HTML {
	if !rec.html.IsZero() {
		return rec.html
	}
	for _, site := range rec.live.Content.TargetSites {
		if st := m.sites[site]; st != nil {
			if e := st.entries[rec.live.ID]; e != nil {
				return e.Source()
			}
		}
	}
	return render.HTML{} // no entry anywhere: it had no body
}

// dropRenderedHTMLLocked drops the HTML of the changed records with an entry on all their sites.
func (m *Model) dropRenderedHTMLLocked(changed map[string]*siteChange) {
	for _, c := range changed {
		for id := range c.old {
			m.dropHTMLLocked(id)
		}
	}
}

// dropHTMLLocked drops a record's HTML once it has an entry on every site it targets that the
// catalog knows (and on at least one).
func (m *Model) dropHTMLLocked(id string) {
	rec := m.records[id]
	if rec == nil || rec.html.IsZero() {
		return
	}
	for _, site := range rec.live.Content.TargetSites {
		if st := m.sites[site]; st == nil || st.entries[id] == nil {
			return
		}
	}
	rec.html = render.HTML{}
}

// publishLocked swaps in the views of the changed sites.
func (m *Model) publishLocked(changed map[string]bool) {
	if len(changed) == 0 {
		return
	}
	current := *m.views.Load()
	next := maps.Clone(current)
	for id := range changed {
		st := m.sites[id]
		if st == nil || st.view == nil || st.site.Deleted {
			delete(next, id)
			continue
		}
		next[id] = st.view
	}
	m.views.Store(&next)
}

// RefreshReviews makes again, on every site, the entries whose review state changed with time
// alone since they were made (Entry.ReviewRefresh has come: a review fell due, so its reviewer
// leaves the JSON-LD), and swaps in those sites' views. It does nothing, under the lock only for
// a comparison, until the earliest such time. Delivery calls it every half minute.
func (m *Model) RefreshReviews() {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	if m.reviewRefresh.IsZero() || now.Before(m.reviewRefresh) {
		return
	}
	m.reviewRefresh = time.Time{}
	changed := map[string]bool{}
	for id, st := range m.sites {
		c := &siteChange{old: map[string]*Entry{}, slugs: map[string]bool{}}
		var ids []string
		for eid, e := range st.entries {
			if !e.ReviewRefresh.IsZero() && !now.Before(e.ReviewRefresh) {
				c.old[eid] = e
				c.slugs[e.Slug] = true
				ids = append(ids, eid)
			}
		}
		if len(ids) > 0 {
			if err := m.renderLocked(st, ids); err != nil {
				m.logger.Error("delivery: rendering articles again for their reviews failed", "site", id, "err", err)
			}
			if st.view != nil && !st.site.Deleted {
				st.view = st.view.patched(m, st, c)
				changed[id] = true
			}
		}
		for _, e := range st.entries { // what is left to wait for
			if r := e.ReviewRefresh; !r.IsZero() && (m.reviewRefresh.IsZero() || r.Before(m.reviewRefresh)) {
				m.reviewRefresh = r
			}
		}
	}
	m.publishLocked(changed)
}

// entryOrder is the listing order: newest publish time first, then larger id first.
func entryOrder(a, b *Entry) int {
	if c := b.PublishTime.Compare(a.PublishTime); c != 0 {
		return c
	}
	return cmp.Compare(b.ID, a.ID)
}
