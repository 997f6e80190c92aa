// Package api is the screening service's gRPC edge: converters between screeningv1 messages and
// domain types, and (later) the servers and access rules.
package api

import (
	"fmt"
	"strings"

	screeningv1 "github.com/beaconcms/beacon/gen/beacon/screening/v1"
	"github.com/beaconcms/beacon/platform/apperr"
	"github.com/beaconcms/beacon/services/screening/internal/domain"
)

var itemTypeFromProto = map[screeningv1.Item_Type]domain.ItemType{
	screeningv1.Item_TYPE_BOOLEAN: domain.ItemBoolean,
	screeningv1.Item_TYPE_CHOICE:  domain.ItemChoice,
	screeningv1.Item_TYPE_INTEGER: domain.ItemInteger,
	screeningv1.Item_TYPE_DISPLAY: domain.ItemDisplay,
	screeningv1.Item_TYPE_GROUP:   domain.ItemGroup,
}

var operatorFromProto = map[screeningv1.EnableWhen_Operator]domain.Operator{
	screeningv1.EnableWhen_OPERATOR_EXISTS:           domain.OpExists,
	screeningv1.EnableWhen_OPERATOR_EQUALS:           domain.OpEquals,
	screeningv1.EnableWhen_OPERATOR_NOT_EQUALS:       domain.OpNotEquals,
	screeningv1.EnableWhen_OPERATOR_GREATER_THAN:     domain.OpGreater,
	screeningv1.EnableWhen_OPERATOR_LESS_THAN:        domain.OpLess,
	screeningv1.EnableWhen_OPERATOR_GREATER_OR_EQUAL: domain.OpGreaterOrEqual,
	screeningv1.EnableWhen_OPERATOR_LESS_OR_EQUAL:    domain.OpLessOrEqual,
}

var severityFromProto = map[screeningv1.Severity]domain.Severity{
	screeningv1.Severity_SEVERITY_NONE:     domain.SeverityNone,
	screeningv1.Severity_SEVERITY_LOW:      domain.SeverityLow,
	screeningv1.Severity_SEVERITY_MODERATE: domain.SeverityModerate,
	screeningv1.Severity_SEVERITY_HIGH:     domain.SeverityHigh,
	screeningv1.Severity_SEVERITY_SEVERE:   domain.SeveritySevere,
}

func invert[K, V comparable](m map[K]V) map[V]K {
	out := make(map[V]K, len(m))
	for k, v := range m {
		out[v] = k
	}
	return out
}

var (
	itemTypeToProto = invert(itemTypeFromProto)
	operatorToProto = invert(operatorFromProto)
	severityToProto = invert(severityFromProto)
)

// ContentFromProto reads the editable fields of a Questionnaire message. Unknown enum values are
// left as zero for validation to report; target sites must be site names ("sites/{id}"), and
// the scoring method must be unset or SUM. Fields in errors are named below prefix.
func ContentFromProto(q *screeningv1.Questionnaire, prefix string) (domain.Content, error) {
	c := domain.Content{
		Title:        q.GetTitle(),
		Slug:         q.GetSlug(),
		Description:  q.GetDescription(),
		Instructions: q.GetInstructions(),
		Items:        itemsFromProto(q.GetItems()),
		Disclaimer:   q.GetDisclaimer(),
		Source: domain.Source{
			Citation:             q.GetSource().GetCitation(),
			URL:                  q.GetSource().GetUrl(),
			LicenseName:          q.GetSource().GetLicenseName(),
			CommercialUseAllowed: q.GetSource().GetCommercialUseAllowed(),
		},
	}
	for _, b := range q.GetBands() {
		c.Bands = append(c.Bands, domain.Band{
			Min: int(b.GetMinScore()), Max: int(b.GetMaxScore()), HasMax: b.MaxScore != nil,
			Code: b.GetCode(), Title: b.GetTitle(), ResultText: b.GetResultText(),
			Severity: severityFromProto[b.GetSeverity()], ShowCrisisLines: b.GetShowCrisisLines(),
			Recommend: domain.Recommendations{
				ArticleTags:   b.GetRecommendations().GetArticleTags(),
				ArticleTopics: b.GetRecommendations().GetArticleTopics(),
				ResourceKinds: b.GetRecommendations().GetResourceKinds(),
			},
		})
	}
	var v apperr.Violations
	if m := q.GetScoring().GetMethod(); m != screeningv1.Scoring_METHOD_UNSPECIFIED && m != screeningv1.Scoring_METHOD_SUM {
		v.Add(prefix+"scoring.method", "must be SUM")
	}
	for i, name := range q.GetTargetSites() {
		id, ok := strings.CutPrefix(name, "sites/")
		if !ok || id == "" {
			v.Add(fmt.Sprintf("%starget_sites[%d]", prefix, i), "must be a site name like sites/kratom-help, got %q", name)
			continue
		}
		c.TargetSites = append(c.TargetSites, id)
	}
	return c, v.Err()
}

