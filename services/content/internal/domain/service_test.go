package domain_test

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/beaconcms/beacon/platform/apperr"
	"github.com/beaconcms/beacon/platform/auth"
	"github.com/beaconcms/beacon/platform/listfilter"
	"github.com/beaconcms/beacon/services/content/internal/domain"
	"github.com/beaconcms/beacon/services/content/internal/store"
)

func TestCreateArticle(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()

	c := domain.Content{
		Title:       "  Kratom & Sleep: What to Know  ",
		Body:        "## Sleep\n\nMany people notice changes.",
		Tags:        []string{"Kratom", "kratom", " Sleep "},
		TargetSites: []string{"site-a"},
		EditorNotes: "ask the reviewer",
	}
	a := f.create(t, editorA, c)
	want := &domain.Article{
		ID: a.ID,
		Draft: domain.Content{
			Title: "Kratom & Sleep: What to Know", Slug: "kratom-sleep-what-to-know", Body: c.Body,
			Tags: []string{"kratom", "sleep"}, TargetSites: []string{"site-a"}, EditorNotes: "ask the reviewer",
		},
		Rendering:  a.Rendering,
		State:      domain.StateDraft,
		RevisionID: 1,
		CreateTime: t0,
		UpdateTime: t0,
		Creator:    editorA.KeyName,
		LastChange: domain.Change{Actor: editorA.KeyName, Action: "create", Fields: []string{"title", "slug", "body", "tags", "target_sites", "editor_notes"}, Time: t0},
	}
	if diff := cmp.Diff(want, a, articleCmp...); diff != "" {
		t.Errorf("CreateArticle (-want +got):\n%s", diff)
	}
	if !strings.Contains(a.Rendering.HTML, "<h2") || a.Rendering.WordCount == 0 {
		t.Errorf("draft not rendered: %+v", a.Rendering)
	}
	if diff := cmp.Diff(a, f.get(t, a.ID), articleCmp...); diff != "" {
		t.Errorf("stored article differs from the one returned (-created +stored):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"create"}, f.actions(t, a.ID)); diff != "" {
		t.Errorf("revisions (-want +got):\n%s", diff)
	}

	tests := []struct {
		name       string
		p          auth.Principal
		c          domain.Content
		want       apperr.Code
		wantFields []string
	}{
		{name: "same slug on another site", p: admin, c: draft("Kratom & sleep: what to know", "site-b")},
		{name: "invalid content", p: admin, c: domain.Content{Title: "!!!"}, want: apperr.Invalid, wantFields: []string{"article.slug", "article.target_sites"}},
		{name: "site that does not exist", p: admin, c: draft("New", "site-a", "site-zz"), want: apperr.Invalid, wantFields: []string{"article.target_sites[1]"}},
		{name: "site key targets another site", p: editorA, c: draft("New", "site-b"), want: apperr.PermissionDenied},
		{name: "site key targets its site and another", p: editorA, c: draft("New", "site-a", "site-b"), want: apperr.PermissionDenied},
		{name: "slug taken on the site", p: editorA, c: draft("Kratom & sleep -- what to know?", "site-a"), want: apperr.AlreadyExists},
		{name: "explicit slug taken on one of the sites", p: admin, c: withSlug(draft("Other title", "site-b", "site-a"), "Kratom-Sleep-What-To-Know"), want: apperr.AlreadyExists},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := f.svc.CreateArticle(ctx, tt.p, tt.c)
			wantCode(t, err, tt.want)
			if tt.want == apperr.Invalid {
				if diff := cmp.Diff(tt.wantFields, violatedFields(t, err)); diff != "" {
					t.Errorf("violated fields (-want +got):\n%s", diff)
				}
			}
		})
	}

	t.Run("slug is free again once the holder is deleted", func(t *testing.T) {
		if _, err := f.svc.DeleteArticle(ctx, admin, a.ID, ""); err != nil {
			t.Fatal(err)
		}
		b := f.create(t, editorA, draft("Kratom & Sleep: What to Know", "site-a"))
		if b.Draft.Slug != a.Draft.Slug {
			t.Errorf("slug = %q, want %q", b.Draft.Slug, a.Draft.Slug)
		}
		_, err := f.svc.UndeleteArticle(ctx, admin, a.ID)
		wantCode(t, err, apperr.AlreadyExists)
	})
}

func withSlug(c domain.Content, slug string) domain.Content {
	c.Slug = slug
	return c
}

