package geo_test

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/beaconcms/beacon/platform/geo"
)

// TestDistanceKnownCityPairs compares haversine distances with WGS 84 geodesic distances computed
// independently (Vincenty's inverse formula on the WGS 84 ellipsoid, in Python, from the same
// coordinates): every pair must be within 0.5 %.
func TestDistanceKnownCityPairs(t *testing.T) {
	tests := []struct {
		name       string
		a, b       geo.Point
		geodesicKm float64
	}{
		{"New York - London", geo.Point{40.7128, -74.0060}, geo.Point{51.5074, -0.1278}, 5585.2},
		{"Los Angeles - New York", geo.Point{34.0522, -118.2437}, geo.Point{40.7128, -74.0060}, 3944.4},
		{"Paris - Berlin", geo.Point{48.8566, 2.3522}, geo.Point{52.5200, 13.4050}, 879.7},
		{"Sydney - Melbourne", geo.Point{-33.8688, 151.2093}, geo.Point{-37.8136, 144.9631}, 713.9},
		{"Tokyo - Osaka", geo.Point{35.6762, 139.6503}, geo.Point{34.6937, 135.5023}, 393.2},
		{"Austin - Dallas", geo.Point{30.2672, -97.7431}, geo.Point{32.7767, -96.7970}, 292.4},
		{"Chicago - Milwaukee", geo.Point{41.8781, -87.6298}, geo.Point{43.0389, -87.9065}, 130.9},
		{"Anchorage - Honolulu", geo.Point{61.2181, -149.9003}, geo.Point{21.3069, -157.8583}, 4475.7},
		{"Quito - Bogota (equator)", geo.Point{-0.1807, -78.4678}, geo.Point{4.7110, -74.0721}, 729.0},
		{"Auckland - Suva", geo.Point{-36.8485, 174.7633}, geo.Point{-18.1248, 178.4501}, 2106.1},
		{"Seattle - Vancouver", geo.Point{47.6062, -122.3321}, geo.Point{49.2827, -123.1207}, 195.3},
	}
	for _, tt := range tests {
		got := geo.DistanceKm(tt.a, tt.b)
		if rel := math.Abs(got-tt.geodesicKm) / tt.geodesicKm; rel > 0.005 {
			t.Errorf("%s: %.1f km, want %.1f km ±0.5%% (off by %.3f%%)", tt.name, got, tt.geodesicKm, 100*rel)
		}
		if back := geo.DistanceKm(tt.b, tt.a); math.Abs(back-got) > 1e-9 {
			t.Errorf("%s: distance is not symmetric: %v vs %v", tt.name, got, back)
		}
	}
	if d := geo.DistanceKm(geo.Point{10, 20}, geo.Point{10, 20}); d != 0 {
		t.Errorf("distance to itself = %v", d)
	}
	// Across the antimeridian the short way round: 1 degree of longitude at the equator.
	if d := geo.DistanceKm(geo.Point{0, 179.5}, geo.Point{0, -179.5}); math.Abs(d-111.2) > 0.1 {
		t.Errorf("antimeridian distance = %.2f km, want about 111.2", d)
	}
}

func TestNearRadiusBoundary(t *testing.T) {
	center := geo.Point{Lat: 30.2672, Lng: -97.7431} // Austin
	ix := geo.NewIndex[string](0)
	for _, bearing := range []float64{0, 90, 180, 270} {
		inside := geo.Destination(center, bearing, 49.99)
		outside := geo.Destination(center, bearing, 50.01)
		ix.Set("in-"+string(rune('a'+int(bearing/90))), inside)
		ix.Set("out-"+string(rune('a'+int(bearing/90))), outside)
	}
	exact := geo.Destination(center, 45, 50)
	ix.Set("exact", exact)
	r := geo.DistanceKm(center, exact) // the radius exactly at the point: included (<=)
	hits := ix.Near(center, r, nil)
	var got []string
	for _, h := range hits {
		got = append(got, h.Key)
		if h.DistanceKm > r {
			t.Errorf("%s at %.6f km is beyond the radius %.6f", h.Key, h.DistanceKm, r)
		}
	}
	slices.Sort(got)
	want := []string{"exact", "in-a", "in-b", "in-c", "in-d"}
	if !slices.Equal(got, want) {
		t.Errorf("Near(50 km) = %q, want %q", got, want)
	}
	if hits[len(hits)-1].Key != "exact" {
		t.Errorf("the farthest hit is %q, want exact (sorted by distance)", hits[len(hits)-1].Key)
	}
	if n := len(ix.Near(center, r*(1-1e-9), nil)); n != 4 {
		t.Errorf("just inside the boundary point: %d hits, want 4", n)
	}
}

