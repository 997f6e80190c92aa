// Package geo finds points near a place: great-circle (haversine) distances and a grid index that
// answers "everything within r km of here, nearest first" by visiting only the cells the circle can
// touch, never by scanning every point.
package geo

import (
	"math"
	"slices"
	"sync"
)

// EarthRadiusKm is the mean Earth radius (IUGG R1 = 6371.0088 km). Haversine distances on a sphere
// of this radius are within about 0.5 % of the WGS 84 geodesic distance everywhere.
const EarthRadiusKm = 6371.0088

// Point is a WGS 84 position in decimal degrees.
type Point struct{ Lat, Lng float64 }

// Valid reports whether the point's latitude is in [-90, 90] and its longitude in [-180, 180].
func (p Point) Valid() bool {
	return p.Lat >= -90 && p.Lat <= 90 && p.Lng >= -180 && p.Lng <= 180
}

func radians(deg float64) float64 { return deg * math.Pi / 180 }
func degrees(rad float64) float64 { return rad * 180 / math.Pi }

// DistanceKm returns the great-circle distance between a and b in kilometres (haversine formula).
func DistanceKm(a, b Point) float64 {
	φ1 := radians(a.Lat)
	return distanceFrom(a, φ1, math.Cos(φ1), b)
}

// distanceFrom is DistanceKm(a, b) given a's latitude in radians and its cosine, which a search
// computes once for all its points.
func distanceFrom(a Point, φ1, cosφ1 float64, b Point) float64 {
	φ2 := radians(b.Lat)
	dφ, dλ := φ2-φ1, radians(b.Lng-a.Lng)
	sφ, sλ := math.Sin(dφ/2), math.Sin(dλ/2)
	h := sφ*sφ + cosφ1*math.Cos(φ2)*sλ*sλ
	return 2 * EarthRadiusKm * math.Asin(math.Sqrt(min(1, h)))
}

// Destination returns the point distanceKm from p along the initial bearing bearingDeg (clockwise
// from north), on the same sphere as DistanceKm.
func Destination(p Point, bearingDeg, distanceKm float64) Point {
	δ := distanceKm / EarthRadiusKm
	θ := radians(bearingDeg)
	φ1, λ1 := radians(p.Lat), radians(p.Lng)
	φ2 := math.Asin(math.Sin(φ1)*math.Cos(δ) + math.Cos(φ1)*math.Sin(δ)*math.Cos(θ))
	λ2 := λ1 + math.Atan2(math.Sin(θ)*math.Sin(δ)*math.Cos(φ1), math.Cos(δ)-math.Sin(φ1)*math.Sin(φ2))
	lng := math.Mod(degrees(λ2)+540, 360) - 180
	return Point{Lat: degrees(φ2), Lng: lng}
}

// DefaultCellDegrees is the cell size of NewIndex(0): about 55 km north-south, so a 50 km query
// visits a few cells.
const DefaultCellDegrees = 0.5

type cell struct{ row, col int32 }

type entry[K comparable] struct {
	key     K
	p       Point
	x, y, z float64 // p on the unit sphere (see AppendNearest)
	seq     uint64
	multi   bool // the key has other points too (so a search may meet it more than once)
}

// Index maps keys to one or more points each, in cells of a fixed latitude/longitude grid. The
// zero value is not usable; call NewIndex. An Index is not safe for concurrent writes: a read model
// guards it with its own lock or builds a new one and swaps it in. Concurrent Near calls without
// writes are safe.
type Index[K comparable] struct {
	cellDeg float64
	rows    int32
	cols    int32
	cells   map[cell][]entry[K]
	points  map[K][]Point
	seq     uint64

	searches sync.Pool // *search[K]: the scratch of AppendNearest
}

// NewIndex returns an empty index with cells of cellDegrees by cellDegrees (0 means
// DefaultCellDegrees): 180/cellDegrees rows and 360/cellDegrees columns, rounded up.
func NewIndex[K comparable](cellDegrees float64) *Index[K] {
	if cellDegrees <= 0 {
		cellDegrees = DefaultCellDegrees
	}
	return &Index[K]{
		cellDeg: cellDegrees,
		rows:    int32(math.Ceil(180 / cellDegrees)),
		cols:    int32(math.Ceil(360 / cellDegrees)),
		cells:   make(map[cell][]entry[K]),
		points:  make(map[K][]Point),
	}
}