func TestArticleLifecycle(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	c := draft("Finding help", "site-a")
	c.EditorNotes = "internal: do not publish"
	a := f.create(t, editorA, c)

	// Publish freezes the draft, without editor notes, as the live snapshot.
	f.clock.Advance(time.Minute)
	pub, err := f.svc.PublishArticle(ctx, editorA, a.ID, a.Etag())
	wantCode(t, err, "")
	wantSnap := a.Draft
	wantSnap.EditorNotes = ""
	if pub.Published == nil {
		t.Fatal("Published is nil after PublishArticle")
	}
	wantPublished := &domain.Snapshot{Content: wantSnap, Rendering: a.Rendering, RevisionID: 2, PublishTime: t0.Add(time.Minute)}
	if diff := cmp.Diff(wantPublished, pub.Published, articleCmp...); diff != "" {
		t.Errorf("snapshot after publish (-want +got):\n%s", diff)
	}
	if pub.State != domain.StatePublished || pub.RevisionID != 2 || pub.PublishedRevisionID() != 2 || !pub.Live() {
		t.Errorf("after publish: state %v revision %d published revision %d live %v; want PUBLISHED 2 2 true",
			pub.State, pub.RevisionID, pub.PublishedRevisionID(), pub.Live())
	}
	if pub.Draft.EditorNotes != c.EditorNotes {
		t.Errorf("publish changed the draft's editor notes to %q", pub.Draft.EditorNotes)
	}
	if diff := cmp.Diff(pub, f.get(t, a.ID), articleCmp...); diff != "" {
		t.Errorf("stored article after publish (-returned +stored):\n%s", diff)
	}

	// Editing the draft leaves the live snapshot alone.
	f.clock.Advance(time.Minute)
	edited, err := f.svc.UpdateArticle(ctx, editorA, a.ID, domain.Content{Summary: "Changed summary", Body: "## New body"}, []string{"summary", "body"}, pub.Etag())
	wantCode(t, err, "")
	if diff := cmp.Diff(pub.Published, edited.Published, articleCmp...); diff != "" {
		t.Errorf("editing the draft changed the snapshot (-before +after):\n%s", diff)
	}
	if edited.State != domain.StatePublished || edited.Draft.Summary != "Changed summary" || edited.Rendering.HTML == pub.Rendering.HTML {
		t.Errorf("after edit: state %v summary %q rendering %q", edited.State, edited.Draft.Summary, edited.Rendering.HTML)
	}
	if got := f.get(t, a.ID); got.Published.Content.Summary != c.Summary || got.Published.RevisionID != 2 {
		t.Errorf("stored snapshot after edit: summary %q revision %d; want %q 2", got.Published.Content.Summary, got.Published.RevisionID, c.Summary)
	}

	// Unpublish withdraws the snapshot.
	unpub, err := f.svc.UnpublishArticle(ctx, editorA, a.ID, edited.Etag())
	wantCode(t, err, "")
	if unpub.Published != nil || unpub.State != domain.StateDraft || unpub.Live() {
		t.Errorf("after unpublish: published %v state %v", unpub.Published, unpub.State)
	}
	_, err = f.svc.UnpublishArticle(ctx, editorA, a.ID, "")
	wantCode(t, err, apperr.FailedPrecondition)

	// Publishing again takes the current draft.
	repub := f.publish(t, unpub)
	if repub.Published.Content.Summary != "Changed summary" || repub.Published.RevisionID != repub.RevisionID {
		t.Errorf("republished snapshot: summary %q revision %d (article at %d)", repub.Published.Content.Summary, repub.Published.RevisionID, repub.RevisionID)
	}

	// Archive withdraws it too.
	arch, err := f.svc.ArchiveArticle(ctx, editorA, a.ID, repub.Etag())
	wantCode(t, err, "")
	if arch.Published != nil || arch.State != domain.StateArchived {
		t.Errorf("after archive: published %v state %v", arch.Published, arch.State)
	}
	_, err = f.svc.ArchiveArticle(ctx, editorA, a.ID, "")
	wantCode(t, err, apperr.FailedPrecondition)

	// Delete, then every write but undelete is refused.
	f.clock.Advance(time.Minute)
	del, err := f.svc.DeleteArticle(ctx, editorA, a.ID, arch.Etag())
	wantCode(t, err, "")
	if !del.Deleted() || !del.DeleteTime.Equal(f.clock.Now()) || del.State != domain.StateArchived {
		t.Errorf("after delete: delete time %v state %v", del.DeleteTime, del.State)
	}
	deletedOps := []struct {
		name string
		do   func() (*domain.Article, error)
	}{
		{"update", func() (*domain.Article, error) {
			return f.svc.UpdateArticle(ctx, editorA, a.ID, domain.Content{Summary: "x"}, []string{"summary"}, del.Etag())
		}},
		{"publish", func() (*domain.Article, error) { return f.svc.PublishArticle(ctx, editorA, a.ID, del.Etag()) }},
		{"unpublish", func() (*domain.Article, error) { return f.svc.UnpublishArticle(ctx, editorA, a.ID, del.Etag()) }},
		{"schedule", func() (*domain.Article, error) {
			return f.svc.ScheduleArticle(ctx, editorA, a.ID, f.clock.Now().Add(time.Hour), del.Etag())
		}},
		{"archive", func() (*domain.Article, error) { return f.svc.ArchiveArticle(ctx, editorA, a.ID, del.Etag()) }},
		{"rollback", func() (*domain.Article, error) { return f.svc.RollbackArticle(ctx, editorA, a.ID, 1, del.Etag()) }},
		{"delete", func() (*domain.Article, error) { return f.svc.DeleteArticle(ctx, editorA, a.ID, del.Etag()) }},
	}
	for _, op := range deletedOps {
		t.Run(op.name+" deleted article", func(t *testing.T) {
			_, err := op.do()
			wantCode(t, err, apperr.FailedPrecondition)
			if got := f.get(t, a.ID); got.RevisionID != del.RevisionID {
				t.Errorf("refused %s changed the article to revision %d", op.name, got.RevisionID)
			}
		})
	}
	list := func(showDeleted bool) []string {
		got, err := f.svc.ListArticles(ctx, editorA, domain.ArticleQuery{ShowDeleted: showDeleted, OrderBy: domain.OrderUpdateTime, Limit: 10})
		wantCode(t, err, "")
		var ids []string
		for _, x := range got {
			ids = append(ids, x.ID)
		}
		return ids
	}
	if ids := list(false); slices.Contains(ids, a.ID) {
		t.Errorf("deleted article listed without show_deleted: %v", ids)
	}
	if ids := list(true); !slices.Contains(ids, a.ID) {
		t.Errorf("deleted article not listed with show_deleted: %v", ids)
	}

	// Undelete restores it as it was.
	undel, err := f.svc.UndeleteArticle(ctx, editorA, a.ID)
	wantCode(t, err, "")
	if undel.Deleted() || undel.State != domain.StateArchived || undel.Draft.Summary != "Changed summary" {
		t.Errorf("after undelete: deleted %v state %v summary %q", undel.Deleted(), undel.State, undel.Draft.Summary)
	}
	_, err = f.svc.UndeleteArticle(ctx, editorA, a.ID)
	wantCode(t, err, apperr.FailedPrecondition)

	want := []string{"undelete", "delete", "archive", "publish", "unpublish", "update", "publish", "create"}
	if diff := cmp.Diff(want, f.actions(t, a.ID)); diff != "" {
		t.Errorf("revision actions, newest first (-want +got):\n%s", diff)
	}
}

