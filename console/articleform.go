package console

import (
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"google.golang.org/genproto/googleapis/type/date"

	contentv1 "github.com/beaconcms/beacon/gen/beacon/content/v1"
)

// articleForm is the article editor's form: every writable field of a content Article, as the
// inputs hold it. It converts both ways: formOfArticle (to show an article) and parseArticleForm
// then toArticle (to send what the editor typed).
type articleForm struct {
	Title, Slug, Summary, Body string
	Tags, Topics               string // comma-separated
	TargetSites                []string
	EditorNotes                string
	LastReviewedDate           string // YYYY-MM-DD or ""
	MetaTitle, MetaDescription string
	CanonicalURL, SocialImage  string
	Authors                    []personRow
	Reviewers                  []reviewerRow
	Citations                  []citationRow
	Acknowledgements           []ackRow
}

type personRow struct {
	Index                  int
	Name, Credentials, URL string
	Fictional              bool
}

type reviewerRow struct {
	Index                              int
	Name, Credentials, URL, Role, Date string
	Fictional                          bool
}

type citationRow struct {
	Index                             int
	Title, URL, DOI, PMID, AccessedOn string
}

type ackRow struct {
	Index                           int
	RuleID, Match, Reviewer, Reason string
}

// Row bounds of the form: the content service's limits (20 people, 200 citations, 100
// acknowledgements), one more so a form beyond them is refused by the service, not cut here.
const (
	maxPersonRows   = 21
	maxCitationRows = 201
	maxAckRows      = 101
)

// reviewerRoles are the reviewer roles the form offers (the content API's names).
var reviewerRoles = []option{
	{Value: "ROLE_CLINICAL", Label: "Clinical (medical reviewer)"},
	{Value: "ROLE_EDITORIAL", Label: "Editorial"},
	{Value: "ROLE_LIVED_EXPERIENCE", Label: "Lived experience"},
}

// editorUpdateMask is every field the editor writes. medical_reviewer is not among them: it is
// the first clinical reviewer, written through reviewers.
var editorUpdateMask = []string{"title", "slug", "summary", "body", "tags", "topics", "authors", "reviewers",
	"last_reviewed_date", "citations", "seo", "target_sites", "editor_notes", "acknowledgements"}

func formOfArticle(a *contentv1.Article) articleForm {
	f := articleForm{
		Title: a.GetTitle(), Slug: a.GetSlug(), Summary: a.GetSummary(), Body: a.GetBody(),
		Tags: strings.Join(a.GetTags(), ", "), Topics: strings.Join(a.GetTopics(), ", "),
		EditorNotes: a.GetEditorNotes(), LastReviewedDate: dateString(a.GetLastReviewedDate()),
		MetaTitle: a.GetSeo().GetMetaTitle(), MetaDescription: a.GetSeo().GetMetaDescription(),
		CanonicalURL: a.GetSeo().GetCanonicalUrl(), SocialImage: a.GetSeo().GetSocialImageUrl(),
	}
	for _, s := range a.GetTargetSites() {
		f.TargetSites = append(f.TargetSites, siteID(s))
	}
	for i, p := range a.GetAuthors() {
		f.Authors = append(f.Authors, personRow{Index: i, Name: p.GetDisplayName(), Credentials: p.GetCredentials(), URL: p.GetUrl(), Fictional: p.GetFictional()})
	}
	for i, r := range a.GetReviewers() {
		f.Reviewers = append(f.Reviewers, reviewerRow{Index: i, Name: r.GetDisplayName(), Credentials: r.GetCredentials(), URL: r.GetUrl(),
			Role: r.GetRole().String(), Date: dateString(r.GetReviewDate()), Fictional: r.GetFictional()})
	}
	for i, c := range a.GetCitations() {
		f.Citations = append(f.Citations, citationRow{Index: i, Title: c.GetTitle(), URL: c.GetUrl(), DOI: c.GetDoi(), PMID: c.GetPmid(), AccessedOn: dateString(c.GetAccessedDate())})
	}
	for i, k := range a.GetAcknowledgements() {
		f.Acknowledgements = append(f.Acknowledgements, ackRow{Index: i, RuleID: k.GetRuleId(), Match: k.GetMatch(), Reviewer: k.GetReviewer(), Reason: k.GetReason()})
	}
	return f
}

