package delivery

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/beaconcms/beacon/services/content/internal/sitefeed"
)

// feedSize is how many of the newest articles the Atom feed carries.
const feedSize = 50

// sitemapBody renders the view's sitemap once: the site's home page and every live article.
func (v *view) sitemapBody() (*body, error) {
	var err error
	v.sitemapOnce.Do(func() {
		home := strings.TrimRight(v.site.BaseURL, "/") + "/"
		entries := make([]sitefeed.URLEntry, 0, len(v.ordered)+1)
		entries = append(entries, sitefeed.URLEntry{Loc: home, LastMod: v.lastChange()})
		for _, e := range v.ordered {
			entries = append(entries, sitefeed.URLEntry{Loc: e.url, LastMod: e.publishTime})
		}
		var raw []byte
		if raw, err = sitefeed.Sitemap(entries); err == nil {
			v.sitemap = newBody(raw)
		}
	})
	if v.sitemap == nil {
		return nil, fmt.Errorf("render sitemap of sites/%s: %w", v.site.ID, err)
	}
	return v.sitemap, nil
}

// feedBody renders the view's Atom feed once. Its self link is {base_url}/feed.xml, where the
// site is expected to serve (or proxy) it.
func (v *view) feedBody() (*body, error) {
	var err error
	v.feedOnce.Do(func() {
		base := strings.TrimRight(v.site.BaseURL, "/")
		f := sitefeed.Feed{
			ID:       base + "/",
			Title:    v.site.DisplayName,
			SiteURL:  base + "/",
			FeedURL:  base + "/feed.xml",
			Updated:  v.lastChange(),
			Language: v.site.DefaultLocale,
		}
		host := ""
		if u, perr := url.Parse(base); perr == nil {
			host = u.Hostname()
		}
		entries := make([]sitefeed.FeedEntry, 0, min(feedSize, len(v.ordered)))
		for _, e := range v.ordered[:min(feedSize, len(v.ordered))] {
			entries = append(entries, sitefeed.FeedEntry{
				ID:         fmt.Sprintf("tag:%s,%d:articles/%s", host, v.site.CreateTime.Year(), e.id),
				Title:      e.title,
				URL:        e.url,
				Summary:    e.card.GetSummary(),
				Authors:    e.authors,
				Published:  e.publishTime,
				Updated:    e.publishTime,
				Categories: e.tags,
			})
		}
		var raw []byte
		if raw, err = sitefeed.AtomFeed(f, entries); err == nil {
			v.feed = newBody(raw)
		}
	})
	if v.feed == nil {
		return nil, fmt.Errorf("render feed of sites/%s: %w", v.site.ID, err)
	}
	return v.feed, nil
}
