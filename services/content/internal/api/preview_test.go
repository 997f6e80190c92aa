package api_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/testing/protocmp"

	contentv1 "github.com/beaconcms/beacon/gen/beacon/content/v1"
)

// TestPreviewArticle: a preview renders and lints an unsaved draft exactly as a create of the
// same draft does, stores nothing, checks only what bounds its work, and is refused to a viewer
// and to a key for another site.
func TestPreviewArticle(t *testing.T) {
	e := newEnv(t)
	draft := func() *contentv1.Article {
		return &contentv1.Article{
			Title: "Sleep after stopping", Body: "## Sleep\n\nJunkies sleep badly. Sleep usually improves within a week or two.",
			TargetSites: []string{"sites/site-a"},
			Reviewers:   []*contentv1.Reviewer{{DisplayName: "Dr. Rev", Credentials: "MD", Role: contentv1.Reviewer_ROLE_CLINICAL}},
			Acknowledgements: []*contentv1.LintAcknowledgement{{RuleId: "number-needs-citation", Match: "within a week or two",
				Reviewer: "Dr. Rev", Reason: "general experience"}},
		}
	}
	admin := as(t.Context(), keyAdmin)
	preview, err := e.articles.PreviewArticle(as(t.Context(), keyEditorA), &contentv1.PreviewArticleRequest{Article: draft()})
	if err != nil {
		t.Fatal(err)
	}
	list, err := e.articles.ListArticles(admin, &contentv1.ListArticlesRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(list.GetArticles()); n != 0 {
		t.Fatalf("a preview stored %d articles", n)
	}
	created, err := e.articles.CreateArticle(admin, &contentv1.CreateArticleRequest{Article: draft()})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(created.GetRendering(), preview.GetRendering(), protocmp.Transform()); diff != "" {
		t.Errorf("rendering (-create +preview):\n%s", diff)
	}
	if diff := cmp.Diff(created.GetLintFindings(), preview.GetLintFindings(), protocmp.Transform()); diff != "" {
		t.Errorf("lint findings (-create +preview):\n%s", diff)
	}
	if fs := preview.GetLintFindings(); len(fs) != 2 || fs[0].GetRuleId() != "stigmatising-term" || !fs[1].GetAcknowledged() {
		t.Errorf("findings %v: want the stigmatising term and the acknowledged warning", fs)
	}
	if toc := preview.GetRendering().GetTableOfContents(); len(toc) != 1 || toc[0].GetText() != "Sleep" {
		t.Errorf("toc %v", toc)
	}

	tests := []struct {
		name    string
		key     string
		article *contentv1.Article
		code    codes.Code
		field   string // in the message
	}{
		{"untitled draft without sites", keyEditorA, &contentv1.Article{Body: "Hello."}, codes.OK, ""},
		{"no article", keyAdmin, nil, codes.InvalidArgument, "article"},
		{"body too complex", keyAdmin, &contentv1.Article{Body: strings.Repeat(">", 5000) + " x"}, codes.InvalidArgument, "article.body"},
		{"title too long", keyAdmin, &contentv1.Article{Title: strings.Repeat("t", 201)}, codes.InvalidArgument, "article.title"},
		{"bad site name", keyAdmin, &contentv1.Article{TargetSites: []string{"site-a"}}, codes.InvalidArgument, "article.target_sites[0]"},
		{"another site", keyEditorA, &contentv1.Article{TargetSites: []string{"sites/site-b"}}, codes.PermissionDenied, "site-b"},
		{"viewer", keyViewer, draft(), codes.PermissionDenied, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.articles.PreviewArticle(as(t.Context(), tt.key), &contentv1.PreviewArticleRequest{Article: tt.article})
			if status.Code(err) != tt.code || !strings.Contains(status.Convert(err).Message(), tt.field) {
				t.Fatalf("%v, want %v naming %q", err, tt.code, tt.field)
			}
		})
	}
}
