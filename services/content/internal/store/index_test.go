package store_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/beaconcms/beacon/platform/apperr"
	"github.com/beaconcms/beacon/platform/listfilter"
	"github.com/beaconcms/beacon/platform/mongodb"
	"github.com/beaconcms/beacon/services/content/internal/articleindex"
	"github.com/beaconcms/beacon/services/content/internal/domain"
	"github.com/beaconcms/beacon/services/content/internal/store"
)

// Pools the randomized corpus and queries draw from; small, so that values collide and ties
// (same time, same title) are common.
var (
	poolTitles  = []string{"Alpha", "alpha", "Beta", "Zed", "zed", "Ärger", "Éclair", "beta 2", "Beta"}
	poolTags    = []string{"safety", "withdrawal", "dosage", "law"}
	poolTopics  = []string{"kratom", "opioids", "sleep"}
	poolSites   = []string{"kh", "rt", "other"}
	poolAuthors = []string{"Ada Lovelace", "Grace Hopper", "Linus"}
)

func pick[T any](r *rand.Rand, pool []T) T { return pool[r.IntN(len(pool))] }

func subset(r *rand.Rand, pool []string) []string {
	var out []string
	for _, v := range pool {
		if r.IntN(3) == 0 {
			out = append(out, v)
		}
	}
	return out
}

// hour returns one of a few dozen instants, some with milliseconds.
func hour(r *rand.Rand) time.Time {
	t := t0.Add(time.Duration(r.IntN(24)) * time.Hour)
	if r.IntN(4) == 0 {
		t = t.Add(time.Duration(r.IntN(3)) * time.Millisecond)
	}
	return t
}

// randomCorpus returns n articles in every state, some published (to other sites than their
// draft's), some deleted, some scheduled.
func randomCorpus(r *rand.Rand, n int) []*domain.Article {
	out := make([]*domain.Article, 0, n)
	for i := range n {
		id := fmt.Sprintf("%c%03d", 'a'+rune(r.IntN(26)), i)
		a := newArticle(id, "slug-"+strconv.Itoa(i), subset(r, poolSites)...)
		a.Draft.Title = pick(r, poolTitles)
		a.Draft.Tags, a.Draft.Topics = subset(r, poolTags), subset(r, poolTopics)
		for _, name := range subset(r, poolAuthors) {
			a.Draft.Authors = append(a.Draft.Authors, domain.Person{DisplayName: name})
		}
		a.CreateTime = hour(r)
		a.UpdateTime = hour(r)
		a.State = domain.State(1 + r.IntN(4))
		if r.IntN(2) == 0 {
			publish(a, hour(r))
			a.State = domain.State(1 + r.IntN(4))
			a.Published.Content.TargetSites = subset(r, poolSites)
		}
		if a.State == domain.StateScheduled {
			a.ScheduledPublishTime = hour(r)
		}
		if r.IntN(6) == 0 {
			a.DeleteTime = hour(r)
		}
		out = append(out, a)
	}
	return out
}

// randomQuery returns a query with 0-3 conditions on any field with any operator it supports.
func randomQuery(r *rand.Rand) domain.ArticleQuery {
	q := domain.ArticleQuery{
		ShowDeleted: r.IntN(3) == 0,
		OrderBy:     pick(r, []domain.OrderField{domain.OrderUpdateTime, domain.OrderCreateTime, domain.OrderPublishTime, domain.OrderTitle}),
		Descending:  r.IntN(2) == 0,
		Limit:       3 + r.IntN(30),
	}
	if r.IntN(4) == 0 {
		q.Sites = subset(r, poolSites)
		if q.Sites == nil {
			q.Sites = []string{}
		}
	}
	strOps := []listfilter.Op{listfilter.Eq, listfilter.Ne}
	timeOps := []listfilter.Op{listfilter.Eq, listfilter.Ne, listfilter.Lt, listfilter.Le, listfilter.Gt, listfilter.Ge}
	for range r.IntN(4) {
		var c listfilter.Condition
		switch field := pick(r, []string{"state", "tag", "topic", "site", "author", "update_time", "create_time", "publish_time", "title"}); field {
		case "title":
			// Substrings in other cases, non-ASCII letters, regular-expression characters.
			c = listfilter.Condition{Field: field, Op: listfilter.Has, Value: pick(r, []string{"alp", "ALPHA", "ärg", "ÄRGER", "é", "beta 2", "ET", "zz", ".*", "a 2"})}
		case "state":
			c = listfilter.Condition{Field: field, Op: pick(r, strOps), Value: pick(r, domain.StateNames())}
		case "tag":
			c = listfilter.Condition{Field: field, Op: pick(r, strOps), Value: pick(r, append(poolTags, "none"))}
		case "topic":
			c = listfilter.Condition{Field: field, Op: pick(r, strOps), Value: pick(r, append(poolTopics, "none"))}
		case "site":
			c = listfilter.Condition{Field: field, Op: pick(r, strOps), Value: pick(r, append(poolSites, "none"))}
		case "author":
			c = listfilter.Condition{Field: field, Op: pick(r, strOps), Value: pick(r, append(poolAuthors, "grace hopper"))}
		default:
			c = listfilter.Condition{Field: field, Op: pick(r, timeOps), Time: hour(r)}
		}
		q.Conditions = append(q.Conditions, c)
	}
	return q
}

