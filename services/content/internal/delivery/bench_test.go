package delivery

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/beaconcms/beacon/services/content/internal/domain"
	"github.com/beaconcms/beacon/services/content/internal/readmodel"
)

const (
	benchArticles = 1000
	benchBodySize = 6 << 10 // bytes of Markdown (and about as much HTML) per article
)

// benchWords is the vocabulary of the generated bodies. The first words are the most frequent
// (the generator is skewed), as in real text.
var benchWords = strings.Fields(`the of and to in is for that with are can or as be on your it this
	kratom withdrawal sleep symptoms dose doctor treatment support recovery anxiety pain opioid
	health medical body help may people use effects risk tapering plan daily water hydration mood
	nausea craving clinic therapy counseling family friends week month days hours guide safety
	liver heart blood pressure medication interactions emergency crisis line call text chat
	evidence research study trial review patients adults teens older women men pregnancy stress
	exercise nutrition diet vitamin caffeine alcohol nicotine cannabis stimulant sedative relapse
	prevention coping skills mindfulness breathing routine schedule journal goals progress`)

// benchText returns about n bytes of words, one paragraph per ~600 bytes.
func benchText(rng *rand.Rand, n int) (markdown, html string) {
	var md, h strings.Builder
	h.WriteString("<p>")
	for md.Len() < n {
		// Skewed: low indexes far more often.
		w := benchWords[int(float64(len(benchWords))*rng.Float64()*rng.Float64())]
		md.WriteString(w)
		h.WriteString(w)
		if md.Len()%600 < len(w)+1 {
			md.WriteString(".\n\n")
			h.WriteString(".</p>\n<p>")
		} else {
			md.WriteByte(' ')
			h.WriteByte(' ')
		}
	}
	h.WriteString("</p>")
	return md.String(), h.String()
}

type benchFixture struct {
	env   *testEnv
	slugs []string
}

var (
	benchOnce sync.Once
	benchEnv  *benchFixture
)

// benchSetup builds, once, a public site of benchArticles articles of about benchBodySize.
func benchSetup(b *testing.B) *benchFixture {
	b.Helper()
	benchOnce.Do(func() {
		rng := rand.New(rand.NewPCG(1, 2))
		tags := []string{"kratom", "withdrawal", "sleep", "anxiety", "pain", "opioids", "tapering", "family", "nutrition", "crisis"}
		topics := []string{"addiction", "wellbeing", "recovery", "safety"}
		articles := make([]*domain.Article, 0, benchArticles)
		slugs := make([]string, 0, benchArticles)
		for i := range benchArticles {
			id := fmt.Sprintf("bench%04d", i)
			slug := fmt.Sprintf("article-%04d", i)
			title := fmt.Sprintf("%s and %s: part %d", benchWords[12+rng.IntN(40)], benchWords[12+rng.IntN(40)], i)
			a := newArticle(id, slug, title, i, "bench")
			md, html := benchText(rng, benchBodySize)
			a.Published.Content.Body = md
			a.Published.Rendering.HTML = html
			a.Published.Rendering.WordCount = strings.Count(md, " ") + 1
			a.Published.Content.Tags = []string{tags[rng.IntN(len(tags))], tags[rng.IntN(len(tags))]}
			if a.Published.Content.Tags[0] == a.Published.Content.Tags[1] {
				a.Published.Content.Tags = a.Published.Content.Tags[:1]
			}
			a.Published.Content.Topics = []string{topics[rng.IntN(len(topics))]}
			articles = append(articles, a)
			slugs = append(slugs, slug)
		}
		start := time.Now()
		env := newTestEnv(b, []*domain.Site{newSite("bench", true, 1)}, articles)
		b.Logf("built a view of %d articles in %v", benchArticles, time.Since(start))
		benchEnv = &benchFixture{env: env, slugs: slugs}
	})
	if benchEnv == nil {
		b.Fatal("bench setup failed")
	}
	return benchEnv
}

// discardWriter is a ResponseWriter that allocates nothing per request once warm, to tell the
// handler's allocations from httptest.ResponseRecorder's.
type discardWriter struct {
	h    http.Header
	code int
	n    int
}

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) WriteHeader(code int)        { w.code = code }
func (w *discardWriter) Write(p []byte) (int, error) { w.n += len(p); return len(p), nil }

