package textsearch_test

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/beaconcms/beacon/platform/textsearch"
)

// Synthetic corpus: pseudo-words drawn from a Zipf distribution (s = 1.1), so a
// few words are very common and most are rare, like English text. A document
// has an 8-word title, a 30-word summary and a body of about 1,000 words.
const (
	vocabSize = 40000
	bodyWords = 1000
)

var (
	vocabOnce sync.Once
	vocab     []string
)

func vocabulary() []string {
	vocabOnce.Do(func() {
		r := rand.New(rand.NewPCG(42, 42))
		cons := []string{"b", "c", "d", "f", "g", "h", "k", "l", "m", "n", "p", "r", "s", "t", "v", "z", "br", "st", "tr", "ch"}
		vows := []string{"a", "e", "i", "o", "u", "ai", "ou", "y"}
		suffixes := []string{"", "", "", "", "", "", "s", "ing", "ed", "ly", "ion"}
		seen := map[string]bool{}
		for len(vocab) < vocabSize {
			var b strings.Builder
			for range 1 + r.IntN(4) {
				b.WriteString(cons[r.IntN(len(cons))])
				b.WriteString(vows[r.IntN(len(vows))])
			}
			if r.IntN(2) == 0 {
				b.WriteString(cons[r.IntN(len(cons))])
			}
			b.WriteString(suffixes[r.IntN(len(suffixes))])
			w := b.String()
			if len(w) < 3 || seen[w] {
				continue
			}
			seen[w] = true
			vocab = append(vocab, w)
		}
	})
	return vocab
}

type docGen struct {
	r *rand.Rand
	z *rand.Zipf
	v []string
	b strings.Builder
}

func newDocGen(seed uint64) *docGen {
	v := vocabulary()
	r := rand.New(rand.NewPCG(seed, 1))
	return &docGen{r: r, z: rand.NewZipf(r, 1.1, 1, uint64(len(v)-1)), v: v}
}

func (g *docGen) words(n int) string {
	g.b.Reset()
	for i := range n {
		if i > 0 {
			if g.r.IntN(12) == 0 {
				g.b.WriteString(". ")
			} else {
				g.b.WriteByte(' ')
			}
		}
		g.b.WriteString(g.v[g.z.Uint64()])
	}
	return g.b.String()
}

func (g *docGen) doc(id int) textsearch.Document {
	return textsearch.Document{
		ID:      fmt.Sprintf("doc-%05d", id),
		Title:   g.words(8),
		Summary: g.words(30),
		Body:    g.words(bodyWords - 100 + g.r.IntN(200)),
	}
}

func synthIndex(n int) *textsearch.Index {
	g := newDocGen(7)
	ix := textsearch.New()
	for i := range n {
		ix.Put(g.doc(i))
	}
	return ix
}

// benchSizes are the index sizes the search benchmarks run at: the 10,000 the package is sized
// for, and 1,000. The indexes are built once per size and shared (searches do not modify them).
var benchSizes = []int{1000, 10000}

var (
	benchIndexesMu sync.Mutex
	benchIndexes   = map[int]*textsearch.Index{}
)

func sharedSynthIndex(n int) *textsearch.Index {
	benchIndexesMu.Lock()
	defer benchIndexesMu.Unlock()
	if ix := benchIndexes[n]; ix != nil {
		return ix
	}
	ix := synthIndex(n)
	benchIndexes[n] = ix
	return ix
}

// bySize runs fn as a sub-benchmark per index size in benchSizes.
func bySize(b *testing.B, fn func(b *testing.B, ix *textsearch.Index)) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("docs=%d", n), func(b *testing.B) { fn(b, sharedSynthIndex(n)) })
	}
}

// twoWordQueries returns queries of two words of Zipf rank 10..3000 (rarer
// words would often give no hit; the most common ones act like stopwords).
func twoWordQueries(n int) []string {
	v := vocabulary()
	r := rand.New(rand.NewPCG(3, 3))
	qs := make([]string, n)
	for i := range qs {
		qs[i] = v[10+r.IntN(3000)] + " " + v[10+r.IntN(3000)]
	}
	return qs
}

