package textsearch_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/beaconcms/beacon/platform/textsearch"
)

func build(docs ...textsearch.Document) *textsearch.Index {
	ix := textsearch.New()
	for _, d := range docs {
		ix.Put(d)
	}
	return ix
}

func ids(hits []textsearch.Hit) []string {
	if hits == nil {
		return nil
	}
	out := make([]string, len(hits))
	for i, h := range hits {
		out[i] = h.ID
	}
	return out
}

func sortedIDs(hits []textsearch.Hit) []string {
	out := ids(hits)
	slices.Sort(out)
	return out
}

// checkHits asserts the invariants every result must satisfy.
func checkHits(t testing.TB, q string, hits []textsearch.Hit, known map[string]bool) {
	t.Helper()
	if hits != nil && len(hits) == 0 {
		t.Errorf("Search(%q) returned an empty non-nil slice", q)
	}
	seen := make(map[string]bool, len(hits))
	for i, h := range hits {
		if seen[h.ID] {
			t.Errorf("Search(%q): duplicate hit %q", q, h.ID)
		}
		seen[h.ID] = true
		if known != nil && !known[h.ID] {
			t.Errorf("Search(%q): hit %q is not an indexed document", q, h.ID)
		}
		if math.IsNaN(h.Score) || math.IsInf(h.Score, 0) || h.Score <= 0 {
			t.Errorf("Search(%q): hit %q has score %v", q, h.ID, h.Score)
		}
		if i > 0 {
			p := hits[i-1]
			if p.Score < h.Score || p.Score == h.Score && p.ID >= h.ID {
				t.Errorf("Search(%q): hits %d (%q %v) and %d (%q %v) out of order", q, i-1, p.ID, p.Score, i, h.ID, h.Score)
			}
		}
	}
}

// matchCase indexes a single document with the given body and reports whether
// the query finds it.
type matchCase struct {
	name  string
	text  string
	query string
	want  bool
}

func runMatchCases(t *testing.T, tests []matchCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ix := build(
				textsearch.Document{ID: "doc", Body: tt.text},
				textsearch.Document{ID: "other", Body: "unrelated filler text about gardening"},
			)
			hits := ix.Search(tt.query)
			checkHits(t, tt.query, hits, map[string]bool{"doc": true, "other": true})
			got := slices.Equal(ids(hits), []string{"doc"})
			if got != tt.want {
				t.Errorf("body %q, Search(%q) = %v, want match=%v", tt.text, tt.query, ids(hits), tt.want)
			}
		})
	}
}

func TestFolding(t *testing.T) {
	runMatchCases(t, []matchCase{
		{"accent in document", "Kratóm withdrawal", "kratom", true},
		{"accent in query", "kratom withdrawal", "Kratóm", true},
		{"upper case", "KRATOM WITHDRAWAL", "kratom", true},
		{"decomposed input", "Cafe\u0301 au lait", "café", true},
		{"sharp s", "Straße", "strasse", true},
		{"capital sharp s", "GROẞE", "grosse", true},
		{"ligature", "ﬁbromyalgia", "fibromyalgia", true},
		{"fullwidth", "ＣＯＶＩＤ vaccine", "covid", true},
		{"subscript digits", "vitamin B₁₂ deficiency", `"b12"`, true},
		{"nordic", "Søren Ærø", "soren aero", true},
		{"polish", "Łódź clinic", "lodz", true},
		{"turkish dotted capital I", "İstanbul", "istanbul", true},
		{"ascii apostrophe joins", "Crohn's disease", `"crohns"`, true},
		{"typographic apostrophe joins", "Crohn’s disease", `"crohn"`, true},
		{"apostrophe in query", "crohns disease", "Crohn's", true},
		{"soft hyphen inside word", "medi\u00adcation", "medication", true},
		{"cyrillic case", "Диабет второго типа", "диабет", true},
		{"greek accents", "Διαβήτης", "διαβητης", true},
		{"digits", "Top 10 tips for 2025", "2025", true},
		{"hyphen splits", "COVID-19 booster", "covid 19", true},
		{"different word", "kratom", `"kraton"`, false},
		{"accent is not a separator", "Kratóm", `"krat"`, false},
	})
}