// parseArticleForm reads the editor's inputs. Rows whose inputs are all empty (the blank row
// the form offers for a new entry) are left out, and so are acknowledgements marked for removal.
func parseArticleForm(v url.Values) articleForm {
	// Browsers send a textarea's line breaks as CRLF; the service keeps what it is sent, so the
	// form turns them back into the LF the article was loaded with.
	get := func(k string) string { return strings.ReplaceAll(v.Get(k), "\r\n", "\n") }
	f := articleForm{
		Title: get("title"), Slug: get("slug"), Summary: get("summary"), Body: get("body"),
		Tags: get("tags"), Topics: get("topics"), EditorNotes: get("editor_notes"),
		LastReviewedDate: strings.TrimSpace(get("last_reviewed_date")),
		MetaTitle:        get("seo.meta_title"), MetaDescription: get("seo.meta_description"),
		CanonicalURL: strings.TrimSpace(get("seo.canonical_url")), SocialImage: strings.TrimSpace(get("seo.social_image_url")),
	}
	for _, s := range v["target_sites"] {
		if s = strings.TrimSpace(s); s != "" && !slices.Contains(f.TargetSites, s) {
			f.TargetSites = append(f.TargetSites, s)
		}
	}
	for i := range maxPersonRows {
		p := fmt.Sprintf("authors.%d.", i)
		row := personRow{Name: get(p + "display_name"), Credentials: get(p + "credentials"), URL: strings.TrimSpace(get(p + "url")), Fictional: get(p+"fictional") != ""}
		if row.Name != "" || row.Credentials != "" || row.URL != "" {
			row.Index = len(f.Authors)
			f.Authors = append(f.Authors, row)
		}
	}
	for i := range maxPersonRows {
		p := fmt.Sprintf("reviewers.%d.", i)
		row := reviewerRow{Name: get(p + "display_name"), Credentials: get(p + "credentials"), URL: strings.TrimSpace(get(p + "url")),
			Role: get(p + "role"), Date: strings.TrimSpace(get(p + "review_date")), Fictional: get(p+"fictional") != ""}
		if row.Name != "" || row.Credentials != "" || row.URL != "" || row.Date != "" {
			row.Index = len(f.Reviewers)
			f.Reviewers = append(f.Reviewers, row)
		}
	}
	for i := range maxCitationRows {
		p := fmt.Sprintf("citations.%d.", i)
		row := citationRow{Title: get(p + "title"), URL: strings.TrimSpace(get(p + "url")), DOI: strings.TrimSpace(get(p + "doi")),
			PMID: strings.TrimSpace(get(p + "pmid")), AccessedOn: strings.TrimSpace(get(p + "accessed_date"))}
		if row != (citationRow{}) {
			row.Index = len(f.Citations)
			f.Citations = append(f.Citations, row)
		}
	}
	for i := range maxAckRows {
		p := fmt.Sprintf("acks.%d.", i)
		row := ackRow{RuleID: get(p + "rule_id"), Match: get(p + "match"), Reviewer: get(p + "reviewer"), Reason: get(p + "reason")}
		if row.RuleID != "" && get(p+"remove") == "" {
			row.Index = len(f.Acknowledgements)
			f.Acknowledgements = append(f.Acknowledgements, row)
		}
	}
	return f
}

