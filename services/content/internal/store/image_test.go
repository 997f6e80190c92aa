package store_test

import (
	"context"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/beaconcms/beacon/platform/mongodb"
	"github.com/beaconcms/beacon/services/content/internal/articleindex"
	"github.com/beaconcms/beacon/services/content/internal/domain"
	"github.com/beaconcms/beacon/services/content/internal/store"
)

// imageStart is one start of a Store keeping a start-up image in dir: its loads, in the order
// the content service makes them, and what they yielded.
type imageStart struct {
	store *store.Store
	index []articleindex.Entry
	live  map[string]*domain.Article
}

func startWithImage(tb testing.TB, db *mongo.Database, dir string) imageStart {
	tb.Helper()
	s := store.New(db, mongodb.NewDocLocks(), nil)
	if dir != "" {
		s.UseStartupImage(dir)
	}
	if err := s.LoadIndex(context.Background()); err != nil {
		tb.Fatalf("LoadIndex: %v", err)
	}
	return imageStart{store: s, index: store.Unpacked(tb, s, s.Index().Entries()), live: liveArticles(tb, s)}
}

// sealed reports whether dir holds a sealed image.
func sealed(tb testing.TB, dir string) bool {
	tb.Helper()
	_, err := os.Stat(filepath.Join(dir, "clean.json"))
	return err == nil
}

// damageBehindTheImage deletes an article's live entry from the store without a write through a
// Store (no head move): a start that still yields the article read it from the image.
func damageBehindTheImage(tb testing.TB, db *mongo.Database, id string) {
	tb.Helper()
	res, err := db.Collection(store.LiveShardName(id)).DeleteOne(mongodb.WithScan(context.Background(), "test: damaging the store"), bson.D{{Key: "_id", Value: id}})
	if err != nil || res.DeletedCount != 1 {
		tb.Fatalf("deleting the live entry of %s: %v (%d deleted)", id, err, res.DeletedCount)
	}
}

