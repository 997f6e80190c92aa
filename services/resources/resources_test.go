package resources_test

import (
	"context"
	"log/slog"
	"net"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/test/bufconn"

	resourcesv1 "github.com/beaconcms/beacon/gen/beacon/resources/v1"
	"github.com/beaconcms/beacon/platform/auth"

	"github.com/beaconcms/beacon/platform/mongodb"
	"github.com/beaconcms/beacon/platform/mongodb/mongodbtest"
	"github.com/beaconcms/beacon/platform/pagetoken"
	"github.com/beaconcms/beacon/services/resources"
	"github.com/beaconcms/beacon/services/sites/sitecatalog"
)

type oneSite struct{}

func (oneSite) Lookup(_ context.Context, id string) (sitecatalog.Site, bool, error) {
	return sitecatalog.Site{ID: id}, id == "kratom-help", nil
}

func TestFacadeSeedsTheDemoOnceAndStops(t *testing.T) {
	ctx := context.Background()
	logger := slog.New(slog.DiscardHandler)
	db := mongodbtest.NewDatabase(t)
	if err := resources.Migrate(ctx, db, logger); err != nil {
		t.Fatal(err)
	}
	tokens, err := pagetoken.NewCodec([]byte("test-page-token-secret-0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := resources.DefaultConfig()
	cfg.PollInterval, cfg.PruneInterval = 20*time.Millisecond, 20*time.Millisecond
	svc, err := resources.New(ctx, resources.Deps{DB: db, Locks: mongodb.NewDocLocks(), Tokens: tokens, Sites: oneSite{}}, cfg, logger)
	if err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- svc.Run(runCtx) }()
	created, err := svc.SeedDemo(ctx)
	if err != nil || created != 8 {
		t.Fatalf("first seed: %d, %v; want 8 resources", created, err)
	}
	if created, err := svc.SeedDemo(ctx); err != nil || created != 0 {
		t.Errorf("second seed: %d, %v; want nothing new", created, err)
	}
	// The demo directories: the crisis lines in the editor's order, and a rule-based directory.
	srv := grpc.NewServer(grpc.ChainUnaryInterceptor(func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		return h(auth.WithPrincipal(ctx, auth.Principal{KeyName: "apiKeys/test", Role: auth.RoleAdmin}), req)
	}))
	svc.Register(srv)
	lis := bufconn.Listen(1 << 20)
	go func() { _ = srv.Serve(lis) }()
	defer srv.Stop()
	conn, err := grpc.NewClient("passthrough:///bufnet", grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	delivery := resourcesv1.NewDeliveryServiceClient(conn)
	lines, err := delivery.ListCrisisLines(ctx, &resourcesv1.ListCrisisLinesRequest{Site: "sites/kratom-help"})
	if err != nil || len(lines.GetCrisisLines()) != 2 || lines.GetCrisisLines()[0].GetDisplayName() != "988 Suicide & Crisis Lifeline" {
		t.Errorf("demo crisis lines: %v %v", lines, err)
	}
	peers, err := delivery.GetSiteDirectory(ctx, &resourcesv1.GetSiteDirectoryRequest{Site: "sites/kratom-help", Slug: "peer-support"})
	if err != nil || len(peers.GetEntries()) != 4 || peers.GetEntries()[0].GetNote() != "When you would rather text" {
		t.Errorf("demo peer-support directory: %v %v", peers, err)
	}
	time.Sleep(50 * time.Millisecond) // a few poll and prune ticks
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
}
