package api_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	screeningv1 "github.com/beaconcms/beacon/gen/beacon/screening/v1"
	"github.com/beaconcms/beacon/services/screening/internal/api"
	"github.com/beaconcms/beacon/services/screening/internal/instruments"
)

func TestContentRoundTrip(t *testing.T) {
	all, err := instruments.All()
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range all {
		c := in.Content
		c.TargetSites = []string{"kratom-help", "other"}
		back, err := api.ContentFromProto(api.ContentToProto(c, 0, 0), "questionnaire.")
		if err != nil {
			t.Fatalf("%s: %v", in.Name, err)
		}
		if diff := cmp.Diff(c, back); diff != "" {
			t.Errorf("%s: round trip changed the content (-before +after):\n%s", in.Name, diff)
		}
	}
}

func TestContentFromProtoRejectsBadSitesAndMethods(t *testing.T) {
	q := &screeningv1.Questionnaire{TargetSites: []string{"kratom-help"}, Scoring: &screeningv1.Scoring{Method: 9}}
	_, err := api.ContentFromProto(q, "questionnaire.")
	if err == nil || err.Error() != `invalid request: questionnaire.scoring.method: must be SUM; questionnaire.target_sites[0]: must be a site name like sites/kratom-help, got "kratom-help"` {
		t.Fatalf("err = %v", err)
	}
}
