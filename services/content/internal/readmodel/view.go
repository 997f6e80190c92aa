package readmodel

import (
	"context"
	"maps"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/beaconcms/beacon/platform/apperr"
	"github.com/beaconcms/beacon/platform/auth"
	"github.com/beaconcms/beacon/platform/httpcache"
	"github.com/beaconcms/beacon/platform/textsearch"
)

// View is one site's published content at one moment. It is never modified after it is
// published (apart from its lazily rendered sitemap, feed and page cache), so readers need no
// locks.
type View struct {
	site      *Site
	cacheAge  []string                // Cache-Control header value
	ordered   *entryList              // listing order: newest first (see entryOrder)
	byID      *shardedMap[*Entry]     // by article id
	bySlug    *shardedMap[*Entry]     // by current slug
	redirects *shardedMap[string]     // former slug → current slug
	byTag     *shardedMap[*entryList] // tag → its entries; a tag without any has no list
	byTopic   *shardedMap[*entryList]
	search    *textsearch.Index // shared by the site's views; updated in place
	// searchReady is closed once search has every article loaded at start (Model.BuildSearch).
	searchReady <-chan struct{}

	renderSitemap, renderFeed func(*Site, []*Entry, time.Time) ([]byte, error)
	sitemap, feed             lazyBody
	pages                     PageCache
}

// newView builds a site's view from scratch from its state.
func newView(m *Model, st *siteState) *View {
	ordered := slices.SortedFunc(maps.Values(st.entries), entryOrder)
	v := &View{
		site:        st.site,
		cacheAge:    []string{CacheControl(st.site.Public, st.site.CacheMaxAgeSeconds)},
		ordered:     newEntryList(ordered),
		search:      m.searchIndex(st.site.ID),
		searchReady: m.searchReady,

		renderSitemap: m.renderSitemap,
		renderFeed:    m.renderFeed,
	}
	byTag, byTopic := map[string][]*Entry{}, map[string][]*Entry{}
	for _, e := range ordered {
		for _, t := range e.Tags {
			byTag[t] = append(byTag[t], e)
		}
		for _, t := range e.Topics {
			byTopic[t] = append(byTopic[t], e)
		}
	}
	v.byTag, v.byTopic = labelIndex(byTag), labelIndex(byTopic)
	byID := newShardedMap[*Entry]().patch()
	for id, e := range st.entries {
		byID.set(id, e)
	}
	bySlug, redirects := newShardedMap[*Entry]().patch(), newShardedMap[string]().patch()
	for slug := range st.current {
		resolveSlug(st, slug, bySlug, redirects)
	}
	for slug := range st.former {
		resolveSlug(st, slug, bySlug, redirects)
	}
	v.byID, v.bySlug, v.redirects = byID.done(), bySlug.done(), redirects.done()
	return v
}

// patched returns the view after the change c, derived from v: only the changed articles'
// positions, labels and slugs are updated; everything else is shared or copied.
func (v *View) patched(m *Model, st *siteState, c *siteChange) *View {
	n := &View{
		site:          st.site,
		cacheAge:      v.cacheAge,
		search:        v.search,
		searchReady:   v.searchReady,
		renderSitemap: m.renderSitemap,
		renderFeed:    m.renderFeed,
	}
	var added, removed []*Entry
	labels := map[string]bool{}
	for id, old := range c.old {
		if old != nil {
			removed = append(removed, old)
			for _, t := range old.Tags {
				labels["t"+t] = true
			}
			for _, t := range old.Topics {
				labels["p"+t] = true
			}
		}
		if e := st.entries[id]; e != nil {
			added = append(added, e)
			for _, t := range e.Tags {
				labels["t"+t] = true
			}
			for _, t := range e.Topics {
				labels["p"+t] = true
			}
		}
	}
	n.ordered = v.ordered.patched(removed, added)
	byID := v.byID.patch()
	for id := range c.old {
		byID.delete(id)
	}
	for _, e := range added {
		byID.set(e.ID, e)
	}
	n.byID = byID.done()
	byTag, byTopic := v.byTag.patch(), v.byTopic.patch()
	for label := range labels {
		index, name := byTag, label[1:]
		if label[0] == 'p' {
			index = byTopic
		}
		has := func(e *Entry) bool {
			if label[0] == 'p' {
				return slices.Contains(e.Topics, name)
			}
			return slices.Contains(e.Tags, name)
		}
		var with []*Entry
		for _, e := range added {
			if has(e) {
				with = append(with, e)
			}
		}
		list, _ := index.get(name)
		if list = list.patched(removed, with); list.len() > 0 {
			index.set(name, list)
		} else {
			index.delete(name)
		}
	}
	n.byTag, n.byTopic = byTag.done(), byTopic.done()
	bySlug, redirects := v.bySlug.patch(), v.redirects.patch()
	for slug := range c.slugs {
		resolveSlug(st, slug, bySlug, redirects)
	}
	n.bySlug, n.redirects = bySlug.done(), redirects.done()
	return n
}

