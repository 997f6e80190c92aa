package api

import (
	"math"

	resourcesv1 "github.com/beaconcms/beacon/gen/beacon/resources/v1"
	"github.com/beaconcms/beacon/platform/claimlint"
)

var lintSeverityToProto = map[claimlint.Severity]resourcesv1.LintFinding_Severity{
	claimlint.SeverityInfo:    resourcesv1.LintFinding_SEVERITY_INFO,
	claimlint.SeverityWarning: resourcesv1.LintFinding_SEVERITY_WARNING,
	claimlint.SeverityError:   resourcesv1.LintFinding_SEVERITY_ERROR,
}

// toProtoLintFindings converts lint findings for a resource or a directory.
func toProtoLintFindings(fs []claimlint.Finding) []*resourcesv1.LintFinding {
	var out []*resourcesv1.LintFinding
	for _, f := range fs {
		out = append(out, &resourcesv1.LintFinding{
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
