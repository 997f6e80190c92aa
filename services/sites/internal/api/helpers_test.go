package api_test

import (
	"context"
	"log/slog"
	"net"
	"sync"
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"

	sitesv1 "github.com/beaconcms/beacon/gen/beacon/sites/v1"
	"github.com/beaconcms/beacon/platform/apperr"
	"github.com/beaconcms/beacon/platform/auth"
	"github.com/beaconcms/beacon/platform/grpcserver"
	"github.com/beaconcms/beacon/platform/mongodb"
	"github.com/beaconcms/beacon/platform/mongodb/mongodbtest"
	"github.com/beaconcms/beacon/platform/pagetoken"
	"github.com/beaconcms/beacon/services/sites/internal/api"
	"github.com/beaconcms/beacon/services/sites/internal/domain"
	"github.com/beaconcms/beacon/services/sites/internal/store"
)

// The API keys the fake verifier knows. keyNone sends no authorization at all.
const (
	keyAdmin    = "admin-secret"
	keyEditorA  = "editor-a-secret" // editor limited to site-a
	keyViewer   = "viewer-secret"   // viewer of all sites
	keyDelivery = "delivery-secret" // delivery key of site-a
	keyUnknown  = "unknown-secret"
	keyNone     = ""
)

type fakeVerifier map[string]auth.Principal

func (f fakeVerifier) Verify(_ context.Context, secret string) (auth.Principal, error) {
	p, ok := f[secret]
	if !ok {
		return auth.Principal{}, apperr.New(apperr.Unauthenticated, "no such key")
	}
	return p, nil
}

var verifier = fakeVerifier{
	keyAdmin:    {KeyName: "apiKeys/admin", Role: auth.RoleAdmin},
	keyEditorA:  {KeyName: "apiKeys/editor-a", Role: auth.RoleEditor, Site: "site-a"},
	keyViewer:   {KeyName: "apiKeys/viewer", Role: auth.RoleViewer},
	keyDelivery: {KeyName: "apiKeys/delivery", Role: auth.RoleDelivery, Site: "site-a"},
}

// env is the site API behind Beacon's real interceptor chain, on a fresh database holding
// sites site-a and site-b.
type env struct {
	sites sitesv1.SiteServiceClient

	mu     sync.Mutex
	called map[string]bool // full method names the client has called
}

func newEnv(tb testing.TB) *env {
	tb.Helper()
	db := mongodbtest.NewDatabase(tb)
	logger := slog.New(slog.NewTextHandler(tb.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	if err := mongodb.Migrate(context.Background(), db, store.Migrations(""), logger); err != nil {
		tb.Fatalf("migrating: %v", err)
	}
	tokens, err := pagetoken.NewCodec([]byte("test-page-token-secret-0123456789abcdef"))
	if err != nil {
		tb.Fatal(err)
	}
	svc := domain.NewService(store.New(db, mongodb.NewDocLocks(), logger), nil, logger)
	policy, err := auth.Merge(api.Rules(), auth.HealthAndReflectionRules())
	if err != nil {
		tb.Fatal(err)
	}
	srv := grpcserver.New(grpcserver.Config{}, auth.NewInterceptor(policy, verifier, logger), logger)
	sitesv1.RegisterSiteServiceServer(srv, api.NewServer(svc, tokens))
	if missing := policy.MissingRules(srv); len(missing) > 0 {
		tb.Fatalf("methods without an access rule: %v", missing)
	}
	lis := bufconn.Listen(1 << 20)
	go func() { _ = srv.Serve(lis) }()

	e := &env{called: map[string]bool{}}
	record := func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		e.mu.Lock()
		e.called[method] = true
		e.mu.Unlock()
		return invoker(ctx, method, req, reply, cc, opts...)
	}
	conn, err := grpc.NewClient("passthrough:///bufnet",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithChainUnaryInterceptor(record))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		_ = conn.Close()
		srv.Stop()
	})
	e.sites = sitesv1.NewSiteServiceClient(conn)
	for _, id := range []string{"site-a", "site-b"} {
		e.createSite(tb, id)
	}
	return e
}

// as returns a context carrying key as bearer token (none for keyNone).
func as(ctx context.Context, key string) context.Context {
	if key == keyNone {
		return ctx
	}
	return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+key)
}

func (e *env) createSite(tb testing.TB, id string) *sitesv1.Site {
	tb.Helper()
	s, err := e.sites.CreateSite(as(context.Background(), keyAdmin), &sitesv1.CreateSiteRequest{
		SiteId: id, Site: &sitesv1.Site{DisplayName: "Site " + id, BaseUrl: "https://" + id + ".example.org"},
	})
	if err != nil {
		tb.Fatalf("CreateSite(%s): %v", id, err)
	}
	return s
}

// badRequestFields returns the field names of err's errdetails.BadRequest, or nil.
func badRequestFields(err error) []string {
	var fields []string
	for _, d := range status.Convert(err).Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, v := range br.GetFieldViolations() {
				fields = append(fields, v.GetField())
			}
		}
	}
	return fields
}