// randomCursor returns a cursor anywhere in an order: on a pooled value or between values, on
// an id that exists or not, and (publish_time) on an article without a publish time.
func randomCursor(r *rand.Rand, ids []string) *domain.Cursor {
	c := &domain.Cursor{Time: hour(r), Title: pick(r, poolTitles), ID: pick(r, ids)}
	switch r.IntN(4) {
	case 0:
		c.Time = time.Time{}
	case 1:
		c.ID = c.ID + "~"
	case 2:
		c.Title += " "
	}
	return c
}

// TestArticleIndexMatchesStoreQuery checks the in-memory index against the store's query on a
// randomized corpus: every filter field and operator, every order in both directions, every page
// of a walk through the list, and cursors anywhere.
func TestArticleIndexMatchesStoreQuery(t *testing.T) {
	t.Parallel()
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	r := rand.New(rand.NewPCG(seed, 7))
	s, _ := newStore(t)
	ctx := context.Background()
	corpus := randomCorpus(r, 80)
	if err := s.ImportArticles(ctx, corpus); err != nil {
		t.Fatalf("ImportArticles: %v", err)
	}
	ix := loadIndex(t, s)
	if ix.Len() != len(corpus) {
		t.Fatalf("index holds %d entries, want %d", ix.Len(), len(corpus))
	}
	allIDs := make([]string, 0, len(corpus))
	for _, a := range corpus {
		allIDs = append(allIDs, a.ID)
	}

	compare := func(t *testing.T, q domain.ArticleQuery) (last []string) {
		t.Helper()
		want, err := store.QueryArticles(s, ctx, q)
		if err != nil {
			t.Fatalf("store query (%+v): %v", q, err)
		}
		got, err := ix.List(q)
		if err != nil {
			t.Fatalf("index List(%+v): %v", q, err)
		}
		gotIDs := make([]string, 0, len(got))
		for _, e := range got {
			gotIDs = append(gotIDs, e.ID)
		}
		if !gocmp.Equal(gotIDs, ids(want), cmpopts.EquateEmpty()) {
			t.Fatalf("query %+v (after %+v):\nindex %v\nstore %v", q, q.After, gotIDs, ids(want))
		}
		return gotIDs
	}

	pages := 0
	for i := range 30 {
		q := randomQuery(r)
		t.Run(strconv.Itoa(i), func(t *testing.T) {
			// Walk every page, as a client following next_page_token does.
			for {
				page := compare(t, q)
				pages++
				if len(page) < q.Limit {
					break
				}
				q.After = cursorOf(mustGet(t, s, page[len(page)-1]), q.OrderBy)
			}
			// And a few pages that start anywhere.
			for range 2 {
				q.After = randomCursor(r, allIDs)
				compare(t, q)
			}
		})
	}
	t.Logf("%d pages compared", pages)

	t.Run("errors", func(t *testing.T) {
		for _, q := range []domain.ArticleQuery{
			{Limit: 0},
			{Limit: 5, OrderBy: "nope"},
			{Limit: 5, Conditions: []listfilter.Condition{{Field: "state", Op: listfilter.Eq, Value: "LIVE"}}},
			{Limit: 5, Conditions: []listfilter.Condition{{Field: "tag", Op: listfilter.Lt, Value: "x"}}},
			{Limit: 5, Conditions: []listfilter.Condition{{Field: "color", Op: listfilter.Eq, Value: "x"}}},
			{Limit: 5, Conditions: []listfilter.Condition{{Field: "title", Op: listfilter.Eq, Value: "x"}}},
		} {
			_, storeErr := store.QueryArticles(s, ctx, q)
			_, indexErr := ix.List(q)
			if storeErr == nil || indexErr == nil || storeErr.Error() != indexErr.Error() {
				t.Errorf("query %+v: store error %v, index error %v; want the same error", q, storeErr, indexErr)
			}
		}
	})
}

func loadIndex(tb testing.TB, s *store.Store) *articleindex.Index {
	tb.Helper()
	ix := articleindex.New()
	if _, err := ix.Load(context.Background(), s, s.ForEachIndexEntry, time.Now()); err != nil {
		tb.Fatalf("loading the index: %v", err)
	}
	return ix
}

