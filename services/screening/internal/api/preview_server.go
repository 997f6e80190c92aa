package api

import (
	"context"
	"fmt"
	"slices"
	"strings"

	screeningv1 "github.com/beaconcms/beacon/gen/beacon/screening/v1"
	"github.com/beaconcms/beacon/platform/apperr"
	"github.com/beaconcms/beacon/platform/auth"
	"github.com/beaconcms/beacon/platform/siteid"
	"github.com/beaconcms/beacon/services/screening/internal/domain"
)

// QuestionnairePreviewServer implements screeningv1.QuestionnairePreviewServiceServer: checks
// and sample scores for editors. It stores nothing and counts nothing; sample answers go from
// the message into domain.Answers, which redacts itself, and are never logged.
type QuestionnairePreviewServer struct {
	screeningv1.UnimplementedQuestionnairePreviewServiceServer
	service  *domain.Service
	delivery *domain.Delivery
}

// NewQuestionnairePreviewServer returns the preview API over the editorial rules and the
// delivery (whose wording, recommendations and crisis lines a try shows).
func NewQuestionnairePreviewServer(service *domain.Service, delivery *domain.Delivery) *QuestionnairePreviewServer {
	return &QuestionnairePreviewServer{service: service, delivery: delivery}
}

// PreviewRules is the access policy of QuestionnairePreviewService: both methods store and
// change nothing, so every role may call them (a viewer sees the coverage and tries answers);
// site scope is the domain's rule, as for a save (Check) or a read (Try).
func PreviewRules() auth.Policy {
	readers := auth.Rule{Roles: []auth.Role{auth.RoleAdmin, auth.RoleEditor, auth.RoleViewer}}
	return auth.Policy{
		screeningv1.QuestionnairePreviewService_CheckQuestionnaire_FullMethodName: readers,
		screeningv1.QuestionnairePreviewService_TryQuestionnaire_FullMethodName:   readers,
	}
}

func (s *QuestionnairePreviewServer) CheckQuestionnaire(ctx context.Context, req *screeningv1.CheckQuestionnaireRequest) (*screeningv1.QuestionnaireCheck, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	if req.GetQuestionnaire() == nil {
		return nil, apperr.InvalidField("questionnaire", "is required")
	}
	c, convErr := ContentFromProto(req.GetQuestionnaire(), "questionnaire.")
	e, isApp := apperr.As(convErr)
	if convErr != nil && !isApp {
		return nil, convErr
	}
	check, err := s.service.Check(ctx, p, c)
	if err != nil {
		return nil, err
	}
	if convErr != nil {
		check.Violations = append(slices.Clone(e.Fields), check.Violations...)
	}
	return CheckToProto(check), nil
}

// CheckToProto returns the message of a check.
func CheckToProto(c domain.Check) *screeningv1.QuestionnaireCheck {
	out := &screeningv1.QuestionnaireCheck{Valid: len(c.Violations) == 0, CoverageKnown: c.CoverageKnown}
	for _, v := range c.Violations {
		out.Violations = append(out.Violations, &screeningv1.CheckViolation{Field: v.Field, Description: v.Description})
	}
	if !c.CoverageKnown {
		return out
	}
	cov := c.Coverage
	out.MinScore, out.MaxScore = int32(cov.Min), int32(cov.Max)
	out.Reachable, out.Gaps = rangesToProto(cov.Reachable), rangesToProto(cov.Gaps)
	for i, b := range cov.Bands {
		out.Bands = append(out.Bands, &screeningv1.BandCoverage{
			Index: int32(i), Code: b.Code, Covers: rangesToProto(b.Covers), Overlaps: rangesToProto(b.OverlapTotals()),
		})
	}
	return out
}

func rangesToProto(totals []int) []*screeningv1.ScoreRange {
	var out []*screeningv1.ScoreRange
	for _, r := range domain.Ranges(totals) {
		out = append(out, &screeningv1.ScoreRange{Min: int32(r.Min), Max: int32(r.Max)})
	}
	return out
}

func (s *QuestionnairePreviewServer) TryQuestionnaire(ctx context.Context, req *screeningv1.TryQuestionnaireRequest) (*screeningv1.ScoreScreenerResponse, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	id, err := questionnaireID("name", req.GetName())
	if err != nil {
		return nil, err
	}
	if req.GetVersion() < 0 {
		return nil, apperr.InvalidField("version", "must be a published version, or 0 for the draft")
	}
	var answers domain.Answers
	var bad apperr.Violations
	for i, a := range req.GetAnswers() {
		if a.GetLinkId() == "" {
			bad.Add(fmt.Sprintf("answers[%d].link_id", i), "is required")
			continue
		}
		answers.Add(a.GetLinkId(), a.GetValue())
	}
	if err := bad.Err(); err != nil {
		return nil, err
	}
	v, err := s.service.TrialVersion(ctx, p, id, req.GetVersion())
	if err != nil {
		return nil, err
	}
	site, err := trialSite(p, v.Content.TargetSites, req.GetSite())
	if err != nil {
		return nil, err
	}
	out, err := s.delivery.Preview(ctx, site, v, answers)
	if err != nil {
		return nil, err
	}
	return OutcomeToProto(out), nil
}

// trialSite is the site a try shows its result for: the requested one ("sites/{id}"), which
// must be a target site of the version that p's key covers, or else the first such site.
func trialSite(p auth.Principal, targets []string, requested string) (string, error) {
	if requested == "" {
		for _, t := range targets {
			if p.CoversSite(t) {
				return t, nil
			}
		}
		return "", apperr.FailedPreconditionField("site", "the questionnaire targets no site the key covers")
	}
	id, ok := strings.CutPrefix(requested, "sites/")
	if !ok || !siteid.Valid(id) {
		return "", apperr.InvalidField("site", "must be a site name like sites/kratom-help (got %q)", requested)
	}
	if !slices.Contains(targets, id) || !p.CoversSite(id) {
		return "", apperr.InvalidField("site", "must be one of the version's target sites that the key covers (%s)", strings.Join(targets, ", "))
	}
	return id, nil
}
