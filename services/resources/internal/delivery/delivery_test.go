package delivery_test

import (
	"context"
	"log/slog"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/beaconcms/beacon/platform/apperr"
	"github.com/beaconcms/beacon/platform/geo"
	"github.com/beaconcms/beacon/services/resources/internal/delivery"
	"github.com/beaconcms/beacon/services/resources/internal/domain"
	"github.com/beaconcms/beacon/services/resources/internal/index"
)

type sites map[string]domain.SiteSettings

func (s sites) Site(_ context.Context, id string) (domain.SiteSettings, bool, error) {
	v, ok := s[id]
	return v, ok, nil
}

// Monday 2026-01-05 15:00 in Chicago (21:00 UTC).
var now = time.Date(2026, 1, 5, 21, 0, 0, 0, time.UTC)

var rev int64

func put(ix *index.Index, id string, mutate func(r *domain.Resource)) *domain.Resource {
	rev++
	r := &domain.Resource{ID: id, RevisionID: rev, Fields: domain.Fields{
		DisplayName: id, Kind: domain.KindTreatmentProvider, Status: domain.StatusActive,
		TargetSites: []string{"s"}, Languages: []string{"en"},
	}, Verified: domain.Verification{Date: domain.Date{Year: 2025, Month: 12, Day: 1}}}
	if mutate != nil {
		mutate(r)
	}
	ix.Put(r)
	return r
}

func at(lat, lng float64) func(r *domain.Resource) {
	return func(r *domain.Resource) {
		r.Locations = append(r.Locations, domain.Location{Type: domain.LocationPhysical, Coordinates: &domain.LatLng{Lat: lat, Lng: lng}})
	}
}

func setup(t *testing.T) (*index.Index, *delivery.Model, sites) {
	t.Helper()
	ix := index.New(nil, time.Second, slog.New(slog.DiscardHandler))
	st := sites{"s": {ID: "s"}, "gone": {ID: "gone", Deleted: true}}
	return ix, delivery.New(ix, st, func() time.Time { return now }, strings.ToUpper), st
}

var austin = geo.Point{Lat: 30.2672, Lng: -97.7431}

func names(items []delivery.Item) string {
	var out []string
	for _, it := range items {
		out = append(out, it.Resource.ID)
	}
	return strings.Join(out, ",")
}

