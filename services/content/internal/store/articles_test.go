package store_test

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/beaconcms/beacon/platform/apperr"
	"github.com/beaconcms/beacon/platform/mongodb"
	"github.com/beaconcms/beacon/services/content/internal/domain"
	"github.com/beaconcms/beacon/services/content/internal/store"
)

func fullContent(title, slug string) domain.Content {
	return domain.Content{
		Title:   title,
		Slug:    slug,
		Summary: "Summary line one.\nLine two.",
		Body:    "## " + title + "\n\nSome *markdown* body. Ünïcödé ✓",
		Tags:    []string{"withdrawal", "safety"},
		Topics:  []string{"kratom"},
		Authors: []domain.Person{
			{DisplayName: "Dr. Ada Lovelace", Credentials: "MD", URL: "https://example.org/ada"},
			{DisplayName: "Grace Hopper", Credentials: "PhD"},
		},
		Reviewers:        []domain.Reviewer{{Person: domain.Person{DisplayName: "Dr. Rev", Credentials: "MD, MPH", URL: "https://example.org/rev", Fictional: true}, Role: domain.RoleClinical, ReviewDate: domain.Date{Year: 2026, Month: 3, Day: 1}}, {Person: domain.Person{DisplayName: "Lee Peer"}, Role: domain.RoleLivedExperience}},
		LastReviewedDate: domain.Date{Year: 2025, Month: 2, Day: 28},
		Citations: []domain.Citation{
			{Title: "A study", URL: "https://doi.org/10.1000/xyz", DOI: "10.1000/xyz", PMID: "123456", AccessedDate: domain.Date{Year: 2024, Month: 12, Day: 31}},
			{Title: "Another"},
		},
		SEO: domain.SEO{
			MetaTitle:       "Meta " + title,
			MetaDescription: "Description",
			CanonicalURL:    "https://kratom-help.example/" + slug,
			SocialImageURL:  "https://cdn.example/img.png",
		},
		TargetSites: []string{"kratom-help", "recovery-today"},
		EditorNotes: "check the dosage table",
	}
}

func TestArticleRoundTrip(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	ctx := context.Background()

	full := newArticle("full", "")
	full.Draft = fullContent("Kratom withdrawal", "kratom-withdrawal")
	full.Rendering = sampleRendering("kratom-withdrawal")
	full.State = domain.StateScheduled
	full.CreateTime = time.Date(2025, 3, 1, 12, 0, 0, 123e6, time.UTC)
	full.UpdateTime = full.CreateTime
	full.ScheduledPublishTime = time.Date(2026, 1, 2, 3, 4, 5, 678e6, time.UTC)
	snap := fullContent("Kratom withdrawal (old)", "kratom-withdrawal")
	snap.EditorNotes = ""
	full.Published = &domain.Snapshot{
		Content:     snap,
		Rendering:   sampleRendering("old"),
		RevisionID:  1,
		PublishTime: time.Date(2025, 2, 1, 9, 30, 0, 5e6, time.UTC),
	}
	full.LastChange = domain.Change{Actor: "key-a", Action: "create", Fields: []string{"title", "body"}, Time: full.CreateTime}

	deleted := newArticle("deleted", "gone", "kratom-help")
	deleted.DeleteTime = t0.Add(time.Hour)
	deleted.State = domain.StateArchived

	// Times in another zone and below the millisecond come back in UTC, truncated.
	zoned := newArticle("zoned", "zoned", "kratom-help")
	zoned.CreateTime = time.Date(2025, 3, 1, 14, 0, 0, 123456789, time.FixedZone("X", 2*3600))
	zoned.UpdateTime = zoned.CreateTime
	zonedWant := cloneArticle(zoned)
	zonedWant.CreateTime = time.Date(2025, 3, 1, 12, 0, 0, 123e6, time.UTC)
	zonedWant.UpdateTime = zonedWant.CreateTime

	tests := []struct {
		name string
		in   *domain.Article
		want *domain.Article
	}{
		{"fully populated", full, full},
		{"minimal draft", newArticle("minimal", "minimal", "kratom-help"), nil},
		{"deleted", deleted, nil},
		{"zoned times", zoned, zonedWant},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := tt.want
			if want == nil {
				want = cloneArticle(tt.in)
			}
			if err := s.CreateArticle(ctx, tt.in); err != nil {
				t.Fatalf("CreateArticle: %v", err)
			}
			got := mustGet(t, s, tt.in.ID)
			if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("GetArticle mismatch (-want +got):\n%s", diff)
			}
			for _, tm := range []time.Time{got.CreateTime, got.UpdateTime, got.LastChange.Time} {
				if tm.Location() != time.UTC {
					t.Errorf("time %v is not in UTC", tm)
				}
			}
			rev, err := s.GetRevision(ctx, tt.in.ID, 1)
			if err != nil {
				t.Fatalf("GetRevision: %v", err)
			}
			wantRev := domain.Revision{ArticleID: want.ID, RevisionID: 1, Change: want.LastChange, Content: want.Draft, State: want.State}
			if diff := cmp.Diff(wantRev, rev, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("GetRevision mismatch (-want +got):\n%s", diff)
			}
		})
	}

	t.Run("missing", func(t *testing.T) {
		_, err := s.GetArticle(ctx, "nope")
		wantCode(t, err, apperr.NotFound)
		if !strings.Contains(err.Error(), "articles/nope not found") {
			t.Errorf("error %q does not name the article", err)
		}
	})
}

