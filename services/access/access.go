// Package access is the access service: it issues, verifies and revokes the API keys every
// Beacon service accepts, manages the users of the editor console and their sessions, and serves
// beacon.access.v1.ApiKeyService, UserService and SessionService. It is the exported facade
// the beacon binary wires; everything else is internal:
//
//   - internal/domain: keys, users and sessions, validation, the verifying caches
//     ([Service.Verify]);
//   - internal/store: the "api_keys", "users" and "sessions" collections and their migrations;
//   - internal/api: the gRPC servers and their access rules.
//
// Keys are bearer tokens "bk_<16 hex id>_<52 base32 characters of 32 random bytes>". Only the
// SHA-256 of a token is stored (a slow password hash buys nothing for 256 random bits), and
// people see only its first 11 characters. Verify remembers what the store said about a key for
// at most 30 seconds, so a revoked key is refused by every process within 30 seconds (by the
// process that revoked it at once). A key limited to a site works only while the site exists and
// is not deleted, as the process's site catalog says.
//
// Users sign in with an email and a password (argon2id, OWASP parameters) and get a session: a
// bearer token "bs_<52 base32 characters>" (only its SHA-256 is stored) that the auth
// interceptor accepts like a key and resolves to the user's Principal: KeyName "users/{email}",
// and the user's role for the site the credential names ("bs_...~<site>"), else its all-sites
// role, else its first. Roles per site are those of keys and pass the same policy. A session
// ends 12 hours after its last activity, 7 days after sign-in, at sign-out, and, with every other
// session of the user, at a password change, "sign out everywhere" and when the user is
// disabled (a per-user epoch, so one write revokes them all).
//
// Verification is a read-only, by-_id, cached read of the access database from every process
// that serves gRPC (a documented exception to "each service reads only its own database"); only
// the access service writes it.
package access

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"

	accessv1 "github.com/beaconcms/beacon/gen/beacon/access/v1"
	"github.com/beaconcms/beacon/platform/auth"
	"github.com/beaconcms/beacon/platform/idempotency"
	"github.com/beaconcms/beacon/platform/mongodb"
	"github.com/beaconcms/beacon/services/access/internal/api"
	"github.com/beaconcms/beacon/services/access/internal/domain"
	"github.com/beaconcms/beacon/services/access/internal/store"
	"github.com/beaconcms/beacon/services/sites/sitecatalog"
)

// Config is the access service's configuration.
type Config struct {
	// Database is the MongoDB database holding API keys, console users and sessions.
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
	keys     *domain.Service
	users    *domain.Users
	userDB   *store.Users
	server   *api.Server
	userAPI  *api.UserServer
	sessions *api.SessionServer
	logger   *slog.Logger
}

var _ auth.Verifier = (*Service)(nil)

