package render

import (
	"encoding/json"
	"fmt"
	"github.com/klauspost/compress/zstd"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/beaconcms/beacon/platform/markdown"
	"github.com/beaconcms/beacon/services/content/internal/domain"
)

func testArticle() *Article {
	return &Article{ID: "a1", RevisionID: 3, PublishTime: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC),
		Content:        domain.Content{Title: "T", Slug: "s", Summary: "sum", TargetSites: []string{"s1"}, Tags: []string{"x"}},
		PublishedSlugs: []string{"s"}}
}

// TestEntryHTMLReadsBackTheBody checks that an entry gives back exactly the HTML it was made
// with, whatever it contains, before and after rendering, and that its JSON carries it.
func TestEntryHTMLReadsBackTheBody(t *testing.T) {
	site := &Site{ID: "s1", BaseURL: "https://s1.example.org", DisplayName: "S1", DefaultLocale: "en"}
	for _, html := range []string{
		"",
		"<p>plain</p>",
		`<p>"quoted" \ backslash \" and "html":"fake" inside</p>`,
		"<p>unicode é 中文 \u2028 line sep, <script>&amp;</script></p>",
		strings.Repeat("<p>long body</p>", 2000),
	} {
		e, err := NewEntry(site, testArticle(), PlainHTML(html), time.Now(), nil)
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
			t.Errorf("HTML() after rendering = %.60q, %v; want %.60q", got, err, html)
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
	live, h := LiveArticle(a)
	html, err := h.String()
	if err != nil || live == nil || html != "<p>x</p>" || live.Content.Title != "Live" || live.Content.Body != "" || live.Content.EditorNotes != "" {
		t.Fatalf("LiveArticle = %+v, %q, %v", live, html, err)
	}
	// A body the store hands compressed comes out the same.
	enc, err := zstd.NewWriter(nil)
	if err != nil {
		t.Fatal(err)
	}
	a.Published.CompressedBody = enc.EncodeAll([]byte("<p>packed</p>\x00packed text"), nil)
	a.Published.Rendering.HTML = ""
	if _, h := LiveArticle(a); h.IsZero() {
		t.Error("a compressed body is the zero HTML")
	} else if got, err := h.String(); err != nil || got != "<p>packed</p>" {
		t.Errorf("compressed body = %q, %v", got, err)
	} else if text, err := h.SearchText(); err != nil || text != "packed text" {
		t.Errorf("compressed search text = %q, %v", text, err)
	}
	a.Published = nil
	if live, _ := LiveArticle(a); live != nil {
		t.Fatal("an unpublished article has a live record")
	}
}

// TestJSONLDReviewsAreTrue checks that reviewedBy and lastReviewed name only real reviewers whose
// review is current on the site, and that PublishedArticle marks the rest.
func TestJSONLDReviewsAreTrue(t *testing.T) {
	now := time.Date(2027, 6, 1, 12, 0, 0, 0, time.UTC)
	d := func(y, m, day int) domain.Date { return domain.Date{Year: y, Month: m, Day: day} }
	real := func(name string, date domain.Date) domain.Reviewer {
		return domain.Reviewer{Person: domain.Person{DisplayName: name, Credentials: "MD"}, Role: domain.RoleClinical, ReviewDate: date}
	}
	fictional := func(name string, date domain.Date) domain.Reviewer {
		r := real(name, date)
		r.Fictional = true
		return r
	}
	tests := []struct {
		name         string
		months       int
		reviewers    []domain.Reviewer
		lastReviewed domain.Date
		wantBy       []string
		wantLast     string
		wantRefresh  time.Time
	}{
		{"current real reviewer", 0, []domain.Reviewer{real("Ann", d(2027, 1, 10))}, domain.Date{}, []string{"Ann"}, "2027-01-10",
			time.Date(2028, 1, 10, 0, 0, 0, 0, time.UTC)},
		{"fictional reviewer", 0, []domain.Reviewer{fictional("Demo", d(2027, 1, 10))}, domain.Date{}, nil, "",
			time.Date(2028, 1, 10, 0, 0, 0, 0, time.UTC)},
		{"overdue reviewer", 0, []domain.Reviewer{real("Old", d(2026, 5, 31))}, domain.Date{}, nil, "", time.Time{}},
		{"due exactly now-ish", 0, []domain.Reviewer{real("Edge", d(2026, 6, 1))}, domain.Date{}, nil, "", time.Time{}},
		{"overdue on a 3-month site", 3, []domain.Reviewer{real("Ann", d(2027, 1, 10))}, domain.Date{}, nil, "", time.Time{}},
		{"review dated ahead", 0, []domain.Reviewer{real("Soon", d(2027, 7, 1))}, domain.Date{}, nil, "",
			time.Date(2027, 7, 1, 0, 0, 0, 0, time.UTC)},
		{"undated reviewer takes the article's date", 0, []domain.Reviewer{real("Ann", domain.Date{})}, d(2027, 2, 1), []string{"Ann"}, "2027-02-01",
			time.Date(2028, 2, 1, 0, 0, 0, 0, time.UTC)},
		{"no date at all", 0, []domain.Reviewer{real("Ann", domain.Date{})}, domain.Date{}, nil, "", time.Time{}},
		{"mixed", 0, []domain.Reviewer{fictional("Demo", d(2027, 5, 1)), real("Old", d(2025, 1, 1)), real("Ann", d(2027, 1, 10)), real("Bo", d(2026, 12, 24))},
			domain.Date{}, []string{"Ann", "Bo"}, "2027-01-10", time.Date(2027, 12, 24, 0, 0, 0, 0, time.UTC)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			site := &Site{ID: "s1", BaseURL: "https://s1.example.org", DisplayName: "S1", DefaultLocale: "en", ReviewValidityMonths: tt.months}
			a := testArticle()
			a.Content.Reviewers, a.Content.LastReviewedDate = tt.reviewers, tt.lastReviewed
			e, err := NewEntry(site, a, PlainHTML("<p>x</p>"), now, nil)
			if err != nil {
				t.Fatal(err)
			}
			var pa struct {
				JSONLD     string                        `json:"jsonLd"`
				MedicalRev *struct{ DisplayName string } `json:"medicalReviewer"`
				Reviewers  []struct {
					DisplayName        string
					Fictional, Current bool
				}
				ExampleContent bool `json:"exampleContent"`
			}
			if err := json.Unmarshal(entryJSON(t, e), &pa); err != nil {
				t.Fatal(err)
			}
			var ld struct {
				ReviewedBy   []struct{ Name string } `json:"reviewedBy"`
				LastReviewed string                  `json:"lastReviewed"`
			}
			if err := json.Unmarshal([]byte(pa.JSONLD), &ld); err != nil {
				t.Fatal(err)
			}
			var by []string
			for _, p := range ld.ReviewedBy {
				by = append(by, p.Name)
			}
			if strings.Join(by, ",") != strings.Join(tt.wantBy, ",") || ld.LastReviewed != tt.wantLast {
				t.Errorf("reviewedBy %v lastReviewed %q, want %v %q (JSON-LD %s)", by, ld.LastReviewed, tt.wantBy, tt.wantLast, pa.JSONLD)
			}
			if (pa.MedicalRev != nil) != (len(tt.wantBy) > 0) || (pa.MedicalRev != nil && pa.MedicalRev.DisplayName != tt.wantBy[0]) {
				t.Errorf("medical_reviewer %+v, want the first of %v", pa.MedicalRev, tt.wantBy)
			}
			if len(pa.Reviewers) != len(tt.reviewers) {
				t.Fatalf("%d published reviewers, want every one of %d", len(pa.Reviewers), len(tt.reviewers))
			}
			for i, r := range pa.Reviewers {
				if r.Fictional != tt.reviewers[i].Fictional || (r.Current && r.Fictional == false && !slices.Contains(tt.wantBy, r.DisplayName)) {
					t.Errorf("reviewer %d: %+v", i, r)
				}
			}
			if !e.ReviewRefresh.Equal(tt.wantRefresh) {
				t.Errorf("ReviewRefresh %v, want %v", e.ReviewRefresh, tt.wantRefresh)
			}
		})
	}
}