// labelIndex returns the index of a tag's or topic's entries, each list in listing order.
func labelIndex(lists map[string][]*Entry) *shardedMap[*entryList] {
	p := newShardedMap[*entryList]().patch()
	for label, list := range lists {
		p.set(label, newEntryList(list))
	}
	return p.done()
}

// resolveSlug sets what slug answers on the site: the first (in listing order) live article
// whose current slug it is, or else a redirect to the current slug of the first one that was
// published under it before, or else nothing.
func resolveSlug(st *siteState, slug string, bySlug *mapPatch[*Entry], redirects *mapPatch[string]) {
	e := firstEntry(st, st.current[slug])
	var to *Entry
	if e == nil {
		to = firstEntry(st, st.former[slug])
	}
	// Only what changes is written, so that unchanged shards stay shared.
	if old, _ := bySlug.get(slug); old != e {
		if e == nil {
			bySlug.delete(slug)
		} else {
			bySlug.set(slug, e)
		}
	}
	old, had := redirects.get(slug)
	switch {
	case to == nil && had:
		redirects.delete(slug)
	case to != nil && (!had || old != to.Slug):
		redirects.set(slug, to.Slug)
	}
}

func firstEntry(st *siteState, ids []string) *Entry {
	var best *Entry
	for _, id := range ids {
		if e := st.entries[id]; e != nil && (best == nil || entryOrder(e, best) < 0) {
			best = e
		}
	}
	return best
}

// CacheControl is the Cache-Control value of a site's delivery responses.
func CacheControl(public bool, maxAge int) string {
	if public {
		return "public, max-age=" + strconv.Itoa(maxAge) + ", stale-while-revalidate=300"
	}
	return "private, max-age=" + strconv.Itoa(maxAge)
}

// Site returns the settings the view was built with.
func (v *View) Site() *Site { return v.site }

// CacheControl returns the view's Cache-Control header value.
func (v *View) CacheControl() []string { return v.cacheAge }

// Article returns the live article with this current slug, or nil.
func (v *View) Article(slug string) *Entry {
	e, _ := v.bySlug.get(slug)
	return e
}

// Redirect returns the current slug of the live article once published under slug.
func (v *View) Redirect(slug string) (string, bool) {
	return v.redirects.get(slug)
}

// Len returns the number of live articles.
func (v *View) Len() int { return v.ordered.len() }

// LastChange is when the view's content last changed: the newest publish time, or the site's
// own update time.
func (v *View) LastChange() time.Time {
	t := v.site.UpdateTime
	if first := v.ordered.first(); first != nil && first.PublishTime.After(t) {
		t = first.PublishTime
	}
	if t.IsZero() {
		t = time.Unix(0, 0).UTC()
	}
	return t
}

// Cursor is a position in listing order: the last entry of a page.
type Cursor struct {
	T time.Time `json:"t"`
	I string    `json:"i"`
}

// after reports whether e comes after the cursor in listing order.
func (c *Cursor) after(e *Entry) bool {
	if !e.PublishTime.Equal(c.T) {
		return e.PublishTime.Before(c.T)
	}
	return e.ID < c.I
}

