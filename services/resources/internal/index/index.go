// Package index is the resources service's in-memory read model: every resource by id, with a geo
// index of physical locations. It loads the store once at startup and then follows the change log,
// so lists, filters and "near" queries never query the store; writes made in this process reach it
// at once through Put.
package index

import (
	"cmp"
	"context"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/beaconcms/beacon/platform/apperr"
	"github.com/beaconcms/beacon/platform/changelog"
	"github.com/beaconcms/beacon/platform/geo"
	"github.com/beaconcms/beacon/services/resources/internal/domain"
	"github.com/beaconcms/beacon/services/resources/internal/store"
)

// Source is the store as the index reads it.
type Source interface {
	LoadAll(ctx context.Context) ([]*domain.Resource, error)
	ListChanges(ctx context.Context, since time.Time, limit int) ([]store.Change, error)
	// ChangesHead returns the change log's head, which moves after every entry added; the index
	// reads the log only when it moved, and not for moves OwnChanges says were its own process's.
	ChangesHead(ctx context.Context) (int64, error)
	OwnChanges(from, to int64) bool
	GetResource(ctx context.Context, id string) (*domain.Resource, error)
	LoadAllDirectories(ctx context.Context) ([]*domain.Directory, error)
	GetDirectory(ctx context.Context, id string) (*domain.Directory, error)
}

// Index holds every resource in memory. It is safe for concurrent use. Resources it hands out are
// shared and must not be modified.
type Index struct {
	src      Source
	interval time.Duration
	changes  changelog.Changes // tells of writes to the database (TellChanges); nil: Run polls
	logger   *slog.Logger

	mu   sync.RWMutex
	byID map[string]*domain.Resource
	// geoKind holds every live resource's physical locations, one index per kind, so that a
	// near search for one kind visits only that kind's points (a search for any kind merges
	// them: one index of all kinds besides would double the memory the points take).
	geoKind map[domain.Kind]*geo.Index[*domain.Resource]
	// byName holds each site's live resources sorted by name (then id), built on first use
	// after a change to the site: delivery lists page through it without sorting per request.
	byName  map[string]siteLists
	dirs    map[string]*domain.Directory // by id, deleted ones included
	bySlug  map[string]string            // "site/slug" of a live directory -> its id
	version uint64
	onRes   []func(*domain.Resource)  // told of every resource taken (OnResource)
	onDir   []func(*domain.Directory) // told of every directory taken (OnDirectory)
	loaded  changelog.Position        // where following the change log starts after Load
	// progress is how far the index has got: the newest revision taken (written in process
	// or read from the change log) and when the log was last read to its end.
	progress changelog.Progress
}

// Stats is the index's size and progress, for metrics.
type Stats struct {
	// Resources and Directories count what it holds, deleted ones included.
	Resources, Directories int
	// LastChange is the update time of the newest revision taken; Synced is when it last read
	// the change log to its end (zero: not yet).
	LastChange, Synced time.Time
}

// Stats reports the index's size and progress.
func (ix *Index) Stats() Stats {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return Stats{Resources: len(ix.byID), Directories: len(ix.dirs), LastChange: ix.progress.LastChange(), Synced: ix.progress.Synced()}
}

// New returns an empty index that follows src's change log every interval once Run starts.
func New(src Source, interval time.Duration, logger *slog.Logger) *Index {
	return &Index{src: src, interval: interval, logger: logger, byID: map[string]*domain.Resource{},
		geoKind: map[domain.Kind]*geo.Index[*domain.Resource]{},
		byName:  map[string]siteLists{}, dirs: map[string]*domain.Directory{}, bySlug: map[string]string{}}
}

// TellChanges makes Run read the change log when c tells of a write to the database, instead of
// polling it every interval (see changelog.Follower.Changes). Call it before Run.
func (ix *Index) TellChanges(c changelog.Changes) { ix.changes = c }