// TestJSONLDNeverNamesFictionalOrOverdue renders random reviewer sets at random times and checks
// the invariant: every name in reviewedBy is a real reviewer whose review is current.
func TestJSONLDNeverNamesFictionalOrOverdue(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	r := rand.New(rand.NewPCG(seed, 11))
	for i := range 500 {
		now := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(r.IntN(3*365*24)) * time.Hour)
		months := r.IntN(4) * 6 // 0 (default 12), 6, 12, 18
		site := &Site{ID: "s1", BaseURL: "https://s1.example.org", DisplayName: "S1", DefaultLocale: "en", ReviewValidityMonths: months}
		if months == 0 {
			months = 12
		}
		a := testArticle()
		allowed := map[string]bool{}
		for j := range r.IntN(5) {
			rd := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, r.IntN(4*365))
			rev := domain.Reviewer{Person: domain.Person{DisplayName: fmt.Sprintf("R%d", j), Fictional: r.IntN(2) == 0},
				Role: domain.ReviewerRole(1 + r.IntN(3)), ReviewDate: domain.Date{Year: rd.Year(), Month: int(rd.Month()), Day: rd.Day()}}
			a.Content.Reviewers = append(a.Content.Reviewers, rev)
			if !rev.Fictional && !rd.After(now) && now.Before(rd.AddDate(0, months, 0)) {
				allowed[rev.DisplayName] = true
			}
		}
		ld, err := MedicalWebPage(site, a, "https://s1.example.org/articles/s", now)
		if err != nil {
			t.Fatal(err)
		}
		var doc struct {
			ReviewedBy []struct{ Name string } `json:"reviewedBy"`
		}
		if err := json.Unmarshal([]byte(ld), &doc); err != nil {
			t.Fatal(err)
		}
		if len(doc.ReviewedBy) != len(allowed) {
			t.Fatalf("case %d at %v: reviewedBy %v, want exactly %v", i, now, doc.ReviewedBy, allowed)
		}
		for _, p := range doc.ReviewedBy {
			if !allowed[p.Name] {
				t.Fatalf("case %d at %v: reviewedBy names %s, a fictional or not current reviewer (%+v)", i, now, p.Name, a.Content.Reviewers)
			}
		}
	}
}

