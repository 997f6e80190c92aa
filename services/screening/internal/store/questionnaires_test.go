package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/beaconcms/beacon/platform/apperr"
	"github.com/beaconcms/beacon/platform/mongodb"
	"github.com/beaconcms/beacon/platform/mongodb/mongodbtest"
	"github.com/beaconcms/beacon/services/screening/internal/domain"
	"github.com/beaconcms/beacon/services/screening/internal/instruments"
	"github.com/beaconcms/beacon/services/screening/internal/store"
)

var _ domain.QuestionnaireStore = (*store.Questionnaires)(nil)

var t0 = time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)

func TestQuestionnairesRoundTripEveryInstrument(t *testing.T) {
	ctx := context.Background()
	s := store.NewQuestionnaires(mongodbtest.NewDatabase(t), mongodb.NewDocLocks(), nil)
	all, err := instruments.All()
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range all {
		c := in.Content.Clone()
		c.TargetSites = []string{"kratom-help"}
		q := &domain.Questionnaire{ID: in.Name, Draft: c, State: domain.StateDraft, Version: 1, RevisionID: 1, Creator: "keys/editor", CreateTime: t0, UpdateTime: t0}
		if err := s.CreateQuestionnaire(ctx, q, domain.Change{Actor: "keys/editor", Action: "create", Time: t0}); err != nil {
			t.Fatal(err)
		}
		got, err := s.GetQuestionnaire(ctx, in.Name)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(q, got, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("%s: stored questionnaire differs (-want +got):\n%s", in.Name, diff)
		}
		v := q.Publish(t0.Add(time.Minute))
		if err := s.PutVersion(ctx, v); err != nil {
			t.Fatal(err)
		}
		gotV, err := s.GetVersion(ctx, in.Name, 1)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(v, gotV, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("%s: stored version differs (-want +got):\n%s", in.Name, diff)
		}
	}
	if err := s.CreateQuestionnaire(ctx, &domain.Questionnaire{ID: "taps-1", RevisionID: 1}, domain.Change{}); apperr.CodeOf(err) != apperr.AlreadyExists {
		t.Fatalf("second create with the same id: %v", err)
	}
	if _, err := s.GetQuestionnaire(ctx, "nope"); apperr.CodeOf(err) != apperr.NotFound {
		t.Fatalf("missing questionnaire: %v", err)
	}
}

func TestQuestionnaireUpdatesAreConditionalAndRecorded(t *testing.T) {
	ctx := context.Background()
	s := store.NewQuestionnaires(mongodbtest.NewDatabase(t), mongodb.NewDocLocks(), nil)
	all, _ := instruments.All()
	c := all[0].Content.Clone()
	c.TargetSites = []string{"kratom-help"}
	q1 := &domain.Questionnaire{ID: "q", Draft: c, State: domain.StateDraft, Version: 1, RevisionID: 1, CreateTime: t0, UpdateTime: t0}
	if err := s.CreateQuestionnaire(ctx, q1, domain.Change{Actor: "a", Action: "create", Time: t0}); err != nil {
		t.Fatal(err)
	}
	q2 := *q1
	q2.Draft = c.Clone()
	q2.Draft.Title = "Renamed"
	q2.RevisionID = 2
	if err := s.UpdateQuestionnaire(ctx, q1, &q2, domain.Change{Actor: "b", Action: "update", Fields: []string{"title"}, Time: t0.Add(time.Second)}); err != nil {
		t.Fatal(err)
	}
	stale := *q1
	stale.RevisionID = 2
	stale.Draft.Title = "Lost update"
	if err := s.UpdateQuestionnaire(ctx, q1, &stale, domain.Change{}); apperr.CodeOf(err) != apperr.Conflict {
		t.Fatalf("update from a stale revision: %v, want Conflict", err)
	}
	got, _ := s.GetQuestionnaire(ctx, "q")
	if got.Draft.Title != "Renamed" || got.RevisionID != 2 {
		t.Fatalf("after the stale update: %q at revision %d", got.Draft.Title, got.RevisionID)
	}
	for rev, want := range map[int64]struct{ title, actor, action string }{1: {c.Title, "a", "create"}, 2: {"Renamed", "b", "update"}} {
		r, err := s.GetRevision(ctx, "q", rev)
		if err != nil {
			t.Fatal(err)
		}
		if r.Questionnaire.Draft.Title != want.title || r.Change.Actor != want.actor || r.Change.Action != want.action {
			t.Errorf("revision %d: %q by %s (%s)", rev, r.Questionnaire.Draft.Title, r.Change.Actor, r.Change.Action)
		}
	}
}

func TestPublishedVersionsNeverChange(t *testing.T) {
	ctx := context.Background()
	s := store.NewQuestionnaires(mongodbtest.NewDatabase(t), mongodb.NewDocLocks(), nil)
	all, _ := instruments.All()
	v := &domain.Version{QuestionnaireID: "q", Number: 1, Content: all[0].Content, PublishTime: t0}
	if err := s.PutVersion(ctx, v); err != nil {
		t.Fatal(err)
	}
	if err := s.PutVersion(ctx, v); err != nil {
		t.Fatalf("writing the same version again: %v", err)
	}
	changed := *v
	changed.Content = v.Content.Clone()
	changed.Content.Bands[0].Title = "Other"
	if err := s.PutVersion(ctx, &changed); apperr.CodeOf(err) != apperr.Conflict {
		t.Fatalf("changing a published version: %v, want Conflict", err)
	}
	got, _ := s.GetVersion(ctx, "q", 1)
	if got.Content.Bands[0].Title == "Other" {
		t.Fatal("the published version changed")
	}
}
