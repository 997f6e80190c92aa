// Package delivery answers readers' questions about a site's resources from the in-memory index:
// lists filtered by kind, taxonomy, language, open-now and words, "near" searches through the geo
// index sorted by distance, single resources and crisis lines. It never queries the store.
package delivery

import (
	"cmp"
	"context"
	"slices"
	"strings"
	"sync"
	"time"

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
)

// Model is the delivery read model over an index.
type Model struct {
	index *index.Index
	sites Sites
	now   func() time.Time

	mu        sync.Mutex
	schedules map[string]compiled // by resource id
}

type compiled struct {
	revision int64
	schedule *domain.Schedule // nil: hours unknown or unusable
}

// New returns a Model. now defaults to time.Now.
func New(ix *index.Index, sites Sites, now func() time.Time) *Model {
	if now == nil {
		now = time.Now
	}
	return &Model{index: ix, sites: sites, now: now, schedules: map[string]compiled{}}
}

// Item is a resource as delivered: with open-now, staleness and, for near searches, distance.
type Item struct {
	Resource   *domain.Resource
	OpenNow    bool
	Stale      bool
	DistanceKm float64
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
}

// Page is one page of a list.
type Page struct {
	Local  []Item
	Remote []Item // with Near: virtual and area-wide resources, on the first page only
	More   bool   // there are local items after this page
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

func (m *Model) schedule(r *domain.Resource) *domain.Schedule {
	m.mu.Lock()
	defer m.mu.Unlock()
	if c, ok := m.schedules[r.ID]; ok && c.revision == r.RevisionID {
		return c.schedule
	}
	s, err := domain.CompileHours(r.Hours)
	if err != nil {
		s = nil // a zone this host's tz database lacks: report hours as unknown
	}
	m.schedules[r.ID] = compiled{revision: r.RevisionID, schedule: s}
	return s
}

func (m *Model) item(site domain.SiteSettings, r *domain.Resource, now time.Time) Item {
	it := Item{Resource: r, Stale: domain.StaleAt(r.Verified.Date, domain.DateOf(now.UTC()), site.StaleAfterDays)}
	if s := m.schedule(r); s != nil {
		it.OpenNow = s.OpenAt(now)
	}
	return it
}

// delivered reports whether a site's readers see r at all: it targets the site, is live and
// listed (not inactive or defunct), and is not hidden as stale.
func (m *Model) delivered(site domain.SiteSettings, r *domain.Resource, now time.Time) bool {
	if r.Deleted() || !r.Status.Listed() || !slices.Contains(r.TargetSites, site.ID) {
		return false
	}
	return !site.HideStale || !domain.StaleAt(r.Verified.Date, domain.DateOf(now.UTC()), site.StaleAfterDays)
}

func (q Query) matches(m *Model, r *domain.Resource, now time.Time) bool {
	if r.Status != domain.StatusActive {
		return false // lists show active resources; a directory or a direct link shows the others
	}
	if q.Kind != 0 && r.Kind != q.Kind {
		return false
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
		if s == nil || !s.OpenAt(now) {
			return false
		}
	}
	return true
}

func byName(a, b Item) int {
	if c := cmp.Compare(strings.ToLower(a.Resource.DisplayName), strings.ToLower(b.Resource.DisplayName)); c != 0 {
		return c
	}
	return cmp.Compare(a.Resource.ID, b.Resource.ID)
}

// List returns a page of the site's active resources matching q.
func (m *Model) List(ctx context.Context, siteID string, q Query) (Page, error) {
	site, err := m.site(ctx, siteID)
	if err != nil {
		return Page{}, err
	}
	now := m.now()
	keep := func(r *domain.Resource) bool { return m.delivered(site, r, now) && q.matches(m, r, now) }
	var local, remote []Item
	if q.Near != nil {
		radius := q.RadiusKm
		if radius == 0 {
			radius = DefaultRadiusKm
		}
		for _, h := range m.index.Near(*q.Near, radius, keep) {
			it := m.item(site, h.Key, now)
			it.DistanceKm = h.DistanceKm
			local = append(local, it)
		}
		if q.Offset == 0 {
			all, _ := m.index.ListResources(ctx, domain.ResourceQuery{Sites: []string{site.ID}})
			for _, r := range all {
				if !r.HasPhysicalLocation() && keep(r) {
					remote = append(remote, m.item(site, r, now))
				}
			}
			slices.SortFunc(remote, byName)
		}
	} else {
		all, _ := m.index.ListResources(ctx, domain.ResourceQuery{Sites: []string{site.ID}})
		for _, r := range all {
			if keep(r) {
				local = append(local, m.item(site, r, now))
			}
		}
		slices.SortFunc(local, byName)
	}
	page := Page{Remote: remote}
	if q.Offset < len(local) {
		local = local[q.Offset:]
		if len(local) > q.Limit {
			local, page.More = local[:q.Limit], true
		}
		page.Local = local
	}
	return page, nil
}

// Get returns one resource of the site as its readers see it (any listed status).
func (m *Model) Get(ctx context.Context, siteID, id string) (Item, error) {
	site, err := m.site(ctx, siteID)
	if err != nil {
		return Item{}, err
	}
	now := m.now()
	r, ok := m.index.Get(id)
	if !ok || !m.delivered(site, r, now) {
		return Item{}, apperr.New(apperr.NotFound, "resource %q not found on site %q", "resources/"+id, "sites/"+siteID)
	}
	return m.item(site, r, now), nil
}

// CrisisLines returns the site's crisis resources, by name, each with open-now.
func (m *Model) CrisisLines(ctx context.Context, siteID string) ([]Item, error) {
	site, err := m.site(ctx, siteID)
	if err != nil {
		return nil, err
	}
	now := m.now()
	all, _ := m.index.ListResources(ctx, domain.ResourceQuery{Sites: []string{site.ID}})
	var out []Item
	for _, r := range all {
		if r.Crisis && m.delivered(site, r, now) {
			out = append(out, m.item(site, r, now))
		}
	}
	slices.SortFunc(out, byName)
	return out, nil
}
