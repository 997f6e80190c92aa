package domain

import (
	"sync"
	"time"
)

// lookupCache remembers, per id, what the store said: the value (found) or that there is none
// (not found). Entries live for ttl. Found and not-found entries are bounded
// separately, so that a flood of made-up ids cannot push real keys out.
//
// Every delete starts a new generation; a put made for a lookup that began in an older
// generation is dropped, so that a store read racing with a revocation cannot bring the
// pre-revocation key back into the cache.
//
// V is what is cached per id: a Key, a User or a Session.
type lookupCache[V any] struct {
	mu       sync.Mutex
	gen      uint64
	ttl      time.Duration
	found    boundedTTLMap[V]
	notFound boundedTTLMap[struct{}]
}

func newLookupCache[V any](ttl time.Duration, size int) *lookupCache[V] {
	return &lookupCache[V]{
		ttl:      ttl,
		found:    boundedTTLMap[V]{max: size, m: map[string]ttlEntry[V]{}},
		notFound: boundedTTLMap[struct{}]{max: size, m: map[string]ttlEntry[struct{}]{}},
	}
}

// get returns the cached answer for id at time now; hit is false when there is none.
func (c *lookupCache[V]) get(id string, now time.Time) (v V, found, hit bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if v, ok := c.found.get(id, now); ok {
		return v, true, true
	}
	var zero V
	if _, ok := c.notFound.get(id, now); ok {
		return zero, false, true
	}
	return zero, false, false
}

// generation returns the current generation, to pass to putFound and putNotFound.
func (c *lookupCache[V]) generation() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gen
}

func (c *lookupCache[V]) putFound(gen uint64, id string, v V, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		return
	}
	c.notFound.delete(id)
	c.found.put(id, v, now.Add(c.ttl), now)
}

func (c *lookupCache[V]) putNotFound(gen uint64, id string, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		return
	}
	c.found.delete(id)
	c.notFound.put(id, struct{}{}, now.Add(c.ttl), now)
}

func (c *lookupCache[V]) delete(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	c.found.delete(id)
	c.notFound.delete(id)
}

// len returns the number of entries, expired or not (for tests through export_test.go).
func (c *lookupCache[V]) len() (found, notFound int) {
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
