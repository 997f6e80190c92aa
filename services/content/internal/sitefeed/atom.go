package sitefeed

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"regexp"
	"strings"
	"time"
)

// AtomNamespace is the XML namespace of Atom 1.0 (RFC 4287).
const AtomNamespace = "http://www.w3.org/2005/Atom"

// Feed describes an Atom feed.
type Feed struct {
	// ID is the feed's permanent, absolute IRI: an http(s) URL or a tag: URI (RFC 4151), for
	// example "tag:example.org,2025:feed". Required.
	ID string
	// Title is the feed's title, usually the site's name. Required (it is also the author name of
	// entries that have none).
	Title string
	// SiteURL is the site's home page, the feed's link rel="alternate". Required, absolute http(s).
	SiteURL string
	// FeedURL is where the feed is served, its link rel="self". Required, absolute http(s).
	FeedURL string
	// Updated is when the feed last changed. The zero time means the latest Updated of the
	// entries (after their own defaults); with no entries it is then an error.
	Updated time.Time
	// Language, if set, is the feed's xml:lang, a language tag such as "en" or "es-MX".
	Language string
}

// FeedEntry is one article of an Atom feed.
type FeedEntry struct {
	// ID is the entry's permanent, absolute IRI (http(s) URL or tag: URI). Required; it must not
	// change when the article's URL or title does.
	ID string
	// Title is the entry's title, as plain text. Required.
	Title string
	// URL is the article's page, the entry's link rel="alternate". Required, absolute http(s).
	URL string
	// Summary, as plain text; empty omits <summary>.
	Summary string
	// Authors are display names; blank ones are skipped. With none, the feed's Title is used.
	Authors []string
	// Published is when the entry was first published; the zero time omits <published>.
	Published time.Time
	// Updated is when the entry last changed in a significant way; the zero time means Published.
	// One of the two is required.
	Updated time.Time
	// Categories become <category term="...">; blank ones are skipped.
	Categories []string
}

// languagePattern is the lexical space of xsd:language, which xml:lang takes.
var languagePattern = regexp.MustCompile(`^[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*$`)

type atomFeed struct {
	XMLName xml.Name     `xml:"http://www.w3.org/2005/Atom feed"`
	Lang    string       `xml:"http://www.w3.org/XML/1998/namespace lang,attr,omitempty"`
	ID      string       `xml:"id"`
	Title   atomText     `xml:"title"`
	Updated string       `xml:"updated"`
	Links   []atomLink   `xml:"link"`
	Authors []atomPerson `xml:"author"`
	Entries []atomEntry  `xml:"entry"`
}

type atomEntry struct {
	ID         string         `xml:"id"`
	Title      atomText       `xml:"title"`
	Link       atomLink       `xml:"link"`
	Published  string         `xml:"published,omitempty"`
	Updated    string         `xml:"updated"`
	Summary    *atomText      `xml:"summary"`
	Authors    []atomPerson   `xml:"author"`
	Categories []atomCategory `xml:"category"`
}

type atomText struct {
	Type string `xml:"type,attr"`
	Text string `xml:",chardata"`
}

type atomLink struct {
	Rel  string `xml:"rel,attr"`
	Type string `xml:"type,attr,omitempty"`
	Href string `xml:"href,attr"`
}

type atomPerson struct {
	Name string `xml:"name"`
}

type atomCategory struct {
	Term string `xml:"term,attr"`
}

