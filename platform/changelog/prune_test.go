package changelog

import (
	"context"
	"errors"
	"math/rand/v2"
	"testing"
	"time"
)

// TestPrunerDeletesOnlyWhatItKnowsIsOld runs a Pruner against an in-memory log with a fake clock,
// step by step: each step may append an entry (moving the head) and then prunes once. After the
// first delete, the store is asked to delete only when an entry the Pruner has seen is older than
// the retention.
func TestPrunerDeletesOnlyWhatItKnowsIsOld(t *testing.T) {
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
		{at: 0, write: true, wantDelete: true, wantLeft: 1},                  // the first prune always runs
		{at: time.Minute, wantDelete: false, wantLeft: 1},                    // the entry is not old enough yet
		{at: 4 * time.Minute, write: true, wantDelete: false, wantLeft: 2},   // the head moved; nothing is old yet
		{at: 6 * time.Minute, wantDelete: true, wantLeft: 1},                 // the first entry goes
		{at: 7 * time.Minute, wantDelete: false, wantLeft: 1},                // the second was seen at 4 min
		{at: 8*time.Minute + 59*time.Second, wantDelete: false, wantLeft: 1}, // a second before its time
		{at: 9*time.Minute + time.Second, wantDelete: true, wantLeft: 0},     // the cutoff passes its sight
		{at: 10 * time.Minute, wantDelete: false, wantLeft: 0},               // known empty: skipped
		{at: 30 * time.Minute, wantDelete: false, wantLeft: 0},               // still skipped
		{at: 31 * time.Minute, write: true, wantDelete: false, wantLeft: 1},  // moved again
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
	now = now.Add(2 * time.Second)
	if deleted, err := p.PruneOnce(context.Background()); err != nil || !deleted {
		t.Fatalf("after a failed first delete: deleted %t, err %v; want the first delete again", deleted, err)
	}
	// Head 7 was first seen an hour in; once it is older than the retention a delete is due, and
	// a failed one is asked for again at the next call.
	failPrune = true
	now = now.Add(2 * time.Minute)
	if _, err := p.PruneOnce(context.Background()); err == nil {
		t.Fatal("a failed delete returned no error")
	}
	failPrune = false
	now = now.Add(time.Second)
	if deleted, err := p.PruneOnce(context.Background()); err != nil || !deleted {
		t.Fatalf("after a failed delete: deleted %t, err %v; want a delete", deleted, err)
	}
	if deleted, err := p.PruneOnce(context.Background()); err != nil || deleted {
		t.Fatalf("with nothing left: deleted %t, err %v; want a skip", deleted, err)
	}
	if err := (&Pruner{}).Run(context.Background()); err == nil {
		t.Fatal("Run accepted a Pruner without Head and Prune")
	}
}

// TestPrunerBounds drives a Pruner with random writes and random call times against an in-memory
// log whose entries carry their write time, and checks after every call that no entry younger than
// the retention was ever deleted and that none outlives its bound: Retention plus two Intervals
// after its write, or after the Pruner's first delete for entries written before it.
func TestPrunerBounds(t *testing.T) {
	const retention, interval = 5 * time.Minute, time.Minute
	for seed := range uint64(50) {
		rng := rand.New(rand.NewPCG(seed, 7))
		t0 := time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC)
		now := t0
		type entry struct{ written time.Time }
		var log []entry
		var head int64
		// Entries from before the Pruner started, some long expired.
		for range rng.IntN(5) {
			log = append(log, entry{t0.Add(-time.Duration(rng.IntN(600)) * time.Minute)})
			head++
		}
		var firstDelete time.Time
		p := &Pruner{
			Head: func(context.Context) (int64, error) { return head, nil },
			Prune: func(_ context.Context, before time.Time) error {
				if before.After(now.Add(-retention)) {
					t.Fatalf("seed %d: asked to delete entries before %v at %v, inside the retention", seed, before, now)
				}
				kept := log[:0]
				for _, e := range log {
					if !e.written.Before(before) {
						kept = append(kept, e)
					}
				}
				log = kept
				if firstDelete.IsZero() {
					firstDelete = now
				}
				return nil
			},
			Retention: retention, Interval: interval,
			Now: func() time.Time { return now },
		}
		for range 300 {
			// Writes between calls, at random moments.
			next := now.Add(interval/2 + time.Duration(rng.Int64N(int64(interval/2))))
			for range rng.IntN(3) {
				log = append(log, entry{now.Add(time.Duration(rng.Int64N(int64(next.Sub(now)))))})
				head++
			}
			now = next
			if _, err := p.PruneOnce(context.Background()); err != nil {
				t.Fatal(err)
			}
			for _, e := range log {
				from := e.written
				if from.Before(firstDelete) {
					from = firstDelete
				}
				if now.Sub(from) > retention+2*interval {
					t.Fatalf("seed %d: at %v an entry written at %v is still there", seed, now.Sub(t0), e.written.Sub(t0))
				}
			}
		}
	}
}
