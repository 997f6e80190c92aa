package api_test

import (
	"context"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	contentv1 "github.com/beaconcms/beacon/gen/beacon/content/v1"
)

// Through the API: an article live on site-a whose draft an admin moved to site-b only. A site-a
// key sees the live snapshot only (live_snapshot_only, no editor notes, the live title) and can
// neither take it down nor change it.
func TestLiveSnapshotOnlyThroughTheAPI(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	a := e.do(t, e.article(t, "site-a"), "publish")
	liveTitle := a.GetTitle()
	moved, err := e.articles.UpdateArticle(as(ctx, keyAdmin), &contentv1.UpdateArticleRequest{
		Article:    &contentv1.Article{Name: a.GetName(), Etag: a.GetEtag(), Title: "Moved away", TargetSites: []string{"sites/site-b"}, EditorNotes: "B only"},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"title", "target_sites", "editor_notes"}},
	})
	if err != nil {
		t.Fatal(err)
	}

	got, err := e.articles.GetArticle(as(ctx, keyEditorA), &contentv1.GetArticleRequest{Name: a.GetName()})
	if err != nil {
		t.Fatal(err)
	}
	if !got.GetLiveSnapshotOnly() || got.GetTitle() != liveTitle || got.GetEditorNotes() != "" ||
		got.GetState() != contentv1.Article_STATE_PUBLISHED || got.GetCreator() != "" || got.GetTargetSites()[0] != "sites/site-a" {
		t.Errorf("site-a view = %v; want the live snapshot only", got)
	}
	full, err := e.articles.GetArticle(as(ctx, keyAdmin), &contentv1.GetArticleRequest{Name: a.GetName()})
	if err != nil {
		t.Fatal(err)
	}
	if full.GetLiveSnapshotOnly() || full.GetEditorNotes() != "B only" {
		t.Errorf("admin view = %v; want the whole article", full)
	}

	list, err := e.articles.ListArticles(as(ctx, keyEditorA), &contentv1.ListArticlesRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.GetArticles()) != 1 || !list.GetArticles()[0].GetLiveSnapshotOnly() || list.GetArticles()[0].GetTitle() != liveTitle {
		t.Errorf("site-a list = %v; want the live snapshot only", list.GetArticles())
	}
	revs, err := e.articles.ListArticleRevisions(as(ctx, keyEditorA), &contentv1.ListArticleRevisionsRequest{Name: a.GetName()})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range revs.GetRevisions() {
		if r.GetSnapshot().GetEditorNotes() == "B only" {
			t.Errorf("site-a key lists revision %d of the site-b draft", r.GetRevisionId())
		}
	}

	_, err = e.articles.UnpublishArticle(as(ctx, keyEditorA), &contentv1.UnpublishArticleRequest{Name: a.GetName(), Etag: got.GetEtag()})
	if status.Code(err) != codes.PermissionDenied {
		t.Errorf("site-a key unpublishing: %v, want PermissionDenied", err)
	}
	after, err := e.articles.GetArticle(as(ctx, keyAdmin), &contentv1.GetArticleRequest{Name: a.GetName()})
	if err != nil {
		t.Fatal(err)
	}
	if after.GetEtag() != moved.GetEtag() {
		t.Errorf("a refused call changed the article")
	}
}
