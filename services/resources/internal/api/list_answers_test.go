package api_test

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/beaconcms/beacon/gateway"
	"github.com/beaconcms/beacon/platform/pagetoken"
	"github.com/beaconcms/beacon/services/resources/internal/api"
	"github.com/beaconcms/beacon/services/resources/internal/delivery"
	"github.com/beaconcms/beacon/services/resources/internal/domain"
	"github.com/beaconcms/beacon/services/resources/internal/index"
)

// answersEnv is a REST read side over an index, with a clock the test moves.
type answersEnv struct {
	ix    *index.Index
	ds    *api.DeliveryServer
	rs    *api.ReadSide
	sites catalog
	mu    sync.Mutex
	now   time.Time
}

func newAnswersEnv(t *testing.T, now time.Time) *answersEnv {
	t.Helper()
	e := &answersEnv{ix: index.New(nil, time.Second, slog.New(slog.DiscardHandler)), sites: catalog{"s": {ID: "s"}}, now: now}
	tokens, err := pagetoken.NewCodec([]byte("test-page-token-secret-0123456789abcdef"), pagetoken.WithClock(e.clock))
	if err != nil {
		t.Fatal(err)
	}
	e.ds = api.NewDeliveryServer(delivery.New(e.ix, e.sites, e.clock, nil), tokens)
	e.rs = api.NewReadSide(e.ds, policies{"s": 0}, slog.New(slog.DiscardHandler))
	return e
}

func (e *answersEnv) clock() time.Time { e.mu.Lock(); defer e.mu.Unlock(); return e.now }
func (e *answersEnv) set(t time.Time)  { e.mu.Lock(); e.now = t; e.mu.Unlock() }

// get serves a GET of the resources list with query and returns the body and ETag.
func (e *answersEnv) get(t *testing.T, query string) (string, string) {
	t.Helper()
	w := httptest.NewRecorder()
	e.rs.ServeRead(w, httptest.NewRequest(http.MethodGet, "/v1/sites/s/resources?"+query, nil), gateway.ReadRequest{Site: "s", Segment: "resources"})
	if w.Code != http.StatusOK {
		t.Fatalf("GET ?%s: %d %s", query, w.Code, w.Body)
	}
	return w.Body.String(), w.Header().Get("Etag")
}

// weekdayOffice is open Monday to Friday 09:00-17:00 in Chicago, at (lat, lng).
func weekdayOffice(id, name string, revision int64, lat, lng float64) *domain.Resource {
	r := &domain.Resource{ID: id, RevisionID: revision, Fields: domain.Fields{DisplayName: name, Kind: domain.KindSupportGroup,
		Status: domain.StatusActive, TargetSites: []string{"s"},
		Locations: []domain.Location{{Type: domain.LocationPhysical, Coordinates: &domain.LatLng{Lat: lat, Lng: lng}}},
		Hours:     domain.Hours{TimeZone: "America/Chicago"}},
		Verified: domain.Verification{Date: domain.Date{Year: 2026, Month: 1, Day: 1}}}
	for d := time.Monday; d <= time.Friday; d++ {
		r.Hours.Periods = append(r.Hours.Periods, domain.WeeklyPeriod{Day: d, Opens: 9 * 60, Closes: 17 * 60})
	}
	return r
}

const nearAustin = "near=30.2672,-97.7431&radiusKm=50&kind=support_group"

