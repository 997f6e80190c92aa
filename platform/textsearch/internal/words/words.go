// Package words is the tokenizer of package textsearch: what a word is, how it is folded and
// stemmed, and which words are stopwords. It is apart so that the test-only uncompressed index
// (../uncompressed) tokenizes with the very same code.
package words

import (
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// MaxTokenBytes caps the folded length of one token. Longer tokens (base64 blobs,
// URLs without separators, ...) are cut on a rune boundary, at index and at query
// time alike, so they still match each other.
const MaxTokenBytes = 64

// isApostrophe reports whether r is an apostrophe that may join two halves of a
// word ("Crohn's", "don’t").
func isApostrophe(r rune) bool { return r == '\'' || r == '\u2019' || r == '\u02bc' }

// isIgnorable reports whether r is an invisible format character that occurs
// inside words (soft hyphen, zero-width (non-)joiner) and is dropped silently.
func isIgnorable(r rune) bool { return r == '\u00ad' || r == '\u200c' || r == '\u200d' }

// IsWordRune reports whether r is part of a token: a letter, a number, a
// combining mark (which belongs to the preceding letter) or an ignorable format
// character.
func IsWordRune(r rune) bool {
	if r < utf8.RuneSelf {
		return 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9'
	}
	if r == '\u02bc' { // MODIFIER LETTER APOSTROPHE is a letter (Lm) but used as apostrophe
		return false
	}
	return unicode.IsLetter(r) || unicode.IsNumber(r) || unicode.IsMark(r) || isIgnorable(r)
}

func isLetter(r rune) bool {
	if r < utf8.RuneSelf {
		return 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z'
	}
	return r != '\u02bc' && unicode.IsLetter(r)
}

func DecodeRune(s string, i int) (rune, int) {
	if c := s[i]; c < utf8.RuneSelf {
		return rune(c), 1
	}
	return utf8.DecodeRuneInString(s[i:])
}

// WordEnd returns the end of the token that starts at s[i] (which must be a word
// rune). An apostrophe between a letter or digit and a letter stays inside the
// token, so "Crohn's" is one token.
func WordEnd(s string, i int) int {
	prevAlnum := false
	for i < len(s) {
		r, n := DecodeRune(s, i)
		if IsWordRune(r) {
			prevAlnum = isLetter(r) || unicode.IsNumber(r) || (prevAlnum && (unicode.IsMark(r) || isIgnorable(r)))
			i += n
			continue
		}
		if isApostrophe(r) && prevAlnum && i+n < len(s) {
			if r2, _ := DecodeRune(s, i+n); isLetter(r2) {
				i += n
				continue
			}
		}
		break
	}
	return i
}

// AppendFold appends the folded form of the raw token w to dst: NFKD
// decomposition, combining marks (Mn, Me) dropped, lowercased, a few letters
// without a decomposition transliterated (ß→ss, æ→ae, ø→o, ł→l, ...), and
// apostrophes and ignorable characters dropped. The result is cut to
// MaxTokenBytes on a rune boundary.
func AppendFold(dst []byte, w string) []byte {
	start := len(dst)
	for i := 0; i < len(w); {
		c := w[i]
		if c < utf8.RuneSelf {
			switch {
			case 'A' <= c && c <= 'Z':
				dst = append(dst, c+('a'-'A'))
			case 'a' <= c && c <= 'z', '0' <= c && c <= '9':
				dst = append(dst, c)
			}
			i++
			continue
		}
		p := norm.NFKD.PropertiesString(w[i:])
		n := p.Size()
		if n == 0 { // invalid UTF-8; cannot happen for runes accepted by IsWordRune
			n = 1
		}
		if d := p.Decomposition(); d != nil {
			for len(d) > 0 {
				r, sz := utf8.DecodeRune(d)
				d = d[sz:]
				dst = appendBaseRune(dst, r)
			}
		} else {
			r, _ := utf8.DecodeRuneInString(w[i:])
			dst = appendBaseRune(dst, r)
		}
		i += n
	}
	if len(dst)-start > MaxTokenBytes {
		cut := start + MaxTokenBytes
		for cut > start && !utf8.RuneStart(dst[cut]) {
			cut--
		}
		dst = dst[:cut]
	}
	return dst
}

// appendBaseRune appends one already decomposed rune in folded form.
func appendBaseRune(dst []byte, r rune) []byte {
	if r < utf8.RuneSelf {
		switch {
		case 'A' <= r && r <= 'Z':
			return append(dst, byte(r+('a'-'A')))
		case 'a' <= r && r <= 'z', '0' <= r && r <= '9':
			return append(dst, byte(r))
		}
		return dst // punctuation produced by a compatibility decomposition (½ → 1⁄2)
	}
	if unicode.In(r, unicode.Mn, unicode.Me) || isApostrophe(r) || isIgnorable(r) {
		return dst
	}
	r = unicode.ToLower(r)
	switch r {
	case 'ß':
		return append(dst, "ss"...)
	case 'æ':
		return append(dst, "ae"...)
	case 'œ':
		return append(dst, "oe"...)
	case 'ø':
		return append(dst, 'o')
	case 'ł':
		return append(dst, 'l')
	case 'đ', 'ð':
		return append(dst, 'd')
	case 'þ':
		return append(dst, "th"...)
	case 'ħ':
		return append(dst, 'h')
	case 'ı':
		return append(dst, 'i')
	case 'ŧ':
		return append(dst, 't')
	}
	if unicode.IsLetter(r) || unicode.IsNumber(r) || unicode.Is(unicode.Mc, r) {
		return utf8.AppendRune(dst, r)
	}
	return dst
}

// Stem applies a light English suffix stripper to a folded token in place and
// returns the (possibly shorter) result, which shares w's memory. Only tokens of
// at least three ASCII letters are touched; tokens with digits or non-ASCII
// letters are returned unchanged. The same function runs at index and at query
// time, so only consistency matters, not that stems are real words.
//
// Steps, in order (a "Stem" must keep at least three letters):
//
//  1. plurals: -sses→-ss, -ies→-i, -s→"" except after s, u or i
//     (stress, virus, diagnosis keep their s);
//  2. one of -ing or -ed (not -eed), when the rest contains a vowel; a doubled
//     final consonant other than l, s, z is then undoubled (stopped→stop);
//  3. a final y after a consonant becomes i (study, studies, studied → studi);
//  4. -li is dropped when at least four letters remain (quickly→quick);
//  5. a final e is dropped unless it follows another e (dose, doses, dosing,
//     dosed → dos; viruses→viruse→virus; knee stays).
//
// Known limitations of such a small stemmer: some unrelated words conflate
// (care and cars → car) and some irregular forms do not (use/using, fly/flies).
func Stem(w []byte) []byte {
	if len(w) < 3 {
		return w
	}
	for _, c := range w {
		if c < 'a' || c > 'z' {
			return w
		}
	}
	// 1. plurals
	if n := len(w); n >= 4 && w[n-1] == 's' {
		switch {
		case hasSuffix(w, "sses"):
			w = w[:n-2]
		case hasSuffix(w, "ies") && n-2 >= 3:
			w = w[:n-2]
		case w[n-2] == 's' || w[n-2] == 'u' || w[n-2] == 'i':
		default:
			w = w[:n-1]
		}
	}
	// 2. -ing / -ed
	stripped := false
	switch n := len(w); {
	case hasSuffix(w, "ing") && n-3 >= 3 && hasVowel(w[:n-3]):
		w, stripped = w[:n-3], true
	case hasSuffix(w, "ed") && !hasSuffix(w, "eed") && n-2 >= 3 && hasVowel(w[:n-2]):
		w, stripped = w[:n-2], true
	}
	if n := len(w); stripped && n >= 4 && w[n-1] == w[n-2] && !isVowel(w[n-1]) {
		switch w[n-1] {
		case 'l', 's', 'z':
		default:
			w = w[:n-1]
		}
	}
	// 3. y → i
	if n := len(w); n >= 3 && w[n-1] == 'y' && !isVowel(w[n-2]) {
		w[n-1] = 'i'
	}
	// 4. -li
	if n := len(w); n-2 >= 4 && hasSuffix(w, "li") {
		w = w[:n-2]
	}
	// 5. final e
	if n := len(w); n >= 4 && w[n-1] == 'e' && w[n-2] != 'e' {
		w = w[:n-1]
	}
	return w
}

func hasSuffix(w []byte, suf string) bool {
	return len(w) >= len(suf) && string(w[len(w)-len(suf):]) == suf
}

func isVowel(c byte) bool {
	switch c {
	case 'a', 'e', 'i', 'o', 'u', 'y':
		return true
	}
	return false
}

func hasVowel(w []byte) bool {
	for _, c := range w {
		if isVowel(c) {
			return true
		}
	}
	return false
}

// stopwords is the small English stopword list. A stopword is dropped from an
// unquoted query when the query has other terms; it is always indexed, so
// phrases containing stopwords and stopword-only queries work. Negations
// ("no", "not") are deliberately absent: they matter in health questions.
var stopwords = func() map[string]struct{} {
	m := make(map[string]struct{})
	for _, w := range []string{
		"a", "about", "an", "and", "are", "as", "at", "be", "been", "but", "by",
		"can", "do", "does", "for", "from", "had", "has", "have", "he", "her", "his",
		"how", "i", "if", "in", "into", "is", "it", "its", "me", "my", "of", "on",
		"or", "our", "she", "so", "than", "that", "the", "their", "them", "then",
		"there", "these", "they", "this", "those", "to", "was", "we", "were", "what",
		"when", "where", "which", "who", "why", "will", "with", "you", "your",
	} {
		m[w] = struct{}{}
	}
	return m
}()

func IsStopword(folded []byte) bool {
	_, ok := stopwords[string(folded)]
	return ok
}

// IsStopwordString is IsStopword of a folded word held as a string.
func IsStopwordString(folded string) bool {
	_, ok := stopwords[folded]
	return ok
}