// TestNearMatchesBruteForce checks the grid against a scan of every point for random queries,
// including circles that reach a pole or cross the antimeridian, and several cell sizes.
func TestNearMatchesBruteForce(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	randomPoint := func() geo.Point {
		return geo.Point{Lat: rng.Float64()*180 - 90, Lng: rng.Float64()*360 - 180}
	}
	type keyed struct {
		key    int
		points []geo.Point
	}
	var all []keyed
	for k := range 3000 {
		ps := []geo.Point{randomPoint()}
		if k%5 == 0 { // some keys have two locations
			ps = append(ps, geo.Destination(ps[0], rng.Float64()*360, rng.Float64()*300))
		}
		if k%7 == 0 { // and some sit near the antimeridian or a pole
			ps[0] = geo.Point{Lat: rng.Float64()*20 - 10, Lng: 179.9 - rng.Float64()*0.2}
			if ps[0].Lng > 180 {
				ps[0].Lng -= 360
			}
		}
		if k%11 == 0 {
			ps[0] = geo.Point{Lat: 89.5 + rng.Float64()*0.5, Lng: rng.Float64()*360 - 180}
		}
		all = append(all, keyed{k, ps})
	}
	for _, cellDeg := range []float64{0.25, 0.5, 3} {
		ix := geo.NewIndex[int](cellDeg)
		for _, k := range all {
			ix.Set(k.key, k.points...)
		}
		queries := []geo.Point{{0, 180}, {0, -180}, {5, 179.95}, {90, 0}, {89.8, 40}, {-90, 10}}
		for range 40 {
			queries = append(queries, randomPoint())
		}
		for _, q := range queries {
			for _, radius := range []float64{1, 50, 400, 3000} {
				want := map[int]float64{}
				for _, k := range all {
					for _, p := range k.points {
						if d := geo.DistanceKm(q, p); d <= radius {
							if old, ok := want[k.key]; !ok || d < old {
								want[k.key] = d
							}
						}
					}
				}
				hits := ix.Near(q, radius, nil)
				if len(hits) != len(want) {
					t.Fatalf("cell %v, Near(%v, %v): %d hits, brute force finds %d", cellDeg, q, radius, len(hits), len(want))
				}
				for i, h := range hits {
					if d, ok := want[h.Key]; !ok || d != h.DistanceKm {
						t.Fatalf("cell %v, Near(%v, %v): hit %v not in brute force (%v)", cellDeg, q, radius, h, d)
					}
					if i > 0 && hits[i-1].DistanceKm > h.DistanceKm {
						t.Fatalf("hits not sorted by distance at %d", i)
					}
				}
			}
		}
	}
}

// TestAppendNearestIsNearsPrefix: with a limit, the search returns the first limit hits of the
// full search, with keep applied before the limit, and appends to what dst holds.
func TestAppendNearestIsNearsPrefix(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	ix := geo.NewIndex[int](0)
	for k := range 5000 {
		p := geo.Point{Lat: 40 + rng.NormFloat64()*0.5, Lng: -74 + rng.NormFloat64()*0.5}
		if k%9 == 0 { // some keys with two points
			ix.Set(k, p, geo.Destination(p, rng.Float64()*360, rng.Float64()*40))
			continue
		}
		ix.Set(k, p)
	}
	odd := func(k int) bool { return k%2 == 1 }
	for range 30 {
		q := geo.Point{Lat: 40 + rng.NormFloat64()*0.5, Lng: -74 + rng.NormFloat64()*0.5}
		for _, keep := range []func(int) bool{nil, odd} {
			all := ix.Near(q, 50, keep)
			for _, limit := range []int{1, 5, 21, len(all), len(all) + 3} {
				got := ix.AppendNearest([]geo.Hit[int]{{Key: -1}}, q, 50, limit, keep)
				want := append([]geo.Hit[int]{{Key: -1}}, all[:min(limit, len(all))]...)
				if !slices.Equal(got, want) {
					t.Fatalf("AppendNearest(%v, limit %d) = %v\nwant %v", q, limit, got, want)
				}
			}
		}
	}
}

