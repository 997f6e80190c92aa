package api_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	contentv1 "github.com/beaconcms/beacon/gen/beacon/content/v1"
)

// A list returns basic views by default (AIP-157): every field of the article but the body,
// rendering, citations, SEO and editor notes, of the draft and, for a key that sees only the live
// snapshot, of the snapshot; the full view returns what GetArticle does.
func TestListArticlesViews(t *testing.T) {
	e := newEnv(t)
	ctx := as(t.Context(), keyAdmin)
	a := e.article(t, "site-a")
	a.Body = "# Heading\n\nText of the body."
	a.EditorNotes = "Check the dose table."
	a.Citations = []*contentv1.Citation{{Title: "A source", Url: "https://example.org/source"}}
	a.Seo = &contentv1.Seo{MetaTitle: "Meta"}
	a.Authors = []*contentv1.Person{{DisplayName: "Dr. Example", Credentials: "MD"}}
	a, err := e.articles.UpdateArticle(ctx, &contentv1.UpdateArticleRequest{Article: a, UpdateMask: &fieldmaskpb.FieldMask{
		Paths: []string{"body", "editor_notes", "citations", "seo", "authors"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	a = e.do(t, a, "publish")
	full, err := e.articles.GetArticle(ctx, &contentv1.GetArticleRequest{Name: a.GetName()})
	if err != nil {
		t.Fatal(err)
	}
	wantBasic := proto.Clone(full).(*contentv1.Article)
	wantBasic.Body, wantBasic.EditorNotes, wantBasic.Citations, wantBasic.Seo, wantBasic.Rendering = "", "", nil, nil, nil

	for _, tc := range []struct {
		view contentv1.ArticleView
		want *contentv1.Article
	}{
		{contentv1.ArticleView_ARTICLE_VIEW_UNSPECIFIED, wantBasic},
		{contentv1.ArticleView_ARTICLE_VIEW_BASIC, wantBasic},
		{contentv1.ArticleView_ARTICLE_VIEW_FULL, full},
	} {
		t.Run(tc.view.String(), func(t *testing.T) {
			resp, err := e.articles.ListArticles(ctx, &contentv1.ListArticlesRequest{Filter: `site = "site-a"`, View: tc.view, PageSize: 100})
			if err != nil {
				t.Fatal(err)
			}
			var got *contentv1.Article
			for _, item := range resp.GetArticles() {
				if item.GetName() == a.GetName() {
					got = item
				}
			}
			if diff := cmp.Diff(tc.want, got, protocmp.Transform()); diff != "" {
				t.Errorf("listed article (-want +got):\n%s", diff)
			}
		})
	}
}