// toArticle is the Article the form describes (without name and etag). Dates the form cannot
// read are reported by input name; the service checks everything else.
func (f articleForm) toArticle() (*contentv1.Article, map[string]string) {
	bad := map[string]string{}
	day := func(input, s string) *date.Date {
		if s == "" {
			return nil
		}
		t, err := time.Parse(time.DateOnly, s)
		if err != nil {
			bad[input] = fmt.Sprintf("%q is not a date; use YYYY-MM-DD", s)
			return nil
		}
		return &date.Date{Year: int32(t.Year()), Month: int32(t.Month()), Day: int32(t.Day())}
	}
	a := &contentv1.Article{
		Title: f.Title, Slug: f.Slug, Summary: f.Summary, Body: f.Body,
		Tags: splitList(f.Tags), Topics: splitList(f.Topics), EditorNotes: f.EditorNotes,
		LastReviewedDate: day("last_reviewed_date", f.LastReviewedDate),
	}
	if f.MetaTitle != "" || f.MetaDescription != "" || f.CanonicalURL != "" || f.SocialImage != "" {
		a.Seo = &contentv1.Seo{MetaTitle: f.MetaTitle, MetaDescription: f.MetaDescription, CanonicalUrl: f.CanonicalURL, SocialImageUrl: f.SocialImage}
	}
	for _, s := range f.TargetSites {
		a.TargetSites = append(a.TargetSites, "sites/"+s)
	}
	for _, p := range f.Authors {
		a.Authors = append(a.Authors, &contentv1.Person{DisplayName: p.Name, Credentials: p.Credentials, Url: p.URL, Fictional: p.Fictional})
	}
	for i, r := range f.Reviewers {
		a.Reviewers = append(a.Reviewers, &contentv1.Reviewer{DisplayName: r.Name, Credentials: r.Credentials, Url: r.URL,
			Role:       contentv1.Reviewer_Role(contentv1.Reviewer_Role_value[r.Role]),
			ReviewDate: day(fmt.Sprintf("reviewers.%d.review_date", i), r.Date), Fictional: r.Fictional})
	}
	for i, c := range f.Citations {
		a.Citations = append(a.Citations, &contentv1.Citation{Title: c.Title, Url: c.URL, Doi: c.DOI, Pmid: c.PMID,
			AccessedDate: day(fmt.Sprintf("citations.%d.accessed_date", i), c.AccessedOn)})
	}
	for _, k := range f.Acknowledgements {
		a.Acknowledgements = append(a.Acknowledgements, &contentv1.LintAcknowledgement{RuleId: k.RuleID, Match: k.Match, Reviewer: k.Reviewer, Reason: k.Reason})
	}
	return a, bad
}

// withBlankRows returns f with one empty row after the authors, reviewers and citations, where
// the editor adds a new entry (the form works without script: a saved row gets a new blank one).
func (f articleForm) withBlankRows() articleForm {
	if len(f.Authors) < maxPersonRows-1 {
		f.Authors = append(slices.Clip(f.Authors), personRow{Index: len(f.Authors)})
	}
	if len(f.Reviewers) < maxPersonRows-1 {
		f.Reviewers = append(slices.Clip(f.Reviewers), reviewerRow{Index: len(f.Reviewers), Role: "ROLE_CLINICAL"})
	}
	if len(f.Citations) < maxCitationRows-1 {
		f.Citations = append(slices.Clip(f.Citations), citationRow{Index: len(f.Citations)})
	}
	return f
}

// reviewerNames are the display names of the form's reviewers: who may acknowledge a warning.
func (f articleForm) reviewerNames() []string {
	var out []string
	for _, r := range f.Reviewers {
		if strings.TrimSpace(r.Name) != "" {
			out = append(out, r.Name)
		}
	}
	return out
}