func TestUndeleteAfterSiteDeleted(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	a := f.create(t, admin, draft("Orphan", "site-a", "site-b"))
	if _, err := f.svc.DeleteArticle(ctx, admin, a.ID, ""); err != nil {
		t.Fatal(err)
	}
	// It cannot come back while a site it targets is deleted...
	f.sites.setDeleted("site-b", true)
	_, err := f.svc.UndeleteArticle(ctx, admin, a.ID)
	wantCode(t, err, apperr.FailedPrecondition)
	if !strings.Contains(err.Error(), `"site-b"`) || !strings.Contains(err.Error(), "article.target_sites[1]") {
		t.Errorf("error %q does not name the deleted site and its field", err)
	}
	if got := f.get(t, a.ID); !got.Deleted() {
		t.Errorf("refused undelete restored the article")
	}
	// ...and can once the site is back.
	f.sites.setDeleted("site-b", false)
	if _, err := f.svc.UndeleteArticle(ctx, admin, a.ID); err != nil {
		t.Errorf("UndeleteArticle after the site's undelete: %v", err)
	}
}

// TestDeletedSite: a deleted site takes no new content (create, update toward it, publish,
// schedule), its articles leave site-scoped lists, take-downs still work, and everything is
// back as it was after the undelete.
func TestDeletedSite(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	onlyB := f.create(t, admin, draft("Only B", "site-b"))
	both := f.create(t, admin, draft("Both", "site-a", "site-b"))
	onlyA := f.create(t, admin, draft("Only A", "site-a"))
	f.sites.setDeleted("site-b", true)

	refused := []struct {
		name  string
		do    func() error
		field string
	}{
		{"create", func() error { _, err := f.svc.CreateArticle(ctx, admin, draft("New", "site-a", "site-b")); return err }, "article.target_sites[1]"},
		{"move toward it", func() error {
			_, err := f.svc.UpdateArticle(ctx, admin, onlyA.ID, domain.Content{TargetSites: []string{"site-b"}}, []string{"target_sites"}, onlyA.Etag())
			return err
		}, "article.target_sites[0]"},
		{"edit an article on it", func() error {
			_, err := f.svc.UpdateArticle(ctx, admin, onlyB.ID, domain.Content{Title: "Edited"}, []string{"title"}, onlyB.Etag())
			return err
		}, "article.target_sites[0]"},
		{"publish", func() error { _, err := f.svc.PublishArticle(ctx, admin, both.ID, ""); return err }, "article.target_sites[1]"},
		{"schedule", func() error {
			_, err := f.svc.ScheduleArticle(ctx, admin, onlyB.ID, t0.Add(time.Hour), "")
			return err
		}, "article.target_sites[0]"},
	}
	for _, tt := range refused {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.do()
			wantCode(t, err, apperr.FailedPrecondition)
			if e, _ := apperr.As(err); len(e.Fields) != 1 || e.Fields[0].Field != tt.field {
				t.Errorf("error %v names %+v, want the field %s", err, e.Fields, tt.field)
			}
		})
	}
	// A take-down is allowed, and an article can leave the deleted site.
	if _, err := f.svc.UpdateArticle(ctx, admin, both.ID, domain.Content{TargetSites: []string{"site-a"}}, []string{"target_sites"}, both.Etag()); err != nil {
		t.Errorf("removing the deleted site from an article: %v", err)
	}

	list := func(q domain.ArticleQuery) []string {
		q.OrderBy, q.Limit = domain.OrderCreateTime, 100
		got, err := f.svc.ListArticles(ctx, admin, q)
		wantCode(t, err, "")
		var titles []string
		for _, a := range got {
			titles = append(titles, a.Draft.Title)
		}
		return titles
	}
	siteB := domain.ArticleQuery{Sites: []string{"site-b"}}
	if got := list(siteB); len(got) != 0 {
		t.Errorf("site-scoped list of the deleted site = %v, want none", got)
	}
	if got := list(domain.ArticleQuery{Conditions: []listfilter.Condition{{Field: "site", Op: listfilter.Eq, Value: "site-b"}}}); len(got) != 0 {
		t.Errorf("list filtered on the deleted site = %v, want none", got)
	}
	// Every other list leaves out the articles all of whose sites are deleted (Only B), whatever
	// the filter, and keeps those still on a live site (Both, moved to site-a; Only A); a caller
	// asking show_deleted sees them all.
	for _, tt := range []struct {
		name string
		q    domain.ArticleQuery
		want []string
	}{
		{"no filter", domain.ArticleQuery{}, []string{"Both", "Only A"}},
		{"site !=", domain.ArticleQuery{Conditions: []listfilter.Condition{{Field: "site", Op: listfilter.Ne, Value: "site-a"}}}, nil},
		{"compound", domain.ArticleQuery{Conditions: []listfilter.Condition{
			{Field: "state", Op: listfilter.Eq, Value: "DRAFT"}, {Field: "site", Op: listfilter.Ne, Value: "site-c"}}}, []string{"Both", "Only A"}},
		{"show_deleted", domain.ArticleQuery{ShowDeleted: true}, []string{"Only B", "Both", "Only A"}},
		{"show_deleted on the deleted site", domain.ArticleQuery{ShowDeleted: true,
			Conditions: []listfilter.Condition{{Field: "site", Op: listfilter.Eq, Value: "site-b"}}}, []string{"Only B"}},
	} {
		// The fixture's clock stands still: articles created at one time come in id order.
		if got := list(tt.q); !slices.Equal(slices.Sorted(slices.Values(got)), slices.Sorted(slices.Values(tt.want))) {
			t.Errorf("%s: list = %v, want %v", tt.name, got, tt.want)
		}
	}
	if got, err := f.svc.ListArticles(ctx, editorB, domain.ArticleQuery{OrderBy: domain.OrderCreateTime, Limit: 10}); err != nil || len(got) != 0 {
		t.Errorf("list by a site-b key = %d articles, %v; want none", len(got), err)
	}

	f.sites.setDeleted("site-b", false)
	if got := list(siteB); !slices.Equal(got, []string{"Only B"}) {
		t.Errorf("site-scoped list after the undelete = %v, want [Only B]", got)
	}
	if _, err := f.svc.PublishArticle(ctx, admin, onlyB.ID, ""); err != nil {
		t.Errorf("publish after the undelete: %v", err)
	}
}

