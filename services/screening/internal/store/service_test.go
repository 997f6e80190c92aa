package store_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/beaconcms/beacon/platform/apperr"
	"github.com/beaconcms/beacon/platform/auth"
	"github.com/beaconcms/beacon/platform/claimlint"
	"github.com/beaconcms/beacon/platform/mongodb"
	"github.com/beaconcms/beacon/platform/mongodb/mongodbtest"
	"github.com/beaconcms/beacon/services/screening/internal/domain"
	"github.com/beaconcms/beacon/services/screening/internal/instruments"
	"github.com/beaconcms/beacon/services/screening/internal/store"
)

type sites map[string]domain.SiteSettings

func (s sites) Site(_ context.Context, id string) (domain.SiteSettings, error) { return s[id], nil }

var (
	admin     = auth.Principal{KeyName: "apiKeys/admin"}
	kratomKey = auth.Principal{KeyName: "apiKeys/kratom", Site: "kratom-help"}
	otherKey  = auth.Principal{KeyName: "apiKeys/other", Site: "other"}
)

func newService(t testing.TB) (*domain.Service, *store.Questionnaires) {
	t.Helper()
	st := store.NewQuestionnaires(mongodbtest.NewDatabase(t), mongodb.NewDocLocks(), nil)
	clock := t0
	now := func() time.Time { clock = clock.Add(time.Second); return clock }
	linter, err := claimlint.New(claimlint.Builtin(), claimlint.Tuning{})
	if err != nil {
		t.Fatal(err)
	}
	svc := domain.NewService(st, sites{"kratom-help": {Exists: true}, "other": {Exists: true}, "shop": {Exists: true, Commercial: true}}, linter, now, nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
	return svc, st
}

func kratomCheck(t testing.TB) domain.Content {
	t.Helper()
	all, err := instruments.All()
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range all {
		if in.Name == "kratom-self-check" {
			c := in.Content.Clone()
			c.TargetSites = []string{"kratom-help"}
			return c
		}
	}
	t.Fatal("no kratom self-check")
	return domain.Content{}
}

func TestServiceLifecycle(t *testing.T) {
	ctx := context.Background()
	svc, _ := newService(t)
	q, err := svc.Create(ctx, kratomKey, kratomCheck(t))
	if err != nil {
		t.Fatal(err)
	}
	if q.Version != 1 || q.State != domain.StateDraft || q.RevisionID != 1 {
		t.Fatalf("created %+v", q)
	}
	if _, err := svc.Get(ctx, otherKey, q.ID); apperr.CodeOf(err) != apperr.NotFound {
		t.Fatalf("key of another site sees it: %v", err)
	}

	edited := q.Draft.Clone()
	edited.Title = "Kratom self-check (v1)"
	if _, err := svc.Update(ctx, kratomKey, q.ID, "", edited, []string{"title"}); apperr.CodeOf(err) != apperr.Invalid {
		t.Fatalf("update without etag: %v", err)
	}
	q, err = svc.Update(ctx, kratomKey, q.ID, q.Etag(), edited, []string{"title"})
	if err != nil || q.Version != 1 || q.RevisionID != 2 {
		t.Fatalf("update of a draft: %+v, %v", q, err)
	}

	q, err = svc.Publish(ctx, kratomKey, q.ID, q.Etag())
	if err != nil || q.State != domain.StatePublished || q.PublishedVersion != 1 {
		t.Fatalf("publish: %+v, %v", q, err)
	}
	stale := q.Etag()
	edited.Title = "Kratom self-check (v2)"
	q, err = svc.Update(ctx, kratomKey, q.ID, q.Etag(), edited, []string{"title"})
	if err != nil || q.Version != 2 || q.PublishedVersion != 1 {
		t.Fatalf("edit after publish: version %d published %d, %v", q.Version, q.PublishedVersion, err)
	}
	if _, err := svc.Update(ctx, kratomKey, q.ID, stale, edited, nil); apperr.CodeOf(err) != apperr.Conflict {
		t.Fatalf("stale etag: %v", err)
	}
	if q, err = svc.Publish(ctx, kratomKey, q.ID, ""); err != nil || q.PublishedVersion != 2 {
		t.Fatalf("second publish: %+v, %v", q, err)
	}
	versions, err := svc.Versions(ctx, q)
	if err != nil || len(versions) != 2 || versions[0].Content.Title != "Kratom self-check (v1)" || versions[1].Content.Title != "Kratom self-check (v2)" {
		t.Fatalf("versions: %v, %v", versions, err)
	}

	if q, err = svc.Delete(ctx, kratomKey, q.ID, ""); err != nil || !q.Deleted() {
		t.Fatalf("delete: %v", err)
	}
	if _, err := svc.Update(ctx, kratomKey, q.ID, q.Etag(), edited, nil); apperr.CodeOf(err) != apperr.FailedPrecondition {
		t.Fatalf("update of a deleted questionnaire: %v", err)
	}
	if q, err = svc.Undelete(ctx, kratomKey, q.ID); err != nil || q.Deleted() {
		t.Fatalf("undelete: %v", err)
	}
	if _, err := svc.Undelete(ctx, kratomKey, q.ID); apperr.CodeOf(err) != apperr.AlreadyExists {
		t.Fatalf("undelete of a live questionnaire: %v", err)
	}

	revs, err := svc.ListRevisions(ctx, admin, q.ID, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, r := range revs {
		actions = append(actions, r.Change.Action)
	}
	if got := strings.Join(actions, ","); got != "undelete,delete,publish,update,publish,update,create" {
		t.Fatalf("revisions newest first: %s", got)
	}
}

func TestServiceRefusals(t *testing.T) {
	ctx := context.Background()
	svc, _ := newService(t)
	c := kratomCheck(t)
	c.TargetSites = []string{"kratom-help", "other"}
	if _, err := svc.Create(ctx, kratomKey, c); apperr.CodeOf(err) != apperr.PermissionDenied {
		t.Fatalf("create for a site outside the key: %v", err)
	}
	c = kratomCheck(t)
	c.Bands = c.Bands[:3] // 6+ uncovered
	if _, err := svc.Create(ctx, admin, c); err == nil || !strings.Contains(err.Error(), "no band covers the reachable total(s) 6-11") {
		t.Fatalf("create with a gap in the bands: %v", err)
	}
	c = kratomCheck(t)
	c.Source.CommercialUseAllowed = false
	c.TargetSites = []string{"shop"}
	if _, err := svc.Create(ctx, admin, c); apperr.CodeOf(err) != apperr.Invalid || !strings.Contains(err.Error(), "commercial") {
		t.Fatalf("non-commercial licence on a commercial site: %v", err)
	}
	c.TargetSites = []string{"nowhere"}
	if _, err := svc.Create(ctx, admin, c); apperr.CodeOf(err) != apperr.FailedPrecondition {
		t.Fatalf("missing site: %v", err)
	}
}

// TestServiceLintsQuestionnaireTexts: a result band that diagnoses the reader, or an item that
// uses a stigmatising label, is refused on create and on update, naming the text; a lint-ignore
// marker with a reason lets a passage through; the shipped instruments pass.
func TestServiceLintsQuestionnaireTexts(t *testing.T) {
	ctx := context.Background()
	svc, _ := newService(t)
	c := kratomCheck(t)
	last := len(c.Bands) - 1
	c.Bands[last].ResultText = "If you want to stop but don't because of withdrawal, then you have a kratom addiction."
	c.Items[0].Text = "Have you ever felt like an addict?"
	_, err := svc.Create(ctx, admin, c)
	e, ok := apperr.As(err)
	if !ok || e.Code != apperr.FailedPrecondition {
		t.Fatalf("create: %v, want FAILED_PRECONDITION", err)
	}
	var got []string
	for _, f := range e.Fields {
		got = append(got, f.Rule+" "+f.Field)
	}
	want := []string{"LINT_STIGMATISING_TERM questionnaire.items[0].text", fmt.Sprintf("LINT_DIAGNOSIS_BY_SELF_CHECK questionnaire.bands[%d].result_text", last)}
	if !slices.Equal(got, want) {
		t.Errorf("violations %q, want %q", got, want)
	}

	ok1 := kratomCheck(t)
	q, err := svc.Create(ctx, admin, ok1)
	if err != nil {
		t.Fatalf("the shipped self-check: %v", err)
	}
	next := q.Draft.Clone()
	next.Bands[last].ResultText = c.Bands[last].ResultText
	if _, err := svc.Update(ctx, admin, q.ID, q.Etag(), next, []string{"bands"}); apperr.CodeOf(err) != apperr.FailedPrecondition {
		t.Fatalf("update with a diagnosing band: %v", err)
	}
	// Without the marker the same words are refused.
	next.Bands[last].ResultText = "Some sites say that if you cannot stop, then you have a kratom addiction."
	if _, err := svc.Update(ctx, admin, q.ID, q.Etag(), next, []string{"bands"}); apperr.CodeOf(err) != apperr.FailedPrecondition {
		t.Fatalf("update quoting a diagnosis without a marker: %v", err)
	}
	next.Bands[last].ResultText = "<!-- lint-ignore diagnosis-by-self-check: we quote the wording to warn against it -->\nSome sites say that if you cannot stop, then you have a kratom addiction. This check cannot tell you that."
	if _, err := svc.Update(ctx, admin, q.ID, q.Etag(), next, []string{"bands"}); err != nil {
		t.Fatalf("update with the passage suppressed: %v", err)
	}
}
