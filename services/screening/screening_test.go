package screening_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/beaconcms/beacon/platform/mongodb"
	"github.com/beaconcms/beacon/platform/mongodb/mongodbtest"
	"github.com/beaconcms/beacon/platform/pagetoken"
	"github.com/beaconcms/beacon/services/screening"
	"github.com/beaconcms/beacon/services/sites/sitecatalog"
)

// catalog knows kratom-help and shop, which is commercial.
type catalog struct{}

func (catalog) Lookup(_ context.Context, id string) (sitecatalog.Site, bool, error) {
	switch id {
	case "kratom-help":
		return sitecatalog.Site{ID: id}, true, nil
	case "shop":
		return sitecatalog.Site{ID: id, Commercial: true}, true, nil
	}
	return sitecatalog.Site{}, false, nil
}

func TestFacadeSeedsTheInstrumentsOnceAndStops(t *testing.T) {
	ctx := context.Background()
	logger := slog.New(slog.DiscardHandler)
	db := mongodbtest.NewDatabase(t)
	if err := screening.Migrate(ctx, db, logger); err != nil {
		t.Fatal(err)
	}
	tokens, err := pagetoken.NewCodec([]byte("test-page-token-secret-0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	// Nothing listens here: recommendations are unavailable, which seeding does not need.
	nowhere, err := grpc.NewClient("127.0.0.1:1", grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer nowhere.Close()
	deps := screening.Deps{DB: db, Locks: mongodb.NewDocLocks(), Tokens: tokens, Sites: catalog{}, Content: nowhere, Resources: nowhere, Key: "bk_test"}
	cfg := screening.DefaultConfig()
	cfg.FlushInterval, cfg.CrisisRefresh = 20*time.Millisecond, 20*time.Millisecond
	svc, err := screening.New(ctx, deps, cfg, logger)
	if err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- svc.Run(runCtx) }()
	if created, err := svc.SeedDemo(ctx, "kratom-help"); err != nil || created != 3 {
		t.Fatalf("first seed: %d, %v; want 3 instruments", created, err)
	}
	if created, err := svc.SeedDemo(ctx, "kratom-help"); err != nil || created != 0 {
		t.Errorf("second seed: %d, %v; want nothing new", created, err)
	}
	// The commercial site setting reaches the service: CAGE-AID's licence keeps it off.
	if created, err := svc.SeedDemo(ctx, "shop"); err != nil || created != 2 {
		t.Errorf("commercial site: %d, %v; want 2 (no CAGE-AID)", created, err)
	}
	if created, err := svc.SeedDemo(ctx, "nowhere"); err != nil || created != 0 {
		t.Errorf("missing site: %d, %v; want none", created, err)
	}
	// A restart loads what was published.
	again, err := screening.New(ctx, deps, cfg, logger)
	if err != nil {
		t.Fatal(err)
	}
	if created, err := again.SeedDemo(ctx, "kratom-help"); err != nil || created != 0 {
		t.Errorf("seed after a restart: %d, %v; want nothing new", created, err)
	}
	time.Sleep(50 * time.Millisecond) // a few flush and refresh ticks
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