// TestStartupImage: a Store that stopped cleanly leaves an image that the next start loads
// instead of scanning, and that equals a scan of the store; any doubt (a crash, another
// writer, a damaged file) makes the next start scan.
func TestStartupImage(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	r := rand.New(rand.NewPCG(3, 4))

	// fill writes a corpus through s: an import, creates, updates, publishes, a delete and a
	// schedule, so every kind of entry is in the image.
	fill := func(tb testing.TB, s *store.Store) []*domain.Article {
		corpus := randomCorpus(r, 24)
		for _, a := range corpus[:12] {
			a.DeleteTime = time.Time{}
		}
		if err := s.ImportArticles(ctx, corpus[12:]); err != nil {
			tb.Fatal(err)
		}
		mustCreate(tb, s, corpus[:12]...)
		a := mustUpdate(tb, s, corpus[0], "update", func(a *domain.Article) { a.Draft.Title = "Renamed"; a.Draft.Tags = []string{"law"} })
		mustUpdate(tb, s, a, "publish", func(a *domain.Article) { publish(a, a.UpdateTime) })
		b := mustUpdate(tb, s, corpus[1], "publish", func(a *domain.Article) { publish(a, a.UpdateTime) })
		mustUpdate(tb, s, b, "delete", func(a *domain.Article) { a.DeleteTime = a.UpdateTime })
		mustUpdate(tb, s, corpus[2], "schedule", func(a *domain.Article) {
			a.State, a.ScheduledPublishTime = domain.StateScheduled, t0.Add(time.Hour)
		})
		return corpus
	}
	// sameAsScan checks that a start yielded what a Store without an image loads.
	sameAsScan := func(tb testing.TB, db *mongo.Database, got imageStart) {
		tb.Helper()
		want := startWithImage(tb, db, "")
		if diff := gocmp.Diff(want.index, got.index, cmpopts.EquateEmpty()); diff != "" {
			tb.Errorf("index entries differ from a scan (-scan +got):\n%s", diff)
		}
		if diff := gocmp.Diff(want.live, got.live, cmpopts.EquateEmpty()); diff != "" {
			tb.Errorf("live articles differ from a scan (-scan +got):\n%s", diff)
		}
	}
	// published returns the id of a live article of the corpus.
	published := func(tb testing.TB, s imageStart) string {
		tb.Helper()
		for id := range s.live {
			return id
		}
		tb.Fatal("nothing is live")
		return ""
	}

	t.Run("a clean stop seals an image the next start loads", func(t *testing.T) {
		t.Parallel()
		_, db := newStore(t)
		dir := t.TempDir()
		first := startWithImage(t, db, dir)
		fill(t, first.store)
		first.store.CloseStartupImage(ctx)
		if !sealed(t, dir) {
			t.Fatal("no sealed image after a clean stop")
		}
		second := startWithImage(t, db, dir)
		sameAsScan(t, db, second)
		if sealed(t, dir) {
			t.Error("the seal is still there after a start: a crash now would leave a stale image")
		}
		// The second start copied what it loaded: its own clean stop seals it again, and the
		// third start reads it, not the store (an entry deleted behind its back is still there).
		second.store.CloseStartupImage(ctx)
		id := published(t, second)
		damageBehindTheImage(t, db, id)
		third := startWithImage(t, db, dir)
		if third.live[id] == nil {
			t.Errorf("articles/%s missing: the third start scanned the store instead of loading the image", id)
		}
	})

	t.Run("writes after a load are in the image", func(t *testing.T) {
		t.Parallel()
		_, db := newStore(t)
		dir := t.TempDir()
		first := startWithImage(t, db, dir)
		first.store.CloseStartupImage(ctx) // an empty store's image
		second := startWithImage(t, db, dir)
		fill(t, second.store)
		second.store.CloseStartupImage(ctx)
		sameAsScan(t, db, startWithImage(t, db, dir))
	})

	for _, tc := range []struct {
		name  string
		spoil func(tb testing.TB, db *mongo.Database, dir string, s imageStart)
	}{
		{"a crash: no clean stop", func(tb testing.TB, _ *mongo.Database, _ string, s imageStart) {
			mustCreate(tb, s.store, newArticle("after-crash", "after-crash", "site-a"))
		}},
		{"another process wrote", func(tb testing.TB, db *mongo.Database, _ string, s imageStart) {
			other := store.New(db, mongodb.NewDocLocks(), nil)
			if err := other.LoadIndex(ctx); err != nil {
				tb.Fatal(err)
			}
			mustCreate(tb, other, newArticle("by-another", "by-another", "site-a"))
			s.store.CloseStartupImage(ctx)
		}},
		{"the image grew past its bound", func(tb testing.TB, _ *mongo.Database, _ string, s imageStart) {
			store.BoundStartupImage(s.store, 1)
			mustCreate(tb, s.store, newArticle("past-the-bound", "past-the-bound", "site-a"))
			s.store.CloseStartupImage(ctx)
		}},
		{"a load did not finish", func(tb testing.TB, db *mongo.Database, dir string, _ imageStart) {
			s := store.New(db, mongodb.NewDocLocks(), nil)
			s.UseStartupImage(dir)
			if err := s.LoadIndex(ctx); err != nil { // and no ForEachLiveArticle
				tb.Fatal(err)
			}
			s.CloseStartupImage(ctx)
		}},
		{"the file was cut short", func(tb testing.TB, _ *mongo.Database, dir string, s imageStart) {
			s.store.CloseStartupImage(ctx)
			path := filepath.Join(dir, "entries")
			info, err := os.Stat(path)
			if err != nil {
				tb.Fatal(err)
			}
			if err := os.Truncate(path, info.Size()-3); err != nil {
				tb.Fatal(err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, db := newStore(t)
			dir := t.TempDir()
			first := startWithImage(t, db, dir)
			fill(t, first.store)
			first.store.CloseStartupImage(ctx)
			second := startWithImage(t, db, dir)
			tc.spoil(t, db, dir, second)
			id := published(t, second)
			damageBehindTheImage(t, db, id)
			next := startWithImage(t, db, dir)
			if next.live[id] != nil {
				t.Errorf("articles/%s still live: the start loaded an image it could not trust", id)
			}
			sameAsScan(t, db, next)
		})
	}
}
