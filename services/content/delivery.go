package content

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/beaconcms/beacon/gateway"
	"github.com/beaconcms/beacon/platform/loop"
	"github.com/beaconcms/beacon/platform/markdown"
	"github.com/beaconcms/beacon/platform/mongodb"
	"github.com/beaconcms/beacon/platform/pagetoken"
	"github.com/beaconcms/beacon/services/content/internal/delivery"
	"github.com/beaconcms/beacon/services/content/internal/domain"
	"github.com/beaconcms/beacon/services/content/internal/readmodel"
	"github.com/beaconcms/beacon/services/content/internal/store"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"golang.org/x/sync/errgroup"
)

// Delivery is a read model of published content with its REST read side and gRPC server.
// Every content service has one; a gateway running apart from the services opens its own.
// It only reads the content database: it never migrates or prunes it.
type Delivery struct {
	model  *readmodel.Model
	sites  *storeSites
	store  *store.Store
	tokens *pagetoken.Codec
	since  time.Time
	cfg    Config
	logger *slog.Logger
}

// OpenDelivery loads a read model from the content database, for a gateway that runs apart
// from the content service. It reads only: the content service migrates the database and
// prunes its change log. Call Run to keep it fresh.
func OpenDelivery(ctx context.Context, client *mongo.Client, cfg Config, tokens *pagetoken.Codec, logger *slog.Logger) (*Delivery, error) {
	logger = logger.With("service", "delivery")
	st := store.New(client.Database(cfg.Database), logger)
	return loadDelivery(ctx, st, markdown.NewRenderer(), cfg, tokens, logger)
}

func loadDelivery(ctx context.Context, st *store.Store, renderer *markdown.Renderer, cfg Config, tokens *pagetoken.Codec, logger *slog.Logger) (*Delivery, error) {
	sites := &storeSites{store: st, sites: map[string]*domain.Site{}}
	model := readmodel.New(sites, readmodel.Options{PlainText: renderer.PlainText, Logger: logger})
	sites.changed = model.SitesChanged
	if err := sites.refresh(ctx); err != nil {
		return nil, fmt.Errorf("load delivery read model: %w", err)
	}
	since, err := model.Load(mongodb.WithScan(ctx, "delivery read model: initial load"), st)
	if err != nil {
		return nil, fmt.Errorf("load delivery read model: %w", err)
	}
	return &Delivery{model: model, sites: sites, store: st, tokens: tokens, since: since, cfg: cfg, logger: logger}, nil
}

// Run keeps the read model fresh until ctx ends: it follows the article change log and
// re-reads the sites every DeliveryPollInterval. It returns once ctx has ended and both loops
// have stopped (nil), or at once for a poll interval that is not positive.
func (d *Delivery) Run(ctx context.Context) error {
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error { return d.model.Follow(ctx, d.store, d.since, d.cfg.DeliveryPollInterval) })
	failing := false
	g.Go(func() error {
		return loop.Every(ctx, d.cfg.DeliveryPollInterval, func(ctx context.Context) {
			err := d.sites.refresh(ctx)
			if err != nil && ctx.Err() == nil && !failing {
				d.logger.Warn("delivery: reading the sites failed; serving what is loaded", "err", err)
			}
			failing = err != nil
		})
	})
	return g.Wait()
}

// ReadSide returns the delivery REST routes, for the gateway.
func (d *Delivery) ReadSide() gateway.ReadSide {
	return delivery.NewHandler(d.model, d.tokens, d.logger)
}

// observer applies the content service's own writes to the read model at once.
func (d *Delivery) observer() domain.Observer { return deliveryObserver{d} }

type deliveryObserver struct{ d *Delivery }

func (o deliveryObserver) ArticleWritten(a *domain.Article) { o.d.model.ApplyArticles(a) }
func (o deliveryObserver) SiteWritten(s *domain.Site)       { o.d.sites.put(s) }
func (o deliveryObserver) SiteDeleted(id string)            { o.d.sites.remove(id) }

// storeSites is the read model's site catalog while sites live in the content database: a copy
// of every site, re-read from the store by Delivery.Run and updated at once by this process's
// own writes. (A site read that started before such a write cannot undo it: an older revision
// never replaces a newer one.)
type storeSites struct {
	store   *store.Store
	changed func() // tells the read model to re-read All

	mu    sync.Mutex
	sites map[string]*domain.Site
}

// All returns every site's delivery settings (readmodel.SiteCatalog).
func (c *storeSites) All() []readmodel.Site {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]readmodel.Site, 0, len(c.sites))
	for _, s := range c.sites {
		out = append(out, siteSettings(s))
	}
	return out
}

func siteSettings(s *domain.Site) readmodel.Site {
	maxAge := s.CacheMaxAgeSeconds
	if maxAge == 0 {
		maxAge = domain.DefaultCacheMaxAge
	}
	return readmodel.Site{
		ID:                 s.ID,
		DisplayName:        s.DisplayName,
		BaseURL:            s.BaseURL,
		DefaultLocale:      s.DefaultLocale,
		CrisisLineText:     s.CrisisLineText,
		Public:             s.Public,
		CacheMaxAgeSeconds: maxAge,
		CreateTime:         s.CreateTime,
		UpdateTime:         s.UpdateTime,
	}
}

// refresh re-reads every site and tells the model if anything changed.
func (c *storeSites) refresh(ctx context.Context) error {
	var all []*domain.Site
	after := ""
	for {
		batch, err := c.store.ListSites(ctx, after, 100)
		if err != nil {
			return fmt.Errorf("read sites: %w", err)
		}
		all = append(all, batch...)
		if len(batch) < 100 {
			break
		}
		after = batch[len(batch)-1].ID
	}
	c.mu.Lock()
	changed := false
	seen := make(map[string]bool, len(all))
	for _, s := range all {
		seen[s.ID] = true
		if old := c.sites[s.ID]; old == nil || old.Revision < s.Revision {
			c.sites[s.ID] = s
			changed = true
		}
	}
	for id := range c.sites {
		if !seen[id] {
			delete(c.sites, id)
			changed = true
		}
	}
	c.mu.Unlock()
	if changed && c.changed != nil {
		c.changed()
	}
	return nil
}

func (c *storeSites) put(s *domain.Site) {
	copied := *s
	c.mu.Lock()
	if old := c.sites[s.ID]; old == nil || old.Revision < s.Revision {
		c.sites[s.ID] = &copied
	}
	c.mu.Unlock()
	c.changed()
}

func (c *storeSites) remove(id string) {
	c.mu.Lock()
	delete(c.sites, id)
	c.mu.Unlock()
	c.changed()
}