func TestUnknownSchemaVersionIsAnError(t *testing.T) {
	t.Parallel()
	s, db := newStore(t)
	ctx := context.Background()
	mustCreate(t, s, newArticle("a", "a", "kratom-help"))
	if _, err := db.Collection("articles").UpdateOne(damage(ctx), bson.D{{Key: "_id", Value: "a"}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "schemaVersion", Value: 99}}}}); err != nil {
		t.Fatal(err)
	}
	_, err := s.GetArticle(ctx, "a")
	if err == nil || apperr.CodeOf(err) != "" || !strings.Contains(err.Error(), "schemaVersion 99") {
		t.Fatalf("GetArticle of a document from the future: got %v, want an internal error naming schemaVersion 99", err)
	}
}

// TestReadsMedicalReviewerOfOlderSchemas checks that a document written before reviewers
// (article schema 2: one medicalReviewer) reads with that person as the clinical reviewer, and
// that the next write stores schema 3 with reviewers and no medicalReviewer.
func TestReadsMedicalReviewerOfOlderSchemas(t *testing.T) {
	t.Parallel()
	s, db := newStore(t)
	ctx := context.Background()
	a := newArticle("old", "old", "kratom-help")
	a.Draft.Reviewers = nil
	mustCreate(t, s, a)
	if _, err := db.Collection("articles").UpdateOne(damage(ctx), bson.D{{Key: "_id", Value: "old"}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "schemaVersion", Value: 2},
			{Key: "draft.medicalReviewer", Value: bson.D{{Key: "displayName", Value: "Dr. Legacy"}, {Key: "credentials", Value: "MD"}, {Key: "url", Value: ""}}}}}}); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetArticle(ctx, "old")
	if err != nil {
		t.Fatal(err)
	}
	want := []domain.Reviewer{{Person: domain.Person{DisplayName: "Dr. Legacy", Credentials: "MD"}, Role: domain.RoleClinical}}
	if diff := cmp.Diff(want, got.Draft.Reviewers); diff != "" {
		t.Fatalf("reviewers read from schema 2 (-want +got):\n%s", diff)
	}
	next := *got
	next.RevisionID++
	next.LastChange = domain.Change{Actor: "t", Action: "update", Time: got.UpdateTime}
	if err := s.UpdateArticle(ctx, got, &next); err != nil {
		t.Fatal(err)
	}
	raw, err := db.Collection("articles").FindOne(damage(ctx), bson.D{{Key: "_id", Value: "old"}}).Raw()
	if err != nil {
		t.Fatal(err)
	}
	version := raw.Lookup("schemaVersion").AsInt64()
	_, legacy := raw.LookupErr("draft", "medicalReviewer")
	name, _ := raw.Lookup("draft", "reviewers", "0", "displayName").StringValueOK()
	if version != store.ArticleSchemaVersion || legacy == nil || name != "Dr. Legacy" {
		t.Errorf("rewritten document: schemaVersion %d, medicalReviewer lookup %v, first reviewer %q; want %d, absent, Dr. Legacy", version, legacy, name, store.ArticleSchemaVersion)
	}
}

