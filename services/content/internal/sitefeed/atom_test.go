package sitefeed_test

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/beaconcms/beacon/services/content/internal/sitefeed"
)

var baseFeed = sitefeed.Feed{
	ID:       "tag:kratom-help.example,2025:feed",
	Title:    "Kratom Help",
	SiteURL:  "https://kratom-help.example/",
	FeedURL:  "https://kratom-help.example/feed.atom",
	Updated:  t0,
	Language: "en",
}

// gotEntry is an entry as decoded, flattened for comparison.
type gotEntry struct {
	ID, Title, URL, Summary string
	Published, Updated      string
	Authors, Categories     []string
}

func flatten(f xFeed) []gotEntry {
	var out []gotEntry
	for _, e := range f.Entries {
		g := gotEntry{ID: e.IDs[0], Title: e.Titles[0].Text, Updated: e.Updated[0]}
		for _, l := range e.Links {
			if l.Rel == "alternate" {
				g.URL = l.Href
			}
		}
		if len(e.Summaries) > 0 {
			g.Summary = e.Summaries[0].Text
		}
		if len(e.Published) > 0 {
			g.Published = e.Published[0]
		}
		for _, a := range e.Authors {
			g.Authors = append(g.Authors, a.Names[0])
		}
		for _, c := range e.Categories {
			g.Categories = append(g.Categories, c.Term)
		}
		out = append(out, g)
	}
	return out
}

