// Package delivery answers readers' questions about a site's resources from the in-memory index:
// lists filtered by kind, taxonomy, language, open-now and words, "near" searches through the geo
// index sorted by distance, single resources and crisis lines. It never queries the store.
package delivery

import (
	"context"
	"slices"
	"strings"
	"sync"
	"time"
	"unique"

	"github.com/beaconcms/beacon/platform/apperr"
	"github.com/beaconcms/beacon/platform/geo"
	"github.com/beaconcms/beacon/services/resources/internal/domain"
	"github.com/beaconcms/beacon/services/resources/internal/index"
)

// Sites answers questions about sites from memory.
type Sites interface {
	Site(ctx context.Context, id string) (domain.SiteSettings, bool, error)
}

// Limits of a list request.
const (
	DefaultRadiusKm = 50
	MaxRadiusKm     = 500
	DefaultPageSize = 20
	MaxPageSize     = 100
	// DefaultRemotePageSize is how many remote resources a near search's page carries when the
	// request does not say; MaxRemotePageSize is the most it may ask for.
	DefaultRemotePageSize = 5
	MaxRemotePageSize     = 100
)

// Model is the delivery read model over an index.
type Model struct {
	index *index.Index
	sites Sites
	now   func() time.Time

	render func(markdown string) string // description Markdown to sanitized HTML

	// compiled (by resource id: what a live revision needs per request, made once) and intros
	// (by directory id: the rendered intro of a live revision) hold *compiled values and only
	// the revisions the index holds now: a newer revision or a delete drops an entry
	// (forgetResource, forgetDirectory), and compile and introHTML keep what they make only
	// while it is still current. Reads take no lock (sync.Map); mu serializes the writes.
	mu       sync.Mutex
	compiled sync.Map
	intros   sync.Map
}

// compiled is what delivery derives from one revision of a resource, made on first use and kept
// until the resource changes: its weekly schedule and its rendered description.
type compiled struct {
	revision int64
	schedule *domain.Schedule // nil: hours unknown or unusable
	html     string
}

// New returns a Model. now defaults to time.Now. render turns a description's Markdown into
// sanitized HTML (nil leaves DescriptionHTML empty); it runs once per resource revision.
func New(ix *index.Index, sites Sites, now func() time.Time, render func(markdown string) string) *Model {
	if now == nil {
		now = time.Now
	}
	if render == nil {
		render = func(string) string { return "" }
	}
	m := &Model{index: ix, sites: sites, now: now, render: render}
	ix.OnResource(m.forgetResource)
	ix.OnDirectory(m.forgetDirectory)
	return m
}

// OnChange registers f, called with every resource revision the read model takes (a write, a
// delete, an undelete) once Current reflects it: for caches of what delivery serves.
func (m *Model) OnChange(f func(*domain.Resource)) { m.index.OnResource(f) }

// Current reports whether r is the revision the read model holds of its resource, and live:
// what a cache of delivered resources may keep. Checked after storing-side locks are taken, it
// closes the race with a concurrent OnChange.
func (m *Model) Current(r *domain.Resource) bool {
	cur, ok := m.index.Get(r.ID)
	return ok && cur.RevisionID == r.RevisionID && !cur.Deleted()
}

func (m *Model) forgetResource(r *domain.Resource) {
	m.mu.Lock()
	m.compiled.Delete(r.ID)
	m.mu.Unlock()
}

func (m *Model) forgetDirectory(d *domain.Directory) {
	m.mu.Lock()
	m.intros.Delete(d.ID)
	m.mu.Unlock()
}

// Item is a resource as delivered: with open-now, staleness and, for near searches, distance.
type Item struct {
	Resource        *domain.Resource
	DescriptionHTML string // the description rendered and sanitized
	OpenNow         bool
	Stale           bool
	DistanceKm      float64
}

// Query is a list request.
type Query struct {
	Near     *geo.Point
	RadiusKm float64 // 0 means DefaultRadiusKm
	Kind     domain.Kind
	Taxonomy string
	Language string
	OpenNow  bool
	Words    string
	Offset   int // items of the local list to skip (the page token's position)
	Limit    int
	// With Near: items of the remote list to skip, and how many to return (0: none).
	RemoteOffset int
	RemoteLimit  int
}

