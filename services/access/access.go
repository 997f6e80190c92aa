// Package access is the access service: it issues, verifies and revokes the API keys every
// Beacon service accepts, and serves beacon.access.v1.ApiKeyService. It is the exported facade
// the beacon binary wires; everything else is internal:
//
//   - internal/domain: keys, validation, the verifying cache ([Service.Verify]);
//   - internal/store: the "api_keys" collection and its migrations;
//   - internal/api: the gRPC server and its access rules.
//
// Keys are bearer tokens "bk_<16 hex id>_<52 base32 characters of 32 random bytes>". Only the
// SHA-256 of a token is stored (a slow password hash buys nothing for 256 random bits), and
// people see only its first 11 characters. Verify remembers what the store said about a key for
// at most 30 seconds, so a revoked key is refused by every process within 30 seconds (by the
// process that revoked it at once). A key limited to a site works only while the site exists and
// is not deleted, as the process's site catalog says.
//
// Verification is a read-only, by-_id, cached read of the access database from every process
// that serves gRPC (a documented exception to "each service reads only its own database"); only
// the access service writes it.
package access

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"google.golang.org/grpc"

	accessv1 "github.com/beaconcms/beacon/gen/beacon/access/v1"
	"github.com/beaconcms/beacon/platform/auth"
	"github.com/beaconcms/beacon/platform/mongodb"
	"github.com/beaconcms/beacon/services/access/internal/api"
	"github.com/beaconcms/beacon/services/access/internal/domain"
	"github.com/beaconcms/beacon/services/access/internal/store"
	"github.com/beaconcms/beacon/services/sites/sitecatalog"
)

// Config is the access service's configuration.
type Config struct {
	// Database is the MongoDB database holding only API keys.
	Database string
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config { return Config{Database: "beacon_access"} }

// SiteCatalog is what the access service needs of the process's site catalog
// (*sitecatalog.Catalog implements it).
type SiteCatalog interface {
	Lookup(ctx context.Context, id string) (sitecatalog.Site, bool, error)
}

// Deps is what the service is built on.
type Deps struct {
	// DB is the access database (Config.Database), migrated with [Migrate].
	DB *mongo.Database
	// Locks is the process's one set of document write locks, shared by every store.
	Locks *mongodb.DocLocks
	// Sites is the process's site catalog.
	Sites SiteCatalog
}

// Migrate applies the migrations of db, the access database, and returns.
func Migrate(ctx context.Context, db *mongo.Database, logger *slog.Logger) error {
	if err := mongodb.Migrate(ctx, db, store.Migrations(), logger); err != nil {
		return fmt.Errorf("migrate access database %s: %w", db.Name(), err)
	}
	return nil
}

// Service is a ready-to-register access service. It is the [auth.Verifier] of the auth
// interceptor. Safe for concurrent use.
type Service struct {
	keys   *domain.Service
	server *api.Server
}

var _ auth.Verifier = (*Service)(nil)

// New builds the service on deps.DB, which [Migrate] must have brought up to date. A nil logger
// discards.
func New(deps Deps, logger *slog.Logger) *Service {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	logger = logger.With("service", "access")
	keys := domain.NewService(store.New(deps.DB, deps.Locks), siteStates{deps.Sites}, logger, domain.Config{})
	return &Service{keys: keys, server: api.NewServer(keys, logger)}
}

// siteStates adapts the site catalog to the domain's SiteCatalog.
type siteStates struct{ catalog SiteCatalog }

func (c siteStates) SiteState(ctx context.Context, id string) (domain.SiteState, error) {
	site, found, err := c.catalog.Lookup(ctx, id)
	switch {
	case err != nil:
		return domain.SiteMissing, err
	case !found:
		return domain.SiteMissing, nil
	case site.Deleted():
		return domain.SiteDeleted, nil
	}
	return domain.SiteLive, nil
}

// Register adds ApiKeyService to srv. Its methods need the rules of [Rules] in the policy.
func (s *Service) Register(srv grpc.ServiceRegistrar) {
	accessv1.RegisterApiKeyServiceServer(srv, s.server)
}

// Rules is the access policy of ApiKeyService: every method needs RoleAdmin (site-limited admins
// are confined to their site's keys by the service itself).
func Rules() auth.Policy { return api.Rules() }

// RegisterGateway adds ApiKeyService's REST routes to mux; calls go through conn.
func RegisterGateway(ctx context.Context, mux *runtime.ServeMux, conn *grpc.ClientConn) error {
	return accessv1.RegisterApiKeyServiceHandler(ctx, mux, conn)
}

// ServiceNames are the gRPC service names Register adds, for health checks.
func ServiceNames() []string { return []string{accessv1.ApiKeyService_ServiceDesc.ServiceName} }

// Run does the service's background work until ctx ends. It has none: it returns when ctx ends.
func (s *Service) Run(ctx context.Context) error {
	<-ctx.Done()
	return nil
}

// Verify implements [auth.Verifier]: the Principal of an active key whose token this is. A
// malformed, unknown or revoked token, or a key of a missing or deleted site, is apperr
// Unauthenticated; other errors mean the store or the site catalog could not answer.
func (s *Service) Verify(ctx context.Context, token string) (auth.Principal, error) {
	return s.keys.Verify(ctx, token)
}

// Bootstrap creates an all-sites admin key named displayName when no active one exists and
// returns its token (created true), or "", false when one exists. The token is returned only
// here; print it once. Meant for one process at startup (`beacon dev`).
func (s *Service) Bootstrap(ctx context.Context, displayName string) (token string, created bool, err error) {
	return s.keys.Bootstrap(ctx, displayName)
}

// CreateKey creates a key named displayName with role, limited to site ("" for all sites), and
// returns its name ("apiKeys/{id}") and token. The token is returned only here; print it once.
// For operators (`beacon admin-key`), e.g. the first admin key of a production install, or the
// viewer key other processes use to read the sites service (--service-key).
func (s *Service) CreateKey(ctx context.Context, displayName string, role auth.Role, site string) (name, token string, err error) {
	key, token, err := s.keys.Create(ctx, displayName, role, site)
	if err != nil {
		return "", "", err
	}
	return key.Name(), token, nil
}