// AtomFeed renders an RFC 4287 Atom 1.0 feed document: <feed> with id, title, updated, a
// rel="self" and a rel="alternate" link and, when set, xml:lang; then one <entry> per entry in the
// order given, each with id, title, link rel="alternate", published (when set), updated, summary
// type="text" (when not empty), at least one author/name and a category term per category.
//
// All text is XML-escaped, and characters XML cannot carry are removed from titles, summaries,
// author names and categories. A feed with no entries also gets a feed-level author (its Title),
// as RFC 4287 requires an author on the feed unless every entry has one.
//
// It returns an error wrapping ErrMissingField, ErrInvalidID, ErrInvalidURL, ErrInvalidTime or
// ErrInvalidLanguage, naming the feed or the entry's index and the field.
func AtomFeed(f Feed, entries []FeedEntry) ([]byte, error) {
	doc := atomFeed{Entries: make([]atomEntry, len(entries))}
	if err := checkID(f.ID); err != nil {
		return nil, fmt.Errorf("sitefeed: feed: id %s: %w: %v", quote(f.ID), ErrInvalidID, err)
	}
	doc.ID = f.ID
	title := cleanText(f.Title)
	if strings.TrimSpace(title) == "" {
		return nil, fmt.Errorf("sitefeed: feed: title: %w", ErrMissingField)
	}
	doc.Title = atomText{Type: "text", Text: title}
	if err := checkHTTPURL(f.FeedURL); err != nil {
		return nil, fmt.Errorf("sitefeed: feed: feed URL (self link) %s: %w: %v", quote(f.FeedURL), ErrInvalidURL, err)
	}
	if err := checkHTTPURL(f.SiteURL); err != nil {
		return nil, fmt.Errorf("sitefeed: feed: site URL (alternate link) %s: %w: %v", quote(f.SiteURL), ErrInvalidURL, err)
	}
	doc.Links = []atomLink{
		{Rel: "self", Type: "application/atom+xml", Href: f.FeedURL},
		{Rel: "alternate", Type: "text/html", Href: f.SiteURL},
	}
	if f.Language != "" {
		if !languagePattern.MatchString(f.Language) {
			return nil, fmt.Errorf("sitefeed: feed: language %s: %w", quote(f.Language), ErrInvalidLanguage)
		}
		doc.Lang = f.Language
	}

	var latest time.Time
	for i, e := range entries {
		out := &doc.Entries[i]
		if err := checkID(e.ID); err != nil {
			return nil, fmt.Errorf("sitefeed: entry %d: id %s: %w: %v", i, quote(e.ID), ErrInvalidID, err)
		}
		out.ID = e.ID
		t := cleanText(e.Title)
		if strings.TrimSpace(t) == "" {
			return nil, fmt.Errorf("sitefeed: entry %d (%s): title: %w", i, quote(e.ID), ErrMissingField)
		}
		out.Title = atomText{Type: "text", Text: t}
		if err := checkHTTPURL(e.URL); err != nil {
			return nil, fmt.Errorf("sitefeed: entry %d (%s): url %s: %w: %v", i, quote(e.ID), quote(e.URL), ErrInvalidURL, err)
		}
		out.Link = atomLink{Rel: "alternate", Type: "text/html", Href: e.URL}
		if !e.Published.IsZero() {
			s, err := formatTime(e.Published)
			if err != nil {
				return nil, fmt.Errorf("sitefeed: entry %d (%s): published: %w", i, quote(e.ID), err)
			}
			out.Published = s
		}
		updated := e.Updated
		if updated.IsZero() {
			updated = e.Published
		}
		if updated.IsZero() {
			return nil, fmt.Errorf("sitefeed: entry %d (%s): updated (or published): %w", i, quote(e.ID), ErrMissingField)
		}
		s, err := formatTime(updated)
		if err != nil {
			return nil, fmt.Errorf("sitefeed: entry %d (%s): updated: %w", i, quote(e.ID), err)
		}
		out.Updated = s
		if updated.After(latest) {
			latest = updated
		}
		if sum := cleanText(e.Summary); sum != "" {
			out.Summary = &atomText{Type: "text", Text: sum}
		}
		for _, a := range e.Authors {
			if a = cleanText(a); strings.TrimSpace(a) != "" {
				out.Authors = append(out.Authors, atomPerson{Name: a})
			}
		}
		if len(out.Authors) == 0 {
			out.Authors = []atomPerson{{Name: title}}
		}
		for _, c := range e.Categories {
			if c = cleanText(c); strings.TrimSpace(c) != "" {
				out.Categories = append(out.Categories, atomCategory{Term: c})
			}
		}
	}

	updated := f.Updated
	if updated.IsZero() {
		updated = latest
	}
	if updated.IsZero() {
		return nil, fmt.Errorf("sitefeed: feed: updated: %w: set Feed.Updated or give an entry a date", ErrMissingField)
	}
	s, err := formatTime(updated)
	if err != nil {
		return nil, fmt.Errorf("sitefeed: feed: updated: %w", err)
	}
	doc.Updated = s
	if len(entries) == 0 {
		doc.Authors = []atomPerson{{Name: title}}
	}

	var buf bytes.Buffer
	buf.Grow(1024 + len(entries)*1024)
	if err := encode(&buf, doc); err != nil {
		return nil, fmt.Errorf("sitefeed: feed: %w", err)
	}
	return buf.Bytes(), nil
}
