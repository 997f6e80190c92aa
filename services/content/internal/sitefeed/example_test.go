package sitefeed_test

import (
	"fmt"
	"time"

	"github.com/beaconcms/beacon/services/content/internal/sitefeed"
)

func ExampleSitemap() {
	doc, err := sitefeed.Sitemap([]sitefeed.URLEntry{
		{Loc: "https://kratom-help.example/", LastMod: time.Date(2025, 3, 1, 13, 30, 0, 0, time.FixedZone("CET", 3600))},
		{Loc: "https://kratom-help.example/search?q=salt&lang=es"},
	})
	if err != nil {
		panic(err)
	}
	fmt.Print(string(doc))
	// Output:
	// <?xml version="1.0" encoding="UTF-8"?>
	// <urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
	//   <url>
	//     <loc>https://kratom-help.example/</loc>
	//     <lastmod>2025-03-01T12:30:00Z</lastmod>
	//   </url>
	//   <url>
	//     <loc>https://kratom-help.example/search?q=salt&amp;lang=es</loc>
	//   </url>
	// </urlset>
}

func ExampleAtomFeed() {
	doc, err := sitefeed.AtomFeed(sitefeed.Feed{
		ID:       "tag:kratom-help.example,2025:feed",
		Title:    "Kratom Help",
		SiteURL:  "https://kratom-help.example/",
		FeedURL:  "https://kratom-help.example/feed.atom",
		Language: "en",
	}, []sitefeed.FeedEntry{{
		ID:         "tag:kratom-help.example,2025:article/42",
		Title:      "Withdrawal & what helps",
		URL:        "https://kratom-help.example/articles/withdrawal",
		Summary:    "Symptoms, timeline <and> when to call a doctor.",
		Published:  time.Date(2025, 2, 27, 9, 0, 0, 0, time.UTC),
		Updated:    time.Date(2025, 3, 1, 12, 30, 0, 0, time.UTC),
		Categories: []string{"withdrawal"},
	}})
	if err != nil {
		panic(err)
	}
	fmt.Print(string(doc))
	// Output:
	// <?xml version="1.0" encoding="UTF-8"?>
	// <feed xmlns="http://www.w3.org/2005/Atom" xml:lang="en">
	//   <id>tag:kratom-help.example,2025:feed</id>
	//   <title type="text">Kratom Help</title>
	//   <updated>2025-03-01T12:30:00Z</updated>
	//   <link rel="self" type="application/atom+xml" href="https://kratom-help.example/feed.atom"></link>
	//   <link rel="alternate" type="text/html" href="https://kratom-help.example/"></link>
	//   <entry>
	//     <id>tag:kratom-help.example,2025:article/42</id>
	//     <title type="text">Withdrawal &amp; what helps</title>
	//     <link rel="alternate" type="text/html" href="https://kratom-help.example/articles/withdrawal"></link>
	//     <published>2025-02-27T09:00:00Z</published>
	//     <updated>2025-03-01T12:30:00Z</updated>
	//     <summary type="text">Symptoms, timeline &lt;and&gt; when to call a doctor.</summary>
	//     <author>
	//       <name>Kratom Help</name>
	//     </author>
	//     <category term="withdrawal"></category>
	//   </entry>
	// </feed>
}
