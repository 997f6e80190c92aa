// Package sitecatalog keeps a local, refreshed copy of every site's settings for the services
// that need them: content (base URL, public flag, cache age, ...), access (is the site deleted),
// and later resources and screening, which must keep working while the sites service is down.
//
// A [Catalog] answers from memory. It fills itself from a [Source]: the sites service in the
// same process ([sites.Service] implements Source), or the sites service over gRPC
// ([NewGRPCSource]). [Catalog.Run] refreshes the whole copy every Config.Refresh and keeps the
// last good copy while the source is down. A site missing from memory is read through from the
// source on [Catalog.Lookup], so a site created a moment ago elsewhere is seen at once; writes
// made by an in-process sites service reach the catalog synchronously (see [Notifier]).
//
// A read-through that finds no site is remembered for Config.MissTTL (default 1 s), so a key or
// a request naming a site that does not exist costs the sites service one read per TTL, not
// one per check. At most Config.MaxMisses ids are remembered, so a flood of made-up ids cannot
// grow memory. A remembered miss is forgotten as soon as the site arrives: written by an
// in-process sites service, or brought by a refresh. A site created in another process is
// therefore seen at the latest after min(MissTTL, Refresh).
//
// Deleted sites are in the catalog too, marked by DeleteTime: each service decides what a
// deleted site means for its data (hidden, refused), and an undelete restores it.
package sitecatalog

import (
	"context"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/beaconcms/beacon/platform/claimlint"
	"github.com/beaconcms/beacon/platform/loop"
)

// Site is the catalog's copy of one site's settings.
type Site struct {
	ID                 string // e.g. "kratom-help"; the site's name is "sites/{ID}"
	DisplayName        string
	BaseURL            string
	DefaultLocale      string
	CrisisLineText     string
	Public             bool
	CacheMaxAgeSeconds int
	// ResourceStaleAfterDays is the site's stale threshold for resources, as set: 0 means the
	// sites service's default (180 days).
	ResourceStaleAfterDays int
	// HideStaleResources leaves stale resources out of delivery.
	HideStaleResources bool
	// Commercial marks a site run commercially (screening: no non-commercial instruments).
	Commercial bool
	// ReviewValidityMonths is how long an article review stays valid (0: the default, 12).
	ReviewValidityMonths int
	// PublishGates turns on the content service's clinical publish gates.
	PublishGates bool
	// ExampleContent marks the site's content as example content.
	ExampleContent bool
	// LintTuning is the site's own tuning of the clinical-claim lint (its lint_tuning setting),
	// which content, resources and screening layer over the operator's file.
	LintTuning claimlint.SiteTuning
	// AllowedOrigins are the browser origins whose pages may call the site's delivery routes
	// (CORS): exact origins as browsers send them ("https://www.example.org"), or the single
	// "*" for any origin. Shared: never modified.
	AllowedOrigins []string
	CreateTime     time.Time
	UpdateTime     time.Time
	// DeleteTime is set while the site is soft-deleted.
	DeleteTime time.Time
	// Etag is the sites service's version of the site.
	Etag string
	// Version is set by the Catalog: it increases (across all sites of one Catalog) each time
	// the Catalog's copy of this site changes, so consumers can skip unchanged sites cheaply.
	Version uint64
}

// Deleted reports whether the site is soft-deleted.
func (s Site) Deleted() bool { return !s.DeleteTime.IsZero() }

// sameLintTuning reports whether a and b tune the lint alike.
func sameLintTuning(a, b claimlint.SiteTuning) bool {
	return slices.Equal(a.Disable, b.Disable) && maps.Equal(a.Severity, b.Severity)
}

// sameSettings reports whether a and b hold the same settings, ignoring Version.
func sameSettings(a, b Site) bool {
	a.Version, b.Version = 0, 0
	return a.ID == b.ID && a.DisplayName == b.DisplayName && a.BaseURL == b.BaseURL &&
		a.DefaultLocale == b.DefaultLocale && a.CrisisLineText == b.CrisisLineText && a.Public == b.Public &&
		a.CacheMaxAgeSeconds == b.CacheMaxAgeSeconds && a.ResourceStaleAfterDays == b.ResourceStaleAfterDays &&
		a.HideStaleResources == b.HideStaleResources && a.Commercial == b.Commercial &&
		a.ReviewValidityMonths == b.ReviewValidityMonths && a.PublishGates == b.PublishGates && a.ExampleContent == b.ExampleContent && sameLintTuning(a.LintTuning, b.LintTuning) &&
		slices.Equal(a.AllowedOrigins, b.AllowedOrigins) && a.CreateTime.Equal(b.CreateTime) &&
		a.UpdateTime.Equal(b.UpdateTime) && a.DeleteTime.Equal(b.DeleteTime) && a.Etag == b.Etag
}

