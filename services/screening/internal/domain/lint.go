package domain

import (
	"context"
	"fmt"

	"github.com/beaconcms/beacon/platform/apperr"
	"github.com/beaconcms/beacon/platform/claimlint"
)

// Linter checks what readers see against the clinical-claim rules (platform/claimlint's Engine).
type Linter interface {
	Lint(in claimlint.Input) []claimlint.Finding
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
// a site's tuning changed since), warnings and info.
func (s *Service) LintFindings(ctx context.Context, q *Questionnaire) []claimlint.Finding {
	return s.lintContent(ctx, q.Draft)
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
