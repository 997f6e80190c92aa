package domain

import (
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/beaconcms/beacon/platform/apperr"
	"github.com/beaconcms/beacon/platform/markdown"
	"github.com/beaconcms/beacon/platform/siteid"
	"github.com/beaconcms/beacon/platform/slug"
	"github.com/beaconcms/beacon/platform/weburl"
)

// Limits on article fields. Requests are capped at 1 MiB before they reach the domain.
const (
	maxTitle       = 200
	maxSummary     = 1000
	maxBody        = 512 << 10
	maxLabels      = 30 // tags, topics
	maxLabelLen    = 60
	maxPeople      = 20
	maxCitations   = 200
	maxTargetSites = 20
	maxEditorNotes = 10000
)

var (
	localePattern = regexp.MustCompile(`^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$`)
	pmidPattern   = regexp.MustCompile(`^[0-9]{1,9}$`)
	doiPattern    = regexp.MustCompile(`^10\.[0-9]{4,9}/\S+$`)
)

type violations struct{ apperr.Violations }

func (v *violations) add(field, format string, args ...any) { v.Add(field, format, args...) }

func (v *violations) err() error { return v.Err() }

// text checks that s is valid UTF-8 without control characters (newlines allowed when multiline)
// and between min and max characters long.
func (v *violations) text(field, s string, min, max int) {
	v.textLines(field, s, min, max, false)
}

func (v *violations) textLines(field, s string, min, max int, multiline bool) {
	n := utf8.RuneCountInString(s)
	switch {
	case !utf8.ValidString(s):
		v.add(field, "must be valid UTF-8")
	case min > 0 && strings.TrimSpace(s) == "":
		v.add(field, "is required")
	case n < min:
		v.add(field, "must be at least %d characters", min)
	case n > max:
		v.add(field, "must be at most %d characters", max)
	case hasControl(s, multiline):
		v.add(field, "must not contain control characters")
	}
}

func hasControl(s string, multiline bool) bool {
	for _, r := range s {
		if r == '\n' || r == '\t' || r == '\r' {
			if multiline {
				continue
			}
			return true
		}
		if r < 0x20 || r == 0x7f {
			return true
		}
	}
	return false
}

// body checks a Markdown body: its size, encoding and complexity, which bound the CPU cost of
// rendering and linting it (see markdown.CheckComplexity).
func (v *violations) body(field, body string) {
	switch {
	case len(body) > maxBody:
		v.add(field, "must be at most %d bytes", maxBody)
	case !utf8.ValidString(body):
		v.add(field, "must be valid UTF-8")
	case strings.ContainsRune(body, 0):
		v.add(field, "must not contain NUL characters")
	default:
		if err := markdown.CheckComplexity(body); err != nil {
			v.add(field, "is too complex to render: %v", err)
		}
	}
}

// optionalURL checks a URL field that may be empty with the one URL rule (platform/weburl),
// which the sitemap and feed renderers also apply.
func (v *violations) optionalURL(field, s string) {
	if s == "" {
		return
	}
	if err := weburl.CheckAbsolute(s); err != nil {
		v.add(field, "%s", err)
	}
}

// normalizeLabels lowercases, trims and de-duplicates tags or topics, keeping their order.
func normalizeLabels(in []string) []string {
	out := make([]string, 0, len(in))
	seen := make(map[string]bool, len(in))
	for _, l := range in {
		l = strings.ToLower(strings.Join(strings.Fields(l), " "))
		if l == "" || seen[l] {
			continue
		}
		seen[l] = true
		out = append(out, l)
	}
	return out
}

// Normalize puts content into canonical form before validation: trimmed title, normalized slug
// (derived from the title when empty), canonical labels and site list.
func (c *Content) Normalize() {
	c.Title = strings.TrimSpace(c.Title)
	if strings.TrimSpace(c.Slug) == "" {
		c.Slug = slug.Normalize(c.Title)
	} else {
		// A slug the client chose is never cut: an overlong one stays as sent and fails Validate.
		c.Slug, _ = slug.NormalizeExplicit(c.Slug)
	}
	c.Tags = normalizeLabels(c.Tags)
	c.Topics = normalizeLabels(c.Topics)
	sites := make([]string, 0, len(c.TargetSites))
	seen := map[string]bool{}
	for _, s := range c.TargetSites {
		s = strings.TrimSpace(s)
		if !seen[s] {
			seen[s] = true
			sites = append(sites, s)
		}
	}
	c.TargetSites = sites
}