func benchSearch(b *testing.B, ix *textsearch.Index, qs []string) {
	b.ReportAllocs()
	hits, i := 0, 0
	cpu := processCPU()
	for b.Loop() {
		hits += len(ix.Search(qs[i%len(qs)]))
		i++
	}
	b.ReportMetric(float64(hits)/float64(i), "hits/op")
	// CPU time of the process per search: on a shared machine this is steadier than ns/op,
	// which counts time spent waiting for a core.
	b.ReportMetric(float64((processCPU()-cpu).Nanoseconds())/float64(i), "cpu-ns/op")
}

// processCPU returns the user and system CPU time the process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func BenchmarkSearchTwoWords(b *testing.B) {
	qs := twoWordQueries(512)
	bySize(b, func(b *testing.B, ix *textsearch.Index) { benchSearch(b, ix, qs) })
}

// BenchmarkSearchTwoWordsParallel runs the same queries from GOMAXPROCS
// goroutines; ns/op is wall time per query, so 1e9/ns is the throughput.
func BenchmarkSearchTwoWordsParallel(b *testing.B) {
	ix := synthIndex(1000)
	qs := twoWordQueries(512)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := rand.IntN(len(qs))
		for pb.Next() {
			ix.Search(qs[i%len(qs)])
			i++
		}
	})
}

// BenchmarkSearchTyping is a search-as-you-type query: a word and a 3-letter
// prefix of another.
func BenchmarkSearchTyping(b *testing.B) {
	qs := twoWordQueries(512)
	for i, q := range qs {
		w := strings.Fields(q)
		qs[i] = w[0] + " " + w[1][:3]
	}
	bySize(b, func(b *testing.B, ix *textsearch.Index) { benchSearch(b, ix, qs) })
}

// BenchmarkSearchCommonWords queries two of the ten most frequent words, which
// occur in every document: the worst case, every document a hit to score and sort.
func BenchmarkSearchCommonWords(b *testing.B) {
	v := vocabulary()
	qs := []string{v[1] + " " + v[2], v[3] + " " + v[5], v[4] + " " + v[7]}
	bySize(b, func(b *testing.B, ix *textsearch.Index) { benchSearch(b, ix, qs) })
}

// BenchmarkSearchCommonPhrase queries phrases of two of the ten most frequent words: every
// document holds both words, so every document's positions are compared.
func BenchmarkSearchCommonPhrase(b *testing.B) {
	v := vocabulary()
	qs := []string{`"` + v[1] + " " + v[2] + `"`, `"` + v[3] + " " + v[5] + `"`, `"` + v[4] + " " + v[7] + `"`}
	bySize(b, func(b *testing.B, ix *textsearch.Index) { benchSearch(b, ix, qs) })
}

func BenchmarkSearchPhrase(b *testing.B) {
	// Phrases taken from the documents themselves.
	g := newDocGen(7)
	var qs []string
	for i := range 256 {
		w := strings.Fields(g.doc(i).Body)
		j := 1 + i%(len(w)-3)
		qs = append(qs, `"`+strings.Trim(w[j], ".")+" "+strings.Trim(w[j+1], ".")+`"`)
	}
	bySize(b, func(b *testing.B, ix *textsearch.Index) { benchSearch(b, ix, qs) })
}

// BenchmarkPut indexes ~1,000-word documents into an index of 1,000 (IDs
// cycle, so after the first 1,000 every Put replaces a document and triggers
// the occasional compaction).
func BenchmarkPut(b *testing.B) {
	g := newDocGen(9)
	docs := make([]textsearch.Document, 1000)
	for i := range docs {
		docs[i] = g.doc(i)
	}
	ix := textsearch.New()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		ix.Put(docs[i%len(docs)])
		i++
	}
}

// BenchmarkMemory10k reports the live heap of an index of 10,000 synthetic
// documents (~10M tokens). Run with -benchtime=1x.
func BenchmarkMemory10k(b *testing.B) {
	for b.Loop() {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		g := newDocGen(11)
		ix := textsearch.New()
		textBytes := 0
		for i := range 10000 {
			d := g.doc(i)
			textBytes += len(d.Title) + len(d.Summary) + len(d.Body)
			ix.Put(d)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/(1<<20), "heap-MiB")
		b.ReportMetric(float64(textBytes)/(1<<20), "text-MiB")
		b.ReportMetric(float64(ix.Len()), "docs")
		runtime.KeepAlive(ix)
	}
}
