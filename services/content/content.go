// Package content is the content service: branded sites and their articles, from draft to
// published. It is the exported facade the beacon binary wires; everything else is internal.
package content

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	contentv1 "github.com/beaconcms/beacon/gen/beacon/content/v1"
	"github.com/beaconcms/beacon/platform/auth"
	"github.com/beaconcms/beacon/platform/markdown"
	"github.com/beaconcms/beacon/platform/mongodb"
	"github.com/beaconcms/beacon/platform/pagetoken"
	"github.com/beaconcms/beacon/services/content/internal/api"
	"github.com/beaconcms/beacon/services/content/internal/demo"
	"github.com/beaconcms/beacon/services/content/internal/domain"
	"github.com/beaconcms/beacon/services/content/internal/store"
	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"google.golang.org/grpc"
)

// Config is the content service's configuration.
type Config struct {
	// Database is the MongoDB database the service owns.
	Database string
	// SchedulerInterval is how often scheduled articles are checked. Scheduled articles are
	// published within this interval (plus one store round trip) of their time.
	SchedulerInterval time.Duration
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{Database: "beacon_content", SchedulerInterval: time.Second}
}

// Service is a ready-to-register content service.
type Service struct {
	cfg      Config
	domain   *domain.Service
	store    *store.Store
	sites    *api.SiteServer
	articles *api.ArticleServer
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
	svc := domain.NewService(st, st, markdown.NewRenderer(), nil, logger)
	return &Service{
		cfg:      cfg,
		domain:   svc,
		store:    st,
		sites:    api.NewSiteServer(svc, tokens),
		articles: api.NewArticleServer(svc, tokens),
		logger:   logger,
	}, nil
}

// Migrate applies the content database's migrations and returns.
func Migrate(ctx context.Context, client *mongo.Client, cfg Config, logger *slog.Logger) error {
	return mongodb.Migrate(ctx, client.Database(cfg.Database), store.Migrations(), logger)
}

// Register adds the site and article services to srv.
func (s *Service) Register(srv grpc.ServiceRegistrar) {
	contentv1.RegisterSiteServiceServer(srv, s.sites)
	contentv1.RegisterArticleServiceServer(srv, s.articles)
}

// ServiceNames are the gRPC service names Register adds, for health checks.
func ServiceNames() []string {
	return []string{contentv1.SiteService_ServiceDesc.ServiceName, contentv1.ArticleService_ServiceDesc.ServiceName}
}

// Rules is the access policy of the registered services.
func Rules() auth.Policy { return api.Rules() }

// Run does the service's background work until ctx ends: scheduled publishing and completing
// revision records whose write was interrupted.
func (s *Service) Run(ctx context.Context) {
	go s.domain.RunScheduler(ctx, s.cfg.SchedulerInterval)
	if err := s.store.FlushPendingRevisions(ctx); err != nil && ctx.Err() == nil {
		s.logger.ErrorContext(ctx, "flush pending revisions", "err", err)
	}
	t := time.NewTicker(10 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := s.store.FlushPendingRevisions(ctx); err != nil && ctx.Err() == nil {
				s.logger.ErrorContext(ctx, "flush pending revisions", "err", err)
			}
		}
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