func TestNearSortsByDistanceAndListsRemoteSeparately(t *testing.T) {
	ix, m, _ := setup(t)
	ctx := context.Background()
	far := geo.Destination(austin, 90, 49.9)
	put(ix, "far", at(far.Lat, far.Lng))
	put(ix, "near", at(30.27, -97.75))
	out := geo.Destination(austin, 0, 50.1)
	put(ix, "outside", at(out.Lat, out.Lng))
	put(ix, "dallas", at(32.7767, -96.7970))
	put(ix, "hotline", func(r *domain.Resource) { r.Kind = domain.KindCrisisLine })
	put(ix, "forum", func(r *domain.Resource) {
		r.Kind = domain.KindOnlineCommunity
		r.Locations = []domain.Location{{Type: domain.LocationVirtual, URL: "https://forum.example.org/"}}
	})
	page, err := m.List(ctx, "s", delivery.Query{Near: &austin, RadiusKm: 50, Limit: 10, RemoteLimit: 5})
	if err != nil {
		t.Fatal(err)
	}
	if names(page.Local) != "near,far" || names(page.Remote) != "forum,hotline" || page.More || page.MoreRemote {
		t.Errorf("local %s remote %s (more %v, %v), want near,far and forum,hotline and no more", names(page.Local), names(page.Remote), page.More, page.MoreRemote)
	}
	if page, _ := m.List(ctx, "s", delivery.Query{Near: &austin, Kind: domain.KindOnlineCommunity, Limit: 10, RemoteLimit: 5}); names(page.Remote) != "forum" || len(page.Local) != 0 {
		t.Errorf("online communities: local %s remote %s, want only the forum", names(page.Local), names(page.Remote))
	}
	// The remote list pages on its own: RemoteLimit from RemoteOffset.
	for _, tt := range []struct {
		offset, limit int
		want          string
		more          bool
	}{{0, 1, "forum", true}, {1, 1, "hotline", false}, {1, 5, "hotline", false}, {2, 5, "", false}, {0, 0, "", false}} {
		page, _ := m.List(ctx, "s", delivery.Query{Near: &austin, RadiusKm: 50, Limit: 10, RemoteOffset: tt.offset, RemoteLimit: tt.limit})
		if names(page.Remote) != tt.want || page.MoreRemote != tt.more || names(page.Local) != "near,far" {
			t.Errorf("remote from %d, %d of them: %q (more %v), local %s; want %q (more %v)", tt.offset, tt.limit, names(page.Remote), page.MoreRemote, names(page.Local), tt.want, tt.more)
		}
	}
	if d := page.Local[1].DistanceKm; math.Abs(d-49.9) > 0.01 {
		t.Errorf("distance of far = %v, want 49.9", d)
	}
	page, _ = m.List(ctx, "s", delivery.Query{Near: &austin, RadiusKm: 300, Kind: domain.KindTreatmentProvider, Limit: 10})
	if names(page.Local) != "near,far,outside,dallas" || names(page.Remote) != "" {
		t.Errorf("300 km treatment providers: local %s remote %s", names(page.Local), names(page.Remote))
	}
	page, _ = m.List(ctx, "s", delivery.Query{Near: &austin, RadiusKm: 300, Limit: 2})
	if names(page.Local) != "near,far" || !page.More {
		t.Errorf("first page %s more=%v", names(page.Local), page.More)
	}
	page, _ = m.List(ctx, "s", delivery.Query{Near: &austin, RadiusKm: 300, Limit: 2, Offset: 2})
	if names(page.Local) != "outside,dallas" || page.More || page.Remote != nil {
		t.Errorf("second page %s more=%v remote=%s", names(page.Local), page.More, names(page.Remote))
	}
}

func TestFilters(t *testing.T) {
	ix, m, st := setup(t)
	ctx := context.Background()
	put(ix, "spanish", func(r *domain.Resource) { r.Languages = []string{"es-MX"}; r.TaxonomyTerms = []string{"detox"} })
	put(ix, "words", func(r *domain.Resource) { r.Description = "Peer-led **kratom** recovery meetings" })
	put(ix, "weekday", func(r *domain.Resource) {
		r.Hours = domain.Hours{TimeZone: "America/Chicago", Periods: []domain.WeeklyPeriod{{Day: time.Monday, Opens: 9 * 60, Closes: 17 * 60}}}
	})
	put(ix, "evening", func(r *domain.Resource) {
		r.Hours = domain.Hours{TimeZone: "America/Chicago", Periods: []domain.WeeklyPeriod{{Day: time.Monday, Opens: 18 * 60, Closes: 22 * 60}}}
	})
	put(ix, "inactive", func(r *domain.Resource) { r.Status = domain.StatusInactive })
	put(ix, "closed", func(r *domain.Resource) { r.Status = domain.StatusTemporarilyClosed })
	put(ix, "old", func(r *domain.Resource) { r.Verified = domain.Verification{} })
	put(ix, "elsewhere", func(r *domain.Resource) { r.TargetSites = []string{"other"} })
	put(ix, "deleted", func(r *domain.Resource) { r.DeleteTime = now })
	tests := []struct {
		q    delivery.Query
		want string
	}{
		{delivery.Query{}, "evening,old,spanish,weekday,words"},
		{delivery.Query{Language: "es"}, "spanish"},
		{delivery.Query{Taxonomy: "Detox"}, "spanish"},
		{delivery.Query{Words: "KRATOM recovery"}, "words"},
		{delivery.Query{OpenNow: true}, "weekday"},
	}
	for _, tt := range tests {
		tt.q.Limit = 50
		page, err := m.List(ctx, "s", tt.q)
		if err != nil {
			t.Fatal(err)
		}
		if got := names(page.Local); got != tt.want {
			t.Errorf("List(%+v) = %s, want %s", tt.q, got, tt.want)
		}
	}
	if it, err := m.Get(ctx, "s", "closed"); err != nil || it.Resource.Status != domain.StatusTemporarilyClosed {
		t.Errorf("a temporarily closed resource is not delivered by id: %v", err)
	}
	for _, id := range []string{"inactive", "elsewhere", "deleted"} {
		if _, err := m.Get(ctx, "s", id); !apperr.Is(err, apperr.NotFound) {
			t.Errorf("Get(%s) = %v, want not found", id, err)
		}
	}
	if it, _ := m.Get(ctx, "s", "old"); !it.Stale {
		t.Error("a never-verified resource is not flagged stale")
	}
	st["s"] = domain.SiteSettings{ID: "s", HideStale: true}
	if _, err := m.Get(ctx, "s", "old"); !apperr.Is(err, apperr.NotFound) {
		t.Errorf("a stale resource is delivered on a site that hides them: %v", err)
	}
	st["s"] = domain.SiteSettings{ID: "s", StaleAfterDays: 30} // verified 2025-12-01, 35 days ago
	if it, _ := m.Get(ctx, "s", "spanish"); !it.Stale {
		t.Error("the site's 30-day threshold is not applied")
	}
	if _, err := m.List(ctx, "gone", delivery.Query{Limit: 10}); !apperr.Is(err, apperr.NotFound) {
		t.Errorf("a deleted site's list: %v, want not found", err)
	}
}

