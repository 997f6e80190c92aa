package sitefeed_test

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/beaconcms/beacon/services/content/internal/sitefeed"
)

var (
	t0  = time.Date(2025, 3, 1, 12, 30, 0, 0, time.UTC)
	cet = time.FixedZone("CET", 3600)
)

func TestSitemapRoundTrip(t *testing.T) {
	tests := []struct {
		name    string
		entries []sitefeed.URLEntry
		want    []xURL // decoded back
		raw     []string
	}{
		{
			name:    "one page",
			entries: []sitefeed.URLEntry{{Loc: "https://example.org/", LastMod: t0}},
			want:    []xURL{{Locs: []string{"https://example.org/"}, LastMods: []string{"2025-03-01T12:30:00Z"}}},
			raw:     []string{"<loc>https://example.org/</loc>", "<lastmod>2025-03-01T12:30:00Z</lastmod>"},
		},
		{
			name: "ampersand and apostrophe are XML-escaped",
			entries: []sitefeed.URLEntry{
				{Loc: "https://example.org/search?q=salt&lang=en&x='1'", LastMod: t0},
			},
			want: []xURL{{Locs: []string{"https://example.org/search?q=salt&lang=en&x='1'"}, LastMods: []string{"2025-03-01T12:30:00Z"}}},
			raw:  []string{"q=salt&amp;lang=en&amp;x=&#39;1&#39;"},
		},
		{
			name: "non-ASCII IRI and percent-encoding kept as given",
			entries: []sitefeed.URLEntry{
				{Loc: "https://example.org/es/nutrición/azúcar"},
				{Loc: "https://example.org/es/nutrici%C3%B3n?q=%E2%9C%93#top"},
				{Loc: "http://[2001:db8::1]:8080/x"},
			},
			want: []xURL{
				{Locs: []string{"https://example.org/es/nutrición/azúcar"}},
				{Locs: []string{"https://example.org/es/nutrici%C3%B3n?q=%E2%9C%93#top"}},
				{Locs: []string{"http://[2001:db8::1]:8080/x"}},
			},
			raw: []string{"<loc>https://example.org/es/nutrición/azúcar</loc>"},
		},
		{
			name: "lastmod converted to UTC, sub-second dropped, zero omitted, order kept",
			entries: []sitefeed.URLEntry{
				{Loc: "https://example.org/b", LastMod: time.Date(2024, 12, 31, 23, 59, 59, 999_000_000, cet)},
				{Loc: "https://example.org/a"},
				{Loc: "HTTPS://EXAMPLE.ORG/C", LastMod: time.Date(1, 1, 1, 0, 0, 1, 0, time.UTC)},
			},
			want: []xURL{
				{Locs: []string{"https://example.org/b"}, LastMods: []string{"2024-12-31T22:59:59Z"}},
				{Locs: []string{"https://example.org/a"}},
				{Locs: []string{"HTTPS://EXAMPLE.ORG/C"}, LastMods: []string{"0001-01-01T00:00:01Z"}},
			},
		},
		{
			name:    "50,000 URLs is the limit, not over it",
			entries: manyEntries(sitefeed.MaxURLs),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc, err := sitefeed.Sitemap(tt.entries)
			if err != nil {
				t.Fatalf("Sitemap: %v", err)
			}
			got := decodeSitemap(t, doc)
			if err := checkSitemapStructure(doc, got); err != nil {
				t.Fatal(err)
			}
			if !bytes.Contains(doc, []byte(`<urlset xmlns="`+sitemapNS+`">`)) {
				t.Errorf("no <urlset> with the sitemap namespace as default:\n%.300s", doc)
			}
			if len(got.URLs) != len(tt.entries) {
				t.Fatalf("%d <url>, want %d", len(got.URLs), len(tt.entries))
			}
			if tt.want != nil && !equalURLs(got.URLs, tt.want) {
				t.Errorf("decoded\n%q\nwant\n%q\ndocument:\n%s", got.URLs, tt.want, doc)
			}
			for _, r := range tt.raw {
				if !bytes.Contains(doc, []byte(r)) {
					t.Errorf("document lacks %s:\n%s", r, doc)
				}
			}
		})
	}
}

func equalURLs(a, b []xURL) bool {
	return fmt.Sprintf("%q", a) == fmt.Sprintf("%q", b)
}

func manyEntries(n int) []sitefeed.URLEntry {
	es := make([]sitefeed.URLEntry, n)
	for i := range es {
		es[i] = sitefeed.URLEntry{Loc: fmt.Sprintf("https://example.org/articles/%d", i), LastMod: t0.Add(time.Duration(i) * time.Minute)}
	}
	return es
}