func TestStemming(t *testing.T) {
	// Quoted single words are exact terms (no prefix matching), so these test
	// the stemmer alone.
	pairs := []struct {
		doc, query string
		want       bool
	}{
		{"withdrawals", "withdrawal", true},
		{"withdrawal", "withdrawals", true},
		{"supporting", "support", true},
		{"support", "supporting", true},
		{"supported", "supports", true},
		{"studies", "study", true},
		{"studying", "studied", true},
		{"therapies", "therapy", true},
		{"calories", "calorie", true},
		{"viruses", "virus", true},
		{"aches", "aching", true},
		{"diseases", "disease", true},
		{"dosing", "doses", true},
		{"stopped", "stop", true},
		{"running", "run", true},
		{"quickly", "quick", true},
		{"families", "family", true},
		{"classes", "class", true},
		{"potatoes", "potato", true},
		{"kidneys", "kidney", true},
		{"pregnancies", "pregnancy", true},
		{"tried", "try", true},
		{"needed", "need", true},
		{"stress", "stres", false},
		{"supportive", "support", false},
		{"bring", "br", false},
		{"thing", "th", false},
	}
	var tests []matchCase
	for _, p := range pairs {
		tests = append(tests, matchCase{p.doc + "/" + p.query, "text with " + p.doc + " inside", `"` + p.query + `"`, p.want})
	}
	runMatchCases(t, tests)
}

func TestANDSemantics(t *testing.T) {
	ix := build(
		textsearch.Document{ID: "a", Title: "Kratom withdrawal", Body: "What to expect."},
		textsearch.Document{ID: "b", Title: "Kratom dosage", Body: "How much is too much."},
		textsearch.Document{ID: "c", Title: "Opioid withdrawal", Summary: "Symptoms and timeline."},
	)
	tests := []struct {
		query string
		want  []string
	}{
		{"kratom", []string{"a", "b"}},
		{"withdrawal", []string{"a", "c"}},
		{"kratom withdrawal", []string{"a"}},
		{"withdrawal kratom", []string{"a"}},
		{"kratom timeline", nil}, // terms in different documents
		{"withdrawal timeline", []string{"c"}},
		{"kratom zebra", nil},
		{"zebra", nil},
	}
	for _, tt := range tests {
		hits := ix.Search(tt.query)
		checkHits(t, tt.query, hits, nil)
		if got := sortedIDs(hits); !slices.Equal(got, tt.want) {
			t.Errorf("Search(%q) = %v, want %v", tt.query, got, tt.want)
		}
	}
}

func TestPrefix(t *testing.T) {
	ix := build(
		textsearch.Document{ID: "a", Title: "Kratom withdrawal symptoms"},
		textsearch.Document{ID: "b", Title: "Kratom and alcohol", Body: "Mixing them with care."},
		textsearch.Document{ID: "c", Title: "Opioid withdrawal"},
	)
	tests := []struct {
		query string
		want  []string
	}{
		{"withdr", []string{"a", "c"}},
		{"Withdrá", []string{"a", "c"}},
		{"kratom withdr", []string{"a"}},
		{"kratom sympt", []string{"a"}},
		{"withdr kratom", nil},          // only the last term is a prefix
		{`kratom "withdr"`, nil},        // quoted: exact only
		{`"withdr"`, nil},               // quoted: exact only
		{"k", nil},                      // one character: exact only
		{"kr", []string{"a", "b"}},      // two characters: prefix
		{"kratom wi", []string{"a"}},    // the stopword "with" is not an expansion here
		{"wi", []string{"a", "b", "c"}}, // ... but is when the prefix is alone
		{"alcohol krat", []string{"b"}},
	}
	for _, tt := range tests {
		hits := ix.Search(tt.query)
		checkHits(t, tt.query, hits, nil)
		if got := sortedIDs(hits); !slices.Equal(got, tt.want) {
			t.Errorf("Search(%q) = %v, want %v", tt.query, got, tt.want)
		}
	}
}

