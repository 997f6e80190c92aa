package domain

import (
	"context"
	"fmt"
	"slices"
	"unicode/utf8"

	"github.com/beaconcms/beacon/platform/apperr"
	"github.com/beaconcms/beacon/platform/claimlint"
)

// Linter checks what readers see against the clinical-claim rules (platform/claimlint's Engine).
type Linter interface {
	Lint(in claimlint.Input) []claimlint.Finding
	RuleIDs() []string
}

// Acknowledgement is someone's acknowledgement of lint warnings about a questionnaire: publishing
// needs one for every warning. It is part of the content, so every revision and published
// version keeps the acknowledgements made.
type Acknowledgement struct {
	RuleID string
	// Match is the finding's matched text; empty acknowledges every finding of the rule.
	Match string
	// Reviewer names who acknowledges (a questionnaire has no reviewer list to check it against).
	Reviewer string
	Reason   string
}

// LintFinding is one lint finding about a questionnaire's content, and whether an
// acknowledgement covers it (warnings only).
type LintFinding struct {
	claimlint.Finding
	Acknowledged bool
}

// Limits on acknowledgements.
const (
	maxAcknowledgements = 100
	maxAckReviewerLen   = 200
	maxAckReasonLen     = 1000
)

// checkAcknowledgements refuses acknowledgements that name no rule the linter has, nobody, or no
// reason (INVALID_ARGUMENT naming each field under prefix).
func (s *Service) checkAcknowledgements(c Content, prefix string) error {
	var v apperr.Violations
	if len(c.Acknowledgements) > maxAcknowledgements {
		v.Add(prefix+"acknowledgements", "at most %d", maxAcknowledgements)
		return v.Err()
	}
	rules := s.linter.RuleIDs()
	for i, a := range c.Acknowledgements {
		f := fmt.Sprintf("%sacknowledgements[%d].", prefix, i)
		switch {
		case a.RuleID == "":
			v.Add(f+"rule_id", "is required")
		case !slices.Contains(rules, a.RuleID):
			v.Add(f+"rule_id", "unknown lint rule %q", a.RuleID)
		}
		switch {
		case a.Reviewer == "":
			v.Add(f+"reviewer", "is required: who acknowledges the warning")
		case utf8.RuneCountInString(a.Reviewer) > maxAckReviewerLen:
			v.Add(f+"reviewer", "at most %d characters", maxAckReviewerLen)
		}
		switch {
		case a.Reason == "":
			v.Add(f+"reason", "is required")
		case len(a.Reason) > maxAckReasonLen:
			v.Add(f+"reason", "at most %d bytes", maxAckReasonLen)
		}
	}
	return v.Err()
}

// acknowledged reports whether an acknowledgement covers warning f.
func acknowledged(acks []Acknowledgement, f claimlint.Finding) bool {
	return slices.ContainsFunc(acks, func(a Acknowledgement) bool {
		return a.RuleID == f.RuleID && (a.Match == "" || a.Match == f.Match)
	})
}

// lintFields lists the texts of c a reader sees, named by their proto paths: title,
// description, instructions, disclaimer, every item's text and option labels, and every band's
// title and result text.
func lintFields(c Content) []claimlint.Field {
	fields := []claimlint.Field{
		{Name: "title", Markdown: c.Title},
		{Name: "description", Markdown: c.Description},
		{Name: "instructions", Markdown: c.Instructions},
		{Name: "disclaimer", Markdown: c.Disclaimer},
	}
	var items func(prefix string, its []Item)
	items = func(prefix string, its []Item) {
		for i, it := range its {
			p := fmt.Sprintf("%s[%d]", prefix, i)
			fields = append(fields, claimlint.Field{Name: p + ".text", Markdown: it.Text})
			for j, o := range it.Options {
				if o.Display != "" {
					fields = append(fields, claimlint.Field{Name: fmt.Sprintf("%s.options[%d].display", p, j), Markdown: o.Display})
				}
			}
			items(p+".items", it.Items)
		}
	}
	items("items", c.Items)
	for i, b := range c.Bands {
		fields = append(fields,
			claimlint.Field{Name: fmt.Sprintf("bands[%d].title", i), Markdown: b.Title},
			claimlint.Field{Name: fmt.Sprintf("bands[%d].result_text", i), Markdown: b.ResultText})
	}
	return fields
}

