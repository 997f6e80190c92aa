package readmodel

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/beaconcms/beacon/platform/auth"
	"github.com/beaconcms/beacon/services/content/internal/domain"
	"github.com/beaconcms/beacon/services/content/internal/render"
)

var adminPrincipal = auth.Principal{KeyName: "apiKeys/admin", Role: auth.RoleAdmin}

// processCPU returns the user and system CPU time the process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkPublishWith10kLive applies one publish (a new article, then its republish with a
// new title, tags and slug) to a site with 10,000 live articles of about 6 KB each, the cost a
// write pays on the request goroutine. Target: under 5 ms/op.
func BenchmarkPublishWith10kLive(b *testing.B) {
	const live = 10000
	cat := newCatalog(testSite("bench"), testSite("other"))
	m := newTestModel(cat)
	body := strings.Repeat("kratom withdrawal sleep support recovery guide ", 128) // ~6 KB
	tags := []string{"kratom", "sleep", "pain", "anxiety", "recovery"}
	var all []*domain.Article
	for i := range live {
		a := liveArticle(fmt.Sprintf("a%05d", i), 1, fmt.Sprintf("article-%05d", i), nil, i, []string{tags[i%5]}, []string{"topic"}, "bench")
		a.Published.Content.Body = body
		a.Published.Rendering.HTML = "<p>" + body + "</p>"
		all = append(all, a)
	}
	if _, err := m.Load(b.Context(), source{all}); err != nil {
		b.Fatal(err)
	}
	if err := m.BuildSearch(b.Context()); err != nil {
		b.Fatal(err)
	}
	if m.View("bench").Len() != live {
		b.Fatalf("%d live", m.View("bench").Len())
	}
	all = nil // as in the binary: the loaded articles are garbage once applied
	runtime.GC()
	rev := int64(1)
	b.ReportAllocs()
	cpuBefore := processCPU()
	for b.Loop() {
		rev++
		a := liveArticle("new", rev, fmt.Sprintf("new-%d", rev%3), []string{"new-0"}, int(rev%live), []string{tags[rev%5]}, []string{"topic"}, "bench")
		a.Published.Content.Body = body
		a.Published.Rendering.HTML = "<p>" + body + "</p>"
		m.ApplyArticles(a)
	}
	b.StopTimer()
	// CPU time of the whole process (garbage collection included) per publish: on a shared
	// machine this is steadier than ns/op, which counts time spent waiting for a core.
	b.ReportMetric(float64((processCPU()-cpuBefore).Microseconds())/1000/float64(b.N), "cpu-ms/op")
	if m.View("bench").Len() != live+1 || m.View("other").Len() != 0 {
		b.Fatalf("after: %d live on bench, %d on other", m.View("bench").Len(), m.View("other").Len())
	}
}

// loadBenchModel returns a model of one site "bench" with n live articles of about 6 KB each,
// slugged article-00000 onwards, every one rendered once.
func loadBenchModel(b *testing.B, n int) (*Model, []string) {
	b.Helper()
	m := newTestModel(newCatalog(testSite("bench")))
	body := strings.Repeat("kratom withdrawal sleep support recovery guide ", 128) // ~6 KB
	var all []*domain.Article
	slugs := make([]string, n)
	for i := range n {
		slugs[i] = fmt.Sprintf("article-%05d", i)
		a := liveArticle(fmt.Sprintf("a%05d", i), 1, slugs[i], nil, i, []string{"kratom"}, []string{"topic"}, "bench")
		a.Published.Content.Body = body
		a.Published.Rendering.HTML = "<p>" + body + "</p>"
		all = append(all, a)
	}
	if _, err := m.Load(b.Context(), source{all}); err != nil {
		b.Fatal(err)
	}
	for _, slug := range slugs {
		if _, err := m.View("bench").Article(slug).Body(); err != nil {
			b.Fatal(err)
		}
	}
	return m, slugs
}

