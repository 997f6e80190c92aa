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
// and which entry it is (of the search's cells). It holds no pointer, so collecting and moving
// candidates costs the garbage collector nothing.
type candidate struct {
	h     float64 // chord²/4 to the centre
	seq   uint64
	cell  int32 // index in search.cells
	entry int32 // index in that cell's entries
	multi bool  // its key has other points (which may be found too)
}

// closer orders candidates by h, then by the order in which their points were set.
func closer(a, b *candidate) bool {
	return a.h < b.h || (a.h == b.h && a.seq < b.seq)
}

// search is the scratch of one AppendNearest call, pooled per Index.
type search[K comparable] struct {
	cells [][]entry[K]  // the entries of each cell visited, by candidate.cell
	found []candidate   // every point within the radius; then a min-heap by closer
	seen  map[K]bool    // keys with several points already taken from the heap
	hits  []exactHit[K] // the result, with exact distances, before the final sort
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
	return &search[K]{seen: map[K]bool{}}
}

func (ix *Index[K]) putSearch(s *search[K]) {
	if cap(s.found) > 1<<14 {
		return // an unusually large search: let it go
	}
	clear(s.cells[:cap(s.cells)]) // drop references for the collector
	clear(s.hits[:cap(s.hits)])
	s.cells, s.found, s.hits = s.cells[:0], s.found[:0], s.hits[:0]
	clear(s.seen)
	ix.searches.Put(s)
}

// siftDown restores the min-heap property of h below i.
func siftDown(h []candidate, i int) {
	for {
		l, least := 2*i+1, i
		if l < len(h) && closer(&h[l], &h[least]) {
			least = l
		}
		if r := l + 1; r < len(h) && closer(&h[r], &h[least]) {
			least = r
		}
		if least == i {
			return
		}
		h[i], h[least] = h[least], h[i]
		i = least
	}
}

// AppendNearest appends to dst the keys with a point within radiusKm of center (distance <=
// radiusKm), nearest first, at most limit of them (limit < 0: all), each once with the distance
// to its nearest point; equal distances keep the order in which the points were set. keep, when
// not nil, filters keys: it is asked about keys in order of distance, once each, until limit
// keys were kept, so a first page asks about little more than a page. Apart from dst's growth it
// allocates nothing once warm (its scratch is pooled).
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
	φ1 := radians(center.Lat)
	cosφ1 := math.Cos(φ1)
	s := ix.getSearch()
	defer ix.putSearch(s)
	// Every point within the radius: cheap, and touches only the cells' entries.
	ix.visitCells(center, radiusKm, func(es []entry[K]) {
		cellNo := int32(len(s.cells))
		s.cells = append(s.cells, es)
		for i := range es {
			e := &es[i]
			dx, dy, dz := e.x-cx, e.y-cy, e.z-cz
			h := (dx*dx + dy*dy + dz*dz) / 4
			if h > hMax+margin || (h >= hMax-margin && distanceFrom(center, φ1, cosφ1, e.p) > radiusKm) {
				continue
			}
			s.found = append(s.found, candidate{h: h, seq: e.seq, cell: cellNo, entry: int32(i), multi: e.multi})
		}
	})
	// Then nearest first, asking keep as it goes, until limit keys are kept.
	h := s.found
	for i := len(h)/2 - 1; i >= 0; i-- {
		siftDown(h, i)
	}
	for len(h) > 0 && (limit < 0 || len(s.hits) < limit) {
		c := h[0]
		h[0] = h[len(h)-1]
		h = h[:len(h)-1]
		siftDown(h, 0)
		e := &s.cells[c.cell][c.entry]
		if c.multi {
			if s.seen[e.key] {
				continue // a farther point of a key already taken (or refused)
			}
			s.seen[e.key] = true
		}
		if keep != nil && !keep(e.key) {
			continue
		}
		s.hits = append(s.hits, exactHit[K]{key: e.key, d: distanceFrom(center, φ1, cosφ1, e.p), seq: c.seq})
	}
	// Taken by h; ordered by the distance reported (the same order but for rounding).
	slices.SortStableFunc(s.hits, func(a, b exactHit[K]) int {
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
