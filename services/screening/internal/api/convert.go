// Package api is the screening service's gRPC edge: converters between screeningv1 messages and
// domain types, and (later) the servers and access rules.
package api

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	screeningv1 "github.com/beaconcms/beacon/gen/beacon/screening/v1"
	"github.com/beaconcms/beacon/platform/apperr"
	"github.com/beaconcms/beacon/services/screening/internal/domain"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"
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
		Title:            q.GetTitle(),
		Slug:             q.GetSlug(),
		Description:      q.GetDescription(),
		Instructions:     q.GetInstructions(),
		Items:            itemsFromProto(q.GetItems()),
		Disclaimer:       q.GetDisclaimer(),
		Acknowledgements: acknowledgementsFromProto(q.GetAcknowledgements()),
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
		Title:            c.Title,
		Slug:             c.Slug,
		Description:      c.Description,
		Instructions:     c.Instructions,
		Items:            itemsToProto(c.Items),
		Scoring:          &screeningv1.Scoring{Method: screeningv1.Scoring_METHOD_SUM, MinScore: int32(lowest), MaxScore: int32(highest)},
		Disclaimer:       c.Disclaimer,
		Acknowledgements: acknowledgementsToProto(c.Acknowledgements),
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

var stateToProto = map[domain.State]screeningv1.Questionnaire_State{
	domain.StateDraft:     screeningv1.Questionnaire_STATE_DRAFT,
	domain.StatePublished: screeningv1.Questionnaire_STATE_PUBLISHED,
}

func timestampOrNil(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}

// QuestionnaireToProto returns the full message of q, with the reachable range of its draft
// (lowest, highest) in scoring.
func QuestionnaireToProto(q *domain.Questionnaire, lowest, highest int) *screeningv1.Questionnaire {
	out := ContentToProto(q.Draft, lowest, highest)
	out.Name = q.Name()
	out.State = stateToProto[q.State]
	out.Version = q.Version
	out.PublishedVersion = q.PublishedVersion
	out.Etag = q.Etag()
	out.RevisionId = q.RevisionID
	out.CreateTime = timestampOrNil(q.CreateTime)
	out.UpdateTime = timestampOrNil(q.UpdateTime)
	out.PublishTime = timestampOrNil(q.PublishTime)
	out.DeleteTime = timestampOrNil(q.DeleteTime)
	return out
}

// AnswersFromProto reads submitted answers. A value is a JSON boolean, an integral number or a
// string; anything else is kept as unusable, for scoring to report by position. Problems name
// positions only, never values.
func AnswersFromProto(in []*screeningv1.Answer) (domain.Answers, error) {
	var a domain.Answers
	var v apperr.Violations
	for i, ans := range in {
		if ans.GetLinkId() == "" {
			v.Add(fmt.Sprintf("answers[%d].link_id", i), "is required")
			continue
		}
		switch k := ans.GetValue().GetKind().(type) {
		case *structpb.Value_BoolValue:
			a.Add(ans.GetLinkId(), strconv.FormatBool(k.BoolValue))
		case *structpb.Value_NumberValue:
			n := k.NumberValue
			if n != math.Trunc(n) || math.Abs(n) > 1<<53 {
				a.AddUnusable(ans.GetLinkId())
				continue
			}
			a.Add(ans.GetLinkId(), strconv.FormatInt(int64(n), 10))
		case *structpb.Value_StringValue:
			a.Add(ans.GetLinkId(), k.StringValue)
		default:
			a.AddUnusable(ans.GetLinkId())
		}
	}
	return a, v.Err()
}

// OutcomeToProto returns the response to a score.
func OutcomeToProto(out domain.Outcome) *screeningv1.ScoreScreenerResponse {
	r := &screeningv1.ScoreScreenerResponse{
		Name: "questionnaires/" + out.Result.QuestionnaireID, Version: out.Result.Version,
		Score: int32(out.Result.Score), MaxScore: int32(out.Result.Max),
		Band: &screeningv1.ResultBand{
			Code: out.Result.Band.Code, Title: out.Result.Band.Title, ResultHtml: out.ResultHTML,
			Severity: severityToProto[out.Result.Band.Severity],
		},
		Disclaimer:     out.Disclaimer,
		Articles:       &screeningv1.RecommendedArticles{Unavailable: out.ArticlesUnavailable},
		Resources:      &screeningv1.RecommendedResources{Unavailable: out.ResourcesUnavailable},
		CrisisLineText: out.CrisisLineText,
	}
	for _, a := range out.Articles {
		r.Articles.Articles = append(r.Articles.Articles, &screeningv1.RecommendedArticle{Name: a.Name, Title: a.Title, Slug: a.Slug, Summary: a.Summary, Url: a.URL})
	}
	for _, x := range out.Resources {
		r.Resources.Resources = append(r.Resources.Resources, &screeningv1.RecommendedResource{Name: x.Name, Title: x.Title, Kind: x.Kind, Phone: x.Phone, Url: x.URL, DistanceMeters: x.DistanceMeters})
	}
	for _, c := range out.CrisisLines {
		r.CrisisLines = append(r.CrisisLines, &screeningv1.CrisisLine{Title: c.Title, Phone: c.Phone, Sms: c.SMS, Url: c.URL, Hours: c.Hours})
	}
	return r
}

func countToProto(c domain.Count) *screeningv1.Count {
	return &screeningv1.Count{Display: c.Display, Min: c.Min, Max: c.Max}
}

func totalsToProto(ts []domain.DisclosedTotal) []*screeningv1.StatsTotal {
	out := make([]*screeningv1.StatsTotal, 0, len(ts))
	for _, t := range ts {
		out = append(out, &screeningv1.StatsTotal{Key: t.Key, Count: countToProto(t.Count)})
	}
	return out
}

// StatsToProto returns the disclosed counters of questionnaire id from day from to day to.
func StatsToProto(id, from, to string, rep domain.StatsReport) *screeningv1.QuestionnaireStats {
	out := &screeningv1.QuestionnaireStats{
		Name: "questionnaires/" + id, From: from, To: to,
		VersionTotals: totalsToProto(rep.VersionTotals), SiteTotals: totalsToProto(rep.SiteTotals),
		BandTotals: totalsToProto(rep.BandTotals), DayTotals: totalsToProto(rep.DayTotals),
		Total: countToProto(rep.Total),
	}
	for _, c := range rep.Cells {
		out.Cells = append(out.Cells, &screeningv1.StatsCell{Version: c.Version, Site: "sites/" + c.Site, BandCode: c.Band, Day: c.Day, Count: countToProto(c.Count)})
	}
	return out
}