func TestUpdateArticleConditional(t *testing.T) {
	t.Parallel()
	s, db := newStore(t)
	ctx := context.Background()

	tests := []struct {
		name string
		// run creates what it needs, attempts one update, and returns the update's error and the
		// article that must be stored afterwards (nil: none).
		run      func(t *testing.T) (error, *domain.Article)
		wantCode apperr.Code
	}{
		{
			name: "current revision succeeds",
			run: func(t *testing.T) (error, *domain.Article) {
				a := newArticle("ok", "ok", "kratom-help")
				mustCreate(t, s, a)
				n := next(a, "update", func(n *domain.Article) { n.Draft.Title = "New title" })
				return s.UpdateArticle(ctx, a, n), n
			},
		},
		{
			name: "stale revision conflicts and changes nothing",
			run: func(t *testing.T) (error, *domain.Article) {
				a := newArticle("stale", "stale", "kratom-help")
				mustCreate(t, s, a)
				cur := mustUpdate(t, s, a, "update", func(n *domain.Article) { n.Draft.Title = "Second" })
				// A writer that read revision 1 tries to move the slug.
				err := s.UpdateArticle(ctx, a, next(a, "update", func(n *domain.Article) { n.Draft.Slug = "moved" }))
				return err, cur
			},
			wantCode: apperr.Conflict,
		},
		{
			name: "missing article",
			run: func(t *testing.T) (error, *domain.Article) {
				a := newArticle("missing", "missing", "kratom-help")
				return s.UpdateArticle(ctx, a, next(a, "update", nil)), nil
			},
			wantCode: apperr.NotFound,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err, want := tt.run(t)
			if tt.wantCode == "" && err != nil {
				t.Fatalf("UpdateArticle: %v", err)
			}
			if tt.wantCode != "" {
				wantCode(t, err, tt.wantCode)
			}
			if want != nil {
				if diff := cmp.Diff(want, mustGet(t, s, want.ID), cmpopts.EquateEmpty()); diff != "" {
					t.Errorf("stored article (-want +got):\n%s", diff)
				}
				revs, err := s.ListRevisions(ctx, want.ID, 0, 0)
				if err != nil {
					t.Fatal(err)
				}
				if len(revs) != int(want.RevisionID) {
					t.Errorf("%d revisions stored, want %d", len(revs), want.RevisionID)
				}
			}
		})
	}
	// The stale writer's claim on kratom-help/moved was released.
	if got, want := claims(t, db), map[string]string{"kratom-help/ok": "ok", "kratom-help/stale": "stale"}; !cmp.Equal(got, want) {
		t.Errorf("claims = %v, want %v", got, want)
	}

	t.Run("next must be prev plus one revision", func(t *testing.T) {
		a := newArticle("skip", "skip", "kratom-help")
		mustCreate(t, s, a)
		n := next(a, "update", nil)
		n.RevisionID = 5
		if err := s.UpdateArticle(ctx, a, n); err == nil || apperr.CodeOf(err) != "" {
			t.Fatalf("got %v, want an internal error", err)
		}
	})
}

