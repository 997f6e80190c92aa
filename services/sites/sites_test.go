package sites_test

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strings"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/test/bufconn"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	sitesv1 "github.com/beaconcms/beacon/gen/beacon/sites/v1"
	"github.com/beaconcms/beacon/platform/apperr"
	"github.com/beaconcms/beacon/platform/auth"
	"github.com/beaconcms/beacon/platform/grpcserver"
	"github.com/beaconcms/beacon/platform/mongodb"
	"github.com/beaconcms/beacon/platform/mongodb/mongodbtest"
	"github.com/beaconcms/beacon/platform/pagetoken"
	"github.com/beaconcms/beacon/services/sites"
	"github.com/beaconcms/beacon/services/sites/sitecatalog"
)

// The keys the fake verifier knows.
const (
	keyAdmin   = "admin-secret"
	keyService = "service-secret" // viewer, all sites: what --service-key holds
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
	keyAdmin:   {KeyName: "apiKeys/admin", Role: auth.RoleAdmin},
	keyService: {KeyName: "apiKeys/service", Role: auth.RoleViewer},
}

// newService returns a migrated sites service on a fresh database.
func newService(tb testing.TB) *sites.Service {
	tb.Helper()
	db := mongodbtest.NewDatabase(tb)
	if err := sites.Migrate(tb.Context(), db, sites.Config{}, nil); err != nil {
		tb.Fatal(err)
	}
	tokens, err := pagetoken.NewCodec([]byte("sites-facade-test-secret-0123456789"))
	if err != nil {
		tb.Fatal(err)
	}
	return sites.New(sites.Deps{DB: db, Locks: mongodb.NewDocLocks(), Tokens: tokens}, nil)
}

// serve serves svc over bufconn behind Beacon's interceptors and returns a client connection.
func serve(tb testing.TB, svc *sites.Service) *grpc.ClientConn {
	tb.Helper()
	logger := slog.New(slog.DiscardHandler)
	policy, err := auth.Merge(sites.Rules(), auth.HealthAndReflectionRules())
	if err != nil {
		tb.Fatal(err)
	}
	srv := grpcserver.New(grpcserver.Config{}, auth.NewInterceptor(policy, verifier, logger), logger)
	svc.Register(srv)
	if missing := policy.MissingRules(srv); len(missing) > 0 {
		tb.Fatalf("methods without a rule: %v", missing)
	}
	var names []string
	for name := range srv.GetServiceInfo() {
		if !strings.HasPrefix(name, "grpc.") {
			names = append(names, name)
		}
	}
	if !slices.Equal(names, sites.ServiceNames()) {
		tb.Errorf("registered %v, ServiceNames() = %v", names, sites.ServiceNames())
	}
	lis := bufconn.Listen(1 << 20)
	go func() { _ = srv.Serve(lis) }()
	conn, err := grpc.NewClient("passthrough:///bufnet",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = conn.Close(); srv.Stop() })
	return conn
}

func admin(ctx context.Context) context.Context {
	return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+keyAdmin)
}

func TestRules(t *testing.T) {
	allSitesOnly := map[string]bool{
		sitesv1.SiteService_CreateSite_FullMethodName:   true,
		sitesv1.SiteService_DeleteSite_FullMethodName:   true,
		sitesv1.SiteService_UndeleteSite_FullMethodName: true,
	}
	for m, r := range sites.Rules() {
		if r.Public || slices.Contains(r.Roles, auth.RoleDelivery) {
			t.Errorf("%s: rule %+v lets delivery keys or anonymous callers manage sites", m, r)
		}
		if r.AllSitesOnly != allSitesOnly[m] {
			t.Errorf("%s: AllSitesOnly = %v, want %v", m, r.AllSitesOnly, allSitesOnly[m])
		}
	}
}

// TestInProcessSource: the facade is the catalog's source in one process, and its writes reach
// the catalog at once, without a refresh.
func TestInProcessSource(t *testing.T) {
	svc := newService(t)
	client := sitesv1.NewSiteServiceClient(serve(t, svc))
	c := sitecatalog.New(svc, sitecatalog.Config{}, nil)
	notified := 0
	c.Subscribe(func() { notified++ })
	ctx := t.Context()
	if _, err := client.CreateSite(admin(ctx), &sitesv1.CreateSiteRequest{SiteId: "kh", Site: &sitesv1.Site{DisplayName: "KH", BaseUrl: "https://kh.example.org",
		ResourceStaleAfterDays: 30, HideStaleResources: true}}); err != nil {
		t.Fatal(err)
	}
	if got := c.All(); len(got) != 1 || got[0].ID != "kh" || got[0].BaseURL != "https://kh.example.org" || notified != 1 ||
		got[0].ResourceStaleAfterDays != 30 || !got[0].HideStaleResources {
		t.Fatalf("catalog after an in-process create = %+v (%d notifications); want kh at once", got, notified)
	}
	if _, err := client.DeleteSite(admin(ctx), &sitesv1.DeleteSiteRequest{Name: "sites/kh"}); err != nil {
		t.Fatal(err)
	}
	if s, _, _ := c.Lookup(ctx, "kh"); !s.Deleted() {
		t.Errorf("catalog after an in-process delete = %+v, want it deleted at once", s)
	}
	if err := c.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if s, _, _ := c.Lookup(ctx, "kh"); !s.Deleted() || s.Etag == "" {
		t.Errorf("after a full load the deleted site reads %+v", s)
	}
}

