package api_test

import (
	"log/slog"
	"math"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/beaconcms/beacon/gateway"
	"github.com/beaconcms/beacon/platform/pagetoken"
	"github.com/beaconcms/beacon/services/resources/internal/api"
	"github.com/beaconcms/beacon/services/resources/internal/delivery"
	"github.com/beaconcms/beacon/services/resources/internal/domain"
	"github.com/beaconcms/beacon/services/resources/internal/index"
)

// TestCachedJSONFollowsDeletesAndEdits: the REST read side's cached JSON of a resource is dropped
// when the resource is deleted (and stays out), and replaced when it is edited.
func TestCachedJSONFollowsDeletesAndEdits(t *testing.T) {
	ix := index.New(nil, time.Second, slog.New(slog.DiscardHandler))
	tokens, err := pagetoken.NewCodec([]byte("test-page-token-secret-0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	ds := api.NewDeliveryServer(delivery.New(ix, catalog{"s": {ID: "s"}}, nil, nil), tokens)
	rs := api.NewReadSide(ds, policies{"s": 0}, slog.New(slog.DiscardHandler))
	resource := func(id, name string, revision int64) *domain.Resource {
		return &domain.Resource{ID: id, RevisionID: revision, Fields: domain.Fields{DisplayName: name, Kind: domain.KindCrisisLine,
			Status: domain.StatusActive, TargetSites: []string{"s"}, Hours: domain.Hours{AlwaysOpen: true}}}
	}
	a, b := resource("a", "Alpha line", 1), resource("b", "Beta line", 1)
	ix.Put(a)
	ix.Put(b)
	list := func() string {
		w := httptest.NewRecorder()
		rs.ServeRead(w, httptest.NewRequest(http.MethodGet, "/v1/sites/s/resources", nil), gateway.ReadRequest{Site: "s", Segment: "resources"})
		if w.Code != http.StatusOK {
			t.Fatalf("list: %d %s", w.Code, w.Body)
		}
		return w.Body.String()
	}
	if body := list(); !strings.Contains(body, "Alpha line") || !strings.Contains(body, "Beta line") || api.CachedJSON(ds) != 2 {
		t.Fatalf("first list: %d cached, body %s", api.CachedJSON(ds), body)
	}

	deleted := *a
	deleted.RevisionID, deleted.DeleteTime = 2, time.Now()
	ix.Put(&deleted)
	if n := api.CachedJSON(ds); n != 1 {
		t.Errorf("after deleting a: %d cached, want 1", n)
	}
	if body := list(); strings.Contains(body, "Alpha line") || api.CachedJSON(ds) != 1 {
		t.Errorf("after listing again: %d cached, body %s; want a gone from both", api.CachedJSON(ds), body)
	}

	edited := resource("b", "Beta line renamed", 2)
	ix.Put(edited)
	if body := list(); !strings.Contains(body, "Beta line renamed") || api.CachedJSON(ds) != 1 {
		t.Errorf("after editing b: %d cached, body %s", api.CachedJSON(ds), body)
	}
}

// TestDistancesAreWrittenAsProtojsonWritesThem: the hand-written distance equals strconv's
// shortest form of the rounded double (what protojson writes) for distances from 0 to 20,000 km.
func TestDistancesAreWrittenAsProtojsonWritesThem(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	for i := range 200000 {
		d := rng.Float64() * 500
		if i%4 == 0 {
			d = rng.Float64() * 20000
		}
		if i%10 == 0 {
			d = float64(rng.IntN(2000000)) / 100 // exact hundredths
		}
		cents := math.Round(d * 100)
		want := strconv.FormatFloat(cents/100, 'g', -1, 64)
		if got := string(api.AppendHundredths(nil, cents)); got != want {
			t.Fatalf("distance %v: wrote %s, want %s", d, got, want)
		}
	}
}