func TestSlugClaims(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	old := time.Now().Add(-time.Hour)

	tests := []struct {
		name string
		// run performs the scenario on a fresh store and returns the claims expected at the end.
		run func(t *testing.T, s storeT, db dbT) map[string]string
	}{
		{
			name: "same slug on different sites",
			run: func(t *testing.T, s storeT, db dbT) map[string]string {
				mustCreate(t, s, newArticle("a", "x", "kh"), newArticle("b", "x", "rt"))
				return map[string]string{"kh/x": "a", "rt/x": "b"}
			},
		},
		{
			name: "clash on create",
			run: func(t *testing.T, s storeT, db dbT) map[string]string {
				mustCreate(t, s, newArticle("a", "x", "kh", "rt"))
				err := s.CreateArticle(ctx, newArticle("b", "x", "other", "kh"))
				wantCode(t, err, apperr.AlreadyExists)
				if want := `slug "x" is already used on site "kh" by articles/a`; err.Error() != want {
					t.Errorf("error %q, want %q", err, want)
				}
				_, err = s.GetArticle(ctx, "b")
				wantCode(t, err, apperr.NotFound)
				return map[string]string{"kh/x": "a", "rt/x": "a"} // other/x released
			},
		},
		{
			name: "clash on update",
			run: func(t *testing.T, s storeT, db dbT) map[string]string {
				a, b := newArticle("a", "x", "kh"), newArticle("b", "y", "rt", "kh")
				mustCreate(t, s, a, b)
				err := s.UpdateArticle(ctx, b, next(b, "update", func(n *domain.Article) { n.Draft.Slug = "x" }))
				wantCode(t, err, apperr.AlreadyExists)
				if diff := cmp.Diff(b, mustGet(t, s, "b"), cmpopts.EquateEmpty()); diff != "" {
					t.Errorf("b changed (-want +got):\n%s", diff)
				}
				if revs, _ := s.ListRevisions(ctx, "b", 0, 0); len(revs) != 1 {
					t.Errorf("b has %d revisions, want 1", len(revs))
				}
				return map[string]string{"kh/x": "a", "rt/y": "b", "kh/y": "b"} // rt/x released
			},
		},
		{
			name: "clash on adding a target site",
			run: func(t *testing.T, s storeT, db dbT) map[string]string {
				a, b := newArticle("a", "x", "kh"), newArticle("b", "x", "rt")
				mustCreate(t, s, a, b)
				err := s.UpdateArticle(ctx, b, next(b, "update", func(n *domain.Article) { n.Draft.TargetSites = []string{"rt", "kh"} }))
				wantCode(t, err, apperr.AlreadyExists)
				return map[string]string{"kh/x": "a", "rt/x": "b"}
			},
		},
		{
			name: "slug change frees the old slug",
			run: func(t *testing.T, s storeT, db dbT) map[string]string {
				a := newArticle("a", "x", "kh", "rt")
				mustCreate(t, s, a)
				mustUpdate(t, s, a, "update", func(n *domain.Article) { n.Draft.Slug = "y"; n.Draft.TargetSites = []string{"kh"} })
				mustCreate(t, s, newArticle("b", "x", "kh", "rt"))
				return map[string]string{"kh/y": "a", "kh/x": "b", "rt/x": "b"}
			},
		},
		{
			name: "soft delete frees the slug, undelete reclaims it",
			run: func(t *testing.T, s storeT, db dbT) map[string]string {
				a := newArticle("a", "x", "kh")
				mustCreate(t, s, a)
				a = mustUpdate(t, s, a, "delete", func(n *domain.Article) { n.DeleteTime = n.UpdateTime })
				if got := claims(t, db); len(got) != 0 {
					t.Errorf("claims after delete = %v, want none", got)
				}
				b := newArticle("b", "x", "kh")
				mustCreate(t, s, b)
				// While b holds it, a cannot come back.
				err := s.UpdateArticle(ctx, a, next(a, "undelete", func(n *domain.Article) { n.DeleteTime = time.Time{} }))
				wantCode(t, err, apperr.AlreadyExists)
				if !mustGet(t, s, "a").Deleted() {
					t.Error("a was undeleted despite the clash")
				}
				mustUpdate(t, s, b, "delete", func(n *domain.Article) { n.DeleteTime = n.UpdateTime })
				mustUpdate(t, s, a, "undelete", func(n *domain.Article) { n.DeleteTime = time.Time{} })
				return map[string]string{"kh/x": "a"}
			},
		},
		{
			name: "orphan of an article that was never written is taken over",
			run: func(t *testing.T, s storeT, db dbT) map[string]string {
				insertClaim(t, db, "kh/x", "ghost", old)
				mustCreate(t, s, newArticle("b", "x", "kh"))
				return map[string]string{"kh/x": "b"}
			},
		},
		{
			name: "orphan of an article that moved to another slug is taken over",
			run: func(t *testing.T, s storeT, db dbT) map[string]string {
				mustCreate(t, s, newArticle("a", "y", "kh"))
				insertClaim(t, db, "kh/x", "a", old) // a's move from x to y crashed before releasing x
				mustCreate(t, s, newArticle("b", "x", "kh"))
				return map[string]string{"kh/y": "a", "kh/x": "b"}
			},
		},
		{
			name: "orphan of a deleted article is taken over",
			run: func(t *testing.T, s storeT, db dbT) map[string]string {
				a := newArticle("a", "x", "kh")
				a.DeleteTime = t0
				mustCreate(t, s, a)
				insertClaim(t, db, "kh/x", "a", old)
				b := newArticle("b", "y", "kh")
				mustCreate(t, s, b)
				mustUpdate(t, s, b, "update", func(n *domain.Article) { n.Draft.Slug = "x" })
				return map[string]string{"kh/x": "b"}
			},
		},
		{
			name: "an old claim whose holder holds the key is not taken over",
			run: func(t *testing.T, s storeT, db dbT) map[string]string {
				mustCreate(t, s, newArticle("a", "x", "rt", "kh"))
				if _, err := db.Collection("slug_claims").UpdateMany(damage(ctx), bson.D{},
					bson.D{{Key: "$set", Value: bson.D{{Key: "claimedAt", Value: old}}}}); err != nil {
					t.Fatal(err)
				}
				wantCode(t, s.CreateArticle(ctx, newArticle("b", "x", "kh")), apperr.AlreadyExists)
				return map[string]string{"kh/x": "a", "rt/x": "a"}
			},
		},
		{
			name: "a fresh claim is never taken over: its write may be in flight",
			run: func(t *testing.T, s storeT, db dbT) map[string]string {
				insertClaim(t, db, "kh/x", "ghost", time.Now())
				wantCode(t, s.CreateArticle(ctx, newArticle("b", "x", "kh")), apperr.AlreadyExists)
				return map[string]string{"kh/x": "ghost"}
			},
		},
		{
			name: "a stale write of the same article keeps the claim the winning write made",
			run: func(t *testing.T, s storeT, db dbT) map[string]string {
				a := newArticle("a", "y", "kh")
				mustCreate(t, s, a)
				mustUpdate(t, s, a, "update", func(n *domain.Article) { n.Draft.Slug = "x" })
				// A second editor who also read revision 1 makes the same change: it relies on the
				// winner's claim, loses the race, and must not release that claim.
				err := s.UpdateArticle(ctx, a, next(a, "update", func(n *domain.Article) { n.Draft.Slug = "x" }))
				wantCode(t, err, apperr.Conflict)
				return map[string]string{"kh/x": "a"}
			},
		},
		{
			name: "a claim this article already holds is fine",
			run: func(t *testing.T, s storeT, db dbT) map[string]string {
				a := newArticle("a", "y", "kh")
				mustCreate(t, s, a)
				insertClaim(t, db, "kh/x", "a", time.Now()) // left by a failed earlier attempt
				mustUpdate(t, s, a, "update", func(n *domain.Article) { n.Draft.Slug = "x" })
				return map[string]string{"kh/x": "a"}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, db := newStore(t)
			want := tt.run(t, s, db)
			if got := claims(t, db); !cmp.Equal(got, want) {
				t.Errorf("claims = %v, want %v", got, want)
			}
		})
	}
}

