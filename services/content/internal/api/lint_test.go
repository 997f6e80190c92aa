package api_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	contentv1 "github.com/beaconcms/beacon/gen/beacon/content/v1"
)

// TestLintOverTheWire: findings come back on every write and read, an error blocks publishing
// with a google.rpc.PreconditionFailure naming the finding, and an acknowledgement written with
// update_mask "acknowledgements" lets a warning through.
func TestLintOverTheWire(t *testing.T) {
	e := newEnv(t)
	ctx := as(t.Context(), keyAdmin)
	a, err := e.articles.CreateArticle(ctx, &contentv1.CreateArticleRequest{Article: &contentv1.Article{
		Title: "Sleep after stopping", Body: "## Sleep\n\nJunkies sleep badly. Sleep usually improves within a week or two.",
		TargetSites: []string{"sites/site-a"},
		Reviewers:   []*contentv1.Reviewer{{DisplayName: "Dr. Rev", Credentials: "MD", Role: contentv1.Reviewer_ROLE_CLINICAL}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	want := []*contentv1.LintFinding{
		{RuleId: "stigmatising-term", Severity: contentv1.LintFinding_SEVERITY_ERROR, Field: "body", Line: 3, Column: 1, Offset: 10, Match: "Junkies"},
		{RuleId: "number-needs-citation", Severity: contentv1.LintFinding_SEVERITY_WARNING, Field: "body", Line: 3, Column: 45, Offset: 54, Match: "within a week or two"},
	}
	ignoreText := protocmp.IgnoreFields(&contentv1.LintFinding{}, "message", "suggestion")
	if diff := cmp.Diff(want, a.GetLintFindings(), protocmp.Transform(), ignoreText); diff != "" {
		t.Fatalf("create: lint_findings (-want +got):\n%s", diff)
	}
	for _, f := range a.GetLintFindings() {
		if f.GetMessage() == "" || f.GetSuggestion() == "" {
			t.Errorf("finding without message or suggestion: %v", f)
		}
	}
	got, err := e.articles.GetArticle(ctx, &contentv1.GetArticleRequest{Name: a.GetName()})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(a.GetLintFindings(), got.GetLintFindings(), protocmp.Transform()); diff != "" {
		t.Errorf("get: lint_findings differ (-create +get):\n%s", diff)
	}

	_, err = e.articles.PublishArticle(ctx, &contentv1.PublishArticleRequest{Name: a.GetName(), Etag: a.GetEtag()})
	if status.Code(err) != codes.FailedPrecondition {
		t.Fatalf("publish: %v, want FAILED_PRECONDITION", err)
	}
	if diff := cmp.Diff([]string{"LINT_STIGMATISING_TERM article.body", "LINT_NUMBER_NEEDS_CITATION article.body"}, preconditions(err)); diff != "" {
		t.Errorf("precondition violations (-want +got):\n%s", diff)
	}
	var bad *errdetails.BadRequest
	for _, d := range status.Convert(err).Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			bad = br
		}
	}
	if bad == nil || len(bad.GetFieldViolations()) != 2 {
		t.Errorf("details: %v, want the findings as field violations too", status.Convert(err).Details())
	}

	fixed, err := e.articles.UpdateArticle(ctx, &contentv1.UpdateArticleRequest{
		Article: &contentv1.Article{Name: a.GetName(), Etag: a.GetEtag(),
			Body: "## Sleep\n\nPeople who stop often sleep badly. Sleep usually improves within a week or two.",
			Acknowledgements: []*contentv1.LintAcknowledgement{{RuleId: "number-needs-citation", Match: "within a week or two",
				Reviewer: "Dr. Rev", Reason: "general experience, not a study figure"}}},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"body", "acknowledgements"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if fs := fixed.GetLintFindings(); len(fs) != 1 || !fs[0].GetAcknowledged() || len(fixed.GetAcknowledgements()) != 1 {
		t.Fatalf("after the fix: findings %v acknowledgements %v", fs, fixed.GetAcknowledgements())
	}
	pub, err := e.articles.PublishArticle(ctx, &contentv1.PublishArticleRequest{Name: a.GetName(), Etag: fixed.GetEtag()})
	if err != nil {
		t.Fatalf("publish with the warning acknowledged: %v", err)
	}
	if pub.GetAcknowledgements()[0].GetReviewer() != "Dr. Rev" {
		t.Errorf("published: acknowledgements %v", pub.GetAcknowledgements())
	}

	// An acknowledgement naming someone who is not a reviewer is refused, naming the field.
	_, err = e.articles.UpdateArticle(ctx, &contentv1.UpdateArticleRequest{
		Article: &contentv1.Article{Name: a.GetName(), Etag: pub.GetEtag(),
			Acknowledgements: []*contentv1.LintAcknowledgement{{RuleId: "number-needs-citation", Reviewer: "An Editor", Reason: "fine"}}},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"acknowledgements"}},
	})
	if status.Code(err) != codes.InvalidArgument || !hasFieldViolation(err, "article.acknowledgements[0].reviewer") {
		t.Errorf("acknowledgement by a non-reviewer: %v", err)
	}
}

func hasFieldViolation(err error, field string) bool {
	for _, d := range status.Convert(err).Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, v := range br.GetFieldViolations() {
				if v.GetField() == field {
					return true
				}
			}
		}
	}
	return false
}
