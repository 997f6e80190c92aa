package api_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	screeningv1 "github.com/beaconcms/beacon/gen/beacon/screening/v1"
	"github.com/beaconcms/beacon/platform/apperr"
	"github.com/beaconcms/beacon/platform/claimlint"
	"github.com/beaconcms/beacon/services/screening/internal/domain"
)

// preconditions returns err's unmet preconditions as "RULE field" (the gRPC edge sends them as
// google.rpc.PreconditionFailure violations of that type and subject).
func preconditions(err error) []string {
	e, ok := apperr.As(err)
	if !ok {
		return nil
	}
	var out []string
	for _, v := range e.Fields {
		out = append(out, v.Rule+" "+v.Field)
	}
	return out
}

var cmpProto = protocmp.Transform()

// TestLintFindingsReturned: every questionnaire the API returns carries the lint findings about
// its draft (warnings and info pass the write), an error refuses create, update and publish with
// a violation naming the field path, a warning refuses publish until acknowledged (the
// acknowledgement validated and kept in the revision), and the sites' lint tunings apply.
func TestLintFindingsReturned(t *testing.T) {
	sites := testSites{
		"kratom-help": sitesFixture["kratom-help"],
		"strict": {SiteSettings: domain.SiteSettings{Exists: true,
			LintTuning: claimlint.SiteTuning{Severity: map[string]string{"stigmatising-clean-dirty": "error"}}}},
	}
	e := newEnvWith(t, sites)
	ctx := as(admin)
	const warn = "Many people stay clean with support."
	q := kratomCheck(t, "kratom-help")
	q.Bands[0].ResultText = warn
	created, err := e.manage.CreateQuestionnaire(ctx, &screeningv1.CreateQuestionnaireRequest{Questionnaire: q})
	if err != nil {
		t.Fatalf("create with a warning: %v", err)
	}
	want := []*screeningv1.LintFinding{{RuleId: "stigmatising-clean-dirty", Severity: screeningv1.LintFinding_SEVERITY_WARNING,
		Field: "bands[0].result_text", Line: 1, Column: int32(strings.Index(warn, "clean") + 1), Offset: int32(strings.Index(warn, "clean")), Match: "clean"}}
	strip := func(fs []*screeningv1.LintFinding) []*screeningv1.LintFinding {
		var out []*screeningv1.LintFinding
		for _, f := range fs {
			if f.GetMessage() == "" {
				t.Errorf("finding without a message: %v", f)
			}
			out = append(out, &screeningv1.LintFinding{RuleId: f.GetRuleId(), Severity: f.GetSeverity(), Field: f.GetField(), Line: f.GetLine(), Column: f.GetColumn(), Offset: f.GetOffset(), Match: f.GetMatch()})
		}
		return out
	}
	if diff := cmp.Diff(want, strip(created.GetLintFindings()), cmpProto); diff != "" {
		t.Fatalf("create: lint_findings (-want +got):\n%s", diff)
	}
	got, err := e.manage.GetQuestionnaire(ctx, &screeningv1.GetQuestionnaireRequest{Name: created.GetName()})
	if err != nil || !cmp.Equal(want, strip(got.GetLintFindings()), cmpProto) {
		t.Errorf("get: findings %v, %v", got.GetLintFindings(), err)
	}
	listed, err := e.manage.ListQuestionnaires(ctx, &screeningv1.ListQuestionnairesRequest{})
	if err != nil || len(listed.GetQuestionnaires()) != 1 || len(listed.GetQuestionnaires()[0].GetLintFindings()) != 1 {
		t.Errorf("list: %v, %v", listed, err)
	}
	// The site's tuning changes after the save: publish runs the lint again and refuses.
	plain := sites["kratom-help"]
	strict := plain
	strict.LintTuning = claimlint.SiteTuning{Severity: map[string]string{"stigmatising-clean-dirty": "error"}}
	sites["kratom-help"] = strict
	_, err = e.manage.PublishQuestionnaire(ctx, &screeningv1.PublishQuestionnaireRequest{Name: created.GetName()})
	if !apperr.Is(err, apperr.FailedPrecondition) || !cmp.Equal([]string{"LINT_STIGMATISING_CLEAN_DIRTY questionnaire.bands[0].result_text"}, preconditions(err)) {
		t.Errorf("publish after the site made the warning an error: %v (violations %v)", err, preconditions(err))
	}
	sites["kratom-help"] = plain

	// A warning needs an acknowledgement to publish.
	_, err = e.manage.PublishQuestionnaire(ctx, &screeningv1.PublishQuestionnaireRequest{Name: created.GetName()})
	if !apperr.Is(err, apperr.FailedPrecondition) || !cmp.Equal([]string{"LINT_STIGMATISING_CLEAN_DIRTY questionnaire.bands[0].result_text"}, preconditions(err)) ||
		!strings.Contains(err.Error(), "not acknowledged") {
		t.Errorf("publish with an unacknowledged warning: %v (violations %v)", err, preconditions(err))
	}
	for _, bad := range []struct {
		ack   *screeningv1.LintAcknowledgement
		field string
	}{
		{&screeningv1.LintAcknowledgement{RuleId: "no-such-rule", Reviewer: "Dr. Rev", Reason: "fine"}, "questionnaire.acknowledgements[0].rule_id"},
		{&screeningv1.LintAcknowledgement{RuleId: "stigmatising-clean-dirty", Reviewer: " ", Reason: "fine"}, "questionnaire.acknowledgements[0].reviewer"},
		{&screeningv1.LintAcknowledgement{RuleId: "stigmatising-clean-dirty", Reviewer: "Dr. Rev"}, "questionnaire.acknowledgements[0].reason"},
	} {
		_, err := e.manage.UpdateQuestionnaire(ctx, &screeningv1.UpdateQuestionnaireRequest{
			Questionnaire: &screeningv1.Questionnaire{Name: created.GetName(), Etag: created.GetEtag(), Acknowledgements: []*screeningv1.LintAcknowledgement{bad.ack}},
			UpdateMask:    &fieldmaskpb.FieldMask{Paths: []string{"acknowledgements"}},
		})
		if e, _ := apperr.As(err); !apperr.Is(err, apperr.Invalid) || len(e.Fields) != 1 || e.Fields[0].Field != bad.field {
			t.Errorf("acknowledgement %v: %v, want INVALID_ARGUMENT naming %s", bad.ack, err, bad.field)
		}
	}
	acked, err := e.manage.UpdateQuestionnaire(ctx, &screeningv1.UpdateQuestionnaireRequest{
		Questionnaire: &screeningv1.Questionnaire{Name: created.GetName(), Etag: created.GetEtag(), Acknowledgements: []*screeningv1.LintAcknowledgement{
			{RuleId: "stigmatising-clean-dirty", Match: "clean", Reviewer: "Dr. Rev", Reason: "quotes how readers say it"}}},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"acknowledgements"}},
	})
	if err != nil || len(acked.GetLintFindings()) != 1 || !acked.GetLintFindings()[0].GetAcknowledged() {
		t.Fatalf("acknowledged: %v, findings %v", err, acked.GetLintFindings())
	}
	pub, err := e.manage.PublishQuestionnaire(ctx, &screeningv1.PublishQuestionnaireRequest{Name: created.GetName(), Etag: acked.GetEtag()})
	if err != nil || len(pub.GetLintFindings()) != 1 || len(pub.GetAcknowledgements()) != 1 || pub.GetAcknowledgements()[0].GetReviewer() != "Dr. Rev" {
		t.Fatalf("publish with the warning acknowledged: %v, findings %v, acknowledgements %v", err, pub.GetLintFindings(), pub.GetAcknowledgements())
	}
	revs, err := e.manage.ListQuestionnaireRevisions(ctx, &screeningv1.ListQuestionnaireRevisionsRequest{Name: pub.GetName()})
	if err != nil || len(revs.GetRevisions()) == 0 || len(revs.GetRevisions()[0].GetSnapshot().GetAcknowledgements()) != 1 {
		t.Errorf("the newest revision does not keep the acknowledgement: %v, %v", revs, err)
	}

	// An error in an item text refuses the update, naming the path.
	items := pub.GetItems()
	items[1].Text = "Do you feel like one of the addicts?"
	_, err = e.manage.UpdateQuestionnaire(ctx, &screeningv1.UpdateQuestionnaireRequest{
		Questionnaire: &screeningv1.Questionnaire{Name: pub.GetName(), Etag: pub.GetEtag(), Items: items},
		UpdateMask:    &fieldmaskpb.FieldMask{Paths: []string{"items"}},
	})
	if !apperr.Is(err, apperr.FailedPrecondition) || !cmp.Equal([]string{"LINT_STIGMATISING_TERM questionnaire.items[1].text"}, preconditions(err)) {
		t.Errorf("update with an error: %v (violations %v)", err, preconditions(err))
	}

	// On the strict site the warning is an error: refused at create.
	q = kratomCheck(t, "strict")
	q.Slug = "strict-check"
	q.Bands[0].ResultText = warn
	_, err = e.manage.CreateQuestionnaire(ctx, &screeningv1.CreateQuestionnaireRequest{Questionnaire: q})
	if !apperr.Is(err, apperr.FailedPrecondition) || !cmp.Equal([]string{"LINT_STIGMATISING_CLEAN_DIRTY questionnaire.bands[0].result_text"}, preconditions(err)) {
		t.Errorf("create on the strict site: %v (violations %v)", err, preconditions(err))
	}
}
