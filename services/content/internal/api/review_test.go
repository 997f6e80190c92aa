package api_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/genproto/googleapis/type/date"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	contentv1 "github.com/beaconcms/beacon/gen/beacon/content/v1"
	sitesv1 "github.com/beaconcms/beacon/gen/beacon/sites/v1"
)

// preconditions returns "type subject" of each violation in err's PreconditionFailure.
func preconditions(err error) []string {
	var out []string
	for _, d := range status.Convert(err).Details() {
		if pf, ok := d.(*errdetails.PreconditionFailure); ok {
			for _, v := range pf.GetViolations() {
				out = append(out, v.GetType()+" "+v.GetSubject())
			}
		}
	}
	return out
}

// TestPublishGatesOverTheWire checks that a gate failure reaches a client as FAILED_PRECONDITION
// with a google.rpc.PreconditionFailure naming each unmet rule, and that the article then
// publishes once its content meets them.
func TestPublishGatesOverTheWire(t *testing.T) {
	e := newEnv(t)
	ctx := as(t.Context(), keyAdmin)
	e.createSiteWith(t, "gated", &sitesv1.Site{}) // gates on: a new site's default
	a, err := e.articles.CreateArticle(ctx, &contentv1.CreateArticleRequest{Article: &contentv1.Article{
		Title: "Withdrawal", Body: "Call 911 if someone has a seizure or trouble breathing. Call or text 988 in a crisis.",
		Topics: []string{"Withdrawal"}, TargetSites: []string{"sites/gated"},
		Reviewers: []*contentv1.Reviewer{{DisplayName: "Dr. Demo", Credentials: "MD", Role: contentv1.Reviewer_ROLE_CLINICAL, Fictional: true}},
		Citations: []*contentv1.Citation{{Title: "A blog", Url: "https://blog.example.com/x"}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.articles.PublishArticle(ctx, &contentv1.PublishArticleRequest{Name: a.GetName(), Etag: a.GetEtag()})
	if status.Code(err) != codes.FailedPrecondition {
		t.Fatalf("publish: %v, want FAILED_PRECONDITION", err)
	}
	if diff := cmp.Diff([]string{"CLINICAL_REVIEWER article.reviewers", "QUALITY_CITATION article.citations"}, preconditions(err)); diff != "" {
		t.Errorf("precondition violations (-want +got):\n%s", diff)
	}
	_, err = e.articles.ScheduleArticle(ctx, &contentv1.ScheduleArticleRequest{Name: a.GetName(), Etag: a.GetEtag(),
		PublishTime: timestampAfter(time.Hour)})
	if status.Code(err) != codes.FailedPrecondition || len(preconditions(err)) != 2 {
		t.Errorf("schedule: %v, want FAILED_PRECONDITION naming both rules", err)
	}
	today := time.Now().UTC()
	fixed, err := e.articles.UpdateArticle(ctx, &contentv1.UpdateArticleRequest{
		Article: &contentv1.Article{Name: a.GetName(), Etag: a.GetEtag(),
			Reviewers: []*contentv1.Reviewer{{DisplayName: "Dr. Real", Credentials: "DO", Role: contentv1.Reviewer_ROLE_CLINICAL,
				ReviewDate: &date.Date{Year: int32(today.Year()), Month: int32(today.Month()), Day: int32(today.Day())}}},
			Citations: []*contentv1.Citation{{Title: "NIDA", Url: "https://nida.nih.gov/research-topics/kratom"}}},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"reviewers", "citations"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.articles.PublishArticle(ctx, &contentv1.PublishArticleRequest{Name: a.GetName(), Etag: fixed.GetEtag()}); err != nil {
		t.Errorf("publish after meeting the gates: %v", err)
	}
}

// TestMedicalReviewerStillWorks checks the deprecated medical_reviewer: written alone it
// becomes the clinical reviewer, it reads back as that reviewer, an update under its own mask
// replaces only that reviewer, and a medical_reviewer that contradicts reviewers is refused.
func TestMedicalReviewerStillWorks(t *testing.T) {
	e := newEnv(t)
	ctx := as(t.Context(), keyAdmin)
	doc := &contentv1.Person{DisplayName: "Dr. Old API", Credentials: "MD"}
	a, err := e.articles.CreateArticle(ctx, &contentv1.CreateArticleRequest{Article: &contentv1.Article{
		Title: "Old client", TargetSites: []string{"sites/site-a"}, MedicalReviewer: doc}})
	if err != nil {
		t.Fatal(err)
	}
	want := []*contentv1.Reviewer{{DisplayName: "Dr. Old API", Credentials: "MD", Role: contentv1.Reviewer_ROLE_CLINICAL}}
	if diff := cmp.Diff(want, a.GetReviewers(), protocmp.Transform()); diff != "" || !cmp.Equal(doc, a.GetMedicalReviewer(), protocmp.Transform()) {
		t.Errorf("reviewers (-want +got):\n%s; medical_reviewer %v", diff, a.GetMedicalReviewer())
	}
	// A newer client adds an editorial reviewer; an old client then swaps the medical reviewer.
	a, err = e.articles.UpdateArticle(ctx, &contentv1.UpdateArticleRequest{
		Article: &contentv1.Article{Name: a.GetName(), Etag: a.GetEtag(), Reviewers: append(want,
			&contentv1.Reviewer{DisplayName: "Ed", Role: contentv1.Reviewer_ROLE_EDITORIAL})},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"reviewers"}}})
	if err != nil {
		t.Fatal(err)
	}
	a, err = e.articles.UpdateArticle(ctx, &contentv1.UpdateArticleRequest{
		Article:    &contentv1.Article{Name: a.GetName(), Etag: a.GetEtag(), MedicalReviewer: &contentv1.Person{DisplayName: "Dr. New", Credentials: "DO"}},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"medicalReviewer"}}})
	if err != nil {
		t.Fatal(err)
	}
	want = []*contentv1.Reviewer{{DisplayName: "Dr. New", Credentials: "DO", Role: contentv1.Reviewer_ROLE_CLINICAL},
		{DisplayName: "Ed", Role: contentv1.Reviewer_ROLE_EDITORIAL}}
	if diff := cmp.Diff(want, a.GetReviewers(), protocmp.Transform()); diff != "" {
		t.Errorf("after a medical_reviewer update (-want +got):\n%s", diff)
	}
	_, err = e.articles.CreateArticle(ctx, &contentv1.CreateArticleRequest{Article: &contentv1.Article{
		Title: "Both", TargetSites: []string{"sites/site-a"}, MedicalReviewer: doc, Reviewers: want}})
	if status.Code(err) != codes.InvalidArgument || !cmp.Equal(badRequestFields(err), []string{"article.medical_reviewer"}) {
		t.Errorf("contradicting medical_reviewer: %v, want INVALID_ARGUMENT naming article.medical_reviewer", err)
	}
}

func timestampAfter(d time.Duration) *timestamppb.Timestamp {
	return timestamppb.New(time.Now().Add(d))
}
