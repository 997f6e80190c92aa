package api_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
	"google.golang.org/protobuf/types/known/structpb"

	screeningv1 "github.com/beaconcms/beacon/gen/beacon/screening/v1"
	"github.com/beaconcms/beacon/platform/apperr"
)

// sampleAnswers says yes to "used" and to the first yes kratom signs, no to the rest.
func sampleAnswers(yes int) []*screeningv1.SampleAnswer {
	out := []*screeningv1.SampleAnswer{{LinkId: "used", Value: "true"}}
	for i, id := range kratomSigns {
		out = append(out, &screeningv1.SampleAnswer{LinkId: id, Value: map[bool]string{true: "true", false: "false"}[i < yes]})
	}
	return out
}

// rangesText formats ranges as "0-1, 3".
func rangesText(rs []*screeningv1.ScoreRange) string {
	var parts []string
	for _, r := range rs {
		if r.GetMin() == r.GetMax() {
			parts = append(parts, strconv.Itoa(int(r.GetMin())))
			continue
		}
		parts = append(parts, fmt.Sprintf("%d-%d", r.GetMin(), r.GetMax()))
	}
	return strings.Join(parts, ", ")
}

func TestCheckQuestionnaireReportsCoverage(t *testing.T) {
	e := newEnv(t)
	maxOf := func(n int32) *int32 { return &n }
	cases := []struct {
		name      string
		bands     func(bs []*screeningv1.Band)
		valid     bool
		gaps      string
		covers    []string // per band
		overlaps  []string // per band
		violation string   // a field the violations must name
	}{
		{name: "shipped bands", bands: func([]*screeningv1.Band) {}, valid: true,
			covers: []string{"0-1", "2-3", "4-5", "6-11"}, overlaps: []string{"", "", "", ""}},
		{name: "gap at 3", bands: func(bs []*screeningv1.Band) { bs[1].MaxScore = maxOf(2) },
			gaps: "3", covers: []string{"0-1", "2", "4-5", "6-11"}, overlaps: []string{"", "", "", ""}, violation: "questionnaire.bands"},
		{name: "overlap at 4-5", bands: func(bs []*screeningv1.Band) { bs[1].MaxScore = maxOf(5) },
			covers: []string{"0-1", "2-5", "4-5", "6-11"}, overlaps: []string{"", "", "4-5", ""}, violation: "questionnaire.bands[2]"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			q := kratomCheck(t, "kratom-help")
			tc.bands(q.GetBands())
			got, err := e.preview.CheckQuestionnaire(as(kratomKey), &screeningv1.CheckQuestionnaireRequest{Questionnaire: q})
			if err != nil {
				t.Fatal(err)
			}
			if got.GetValid() != tc.valid || !got.GetCoverageKnown() {
				t.Fatalf("valid %v coverage known %v; want %v true (violations %v)", got.GetValid(), got.GetCoverageKnown(), tc.valid, got.GetViolations())
			}
			if r := rangesText(got.GetReachable()); r != "0-11" || got.GetMinScore() != 0 || got.GetMaxScore() != 11 {
				t.Errorf("reachable %q %d-%d, want 0-11", r, got.GetMinScore(), got.GetMaxScore())
			}
			if g := rangesText(got.GetGaps()); g != tc.gaps {
				t.Errorf("gaps %q, want %q", g, tc.gaps)
			}
			var covers, overlaps []string
			for _, b := range got.GetBands() {
				covers, overlaps = append(covers, rangesText(b.GetCovers())), append(overlaps, rangesText(b.GetOverlaps()))
			}
			if d := cmp.Diff(tc.covers, covers); d != "" {
				t.Errorf("covers (-want +got):\n%s", d)
			}
			if d := cmp.Diff(tc.overlaps, overlaps); d != "" {
				t.Errorf("overlaps (-want +got):\n%s", d)
			}
			if tc.violation != "" {
				found := false
				for _, v := range got.GetViolations() {
					found = found || v.GetField() == tc.violation
				}
				if !found {
					t.Errorf("no violation on %s: %v", tc.violation, got.GetViolations())
				}
			}
		})
	}
	t.Run("unsound items: violations, no coverage", func(t *testing.T) {
		q := kratomCheck(t, "kratom-help")
		q.Items[1].EnableWhen = []*screeningv1.EnableWhen{{Question: "nowhere", Operator: screeningv1.EnableWhen_OPERATOR_EQUALS, Answer: "true"}}
		got, err := e.preview.CheckQuestionnaire(as(kratomKey), &screeningv1.CheckQuestionnaireRequest{Questionnaire: q})
		if err != nil {
			t.Fatal(err)
		}
		if got.GetValid() || got.GetCoverageKnown() || len(got.GetBands()) != 0 {
			t.Errorf("valid %v, coverage known %v, bands %d; want false, false, 0", got.GetValid(), got.GetCoverageKnown(), len(got.GetBands()))
		}
		if len(got.GetViolations()) == 0 || !strings.HasPrefix(got.GetViolations()[0].GetField(), "questionnaire.items[1].enable_when[0].question") {
			t.Errorf("violations %v, want the enable_when's question named", got.GetViolations())
		}
	})
	t.Run("a key for another site is refused", func(t *testing.T) {
		_, err := e.preview.CheckQuestionnaire(as(otherKey), &screeningv1.CheckQuestionnaireRequest{Questionnaire: kratomCheck(t, "kratom-help")})
		if !apperr.Is(err, apperr.PermissionDenied) {
			t.Errorf("err %v, want permission denied", err)
		}
	})
}

