package domain

import (
	"context"
	"log/slog"

	"github.com/beaconcms/beacon/platform/apperr"
	"github.com/beaconcms/beacon/platform/claimlint"
)

// Linter checks what readers see against the clinical-claim rules (platform/claimlint's Engine).
type Linter interface {
	Lint(in claimlint.Input) []claimlint.Finding
}

// lintResource returns the clinical-claim findings about f's reader-facing texts (description,
// eligibility, cost description), with the rules and tunings of its target sites. The
// organization's and the listing's own names may be used as they are ("... Council on Alcohol
// and Drug Abuse").
func (s *Service) lintResource(ctx context.Context, f Fields) []claimlint.Finding {
	return s.linter.Lint(claimlint.Input{
		Context: claimlint.ContextResource,
		Fields: []claimlint.Field{
			{Name: "description", Markdown: f.Description},
			{Name: "eligibility", Markdown: f.Eligibility},
			{Name: "cost_description", Markdown: f.CostDescription},
		},
		Facts:       claimlint.Facts{Sites: f.TargetSites, ProperNouns: []string{f.OrganizationName, f.DisplayName}, Now: s.now()},
		SiteTunings: siteTunings(ctx, s.sites, f.TargetSites, s.logger),
	})
}

// LintFindings returns what the clinical-claim lint finds in r's texts now, for the API to
// return with every resource: errors (which a write never lets through unless the rules or a
// site's tuning changed since), warnings and info.
func (s *Service) LintFindings(ctx context.Context, r *Resource) []claimlint.Finding {
	return s.lintResource(ctx, r.Fields)
}

// checkLint refuses fields whose reader-facing texts have a clinical-claim lint error that no
// lint-ignore marker suppresses: FAILED_PRECONDITION with a google.rpc.PreconditionFailure
// violation per finding, whose subject is the field under prefix. Warnings pass (they are
// returned with the resource).
func (s *Service) checkLint(ctx context.Context, f Fields, prefix string) error {
	return lintRefusal(s.lintResource(ctx, f), prefix, "the resource's texts fail the clinical-claim lint")
}

// lintDirectory returns the clinical-claim findings about a directory's title and intro, with
// its site's rules and tuning.
func (s *DirectoryService) lintDirectory(ctx context.Context, f DirectoryFields) []claimlint.Finding {
	sites := []string{f.Site}
	return s.linter.Lint(claimlint.Input{
		Context: claimlint.ContextResource,
		Fields: []claimlint.Field{
			{Name: "title", Markdown: f.Title},
			{Name: "intro", Markdown: f.Intro},
		},
		Facts:       claimlint.Facts{Sites: sites, Now: s.now()},
		SiteTunings: siteTunings(ctx, s.sites, sites, s.logger),
	})
}

// LintFindings returns what the clinical-claim lint finds in d's title and intro now, for the
// API to return with every directory.
func (s *DirectoryService) LintFindings(ctx context.Context, d *Directory) []claimlint.Finding {
	return s.lintDirectory(ctx, d.DirectoryFields)
}

// checkLint refuses a directory whose title or intro has an unsuppressed lint error, as
// Service.checkLint does for resources.
func (s *DirectoryService) checkLint(ctx context.Context, f DirectoryFields) error {
	return lintRefusal(s.lintDirectory(ctx, f), "directory.", "the directory's texts fail the clinical-claim lint")
}

// lintRefusal returns FAILED_PRECONDITION naming each blocking finding (an unsuppressed error)
// as a LINT_<RULE_ID> violation whose subject is the field under prefix; nil when none blocks.
func lintRefusal(findings []claimlint.Finding, prefix, message string) error {
	var unmet apperr.Preconditions
	for _, f := range claimlint.Blocking(findings) {
		unmet.Add(f.PreconditionType(), prefix+f.Field, "%s", f.Describe())
	}
	return unmet.Err(message)
}

// siteTunings returns the lint tunings (lint_tuning settings) of the sites that set one. A site
// the catalog cannot answer for is left out, logged: the lint then applies the operator's
// tuning alone for it.
func siteTunings(ctx context.Context, sites SiteCatalog, ids []string, logger *slog.Logger) map[string]claimlint.SiteTuning {
	var out map[string]claimlint.SiteTuning
	for _, id := range ids {
		site, ok, err := sites.Site(ctx, id)
		if err != nil {
			logger.WarnContext(ctx, "lint: site settings unavailable", "site", id, "err", err)
			continue
		}
		if !ok || (len(site.LintTuning.Disable) == 0 && len(site.LintTuning.Severity) == 0) {
			continue
		}
		if out == nil {
			out = map[string]claimlint.SiteTuning{}
		}
		out[id] = site.LintTuning
	}
	return out
}
