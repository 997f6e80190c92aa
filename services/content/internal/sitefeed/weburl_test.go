package sitefeed_test

import (
	"fmt"
	"net/url"
	"testing"
	"time"

	"github.com/beaconcms/beacon/platform/slug"
	"github.com/beaconcms/beacon/platform/weburl"
	"github.com/beaconcms/beacon/services/content/internal/sitefeed"
)

// siteDocuments renders a site's sitemap and feed the way delivery composes them from the site's
// base URL (services/content/internal/delivery: entry.go articleURL, feeds.go): the home page,
// {base}/articles/{slug}, {base}/feed.xml, and tag:{host},{year}:articles/{id} entry ids.
func siteDocuments(base, articleSlug string) (sitemapErr, feedErr error) {
	home := weburl.Home(base)
	article := weburl.Join(base, "/articles/"+url.PathEscape(articleSlug))
	published := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	_, sitemapErr = sitefeed.Sitemap([]sitefeed.URLEntry{{Loc: home, LastMod: published}, {Loc: article, LastMod: published}})
	host := ""
	if u, err := url.Parse(weburl.Join(base, "")); err == nil {
		host = u.Hostname()
	}
	_, feedErr = sitefeed.AtomFeed(
		sitefeed.Feed{ID: home, Title: "Site", SiteURL: home, FeedURL: weburl.Join(base, "/feed.xml"), Updated: published, Language: "en"},
		[]sitefeed.FeedEntry{{ID: fmt.Sprintf("tag:%s,%d:articles/%s", host, 2025, "a1b2c3"), Title: "T", URL: article, Published: published}},
	)
	return sitemapErr, feedErr
}

// TestBaseURLsOnceRefusedByRenderers: every base URL that used to pass the site check and then
// broke the site's sitemap or feed is refused by weburl.CheckBase, and the ones it accepts render.
func TestBaseURLsOnceRefusedByRenderers(t *testing.T) {
	for _, base := range []string{
		"https://example.org/a b", `https://example.org/"x"`, "https://example.org/{x}", "https://example.org/|",
		"https://example.org/<x>", `https://example.org\x`, "https://example.org:99999", "https://example.org?x=1",
	} {
		if err := weburl.CheckBase(base); err == nil {
			t.Errorf("CheckBase(%q) accepted a base URL", base)
		}
	}
	for _, base := range []string{"https://example.org", "https://example.org/es/", "http://x.io", "http://[2001:db8::1]:8080", "https://nutrición.example"} {
		if err := weburl.CheckBase(base); err != nil {
			t.Fatalf("CheckBase(%q) = %v", base, err)
		}
		if sErr, fErr := siteDocuments(base, "salt-and-sugar"); sErr != nil || fErr != nil {
			t.Errorf("base %q accepted, but sitemap: %v, feed: %v", base, sErr, fErr)
		}
	}
}

// FuzzWebURLAcceptedRenders: what platform/weburl accepts at write time, the renderers accept
// when they publish: a URL accepted by CheckAbsolute is a valid sitemap <loc> and Atom link, and a
// base URL accepted by CheckBase gives a site whose sitemap and feed render.
func FuzzWebURLAcceptedRenders(f *testing.F) {
	for _, s := range []string{
		"https://example.org", "https://example.org/", "http://x.io", "https://example.org/es/?q=1#x",
		"https://example.org:99999", "https://example.org:0", "https://example.org:", "http://[2001:db8::1]:8080",
		"http://[fe80::1%25en0]", "https://ex%C2%A0ample.org", "https://nutrición.example", "https://example.org/a b",
		`https://example.org/"`, "https://example.org/{x}", "https://example.org/|", "https://example.org/<x>", `https://example.org\`,
		"https://:80", "https://u@example.org", "HTTP://EXAMPLE.ORG//", "https://example.org/%zz", "https://example.org/a#b#c",
	} {
		f.Add(s, "salt-and-sugar")
	}
	f.Fuzz(func(t *testing.T, raw, articleSlug string) {
		if weburl.CheckAbsolute(raw) == nil {
			if _, err := sitefeed.Sitemap([]sitefeed.URLEntry{{Loc: raw}}); err != nil {
				t.Fatalf("CheckAbsolute accepted %q, Sitemap refused it: %v", raw, err)
			}
			feed := sitefeed.Feed{ID: raw, Title: "Site", SiteURL: raw, FeedURL: raw, Updated: t0}
			if _, err := sitefeed.AtomFeed(feed, []sitefeed.FeedEntry{{ID: raw, Title: "T", URL: raw, Published: t0}}); err != nil {
				t.Fatalf("CheckAbsolute accepted %q, AtomFeed refused it: %v", raw, err)
			}
		}
		if weburl.CheckBase(raw) == nil {
			if !slug.Valid(articleSlug) {
				articleSlug = "a"
			}
			if sErr, fErr := siteDocuments(raw, articleSlug); sErr != nil || fErr != nil {
				t.Fatalf("CheckBase accepted %q, but its sitemap: %v, feed: %v", raw, sErr, fErr)
			}
		}
	})
}
