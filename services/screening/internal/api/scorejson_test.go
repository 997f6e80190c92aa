package api

import (
	"encoding/json"
	"reflect"
	"testing"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"

	screeningv1 "github.com/beaconcms/beacon/gen/beacon/screening/v1"
)

// TestScoreJSONMatchesProtojson holds the typed codecs of the score route to protojson: the
// same requests decode to the same message (up to the kind of an unusable value), the same
// bodies are refused, and responses encode to the same JSON.
func TestScoreJSONMatchesProtojson(t *testing.T) {
	bodies := []struct {
		name, body string
		ok         bool
	}{
		{"typical", `{"version": 1, "answers": [{"linkId": "used", "value": true}, {"linkId": "n", "value": 3}, {"linkId": "c", "value": "weekly"}]}`, true},
		{"proto names and a version string", `{"version": "2", "answers": [{"link_id": "used", "value": false}]}`, true},
		{"near", `{"version": 1, "answers": [], "near": {"latitude": 38.6, "longitude": -90.2}}`, true},
		{"unusable values", `{"version": 1, "answers": [{"linkId": "a", "value": 1.5}, {"linkId": "b", "value": null}, {"linkId": "c", "value": {"x": 1}}, {"linkId": "d", "value": [1]}]}`, true},
		{"no value, no link id", `{"version": 1, "answers": [{}]}`, true},
		{"site and slug in the body", `{"site": "sites/x", "slug": "y", "version": 1}`, true},
		{"empty", `{}`, true},
		{"unknown field", `{"version": 1, "score": 99}`, false},
		{"unknown answer field", `{"version": 1, "answers": [{"linkId": "a", "value": true, "secret": "x"}]}`, false},
		{"version not a number", `{"version": "one"}`, false},
		{"version a fraction", `{"version": 1.5}`, false},
		{"not JSON", `{"version": 1, "answers": [{"linkId": "a", "value": secretword}]}`, false},
		{"two documents", `{"version": 1} {"version": 2}`, false},
		{"near not numbers", `{"near": {"latitude": "north"}}`, false},
	}
	unusable := func(m *screeningv1.ScoreScreenerRequest) {
		m.Site, m.Slug = "", ""
		for _, a := range m.GetAnswers() {
			switch a.GetValue().GetKind().(type) {
			case *structpb.Value_StructValue, *structpb.Value_ListValue:
				a.Value = structpb.NewListValue(&structpb.ListValue{})
			}
		}
	}
	for _, b := range bodies {
		t.Run(b.name, func(t *testing.T) {
			var fast, ref screeningv1.ScoreScreenerRequest
			fastErr := decodeScoreBody([]byte(b.body), &fast)
			refErr := protojson.Unmarshal([]byte(b.body), &ref)
			if (fastErr == nil) != b.ok || (refErr == nil) != b.ok {
				t.Fatalf("typed decoder: %v, protojson: %v; want ok %v", fastErr, refErr, b.ok)
			}
			if !b.ok {
				return
			}
			unusable(&fast)
			unusable(&ref)
			if len(ref.Answers) == 0 {
				ref.Answers = nil
			}
			if len(fast.Answers) == 0 {
				fast.Answers = nil
			}
			if !proto.Equal(&fast, &ref) {
				t.Errorf("typed decoder %v, protojson %v", &fast, &ref)
			}
		})
	}

	responses := []*screeningv1.ScoreScreenerResponse{
		{
			Name: "questionnaires/q1", Version: 3, Score: 7, MaxScore: 11,
			Band:       &screeningv1.ResultBand{Code: "many-signs", Title: "Many signs", ResultHtml: "<p>Reach out & talk \"now\" — ünïcode</p>\n", Severity: screeningv1.Severity_SEVERITY_SEVERE},
			Disclaimer: "A self-check, not a diagnosis.",
			Articles:   &screeningv1.RecommendedArticles{Articles: []*screeningv1.RecommendedArticle{{Name: "articles/a", Title: "A <b>", Slug: "a", Summary: "S", Url: "https://x.example.org/articles/a?x=1&y=2"}}},
			Resources: &screeningv1.RecommendedResources{Resources: []*screeningv1.RecommendedResource{
				{Name: "resources/r", Title: "R", Kind: "treatment_provider", Phone: "+15550100", Url: "https://r.example.org", DistanceMeters: 1234.5},
				{Name: "resources/v", Title: "V", Kind: "chat"},
			}},
			CrisisLines:    []*screeningv1.CrisisLine{{Title: "988", Phone: "988", Sms: "988", Url: "https://988lifeline.org", Hours: "24/7"}},
			CrisisLineText: "Call or text 988.",
		},
		{
			Name: "questionnaires/q2", Version: 1, MaxScore: 4,
			Band:      &screeningv1.ResultBand{Code: "none", Title: "None", Severity: screeningv1.Severity_SEVERITY_NONE},
			Articles:  &screeningv1.RecommendedArticles{Unavailable: true},
			Resources: &screeningv1.RecommendedResources{},
		},
	}
	for i, r := range responses {
		fast, err := encodeScore(r)
		if err != nil {
			t.Fatal(err)
		}
		ref, err := protojson.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		var a, b any
		if err := json.Unmarshal(fast, &a); err != nil {
			t.Fatalf("response %d: typed encoder wrote bad JSON %s: %v", i, fast, err)
		}
		if err := json.Unmarshal(ref, &b); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(a, b) {
			t.Errorf("response %d:\ntyped     %s\nprotojson %s", i, fast, ref)
		}
	}
}

