// Package sites is the sites service: the branded sites that read Beacon content and their
// settings, served as beacon.sites.v1.SiteService. It is the exported facade the beacon binary
// wires; everything else is internal:
//
//   - internal/domain: what a site is, who may see and change it, AIP-164 soft delete;
//   - internal/store: the "sites" collection of the service's own database and its migrations;
//   - internal/api: the gRPC server, its converters and access rules.
//
// Other services never read the sites database. They keep a [sitecatalog.Catalog], fed by this
// Service when it runs in the same process (it is a sitecatalog.Source and Notifier) or by the
// service over gRPC ([sitecatalog.NewGRPCSource]).
package sites

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"google.golang.org/grpc"

	sitesv1 "github.com/beaconcms/beacon/gen/beacon/sites/v1"
	"github.com/beaconcms/beacon/platform/apperr"
	"github.com/beaconcms/beacon/platform/auth"
	"github.com/beaconcms/beacon/platform/idempotency"
	"github.com/beaconcms/beacon/platform/mongodb"
	"github.com/beaconcms/beacon/platform/pagetoken"
	"github.com/beaconcms/beacon/services/sites/internal/api"
	"github.com/beaconcms/beacon/services/sites/internal/domain"
	"github.com/beaconcms/beacon/services/sites/internal/store"
	"github.com/beaconcms/beacon/services/sites/sitecatalog"
)

// Config is the sites service's configuration.
type Config struct {
	// Database is the MongoDB database the service owns.
	Database string
	// LegacyDatabase is the content database of releases before the sites service, whose
	// "sites" collection [Migrate] copies once. Empty skips the copy.
	LegacyDatabase string
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{Database: "beacon_sites", LegacyDatabase: "beacon_content"}
}

// Deps is what the service is built on.
type Deps struct {
	// DB is the service's own database (Config.Database), migrated with [Migrate].
	DB *mongo.Database
	// Locks is the process's one set of document write locks, shared by every store.
	Locks *mongodb.DocLocks
	// Tokens signs page tokens.
	Tokens *pagetoken.Codec
}

// Migrate applies the migrations of db, the sites database, and returns. The first run copies
// the sites of cfg.LegacyDatabase (data made before the sites service existed).
func Migrate(ctx context.Context, db *mongo.Database, cfg Config, logger *slog.Logger) error {
	if err := mongodb.Migrate(ctx, db, store.Migrations(cfg.LegacyDatabase), logger); err != nil {
		return fmt.Errorf("migrate sites database %s: %w", db.Name(), err)
	}
	return nil
}

// Service is a ready-to-register sites service. It is also a [sitecatalog.Source] and
// [sitecatalog.Notifier] for catalogs in the same process. Safe for concurrent use.
type Service struct {
	domain *domain.Service
	store  *store.Store
	server *api.Server
	logger *slog.Logger
}

var (
	_ sitecatalog.Source   = (*Service)(nil)
	_ sitecatalog.Notifier = (*Service)(nil)
)

// New builds the service on deps.DB, which [Migrate] must have brought up to date. A nil
// logger discards.
func New(deps Deps, logger *slog.Logger) *Service {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	logger = logger.With("service", "sites")
	st := store.New(deps.DB, deps.Locks, logger)
	svc := domain.NewService(st, nil, logger)
	return &Service{domain: svc, store: st, server: api.NewServer(svc, deps.Tokens), logger: logger}
}

// Register adds SiteService to srv. Its methods need the rules of [Rules] in the policy.
func (s *Service) Register(srv grpc.ServiceRegistrar) {
	sitesv1.RegisterSiteServiceServer(srv, s.server)
}

// Rules is the access policy of SiteService.
func Rules() auth.Policy { return api.Rules() }

// RegisterGateway adds SiteService's REST routes to mux; calls go through conn, so the gRPC
// interceptors run for REST callers too.
func RegisterGateway(ctx context.Context, mux *runtime.ServeMux, conn *grpc.ClientConn) error {
	return sitesv1.RegisterSiteServiceHandler(ctx, mux, conn)
}

// IdempotentCreates are the service's create methods that take an AIP-155 request_id, for
// platform/idempotency's interceptor (records in the service's own database).
func IdempotentCreates() map[string]idempotency.Method {
	return map[string]idempotency.Method{sitesv1.SiteService_CreateSite_FullMethodName: {}}
}

