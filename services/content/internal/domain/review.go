package domain

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/beaconcms/beacon/platform/apperr"
)

// ReviewerRole is what a reviewer checked.
type ReviewerRole int

// The roles.
const (
	RoleClinical        ReviewerRole = iota + 1 // clinical or medical accuracy
	RoleEditorial                               // clarity, plain language, structure
	RoleLivedExperience                         // a person with lived experience of use or recovery
)

// Valid reports whether r is one of the roles.
func (r ReviewerRole) Valid() bool { return r >= RoleClinical && r <= RoleLivedExperience }

// Reviewer is someone who reviewed an article, in one role, on one date.
type Reviewer struct {
	Person
	Role ReviewerRole
	// ReviewDate is when this reviewer last reviewed the article; zero means the content's
	// LastReviewedDate.
	ReviewDate Date
}

// ReviewedOn returns the date r reviewed c: its own date, else c's LastReviewedDate (zero when
// neither is set).
func (c *Content) ReviewedOn(r Reviewer) Date {
	if !r.ReviewDate.IsZero() {
		return r.ReviewDate
	}
	return c.LastReviewedDate
}

// LastReview returns the latest review date of c: of its reviewers and its LastReviewedDate.
// Zero when c was never reviewed.
func (c *Content) LastReview() Date {
	last := c.LastReviewedDate
	for _, r := range c.Reviewers {
		if d := c.ReviewedOn(r); d.After(last) {
			last = d
		}
	}
	return last
}

// After reports whether d is a later date than e.
func (d Date) After(e Date) bool {
	if d.Year != e.Year {
		return d.Year > e.Year
	}
	if d.Month != e.Month {
		return d.Month > e.Month
	}
	return d.Day > e.Day
}

// Time returns midnight UTC at the start of d; the zero time for the zero Date.
func (d Date) Time() time.Time {
	if d.IsZero() {
		return time.Time{}
	}
	return time.Date(d.Year, time.Month(d.Month), d.Day, 0, 0, 0, 0, time.UTC)
}

// DefaultReviewValidityMonths is how long a review stays valid on a site that sets no validity.
const DefaultReviewValidityMonths = 12

// ReviewValidity returns the site's review validity in months, its default applied.
func (s *Site) ReviewValidity() int {
	if s.ReviewValidityMonths > 0 {
		return s.ReviewValidityMonths
	}
	return DefaultReviewValidityMonths
}

// ReviewDue returns when a review made on reviewed is due again after months: midnight UTC,
// months after the review date. Zero for a zero date.
func ReviewDue(reviewed Date, months int) time.Time {
	if reviewed.IsZero() {
		return time.Time{}
	}
	return reviewed.Time().AddDate(0, months, 0)
}

// ReviewDueOn returns when the next review of content last reviewed on last is due, on the
// given sites: the earliest due time among them (validity gives each site's months; a list
// without sites uses the default validity). Zero when last is zero.
func ReviewDueOn(last Date, sites []string, validity func(site string) int) time.Time {
	if last.IsZero() {
		return time.Time{}
	}
	months := 0
	for _, s := range sites {
		if m := validity(s); months == 0 || m < months {
			months = m
		}
	}
	if months == 0 {
		months = DefaultReviewValidityMonths
	}
	return ReviewDue(last, months)
}

// ReviewCurrent reports whether a review made on reviewed is still valid at now for months:
// made, not in the future, and not yet due again.
func ReviewCurrent(reviewed Date, months int, now time.Time) bool {
	if reviewed.IsZero() || reviewed.Time().After(now) {
		return false
	}
	return now.Before(ReviewDue(reviewed, months))
}

// reviewValidity returns the review validity of site id from the catalog's memory: the default
// for a site it does not know.
func (s *Service) reviewValidity(ctx context.Context, id string) int {
	site, found, err := s.sites.Site(ctx, id)
	if err != nil || !found {
		return DefaultReviewValidityMonths
	}
	return site.ReviewValidity()
}

// ReviewDueTime returns when the next review of c is due on its target sites (the earliest of
// them); zero when c was never reviewed.
func (s *Service) ReviewDueTime(ctx context.Context, c *Content) time.Time {
	return ReviewDueOn(c.LastReview(), c.TargetSites, func(site string) int { return s.reviewValidity(ctx, site) })
}

// withReviewDue returns a copy of a with ReviewDueTime set, for the caller.
func (s *Service) withReviewDue(ctx context.Context, a *Article) *Article {
	if a == nil {
		return nil
	}
	out := *a // a copy: a may have been handed to observers already
	out.ReviewDueTime = s.ReviewDueTime(ctx, &a.Draft)
	return &out
}

// MedicalReviewer returns the first clinical reviewer as a Person (the deprecated
// medical_reviewer field), or the zero Person.
func MedicalReviewer(reviewers []Reviewer) Person {
	for _, r := range reviewers {
		if r.Role == RoleClinical {
			return r.Person
		}
	}
	return Person{}
}

// WithMedicalReviewer returns reviewers with its first clinical reviewer replaced by p (added
// first when there is none, removed when p is zero), as writing the deprecated
// medical_reviewer field does. The same person keeps their review date.
func WithMedicalReviewer(reviewers []Reviewer, p Person) []Reviewer {
	out := slices.Clone(reviewers)
	i := slices.IndexFunc(out, func(r Reviewer) bool { return r.Role == RoleClinical })
	switch {
	case i < 0 && p.IsZero():
		return out
	case i < 0:
		return append([]Reviewer{{Person: p, Role: RoleClinical}}, out...)
	case p.IsZero():
		return slices.Delete(out, i, i+1)
	}
	if out[i].DisplayName != p.DisplayName {
		out[i].ReviewDate = Date{}
	}
	out[i].Person = p
	return out
}

