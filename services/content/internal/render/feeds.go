package render

import (
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/beaconcms/beacon/services/content/internal/sitefeed"
)

// FeedSize is how many of the newest articles the Atom feed carries.
const FeedSize = 50

// Sitemap renders a site's sitemap: its home page, last changed at lastChange, and every
// entry (newest first).
func Sitemap(site *Site, entries []*Entry, lastChange time.Time) ([]byte, error) {
	home := strings.TrimRight(site.BaseURL, "/") + "/"
	urls := make([]sitefeed.URLEntry, 0, len(entries)+1)
	urls = append(urls, sitefeed.URLEntry{Loc: home, LastMod: lastChange})
	for _, e := range entries {
		urls = append(urls, sitefeed.URLEntry{Loc: e.URL, LastMod: e.PublishTime})
	}
	raw, err := sitefeed.Sitemap(urls)
	if err != nil {
		return nil, fmt.Errorf("render sitemap of sites/%s: %w", site.ID, err)
	}
	return raw, nil
}

// Feed renders a site's Atom feed of its FeedSize newest entries (entries are newest first).
// Its self link is {base_url}/feed.xml, where the site is expected to serve (or proxy) it.
func Feed(site *Site, entries []*Entry, lastChange time.Time) ([]byte, error) {
	base := strings.TrimRight(site.BaseURL, "/")
	f := sitefeed.Feed{
		ID:       base + "/",
		Title:    site.DisplayName,
		SiteURL:  base + "/",
		FeedURL:  base + "/feed.xml",
		Updated:  lastChange,
		Language: site.DefaultLocale,
	}
	host := ""
	if u, err := url.Parse(base); err == nil {
		host = u.Hostname()
	}
	entries = entries[:min(FeedSize, len(entries))]
	items := make([]sitefeed.FeedEntry, 0, len(entries))
	for _, e := range entries {
		items = append(items, sitefeed.FeedEntry{
			ID:         fmt.Sprintf("tag:%s,%d:articles/%s", host, site.CreateTime.Year(), e.ID),
			Title:      e.Title,
			URL:        e.URL,
			Summary:    e.Summary,
			Authors:    e.Authors,
			Published:  e.PublishTime,
			Updated:    e.PublishTime,
			Categories: e.Tags,
		})
	}
	raw, err := sitefeed.AtomFeed(f, items)
	if err != nil {
		return nil, fmt.Errorf("render feed of sites/%s: %w", site.ID, err)
	}
	return raw, nil
}
