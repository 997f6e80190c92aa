package store_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/beaconcms/beacon/platform/mongodb"
	"github.com/beaconcms/beacon/services/content/internal/domain"
	"github.com/beaconcms/beacon/services/content/internal/store"
)

// An overdue schedule must not get stuck: schedule an article 3 s ahead, delete it, let the
// scheduler pass its time (it drops the deleted article's entry), undelete it. The undeleted
// article is due again, also for a store opened afterwards (a restart).
func TestUndeletedScheduleIsDueAgain(t *testing.T) {
	t.Parallel()
	s, db := newStore(t)
	ctx := context.Background()
	at := t0.Add(3 * time.Second)
	now := t0.Add(5 * time.Second)

	a := newArticle("overdue", "overdue", "kh")
	mustCreate(t, s, a)
	a = mustUpdate(t, s, a, "schedule", func(n *domain.Article) { n.State, n.ScheduledPublishTime = domain.StateScheduled, at })
	a = mustUpdate(t, s, a, "delete", func(n *domain.Article) { n.DeleteTime = t0.Add(time.Second) })

	due, err := s.ListDueScheduled(ctx, now, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(due) != 0 {
		t.Fatalf("a deleted article is due: %v", ids(due))
	}
	if n := scheduleEntries(t, db, a.ID); n != 0 {
		t.Fatalf("the deleted article's due entry was kept (%d); this test no longer reproduces the loss", n)
	}

	mustUpdate(t, s, a, "undelete", func(n *domain.Article) { n.DeleteTime = time.Time{} })
	for name, st := range map[string]*store.Store{"same store": s, "after a restart": store.New(db, mongodb.NewDocLocks(), slog.New(slog.DiscardHandler))} {
		due, err := st.ListDueScheduled(ctx, now, 0)
		if err != nil {
			t.Fatal(err)
		}
		if !cmp.Equal(ids(due), []string{a.ID}) {
			t.Errorf("%s: due after undelete = %v, want [%s]", name, ids(due), a.ID)
		}
	}
}

// Articles stuck by the old bug (scheduled, not deleted, no due entry) are due again after the
// migration that restores the entries.
func TestMigrationRestoresLostScheduleEntries(t *testing.T) {
	t.Parallel()
	s, db := newStore(t)
	ctx := context.Background()
	now := t0.Add(time.Hour)
	a := newArticle("stuck", "stuck", "kh")
	a.State, a.ScheduledPublishTime = domain.StateScheduled, t0.Add(time.Minute)
	mustCreate(t, s, a)
	if _, err := db.Collection("article_schedule").DeleteOne(ctx, bson.D{{Key: "_id", Value: a.ID}}); err != nil {
		t.Fatal(err)
	}
	if due, err := s.ListDueScheduled(ctx, now, 0); err != nil || len(due) != 0 {
		t.Fatalf("without its entry, due = %v, %v; want none (the stuck state)", ids(due), err)
	}
	var restore func(context.Context, dbT) error
	for _, m := range storeMigrations() {
		if m.Version == 6 {
			restore = m.Up
		}
	}
	if restore == nil {
		t.Fatal("no migration 6")
	}
	if err := restore(ctx, db); err != nil {
		t.Fatal(err)
	}
	due, err := s.ListDueScheduled(ctx, now, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !cmp.Equal(ids(due), []string{a.ID}) {
		t.Errorf("due after the migration = %v, want [%s]", ids(due), a.ID)
	}
}

func scheduleEntries(tb testing.TB, db dbT, id string) int64 {
	tb.Helper()
	n, err := db.Collection("article_schedule").CountDocuments(context.Background(), bson.D{{Key: "_id", Value: id}})
	if err != nil {
		tb.Fatal(err)
	}
	return n
}