// Len returns the number of keys in the index.
func (ix *Index[K]) Len() int { return len(ix.points) }

func (ix *Index[K]) row(lat float64) int32 {
	r := int32(math.Floor((lat + 90) / ix.cellDeg))
	return min(max(r, 0), ix.rows-1)
}

func (ix *Index[K]) col(lng float64) int32 {
	c := int32(math.Floor((lng + 180) / ix.cellDeg))
	return ((c % ix.cols) + ix.cols) % ix.cols
}

// Set makes points the positions of key, replacing any it had. Invalid points are ignored; a key
// with no valid point is removed.
func (ix *Index[K]) Set(key K, points ...Point) {
	ix.Remove(key)
	var kept []Point
	for _, p := range points {
		if p.Valid() {
			kept = append(kept, p)
		}
	}
	for _, p := range kept {
		ix.seq++
		c := cell{ix.row(p.Lat), ix.col(p.Lng)}
		x, y, z := unitVector(p)
		ix.cells[c] = append(ix.cells[c], entry[K]{key: key, p: p, x: x, y: y, z: z, seq: ix.seq, multi: len(kept) > 1})
	}
	if len(kept) > 0 {
		ix.points[key] = kept
	}
}

// Remove deletes key and its points.
func (ix *Index[K]) Remove(key K) {
	for _, p := range ix.points[key] {
		c := cell{ix.row(p.Lat), ix.col(p.Lng)}
		es := slices.DeleteFunc(ix.cells[c], func(e entry[K]) bool { return e.key == key })
		if len(es) == 0 {
			delete(ix.cells, c)
		} else {
			ix.cells[c] = es
		}
	}
	delete(ix.points, key)
}

// Hit is a key found by Near and the distance to its nearest point.
type Hit[K comparable] struct {
	Key        K
	DistanceKm float64
}

// Near returns every key with a point within radiusKm of center (distance <= radiusKm), once each
// with the distance to its nearest point, nearest first; equal distances keep the order in which
// the points were set. keep, when not nil, is asked about each key with a point within the
// radius, once, and only kept keys are returned. (AppendNearest with no limit.)
func (ix *Index[K]) Near(center Point, radiusKm float64, keep func(K) bool) []Hit[K] {
	return ix.AppendNearest(nil, center, radiusKm, -1, keep)
}

// visitCells calls visit with the entries of every non-empty cell that a circle of radiusKm
// around center can touch: the rows of its latitude band and, in each, the columns of its
// longitude span (all columns when the circle reaches a pole), wrapping across the antimeridian.
func (ix *Index[K]) visitCells(center Point, radiusKm float64, visit func([]entry[K])) {
	δ := radiusKm / EarthRadiusKm
	dLat := degrees(δ)
	latMin, latMax := center.Lat-dLat, center.Lat+dLat
	allCols := latMin <= -90 || latMax >= 90 || δ >= math.Pi/2
	var dLng float64
	if !allCols {
		// The longitude half-width of the circle's bounding box (Matuschek): asin(sin δ / cos φ).
		s := math.Sin(δ) / math.Cos(radians(center.Lat))
		if s >= 1 {
			allCols = true
		} else {
			dLng = degrees(math.Asin(s))
		}
	}
	rowMin, rowMax := ix.row(max(latMin, -90)), ix.row(min(latMax, 90))
	if allCols || 2*dLng >= 360-ix.cellDeg {
		for r := rowMin; r <= rowMax; r++ {
			for c := int32(0); c < ix.cols; c++ {
				if es := ix.cells[cell{r, c}]; len(es) > 0 {
					visit(es)
				}
			}
		}
		return
	}
	colFirst := int32(math.Floor((center.Lng - dLng + 180) / ix.cellDeg))
	colLast := int32(math.Floor((center.Lng + dLng + 180) / ix.cellDeg))
	for r := rowMin; r <= rowMax; r++ {
		for c := colFirst; c <= colLast; c++ {
			w := ((c % ix.cols) + ix.cols) % ix.cols
			if es := ix.cells[cell{r, w}]; len(es) > 0 {
				visit(es)
			}
		}
	}
}