// Page is one page of a list.
type Page struct {
	Local      []Item
	Remote     []Item // with Near: virtual and area-wide resources by name, RemoteLimit of them from RemoteOffset
	More       bool   // there are local items after this page
	MoreRemote bool   // there are remote items after this page
	// ValidUntil is when the page may stop being the answer with the clock alone (the read model
	// and the site's settings unchanged): the first instant after which an item's open-now may
	// change (with Query.OpenNow, that of every resource the search weighed), or the next UTC
	// midnight (staleness, counted in UTC days). A cache of the page may keep it until then.
	ValidUntil time.Time
	Site       SiteRules // the settings of the site the page was made with

	hits []geo.Hit[*domain.Resource] // ListInto's scratch, kept with a reused page
}

// Reset empties p for reuse, keeping its slices' capacity and dropping what they referenced.
func (p *Page) Reset() {
	clear(p.Local)
	clear(p.Remote)
	clear(p.hits)
	*p = Page{Local: p.Local[:0], Remote: p.Remote[:0], hits: p.hits[:0]}
}

// site returns a live site's settings, NotFound for a missing or deleted site.
func (m *Model) site(ctx context.Context, id string) (domain.SiteSettings, error) {
	s, ok, err := m.sites.Site(ctx, id)
	if err != nil {
		return s, err
	}
	if !ok || s.Deleted {
		return s, apperr.New(apperr.NotFound, "site %q not found", "sites/"+id)
	}
	return s, nil
}

// instant is the time a request is answered at, with its UTC date, made once per request.
type instant struct {
	time.Time
	today domain.Date
}

func (m *Model) instant() instant {
	t := m.now()
	return instant{Time: t, today: domain.DateOf(t.UTC())}
}

// Now returns the read model's clock: the time requests are answered at (for caches of pages,
// whose ValidUntil is on that clock).
func (m *Model) Now() time.Time { return m.now() }

// SiteRules are the settings of a live site that delivery's answers depend on. They compare
// with ==: a cache of pages compares them with those a page was made with (Page.Site).
type SiteRules struct {
	ID             string
	StaleAfterDays int
	HideStale      bool
}

func rulesOf(s domain.SiteSettings) SiteRules {
	return SiteRules{ID: s.ID, StaleAfterDays: s.StaleAfterDays, HideStale: s.HideStale}
}

// SiteRules returns a live site's delivery settings, NotFound for a missing or deleted site.
func (m *Model) SiteRules(ctx context.Context, id string) (SiteRules, error) {
	s, err := m.site(ctx, id)
	return rulesOf(s), err
}

// nextUTCMidnight is the first instant of the UTC day after now's.
func (now instant) nextUTCMidnight() time.Time {
	return time.Date(now.today.Year, time.Month(now.today.Month), now.today.Day+1, 0, 0, 0, 0, time.UTC)
}

// boundBy lowers *until to the first instant after now at which s's open-now may change.
func boundBy(until *time.Time, s *domain.Schedule, now instant) {
	if s == nil {
		return
	}
	if next, ok := s.NextChange(now.Time); ok && next.Before(*until) {
		*until = next
	}
}

// compile returns what delivery needs of r's revision, making it on first use.
func (m *Model) compile(r *domain.Resource) *compiled {
	if v, ok := m.compiled.Load(r.ID); ok {
		if c := v.(*compiled); c.revision == r.RevisionID {
			return c
		}
	}
	s, err := domain.CompileHours(r.Hours)
	if err != nil {
		s = nil // a zone this host's tz database lacks: report hours as unknown
	}
	c := &compiled{revision: r.RevisionID, schedule: s, html: m.render(r.Description)}
	m.mu.Lock()
	if m.Current(r) { // not a revision forgetResource has dropped (or will not see) already
		m.compiled.Store(r.ID, c)
	}
	m.mu.Unlock()
	return c
}

func (m *Model) schedule(r *domain.Resource) *domain.Schedule { return m.compile(r).schedule }

func (m *Model) item(site domain.SiteSettings, r *domain.Resource, now instant) Item {
	c := m.compile(r)
	it := Item{Resource: r, DescriptionHTML: c.html, Stale: domain.StaleAt(r.Verified.Date, now.today, site.StaleAfterDays)}
	if c.schedule != nil {
		it.OpenNow = c.schedule.OpenAt(now.Time)
	}
	return it
}