// BenchmarkScoreCodec compares the typed codecs with protojson on a severe score's request and
// response (go test -bench ScoreCodec ./services/screening/internal/api).
func BenchmarkScoreCodec(b *testing.B) {
	body := []byte(`{"version":1,"answers":[{"linkId":"used","value":true},{"linkId":"more-than-meant","value":true},{"linkId":"cut-down","value":true},{"linkId":"time","value":true},{"linkId":"craving","value":true},{"linkId":"obligations","value":true},{"linkId":"relationships","value":true},{"linkId":"given-up","value":true},{"linkId":"risky-situations","value":false},{"linkId":"health","value":false},{"linkId":"tolerance","value":false},{"linkId":"withdrawal","value":false}]}`)
	resp := &screeningv1.ScoreScreenerResponse{Name: "questionnaires/q1", Version: 1, Score: 7, MaxScore: 11,
		Band:        &screeningv1.ResultBand{Code: "many-signs", Title: "Many signs", ResultHtml: "<p>You reported many signs that kratom is causing serious problems. You deserve support.</p>\n", Severity: screeningv1.Severity_SEVERITY_SEVERE},
		Disclaimer:  "This is a self-check, not a diagnosis. Only a qualified clinician can diagnose a substance use disorder.",
		Articles:    &screeningv1.RecommendedArticles{},
		Resources:   &screeningv1.RecommendedResources{},
		CrisisLines: []*screeningv1.CrisisLine{{Title: "988 Suicide & Crisis Lifeline", Phone: "988", Sms: "988", Url: "https://988lifeline.org/", Hours: "24/7"}}}
	for range 4 {
		resp.Articles.Articles = append(resp.Articles.Articles, &screeningv1.RecommendedArticle{Name: "articles/abcdefgh12345678", Title: "Finding help for kratom use: hotlines, groups and treatment",
			Slug: "finding-help-for-kratom-use", Summary: "A plain guide to the people and services that can help with kratom use, from crisis lines and peer groups to telehealth.", Url: "https://kratom-help.example.org/articles/finding-help-for-kratom-use"})
	}
	b.Run("typed", func(b *testing.B) {
		for b.Loop() {
			var req screeningv1.ScoreScreenerRequest
			if err := decodeScoreBody(body, &req); err != nil {
				b.Fatal(err)
			}
			if _, err := encodeScore(resp); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("protojson", func(b *testing.B) {
		for b.Loop() {
			var req screeningv1.ScoreScreenerRequest
			if err := protojson.Unmarshal(body, &req); err != nil {
				b.Fatal(err)
			}
			if _, err := protojson.Marshal(resp); err != nil {
				b.Fatal(err)
			}
		}
	})
}