// New builds the service on deps.DB, which [Migrate] must have brought up to date. A nil logger
// discards.
func New(deps Deps, logger *slog.Logger) *Service {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	logger = logger.With("service", "access")
	sites := siteStates{deps.Sites}
	keys := domain.NewService(store.New(deps.DB, deps.Locks), sites, logger, domain.Config{})
	userDB := store.NewUsers(deps.DB, deps.Locks)
	users := domain.NewUsers(userDB, sites, logger, domain.UsersConfig{})
	return &Service{keys: keys, users: users, userDB: userDB, server: api.NewServer(keys, logger),
		userAPI: api.NewUserServer(users, logger), sessions: api.NewSessionServer(users, logger), logger: logger}
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

// Register adds ApiKeyService, UserService and SessionService to srv. Their methods need the
// rules of [Rules] in the policy.
func (s *Service) Register(srv grpc.ServiceRegistrar) {
	accessv1.RegisterApiKeyServiceServer(srv, s.server)
	accessv1.RegisterUserServiceServer(srv, s.userAPI)
	accessv1.RegisterSessionServiceServer(srv, s.sessions)
}

// Rules is the access policy of the access service: ApiKeyService and UserService need
// RoleAdmin (site-limited admins are confined to their site's keys and users by the service
// itself); SessionService's CreateSession (sign-in) is public, its other methods need a session.
func Rules() auth.Policy {
	policy, err := auth.Merge(api.Rules(), api.UserRules())
	if err != nil {
		panic(err) // two fixed policies of this package; a test merges them
	}
	return policy
}

// RegisterGateway adds the REST routes of ApiKeyService and UserService to mux; calls go
// through conn. SessionService has none: the console is its web face.
func RegisterGateway(ctx context.Context, mux *runtime.ServeMux, conn *grpc.ClientConn) error {
	if err := accessv1.RegisterApiKeyServiceHandler(ctx, mux, conn); err != nil {
		return err
	}
	return accessv1.RegisterUserServiceHandler(ctx, mux, conn)
}

// IdempotentCreates are the service's create methods that take an AIP-155 request_id, for
// platform/idempotency's interceptor (records in the service's own database). One-time secrets
// are never stored: a repeated CreateApiKey returns the key without its secret, a repeated
// CreateUser the user without its generated password; a CreateUser request's fingerprint is an
// argon2id hash, since it carries a password.
func IdempotentCreates() map[string]idempotency.Method {
	return map[string]idempotency.Method{
		accessv1.ApiKeyService_CreateApiKey_FullMethodName: {Redact: func(m proto.Message) {
			if r, ok := m.(*accessv1.CreateApiKeyResponse); ok {
				r.Secret = ""
			}
		}},
		accessv1.UserService_CreateUser_FullMethodName: {SecretInput: true, Redact: func(m proto.Message) {
			if r, ok := m.(*accessv1.CreateUserResponse); ok {
				r.GeneratedPassword = ""
			}
		}},
	}
}

// ServiceNames are the gRPC service names Register adds, for health checks.
func ServiceNames() []string {
	return []string{accessv1.ApiKeyService_ServiceDesc.ServiceName, accessv1.UserService_ServiceDesc.ServiceName,
		accessv1.SessionService_ServiceDesc.ServiceName}
}

// Run does the service's background work until ctx ends: once, at start, it deletes the
// sessions that have ended (a scan of the sessions collection, which nothing else scans).
func (s *Service) Run(ctx context.Context) error {
	if n, err := s.userDB.PruneSessions(ctx, time.Now()); err != nil {
		s.logger.WarnContext(ctx, "pruning ended sessions failed; they stay refused", "err", err)
	} else if n > 0 {
		s.logger.InfoContext(ctx, "pruned ended sessions", "count", n)
	}
	<-ctx.Done()
	return nil
}

// Verify implements [auth.Verifier]: the Principal of an active key whose token this is, or of
// the user of an open session ("bs_..." credentials). A malformed, unknown or revoked token, a
// key of a missing or deleted site, or an ended session is apperr Unauthenticated; other errors
// mean the store or the site catalog could not answer.
func (s *Service) Verify(ctx context.Context, token string) (auth.Principal, error) {
	if domain.IsSessionCredential(token) {
		return s.users.Verify(ctx, token)
	}
	return s.keys.Verify(ctx, token)
}

// BootstrapAdminUser creates an all-sites admin user with this email and display name and a
// generated password when no active admin user exists, and returns the password (created
// true); "", false when one exists. Meant for one process at startup (`beacon dev`).
func (s *Service) BootstrapAdminUser(ctx context.Context, email, displayName string) (password string, created bool, err error) {
	return s.users.BootstrapAdmin(ctx, email, displayName)
}

// CreateAdminUser creates an all-sites admin user with a generated password and returns its
// name ("users/{email}") and the password, shown only here. For operators (`beacon admin-user`).
func (s *Service) CreateAdminUser(ctx context.Context, email, displayName string) (name, password string, err error) {
	u, password, err := s.users.CreateUser(ctx, email, displayName, []domain.RoleBinding{{Role: auth.RoleAdmin}}, "")
	if err != nil {
		return "", "", err
	}
	return u.Name(), password, nil
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
