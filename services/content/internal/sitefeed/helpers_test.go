package sitefeed_test

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

const (
	sitemapNS = "http://www.sitemaps.org/schemas/sitemap/0.9"
	atomNS    = "http://www.w3.org/2005/Atom"
	xmlDecl   = `<?xml version="1.0" encoding="UTF-8"?>`
)

// sitemapXSD is the official sitemaps.org 0.9 schema for <urlset>; see testdata/sitemaps-0.9/README.md.
var sitemapXSD = filepath.Join("testdata", "sitemaps-0.9", "sitemap.xsd")

// Our own view of a sitemap, to decode the output into.
type xURLSet struct {
	XMLName xml.Name `xml:"http://www.sitemaps.org/schemas/sitemap/0.9 urlset"`
	URLs    []xURL   `xml:"http://www.sitemaps.org/schemas/sitemap/0.9 url"`
}

type xURL struct {
	Locs     []string `xml:"http://www.sitemaps.org/schemas/sitemap/0.9 loc"`
	LastMods []string `xml:"http://www.sitemaps.org/schemas/sitemap/0.9 lastmod"`
}

// Our own view of an Atom feed. Repeatable slices let the structural checks count elements.
type xFeed struct {
	XMLName xml.Name  `xml:"http://www.w3.org/2005/Atom feed"`
	Lang    string    `xml:"http://www.w3.org/XML/1998/namespace lang,attr"`
	IDs     []string  `xml:"http://www.w3.org/2005/Atom id"`
	Titles  []xText   `xml:"http://www.w3.org/2005/Atom title"`
	Updated []string  `xml:"http://www.w3.org/2005/Atom updated"`
	Links   []xLink   `xml:"http://www.w3.org/2005/Atom link"`
	Authors []xPerson `xml:"http://www.w3.org/2005/Atom author"`
	Entries []xEntry  `xml:"http://www.w3.org/2005/Atom entry"`
}

type xEntry struct {
	IDs        []string    `xml:"http://www.w3.org/2005/Atom id"`
	Titles     []xText     `xml:"http://www.w3.org/2005/Atom title"`
	Links      []xLink     `xml:"http://www.w3.org/2005/Atom link"`
	Published  []string    `xml:"http://www.w3.org/2005/Atom published"`
	Updated    []string    `xml:"http://www.w3.org/2005/Atom updated"`
	Summaries  []xText     `xml:"http://www.w3.org/2005/Atom summary"`
	Contents   []xText     `xml:"http://www.w3.org/2005/Atom content"`
	Authors    []xPerson   `xml:"http://www.w3.org/2005/Atom author"`
	Categories []xCategory `xml:"http://www.w3.org/2005/Atom category"`
}

type xText struct {
	Type string `xml:"type,attr"`
	Text string `xml:",chardata"`
}

type xLink struct {
	Rel  string `xml:"rel,attr"`
	Type string `xml:"type,attr"`
	Href string `xml:"href,attr"`
}

type xPerson struct {
	Names []string `xml:"http://www.w3.org/2005/Atom name"`
}

type xCategory struct {
	Term string `xml:"term,attr"`
}

