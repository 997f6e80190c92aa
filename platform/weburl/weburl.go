// Package weburl is Beacon's one rule for the web URLs it stores and publishes: a site's base
// URL and every URL field of an article (citations, people, SEO). Services check a URL with it
// when it is written, and the renderers of published documents (sitemap, Atom feed) check with
// the same functions, so a URL accepted at write time can always be published: a write is
// refused instead of a sitemap failing later.
//
// URLs are identifiers, so they are never altered: a character that has to be percent-encoded
// is an error, not something to fix up.
package weburl

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Length limits of an absolute URL, in characters. They are the limits of a sitemap <loc>
// (sitemaps.org protocol 0.9), the strictest consumer of our URLs.
const (
	MaxLength = 2048
	MinLength = 12
)

// MaxBaseLength is the longest base URL CheckBase accepts, in characters. It leaves room for
// the paths a site's pages append to it (for example "/articles/" and a slug) within MaxLength.
const MaxBaseLength = 1024

// CheckAbsolute reports why raw is not an absolute web URL that Beacon accepts, or nil. Such a
// URL:
//   - is written as an RFC 3986 URI, or with non-ASCII characters an RFC 3987 IRI: no white
//     space, control characters or " < > \ ^ ` { | }, '%' only before two hex digits, at most
//     one '#', and '[' ']' only around an IPv6 host (see CheckSyntax);
//   - has the scheme http or https (any case) and a host name, and no user info;
//   - writes its host without percent-encoding (so no IPv6 zone either);
//   - has no port, or a port from 1 to 65535;
//   - is MinLength to MaxLength characters long.
//
// The error's message reads after a field name ("base_url must be ..."), so it can be used as a
// field violation as it is.
func CheckAbsolute(raw string) error {
	if raw == "" {
		return errors.New("must be an absolute http or https URL")
	}
	n := utf8.RuneCountInString(raw)
	if n > MaxLength {
		return fmt.Errorf("must be at most %d characters (it has %d)", MaxLength, n)
	}
	if err := CheckSyntax(raw); err != nil {
		return fmt.Errorf("must be a valid URL: %w", err)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return errors.New("must be a valid URL")
	}
	switch {
	case u.Scheme == "": // url.Parse lower-cases the scheme
		return errors.New("must be an absolute http or https URL (it has no scheme)")
	case u.Scheme != "http" && u.Scheme != "https":
		return fmt.Errorf("must be an http or https URL (its scheme is %q)", u.Scheme)
	case u.Opaque != "" || u.Hostname() == "":
		return errors.New("must be an absolute http or https URL with a host (such as https://example.org/)")
	case u.User != nil:
		return errors.New("must not contain user info (user@ or user:password@)")
	case strings.Contains(authority(raw), "%"):
		// Percent-encoded host names (and IPv6 zones) decode to characters that cannot be
		// checked here; a host is written as it is (non-ASCII letters are fine).
		return errors.New("must not percent-encode its host ('%' before the path)")
	}
	if hostHasPort(u.Host) {
		p := u.Port()
		if n, err := strconv.Atoi(p); err != nil || len(p) > 5 || n < 1 || n > 65535 {
			return fmt.Errorf("must have a port from 1 to 65535 (it has %q)", p)
		}
	}
	if n < MinLength {
		return fmt.Errorf("must be at least %d characters (it has %d)", MinLength, n)
	}
	return nil
}

// authority returns the part of raw between "//" and the first '/', '?' or '#' after it.
func authority(raw string) string {
	_, rest, ok := strings.Cut(raw, "//")
	if !ok {
		return ""
	}
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		rest = rest[:i]
	}
	return rest
}

// hostHasPort reports whether the authority's host part ends with a ":port" (possibly empty).
func hostHasPort(host string) bool {
	if i := strings.LastIndexByte(host, ']'); i >= 0 { // IPv6 literal
		host = host[i+1:]
	}
	return strings.Contains(host, ":")
}

