package domain

import (
	"sync"
	"time"
)

// lookupCache remembers, per key id, what the store said: the key (found) or that there is no
// such key (not found). Entries live for ttl. Found and not-found entries are bounded
// separately, so that a flood of made-up ids cannot push real keys out.
//
// Every delete starts a new generation; a put made for a lookup that began in an older
// generation is dropped, so that a store read racing with a revocation cannot bring the
// pre-revocation key back into the cache.
type lookupCache struct {
	mu       sync.Mutex
	gen      uint64
	ttl      time.Duration
	found    boundedTTLMap[Key]
	notFound boundedTTLMap[struct{}]
}

func newLookupCache(ttl time.Duration, size int) *lookupCache {
	return &lookupCache{
		ttl:      ttl,
		found:    boundedTTLMap[Key]{max: size, m: map[string]ttlEntry[Key]{}},
		notFound: boundedTTLMap[struct{}]{max: size, m: map[string]ttlEntry[struct{}]{}},
	}
}

// get returns the cached answer for id at time now; hit is false when there is none.
func (c *lookupCache) get(id string, now time.Time) (k Key, found, hit bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if k, ok := c.found.get(id, now); ok {
		return k, true, true
	}
	if _, ok := c.notFound.get(id, now); ok {
		return Key{}, false, true
	}
	return Key{}, false, false
}

// generation returns the current generation, to pass to putFound and putNotFound.
func (c *lookupCache) generation() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gen
}

func (c *lookupCache) putFound(gen uint64, k Key, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		return
	}
	c.notFound.delete(k.ID)
	c.found.put(k.ID, k, now.Add(c.ttl), now)
}

func (c *lookupCache) putNotFound(gen uint64, id string, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		return
	}
	c.found.delete(id)
	c.notFound.put(id, struct{}{}, now.Add(c.ttl), now)
}

func (c *lookupCache) delete(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	c.found.delete(id)
	c.notFound.delete(id)
}

// len returns the number of entries, expired or not (for tests through export_test.go).
func (c *lookupCache) len() (found, notFound int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.found.m), len(c.notFound.m)
}

type ttlEntry[V any] struct {
	v       V
	expires time.Time
}

// boundedTTLMap holds at most max entries. When full, put first drops expired entries and, if
// none expired, an arbitrary one. Not safe for concurrent use.
type boundedTTLMap[V any] struct {
	max int
	m   map[string]ttlEntry[V]
}

func (b *boundedTTLMap[V]) get(id string, now time.Time) (V, bool) {
	e, ok := b.m[id]
	if !ok || !now.Before(e.expires) {
		var zero V
		return zero, false
	}
	return e.v, true
}

func (b *boundedTTLMap[V]) put(id string, v V, expires, now time.Time) {
	if _, ok := b.m[id]; !ok && len(b.m) >= b.max {
		for k, e := range b.m {
			if !now.Before(e.expires) {
				delete(b.m, k)
			}
		}
		for k := range b.m {
			if len(b.m) < b.max {
				break
			}
			delete(b.m, k)
		}
	}
	b.m[id] = ttlEntry[V]{v: v, expires: expires}
}

func (b *boundedTTLMap[V]) delete(id string) { delete(b.m, id) }
