package textsearch_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/beaconcms/beacon/platform/textsearch"
)

// TestAgainstModel checks match sets against a brute-force model over random
// corpora and random updates (enough to trigger compactions). The vocabulary is
// three-letter words the stemmer leaves alone, none a prefix of another, so the
// model needs no tokenizer.
func TestAgainstModel(t *testing.T) {
	var words []string
	for _, c1 := range "bkmnptg" {
		for _, v := range "aou" {
			for _, c2 := range "bkmnptg" {
				if w := string([]rune{c1, v, c2}); w != "but" {
					words = append(words, w)
				}
			}
		}
	}
	r := rand.New(rand.NewPCG(5, 5))
	z := rand.NewZipf(r, 1.2, 2, uint64(len(words)-1))
	text := func(n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = words[z.Uint64()]
		}
		return out
	}

	type mdoc [3][]string // title, summary, body
	model := map[string]mdoc{}
	ix := textsearch.New()

	has := func(d mdoc, w string) bool {
		for _, f := range d {
			if slices.Contains(f, w) {
				return true
			}
		}
		return false
	}
	hasPhrase := func(d mdoc, p []string) bool {
		for _, f := range d {
			for i := 0; i+len(p) <= len(f); i++ {
				if slices.Equal(f[i:i+len(p)], p) {
					return true
				}
			}
		}
		return false
	}
	checks, nonEmpty := 0, 0
	check := func(q string, match func(mdoc) bool) {
		t.Helper()
		checks++
		var want []string
		for id, d := range model {
			if match(d) {
				want = append(want, id)
			}
		}
		slices.Sort(want)
		if len(want) > 0 {
			nonEmpty++
		}
		hits := ix.Search(q)
		checkHits(t, q, hits, nil)
		if got := sortedIDs(hits); !slices.Equal(got, want) {
			t.Fatalf("Search(%q) = %v, want %v", q, got, want)
		}
	}

	for op := range 3000 {
		id := fmt.Sprint(r.IntN(80))
		if r.IntN(4) == 0 {
			ix.Delete(id)
			delete(model, id)
		} else {
			d := mdoc{text(1 + r.IntN(5)), text(r.IntN(8)), text(r.IntN(60))}
			model[id] = d
			ix.Put(textsearch.Document{
				ID:      id,
				Title:   strings.Join(d[0], " "),
				Summary: strings.Join(d[1], ". "),
				Body:    strings.Join(d[2], ", "),
			})
		}
		if ix.Len() != len(model) {
			t.Fatalf("op %d: Len = %d, want %d", op, ix.Len(), len(model))
		}
		if op%5 != 0 {
			continue
		}
		q := text(1 + r.IntN(3))
		check(strings.Join(q, " "), func(d mdoc) bool {
			for _, w := range q {
				if !has(d, w) {
					return false
				}
			}
			return true
		})
		p := text(2 + r.IntN(2))
		if r.IntN(2) == 0 { // a phrase that exists somewhere, if possible
			for _, d := range model {
				if f := d[2]; len(f) >= 3 {
					i := r.IntN(len(f) - 2)
					p = slices.Clone(f[i : i+2+r.IntN(2)])
				}
				break
			}
		}
		extra := q[0]
		check(`"`+strings.Join(p, " ")+`" `+extra, func(d mdoc) bool { return hasPhrase(d, p) && has(d, extra) })
		check(`"`+strings.Join(p, " ")+`"`, func(d mdoc) bool { return hasPhrase(d, p) })
	}
	t.Logf("%d of %d checks expected hits", nonEmpty, checks)
	if nonEmpty < checks/3 {
		t.Errorf("only %d of %d checks expected hits; the test is too weak", nonEmpty, checks)
	}
}
