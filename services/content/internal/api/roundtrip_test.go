package api_test

import (
	"regexp"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/genproto/googleapis/type/date"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	contentv1 "github.com/beaconcms/beacon/gen/beacon/content/v1"
)

// fullArticle sets every editable field, plus output-only fields the server must ignore.
func fullArticle() *contentv1.Article {
	return &contentv1.Article{
		Title:           "  Kratom withdrawal: a timeline ",
		Summary:         "What the first week\nusually looks like.",
		Body:            "## Day one\n\nRestlessness.\n\n## Day two\n\nMore of it. Call 911 if you have a seizure or trouble breathing; call or text 988 in a crisis.",
		Tags:            []string{"Kratom", "Withdrawal", "kratom"},
		Topics:          []string{"Dependence"},
		Authors:         []*contentv1.Person{{DisplayName: "Dr. A. Author", Credentials: "MD", Url: "https://example.org/a"}},
		MedicalReviewer: &contentv1.Person{DisplayName: "R. Reviewer", Credentials: "PharmD"}, // as read back: the first clinical reviewer
		Reviewers: []*contentv1.Reviewer{
			{DisplayName: "R. Reviewer", Credentials: "PharmD", Role: contentv1.Reviewer_ROLE_CLINICAL, ReviewDate: &date.Date{Year: 2025, Month: 2, Day: 20}},
			{DisplayName: "Sam Peer", Role: contentv1.Reviewer_ROLE_LIVED_EXPERIENCE, Fictional: true},
		},
		LastReviewedDate: &date.Date{Year: 2025, Month: 2, Day: 28},
		Citations: []*contentv1.Citation{{
			Title: "A study", Url: "https://doi.org/10.1000/xyz", Doi: "10.1000/xyz", Pmid: "12345678",
			AccessedDate: &date.Date{Year: 2025, Month: 1, Day: 2},
		}},
		Seo:         &contentv1.Seo{MetaTitle: "Withdrawal timeline", MetaDescription: "Day by day.", CanonicalUrl: "https://site-a.example.org/t", SocialImageUrl: "https://img.example.org/t.png"},
		TargetSites: []string{"sites/site-a", "sites/site-b"},
		EditorNotes: "check the PMID",

		Name:       "articles/chosen-by-client",
		State:      contentv1.Article_STATE_PUBLISHED,
		RevisionId: 42,
		Creator:    "apiKeys/someone-else",
	}
}

// recentDate is a month ago.
func recentDate() *date.Date {
	d := time.Now().AddDate(0, -1, 0)
	return &date.Date{Year: int32(d.Year()), Month: int32(d.Month()), Day: int32(d.Day())}
}

var articleName = regexp.MustCompile(`^articles/[a-z2-7]{16}$`)