func TestEtagMismatch(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	a := f.create(t, admin, draft("Etags", "site-a"))
	stale := a.Etag()
	cur := f.publish(t, a) // revision 2; stale is revision 1's etag

	tests := []struct {
		name string
		do   func(etag string) (*domain.Article, error)
	}{
		{"update", func(e string) (*domain.Article, error) {
			return f.svc.UpdateArticle(ctx, admin, a.ID, domain.Content{Summary: "x"}, []string{"summary"}, e)
		}},
		{"delete", func(e string) (*domain.Article, error) { return f.svc.DeleteArticle(ctx, admin, a.ID, e) }},
		{"publish", func(e string) (*domain.Article, error) { return f.svc.PublishArticle(ctx, admin, a.ID, e) }},
		{"unpublish", func(e string) (*domain.Article, error) { return f.svc.UnpublishArticle(ctx, admin, a.ID, e) }},
		{"schedule", func(e string) (*domain.Article, error) {
			return f.svc.ScheduleArticle(ctx, admin, a.ID, t0.Add(time.Hour), e)
		}},
		{"archive", func(e string) (*domain.Article, error) { return f.svc.ArchiveArticle(ctx, admin, a.ID, e) }},
		{"rollback", func(e string) (*domain.Article, error) { return f.svc.RollbackArticle(ctx, admin, a.ID, 1, e) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, e := range []string{stale, "not-an-etag"} {
				_, err := tt.do(e)
				wantCode(t, err, apperr.Conflict)
			}
			if diff := cmp.Diff(cur, f.get(t, a.ID), articleCmp...); diff != "" {
				t.Errorf("a write with a stale etag changed the article (-before +after):\n%s", diff)
			}
		})
	}

	t.Run("update needs an etag", func(t *testing.T) {
		_, err := f.svc.UpdateArticle(ctx, admin, a.ID, domain.Content{Summary: "x"}, []string{"summary"}, "")
		if diff := cmp.Diff([]string{"article.etag"}, violatedFields(t, err)); diff != "" {
			t.Errorf("violated fields (-want +got):\n%s", diff)
		}
	})
	t.Run("the etag changes with every write", func(t *testing.T) {
		got, err := f.svc.UpdateArticle(ctx, admin, a.ID, domain.Content{Summary: "x"}, []string{"summary"}, cur.Etag())
		wantCode(t, err, "")
		if got.Etag() == cur.Etag() || got.Etag() == stale {
			t.Errorf("etag after a write = %q, same as before", got.Etag())
		}
	})
}

// racingStore runs before once, just before the first UpdateArticle reaches the store: a
// concurrent writer that wins the race after the service has read the article.
type racingStore struct {
	*store.Store
	mu     sync.Mutex
	before func()
}

func (r *racingStore) UpdateArticle(ctx context.Context, prev, next *domain.Article) error {
	r.mu.Lock()
	before := r.before
	r.before = nil
	r.mu.Unlock()
	if before != nil {
		before()
	}
	return r.Store.UpdateArticle(ctx, prev, next)
}

func TestConcurrentWriteConflicts(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	tests := []struct {
		name string
		do   func(svc *domain.Service, a *domain.Article) (*domain.Article, error)
	}{
		{"update", func(svc *domain.Service, a *domain.Article) (*domain.Article, error) {
			return svc.UpdateArticle(ctx, admin, a.ID, domain.Content{Summary: "loser"}, []string{"summary"}, a.Etag())
		}},
		{"publish", func(svc *domain.Service, a *domain.Article) (*domain.Article, error) {
			return svc.PublishArticle(ctx, admin, a.ID, a.Etag())
		}},
		{"publish without etag", func(svc *domain.Service, a *domain.Article) (*domain.Article, error) {
			return svc.PublishArticle(ctx, admin, a.ID, "")
		}},
		{"delete", func(svc *domain.Service, a *domain.Article) (*domain.Article, error) {
			return svc.DeleteArticle(ctx, admin, a.ID, "")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := f.create(t, admin, draft("Race "+tt.name, "site-a"))
			var winner *domain.Article
			racing := &racingStore{Store: f.store, before: func() {
				var err error
				winner, err = f.svc.UpdateArticle(ctx, admin, a.ID, domain.Content{Summary: "winner"}, []string{"summary"}, a.Etag())
				wantCode(t, err, "")
			}}
			_, err := tt.do(f.serviceOn(racing), a)
			wantCode(t, err, apperr.Conflict)
			if diff := cmp.Diff(winner, f.get(t, a.ID), articleCmp...); diff != "" {
				t.Errorf("the losing write changed the article (-winner +stored):\n%s", diff)
			}
		})
	}
}