func TestExactBeatsPrefix(t *testing.T) {
	// Same shape, one with the exact word and one with a longer word. The IDs
	// are chosen so that an ID tie-break would put the prefix match first.
	ix := build(
		textsearch.Document{ID: "a-prefix", Title: "Supportive care", Body: "For families."},
		textsearch.Document{ID: "b-exact", Title: "Support care", Body: "For families."},
	)
	hits := ix.Search("support")
	checkHits(t, "support", hits, nil)
	if got := ids(hits); !slices.Equal(got, []string{"b-exact", "a-prefix"}) {
		t.Fatalf("Search(support) = %v, want exact match first", hits)
	}
	if hits[0].Score <= hits[1].Score {
		t.Errorf("exact score %v not above prefix score %v", hits[0].Score, hits[1].Score)
	}
}

func TestPhrase(t *testing.T) {
	ix := build(
		textsearch.Document{ID: "p1", Body: "The side effects of kratom include nausea."},
		textsearch.Document{ID: "p2", Body: "Effects on the left side of the body."},
		textsearch.Document{ID: "p3", Title: "Managing the side", Summary: "Effects are rare."},
		textsearch.Document{ID: "p4", Title: "Side effects", Body: "Of nothing in particular."},
	)
	tests := []struct {
		query string
		want  []string
	}{
		{"side effects", []string{"p1", "p2", "p3", "p4"}},
		{`"side effects"`, []string{"p1", "p4"}},
		{`"side effect"`, []string{"p1", "p4"}},  // words are stemmed inside phrases too
		{`“side effects”`, []string{"p1", "p4"}}, // typographic quotes
		{`"effects side"`, nil},
		{`"side effects of kratom"`, []string{"p1"}}, // stopwords are kept in phrases
		{`"side effects" nausea`, []string{"p1"}},
		{`nausea "side effects"`, []string{"p1"}},
		{`"side effects`, []string{"p1", "p4"}}, // unclosed quote runs to the end
		{`"effects of"`, []string{"p1"}},        // p4: title and body are separate fields
		{`"left side" "the body"`, []string{"p2"}},
		{`"the side effects" "of kratom"`, []string{"p1"}},
	}
	for _, tt := range tests {
		hits := ix.Search(tt.query)
		checkHits(t, tt.query, hits, nil)
		if got := sortedIDs(hits); !slices.Equal(got, tt.want) {
			t.Errorf("Search(%q) = %v, want %v", tt.query, got, tt.want)
		}
	}
}

func TestTitleRanksFirst(t *testing.T) {
	filler := strings.Repeat("general wellbeing advice for everyday life ", 20)
	ix := build(
		// Body-only match, many times: BM25 saturates below a single title match.
		textsearch.Document{ID: "a-body", Title: "Sleeping well", Body: strings.Repeat("insomnia ", 30) + filler},
		textsearch.Document{ID: "b-summary", Title: "Sleeping well", Summary: "About insomnia.", Body: filler},
		textsearch.Document{ID: "c-title", Title: "Insomnia: a long practical guide for adults and teenagers", Body: filler},
		textsearch.Document{ID: "d-none", Title: "Diet", Body: filler},
	)
	hits := ix.Search("insomnia")
	checkHits(t, "insomnia", hits, nil)
	if got := ids(hits); len(got) != 3 || got[0] != "c-title" {
		t.Fatalf("Search(insomnia) = %v, want c-title first of 3", hits)
	}

	// With equal field lengths, one occurrence each: title > summary > body.
	ix = build(
		textsearch.Document{ID: "1", Title: "asthma guide", Summary: "about lungs", Body: "inhaler use daily"},
		textsearch.Document{ID: "2", Title: "lungs guide", Summary: "about asthma", Body: "inhaler use daily"},
		textsearch.Document{ID: "3", Title: "lungs guide", Summary: "about inhaler", Body: "asthma use daily"},
	)
	hits = ix.Search("asthma")
	checkHits(t, "asthma", hits, nil)
	if got := ids(hits); !slices.Equal(got, []string{"1", "2", "3"}) {
		t.Errorf("Search(asthma) = %v, want title, summary, body order", hits)
	}
}

func TestTieBreakByID(t *testing.T) {
	d := textsearch.Document{Title: "Hydration", Body: "Drink water."}
	var docs []textsearch.Document
	for _, id := range []string{"c", "a", "b"} {
		d.ID = id
		docs = append(docs, d)
	}
	hits := build(docs...).Search("water")
	checkHits(t, "water", hits, nil)
	if got := ids(hits); !slices.Equal(got, []string{"a", "b", "c"}) {
		t.Errorf("got %v, want a, b, c", hits)
	}
	if hits[0].Score != hits[2].Score {
		t.Errorf("identical documents scored differently: %v", hits)
	}
}

