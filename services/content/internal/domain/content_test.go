package domain_test

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/beaconcms/beacon/platform/apperr"
	"github.com/beaconcms/beacon/services/content/internal/domain"
)

// validContent is a fully populated content that passes Validate.
func validContent() domain.Content {
	return domain.Content{
		Title:            "What kratom withdrawal feels like",
		Slug:             "what-kratom-withdrawal-feels-like",
		Summary:          "A short overview.\nSecond line.",
		Body:             "## Symptoms\n\nMost people notice...\n",
		Tags:             []string{"kratom", "withdrawal"},
		Topics:           []string{"dependence"},
		Authors:          []domain.Person{{DisplayName: "Dr. A. Author", Credentials: "MD", URL: "https://example.org/a"}},
		Reviewers:        []domain.Reviewer{{Person: domain.Person{DisplayName: "R. Reviewer", Credentials: "PharmD"}, Role: domain.RoleClinical, ReviewDate: domain.Date{Year: 2026, Month: 4, Day: 30}}},
		LastReviewedDate: domain.Date{Year: 2025, Month: 2, Day: 28},
		Citations: []domain.Citation{{
			Title: "A study", URL: "https://doi.org/10.1000/xyz", DOI: "10.1000/xyz", PMID: "12345678",
			AccessedDate: domain.Date{Year: 2024, Month: 2, Day: 29},
		}},
		SEO: domain.SEO{
			MetaTitle: "Kratom withdrawal", MetaDescription: "What to expect.",
			CanonicalURL: "https://kratom-help.example.org/withdrawal", SocialImageURL: "http://img.example.org/a.png",
		},
		TargetSites: []string{"site-a", "site-b"},
		EditorNotes: "check the PMID\n\twith the reviewer",
	}
}

// violatedFields returns the field names of err's violations, or fails when err is not Invalid.
func violatedFields(tb testing.TB, err error) []string {
	tb.Helper()
	if err == nil {
		return nil
	}
	e, ok := apperr.As(err)
	if !ok || e.Code != apperr.Invalid {
		tb.Fatalf("error %v (code %q) is not an Invalid application error", err, apperr.CodeOf(err))
	}
	var fields []string
	for _, f := range e.Fields {
		if f.Description == "" {
			tb.Errorf("violation of %s has no description", f.Field)
		}
		fields = append(fields, f.Field)
	}
	return fields
}