func TestUpdateArticle(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	full := validContent()
	full.TargetSites = []string{"site-a"}
	f.create(t, admin, draft("Taken title", "site-a"))

	tests := []struct {
		name       string
		patch      domain.Content
		fields     []string
		want       apperr.Code
		wantFields []string                // for Invalid
		wantDraft  func(c *domain.Content) // applied to the original draft
		wantChange []string                // LastChange.Fields
		check      func(t *testing.T, before, after *domain.Article)
	}{
		{
			name: "one field", patch: domain.Content{Summary: "New summary", Title: "ignored"}, fields: []string{"summary"},
			wantDraft: func(c *domain.Content) { c.Summary = "New summary" }, wantChange: []string{"summary"},
		},
		{
			name: "sub-field of seo", patch: domain.Content{SEO: domain.SEO{MetaTitle: "New meta", CanonicalURL: "ignored"}}, fields: []string{"seo.meta_title"},
			wantDraft: func(c *domain.Content) { c.SEO.MetaTitle = "New meta" }, wantChange: []string{"seo"},
		},
		{
			name: "labels are normalized", patch: domain.Content{Tags: []string{"New Tag", "new tag"}}, fields: []string{"tags"},
			wantDraft: func(c *domain.Content) { c.Tags = []string{"new tag"} }, wantChange: []string{"tags"},
		},
		{
			name: "no mask replaces everything and derives the slug again", patch: draft("Entirely new", "site-a", "site-b"), fields: nil,
			wantDraft: func(c *domain.Content) {
				*c = draft("Entirely new", "site-a", "site-b")
				c.Slug = "entirely-new"
			},
			wantChange: []string{"title", "slug", "summary", "body", "tags", "topics", "authors", "reviewers", "last_reviewed_date", "citations", "seo", "target_sites", "editor_notes"},
		},
		{
			name: "body change renders again", patch: domain.Content{Body: "# Heading one\n\ntext"}, fields: []string{"body"},
			wantDraft: func(c *domain.Content) { c.Body = "# Heading one\n\ntext" }, wantChange: []string{"body"},
			check: func(t *testing.T, before, after *domain.Article) {
				if after.Rendering.HTML == before.Rendering.HTML || !strings.Contains(after.Rendering.HTML, "Heading one") {
					t.Errorf("rendering not updated: %q", after.Rendering.HTML)
				}
			},
		},
		{
			name: "empty mask changes nothing", patch: draft("ignored"), fields: []string{},
			wantDraft: func(*domain.Content) {}, wantChange: nil,
		},
		{name: "unknown field", patch: domain.Content{Summary: "x"}, fields: []string{"summary", "colour"}, want: apperr.Invalid, wantFields: []string{"update_mask"}},
		{name: "output-only field", fields: []string{"state"}, want: apperr.Invalid, wantFields: []string{"update_mask"}},
		{name: "invalid value", patch: domain.Content{Title: "   "}, fields: []string{"title"}, want: apperr.Invalid, wantFields: []string{"article.title"}},
		{name: "cleared target sites", fields: []string{"target_sites"}, want: apperr.Invalid, wantFields: []string{"article.target_sites"}},
		{name: "unknown target site", patch: domain.Content{TargetSites: []string{"site-a", "nowhere"}}, fields: []string{"target_sites"}, want: apperr.Invalid, wantFields: []string{"article.target_sites[1]"}},
		{name: "slug taken", patch: domain.Content{Slug: "taken-title"}, fields: []string{"slug"}, want: apperr.AlreadyExists},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := full
			c.Title = "Update " + tt.name
			c.Slug = ""
			before := f.create(t, admin, c)
			after, err := f.svc.UpdateArticle(ctx, admin, before.ID, tt.patch, tt.fields, before.Etag())
			wantCode(t, err, tt.want)
			if tt.want != "" {
				if tt.want == apperr.Invalid {
					if diff := cmp.Diff(tt.wantFields, violatedFields(t, err)); diff != "" {
						t.Errorf("violated fields (-want +got):\n%s", diff)
					}
				}
				if got := f.get(t, before.ID); got.RevisionID != before.RevisionID {
					t.Errorf("refused update wrote revision %d", got.RevisionID)
				}
				return
			}
			wantDraft := before.Draft
			tt.wantDraft(&wantDraft)
			if diff := cmp.Diff(wantDraft, after.Draft, articleCmp...); diff != "" {
				t.Errorf("draft (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantChange, after.LastChange.Fields, articleCmp...); diff != "" {
				t.Errorf("LastChange.Fields (-want +got):\n%s", diff)
			}
			if after.RevisionID != before.RevisionID+1 || after.LastChange.Action != "update" || after.LastChange.Actor != admin.KeyName {
				t.Errorf("after update: revision %d action %q actor %q", after.RevisionID, after.LastChange.Action, after.LastChange.Actor)
			}
			if diff := cmp.Diff(after, f.get(t, before.ID), articleCmp...); diff != "" {
				t.Errorf("stored article (-returned +stored):\n%s", diff)
			}
			if tt.check != nil {
				tt.check(t, before, after)
			}
		})
	}
}

