package api

import (
	"encoding/binary"
	"math"
	"strconv"
	"sync"
	"time"

	"github.com/cespare/xxhash/v2"

	resourcesv1 "github.com/beaconcms/beacon/gen/beacon/resources/v1"
	"github.com/beaconcms/beacon/platform/httpcache"
	"github.com/beaconcms/beacon/services/resources/internal/delivery"
	"github.com/beaconcms/beacon/services/resources/internal/domain"
)

// The REST read side keeps the lists it answers (their JSON, ETag and surrogate keys) so that the
// same request is answered again without searching the read model or writing JSON: a site's
// pages answer the same question for many readers. An answer is exactly what the request would
// get now, because it is dropped or passed over as soon as anything it depends on may change:
//
//   - the read model: any resource revision the index takes drops every answer (listAnswers.drop,
//     called from the index's OnResource, after the index reflects the change); an answer made
//     from a read model that changed while it was being made is not kept (the generation);
//   - the site's settings (stale threshold, hiding stale listings, deleted): an answer is served
//     only to a request whose site has the settings it was made with;
//   - the clock: an answer is served only from when it was made and before its page's ValidUntil (the first instant at
//     which an item's open-now, or with openNow=true any weighed resource's, may change; the next
//     UTC midnight for staleness), and at most MaxListAnswerAge after it was made (its next-page
//     token carries the time it was issued).
//
// An answer is kept from the second time its request is made (since the last drop): a request
// made once, such as a reader's own position, costs no copy of its JSON. Memory is bounded: at
// most MaxListAnswerBytes of JSON (their gzip forms, made on first demand, add less than as much
// again), MaxListAnswers answers and MaxListAnswers requests seen once (by a 64-bit hash). A new
// answer that would pass a bound first evicts the expired ones, then all of them.

// Bounds of the list answer cache.
const (
	MaxListAnswers     = 1024
	MaxListAnswerBytes = 8 << 20
	// MaxListAnswerAge bounds how long an answer is kept whatever its ValidUntil.
	MaxListAnswerAge = time.Minute
)

// listAnswer is one kept list response. It is never modified once stored.
type listAnswer struct {
	body      *httpcache.Body
	surrogate []string // Surrogate-Key header value
	cacheTag  []string // Cache-Tag header value
	site      delivery.SiteRules
	made      time.Time // served only from (a clock set back passes it over)
	until     time.Time // ... and before
}

// listAnswers is the cache of list responses by request (listKey). Reads take the read lock.
type listAnswers struct {
	mu    sync.RWMutex
	byKey map[string]*listAnswer
	bytes int
	seen  map[uint64]struct{} // hashes of the keys asked for once, not yet kept
	gen   uint64              // counts drops; an answer made across one is not kept
}

func newListAnswers() *listAnswers {
	return &listAnswers{byKey: map[string]*listAnswer{}, seen: map[uint64]struct{}{}}
}

// get returns the answer kept for key if it is still the answer for a request on a site with
// these settings at now.
func (c *listAnswers) get(key []byte, site delivery.SiteRules, now time.Time) *listAnswer {
	c.mu.RLock()
	a := c.byKey[string(key)]
	c.mu.RUnlock()
	if a == nil || a.site != site || now.Before(a.made) || !now.Before(a.until) {
		return nil
	}
	return a
}

// admit reports whether an answer for key, which get did not have, is worth keeping: whether
// key was asked for before since the last drop (else it notes it). It returns the generation to
// give put, read before the answer is made.
func (c *listAnswers) admit(key []byte) (gen uint64, keep bool) {
	h := xxhash.Sum64(key)
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.seen[h]; ok {
		delete(c.seen, h)
		return c.gen, true
	}
	if len(c.seen) >= MaxListAnswers {
		clear(c.seen)
	}
	c.seen[h] = struct{}{}
	return c.gen, false
}

// put keeps a under key, unless the read model changed since gen was read or a is larger than
// the cache may hold.
func (c *listAnswers) put(key []byte, gen uint64, a *listAnswer, now time.Time) {
	size := len(a.body.Raw())
	if size > MaxListAnswerBytes/8 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen != gen {
		return
	}
	if old := c.byKey[string(key)]; old != nil {
		c.bytes -= len(old.body.Raw())
		delete(c.byKey, string(key))
	}
	if c.bytes+size > MaxListAnswerBytes || len(c.byKey)+1 > MaxListAnswers {
		for k, old := range c.byKey {
			if !now.Before(old.until) {
				c.bytes -= len(old.body.Raw())
				delete(c.byKey, k)
			}
		}
		if c.bytes+size > MaxListAnswerBytes || len(c.byKey)+1 > MaxListAnswers {
			clear(c.byKey)
			c.bytes = 0
		}
	}
	c.byKey[string(key)] = a
	c.bytes += size
}

// drop forgets every answer: the read model changed. Its argument is the resource revision taken.
func (c *listAnswers) drop(*domain.Resource) {
	c.mu.Lock()
	c.gen++
	if len(c.byKey) > 0 {
		clear(c.byKey)
		c.bytes = 0
	}
	if len(c.seen) > 0 {
		clear(c.seen)
	}
	c.mu.Unlock()
}

// len returns the number of answers kept.
func (c *listAnswers) len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.byKey)
}

// appendListKey appends the cache key of a list request on a site: every field that goes into
// the response, the page token and the near text as written (the next page token is bound to
// them), each length-prefixed so that no two requests share a key.
func appendListKey(dst []byte, site string, req *resourcesv1.ListSiteResourcesRequest) []byte {
	str := func(s string) {
		dst = binary.AppendUvarint(dst, uint64(len(s)))
		dst = append(dst, s...)
	}
	str(site)
	str(req.GetNear())
	dst = binary.LittleEndian.AppendUint64(dst, math.Float64bits(req.GetRadiusKm()))
	dst = binary.AppendVarint(dst, int64(req.GetKind()))
	str(req.GetTaxonomy())
	str(req.GetLanguage())
	dst = strconv.AppendBool(dst, req.GetOpenNow())
	str(req.GetQ())
	dst = binary.AppendVarint(dst, int64(req.GetPageSize()))
	dst = binary.AppendVarint(dst, int64(req.GetRemotePageSize()))
	str(req.GetPageToken())
	return dst
}