// entryJSON returns e's PublishedArticle JSON, rendering it.
func entryJSON(tb testing.TB, e *Entry) []byte {
	tb.Helper()
	b, err := e.Body()
	if err != nil {
		tb.Fatalf("render %s: %v", e.ID, err)
	}
	return b.Raw()
}

// TestPublishedArticleTOC: delivery's table of contents, read from the HTML, is the one the
// renderer made, for a body with repeated, nested and marked-up headings.
func TestPublishedArticleTOC(t *testing.T) {
	src := "# Kratom & you\n\nIntro.\n\n## Day *one*\n\ntext\n\n## Day *one*\n\n### `code` in a [link](https://example.org)\n\n> ## Quoted\n\n#### \n\n## Ünïcode <b>raw</b>\n"
	r := markdown.NewRenderer().Render(src)
	if len(r.TOC) < 5 {
		t.Fatalf("the renderer's TOC has %d entries; the fixture wants at least 5", len(r.TOC))
	}
	site := &Site{ID: "s1", BaseURL: "https://s1.example.org", DisplayName: "S1", DefaultLocale: "en"}
	pa, err := PublishedArticle(site, testArticle(), r.HTML, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	var got []markdown.TOCEntry
	for _, e := range pa.GetTableOfContents() {
		got = append(got, markdown.TOCEntry{Level: int(e.GetLevel()), Text: e.GetText(), Anchor: e.GetAnchor()})
	}
	if !slices.Equal(got, r.TOC) {
		t.Errorf("table of contents = %+v\nwant the renderer's %+v", got, r.TOC)
	}
}
