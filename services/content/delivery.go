package content

import (
	"time"

	"cmp"
	"context"
	"fmt"
	"golang.org/x/sync/errgroup"
	"log/slog"

	"github.com/beaconcms/beacon/gateway"
	"github.com/beaconcms/beacon/platform/changelog"
	"github.com/beaconcms/beacon/platform/loop"
	"github.com/beaconcms/beacon/platform/markdown"
	"github.com/beaconcms/beacon/platform/metrics"
	"github.com/beaconcms/beacon/platform/mongodb"
	"github.com/beaconcms/beacon/platform/pagetoken"
	"github.com/beaconcms/beacon/services/content/internal/delivery"
	"github.com/beaconcms/beacon/services/content/internal/domain"
	"github.com/beaconcms/beacon/services/content/internal/readmodel"
	"github.com/beaconcms/beacon/services/content/internal/store"
	"go.mongodb.org/mongo-driver/v2/mongo"
)

// Delivery is a read model of published content with its REST read side and gRPC server.
// Every content service has one; a gateway running apart from the services opens its own.
// It only reads the content database: it never migrates or prunes it. Site settings come from
// the process's site catalog.
type Delivery struct {
	model  *readmodel.Model
	store  *store.Store
	tokens *pagetoken.Codec
	since  changelog.Position
	// changes tells of writes to the content database as they happen; nil: the model polls.
	changes changelog.Changes
	cfg     Config
	logger  *slog.Logger
}

// OpenDelivery loads a read model from the content database and the site catalog sites, for a
// gateway that runs apart from the content service. It reads only: the content service
// migrates the database and prunes its change log. Call Run to keep it fresh: it polls the
// change log, or with changes (Deps.Changes) reads it when told of a write.
func OpenDelivery(ctx context.Context, client *mongo.Client, cfg Config, tokens *pagetoken.Codec, sites SiteCatalog, changes changelog.Changes, logger *slog.Logger) (*Delivery, error) {
	logger = logger.With("service", "delivery")
	// The read model never makes a conditional write: its store needs no locks shared with
	// writers.
	st := store.New(client.Database(cfg.Database), mongodb.NewDocLocks(), logger)
	return loadDelivery(ctx, st, sites, markdown.NewRenderer(), cfg, tokens, changes, logger)
}

func loadDelivery(ctx context.Context, st *store.Store, sites SiteCatalog, renderer *markdown.Renderer, cfg Config, tokens *pagetoken.Codec, changes changelog.Changes, logger *slog.Logger) (*Delivery, error) {
	model := readmodel.New(deliverySites{sites}, readmodel.Options{PlainText: renderer.PlainText,
		BodyCacheBytes: cfg.DeliveryBodyCacheBytes, Logger: logger})
	// Every change of the catalog (a site created, changed, deleted or undeleted, in this
	// process at once, elsewhere within its refresh) reaches the views; only changed sites are
	// rebuilt, and a deleted site's articles stay in the model for its undelete.
	sites.Subscribe(model.SitesChanged)
	since, err := model.Load(mongodb.WithScan(ctx, "delivery read model: initial load"), st)
	if err != nil {
		return nil, fmt.Errorf("load delivery read model: %w", err)
	}
	return &Delivery{model: model, store: st, tokens: tokens, since: since, changes: changes, cfg: cfg, logger: logger}, nil
}

// Run builds the search index of what was loaded, and keeps the read model fresh until ctx
// ends: it follows the article change log (the site catalog refreshes itself). It returns once
// ctx has ended and both have stopped (nil), or at once for a poll interval that is not
// positive.
func (d *Delivery) Run(ctx context.Context) error {
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error { return d.model.BuildSearch(ctx) })
	g.Go(func() error { return d.model.Follow(ctx, d.store, d.since, d.cfg.DeliveryPollInterval, d.changes) })
	// Reviews fall due with time alone: their reviewers then leave the JSON-LD.
	g.Go(func() error {
		return loop.Every(ctx, max(d.cfg.DeliveryPollInterval, reviewRefreshInterval), func(context.Context) { d.model.RefreshReviews() })
	})
	return g.Wait()
}

// reviewRefreshInterval is how often delivery looks for reviews fallen due: they fall due on a
// date, so a look every half minute keeps a past-due reviewer in the JSON-LD at most that long,
// without waking an idle process every second.
const reviewRefreshInterval = 30 * time.Second

// ReadSide returns the delivery REST routes, for the gateway.
func (d *Delivery) ReadSide() gateway.ReadSide {
	return delivery.NewHandler(d.model, d.tokens, d.logger)
}

// ReadModelStats reports the read model's size and progress (metrics.RegisterReadModel).
func (d *Delivery) ReadModelStats() metrics.ReadModelStats {
	s := d.model.Stats()
	return metrics.ReadModelStats{Entries: s.Articles, Bytes: s.Bytes, LastChange: s.LastChange, Synced: s.Synced,
		RenderCache: &metrics.RenderCacheStats{Bytes: s.Bodies.Bytes, Budget: s.Bodies.Budget, Items: s.Bodies.Bodies,
			Renders: s.Bodies.Renders, Evictions: s.Bodies.Evictions}}
}

// observer applies the content service's own writes to the read model at once.
func (d *Delivery) observer() domain.Observer { return deliveryObserver{d} }

type deliveryObserver struct{ d *Delivery }

func (o deliveryObserver) ArticleWritten(a *domain.Article) { o.d.model.ApplyArticles(a) }

// deliverySites adapts the site catalog to the read model's (readmodel.SiteCatalog).
type deliverySites struct{ catalog SiteCatalog }

// All returns every site's delivery settings, deleted ones marked.
func (c deliverySites) All() []readmodel.Site {
	all := c.catalog.All()
	out := make([]readmodel.Site, 0, len(all))
	for _, s := range all {
		maxAge := s.CacheMaxAgeSeconds
		if maxAge == 0 {
			maxAge = domain.DefaultCacheMaxAge
		}
		out = append(out, readmodel.Site{
			ID:                   s.ID,
			DisplayName:          s.DisplayName,
			BaseURL:              s.BaseURL,
			DefaultLocale:        s.DefaultLocale,
			CrisisLineText:       s.CrisisLineText,
			Public:               s.Public,
			CacheMaxAgeSeconds:   maxAge,
			ReviewValidityMonths: cmp.Or(s.ReviewValidityMonths, domain.DefaultReviewValidityMonths),
			ExampleContent:       s.ExampleContent,
			CreateTime:           s.CreateTime,
			UpdateTime:           s.UpdateTime,
			Deleted:              s.Deleted(),
		})
	}
	return out
}
