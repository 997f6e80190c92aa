package content_test

import (
	"context"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.mongodb.org/mongo-driver/v2/bson"
	"google.golang.org/grpc"

	contentv1 "github.com/beaconcms/beacon/gen/beacon/content/v1"
	"github.com/beaconcms/beacon/platform/auth"
	"github.com/beaconcms/beacon/platform/mongodb"
	"github.com/beaconcms/beacon/platform/mongodb/mongodbtest"
	"github.com/beaconcms/beacon/platform/pagetoken"
	"github.com/beaconcms/beacon/services/content"
	"github.com/beaconcms/beacon/services/sites"
	"github.com/beaconcms/beacon/services/sites/sitecatalog"
)

// stack is the content service with the sites service and a site catalog beside it, in one
// process, as the beacon binary wires them.
type stack struct {
	content *content.Service
	sites   *sites.Service
	catalog *sitecatalog.Catalog
}

// newStack builds the stack on fresh databases, with its own client as the binary does.
func newStack(tb testing.TB) *stack {
	tb.Helper()
	return newStackWith(tb, func(*content.Config) {})
}

// newStackWith is newStack with the default content configuration changed by set.
func newStackWith(tb testing.TB, set func(*content.Config)) *stack {
	tb.Helper()
	ctx := context.Background()
	contentDB := mongodbtest.NewDatabase(tb) // for a unique name, dropped at the end
	sitesDB := mongodbtest.NewDatabase(tb)
	client, err := mongodb.Connect(ctx, mongodbtest.URI(tb))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		dctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = client.Disconnect(dctx)
	})
	tokens, err := pagetoken.NewCodec([]byte("content-facade-test-secret-0123456789"))
	if err != nil {
		tb.Fatal(err)
	}
	logger := slog.New(slog.NewTextHandler(tb.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	locks := mongodb.NewDocLocks()
	if err := sites.Migrate(ctx, client.Database(sitesDB.Name()), sites.Config{}, logger); err != nil {
		tb.Fatal(err)
	}
	siteSvc := sites.New(sites.Deps{DB: client.Database(sitesDB.Name()), Locks: locks, Tokens: tokens}, logger)
	catalog := sitecatalog.New(siteSvc, sitecatalog.Config{}, logger)
	cfg := content.DefaultConfig()
	cfg.Database = contentDB.Name()
	set(&cfg)
	if err := content.Migrate(ctx, client.Database(cfg.Database), logger); err != nil {
		tb.Fatal(err)
	}
	svc, err := content.New(ctx, content.Deps{DB: client.Database(cfg.Database), Locks: locks, Tokens: tokens, Sites: catalog}, cfg, logger)
	if err != nil {
		tb.Fatalf("content.New: %v", err)
	}
	return &stack{content: svc, sites: siteSvc, catalog: catalog}
}

// newService builds the content service of a new stack.
func newService(tb testing.TB) *content.Service { return newStack(tb).content }

// newServiceWith is newService with the default configuration changed by set.
func newServiceWith(tb testing.TB, set func(*content.Config)) *content.Service {
	tb.Helper()
	return newStackWith(tb, set).content
}

// registered returns the full names of the methods registered on srv, sorted.
func registered(srv *grpc.Server) []string {
	var out []string
	for service, info := range srv.GetServiceInfo() {
		for _, m := range info.Methods {
			out = append(out, "/"+service+"/"+m.Name)
		}
	}
	slices.Sort(out)
	return out
}

func TestRulesCoverEveryRegisteredMethod(t *testing.T) {
	srv := grpc.NewServer()
	newService(t).Register(srv)
	methods := registered(srv)
	rules := content.Rules()

	if err := rules.Validate(); err != nil {
		t.Errorf("Rules().Validate() = %v", err)
	}
	if missing := rules.MissingRules(srv); len(missing) > 0 {
		t.Errorf("registered methods without a rule: %v", missing)
	}
	// No rule names a method that is not registered (a renamed or removed RPC).
	if diff := cmp.Diff(methods, slices.Sorted(maps.Keys(rules))); diff != "" {
		t.Errorf("rules vs registered methods (-registered +rules):\n%s", diff)
	}
	for _, m := range methods {
		p := maps.Clone(rules)
		delete(p, m)
		if diff := cmp.Diff([]string{m}, p.MissingRules(srv)); diff != "" {
			t.Errorf("without the rule of %s, MissingRules (-want +got):\n%s", m, diff)
		}
	}

	var services []string
	for name := range srv.GetServiceInfo() {
		services = append(services, name)
	}
	if diff := cmp.Diff(slices.Sorted(slices.Values(services)), slices.Sorted(slices.Values(content.ServiceNames()))); diff != "" {
		t.Errorf("ServiceNames vs registered services (-registered +ServiceNames):\n%s", diff)
	}
}

func TestManagementRules(t *testing.T) {
	rules := content.Rules()
	prefix := "/" + contentv1.ArticleService_ServiceDesc.ServiceName + "/"
	for m, r := range rules {
		if !strings.HasPrefix(m, prefix) {
			continue
		}
		if r.Public || slices.Contains(r.Roles, auth.RoleDelivery) {
			t.Errorf("%s: rule %+v lets delivery keys or anonymous callers manage content", m, r)
		}
		if r.AllSitesOnly {
			t.Errorf("%s: AllSitesOnly; site keys manage their own articles", m)
		}
	}
}

// screeners is a ScreenerDirectory serving fixed "site/slug" screeners.
type screeners map[string]bool

func (s screeners) ScreenerPublished(_ context.Context, site, slug string) (bool, error) {
	return s[site+"/"+slug], nil
}

// TestSeedDemoOnce checks that the demo articles seed once and all publish under the demo
// site's publish gates (on) and link checks, and that without the self-check they link to,
// they stay drafts.
func TestSeedDemoOnce(t *testing.T) {
	for _, tt := range []struct {
		name      string
		screeners screeners
		wantLive  int
	}{
		{"with the shipped self-check", screeners{"kratom-help/kratom-self-check": true}, 4},
		{"without it", screeners{}, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			st := newStack(t)
			st.content.ResolveScreenersWith(tt.screeners)
			if seeded, err := st.sites.SeedDemo(t.Context()); err != nil || !seeded {
				t.Fatalf("sites.SeedDemo = %v, %v", seeded, err)
			}
			site, _, err := st.catalog.Lookup(t.Context(), "kratom-help")
			if err != nil || !site.PublishGates || !site.ExampleContent {
				t.Fatalf("demo site: gates %v, example content %v, %v; want both on", site.PublishGates, site.ExampleContent, err)
			}
			for i, want := range []bool{true, false} {
				seeded, err := st.content.SeedDemo(t.Context())
				if err != nil || seeded != want {
					t.Fatalf("SeedDemo call %d = %v, %v; want %v, nil", i+1, seeded, err, want)
				}
			}
			if live := st.content.LiveSlugs("kratom-help"); len(live) != tt.wantLive {
				t.Errorf("live demo articles %v, want %d", live, tt.wantLive)
			}
		})
	}
}