// TestListAnswersFollowTheReadModel: a list request made a second time is kept, and answered
// from the kept answer (same bytes and ETag) until a resource changes: an edit of a listed
// resource, a new resource entering the circle, one leaving it and a delete each drop it, and the
// next answer shows the change.
func TestListAnswersFollowTheReadModel(t *testing.T) {
	e := newAnswersEnv(t, time.Date(2026, 1, 5, 18, 0, 0, 0, time.UTC)) // Monday 12:00 in Chicago
	e.ix.Put(weekdayOffice("a", "Alpha group", 1, 30.27, -97.74))
	first, etag := e.get(t, nearAustin)
	if !strings.Contains(first, "Alpha group") || api.ListAnswers(e.ds) != 0 {
		t.Fatalf("first answer: %d kept (want none: asked once), body %s", api.ListAnswers(e.ds), first)
	}
	for i := range 2 {
		if again, againTag := e.get(t, nearAustin); again != first || againTag != etag || api.ListAnswers(e.ds) != 1 {
			t.Fatalf("answer %d: %d kept, %s (%s); first %s (%s)", i+2, api.ListAnswers(e.ds), again, againTag, first, etag)
		}
	}

	steps := []struct {
		name   string
		change func()
		want   []string // in the body
		gone   []string // not in the body
	}{
		{"a listed resource renamed", func() { e.ix.Put(weekdayOffice("a", "Alpha group renamed", 2, 30.27, -97.74)) },
			[]string{"Alpha group renamed"}, nil},
		{"a new resource in the circle", func() { e.ix.Put(weekdayOffice("b", "Beta group", 1, 30.28, -97.75)) },
			[]string{"Alpha group renamed", "Beta group"}, nil},
		{"a resource moved out of the circle", func() { e.ix.Put(weekdayOffice("b", "Beta group", 2, 32.7767, -96.7970)) },
			[]string{"Alpha group renamed"}, []string{"Beta group"}},
		{"a listed resource deleted", func() {
			gone := weekdayOffice("a", "Alpha group renamed", 3, 30.27, -97.74)
			gone.DeleteTime = e.clock()
			e.ix.Put(gone)
		}, nil, []string{"Alpha group"}},
	}
	prev := etag
	for _, st := range steps {
		st.change()
		if n := api.ListAnswers(e.ds); n != 0 {
			t.Errorf("%s: %d answers kept after the change, want 0", st.name, n)
		}
		body, etag := e.get(t, nearAustin)
		if again, _ := e.get(t, nearAustin); again != body || api.ListAnswers(e.ds) != 1 {
			t.Errorf("%s: asked again: %d kept, %s", st.name, api.ListAnswers(e.ds), again)
		}
		for _, w := range st.want {
			if !strings.Contains(body, w) {
				t.Errorf("%s: body lacks %q: %s", st.name, w, body)
			}
		}
		for _, g := range st.gone {
			if strings.Contains(body, g) {
				t.Errorf("%s: body still has %q: %s", st.name, g, body)
			}
		}
		if etag == prev {
			t.Errorf("%s: the ETag %s did not change", st.name, etag)
		}
		prev = etag
	}
}