func TestContentValidate(t *testing.T) {
	long := func(n int) string { return strings.Repeat("a", n) }
	many := func(n int, s string) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = s + strings.Repeat("x", i)
		}
		return out
	}
	tests := []struct {
		name   string
		change func(c *domain.Content)
		want   []string // violated fields, nil for valid
	}{
		{"valid", func(*domain.Content) {}, nil},
		{"minimal", func(c *domain.Content) { *c = domain.Content{Title: "T", Slug: "t", TargetSites: []string{"s"}} }, nil},
		{"title at max", func(c *domain.Content) { c.Title = strings.Repeat("é", 200) }, nil},
		{"title empty", func(c *domain.Content) { c.Title = "" }, []string{"article.title"}},
		{"title blank", func(c *domain.Content) { c.Title = "   " }, []string{"article.title"}},
		{"title too long", func(c *domain.Content) { c.Title = strings.Repeat("é", 201) }, []string{"article.title"}},
		{"title newline", func(c *domain.Content) { c.Title = "a\nb" }, []string{"article.title"}},
		{"title invalid UTF-8", func(c *domain.Content) { c.Title = "a\xffb" }, []string{"article.title"}},
		{"slug empty", func(c *domain.Content) { c.Slug = "" }, []string{"article.slug"}},
		{"slug uppercase", func(c *domain.Content) { c.Slug = "Bad-Slug" }, []string{"article.slug"}},
		{"slug too long", func(c *domain.Content) { c.Slug = long(97) }, []string{"article.slug"}},
		{"summary too long", func(c *domain.Content) { c.Summary = long(1001) }, []string{"article.summary"}},
		{"summary control", func(c *domain.Content) { c.Summary = "a\x01b" }, []string{"article.summary"}},
		{"body too big", func(c *domain.Content) { c.Body = long(512<<10 + 1) }, []string{"article.body"}},
		{"body invalid UTF-8", func(c *domain.Content) { c.Body = "\xff" }, []string{"article.body"}},
		{"body NUL", func(c *domain.Content) { c.Body = "a\x00b" }, []string{"article.body"}},
		{"body with quadratic link openers", func(c *domain.Content) { c.Body = strings.Repeat("[a](", 5000) }, []string{"article.body"}},
		{"body nested too deep", func(c *domain.Content) { c.Body = strings.Repeat("> ", 40) + "a" }, []string{"article.body"}},
		{"too many tags", func(c *domain.Content) { c.Tags = many(31, "t") }, []string{"article.tags"}},
		{"tag too long", func(c *domain.Content) { c.Tags = []string{"ok", long(61)} }, []string{"article.tags[1]"}},
		{"topic empty", func(c *domain.Content) { c.Topics = []string{""} }, []string{"article.topics[0]"}},
		{"too many topics", func(c *domain.Content) { c.Topics = many(31, "t") }, []string{"article.topics"}},
		{"too many authors", func(c *domain.Content) {
			c.Authors = make([]domain.Person, 21)
			for i := range c.Authors {
				c.Authors[i].DisplayName = "A"
			}
		}, []string{"article.authors"}},
		{"author without name", func(c *domain.Content) { c.Authors = append(c.Authors, domain.Person{Credentials: "MD"}) }, []string{"article.authors[1].display_name"}},
		{"author credentials too long", func(c *domain.Content) { c.Authors[0].Credentials = long(201) }, []string{"article.authors[0].credentials"}},
		{"author bad URL", func(c *domain.Content) { c.Authors[0].URL = "javascript:alert(1)" }, []string{"article.authors[0].url"}},
		{"reviewer without name", func(c *domain.Content) { c.Reviewers[0].DisplayName = "" }, []string{"article.reviewers[0].display_name"}},
		{"reviewer relative URL", func(c *domain.Content) { c.Reviewers[0].URL = "/people/r" }, []string{"article.reviewers[0].url"}},
		{"no reviewer", func(c *domain.Content) { c.Reviewers = nil }, nil},
		{"reviewer without role", func(c *domain.Content) { c.Reviewers[0].Role = 0 }, []string{"article.reviewers[0].role"}},
		{"reviewer role out of range", func(c *domain.Content) { c.Reviewers[0].Role = 9 }, []string{"article.reviewers[0].role"}},
		{"reviewer review date Feb 30", func(c *domain.Content) { c.Reviewers[0].ReviewDate = domain.Date{Year: 2025, Month: 2, Day: 30} }, []string{"article.reviewers[0].review_date"}},
		{"too many reviewers", func(c *domain.Content) {
			c.Reviewers = make([]domain.Reviewer, 21)
			for i := range c.Reviewers {
				c.Reviewers[i] = domain.Reviewer{Person: domain.Person{DisplayName: "R"}, Role: domain.RoleEditorial}
			}
		}, []string{"article.reviewers"}},
		{"reviewed on Feb 30", func(c *domain.Content) { c.LastReviewedDate = domain.Date{Year: 2025, Month: 2, Day: 30} }, []string{"article.last_reviewed_date"}},
		{"reviewed in year 1800", func(c *domain.Content) { c.LastReviewedDate = domain.Date{Year: 1800, Month: 1, Day: 1} }, []string{"article.last_reviewed_date"}},
		{"too many citations", func(c *domain.Content) {
			c.Citations = make([]domain.Citation, 201)
			for i := range c.Citations {
				c.Citations[i].Title = "C"
			}
		}, []string{"article.citations"}},
		{"citation without title", func(c *domain.Content) { c.Citations[0].Title = "" }, []string{"article.citations[0].title"}},
		{"citation URL with user", func(c *domain.Content) { c.Citations[0].URL = "https://u:p@example.org/" }, []string{"article.citations[0].url"}},
		{"citation URL with unencoded quote", func(c *domain.Content) { c.Citations[0].URL = `https://example.org/a"b` }, []string{"article.citations[0].url"}},
		{"citation URL with unencoded <", func(c *domain.Content) { c.Citations[0].URL = "https://example.org/<script>" }, []string{"article.citations[0].url"}},
		{"citation URL with unencoded >", func(c *domain.Content) { c.Citations[0].URL = "https://example.org/a>b" }, []string{"article.citations[0].url"}},
		{"citation URL with port 99999", func(c *domain.Content) { c.Citations[0].URL = "https://example.org:99999/" }, []string{"article.citations[0].url"}},
		{"citation URL with query and fragment", func(c *domain.Content) { c.Citations[0].URL = "https://example.org/a?b=1&c=2#d" }, nil},
		{"author URL with space", func(c *domain.Content) { c.Authors[0].URL = "https://example.org/dr smith" }, []string{"article.authors[0].url"}},
		{"reviewer URL with braces", func(c *domain.Content) { c.Reviewers[0].URL = "https://example.org/{x}" }, []string{"article.reviewers[0].url"}},
		{"canonical URL with backslash", func(c *domain.Content) { c.SEO.CanonicalURL = `https://example.org\a` }, []string{"article.seo.canonical_url"}},
		{"social image URL with pipe", func(c *domain.Content) { c.SEO.SocialImageURL = "https://example.org/a|b.png" }, []string{"article.seo.social_image_url"}},
		{"citation bad DOI", func(c *domain.Content) { c.Citations[0].DOI = "11.1000/xyz" }, []string{"article.citations[0].doi"}},
		{"citation DOI too long", func(c *domain.Content) { c.Citations[0].DOI = "10.1000/" + long(200) }, []string{"article.citations[0].doi"}},
		{"citation bad PMID", func(c *domain.Content) { c.Citations[0].PMID = "PMC123" }, []string{"article.citations[0].pmid"}},
		{"citation bad accessed date", func(c *domain.Content) { c.Citations[0].AccessedDate = domain.Date{Year: 2025, Month: 13, Day: 1} }, []string{"article.citations[0].accessed_date"}},
		{"second citation bad", func(c *domain.Content) {
			c.Citations = append(c.Citations, domain.Citation{Title: "B", DOI: "doi:10.1/x", PMID: "1 2"})
		}, []string{"article.citations[1].doi", "article.citations[1].pmid"}},
		{"meta title too long", func(c *domain.Content) { c.SEO.MetaTitle = long(201) }, []string{"article.seo.meta_title"}},
		{"meta description too long", func(c *domain.Content) { c.SEO.MetaDescription = long(501) }, []string{"article.seo.meta_description"}},
		{"canonical URL not http", func(c *domain.Content) { c.SEO.CanonicalURL = "ftp://example.org/" }, []string{"article.seo.canonical_url"}},
		{"social image URL without host", func(c *domain.Content) { c.SEO.SocialImageURL = "https:///a.png" }, []string{"article.seo.social_image_url"}},
		{"no target sites", func(c *domain.Content) { c.TargetSites = nil }, []string{"article.target_sites"}},
		{"too many target sites", func(c *domain.Content) { c.TargetSites = many(21, "s") }, []string{"article.target_sites"}},
		{"bad target site", func(c *domain.Content) { c.TargetSites = []string{"site-a", "Site B"} }, []string{"article.target_sites[1]"}},
		{"editor notes too long", func(c *domain.Content) { c.EditorNotes = long(10001) }, []string{"article.editor_notes"}},
		{"editor notes control", func(c *domain.Content) { c.EditorNotes = "a\x1bb" }, []string{"article.editor_notes"}},
		{"several fields at once", func(c *domain.Content) {
			c.Title, c.Slug, c.TargetSites = "", "", nil
		}, []string{"article.title", "article.slug", "article.target_sites"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := validContent()
			tt.change(&c)
			got := violatedFields(t, c.Validate("article."))
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("violated fields (-want +got):\n%s", diff)
			}
		})
	}
}

