package main_test

import (
	"net/url"
	"strings"
	"testing"
	"time"
)

// TestSiteSoftDelete drives a site's soft delete through the real REST edge of `beacon dev`:
// while the site is deleted its API keys are refused, its articles are gone from delivery
// (article, list, sitemap) and from site-scoped lists, nothing can be written toward it and its
// id cannot be taken by a new site; the undelete brings everything back as it was.
func TestSiteSoftDelete(t *testing.T) {
	in := startDev(t, t.TempDir())
	admin := in.adminKey

	in.call(t, admin, "POST", "/v1/sites?siteId=gone-site", map[string]any{
		"displayName": "Gone Site", "baseUrl": "https://gone.example.org", "public": true,
	}).must(t, 200)
	editor := in.call(t, admin, "POST", "/v1/apiKeys", map[string]any{"displayName": "gone editor", "role": "ROLE_EDITOR", "site": "sites/gone-site"}).must(t, 200).str("secret")

	t.Run("no key for a site that does not exist", func(t *testing.T) {
		r := in.call(t, admin, "POST", "/v1/apiKeys", map[string]any{"displayName": "nowhere", "role": "ROLE_EDITOR", "site": "sites/no-such-site"}).must(t, 400)
		if !strings.Contains(string(r.raw), "api_key.site") || !strings.Contains(r.str("message"), "does not exist") {
			t.Errorf("refusal %s does not name api_key.site", r.raw)
		}
	})

	article := in.call(t, editor, "POST", "/v1/articles", map[string]any{
		"title": "Going away for a while", "body": "Body.", "targetSites": []string{"sites/gone-site"},
	}).must(t, 200)
	name := article.str("name")
	in.call(t, editor, "POST", "/v1/"+name+":publish", map[string]any{}).must(t, 200)
	slug := article.str("slug")
	articlePath := "/v1/sites/gone-site/articles/" + slug
	if status, _, body := in.get(t, "", articlePath); status != 200 {
		t.Fatalf("GET %s = %d %s before the delete", articlePath, status, body)
	}
	siteFilter := "/v1/articles?filter=" + url.QueryEscape(`site = "gone-site"`)
	if arts, _ := in.call(t, admin, "GET", siteFilter, nil).must(t, 200).body["articles"].([]any); len(arts) != 1 {
		t.Fatalf("site-scoped list holds %d articles before the delete, want 1", len(arts))
	}

	deleted := in.call(t, admin, "DELETE", "/v1/sites/gone-site", nil).must(t, 200)
	if deleted.str("deleteTime") == "" {
		t.Fatalf("DELETE answered %s, want the site with deleteTime", deleted.raw)
	}

	t.Run("while deleted", func(t *testing.T) {
		in.call(t, editor, "GET", "/v1/articles", nil).must(t, 401)
		for _, path := range []string{articlePath, "/v1/sites/gone-site/articles", "/v1/sites/gone-site/sitemap.xml"} {
			if status, _, body := in.get(t, "", path); status != 404 {
				t.Errorf("GET %s = %d %s, want 404 while the site is deleted", path, status, body)
			}
		}
		if arts, _ := in.call(t, admin, "GET", siteFilter, nil).must(t, 200).body["articles"].([]any); len(arts) != 0 {
			t.Errorf("site-scoped list holds %d articles while the site is deleted", len(arts))
		}
		if got := in.call(t, admin, "GET", "/v1/sites/gone-site", nil).must(t, 200); got.str("deleteTime") == "" {
			t.Errorf("GET of a deleted site = %s, want it with deleteTime", got.raw)
		}
		listed := in.call(t, admin, "GET", "/v1/sites", nil).must(t, 200)
		if strings.Contains(string(listed.raw), "sites/gone-site") {
			t.Errorf("ListSites shows the deleted site: %s", listed.raw)
		}
		if all := in.call(t, admin, "GET", "/v1/sites?showDeleted=true", nil).must(t, 200); !strings.Contains(string(all.raw), "sites/gone-site") {
			t.Errorf("ListSites with showDeleted misses the deleted site: %s", all.raw)
		}
		r := in.call(t, admin, "POST", "/v1/sites?siteId=gone-site", map[string]any{"displayName": "Impostor", "baseUrl": "https://impostor.example.org"}).must(t, 409)
		if !strings.Contains(r.str("message"), "undelete") {
			t.Errorf("re-creating the id: %s, want a hint to undelete", r.raw)
		}
		r = in.call(t, admin, "POST", "/v1/articles", map[string]any{"title": "Toward a deleted site", "targetSites": []string{"sites/gone-site"}}).must(t, 400)
		if !strings.Contains(string(r.raw), "article.target_sites[0]") {
			t.Errorf("writing toward a deleted site: %s, want the field named", r.raw)
		}
		in.call(t, admin, "POST", "/v1/apiKeys", map[string]any{"displayName": "late", "role": "ROLE_EDITOR", "site": "sites/gone-site"}).must(t, 400)
	})

	in.call(t, admin, "POST", "/v1/sites/gone-site:undelete", map[string]any{}).must(t, 200)

	t.Run("after the undelete", func(t *testing.T) {
		in.call(t, editor, "GET", "/v1/articles", nil).must(t, 200)
		eventually(t, 5*time.Second, func() string {
			if status, _, body := in.get(t, "", articlePath); status != 200 {
				return "GET " + articlePath + " = " + string(body)
			}
			return ""
		})
		if arts, _ := in.call(t, editor, "GET", "/v1/articles", nil).must(t, 200).body["articles"].([]any); len(arts) != 1 {
			t.Errorf("the editor lists %d articles after the undelete, want its 1", len(arts))
		}
	})
}