// TestNearVisitsOnlyNearbyCells shows the index is not a scan: with 20,000 points spread over the
// contiguous United States, a 50 km query considers a small share of them.
func TestNearVisitsOnlyNearbyCells(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	ix := geo.NewIndex[int](0)
	for k := range 20000 {
		ix.Set(k, geo.Point{Lat: 25 + rng.Float64()*24, Lng: -124 + rng.Float64()*57})
	}
	considered := 0
	hits := ix.Near(geo.Point{Lat: 39.7392, Lng: -104.9903}, 50, func(int) bool { considered++; return true })
	if len(hits) == 0 {
		t.Fatal("no hits around Denver")
	}
	if considered > 400 {
		t.Errorf("a 50 km query considered %d of 20000 points; the grid should limit it to nearby cells", considered)
	}
	t.Logf("50 km around Denver: %d hits, %d candidates considered", len(hits), considered)
}

func TestSetReplacesAndRemoveDeletes(t *testing.T) {
	ix := geo.NewIndex[string](0)
	austin, dallas := geo.Point{30.2672, -97.7431}, geo.Point{32.7767, -96.7970}
	ix.Set("r1", austin)
	ix.Set("r1", dallas) // moved
	if hits := ix.Near(austin, 10, nil); len(hits) != 0 {
		t.Errorf("r1 still found at its old place: %v", hits)
	}
	if hits := ix.Near(dallas, 10, nil); len(hits) != 1 || hits[0].Key != "r1" {
		t.Errorf("r1 not found at its new place: %v", hits)
	}
	ix.Set("r2", austin, dallas, geo.Point{Lat: 200}) // invalid point ignored
	hits := ix.Near(dallas, 10, nil)
	if len(hits) != 2 {
		t.Fatalf("hits = %v, want r1 and r2", hits)
	}
	if hits := ix.Near(dallas, 10, func(k string) bool { return k == "r2" }); len(hits) != 1 || hits[0].Key != "r2" {
		t.Errorf("keep filter: %v", hits)
	}
	ix.Remove("r1")
	ix.Remove("r2")
	if ix.Len() != 0 || len(ix.Near(dallas, 1000, nil)) != 0 {
		t.Errorf("index not empty after removing everything")
	}
}

func BenchmarkNear50Km(b *testing.B) {
	rng := rand.New(rand.NewPCG(5, 6))
	ix := geo.NewIndex[int](0)
	for k := range 20000 {
		ix.Set(k, geo.Point{Lat: 25 + rng.Float64()*24, Lng: -124 + rng.Float64()*57})
	}
	q := geo.Point{Lat: 39.7392, Lng: -104.9903}
	for b.Loop() {
		ix.Near(q, 50, nil)
	}
}

// BenchmarkNearest50KmFirstPage is a first page of a near search: the 21 nearest of a 50 km circle.
func BenchmarkNearest50KmFirstPage(b *testing.B) {
	rng := rand.New(rand.NewPCG(5, 6))
	ix := geo.NewIndex[int](0)
	for k := range 20000 {
		ix.Set(k, geo.Point{Lat: 39.7392 + rng.NormFloat64()*0.5, Lng: -104.9903 + rng.NormFloat64()*0.6})
	}
	q := geo.Point{Lat: 39.7392, Lng: -104.9903}
	dst := make([]geo.Hit[int], 0, 21)
	b.ReportAllocs()
	for b.Loop() {
		dst = ix.AppendNearest(dst[:0], q, 50, 21, nil)
	}
}
