package sitefeed_test

import (
	"errors"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/beaconcms/beacon/services/content/internal/sitefeed"
)

// fuzzTime maps a fuzzed number of seconds to a time; 0 is the zero time ("not set").
func fuzzTime(sec int64) time.Time {
	if sec == 0 {
		return time.Time{}
	}
	return time.Unix(sec, 0)
}

// wantText is what a text field should decode to: the input less invalid UTF-8 and control
// characters other than tab, newline and CR, and less U+FFFE and U+FFFF. It is written
// independently of the package's own cleaning.
func wantText(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '\t' || r == '\n' || r == '\r' {
			return r
		}
		if unicode.IsControl(r) || r == 0xFFFE || r == 0xFFFF {
			return -1
		}
		return r
	}, strings.ToValidUTF8(s, ""))
}

func FuzzSitemap(f *testing.F) {
	seeds := []struct {
		loc1, loc2 string
		sec        int64
	}{
		{"https://example.org/", "https://example.org/a?b=1&c='2'", 1740832200},
		{"https://example.org/es/nutrición", "http://[2001:db8::1]:8080/x#y", 0},
		{"/relative", "javascript:alert(1)", 1},
		{"https://example.org/<script>", "https://example.org/a b", -62135596800},
		{"https://example.org/\x00\xff", "https://example.org/%zz", 253402300799},
		{"https://example.org/" + strings.Repeat("a", 2100), "http://a.b/", 253402300800},
		{"HTTPS://EXAMPLE.ORG/%41%42", "https://user@example.org/", -1},
		{"https://example.org/a#b#c", "https://example.org/[x]", 1 << 62},
	}
	for _, s := range seeds {
		f.Add(s.loc1, s.loc2, s.sec)
	}
	f.Fuzz(func(t *testing.T, loc1, loc2 string, sec int64) {
		entries := []sitefeed.URLEntry{{Loc: loc1, LastMod: fuzzTime(sec)}, {Loc: loc2}}
		doc, err := sitefeed.Sitemap(entries)
		if err != nil {
			if doc != nil {
				t.Fatalf("document returned with error %v", err)
			}
			if !errors.Is(err, sitefeed.ErrInvalidURL) && !errors.Is(err, sitefeed.ErrInvalidTime) {
				t.Fatalf("unexpected error kind: %v", err)
			}
			return
		}
		if err := wellFormed(doc); err != nil {
			t.Fatalf("not well-formed: %v\n%q", err, doc)
		}
		s := decodeSitemap(t, doc)
		if err := checkSitemapStructure(doc, s); err != nil {
			t.Fatalf("%v\n%q", err, doc)
		}
		if len(s.URLs) != 2 || s.URLs[0].Locs[0] != loc1 || s.URLs[1].Locs[0] != loc2 {
			t.Fatalf("locs did not round-trip: %q, want %q %q", s.URLs, loc1, loc2)
		}
		if lm := entries[0].LastMod; !lm.IsZero() && s.URLs[0].LastMods[0] != lm.UTC().Format(time.RFC3339) {
			t.Fatalf("lastmod %q, want %s", s.URLs[0].LastMods, lm.UTC().Format(time.RFC3339))
		}
	})
}

func FuzzAtomFeed(f *testing.F) {
	type seed struct {
		feedID, feedTitle, siteURL, lang     string
		id, title, url, summary, author, cat string
		pub, upd                             int64
	}
	seeds := []seed{
		{"tag:example.org,2025:feed", "Health & You", "https://example.org/", "en",
			"tag:example.org,2025:a1", `Salt & "sugar" <facts> it's`, "https://example.org/a?x=1&y=2", "a<b && c>d ]]>", "O'Brien", "<nutrition>", 1740832200, 0},
		{"https://example.org/es/", "Salud 健康 🩺", "https://example.org/es/", "es-MX",
			"https://example.org/es/nutrición", "Nutrición ¿qué?", "https://example.org/es/nutrición", "ñandú \U0001F9EA", "José Núñez", "糖尿病", 0, 1740832200},
		{"tag:x,2025:f", "Bad\x00Title\x1b", "https://example.org/", "",
			"tag:x,2025:e", "\x07", "https://example.org/e", "line\r\n\ttab\x0b\ufffe\xff", "\x01\x02", "\x00", 1, 2},
		{"/relative", "", "javascript:alert(1)", "en_US",
			"", "t", "/e", "", "", "", 0, 0},
		{"tag:x,2025:f", "T", "https://example.org/", "x-klingon",
			"tag:x,2025:e", "E", "https://example.org/<e>", "", "", "", 253402300800, -62135596801},
	}
	for _, s := range seeds {
		f.Add(s.feedID, s.feedTitle, s.siteURL, s.lang, s.id, s.title, s.url, s.summary, s.author, s.cat, s.pub, s.upd)
	}
	f.Fuzz(func(t *testing.T, feedID, feedTitle, siteURL, lang, id, title, url, summary, author, cat string, pub, upd int64) {
		feed := sitefeed.Feed{ID: feedID, Title: feedTitle, SiteURL: siteURL, FeedURL: "https://example.org/feed.atom", Language: lang}
		entries := []sitefeed.FeedEntry{
			{ID: id, Title: title, URL: url, Summary: summary, Authors: []string{author}, Categories: []string{cat},
				Published: fuzzTime(pub), Updated: fuzzTime(upd)},
			{ID: "tag:example.org,2025:fixed", Title: "Fixed", URL: "https://example.org/fixed", Updated: t0},
		}
		doc, err := sitefeed.AtomFeed(feed, entries)
		if err != nil {
			if doc != nil {
				t.Fatalf("document returned with error %v", err)
			}
			return
		}
		if err := wellFormed(doc); err != nil {
			t.Fatalf("not well-formed: %v\n%q", err, doc)
		}
		x := decodeFeed(t, doc)
		if err := checkAtomStructure(x); err != nil {
			t.Fatalf("not RFC 4287: %v\n%q", err, doc)
		}
		got := flatten(x)[0]
		if x.Titles[0].Text != wantText(feedTitle) || got.Title != wantText(title) || got.Summary != wantText(summary) ||
			got.ID != id || got.URL != url || x.IDs[0] != feedID {
			t.Fatalf("values did not round-trip:\nfeed title %q\nentry %+q\ndocument %q", x.Titles[0].Text, got, doc)
		}
		if a := wantText(author); strings.TrimSpace(a) != "" && got.Authors[0] != a {
			t.Fatalf("author %q, want %q", got.Authors, a)
		}
		if c := wantText(cat); strings.TrimSpace(c) != "" && (len(got.Categories) != 1 || got.Categories[0] != c) {
			t.Fatalf("categories %q, want %q", got.Categories, c)
		}
	})
}
