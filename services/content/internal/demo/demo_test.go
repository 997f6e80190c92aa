package demo

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/beaconcms/beacon/services/content/internal/domain"
)

// selfCheck is the delivery path of the shipped kratom self-check screener.
const selfCheck = "/v1/sites/" + SiteID + "/screeners/kratom-self-check"

var (
	// claimPattern finds the claims that need a citation in their own block: timelines,
	// percentages and counts of people, and medicines.
	claimPattern = regexp.MustCompile(`(?i)\b\d+\s?(-|–|to)\s?\d+\s?(hours?|days?|weeks?|months?)\b|\d+(\.\d+)?\s?%|\bwithin a day or two\b|\babout a week\b|\bfor weeks\b|\b\d+ (of|in) [\d,]+\b|\b(buprenorphine|naltrexone|loperamide|naloxone|narcan|methadone)\b`)
	footnoteRef  = regexp.MustCompile(`\[\^([^\]]+)\]`)
	footnoteDef  = regexp.MustCompile(`(?m)^\[\^([^\]]+)\]:`)
)

// TestDemoArticlesAreHonestExamples checks what the clinical review asked of the shipped
// articles: example people are marked fictional, each article says it is example content and
// links to the shipped self-check, every timeline, number and medication claim cites a source
// in its own block, and every article is a health-topic article with a clinical reviewer and a
// quality citation, so the demo site's publish gates apply to it.
func TestDemoArticlesAreHonestExamples(t *testing.T) {
	articles, err := Articles(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if len(articles) != 4 {
		t.Fatalf("%d demo articles, want 4", len(articles))
	}
	for _, c := range articles {
		t.Run(c.Slug, func(t *testing.T) {
			for _, p := range c.Authors {
				if !p.Fictional {
					t.Errorf("author %q is not marked fictional", p.DisplayName)
				}
			}
			clinical := false
			for _, r := range c.Reviewers {
				if !r.Fictional {
					t.Errorf("reviewer %q is not marked fictional", r.DisplayName)
				}
				if r.Role == domain.RoleClinical && domain.ClinicalCredential(r.Credentials) && !r.ReviewDate.IsZero() {
					clinical = true
				}
			}
			if !clinical {
				t.Error("no dated clinical reviewer with a clinical credential")
			}
			if c.HealthTopic() == "" {
				t.Errorf("topics %v and tags %v name no health topic: the publish gates would not apply", c.Topics, c.Tags)
			}
			quality := false
			for _, ct := range c.Citations {
				if ct.DOI != "" || ct.PMID != "" || strings.Contains(ct.URL, ".gov/") || strings.HasSuffix(ct.URL, ".gov") {
					quality = true
				}
			}
			if !quality {
				t.Error("no DOI, PMID or .gov citation")
			}
			blocks := strings.Split(c.Body, "\n\n")
			if len(blocks) < 2 || !strings.HasPrefix(blocks[1], "> **Example content.**") {
				t.Errorf("the block after the title is %.80q, want the example-content note", blocks[1])
			}
			if !strings.Contains(c.Body, "]("+selfCheck+")") {
				t.Errorf("no link to the shipped self-check (%s)", selfCheck)
			}
			if strings.Contains(strings.ToLower(c.Body), "call your doctor if you cannot keep fluids down") {
				t.Error("under-triage: fluids not staying down needs 911 or the ER, not a call to the doctor")
			}
			defs := map[string]bool{}
			for _, m := range footnoteDef.FindAllStringSubmatch(c.Body, -1) {
				defs[m[1]] = true
			}
			used := map[string]bool{}
			for _, b := range blocks {
				if footnoteDef.MatchString(b) || strings.HasPrefix(b, "#") {
					continue
				}
				refs := footnoteRef.FindAllStringSubmatch(b, -1)
				for _, m := range refs {
					used[m[1]] = true
					if !defs[m[1]] {
						t.Errorf("footnote [^%s] has no definition", m[1])
					}
				}
				if claim := claimPattern.FindString(b); claim != "" && len(refs) == 0 {
					t.Errorf("claim %q cites no source in its block: %.120q", claim, b)
				}
			}
			for d := range defs {
				if !used[d] {
					t.Errorf("footnote [^%s] is defined but never cited", d)
				}
			}
		})
	}
}

// TestReviewsDatedWhenSeeded checks that the demo's fictional reviews are dated the day the
// demo is seeded, whenever that is, so they are current (within the default validity) at
// seeding and never fall due at a fixed calendar date; and that a "seeded" date needs a
// seeding time.
func TestReviewsDatedWhenSeeded(t *testing.T) {
	for _, seeded := range []time.Time{
		time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC),
		time.Date(2027, 12, 2, 23, 59, 0, 0, time.UTC),                     // after the fixed dates of old would have lapsed
		time.Date(2041, 2, 28, 0, 30, 0, 0, time.FixedZone("UTC+1", 3600)), // the UTC day is 27 February
	} {
		articles, err := Articles(seeded)
		if err != nil {
			t.Fatal(err)
		}
		day := seeded.UTC()
		want := domain.Date{Year: day.Year(), Month: int(day.Month()), Day: day.Day()}
		for _, c := range articles {
			if c.LastReviewedDate != want {
				t.Errorf("seeded %v: %s last reviewed %v, want %v", seeded, c.Slug, c.LastReviewedDate, want)
			}
			for _, r := range c.Reviewers {
				if r.ReviewDate != want {
					t.Errorf("seeded %v: %s reviewer %s dated %v, want %v", seeded, c.Slug, r.DisplayName, r.ReviewDate, want)
				}
			}
			if !domain.ReviewCurrent(c.LastReview(), domain.DefaultReviewValidityMonths, seeded) {
				t.Errorf("seeded %v: %s review is not current at seeding", seeded, c.Slug)
			}
		}
	}
	if _, err := Articles(time.Time{}); err == nil {
		t.Error("Articles with no seeding time: no error")
	}
}