// ListPage returns up to size entries after the cursor (nil: from the start), filtered by tag
// and topic (either may be empty), and the cursor of the next page (nil on the last page).
func (v *View) ListPage(tag, topic string, after *Cursor, size int) ([]*Entry, *Cursor) {
	source := v.ordered
	if tag != "" {
		source, _ = v.byTag.get(tag)
	} else if topic != "" {
		source, _ = v.byTopic.get(topic)
	}
	skip := func(*Entry) bool { return false }
	if after != nil {
		skip = func(e *Entry) bool { return !after.after(e) }
	}
	var out []*Entry
	var next *Cursor
	source.from(skip, func(e *Entry) bool {
		if tag != "" && topic != "" && !slices.Contains(e.Topics, topic) {
			return true
		}
		if len(out) == size { // there is something left
			last := out[len(out)-1]
			next = &Cursor{T: last.PublishTime, I: last.ID}
			return false
		}
		out = append(out, e)
		return true
	})
	return out, next
}

// Hit is a search result.
type Hit struct {
	Entry *Entry
	Score float64
}

// Search ranks the view's articles against query, best first. Right after a start it waits
// until the search index has every article (Model.BuildSearch), or fails as Unavailable when ctx
// ends first.
func (v *View) Search(ctx context.Context, query string) ([]Hit, error) {
	select {
	case <-v.searchReady:
	default:
		select {
		case <-v.searchReady:
		case <-ctx.Done():
			return nil, apperr.New(apperr.Unavailable, "search is still indexing the articles after a restart; try again in a few seconds")
		}
	}
	hits := v.search.Search(query)
	out := make([]Hit, 0, len(hits))
	for _, h := range hits {
		if e, _ := v.byID.get(h.ID); e != nil {
			out = append(out, Hit{Entry: e, Score: h.Score})
		}
	}
	return out, nil
}

// Sitemap returns the view's sitemap, rendered on first use. A failed render is not kept: the
// next call tries again.
func (v *View) Sitemap() (*httpcache.Body, error) {
	return v.sitemap.get(func() ([]byte, error) { return v.renderSitemap(v.site, v.ordered.slice(), v.LastChange()) })
}

// Feed returns the view's Atom feed, rendered on first use. A failed render is not kept: the
// next call tries again.
func (v *View) Feed() (*httpcache.Body, error) {
	return v.feed.get(func() ([]byte, error) { return v.renderFeed(v.site, v.ordered.slice(), v.LastChange()) })
}

// Pages returns the view's cache of rendered list pages.
func (v *View) Pages() *PageCache { return &v.pages }

// lazyBody is a body rendered on first use. Concurrent first uses render once.
type lazyBody struct {
	mu   sync.Mutex
	body atomic.Pointer[httpcache.Body]
}

func (l *lazyBody) get(render func() ([]byte, error)) (*httpcache.Body, error) {
	if b := l.body.Load(); b != nil {
		return b, nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if b := l.body.Load(); b != nil {
		return b, nil
	}
	raw, err := render()
	if err != nil {
		return nil, err
	}
	b := httpcache.New(raw)
	l.body.Store(b)
	return b, nil
}

// MaxCachedPages bounds a view's page cache.
const MaxCachedPages = 256

// PageCache keeps rendered list pages of one view, by query, up to MaxCachedPages.
type PageCache struct {
	pages sync.Map
	count atomic.Int32
}

// Load returns the page cached under key.
func (c *PageCache) Load(key string) (any, bool) { return c.pages.Load(key) }

// Store caches page under key: always when it replaces a page, otherwise only while fewer than
// MaxCachedPages are cached.
func (c *PageCache) Store(key string, page any, replaces bool) {
	if replaces || (c.count.Load() < MaxCachedPages && c.count.Add(1) <= MaxCachedPages) {
		c.pages.Store(key, page)
	}
}

// Access decides who may read a site's published content and returns the site's view: anyone
// when the site is public, otherwise any valid key that covers the site (delivery keys are
// made for this; admin, editor and viewer keys may preview too). authenticated says whether the
// caller presented a (verified) key, p is its principal. A key for another site, an unknown
// site and a deleted site are all answered NotFound, worded the same.
func (m *Model) Access(site string, p auth.Principal, authenticated bool) (*View, error) {
	v := m.View(site)
	if v == nil || (authenticated && !p.CoversSite(site)) {
		return nil, apperr.New(apperr.NotFound, "sites/%s not found", site)
	}
	if !authenticated && !v.site.Public {
		return nil, apperr.New(apperr.Unauthenticated, "sites/%s requires a delivery key: send 'Authorization: Bearer <key>'", site)
	}
	return v, nil
}
