// Package content is the content service: branded sites and their articles, from draft to
// published. It is the exported facade the beacon binary wires; everything else is internal.
package content

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	contentv1 "github.com/beaconcms/beacon/gen/beacon/content/v1"
	"github.com/beaconcms/beacon/platform/apperr"
	"github.com/beaconcms/beacon/platform/auth"
	"github.com/beaconcms/beacon/platform/loop"
	"github.com/beaconcms/beacon/platform/markdown"
	"github.com/beaconcms/beacon/platform/mongodb"
	"github.com/beaconcms/beacon/platform/pagetoken"
	"github.com/beaconcms/beacon/services/content/internal/api"
	"github.com/beaconcms/beacon/services/content/internal/delivery"
	"github.com/beaconcms/beacon/services/content/internal/demo"
	"github.com/beaconcms/beacon/services/content/internal/domain"
	"github.com/beaconcms/beacon/services/content/internal/store"
	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"golang.org/x/sync/errgroup"
	"google.golang.org/grpc"
)

// Config is the content service's configuration.
type Config struct {
	// Database is the MongoDB database the service owns.
	Database string
	// SchedulerInterval is how often scheduled articles are checked. Scheduled articles are
	// published within this interval (plus one store round trip) of their time.
	SchedulerInterval time.Duration
	// DeliveryPollInterval is how often the delivery read model polls the store for changes
	// made by other replicas. Changes made by this process show at once.
	DeliveryPollInterval time.Duration
	// ChangeLogRetention is how long article change-log entries are kept, and
	// ChangeLogPruneInterval how often older ones are deleted. Read models read the log within
	// their poll interval (plus a 10 s overlap); one that starts later loads everything anyway.
	// Short, because on FerretDB v1 every poll decodes every entry.
	ChangeLogRetention     time.Duration
	ChangeLogPruneInterval time.Duration
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{Database: "beacon_content", SchedulerInterval: time.Second, DeliveryPollInterval: time.Second,
		ChangeLogRetention: 5 * time.Minute, ChangeLogPruneInterval: time.Minute}
}

// Service is a ready-to-register content service.
type Service struct {
	cfg      Config
	domain   *domain.Service
	store    *store.Store
	sites    *api.SiteServer
	articles *api.ArticleServer
	delivery *Delivery
	logger   *slog.Logger
}

// New migrates the service's database and builds the service.
func New(ctx context.Context, client *mongo.Client, cfg Config, tokens *pagetoken.Codec, logger *slog.Logger) (*Service, error) {
	logger = logger.With("service", "content")
	db := client.Database(cfg.Database)
	if err := mongodb.Migrate(ctx, db, store.Migrations(), logger); err != nil {
		return nil, fmt.Errorf("migrate content database: %w", err)
	}
	st := store.New(db, logger)
	renderer := markdown.NewRenderer()
	svc := domain.NewService(st, st, renderer, nil, logger)
	d, err := loadDelivery(ctx, st, renderer, cfg, tokens, logger)
	if err != nil {
		return nil, err
	}
	svc.Observe(d.observer())
	return &Service{
		cfg:      cfg,
		domain:   svc,
		store:    st,
		sites:    api.NewSiteServer(svc, tokens),
		articles: api.NewArticleServer(svc, tokens),
		delivery: d,
		logger:   logger,
	}, nil
}

// Delivery returns the service's own read side.
func (s *Service) Delivery() *Delivery { return s.delivery }

// Migrate applies the content database's migrations and returns.
func Migrate(ctx context.Context, client *mongo.Client, cfg Config, logger *slog.Logger) error {
	return mongodb.Migrate(ctx, client.Database(cfg.Database), store.Migrations(), logger)
}

// Register adds the site, article and delivery services to srv.
func (s *Service) Register(srv grpc.ServiceRegistrar) {
	contentv1.RegisterSiteServiceServer(srv, s.sites)
	contentv1.RegisterArticleServiceServer(srv, s.articles)
	contentv1.RegisterDeliveryServiceServer(srv, delivery.NewServer(s.delivery.model, s.delivery.tokens))
}

// ServiceNames are the gRPC service names Register adds, for health checks.
func ServiceNames() []string {
	return []string{contentv1.SiteService_ServiceDesc.ServiceName, contentv1.ArticleService_ServiceDesc.ServiceName,
		contentv1.DeliveryService_ServiceDesc.ServiceName}
}

// Rules is the access policy of the registered services.
func Rules() auth.Policy {
	p, err := auth.Merge(api.Rules(), delivery.Rules())
	if err != nil {
		panic(err) // the two tables are fixed; a clash is a programming error caught by tests
	}
	return p
}