func TestContentValidatePrefix(t *testing.T) {
	c := validContent()
	c.Citations[0].DOI = "nope"
	got := violatedFields(t, c.Validate("articles[3]."))
	if diff := cmp.Diff([]string{"articles[3].citations[0].doi"}, got); diff != "" {
		t.Errorf("violated fields (-want +got):\n%s", diff)
	}
}

func TestContentNormalize(t *testing.T) {
	tests := []struct {
		name string
		in   domain.Content
		want domain.Content
	}{
		{
			name: "slug derived from title",
			in:   domain.Content{Title: "  Kratom & Sleep: What to Know?  ", TargetSites: []string{"site-a"}},
			want: domain.Content{Title: "Kratom & Sleep: What to Know?", Slug: "kratom-sleep-what-to-know", TargetSites: []string{"site-a"}},
		},
		{
			name: "slug derived from accented title",
			in:   domain.Content{Title: "Café Straße"},
			want: domain.Content{Title: "Café Straße", Slug: "cafe-strasse"},
		},
		{
			name: "blank slug derived from title",
			in:   domain.Content{Title: "Finding help", Slug: "   "},
			want: domain.Content{Title: "Finding help", Slug: "finding-help"},
		},
		{
			name: "explicit slug normalized, not replaced",
			in:   domain.Content{Title: "Finding help", Slug: " My Own Slug "},
			want: domain.Content{Title: "Finding help", Slug: "my-own-slug"},
		},
		{
			name: "overlong explicit slug kept as sent, for Validate to refuse",
			in:   domain.Content{Title: "T", Slug: strings.Repeat("Word ", 20)},
			want: domain.Content{Title: "T", Slug: strings.Repeat("Word ", 20)},
		},
		{
			name: "overlong title gives a slug cut at a hyphen",
			in:   domain.Content{Title: strings.Repeat("Word ", 20)},
			want: domain.Content{Title: strings.TrimSpace(strings.Repeat("Word ", 20)), Slug: strings.TrimSuffix(strings.Repeat("word-", 19), "-")},
		},
		{
			name: "title without letters gives no slug",
			in:   domain.Content{Title: "!!!"},
			want: domain.Content{Title: "!!!", Slug: ""},
		},
		{
			name: "labels lowercased, spaces collapsed, empties and duplicates dropped",
			in: domain.Content{
				Title:  "T",
				Tags:   []string{" Kratom ", "kratom", "", "Opioid   Withdrawal", "  ", "KRATOM"},
				Topics: []string{"Harm Reduction", "harm  reduction"},
			},
			want: domain.Content{
				Title: "T", Slug: "t",
				Tags:   []string{"kratom", "opioid withdrawal"},
				Topics: []string{"harm reduction"},
			},
		},
		{
			name: "target sites trimmed and de-duplicated in order",
			in:   domain.Content{Title: "T", TargetSites: []string{" site-b", "site-a", "site-b "}},
			want: domain.Content{Title: "T", Slug: "t", TargetSites: []string{"site-b", "site-a"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.in
			got.Normalize()
			if diff := cmp.Diff(tt.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("Normalize() (-want +got):\n%s", diff)
			}
			again := got
			again.Normalize()
			if diff := cmp.Diff(got, again, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("Normalize is not idempotent (-once +twice):\n%s", diff)
			}
		})
	}
}

func TestArticleLive(t *testing.T) {
	snap := &domain.Snapshot{RevisionID: 2}
	deleted := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		a    domain.Article
		want bool
	}{
		{"draft", domain.Article{State: domain.StateDraft}, false},
		{"published", domain.Article{State: domain.StatePublished, Published: snap}, true},
		{"rescheduled while published", domain.Article{State: domain.StateScheduled, Published: snap}, true},
		{"scheduled, never published", domain.Article{State: domain.StateScheduled}, false},
		{"archived", domain.Article{State: domain.StateArchived}, false},
		{"published, then deleted", domain.Article{State: domain.StatePublished, Published: snap, DeleteTime: deleted}, false},
	}
	for _, tt := range tests {
		if got := tt.a.Live(); got != tt.want {
			t.Errorf("%s: Live() = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestDateValid(t *testing.T) {
	tests := []struct {
		d    domain.Date
		want bool
	}{
		{domain.Date{Year: 2024, Month: 2, Day: 29}, true},
		{domain.Date{Year: 2023, Month: 2, Day: 29}, false},
		{domain.Date{Year: 2025, Month: 4, Day: 31}, false},
		{domain.Date{Year: 2025, Month: 0, Day: 1}, false},
		{domain.Date{Year: 2025, Month: 1, Day: 0}, false},
		{domain.Date{Year: 1900, Month: 1, Day: 1}, true},
		{domain.Date{Year: 1899, Month: 12, Day: 31}, false},
		{domain.Date{Year: 2200, Month: 12, Day: 31}, true},
		{domain.Date{Year: 2201, Month: 1, Day: 1}, false},
	}
	for _, tt := range tests {
		if got := tt.d.Valid(); got != tt.want {
			t.Errorf("%+v.Valid() = %v, want %v", tt.d, got, tt.want)
		}
	}
}
