package domain_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/beaconcms/beacon/platform/apperr"
	"github.com/beaconcms/beacon/platform/claimlint"
	"github.com/beaconcms/beacon/services/content/internal/demo"
	"github.com/beaconcms/beacon/services/content/internal/domain"
)

// ruleFindings returns "rule@field:line:column match" for every finding of a.
func ruleFindings(a *domain.Article) []string {
	var out []string
	for _, f := range a.LintFindings {
		out = append(out, fmt.Sprintf("%s@%s:%d:%d %s", f.RuleID, f.Field, f.Line, f.Column, f.Match))
	}
	return out
}

func TestLintFindingsOnWritesAndReads(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	c := draft("Talking with family", "site-a")
	c.Body = "## Words\n\nNobody is an addict."
	a := f.create(t, admin, c)
	want := []string{"stigmatising-term@body:3:14 addict"}
	if diff := cmp.Diff(want, ruleFindings(a)); diff != "" {
		t.Fatalf("create: findings (-want +got):\n%s", diff)
	}
	got, err := f.svc.GetArticle(ctx, admin, a.ID)
	wantCode(t, err, "")
	if diff := cmp.Diff(want, ruleFindings(got)); diff != "" {
		t.Errorf("get: findings (-want +got):\n%s", diff)
	}
	full, err := f.svc.ListArticles(ctx, admin, domain.ArticleQuery{Limit: 10, OrderBy: domain.OrderUpdateTime})
	wantCode(t, err, "")
	if len(full) != 1 || !slices.Equal(ruleFindings(full[0]), want) {
		t.Errorf("full list: %v", full)
	}
	basic, err := f.svc.ListArticles(ctx, admin, domain.ArticleQuery{Limit: 10, OrderBy: domain.OrderUpdateTime, Basic: true})
	wantCode(t, err, "")
	if len(basic) != 1 || basic[0].LintFindings != nil {
		t.Errorf("basic list carries findings: %+v", basic[0].LintFindings)
	}

	fixed := a.Draft
	fixed.Body = "## Words\n\nNobody is defined by their substance use."
	up, err := f.svc.UpdateArticle(ctx, admin, a.ID, fixed, []string{"body"}, a.Etag())
	wantCode(t, err, "")
	if len(up.LintFindings) != 0 {
		t.Errorf("update: findings %v, want none", ruleFindings(up))
	}
	// The stored article carries no findings: they are computed for the caller.
	stored, err := f.store.GetArticle(ctx, a.ID)
	wantCode(t, err, "")
	if stored.LintFindings != nil {
		t.Errorf("stored article has findings %v", ruleFindings(stored))
	}
}

// lintUnmet returns the lint violations of a FailedPrecondition error, "RULE field".
func lintUnmet(err error) []string {
	var out []string
	for _, u := range unmet(err) {
		if strings.HasPrefix(u, "LINT_") {
			out = append(out, u)
		}
	}
	return out
}

func TestLintErrorsBlockPublishAndSchedule(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	c := draft("Staying safe", "site-a")
	c.Summary = "If you're pregnant, quit kratom immediately."
	c.Body = "## Help\n\nCall 1-800-273-8255 any time."
	a := f.create(t, admin, c)

	_, err := f.svc.PublishArticle(ctx, admin, a.ID, a.Etag())
	wantCode(t, err, apperr.FailedPrecondition)
	want := []string{"LINT_PREGNANCY_CLINICIAN article.summary", "LINT_PREGNANCY_ABRUPT_STOP article.summary", "LINT_PHONE_NUMBER_ALLOWLIST article.body"}
	if diff := cmp.Diff(want, lintUnmet(err)); diff != "" {
		t.Errorf("publish: lint violations (-want +got):\n%s", diff)
	}
	if !strings.Contains(err.Error(), `"1-800-273-8255"`) || !strings.Contains(err.Error(), "retired") {
		t.Errorf("the error does not name the finding: %v", err)
	}
	_, err = f.svc.ScheduleArticle(ctx, admin, a.ID, t0.Add(time.Hour), a.Etag())
	wantCode(t, err, apperr.FailedPrecondition)
	if diff := cmp.Diff(want, lintUnmet(err)); diff != "" {
		t.Errorf("schedule: lint violations (-want +got):\n%s", diff)
	}
	if got, _ := f.svc.GetArticle(ctx, admin, a.ID); got.State != domain.StateDraft || got.Published != nil {
		t.Fatalf("refused publish changed the article: state %v", got.State)
	}

	fixed := a.Draft
	fixed.Summary = "If you are pregnant, do not stop suddenly on your own. Talk to a clinician first."
	fixed.Body = "## Help\n\nCall or text 988 any time."
	up, err := f.svc.UpdateArticle(ctx, admin, a.ID, fixed, []string{"summary", "body"}, a.Etag())
	wantCode(t, err, "")
	if _, err := f.svc.PublishArticle(ctx, admin, a.ID, up.Etag()); err != nil {
		t.Fatalf("publish after the fix: %v", err)
	}
}

