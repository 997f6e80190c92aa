package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/beaconcms/beacon/platform/markdown"
	"github.com/beaconcms/beacon/services/content/internal/domain"
)

// A live snapshot identical to the draft (but for editor notes) is stored once, as the draft;
// editing the draft afterwards stores the snapshot in full again. Either way the article reads
// back whole.
func TestSnapshotStoredAsDraft(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, db := newStore(t)
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	type storedSnapshot struct {
		SameAsDraft *bool `bson:"sameAsDraft"`
		Content     struct {
			Body string `bson:"body"`
		} `bson:"content"`
		Rendering struct {
			TextZstd []byte `bson:"textZstd"`
		} `bson:"rendering"`
	}
	stored := func(t *testing.T) storedSnapshot {
		t.Helper()
		var d struct {
			Published storedSnapshot `bson:"published"`
		}
		if err := db.Collection("articles").FindOne(ctx, bson.D{{Key: "_id", Value: "a"}}).Decode(&d); err != nil {
			t.Fatal(err)
		}
		return d.Published
	}

	a := newArticle("a", "a", "kh")
	a.Draft.Body, a.Draft.EditorNotes = "Kratom and sleep.", "Ask the reviewer."
	a.Rendering = markdown.Rendering{HTML: "<p>Kratom and sleep.</p>", WordCount: 3, ReadingTimeMinutes: 1}
	mustCreate(t, s, a)
	a = mustUpdate(t, s, a, "publish", func(n *domain.Article) { publish(n, at) })
	if p := stored(t); p.SameAsDraft == nil || !*p.SameAsDraft || p.Content.Body != "" || p.Rendering.TextZstd != nil {
		t.Errorf("published, unedited: stored snapshot %v, want sameAsDraft and no body", p)
	}
	if diff := cmp.Diff(a, mustGet(t, s, "a"), cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("read back (-want +got):\n%s", diff)
	}

	a = mustUpdate(t, s, a, "update", func(n *domain.Article) {
		n.Draft.Body = "Kratom, sleep and withdrawal."
		n.Rendering = markdown.Rendering{HTML: "<p>Kratom, sleep and withdrawal.</p>", WordCount: 4, ReadingTimeMinutes: 1}
	})
	if p := stored(t); p.SameAsDraft != nil || len(p.Rendering.TextZstd) == 0 {
		t.Errorf("edited after publishing: stored snapshot %v, want the snapshot in full (its text packed)", p)
	}
	got := mustGet(t, s, "a")
	if diff := cmp.Diff(a, got, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("read back (-want +got):\n%s", diff)
	}
	if got.Published.Content.Body != "Kratom and sleep." || got.Published.Rendering.WordCount != 3 {
		t.Errorf("live snapshot = %+v, want the published body and its rendering", got.Published)
	}
}
