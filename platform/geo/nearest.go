package geo

import (
	"cmp"
	"math"
	"slices"
)

// Nearest searches rank points by their chord to the centre on the unit sphere, which orders them
// exactly as great-circle distance does but costs no trigonometry: chord²/4 is the haversine
// term h of DistanceKm. Points whose h is within a rounding margin of the radius are decided by
// DistanceKm itself, and the distances returned are DistanceKm's, so results are the same as a
// scan computing DistanceKm for every point.

// unitVector returns p on the unit sphere.
func unitVector(p Point) (x, y, z float64) {
	φ, λ := radians(p.Lat), radians(p.Lng)
	c := math.Cos(φ)
	return c * math.Cos(λ), c * math.Sin(λ), math.Sin(φ)
}

// candidate is a point found within the radius during a search: where it ranks (h, then seq)
// and, in the search's points, which key and point it is. It holds no pointer, so moving
// candidates in the heap costs the garbage collector nothing.
type candidate struct {
	h   float64 // chord²/4 to the centre
	seq uint64
	at  int32 // index in search.points
}

// closer orders candidates by h, then by the order in which their points were set.
func closer(a, b *candidate) bool {
	return a.h < b.h || (a.h == b.h && a.seq < b.seq)
}

type foundPoint[K comparable] struct {
	key K
	p   Point
}

// search is the scratch of one AppendNearest call, pooled per Index.
type search[K comparable] struct {
	points  []foundPoint[K] // every point offered, by candidate.at
	found   []candidate     // a max-heap by closer when the search has a limit
	multi   []candidate     // the nearest point of each key with several points
	multiAt map[K]int       // index in multi
	decided map[K]bool      // keep's answers about keys with several points
	hits    []exactHit[K]   // the result, with exact distances, before sorting
}

type exactHit[K comparable] struct {
	key K
	d   float64
	seq uint64
}

func (ix *Index[K]) getSearch() *search[K] {
	if s, ok := ix.searches.Get().(*search[K]); ok {
		return s
	}
	return &search[K]{multiAt: map[K]int{}, decided: map[K]bool{}}
}

func (ix *Index[K]) putSearch(s *search[K]) {
	if cap(s.points) > 4096 || cap(s.found) > 4096 {
		return // an unusually large search: let it go
	}
	clear(s.points[:cap(s.points)]) // drop keys for the collector
	clear(s.hits[:cap(s.hits)])
	s.points, s.found, s.multi, s.hits = s.points[:0], s.found[:0], s.multi[:0], s.hits[:0]
	clear(s.multiAt)
	clear(s.decided)
	ix.searches.Put(s)
}

// point records a found point and returns its index.
func (s *search[K]) point(key K, p Point) int32 {
	s.points = append(s.points, foundPoint[K]{key: key, p: p})
	return int32(len(s.points) - 1)
}

// offer adds c to the found set: to the heap of the limit nearest when limit > 0 (dropping the
// farthest), else simply to the list.
func (s *search[K]) offer(c candidate, limit int) {
	if limit < 0 {
		s.found = append(s.found, c)
		return
	}
	h := s.found
	if len(h) == limit {
		h[0] = c
		siftDown(h, 0)
		return
	}
	h = append(h, c)
	for i := len(h) - 1; i > 0; { // sift up
		parent := (i - 1) / 2
		if !closer(&h[parent], &h[i]) {
			break
		}
		h[parent], h[i] = h[i], h[parent]
		i = parent
	}
	s.found = h
}

// full reports whether a candidate at h (seq) can no longer be among the limit nearest.
func (s *search[K]) full(h float64, seq uint64, limit int) bool {
	if limit < 0 || len(s.found) < limit {
		return false
	}
	top := &s.found[0]
	return !(h < top.h || (h == top.h && seq < top.seq))
}

func siftDown(h []candidate, i int) {
	for {
		l, largest := 2*i+1, i
		if l < len(h) && closer(&h[largest], &h[l]) {
			largest = l
		}
		if r := l + 1; r < len(h) && closer(&h[largest], &h[r]) {
			largest = r
		}
		if largest == i {
			return
		}
		h[i], h[largest] = h[largest], h[i]
		i = largest
	}
}

// AppendNearest appends to dst the keys with a point within radiusKm of center (distance <=
// radiusKm), nearest first, at most limit of them (limit < 0: all), each once with the distance
// to its nearest point; equal distances keep the order in which the points were set. keep, when
// not nil, filters keys: it is asked only about keys with a point within the radius that could
// still be among the limit nearest, at most once per key, and only kept keys count. Apart from
// dst's growth it allocates nothing once warm (its scratch is pooled).
func (ix *Index[K]) AppendNearest(dst []Hit[K], center Point, radiusKm float64, limit int, keep func(K) bool) []Hit[K] {
	if radiusKm < 0 || !center.Valid() || limit == 0 {
		return dst
	}
	δ := radiusKm / EarthRadiusKm
	hMax := 1.0 // the radius reaches the antipode: every point is within
	if δ < math.Pi {
		s := math.Sin(δ / 2)
		hMax = s * s
	}
	// Points whose h is this close to hMax are decided by DistanceKm (rounding differs).
	margin := 1e-9*hMax + 1e-18
	cx, cy, cz := unitVector(center)
	s := ix.getSearch()
	defer ix.putSearch(s)
	ix.visitCells(center, radiusKm, func(c cell) {
		es := ix.cells[c]
		for i := range es {
			e := &es[i]
			dx, dy, dz := e.x-cx, e.y-cy, e.z-cz
			h := (dx*dx + dy*dy + dz*dz) / 4
			if h > hMax+margin || (h >= hMax-margin && DistanceKm(center, e.p) > radiusKm) {
				continue
			}
			if !e.multi {
				if s.full(h, e.seq, limit) || (keep != nil && !keep(e.key)) {
					continue
				}
				s.offer(candidate{h: h, seq: e.seq, at: s.point(e.key, e.p)}, limit)
				continue
			}
			if keep != nil {
				ok, seen := s.decided[e.key]
				if !seen {
					ok = keep(e.key)
					s.decided[e.key] = ok
				}
				if !ok {
					continue
				}
			}
			c := candidate{h: h, seq: e.seq, at: s.point(e.key, e.p)}
			if j, ok := s.multiAt[e.key]; !ok {
				s.multiAt[e.key] = len(s.multi)
				s.multi = append(s.multi, c)
			} else if closer(&c, &s.multi[j]) {
				s.multi[j] = c
			}
		}
	})
	for _, c := range s.multi {
		if !s.full(c.h, c.seq, limit) {
			s.offer(c, limit)
		}
	}
	for i := range s.found {
		c := &s.found[i]
		fp := &s.points[c.at]
		s.hits = append(s.hits, exactHit[K]{key: fp.key, d: DistanceKm(center, fp.p), seq: c.seq})
	}
	slices.SortFunc(s.hits, func(a, b exactHit[K]) int {
		if c := cmp.Compare(a.d, b.d); c != 0 {
			return c
		}
		return cmp.Compare(a.seq, b.seq)
	})
	for _, h := range s.hits {
		dst = append(dst, Hit[K]{Key: h.key, DistanceKm: h.d})
	}
	return dst
}