// TestTryQuestionnaireShowsTheReadersResultWithoutCounting tries the draft (unpublished) and the
// published version: the wording, crisis lines for the severe band, and nothing counted.
func TestTryQuestionnaireShowsTheReadersResultWithoutCounting(t *testing.T) {
	e := newEnv(t)
	q := e.published(t, "kratom-help")
	// An edited draft (version 2) with another disclaimer: a try of version 0 sees it.
	q.Disclaimer = "Draft disclaimer: a self-check, not a diagnosis."
	if _, err := e.manage.UpdateQuestionnaire(as(admin), &screeningv1.UpdateQuestionnaireRequest{Questionnaire: q, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"disclaimer"}}}); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name       string
		version    int64
		yes        int
		band       string
		disclaimer string
		crisis     bool
	}{
		{"draft, few signs", 0, 1, "few-signs", "Draft disclaimer", false},
		{"draft, many signs", 0, 8, "many-signs", "Draft disclaimer", true},
		{"version 1, many signs", 1, 6, "many-signs", "not a diagnosis", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := e.preview.TryQuestionnaire(as(kratomKey), &screeningv1.TryQuestionnaireRequest{Name: q.GetName(), Version: tc.version, Answers: sampleAnswers(tc.yes)})
			if err != nil {
				t.Fatal(err)
			}
			if got.GetBand().GetCode() != tc.band || got.GetScore() != int32(tc.yes) || got.GetBand().GetResultHtml() == "" {
				t.Errorf("band %q score %d html %q; want %q %d and wording", got.GetBand().GetCode(), got.GetScore(), got.GetBand().GetResultHtml(), tc.band, tc.yes)
			}
			if !strings.Contains(got.GetDisclaimer(), tc.disclaimer) {
				t.Errorf("disclaimer %q, want it to contain %q", got.GetDisclaimer(), tc.disclaimer)
			}
			if hasCrisis := len(got.GetCrisisLines()) > 0 && got.GetCrisisLineText() != ""; hasCrisis != tc.crisis {
				t.Errorf("crisis lines %v text %q; want shown %v", got.GetCrisisLines(), got.GetCrisisLineText(), tc.crisis)
			}
		})
	}
	if n := e.counted(t, q); n != 0 {
		t.Errorf("tries were counted: %d screenings", n)
	}
	// The same answers scored as a reader are counted: the check above can fail.
	if _, err := e.screeners.ScoreScreener(context.Background(), &screeningv1.ScoreScreenerRequest{Site: "sites/kratom-help", Slug: "kratom-self-check", Version: 1,
		Answers: []*screeningv1.Answer{{LinkId: "used", Value: structpb.NewBoolValue(false)}}}); err != nil {
		t.Fatal(err)
	}
	if n := e.counted(t, q); n != 1 {
		t.Errorf("a reader's score counted %d, want 1", n)
	}

	refusals := []struct {
		name  string
		req   *screeningv1.TryQuestionnaireRequest
		code  apperr.Code
		field string
	}{
		{"bad answer", &screeningv1.TryQuestionnaireRequest{Name: q.GetName(), Answers: []*screeningv1.SampleAnswer{{LinkId: "used", Value: "maybe"}}}, apperr.Invalid, "answers[0].value"},
		{"site not targeted", &screeningv1.TryQuestionnaireRequest{Name: q.GetName(), Site: "sites/other", Answers: sampleAnswers(0)}, apperr.Invalid, "site"},
		{"unknown version", &screeningv1.TryQuestionnaireRequest{Name: q.GetName(), Version: 7, Answers: sampleAnswers(0)}, apperr.Invalid, "version"},
	}
	for _, tc := range refusals {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.preview.TryQuestionnaire(as(admin), tc.req)
			ae, ok := apperr.As(err)
			if !ok || ae.Code != tc.code || len(ae.Fields) == 0 || ae.Fields[0].Field != tc.field {
				t.Errorf("err %v, want %s on %s", err, tc.code, tc.field)
			}
			if strings.Contains(err.Error(), "maybe") {
				t.Errorf("the error repeats the answer: %v", err)
			}
		})
	}
	if _, err := e.preview.TryQuestionnaire(as(otherKey), &screeningv1.TryQuestionnaireRequest{Name: q.GetName(), Answers: sampleAnswers(0)}); !apperr.Is(err, apperr.NotFound) {
		t.Errorf("a key for another site: %v, want not found", err)
	}
}
