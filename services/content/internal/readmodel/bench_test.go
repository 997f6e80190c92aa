package readmodel

import (
	"fmt"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/beaconcms/beacon/platform/auth"
	"github.com/beaconcms/beacon/services/content/internal/domain"
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
