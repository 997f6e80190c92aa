package api

import (
	"math"

	screeningv1 "github.com/beaconcms/beacon/gen/beacon/screening/v1"
	"github.com/beaconcms/beacon/platform/claimlint"
	"github.com/beaconcms/beacon/services/screening/internal/domain"
)

var lintSeverityToProto = map[claimlint.Severity]screeningv1.LintFinding_Severity{
	claimlint.SeverityInfo:    screeningv1.LintFinding_SEVERITY_INFO,
	claimlint.SeverityWarning: screeningv1.LintFinding_SEVERITY_WARNING,
	claimlint.SeverityError:   screeningv1.LintFinding_SEVERITY_ERROR,
}

// LintFindingsToProto converts lint findings about a questionnaire.
func LintFindingsToProto(fs []domain.LintFinding) []*screeningv1.LintFinding {
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
			Acknowledged:     f.Acknowledged,
		})
	}
	return out
}

func acknowledgementsToProto(acks []domain.Acknowledgement) []*screeningv1.LintAcknowledgement {
	var out []*screeningv1.LintAcknowledgement
	for _, a := range acks {
		out = append(out, &screeningv1.LintAcknowledgement{RuleId: a.RuleID, Match: a.Match, Reviewer: a.Reviewer, Reason: a.Reason})
	}
	return out
}

func acknowledgementsFromProto(acks []*screeningv1.LintAcknowledgement) []domain.Acknowledgement {
	var out []domain.Acknowledgement
	for _, a := range acks {
		out = append(out, domain.Acknowledgement{RuleID: a.GetRuleId(), Match: a.GetMatch(), Reviewer: a.GetReviewer(), Reason: a.GetReason()})
	}
	return out
}

func clampInt32(n int) int32 { return int32(min(n, math.MaxInt32)) }