// Validate checks every field, naming bad ones with prefix (e.g. "article.").
func (c *Content) Validate(prefix string) error {
	var v violations
	v.text(prefix+"title", c.Title, 1, maxTitle)
	if c.Slug == "" {
		v.add(prefix+"slug", "is required (or give a title with letters or digits)")
	} else if !slug.Valid(c.Slug) {
		v.add(prefix+"slug", "must be lowercase letters, digits and hyphens, at most %d characters", slug.MaxLen)
	}
	v.textLines(prefix+"summary", c.Summary, 0, maxSummary, true)
	v.body(prefix+"body", c.Body)
	v.labels(prefix+"tags", c.Tags)
	v.labels(prefix+"topics", c.Topics)
	if len(c.Authors) > maxPeople {
		v.add(prefix+"authors", "must have at most %d entries", maxPeople)
	}
	for i, a := range c.Authors {
		v.person(fmt.Sprintf("%sauthors[%d]", prefix, i), a)
	}
	if len(c.Reviewers) > maxPeople {
		v.add(prefix+"reviewers", "must have at most %d entries", maxPeople)
	}
	for i, r := range c.Reviewers {
		f := fmt.Sprintf("%sreviewers[%d]", prefix, i)
		v.person(f, r.Person)
		if !r.Role.Valid() {
			v.add(f+".role", "is required: ROLE_CLINICAL, ROLE_EDITORIAL or ROLE_LIVED_EXPERIENCE")
		}
		if !r.ReviewDate.IsZero() && !r.ReviewDate.Valid() {
			v.add(f+".review_date", "must be a real calendar date")
		}
	}
	if !c.LastReviewedDate.IsZero() && !c.LastReviewedDate.Valid() {
		v.add(prefix+"last_reviewed_date", "must be a real calendar date")
	}
	if len(c.Citations) > maxCitations {
		v.add(prefix+"citations", "must have at most %d entries", maxCitations)
	}
	for i, ct := range c.Citations {
		f := fmt.Sprintf("%scitations[%d]", prefix, i)
		v.text(f+".title", ct.Title, 1, 500)
		v.optionalURL(f+".url", ct.URL)
		if ct.DOI != "" && (!doiPattern.MatchString(ct.DOI) || len(ct.DOI) > 200) {
			v.add(f+".doi", "must look like 10.1234/abc")
		}
		if ct.PMID != "" && !pmidPattern.MatchString(ct.PMID) {
			v.add(f+".pmid", "must be digits only")
		}
		if !ct.AccessedDate.IsZero() && !ct.AccessedDate.Valid() {
			v.add(f+".accessed_date", "must be a real calendar date")
		}
	}
	v.text(prefix+"seo.meta_title", c.SEO.MetaTitle, 0, 200)
	v.text(prefix+"seo.meta_description", c.SEO.MetaDescription, 0, 500)
	v.optionalURL(prefix+"seo.canonical_url", c.SEO.CanonicalURL)
	v.optionalURL(prefix+"seo.social_image_url", c.SEO.SocialImageURL)
	switch {
	case len(c.TargetSites) == 0:
		v.add(prefix+"target_sites", "must name at least one site")
	case len(c.TargetSites) > maxTargetSites:
		v.add(prefix+"target_sites", "must name at most %d sites", maxTargetSites)
	}
	for i, s := range c.TargetSites {
		if !siteid.Valid(s) {
			v.add(fmt.Sprintf("%starget_sites[%d]", prefix, i), "must be a site name like sites/kratom-help")
		}
	}
	v.textLines(prefix+"editor_notes", c.EditorNotes, 0, maxEditorNotes, true)
	return v.err()
}

func (v *violations) labels(field string, labels []string) {
	if len(labels) > maxLabels {
		v.add(field, "must have at most %d entries", maxLabels)
	}
	for i, l := range labels {
		v.text(fmt.Sprintf("%s[%d]", field, i), l, 1, maxLabelLen)
	}
}

func (v *violations) person(field string, p Person) {
	v.text(field+".display_name", p.DisplayName, 1, 200)
	v.text(field+".credentials", p.Credentials, 0, 200)
	v.optionalURL(field+".url", p.URL)
}
