package domain

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/beaconcms/beacon/platform/apperr"
	"github.com/beaconcms/beacon/platform/claimlint"
)

// Linter checks what readers see against the clinical-claim rules (platform/claimlint's Engine).
type Linter interface {
	Lint(in claimlint.Input) []claimlint.Finding
	RuleIDs() []string
}

// Acknowledgement is a reviewer's acknowledgement of a lint warning: publishing needs one for
// every warning. It is part of the draft, so every revision keeps the acknowledgements made.
type Acknowledgement struct {
	RuleID string
	// Match is the finding's matched text; empty acknowledges every finding of the rule.
	Match string
	// Reviewer names one of the article's reviewers.
	Reviewer string
	Reason   string
}

// LintFinding is one lint finding about a draft, and whether a reviewer acknowledged it.
type LintFinding struct {
	claimlint.Finding
	Acknowledged bool
}

// Limits on acknowledgements.
const (
	maxAcknowledgements = 100
	maxAckReasonLen     = 1000
)

// validateAcknowledgements checks the acknowledgements of c: each names a known rule, one of
// c's reviewers and a reason.
func validateAcknowledgements(c Content, rules []string, v *apperr.Violations, prefix string) {
	if len(c.Acknowledgements) > maxAcknowledgements {
		v.Add(prefix+"acknowledgements", "at most %d", maxAcknowledgements)
		return
	}
	reviewers := c.reviewerNames()
	for i, a := range c.Acknowledgements {
		f := fmt.Sprintf("%sacknowledgements[%d].", prefix, i)
		switch {
		case a.RuleID == "":
			v.Add(f+"rule_id", "is required")
		case !slices.Contains(rules, a.RuleID):
			v.Add(f+"rule_id", "unknown lint rule %q", a.RuleID)
		}
		switch {
		case strings.TrimSpace(a.Reviewer) == "":
			v.Add(f+"reviewer", "is required: the reviewer who acknowledges the warning")
		case !slices.ContainsFunc(reviewers, func(n string) bool { return samePerson(n, a.Reviewer) }):
			v.Add(f+"reviewer", "%q is not one of the article's reviewers", a.Reviewer)
		}
		switch {
		case strings.TrimSpace(a.Reason) == "":
			v.Add(f+"reason", "is required")
		case len(a.Reason) > maxAckReasonLen:
			v.Add(f+"reason", "at most %d bytes", maxAckReasonLen)
		}
	}
}

func samePerson(a, b string) bool {
	return strings.EqualFold(strings.Join(strings.Fields(a), " "), strings.Join(strings.Fields(b), " "))
}

// reviewerNames lists the display names of c's reviewers.
func (c Content) reviewerNames() []string {
	var names []string
	for _, r := range c.Reviewers {
		names = append(names, r.DisplayName)
	}
	return names
}

// lintInput is what the linter reads of a draft: its title, summary and body, and the facts its
// rules need (locale, reviewers' credentials). sites are the draft's target sites as the catalog
// knows them: their lint tunings apply. The review-metadata rules are left out: the sites' publish gates
// (CheckPublishable) enforce them, per site.
func lintInput(c Content, sites []Site, now time.Time) claimlint.Input {
	in := claimlint.Input{
		Context:      claimlint.ContextArticle,
		SkipMetadata: true,
		Fields: []claimlint.Field{
			{Name: "title", Markdown: c.Title},
			{Name: "summary", Markdown: c.Summary},
			{Name: "body", Markdown: c.Body},
		},
		Facts: claimlint.Facts{
			Sites:  slices.Clone(c.TargetSites),
			Topics: slices.Concat(c.Topics, c.Tags),
			Now:    now,
		},
	}
	for _, s := range sites {
		if in.Facts.Locale == "" {
			in.Facts.Locale = s.DefaultLocale
		}
		in.Facts.PublicSite = in.Facts.PublicSite || s.Public
		if len(s.LintTuning.Disable) > 0 || len(s.LintTuning.Severity) > 0 {
			if in.SiteTunings == nil {
				in.SiteTunings = map[string]claimlint.SiteTuning{}
			}
			in.SiteTunings[s.ID] = s.LintTuning
		}
	}
	for _, p := range c.Authors {
		in.Facts.Authors = append(in.Facts.Authors, claimlint.Person{Name: p.DisplayName, Credentials: p.Credentials, Fictional: p.Fictional})
	}
	for _, r := range c.Reviewers {
		in.Facts.Reviewers = append(in.Facts.Reviewers, claimlint.Person{Name: r.DisplayName, Credentials: r.Credentials, Fictional: r.Fictional})
	}
	if d := c.LastReview(); !d.IsZero() {
		in.Facts.ReviewedOn = d.Time()
	}
	for _, ct := range c.Citations {
		in.Facts.Citations = append(in.Facts.Citations, claimlint.Citation{URL: ct.URL, DOI: ct.DOI, PMID: ct.PMID})
	}
	return in
}

// acknowledged reports whether an acknowledgement covers warning f.
func acknowledged(acks []Acknowledgement, f claimlint.Finding) bool {
	return slices.ContainsFunc(acks, func(a Acknowledgement) bool {
		return a.RuleID == f.RuleID && (a.Match == "" || a.Match == f.Match)
	})
}

// lint returns the findings about draft c, each warning marked when acknowledged. A target site
// the catalog cannot answer for is left out of the facts (logged): the lint then falls back to
// the rules' defaults for it.
func (s *Service) lint(ctx context.Context, c Content) []LintFinding {
	var sites []Site
	for _, id := range c.TargetSites {
		site, found, err := s.sites.Site(ctx, id)
		if err != nil {
			s.logger.WarnContext(ctx, "lint: site settings unavailable", "site", id, "err", err)
		}
		if found {
			sites = append(sites, site)
		}
	}
	var out []LintFinding
	for _, f := range s.linter.Lint(lintInput(c, sites, s.now())) {
		out = append(out, LintFinding{Finding: f, Acknowledged: f.Severity == claimlint.SeverityWarning && acknowledged(c.Acknowledgements, f)})
	}
	return out
}

// withLint returns a copy of a with the lint findings about its draft (a itself may be shared
// with observers or the store's memory). A view limited to the live snapshot gets none: its key
// may not see the draft.
func (s *Service) withLint(ctx context.Context, a *Article) *Article {
	if a.LiveSnapshotOnly {
		return a
	}
	out := *a
	out.LintFindings = s.lint(ctx, a.Draft)
	return &out
}

// checkAcknowledgements validates c's acknowledgements: each names a rule the linter has, one of
// c's reviewers, and a reason.
func (s *Service) checkAcknowledgements(c Content) error {
	var v apperr.Violations
	validateAcknowledgements(c, s.linter.RuleIDs(), &v, "article.")
	return v.Err()
}

// addLintViolations adds to unmet every lint finding about draft c that blocks publishing: an
// error, or a warning no reviewer acknowledged (suppressed findings block nothing). Each is a
// google.rpc.PreconditionFailure violation of type LINT_<RULE_ID> whose subject is the field.
func (s *Service) addLintViolations(ctx context.Context, unmet *apperr.Preconditions, c Content) {
	for _, f := range s.lint(ctx, c) {
		if f.Suppressed != "" {
			continue
		}
		blocks := f.Severity == claimlint.SeverityError || (f.Severity == claimlint.SeverityWarning && !f.Acknowledged)
		if !blocks {
			continue
		}
		desc := f.Describe()
		if f.Severity == claimlint.SeverityWarning {
			desc = "not acknowledged by a reviewer: " + desc
		}
		unmet.Add(f.PreconditionType(), "article."+f.Field, "%s", desc)
	}
}
