package api_test

import (
	"context"
	"sync"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	contentv1 "github.com/beaconcms/beacon/gen/beacon/content/v1"
	sitesv1 "github.com/beaconcms/beacon/gen/beacon/sites/v1"
)

// TestDeleteSiteRacesCreateArticle is the regression test of the orphan defect: DeleteSite and
// CreateArticle (then publish) run at once. Whatever the interleaving, no article can go live on
// another site of the same id, because a deleted site's id is never reused; an article that won
// the race stays hidden from the site's lists while the site is deleted and comes back with the
// undelete.
func TestDeleteSiteRacesCreateArticle(t *testing.T) {
	e := newEnv(t)
	ctx := as(t.Context(), keyAdmin)
	const trials = 8
	created := 0
	for i := range trials {
		site := "racy-" + string(rune('a'+i))
		e.createSite(t, site)
		var (
			wg         sync.WaitGroup
			deleteErr  error
			article    *contentv1.Article
			articleErr error
		)
		wg.Go(func() {
			_, deleteErr = e.sites.DeleteSite(ctx, &sitesv1.DeleteSiteRequest{Name: "sites/" + site})
		})
		wg.Go(func() {
			article, articleErr = e.articles.CreateArticle(ctx, &contentv1.CreateArticleRequest{Article: &contentv1.Article{
				Title: "Racing " + site, Body: "Body.", TargetSites: []string{"sites/" + site},
			}})
			if articleErr == nil {
				_, articleErr = e.articles.PublishArticle(ctx, &contentv1.PublishArticleRequest{Name: article.GetName()})
			}
		})
		wg.Wait()
		if deleteErr != nil {
			t.Fatalf("DeleteSite: %v", deleteErr)
		}
		if articleErr != nil && status.Code(articleErr) != codes.FailedPrecondition {
			t.Fatalf("CreateArticle/PublishArticle lost the race with %v, want FailedPrecondition", articleErr)
		}

		// The id stays taken: no new site can inherit an orphan.
		_, err := e.sites.CreateSite(ctx, &sitesv1.CreateSiteRequest{SiteId: site, Site: &sitesv1.Site{DisplayName: "Impostor", BaseUrl: "https://impostor.example.org"}})
		if status.Code(err) != codes.AlreadyExists {
			t.Fatalf("CreateSite(%s) after its delete = %v, want AlreadyExists", site, err)
		}
		if got := e.siteArticles(t, site); len(got) != 0 {
			t.Errorf("%s is deleted but lists %v", site, got)
		}
		if _, err := e.sites.UndeleteSite(ctx, &sitesv1.UndeleteSiteRequest{Name: "sites/" + site}); err != nil {
			t.Fatal(err)
		}
		if article != nil {
			created++
			if got := e.siteArticles(t, site); len(got) != 1 || got[0] != article.GetName() {
				t.Errorf("after the undelete %s lists %v, want %s back", site, got, article.GetName())
			}
		}
	}
	t.Logf("%d of %d articles were created before their site's delete", created, trials)
}

// siteArticles lists, as admin, the names of the articles on one site (filter site = id).
func (e *env) siteArticles(tb testing.TB, site string) []string {
	tb.Helper()
	resp, err := e.articles.ListArticles(as(context.Background(), keyAdmin), &contentv1.ListArticlesRequest{
		Filter: `site = "` + site + `"`, PageSize: 100,
	})
	if err != nil {
		tb.Fatalf("ListArticles(site %s): %v", site, err)
	}
	var names []string
	for _, a := range resp.GetArticles() {
		names = append(names, a.GetName())
	}
	return names
}
