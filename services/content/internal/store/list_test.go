package store_test

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/beaconcms/beacon/platform/apperr"
	"github.com/beaconcms/beacon/platform/listfilter"
	"github.com/beaconcms/beacon/services/content/internal/domain"
)

func TestListArticlesFilters(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	ctx := context.Background()
	h := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Hour) }
	ada := domain.Person{DisplayName: "Ada Lovelace", Credentials: "MD"}
	grace := domain.Person{DisplayName: "Grace Hopper"}

	mk := func(id string, state domain.State, updated, created int, sites, tags, topics []string, authors ...domain.Person) *domain.Article {
		a := newArticle(id, id, sites...)
		a.State = state
		a.UpdateTime, a.CreateTime = h(updated), h(created)
		a.Draft.Tags, a.Draft.Topics, a.Draft.Authors = tags, topics, authors
		return a
	}
	a1 := mk("a1", domain.StateDraft, 1, 0, []string{"kh"}, []string{"safety", "withdrawal"}, []string{"kratom"}, ada)
	a2 := mk("a2", domain.StatePublished, 2, 1, []string{"kh", "rt"}, []string{"safety"}, []string{"opioids"}, ada, grace)
	publish(a2, h(2))
	a3 := mk("a3", domain.StateScheduled, 3, 2, []string{"rt"}, nil, []string{"kratom"}, grace)
	a3.ScheduledPublishTime = h(30)
	a4 := mk("a4", domain.StatePublished, 4, 3, []string{"rt"}, []string{"withdrawal"}, nil)
	publish(a4, h(5))
	a5 := mk("a5", domain.StateDraft, 5, 4, []string{"kh"}, []string{"safety"}, nil)
	a5.DeleteTime = h(5)
	a6 := mk("a6", domain.StateArchived, 6, 5, []string{"other"}, nil, nil)
	mustCreate(t, s, a1, a2, a3, a4, a5, a6)

	str := func(field string, op listfilter.Op, v string) listfilter.Condition {
		return listfilter.Condition{Field: field, Op: op, Value: v}
	}
	tm := func(field string, op listfilter.Op, n int) listfilter.Condition {
		return listfilter.Condition{Field: field, Op: op, Time: h(n)}
	}
	tests := []struct {
		name  string
		q     domain.ArticleQuery
		conds []listfilter.Condition
		want  []string
	}{
		{name: "everything undeleted", want: []string{"a1", "a2", "a3", "a4", "a6"}},
		{name: "show deleted", q: domain.ArticleQuery{ShowDeleted: true}, want: []string{"a1", "a2", "a3", "a4", "a5", "a6"}},
		{name: "state =", conds: []listfilter.Condition{str("state", "=", "PUBLISHED")}, want: []string{"a2", "a4"}},
		{name: "state !=", conds: []listfilter.Condition{str("state", "!=", "DRAFT")}, want: []string{"a2", "a3", "a4", "a6"}},
		{name: "tag =", conds: []listfilter.Condition{str("tag", "=", "safety")}, want: []string{"a1", "a2"}},
		{name: "tag = with deleted", q: domain.ArticleQuery{ShowDeleted: true}, conds: []listfilter.Condition{str("tag", "=", "safety")}, want: []string{"a1", "a2", "a5"}},
		{name: "tag !=", conds: []listfilter.Condition{str("tag", "!=", "safety")}, want: []string{"a3", "a4", "a6"}},
		{name: "two tags", conds: []listfilter.Condition{str("tag", "=", "safety"), str("tag", "=", "withdrawal")}, want: []string{"a1"}},
		{name: "topic =", conds: []listfilter.Condition{str("topic", "=", "kratom")}, want: []string{"a1", "a3"}},
		{name: "topic !=", conds: []listfilter.Condition{str("topic", "!=", "kratom")}, want: []string{"a2", "a4", "a6"}},
		{name: "site =", conds: []listfilter.Condition{str("site", "=", "rt")}, want: []string{"a2", "a3", "a4"}},
		{name: "site !=", conds: []listfilter.Condition{str("site", "!=", "kh")}, want: []string{"a3", "a4", "a6"}},
		{name: "author =", conds: []listfilter.Condition{str("author", "=", "Grace Hopper")}, want: []string{"a2", "a3"}},
		{name: "author !=", conds: []listfilter.Condition{str("author", "!=", "Grace Hopper")}, want: []string{"a1", "a4", "a6"}},
		{name: "author is exact", conds: []listfilter.Condition{str("author", "=", "grace hopper")}, want: nil},
		{name: "update_time range", conds: []listfilter.Condition{tm("update_time", ">=", 2), tm("update_time", "<", 4)}, want: []string{"a2", "a3"}},
		{name: "update_time >", conds: []listfilter.Condition{tm("update_time", ">", 4)}, want: []string{"a6"}},
		{name: "update_time <=", conds: []listfilter.Condition{tm("update_time", "<=", 2)}, want: []string{"a1", "a2"}},
		{name: "create_time =", conds: []listfilter.Condition{tm("create_time", "=", 1)}, want: []string{"a2"}},
		{name: "create_time !=", conds: []listfilter.Condition{tm("create_time", "!=", 1)}, want: []string{"a1", "a3", "a4", "a6"}},
		{name: "publish_time >", conds: []listfilter.Condition{tm("publish_time", ">", 3)}, want: []string{"a4"}},
		{name: "publish_time >= matches only published", conds: []listfilter.Condition{tm("publish_time", ">=", -100)}, want: []string{"a2", "a4"}},
		{name: "publish_time < matches only published", conds: []listfilter.Condition{tm("publish_time", "<", 100)}, want: []string{"a2", "a4"}},
		{name: "publish_time != matches only published", conds: []listfilter.Condition{tm("publish_time", "!=", 2)}, want: []string{"a4"}},
		{name: "publish_time =", conds: []listfilter.Condition{tm("publish_time", "=", 2)}, want: []string{"a2"}},
		{name: "sites", q: domain.ArticleQuery{Sites: []string{"kh"}}, want: []string{"a1", "a2"}},
		{name: "several sites", q: domain.ArticleQuery{Sites: []string{"kh", "other"}}, want: []string{"a1", "a2", "a6"}},
		{name: "no site", q: domain.ArticleQuery{Sites: []string{}}, want: nil},
		{name: "sites and filter", q: domain.ArticleQuery{Sites: []string{"rt"}}, conds: []listfilter.Condition{str("tag", "=", "safety")}, want: []string{"a2"}},
		{name: "combined", conds: []listfilter.Condition{str("site", "=", "rt"), str("state", "=", "PUBLISHED"), str("tag", "=", "withdrawal")}, want: []string{"a4"}},
		{name: "operator-like value is a plain value", conds: []listfilter.Condition{str("tag", "=", "$where")}, want: nil},
		{name: "JSON-like value is a plain value", conds: []listfilter.Condition{str("author", "!=", `{"$ne": null}`)}, want: []string{"a1", "a2", "a3", "a4", "a6"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := tt.q
			q.Conditions = tt.conds
			q.OrderBy = domain.OrderUpdateTime
			q.Limit = 100
			got, err := s.ListArticles(ctx, q)
			if err != nil {
				t.Fatalf("ListArticles: %v", err)
			}
			if !gocmp.Equal(ids(got), tt.want, cmpopts.EquateEmpty()) {
				t.Errorf("got %v, want %v", ids(got), tt.want)
			}
		})
	}

	t.Run("limit", func(t *testing.T) {
		got, err := s.ListArticles(ctx, domain.ArticleQuery{OrderBy: domain.OrderUpdateTime, Descending: true, Limit: 2})
		if err != nil {
			t.Fatal(err)
		}
		if want := []string{"a6", "a4"}; !gocmp.Equal(ids(got), want) {
			t.Errorf("got %v, want %v", ids(got), want)
		}
	})
	t.Run("full articles come back", func(t *testing.T) {
		got, err := s.ListArticles(ctx, domain.ArticleQuery{Conditions: []listfilter.Condition{str("state", "=", "PUBLISHED")}, OrderBy: domain.OrderTitle, Limit: 1})
		if err != nil || len(got) != 1 {
			t.Fatalf("got %v, %v", got, err)
		}
		if diff := gocmp.Diff(a2, got[0], cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
	})

	errorTests := []struct {
		name string
		q    domain.ArticleQuery
		code apperr.Code // "" for an internal error
	}{
		{"zero limit", domain.ArticleQuery{}, ""},
		{"unknown order", domain.ArticleQuery{OrderBy: "slug", Limit: 1}, ""},
		{"unknown field", domain.ArticleQuery{Conditions: []listfilter.Condition{str("editor_notes", "=", "x")}, Limit: 1}, ""},
		{"range on a string field", domain.ArticleQuery{Conditions: []listfilter.Condition{str("tag", "<", "x")}, Limit: 1}, ""},
		{"unknown state", domain.ArticleQuery{Conditions: []listfilter.Condition{str("state", "=", "LIVE")}, Limit: 1}, apperr.Invalid},
	}
	for _, tt := range errorTests {
		t.Run("error/"+tt.name, func(t *testing.T) {
			_, err := s.ListArticles(ctx, tt.q)
			if err == nil || apperr.CodeOf(err) != tt.code {
				t.Errorf("got %v (code %q), want an error with code %q", err, apperr.CodeOf(err), tt.code)
			}
		})
	}
}