func TestSiteScoping(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	onlyA := f.create(t, admin, draft("Only A", "site-a"))
	onlyB := f.create(t, admin, draft("Only B", "site-b"))
	both := f.create(t, admin, draft("Both", "site-a", "site-b"))
	// moved was published on site-a and then moved to site-b: site-a still shows its snapshot.
	moved := f.publish(t, f.create(t, admin, draft("Moved", "site-a")))
	moved, err := f.svc.UpdateArticle(ctx, admin, moved.ID, domain.Content{TargetSites: []string{"site-b"}}, []string{"target_sites"}, moved.Etag())
	wantCode(t, err, "")

	later := t0.Add(time.Hour)
	tests := []struct {
		name string
		do   func(p auth.Principal) error
		want apperr.Code
	}{
		{"get own site's article", func(p auth.Principal) error { _, err := f.svc.GetArticle(ctx, p, onlyA.ID); return err }, ""},
		{"get other site's article", func(p auth.Principal) error { _, err := f.svc.GetArticle(ctx, p, onlyB.ID); return err }, apperr.NotFound},
		{"get shared article", func(p auth.Principal) error { _, err := f.svc.GetArticle(ctx, p, both.ID); return err }, ""},
		{"get article live on own site", func(p auth.Principal) error { _, err := f.svc.GetArticle(ctx, p, moved.ID); return err }, ""},
		{"get missing article", func(p auth.Principal) error { _, err := f.svc.GetArticle(ctx, p, "nope"); return err }, apperr.NotFound},
		{"revisions of other site's article", func(p auth.Principal) error {
			_, err := f.svc.ListRevisions(ctx, p, onlyB.ID, 0, 10)
			return err
		}, apperr.NotFound},
		{"revisions of shared article", func(p auth.Principal) error { _, err := f.svc.ListRevisions(ctx, p, both.ID, 0, 10); return err }, ""},
		{"update other site's article", func(p auth.Principal) error {
			_, err := f.svc.UpdateArticle(ctx, p, onlyB.ID, domain.Content{Summary: "x"}, []string{"summary"}, onlyB.Etag())
			return err
		}, apperr.NotFound},
		{"update shared article", func(p auth.Principal) error {
			_, err := f.svc.UpdateArticle(ctx, p, both.ID, domain.Content{Summary: "x"}, []string{"summary"}, both.Etag())
			return err
		}, apperr.PermissionDenied},
		{"update article live on own site", func(p auth.Principal) error {
			_, err := f.svc.UpdateArticle(ctx, p, moved.ID, domain.Content{Summary: "x"}, []string{"summary"}, moved.Etag())
			return err
		}, apperr.PermissionDenied},
		{"publish shared article", func(p auth.Principal) error { _, err := f.svc.PublishArticle(ctx, p, both.ID, ""); return err }, apperr.PermissionDenied},
		{"publish other site's article", func(p auth.Principal) error { _, err := f.svc.PublishArticle(ctx, p, onlyB.ID, ""); return err }, apperr.NotFound},
		{"schedule shared article", func(p auth.Principal) error {
			_, err := f.svc.ScheduleArticle(ctx, p, both.ID, later, "")
			return err
		}, apperr.PermissionDenied},
		{"archive shared article", func(p auth.Principal) error { _, err := f.svc.ArchiveArticle(ctx, p, both.ID, ""); return err }, apperr.PermissionDenied},
		{"delete shared article", func(p auth.Principal) error { _, err := f.svc.DeleteArticle(ctx, p, both.ID, ""); return err }, apperr.PermissionDenied},
		{"delete other site's article", func(p auth.Principal) error { _, err := f.svc.DeleteArticle(ctx, p, onlyB.ID, ""); return err }, apperr.NotFound},
		{"roll back shared article", func(p auth.Principal) error { _, err := f.svc.RollbackArticle(ctx, p, both.ID, 1, ""); return err }, apperr.PermissionDenied},
		{"roll back other site's article", func(p auth.Principal) error { _, err := f.svc.RollbackArticle(ctx, p, onlyB.ID, 1, ""); return err }, apperr.NotFound},
		{"create on other site", func(p auth.Principal) error {
			_, err := f.svc.CreateArticle(ctx, p, draft("New", "site-b"))
			return err
		}, apperr.PermissionDenied},
		{"create on own and other site", func(p auth.Principal) error {
			_, err := f.svc.CreateArticle(ctx, p, draft("New", "site-a", "site-b"))
			return err
		}, apperr.PermissionDenied},
		{"move own article to other site", func(p auth.Principal) error {
			_, err := f.svc.UpdateArticle(ctx, p, onlyA.ID, domain.Content{TargetSites: []string{"site-a", "site-b"}}, []string{"target_sites"}, onlyA.Etag())
			return err
		}, apperr.PermissionDenied},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantCode(t, tt.do(editorA), tt.want)
		})
	}
	for _, a := range []*domain.Article{onlyA, onlyB, both} {
		if got := f.get(t, a.ID); got.RevisionID != a.RevisionID {
			t.Errorf("%s was written (revision %d) by a refused call", a.Name(), got.RevisionID)
		}
	}

	t.Run("list articles", func(t *testing.T) {
		for _, tc := range []struct {
			p     auth.Principal
			sites []string
			want  []string
		}{
			// moved is listed on site-a too, as GetArticle shows it there: its snapshot is live on site-a.
			{editorA, nil, []string{onlyA.ID, both.ID, moved.ID}},
			{editorA, []string{"site-b"}, []string{onlyA.ID, both.ID, moved.ID}}, // a site key cannot widen its scope
			{editorB, nil, []string{onlyB.ID, both.ID, moved.ID}},
			{admin, nil, []string{onlyA.ID, onlyB.ID, both.ID, moved.ID}},
			{admin, []string{"site-a"}, []string{onlyA.ID, both.ID, moved.ID}},
		} {
			got, err := f.svc.ListArticles(ctx, tc.p, domain.ArticleQuery{Sites: tc.sites, OrderBy: domain.OrderCreateTime, Limit: 50})
			wantCode(t, err, "")
			var ids []string
			for _, a := range got {
				ids = append(ids, a.ID)
			}
			if diff := cmp.Diff(tc.want, ids, cmpopts.SortSlices(func(a, b string) bool { return a < b })); diff != "" {
				t.Errorf("%s, sites %v: listed (-want +got):\n%s", tc.p.KeyName, tc.sites, diff)
			}
		}
	})
}