func TestConcurrentWriters(t *testing.T) {
	t.Parallel()
	const writers = 6
	ctx := context.Background()

	t.Run("creates with one slug", func(t *testing.T) {
		t.Parallel()
		s, db := newStore(t)
		errs := make([]error, writers)
		var wg sync.WaitGroup
		for i := range writers {
			wg.Go(func() { errs[i] = s.CreateArticle(ctx, newArticle("w"+itoa(int64(i)), "x", "kh", "rt")) })
		}
		wg.Wait()
		winner := ""
		for i, err := range errs {
			switch {
			case err == nil && winner == "":
				winner = "w" + itoa(int64(i))
			case err == nil:
				t.Errorf("both %s and w%d created with the same slug", winner, i)
			case !apperr.Is(err, apperr.AlreadyExists) && !apperr.Is(err, apperr.Conflict):
				t.Errorf("w%d: %v", i, err)
			}
		}
		if winner == "" {
			t.Fatal("no writer succeeded")
		}
		if got, want := claims(t, db), map[string]string{"kh/x": winner, "rt/x": winner}; !cmp.Equal(got, want) {
			t.Errorf("claims = %v, want %v", got, want)
		}
	})

	t.Run("takeovers of one orphan claim", func(t *testing.T) {
		t.Parallel()
		s, db := newStore(t)
		insertClaim(t, db, "kh/x", "ghost", time.Now().Add(-time.Hour))
		errs := make([]error, writers)
		var wg sync.WaitGroup
		for i := range writers {
			wg.Go(func() { errs[i] = s.CreateArticle(ctx, newArticle("w"+itoa(int64(i)), "x", "kh")) })
		}
		wg.Wait()
		var won []string
		for i, err := range errs {
			if err == nil {
				won = append(won, "w"+itoa(int64(i)))
			} else if !apperr.Is(err, apperr.AlreadyExists) && !apperr.Is(err, apperr.Conflict) {
				t.Errorf("w%d: %v", i, err)
			}
		}
		if len(won) != 1 {
			t.Fatalf("writers %v succeeded, want exactly one", won)
		}
		if got, want := claims(t, db), map[string]string{"kh/x": won[0]}; !cmp.Equal(got, want) {
			t.Errorf("claims = %v, want %v", got, want)
		}
	})

	// The writers alternate between two Stores sharing one mongodb.DocLocks (two services'
	// stores in one process): the locks, not the Store value, serialize them.
	t.Run("updates from one revision through two stores", func(t *testing.T) {
		t.Parallel()
		stores, db := newStores(t, 2)
		s := stores[0]
		a := newArticle("a", "start", "kh")
		mustCreate(t, s, a)
		nexts := make([]*domain.Article, writers)
		errs := make([]error, writers)
		var wg sync.WaitGroup
		for i := range writers {
			nexts[i] = next(a, "update", func(n *domain.Article) { n.Draft.Slug = "slug-" + itoa(int64(i)) })
			wg.Go(func() { errs[i] = stores[i%2].UpdateArticle(ctx, a, nexts[i]) })
		}
		wg.Wait()
		var won []int
		for i, err := range errs {
			if err == nil {
				won = append(won, i)
			} else if !apperr.Is(err, apperr.Conflict) {
				t.Errorf("writer %d: %v", i, err)
			}
		}
		if len(won) != 1 {
			t.Fatalf("%d writers succeeded, want 1", len(won))
		}
		w := nexts[won[0]]
		if diff := cmp.Diff(w, mustGet(t, s, "a"), cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("stored (-want +got):\n%s", diff)
		}
		if got, want := claims(t, db), map[string]string{"kh/" + w.Draft.Slug: "a"}; !cmp.Equal(got, want) {
			t.Errorf("claims = %v, want %v", got, want)
		}
		if revs, err := s.ListRevisions(ctx, "a", 0, 0); err != nil || len(revs) != 2 || revs[0].Content.Slug != w.Draft.Slug {
			t.Errorf("revisions = %+v, %v", revs, err)
		}
	})
}