// lintContent returns the clinical-claim findings about c's reader-facing texts, with the rules
// and tunings of its target sites.
func (s *Service) lintContent(ctx context.Context, c Content) []claimlint.Finding {
	return s.linter.Lint(claimlint.Input{
		Context:     claimlint.ContextQuestionnaire,
		Fields:      lintFields(c),
		Facts:       claimlint.Facts{Sites: c.TargetSites, Now: s.now()},
		SiteTunings: s.siteTunings(ctx, c.TargetSites),
	})
}

// LintFindings returns what the clinical-claim lint finds in q's draft now, for the API to
// return with every questionnaire: errors (which a write never lets through unless the rules or
// a site's tuning changed since), warnings (each marked when acknowledged) and info.
func (s *Service) LintFindings(ctx context.Context, q *Questionnaire) []LintFinding {
	var out []LintFinding
	for _, f := range s.lintContent(ctx, q.Draft) {
		out = append(out, LintFinding{Finding: f, Acknowledged: f.Severity == claimlint.SeverityWarning && acknowledged(q.Draft.Acknowledgements, f)})
	}
	return out
}

// checkLint refuses content whose reader-facing texts have a clinical-claim lint error that no
// lint-ignore marker suppresses (a result band must never tell a reader "you have an
// addiction"): FAILED_PRECONDITION with a google.rpc.PreconditionFailure violation per finding,
// whose subject is the text's field path under prefix. Warnings pass: they are returned with
// the questionnaire (LintFindings).
func (s *Service) checkLint(ctx context.Context, c Content, prefix string) error {
	var unmet apperr.Preconditions
	for _, f := range claimlint.Blocking(s.lintContent(ctx, c)) {
		unmet.Add(f.PreconditionType(), prefix+f.Field, "%s", f.Describe())
	}
	return unmet.Err("the questionnaire's texts fail the clinical-claim lint")
}

// checkPublishLint refuses to publish content with an unsuppressed lint error or a warning no
// acknowledgement covers: FAILED_PRECONDITION, a LINT_<RULE_ID> violation per finding whose
// subject is the field under prefix.
func (s *Service) checkPublishLint(ctx context.Context, c Content, prefix string) error {
	var unmet apperr.Preconditions
	for _, f := range s.lintContent(ctx, c) {
		switch {
		case f.Suppressed != "":
		case f.Severity == claimlint.SeverityError:
			unmet.Add(f.PreconditionType(), prefix+f.Field, "%s", f.Describe())
		case f.Severity == claimlint.SeverityWarning && !acknowledged(c.Acknowledgements, f):
			unmet.Add(f.PreconditionType(), prefix+f.Field, "not acknowledged: %s", f.Describe())
		}
	}
	return unmet.Err("the questionnaire's texts fail the clinical-claim lint")
}

// siteTunings returns the lint tunings (lint_tuning settings) of the sites that set one. A site
// the catalog cannot answer for is left out, logged: the lint then applies the operator's
// tuning alone for it.
func (s *Service) siteTunings(ctx context.Context, ids []string) map[string]claimlint.SiteTuning {
	var out map[string]claimlint.SiteTuning
	for _, id := range ids {
		site, err := s.sites.Site(ctx, id)
		if err != nil {
			s.logger.WarnContext(ctx, "lint: site settings unavailable", "site", id, "err", err)
			continue
		}
		if !site.Exists || (len(site.LintTuning.Disable) == 0 && len(site.LintTuning.Severity) == 0) {
			continue
		}
		if out == nil {
			out = map[string]claimlint.SiteTuning{}
		}
		out[id] = site.LintTuning
	}
	return out
}