// splitList splits a comma-separated input into its trimmed, non-empty items.
func splitList(s string) []string {
	var out []string
	for _, item := range strings.Split(s, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

func dateString(d *date.Date) string {
	if d == nil || d.GetYear() == 0 {
		return ""
	}
	return fmt.Sprintf("%04d-%02d-%02d", d.GetYear(), d.GetMonth(), d.GetDay())
}

// articleField is one field of an article as the conflict and revision diffs compare it: its
// value as text, one entry a line for lists.
type articleField struct {
	Path, Label string
	value       func(*contentv1.Article) string
}

// articleFields are the editable fields of an article, in the editor's order.
var articleFields = []articleField{
	{"title", "Title", (*contentv1.Article).GetTitle},
	{"slug", "Slug", (*contentv1.Article).GetSlug},
	{"summary", "Summary", (*contentv1.Article).GetSummary},
	{"body", "Body", (*contentv1.Article).GetBody},
	{"tags", "Tags", func(a *contentv1.Article) string { return strings.Join(a.GetTags(), ", ") }},
	{"topics", "Topics", func(a *contentv1.Article) string { return strings.Join(a.GetTopics(), ", ") }},
	{"target_sites", "Target sites", func(a *contentv1.Article) string { return strings.Join(a.GetTargetSites(), ", ") }},
	{"authors", "Authors", func(a *contentv1.Article) string {
		return joinLines(a.GetAuthors(), func(p *contentv1.Person) string {
			return describePerson(p.GetDisplayName(), p.GetCredentials(), p.GetUrl(), p.GetFictional())
		})
	}},
	{"reviewers", "Reviewers", func(a *contentv1.Article) string {
		return joinLines(a.GetReviewers(), func(r *contentv1.Reviewer) string {
			s := describePerson(r.GetDisplayName(), r.GetCredentials(), r.GetUrl(), r.GetFictional()) + "; " + roleLabel(r.GetRole().String())
			if d := dateString(r.GetReviewDate()); d != "" {
				s += "; reviewed " + d
			}
			return s
		})
	}},
	{"last_reviewed_date", "Last reviewed", func(a *contentv1.Article) string { return dateString(a.GetLastReviewedDate()) }},
	{"citations", "Citations", func(a *contentv1.Article) string {
		return joinLines(a.GetCitations(), func(c *contentv1.Citation) string {
			parts := []string{c.GetTitle()}
			for _, p := range [][2]string{{"", c.GetUrl()}, {"doi:", c.GetDoi()}, {"pmid:", c.GetPmid()}, {"accessed ", dateString(c.GetAccessedDate())}} {
				if p[1] != "" {
					parts = append(parts, p[0]+p[1])
				}
			}
			return strings.Join(parts, "; ")
		})
	}},
	{"seo.meta_title", "SEO title", func(a *contentv1.Article) string { return a.GetSeo().GetMetaTitle() }},
	{"seo.meta_description", "SEO description", func(a *contentv1.Article) string { return a.GetSeo().GetMetaDescription() }},
	{"seo.canonical_url", "Canonical URL", func(a *contentv1.Article) string { return a.GetSeo().GetCanonicalUrl() }},
	{"seo.social_image_url", "Social image URL", func(a *contentv1.Article) string { return a.GetSeo().GetSocialImageUrl() }},
	{"editor_notes", "Editor notes", (*contentv1.Article).GetEditorNotes},
	{"acknowledgements", "Lint acknowledgements", func(a *contentv1.Article) string {
		return joinLines(a.GetAcknowledgements(), func(k *contentv1.LintAcknowledgement) string {
			s := k.GetRuleId()
			if k.GetMatch() != "" {
				s += " “" + k.GetMatch() + "”"
			}
			return s + " by " + k.GetReviewer() + ": " + k.GetReason()
		})
	}},
}

func joinLines[T any](items []T, line func(T) string) string {
	lines := make([]string, 0, len(items))
	for _, it := range items {
		lines = append(lines, line(it))
	}
	return strings.Join(lines, "\n")
}

func describePerson(name, credentials, url string, fictional bool) string {
	parts := []string{name}
	if credentials != "" {
		parts = append(parts, credentials)
	}
	if url != "" {
		parts = append(parts, url)
	}
	s := strings.Join(parts, ", ")
	if fictional {
		s += " (fictional)"
	}
	return s
}

func roleLabel(role string) string {
	for _, r := range reviewerRoles {
		if r.Value == role {
			return r.Label
		}
	}
	return "no role"
}

// stateLabel is an article state as people read it: "draft", "published", ...
func stateLabel(s contentv1.Article_State) string {
	return strings.ToLower(strings.TrimPrefix(s.String(), "STATE_"))
}

func itoa(i int) string { return strconv.Itoa(i) }
