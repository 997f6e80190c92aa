package store_test

import (
	"context"
	"io"
	"log/slog"
	"maps"
	"testing"
	"time"

	"github.com/beaconcms/beacon/platform/mongodb"
	"github.com/beaconcms/beacon/platform/mongodb/mongodbtest"
	"github.com/beaconcms/beacon/services/screening/internal/domain"
	"github.com/beaconcms/beacon/services/screening/internal/store"
)

func cell(q string, version int64, site, band, day string, n int64) domain.Cell {
	return domain.Cell{CounterKey: domain.CounterKey{QuestionnaireID: q, Version: version, Site: site, Band: band, Day: day}, N: n}
}

func sum(cells []domain.Cell) map[domain.CounterKey]int64 {
	m := map[domain.CounterKey]int64{}
	for _, c := range cells {
		m[c.CounterKey] += c.N
	}
	return m
}

func TestCountersAddUpAndRetriedBatchesCountOnce(t *testing.T) {
	ctx := context.Background()
	s := store.NewCounters(mongodbtest.NewDatabase(t), mongodb.NewDocLocks())
	first := []domain.Cell{cell("q", 1, "a", "low", "2026-12-01", 3), cell("q", 1, "a", "high", "2026-12-01", 1), cell("q", 2, "b", "low", "2026-12-02", 7)}
	if err := s.AddCounts(ctx, "batch-1", first); err != nil {
		t.Fatal(err)
	}
	if err := s.AddCounts(ctx, "batch-1", first); err != nil { // a retry of the same batch
		t.Fatal(err)
	}
	if err := s.AddCounts(ctx, "batch-2", []domain.Cell{cell("q", 1, "a", "low", "2026-12-01", 2), cell("other", 1, "a", "low", "2026-12-01", 9)}); err != nil {
		t.Fatal(err)
	}
	got, err := s.Counts(ctx, "q", []string{"2026-11-30", "2026-12-01", "2026-12-02"})
	if err != nil {
		t.Fatal(err)
	}
	want := sum([]domain.Cell{cell("q", 1, "a", "low", "2026-12-01", 5), cell("q", 1, "a", "high", "2026-12-01", 1), cell("q", 2, "b", "low", "2026-12-02", 7)})
	if g := sum(got); !maps.Equal(g, want) {
		t.Fatalf("counts = %v, want %v", g, want)
	}
}

// TestCountersSurviveAGracefulRestart: counts recorded just before shutdown are flushed by Run
// on its way out and read back by the next process.
func TestCountersSurviveAGracefulRestart(t *testing.T) {
	db := mongodbtest.NewDatabase(t)
	locks := mongodb.NewDocLocks()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	day := time.Date(2026, 12, 1, 23, 59, 0, 0, time.UTC)
	now := func() time.Time { return day }
	result := domain.Result{QuestionnaireID: "q", Version: 3, Band: domain.Band{Code: "many-signs"}}

	tally := domain.NewTally(store.NewCounters(db, locks), now, logger)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- tally.Run(ctx, time.Hour, 10*time.Second) }() // no periodic flush in this test
	for range 7 {
		tally.Count(result, "kratom-help")
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}

	next := domain.NewTally(store.NewCounters(db, locks), now, logger)
	rep, err := next.Stats(context.Background(), "q", "2026-12-01", "2026-12-01", "")
	if err != nil {
		t.Fatal(err)
	}
	if rep.Total.Display != "7" || len(rep.Cells) != 1 || rep.Cells[0].Band != "many-signs" || rep.Cells[0].Version != 3 {
		t.Fatalf("after restart: %+v", rep)
	}
}
