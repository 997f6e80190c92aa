package api_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	contentv1 "github.com/beaconcms/beacon/gen/beacon/content/v1"
)

// rpcCase is one call: what it does, with which key, and the code it must end with. Each case
// creates the articles it needs (as admin), so that cases do not depend on each other.
type rpcCase struct {
	name   string
	key    string
	call   func(ctx context.Context, t *testing.T, e *env) error
	want   codes.Code
	fields []string // for InvalidArgument: the fields the BadRequest detail must name
}

func articleCases() []rpcCase {
	type call = func(context.Context, *testing.T, *env) error
	create := func(a *contentv1.Article) call {
		return func(ctx context.Context, _ *testing.T, e *env) error {
			if a != nil && a.Title == "" && a.Slug == "" {
				a.Title = e.title()
			}
			_, err := e.articles.CreateArticle(ctx, &contentv1.CreateArticleRequest{Article: a})
			return err
		}
	}
	onSites := func(sites ...string) *contentv1.Article { return &contentv1.Article{TargetSites: sites} }
	preview := func(a *contentv1.Article) call {
		return func(ctx context.Context, _ *testing.T, e *env) error {
			_, err := e.articles.PreviewArticle(ctx, &contentv1.PreviewArticleRequest{Article: a})
			return err
		}
	}
	get := func(sites ...string) call {
		return func(ctx context.Context, t *testing.T, e *env) error {
			_, err := e.articles.GetArticle(ctx, &contentv1.GetArticleRequest{Name: e.article(t, sites...).GetName()})
			return err
		}
	}
	getName := func(name string) call {
		return func(ctx context.Context, _ *testing.T, e *env) error {
			_, err := e.articles.GetArticle(ctx, &contentv1.GetArticleRequest{Name: name})
			return err
		}
	}
	list := func(req *contentv1.ListArticlesRequest) call {
		return func(ctx context.Context, _ *testing.T, e *env) error {
			_, err := e.articles.ListArticles(ctx, req)
			return err
		}
	}
	// update sets the summary of a new article on sites, changed by edit before the call.
	update := func(edit func(a *contentv1.Article, req *contentv1.UpdateArticleRequest), sites ...string) call {
		return func(ctx context.Context, t *testing.T, e *env) error {
			a := e.article(t, sites...)
			a.Summary = "Updated"
			req := &contentv1.UpdateArticleRequest{Article: a, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"summary"}}}
			if edit != nil {
				edit(a, req)
			}
			_, err := e.articles.UpdateArticle(ctx, req)
			return err
		}
	}
	// lifecycle runs op on a new article on site-a after the given admin actions; etag "stale"
	// sends a stale etag, "" the current one.
	type lifecycleReq struct{ name, etag string }
	lifecycle := func(op func(ctx context.Context, e *env, r lifecycleReq) error, etag string, sites []string, before ...string) call {
		return func(ctx context.Context, t *testing.T, e *env) error {
			a := e.article(t, sites...)
			stale := a.GetEtag()
			for _, action := range before {
				a = e.do(t, a, action)
			}
			r := lifecycleReq{name: a.GetName(), etag: a.GetEtag()}
			switch etag {
			case "stale":
				if len(before) == 0 {
					t.Fatal("no earlier etag to send")
				}
				r.etag = stale
			case "bad name":
				r.name = strings.TrimPrefix(a.GetName(), "articles/")
			}
			return op(ctx, e, r)
		}
	}
	siteA, siteB, sitesAB := []string{"site-a"}, []string{"site-b"}, []string{"site-a", "site-b"}
	del := func(ctx context.Context, e *env, r lifecycleReq) error {
		_, err := e.articles.DeleteArticle(ctx, &contentv1.DeleteArticleRequest{Name: r.name, Etag: r.etag})
		return err
	}
	undel := func(ctx context.Context, e *env, r lifecycleReq) error {
		_, err := e.articles.UndeleteArticle(ctx, &contentv1.UndeleteArticleRequest{Name: r.name})
		return err
	}
	pub := func(ctx context.Context, e *env, r lifecycleReq) error {
		_, err := e.articles.PublishArticle(ctx, &contentv1.PublishArticleRequest{Name: r.name, Etag: r.etag})
		return err
	}
	unpub := func(ctx context.Context, e *env, r lifecycleReq) error {
		_, err := e.articles.UnpublishArticle(ctx, &contentv1.UnpublishArticleRequest{Name: r.name, Etag: r.etag})
		return err
	}
	archive := func(ctx context.Context, e *env, r lifecycleReq) error {
		_, err := e.articles.ArchiveArticle(ctx, &contentv1.ArchiveArticleRequest{Name: r.name, Etag: r.etag})
		return err
	}
	schedule := func(at *timestamppb.Timestamp) func(context.Context, *env, lifecycleReq) error {
		return func(ctx context.Context, e *env, r lifecycleReq) error {
			_, err := e.articles.ScheduleArticle(ctx, &contentv1.ScheduleArticleRequest{Name: r.name, Etag: r.etag, PublishTime: at})
			return err
		}
	}
	revisions := func(req *contentv1.ListArticleRevisionsRequest) func(context.Context, *env, lifecycleReq) error {
		return func(ctx context.Context, e *env, r lifecycleReq) error {
			req.Name = r.name
			_, err := e.articles.ListArticleRevisions(ctx, req)
			return err
		}
	}
	rollback := func(revision int64) func(context.Context, *env, lifecycleReq) error {
		return func(ctx context.Context, e *env, r lifecycleReq) error {
			_, err := e.articles.RollbackArticle(ctx, &contentv1.RollbackArticleRequest{Name: r.name, Etag: r.etag, RevisionId: revision})
			return err
		}
	}
	future := timestamppb.New(time.Now().Add(24 * time.Hour))
	past := timestamppb.New(time.Now().Add(-time.Hour))

	return []rpcCase{
		{name: "CreateArticle", key: keyEditorA, call: create(onSites("sites/site-a")), want: codes.OK},
		{name: "CreateArticle by viewer", key: keyViewer, call: create(onSites("sites/site-a")), want: codes.PermissionDenied},
		{name: "CreateArticle by delivery key", key: keyDelivery, call: create(onSites("sites/site-a")), want: codes.PermissionDenied},
		{name: "CreateArticle without key", key: keyNone, call: create(onSites("sites/site-a")), want: codes.Unauthenticated},
		{name: "CreateArticle with unknown key", key: keyUnknown, call: create(onSites("sites/site-a")), want: codes.Unauthenticated},
		{name: "CreateArticle on foreign site", key: keyEditorA, call: create(onSites("sites/site-b")), want: codes.PermissionDenied},
		{name: "CreateArticle on own and foreign site", key: keyEditorA, call: create(onSites("sites/site-a", "sites/site-b")), want: codes.PermissionDenied},
		{name: "CreateArticle without article", key: keyEditorA, call: create(nil), want: codes.InvalidArgument, fields: []string{"article"}},
		{name: "CreateArticle bad site name", key: keyEditorA, call: create(onSites("site-a")), want: codes.InvalidArgument, fields: []string{"article.target_sites[0]"}},
		{name: "CreateArticle missing site", key: keyAdmin, call: create(onSites("sites/site-a", "sites/nowhere")), want: codes.InvalidArgument, fields: []string{"article.target_sites[1]"}},
		{name: "CreateArticle invalid fields", key: keyEditorA, call: create(&contentv1.Article{Slug: "ok", TargetSites: []string{"sites/site-a"},
			Citations: []*contentv1.Citation{{Title: "C", Doi: "nope"}}}), want: codes.InvalidArgument, fields: []string{"article.title", "article.citations[0].doi"}},
		{name: "CreateArticle slug clash", key: keyEditorA, call: func(ctx context.Context, t *testing.T, e *env) error {
			a := e.article(t, "site-a")
			_, err := e.articles.CreateArticle(ctx, &contentv1.CreateArticleRequest{Article: &contentv1.Article{Title: a.GetTitle(), TargetSites: []string{"sites/site-a"}}})
			return err
		}, want: codes.AlreadyExists},

		{name: "GetArticle", key: keyViewer, call: get("site-b"), want: codes.OK},
		{name: "GetArticle own site", key: keyEditorA, call: get("site-a"), want: codes.OK},
		{name: "GetArticle shared", key: keyEditorA, call: get("site-b", "site-a"), want: codes.OK},
		{name: "GetArticle foreign site", key: keyEditorA, call: get("site-b"), want: codes.NotFound},
		{name: "GetArticle missing", key: keyAdmin, call: getName("articles/nope"), want: codes.NotFound},
		{name: "GetArticle bad name", key: keyAdmin, call: getName("nope"), want: codes.InvalidArgument, fields: []string{"name"}},
		{name: "GetArticle name with a slash", key: keyAdmin, call: getName("articles/a/revisions/1"), want: codes.InvalidArgument, fields: []string{"name"}},
		{name: "GetArticle by delivery key", key: keyDelivery, call: get("site-a"), want: codes.PermissionDenied},
		{name: "GetArticle without key", key: keyNone, call: get("site-a"), want: codes.Unauthenticated},

		{name: "ListArticles", key: keyViewer, call: list(&contentv1.ListArticlesRequest{Filter: `state = DRAFT AND site = "site-a"`, OrderBy: "title desc"}), want: codes.OK},
		{name: "ListArticles bad filter", key: keyViewer, call: list(&contentv1.ListArticlesRequest{Filter: "$where = 1"}), want: codes.InvalidArgument, fields: []string{"filter"}},
		{name: "ListArticles unknown filter field", key: keyViewer, call: list(&contentv1.ListArticlesRequest{Filter: "colour = red"}), want: codes.InvalidArgument, fields: []string{"filter"}},
		{name: "ListArticles bad state", key: keyViewer, call: list(&contentv1.ListArticlesRequest{Filter: "state = LIVE"}), want: codes.InvalidArgument, fields: []string{"filter"}},
		{name: "ListArticles full view", key: keyViewer, call: list(&contentv1.ListArticlesRequest{View: contentv1.ArticleView_ARTICLE_VIEW_FULL}), want: codes.OK},
		{name: "ListArticles unknown view", key: keyViewer, call: list(&contentv1.ListArticlesRequest{View: contentv1.ArticleView(7)}), want: codes.InvalidArgument, fields: []string{"view"}},
		{name: "ListArticles bad order_by field", key: keyViewer, call: list(&contentv1.ListArticlesRequest{OrderBy: "slug"}), want: codes.InvalidArgument, fields: []string{"order_by"}},
		{name: "ListArticles bad order_by direction", key: keyViewer, call: list(&contentv1.ListArticlesRequest{OrderBy: "title sideways"}), want: codes.InvalidArgument, fields: []string{"order_by"}},
		{name: "ListArticles two order_by fields", key: keyViewer, call: list(&contentv1.ListArticlesRequest{OrderBy: "title, update_time"}), want: codes.InvalidArgument, fields: []string{"order_by"}},
		{name: "ListArticles bad page token", key: keyViewer, call: list(&contentv1.ListArticlesRequest{PageToken: "garbage"}), want: codes.InvalidArgument, fields: []string{"page_token"}},
		{name: "ListArticles negative page size", key: keyViewer, call: list(&contentv1.ListArticlesRequest{PageSize: -5}), want: codes.InvalidArgument, fields: []string{"page_size"}},
		{name: "ListArticles by delivery key", key: keyDelivery, call: list(&contentv1.ListArticlesRequest{}), want: codes.PermissionDenied},

		{name: "UpdateArticle", key: keyEditorA, call: update(nil, "site-a"), want: codes.OK},
		{name: "UpdateArticle stale etag", key: keyEditorA, call: update(func(a *contentv1.Article, _ *contentv1.UpdateArticleRequest) { a.Etag = "0123456789abcdef0123" }, "site-a"), want: codes.Aborted},
		{name: "UpdateArticle without etag", key: keyEditorA, call: update(func(a *contentv1.Article, _ *contentv1.UpdateArticleRequest) { a.Etag = "" }, "site-a"),
			want: codes.InvalidArgument, fields: []string{"article.etag"}},
		{name: "UpdateArticle bad name", key: keyEditorA, call: update(func(a *contentv1.Article, _ *contentv1.UpdateArticleRequest) { a.Name = "nope" }, "site-a"),
			want: codes.InvalidArgument, fields: []string{"article.name"}},
		{name: "UpdateArticle unknown mask path", key: keyEditorA, call: update(func(_ *contentv1.Article, r *contentv1.UpdateArticleRequest) { r.UpdateMask.Paths = []string{"colour"} }, "site-a"),
			want: codes.InvalidArgument, fields: []string{"update_mask"}},
		{name: "UpdateArticle invalid value", key: keyEditorA, call: update(func(a *contentv1.Article, r *contentv1.UpdateArticleRequest) {
			a.Summary = "bad\x01summary"
		}, "site-a"), want: codes.InvalidArgument, fields: []string{"article.summary"}},
		{name: "UpdateArticle without article", key: keyEditorA, call: func(ctx context.Context, _ *testing.T, e *env) error {
			_, err := e.articles.UpdateArticle(ctx, &contentv1.UpdateArticleRequest{})
			return err
		}, want: codes.InvalidArgument, fields: []string{"article"}},
		{name: "UpdateArticle by viewer", key: keyViewer, call: update(nil, "site-a"), want: codes.PermissionDenied},
		{name: "UpdateArticle foreign site", key: keyEditorA, call: update(nil, "site-b"), want: codes.NotFound},
		{name: "UpdateArticle shared with foreign site", key: keyEditorA, call: update(nil, "site-a", "site-b"), want: codes.PermissionDenied},
		{name: "UpdateArticle slug clash", key: keyEditorA, call: func(ctx context.Context, t *testing.T, e *env) error {
			taken := e.article(t, "site-a")
			return update(func(a *contentv1.Article, r *contentv1.UpdateArticleRequest) {
				a.Slug = taken.GetSlug()
				r.UpdateMask.Paths = []string{"slug"}
			}, "site-a")(ctx, t, e)
		}, want: codes.AlreadyExists},

		{name: "DeleteArticle", key: keyEditorA, call: lifecycle(del, "", siteA), want: codes.OK},
		{name: "DeleteArticle stale etag", key: keyEditorA, call: lifecycle(del, "stale", siteA, "publish"), want: codes.Aborted},
		{name: "DeleteArticle already deleted", key: keyEditorA, call: lifecycle(del, "", siteA, "delete"), want: codes.FailedPrecondition},
		{name: "DeleteArticle by viewer", key: keyViewer, call: lifecycle(del, "", siteA), want: codes.PermissionDenied},
		{name: "DeleteArticle foreign site", key: keyEditorA, call: lifecycle(del, "", siteB), want: codes.NotFound},
		{name: "DeleteArticle bad name", key: keyEditorA, call: lifecycle(del, "bad name", siteA), want: codes.InvalidArgument, fields: []string{"name"}},

		{name: "UndeleteArticle", key: keyEditorA, call: lifecycle(undel, "", siteA, "delete"), want: codes.OK},
		{name: "UndeleteArticle not deleted", key: keyEditorA, call: lifecycle(undel, "", siteA), want: codes.FailedPrecondition},
		{name: "UndeleteArticle by viewer", key: keyViewer, call: lifecycle(undel, "", siteA, "delete"), want: codes.PermissionDenied},
		{name: "UndeleteArticle foreign site", key: keyEditorA, call: lifecycle(undel, "", siteB, "delete"), want: codes.NotFound},
		{name: "UndeleteArticle bad name", key: keyEditorA, call: lifecycle(undel, "bad name", siteA, "delete"), want: codes.InvalidArgument, fields: []string{"name"}},

		{name: "PublishArticle", key: keyEditorA, call: lifecycle(pub, "", siteA), want: codes.OK},
		{name: "PublishArticle stale etag", key: keyEditorA, call: lifecycle(pub, "stale", siteA, "publish"), want: codes.Aborted},
		{name: "PublishArticle deleted", key: keyEditorA, call: lifecycle(pub, "", siteA, "delete"), want: codes.FailedPrecondition},
		{name: "PublishArticle foreign site", key: keyEditorA, call: lifecycle(pub, "", siteB), want: codes.NotFound},
		{name: "PublishArticle shared with foreign site", key: keyEditorA, call: lifecycle(pub, "", sitesAB), want: codes.PermissionDenied},
		{name: "PublishArticle by delivery key", key: keyDelivery, call: lifecycle(pub, "", siteA), want: codes.PermissionDenied},
		{name: "PublishArticle bad name", key: keyEditorA, call: lifecycle(pub, "bad name", siteA), want: codes.InvalidArgument, fields: []string{"name"}},

		{name: "UnpublishArticle", key: keyEditorA, call: lifecycle(unpub, "", siteA, "publish"), want: codes.OK},
		{name: "UnpublishArticle not published", key: keyEditorA, call: lifecycle(unpub, "", siteA), want: codes.FailedPrecondition},
		{name: "UnpublishArticle stale etag", key: keyEditorA, call: lifecycle(unpub, "stale", siteA, "publish"), want: codes.Aborted},
		{name: "UnpublishArticle by viewer", key: keyViewer, call: lifecycle(unpub, "", siteA, "publish"), want: codes.PermissionDenied},
		{name: "UnpublishArticle foreign site", key: keyEditorA, call: lifecycle(unpub, "", siteB, "publish"), want: codes.NotFound},

		{name: "ScheduleArticle", key: keyEditorA, call: lifecycle(schedule(future), "", siteA), want: codes.OK},
		{name: "ScheduleArticle in the past", key: keyEditorA, call: lifecycle(schedule(past), "", siteA), want: codes.InvalidArgument, fields: []string{"publish_time"}},
		{name: "ScheduleArticle without time", key: keyEditorA, call: lifecycle(schedule(nil), "", siteA), want: codes.InvalidArgument, fields: []string{"publish_time"}},
		{name: "ScheduleArticle invalid timestamp", key: keyEditorA, call: lifecycle(schedule(&timestamppb.Timestamp{Seconds: future.GetSeconds(), Nanos: -1}), "", siteA),
			want: codes.InvalidArgument, fields: []string{"publish_time"}},
		{name: "ScheduleArticle stale etag", key: keyEditorA, call: lifecycle(schedule(future), "stale", siteA, "publish"), want: codes.Aborted},
		{name: "ScheduleArticle deleted", key: keyEditorA, call: lifecycle(schedule(future), "", siteA, "delete"), want: codes.FailedPrecondition},
		{name: "ScheduleArticle by viewer", key: keyViewer, call: lifecycle(schedule(future), "", siteA), want: codes.PermissionDenied},
		{name: "ScheduleArticle foreign site", key: keyEditorA, call: lifecycle(schedule(future), "", siteB), want: codes.NotFound},

		{name: "ArchiveArticle", key: keyEditorA, call: lifecycle(archive, "", siteA, "publish"), want: codes.OK},
		{name: "ArchiveArticle already archived", key: keyEditorA, call: lifecycle(archive, "", siteA, "archive"), want: codes.FailedPrecondition},
		{name: "ArchiveArticle stale etag", key: keyEditorA, call: lifecycle(archive, "stale", siteA, "publish"), want: codes.Aborted},
		{name: "ArchiveArticle by viewer", key: keyViewer, call: lifecycle(archive, "", siteA), want: codes.PermissionDenied},
		{name: "ArchiveArticle foreign site", key: keyEditorA, call: lifecycle(archive, "", siteB), want: codes.NotFound},

		{name: "ListArticleRevisions", key: keyViewer, call: lifecycle(revisions(&contentv1.ListArticleRevisionsRequest{}), "", siteB, "publish"), want: codes.OK},
		{name: "ListArticleRevisions foreign site", key: keyEditorA, call: lifecycle(revisions(&contentv1.ListArticleRevisionsRequest{}), "", siteB), want: codes.NotFound},
		{name: "ListArticleRevisions bad name", key: keyViewer, call: lifecycle(revisions(&contentv1.ListArticleRevisionsRequest{}), "bad name", siteA), want: codes.InvalidArgument, fields: []string{"name"}},
		{name: "ListArticleRevisions bad page token", key: keyViewer, call: lifecycle(revisions(&contentv1.ListArticleRevisionsRequest{PageToken: "garbage"}), "", siteA),
			want: codes.InvalidArgument, fields: []string{"page_token"}},
		{name: "ListArticleRevisions negative page size", key: keyViewer, call: lifecycle(revisions(&contentv1.ListArticleRevisionsRequest{PageSize: -1}), "", siteA),
			want: codes.InvalidArgument, fields: []string{"page_size"}},
		{name: "ListArticleRevisions by delivery key", key: keyDelivery, call: lifecycle(revisions(&contentv1.ListArticleRevisionsRequest{}), "", siteA), want: codes.PermissionDenied},

		{name: "RollbackArticle", key: keyEditorA, call: lifecycle(rollback(1), "", siteA, "publish"), want: codes.OK},
		{name: "RollbackArticle revision 0", key: keyEditorA, call: lifecycle(rollback(0), "", siteA, "publish"), want: codes.InvalidArgument, fields: []string{"revision_id"}},
		{name: "RollbackArticle missing revision", key: keyEditorA, call: lifecycle(rollback(99), "", siteA, "publish"), want: codes.InvalidArgument, fields: []string{"revision_id"}},
		{name: "RollbackArticle stale etag", key: keyEditorA, call: lifecycle(rollback(1), "stale", siteA, "publish"), want: codes.Aborted},
		{name: "RollbackArticle by viewer", key: keyViewer, call: lifecycle(rollback(1), "", siteA, "publish"), want: codes.PermissionDenied},
		{name: "RollbackArticle foreign site", key: keyEditorA, call: lifecycle(rollback(1), "", siteB, "publish"), want: codes.NotFound},
		{name: "RollbackArticle bad name", key: keyEditorA, call: lifecycle(rollback(1), "bad name", siteA, "publish"), want: codes.InvalidArgument, fields: []string{"name"}},

		{name: "PreviewArticle", key: keyEditorA, call: preview(&contentv1.Article{Title: "Draft", Body: "# Hi", TargetSites: []string{"sites/site-a"}}), want: codes.OK},
		{name: "PreviewArticle without a title or site", key: keyEditorA, call: preview(&contentv1.Article{Body: "Hi"}), want: codes.OK},
		{name: "PreviewArticle no article", key: keyEditorA, call: preview(nil), want: codes.InvalidArgument, fields: []string{"article"}},
		{name: "PreviewArticle body too complex", key: keyEditorA, call: preview(&contentv1.Article{Body: strings.Repeat(">", 5000) + " x"}),
			want: codes.InvalidArgument, fields: []string{"article.body"}},
		{name: "PreviewArticle foreign site", key: keyEditorA, call: preview(&contentv1.Article{TargetSites: []string{"sites/site-b"}}), want: codes.PermissionDenied},
		{name: "PreviewArticle by viewer", key: keyViewer, call: preview(&contentv1.Article{TargetSites: []string{"sites/site-a"}}), want: codes.PermissionDenied},
		{name: "PreviewArticle by delivery key", key: keyDelivery, call: preview(&contentv1.Article{TargetSites: []string{"sites/site-a"}}), want: codes.PermissionDenied},
	}
}

func TestRPCs(t *testing.T) {
	e := newEnv(t)
	for _, tt := range articleCases() {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call(as(t.Context(), tt.key), t, e)
			st := status.Convert(err)
			if st.Code() != tt.want {
				t.Fatalf("code = %v (%q), want %v", st.Code(), st.Message(), tt.want)
			}
			if diff := cmp.Diff(tt.fields, badRequestFields(err)); diff != "" {
				t.Errorf("BadRequest field violations (-want +got):\n%s", diff)
			}
			for _, f := range tt.fields {
				if !strings.Contains(st.Message(), f) {
					t.Errorf("message %q does not name %s", st.Message(), f)
				}
			}
		})
	}

	// The table covers every method of the article service (the site service's own table is in
	// services/sites/internal/api).
	var want []string
	for _, m := range methodNames(contentv1.ArticleService_ServiceDesc.Methods) {
		want = append(want, "/"+contentv1.ArticleService_ServiceDesc.ServiceName+"/"+m)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, m := range want {
		if !e.called[m] {
			t.Errorf("no case calls %s", m)
		}
	}
}