// TestGRPCSource: a catalog in another process reads the sites service over gRPC with the
// service key: every page, deleted sites included.
func TestGRPCSource(t *testing.T) {
	svc := newService(t)
	conn := serve(t, svc)
	client := sitesv1.NewSiteServiceClient(conn)
	ctx := t.Context()
	const n = 103 // more than one page of 100
	for i := range n {
		if _, err := svc.EnsureSite(ctx, fmt.Sprintf("site-%03d", i), "Site", "https://example.org"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := client.DeleteSite(admin(ctx), &sitesv1.DeleteSiteRequest{Name: "sites/site-007"}); err != nil {
		t.Fatal(err)
	}
	if _, err := client.UpdateSite(admin(ctx), &sitesv1.UpdateSiteRequest{Site: &sitesv1.Site{Name: "sites/site-008", ResourceStaleAfterDays: 45, HideStaleResources: true,
		LintTuning:     &sitesv1.LintTuning{DisabledRules: []string{"stigma-soft-term"}, RuleSeverities: map[string]sitesv1.LintTuning_Severity{"absolute-safety-claim": sitesv1.LintTuning_SEVERITY_ERROR}},
		AllowedOrigins: []string{"https://app.example.org"}},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"resource_stale_after_days", "hide_stale_resources", "lint_tuning", "allowed_origins"}}}); err != nil {
		t.Fatal(err)
	}

	src := sitecatalog.NewGRPCSource(conn, keyService)
	all, err := src.ListSites(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != n || all[0].ID != "site-000" || all[n-1].ID != fmt.Sprintf("site-%03d", n-1) {
		t.Fatalf("ListSites returned %d sites (%v ... ), want all %d", len(all), all[0].ID, n)
	}
	if !all[7].Deleted() || all[8].Deleted() || all[8].Etag == "" || all[8].CreateTime.IsZero() ||
		all[8].ResourceStaleAfterDays != 45 || !all[8].HideStaleResources ||
		!slices.Equal(all[8].LintTuning.Disable, []string{"stigma-soft-term"}) || all[8].LintTuning.Severity["absolute-safety-claim"] != "error" ||
		!slices.Equal(all[8].AllowedOrigins, []string{"https://app.example.org"}) {
		t.Errorf("sites 7 and 8 = %+v, %+v; want 7 deleted, 8 live with its etag and times", all[7], all[8])
	}
	if _, found, err := src.GetSite(ctx, "nowhere"); found || err != nil {
		t.Errorf("GetSite(nowhere) = %v, %v; want not found", found, err)
	}
	if s, found, err := src.GetSite(ctx, "site-007"); !found || err != nil || !s.Deleted() {
		t.Errorf("GetSite(site-007) = %+v, %v, %v; want the deleted site", s, found, err)
	}
	if _, err := sitecatalog.NewGRPCSource(conn, "wrong").ListSites(ctx); err == nil {
		t.Errorf("ListSites with an unknown key succeeded")
	}

	c := sitecatalog.New(src, sitecatalog.Config{}, nil)
	if err := c.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := client.UndeleteSite(admin(ctx), &sitesv1.UndeleteSiteRequest{Name: "sites/site-007"}); err != nil {
		t.Fatal(err)
	}
	if s, _, _ := c.Lookup(ctx, "site-007"); !s.Deleted() {
		t.Fatalf("a gRPC-fed catalog saw the undelete before refreshing: %+v", s)
	}
	if err := c.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if s, _, _ := c.Lookup(ctx, "site-007"); s.Deleted() {
		t.Errorf("after a refresh site-007 = %+v, want it undeleted", s)
	}
}

// TestMigrationCopiesLegacySites: sites an earlier release kept in the content database are
// copied once into the sites database, as they were.
func TestMigrationCopiesLegacySites(t *testing.T) {
	ctx := mongodb.WithScan(t.Context(), "test: set up legacy data")
	legacy := mongodbtest.NewDatabase(t)
	db := mongodbtest.NewDatabase(t)
	doc := func(id, name string) bson.D {
		return bson.D{{Key: "_id", Value: id}, {Key: "schemaVersion", Value: 1}, {Key: "displayName", Value: name},
			{Key: "baseUrl", Value: "https://" + id + ".example.org"}, {Key: "defaultLocale", Value: "en"},
			{Key: "crisisLineText", Value: "Call 988"}, {Key: "public", Value: true}, {Key: "cacheMaxAgeSeconds", Value: 0},
			{Key: "createTime", Value: bson.DateTime(1000)}, {Key: "updateTime", Value: bson.DateTime(2000)}, {Key: "revision", Value: int64(3)}}
	}
	if _, err := legacy.Collection("sites").InsertMany(ctx, []any{doc("old-a", "Old A"), doc("old-b", "Old B")}); err != nil {
		t.Fatal(err)
	}
	// A site already in the sites database is left as it is.
	if _, err := db.Collection("sites").InsertOne(ctx, doc("old-b", "Newer B")); err != nil {
		t.Fatal(err)
	}
	cfg := sites.Config{Database: db.Name(), LegacyDatabase: legacy.Name()}
	for range 2 { // the second run is a no-op
		if err := sites.Migrate(ctx, db, cfg, nil); err != nil {
			t.Fatal(err)
		}
	}
	tokens, _ := pagetoken.NewCodec([]byte("sites-facade-test-secret-0123456789"))
	svc := sites.New(sites.Deps{DB: db, Locks: mongodb.NewDocLocks(), Tokens: tokens}, nil)
	all, err := svc.ListSites(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 2 || all[0].ID != "old-a" || all[0].DisplayName != "Old A" || all[0].CrisisLineText != "Call 988" || all[1].DisplayName != "Newer B" {
		t.Errorf("sites after the migration = %+v", all)
	}
}
