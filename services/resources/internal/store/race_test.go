package store_test

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/beaconcms/beacon/platform/apperr"
	"github.com/beaconcms/beacon/platform/mongodb"
	"github.com/beaconcms/beacon/platform/mongodb/mongodbtest"
	"github.com/beaconcms/beacon/services/resources/internal/domain"
	"github.com/beaconcms/beacon/services/resources/internal/store"
)

// writers are two Stores on one database: two writers in one process (sharing its DocLocks) or
// two replicas (each with its own).
type writers struct {
	db   *mongo.Database
	a, b *store.Store
}

var writerSetups = []struct {
	name         string
	sharedLocks  bool
	needsMongoDB bool // the replace must carry its guard to the server
}{
	{name: "one process", sharedLocks: true},
	{name: "two replicas", needsMongoDB: true},
}

func newWriters(tb testing.TB, sharedLocks, needsMongoDB bool) writers {
	tb.Helper()
	ctx := context.Background()
	db := mongodbtest.NewDatabase(tb)
	if needsMongoDB {
		ferret, err := mongodb.IsFerretDB(ctx, db.Client())
		if err != nil {
			tb.Fatal(err)
		}
		if ferret {
			tb.Skip("FerretDB v1 makes no conditional write atomic: one process writes a resources database (docs/architecture.md); set " + mongodbtest.EnvURI + " to run this against MongoDB")
		}
	}
	if err := mongodb.Migrate(mongodb.WithScan(ctx, "test setup"), db, store.Migrations(), slog.New(slog.DiscardHandler)); err != nil {
		tb.Fatal(err)
	}
	locksA, locksB := mongodb.NewDocLocks(), mongodb.NewDocLocks()
	if sharedLocks {
		locksB = locksA
	}
	return writers{db: db, a: store.New(db, locksA, nil, nil), b: store.New(db, locksB, nil, nil)}
}

// race runs write(a) with write(b) slipped in between a's check and its replace: b waits for a's
// lock when they share one (so a wins), and goes first when they do not (so b wins, and a's
// guarded replace must be refused). It returns a's error and b's.
func race(tb testing.TB, w writers, shared bool, writeA, writeB func() error) (errA, errB error) {
	tb.Helper()
	var once sync.Once
	var wg sync.WaitGroup
	store.SetBeforeReplace(w.a, func() {
		once.Do(func() {
			if shared {
				wg.Add(1)
				go func() { defer wg.Done(); errB = writeB() }()
				time.Sleep(20 * time.Millisecond) // let b reach a's lock (it is refused either way)
				return
			}
			errB = writeB()
		})
	})
	defer store.SetBeforeReplace(w.a, nil)
	errA = writeA()
	wg.Wait()
	return errA, errB
}

