package domain_test

import (
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/beaconcms/beacon/platform/apperr"
	"github.com/beaconcms/beacon/platform/auth"
	"github.com/beaconcms/beacon/platform/listfilter"
	"github.com/beaconcms/beacon/platform/mongodb"
	"github.com/beaconcms/beacon/services/content/internal/domain"
	"github.com/beaconcms/beacon/services/content/internal/store"
)

// retarget moves an article's draft to sites as admin, without publishing.
func (f *fixture) retarget(tb testing.TB, a *domain.Article, sites ...string) *domain.Article {
	tb.Helper()
	out, err := f.svc.UpdateArticle(tb.Context(), admin, a.ID, domain.Content{TargetSites: sites}, []string{"target_sites"}, a.Etag())
	if err != nil {
		tb.Fatalf("retarget %s to %v: %v", a.Name(), sites, err)
	}
	return out
}

// A site-B key must not take down an article that is live on site A: an admin moved its draft
// from A to B without republishing, so its live snapshot still targets A. Every write needs a key
// covering every site the draft or the live snapshot targets.
func TestWriteNeedsEverySiteTheArticleIsOn(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	movedToB := func(title string) *domain.Article {
		return f.retarget(t, f.publish(t, f.create(t, admin, draft(title, "site-a"))), "site-b")
	}
	live := movedToB("Live on A")
	deleted, err := f.svc.DeleteArticle(ctx, admin, movedToB("Deleted, was live on A").ID, "")
	wantCode(t, err, "")

	later := f.clock.Now().Add(time.Hour)
	writes := []struct {
		name string
		id   string
		do   func(p auth.Principal, a *domain.Article) (*domain.Article, error)
	}{
		{"update", live.ID, func(p auth.Principal, a *domain.Article) (*domain.Article, error) {
			return f.svc.UpdateArticle(ctx, p, a.ID, domain.Content{Summary: "x"}, []string{"summary"}, a.Etag())
		}},
		{"publish", live.ID, func(p auth.Principal, a *domain.Article) (*domain.Article, error) {
			return f.svc.PublishArticle(ctx, p, a.ID, a.Etag())
		}},
		{"unpublish", live.ID, func(p auth.Principal, a *domain.Article) (*domain.Article, error) {
			return f.svc.UnpublishArticle(ctx, p, a.ID, a.Etag())
		}},
		{"schedule", live.ID, func(p auth.Principal, a *domain.Article) (*domain.Article, error) {
			return f.svc.ScheduleArticle(ctx, p, a.ID, later, a.Etag())
		}},
		{"archive", live.ID, func(p auth.Principal, a *domain.Article) (*domain.Article, error) {
			return f.svc.ArchiveArticle(ctx, p, a.ID, a.Etag())
		}},
		{"delete", live.ID, func(p auth.Principal, a *domain.Article) (*domain.Article, error) {
			return f.svc.DeleteArticle(ctx, p, a.ID, a.Etag())
		}},
		{"undelete", deleted.ID, func(p auth.Principal, a *domain.Article) (*domain.Article, error) {
			return f.svc.UndeleteArticle(ctx, p, a.ID)
		}},
		{"rollback", live.ID, func(p auth.Principal, a *domain.Article) (*domain.Article, error) {
			return f.svc.RollbackArticle(ctx, p, a.ID, 1, a.Etag())
		}},
	}
	for _, w := range writes {
		for _, p := range []auth.Principal{editorB, editorA} {
			t.Run(w.name+" by "+p.KeyName, func(t *testing.T) {
				before := f.get(t, w.id)
				_, err := w.do(p, before)
				wantCode(t, err, apperr.PermissionDenied)
				after := f.get(t, w.id)
				if after.RevisionID != before.RevisionID {
					t.Fatalf("refused %s wrote revision %d", w.name, after.RevisionID)
				}
				if w.id == live.ID && (after.Published == nil || !slices.Equal(after.Published.Content.TargetSites, []string{"site-a"})) {
					t.Fatalf("the snapshot live on site-a was changed: %+v", after.Published)
				}
			})
		}
	}
	t.Run("a key for all sites still writes", func(t *testing.T) {
		if _, err := f.svc.PublishArticle(ctx, admin, live.ID, f.get(t, live.ID).Etag()); err != nil {
			t.Fatal(err)
		}
	})
}