func (ix *Index) follower() *changelog.Follower[store.Change] {
	return &changelog.Follower[store.Change]{
		List:        ix.src.ListChanges,
		Head:        ix.src.ChangesHead,
		Own:         ix.src.OwnChanges,
		TimeOf:      func(c store.Change) time.Time { return c.Time },
		Apply:       ix.apply,
		Interval:    ix.interval,
		IdleBackoff: changelog.IdleBackoff,
		Overlap:     2 * time.Second,
		Logger:      ix.logger,
		Progress:    &ix.progress,
		Changes:     ix.changes,
	}
}

// Load reads every resource from the store (the startup scan). Call it once before serving.
func (ix *Index) Load(ctx context.Context) error {
	since := ix.follower().Start(ctx)
	all, err := ix.src.LoadAll(ctx)
	if err != nil {
		return err
	}
	for _, r := range all {
		ix.Put(r)
	}
	dirs, err := ix.src.LoadAllDirectories(ctx)
	if err != nil {
		return err
	}
	for _, d := range dirs {
		ix.PutDirectory(d)
	}
	ix.mu.Lock()
	ix.loaded = since
	ix.mu.Unlock()
	return nil
}

// Run follows the change log until ctx ends, then returns nil once no read is running.
func (ix *Index) Run(ctx context.Context) error {
	ix.mu.RLock()
	since := ix.loaded
	ix.mu.RUnlock()
	return ix.follower().Run(ctx, since)
}

// apply reads the resources the change log names at revisions newer than the index holds.
func (ix *Index) apply(ctx context.Context, changes []store.Change) error {
	for _, c := range changes {
		if c.Directory {
			if err := ix.applyDirectory(ctx, c); err != nil {
				return err
			}
			continue
		}
		ix.mu.RLock()
		have := ix.byID[c.ResourceID]
		ix.mu.RUnlock()
		if have != nil && have.RevisionID >= c.Revision {
			continue
		}
		r, err := ix.src.GetResource(ctx, c.ResourceID)
		if apperr.Is(err, apperr.NotFound) {
			continue // logged before its write landed, or never written (a failed write)
		}
		if err != nil {
			return err
		}
		ix.Put(r)
	}
	return nil
}

// Put stores r unless the index already holds the same or a newer revision of it, and tells
// subscribers.
func (ix *Index) Put(r *domain.Resource) {
	ix.mu.Lock()
	have := ix.byID[r.ID]
	if have != nil && have.RevisionID >= r.RevisionID {
		ix.mu.Unlock()
		return
	}
	if have != nil {
		for _, s := range have.TargetSites {
			delete(ix.byName, s)
		}
		if g := ix.geoKind[have.Kind]; g != nil {
			g.Remove(have)
		}
	}
	for _, s := range r.TargetSites {
		delete(ix.byName, s)
	}
	ix.byID[r.ID] = r
	ix.progress.Applied(r.UpdateTime)
	var points []geo.Point
	if !r.Deleted() {
		for _, l := range r.Locations {
			if l.Type == domain.LocationPhysical && l.Coordinates != nil {
				points = append(points, geo.Point{Lat: l.Coordinates.Lat, Lng: l.Coordinates.Lng})
			}
		}
	}
	if len(points) > 0 {
		g := ix.geoKind[r.Kind]
		if g == nil {
			g = geo.NewIndex[*domain.Resource](0)
			ix.geoKind[r.Kind] = g
		}
		g.Set(r, points...)
	}
	ix.version++
	subs := slices.Clone(ix.onRes)
	ix.mu.Unlock()
	for _, f := range subs {
		f(r)
	}
}

// OnResource registers f, called with every resource revision the index takes (a write, a
// delete, an undelete), after Get returns it: caches of older revisions drop theirs there.
func (ix *Index) OnResource(f func(*domain.Resource)) {
	ix.mu.Lock()
	ix.onRes = append(ix.onRes, f)
	ix.mu.Unlock()
}

// OnDirectory registers f, called with every directory revision the index takes, after
// DirectoryBySlug reflects it.
func (ix *Index) OnDirectory(f func(*domain.Directory)) {
	ix.mu.Lock()
	ix.onDir = append(ix.onDir, f)
	ix.mu.Unlock()
}