func TestCrisisLinesAndFreshness(t *testing.T) {
	ix, m, _ := setup(t)
	ctx := context.Background()
	put(ix, "b-line", func(r *domain.Resource) { r.Crisis = true; r.Hours = domain.Hours{AlwaysOpen: true} })
	a := put(ix, "a-line", func(r *domain.Resource) { r.Crisis = true })
	put(ix, "not-crisis", nil)
	lines, err := m.CrisisLines(ctx, "s")
	if err != nil {
		t.Fatal(err)
	}
	if names(lines) != "a-line,b-line" || lines[0].OpenNow || !lines[1].OpenNow {
		t.Errorf("crisis lines %s open %v %v", names(lines), lines[0].OpenNow, lines[1].OpenNow)
	}
	next := *a
	next.RevisionID = rev + 1
	next.Fields.Status = domain.StatusDefunct
	ix.Put(&next) // an edit in this process is seen by the next request
	if lines, _ := m.CrisisLines(ctx, "s"); names(lines) != "b-line" {
		t.Errorf("after the edit: %s, want b-line", names(lines))
	}
}

// TestListByNamePagesAndFollowsEdits: the list without near pages through the index's per-site
// list sorted by name, and a rename, a site change or a delete re-sorts it for the next request.
func TestListByNamePagesAndFollowsEdits(t *testing.T) {
	ix, m, _ := setup(t)
	ctx := context.Background()
	for _, id := range []string{"delta", "alpha", "charlie", "bravo", "echo"} {
		put(ix, id, nil)
	}
	remote := put(ix, "foxtrot", at(30.27, -97.74)) // physical: local to near searches only
	list := func() string {
		var all []delivery.Item
		for offset := 0; ; {
			page, err := m.List(ctx, "s", delivery.Query{Offset: offset, Limit: 2})
			if err != nil {
				t.Fatal(err)
			}
			all = append(all, page.Local...)
			offset += len(page.Local)
			if !page.More {
				return names(all)
			}
		}
	}
	if got := list(); got != "alpha,bravo,charlie,delta,echo,foxtrot" {
		t.Errorf("pages = %s", got)
	}
	renamed := *ix.SiteByName("s")[0] // alpha
	renamed.RevisionID, renamed.DisplayName = rev+1, "zulu"
	rev++
	ix.Put(&renamed)
	moved, _ := ix.Get("bravo")
	other := *moved
	other.RevisionID, other.TargetSites = rev+1, []string{"elsewhere"}
	rev++
	ix.Put(&other)
	gone := *remote
	gone.RevisionID, gone.DeleteTime = rev+1, now
	rev++
	ix.Put(&gone)
	if got := list(); got != "charlie,delta,echo,alpha" {
		t.Errorf("after a rename, a site change and a delete: %s, want charlie,delta,echo,alpha (alpha now named zulu)", got)
	}
	page, err := m.List(ctx, "s", delivery.Query{Near: &austin, Limit: 10, RemoteLimit: 10})
	if err != nil || len(page.Local) != 0 || names(page.Remote) != "charlie,delta,echo,alpha" {
		t.Errorf("near: local %s remote %s (%v)", names(page.Local), names(page.Remote), err)
	}
}

