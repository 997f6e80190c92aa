package articleindex_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/beaconcms/beacon/platform/listfilter"
	"github.com/beaconcms/beacon/services/content/internal/articleindex"
	"github.com/beaconcms/beacon/services/content/internal/domain"
)

var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

func TestPutKeepsTheNewestRevision(t *testing.T) {
	t.Parallel()
	ix := articleindex.New()
	tests := []struct {
		name        string
		put         articleindex.Entry
		wantChanged bool
		wantTitle   string
	}{
		{"first", articleindex.Entry{ID: "a", Revision: 2, Title: "two", UpdateTime: t0}, true, "two"},
		{"older revision ignored", articleindex.Entry{ID: "a", Revision: 1, Title: "one", UpdateTime: t0}, false, "two"},
		{"same revision replaces", articleindex.Entry{ID: "a", Revision: 2, Title: "two again", UpdateTime: t0}, true, "two again"},
		{"newer revision replaces", articleindex.Entry{ID: "a", Revision: 3, Title: "three", UpdateTime: t0.Add(time.Hour)}, true, "three"},
	}
	for _, tt := range tests {
		if got := ix.Put(tt.put); got != tt.wantChanged {
			t.Errorf("%s: Put = %t, want %t", tt.name, got, tt.wantChanged)
		}
		if e, _ := ix.Get("a"); e.Title != tt.wantTitle {
			t.Errorf("%s: title %q, want %q", tt.name, e.Title, tt.wantTitle)
		}
	}
	// Replacing an entry moves it in every order: it is listed once, at its new place.
	ix.Put(articleindex.Entry{ID: "b", Revision: 1, Title: "b", UpdateTime: t0.Add(30 * time.Minute)})
	got, err := ix.List(domain.ArticleQuery{OrderBy: domain.OrderUpdateTime, Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].ID != "b" || got[1].ID != "a" {
		t.Errorf("List = %v, want b then a", got)
	}
}

func TestDueAndPending(t *testing.T) {
	t.Parallel()
	ix := articleindex.New()
	sched := func(id string, at time.Time) articleindex.Entry {
		return articleindex.Entry{ID: id, Revision: 1, State: domain.StateScheduled, ScheduledPublishTime: at}
	}
	ix.Put(sched("late", t0.Add(time.Hour)))
	ix.Put(sched("b", t0))
	ix.Put(sched("a", t0))
	deleted := sched("deleted", t0)
	deleted.DeleteTime = t0
	ix.Put(deleted)
	ix.Put(articleindex.Entry{ID: "draft", Revision: 1, State: domain.StateDraft})

	ids := func(es []articleindex.Entry) string { return fmt.Sprint(len(es), es) }
	if due := ix.Due(t0, 0); len(due) != 2 || due[0].ID != "a" || due[1].ID != "b" {
		t.Errorf("Due(t0) = %s, want a, b", ids(due))
	}
	if due := ix.Due(t0.Add(time.Hour), 1); len(due) != 1 || due[0].ID != "a" {
		t.Errorf("Due(t0+1h, 1) = %s, want a", ids(due))
	}
	if next, ok := ix.NextDue(); !ok || !next.Equal(t0) {
		t.Errorf("NextDue = %v, %t; want t0", next, ok)
	}

	// An entry leaves the queue when a newer revision is no longer scheduled, and joins it when one is.
	ix.Put(articleindex.Entry{ID: "a", Revision: 2, State: domain.StatePublished})
	rescheduled := sched("draft", t0.Add(-time.Minute))
	rescheduled.Revision = 2
	ix.Put(rescheduled)
	if due := ix.Due(t0, 0); len(due) != 2 || due[0].ID != "draft" || due[1].ID != "b" {
		t.Errorf("Due(t0) after publishing a and scheduling draft = %s, want draft, b", ids(due))
	}
	stale := sched("a", t0) // a late read of an older revision changes nothing
	ix.Put(stale)
	if next, ok := ix.NextDue(); !ok || !next.Equal(t0.Add(-time.Minute)) {
		t.Errorf("NextDue = %v, %t; want t0-1m", next, ok)
	}
}

// BenchmarkList lists a page of 20 from 10,000 entries with a filter, on a late page.
func BenchmarkList(b *testing.B) {
	ix := articleindex.New()
	for i := range 10000 {
		ix.Put(articleindex.Entry{
			ID: fmt.Sprintf("a%05d", i), Revision: 1, State: domain.State(1 + i%4), Title: fmt.Sprintf("t%d", i%977),
			Tags: []string{fmt.Sprintf("tag%d", i%10)}, Sites: []string{"kh"},
			CreateTime: t0.Add(time.Duration(i) * time.Second), UpdateTime: t0.Add(time.Duration(i%5000) * time.Second),
		})
	}
	q := domain.ArticleQuery{
		Conditions: []listfilter.Condition{{Field: "tag", Op: listfilter.Eq, Value: "tag3"}, {Field: "state", Op: listfilter.Ne, Value: "DRAFT"}},
		Sites:      []string{"kh"}, OrderBy: domain.OrderTitle, Descending: true, Limit: 21,
		After: &domain.Cursor{Title: "t500", ID: "a05000"},
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ix.List(q); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkListReviewDue lists the first page of 20 due reviews among 10,000 entries of which
// one in 50 is due: the worst case for the filter, which computes each entry's due time.
func BenchmarkListReviewDue(b *testing.B) {
	ix := articleindex.New()
	for i := range 10000 {
		reviewed := t0.AddDate(0, -11, 0) // current on a 12-month site
		if i%50 == 0 {
			reviewed = t0.AddDate(-2, 0, 0)
		}
		ix.Put(articleindex.Entry{
			ID: fmt.Sprintf("a%05d", i), Revision: 1, State: domain.StatePublished, Sites: []string{"kh"},
			CreateTime: t0.Add(time.Duration(i) * time.Second), UpdateTime: t0.Add(time.Duration(i) * time.Second),
			LastReview: domain.Date{Year: reviewed.Year(), Month: int(reviewed.Month()), Day: reviewed.Day()},
		})
	}
	q := domain.ArticleQuery{
		Conditions: []listfilter.Condition{{Field: "review_due", Op: listfilter.Eq, Value: "true"}},
		OrderBy:    domain.OrderUpdateTime, Descending: true, Limit: 21,
		Now: t0, ReviewValidity: func(string) int { return 12 },
	}
	b.ReportAllocs()
	for b.Loop() {
		got, err := ix.List(q)
		if err != nil || len(got) != 21 {
			b.Fatalf("List = %d entries, %v; want 21", len(got), err)
		}
	}
}

// TestListLeavesOutArticlesOfDeletedSites: unless ShowDeleted, an article is listed while at
// least one site it is on, through its draft or its live snapshot, is not deleted.
func TestListLeavesOutArticlesOfDeletedSites(t *testing.T) {
	ix := articleindex.New()
	for _, e := range []articleindex.Entry{
		{ID: "only-b", Sites: []string{"b"}},
		{ID: "draft-b-live-a", Sites: []string{"b"}, LiveSites: []string{"a"}},
		{ID: "draft-a-live-b", Sites: []string{"a"}, LiveSites: []string{"b"}},
		{ID: "b-and-c", Sites: []string{"b", "c"}},
		{ID: "no-site"},
	} {
		e.Revision, e.UpdateTime = 1, t0
		ix.Put(e)
	}
	list := func(q domain.ArticleQuery) []string {
		t.Helper()
		q.Limit, q.OrderBy = 10, domain.OrderTitle
		entries, err := ix.List(q)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, e := range entries {
			ids = append(ids, e.ID)
		}
		slices.Sort(ids)
		return ids
	}
	all := []string{"b-and-c", "draft-a-live-b", "draft-b-live-a", "no-site", "only-b"}
	for _, tt := range []struct {
		name string
		q    domain.ArticleQuery
		want []string
	}{
		{"no deleted sites", domain.ArticleQuery{}, all},
		{"b deleted", domain.ArticleQuery{DeletedSites: []string{"b"}}, []string{"b-and-c", "draft-a-live-b", "draft-b-live-a", "no-site"}},
		{"b and c deleted", domain.ArticleQuery{DeletedSites: []string{"b", "c"}}, []string{"draft-a-live-b", "draft-b-live-a", "no-site"}},
		{"a and b deleted", domain.ArticleQuery{DeletedSites: []string{"a", "b"}}, []string{"b-and-c", "no-site"}},
		{"show_deleted", domain.ArticleQuery{DeletedSites: []string{"a", "b", "c"}, ShowDeleted: true}, all},
	} {
		if got := list(tt.q); !slices.Equal(got, tt.want) {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
		}
	}
}
