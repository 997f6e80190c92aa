package api

import (
	"math"

	contentv1 "github.com/beaconcms/beacon/gen/beacon/content/v1"
	"github.com/beaconcms/beacon/platform/claimlint"
	"github.com/beaconcms/beacon/services/content/internal/domain"
)

var severityToProto = map[claimlint.Severity]contentv1.LintFinding_Severity{
	claimlint.SeverityInfo:    contentv1.LintFinding_SEVERITY_INFO,
	claimlint.SeverityWarning: contentv1.LintFinding_SEVERITY_WARNING,
	claimlint.SeverityError:   contentv1.LintFinding_SEVERITY_ERROR,
}

func toProtoLintFindings(fs []domain.LintFinding) []*contentv1.LintFinding {
	var out []*contentv1.LintFinding
	for _, f := range fs {
		out = append(out, &contentv1.LintFinding{
			RuleId:           f.RuleID,
			Severity:         severityToProto[f.Severity],
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

func clampInt32(n int) int32 { return int32(min(n, math.MaxInt32)) }

func toProtoAcknowledgements(acks []domain.Acknowledgement) []*contentv1.LintAcknowledgement {
	var out []*contentv1.LintAcknowledgement
	for _, a := range acks {
		out = append(out, &contentv1.LintAcknowledgement{RuleId: a.RuleID, Match: a.Match, Reviewer: a.Reviewer, Reason: a.Reason})
	}
	return out
}

func fromProtoAcknowledgements(acks []*contentv1.LintAcknowledgement) []domain.Acknowledgement {
	var out []domain.Acknowledgement
	for _, a := range acks {
		out = append(out, domain.Acknowledgement{RuleID: a.GetRuleId(), Match: a.GetMatch(), Reviewer: a.GetReviewer(), Reason: a.GetReason()})
	}
	return out
}