func TestStopwords(t *testing.T) {
	ix := build(
		textsearch.Document{ID: "s1", Body: "kratom withdrawal"},
		textsearch.Document{ID: "s2", Body: "the kratom plant"},
		textsearch.Document{ID: "s3", Body: "of mice and men"},
	)
	tests := []struct {
		query string
		want  []string
	}{
		{"the kratom", []string{"s1", "s2"}},
		{"kratom of the", []string{"s1", "s2"}},
		{`"the"`, []string{"s2"}},
		{"of", []string{"s3"}},
		{"of and", []string{"s3"}}, // only stopwords: they are searched (AND)
		{"the and", nil},
		{`"the kratom"`, []string{"s2"}},
		{`the "kratom plant"`, []string{"s2"}},
	}
	for _, tt := range tests {
		hits := ix.Search(tt.query)
		checkHits(t, tt.query, hits, nil)
		if got := sortedIDs(hits); !slices.Equal(got, tt.want) {
			t.Errorf("Search(%q) = %v, want %v", tt.query, got, tt.want)
		}
	}
}

func TestPutReplaces(t *testing.T) {
	ix := build(textsearch.Document{ID: "1", Title: "Kratom withdrawal", Body: "Old text about tapering."})
	ix.Put(textsearch.Document{ID: "1", Title: "Turmeric benefits", Body: "New text."})
	if n := ix.Len(); n != 1 {
		t.Errorf("Len = %d, want 1", n)
	}
	for _, q := range []string{"kratom", "withdrawal", "tapering", "krat", `"old text"`} {
		if hits := ix.Search(q); hits != nil {
			t.Errorf("after replace, Search(%q) = %v, want nil", q, hits)
		}
	}
	for _, q := range []string{"turmeric", "benefit", `"new text"`, "turm"} {
		if got := ids(ix.Search(q)); !slices.Equal(got, []string{"1"}) {
			t.Errorf("after replace, Search(%q) = %v, want [1]", q, got)
		}
	}
}

func TestDelete(t *testing.T) {
	ix := build(
		textsearch.Document{ID: "1", Title: "Kratom withdrawal"},
		textsearch.Document{ID: "2", Title: "Kratom dosage"},
	)
	ix.Delete("1")
	ix.Delete("1")       // twice
	ix.Delete("unknown") // unknown IDs are ignored
	ix.Delete("")
	if n := ix.Len(); n != 1 {
		t.Errorf("Len = %d, want 1", n)
	}
	if got := ids(ix.Search("kratom")); !slices.Equal(got, []string{"2"}) {
		t.Errorf("Search(kratom) = %v, want [2]", got)
	}
	if hits := ix.Search("withdrawal"); hits != nil {
		t.Errorf("Search(withdrawal) = %v, want nil", hits)
	}
	ix.Put(textsearch.Document{ID: "1", Title: "Kratom withdrawal"})
	if got := sortedIDs(ix.Search("kratom")); !slices.Equal(got, []string{"1", "2"}) {
		t.Errorf("after re-adding, Search(kratom) = %v", got)
	}
	ix.Delete("1")
	ix.Delete("2")
	if n := ix.Len(); n != 0 {
		t.Errorf("Len = %d, want 0", n)
	}
	if hits := ix.Search("kratom"); hits != nil {
		t.Errorf("empty index: Search = %v", hits)
	}
}

func TestEmptyIDIgnored(t *testing.T) {
	ix := textsearch.New()
	ix.Put(textsearch.Document{Title: "no id"})
	if ix.Len() != 0 || ix.Search("id") != nil {
		t.Error("a document without ID was indexed")
	}
}