// TestArticleIndexFollowsAndRebuilds checks that an index following the change log sees writes
// made through another Store (another replica), and that an index rebuilt from the store (a
// restart) is identical to one kept current by following.
func TestArticleIndexFollowsAndRebuilds(t *testing.T) {
	t.Parallel()
	writer, db := newStore(t)
	ctx := context.Background()
	r := rand.New(rand.NewPCG(1, 2))
	corpus := randomCorpus(r, 20)
	for _, a := range corpus[:10] {
		a.DeleteTime = time.Time{} // CreateArticle takes new articles only
	}
	if err := writer.ImportArticles(ctx, corpus[10:]); err != nil {
		t.Fatal(err)
	}

	reader := store.New(db, mongodb.NewDocLocks(), nil) // the other replica, with its own index
	follower := articleindex.New()
	// The fixtures' clock: change-log entries carry the writes' update times, from t0 on.
	from, err := follower.Load(ctx, reader, reader.ForEachIndexEntry, t0)
	since := from.Since
	if err != nil {
		t.Fatal(err)
	}

	mustCreate(t, writer, corpus[:10]...)
	a := mustUpdate(t, writer, corpus[0], "update", func(a *domain.Article) { a.Draft.Title = "Renamed"; a.Draft.Tags = []string{"law"} })
	a = mustUpdate(t, writer, a, "publish", func(a *domain.Article) { publish(a, a.UpdateTime) })
	mustUpdate(t, writer, corpus[1], "delete", func(a *domain.Article) { a.DeleteTime = a.UpdateTime })
	mustUpdate(t, writer, corpus[2], "schedule", func(a *domain.Article) {
		a.State, a.ScheduledPublishTime = domain.StateScheduled, t0.Add(time.Hour)
	})

	if _, err := follower.Poll(ctx, reader, since, t0); err != nil {
		t.Fatalf("Poll: %v", err)
	}
	rebuilt := loadIndex(t, store.New(db, mongodb.NewDocLocks(), nil))
	if diff := gocmp.Diff(store.Unpacked(t, reader, rebuilt.Entries()), store.Unpacked(t, reader, follower.Entries()), cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("the followed index differs from a rebuilt one (-rebuilt +followed):\n%s", diff)
	}
	if rebuilt.Len() != 20 {
		t.Errorf("rebuilt index holds %d entries, want 20", rebuilt.Len())
	}
	if e, _ := follower.Get(a.ID); e.Title != "Renamed" || e.PublishTime.IsZero() {
		t.Errorf("followed entry of %s = %+v, want the renamed, published article", a.ID, e)
	}
	due := follower.Due(t0.Add(2*time.Hour), 0)
	if len(due) == 0 || !slices.ContainsFunc(due, func(e articleindex.Entry) bool { return e.ID == corpus[2].ID }) {
		t.Errorf("Due = %v, want it to include %s", due, corpus[2].ID)
	}
}

// TestGetBasic: the basic view comes from the index for what it holds, and from the store for an
// article another replica wrote since (which the index has not followed yet); a missing article
// is NotFound either way.
func TestGetBasic(t *testing.T) {
	t.Parallel()
	writer, db := newStore(t)
	ctx := context.Background()
	reader := store.New(db, mongodb.NewDocLocks(), nil) // another replica, its index loaded before the writes
	if err := reader.LoadIndex(ctx); err != nil {
		t.Fatal(err)
	}
	a := newArticle("basic-1", "basic-one", "site-a")
	a.Draft.Body = "# Body\n\nText."
	mustCreate(t, writer, a)

	restarted := store.New(db, mongodb.NewDocLocks(), nil) // its index loaded after the write: the view packed
	if err := restarted.LoadIndex(ctx); err != nil {
		t.Fatal(err)
	}
	if e, ok := restarted.Index().Get(a.ID); !ok || e.Basic != nil || len(e.PackedBasic) == 0 {
		t.Fatalf("the loaded entry of %s: found %t, Basic %v, %d packed bytes; want the view packed", a.ID, ok, e.Basic, len(e.PackedBasic))
	}
	for _, tc := range []struct {
		name string
		s    *store.Store
	}{{"the writer's index", writer}, {"the store, for another replica's write", reader}, {"a loaded index, unpacked", restarted}} {
		got, err := tc.s.GetBasic(ctx, a.ID)
		if err != nil {
			t.Fatalf("%s: GetBasic: %v", tc.name, err)
		}
		if got.Draft.Title != a.Draft.Title || got.Draft.Body != "" || !slices.Equal(got.Draft.TargetSites, []string{"site-a"}) {
			t.Errorf("%s: GetBasic = title %q, body %q, sites %v; want the basic view (no body)", tc.name, got.Draft.Title, got.Draft.Body, got.Draft.TargetSites)
		}
	}
	if _, err := writer.GetBasic(ctx, "missing"); !apperr.Is(err, apperr.NotFound) {
		t.Errorf("GetBasic(missing) = %v, want NotFound", err)
	}
}
