package api

import (
	"math"

	screeningv1 "github.com/beaconcms/beacon/gen/beacon/screening/v1"
	"github.com/beaconcms/beacon/platform/claimlint"
)

var lintSeverityToProto = map[claimlint.Severity]screeningv1.LintFinding_Severity{
	claimlint.SeverityInfo:    screeningv1.LintFinding_SEVERITY_INFO,
	claimlint.SeverityWarning: screeningv1.LintFinding_SEVERITY_WARNING,
	claimlint.SeverityError:   screeningv1.LintFinding_SEVERITY_ERROR,
}

// LintFindingsToProto converts lint findings about a questionnaire.
func LintFindingsToProto(fs []claimlint.Finding) []*screeningv1.LintFinding {
	var out []*screeningv1.LintFinding
	for _, f := range fs {
		out = append(out, &screeningv1.LintFinding{
			RuleId:           f.RuleID,
			Severity:         lintSeverityToProto[f.Severity],
			Field:            f.Field,
			Line:             clampInt32(f.Line),
			Column:           clampInt32(f.Column),
			Offset:           clampInt32(f.Offset),
			Match:            f.Match,
			Message:          f.Message,
			Suggestion:       f.Suggestion,
			SuppressedReason: f.Suppressed,
		})
	}
	return out
}

func clampInt32(n int) int32 { return int32(min(n, math.MaxInt32)) }