// delivered reports whether a site's readers see r at all: it targets the site, is live and
// listed (not inactive or defunct), and is not hidden as stale.
func (m *Model) delivered(site domain.SiteSettings, r *domain.Resource, now instant) bool {
	if r.Deleted() || !r.Status.Listed() || !slices.Contains(r.TargetSites, site.ID) {
		return false
	}
	return !site.HideStale || !domain.StaleAt(r.Verified.Date, now.today, site.StaleAfterDays)
}

// matches reports whether r passes q's filters at now. With q.OpenNow and a non-nil until, it
// lowers *until to when r's open-now may change.
func (q Query) matches(m *Model, r *domain.Resource, now instant, until *time.Time) bool {
	if q.Kind != 0 && r.Kind != q.Kind {
		return false
	}
	if r.Status != domain.StatusActive {
		return false // lists show active resources; a directory or a direct link shows the others
	}
	if q.Taxonomy != "" && !slices.Contains(r.TaxonomyTerms, strings.ToLower(q.Taxonomy)) {
		return false
	}
	if q.Language != "" && !slices.ContainsFunc(r.Languages, func(l string) bool {
		return strings.EqualFold(l, q.Language) || strings.HasPrefix(strings.ToLower(l), strings.ToLower(q.Language)+"-")
	}) {
		return false
	}
	if q.Words != "" {
		text := strings.ToLower(r.DisplayName + " " + r.OrganizationName + " " + r.Description)
		for _, w := range strings.Fields(strings.ToLower(q.Words)) {
			if !strings.Contains(text, w) {
				return false
			}
		}
	}
	if q.OpenNow {
		s := m.schedule(r)
		if until != nil {
			boundBy(until, s, now)
		}
		if s == nil || !s.OpenAt(now.Time) {
			return false
		}
	}
	return true
}

func byName(a, b Item) int { return index.ByName(a.Resource, b.Resource) }

// List returns a page of the site's active resources matching q. Without Near it walks the
// index's per-site list, already sorted by name, and stops after the page.
func (m *Model) List(ctx context.Context, siteID string, q Query) (Page, error) {
	var page Page
	err := m.ListInto(ctx, siteID, q, &page)
	return page, err
}

// ListInto is List into page, which it resets first and whose slices it reuses: for callers
// that pool pages (Reset drops what a page references).
func (m *Model) ListInto(ctx context.Context, siteID string, q Query, page *Page) error {
	page.Reset()
	site, err := m.site(ctx, siteID)
	if err != nil {
		return err
	}
	site.ID = unique.Make(site.ID).Value() // as the resources' site ids are (store): equal strings compare at once
	page.Site = rulesOf(site)
	now := m.instant()
	page.ValidUntil = now.nextUTCMidnight()
	defer func() { // the page's items' open-now (with q.OpenNow, keep has bounded it by every resource it weighed)
		for _, list := range [2][]Item{page.Local, page.Remote} {
			for i := range list {
				boundBy(&page.ValidUntil, m.schedule(list[i].Resource), now)
			}
		}
	}()
	keep := func(r *domain.Resource) bool {
		return q.matches(m, r, now, &page.ValidUntil) && m.delivered(site, r, now)
	}
	if q.Near == nil {
		skipped := 0
		for _, r := range m.index.SiteByName(site.ID) {
			if !keep(r) {
				continue
			}
			if skipped < q.Offset {
				skipped++
				continue
			}
			if len(page.Local) == q.Limit {
				page.More = true
				break
			}
			page.Local = append(page.Local, m.item(site, r, now))
		}
		return nil
	}
	radius := q.RadiusKm
	if radius == 0 {
		radius = DefaultRadiusKm
	}
	// The page's hits and one more, which says whether a next page exists.
	need := q.Offset + q.Limit + 1
	page.hits = m.index.Near(page.hits, *q.Near, radius, q.Kind, need, keep)
	if hits := page.hits; q.Offset < len(hits) {
		hits = hits[q.Offset:]
		if len(hits) > q.Limit {
			hits, page.More = hits[:q.Limit], true
		}
		for _, h := range hits {
			it := m.item(site, h.Key, now)
			it.DistanceKm = h.DistanceKm
			page.Local = append(page.Local, it)
		}
	}
	if q.RemoteLimit > 0 {
		skipped := 0
		for _, r := range m.index.SiteRemoteByName(site.ID, q.Kind) {
			if !keep(r) {
				continue
			}
			if skipped < q.RemoteOffset {
				skipped++
				continue
			}
			if len(page.Remote) == q.RemoteLimit {
				page.MoreRemote = true
				break
			}
			page.Remote = append(page.Remote, m.item(site, r, now))
		}
	}
	return nil
}