// TestRenderedOncePerRevision: the description is rendered once per revision (not per request)
// and an edit is rendered for the next request.
func TestRenderedOncePerRevision(t *testing.T) {
	ix := index.New(nil, time.Second, slog.New(slog.DiscardHandler))
	renders := 0
	m := delivery.New(ix, sites{"s": {ID: "s"}}, func() time.Time { return now }, func(md string) string { renders++; return "<p>" + md + "</p>" })
	r := put(ix, "clinic", func(r *domain.Resource) { r.Description = "first" })
	for range 3 {
		if it, err := m.Get(context.Background(), "s", "clinic"); err != nil || it.DescriptionHTML != "<p>first</p>" {
			t.Fatalf("Get = %q, %v", it.DescriptionHTML, err)
		}
	}
	next := *r
	next.RevisionID, next.Description = rev+1, "second"
	rev++
	ix.Put(&next)
	if it, _ := m.Get(context.Background(), "s", "clinic"); it.DescriptionHTML != "<p>second</p>" || renders != 2 {
		t.Errorf("after an edit: %q after %d renders; want the new text, rendered twice in all", it.DescriptionHTML, renders)
	}
}

// TestNearByKindFollowsKindChanges: a near search for one kind uses that kind's geo index; a
// resource that changes kind, moves or is deleted is found where it now belongs, and only there.
func TestNearByKindFollowsKindChanges(t *testing.T) {
	ix, m, _ := setup(t)
	ctx := context.Background()
	near := func(kind domain.Kind) string {
		page, err := m.List(ctx, "s", delivery.Query{Near: &austin, Kind: kind, Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		return names(page.Local)
	}
	g := put(ix, "group", func(r *domain.Resource) { r.Kind = domain.KindSupportGroup; at(30.27, -97.74)(r) })
	put(ix, "clinic", at(30.28, -97.75))
	if near(domain.KindSupportGroup) != "group" || near(domain.KindTreatmentProvider) != "clinic" || near(0) != "group,clinic" || near(domain.KindChat) != "" {
		t.Fatalf("before: groups %q, providers %q, all %q", near(domain.KindSupportGroup), near(domain.KindTreatmentProvider), near(0))
	}
	next := *g
	next.RevisionID, next.Kind = rev+1, domain.KindTreatmentProvider
	rev++
	ix.Put(&next)
	if near(domain.KindSupportGroup) != "" || near(domain.KindTreatmentProvider) != "group,clinic" {
		t.Errorf("after a kind change: groups %q, providers %q", near(domain.KindSupportGroup), near(domain.KindTreatmentProvider))
	}
	moved := next
	moved.RevisionID, moved.Locations = rev+1, []domain.Location{{Type: domain.LocationPhysical, Coordinates: &domain.LatLng{Lat: 40.71, Lng: -74.0}}}
	rev++
	ix.Put(&moved)
	if near(domain.KindTreatmentProvider) != "clinic" || near(0) != "clinic" {
		t.Errorf("after a move: providers %q, all %q", near(domain.KindTreatmentProvider), near(0))
	}
}

// TestDeletedResourcesLeaveTheCaches: what delivery compiled of a resource (its schedule and
// description) or a directory (its intro) is dropped when it is deleted, and a newer revision
// replaces it.
func TestDeletedResourcesLeaveTheCaches(t *testing.T) {
	ix, m, _ := setup(t)
	ctx := context.Background()
	a := put(ix, "a", func(r *domain.Resource) { r.Description = "A" })
	put(ix, "b", func(r *domain.Resource) { r.Description = "B" })
	rev++
	d := &domain.Directory{ID: "d", RevisionID: rev, DirectoryFields: domain.DirectoryFields{Site: "s", Slug: "lines", Title: "Lines", Intro: "hello",
		Entries: []domain.DirectoryEntry{{ResourceID: "a"}, {ResourceID: "b"}}}}
	ix.PutDirectory(d)
	if _, err := m.Directory(ctx, "s", "lines"); err != nil {
		t.Fatal(err)
	}
	if res, dirs := delivery.Cached(m); res != 2 || dirs != 1 {
		t.Fatalf("after serving the directory: %d resources, %d directories cached; want 2 and 1", res, dirs)
	}

	deleted := *a
	rev++
	deleted.RevisionID, deleted.DeleteTime = rev, now
	ix.Put(&deleted)
	if res, _ := delivery.Cached(m); res != 1 {
		t.Errorf("after deleting a: %d resources cached, want 1", res)
	}
	page, err := m.Directory(ctx, "s", "lines")
	if err != nil || len(page.Entries) != 1 {
		t.Fatalf("directory after the delete: %+v, %v", page.Entries, err)
	}
	if res, _ := delivery.Cached(m); res != 1 {
		t.Errorf("after serving again: %d resources cached, want 1 (a stays out)", res)
	}

	gone := *d
	rev++
	gone.RevisionID, gone.DeleteTime = rev, now
	ix.PutDirectory(&gone)
	if _, dirs := delivery.Cached(m); dirs != 0 {
		t.Errorf("after deleting the directory: %d directories cached, want 0", dirs)
	}
}

// TestListIntoReusesAPage: a page used again holds only the new answer.
func TestListIntoReusesAPage(t *testing.T) {
	ix, m, _ := setup(t)
	ctx := context.Background()
	put(ix, "near", at(30.27, -97.75))
	put(ix, "far", at(30.6, -97.75))
	put(ix, "forum", func(r *domain.Resource) {
		r.Locations = []domain.Location{{Type: domain.LocationVirtual, URL: "https://forum.example.org/"}}
	})
	var page delivery.Page
	if err := m.ListInto(ctx, "s", delivery.Query{Near: &austin, RadiusKm: 100, Limit: 1, RemoteLimit: 5}, &page); err != nil {
		t.Fatal(err)
	}
	if names(page.Local) != "near" || !page.More || names(page.Remote) != "forum" {
		t.Fatalf("first: local %s (more %v) remote %s", names(page.Local), page.More, names(page.Remote))
	}
	if err := m.ListInto(ctx, "s", delivery.Query{Near: &austin, RadiusKm: 10, Limit: 5}, &page); err != nil {
		t.Fatal(err)
	}
	if names(page.Local) != "near" || page.More || len(page.Remote) != 0 {
		t.Errorf("reused: local %s (more %v) remote %s; want near alone", names(page.Local), page.More, names(page.Remote))
	}
	if err := m.ListInto(ctx, "gone", delivery.Query{Near: &austin, Limit: 5}, &page); err == nil || len(page.Local) != 0 {
		t.Errorf("a deleted site: %v, local %s; want an error and an empty page", err, names(page.Local))
	}
}