func TestScheduleArticle(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	amsterdam := time.FixedZone("CET", 3600)
	tests := []struct {
		name      string
		at        time.Time
		deleted   bool
		published bool
		want      apperr.Code
		wantAt    time.Time
	}{
		{name: "zero time", at: time.Time{}, want: apperr.Invalid},
		{name: "now", at: t0, want: apperr.Invalid},
		{name: "in the past", at: t0.Add(-time.Second), want: apperr.Invalid},
		{name: "beyond five years", at: t0.AddDate(5, 0, 1), want: apperr.Invalid},
		{name: "in five years", at: t0.AddDate(5, 0, 0), wantAt: t0.AddDate(5, 0, 0)},
		{name: "in an hour, truncated to UTC milliseconds", at: t0.Add(time.Hour + 1234567*time.Nanosecond).In(amsterdam), wantAt: t0.Add(time.Hour + time.Millisecond)},
		{name: "published article keeps its snapshot until then", at: t0.Add(time.Hour), published: true, wantAt: t0.Add(time.Hour)},
		{name: "deleted article", at: t0.Add(time.Hour), deleted: true, want: apperr.FailedPrecondition},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := f.create(t, admin, draft("Schedule "+tt.name, "site-a"))
			if tt.published {
				a = f.publish(t, a)
			}
			if tt.deleted {
				var err error
				a, err = f.svc.DeleteArticle(ctx, admin, a.ID, "")
				wantCode(t, err, "")
			}
			got, err := f.svc.ScheduleArticle(ctx, admin, a.ID, tt.at, a.Etag())
			wantCode(t, err, tt.want)
			if tt.want == apperr.Invalid {
				if diff := cmp.Diff([]string{"publish_time"}, violatedFields(t, err)); diff != "" {
					t.Errorf("violated fields (-want +got):\n%s", diff)
				}
			}
			if tt.want != "" {
				return
			}
			if got.State != domain.StateScheduled || !got.ScheduledPublishTime.Equal(tt.wantAt) || got.ScheduledPublishTime.Location() != time.UTC {
				t.Errorf("after schedule: state %v time %v; want SCHEDULED %v", got.State, got.ScheduledPublishTime, tt.wantAt)
			}
			if tt.published {
				if diff := cmp.Diff(a.Published, got.Published, articleCmp...); diff != "" {
					t.Errorf("scheduling changed the live snapshot (-before +after):\n%s", diff)
				}
				if !got.Live() {
					t.Errorf("Live() = false for a scheduled article whose snapshot stays live until the publish time")
				}
			}
			stored := f.get(t, a.ID)
			if diff := cmp.Diff(got, stored, articleCmp...); diff != "" {
				t.Errorf("stored article (-returned +stored):\n%s", diff)
			}
		})
	}

	t.Run("unpublish cancels a schedule", func(t *testing.T) {
		a := f.create(t, admin, draft("Cancel schedule", "site-a"))
		s, err := f.svc.ScheduleArticle(ctx, admin, a.ID, t0.Add(time.Hour), "")
		wantCode(t, err, "")
		u, err := f.svc.UnpublishArticle(ctx, admin, a.ID, s.Etag())
		wantCode(t, err, "")
		if u.State != domain.StateDraft || !u.ScheduledPublishTime.IsZero() {
			t.Errorf("after unpublish: state %v scheduled %v", u.State, u.ScheduledPublishTime)
		}
	})
}

