package textsearch_test

import (
	"slices"
	"testing"

	"github.com/beaconcms/beacon/platform/textsearch"
)

var fuzzCorpus = []textsearch.Document{
	{ID: "a", Title: "Kratom withdrawal", Summary: "What to expect.", Body: "Withdrawal symptoms include anxiety, insomnia and muscle aches."},
	{ID: "b", Title: "Kratóm dosing", Summary: "Doses and safety.", Body: "The side effects of kratom depend on the dose."},
	{ID: "c", Title: "Crohn's disease", Body: "Crohn’s is an inflammatory bowel disease. Straße ﬁ ＡＢＣ B₁₂."},
	{ID: "d", Title: "Диабет", Summary: "Διαβήτης", Body: "日本語のテキスト and COVID-19 vaccines."},
	{ID: "e", Title: "Supporting a friend", Body: "Support groups help. \"Quoted\" text, soft\u00adhyphen, e\u0301."},
	{ID: "f", Body: ""},
}

// FuzzSearch indexes a fixed corpus plus one fuzzed document, then checks the
// result invariants of a fuzzed query: no panic, hits are unique IDs of indexed
// documents, sorted by score (desc) then ID, and a deleted document never
// matches again.
func FuzzSearch(f *testing.F) {
	seeds := [][2]string{
		{"", ""},
		{"kratom withdrawal", "kratom"},
		{"Kratóm WITHDRAWALS", "withdr"},
		{"side effects of kratom", `"side effects"`},
		{"a b c", `"`},
		{"\xff\xfe", "\xff"},
		{"the of and", "the"},
		{"crohn's", "crohn's disease"},
		{"x", `"unclosed phrase`},
		{"supporting", "support gr"},
		{"e\u0301\u0301\u0301", "\u0301"},
		{"ﬁ ﬂ ﬃ", "fi"},
		{"word word word word", `"word word word word word word word word word"`},
		{"1 2 3 4 5 6 7 8 9 10", "1 2 3 4 5 6 7 8 9"},
	}
	for _, s := range seeds {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, body, query string) {
		ix := textsearch.New()
		known := map[string]bool{"fuzz": true}
		for _, d := range fuzzCorpus {
			ix.Put(d)
			known[d.ID] = true
		}
		ix.Put(textsearch.Document{ID: "fuzz", Title: body, Summary: body, Body: body})
		hits := ix.Search(query)
		checkHits(t, query, hits, known)
		if again := ix.Search(query); !slices.Equal(hits, again) {
			t.Errorf("Search(%q) not deterministic: %v then %v", query, hits, again)
		}
		// Searching for the document's own text finds it (when usable).
		if own := ix.Search(body); own != nil {
			checkHits(t, body, own, known)
		}
		ix.Delete("fuzz")
		for _, h := range ix.Search(query) {
			if h.ID == "fuzz" {
				t.Errorf("Search(%q) found the deleted document", query)
			}
		}
	})
}