func TestLintWarningsNeedAReviewersAcknowledgement(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	c := draft("Sleep", "site-a")
	c.Body = "## Sleep\n\nSleep usually improves within a week or two."
	c.Reviewers = []domain.Reviewer{{Person: domain.Person{DisplayName: "Dr. Rev", Credentials: "MD"}, Role: domain.RoleClinical}}
	a := f.create(t, admin, c)
	if len(a.LintFindings) != 1 || a.LintFindings[0].Severity != claimlint.SeverityWarning || a.LintFindings[0].Acknowledged {
		t.Fatalf("findings %+v, want one unacknowledged warning", a.LintFindings)
	}
	_, err := f.svc.PublishArticle(ctx, admin, a.ID, a.Etag())
	wantCode(t, err, apperr.FailedPrecondition)
	if diff := cmp.Diff([]string{"LINT_NUMBER_NEEDS_CITATION article.body"}, lintUnmet(err)); diff != "" {
		t.Fatalf("publish: (-want +got):\n%s", diff)
	}

	// Acknowledgements are validated: a known rule, one of the article's reviewers, a reason.
	for _, tt := range []struct {
		ack   domain.Acknowledgement
		field string
	}{
		{domain.Acknowledgement{RuleID: "no-such-rule", Reviewer: "Dr. Rev", Reason: "x"}, "article.acknowledgements[0].rule_id"},
		{domain.Acknowledgement{RuleID: "number-needs-citation", Reviewer: "Someone Else", Reason: "x"}, "article.acknowledgements[0].reviewer"},
		{domain.Acknowledgement{RuleID: "number-needs-citation", Reviewer: "Dr. Rev"}, "article.acknowledgements[0].reason"},
	} {
		next := a.Draft
		next.Acknowledgements = []domain.Acknowledgement{tt.ack}
		_, err := f.svc.UpdateArticle(ctx, admin, a.ID, next, []string{"acknowledgements"}, a.Etag())
		wantField(t, err, tt.field)
	}

	// An acknowledgement of another match does not cover the warning.
	next := a.Draft
	next.Acknowledgements = []domain.Acknowledgement{{RuleID: "number-needs-citation", Match: "within a day", Reviewer: "dr. rev", Reason: "other text"}}
	other, err := f.svc.UpdateArticle(ctx, admin, a.ID, next, []string{"acknowledgements"}, a.Etag())
	wantCode(t, err, "")
	_, err = f.svc.PublishArticle(ctx, admin, a.ID, other.Etag())
	wantCode(t, err, apperr.FailedPrecondition)

	ack := domain.Acknowledgement{RuleID: "number-needs-citation", Match: "within a week or two", Reviewer: "Dr. Rev", Reason: "common clinical knowledge; the source is in the citations"}
	next.Acknowledgements = []domain.Acknowledgement{ack}
	acked, err := f.svc.UpdateArticle(ctx, admin, a.ID, next, []string{"acknowledgements"}, other.Etag())
	wantCode(t, err, "")
	if len(acked.LintFindings) != 1 || !acked.LintFindings[0].Acknowledged {
		t.Fatalf("after the acknowledgement: %+v", acked.LintFindings)
	}
	pub, err := f.svc.PublishArticle(ctx, admin, a.ID, acked.Etag())
	if err != nil {
		t.Fatalf("publish with the warning acknowledged: %v", err)
	}
	// The acknowledgement is kept in the revision and in the live snapshot.
	if !slices.Equal(pub.Published.Content.Acknowledgements, []domain.Acknowledgement{ack}) {
		t.Errorf("snapshot acknowledgements %+v", pub.Published.Content.Acknowledgements)
	}
	revs, err := f.svc.ListRevisions(ctx, admin, a.ID, 0, 10)
	wantCode(t, err, "")
	i := slices.IndexFunc(revs, func(r domain.Revision) bool { return r.RevisionID == acked.RevisionID })
	if i < 0 || !slices.Equal(revs[i].Content.Acknowledgements, []domain.Acknowledgement{ack}) {
		t.Errorf("revision %d does not keep the acknowledgement: %+v", acked.RevisionID, revs)
	}
}

func TestLintMarkerSuppressesWithAReason(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	c := draft("What not to say", "site-a")
	c.Body = "## Words\n\n<!-- lint-ignore stigmatising-term: a reader's letter we answer below -->\n> I was called an addict, and I am one.\n\nA person is more than a label: they are an addict no more than anyone else."
	a := f.create(t, admin, c)
	_, err := f.svc.PublishArticle(ctx, admin, a.ID, a.Etag())
	if diff := cmp.Diff([]string{"LINT_STIGMATISING_TERM article.body"}, lintUnmet(err)); diff != "" {
		t.Fatalf("the unmarked paragraph still blocks (-want +got):\n%s", diff)
	}
	next := a.Draft
	next.Body = "## Words\n\n<!-- lint-ignore stigmatising-term: quoting the word to explain why we avoid it -->\nA person is more than a label: they are an addict no more than anyone else."
	up, err := f.svc.UpdateArticle(ctx, admin, a.ID, next, []string{"body"}, a.Etag())
	wantCode(t, err, "")
	if len(up.LintFindings) != 1 || up.LintFindings[0].Suppressed != "quoting the word to explain why we avoid it" {
		t.Fatalf("findings %+v, want the suppressed one with its reason", up.LintFindings)
	}
	if _, err := f.svc.PublishArticle(ctx, admin, a.ID, up.Etag()); err != nil {
		t.Errorf("publish with the finding suppressed: %v", err)
	}
}

// TestDemoArticlesLintClean: the shipped demo articles have no finding at all, of any severity.
func TestDemoArticlesLintClean(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.sites.add(demo.SiteID)
	articles, err := demo.Articles(f.clock.now)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range articles {
		a := f.create(t, admin, c)
		for _, lf := range a.LintFindings {
			t.Errorf("%s: %s %s at %s line %d column %d %q: %s", c.Slug, lf.Severity, lf.RuleID, lf.Field, lf.Line, lf.Column, lf.Match, lf.Message)
		}
	}
}

// wantField fails unless err is Invalid naming exactly field.
func wantField(tb testing.TB, err error, field string) {
	tb.Helper()
	wantCode(tb, err, apperr.Invalid)
	if e, _ := apperr.As(err); len(e.Fields) != 1 || e.Fields[0].Field != field {
		tb.Errorf("error %v, want one violation of %s", err, field)
	}
}
