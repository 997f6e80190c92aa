package mongodb_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/beaconcms/beacon/platform/mongodb"
)

func TestDocLocksSerializeOneDocument(t *testing.T) {
	locks := mongodb.NewDocLocks()
	var inside, maxInside atomic.Int32
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			unlock, err := locks.Lock(context.Background(), "db", "c", "x")
			if err != nil {
				t.Error(err)
				return
			}
			n := inside.Add(1)
			for {
				m := maxInside.Load()
				if n <= m || maxInside.CompareAndSwap(m, n) {
					break
				}
			}
			time.Sleep(2 * time.Millisecond)
			inside.Add(-1)
			unlock()
		})
	}
	wg.Wait()
	if got := maxInside.Load(); got != 1 {
		t.Fatalf("at most %d holders at once, want 1", got)
	}
	if n := mongodb.HeldLocks(locks); n != 0 {
		t.Fatalf("%d lock entries left after every holder released", n)
	}
}

func TestDocLocksKeys(t *testing.T) {
	tests := []struct {
		name                  string
		db, collection, id    string
		db2, collection2, id2 string
		independent           bool
	}{
		{"same document", "db", "c", "x", "db", "c", "x", false},
		{"other id", "db", "c", "x", "db", "c", "y", true},
		{"other collection", "db", "c", "x", "db", "d", "x", true},
		{"other database", "db", "c", "x", "db2", "c", "x", true},
		{"no ambiguity across parts", "a", "bc", "d", "ab", "c", "d", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			locks := mongodb.NewDocLocks()
			unlock, err := locks.Lock(context.Background(), tt.db, tt.collection, tt.id)
			if err != nil {
				t.Fatal(err)
			}
			defer unlock()
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
			defer cancel()
			unlock2, err := locks.Lock(ctx, tt.db2, tt.collection2, tt.id2)
			if tt.independent {
				if err != nil {
					t.Fatalf("second lock: %v, want it free", err)
				}
				unlock2()
				return
			}
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("second lock: %v, want it to wait until the context ends", err)
			}
		})
	}
}

func TestDocLocksAreIndependentValues(t *testing.T) {
	a, b := mongodb.NewDocLocks(), mongodb.NewDocLocks()
	unlock, err := a.Lock(context.Background(), "db", "c", "x")
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	unlockB, err := b.Lock(ctx, "db", "c", "x")
	if err != nil {
		t.Fatalf("a lock of another DocLocks value waited: %v (no process-wide state expected)", err)
	}
	unlockB()
}