func TestAtomFeedRoundTrip(t *testing.T) {
	tests := []struct {
		name        string
		feed        sitefeed.Feed
		entries     []sitefeed.FeedEntry
		wantTitle   string // feed title as decoded
		wantUpdated string // feed updated as decoded
		wantAuthor  []string
		want        []gotEntry
		raw         []string // substrings of the document
	}{
		{
			name: "escaping of & < > \" '",
			feed: func() sitefeed.Feed { f := baseFeed; f.Title = `Health & "You" <beta> it's`; return f }(),
			entries: []sitefeed.FeedEntry{{
				ID:         "tag:kratom-help.example,2025:article/1?a=1&b='2'",
				Title:      `Salt & sugar: <facts> vs "myths" (it's complicated)`,
				URL:        "https://kratom-help.example/articles/salt?ref=feed&utm='x'",
				Summary:    "a<b && c>d; \"quoted\" 'single' ]]> <![CDATA[ x ]]> &amp; <!-- no -->",
				Authors:    []string{"O'Brien & Sons <MD>"},
				Published:  t0.Add(-48 * time.Hour),
				Updated:    t0.Add(-time.Hour),
				Categories: []string{"<nutrition>", `"q" & 'a'`},
			}},
			wantTitle:   `Health & "You" <beta> it's`,
			wantUpdated: "2025-03-01T12:30:00Z",
			want: []gotEntry{{
				ID:         "tag:kratom-help.example,2025:article/1?a=1&b='2'",
				Title:      `Salt & sugar: <facts> vs "myths" (it's complicated)`,
				URL:        "https://kratom-help.example/articles/salt?ref=feed&utm='x'",
				Summary:    "a<b && c>d; \"quoted\" 'single' ]]> <![CDATA[ x ]]> &amp; <!-- no -->",
				Authors:    []string{"O'Brien & Sons <MD>"},
				Published:  "2025-02-27T12:30:00Z",
				Updated:    "2025-03-01T11:30:00Z",
				Categories: []string{"<nutrition>", `"q" & 'a'`},
			}},
			raw: []string{
				`<title type="text">Health &amp; &#34;You&#34; &lt;beta&gt; it&#39;s</title>`,
				`<category term="&lt;nutrition&gt;"></category>`,
				`href="https://kratom-help.example/articles/salt?ref=feed&amp;utm=&#39;x&#39;"`,
				`<link rel="self" type="application/atom+xml" href="https://kratom-help.example/feed.atom"></link>`,
				`<link rel="alternate" type="text/html" href="https://kratom-help.example/"></link>`,
				`<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="en">`,
				`<summary type="text">`,
			},
		},
		{
			name: "non-ASCII",
			feed: func() sitefeed.Feed {
				f := baseFeed
				f.Title, f.Language, f.ID = "Ayuda — Salud 健康 🩺", "es-MX", "https://kratom-help.example/es/"
				return f
			}(),
			entries: []sitefeed.FeedEntry{{
				ID:         "https://kratom-help.example/es/nutrición",
				Title:      "Nutrición y azúcar: ¿qué sabemos? 糖 😀",
				URL:        "https://kratom-help.example/es/nutrición",
				Summary:    "Información para pacientes — ñandú, Ωmega, \U0001F9EA",
				Authors:    []string{"José Núñez", "李小龙"},
				Updated:    t0,
				Categories: []string{"nutrición", "糖尿病"},
			}},
			wantTitle:   "Ayuda — Salud 健康 🩺",
			wantUpdated: "2025-03-01T12:30:00Z",
			want: []gotEntry{{
				ID: "https://kratom-help.example/es/nutrición", Title: "Nutrición y azúcar: ¿qué sabemos? 糖 😀",
				URL: "https://kratom-help.example/es/nutrición", Summary: "Información para pacientes — ñandú, Ωmega, \U0001F9EA",
				Authors: []string{"José Núñez", "李小龙"}, Updated: "2025-03-01T12:30:00Z", Categories: []string{"nutrición", "糖尿病"},
			}},
			raw: []string{`xml:lang="es-MX"`, "Nutrición y azúcar"},
		},
		{
			name: "invalid XML characters stripped, tab newline CR kept",
			feed: func() sitefeed.Feed { f := baseFeed; f.Title = "Kratom\x00 Help\x1b"; return f }(),
			entries: []sitefeed.FeedEntry{{
				ID:         "tag:kratom-help.example,2025:a2",
				Title:      "Bad\x00Title\x07\x08\x0b\x0c\x7f\u0085\u009f",
				URL:        "https://kratom-help.example/a2",
				Summary:    "line1\r\nline2\ttab\x1b[31m\ufffe\uffff\xff\xfe end\r",
				Authors:    []string{"\x01Ann\x02", "\x03\x04", "  "},
				Updated:    t0,
				Categories: []string{"\x0bflu", "\x00"},
			}},
			wantTitle:   "Kratom Help",
			wantUpdated: "2025-03-01T12:30:00Z",
			want: []gotEntry{{
				ID: "tag:kratom-help.example,2025:a2", Title: "BadTitle", URL: "https://kratom-help.example/a2",
				Summary: "line1\r\nline2\ttab[31m end\r", Authors: []string{"Ann"}, Updated: "2025-03-01T12:30:00Z",
				Categories: []string{"flu"},
			}},
		},
		{
			name: "defaults: author from feed title, updated from published, feed updated from entries",
			feed: func() sitefeed.Feed { f := baseFeed; f.Updated, f.Language = time.Time{}, ""; return f }(),
			entries: []sitefeed.FeedEntry{
				{ID: "tag:kratom-help.example,2025:a", Title: "A", URL: "https://kratom-help.example/a", Published: t0.In(cet)},
				{ID: "tag:kratom-help.example,2025:b", Title: "B", URL: "https://kratom-help.example/b", Updated: t0.Add(time.Hour), Authors: []string{""}},
				{ID: "tag:kratom-help.example,2025:c", Title: "C", URL: "https://kratom-help.example/c", Updated: t0.Add(-time.Hour), Published: t0.Add(-2 * time.Hour)},
			},
			wantTitle:   "Kratom Help",
			wantUpdated: "2025-03-01T13:30:00Z",
			want: []gotEntry{
				{ID: "tag:kratom-help.example,2025:a", Title: "A", URL: "https://kratom-help.example/a", Authors: []string{"Kratom Help"},
					Published: "2025-03-01T12:30:00Z", Updated: "2025-03-01T12:30:00Z"},
				{ID: "tag:kratom-help.example,2025:b", Title: "B", URL: "https://kratom-help.example/b", Authors: []string{"Kratom Help"},
					Updated: "2025-03-01T13:30:00Z"},
				{ID: "tag:kratom-help.example,2025:c", Title: "C", URL: "https://kratom-help.example/c", Authors: []string{"Kratom Help"},
					Published: "2025-03-01T10:30:00Z", Updated: "2025-03-01T11:30:00Z"},
			},
		},
		{
			name:        "no entries: feed-level author",
			feed:        baseFeed,
			wantTitle:   "Kratom Help",
			wantUpdated: "2025-03-01T12:30:00Z",
			wantAuthor:  []string{"Kratom Help"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc, err := sitefeed.AtomFeed(tt.feed, tt.entries)
			if err != nil {
				t.Fatalf("AtomFeed: %v", err)
			}
			if !bytes.HasPrefix(doc, []byte(xmlDecl)) {
				t.Errorf("no XML declaration:\n%.200s", doc)
			}
			f := decodeFeed(t, doc)
			if err := checkAtomStructure(f); err != nil {
				t.Fatalf("not RFC 4287: %v\n%s", err, doc)
			}
			if f.IDs[0] != tt.feed.ID || f.Titles[0].Text != tt.wantTitle || f.Titles[0].Type != "text" ||
				f.Updated[0] != tt.wantUpdated || f.Lang != tt.feed.Language {
				t.Errorf("feed id/title/updated/lang = %q %q %q %q, want %q %q %q %q",
					f.IDs[0], f.Titles[0].Text, f.Updated[0], f.Lang, tt.feed.ID, tt.wantTitle, tt.wantUpdated, tt.feed.Language)
			}
			links := map[string]string{}
			for _, l := range f.Links {
				links[l.Rel] = l.Href
			}
			if links["self"] != tt.feed.FeedURL || links["alternate"] != tt.feed.SiteURL {
				t.Errorf("feed links = %q, want self %q alternate %q", links, tt.feed.FeedURL, tt.feed.SiteURL)
			}
			var feedAuthors []string
			for _, a := range f.Authors {
				feedAuthors = append(feedAuthors, a.Names[0])
			}
			if !reflect.DeepEqual(feedAuthors, tt.wantAuthor) {
				t.Errorf("feed authors = %q, want %q", feedAuthors, tt.wantAuthor)
			}
			if got := flatten(f); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("entries decoded as\n%+q\nwant\n%+q\ndocument:\n%s", got, tt.want, doc)
			}
			for _, e := range f.Entries {
				if e.Titles[0].Type != "text" || (len(e.Summaries) > 0 && e.Summaries[0].Type != "text") {
					t.Errorf("title/summary type is not text: %+v", e)
				}
			}
			for _, r := range tt.raw {
				if !bytes.Contains(doc, []byte(r)) {
					t.Errorf("document lacks %s:\n%s", r, doc)
				}
			}
		})
	}
}

