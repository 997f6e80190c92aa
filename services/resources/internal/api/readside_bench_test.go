package api_test

import (
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/beaconcms/beacon/gateway"
	"github.com/beaconcms/beacon/platform/pagetoken"
	"github.com/beaconcms/beacon/services/resources/internal/api"
	"github.com/beaconcms/beacon/services/resources/internal/delivery"
	"github.com/beaconcms/beacon/services/resources/internal/domain"
	"github.com/beaconcms/beacon/services/resources/internal/index"
)

// benchResources fills an index with n resources spread as bench/delivery spreads them: 70 % around
// a few cities, the rest across the contiguous US, 1 in 100 virtual, kinds in turn.
func benchResources(n int) *index.Index {
	ix := index.New(nil, time.Second, slog.New(slog.DiscardHandler))
	rng := rand.New(rand.NewPCG(8, 1))
	// bench/delivery's cities, by weight (New York 19 of 123).
	cities := []struct {
		lat, lng float64
		weight   int
	}{
		{40.7128, -74.0060, 19}, {34.0522, -118.2437, 13}, {41.8781, -87.6298, 9}, {32.7767, -96.7970, 8}, {29.7604, -95.3698, 7},
		{38.9072, -77.0369, 6}, {39.9526, -75.1652, 6}, {25.7617, -80.1918, 6}, {33.7490, -84.3880, 6}, {42.3601, -71.0589, 5},
		{33.4484, -112.0740, 5}, {37.7749, -122.4194, 5}, {47.6062, -122.3321, 4}, {44.9778, -93.2650, 4}, {39.7392, -104.9903, 3},
		{30.2672, -97.7431, 3}, {38.6270, -90.1994, 3}, {36.1627, -86.7816, 2}, {39.0997, -94.5786, 2}, {40.7608, -111.8910, 1},
	}
	total := 0
	for _, c := range cities {
		total += c.weight
	}
	kinds := []domain.Kind{domain.KindSupportGroup, domain.KindTreatmentProvider, domain.KindPeerSupport, domain.KindCrisisLine,
		domain.KindTextLine, domain.KindChat, domain.KindOnlineCommunity, domain.KindAppOrTool, domain.KindOther}
	for i := range n {
		r := &domain.Resource{ID: fmt.Sprintf("r%06d", i), RevisionID: 1, Fields: domain.Fields{
			DisplayName: fmt.Sprintf("Example %d (example data)", i), OrganizationName: fmt.Sprintf("Example Network %d", i%500),
			Kind: kinds[i%len(kinds)], Status: domain.StatusActive, TargetSites: []string{"s"}, Languages: []string{"en", "es"},
			TaxonomyTerms: []string{"kratom", "recovery"}, Description: fmt.Sprintf("Example listing %d for the benchmark.", i),
			Costs:  []domain.Cost{domain.CostFree},
			Phones: []domain.Phone{{Number: fmt.Sprintf("+1202555%04d", i%10000), Type: domain.PhoneVoice}},
			Hours: domain.Hours{TimeZone: "America/Chicago", Periods: []domain.WeeklyPeriod{
				{Day: time.Monday, Opens: 9 * 60, Closes: 17 * 60}, {Day: time.Tuesday, Opens: 9 * 60, Closes: 17 * 60},
				{Day: time.Wednesday, Opens: 9 * 60, Closes: 17 * 60}, {Day: time.Thursday, Opens: 9 * 60, Closes: 17 * 60},
				{Day: time.Friday, Opens: 9 * 60, Closes: 17 * 60}, {Day: time.Saturday, Opens: 10 * 60, Closes: 14 * 60}}},
		}, Verified: domain.Verification{Date: domain.Date{Year: 2026, Month: 1 + i%11, Day: 1 + i%28}}}
		if i%4 == 0 {
			r.Hours = domain.Hours{AlwaysOpen: true}
		}
		lat, lng := 25+rng.Float64()*24, -124+rng.Float64()*57
		if rng.IntN(10) < 7 {
			w := rng.IntN(total)
			for _, c := range cities {
				if w -= c.weight; w < 0 {
					lat, lng = c.lat+rng.NormFloat64()*0.22, c.lng+rng.NormFloat64()*0.22/math.Cos(c.lat*math.Pi/180)
					break
				}
			}
		}
		if i%100 == 0 {
			r.Locations = []domain.Location{{Type: domain.LocationVirtual, URL: fmt.Sprintf("https://example.org/meet/%d", i)}}
		} else {
			r.Locations = []domain.Location{{Type: domain.LocationPhysical, Coordinates: &domain.LatLng{Lat: lat, Lng: lng},
				Address: domain.Address{City: "Example City", Country: "US"}}}
		}
		ix.Put(r)
	}
	return ix
}

