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
	cacheAge  []string            // Cache-Control header value
	ordered   []*Entry            // listing order: newest first (see entryOrder)
	byID      *idIndex            // by article id
	bySlug    map[string]*Entry   // by current slug
	redirects map[string]string   // former slug → current slug
	byTag     map[string][]*Entry // in listing order
	byTopic   map[string][]*Entry
	search    *textsearch.Index // shared by the site's views; updated in place
	// searchReady is closed once search has every article loaded at start (Model.BuildSearch).
	searchReady <-chan struct{}

	renderSitemap, renderFeed func(*Site, []*Entry, time.Time) ([]byte, error)
	sitemap, feed             lazyBody
	pages                     PageCache
}

// newView builds a site's view from scratch from its state.
func newView(m *Model, st *siteState) *View {
	v := &View{
		site:        st.site,
		cacheAge:    []string{CacheControl(st.site.Public, st.site.CacheMaxAgeSeconds)},
		ordered:     slices.SortedFunc(maps.Values(st.entries), entryOrder),
		byID:        newIDIndex(st.entries),
		bySlug:      map[string]*Entry{},
		redirects:   map[string]string{},
		byTag:       map[string][]*Entry{},
		byTopic:     map[string][]*Entry{},
		search:      m.searchIndex(st.site.ID),
		searchReady: m.searchReady,

		renderSitemap: m.renderSitemap,
		renderFeed:    m.renderFeed,
	}
	for _, e := range v.ordered {
		for _, t := range e.Tags {
			v.byTag[t] = append(v.byTag[t], e)
		}
		for _, t := range e.Topics {
			v.byTopic[t] = append(v.byTopic[t], e)
		}
	}
	for slug := range st.current {
		resolveSlug(st, slug, v.bySlug, v.redirects)
	}
	for slug := range st.former {
		resolveSlug(st, slug, v.bySlug, v.redirects)
	}
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
	slices.SortFunc(added, entryOrder)
	n.ordered = merge(v.ordered, removed, added)
	n.byID = v.byID.patched(slices.Collect(maps.Keys(c.old)), added)
	n.byTag, n.byTopic = maps.Clone(v.byTag), maps.Clone(v.byTopic)
	for label := range labels {
		index, name := n.byTag, label[1:]
		if label[0] == 'p' {
			index = n.byTopic
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
		if list := merge(index[name], removed, with); len(list) > 0 {
			index[name] = list
		} else {
			delete(index, name)
		}
	}
	n.bySlug, n.redirects = maps.Clone(v.bySlug), maps.Clone(v.redirects)
	for slug := range c.slugs {
		resolveSlug(st, slug, n.bySlug, n.redirects)
	}
	return n
}

// merge returns list (in listing order) without the removed entries and with added (in
// listing order) merged in. list is not modified. Positions are found by binary search and the
// runs between them copied, so the cost is a copy of list plus O(log n) per change.
func merge(list, removed, added []*Entry) []*Entry {
	out := make([]*Entry, 0, len(list)+len(added))
	var drop []int
	for _, r := range removed {
		if i, found := slices.BinarySearchFunc(list, r, entryOrder); found && list[i] == r {
			drop = append(drop, i)
		}
	}
	slices.Sort(drop)
	start := 0
	for _, i := range drop {
		out = append(out, list[start:i]...)
		start = i + 1
	}
	out = append(out, list[start:]...)
	for _, e := range added {
		i, _ := slices.BinarySearchFunc(out, e, entryOrder)
		out = slices.Insert(out, i, e)
	}
	return out
}

// resolveSlug sets what slug answers on the site: the first (in listing order) live article
// whose current slug it is, or else a redirect to the current slug of the first one that was
// published under it before, or else nothing.
func resolveSlug(st *siteState, slug string, bySlug map[string]*Entry, redirects map[string]string) {
	delete(bySlug, slug)
	delete(redirects, slug)
	if e := firstEntry(st, st.current[slug]); e != nil {
		bySlug[slug] = e
	} else if e := firstEntry(st, st.former[slug]); e != nil {
		redirects[slug] = e.Slug
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
func (v *View) Article(slug string) *Entry { return v.bySlug[slug] }

// Redirect returns the current slug of the live article once published under slug.
func (v *View) Redirect(slug string) (string, bool) {
	to, ok := v.redirects[slug]
	return to, ok
}

// Len returns the number of live articles.
func (v *View) Len() int { return len(v.ordered) }

// LastChange is when the view's content last changed: the newest publish time, or the site's
// own update time.
func (v *View) LastChange() time.Time {
	t := v.site.UpdateTime
	if len(v.ordered) > 0 && v.ordered[0].PublishTime.After(t) {
		t = v.ordered[0].PublishTime
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
		source = v.byTag[tag]
	} else if topic != "" {
		source = v.byTopic[topic]
	}
	start := 0
	if after != nil {
		for start < len(source) && !after.after(source[start]) {
			start++
		}
	}
	var out []*Entry
	i := start
	for ; i < len(source) && len(out) < size; i++ {
		e := source[i]
		if tag != "" && topic != "" && !slices.Contains(e.Topics, topic) {
			continue
		}
		out = append(out, e)
	}
	if len(out) == size {
		for ; i < len(source); i++ { // is there anything left?
			if tag == "" || topic == "" || slices.Contains(source[i].Topics, topic) {
				last := out[len(out)-1]
				return out, &Cursor{T: last.PublishTime, I: last.ID}
			}
		}
	}
	return out, nil
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
		if e := v.byID.get(h.ID); e != nil {
			out = append(out, Hit{Entry: e, Score: h.Score})
		}
	}
	return out, nil
}

// Sitemap returns the view's sitemap, rendered on first use. A failed render is not kept: the
// next call tries again.
func (v *View) Sitemap() (*httpcache.Body, error) {
	return v.sitemap.get(func() ([]byte, error) { return v.renderSitemap(v.site, v.ordered, v.LastChange()) })
}

// Feed returns the view's Atom feed, rendered on first use. A failed render is not kept: the
// next call tries again.
func (v *View) Feed() (*httpcache.Body, error) {
	return v.feed.get(func() ([]byte, error) { return v.renderFeed(v.site, v.ordered, v.LastChange()) })
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