func TestRunStopsWithItsContext(t *testing.T) {
	svc := newService(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx) }()
	select {
	case err := <-done:
		t.Fatalf("Run returned %v before its context ended", err)
	case <-time.After(100 * time.Millisecond):
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run after a normal stop = %v, want nil", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return within 10s of its context ending")
	}
}

// TestRunReportsALoopThatCannotStart: one failing loop stops the others and Run returns its error
// (instead of the loop dying silently while the rest runs on).
func TestRunReportsALoopThatCannotStart(t *testing.T) {
	for _, tc := range []struct {
		name string
		set  func(*content.Config)
	}{
		{"scheduler", func(c *content.Config) { c.SchedulerInterval = 0 }},
		{"delivery poll", func(c *content.Config) { c.DeliveryPollInterval = -time.Second }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			svc := newServiceWith(t, tc.set)
			done := make(chan error, 1)
			go func() { done <- svc.Run(context.Background()) }()
			select {
			case err := <-done:
				if err == nil || !strings.Contains(strings.ToLower(err.Error()), "interval") {
					t.Fatalf("Run = %v, want an error about the interval", err)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("Run kept running with a loop that could not start")
			}
		})
	}
}

// TestOpenDeliveryOnlyReads: a read side opened apart from the content service (a gateway on its
// own) never migrates the content database and never prunes its change log; the content service
// does both.
func TestOpenDeliveryOnlyReads(t *testing.T) {
	ctx := context.Background()
	db := mongodbtest.NewDatabase(t)
	client, err := mongodb.Connect(ctx, mongodbtest.URI(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = client.Disconnect(context.Background()) })
	// A change-log entry an hour old: the content service would prune it within a minute.
	old := bson.D{{Key: "_id", Value: "x/1"}, {Key: "schemaVersion", Value: 1}, {Key: "articleId", Value: "x"},
		{Key: "revision", Value: int64(1)}, {Key: "time", Value: time.Now().Add(-time.Hour).UTC()}}
	if _, err := db.Collection("article_changes").InsertOne(ctx, old); err != nil {
		t.Fatal(err)
	}
	tokens, err := pagetoken.NewCodec([]byte("content-facade-test-secret-0123456789"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := content.DefaultConfig()
	cfg.Database = db.Name()
	cfg.DeliveryPollInterval = 10 * time.Millisecond
	d, err := content.OpenDelivery(ctx, client, cfg, tokens, newStack(t).catalog, nil, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithTimeout(ctx, 300*time.Millisecond) // many polls
	defer cancel()
	if err := d.Run(runCtx); err != nil {
		t.Fatal(err)
	}
	inspect := mongodb.WithScan(ctx, "test inspects the store")
	names, err := db.ListCollectionNames(inspect, bson.D{})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(names, []string{"article_changes"}) {
		t.Errorf("collections after OpenDelivery and Run: %v; want only the one the test made (no migrations)", names)
	}
	if n, err := db.Collection("article_changes").CountDocuments(inspect, bson.D{}); err != nil || n != 1 {
		t.Errorf("change-log entries after Run: %d, %v; want the old one kept (a read side never prunes)", n, err)
	}
}

// TestRunPrunesTheChangeLog: the content service, which writes the change log, prunes it.
func TestRunPrunesTheChangeLog(t *testing.T) {
	ctx := context.Background()
	var dbName string
	svc := newServiceWith(t, func(c *content.Config) {
		c.ChangeLogRetention, c.ChangeLogPruneInterval = time.Minute, 10*time.Millisecond
		dbName = c.Database
	})
	client, err := mongodb.Connect(ctx, mongodbtest.URI(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = client.Disconnect(context.Background()) })
	changes := client.Database(dbName).Collection("article_changes")
	entry := func(id string, age time.Duration) bson.D {
		return bson.D{{Key: "_id", Value: id}, {Key: "schemaVersion", Value: 1}, {Key: "articleId", Value: "x"},
			{Key: "revision", Value: int64(1)}, {Key: "time", Value: time.Now().Add(-age).UTC()}}
	}
	if _, err := changes.InsertMany(ctx, []any{entry("old/1", time.Hour), entry("new/1", 0)}); err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- svc.Run(runCtx) }()
	inspect := mongodb.WithScan(ctx, "test inspects the store")
	deadline := time.Now().Add(10 * time.Second)
	for {
		n, err := changes.CountDocuments(inspect, bson.D{{Key: "_id", Value: "old/1"}})
		if err == nil && n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the old change-log entry was not pruned within 10s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if n, err := changes.CountDocuments(inspect, bson.D{{Key: "_id", Value: "new/1"}}); err != nil || n != 1 {
		t.Errorf("a recent entry was pruned (%d, %v)", n, err)
	}
}