// A site-B key sees at most what site B can see. The article is live on B; an admin moves its
// draft to A only and adds editor notes. B keys then see the live snapshot only: not the A-only
// draft, its notes or its schedule, nor the revisions made while it was A-only.
func TestKeySeesOnlyWhatItsSitesSee(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	a := f.create(t, admin, domain.Content{Title: "Salt", Summary: "On B", Body: "Live body.", Tags: []string{"salt"}, TargetSites: []string{"site-b"}, EditorNotes: "B notes"})
	a = f.publish(t, a)
	snapshot := a.Published
	f.clock.Advance(time.Minute)
	a, err := f.svc.UpdateArticle(ctx, admin, a.ID, domain.Content{Title: "Secret A plan", Body: "Draft body.", Tags: []string{"a-only"}, TargetSites: []string{"site-a"}, EditorNotes: "A-only notes"},
		[]string{"title", "body", "tags", "target_sites", "editor_notes"}, a.Etag())
	wantCode(t, err, "")
	a, err = f.svc.ScheduleArticle(ctx, admin, a.ID, f.clock.Now().Add(time.Hour), a.Etag())
	wantCode(t, err, "")
	moved := a

	t.Run("get", func(t *testing.T) {
		got, err := f.svc.GetArticle(ctx, editorB, a.ID)
		wantCode(t, err, "")
		want := &domain.Article{
			ID:               a.ID,
			Draft:            snapshot.Content,
			Rendering:        snapshot.Rendering,
			State:            domain.StatePublished,
			RevisionID:       snapshot.RevisionID,
			CreateTime:       a.CreateTime,
			UpdateTime:       snapshot.PublishTime,
			Published:        snapshot,
			PublishedSlugs:   a.PublishedSlugs,
			LastChange:       domain.Change{Action: "publish", Time: snapshot.PublishTime},
			LiveSnapshotOnly: true,
		}
		if diff := cmp.Diff(want, got, articleCmp...); diff != "" {
			t.Errorf("site-b view (-want +got):\n%s", diff)
		}
		if got.Draft.EditorNotes != "" || got.Draft.Title != "Salt" {
			t.Errorf("site-b key sees draft fields: title %q, notes %q", got.Draft.Title, got.Draft.EditorNotes)
		}
		full, err := f.svc.GetArticle(ctx, editorA, a.ID)
		wantCode(t, err, "")
		if full.LiveSnapshotOnly || full.Draft.EditorNotes != "A-only notes" || full.State != domain.StateScheduled {
			t.Errorf("site-a key (the draft's site) should see the whole article, got %+v", full)
		}
		if stored := f.get(t, a.ID); stored.RevisionID != a.RevisionID || stored.Draft.Title != "Secret A plan" {
			t.Errorf("reading a view changed the article: %+v", stored)
		}
	})

	t.Run("revisions", func(t *testing.T) {
		for _, tc := range []struct {
			p     auth.Principal
			limit int
			want  []string
		}{
			{editorB, 10, []string{"publish", "create"}},
			{editorB, 1, []string{"publish", "create"}}, // paged one by one over the hidden ones
			{editorA, 10, []string{"schedule", "update"}},
			{admin, 10, []string{"schedule", "update", "publish", "create"}},
		} {
			var got []string
			var before int64
			for range 10 {
				revs, err := f.svc.ListRevisions(ctx, tc.p, a.ID, before, tc.limit)
				wantCode(t, err, "")
				for _, r := range revs {
					got = append(got, r.Change.Action)
					if r.Content.EditorNotes == "A-only notes" && tc.p.Site == "site-b" {
						t.Errorf("site-b key sees the A-only notes in revision %d", r.RevisionID)
					}
				}
				if len(revs) < tc.limit {
					break
				}
				before = revs[len(revs)-1].RevisionID
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("%s, limit %d: revisions (-want +got):\n%s", tc.p.KeyName, tc.limit, diff)
			}
		}
	})

	t.Run("rollback to a hidden revision is as if it did not exist", func(t *testing.T) {
		_, err := f.svc.RollbackArticle(ctx, editorB, a.ID, 3, "")
		wantCode(t, err, apperr.PermissionDenied) // and no write: the key does not cover site-a
	})

	t.Run("list", func(t *testing.T) {
		// Site-b's own articles. "Sb probe" sorts between the live title "Salt" and the hidden
		// draft title "Secret A plan": ordering by the hidden title would show.
		for _, title := range []string{"Apple", "Sb probe", "Zebra"} {
			f.create(t, editorB, draft(title, "site-b"))
		}
		for _, tc := range []struct {
			name   string
			filter string
			desc   bool
			want   []string
		}{
			{"unfiltered, by title", "", false, []string{"Apple", "Salt", "Sb probe", "Zebra"}},
			{"unfiltered, by title descending", "", true, []string{"Zebra", "Sb probe", "Salt", "Apple"}},
			{"a tag of the live snapshot", `tag = "salt"`, false, []string{"Salt"}},
			{"a tag of the hidden draft only", `tag = "a-only"`, false, nil},
			{"the hidden draft's state", "state = SCHEDULED", false, nil},
			{"the view's state", "state = PUBLISHED", false, []string{"Salt"}},
			{"not the view's state", "state != PUBLISHED", false, []string{"Apple", "Sb probe", "Zebra"}},
			{"the hidden draft's site", `site = "site-a"`, false, nil},
			{"the view's publish time", "publish_time <= " + `"` + snapshot.PublishTime.Format(time.RFC3339Nano) + `"`, false, []string{"Salt"}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				for _, limit := range []int{10, 1, 2} { // one page, then page by page as the API does
					q := domain.ArticleQuery{Conditions: conditions(t, tc.filter), OrderBy: domain.OrderTitle, Descending: tc.desc, Limit: limit}
					var titles []string
					for range 10 {
						got, err := f.svc.ListArticles(ctx, editorB, q)
						wantCode(t, err, "")
						for _, a := range got {
							titles = append(titles, a.Draft.Title)
							if a.ID == moved.ID && (!a.LiveSnapshotOnly || a.Draft.EditorNotes != "") {
								t.Errorf("listed a draft view to site-b: %+v", a)
							}
						}
						if len(got) < limit {
							break
						}
						last := got[len(got)-1]
						q.After = &domain.Cursor{Title: last.Draft.Title, ID: last.ID}
					}
					if diff := cmp.Diff(tc.want, titles); diff != "" {
						t.Errorf("limit %d: listed (-want +got):\n%s", limit, diff)
					}
				}
			})
		}
	})
}