func TestRevisions(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	ctx := context.Background()

	a := newArticle("a", "a", "kh")
	mustCreate(t, s, a)
	versions := []*domain.Article{a}
	for _, title := range []string{"Two", "Three", "Four", "Five"} {
		a = mustUpdate(t, s, a, "update", func(n *domain.Article) {
			n.Draft.Title = title
			n.LastChange.Fields = []string{"title"}
		})
		versions = append(versions, a)
	}
	a = mustUpdate(t, s, a, "publish", func(n *domain.Article) { publish(n, n.UpdateTime) })
	versions = append(versions, a)

	tests := []struct {
		name     string
		beforeID int64
		limit    int
		want     []int64
	}{
		{"all, newest first", 0, 0, []int64{6, 5, 4, 3, 2, 1}},
		{"first page", 0, 2, []int64{6, 5}},
		{"second page", 5, 2, []int64{4, 3}},
		{"last page", 2, 2, []int64{1}},
		{"past the end", 1, 2, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			revs, err := s.ListRevisions(ctx, "a", tt.beforeID, tt.limit)
			if err != nil {
				t.Fatal(err)
			}
			var got []int64
			for _, r := range revs {
				got = append(got, r.RevisionID)
				v := versions[r.RevisionID-1]
				want := domain.Revision{ArticleID: "a", RevisionID: v.RevisionID, Change: v.LastChange, Content: v.Draft, State: v.State}
				if diff := cmp.Diff(want, r, cmpopts.EquateEmpty()); diff != "" {
					t.Errorf("revision %d (-want +got):\n%s", r.RevisionID, diff)
				}
			}
			if !cmp.Equal(got, tt.want, cmpopts.EquateEmpty()) {
				t.Errorf("revision ids = %v, want %v", got, tt.want)
			}
		})
	}

	t.Run("get", func(t *testing.T) {
		r, err := s.GetRevision(ctx, "a", 3)
		if err != nil {
			t.Fatal(err)
		}
		if r.Content.Title != "Three" || r.Change.Action != "update" {
			t.Errorf("revision 3 = %+v", r)
		}
		_, err = s.GetRevision(ctx, "a", 99)
		wantCode(t, err, apperr.NotFound)
		_, err = s.GetRevision(ctx, "nope", 1)
		wantCode(t, err, apperr.NotFound)
	})
	t.Run("other article has none", func(t *testing.T) {
		revs, err := s.ListRevisions(ctx, "nope", 0, 10)
		if err != nil || len(revs) != 0 {
			t.Errorf("ListRevisions(nope) = %v, %v; want none", revs, err)
		}
	})
}