// CheckBase reports why raw is not a site's base URL, or nil. The pages of a site are the base
// URL without its trailing slashes followed by a path: Home(raw) is the home page and, for
// example, Join(raw, "/articles/"+slug) an article. So a base URL is an absolute URL as
// CheckAbsolute says once its home page is formed (so "https://x.io" is fine), has no query and
// no fragment (a path appended after them would not be a path), and is at most MaxBaseLength
// characters long.
func CheckBase(raw string) error {
	if n := utf8.RuneCountInString(raw); n > MaxBaseLength {
		return fmt.Errorf("must be at most %d characters (it has %d)", MaxBaseLength, n)
	}
	if err := CheckAbsolute(Home(raw)); err != nil {
		return err
	}
	if strings.ContainsAny(raw, "?#") {
		return errors.New("must not have a query or fragment ('?' or '#'): pages are formed by appending paths to it")
	}
	return nil
}

// Home is the home page of the site whose base URL is base: base without its trailing slashes,
// then "/".
func Home(base string) string { return Join(base, "/") }

// Join is the page at path under base: base without its trailing slashes, then path. path must
// begin with "/" and be percent-encoded already (url.PathEscape for a segment).
func Join(base, path string) string { return strings.TrimRight(base, "/") + path }

// CheckSyntax reports why raw is not written as an RFC 3986 URI (or, with non-ASCII characters,
// an RFC 3987 IRI), or nil. It rejects what must be percent-encoded: white space, control
// characters, the ASCII characters " < > \ ^ ` { | }, a '%' not followed by two hex digits, a
// second '#', and '[' or ']' outside the authority (they are only for IPv6 literals). It checks
// the characters only: it applies to any scheme (tag:, urn:, ...).
func CheckSyntax(raw string) error {
	if !utf8.ValidString(raw) {
		return errors.New("not valid UTF-8")
	}
	authStart, authEnd := -1, -1
	if i := strings.IndexByte(raw, ':'); i > 0 && strings.HasPrefix(raw[i+1:], "//") {
		authStart = i + 3
		authEnd = len(raw)
		if j := strings.IndexAny(raw[authStart:], "/?#"); j >= 0 {
			authEnd = authStart + j
		}
	}
	hashes := 0
	for i := 0; i < len(raw); {
		r, size := utf8.DecodeRuneInString(raw[i:])
		switch {
		case r >= 0x80:
			if !isIRIChar(r) {
				return fmt.Errorf("contains %U, which must be percent-encoded", r)
			}
		case r == '%':
			if i+2 >= len(raw) || !isHex(raw[i+1]) || !isHex(raw[i+2]) {
				return errors.New("'%' not followed by two hex digits")
			}
		case r == '#':
			if hashes++; hashes > 1 {
				return errors.New("more than one '#'")
			}
		case r == '[' || r == ']':
			if i < authStart || i >= authEnd {
				return fmt.Errorf("%q outside the host must be percent-encoded", r)
			}
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9',
			strings.ContainsRune("-._~:/?@!$&'()*+,;=", r):
		default:
			return fmt.Errorf("contains %q, which must be percent-encoded", r)
		}
		i += size
	}
	return nil
}

// isIRIChar reports whether the non-ASCII rune r may appear unencoded in an IRI: ucschar or
// iprivate of RFC 3987: no controls, white space, surrogates or noncharacters.
func isIRIChar(r rune) bool {
	switch {
	case unicode.IsSpace(r):
		return false
	case r >= 0xA0 && r <= 0xD7FF, r >= 0xE000 && r <= 0xFDCF, r >= 0xFDF0 && r <= 0xFFEF:
		return true
	case r >= 0x10000 && r <= unicode.MaxRune:
		return r&0xFFFE != 0xFFFE // not U+xFFFE or U+xFFFF
	}
	return false
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}