// TestManyUpdates replaces and deletes enough documents to trigger several
// compactions and checks every result against a model.
func TestManyUpdates(t *testing.T) {
	ix := textsearch.New()
	const n = 300
	live := map[int]int{} // doc → version
	r := rand.New(rand.NewPCG(1, 2))
	check := func() {
		t.Helper()
		if ix.Len() != len(live) {
			t.Fatalf("Len = %d, want %d", ix.Len(), len(live))
		}
		var want []string
		for i := range live {
			want = append(want, fmt.Sprint(i))
		}
		slices.Sort(want)
		if got := sortedIDs(ix.Search("common")); !slices.Equal(got, want) && len(want) > 0 {
			t.Fatalf("Search(common) = %d hits, want %d", len(got), len(want))
		}
		for range 20 {
			i := r.IntN(n)
			v, ok := live[i]
			for _, q := range []string{fmt.Sprintf(`"uniq%d ver%d"`, i, v), fmt.Sprintf("uniq%d ver%d", i, v)} {
				got := ids(ix.Search(q))
				if ok && !slices.Equal(got, []string{fmt.Sprint(i)}) || !ok && got != nil {
					t.Fatalf("Search(%q) = %v, live=%v", q, got, ok)
				}
			}
			if ok && v > 0 {
				if got := ix.Search(fmt.Sprintf(`"uniq%d ver%d"`, i, v-1)); got != nil {
					t.Fatalf("old version of %d still matches: %v", i, got)
				}
			}
		}
	}
	for round := range 8 {
		for i := range n {
			switch {
			case round%3 == 2 && i%2 == 0:
				ix.Delete(fmt.Sprint(i))
				delete(live, i)
			default:
				v := live[i] + 1
				if _, ok := live[i]; !ok {
					v = 0
				}
				live[i] = v
				ix.Put(textsearch.Document{
					ID:    fmt.Sprint(i),
					Title: fmt.Sprintf("common uniq%d ver%d", i, v),
					Body:  fmt.Sprintf("word%d round%d common", r.IntN(50), round),
				})
			}
		}
		check()
	}
	for i := range n {
		ix.Delete(fmt.Sprint(i))
	}
	if ix.Len() != 0 || ix.Search("common") != nil || ix.Search("uni") != nil {
		t.Error("index not empty after deleting everything")
	}
	ix.Put(textsearch.Document{ID: "x", Body: "fresh start"})
	if got := ids(ix.Search("fresh")); !slices.Equal(got, []string{"x"}) {
		t.Errorf("after emptying: %v", got)
	}
}

func TestEmptyAndGarbageQueries(t *testing.T) {
	ix := build(
		textsearch.Document{ID: "1", Title: "Kratom withdrawal", Body: "Some text."},
		textsearch.Document{ID: "2", Title: "Sleep", Body: "More text."},
	)
	for _, q := range []string{
		"", " ", "\t\n", "!!!", `""`, `"`, `" "`, "\xff\xfe\xfd", "—–-", "🙂🙂", "\u0301",
		"\x00", "'''", "日本語", "zzzzzz", "k", `"" ""`, strings.Repeat("?", 10000),
	} {
		if hits := ix.Search(q); hits != nil {
			t.Errorf("Search(%q) = %v, want nil", q, hits)
		}
	}
	if hits := textsearch.New().Search("kratom"); hits != nil {
		t.Errorf("empty index: %v", hits)
	}
}