// orderKey is the position of an article in an order: the order field's value and its id.
type orderKey struct {
	null bool // publish_time only: the article has none
	t    time.Time
	s    string
	id   string
}

func keyOf(a *domain.Article, f domain.OrderField) orderKey {
	k := orderKey{id: a.ID}
	switch f {
	case domain.OrderUpdateTime:
		k.t = a.UpdateTime
	case domain.OrderCreateTime:
		k.t = a.CreateTime
	case domain.OrderPublishTime:
		if a.Published == nil {
			k.null = true
		} else {
			k.t = a.Published.PublishTime
		}
	case domain.OrderTitle:
		k.s = a.Draft.Title
	}
	return k
}

// compareKeys orders as MongoDB does: null before any date, strings by bytes, then by id.
func compareKeys(a, b orderKey) int {
	if a.null != b.null {
		if a.null {
			return -1
		}
		return 1
	}
	if c := a.t.Compare(b.t); c != 0 {
		return c
	}
	if c := cmp.Compare(a.s, b.s); c != 0 {
		return c
	}
	return cmp.Compare(a.id, b.id)
}

func cursorOf(a *domain.Article, f domain.OrderField) *domain.Cursor {
	k := keyOf(a, f)
	return &domain.Cursor{Time: k.t, Title: k.s, ID: a.ID}
}