func itemsFromProto(items []*screeningv1.Item) []domain.Item {
	if len(items) == 0 {
		return nil
	}
	out := make([]domain.Item, 0, len(items))
	for _, it := range items {
		d := domain.Item{
			LinkID: it.GetLinkId(), Text: it.GetText(), Type: itemTypeFromProto[it.GetType()], Required: it.GetRequired(),
			Items: itemsFromProto(it.GetItems()),
		}
		if it.GetEnableBehavior() == screeningv1.Item_ENABLE_BEHAVIOR_ANY {
			d.EnableBehavior = domain.EnableAny
		}
		for _, o := range it.GetAnswerOptions() {
			d.Options = append(d.Options, domain.AnswerOption{Value: o.GetValue(), Display: o.GetDisplay(), Score: int(o.GetScore())})
		}
		for _, w := range it.GetEnableWhen() {
			d.EnableWhen = append(d.EnableWhen, domain.EnableWhen{Question: w.GetQuestion(), Operator: operatorFromProto[w.GetOperator()], Answer: w.GetAnswer()})
		}
		out = append(out, d)
	}
	return out
}

// ContentToProto writes content into the editable fields of a Questionnaire message, with the
// reachable range in scoring when reach is known.
func ContentToProto(c domain.Content, lowest, highest int) *screeningv1.Questionnaire {
	q := &screeningv1.Questionnaire{
		Title:        c.Title,
		Slug:         c.Slug,
		Description:  c.Description,
		Instructions: c.Instructions,
		Items:        itemsToProto(c.Items),
		Scoring:      &screeningv1.Scoring{Method: screeningv1.Scoring_METHOD_SUM, MinScore: int32(lowest), MaxScore: int32(highest)},
		Disclaimer:   c.Disclaimer,
		Source: &screeningv1.Source{
			Citation: c.Source.Citation, Url: c.Source.URL, LicenseName: c.Source.LicenseName,
			CommercialUseAllowed: c.Source.CommercialUseAllowed,
		},
	}
	for _, b := range c.Bands {
		pb := &screeningv1.Band{
			MinScore: int32(b.Min), Code: b.Code, Title: b.Title, ResultText: b.ResultText,
			Severity: severityToProto[b.Severity], ShowCrisisLines: b.ShowCrisisLines,
			Recommendations: &screeningv1.Recommendations{
				ArticleTags: b.Recommend.ArticleTags, ArticleTopics: b.Recommend.ArticleTopics, ResourceKinds: b.Recommend.ResourceKinds,
			},
		}
		if b.HasMax {
			m := int32(b.Max)
			pb.MaxScore = &m
		}
		q.Bands = append(q.Bands, pb)
	}
	for _, s := range c.TargetSites {
		q.TargetSites = append(q.TargetSites, "sites/"+s)
	}
	return q
}

func itemsToProto(items []domain.Item) []*screeningv1.Item {
	if len(items) == 0 {
		return nil
	}
	out := make([]*screeningv1.Item, 0, len(items))
	for _, it := range items {
		p := &screeningv1.Item{
			LinkId: it.LinkID, Text: it.Text, Type: itemTypeToProto[it.Type], Required: it.Required,
			EnableBehavior: screeningv1.Item_ENABLE_BEHAVIOR_ALL, Items: itemsToProto(it.Items),
		}
		if it.EnableBehavior == domain.EnableAny {
			p.EnableBehavior = screeningv1.Item_ENABLE_BEHAVIOR_ANY
		}
		for _, o := range it.Options {
			p.AnswerOptions = append(p.AnswerOptions, &screeningv1.AnswerOption{Value: o.Value, Display: o.Display, Score: int32(o.Score)})
		}
		for _, w := range it.EnableWhen {
			p.EnableWhen = append(p.EnableWhen, &screeningv1.EnableWhen{Question: w.Question, Operator: operatorToProto[w.Operator], Answer: w.Answer})
		}
		out = append(out, p)
	}
	return out
}