func TestRacingResourceWritesOneWinsNothingHalfWritten(t *testing.T) {
	for _, tt := range writerSetups {
		t.Run(tt.name, func(t *testing.T) {
			w := newWriters(t, tt.sharedLocks, tt.needsMongoDB)
			ctx := context.Background()
			t0 := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
			r1 := &domain.Resource{ID: "r1", Fields: activeLine(), RevisionID: 1, CreateTime: t0, UpdateTime: t0, Creator: "apiKeys/admin"}
			if err := w.a.CreateResource(ctx, r1, domain.Change{Actor: "apiKeys/admin", Action: "create", Time: t0}); err != nil {
				t.Fatal(err)
			}
			edit := func(name, extID string) *domain.Resource {
				next := *r1
				next.Fields.DisplayName = name
				next.Fields.ExternalIDs = append(slices.Clone(r1.ExternalIDs), domain.ExternalID{Source: "csv", ID: extID})
				next.RevisionID, next.UpdateTime = 2, t0.Add(time.Minute)
				return &next
			}
			nextA, nextB := edit("Written by A", "only-a"), edit("Written by B", "only-b")
			errA, errB := race(t, w, tt.sharedLocks,
				func() error {
					return w.a.UpdateResource(ctx, r1, nextA, domain.Change{Actor: "apiKeys/a", Action: "update", Time: nextA.UpdateTime})
				},
				func() error {
					return w.b.UpdateResource(ctx, r1, nextB, domain.Change{Actor: "apiKeys/b", Action: "update", Time: nextB.UpdateTime})
				})
			winner, loser, loserErr, winnerActor := nextA, nextB, errB, "apiKeys/a"
			winnerErr := errA
			if !tt.sharedLocks {
				winner, loser, loserErr, winnerActor, winnerErr = nextB, nextA, errA, "apiKeys/b", errB
			}
			if winnerErr != nil {
				t.Fatalf("the first write: %v", winnerErr)
			}
			if apperr.CodeOf(loserErr) != apperr.Conflict {
				t.Fatalf("the write from the same revision that lost: %v, want Conflict", loserErr)
			}

			got, err := w.a.GetResource(ctx, "r1")
			if err != nil {
				t.Fatal(err)
			}
			if got.DisplayName != winner.DisplayName || got.RevisionID != 2 {
				t.Errorf("stored: %q at revision %d, want %q at 2", got.DisplayName, got.RevisionID, winner.DisplayName)
			}
			rev, err := w.b.GetRevision(ctx, "r1", 2)
			if err != nil {
				t.Fatal(err)
			}
			if rev.Resource.DisplayName != winner.DisplayName || rev.Change.Actor != winnerActor {
				t.Errorf("revision 2 records %q by %s, want %q by %s", rev.Resource.DisplayName, rev.Change.Actor, winner.DisplayName, winnerActor)
			}
			if _, err := w.a.GetRevision(ctx, "r1", 3); apperr.CodeOf(err) != apperr.NotFound {
				t.Errorf("revision 3: %v, want NotFound", err)
			}
			won, lost := winner.ExternalIDs[1], loser.ExternalIDs[1]
			if id, held, err := w.a.ResourceIDByExternalID(ctx, won); err != nil || !held || id != "r1" {
				t.Errorf("the winner's new external id %s: held by %q (%v, %v), want r1", won, id, held, err)
			}
			if id, held, err := w.a.ResourceIDByExternalID(ctx, lost); err != nil || held {
				t.Errorf("the loser's new external id %s: held by %q (%v, %v), want free", lost, id, held, err)
			}
			var claim bson.M
			err = w.db.Collection("resource_external_ids").FindOne(ctx, bson.D{{Key: "_id", Value: lost.Source + "/" + lost.ID}}).Decode(&claim)
			if err == nil && claim["resource"] != "" {
				t.Errorf("the loser's claim was left naming %v, want released", claim["resource"])
			} else if err != nil && !errors.Is(err, mongo.ErrNoDocuments) {
				t.Fatal(err)
			}
		})
	}
}