// Get returns one resource of the site as its readers see it (any listed status).
func (m *Model) Get(ctx context.Context, siteID, id string) (Item, error) {
	site, err := m.site(ctx, siteID)
	if err != nil {
		return Item{}, err
	}
	now := m.instant()
	r, ok := m.index.Get(id)
	if !ok || !m.delivered(site, r, now) {
		return Item{}, apperr.New(apperr.NotFound, "resource %q not found on site %q", "resources/"+id, "sites/"+siteID)
	}
	return m.item(site, r, now), nil
}

// DirectoryItem is one resolved entry of a directory.
type DirectoryItem struct {
	Item
	Note string // the editor's note; empty for rule-selected resources
}

// DirectoryPage is a directory as its site's readers see it.
type DirectoryPage struct {
	Directory *domain.Directory
	IntroHTML string
	Entries   []DirectoryItem
}

// introHTML returns d's rendered intro, rendering it once per revision.
func (m *Model) introHTML(d *domain.Directory) string {
	if v, ok := m.intros.Load(d.ID); ok {
		if c := v.(*compiled); c.revision == d.RevisionID {
			return c.html
		}
	}
	c := &compiled{revision: d.RevisionID, html: m.render(d.Intro)}
	m.mu.Lock()
	if cur, ok := m.index.Directory(d.ID); ok && cur.RevisionID == d.RevisionID && !cur.Deleted() {
		m.intros.Store(d.ID, c)
	}
	m.mu.Unlock()
	return c.html
}

// Directory returns the site's live directory with that slug, its entries resolved: the
// hand-picked ones in the editor's order, then those the rule selects (not already listed) by
// name. Resources the site's readers do not see (deleted, inactive, defunct, no longer on the
// site, or stale on a site that hides them) are left out.
func (m *Model) Directory(ctx context.Context, siteID, slug string) (DirectoryPage, error) {
	site, err := m.site(ctx, siteID)
	if err != nil {
		return DirectoryPage{}, err
	}
	d, ok := m.index.DirectoryBySlug(site.ID, slug)
	if !ok {
		return DirectoryPage{}, apperr.New(apperr.NotFound, "directory %q not found on site %q", slug, "sites/"+siteID)
	}
	return DirectoryPage{Directory: d, IntroHTML: m.introHTML(d), Entries: m.resolve(site, d, m.instant())}, nil
}

func (m *Model) resolve(site domain.SiteSettings, d *domain.Directory, now instant) []DirectoryItem {
	var out []DirectoryItem
	listed := make(map[string]bool, len(d.Entries))
	for _, e := range d.Entries {
		r, ok := m.index.Get(e.ResourceID)
		if !ok || listed[r.ID] || !m.delivered(site, r, now) {
			continue
		}
		listed[r.ID] = true
		out = append(out, DirectoryItem{Item: m.item(site, r, now), Note: e.Note})
	}
	if d.Rule != nil {
		for _, r := range m.index.SiteByName(site.ID) {
			if !listed[r.ID] && m.delivered(site, r, now) && d.Rule.Matches(&r.Fields) {
				listed[r.ID] = true
				out = append(out, DirectoryItem{Item: m.item(site, r, now)})
			}
		}
	}
	return out
}

// CrisisLinesSlug is the slug of the directory whose order the crisis lines follow.
const CrisisLinesSlug = "crisis-lines"

// CrisisLines returns the site's crisis resources (those marked crisis), each with open-now, in
// the editor's order: first as the site's "crisis-lines" directory resolves them (its entries,
// then its rule's picks), then every other crisis resource of the site by name.
func (m *Model) CrisisLines(ctx context.Context, siteID string) ([]Item, error) {
	site, err := m.site(ctx, siteID)
	if err != nil {
		return nil, err
	}
	now := m.instant()
	var out []Item
	listed := map[string]bool{}
	if d, ok := m.index.DirectoryBySlug(site.ID, CrisisLinesSlug); ok {
		for _, e := range m.resolve(site, d, now) {
			if e.Resource.Crisis {
				listed[e.Resource.ID] = true
				out = append(out, e.Item)
			}
		}
	}
	for _, r := range m.index.SiteByName(site.ID) {
		if r.Crisis && !listed[r.ID] && m.delivered(site, r, now) {
			out = append(out, m.item(site, r, now))
		}
	}
	return out, nil
}
