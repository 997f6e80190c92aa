package sitefeed

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"time"
)

// SitemapNamespace is the XML namespace of sitemaps.org protocol 0.9.
const SitemapNamespace = "http://www.sitemaps.org/schemas/sitemap/0.9"

// URLEntry is one page of the sitemap.
type URLEntry struct {
	// Loc is the page's absolute http or https URL, already percent-encoded where needed
	// (white space is rejected, non-ASCII characters are kept as they are). It is written
	// unchanged, XML-escaped.
	Loc string
	// LastMod is when the page last changed. The zero time omits <lastmod>.
	LastMod time.Time
}

type xmlURLSet struct {
	XMLName xml.Name `xml:"http://www.sitemaps.org/schemas/sitemap/0.9 urlset"`
	URLs    []xmlURL `xml:"url"`
}

type xmlURL struct {
	Loc     string `xml:"loc"`
	LastMod string `xml:"lastmod,omitempty"`
}

// Sitemap renders a sitemaps.org 0.9 <urlset>: UTF-8 with an XML declaration, one <url> per entry
// in the order given, each with <loc> and, when LastMod is set, <lastmod> as an RFC 3339 UTC
// date-time (W3C Datetime).
//
// It returns an error wrapping ErrNoURLs for no entries (the schema requires at least one <url>),
// ErrTooManyURLs for more than MaxURLs, ErrInvalidURL for a Loc that is not an absolute http(s)
// URL of MinURLLength to MaxURLLength characters, ErrInvalidTime for a LastMod outside years
// 0001-9999, and ErrTooLarge when the document would exceed MaxSitemapBytes.
func Sitemap(entries []URLEntry) ([]byte, error) {
	switch {
	case len(entries) == 0:
		return nil, fmt.Errorf("sitefeed: sitemap: %w: at least one entry is required", ErrNoURLs)
	case len(entries) > MaxURLs:
		return nil, fmt.Errorf("sitefeed: sitemap: %w: %d entries, at most %d allowed", ErrTooManyURLs, len(entries), MaxURLs)
	}
	set := xmlURLSet{URLs: make([]xmlURL, len(entries))}
	for i, e := range entries {
		if err := checkHTTPURL(e.Loc); err != nil {
			return nil, fmt.Errorf("sitefeed: sitemap entry %d: loc %s: %w: %v", i, quote(e.Loc), ErrInvalidURL, err)
		}
		set.URLs[i].Loc = e.Loc
		if !e.LastMod.IsZero() {
			s, err := formatTime(e.LastMod)
			if err != nil {
				return nil, fmt.Errorf("sitefeed: sitemap entry %d: lastmod: %w", i, err)
			}
			set.URLs[i].LastMod = s
		}
	}
	var buf bytes.Buffer
	buf.Grow(128 + len(entries)*128)
	if err := encode(&buf, set); err != nil {
		return nil, fmt.Errorf("sitefeed: sitemap: %w", err)
	}
	if buf.Len() > MaxSitemapBytes {
		return nil, fmt.Errorf("sitefeed: sitemap: %w: %d bytes, at most %d allowed", ErrTooLarge, buf.Len(), MaxSitemapBytes)
	}
	return buf.Bytes(), nil
}

// encode writes the XML declaration, v indented by two spaces, and a final newline.
func encode(buf *bytes.Buffer, v any) error {
	buf.WriteString(xml.Header)
	enc := xml.NewEncoder(buf)
	enc.Indent("", "  ")
	if err := enc.Encode(v); err != nil {
		return err
	}
	if err := enc.Close(); err != nil {
		return err
	}
	buf.WriteByte('\n')
	return nil
}