func TestRacingDirectoryWritesOneWinsNothingHalfWritten(t *testing.T) {
	for _, tt := range writerSetups {
		t.Run(tt.name, func(t *testing.T) {
			w := newWriters(t, tt.sharedLocks, tt.needsMongoDB)
			ctx := context.Background()
			t0 := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
			d1 := &domain.Directory{ID: "d1", RevisionID: 1, CreateTime: t0, UpdateTime: t0,
				DirectoryFields: domain.DirectoryFields{Title: "Lines", Slug: "lines", Site: "kratom-help"}}
			if err := w.a.CreateDirectory(ctx, d1, domain.Change{Actor: "apiKeys/admin", Action: "create", Time: t0}); err != nil {
				t.Fatal(err)
			}
			edit := func(slug string) *domain.Directory {
				next := *d1
				next.Title, next.Slug, next.RevisionID, next.UpdateTime = "Moved to "+slug, slug, 2, t0.Add(time.Minute)
				return &next
			}
			nextA, nextB := edit("by-a"), edit("by-b")
			errA, errB := race(t, w, tt.sharedLocks,
				func() error {
					return w.a.UpdateDirectory(ctx, d1, nextA, domain.Change{Actor: "apiKeys/a", Action: "update", Time: nextA.UpdateTime})
				},
				func() error {
					return w.b.UpdateDirectory(ctx, d1, nextB, domain.Change{Actor: "apiKeys/b", Action: "update", Time: nextB.UpdateTime})
				})
			winner, loser, winnerErr, loserErr, winnerActor := nextA, nextB, errA, errB, "apiKeys/a"
			if !tt.sharedLocks {
				winner, loser, winnerErr, loserErr, winnerActor = nextB, nextA, errB, errA, "apiKeys/b"
			}
			if winnerErr != nil {
				t.Fatalf("the first write: %v", winnerErr)
			}
			if apperr.CodeOf(loserErr) != apperr.Conflict {
				t.Fatalf("the write from the same revision that lost: %v, want Conflict", loserErr)
			}
			got, err := w.a.GetDirectory(ctx, "d1")
			if err != nil {
				t.Fatal(err)
			}
			if got.Slug != winner.Slug || got.RevisionID != 2 {
				t.Errorf("stored: slug %q at revision %d, want %q at 2", got.Slug, got.RevisionID, winner.Slug)
			}
			rev, err := w.b.GetDirectoryRevision(ctx, "d1", 2)
			if err != nil {
				t.Fatal(err)
			}
			if rev.Directory.Slug != winner.Slug || rev.Change.Actor != winnerActor {
				t.Errorf("revision 2 records slug %q by %s, want %q by %s", rev.Directory.Slug, rev.Change.Actor, winner.Slug, winnerActor)
			}
			claims := map[string]string{}
			for _, slug := range []string{"lines", winner.Slug, loser.Slug} {
				var c bson.M
				err := w.db.Collection("directory_slugs").FindOne(ctx, bson.D{{Key: "_id", Value: "kratom-help/" + slug}}).Decode(&c)
				if err != nil && !errors.Is(err, mongo.ErrNoDocuments) {
					t.Fatal(err)
				}
				name, _ := c["directory"].(string)
				claims[slug] = name
			}
			if claims["lines"] != "" || claims[winner.Slug] != "d1" || claims[loser.Slug] != "" {
				t.Errorf("slug claims %v: want the winner's slug held by d1, the old and the loser's released", claims)
			}
		})
	}
}

// TestAnUnrecordedRevisionIsAnsweredAndRecordedLater: a crash between a write and its revision
// record (simulated by removing the record) loses nothing.
func TestAnUnrecordedRevisionIsAnsweredAndRecordedLater(t *testing.T) {
	w := newWriters(t, true, false)
	ctx := context.Background()
	t0 := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	r1 := &domain.Resource{ID: "r1", Fields: activeLine(), RevisionID: 1, CreateTime: t0, UpdateTime: t0}
	if err := w.a.CreateResource(ctx, r1, domain.Change{Actor: "apiKeys/admin", Action: "create", Time: t0}); err != nil {
		t.Fatal(err)
	}
	revisions := w.db.Collection("resource_revisions")
	if _, err := revisions.DeleteOne(mongodb.WithScan(ctx, "test: simulate a crash before the revision record"), bson.D{{Key: "_id", Value: "r1/1"}}); err != nil {
		t.Fatal(err)
	}
	rev, err := w.a.GetRevision(ctx, "r1", 1)
	if err != nil || rev.Change.Action != "create" || rev.Resource.DisplayName != r1.DisplayName {
		t.Fatalf("the unrecorded current revision: %+v, %v", rev.Change, err)
	}
	r2 := *r1
	r2.DisplayName, r2.RevisionID = "Renamed", 2
	if err := w.a.UpdateResource(ctx, r1, &r2, domain.Change{Actor: "apiKeys/admin", Action: "update", Time: t0.Add(time.Minute)}); err != nil {
		t.Fatal(err)
	}
	var recorded bson.M
	if err := revisions.FindOne(ctx, bson.D{{Key: "_id", Value: "r1/1"}}).Decode(&recorded); err != nil {
		t.Fatalf("revision 1 after the next write: %v, want recorded", err)
	}
	if recorded["action"] != "create" {
		t.Errorf("revision 1 recorded as %v, want create", recorded["action"])
	}
}

// activeLine is crisisLine as the domain stores it (status set).
func activeLine() domain.Fields {
	f := crisisLine()
	f.Status = domain.StatusActive
	f.Phones[0].Number, f.Phones[0].Type = "+18005550199", domain.PhoneVoice
	return f
}