// wellFormed reads doc to EOF with encoding/xml's strict decoder.
func wellFormed(doc []byte) error {
	d := xml.NewDecoder(bytes.NewReader(doc))
	for {
		_, err := d.Token()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

func decodeSitemap(t testing.TB, doc []byte) xURLSet {
	t.Helper()
	if err := wellFormed(doc); err != nil {
		t.Fatalf("sitemap is not well-formed XML: %v\n%s", err, doc)
	}
	var s xURLSet
	if err := xml.Unmarshal(doc, &s); err != nil {
		t.Fatalf("decode sitemap: %v\n%s", err, doc)
	}
	return s
}

func decodeFeed(t testing.TB, doc []byte) xFeed {
	t.Helper()
	if err := wellFormed(doc); err != nil {
		t.Fatalf("feed is not well-formed XML: %v\n%s", err, doc)
	}
	var f xFeed
	if err := xml.Unmarshal(doc, &f); err != nil {
		t.Fatalf("decode feed: %v\n%s", err, doc)
	}
	return f
}

// checkSitemapStructure checks what the sitemaps.org protocol requires of a <urlset> that
// encoding/xml can see: the declaration, at least one <url>, one <loc> each, at most one
// <lastmod> in W3C Datetime.
func checkSitemapStructure(doc []byte, s xURLSet) error {
	if !bytes.HasPrefix(doc, []byte(xmlDecl)) {
		return fmt.Errorf("no XML declaration %s", xmlDecl)
	}
	if len(s.URLs) == 0 {
		return errors.New("no <url>")
	}
	for i, u := range s.URLs {
		if len(u.Locs) != 1 {
			return fmt.Errorf("url %d: %d <loc>, want 1", i, len(u.Locs))
		}
		if len(u.LastMods) > 1 {
			return fmt.Errorf("url %d: %d <lastmod>, want at most 1", i, len(u.LastMods))
		}
		for _, lm := range u.LastMods {
			if _, err := time.Parse(time.RFC3339, lm); err != nil || !strings.HasSuffix(lm, "Z") {
				return fmt.Errorf("url %d: lastmod %q is not an RFC 3339 UTC date-time", i, lm)
			}
		}
	}
	return nil
}

// checkAtomStructure asserts the elements RFC 4287 requires (section 4.1), structurally.
func checkAtomStructure(f xFeed) error {
	if len(f.IDs) != 1 || !absoluteIRI(f.IDs[0]) {
		return fmt.Errorf("feed: want exactly one atom:id with an absolute IRI, got %q", f.IDs)
	}
	if len(f.Titles) != 1 {
		return fmt.Errorf("feed: want exactly one atom:title, got %d", len(f.Titles))
	}
	if len(f.Updated) != 1 || !rfc3339(f.Updated[0]) {
		return fmt.Errorf("feed: want exactly one atom:updated in RFC 3339, got %q", f.Updated)
	}
	if err := checkLinks(f.Links); err != nil {
		return fmt.Errorf("feed: %w", err)
	}
	self := 0
	for _, l := range f.Links {
		if l.Rel == "self" {
			self++
		}
	}
	if self != 1 {
		return fmt.Errorf("feed: want one link rel=self, got %d", self)
	}
	feedAuthor := len(f.Authors) > 0
	if err := checkPersons(f.Authors); err != nil {
		return fmt.Errorf("feed: %w", err)
	}
	for i, e := range f.Entries {
		if len(e.IDs) != 1 || !absoluteIRI(e.IDs[0]) {
			return fmt.Errorf("entry %d: want exactly one atom:id with an absolute IRI, got %q", i, e.IDs)
		}
		if len(e.Titles) != 1 {
			return fmt.Errorf("entry %d: want exactly one atom:title, got %d", i, len(e.Titles))
		}
		if len(e.Updated) != 1 || !rfc3339(e.Updated[0]) {
			return fmt.Errorf("entry %d: want exactly one atom:updated in RFC 3339, got %q", i, e.Updated)
		}
		if len(e.Published) > 1 || (len(e.Published) == 1 && !rfc3339(e.Published[0])) {
			return fmt.Errorf("entry %d: want at most one atom:published in RFC 3339, got %q", i, e.Published)
		}
		if len(e.Summaries) > 1 || len(e.Contents) > 1 {
			return fmt.Errorf("entry %d: more than one summary or content", i)
		}
		if err := checkLinks(e.Links); err != nil {
			return fmt.Errorf("entry %d: %w", i, err)
		}
		alternate := false
		for _, l := range e.Links {
			alternate = alternate || l.Rel == "" || l.Rel == "alternate"
		}
		if len(e.Contents) == 0 && !alternate { // RFC 4287 4.1.1: no content => alternate link
			return fmt.Errorf("entry %d: no atom:content and no link rel=alternate", i)
		}
		if !feedAuthor && len(e.Authors) == 0 {
			return fmt.Errorf("entry %d: no atom:author, and the feed has none", i)
		}
		if err := checkPersons(e.Authors); err != nil {
			return fmt.Errorf("entry %d: %w", i, err)
		}
		for _, c := range e.Categories {
			if c.Term == "" {
				return fmt.Errorf("entry %d: category without term", i)
			}
		}
	}
	return nil
}

func checkLinks(links []xLink) error {
	seen := map[string]bool{}
	for _, l := range links {
		if l.Href == "" {
			return errors.New("link without href")
		}
		if l.Rel == "" || l.Rel == "alternate" {
			if seen[l.Type] {
				return fmt.Errorf("two rel=alternate links of type %q", l.Type)
			}
			seen[l.Type] = true
		}
	}
	return nil
}

func checkPersons(ps []xPerson) error {
	for _, p := range ps {
		if len(p.Names) != 1 {
			return fmt.Errorf("author with %d atom:name, want 1", len(p.Names))
		}
	}
	return nil
}

func absoluteIRI(s string) bool {
	u, err := url.Parse(s)
	return err == nil && u.Scheme != ""
}

func rfc3339(s string) bool {
	_, err := time.Parse(time.RFC3339, s)
	return err == nil
}

// xmllintDecision says what a test that needs xmllint does when it is missing: skip on a
// developer's machine; fail in CI (CI set to anything but a false value), which must install it.
func xmllintDecision(ci string) (skip bool) {
	if ci == "" {
		return true
	}
	b, err := strconv.ParseBool(ci)
	return err == nil && !b
}

// requireXmllint returns the path of xmllint, or skips or fails the test as xmllintDecision says.
func requireXmllint(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("xmllint")
	if err == nil {
		return path
	}
	if xmllintDecision(os.Getenv("CI")) {
		t.Skip("SKIP: xmllint is not on PATH, so the sitemap is not validated against the sitemaps.org XSD; " +
			"install Debian's libxml2-utils (.ci/install-test-deps) to run this check")
	}
	t.Fatalf("xmllint is not on PATH and CI=%q: CI must install Debian's libxml2-utils (run .ci/install-test-deps) "+
		"so the sitemap is validated against the sitemaps.org XSD", os.Getenv("CI"))
	return ""
}

// validateXSD runs xmllint --schema on doc and returns its complaint, or nil.
func validateXSD(t *testing.T, xmllint, xsd string, doc []byte) error {
	t.Helper()
	file := filepath.Join(t.TempDir(), "doc.xml")
	if err := os.WriteFile(file, doc, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(xmllint, "--noout", "--nonet", "--schema", xsd, file).CombinedOutput()
	if err != nil {
		return fmt.Errorf("xmllint: %v\n%s", err, out)
	}
	return nil
}
