package store_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/beaconcms/beacon/platform/mongodb"
	"github.com/beaconcms/beacon/services/content/internal/domain"
	"github.com/beaconcms/beacon/services/content/internal/store"
)

// An overdue schedule must not get stuck: schedule an article 3 s ahead, delete it, let the
// scheduler pass its time, undelete it. The undeleted article is due again, also for a store
// opened afterwards (a restart).
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
	mustUpdate(t, s, a, "undelete", func(n *domain.Article) { n.DeleteTime = time.Time{} })
	restarted := store.New(db, mongodb.NewDocLocks(), slog.New(slog.DiscardHandler))
	if err := restarted.LoadIndex(ctx); err != nil {
		t.Fatal(err)
	}
	for name, st := range map[string]*store.Store{"same store": s, "after a restart": restarted} {
		due, err := st.ListDueScheduled(ctx, now, 0)
		if err != nil {
			t.Fatal(err)
		}
		if !cmp.Equal(ids(due), []string{a.ID}) {
			t.Errorf("%s: due after undelete = %v, want [%s]", name, ids(due), a.ID)
		}
	}
}