// ServiceNames are the gRPC service names Register adds, for health checks.
func ServiceNames() []string { return []string{sitesv1.SiteService_ServiceDesc.ServiceName} }

// Run does the service's background work until ctx ends. The sites service has none: it returns
// when ctx ends.
func (s *Service) Run(ctx context.Context) error {
	<-ctx.Done()
	return nil
}

// system is the principal of the binary's own calls (demo data, seeding).
var system = auth.Principal{KeyName: "system:sites", Role: auth.RoleAdmin}

// ListSites implements [sitecatalog.Source]: every site, deleted ones included, from the store.
func (s *Service) ListSites(ctx context.Context) ([]sitecatalog.Site, error) {
	all, err := s.store.List(ctx, "", 0, true)
	if err != nil {
		return nil, err
	}
	out := make([]sitecatalog.Site, len(all))
	for i, site := range all {
		out[i] = toCatalogSite(*site)
	}
	return out, nil
}

// GetSite implements [sitecatalog.Source].
func (s *Service) GetSite(ctx context.Context, id string) (sitecatalog.Site, bool, error) {
	site, err := s.store.Get(ctx, id)
	if apperr.Is(err, apperr.NotFound) {
		return sitecatalog.Site{}, false, nil
	}
	if err != nil {
		return sitecatalog.Site{}, false, err
	}
	return toCatalogSite(*site), true, nil
}

// WatchSites implements [sitecatalog.Notifier]: fn sees every site this Service writes, as it
// is written.
func (s *Service) WatchSites(fn func(sitecatalog.Site)) {
	s.domain.Watch(func(site domain.Site) { fn(toCatalogSite(site)) })
}

func toCatalogSite(s domain.Site) sitecatalog.Site {
	return sitecatalog.Site{
		ID:                     s.ID,
		DisplayName:            s.DisplayName,
		BaseURL:                s.BaseURL,
		DefaultLocale:          s.DefaultLocale,
		CrisisLineText:         s.CrisisLineText,
		Public:                 s.Public,
		CacheMaxAgeSeconds:     s.CacheMaxAgeSeconds,
		ResourceStaleAfterDays: s.ResourceStaleAfterDays,
		HideStaleResources:     s.HideStaleResources,
		Commercial:             s.Commercial,
		ReviewValidityMonths:   s.ReviewValidityMonths,
		PublishGates:           s.PublishGates,
		ExampleContent:         s.ExampleContent,
		LintTuning:             s.LintTuning,
		AllowedOrigins:         s.AllowedOrigins,
		CreateTime:             s.CreateTime,
		UpdateTime:             s.UpdateTime,
		DeleteTime:             s.DeleteTime,
		Etag:                   s.Etag(),
	}
}

// DemoSiteID is the id of the demo site `beacon dev` creates.
const DemoSiteID = "kratom-help"

// SeedDemo creates the demo site when there is no site at all, and reports whether it did.
func (s *Service) SeedDemo(ctx context.Context) (bool, error) {
	existing, err := s.store.List(ctx, "", 1, true)
	if err != nil || len(existing) > 0 {
		return false, err
	}
	_, err = s.domain.CreateSite(ctx, system, &domain.Site{
		ID:             DemoSiteID,
		DisplayName:    "Kratom Help",
		BaseURL:        "https://kratom-help.example.org",
		DefaultLocale:  "en-US",
		CrisisLineText: "In crisis? Call or text 988 (Suicide & Crisis Lifeline). For treatment referrals, call SAMHSA's National Helpline at 1-800-662-4357, free and confidential, 24/7.",
		Public:         true,
		// The demo's people are fictional and its articles unreviewed: say so to readers, and
		// hold its articles to the clinical publish gates like any new site's.
		ExampleContent: true,
		PublishGates:   true,
	})
	if err != nil {
		return false, fmt.Errorf("create demo site: %w", err)
	}
	return true, nil
}

// EnsureSite creates a public site with this id, display name and base URL unless a site with
// the id exists (deleted or not), and reports whether it created it. For `beacon seed`.
func (s *Service) EnsureSite(ctx context.Context, id, displayName, baseURL string) (bool, error) {
	_, err := s.domain.CreateSite(ctx, system, &domain.Site{ID: id, DisplayName: displayName, BaseURL: baseURL, Public: true})
	if apperr.Is(err, apperr.AlreadyExists) {
		return false, nil
	}
	return err == nil, err
}
