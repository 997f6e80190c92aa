// Package ratelimit limits how often each of many keys (an account, a client address) may act,
// with one token bucket (golang.org/x/time/rate) per key in a bounded map.
//
// The map holds at most Config.MaxKeys buckets. When it is full, a new key first evicts every
// bucket that has refilled completely (dropping one loses nothing: a new bucket starts full),
// then, if none had, the least recently used bucket. So a flood of made-up keys costs memory up
// to the bound and can at worst reset the limit of the key it evicts, which was idle the
// longest.
package ratelimit

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Config is the limit of every key.
type Config struct {
	// Every is the time one attempt takes to come back.
	Every time.Duration
	// Burst is how many attempts a key may make at once (a new key's allowance).
	Burst int
	// MaxKeys bounds the buckets kept; 0 means 10,000.
	MaxKeys int
}

// Keyed is a rate limit per key. Safe for concurrent use.
type Keyed struct {
	cfg     Config
	limit   rate.Limit
	mu      sync.Mutex
	buckets map[string]*bucket
}

type bucket struct {
	limiter  *rate.Limiter
	lastUsed time.Time
}

// New returns a Keyed limiter. Every and Burst must be positive.
func New(cfg Config) *Keyed {
	if cfg.MaxKeys <= 0 {
		cfg.MaxKeys = 10_000
	}
	return &Keyed{cfg: cfg, limit: rate.Every(cfg.Every), buckets: map[string]*bucket{}}
}

// Allow takes one attempt from key's bucket at time now. When the bucket is empty it takes
// nothing and returns false with the time until an attempt is available again.
func (k *Keyed) Allow(key string, now time.Time) (ok bool, retryAfter time.Duration) {
	k.mu.Lock()
	defer k.mu.Unlock()
	b, found := k.buckets[key]
	if !found {
		if len(k.buckets) >= k.cfg.MaxKeys {
			k.evict(now)
		}
		b = &bucket{limiter: rate.NewLimiter(k.limit, k.cfg.Burst)}
		k.buckets[key] = b
	}
	b.lastUsed = now
	r := b.limiter.ReserveN(now, 1)
	if delay := r.DelayFrom(now); delay > 0 {
		r.CancelAt(now)
		return false, delay
	}
	return true, 0
}

// Len returns the number of buckets kept.
func (k *Keyed) Len() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return len(k.buckets)
}

// evict makes room for one bucket: it drops the full buckets, or else the least recently used.
func (k *Keyed) evict(now time.Time) {
	var oldestKey string
	var oldest time.Time
	for key, b := range k.buckets {
		if b.limiter.TokensAt(now) >= float64(k.cfg.Burst) {
			delete(k.buckets, key)
			continue
		}
		if oldestKey == "" || b.lastUsed.Before(oldest) {
			oldestKey, oldest = key, b.lastUsed
		}
	}
	if len(k.buckets) >= k.cfg.MaxKeys {
		delete(k.buckets, oldestKey)
	}
}
