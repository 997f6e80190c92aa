package main_test

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"
)

// get sends a GET with optional key and extra headers and returns status, headers and body.
func (in *instance) get(tb testing.TB, key, path string, headers ...string) (int, http.Header, []byte) {
	tb.Helper()
	req, err := http.NewRequest("GET", in.restURL+path, nil)
	if err != nil {
		tb.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		tb.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, body
}

// eventually polls check every 100 ms until it returns "" or the timeout passes.
func eventually(tb testing.TB, timeout time.Duration, check func() string) {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	for {
		msg := check()
		if msg == "" {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("after %s: %s", timeout, msg)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestDelivery(t *testing.T) {
	in := startDev(t, t.TempDir())
	admin := in.adminKey
	const draftMarker = "DRAFT-ONLY-7f3a9c"

	// A private site B with its own delivery key, and a delivery key for the public demo site A.
	in.call(t, admin, "POST", "/v1/sites?siteId=private-b", map[string]any{"displayName": "Private B", "baseUrl": "https://b.example.org"}).must(t, 200)
	deliveryA := in.call(t, admin, "POST", "/v1/apiKeys", map[string]any{"displayName": "A frontend", "role": "ROLE_DELIVERY", "site": "sites/kratom-help"}).must(t, 200).str("secret")
	deliveryB := in.call(t, admin, "POST", "/v1/apiKeys", map[string]any{"displayName": "B frontend", "role": "ROLE_DELIVERY", "site": "sites/private-b"}).must(t, 200).str("secret")

	created := in.call(t, admin, "POST", "/v1/articles", map[string]any{
		"title":       "Zebrafish sleep research and kratom",
		"slug":        "zebrafish-sleep",
		"summary":     "A published summary.",
		"body":        "## Findings\n\nPublished body text about tolerance.",
		"tags":        []string{"research"},
		"targetSites": []string{"sites/kratom-help"},
		"editorNotes": draftMarker + " in editor notes",
	}).must(t, 200)
	name := created.str("name")
	path := "/v1/sites/kratom-help/articles/zebrafish-sleep"

	t.Run("a draft is not delivered", func(t *testing.T) {
		if status, _, _ := in.get(t, "", path); status != 404 {
			t.Fatalf("draft article: status %d, want 404", status)
		}
	})

	published := in.call(t, admin, "POST", "/v1/"+name+":publish", map[string]any{}).must(t, 200)
	var firstETag string
	t.Run("publish makes it visible at once", func(t *testing.T) {
		status, hdr, body := in.get(t, "", path)
		if status != 200 {
			t.Fatalf("status %d: %s", status, body)
		}
		firstETag = hdr.Get("ETag")
		if !strings.HasPrefix(firstETag, `"`) || strings.HasPrefix(firstETag, "W/") {
			t.Errorf("ETag %q is not a strong ETag", firstETag)
		}
		if cc := hdr.Get("Cache-Control"); cc != "public, max-age=60, stale-while-revalidate=300" {
			t.Errorf("Cache-Control = %q", cc)
		}
		if sk := hdr.Get("Surrogate-Key"); !strings.Contains(sk, "site-kratom-help") || !strings.Contains(sk, "article-"+strings.TrimPrefix(name, "articles/")) {
			t.Errorf("Surrogate-Key = %q", sk)
		}
		for _, want := range []string{`"html":`, "MedicalWebPage", "Published body text"} {
			if !bytes.Contains(body, []byte(want)) {
				t.Errorf("article JSON lacks %q: %s", want, body)
			}
		}
	})

	t.Run("304 for a matching If-None-Match", func(t *testing.T) {
		status, hdr, body := in.get(t, "", path, "If-None-Match", firstETag)
		if status != 304 || len(body) != 0 || hdr.Get("ETag") != firstETag {
			t.Fatalf("status %d, %d body bytes, ETag %q; want 304, empty, %q", status, len(body), hdr.Get("ETag"), firstETag)
		}
	})

	t.Run("gzip when accepted", func(t *testing.T) {
		req, _ := http.NewRequest("GET", in.restURL+path, nil)
		req.Header.Set("Accept-Encoding", "gzip")
		resp, err := (&http.Transport{DisableCompression: true}).RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.Header.Get("Content-Encoding") != "gzip" {
			t.Fatalf("Content-Encoding = %q, want gzip", resp.Header.Get("Content-Encoding"))
		}
	})

	etag := published.str("etag")
	t.Run("editing the draft changes nothing delivered", func(t *testing.T) {
		r := in.call(t, admin, "PATCH", "/v1/"+name+"?updateMask=body,summary", map[string]any{
			"body": "Unpublished " + draftMarker + " body.", "summary": draftMarker, "etag": etag,
		}).must(t, 200)
		etag = r.str("etag")
		status, hdr, body := in.get(t, "", path)
		if status != 200 || hdr.Get("ETag") != firstETag {
			t.Fatalf("after a draft edit: status %d ETag %q, want 200 %q", status, hdr.Get("ETag"), firstETag)
		}
		if bytes.Contains(body, []byte(draftMarker)) {
			t.Fatalf("delivery shows draft-only text: %s", body)
		}
	})

	t.Run("republish changes content and ETag", func(t *testing.T) {
		r := in.call(t, admin, "POST", "/v1/"+name+":publish", map[string]any{"etag": etag}).must(t, 200)
		etag = r.str("etag")
		status, hdr, body := in.get(t, "", path)
		if status != 200 || hdr.Get("ETag") == firstETag || !bytes.Contains(body, []byte("Unpublished")) {
			t.Fatalf("after republish: status %d ETag %q (before %q)", status, hdr.Get("ETag"), firstETag)
		}
		if bytes.Contains(body, []byte("in editor notes")) {
			t.Fatal("editor notes were delivered")
		}
		// Put the draft back to text without the marker, so later scans only see what is live.
		r = in.call(t, admin, "PATCH", "/v1/"+name+"?updateMask=body,summary", map[string]any{"body": "Clean body about tolerance.", "summary": "Clean.", "etag": etag}).must(t, 200)
		r = in.call(t, admin, "POST", "/v1/"+name+":publish", map[string]any{"etag": r.str("etag")}).must(t, 200)
		etag = r.str("etag")
	})

	t.Run("slug change answers 301 to the new slug", func(t *testing.T) {
		r := in.call(t, admin, "PATCH", "/v1/"+name+"?updateMask=slug", map[string]any{"slug": "zebrafish-sleep-study", "etag": etag}).must(t, 200)
		r = in.call(t, admin, "POST", "/v1/"+name+":publish", map[string]any{"etag": r.str("etag")}).must(t, 200)
		etag = r.str("etag")
		status, hdr, _ := in.get(t, "", path)
		if status != 301 || hdr.Get("Location") != "/v1/sites/kratom-help/articles/zebrafish-sleep-study" {
			t.Fatalf("old slug: status %d Location %q", status, hdr.Get("Location"))
		}
		if status, _, _ := in.get(t, "", path+"-study"); status != 200 {
			t.Fatalf("new slug: status %d", status)
		}
	})
	path += "-study"

	t.Run("search ranks a title match first", func(t *testing.T) {
		status, _, body := in.get(t, "", "/v1/sites/kratom-help/search?q="+url.QueryEscape("zebrafish"))
		if status != 200 {
			t.Fatalf("status %d: %s", status, body)
		}
		var res struct {
			Results []struct {
				Article struct{ Slug string }
			}
		}
		mustJSON(t, body, &res)
		if len(res.Results) == 0 || res.Results[0].Article.Slug != "zebrafish-sleep-study" {
			t.Fatalf("results %+v; want zebrafish-sleep-study first", res.Results)
		}
		status, _, body = in.get(t, "", "/v1/sites/kratom-help/search?q="+url.QueryEscape("tolerance"))
		mustJSON(t, body, &res)
		// The demo article with "dependence" in its title and tolerance in its text must come before ours,
		// whose only mention is in the body; at least, a title match beats a body-only one.
		if status != 200 || len(res.Results) < 2 {
			t.Fatalf("tolerance search: status %d, %d results", status, len(res.Results))
		}
		in.get(t, "", "/v1/sites/kratom-help/search")
		if status, _, _ := in.get(t, "", "/v1/sites/kratom-help/search?q="); status != 400 {
			t.Errorf("empty q: status %d, want 400", status)
		}
	})

	t.Run("sitemap and feed list exactly the published articles", func(t *testing.T) {
		list := publishedSlugs(t, in)
		status, _, body := in.get(t, "", "/v1/sites/kratom-help/sitemap.xml")
		if status != 200 {
			t.Fatalf("sitemap status %d", status)
		}
		var sm struct {
			URLs []struct {
				Loc string `xml:"loc"`
			} `xml:"url"`
		}
		if err := xml.Unmarshal(body, &sm); err != nil {
			t.Fatalf("sitemap is not XML: %v", err)
		}
		var inSitemap []string
		for _, u := range sm.URLs {
			if s, ok := strings.CutPrefix(u.Loc, "https://kratom-help.example.org/articles/"); ok {
				inSitemap = append(inSitemap, s)
			}
		}
		sort.Strings(inSitemap)
		if strings.Join(inSitemap, ",") != strings.Join(list, ",") {
			t.Errorf("sitemap articles %v, want %v", inSitemap, list)
		}
		status, _, body = in.get(t, "", "/v1/sites/kratom-help/feed.xml")
		var feed struct {
			Entries []struct {
				Link struct {
					Href string `xml:"href,attr"`
				} `xml:"link"`
			} `xml:"entry"`
		}
		if err := xml.Unmarshal(body, &feed); status != 200 || err != nil {
			t.Fatalf("feed: status %d, %v", status, err)
		}
		var inFeed []string
		for _, e := range feed.Entries {
			inFeed = append(inFeed, strings.TrimPrefix(e.Link.Href, "https://kratom-help.example.org/articles/"))
		}
		sort.Strings(inFeed)
		if strings.Join(inFeed, ",") != strings.Join(list, ",") {
			t.Errorf("feed articles %v, want %v", inFeed, list)
		}
	})

	t.Run("site scoping and private sites", func(t *testing.T) {
		b := in.call(t, admin, "POST", "/v1/articles", map[string]any{"title": "B only", "targetSites": []string{"sites/private-b"}}).must(t, 200)
		in.call(t, admin, "POST", "/v1/"+b.str("name")+":publish", map[string]any{}).must(t, 200)
		bPath := "/v1/sites/private-b/articles/b-only"
		if status, hdr, _ := in.get(t, deliveryB, bPath); status != 200 || !strings.HasPrefix(hdr.Get("Cache-Control"), "private") {
			t.Fatalf("B key on B: status %d Cache-Control %q; want 200 private", status, hdr.Get("Cache-Control"))
		}
		if status, _, _ := in.get(t, deliveryA, bPath); status != 404 {
			t.Fatalf("A key on B's article: status %d, want 404", status)
		}
		if status, _, _ := in.get(t, "", bPath); status != 401 {
			t.Fatalf("no key on a private site: status %d, want 401", status)
		}
		if status, _, _ := in.get(t, deliveryA, path); status != 200 {
			t.Fatalf("A key on A: status %d", status)
		}
		if status, _, _ := in.get(t, "bk_0000000000000000_bad", path); status != 401 {
			t.Fatalf("bad key: status %d, want 401", status)
		}
		// A delivery key cannot use the management API.
		in.call(t, deliveryA, "GET", "/v1/articles", nil).must(t, 403)
	})

	t.Run("bad input", func(t *testing.T) {
		for _, p := range []string{
			"/v1/sites/kratom-help/articles?pageToken=garbage",
			"/v1/sites/kratom-help/articles?pageSize=abc",
			"/v1/sites/kratom-help/search?q=x&pageToken=garbage",
		} {
			if status, _, body := in.get(t, "", p); status != 400 {
				t.Errorf("GET %s: status %d, want 400: %s", p, status, body)
			}
		}
		if status, _, _ := in.get(t, "", "/v1/sites/no-such-site/articles"); status != 404 {
			t.Errorf("unknown site: status %d, want 404", status)
		}
	})

	t.Run("pagination walks every card once", func(t *testing.T) {
		seen := map[string]bool{}
		token := ""
		for pages := 0; ; pages++ {
			q := "/v1/sites/kratom-help/articles?pageSize=2"
			if token != "" {
				q += "&pageToken=" + url.QueryEscape(token)
			}
			status, _, body := in.get(t, "", q)
			var page struct {
				Articles      []struct{ Slug string }
				NextPageToken string
			}
			mustJSON(t, body, &page)
			if status != 200 {
				t.Fatalf("status %d: %s", status, body)
			}
			for _, a := range page.Articles {
				if seen[a.Slug] {
					t.Fatalf("%s listed twice", a.Slug)
				}
				seen[a.Slug] = true
			}
			if token = page.NextPageToken; token == "" {
				break
			}
		}
		if len(seen) != len(publishedSlugs(t, in)) {
			t.Fatalf("walked %d cards, want %d", len(seen), len(publishedSlugs(t, in)))
		}
	})

	t.Run("no delivery response contains draft-only text", func(t *testing.T) {
		for _, p := range []string{path, "/v1/sites/kratom-help/articles?pageSize=100", "/v1/sites/kratom-help/search?q=zebrafish",
			"/v1/sites/kratom-help/sitemap.xml", "/v1/sites/kratom-help/feed.xml"} {
			_, _, body := in.get(t, "", p)
			if bytes.Contains(body, []byte(draftMarker)) {
				t.Errorf("GET %s leaks draft-only text", p)
			}
		}
	})

	t.Run("a second instance on the same store sees a publish within 5 s", func(t *testing.T) {
		if in.storeURI == "" {
			t.Fatal("dev mode did not print its store URI")
		}
		second := start(t, "serve", "--target=all", "--mongodb-uri", in.storeURI, "--page-token-secret", strings.Repeat("s", 32),
			"--http-addr", "127.0.0.1:0", "--grpc-addr", "127.0.0.1:0", "--log-level", "warn", "--scheduler-interval", "1h")
		if status, _, _ := second.get(t, "", path); status != 200 {
			t.Fatalf("second instance does not serve an article published before it started: %d", status)
		}
		fresh := in.call(t, admin, "POST", "/v1/articles", map[string]any{"title": "Replica check", "targetSites": []string{"sites/kratom-help"}}).must(t, 200)
		in.call(t, admin, "POST", "/v1/"+fresh.str("name")+":publish", map[string]any{}).must(t, 200)
		published := time.Now()
		eventually(t, 5*time.Second, func() string {
			if status, _, _ := second.get(t, "", "/v1/sites/kratom-help/articles/replica-check"); status != 200 {
				return "second instance still answers " + http.StatusText(status)
			}
			return ""
		})
		t.Logf("replica saw the publish after %s", time.Since(published).Round(10*time.Millisecond))
		in.call(t, admin, "POST", "/v1/"+fresh.str("name")+":unpublish", map[string]any{}).must(t, 200)
		if status, _, _ := in.get(t, "", "/v1/sites/kratom-help/articles/replica-check"); status != 404 {
			t.Fatalf("unpublished article: status %d on the same instance, want 404", status)
		}
		eventually(t, 5*time.Second, func() string {
			if status, _, _ := second.get(t, "", "/v1/sites/kratom-help/articles/replica-check"); status != 404 {
				return "second instance still serves an unpublished article"
			}
			return ""
		})

		// Management lists come from each instance's in-memory index, which follows the change
		// log: each instance lists the other's writes within 5 s.
		listed := func(on *instance, title string) func() string {
			return func() string {
				q := "/v1/articles?pageSize=100&filter=" + url.QueryEscape(`site = "kratom-help"`) + "&orderBy=" + url.QueryEscape("update_time desc")
				r := on.call(t, admin, "GET", q, nil).must(t, 200)
				for _, a := range r.body["articles"].([]any) {
					if a.(map[string]any)["title"] == title {
						return ""
					}
				}
				return "the list does not show " + title + " yet"
			}
		}
		cur := in.call(t, admin, "GET", "/v1/"+fresh.str("name"), nil).must(t, 200)
		in.call(t, admin, "PATCH", "/v1/"+fresh.str("name")+"?updateMask=title", map[string]any{"title": "Renamed on the first", "etag": cur.str("etag")}).must(t, 200)
		eventually(t, 5*time.Second, listed(second, "Renamed on the first"))
		second.call(t, admin, "POST", "/v1/articles", map[string]any{"title": "Created on the second", "targetSites": []string{"sites/kratom-help"}}).must(t, 200)
		eventually(t, 5*time.Second, listed(in, "Created on the second"))
	})
}

// publishedSlugs lists the slugs of the demo site's live articles, sorted, from the management API.
func publishedSlugs(tb testing.TB, in *instance) []string {
	tb.Helper()
	r := in.call(tb, in.adminKey, "GET", "/v1/articles?pageSize=100&filter="+url.QueryEscape(`state = PUBLISHED AND site = "kratom-help"`), nil).must(tb, 200)
	var out []string
	for _, a := range r.body["articles"].([]any) {
		out = append(out, a.(map[string]any)["slug"].(string))
	}
	sort.Strings(out)
	return out
}

func mustJSON(tb testing.TB, raw []byte, v any) {
	tb.Helper()
	if err := json.Unmarshal(raw, v); err != nil {
		tb.Fatalf("bad JSON %q: %v", raw, err)
	}
}
