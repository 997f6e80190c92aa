package textsearch_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/beaconcms/beacon/platform/textsearch"
	"github.com/beaconcms/beacon/platform/textsearch/internal/uncompressed"
)

// TestCompressedAnswersAsUncompressed checks that the index, whose posting lists are compressed,
// answers every query exactly as the uncompressed index it replaced (a frozen copy,
// internal/uncompressed): the same hits in the same order with bit-identical scores. The
// randomized corpus has Zipf-distributed words with suffixes for the stemmer, stopwords,
// fields of every length up to past the indexed limits (so positions more than 128 and more
// than 16,384 apart), and updates and deletes enough for many compactions; the queries are
// terms, prefixes as typed, stopwords, quoted words and phrases taken from the documents.
func TestCompressedAnswersAsUncompressed(t *testing.T) {
	vocab := vocabulary()
	r := rand.New(rand.NewPCG(17, 17))
	z := rand.NewZipf(r, 1.1, 1, uint64(len(vocab)-1))
	stop := []string{"the", "of", "and", "with", "a", "in"}
	word := func() string {
		if r.IntN(10) == 0 {
			return stop[r.IntN(len(stop))]
		}
		return vocab[z.Uint64()]
	}
	words := func(n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = word()
		}
		return out
	}
	bodyLen := func() int {
		switch r.IntN(40) {
		case 0:
			return 20000 + r.IntN(50000) // past the 64,511 indexed body tokens at times
		case 1, 2, 3:
			return 1000 + r.IntN(3000)
		default:
			return r.IntN(400)
		}
	}

	got, want := textsearch.New(), uncompressed.New()
	live := map[string][3][]string{}
	queries, nonEmpty := 0, 0
	check := func(q string) {
		t.Helper()
		queries++
		g, w := got.Search(q), want.Search(q)
		if len(w) > 0 {
			nonEmpty++
		}
		if len(g) != len(w) {
			t.Fatalf("Search(%q): %d hits, the uncompressed index %d", q, len(g), len(w))
		}
		for i := range w {
			if g[i].ID != w[i].ID || g[i].Score != w[i].Score {
				t.Fatalf("Search(%q) hit %d = %+v, the uncompressed index %+v", q, i, g[i], w[i])
			}
		}
	}
	phraseFrom := func(f []string) string {
		n := min(len(f), 2+r.IntN(3))
		i := r.IntN(len(f) - n + 1)
		return `"` + strings.Join(f[i:i+n], " ") + `"`
	}

	for op := range 1500 {
		id := fmt.Sprintf("doc-%03d", r.IntN(250))
		if r.IntN(4) == 0 {
			got.Delete(id)
			want.Delete(id)
			delete(live, id)
		} else {
			d := [3][]string{words(1 + r.IntN(12)), words(r.IntN(60)), words(bodyLen())}
			live[id] = d
			doc := textsearch.Document{ID: id, Title: strings.Join(d[0], " "), Summary: strings.Join(d[1], " "), Body: strings.Join(d[2], " ")}
			got.Put(doc)
			want.Put(uncompressed.Document(doc))
		}
		if got.Len() != want.Len() {
			t.Fatalf("op %d: Len = %d, the uncompressed index %d", op, got.Len(), want.Len())
		}
		if op%10 != 0 || len(live) == 0 {
			continue
		}
		ids := slices.Sorted(func(yield func(string) bool) {
			for id := range live {
				if !yield(id) {
					return
				}
			}
		})
		d := live[ids[r.IntN(len(ids))]]
		f := d[r.IntN(3)]
		if len(f) == 0 {
			f = d[0]
		}
		w1, w2 := f[r.IntN(len(f))], word()
		check(w1)
		check(w1 + " " + w2)
		check(word() + " " + word() + " " + word())
		check(w2 + " " + w1[:min(len(w1), 1+r.IntN(4))]) // typing
		check(`"` + w1 + `"`)
		check(phraseFrom(f))
		check(phraseFrom(f) + " " + w2)
		if len(d[2]) > 0 {
			check(phraseFrom(d[2]) + " " + phraseFrom(d[0]))
		}
		check(strings.Join(d[0], " ")) // the title, as a query of up to 8 terms
		check(stop[r.IntN(len(stop))] + " " + stop[r.IntN(len(stop))])
		// A phrase across the end of the title and the start of the summary never matches.
		if len(d[1]) > 0 {
			check(`"` + d[0][len(d[0])-1] + " " + d[1][0] + `"`)
		}
	}
	t.Logf("%d queries, %d with hits", queries, nonEmpty)
	if nonEmpty < queries/2 {
		t.Errorf("only %d of %d queries had hits; the test is too weak", nonEmpty, queries)
	}
}

// BenchmarkCompressedVsUncompressed times the same searches on the index and on the
// uncompressed one it replaced, built from the same 10,000 synthetic documents, alternating
// query by query so that both see the same load on a shared machine; ratio is the index's time
// over the uncompressed index's.
func BenchmarkCompressedVsUncompressed(b *testing.B) {
	const n = 10000
	g := newDocGen(7)
	got, old := textsearch.New(), uncompressed.New()
	for i := range n {
		d := g.doc(i)
		got.Put(d)
		old.Put(uncompressed.Document(d))
	}
	v := vocabulary()
	typing := twoWordQueries(512)
	for i, q := range typing {
		w := strings.Fields(q)
		typing[i] = w[0] + " " + w[1][:3]
	}
	pg := newDocGen(7)
	var phrases []string
	for i := range 256 {
		w := strings.Fields(pg.doc(i).Body)
		j := 1 + i%(len(w)-3)
		phrases = append(phrases, `"`+strings.Trim(w[j], ".")+" "+strings.Trim(w[j+1], ".")+`"`)
	}
	sets := []struct {
		name string
		qs   []string
	}{
		{"TwoWords", twoWordQueries(512)},
		{"Typing", typing},
		{"CommonWords", []string{v[1] + " " + v[2], v[3] + " " + v[5], v[4] + " " + v[7]}},
		{"CommonPhrase", []string{`"` + v[1] + " " + v[2] + `"`, `"` + v[3] + " " + v[5] + `"`, `"` + v[4] + " " + v[7] + `"`}},
		{"Phrase", phrases},
	}
	for _, set := range sets {
		b.Run(set.name, func(b *testing.B) {
			var tNew, tOld time.Duration
			i := 0
			for b.Loop() {
				q := set.qs[i%len(set.qs)]
				t0 := time.Now()
				got.Search(q)
				t1 := time.Now()
				old.Search(q)
				tNew += t1.Sub(t0)
				tOld += time.Since(t1)
				i++
			}
			b.ReportMetric(float64(tNew.Nanoseconds())/float64(i), "new-ns/op")
			b.ReportMetric(float64(tOld.Nanoseconds())/float64(i), "old-ns/op")
			b.ReportMetric(float64(tNew)/float64(tOld), "ratio")
		})
	}
}
