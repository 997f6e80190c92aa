package readmodel

import (
	"fmt"
	"strings"
	"testing"

	"github.com/beaconcms/beacon/platform/auth"
	"github.com/beaconcms/beacon/services/content/internal/domain"
)

var adminPrincipal = auth.Principal{KeyName: "apiKeys/admin", Role: auth.RoleAdmin}

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
	if m.View("bench").Len() != live {
		b.Fatalf("%d live", m.View("bench").Len())
	}
	rev := int64(1)
	b.ReportAllocs()
	for b.Loop() {
		rev++
		a := liveArticle("new", rev, fmt.Sprintf("new-%d", rev%3), []string{"new-0"}, int(rev%live), []string{tags[rev%5]}, []string{"topic"}, "bench")
		a.Published.Content.Body = body
		a.Published.Rendering.HTML = "<p>" + body + "</p>"
		m.ApplyArticles(a)
	}
	b.StopTimer()
	if m.View("bench").Len() != live+1 || m.View("other").Len() != 0 {
		b.Fatalf("after: %d live on bench, %d on other", m.View("bench").Len(), m.View("other").Len())
	}
}
