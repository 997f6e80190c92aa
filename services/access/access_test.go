package access_test

import (
	"context"
	"log/slog"
	"net"
	"slices"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"

	accessv1 "github.com/beaconcms/beacon/gen/beacon/access/v1"
	sitesv1 "github.com/beaconcms/beacon/gen/beacon/sites/v1"
	"github.com/beaconcms/beacon/platform/apperr"
	"github.com/beaconcms/beacon/platform/auth"
	"github.com/beaconcms/beacon/platform/grpcserver"
	"github.com/beaconcms/beacon/platform/mongodb"
	"github.com/beaconcms/beacon/platform/mongodb/mongodbtest"
	"github.com/beaconcms/beacon/platform/pagetoken"
	"github.com/beaconcms/beacon/services/access"
	"github.com/beaconcms/beacon/services/sites"
	"github.com/beaconcms/beacon/services/sites/sitecatalog"
)

// newSites returns a sites service on a fresh database and a catalog fed by it in process, as
// the beacon binary wires them.
func newSites(tb testing.TB, locks *mongodb.DocLocks) (*sites.Service, *sitecatalog.Catalog) {
	tb.Helper()
	db := mongodbtest.NewDatabase(tb)
	if err := sites.Migrate(tb.Context(), db, sites.Config{}, nil); err != nil {
		tb.Fatal(err)
	}
	tokens, err := pagetoken.NewCodec([]byte("access-facade-test-secret-0123456789"))
	if err != nil {
		tb.Fatal(err)
	}
	svc := sites.New(sites.Deps{DB: db, Locks: locks, Tokens: tokens}, nil)
	return svc, sitecatalog.New(svc, sitecatalog.Config{}, nil)
}

// TestWiring wires the service as the beacon binary does and drives it end to end.
func TestWiring(t *testing.T) {
	ctx := t.Context()
	db := mongodbtest.NewDatabase(t)
	locks := mongodb.NewDocLocks()
	siteSvc, catalog := newSites(t, locks)
	if _, err := siteSvc.EnsureSite(ctx, "kratom-help", "Kratom Help", "https://kratom-help.example.org"); err != nil {
		t.Fatal(err)
	}
	if err := access.Migrate(ctx, db, nil); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	if err := access.Migrate(ctx, db, nil); err != nil { // already migrated
		t.Fatalf("Migrate again: %v", err)
	}
	keys := access.New(access.Deps{DB: db, Locks: locks, Sites: catalog}, nil)

	admin, created, err := keys.Bootstrap(ctx, "bootstrap admin")
	if err != nil || !created {
		t.Fatalf("Bootstrap = %v, %v", created, err)
	}
	if _, created, err := keys.Bootstrap(ctx, "bootstrap admin"); err != nil || created {
		t.Fatalf("second Bootstrap = %v, %v; want no new key", created, err)
	}
	p, err := keys.Verify(ctx, admin)
	if err != nil || p.Role != auth.RoleAdmin || p.Site != "" || p.KeyName != "apiKeys/"+admin[3:19] {
		t.Fatalf("Verify(bootstrap key) = %+v, %v", p, err)
	}
	last := "a"
	if admin[len(admin)-1] == 'a' {
		last = "b"
	}
	if _, err := keys.Verify(ctx, admin[:len(admin)-1]+last); !apperr.Is(err, apperr.Unauthenticated) {
		t.Errorf("Verify(tampered key) = %v, want Unauthenticated", err)
	}

	policy, err := auth.Merge(auth.HealthAndReflectionRules(), access.Rules(), sites.Rules())
	if err != nil {
		t.Fatal(err)
	}
	srv := grpcserver.New(grpcserver.Config{Reflection: true}, auth.NewInterceptor(policy, keys, nil), slog.New(slog.DiscardHandler))
	keys.Register(srv)
	siteSvc.Register(srv)
	var registered []string
	for name := range srv.GetServiceInfo() {
		if !strings.HasPrefix(name, "grpc.") {
			registered = append(registered, name)
		}
	}
	slices.Sort(registered)
	if want := slices.Sorted(slices.Values(append(access.ServiceNames(), sites.ServiceNames()...))); !slices.Equal(registered, want) {
		t.Errorf("registered services %v, ServiceNames() give %v", registered, want)
	}
	if missing := policy.MissingRules(srv); len(missing) != 0 {
		t.Errorf("methods without a rule: %v", missing)
	}
	lis := bufconn.Listen(1 << 20)
	go srv.Serve(lis) //nolint:errcheck // returns when stopped
	t.Cleanup(srv.Stop)
	conn, err := grpc.NewClient("passthrough:///bufnet",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	client := accessv1.NewApiKeyServiceClient(conn)

	actx := metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+admin)
	resp, err := client.CreateApiKey(actx, &accessv1.CreateApiKeyRequest{ApiKey: &accessv1.ApiKey{
		DisplayName: "frontend", Role: accessv1.ApiKey_ROLE_DELIVERY, Site: "sites/kratom-help",
	}})
	if err != nil {
		t.Fatalf("CreateApiKey: %v", err)
	}
	if p, err := keys.Verify(ctx, resp.GetSecret()); err != nil || p.Role != auth.RoleDelivery || p.Site != "kratom-help" {
		t.Errorf("Verify(new key) = %+v, %v", p, err)
	}
	list, err := client.ListApiKeys(actx, &accessv1.ListApiKeysRequest{})
	if err != nil || len(list.GetApiKeys()) != 2 {
		t.Errorf("ListApiKeys = %v, %v; want 2 keys", list, err)
	}
	if _, err := client.ListApiKeys(ctx, &accessv1.ListApiKeysRequest{}); status.Code(err) != codes.Unauthenticated {
		t.Errorf("ListApiKeys without a key: %v, want Unauthenticated", err)
	}

	// The site's keys follow the site through the catalog: refused while it is deleted, back
	// after the undelete. No key is made for a site that does not exist.
	siteClient := sitesv1.NewSiteServiceClient(conn)
	if _, err := siteClient.DeleteSite(actx, &sitesv1.DeleteSiteRequest{Name: "sites/kratom-help"}); err != nil {
		t.Fatal(err)
	}
	if _, err := keys.Verify(ctx, resp.GetSecret()); !apperr.Is(err, apperr.Unauthenticated) {
		t.Errorf("Verify(key of a deleted site) = %v, want Unauthenticated", err)
	}
	if _, err := siteClient.UndeleteSite(actx, &sitesv1.UndeleteSiteRequest{Name: "sites/kratom-help"}); err != nil {
		t.Fatal(err)
	}
	if p, err := keys.Verify(ctx, resp.GetSecret()); err != nil || p.Site != "kratom-help" {
		t.Errorf("Verify(key of an undeleted site) = %+v, %v", p, err)
	}
	_, err = client.CreateApiKey(actx, &accessv1.CreateApiKeyRequest{ApiKey: &accessv1.ApiKey{
		DisplayName: "nowhere", Role: accessv1.ApiKey_ROLE_DELIVERY, Site: "sites/no-such-site",
	}})
	if status.Code(err) != codes.FailedPrecondition || !strings.Contains(err.Error(), "api_key.site") {
		t.Errorf("CreateApiKey for a missing site = %v, want FailedPrecondition naming api_key.site", err)
	}
}