// Source is where a Catalog reads sites from.
type Source interface {
	// ListSites returns every site, deleted ones included.
	ListSites(ctx context.Context) ([]Site, error)
	// GetSite returns one site, deleted or not; found is false when there is no such site.
	GetSite(ctx context.Context, id string) (site Site, found bool, err error)
}

// Notifier is implemented by a Source that can tell of its own writes as they happen (the sites
// service in the same process). [New] registers the catalog with it.
type Notifier interface {
	// WatchSites calls fn synchronously after every successful site write, with the site as
	// written.
	WatchSites(fn func(Site))
}

// Config tunes a Catalog.
type Config struct {
	// Refresh is how often Run reloads every site from the source while sites change. 0 means
	// DefaultRefresh. Reloads that find nothing changed space out, up to one every
	// IdleRefreshes × Refresh (see loop.IdleBackoff).
	Refresh time.Duration
	// MissTTL is how long a read-through that found no site is remembered. 0 means
	// DefaultMissTTL; a negative value disables the memory of misses.
	MissTTL time.Duration
	// MaxMisses bounds the number of remembered misses. 0 means DefaultMaxMisses.
	MaxMisses int
	// Changes, when set, tells of every write to the sites service's database as it happens (the
	// sites service runs in this process on the embedded store, which sees every commit:
	// mongodb.Embedded.Changes). Run then reloads only when told, instead of every Refresh; a
	// failed reload is retried every Refresh. nil: Run polls.
	Changes Changes
}

// Changes tells a reader in process of writes to a database (*mongodb.DatabaseChanges).
type Changes interface {
	// Watch returns a channel that receives after writes to the database, one value for however
	// many came since the last (it holds one pending value), until stop is called.
	Watch() (changed <-chan struct{}, stop func())
}

// DefaultRefresh is the refresh interval when Config.Refresh is 0.
const DefaultRefresh = time.Second

// IdleRefreshes bounds the spacing of reloads that find nothing changed: at DefaultRefresh, an
// idle catalog reloads every 3 s, so another replica's site change arrives within the 5 s the
// services promise. Changes written through this process arrive at once (notifications).
const IdleRefreshes = 3

// Defaults of the memory of misses (see Config.MissTTL, Config.MaxMisses).
const (
	DefaultMissTTL   = time.Second
	DefaultMaxMisses = 4096
)

// Bounds of one source call, so that a source that hangs (a sites service that accepts calls
// but never answers) cannot stall a Lookup or the refresh loop for ever.
const (
	readThroughTimeout = 10 * time.Second
	refreshTimeout     = 30 * time.Second
)

// Catalog is an in-memory copy of every site's settings. Safe for concurrent use.
type Catalog struct {
	src       Source
	changes   Changes
	refresh   time.Duration
	missTTL   time.Duration
	maxMisses int
	now       func() time.Time
	logger    *slog.Logger
	reads     singleflight.Group

	mu      sync.RWMutex
	sites   map[string]Site
	version uint64               // last Version given out
	touched map[string]uint64    // id → version at which a notification or read-through set it
	loaded  bool                 // a full load has succeeded
	misses  map[string]time.Time // id → until when "no such site" is remembered; ≤ maxMisses entries

	subMu sync.Mutex
	subs  []func()
}