// Directory returns a directory by id, deleted ones included.
func (ix *Index) Directory(id string) (*domain.Directory, bool) {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	d, ok := ix.dirs[id]
	return d, ok
}

// Get returns a resource by id.
func (ix *Index) Get(id string) (*domain.Resource, bool) {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	r, ok := ix.byID[id]
	return r, ok
}

// Len returns the number of resources held, deleted ones included.
func (ix *Index) Len() int {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return len(ix.byID)
}

// Near returns the live resources with a physical location within radiusKm of p, nearest first,
// of the given kind (0: any), that keep accepts (nil accepts all): the first limit of them
// (limit < 0: all), appended to dst.
func (ix *Index) Near(dst []geo.Hit[*domain.Resource], p geo.Point, radiusKm float64, kind domain.Kind, limit int, keep func(*domain.Resource) bool) []geo.Hit[*domain.Resource] {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	if kind != 0 {
		if g := ix.geoKind[kind]; g != nil {
			dst = g.AppendNearest(dst, p, radiusKm, limit, keep)
		}
		return dst
	}
	// Any kind: the nearest of each kind, merged (kinds in order, so ties come out the same).
	start := len(dst)
	for k := domain.KindCrisisLine; k.Valid(); k++ {
		if g := ix.geoKind[k]; g != nil {
			dst = g.AppendNearest(dst, p, radiusKm, limit, keep)
		}
	}
	slices.SortStableFunc(dst[start:], func(a, b geo.Hit[*domain.Resource]) int { return cmp.Compare(a.DistanceKm, b.DistanceKm) })
	if limit >= 0 && len(dst)-start > limit {
		clear(dst[start+limit:])
		dst = dst[:start+limit]
	}
	return dst
}

// ListResources implements domain.ResourceLister from memory.
func (ix *Index) ListResources(ctx context.Context, q domain.ResourceQuery) ([]*domain.Resource, error) {
	ix.mu.RLock()
	var out []*domain.Resource
	for _, r := range ix.byID {
		if (!q.ShowDeleted && r.Deleted()) || (q.Match != nil && !q.Match(r)) {
			continue
		}
		if q.Sites != nil && !slices.ContainsFunc(q.Sites, func(s string) bool { return slices.Contains(r.TargetSites, s) }) {
			continue
		}
		if q.After != nil && q.After(r) {
			continue
		}
		out = append(out, r)
	}
	ix.mu.RUnlock()
	less := q.Less
	if less == nil {
		less = func(a, b *domain.Resource) bool { return a.UpdateTime.After(b.UpdateTime) }
	}
	slices.SortFunc(out, func(a, b *domain.Resource) int {
		switch {
		case less(a, b):
			return -1
		case less(b, a):
			return 1
		}
		return cmp.Compare(a.ID, b.ID)
	})
	if q.Limit > 0 && len(out) > q.Limit {
		out = out[:q.Limit]
	}
	return out, nil
}

func (ix *Index) applyDirectory(ctx context.Context, c store.Change) error {
	ix.mu.RLock()
	have := ix.dirs[c.ResourceID]
	ix.mu.RUnlock()
	if have != nil && have.RevisionID >= c.Revision {
		return nil
	}
	d, err := ix.src.GetDirectory(ctx, c.ResourceID)
	if apperr.Is(err, apperr.NotFound) {
		return nil // logged before its write landed, or never written
	}
	if err != nil {
		return err
	}
	ix.PutDirectory(d)
	return nil
}

func slugKey(d *domain.Directory) string { return d.Site + "/" + d.Slug }