func TestSitemapErrors(t *testing.T) {
	ok := sitefeed.URLEntry{Loc: "https://example.org/ok", LastMod: t0}
	tests := []struct {
		name    string
		entries []sitefeed.URLEntry
		want    error
		msg     string // substring of the message
	}{
		{"too many URLs", manyEntries(sitefeed.MaxURLs + 1), sitefeed.ErrTooManyURLs, "50001 entries"},
		{"no URLs", nil, sitefeed.ErrNoURLs, ""},
		{"relative Loc", []sitefeed.URLEntry{ok, {Loc: "/articles/salt"}}, sitefeed.ErrInvalidURL, "entry 1"},
		{"scheme-relative Loc", []sitefeed.URLEntry{{Loc: "//example.org/articles/salt"}}, sitefeed.ErrInvalidURL, "no scheme"},
		{"javascript: Loc", []sitefeed.URLEntry{{Loc: "javascript:alert(document.cookie)"}}, sitefeed.ErrInvalidURL, `scheme is "javascript"`},
		{"JavaScript: Loc, mixed case", []sitefeed.URLEntry{{Loc: "JavaScript://example.org/%0Aalert(1)"}}, sitefeed.ErrInvalidURL, "javascript"},
		{"mailto: Loc", []sitefeed.URLEntry{{Loc: "mailto:someone@example.org"}}, sitefeed.ErrInvalidURL, "mailto"},
		{"ftp: Loc", []sitefeed.URLEntry{{Loc: "ftp://example.org/file"}}, sitefeed.ErrInvalidURL, "ftp"},
		{"empty Loc", []sitefeed.URLEntry{{Loc: ""}}, sitefeed.ErrInvalidURL, "must be an absolute"},
		{"no host", []sitefeed.URLEntry{{Loc: "https:///path/only"}}, sitefeed.ErrInvalidURL, "with a host"},
		{"opaque http", []sitefeed.URLEntry{{Loc: "http:example.org/page"}}, sitefeed.ErrInvalidURL, "with a host"},
		{"user info", []sitefeed.URLEntry{{Loc: "https://user:pw@example.org/"}}, sitefeed.ErrInvalidURL, "user info"},
		{"longer than 2,048 characters", []sitefeed.URLEntry{{Loc: "https://example.org/" + strings.Repeat("a", 2048-19)}}, sitefeed.ErrInvalidURL, "it has 2049"},
		{"shorter than the schema's 12 characters", []sitefeed.URLEntry{{Loc: "http://a.b/"}}, sitefeed.ErrInvalidURL, "at least 12"},
		{"space", []sitefeed.URLEntry{{Loc: "https://example.org/a page"}}, sitefeed.ErrInvalidURL, "percent-encoded"},
		{"unencoded <", []sitefeed.URLEntry{{Loc: "https://example.org/<script>"}}, sitefeed.ErrInvalidURL, `'<'`},
		{"unencoded quote", []sitefeed.URLEntry{{Loc: `https://example.org/"x"`}}, sitefeed.ErrInvalidURL, "percent-encoded"},
		{"control character", []sitefeed.URLEntry{{Loc: "https://example.org/a\x00b"}}, sitefeed.ErrInvalidURL, "percent-encoded"},
		{"newline", []sitefeed.URLEntry{{Loc: "https://example.org/a\nb"}}, sitefeed.ErrInvalidURL, ""},
		{"invalid UTF-8", []sitefeed.URLEntry{{Loc: "https://example.org/\xff"}}, sitefeed.ErrInvalidURL, "UTF-8"},
		{"bad percent escape", []sitefeed.URLEntry{{Loc: "https://example.org/%zz"}}, sitefeed.ErrInvalidURL, "hex"},
		{"two fragments", []sitefeed.URLEntry{{Loc: "https://example.org/a#b#c"}}, sitefeed.ErrInvalidURL, "'#'"},
		{"bracket in path", []sitefeed.URLEntry{{Loc: "https://example.org/[x]"}}, sitefeed.ErrInvalidURL, "outside the host"},
		{"lastmod after 9999", []sitefeed.URLEntry{{Loc: "https://example.org/x", LastMod: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}}, sitefeed.ErrInvalidTime, "year 10000"},
		{"lastmod year 0", []sitefeed.URLEntry{{Loc: "https://example.org/x", LastMod: time.Date(0, 6, 1, 0, 0, 0, 0, time.UTC)}}, sitefeed.ErrInvalidTime, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc, err := sitefeed.Sitemap(tt.entries)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Sitemap error = %v, want %v (document %.200q)", err, tt.want, doc)
			}
			if doc != nil {
				t.Errorf("document returned with the error: %.200q", doc)
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("error %q does not mention %q", err, tt.msg)
			}
		})
	}
}