func TestArticleRoundTrip(t *testing.T) {
	e := newEnv(t)
	ctx := as(t.Context(), keyAdmin)
	created, err := e.articles.CreateArticle(ctx, &contentv1.CreateArticleRequest{Article: fullArticle()})
	if err != nil {
		t.Fatal(err)
	}
	want := fullArticle()
	want.Title = "Kratom withdrawal: a timeline"
	want.Slug = "kratom-withdrawal-a-timeline"
	want.Tags = []string{"kratom", "withdrawal"}
	want.Topics = []string{"dependence"}
	want.Name = created.GetName()
	want.State = contentv1.Article_STATE_DRAFT
	want.RevisionId = 1
	want.Creator = "apiKeys/admin"
	// The latest review (last_reviewed_date, 2025-02-28, which Sam Peer's review defaults to)
	// plus the default validity of 12 months.
	want.ReviewDueTime = timestamppb.New(time.Date(2026, 2, 28, 0, 0, 0, 0, time.UTC))
	ignoreOutput := protocmp.IgnoreFields(&contentv1.Article{}, "etag", "create_time", "update_time", "rendering")
	if diff := cmp.Diff(want, created, protocmp.Transform(), ignoreOutput); diff != "" {
		t.Errorf("created article (-want +got):\n%s", diff)
	}
	if !articleName.MatchString(created.GetName()) || created.GetEtag() == "" || created.GetCreateTime() == nil ||
		!proto.Equal(created.GetCreateTime(), created.GetUpdateTime()) || created.GetPublishTime() != nil {
		t.Errorf("created: name %q etag %q create %v update %v publish %v", created.GetName(), created.GetEtag(),
			created.GetCreateTime(), created.GetUpdateTime(), created.GetPublishTime())
	}
	wantTOC := []*contentv1.TocEntry{{Level: 2, Text: "Day one", Anchor: "day-one"}, {Level: 2, Text: "Day two", Anchor: "day-two"}}
	if diff := cmp.Diff(wantTOC, created.GetRendering().GetTableOfContents(), protocmp.Transform()); diff != "" {
		t.Errorf("table of contents (-want +got):\n%s", diff)
	}

	got, err := e.articles.GetArticle(ctx, &contentv1.GetArticleRequest{Name: created.GetName()})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(created, got, protocmp.Transform()); diff != "" {
		t.Errorf("GetArticle differs from CreateArticle (-created +got):\n%s", diff)
	}

	// A mask of only output-only and identifier paths changes no field (AIP-203).
	same, err := e.articles.UpdateArticle(ctx, &contentv1.UpdateArticleRequest{
		Article:    &contentv1.Article{Name: got.GetName(), Etag: got.GetEtag(), Title: "ignored"},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"name", "etag", "state", "creator", "revision_id"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(got, same, protocmp.Transform(), ignoreOutput, protocmp.IgnoreFields(&contentv1.Article{}, "revision_id")); diff != "" {
		t.Errorf("update with only output-only paths changed the article (-before +after):\n%s", diff)
	}

	pub, err := e.articles.PublishArticle(ctx, &contentv1.PublishArticleRequest{Name: got.GetName(), Etag: same.GetEtag()})
	if err != nil {
		t.Fatal(err)
	}
	if pub.GetState() != contentv1.Article_STATE_PUBLISHED || pub.GetPublishTime() == nil || pub.GetRevisionId() != 3 ||
		pub.GetPublishedRevisionId() != 3 || pub.GetEditorNotes() != "check the PMID" {
		t.Errorf("published: state %v publish_time %v revision %d published revision %d notes %q",
			pub.GetState(), pub.GetPublishTime(), pub.GetRevisionId(), pub.GetPublishedRevisionId(), pub.GetEditorNotes())
	}

	// "*" replaces every editable field.
	replacement := &contentv1.Article{Name: pub.GetName(), Etag: pub.GetEtag(), Title: "Replaced", TargetSites: []string{"sites/site-b"}}
	replaced, err := e.articles.UpdateArticle(ctx, &contentv1.UpdateArticleRequest{Article: replacement, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"*"}}})
	if err != nil {
		t.Fatal(err)
	}
	wantReplaced := &contentv1.Article{
		Name: pub.GetName(), Title: "Replaced", Slug: "replaced", TargetSites: []string{"sites/site-b"},
		State: contentv1.Article_STATE_PUBLISHED, RevisionId: 4, PublishedRevisionId: 3, Creator: "apiKeys/admin",
		PublishTime: pub.GetPublishTime(),
	}
	if diff := cmp.Diff(wantReplaced, replaced, protocmp.Transform(), ignoreOutput); diff != "" {
		t.Errorf("after update_mask \"*\" (-want +got):\n%s", diff)
	}

	revs, err := e.articles.ListArticleRevisions(ctx, &contentv1.ListArticleRevisionsRequest{Name: pub.GetName()})
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, r := range revs.GetRevisions() {
		actions = append(actions, r.GetAction())
		if r.GetActor() != "apiKeys/admin" || r.GetCreateTime() == nil {
			t.Errorf("revision %d: actor %q time %v", r.GetRevisionId(), r.GetActor(), r.GetCreateTime())
		}
	}
	if diff := cmp.Diff([]string{"update", "publish", "update", "create"}, actions); diff != "" {
		t.Errorf("revision actions (-want +got):\n%s", diff)
	}
	if n := len(revs.GetRevisions()); n == 4 {
		first := revs.GetRevisions()[3]
		if diff := cmp.Diff(want, first.GetSnapshot(), protocmp.Transform(), ignoreOutput, protocmp.IgnoreFields(&contentv1.Article{}, "creator", "review_due_time")); diff != "" {
			t.Errorf("revision 1 snapshot (-want +got):\n%s", diff)
		}
		wantFields := []string{"title", "slug", "summary", "body", "tags", "topics", "authors", "reviewers", "last_reviewed_date", "citations", "seo", "target_sites", "editor_notes"}
		if diff := cmp.Diff(wantFields, first.GetChangedFields()); diff != "" {
			t.Errorf("revision 1 changed fields (-want +got):\n%s", diff)
		}
	}
}