func TestPublishDueConcurrently(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	// A second replica: its own Store (the per-document locks are shared in the process, as on
	// one host) and its own Service.
	otherStore := store.New(f.db, f.locks, f.logger)
	other := f.serviceOn(otherStore)

	const due, notDue = 12, 3
	var dueIDs, notDueIDs []string
	for i := range due + notDue {
		c := draft("Scheduled "+string(rune('a'+i)), "site-a")
		c.EditorNotes = "notes"
		a := f.create(t, editorA, c)
		at := t0.Add(time.Duration(i+1) * time.Minute)
		if i >= due {
			at = t0.Add(time.Hour)
			notDueIDs = append(notDueIDs, a.ID)
		} else {
			dueIDs = append(dueIDs, a.ID)
		}
		if _, err := f.svc.ScheduleArticle(ctx, editorA, a.ID, at, a.Etag()); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := f.svc.PublishDue(ctx); err != nil || n != 0 {
		t.Fatalf("PublishDue before anything is due = %d, %v; want 0", n, err)
	}
	// The other replica starts now: its index holds the schedules.
	if err := otherStore.LoadIndex(ctx); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(30 * time.Minute)
	now := f.clock.Now()

	start := make(chan struct{})
	var wg sync.WaitGroup
	counts := make([]int, 2)
	errs := make([]error, 2)
	for i, svc := range []*domain.Service{f.svc, other} {
		wg.Go(func() {
			<-start
			counts[i], errs[i] = svc.PublishDue(ctx)
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("replica %d: PublishDue: %v", i, err)
		}
	}
	if counts[0]+counts[1] != due {
		t.Errorf("replicas published %d + %d articles, want %d in all", counts[0], counts[1], due)
	}
	for _, id := range dueIDs {
		a := f.get(t, id)
		if a.State != domain.StatePublished || a.Published == nil || !a.Published.PublishTime.Equal(now) || !a.ScheduledPublishTime.IsZero() {
			t.Errorf("due %s: state %v published %v scheduled %v", a.Name(), a.State, a.Published, a.ScheduledPublishTime)
			continue
		}
		if a.Published.Content.EditorNotes != "" || a.Published.RevisionID != a.RevisionID || a.RevisionID != 3 {
			t.Errorf("due %s: snapshot notes %q revision %d (article at %d, want 3)", a.Name(), a.Published.Content.EditorNotes, a.Published.RevisionID, a.RevisionID)
		}
		if a.LastChange.Actor != domain.SchedulerActor || a.LastChange.Action != "publish" {
			t.Errorf("due %s: last change %+v, want a publish by %s", a.Name(), a.LastChange, domain.SchedulerActor)
		}
		if diff := cmp.Diff([]string{"publish", "schedule", "create"}, f.actions(t, id)); diff != "" {
			t.Errorf("due %s: revision actions (-want +got):\n%s", a.Name(), diff)
		}
	}
	for _, id := range notDueIDs {
		if a := f.get(t, id); a.State != domain.StateScheduled || a.Published != nil {
			t.Errorf("not yet due %s: state %v published %v", a.Name(), a.State, a.Published)
		}
	}
	for i, svc := range []*domain.Service{f.svc, other} {
		if n, err := svc.PublishDue(ctx); err != nil || n != 0 {
			t.Errorf("replica %d: PublishDue again = %d, %v; want 0", i, n, err)
		}
	}
}

func TestRollbackArticle(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	v1 := draft("Rollback", "site-a")
	v1.Tags = []string{"one"}
	a := f.create(t, editorA, v1)
	rev1 := a.Draft
	a2, err := f.svc.UpdateArticle(ctx, editorA, a.ID, domain.Content{Summary: "second", Body: "## Second body", Tags: []string{"two"}}, []string{"summary", "body", "tags"}, a.Etag())
	wantCode(t, err, "")
	a3 := f.publish(t, a2)

	rb, err := f.svc.RollbackArticle(ctx, editorA, a.ID, 1, a3.Etag())
	wantCode(t, err, "")
	if diff := cmp.Diff(rev1, rb.Draft, articleCmp...); diff != "" {
		t.Errorf("draft after rollback to 1 (-revision 1 +got):\n%s", diff)
	}
	if diff := cmp.Diff(a.Rendering, rb.Rendering, articleCmp...); diff != "" {
		t.Errorf("rendering after rollback (-revision 1 +got):\n%s", diff)
	}
	if rb.RevisionID != 4 || rb.LastChange.Action != "rollback" || rb.State != domain.StatePublished {
		t.Errorf("after rollback: revision %d action %q state %v; want 4 rollback PUBLISHED", rb.RevisionID, rb.LastChange.Action, rb.State)
	}
	if diff := cmp.Diff([]string{"summary", "body", "tags"}, rb.LastChange.Fields); diff != "" {
		t.Errorf("rollback changed fields (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(a3.Published, rb.Published, articleCmp...); diff != "" {
		t.Errorf("rollback changed the live snapshot (-before +after):\n%s", diff)
	}
	revs, err := f.svc.ListRevisions(ctx, editorA, a.ID, 0, 10)
	wantCode(t, err, "")
	if len(revs) != 4 || revs[0].RevisionID != 4 {
		t.Fatalf("got %d revisions, newest %d; want 4", len(revs), revs[0].RevisionID)
	}
	if diff := cmp.Diff(rev1, revs[0].Content, articleCmp...); diff != "" {
		t.Errorf("revision 4 content (-revision 1 +got):\n%s", diff)
	}
	older, err := f.svc.ListRevisions(ctx, editorA, a.ID, 3, 10)
	wantCode(t, err, "")
	if len(older) != 2 || older[0].RevisionID != 2 || older[1].RevisionID != 1 {
		t.Errorf("revisions before 3: %v", older)
	}

	tests := []struct {
		name       string
		p          auth.Principal
		revision   int64
		etag       string
		want       apperr.Code
		wantFields []string
	}{
		{name: "revision 0", p: editorA, revision: 0, want: apperr.Invalid, wantFields: []string{"revision_id"}},
		{name: "negative revision", p: editorA, revision: -1, want: apperr.Invalid, wantFields: []string{"revision_id"}},
		{name: "missing revision", p: editorA, revision: 99, want: apperr.Invalid, wantFields: []string{"revision_id"}},
		{name: "stale etag", p: editorA, revision: 2, etag: a3.Etag(), want: apperr.Conflict},
		{name: "other site's key", p: editorB, revision: 2, want: apperr.NotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := f.svc.RollbackArticle(ctx, tt.p, a.ID, tt.revision, tt.etag)
			wantCode(t, err, tt.want)
			if tt.want == apperr.Invalid {
				if diff := cmp.Diff(tt.wantFields, violatedFields(t, err)); diff != "" {
					t.Errorf("violated fields (-want +got):\n%s", diff)
				}
			}
			if got := f.get(t, a.ID); got.RevisionID != rb.RevisionID {
				t.Errorf("refused rollback wrote revision %d", got.RevisionID)
			}
		})
	}
}

func TestChangedFields(t *testing.T) {
	base := validContent()
	tests := []struct {
		name   string
		change func(c *domain.Content)
		want   []string
	}{
		{"nothing", func(*domain.Content) {}, nil},
		{"nil and empty slices are equal", func(c *domain.Content) { *c = domain.Content{Tags: []string{}, Citations: []domain.Citation{}} }, nil},
		{"title", func(c *domain.Content) { c.Title = "x" }, []string{"title"}},
		{"slug", func(c *domain.Content) { c.Slug = "x" }, []string{"slug"}},
		{"summary", func(c *domain.Content) { c.Summary = "x" }, []string{"summary"}},
		{"body", func(c *domain.Content) { c.Body = "x" }, []string{"body"}},
		{"tag order", func(c *domain.Content) { c.Tags = []string{"withdrawal", "kratom"} }, []string{"tags"}},
		{"topics", func(c *domain.Content) { c.Topics = nil }, []string{"topics"}},
		{"author URL", func(c *domain.Content) {
			c.Authors = []domain.Person{{DisplayName: "Dr. A. Author", Credentials: "MD"}}
		}, []string{"authors"}},
		{"reviewer", func(c *domain.Content) { c.Reviewers[0].Credentials = "MD" }, []string{"reviewers"}},
		{"reviewed date", func(c *domain.Content) { c.LastReviewedDate.Day = 1 }, []string{"last_reviewed_date"}},
		{"citation", func(c *domain.Content) { c.Citations = append(slices.Clone(c.Citations), domain.Citation{Title: "B"}) }, []string{"citations"}},
		{"seo", func(c *domain.Content) { c.SEO.SocialImageURL = "" }, []string{"seo"}},
		{"target sites", func(c *domain.Content) { c.TargetSites = []string{"site-a"} }, []string{"target_sites"}},
		{"editor notes", func(c *domain.Content) { c.EditorNotes = "" }, []string{"editor_notes"}},
		{"everything", func(c *domain.Content) { *c = domain.Content{} }, []string{
			"title", "slug", "summary", "body", "tags", "topics", "authors", "reviewers",
			"last_reviewed_date", "citations", "seo", "target_sites", "editor_notes",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := validContent()
			tt.change(&b)
			a := base
			if tt.name == "nil and empty slices are equal" {
				a = domain.Content{}
			}
			if diff := cmp.Diff(tt.want, domain.ChangedFields(a, b)); diff != "" {
				t.Errorf("changedFields (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.want, domain.ChangedFields(b, a)); diff != "" {
				t.Errorf("changedFields reversed (-want +got):\n%s", diff)
			}
		})
	}
}
