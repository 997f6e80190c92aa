package ratelimit_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/beaconcms/beacon/platform/ratelimit"
)

var t0 = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)

func TestBurstThenRefill(t *testing.T) {
	l := ratelimit.New(ratelimit.Config{Every: 10 * time.Second, Burst: 3})
	for i := range 3 {
		if ok, _ := l.Allow("a", t0); !ok {
			t.Fatalf("attempt %d refused within the burst", i+1)
		}
	}
	ok, retry := l.Allow("a", t0)
	if ok || retry != 10*time.Second {
		t.Fatalf("4th attempt = %v, retry %v; want refused, retry 10s", ok, retry)
	}
	// A refused attempt takes nothing: after 10s exactly one more attempt is allowed.
	if ok, _ := l.Allow("a", t0.Add(10*time.Second)); !ok {
		t.Fatal("attempt after the refill refused")
	}
	if ok, retry := l.Allow("a", t0.Add(10*time.Second)); ok || retry != 10*time.Second {
		t.Fatalf("second attempt after one refill = %v, %v; want refused, 10s", ok, retry)
	}
	// Other keys have their own bucket.
	if ok, _ := l.Allow("b", t0); !ok {
		t.Fatal("another key refused")
	}
}

func TestBoundedWithEviction(t *testing.T) {
	tests := []struct {
		name string
		// at is when the flood of new keys comes, after "victim" used up its burst at t0.
		at         time.Time
		wantVictim bool // whether the victim is still limited after the flood
	}{
		// The victim's bucket is still empty and others were used later: the flood evicts the
		// least recently used one, which is the victim only once every other key is newer.
		{"full buckets are evicted first", t0.Add(time.Second), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := ratelimit.New(ratelimit.Config{Every: time.Minute, Burst: 1, MaxKeys: 4})
			l.Allow("victim", t0)
			// Three keys fill the map; each refills within a minute, so at tt.at+1m they are full.
			for i := range 3 {
				l.Allow(fmt.Sprintf("old%d", i), tt.at)
			}
			// Well after a minute the three old buckets are full again; the victim's too
			// (it was used at t0). Use the victim again so it stays empty.
			later := tt.at.Add(2 * time.Minute)
			if ok, _ := l.Allow("victim", later); !ok {
				t.Fatal("victim refused after its refill")
			}
			for i := range 3 {
				l.Allow(fmt.Sprintf("new%d", i), later)
			}
			if got := l.Len(); got > 4 {
				t.Fatalf("Len = %d, want at most 4", got)
			}
			ok, _ := l.Allow("victim", later)
			if ok == tt.wantVictim {
				t.Fatalf("victim allowed = %v after the flood; its empty bucket should have been kept over full ones", ok)
			}
		})
	}
	t.Run("least recently used goes when none is full", func(t *testing.T) {
		l := ratelimit.New(ratelimit.Config{Every: time.Hour, Burst: 1, MaxKeys: 2})
		l.Allow("first", t0)
		l.Allow("second", t0.Add(time.Second))
		l.Allow("third", t0.Add(2*time.Second)) // evicts "first", the least recently used
		if l.Len() != 2 {
			t.Fatalf("Len = %d, want 2", l.Len())
		}
		if ok, _ := l.Allow("second", t0.Add(3*time.Second)); ok {
			t.Fatal("second was evicted instead of the least recently used key")
		}
		if ok, _ := l.Allow("first", t0.Add(3*time.Second)); !ok {
			t.Fatal("first should have been evicted (a new bucket starts full)")
		}
	})
}