// BenchmarkReadSideNear is bench/delivery's resources request (near + radiusKm=50 + kind on a
// public site with 20,000 resources) through the REST read side, without the network.
func BenchmarkReadSideNear(b *testing.B) {
	ix := benchResources(20000)
	st := catalog{"s": {ID: "s"}}
	tokens, err := pagetoken.NewCodec([]byte("bench-page-token-secret-0123456789abcdef"))
	if err != nil {
		b.Fatal(err)
	}
	rs := api.NewReadSide(api.NewDeliveryServer(delivery.New(ix, st, nil, func(md string) string { return "<p>" + md + "</p>" }), tokens),
		policies{"s": 0}, slog.New(slog.DiscardHandler))
	req := httptest.NewRequest(http.MethodGet, "/v1/sites/s/resources?near=40.7128,-74.0060&radiusKm=50&kind=support_group", nil)
	read := gateway.ReadRequest{Site: "s", Segment: "resources"}
	w := httptest.NewRecorder()
	rs.ServeRead(w, req, read)
	if w.Code != 200 {
		b.Fatalf("status %d: %s", w.Code, w.Body)
	}
	b.ReportMetric(float64(w.Body.Len()), "body-bytes")
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		w := &discardWriter{h: http.Header{}}
		for pb.Next() {
			clear(w.h)
			rs.ServeRead(w, req, read)
		}
	})
}

// BenchmarkReadSideNearUncached is BenchmarkReadSideNear with a different centre on every
// request (4,096 points around New York, more than the read side keeps answers for): every
// request searches the read model and writes its JSON.
func BenchmarkReadSideNearUncached(b *testing.B) {
	ix := benchResources(20000)
	st := catalog{"s": {ID: "s"}}
	tokens, err := pagetoken.NewCodec([]byte("bench-page-token-secret-0123456789abcdef"))
	if err != nil {
		b.Fatal(err)
	}
	rs := api.NewReadSide(api.NewDeliveryServer(delivery.New(ix, st, nil, func(md string) string { return "<p>" + md + "</p>" }), tokens),
		policies{"s": 0}, slog.New(slog.DiscardHandler))
	reqs := make([]*http.Request, 4096)
	for i := range reqs {
		reqs[i] = httptest.NewRequest(http.MethodGet, fmt.Sprintf("/v1/sites/s/resources?near=%.4f,%.4f&radiusKm=50&kind=support_group",
			40.7128+float64(i%64-32)/200, -74.0060+float64(i/64-32)/200), nil)
	}
	read := gateway.ReadRequest{Site: "s", Segment: "resources"}
	b.ReportAllocs()
	b.ResetTimer()
	var next atomic.Int64
	b.RunParallel(func(pb *testing.PB) {
		w := &discardWriter{h: http.Header{}}
		for pb.Next() {
			clear(w.h)
			rs.ServeRead(w, reqs[next.Add(1)%int64(len(reqs))], read)
		}
	})
}

// discardWriter is an http.ResponseWriter that keeps nothing but headers.
type discardWriter struct{ h http.Header }

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *discardWriter) WriteHeader(int)             {}
