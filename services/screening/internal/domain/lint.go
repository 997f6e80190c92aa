package domain

import (
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

// checkLint refuses content whose reader-facing texts have a clinical-claim lint error that no
// lint-ignore marker suppresses (a result band must never tell a reader "you have an
// addiction"): FAILED_PRECONDITION with a google.rpc.PreconditionFailure violation per finding,
// whose subject is the text's field path under prefix.
func (s *Service) checkLint(c Content, prefix string) error {
	findings := s.linter.Lint(claimlint.Input{
		Context: claimlint.ContextQuestionnaire,
		Fields:  lintFields(c),
		Facts:   claimlint.Facts{Sites: c.TargetSites, Now: s.now()},
	})
	var unmet apperr.Preconditions
	for _, f := range claimlint.Blocking(findings) {
		unmet.Add(f.PreconditionType(), prefix+f.Field, "%s", f.Describe())
	}
	return unmet.Err("the questionnaire's texts fail the clinical-claim lint")
}