func TestAtomFeedErrors(t *testing.T) {
	entry := sitefeed.FeedEntry{ID: "tag:kratom-help.example,2025:a", Title: "A", URL: "https://kratom-help.example/a", Updated: t0}
	feed := func(mod func(*sitefeed.Feed)) sitefeed.Feed { f := baseFeed; mod(&f); return f }
	with := func(mod func(*sitefeed.FeedEntry)) []sitefeed.FeedEntry {
		e := entry
		mod(&e)
		return []sitefeed.FeedEntry{entry, e}
	}
	tests := []struct {
		name    string
		feed    sitefeed.Feed
		entries []sitefeed.FeedEntry
		want    error
		msg     string
	}{
		{"feed id empty", feed(func(f *sitefeed.Feed) { f.ID = "" }), nil, sitefeed.ErrInvalidID, "feed: id"},
		{"feed id relative", feed(func(f *sitefeed.Feed) { f.ID = "/feed" }), nil, sitefeed.ErrInvalidID, "not absolute"},
		{"feed id with space", feed(func(f *sitefeed.Feed) { f.ID = "tag:a b" }), nil, sitefeed.ErrInvalidID, ""},
		{"feed title blank", feed(func(f *sitefeed.Feed) { f.Title = " \x00\t" }), nil, sitefeed.ErrMissingField, "title"},
		{"feed URL relative", feed(func(f *sitefeed.Feed) { f.FeedURL = "/feed.atom" }), nil, sitefeed.ErrInvalidURL, "self"},
		{"site URL javascript:", feed(func(f *sitefeed.Feed) { f.SiteURL = "javascript:alert(1)" }), nil, sitefeed.ErrInvalidURL, "alternate"},
		{"language invalid", feed(func(f *sitefeed.Feed) { f.Language = "en_US" }), nil, sitefeed.ErrInvalidLanguage, ""},
		{"feed updated unknown", feed(func(f *sitefeed.Feed) { f.Updated = time.Time{} }), nil, sitefeed.ErrMissingField, "updated"},
		{"feed updated year 10000", feed(func(f *sitefeed.Feed) { f.Updated = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) }), nil, sitefeed.ErrInvalidTime, ""},
		{"entry id empty", baseFeed, with(func(e *sitefeed.FeedEntry) { e.ID = "" }), sitefeed.ErrInvalidID, "entry 1"},
		{"entry id relative", baseFeed, with(func(e *sitefeed.FeedEntry) { e.ID = "articles/1" }), sitefeed.ErrInvalidID, ""},
		{"entry title blank", baseFeed, with(func(e *sitefeed.FeedEntry) { e.Title = "\x07 " }), sitefeed.ErrMissingField, "title"},
		{"entry URL relative", baseFeed, with(func(e *sitefeed.FeedEntry) { e.URL = "/a" }), sitefeed.ErrInvalidURL, "url"},
		{"entry URL javascript:", baseFeed, with(func(e *sitefeed.FeedEntry) { e.URL = "javascript:alert(1)" }), sitefeed.ErrInvalidURL, "javascript"},
		{"entry URL data:", baseFeed, with(func(e *sitefeed.FeedEntry) { e.URL = "data:text/html,<script>alert(1)</script>" }), sitefeed.ErrInvalidURL, ""},
		{"entry URL with control char", baseFeed, with(func(e *sitefeed.FeedEntry) { e.URL = "https://kratom-help.example/a\x00" }), sitefeed.ErrInvalidURL, ""},
		{"entry no dates", baseFeed, with(func(e *sitefeed.FeedEntry) { e.Updated = time.Time{} }), sitefeed.ErrMissingField, "updated"},
		{"entry published year 0", baseFeed, with(func(e *sitefeed.FeedEntry) { e.Published = time.Date(0, 1, 2, 0, 0, 0, 0, time.UTC) }), sitefeed.ErrInvalidTime, "published"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc, err := sitefeed.AtomFeed(tt.feed, tt.entries)
			if !errors.Is(err, tt.want) {
				t.Fatalf("AtomFeed error = %v, want %v (document %.200q)", err, tt.want, doc)
			}
			if doc != nil {
				t.Errorf("document returned with the error")
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("error %q does not mention %q", err, tt.msg)
			}
		})
	}
}
