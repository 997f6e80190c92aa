package api_test

import (
	"slices"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	contentv1 "github.com/beaconcms/beacon/gen/beacon/content/v1"
)

// TestListArticlesByTitle: the filter title:"text" lists the articles whose title contains the
// text in any case, for an all-sites key (the index) and a site key (its scoped list) alike, and
// beside other conditions; title accepts no other operator.
func TestListArticlesByTitle(t *testing.T) {
	e := newEnv(t)
	admin := as(t.Context(), keyAdmin)
	for _, a := range []*contentv1.Article{
		{Title: "Kratom withdrawal", TargetSites: []string{"sites/site-a"}},
		{Title: "Sleep after KRATOM", TargetSites: []string{"sites/site-a"}, Tags: []string{"sleep"}},
		{Title: "Kratom on site B", TargetSites: []string{"sites/site-b"}},
		{Title: "Opioids (and kratom?)", TargetSites: []string{"sites/site-a"}},
		{Title: "Something else", TargetSites: []string{"sites/site-a"}},
	} {
		if _, err := e.articles.CreateArticle(admin, &contentv1.CreateArticleRequest{Article: a}); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		key    string
		filter string
		want   []string
	}{
		{keyAdmin, `title:"kratom"`, []string{"Kratom on site B", "Kratom withdrawal", "Opioids (and kratom?)", "Sleep after KRATOM"}},
		{keyAdmin, `title:KRATOM AND tag = "sleep"`, []string{"Sleep after KRATOM"}},
		{keyAdmin, `title:"(and kratom?)"`, []string{"Opioids (and kratom?)"}},
		{keyAdmin, `title:".*"`, nil},
		{keyEditorA, `title:"kratom"`, []string{"Kratom withdrawal", "Opioids (and kratom?)", "Sleep after KRATOM"}},
		{keyViewer, `title:"ELSE"`, []string{"Something else"}},
	}
	for _, tt := range tests {
		t.Run(tt.key+" "+tt.filter, func(t *testing.T) {
			resp, err := e.articles.ListArticles(as(t.Context(), tt.key), &contentv1.ListArticlesRequest{Filter: tt.filter, OrderBy: "title"})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, a := range resp.GetArticles() {
				got = append(got, a.GetTitle())
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("titles %q, want %q", got, tt.want)
			}
		})
	}
	_, err := e.articles.ListArticles(admin, &contentv1.ListArticlesRequest{Filter: `title = "Kratom withdrawal"`})
	if status.Code(err) != codes.InvalidArgument || !strings.Contains(status.Convert(err).Message(), `use title:"text" (contains)`) {
		t.Errorf("title = x: %v", err)
	}
}
