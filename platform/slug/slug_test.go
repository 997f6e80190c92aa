package slug_test

import (
	"strings"
	"testing"

	"github.com/beaconcms/beacon/platform/slug"
)

func TestNormalize(t *testing.T) {
	long := strings.Repeat("word ", 30) // 150 bytes, hyphen every 5
	tests := []struct {
		name, in, want string
	}{
		{"empty", "", ""},
		{"only punctuation", " !!! -- ??? ", ""},
		{"simple", "Hello World", "hello-world"},
		{"already a slug", "hello-world", "hello-world"},
		{"digits kept", "Top 10 Tips for 2025", "top-10-tips-for-2025"},
		{"runs collapse", "a  --  b__c...d", "a-b-c-d"},
		{"trim", "  --Hello--  ", "hello"},
		{"apostrophe splits", "Women's Health", "women-s-health"},
		{"accents", "Crème brûlée à la café", "creme-brulee-a-la-cafe"},
		{"german", "Über Größe", "uber-grosse"},
		{"capital sharp s", "GROẞE", "grosse"},
		{"ligatures ae oe", "Æsop Œuvre encyclopædia", "aesop-oeuvre-encyclopaedia"},
		{"nordic", "Søren Ø Ærø", "soren-o-aero"},
		{"polish", "Łódź Wrocław", "lodz-wroclaw"},
		{"croatian and icelandic", "Đakovo Þór Guðrún", "dakovo-thor-gudrun"},
		{"turkish dotless i", "Işık İstanbul", "isik-istanbul"},
		{"compatibility forms", "ﬁle №5 x²", "file-no5-x2"},
		{"fullwidth", "ＡＢＣ１２３", "abc123"},
		{"decomposed input", "Cafe\u0301 au lait", "cafe-au-lait"},
		{"non latin script only", "日本語", ""},
		{"non latin mixed", "Диабет type 2", "type-2"},
		{"emoji", "I ❤️ Go 🚀", "i-go"},
		{"control chars", "a\x00b\tc\nd", "a-b-c-d"},
		{"invalid utf8", "a\xffb", "a-b"},
		{"cut at hyphen", long, strings.TrimSuffix(strings.Repeat("word-", 19), "-")},
		{"cut no hyphen", strings.Repeat("a", 200), strings.Repeat("a", slug.MaxLen)},
		{"exact max", strings.Repeat("a", slug.MaxLen), strings.Repeat("a", slug.MaxLen)},
		{"max then separator", strings.Repeat("a", slug.MaxLen) + " b", strings.Repeat("a", slug.MaxLen)},
		{"word crossing max", strings.Repeat("a", 90) + " bbbbbbbbbb", strings.Repeat("a", 90)},
		{"word ending at max", strings.Repeat("a", 90) + " bbbbb cc", strings.Repeat("a", 90) + "-bbbbb"},
		{"transliteration crossing max", strings.Repeat("a", 95) + "ß", strings.Repeat("a", 95) + "s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := slug.Normalize(tt.in)
			if got != tt.want {
				t.Errorf("Normalize(%q) = %q, want %q", tt.in, got, tt.want)
			}
			checkNormalized(t, tt.in, got)
		})
	}
}

func TestValid(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"a", true},
		{"hello-world", true},
		{"top-10-tips", true},
		{"0", true},
		{strings.Repeat("a", slug.MaxLen), true},
		{strings.Repeat("a", slug.MaxLen+1), false},
		{"", false},
		{"-", false},
		{"-a", false},
		{"a-", false},
		{"a--b", false},
		{"Hello", false},
		{"a_b", false},
		{"a b", false},
		{"café", false},
		{"a\x00", false},
	}
	for _, tt := range tests {
		if got := slug.Valid(tt.in); got != tt.want {
			t.Errorf("Valid(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func FuzzNormalize(f *testing.F) {
	for _, s := range []string{
		"", "Hello World", "Crème brûlée", "Über Größe", "Łódź", "日本語", "a\xffb",
		"  --x--  ", "ﬁle №5", strings.Repeat("ab ", 40), strings.Repeat("ß", 60),
		strings.Repeat("a", 95) + "ß", "e\u0301\u0301\u0301",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		checkNormalized(t, s, slug.Normalize(s))
	})
}

// checkNormalized asserts the invariants every Normalize result must satisfy.
func checkNormalized(tb testing.TB, in, got string) {
	tb.Helper()
	if got != "" && !slug.Valid(got) {
		tb.Errorf("Normalize(%q) = %q, which is not Valid", in, got)
	}
	if len(got) > slug.MaxLen {
		tb.Errorf("Normalize(%q) has length %d > MaxLen", in, len(got))
	}
	if again := slug.Normalize(got); again != got {
		tb.Errorf("Normalize not idempotent: Normalize(%q) = %q, Normalize of that = %q", in, got, again)
	}
}

func TestNormalizeExplicit(t *testing.T) {
	tests := []struct {
		name, in, want string
		fits           bool
	}{
		{"normalized", " My Own Slug ", "my-own-slug", true},
		{"exactly MaxLen", strings.Repeat("a", slug.MaxLen), strings.Repeat("a", slug.MaxLen), true},
		{"MaxLen after dropping punctuation", strings.Repeat("a", slug.MaxLen) + "!!!", strings.Repeat("a", slug.MaxLen), true},
		{"one over MaxLen", strings.Repeat("a", slug.MaxLen+1), strings.Repeat("a", slug.MaxLen+1), false},
		{"words over MaxLen", strings.Repeat("word-", 20), strings.Repeat("word-", 20), false},
		{"over MaxLen only once transliterated", strings.Repeat("ß", 49), strings.Repeat("ß", 49), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, fits := slug.NormalizeExplicit(tt.in)
			if got != tt.want || fits != tt.fits {
				t.Errorf("NormalizeExplicit(%q) = %q, %v; want %q, %v", tt.in, got, fits, tt.want, tt.fits)
			}
			if !fits && slug.Valid(got) {
				t.Errorf("NormalizeExplicit(%q) did not fit but returned a Valid slug %q", tt.in, got)
			}
		})
	}
}
