package domain_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/beaconcms/beacon/platform/apperr"
	"github.com/beaconcms/beacon/services/screening/internal/domain"
)

// memCounters is a CounterStore in memory that counts its writes and can fail them.
type memCounters struct {
	mu      sync.Mutex
	counts  map[domain.CounterKey]int64
	batches map[string]bool
	writes  int
	tries   int // AddCounts calls, failed ones included
	fail    error
}

func newMemCounters() *memCounters {
	return &memCounters{counts: map[domain.CounterKey]int64{}, batches: map[string]bool{}}
}

func (m *memCounters) AddCounts(_ context.Context, batchID string, cells []domain.Cell) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.tries++
	if m.fail != nil {
		return m.fail
	}
	m.writes++
	if m.batches[batchID] {
		return nil
	}
	m.batches[batchID] = true
	for _, c := range cells {
		m.counts[c.CounterKey] += c.N
	}
	return nil
}

func (m *memCounters) Counts(_ context.Context, q string, days []string) ([]domain.Cell, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []domain.Cell
	for k, n := range m.counts {
		for _, d := range days {
			if k.QuestionnaireID == q && k.Day == d {
				out = append(out, domain.Cell{CounterKey: k, N: n})
			}
		}
	}
	return out, nil
}

func (m *memCounters) total() int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	var t int64
	for _, n := range m.counts {
		t += n
	}
	return t
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func fixedNow() time.Time { return time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC) }

func result(band string) domain.Result {
	return domain.Result{QuestionnaireID: "q", Version: 1, Band: domain.Band{Code: band}}
}

func TestTallyBatchesWrites(t *testing.T) {
	st := newMemCounters()
	tally := domain.NewTally(st, fixedNow, quiet)
	for i := range 1000 {
		tally.Count(result([]string{"low", "high"}[i%2]), "kratom-help")
	}
	if err := tally.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if st.writes != 1 || st.total() != 1000 {
		t.Fatalf("1000 screenings: %d store writes, %d counted; want 1 write, 1000", st.writes, st.total())
	}
	if err := tally.Flush(context.Background()); err != nil || st.writes != 1 {
		t.Fatalf("empty flush wrote to the store (%d writes, err %v)", st.writes, err)
	}
}

func TestTallyKeepsAndRetriesAFailedBatch(t *testing.T) {
	st := newMemCounters()
	tally := domain.NewTally(st, fixedNow, quiet)
	tally.Count(result("low"), "a")
	st.fail = errors.New("store down")
	if err := tally.Flush(context.Background()); err == nil {
		t.Fatal("flush to a failing store succeeded")
	}
	tally.Count(result("low"), "a")
	rep, err := tally.Stats(context.Background(), "q", "2026-12-01", "2026-12-01", "")
	// Both counts (the failed batch and the newer one) are seen, merged into one cell of 2.
	if err != nil || len(rep.Cells) != 1 || rep.Cells[0].Count.Display != "<5" || rep.Total.Display != "1-4" {
		t.Fatalf("stats while the store is down: %+v, %v", rep, err)
	}
	st.fail = nil
	if err := tally.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if st.total() != 2 || st.writes != 2 {
		t.Fatalf("after recovery: %d counted in %d writes; want 2 in 2 (the failed batch, then the new one)", st.total(), st.writes)
	}
}

func TestTallyRunFlushesPeriodicallyAndOnShutdown(t *testing.T) {
	st := newMemCounters()
	tally := domain.NewTally(st, fixedNow, quiet)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- tally.Run(ctx, 20*time.Millisecond, time.Second) }()
	tally.Count(result("low"), "a")
	deadline := time.Now().Add(5 * time.Second)
	for st.total() != 1 {
		if time.Now().After(deadline) {
			t.Fatal("no periodic flush within 5 s")
		}
		time.Sleep(5 * time.Millisecond)
	}
	tally.Count(result("low"), "a")
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if st.total() != 2 {
		t.Fatalf("after shutdown %d counted, want 2", st.total())
	}
}

// TestTallyRunRetriesAFailedFlush: Run flushes only when there are counts, and retries a failed
// flush every interval without a new count, until the store takes it.
func TestTallyRunRetriesAFailedFlush(t *testing.T) {
	st := newMemCounters()
	tally := domain.NewTally(st, fixedNow, quiet)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- tally.Run(ctx, 10*time.Millisecond, time.Second) }()
	tries := func() int { st.mu.Lock(); defer st.mu.Unlock(); return st.tries }
	time.Sleep(100 * time.Millisecond)
	if n := tries(); n != 0 {
		t.Fatalf("%d store writes with nothing counted", n)
	}
	st.mu.Lock()
	st.fail = errors.New("store down")
	st.mu.Unlock()
	tally.Count(result("low"), "a")
	for deadline := time.Now().Add(5 * time.Second); tries() < 3; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("a failed flush was tried %d times in 5 s, want it retried every 10ms", tries())
		}
	}
	st.mu.Lock()
	st.fail = nil
	st.mu.Unlock()
	for deadline := time.Now().Add(5 * time.Second); st.total() != 1; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the count was not written within 5 s of the store's recovery")
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestDaysBetween(t *testing.T) {
	days, err := domain.DaysBetween("2026-12-30", "2027-01-02")
	if err != nil || strings.Join(days, ",") != "2026-12-30,2026-12-31,2027-01-01,2027-01-02" {
		t.Fatalf("days = %v, %v", days, err)
	}
	for _, tc := range []struct{ from, to, field string }{
		{"2026-13-01", "2026-12-01", "from"},
		{"2026-12-01", "yesterday", "to"},
		{"2026-12-02", "2026-12-01", "to"},
		{"2025-01-01", "2026-12-01", "to"},
	} {
		_, err := domain.DaysBetween(tc.from, tc.to)
		if e, ok := apperr.As(err); !ok || e.Code != apperr.Invalid || e.Fields[0].Field != tc.field {
			t.Errorf("%s..%s: err = %v, want Invalid on %s", tc.from, tc.to, err, tc.field)
		}
	}
}
