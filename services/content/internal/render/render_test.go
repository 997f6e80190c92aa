package render

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/beaconcms/beacon/services/content/internal/domain"
)

func testArticle() *Article {
	return &Article{ID: "a1", RevisionID: 3, PublishTime: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC),
		Content:        domain.Content{Title: "T", Slug: "s", Summary: "sum", TargetSites: []string{"s1"}, Tags: []string{"x"}},
		PublishedSlugs: []string{"s"}}
}

// TestEntryHTMLReadsBackTheBody checks that an entry gives back exactly the HTML it was
// rendered with, whatever it contains, without decoding the whole article.
func TestEntryHTMLReadsBackTheBody(t *testing.T) {
	site := &Site{ID: "s1", BaseURL: "https://s1.example.org", DisplayName: "S1", DefaultLocale: "en"}
	for _, html := range []string{
		"",
		"<p>plain</p>",
		`<p>"quoted" \ backslash \" and "html":"fake" inside</p>`,
		"<p>unicode é 中文 \u2028 line sep, <script>&amp;</script></p>",
		strings.Repeat("<p>long body</p>", 2000),
	} {
		e, err := NewEntry(site, testArticle(), html)
		if err != nil {
			t.Fatal(err)
		}
		got, err := e.HTML()
		if err != nil || got != html {
			t.Errorf("HTML() before rendering = %.60q, %v; want %.60q", got, err, html)
		}
		body, err := e.Body()
		if err != nil {
			t.Fatal(err)
		}
		var pa struct {
			HTML string `json:"html"`
		}
		if err := json.Unmarshal(body.Raw(), &pa); err != nil || pa.HTML != html {
			t.Errorf("article JSON html = %.60q, %v", pa.HTML, err)
		}
		got, err = e.HTML()
		if err != nil || got != html {
			t.Errorf("HTML() read back from the JSON = %.60q, %v; want %.60q", got, err, html)
		}
		if again, err := e.Body(); err != nil || again != body {
			t.Errorf("Body() again = %p, %v; want the same body %p", again, err, body)
		}
	}
}

func TestLiveArticleLeavesOutNotesAndBody(t *testing.T) {
	a := &domain.Article{ID: "a1", State: domain.StatePublished, RevisionID: 2,
		Draft: domain.Content{Title: "DRAFT"},
		Published: &domain.Snapshot{Content: domain.Content{Title: "Live", Body: "MARKDOWN", EditorNotes: "NOTES"},
			PublishTime: time.Now()}}
	a.Published.Rendering.HTML = "<p>x</p>"
	live, html := LiveArticle(a)
	if live == nil || html != "<p>x</p>" || live.Content.Title != "Live" || live.Content.Body != "" || live.Content.EditorNotes != "" {
		t.Fatalf("LiveArticle = %+v, %q", live, html)
	}
	a.Published = nil
	if live, _ := LiveArticle(a); live != nil {
		t.Fatal("an unpublished article has a live record")
	}
}