// New returns an empty Catalog on src; it fills on the first Lookup, [Catalog.Refresh] or
// [Catalog.Run]. If src is a [Notifier] the catalog registers with it. A nil logger discards.
func New(src Source, cfg Config, logger *slog.Logger) *Catalog {
	if cfg.Refresh <= 0 {
		cfg.Refresh = DefaultRefresh
	}
	if cfg.MissTTL == 0 {
		cfg.MissTTL = DefaultMissTTL
	}
	if cfg.MaxMisses <= 0 {
		cfg.MaxMisses = DefaultMaxMisses
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	c := &Catalog{
		src: src, changes: cfg.Changes, refresh: cfg.Refresh, missTTL: cfg.MissTTL, maxMisses: cfg.MaxMisses, now: time.Now, logger: logger,
		sites: map[string]Site{}, touched: map[string]uint64{}, misses: map[string]time.Time{},
	}
	if n, ok := src.(Notifier); ok {
		n.WatchSites(c.apply)
	}
	return c
}

// Lookup returns the site with this id, deleted or not; found is false when the source has no
// such site. It answers from memory; on a miss it reads through to the source once (concurrent
// misses of one id share the read), so a site created a moment ago is found. A read-through that
// found nothing is remembered for Config.MissTTL (see the package doc). An error means the
// source could not answer a miss (errors are not remembered).
func (c *Catalog) Lookup(ctx context.Context, id string) (site Site, found bool, err error) {
	c.mu.RLock()
	site, found = c.sites[id]
	missUntil, missed := c.misses[id]
	c.mu.RUnlock()
	if found {
		return site, true, nil
	}
	if missed && c.now().Before(missUntil) {
		return Site{}, false, nil
	}
	type result struct {
		site  Site
		found bool
	}
	ch := c.reads.DoChan(id, func() (any, error) {
		c.mu.RLock()
		start := c.version
		c.mu.RUnlock()
		// Detached from the first caller's cancellation (the read is shared), but bounded.
		readCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), readThroughTimeout)
		defer cancel()
		s, ok, err := c.src.GetSite(readCtx, id)
		if err != nil {
			return result{}, err
		}
		if !ok {
			if held, arrived := c.putMiss(id); arrived {
				return result{site: held, found: true}, nil
			}
			return result{}, nil
		}
		return result{site: c.put(s, start), found: true}, nil
	})
	select {
	case <-ctx.Done():
		return Site{}, false, ctx.Err()
	case r := <-ch:
		if r.Err != nil {
			return Site{}, false, r.Err
		}
		res := r.Val.(result)
		return res.site, res.found, nil
	}
}

// Cached returns the site with this id as the catalog holds it in memory, deleted or not,
// without ever reading through to the source: found is false for a site the catalog has not
// loaded yet (a refresh, a notification or a Lookup brings it). For questions asked on every
// request whose answer may lag a site's creation by a refresh, such as the edge's CORS check.
func (c *Catalog) Cached(id string) (site Site, found bool) {
	c.mu.RLock()
	site, found = c.sites[id]
	c.mu.RUnlock()
	return site, found
}

// All returns every site in memory, deleted ones included, ordered by id.
func (c *Catalog) All() []Site {
	c.mu.RLock()
	defer c.mu.RUnlock()
	out := slices.Collect(maps.Values(c.sites))
	slices.SortFunc(out, func(a, b Site) int {
		switch {
		case a.ID < b.ID:
			return -1
		case a.ID > b.ID:
			return 1
		}
		return 0
	})
	return out
}

// Loaded reports whether a full load from the source has succeeded at least once.
func (c *Catalog) Loaded() bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.loaded
}

// Subscribe registers fn, called after every change of the catalog's copy (a site added,
// changed or removed), synchronously on the goroutine that applied it. fn must be quick and
// may read the catalog (All, Lookup of a known id).
func (c *Catalog) Subscribe(fn func()) {
	c.subMu.Lock()
	defer c.subMu.Unlock()
	c.subs = append(c.subs, fn)
}

func (c *Catalog) notify() {
	c.subMu.Lock()
	subs := slices.Clone(c.subs)
	c.subMu.Unlock()
	for _, fn := range subs {
		fn()
	}
}

// apply takes a site the in-process sites service has just written.
func (c *Catalog) apply(s Site) {
	c.mu.Lock()
	changed := c.setLocked(s, true)
	c.mu.Unlock()
	if changed {
		c.notify()
	}
}

