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
	GetResource(ctx context.Context, id string) (*domain.Resource, error)
}

// Index holds every resource in memory. It is safe for concurrent use. Resources it hands out are
// shared and must not be modified.
type Index struct {
	src      Source
	interval time.Duration
	logger   *slog.Logger

	mu      sync.RWMutex
	byID    map[string]*domain.Resource
	geo     *geo.Index[string]
	version uint64
	subs    []func()
	loaded  time.Time // the since-time of the change log after Load
}

// New returns an empty index that follows src's change log every interval once Run starts.
func New(src Source, interval time.Duration, logger *slog.Logger) *Index {
	return &Index{src: src, interval: interval, logger: logger, byID: map[string]*domain.Resource{}, geo: geo.NewIndex[string](0)}
}

func (ix *Index) follower() *changelog.Follower[store.Change] {
	return &changelog.Follower[store.Change]{
		List:     ix.src.ListChanges,
		TimeOf:   func(c store.Change) time.Time { return c.Time },
		Apply:    ix.apply,
		Interval: ix.interval,
		Overlap:  2 * time.Second,
		Logger:   ix.logger,
	}
}

// Load reads every resource from the store (the startup scan). Call it once before serving.
func (ix *Index) Load(ctx context.Context) error {
	since := ix.follower().Start()
	all, err := ix.src.LoadAll(ctx)
	if err != nil {
		return err
	}
	for _, r := range all {
		ix.Put(r)
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
	if have := ix.byID[r.ID]; have != nil && have.RevisionID >= r.RevisionID {
		ix.mu.Unlock()
		return
	}
	ix.byID[r.ID] = r
	var points []geo.Point
	if !r.Deleted() {
		for _, l := range r.Locations {
			if l.Type == domain.LocationPhysical && l.Coordinates != nil {
				points = append(points, geo.Point{Lat: l.Coordinates.Lat, Lng: l.Coordinates.Lng})
			}
		}
	}
	ix.geo.Set(r.ID, points...)
	ix.version++
	subs := slices.Clone(ix.subs)
	ix.mu.Unlock()
	for _, f := range subs {
		f()
	}
}

// Subscribe registers f to be called after every change the index takes.
func (ix *Index) Subscribe(f func()) {
	ix.mu.Lock()
	ix.subs = append(ix.subs, f)
	ix.mu.Unlock()
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
// that keep accepts (nil accepts all).
func (ix *Index) Near(p geo.Point, radiusKm float64, keep func(*domain.Resource) bool) []geo.Hit[*domain.Resource] {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	hits := ix.geo.Near(p, radiusKm, func(id string) bool { return keep == nil || keep(ix.byID[id]) })
	out := make([]geo.Hit[*domain.Resource], len(hits))
	for i, h := range hits {
		out[i] = geo.Hit[*domain.Resource]{Key: ix.byID[h.Key], DistanceKm: h.DistanceKm}
	}
	return out
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