func TestQueryLimits(t *testing.T) {
	words := []string{"alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel"}
	if len(words) != textsearch.MaxQueryTerms {
		t.Fatalf("test assumes MaxQueryTerms = %d", len(words))
	}
	ix := build(textsearch.Document{ID: "1", Title: "Kratom", Body: strings.Join(words, " ")})
	tests := []struct {
		name  string
		query string
		want  bool
	}{
		{"bytes past MaxQueryLen ignored", "kratom" + strings.Repeat(" ", textsearch.MaxQueryLen) + "zebra", true},
		{"word cut at MaxQueryLen becomes a prefix", strings.Repeat(" ", textsearch.MaxQueryLen-4) + "kratom", true},
		{"within MaxQueryLen still counts", "kratom" + strings.Repeat(" ", textsearch.MaxQueryLen-20) + "zebra", false},
		{"multibyte cut", strings.Repeat("é", textsearch.MaxQueryLen), false},
		{"terms past MaxQueryTerms ignored", strings.Join(words, " ") + " zebra", true},
		{"stopwords do not count", "the " + strings.Join(words, " of ") + " zebra", true},
		{"first terms kept", "zebra " + strings.Join(words, " "), false},
		{"phrase shortened at the limit", strings.Join(words[:6], " ") + ` "golf hotel zebra"`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ix.Search(tt.query) != nil
			if got != tt.want {
				t.Errorf("match = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestLongFields(t *testing.T) {
	// Only the first 255 title tokens are indexed; the rest is ignored but the
	// document is still found by its indexed words.
	title := strings.Repeat("filler ", 300) + "needle"
	ix := build(textsearch.Document{ID: "1", Title: title, Body: strings.Repeat("word ", 70000) + "haystack"})
	if ix.Search("filler") == nil {
		t.Error("filler not found")
	}
	if hits := ix.Search(`"needle"`); hits != nil {
		t.Errorf("token past the title limit matched: %v", hits)
	}
	if hits := ix.Search(`"haystack"`); hits != nil {
		t.Errorf("token past the body limit matched: %v", hits)
	}
	long := strings.Repeat("x", 200)
	ix.Put(textsearch.Document{ID: "2", Body: long})
	if got := ids(ix.Search(`"` + long + `"`)); !slices.Equal(got, []string{"2"}) {
		t.Errorf("over-long token: %v", got)
	}
}

func TestConcurrentSearchPut(t *testing.T) {
	ix := textsearch.New()
	for i := range 100 {
		ix.Put(textsearch.Document{ID: fmt.Sprint(i), Title: "kratom guide", Body: fmt.Sprintf("withdrawal part %d", i)})
	}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for w := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(w), 7))
			for i := 0; i < 2000; i++ {
				id := fmt.Sprint(r.IntN(150))
				if r.IntN(4) == 0 {
					ix.Delete(id)
				} else {
					ix.Put(textsearch.Document{ID: id, Title: "kratom update", Body: fmt.Sprintf("withdrawal note%d dosing", i)})
				}
			}
		}()
	}
	var readers sync.WaitGroup
	for range 4 {
		readers.Add(1)
		go func() {
			defer readers.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				for _, q := range []string{"kratom", "kratom withdr", `"kratom guide"`, "dosing", "note1"} {
					checkHits(t, q, ix.Search(q), nil)
				}
				_ = ix.Len()
			}
		}()
	}
	wg.Wait()
	close(stop)
	readers.Wait()
	if got := len(ix.Search("kratom")); got != ix.Len() {
		t.Errorf("Search(kratom) = %d hits, Len = %d", got, ix.Len())
	}
}

// TestPutTokenizedIntoSeveralIndexes checks that one tokenized document put into several
// indexes (an article live on several sites) answers as Put does in each, whatever else each
// index already holds.
func TestPutTokenizedIntoSeveralIndexes(t *testing.T) {
	docs := []textsearch.Document{
		{ID: "a", Title: "Kratom withdrawal timeline", Summary: "What the first week brings.", Body: "Tapering slowly helps; cravings fade."},
		{ID: "b", Title: "Finding support groups", Body: "Peer support and tapering plans."},
	}
	other := textsearch.Document{ID: "x", Title: "Sleep during withdrawal", Body: "Cravings at night."}
	viaPut := []*textsearch.Index{build(), build(other)}
	viaTokens := []*textsearch.Index{build(), build(other)}
	for _, d := range docs {
		for _, ix := range viaPut {
			ix.Put(d)
		}
		tok := textsearch.Tokenize(d)
		for _, ix := range viaTokens {
			ix.PutTokenized(tok)
		}
		tok.Release()
	}
	for i := range viaPut {
		if a, b := viaPut[i].Len(), viaTokens[i].Len(); a != b {
			t.Errorf("index %d: Len %d via Put, %d via PutTokenized", i, a, b)
		}
		for _, q := range []string{"kratom", "withdrawal", "taper", "craving", `"peer support"`, "week", "sleep", "grou"} {
			if want, got := ids(viaPut[i].Search(q)), ids(viaTokens[i].Search(q)); !slices.Equal(want, got) {
				t.Errorf("index %d: Search(%q) = %v via PutTokenized, %v via Put", i, q, got, want)
			}
		}
	}
	if textsearch.Tokenize(textsearch.Document{Title: "no id"}) != nil {
		t.Error("Tokenize of a document without an ID is not nil")
	}
}
