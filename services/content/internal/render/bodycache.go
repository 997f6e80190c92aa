package render

import (
	"sync"
	"weak"

	"github.com/beaconcms/beacon/platform/httpcache"
)

// DefaultBodyCacheBytes is the default budget of a [BodyCache]: about 1,400 rendered articles
// of 6 KB of Markdown (about 9 KB of JSON and 3 KB of gzip each), the read-often part of a
// site's library; the rest renders again on request, in about 0.15 ms. At 10,000 articles a
// crawler's pass then leaves RSS below issue #7's 300 MiB (docs/benchmarks.md, cold start).
const DefaultBodyCacheBytes = 16 << 20

// BodyCache bounds the memory of the entries' rendered PublishedArticle JSON (and its gzip form,
// counted once made). Entries keep their compressed source for life; their rendered body lives
// only while the cache holds it, and an entry whose body was evicted renders it again, byte for
// byte the same (it renders as of its fixed time), on its next read.
//
// Eviction is CLOCK (second chance): a read of a cached body sets the entry's reference mark
// (one atomic load, and a store only when the mark was clear), never a lock; a render takes the
// cache's mutex to admit the new body, and first sweeps the clock hand over the cached entries,
// clearing marks and evicting the first unmarked ones, until the new body fits the budget. An
// entry enters unmarked, so a single read (a crawler's walk) does not push out the entries that
// are read again.
//
// The cache holds its entries weakly: an entry that its read model replaced (a publish, a site's
// settings) and no reader holds any more is collected with its body whatever the cache holds,
// and the sweep then drops its slot and its bytes.
type BodyCache struct {
	budget int64

	mu    sync.Mutex
	ring  []cacheSlot // the entries holding a body, in no particular order; the clock's face
	hand  int         // next slot the sweep looks at
	bytes int64       // sum of the slots' sizes
	stats BodyCacheStats
	// purgeAt is the ring's length at which an unbounded cache, which never sweeps, drops the
	// slots of collected entries (amortized: it doubles with what stays).
	purgeAt int
}

// cacheSlot is one cached body: its entry, held weakly, and the bytes charged for it.
type cacheSlot struct {
	entry weak.Pointer[Entry]
	size  int64
}

// BodyCacheStats is what a cache reports of itself.
type BodyCacheStats struct {
	// Bytes is what the cached bodies of live entries hold (JSON, and gzip once made); Bodies
	// how many there are; Budget the most Bytes may be (0: no bound).
	Bytes  int64
	Bodies int
	Budget int64
	// Renders counts the bodies admitted (every render, first ones included), Evictions the
	// bodies evicted to make room: a render after an eviction is a miss.
	Renders, Evictions int64
}

// NewBodyCache returns a cache of rendered bodies holding at most budget bytes (and one body
// more than it while a body larger than the budget is cached alone). A budget of 0 or less
// keeps every body: no bound.
func NewBodyCache(budget int64) *BodyCache {
	return &BodyCache{budget: budget}
}

// Stats reports the cache's size and counts. It first drops the slots of collected entries,
// so that Bytes is what live entries hold.
func (c *BodyCache) Stats() BodyCacheStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.purgeLocked()
	s := c.stats
	s.Bytes, s.Bodies, s.Budget = c.bytes, len(c.ring), max(c.budget, 0)
	return s
}

// admit caches b as e's body, evicting other bodies first until it fits the budget. The caller
// holds e.mu (one render of e at a time) and e has no body.
func (c *BodyCache) admit(e *Entry, b *httpcache.Body) {
	size := int64(len(b.Raw()))
	c.mu.Lock()
	defer c.mu.Unlock()
	c.makeRoomLocked(size, nil)
	if c.budget <= 0 && len(c.ring) >= c.purgeAt {
		c.purgeLocked()
		c.purgeAt = 2*len(c.ring) + 1024
	}
	e.used.Store(false)
	e.slot = len(c.ring)
	e.held.Store(size)
	c.ring = append(c.ring, cacheSlot{entry: weak.Make(e), size: size})
	c.bytes += size
	c.stats.Renders++
	e.body.Store(b)
}

// grew charges n more bytes to e's body b (its gzip form, just made), if b is still e's cached
// body, and evicts other bodies until it fits.
func (c *BodyCache) grew(e *Entry, b *httpcache.Body, n int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e.slot < 0 || e.body.Load() != b {
		return // evicted meanwhile: a reader that still held b made it
	}
	c.ring[e.slot].size += int64(n)
	e.held.Add(int64(n))
	c.bytes += int64(n)
	c.makeRoomLocked(0, e)
}

// makeRoomLocked sweeps the clock until need more bytes fit the budget or nothing is cached
// but keep (a cached entry whose body is being served, or nil). Each turn of the hand drops a
// collected entry's slot, clears a mark or evicts, so two turns of the face at most free every
// slot.
func (c *BodyCache) makeRoomLocked(need int64, keep *Entry) {
	if c.budget <= 0 {
		return
	}
	kept := 0
	if keep != nil {
		kept = 1
	}
	for c.bytes+need > c.budget && len(c.ring) > kept {
		if c.hand >= len(c.ring) {
			c.hand = 0
		}
		e := c.ring[c.hand].entry.Value()
		switch {
		case e == nil: // collected, with its body
			c.removeLocked(c.hand)
		case e == keep:
			c.hand++
		case e.used.Load():
			e.used.Store(false)
			c.hand++
		default:
			e.body.Store(nil) // readers that loaded it keep serving it; the next read renders
			e.held.Store(0)
			e.slot = -1
			c.removeLocked(c.hand)
			c.stats.Evictions++
		}
	}
}

// purgeLocked drops the slots of collected entries.
func (c *BodyCache) purgeLocked() {
	for i := 0; i < len(c.ring); {
		if c.ring[i].entry.Value() == nil {
			c.removeLocked(i)
			continue
		}
		i++
	}
}

// removeLocked drops slot i, moving the last slot into its place (the hand, at i, looks at
// that one next).
func (c *BodyCache) removeLocked(i int) {
	c.bytes -= c.ring[i].size
	last := len(c.ring) - 1
	if i != last {
		c.ring[i] = c.ring[last]
		if moved := c.ring[i].entry.Value(); moved != nil {
			moved.slot = i
		}
	}
	c.ring[last] = cacheSlot{}
	c.ring = c.ring[:last]
}
