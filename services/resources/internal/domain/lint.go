package domain

import (
	"github.com/beaconcms/beacon/platform/apperr"
	"github.com/beaconcms/beacon/platform/claimlint"
)

// Linter checks what readers see against the clinical-claim rules (platform/claimlint's Engine).
type Linter interface {
	Lint(in claimlint.Input) []claimlint.Finding
}

// checkLint refuses fields whose reader-facing texts (description, eligibility, cost
// description) have a clinical-claim lint error that no lint-ignore marker suppresses:
// FAILED_PRECONDITION with a google.rpc.PreconditionFailure violation per finding, whose subject
// is the field under prefix. The organization's and the listing's own names may be used as they
// are ("... Council on Alcohol and Drug Abuse").
func (s *Service) checkLint(f Fields, prefix string) error {
	findings := s.linter.Lint(claimlint.Input{
		Context: claimlint.ContextResource,
		Fields: []claimlint.Field{
			{Name: "description", Markdown: f.Description},
			{Name: "eligibility", Markdown: f.Eligibility},
			{Name: "cost_description", Markdown: f.CostDescription},
		},
		Facts: claimlint.Facts{Sites: f.TargetSites, ProperNouns: []string{f.OrganizationName, f.DisplayName}, Now: s.now()},
	})
	var unmet apperr.Preconditions
	for _, lf := range claimlint.Blocking(findings) {
		unmet.Add(lf.PreconditionType(), prefix+lf.Field, "%s", lf.Describe())
	}
	return unmet.Err("the resource's texts fail the clinical-claim lint")
}