// HealthTopics are the topics whose articles the clinical publish gates hold: an article is a
// health-topic article when any of its topics or tags (both normalized to lower case) is one
// of these.
var HealthTopics = []string{"withdrawal", "treatment", "medication", "overdose", "pregnancy"}

// HealthTopic returns the first health topic among c's topics and tags, or "".
func (c *Content) HealthTopic() string {
	for _, labels := range [2][]string{c.Topics, c.Tags} {
		for _, l := range labels {
			if slices.Contains(HealthTopics, l) {
				return l
			}
		}
	}
	return ""
}

// clinicalCredentials are the credentials (dots removed, upper case) that make a clinical
// reviewer for the publish gates: physicians, nurse practitioners, physician assistants and
// pharmacists, who can judge medication and withdrawal advice. A psychologist's PhD or a
// social worker's LCSW is not among them.
var clinicalCredentials = []string{"MD", "DO", "MBBS", "MBCHB", "NP", "APRN", "FNP", "FNP-BC", "PMHNP", "PMHNP-BC", "PA-C", "PHARMD"}

// ClinicalCredential reports whether credentials (e.g. "MD, addiction medicine" or "Pharm.D.")
// name a clinical credential.
func ClinicalCredential(credentials string) bool {
	for _, word := range strings.FieldsFunc(credentials, func(r rune) bool {
		return r == ',' || r == ';' || r == '/' || r == '(' || r == ')' || r == ' ' || r == '|'
	}) {
		if slices.Contains(clinicalCredentials, strings.ToUpper(strings.ReplaceAll(word, ".", ""))) {
			return true
		}
	}
	return false
}

// The publish-gate rules, as google.rpc.PreconditionFailure types.
const (
	RuleClinicalReviewer = "CLINICAL_REVIEWER"
	RuleReviewCurrent    = "REVIEW_CURRENT"
	RuleQualityCitation  = "QUALITY_CITATION"
)

// qualityCitation reports whether ct is a DOI, a PMID, or a .gov or .edu (or doi.org) URL.
func qualityCitation(ct Citation) bool {
	if ct.DOI != "" || ct.PMID != "" {
		return true
	}
	u, err := url.Parse(ct.URL)
	if err != nil {
		return false
	}
	host := strings.ToLower(strings.TrimSuffix(u.Hostname(), "."))
	return strings.HasSuffix(host, ".gov") || strings.HasSuffix(host, ".edu") || host == "doi.org"
}

// checkPublishGates adds to unmet every clinical publish gate c fails on the given site (whose
// gates are on): for a health-topic article, a clinical reviewer who is not the only author,
// whose review is current at now, and a quality citation. Fictional reviewers count only on a
// site whose content is example content.
func checkPublishGates(unmet *apperr.Preconditions, c *Content, site *Site, now time.Time) {
	topic := c.HealthTopic()
	if topic == "" {
		return
	}
	var clinical []Reviewer
	for _, r := range c.Reviewers {
		if r.Role != RoleClinical || !ClinicalCredential(r.Credentials) || (r.Fictional && !site.ExampleContent) {
			continue
		}
		if len(c.Authors) == 1 && strings.EqualFold(strings.TrimSpace(c.Authors[0].DisplayName), strings.TrimSpace(r.DisplayName)) {
			continue // reviewing one's own article alone is no review
		}
		clinical = append(clinical, r)
	}
	where := fmt.Sprintf("on sites/%s (topic %q)", site.ID, topic)
	if len(clinical) == 0 {
		unmet.Add(RuleClinicalReviewer, "article.reviewers",
			"%s a health-topic article needs a reviewer with role ROLE_CLINICAL and a clinical credential (MD, DO, NP, PA-C, PharmD, ...) who is not its only author", where)
	} else if !slices.ContainsFunc(clinical, func(r Reviewer) bool { return ReviewCurrent(c.ReviewedOn(r), site.ReviewValidity(), now) }) {
		unmet.Add(RuleReviewCurrent, "article.reviewers",
			"%s the clinical review must be dated, not in the future, and within the site's review validity of %d months", where, site.ReviewValidity())
	}
	if !slices.ContainsFunc(c.Citations, qualityCitation) {
		unmet.Add(RuleQualityCitation, "article.citations",
			"%s a health-topic article needs at least one citation with a DOI, a PMID, or a .gov or .edu URL", where)
	}
}

// CheckPublishable returns a FailedPrecondition error naming every rule a's draft fails for
// being published (or scheduled) now: the clinical publish gates of each target site that has
// them on, internal links, and the clinical-claim lint (addLintViolations). It is the one check the publish and schedule paths call; every rule that blocks
// publishing belongs here.
func (s *Service) CheckPublishable(ctx context.Context, a *Article) error {
	var unmet apperr.Preconditions
	now := s.now()
	for _, id := range a.Draft.TargetSites {
		site, found, err := s.sites.Site(ctx, id)
		if err != nil {
			return fmt.Errorf("looking up sites/%s: %w", id, err)
		}
		if found && site.PublishGates {
			checkPublishGates(&unmet, &a.Draft, &site, now)
		}
	}
	if err := s.checkInternalLinks(ctx, &unmet, a); err != nil {
		return err
	}
	s.addLintViolations(ctx, &unmet, a.Draft)
	return unmet.Err(fmt.Sprintf("%s cannot be published", a.Name()))
}