// An overdue schedule must not get stuck: schedule 3 s ahead, delete, wait 5 s, undelete. The
// undelete publishes it (its time passed while it was deleted), also as seen after a restart.
func TestUndeleteOverdueSchedule(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()

	t.Run("overdue: the undelete publishes it", func(t *testing.T) {
		a := f.create(t, admin, draft("Overdue", "site-a"))
		a, err := f.svc.ScheduleArticle(ctx, admin, a.ID, f.clock.Now().Add(3*time.Second), a.Etag())
		wantCode(t, err, "")
		_, err = f.svc.DeleteArticle(ctx, admin, a.ID, "")
		wantCode(t, err, "")
		f.clock.Advance(5 * time.Second)
		if n, err := f.svc.PublishDue(ctx); err != nil || n != 0 {
			t.Fatalf("PublishDue while deleted = %d, %v; want 0", n, err)
		}
		u, err := f.svc.UndeleteArticle(ctx, admin, a.ID)
		wantCode(t, err, "")
		if u.State != domain.StatePublished || !u.ScheduledPublishTime.IsZero() || u.Published == nil || !u.Published.PublishTime.Equal(f.clock.Now()) {
			t.Fatalf("after undelete: state %v, scheduled %v, published %+v; want PUBLISHED now", u.State, u.ScheduledPublishTime, u.Published)
		}
		restarted := f.serviceOn(store.New(f.db, mongodb.NewDocLocks(), f.logger)) // a new process: its own locks
		got, err := restarted.GetArticle(ctx, admin, a.ID)
		wantCode(t, err, "")
		if got.State != domain.StatePublished || !got.Live() {
			t.Errorf("after a restart: state %v, live %v", got.State, got.Live())
		}
		if diff := cmp.Diff([]string{"undelete", "delete", "schedule", "create"}, f.actions(t, a.ID)); diff != "" {
			t.Errorf("revisions (-want +got):\n%s", diff)
		}
	})

	t.Run("still ahead: it stays scheduled and publishes on time", func(t *testing.T) {
		a := f.create(t, admin, draft("Ahead", "site-a"))
		at := f.clock.Now().Add(time.Hour)
		a, err := f.svc.ScheduleArticle(ctx, admin, a.ID, at, a.Etag())
		wantCode(t, err, "")
		_, err = f.svc.DeleteArticle(ctx, admin, a.ID, "")
		wantCode(t, err, "")
		f.clock.Advance(time.Minute)
		u, err := f.svc.UndeleteArticle(ctx, admin, a.ID)
		wantCode(t, err, "")
		if u.State != domain.StateScheduled || !u.ScheduledPublishTime.Equal(at) {
			t.Fatalf("after undelete: state %v at %v; want SCHEDULED at %v", u.State, u.ScheduledPublishTime, at)
		}
		f.clock.Advance(2 * time.Hour)
		restartedStore := store.New(f.db, mongodb.NewDocLocks(), f.logger) // a new process: its own locks
		if err := restartedStore.LoadIndex(ctx); err != nil {
			t.Fatal(err)
		}
		restarted := f.serviceOn(restartedStore)
		if n, err := restarted.PublishDue(ctx); err != nil || n != 1 {
			t.Fatalf("PublishDue after a restart = %d, %v; want 1", n, err)
		}
		if got := f.get(t, a.ID); got.State != domain.StatePublished {
			t.Errorf("state %v, want PUBLISHED", got.State)
		}
	})
}

// conditions parses a ListArticles filter.
func conditions(tb testing.TB, filter string) []listfilter.Condition {
	tb.Helper()
	conds, err := listfilter.Parse(filter, domain.ArticleFilterSchema())
	if err != nil {
		tb.Fatalf("filter %q: %v", filter, err)
	}
	return conds
}
