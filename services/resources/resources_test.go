package resources_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

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
