package changelog

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestPrunerSkipsOnlyWhenNothingIsLeft runs a Pruner against an in-memory log with a fake clock,
// step by step: each step may append an entry (moving the head) and then prunes once. A skipped
// prune must never leave an entry older than the retention behind while the head is unmoved.
func TestPrunerSkipsOnlyWhenNothingIsLeft(t *testing.T) {
	t0 := time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC)
	now := t0
	var (
		log     []time.Time
		head    int64
		deletes int
	)
	p := &Pruner{
		Head: func(context.Context) (int64, error) { return head, nil },
		Prune: func(_ context.Context, before time.Time) error {
			deletes++
			kept := log[:0]
			for _, at := range log {
				if !at.Before(before) {
					kept = append(kept, at)
				}
			}
			log = kept
			return nil
		},
		Retention: 5 * time.Minute,
		Interval:  time.Minute,
		Now:       func() time.Time { return now },
	}
	for _, step := range []struct {
		at         time.Duration // since t0
		write      bool
		wantDelete bool
		wantLeft   int
	}{
		{at: 0, write: true, wantDelete: true, wantLeft: 1},                // the first prune always runs
		{at: time.Minute, wantDelete: true, wantLeft: 1},                   // the entry is not old enough yet
		{at: 4 * time.Minute, write: true, wantDelete: true, wantLeft: 2},  // the head moved
		{at: 6 * time.Minute, wantDelete: true, wantLeft: 1},               // the first entry goes
		{at: 9*time.Minute + time.Second, wantDelete: true, wantLeft: 0},   // the cutoff passes the head's first sight
		{at: 10 * time.Minute, wantDelete: false, wantLeft: 0},             // known empty: skipped
		{at: 30 * time.Minute, wantDelete: false, wantLeft: 0},             // still skipped
		{at: 31 * time.Minute, write: true, wantDelete: true, wantLeft: 1}, // moved again
		{at: 37 * time.Minute, wantDelete: true, wantLeft: 0},
		{at: 38 * time.Minute, wantDelete: false, wantLeft: 0},
	} {
		now = t0.Add(step.at)
		if step.write {
			log = append(log, now)
			head++
		}
		before := deletes
		deleted, err := p.PruneOnce(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if deleted != step.wantDelete || (deletes > before) != step.wantDelete {
			t.Errorf("at %v: deleted = %t (store asked %d times), want %t", step.at, deleted, deletes-before, step.wantDelete)
		}
		if len(log) != step.wantLeft {
			t.Errorf("at %v: %d entries left, want %d", step.at, len(log), step.wantLeft)
		}
	}
}

// TestPrunerFailures: a head that cannot be read skips the prune with an error; a failed delete
// is retried at the next call (the log is not taken for empty).
func TestPrunerFailures(t *testing.T) {
	headErr := errors.New("head down")
	var failHead, failPrune bool
	deletes := 0
	now := time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC)
	p := &Pruner{
		Head: func(context.Context) (int64, error) {
			if failHead {
				return 0, headErr
			}
			return 7, nil
		},
		Prune: func(context.Context, time.Time) error {
			deletes++
			if failPrune {
				return errors.New("delete failed")
			}
			return nil
		},
		Retention: time.Minute, Interval: time.Minute,
		Now: func() time.Time { return now },
	}
	failHead = true
	if deleted, err := p.PruneOnce(context.Background()); !errors.Is(err, headErr) || deleted || deletes != 0 {
		t.Fatalf("with the head down: deleted %t, err %v, deletes %d", deleted, err, deletes)
	}
	failHead, failPrune = false, true
	now = now.Add(time.Hour)
	if _, err := p.PruneOnce(context.Background()); err == nil {
		t.Fatal("a failed delete returned no error")
	}
	failPrune = false
	now = now.Add(2 * time.Minute)
	if deleted, err := p.PruneOnce(context.Background()); err != nil || !deleted {
		t.Fatalf("after a failed delete: deleted %t, err %v; want a delete", deleted, err)
	}
	if err := (&Pruner{}).Run(context.Background()); err == nil {
		t.Fatal("Run accepted a Pruner without Head and Prune")
	}
}