// TestListAnswersExpireWithTheClock: a kept answer is served until, and not past, an open/close
// transition of a listed resource (open-now flips), one of a resource the openNow filter left
// out (it now enters), the same transition after the autumn DST change (an hour later in UTC than
// the week before), the UTC midnight that makes a listing stale, or a change of the site's
// settings. Each answer is made and kept 30 s before the transition (well within
// api.MaxListAnswerAge) and is checked to be still kept and served 1 s before it.
func TestListAnswersExpireWithTheClock(t *testing.T) {
	e := newAnswersEnv(t, time.Time{})
	e.ix.Put(weekdayOffice("a", "Alpha group", 1, 30.27, -97.74))
	const openOnly = nearAustin + "&openNow=true"
	listed := func(body string) bool { return strings.Contains(body, "Alpha group") }
	open := func(body string) bool { return strings.Contains(body, `"openNow":true`) }
	stale := func(body string) bool { return strings.Contains(body, `"stale":true`) }
	tests := []struct {
		name       string
		settings   domain.SiteSettings
		query      string
		transition time.Time
		has        func(string) bool
		before     bool // has(body) before the transition; after it, the opposite
	}{
		{"closing at 17:00 in Chicago (23:00Z in January)", domain.SiteSettings{ID: "s"}, nearAustin,
			time.Date(2026, 1, 5, 23, 0, 0, 0, time.UTC), open, true},
		{"opening at 09:00 with openNow=true: enters the list", domain.SiteSettings{ID: "s"}, openOnly,
			time.Date(2026, 1, 6, 15, 0, 0, 0, time.UTC), listed, false},
		{"opening at 09:00 CST on the Monday after DST ends (15:00Z, not 14:00Z)", domain.SiteSettings{ID: "s"}, nearAustin,
			time.Date(2026, 11, 2, 15, 0, 0, 0, time.UTC), open, false},
		{"UTC midnight: verified 2026-01-01, stale after 30 days", domain.SiteSettings{ID: "s", StaleAfterDays: 30}, nearAustin,
			time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC), stale, false},
		{"UTC midnight on a site hiding stale listings: leaves the list", domain.SiteSettings{ID: "s", StaleAfterDays: 30, HideStale: true}, nearAustin,
			time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC), listed, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.sites["s"] = tt.settings
			e.set(tt.transition.Add(-30 * time.Second))
			body, etag := e.get(t, tt.query)
			if tt.has(body) != tt.before {
				t.Fatalf("30 s before: %s", body)
			}
			e.get(t, tt.query) // asked twice: kept
			e.set(tt.transition.Add(-time.Second))
			if again, againTag := e.get(t, tt.query); againTag != etag || again != body || api.ListAnswers(e.ds) == 0 {
				t.Fatalf("1 s before: not the kept answer (%d kept): %s", api.ListAnswers(e.ds), again)
			}
			e.set(tt.transition)
			if body := e.get1(t, tt.query); tt.has(body) == tt.before {
				t.Errorf("at the transition: a kept answer outlived it: %s", body)
			}
		})
	}

	// The clock set back: an answer made later is passed over.
	e.sites["s"] = domain.SiteSettings{ID: "s"}
	e.set(time.Date(2026, 1, 5, 22, 0, 0, 0, time.UTC)) // Monday 16:00 in Chicago: open
	for range 2 {
		if body := e.get1(t, nearAustin); !open(body) {
			t.Fatalf("Monday 16:00: not open now: %s", body)
		}
	}
	e.set(time.Date(2026, 1, 5, 14, 0, 0, 0, time.UTC)) // 08:00: closed
	if body := e.get1(t, nearAustin); open(body) {
		t.Errorf("the clock set back to 08:00: open now (an answer made at 16:00): %s", body)
	}

	// The site's settings change (not the clock): the kept answer is passed over.
	e.sites["s"] = domain.SiteSettings{ID: "s", StaleAfterDays: 30}
	e.set(time.Date(2026, 2, 2, 18, 0, 0, 0, time.UTC))
	for range 2 {
		if body := e.get1(t, nearAustin); !listed(body) || !stale(body) {
			t.Fatalf("stale listing on a site showing them: %s", body)
		}
	}
	if api.ListAnswers(e.ds) == 0 {
		t.Fatal("no answer kept")
	}
	e.sites["s"] = domain.SiteSettings{ID: "s", StaleAfterDays: 30, HideStale: true}
	if body := e.get1(t, nearAustin); listed(body) {
		t.Errorf("after the site hid stale listings: still listed: %s", body)
	}
}

// get1 is get's body.
func (e *answersEnv) get1(t *testing.T, query string) string {
	t.Helper()
	body, _ := e.get(t, query)
	return body
}

// TestListAnswersAreBounded: distinct requests, each made twice, keep at most api.MaxListAnswers
// answers, and page tokens from a kept answer still lead to the next page.
func TestListAnswersAreBounded(t *testing.T) {
	e := newAnswersEnv(t, time.Date(2026, 1, 5, 18, 0, 0, 0, time.UTC))
	for i := range 3 {
		e.ix.Put(weekdayOffice(fmt.Sprintf("r%d", i), fmt.Sprintf("Group %d", i), 1, 30.27+float64(i)/100, -97.74))
	}
	for i := range api.MaxListAnswers + 10 {
		e.get(t, fmt.Sprintf("near=30.2672,-97.%04d&radiusKm=50", 7000+i))
		e.get(t, fmt.Sprintf("near=30.2672,-97.%04d&radiusKm=50", 7000+i))
		if n := api.ListAnswers(e.ds); n > api.MaxListAnswers {
			t.Fatalf("after %d requests: %d answers kept", i+1, n)
		}
	}
	if n := api.ListAnswers(e.ds); n < 10 {
		t.Fatalf("%d answers kept after the bound was passed: want the recent ones", n)
	}
	first, _ := e.get(t, nearAustin+"&pageSize=1")
	e.get(t, nearAustin+"&pageSize=1")
	again, _ := e.get(t, nearAustin+"&pageSize=1") // the kept answer, with the same token
	if first != again {
		t.Fatalf("kept answer differs: %s vs %s", again, first)
	}
	_, token, _ := strings.Cut(again, `"nextPageToken":"`)
	token, _, _ = strings.Cut(token, `"`)
	if token == "" {
		t.Fatalf("no next page token: %s", again)
	}
	second, _ := e.get(t, nearAustin+"&pageSize=1&pageToken="+token)
	if !strings.Contains(second, "Group 1") || strings.Contains(second, "Group 0") {
		t.Errorf("second page: %s", second)
	}
}
