// Package apikey is the API key service: it issues, verifies and revokes the keys every Beacon
// service accepts, and serves beacon.content.v1.ApiKeyService. It is the exported facade the
// beacon binary wires; everything else is internal:
//
//   - internal/domain: keys, validation, the verifying cache ([Service.Verify]);
//   - internal/store: the "api_keys" collection and its migrations;
//   - internal/api: the gRPC server and its access rules.
//
// Keys are bearer tokens "bk_<16 hex id>_<52 base32 characters of 32 random bytes>". Only the
// SHA-256 of a token is stored (a slow password hash buys nothing for 256 random bits), and
// people see only its first 11 characters. Verify remembers what the store said about a key for
// at most 30 seconds, so a revoked key is refused by every process within 30 seconds (by the
// process that revoked it at once).
package apikey

import (
	"context"
	"fmt"
	"log/slog"

	"go.mongodb.org/mongo-driver/v2/mongo"
	"google.golang.org/grpc"

	contentv1 "github.com/beaconcms/beacon/gen/beacon/content/v1"
	"github.com/beaconcms/beacon/platform/apikey/internal/api"
	"github.com/beaconcms/beacon/platform/apikey/internal/domain"
	"github.com/beaconcms/beacon/platform/apikey/internal/store"
	"github.com/beaconcms/beacon/platform/auth"
	"github.com/beaconcms/beacon/platform/mongodb"
)

// ServiceName is the gRPC service [Service.Register] adds, for health checks.
const ServiceName = "beacon.content.v1.ApiKeyService"

// Service is a ready-to-register API key service. It is the [auth.Verifier] of the auth
// interceptor. Safe for concurrent use.
type Service struct {
	keys   *domain.Service
	server *api.Server
}

var _ auth.Verifier = (*Service)(nil)

// Open applies the migrations of db (the database that holds only API keys, e.g.
// "beacon_access") and returns the service on it. Opening an up-to-date database changes
// nothing, so `beacon migrate` may call Open just to migrate. A nil logger discards.
func Open(ctx context.Context, db *mongo.Database, logger *slog.Logger) (*Service, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	logger = logger.With("service", "apikey")
	if err := mongodb.Migrate(ctx, db, store.Migrations(), logger); err != nil {
		return nil, fmt.Errorf("migrate API key database %s: %w", db.Name(), err)
	}
	keys := domain.NewService(store.New(db), logger, domain.Config{})
	return &Service{keys: keys, server: api.NewServer(keys, logger)}, nil
}

// Register adds ApiKeyService to srv. Its methods need the rules of [Rules] in the policy.
func (s *Service) Register(srv grpc.ServiceRegistrar) {
	contentv1.RegisterApiKeyServiceServer(srv, s.server)
}

// Rules is the access policy of ApiKeyService: every method needs RoleAdmin (site-limited admins
// are confined to their site's keys by the service itself).
func Rules() auth.Policy { return api.Rules() }

// Verify implements [auth.Verifier]: the Principal of an active key whose token this is. A
// malformed, unknown or revoked token is apperr Unauthenticated; other errors mean the store
// could not answer.
func (s *Service) Verify(ctx context.Context, token string) (auth.Principal, error) {
	return s.keys.Verify(ctx, token)
}

// Bootstrap creates an all-sites admin key named displayName when no active one exists and
// returns its token (created true), or "", false when one exists. The token is returned only
// here; print it once. Meant for one process at startup (`beacon dev`).
func (s *Service) Bootstrap(ctx context.Context, displayName string) (token string, created bool, err error) {
	return s.keys.Bootstrap(ctx, displayName)
}

// CreateAdmin creates an all-sites admin key named displayName and returns its name
// ("apiKeys/{id}") and token. The token is returned only here; print it once. For operators
// (`beacon admin-key`), e.g. the first key of a production install.
func (s *Service) CreateAdmin(ctx context.Context, displayName string) (name, token string, err error) {
	key, token, err := s.keys.Create(ctx, displayName, auth.RoleAdmin, "")
	if err != nil {
		return "", "", err
	}
	return key.Name(), token, nil
}