func TestListArticlesPagination(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	ctx := context.Background()

	titles := []string{"apple", "Banana", "cherry", "apple", "Äpfel", "banana"}
	var all []*domain.Article
	for i := range 25 {
		id := fmt.Sprintf("id-%02d", (i*7)%25) // ids in another order than the times
		sites := []string{"kh"}
		if i%2 == 0 {
			sites = append(sites, "rt")
		}
		a := newArticle(id, id, sites...)
		a.Draft.Title = titles[i%len(titles)]
		a.UpdateTime = t0.Add(time.Duration(i/3) * time.Minute)            // ties in threes
		a.CreateTime = t0.Add(-time.Duration((i*3)%25/5) * 24 * time.Hour) // ties in fives
		if i%4 != 0 {
			publish(a, t0.Add(time.Duration(i%3)*time.Hour)) // ties, and some never published
		}
		if i == 5 || i == 17 {
			a.DeleteTime = a.UpdateTime
		}
		all = append(all, a)
	}
	mustCreate(t, s, all...)

	type walk struct {
		order domain.OrderField
		desc  bool
		sites []string
		state string // state != this, when set
		page  int
	}
	var walks []walk
	for _, f := range []domain.OrderField{domain.OrderUpdateTime, domain.OrderCreateTime, domain.OrderPublishTime, domain.OrderTitle} {
		for _, desc := range []bool{false, true} {
			walks = append(walks, walk{order: f, desc: desc, page: 4})
		}
	}
	walks = append(walks,
		walk{order: domain.OrderPublishTime, desc: true, sites: []string{"rt"}, state: "DRAFT", page: 3},
		walk{order: domain.OrderUpdateTime, sites: []string{"rt"}, page: 5},
		walk{order: domain.OrderTitle, desc: true, page: 1},
	)

	for _, w := range walks {
		name := fmt.Sprintf("%s desc=%v sites=%v state!=%s page=%d", w.order, w.desc, w.sites, w.state, w.page)
		t.Run(name, func(t *testing.T) {
			var want []string
			var expected []*domain.Article
			for _, a := range all {
				if a.Deleted() || (w.sites != nil && !slices.ContainsFunc(w.sites, func(s string) bool { return slices.Contains(a.Draft.TargetSites, s) })) ||
					(w.state != "" && a.State.String() == w.state) {
					continue
				}
				expected = append(expected, a)
			}
			slices.SortFunc(expected, func(a, b *domain.Article) int {
				c := compareKeys(keyOf(a, w.order), keyOf(b, w.order))
				if w.desc {
					return -c
				}
				return c
			})
			want = ids(expected)

			var got []string
			var after *domain.Cursor
			for range 30 {
				q := domain.ArticleQuery{Sites: w.sites, OrderBy: w.order, Descending: w.desc, After: after, Limit: w.page}
				if w.state != "" {
					q.Conditions = []listfilter.Condition{{Field: "state", Op: listfilter.Ne, Value: w.state}}
				}
				page, err := s.ListArticles(ctx, q)
				if err != nil {
					t.Fatalf("ListArticles: %v", err)
				}
				got = append(got, ids(page)...)
				if len(page) < w.page {
					break
				}
				after = cursorOf(page[len(page)-1], w.order)
			}
			if diff := gocmp.Diff(want, got); diff != "" {
				t.Errorf("walk (-want +got):\n%s", diff)
			}
		})
	}
}
