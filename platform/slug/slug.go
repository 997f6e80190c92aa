// Package slug turns arbitrary text into URL path segments ("slugs") and checks
// whether a string already is one.
//
// A slug matches ^[a-z0-9]+(-[a-z0-9]+)*$ and is at most MaxLen bytes long.
// Both functions are pure and safe for concurrent use.
package slug

import (
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// MaxLen is the maximum length of a slug in bytes (a slug is ASCII, so also in characters).
const MaxLen = 96

// transliterations maps lowercase letters that Unicode NFKD does not decompose into
// a base letter plus combining marks to their conventional ASCII spelling.
// Keys are the results of unicode.ToLower, so only lowercase forms are listed
// (ẞ lowercases to ß, Æ to æ, and so on).
func transliterate(r rune) (string, bool) {
	switch r {
	case 'ß':
		return "ss", true
	case 'æ':
		return "ae", true
	case 'œ':
		return "oe", true
	case 'ø':
		return "o", true
	case 'ł':
		return "l", true
	case 'đ', 'ð':
		return "d", true
	case 'þ':
		return "th", true
	case 'ħ':
		return "h", true
	case 'ı': // dotless i (Turkish)
		return "i", true
	case 'ŧ':
		return "t", true
	case 'ŋ':
		return "ng", true
	case 'ĸ':
		return "k", true
	}
	return "", false
}

// Normalize turns any text into a slug.
//
// The text is decomposed with Unicode NFKD and combining marks are dropped (é→e,
// ﬁ→fi, ²→2); letters that do not decompose are transliterated from a small table
// (ß→ss, æ→ae, œ→oe, ø→o, ł→l, đ/ð→d, þ→th, ı→i, ...). What remains is lowercased;
// ASCII letters and digits are kept and every other run of characters (spaces,
// punctuation, apostrophes, symbols, letters of non-Latin scripts) becomes a single
// hyphen. The result has no leading or trailing hyphen.
//
// A result longer than MaxLen is cut at the last hyphen that keeps it within MaxLen;
// only when there is no such hyphen is it cut mid-word at exactly MaxLen. The result
// never ends with '-'.
//
// Normalize returns "" when nothing usable remains (for example for "", "!!!" or
// text written only in a non-Latin script). For any s, Normalize(s) is "" or Valid,
// and Normalize(Normalize(s)) == Normalize(s).
func Normalize(s string) string {
	n, _ := normalize(s)
	return n
}

// NormalizeExplicit normalizes a slug a client chose, as Normalize does, without cutting it:
// when Normalize would cut s to MaxLen, it returns s unchanged and false, so that the caller
// refuses it (s is then not Valid) rather than store a shortened slug the client did not ask for.
func NormalizeExplicit(s string) (string, bool) {
	n, fits := normalize(s)
	if !fits {
		return s, false
	}
	return n, true
}

// normalize returns Normalize(s) and whether it fits in MaxLen without being cut.
func normalize(s string) (string, bool) {
	var b strings.Builder
	b.Grow(min(len(s), MaxLen+1))
	pendingHyphen := false
	emit := func(part string) {
		if pendingHyphen && b.Len() > 0 {
			b.WriteByte('-')
		}
		pendingHyphen = false
		b.WriteString(part)
	}
	var it norm.Iter
	it.InitString(norm.NFKD, s)
	// One byte past MaxLen is enough to know whether the cut falls on a word
	// boundary, so stop reading input there.
	for !it.Done() && b.Len() <= MaxLen {
		seg := string(it.Next())
		for _, r := range seg {
			if b.Len() > MaxLen {
				break
			}
			if unicode.Is(unicode.Mn, r) {
				// A combining mark belongs to the preceding letter: drop it
				// without splitting the word (e + ́ → e).
				continue
			}
			r = unicode.ToLower(r)
			switch {
			case 'a' <= r && r <= 'z', '0' <= r && r <= '9':
				emit(string(r))
			default:
				if t, ok := transliterate(r); ok {
					emit(t)
				} else {
					pendingHyphen = true
				}
			}
		}
	}
	return cut(b.String()), b.Len() <= MaxLen
}

// cut shortens a hyphen-separated, hyphen-trimmed string to at most MaxLen bytes,
// preferring to cut at a hyphen.
func cut(s string) string {
	if len(s) <= MaxLen {
		return s
	}
	if s[MaxLen] == '-' {
		return s[:MaxLen]
	}
	if i := strings.LastIndexByte(s[:MaxLen], '-'); i > 0 {
		return s[:i]
	}
	return s[:MaxLen]
}

// Valid reports whether s is already a normalized slug: it matches
// ^[a-z0-9]+(-[a-z0-9]+)*$ and is at most MaxLen bytes long. Every non-empty
// result of Normalize is Valid, and Normalize(s) == s for every Valid s.
func Valid(s string) bool {
	if s == "" || len(s) > MaxLen {
		return false
	}
	prevHyphen := true // forbids a leading hyphen
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9':
			prevHyphen = false
		case c == '-':
			if prevHyphen {
				return false
			}
			prevHyphen = true
		default:
			return false
		}
	}
	return !prevHyphen
}
