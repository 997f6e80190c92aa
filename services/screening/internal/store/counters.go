// Package store persists the screening service's data in MongoDB (or the embedded FerretDB v1).
// It keeps the store rule (platform/mongodb/storerule.go): every call is a point read by _id, an
// insert, or a whole-document replace by _id.
//
// # Collections
//
//   - screening_counters: one counterDayDoc per questionnaire and UTC day, _id
//     "questionnaireId/YYYY-MM-DD", holding that day's counters by version, site and band. No
//     answer, score or reader is ever stored.
//
// # Counter writes
//
// Counters arrive in batches from the service's Tally (one flush every few seconds). A batch
// adds to each day document by read, merge, replace, and records its batch id in the document
// (the last maxRecentBatches ids), so a batch retried after a partial failure adds to each
// document at most once. Each read-merge-replace holds the document's lock from the process's
// mongodb.DocLocks, and is guarded on the document's write count (writes) through
// mongodb.Replacer: on MongoDB the guard goes with the replace, so when two replicas flush the
// same questionnaire-day at once the second replace matches nothing and is merged again from a
// fresh read; a new day document is inserted, and a duplicate key is merged again the same way.
// On FerretDB v1 the replace is by _id alone and one process writes the database.
package store

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/beaconcms/beacon/platform/mongodb"
	"github.com/beaconcms/beacon/services/screening/internal/domain"
)

const (
	countersCollection = "screening_counters"
	counterSchema      = 1
	maxRecentBatches   = 32
	// maxMergeAttempts bounds how often one day's merge is redone after another replica wrote
	// the document first.
	maxMergeAttempts = 8
)

type counterDayDoc struct {
	ID              string           `bson:"_id"`
	SchemaVersion   int              `bson:"schemaVersion"`
	QuestionnaireID string           `bson:"questionnaireId"`
	Day             string           `bson:"day"`
	Cells           []counterCellDoc `bson:"cells"`
	RecentBatches   []string         `bson:"recentBatches"`
	// Writes counts the writes of this document; the next write is guarded on it. Absent (0) in
	// documents of older releases.
	Writes int64 `bson:"writes"`
}

type counterCellDoc struct {
	Version int64  `bson:"version"`
	Site    string `bson:"site"`
	Band    string `bson:"band"`
	N       int64  `bson:"n"`
}

func counterDayID(questionnaireID, day string) string { return questionnaireID + "/" + day }

// Counters implements domain.CounterStore.
type Counters struct {
	coll     *mongo.Collection
	locks    *mongodb.DocLocks
	replacer *mongodb.Replacer
	// beforeWrite, when set (tests), runs after a merge and before its guarded write: where
	// another replica's write can slip in.
	beforeWrite func()
}

// NewCounters returns the counter store of db; locks is the process's one DocLocks.
func NewCounters(db *mongo.Database, locks *mongodb.DocLocks) *Counters {
	return &Counters{coll: db.Collection(countersCollection), locks: locks, replacer: mongodb.NewReplacer(db)}
}

// AddCounts implements domain.CounterStore.
func (s *Counters) AddCounts(ctx context.Context, batchID string, cells []domain.Cell) error {
	byDoc := map[string][]domain.Cell{}
	var order []string
	for _, c := range cells {
		id := counterDayID(c.QuestionnaireID, c.Day)
		if _, seen := byDoc[id]; !seen {
			order = append(order, id)
		}
		byDoc[id] = append(byDoc[id], c)
	}
	slices.Sort(order)
	for _, id := range order {
		if err := s.addToDay(ctx, id, batchID, byDoc[id]); err != nil {
			return err
		}
	}
	return nil
}

func (s *Counters) addToDay(ctx context.Context, id, batchID string, cells []domain.Cell) error {
	unlock, err := s.locks.Lock(ctx, s.coll.Database().Name(), countersCollection, id)
	if err != nil {
		return fmt.Errorf("lock counters %s: %w", id, err)
	}
	defer unlock()
	for attempt := 1; attempt <= maxMergeAttempts; attempt++ {
		written, err := s.mergeOnce(ctx, id, batchID, cells)
		if err != nil {
			if mongodb.IsUnavailable(err) {
				return fmt.Errorf("write counters %s: store unavailable: %w", id, err)
			}
			return fmt.Errorf("write counters %s: %w", id, err)
		}
		if written {
			return nil
		}
	}
	return fmt.Errorf("write counters %s: other writers changed it %d times in a row", id, maxMergeAttempts)
}

// mergeOnce reads day document id, adds cells to it and writes it back, guarded on the write
// count read. written is false when another writer got there first (merge again).
func (s *Counters) mergeOnce(ctx context.Context, id, batchID string, cells []domain.Cell) (written bool, err error) {
	var doc counterDayDoc
	err = s.coll.FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&doc)
	exists := err == nil
	switch {
	case errors.Is(err, mongo.ErrNoDocuments):
		doc = counterDayDoc{ID: id, QuestionnaireID: cells[0].QuestionnaireID, Day: cells[0].Day}
	case err != nil:
		return false, err
	}
	if slices.Contains(doc.RecentBatches, batchID) {
		return true, nil // this batch was added here before a failure elsewhere
	}
	doc.SchemaVersion = counterSchema
	for _, c := range cells {
		i := slices.IndexFunc(doc.Cells, func(d counterCellDoc) bool {
			return d.Version == c.Version && d.Site == c.Site && d.Band == c.Band
		})
		if i < 0 {
			doc.Cells = append(doc.Cells, counterCellDoc{Version: c.Version, Site: c.Site, Band: c.Band})
			i = len(doc.Cells) - 1
		}
		doc.Cells[i].N += c.N
	}
	doc.RecentBatches = append(doc.RecentBatches, batchID)
	if n := len(doc.RecentBatches); n > maxRecentBatches {
		doc.RecentBatches = doc.RecentBatches[n-maxRecentBatches:]
	}
	read := doc.Writes
	doc.Writes++
	if s.beforeWrite != nil {
		s.beforeWrite()
	}
	if !exists {
		_, err := s.coll.InsertOne(ctx, doc)
		if mongodb.IsDuplicateKey(err) {
			return false, nil // another writer created it
		}
		return err == nil, err
	}
	guard := bson.D{{Key: "writes", Value: read}}
	if read == 0 { // written by an older release, without the count
		guard = bson.D{{Key: "writes", Value: bson.D{{Key: "$exists", Value: false}}}}
	}
	return s.replacer.Replace(ctx, s.coll, id, guard, doc)
}

// Counts implements domain.CounterStore with one point read per day.
func (s *Counters) Counts(ctx context.Context, questionnaireID string, days []string) ([]domain.Cell, error) {
	var out []domain.Cell
	for _, day := range days {
		id := counterDayID(questionnaireID, day)
		var doc counterDayDoc
		err := s.coll.FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&doc)
		if errors.Is(err, mongo.ErrNoDocuments) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("read counters %s: %w", id, err)
		}
		for _, c := range doc.Cells {
			if c.N > 0 {
				out = append(out, domain.Cell{CounterKey: domain.CounterKey{
					QuestionnaireID: doc.QuestionnaireID, Version: c.Version, Site: c.Site, Band: c.Band, Day: doc.Day,
				}, N: c.N})
			}
		}
	}
	return out, nil
}