// flushInterval is how often Run completes revision records whose write was interrupted (the
// store itself rescans rarely; see Store.FlushPendingRevisions).
const flushInterval = 10 * time.Second

// Run does the service's background work until ctx ends: scheduled publishing, keeping the
// delivery read model fresh, completing revision records whose write was interrupted, and
// pruning the article change log (only the content service, which writes the log, prunes it).
// It returns only when all of them have stopped, so the caller may then close the store; the
// error is the first loop's that failed to start (a bad interval), nil after a normal stop.
func (s *Service) Run(ctx context.Context) error {
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error { return s.domain.RunScheduler(ctx, s.cfg.SchedulerInterval) })
	g.Go(func() error { return s.delivery.Run(ctx) })
	g.Go(func() error {
		s.flushPendingRevisions(ctx)
		return loop.Every(ctx, flushInterval, s.flushPendingRevisions)
	})
	g.Go(func() error { return loop.Every(ctx, s.cfg.ChangeLogPruneInterval, s.pruneChangeLog) })
	return g.Wait()
}

func (s *Service) pruneChangeLog(ctx context.Context) {
	if err := s.store.PruneArticleChanges(ctx, time.Now().Add(-s.cfg.ChangeLogRetention)); err != nil && ctx.Err() == nil {
		s.logger.WarnContext(ctx, "pruning the article change log failed", "err", err)
	}
}

func (s *Service) flushPendingRevisions(ctx context.Context) {
	if err := s.store.FlushPendingRevisions(ctx); err != nil && ctx.Err() == nil {
		s.logger.ErrorContext(ctx, "flush pending revisions", "err", err)
	}
}

// RegisterGateway adds the REST routes of the site and article services to mux; calls go
// through conn, so the gRPC interceptors run for REST callers too.
func RegisterGateway(ctx context.Context, mux *runtime.ServeMux, conn *grpc.ClientConn) error {
	if err := contentv1.RegisterSiteServiceHandler(ctx, mux, conn); err != nil {
		return err
	}
	return contentv1.RegisterArticleServiceHandler(ctx, mux, conn)
}

// SeedDemo loads the demo site and its published articles when the store has no sites yet.
// It reports whether it seeded anything.
func (s *Service) SeedDemo(ctx context.Context) (bool, error) {
	system := auth.Principal{KeyName: "system:demo", Role: auth.RoleAdmin}
	existing, err := s.domain.ListSites(ctx, system, "", 1)
	if err != nil {
		return false, err
	}
	if len(existing) > 0 {
		return false, nil
	}
	articles, err := demo.Articles()
	if err != nil {
		return false, fmt.Errorf("load demo articles: %w", err)
	}
	if _, err := s.domain.CreateSite(ctx, system, demo.Site()); err != nil {
		return false, fmt.Errorf("create demo site: %w", err)
	}
	for _, c := range articles {
		a, err := s.domain.CreateArticle(ctx, system, c)
		if err != nil {
			return false, fmt.Errorf("create demo article %q: %w", c.Title, err)
		}
		if _, err := s.domain.PublishArticle(ctx, system, a.ID, a.Etag()); err != nil {
			return false, fmt.Errorf("publish demo article %q: %w", c.Title, err)
		}
	}
	return true, nil
}

// ImportSynthetic creates the site if it does not exist (public, with baseURL) and imports n
// generated, published articles of about bodyBytes of Markdown each, in batches. It is for
// benchmarks and load tests (`beacon seed`).
func (s *Service) ImportSynthetic(ctx context.Context, siteID, baseURL string, n, bodyBytes int, seed uint64) error {
	system := auth.Principal{KeyName: "system:seed", Role: auth.RoleAdmin}
	if _, err := s.domain.GetSite(ctx, system, siteID); apperr.Is(err, apperr.NotFound) {
		site := &domain.Site{ID: siteID, DisplayName: "Synthetic " + siteID, BaseURL: baseURL, Public: true}
		if _, err := s.domain.CreateSite(ctx, system, site); err != nil {
			return fmt.Errorf("create site: %w", err)
		}
	} else if err != nil {
		return err
	}
	contents := demo.Synthetic(seed, n, bodyBytes, siteID)
	const batch = 500
	for start := 0; start < len(contents); start += batch {
		end := min(start+batch, len(contents))
		if err := s.domain.ImportPublished(ctx, system, s.store, contents[start:end]); err != nil {
			return fmt.Errorf("import articles %d-%d: %w", start+1, end, err)
		}
	}
	return nil
}
