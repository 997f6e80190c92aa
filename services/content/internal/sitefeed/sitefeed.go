// Package sitefeed renders a site's sitemap (sitemaps.org protocol 0.9) and Atom feed (RFC 4287)
// as bytes, ready to be stored in the delivery read model and served as they are.
//
// Both renderers validate what they are given and return an error, never a document a crawler or a
// feed reader would reject: URLs must be absolute http(s) URLs as platform/weburl.CheckAbsolute
// defines them (the same rule every URL field is checked with when it is written), timestamps must fit the four-digit
// years of RFC 3339, and required elements must have a value. Free text (titles, summaries, author
// names, categories) is XML-escaped, and characters that XML 1.0 does not allow or discourages
// (control characters other than tab, newline and carriage return, U+FFFE, U+FFFF, invalid
// UTF-8) are removed from it. URLs and IDs are identifiers, so they are never altered: such a character in
// one is an error instead.
package sitefeed

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/beaconcms/beacon/platform/weburl"
)

// Errors returned (wrapped, with the offending field) by Sitemap and AtomFeed. Test with errors.Is.
var (
	// ErrTooManyURLs: more than MaxURLs sitemap entries.
	ErrTooManyURLs = errors.New("too many URLs")
	// ErrNoURLs: a sitemap with no entries; the sitemaps.org schema requires at least one <url>.
	ErrNoURLs = errors.New("no URLs")
	// ErrTooLarge: the rendered sitemap exceeds MaxSitemapBytes.
	ErrTooLarge = errors.New("sitemap too large")
	// ErrInvalidURL: a URL that is not an absolute http(s) URL, too long, or not a valid URI.
	ErrInvalidURL = errors.New("invalid URL")
	// ErrInvalidID: an Atom id that is not an absolute IRI (http(s) URL, tag: URI, urn: ...).
	ErrInvalidID = errors.New("invalid id")
	// ErrInvalidTime: a timestamp whose UTC year is outside 0001-9999.
	ErrInvalidTime = errors.New("invalid time")
	// ErrMissingField: a field the format requires is empty.
	ErrMissingField = errors.New("missing required field")
	// ErrInvalidLanguage: Feed.Language is not a language tag (xsd:language).
	ErrInvalidLanguage = errors.New("invalid language tag")
)

// Limits of the sitemaps.org protocol.
const (
	MaxURLs         = 50000            // <url> elements per sitemap
	MaxURLLength    = weburl.MaxLength // characters per <loc>
	MinURLLength    = weburl.MinLength // characters per <loc> (minLength of tLoc in sitemap.xsd)
	MaxSitemapBytes = 52428800         // 50 MiB, uncompressed
)

// isXMLChar reports whether r is a Char of XML 1.0 (fifth edition), production [2].
func isXMLChar(r rune) bool {
	switch {
	case r == '\t' || r == '\n' || r == '\r':
		return true
	case r >= 0x20 && r <= 0xD7FF:
		return true
	case r >= 0xE000 && r <= 0xFFFD:
		return true
	case r >= 0x10000 && r <= unicode.MaxRune:
		return true
	}
	return false
}

// keepText reports whether cleanText keeps r: an XML Char that is not a control character,
// except tab, newline and carriage return. (DEL and the C1 controls U+0080-U+009F are XML Chars,
// but XML 1.0 discourages them and no reader shows them.)
func keepText(r rune) bool {
	return isXMLChar(r) && (r == '\t' || r == '\n' || r == '\r' || !unicode.IsControl(r))
}

// cleanText removes invalid UTF-8, characters XML cannot carry and control characters other than
// tab, newline and carriage return. It returns s itself when nothing needs removing.
func cleanText(s string) string {
	bad := -1
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if (r == utf8.RuneError && size == 1) || !keepText(r) {
			bad = i
			break
		}
		i += size
	}
	if bad < 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	b.WriteString(s[:bad])
	for i := bad; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if !(r == utf8.RuneError && size == 1) && keepText(r) {
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

// quote shortens v for an error message.
func quote(v string) string {
	const max = 80
	if len(v) > max {
		cut := max
		for cut > 0 && !utf8.RuneStart(v[cut]) {
			cut--
		}
		v = v[:cut] + "..."
	}
	return fmt.Sprintf("%q", v)
}

// checkHTTPURL reports why raw is not an absolute http or https URL as platform/weburl defines
// it (the rule URL fields are checked with when they are written), or nil.
func checkHTTPURL(raw string) error { return weburl.CheckAbsolute(raw) }

// checkID reports why raw is not an absolute IRI usable as an atom:id, or nil.
func checkID(raw string) error {
	if raw == "" {
		return errors.New("empty")
	}
	if err := weburl.CheckSyntax(raw); err != nil {
		return err
	}
	u, err := url.Parse(raw)
	if err != nil {
		return errors.New("not a valid IRI")
	}
	switch u.Scheme {
	case "":
		return errors.New("not absolute: a scheme such as https: or tag: is required")
	case "http", "https":
		if err := checkHTTPURL(raw); err != nil {
			return err
		}
	default:
		if u.Opaque == "" && u.Host == "" && u.Path == "" {
			return errors.New("nothing after the scheme")
		}
	}
	return nil
}

// formatTime renders t in UTC as an RFC 3339 date-time with whole seconds, e.g.
// 2025-03-01T12:30:00Z: the W3C Datetime profile that sitemaps and Atom both use.
func formatTime(t time.Time) (string, error) {
	u := t.UTC()
	if y := u.Year(); y < 1 || y > 9999 {
		return "", fmt.Errorf("year %d is outside 0001-9999: %w", y, ErrInvalidTime)
	}
	return u.Format(time.RFC3339), nil
}