// TestSitemapConformsToXSD validates output against the official sitemaps.org 0.9 schema with
// xmllint. It skips when xmllint is missing on a developer's machine and fails in CI.
func TestSitemapConformsToXSD(t *testing.T) {
	if _, err := os.Stat(sitemapXSD); err != nil {
		t.Fatalf("sitemap schema: %v", err)
	}
	xmllint := requireXmllint(t)

	// Negative controls: the validator must reject what the schema forbids, or a pass means nothing.
	for name, bad := range map[string]string{
		"lastmod not a date": `<urlset xmlns="` + sitemapNS + `"><url><loc>https://example.org/</loc><lastmod>yesterday</lastmod></url></urlset>`,
		"loc too short":      `<urlset xmlns="` + sitemapNS + `"><url><loc>http://a.b/</loc></url></urlset>`,
		"empty urlset":       `<urlset xmlns="` + sitemapNS + `"></urlset>`,
		"wrong namespace":    `<urlset xmlns="http://example.org/ns"><url><loc>https://example.org/</loc></url></urlset>`,
	} {
		if err := validateXSD(t, xmllint, sitemapXSD, []byte(xmlDecl+"\n"+bad)); err == nil {
			t.Errorf("negative control %q: xmllint accepted an invalid sitemap; the schema check is not working", name)
		}
	}

	tests := []struct {
		name    string
		entries []sitefeed.URLEntry
	}{
		{"one page", []sitefeed.URLEntry{{Loc: "https://example.org/", LastMod: t0}}},
		{"escaping and IRIs", []sitefeed.URLEntry{
			{Loc: "https://example.org/search?q=salt&lang=en&x='1'", LastMod: t0.In(cet)},
			{Loc: "https://example.org/es/nutrición/azúcar"},
			{Loc: "https://example.org/zh/%E7%B3%96?a=(1)*;b=!$,+@:/~#frag"},
			{Loc: "http://[2001:db8::1]:8080/x", LastMod: time.Date(1, 1, 1, 0, 0, 1, 0, time.UTC)},
			{Loc: "https://example.org/" + strings.Repeat("é", sitefeed.MaxURLLength-20)},
		}},
		{"50,000 URLs", manyEntries(sitefeed.MaxURLs)},
		{"random URLs that Sitemap accepts", randomAccepted(t, 2000)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc, err := sitefeed.Sitemap(tt.entries)
			if err != nil {
				t.Fatalf("Sitemap: %v", err)
			}
			if err := validateXSD(t, xmllint, sitemapXSD, doc); err != nil {
				t.Errorf("sitemap does not validate against %s: %v", sitemapXSD, err)
			}
		})
	}
}

// randomAccepted makes URL-ish strings from a hostile alphabet and keeps those Sitemap accepts,
// so the schema check covers what the validator lets through, not only hand-picked cases.
func randomAccepted(t *testing.T, want int) []sitefeed.URLEntry {
	alphabet := []rune("abcXYZ019-._~:/?#[]@!$&'()*+,;=%% <>\"{}|\\^`\t\né中😀\u00a0\ufffd\u0085")
	prefixes := []string{"https://example.org/", "http://example.org:8080", "https://[::1]/", "https://xn--bcher-kva.example/", "HTTP://EXAMPLE.ORG/"}
	r := rand.New(rand.NewPCG(1, 2))
	var es []sitefeed.URLEntry
	for tries := 0; len(es) < want && tries < 200*want; tries++ {
		var b strings.Builder
		b.WriteString(prefixes[r.IntN(len(prefixes))])
		for n := r.IntN(30); n > 0; n-- {
			if r.IntN(8) == 0 {
				fmt.Fprintf(&b, "%%%02X", r.IntN(256))
				continue
			}
			b.WriteRune(alphabet[r.IntN(len(alphabet))])
		}
		e := sitefeed.URLEntry{Loc: b.String(), LastMod: time.Unix(r.Int64N(253402300799), 0)}
		if _, err := sitefeed.Sitemap([]sitefeed.URLEntry{e}); err == nil {
			es = append(es, e)
		}
	}
	if len(es) < want/2 {
		t.Fatalf("only %d random URLs accepted", len(es))
	}
	return es
}

func TestXmllintDecision(t *testing.T) {
	tests := []struct {
		ci   string
		skip bool
	}{
		{"", true}, {"false", true}, {"0", true},
		{"true", false}, {"1", false}, {"yes", false},
	}
	for _, tt := range tests {
		if got := xmllintDecision(tt.ci); got != tt.skip {
			t.Errorf("CI=%q: skip = %v, want %v", tt.ci, got, tt.skip)
		}
	}
}