// PutDirectory stores d unless the index already holds the same or a newer revision of it, and
// tells subscribers.
func (ix *Index) PutDirectory(d *domain.Directory) {
	ix.mu.Lock()
	have := ix.dirs[d.ID]
	if have != nil && have.RevisionID >= d.RevisionID {
		ix.mu.Unlock()
		return
	}
	if have != nil && ix.bySlug[slugKey(have)] == d.ID {
		delete(ix.bySlug, slugKey(have))
	}
	ix.dirs[d.ID] = d
	if !d.Deleted() {
		ix.bySlug[slugKey(d)] = d.ID
	}
	ix.version++
	subs := slices.Clone(ix.onDir)
	ix.mu.Unlock()
	for _, f := range subs {
		f(d)
	}
}

// DirectoryBySlug returns the live directory of a site with that slug.
func (ix *Index) DirectoryBySlug(site, slug string) (*domain.Directory, bool) {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	id, ok := ix.bySlug[site+"/"+slug]
	if !ok {
		return nil, false
	}
	return ix.dirs[id], true
}

// ListDirectories implements domain.DirectoryLister from memory.
func (ix *Index) ListDirectories(ctx context.Context, q domain.DirectoryQuery) ([]*domain.Directory, error) {
	ix.mu.RLock()
	var out []*domain.Directory
	for _, d := range ix.dirs {
		if (!q.ShowDeleted && d.Deleted()) || (q.Site != "" && d.Site != q.Site) || (q.Match != nil && !q.Match(d)) {
			continue
		}
		if q.After != nil && q.After(d) {
			continue
		}
		out = append(out, d)
	}
	ix.mu.RUnlock()
	less := q.Less
	if less == nil {
		less = func(a, b *domain.Directory) bool { return a.UpdateTime.After(b.UpdateTime) }
	}
	slices.SortFunc(out, func(a, b *domain.Directory) int {
		switch {
		case less(a, b):
			return -1
		case less(b, a):
			return 1
		}
		return cmp.Compare(a.ID, b.ID)
	})
	if q.Limit > 0 && len(out) > q.Limit {
		out = out[:q.Limit]
	}
	return out, nil
}

// siteLists are a site's live resources sorted by name: all of them, and those without a
// physical location (the "remote" list of a near search), also by kind.
type siteLists struct {
	all, remote  []*domain.Resource
	remoteByKind map[domain.Kind][]*domain.Resource
}

// SiteByName returns the live resources that target site, sorted by name (case-insensitive),
// then id. The slice is shared: callers must not modify it. It is sorted once after each change
// to the site's resources, not per call.
func (ix *Index) SiteByName(site string) []*domain.Resource { return ix.siteLists(site).all }

// SiteRemoteByName returns the live resources of site without a physical location (virtual or
// area-wide) of the given kind (0: any), in the order of SiteByName. Shared, like SiteByName's.
func (ix *Index) SiteRemoteByName(site string, kind domain.Kind) []*domain.Resource {
	lists := ix.siteLists(site)
	if kind != 0 {
		return lists.remoteByKind[kind]
	}
	return lists.remote
}

func (ix *Index) siteLists(site string) siteLists {
	ix.mu.RLock()
	lists, ok := ix.byName[site]
	ix.mu.RUnlock()
	if ok {
		return lists
	}
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if lists, ok := ix.byName[site]; ok {
		return lists
	}
	all := []*domain.Resource{}
	for _, r := range ix.byID {
		if !r.Deleted() && slices.Contains(r.TargetSites, site) {
			all = append(all, r)
		}
	}
	slices.SortFunc(all, ByName)
	lists = siteLists{all: all, remote: []*domain.Resource{}, remoteByKind: map[domain.Kind][]*domain.Resource{}}
	for _, r := range all {
		if !r.HasPhysicalLocation() {
			lists.remote = append(lists.remote, r)
			lists.remoteByKind[r.Kind] = append(lists.remoteByKind[r.Kind], r)
		}
	}
	ix.byName[site] = lists
	return lists
}

// ByName orders resources by name, case-insensitively, then by id.
func ByName(a, b *domain.Resource) int {
	if c := cmp.Compare(strings.ToLower(a.DisplayName), strings.ToLower(b.DisplayName)); c != 0 {
		return c
	}
	return cmp.Compare(a.ID, b.ID)
}