// putMiss remembers that the source has no site id, unless the site arrived (by a notification
// or a refresh) while the read was under way: then it returns that copy and arrived is true.
// When the memory is full, expired entries are dropped first, then arbitrary ones.
func (c *Catalog) putMiss(id string) (held Site, arrived bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if s, ok := c.sites[id]; ok {
		return s, true
	}
	if c.missTTL < 0 {
		return Site{}, false
	}
	now := c.now()
	if _, ok := c.misses[id]; !ok && len(c.misses) >= c.maxMisses {
		for k, until := range c.misses {
			if !now.Before(until) {
				delete(c.misses, k)
			}
		}
		for k := range c.misses {
			if len(c.misses) < c.maxMisses {
				break
			}
			delete(c.misses, k)
		}
	}
	c.misses[id] = now.Add(c.missTTL)
	return Site{}, false
}

// put stores a site read through from the source, unless a newer copy arrived since the read
// started (at version start). It returns the copy the catalog holds.
func (c *Catalog) put(s Site, start uint64) Site {
	c.mu.Lock()
	if cur, ok := c.sites[s.ID]; ok && c.touched[s.ID] > start {
		c.mu.Unlock()
		return cur
	}
	changed := c.setLocked(s, true)
	held := c.sites[s.ID]
	c.mu.Unlock()
	if changed {
		c.notify()
	}
	return held
}

// setLocked stores s, giving it a new Version if its settings changed; touch records that this
// copy is newer than any full load that started before now. Caller holds mu.
func (c *Catalog) setLocked(s Site, touch bool) bool {
	cur, ok := c.sites[s.ID]
	if ok && sameSettings(cur, s) {
		return false
	}
	c.version++
	s.Version = c.version
	c.sites[s.ID] = s
	delete(c.misses, s.ID) // the site exists now
	if touch {
		c.touched[s.ID] = c.version
	}
	return true
}

// Refresh reloads every site from the source once and replaces the copy (sites the source no
// longer has are removed). A copy written by a notification or a read-through after the reload
// started is kept, being newer. On error the copy is left as it was.
func (c *Catalog) Refresh(ctx context.Context) error {
	_, err := c.reload(ctx)
	return err
}

// reload is Refresh; it also reports whether the copy changed.
func (c *Catalog) reload(ctx context.Context) (bool, error) {
	c.mu.RLock()
	start := c.version
	c.mu.RUnlock()
	sites, err := c.src.ListSites(ctx)
	if err != nil {
		return false, err
	}
	c.mu.Lock()
	changed := false
	seen := make(map[string]bool, len(sites))
	for _, s := range sites {
		seen[s.ID] = true
		if c.touched[s.ID] > start {
			continue
		}
		if c.setLocked(s, false) {
			changed = true
		}
	}
	for id := range c.sites {
		if !seen[id] && c.touched[id] <= start {
			delete(c.sites, id)
			delete(c.touched, id)
			changed = true
		}
	}
	for id, v := range c.touched {
		if v <= start {
			delete(c.touched, id) // the full load now covers it
		}
	}
	c.loaded = true
	c.mu.Unlock()
	if changed {
		c.notify()
	}
	return changed, nil
}

// Run refreshes the catalog at once and then every Config.Refresh (spaced out while nothing
// changes, see IdleRefreshes; with Config.Changes, only when told of a write) until ctx ends,
// and returns nil then. While the source fails it keeps the last good copy, logging the failure
// once (and once more when the source answers again), and retries every Refresh.
func (c *Catalog) Run(ctx context.Context) error {
	failing := false
	backoff := loop.IdleBackoff{Max: IdleRefreshes}
	reload := func(ctx context.Context) (changed bool, err error) {
		refreshCtx, cancel := context.WithTimeout(ctx, refreshTimeout)
		defer cancel()
		changed, err = c.reload(refreshCtx)
		switch {
		case ctx.Err() != nil:
		case err != nil && !failing:
			failing = true
			c.logger.WarnContext(ctx, "site catalog: the source is unavailable; keeping the last copy", "err", err)
		case err == nil && failing:
			failing = false
			c.logger.InfoContext(ctx, "site catalog: the source answers again")
		}
		return changed, err
	}
	if c.changes != nil {
		changed, stop := c.changes.Watch()
		defer stop()
		return loop.Notified(ctx, changed, c.refresh, func(ctx context.Context) bool {
			_, err := reload(ctx)
			return err == nil
		})
	}
	refresh := func(ctx context.Context) {
		if changed, err := reload(ctx); changed || err != nil {
			backoff.Busy()
		} else {
			backoff.Idle()
		}
	}
	refresh(ctx)
	return loop.Poll(ctx, c.refresh, &backoff, refresh)
}