func TestPendingRevisions(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	// interrupt makes it look as if the process died right after the article write that produced
	// the article's current revision: the revision document is missing and the marker is left.
	interrupt := func(t *testing.T, db dbT, a *domain.Article) {
		t.Helper()
		key := a.ID + "/" + itoa(a.RevisionID)
		if res, err := db.Collection("article_revisions").DeleteOne(damage(ctx), bson.D{{Key: "_id", Value: key}}); err != nil || res.DeletedCount != 1 {
			t.Fatalf("deleting revision %s: %v, %+v", key, err, res)
		}
		leaveMarker(t, db, a.ID, a.RevisionID)
	}
	revisionIDs := func(t *testing.T, s storeT, id string) []int64 {
		t.Helper()
		revs, err := s.ListRevisions(ctx, id, 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		var out []int64
		for _, r := range revs {
			out = append(out, r.RevisionID)
		}
		return out
	}
	pending := func(t *testing.T, db dbT) int64 {
		t.Helper()
		n, err := db.Collection("pending_revisions").CountDocuments(damage(ctx), bson.D{})
		if err != nil {
			t.Fatal(err)
		}
		return n
	}

	t.Run("flush completes them", func(t *testing.T) {
		t.Parallel()
		s, db := newStore(t)
		a, b := newArticle("a", "a", "kh"), newArticle("b", "b", "kh")
		mustCreate(t, s, a, b)
		a = mustUpdate(t, s, a, "update", func(n *domain.Article) { n.Draft.Title = "Second" })
		interrupt(t, db, a)
		interrupt(t, db, b)
		if got := revisionIDs(t, s, "a"); !cmp.Equal(got, []int64{1}) {
			t.Fatalf("before flush: revisions %v", got)
		}
		if err := s.FlushPendingRevisions(ctx); err != nil {
			t.Fatalf("FlushPendingRevisions: %v", err)
		}
		if got := revisionIDs(t, s, "a"); !cmp.Equal(got, []int64{2, 1}) {
			t.Errorf("a: revisions %v, want [2 1]", got)
		}
		if got := revisionIDs(t, s, "b"); !cmp.Equal(got, []int64{1}) {
			t.Errorf("b: revisions %v, want [1]", got)
		}
		r, err := s.GetRevision(ctx, "a", 2)
		if err != nil {
			t.Fatal(err)
		}
		want := domain.Revision{ArticleID: "a", RevisionID: 2, Change: a.LastChange, Content: a.Draft, State: a.State}
		if diff := cmp.Diff(want, r, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("flushed revision (-want +got):\n%s", diff)
		}
		if n := pending(t, db); n != 0 {
			t.Errorf("%d articles still pending", n)
		}
		// Idempotent.
		if err := s.FlushPendingRevisions(ctx); err != nil {
			t.Fatalf("second FlushPendingRevisions: %v", err)
		}
	})

	t.Run("update records the pending revision first", func(t *testing.T) {
		t.Parallel()
		s, db := newStore(t)
		a := newArticle("a", "a", "kh")
		mustCreate(t, s, a)
		a2 := mustUpdate(t, s, a, "update", func(n *domain.Article) { n.Draft.Title = "Second" })
		interrupt(t, db, a2)
		a3 := mustUpdate(t, s, a2, "update", func(n *domain.Article) { n.Draft.Title = "Third" })
		if got := revisionIDs(t, s, "a"); !cmp.Equal(got, []int64{3, 2, 1}) {
			t.Errorf("revisions %v, want [3 2 1]", got)
		}
		r, err := s.GetRevision(ctx, "a", 2)
		if err != nil || r.Content.Title != "Second" {
			t.Errorf("revision 2 = %+v, %v; want title Second", r, err)
		}
		if diff := cmp.Diff(a3, mustGet(t, s, "a"), cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("stored (-want +got):\n%s", diff)
		}
		if n := pending(t, db); n != 0 {
			t.Errorf("%d articles still pending", n)
		}
	})

	// The write that replaces an interrupted revision's marker may itself not land; so it records
	// all of that revision first (here: its change-log entry, written with its live and index
	// entries), not only the revision document.
	t.Run("update records all of the pending revision", func(t *testing.T) {
		t.Parallel()
		s, db := newStore(t)
		a := newArticle("a", "a", "kh")
		mustCreate(t, s, a)
		a2 := mustUpdate(t, s, a, "update", func(n *domain.Article) { n.Draft.Title = "Second" })
		interrupt(t, db, a2)
		if res, err := db.Collection("article_changes").DeleteOne(damage(ctx), bson.D{{Key: "_id", Value: "a/2"}}); err != nil || res.DeletedCount != 1 {
			t.Fatalf("deleting change a/2: %v, %+v", err, res)
		}
		mustUpdate(t, s, a2, "update", func(n *domain.Article) { n.Draft.Title = "Third" })
		if n, err := db.Collection("article_changes").CountDocuments(damage(ctx), bson.D{{Key: "_id", Value: "a/2"}}); err != nil || n != 1 {
			t.Errorf("change a/2: %d entries (%v), want 1: the interrupted revision was not recorded whole", n, err)
		}
	})

	// A marker names a revision the article never reached: the write failed, or its replace is
	// still on its way to the store. A young marker stays (the write may land and must then be
	// recorded); one older than the grace goes.
	t.Run("marker of a write that has not landed", func(t *testing.T) {
		t.Parallel()
		tests := []struct {
			name string
			age  time.Duration
			kept bool
		}{
			{"young", 0, true},
			{"past the grace", 2 * time.Minute, false},
		}
		for _, tt := range tests {
			s, db := newStore(t)
			mustCreate(t, s, newArticle("a", "a", "kh"))
			_, err := db.Collection("pending_revisions").ReplaceOne(damage(ctx), bson.D{{Key: "_id", Value: "a"}},
				bson.D{{Key: "_id", Value: "a"}, {Key: "revision", Value: int64(2)}, {Key: "time", Value: time.Now().Add(-tt.age)}},
				options.Replace().SetUpsert(true))
			if err != nil {
				t.Fatal(err)
			}
			if err := s.FlushPendingRevisions(ctx); err != nil {
				t.Fatal(err)
			}
			if n := pending(t, db); (n == 1) != tt.kept {
				t.Errorf("%s: %d markers after the flush, want kept %t", tt.name, n, tt.kept)
			}
			if got := revisionIDs(t, s, "a"); !cmp.Equal(got, []int64{1}) {
				t.Errorf("%s: revisions %v, want [1]", tt.name, got)
			}
		}
	})

	t.Run("marker left with the revision already stored", func(t *testing.T) {
		t.Parallel()
		s, db := newStore(t)
		mustCreate(t, s, newArticle("a", "a", "kh"))
		leaveMarker(t, db, "a", 1)
		if err := s.FlushPendingRevisions(ctx); err != nil {
			t.Fatal(err)
		}
		if got := revisionIDs(t, s, "a"); !cmp.Equal(got, []int64{1}) {
			t.Errorf("revisions %v, want [1]", got)
		}
		if n := pending(t, db); n != 0 {
			t.Errorf("%d articles still pending", n)
		}
	})
}

func TestListDueScheduled(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	ctx := context.Background()
	now := t0.Add(24 * time.Hour)

	scheduled := func(id string, at time.Time) *domain.Article {
		a := newArticle(id, id, "kh")
		a.State, a.ScheduledPublishTime = domain.StateScheduled, at
		return a
	}
	deleted := scheduled("deleted", now.Add(-time.Hour))
	deleted.DeleteTime = now.Add(-time.Minute)
	draft := newArticle("draft", "draft", "kh")
	draft.ScheduledPublishTime = now.Add(-time.Hour) // stale field on a draft: not due
	mustCreate(t, s,
		scheduled("later", now.Add(-time.Minute)),
		scheduled("exactly-now", now),
		scheduled("earliest", now.Add(-2*time.Hour)),
		scheduled("future", now.Add(time.Millisecond)),
		deleted, draft)

	tests := []struct {
		limit int
		want  []string
	}{
		{0, []string{"earliest", "later", "exactly-now"}},
		{2, []string{"earliest", "later"}},
	}
	for _, tt := range tests {
		got, err := s.ListDueScheduled(ctx, now, tt.limit)
		if err != nil {
			t.Fatal(err)
		}
		if !cmp.Equal(ids(got), tt.want) {
			t.Errorf("ListDueScheduled(limit %d) = %v, want %v", tt.limit, ids(got), tt.want)
		}
	}
}

func TestMigrationsAreIdempotent(t *testing.T) {
	t.Parallel()
	_, db := newStore(t) // migrated once
	for _, m := range storeMigrations() {
		if err := m.Up(damage(context.Background()), db); err != nil {
			t.Errorf("migration %d run again: %v", m.Version, err)
		}
	}
	// The secondary indexes serve MongoDB only: on FerretDB, which never uses them, step 10
	// drops them (each made every write parse the document's JSON once more).
	ferret, err := mongodb.IsFerretDB(context.Background(), db.Client())
	if err != nil {
		t.Fatal(err)
	}
	for coll, secondary := range map[string][]string{
		"articles":          {"state_scheduledPublishTime", "targetSites_updateTime"},
		"article_revisions": {"articleId_revisionId"},
		"article_changes":   {"time"},
		"article_schedule":  {"time"},
	} {
		specs, err := db.Collection(coll).Indexes().ListSpecifications(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, sp := range specs {
			got = append(got, sp.Name)
		}
		want := []string{"_id_"}
		if !ferret {
			want = append(want, secondary...)
		}
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("indexes of %s = %v, want %v (FerretDB: %t)", coll, got, want, ferret)
		}
	}
}

// leaveMarker leaves the pending-revision marker a write makes before it writes the article, as
// a crash after that write would.
func leaveMarker(t *testing.T, db dbT, id string, revision int64) {
	t.Helper()
	_, err := db.Collection("pending_revisions").ReplaceOne(context.Background(), bson.D{{Key: "_id", Value: id}},
		bson.D{{Key: "_id", Value: id}, {Key: "revision", Value: revision}}, options.Replace().SetUpsert(true))
	if err != nil {
		t.Fatal(err)
	}
}