// BenchmarkArticleHit is the read model's part of GET .../articles/{slug} when the article's
// JSON is rendered already: the view, the slug lookup and Entry.Body. Parallel: a hit must not
// serialize readers.
func BenchmarkArticleHit(b *testing.B) {
	m, slugs := loadBenchModel(b, 1000)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			body, err := m.View("bench").Article(slugs[i%len(slugs)]).Body()
			if err != nil || body == nil {
				b.Fatal(err)
			}
			i++
		}
	})
}

// BenchmarkArticleMiss is BenchmarkArticleHit when the article's JSON is not cached (a budget of
// one byte: every read renders, and evicts the body before): what a miss costs.
func BenchmarkArticleMiss(b *testing.B) {
	m := newTestModel(newCatalog(testSite("bench")))
	m.bodies = render.NewBodyCache(1)
	body := strings.Repeat("kratom withdrawal sleep support recovery guide ", 128) // ~6 KB
	var all []*domain.Article
	for i := range 2 {
		a := liveArticle(fmt.Sprintf("a%05d", i), 1, fmt.Sprintf("article-%05d", i), nil, i, []string{"kratom"}, []string{"topic"}, "bench")
		a.Published.Content.Body = body
		a.Published.Rendering.HTML = "<p>" + body + "</p>"
		all = append(all, a)
	}
	m.ApplyArticles(all...)
	slugs := []string{"article-00000", "article-00001"}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if _, err := m.View("bench").Article(slugs[i%2]).Body(); err != nil {
			b.Fatal(err)
		}
	}
	if s := m.Stats().Bodies; s.Renders < int64(b.N) {
		b.Fatalf("%d renders for %d reads: not all misses", s.Renders, b.N)
	}
}

// BenchmarkHeapAfterReadingEveryArticle reads every article of a 2,000-article site once (as a
// crawler would) and reports the live heap after a collection, with a 4 MiB body budget and
// without a bound.
func BenchmarkHeapAfterReadingEveryArticle(b *testing.B) {
	for _, budget := range []int64{4 << 20, -1} {
		name := fmt.Sprintf("budget=%dMiB", budget>>20)
		if budget < 0 {
			name = "unbounded"
		}
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				m := New(newCatalog(testSite("bench")), Options{PlainText: func(md string) string { return md }, BodyCacheBytes: budget})
				m.SitesChanged()
				words := strings.Fields("kratom withdrawal sleep support recovery guide taper dose anxiety pain clinic doctor week plan relapse craving")
				var all []*domain.Article
				for i := range 2000 {
					r := rand.New(rand.NewPCG(uint64(i), 1))
					var body strings.Builder
					for body.Len() < 6000 { // ~6 KB of words in random order: gzip shrinks it as it would prose
						body.WriteString(words[r.IntN(len(words))] + " ")
					}
					a := liveArticle(fmt.Sprintf("a%05d", i), 1, fmt.Sprintf("article-%05d", i), nil, i, []string{"kratom"}, []string{"topic"}, "bench")
					a.Published.Content.Body = body.String()
					a.Published.Rendering.HTML = "<p>" + body.String() + "</p>"
					all = append(all, a)
				}
				m.ApplyArticles(all...)
				all = nil
				heap := func() float64 {
					runtime.GC()
					runtime.GC() // and the pools' victims
					var ms runtime.MemStats
					runtime.ReadMemStats(&ms)
					return float64(ms.HeapAlloc) / (1 << 20)
				}
				before := heap()
				for i := range 2000 {
					read(b, m, "bench", fmt.Sprintf("article-%05d", i), true)
				}
				after := heap()
				b.ReportMetric(before, "heap-MiB-before")
				b.ReportMetric(after, "heap-MiB-after")
				b.ReportMetric(float64(m.Stats().Bodies.Bytes)/(1<<20), "bodies-MiB")
				runtime.KeepAlive(m)
			}
		})
	}
}