// benchServe runs one request per iteration, with a new httptest.ResponseRecorder each time
// ("recorder") and with a reused allocation-free writer ("writer"), checking the status.
func benchServe(b *testing.B, env *testEnv, r *http.Request, want int) {
	b.Run("recorder", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			w := httptest.NewRecorder()
			env.ServeHTTP(w, r)
			if w.Code != want {
				b.Fatalf("status %d, want %d: %s", w.Code, want, w.Body)
			}
		}
	})
	b.Run("writer", func(b *testing.B) {
		w := &discardWriter{h: http.Header{}}
		b.ReportAllocs()
		for b.Loop() {
			clear(w.h)
			w.code = 0
			env.ServeHTTP(w, r)
			if w.code != want {
				b.Fatalf("status %d, want %d", w.code, want)
			}
		}
	})
}

func benchRequest(target string, headers ...string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, target, nil)
	for i := 0; i+1 < len(headers); i += 2 {
		r.Header.Set(headers[i], headers[i+1])
	}
	return r
}

func BenchmarkArticleBySlug(b *testing.B) {
	f := benchSetup(b)
	path := "/v1/sites/bench/articles/" + f.slugs[len(f.slugs)/2]
	b.Run("identity", func(b *testing.B) { benchServe(b, f.env, benchRequest(path), 200) })
	b.Run("gzip", func(b *testing.B) {
		benchServe(b, f.env, benchRequest(path, "Accept-Encoding", "gzip, deflate, br"), 200)
	})
}

func BenchmarkArticle304(b *testing.B) {
	f := benchSetup(b)
	path := "/v1/sites/bench/articles/" + f.slugs[len(f.slugs)/2]
	w := httptest.NewRecorder()
	f.env.ServeHTTP(w, benchRequest(path, "Accept-Encoding", "gzip"))
	etag := w.Header().Get("ETag")
	benchServe(b, f.env, benchRequest(path, "Accept-Encoding", "gzip, deflate, br", "If-None-Match", etag), 304)
}

func BenchmarkList(b *testing.B) {
	f := benchSetup(b)
	first := httptest.NewRecorder()
	f.env.ServeHTTP(first, benchRequest("/v1/sites/bench/articles?pageSize=20"))
	token := decodeJSON[listJSON](b, first.Body.Bytes()).NextPageToken
	b.Run("first page", func(b *testing.B) {
		benchServe(b, f.env, benchRequest("/v1/sites/bench/articles?pageSize=20", "Accept-Encoding", "gzip"), 200)
	})
	b.Run("second page", func(b *testing.B) {
		benchServe(b, f.env, benchRequest("/v1/sites/bench/articles?pageSize=20&pageToken="+url.QueryEscape(token), "Accept-Encoding", "gzip"), 200)
	})
	b.Run("tag and topic", func(b *testing.B) {
		benchServe(b, f.env, benchRequest("/v1/sites/bench/articles?tag=kratom&topic=recovery&pageSize=20", "Accept-Encoding", "gzip"), 200)
	})
	// Past the page cache's bound every new query renders its page.
	b.Run("uncached", func(b *testing.B) {
		for i := range readmodel.MaxCachedPages + 1 {
			f.env.ServeHTTP(httptest.NewRecorder(), benchRequest("/v1/sites/bench/articles?fill="+strconv.Itoa(i)))
		}
		reqs := make([]*http.Request, 64)
		for i := range reqs {
			reqs[i] = benchRequest("/v1/sites/bench/articles?pageSize=20&n="+strconv.Itoa(i), "Accept-Encoding", "gzip")
		}
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			w := httptest.NewRecorder()
			f.env.ServeHTTP(w, reqs[i%len(reqs)])
			i++
			if w.Code != 200 {
				b.Fatalf("status %d", w.Code)
			}
		}
	})
}

func BenchmarkSearchTwoWords(b *testing.B) {
	f := benchSetup(b)
	b.Run("identity", func(b *testing.B) {
		benchServe(b, f.env, benchRequest("/v1/sites/bench/search?q=kratom+withdrawal"), 200)
	})
	b.Run("gzip", func(b *testing.B) {
		benchServe(b, f.env, benchRequest("/v1/sites/bench/search?q=kratom+withdrawal", "Accept-Encoding", "gzip"), 200)
	})
	b.Run("rare words", func(b *testing.B) {
		benchServe(b, f.env, benchRequest("/v1/sites/bench/search?q=mindfulness+journal", "Accept-Encoding", "gzip"), 200)
	})
}
