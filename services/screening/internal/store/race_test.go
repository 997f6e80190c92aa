package store_test

import (
	"context"
	"maps"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/beaconcms/beacon/platform/apperr"
	"github.com/beaconcms/beacon/platform/mongodb"
	"github.com/beaconcms/beacon/platform/mongodb/mongodbtest"
	"github.com/beaconcms/beacon/services/screening/internal/domain"
	"github.com/beaconcms/beacon/services/screening/internal/instruments"
	"github.com/beaconcms/beacon/services/screening/internal/store"
)

// Two writers on one database: in one process (sharing its DocLocks), or two replicas (each
// with its own), where the guard must go to the server with the replace.
var writerSetups = []struct {
	name         string
	sharedLocks  bool
	needsMongoDB bool
}{
	{name: "one process", sharedLocks: true},
	{name: "two replicas", needsMongoDB: true},
}

func raceDatabase(tb testing.TB, sharedLocks, needsMongoDB bool) (*mongo.Database, *mongodb.DocLocks, *mongodb.DocLocks) {
	tb.Helper()
	db := mongodbtest.NewDatabase(tb)
	if needsMongoDB {
		ferret, err := mongodb.IsFerretDB(context.Background(), db.Client())
		if err != nil {
			tb.Fatal(err)
		}
		if ferret {
			tb.Skip("FerretDB v1 makes no conditional write atomic: one process writes a screening database (docs/architecture.md); set " + mongodbtest.EnvURI + " to run this against MongoDB")
		}
	}
	a, b := mongodb.NewDocLocks(), mongodb.NewDocLocks()
	if sharedLocks {
		b = a
	}
	return db, a, b
}

// slipIn returns a hook that runs write once: after a's lock is taken, so with shared locks it
// waits for a (in a goroutine; wait joins it) and with separate locks it goes first.
func slipIn(shared bool, write func()) (hook func(), wait func()) {
	var once sync.Once
	var wg sync.WaitGroup
	return func() {
		once.Do(func() {
			if !shared {
				write()
				return
			}
			wg.Add(1)
			go func() { defer wg.Done(); write() }()
			time.Sleep(20 * time.Millisecond) // let it reach the lock (the outcome is the same either way)
		})
	}, wg.Wait
}

func TestRacingQuestionnaireUpdatesOneWinsNothingHalfWritten(t *testing.T) {
	for _, tt := range writerSetups {
		t.Run(tt.name, func(t *testing.T) {
			db, locksA, locksB := raceDatabase(t, tt.sharedLocks, tt.needsMongoDB)
			ctx := context.Background()
			a, b := store.NewQuestionnaires(db, locksA, nil), store.NewQuestionnaires(db, locksB, nil)
			all, _ := instruments.All()
			c := all[0].Content.Clone()
			c.TargetSites = []string{"kratom-help"}
			q1 := &domain.Questionnaire{ID: "q", Draft: c, State: domain.StateDraft, Version: 1, RevisionID: 1, CreateTime: t0, UpdateTime: t0}
			if err := a.CreateQuestionnaire(ctx, q1, domain.Change{Actor: "a", Action: "create", Time: t0}); err != nil {
				t.Fatal(err)
			}
			edit := func(title string) *domain.Questionnaire {
				next := *q1
				next.Draft = c.Clone()
				next.Draft.Title, next.RevisionID = title, 2
				return &next
			}
			nextA, nextB := edit("By A"), edit("By B")
			var errB error
			hook, wait := slipIn(tt.sharedLocks, func() {
				errB = b.UpdateQuestionnaire(ctx, q1, nextB, domain.Change{Actor: "b", Action: "update", Time: t0.Add(time.Minute)})
			})
			store.SetBeforeReplace(a, hook)
			errA := a.UpdateQuestionnaire(ctx, q1, nextA, domain.Change{Actor: "a", Action: "update", Time: t0.Add(time.Minute)})
			wait()
			winner, winnerActor, winnerErr, loserErr := nextA, "a", errA, errB
			if !tt.sharedLocks {
				winner, winnerActor, winnerErr, loserErr = nextB, "b", errB, errA
			}
			if winnerErr != nil {
				t.Fatalf("the first write: %v", winnerErr)
			}
			if apperr.CodeOf(loserErr) != apperr.Conflict {
				t.Fatalf("the write from the same revision that lost: %v, want Conflict", loserErr)
			}
			got, err := a.GetQuestionnaire(ctx, "q")
			if err != nil {
				t.Fatal(err)
			}
			if got.Draft.Title != winner.Draft.Title || got.RevisionID != 2 {
				t.Errorf("stored: %q at revision %d, want %q at 2", got.Draft.Title, got.RevisionID, winner.Draft.Title)
			}
			rev, err := b.GetRevision(ctx, "q", 2)
			if err != nil {
				t.Fatal(err)
			}
			if rev.Questionnaire.Draft.Title != winner.Draft.Title || rev.Change.Actor != winnerActor {
				t.Errorf("revision 2 records %q by %s, want %q by %s", rev.Questionnaire.Draft.Title, rev.Change.Actor, winner.Draft.Title, winnerActor)
			}
			if _, err := a.GetRevision(ctx, "q", 3); apperr.CodeOf(err) != apperr.NotFound {
				t.Errorf("revision 3: %v, want NotFound", err)
			}
		})
	}
}

// TestRacingCounterFlushesBothCount: two flushes of the same questionnaire-day at once both
// count, whether the day document is new or not.
func TestRacingCounterFlushesBothCount(t *testing.T) {
	for _, tt := range writerSetups {
		for _, existing := range []bool{false, true} {
			name := tt.name + "/new day"
			if existing {
				name = tt.name + "/existing day"
			}
			t.Run(name, func(t *testing.T) {
				db, locksA, locksB := raceDatabase(t, tt.sharedLocks, tt.needsMongoDB)
				ctx := context.Background()
				a, b := store.NewCounters(db, locksA), store.NewCounters(db, locksB)
				want := map[domain.CounterKey]int64{}
				add := func(s *store.Counters, batch string, c domain.Cell) error {
					want[c.CounterKey] += c.N
					return s.AddCounts(ctx, batch, []domain.Cell{c})
				}
				if existing {
					if err := add(a, "batch-0", cell("q", 1, "a", "low", "2026-12-01", 1)); err != nil {
						t.Fatal(err)
					}
				}
				var errB error
				hook, wait := slipIn(tt.sharedLocks, func() { errB = add(b, "batch-b", cell("q", 1, "a", "low", "2026-12-01", 10)) })
				store.SetBeforeWrite(a, hook)
				errA := add(a, "batch-a", cell("q", 1, "a", "high", "2026-12-01", 100))
				wait()
				if errA != nil || errB != nil {
					t.Fatalf("flushes: %v, %v", errA, errB)
				}
				got, err := a.Counts(ctx, "q", []string{"2026-12-01"})
				if err != nil {
					t.Fatal(err)
				}
				if g := sum(got); !maps.Equal(g, want) {
					t.Fatalf("counts = %v, want %v", g, want)
				}
				var doc bson.M
				if err := db.Collection("screening_counters").FindOne(ctx, bson.D{{Key: "_id", Value: "q/2026-12-01"}}).Decode(&doc); err != nil {
					t.Fatal(err)
				}
				if n, _ := doc["writes"].(int64); n < 2 {
					t.Errorf("the day document counts %v writes, want at least 2", doc["writes"])
				}
			})
		}
	}
}
