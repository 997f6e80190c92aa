package api_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/structpb"

	screeningv1 "github.com/beaconcms/beacon/gen/beacon/screening/v1"
	"github.com/beaconcms/beacon/services/screening/internal/api"
	"github.com/beaconcms/beacon/services/screening/internal/domain"
	"github.com/beaconcms/beacon/services/screening/internal/instruments"
)

type okSites struct{}

func (okSites) Site(context.Context, string) (domain.SiteSettings, error) {
	return domain.SiteSettings{Exists: true}, nil
}

func cageScorer(t testing.TB) *domain.Scorer {
	t.Helper()
	all, err := instruments.All()
	if err != nil {
		t.Fatal(err)
	}
	c := all[0].Content.Clone() // cage-aid: four required yes/no questions
	c.TargetSites = []string{"kratom-help"}
	if err := c.Validate(context.Background(), okSites{}, ""); err != nil {
		t.Fatal(err)
	}
	q := &domain.Questionnaire{ID: "cage", Draft: c, Version: 1}
	s, err := domain.NewScorer(q.Publish(time.Unix(0, 0)))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func answer(id string, v *structpb.Value) *screeningv1.Answer {
	return &screeningv1.Answer{LinkId: id, Value: v}
}

func TestAnswersFromProtoAcceptsJSONBooleansAndStrings(t *testing.T) {
	a, err := api.AnswersFromProto([]*screeningv1.Answer{
		answer("cut-down", structpb.NewBoolValue(true)),
		answer("annoyed", structpb.NewStringValue("true")),
		answer("guilty", structpb.NewBoolValue(false)),
		answer("eye-opener", structpb.NewStringValue("false")),
	})
	if err != nil {
		t.Fatal(err)
	}
	res, err := cageScorer(t).Score(a)
	if err != nil || res.Score != 2 || res.Band.Code != "positive" {
		t.Fatalf("score %+v, %v; want 2, positive", res, err)
	}
}

func TestAnswersFromProtoNamesUnusableValuesByPosition(t *testing.T) {
	obj, _ := structpb.NewStruct(map[string]any{"secret": "kratom-daily"})
	a, err := api.AnswersFromProto([]*screeningv1.Answer{
		answer("cut-down", structpb.NewNumberValue(2.5)),
		answer("annoyed", structpb.NewStructValue(obj)),
		answer("guilty", structpb.NewNullValue()),
		answer("eye-opener", nil),
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = cageScorer(t).Score(a)
	if err == nil {
		t.Fatal("unusable values were scored")
	}
	for i := range 4 {
		want := "answers[" + string(rune('0'+i)) + "].value: must be a boolean, an integer or an option value"
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
	if strings.Contains(err.Error(), "kratom-daily") || strings.Contains(err.Error(), "2.5") {
		t.Fatalf("error carries a submitted value: %v", err)
	}
	if _, err := api.AnswersFromProto([]*screeningv1.Answer{answer("", structpb.NewBoolValue(true))}); err == nil || err.Error() != "invalid request: answers[0].link_id: is required" {
		t.Fatalf("missing link id: %v", err)
	}
}

func TestOutcomeAndStatsToProto(t *testing.T) {
	out := api.OutcomeToProto(domain.Outcome{
		Result:               domain.Result{QuestionnaireID: "q", Version: 2, Score: 7, Max: 11, Band: domain.Band{Code: "many-signs", Title: "Many signs", Severity: domain.SeveritySevere}},
		ResultHTML:           "<p>x</p>",
		ArticlesUnavailable:  true,
		Resources:            []domain.ResourceRef{{Name: "resources/r", Kind: "treatment"}},
		CrisisLines:          []domain.CrisisLine{{Title: "988", Phone: "988"}},
		CrisisLineText:       "Call or text 988.",
		ResourcesUnavailable: false,
	})
	if out.GetName() != "questionnaires/q" || out.GetBand().GetSeverity() != screeningv1.Severity_SEVERITY_SEVERE || !out.GetArticles().GetUnavailable() ||
		len(out.GetResources().GetResources()) != 1 || out.GetCrisisLines()[0].GetPhone() != "988" || out.GetCrisisLineText() == "" {
		t.Fatalf("outcome: %v", out)
	}
	rep := domain.Disclose([]domain.Cell{{CounterKey: domain.CounterKey{QuestionnaireID: "q", Version: 1, Site: "kratom-help", Band: "low", Day: "2026-12-01"}, N: 3}})
	st := api.StatsToProto("q", "2026-12-01", "2026-12-01", rep)
	if len(st.GetCells()) != 1 || st.GetCells()[0].GetSite() != "sites/kratom-help" || st.GetCells()[0].GetCount().GetDisplay() != "<5" || st.GetTotal().GetDisplay() != "1-4" {
		t.Fatalf("stats: %v", st)
	}
}

func TestQuestionnaireToProto(t *testing.T) {
	all, _ := instruments.All()
	q := &domain.Questionnaire{ID: "abc", Draft: all[1].Content, State: domain.StatePublished, Version: 3, PublishedVersion: 2, RevisionID: 9, CreateTime: time.Unix(1, 0)}
	p := api.QuestionnaireToProto(q, 0, 11)
	if p.GetName() != "questionnaires/abc" || p.GetEtag() != q.Etag() || p.GetState() != screeningv1.Questionnaire_STATE_PUBLISHED ||
		p.GetVersion() != 3 || p.GetPublishedVersion() != 2 || p.GetScoring().GetMaxScore() != 11 || p.GetDeleteTime() != nil || p.GetCreateTime() == nil {
		t.Fatalf("questionnaire: %v", p)
	}
}
