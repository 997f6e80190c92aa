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
// mongodb.DocLocks. Only the screening service writes its database, and one screening process
// per database writes counters: the replace is by _id alone (the store rule), so two processes
// flushing the same questionnaire-day at the same instant could lose one of the two batches.
package store

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/beaconcms/beacon/platform/mongodb"
	"github.com/beaconcms/beacon/services/screening/internal/domain"
)

const (
	countersCollection = "screening_counters"
	counterSchema      = 1
	maxRecentBatches   = 32
)

type counterDayDoc struct {
	ID              string           `bson:"_id"`
	SchemaVersion   int              `bson:"schemaVersion"`
	QuestionnaireID string           `bson:"questionnaireId"`
	Day             string           `bson:"day"`
	Cells           []counterCellDoc `bson:"cells"`
	RecentBatches   []string         `bson:"recentBatches"`
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
	coll  *mongo.Collection
	locks *mongodb.DocLocks
}

// NewCounters returns the counter store of db; locks is the process's one DocLocks.
func NewCounters(db *mongo.Database, locks *mongodb.DocLocks) *Counters {
	return &Counters{coll: db.Collection(countersCollection), locks: locks}
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
	var doc counterDayDoc
	err = s.coll.FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&doc)
	switch {
	case errors.Is(err, mongo.ErrNoDocuments):
		doc = counterDayDoc{ID: id, QuestionnaireID: cells[0].QuestionnaireID, Day: cells[0].Day}
	case err != nil:
		return fmt.Errorf("read counters %s: %w", id, err)
	}
	if slices.Contains(doc.RecentBatches, batchID) {
		return nil // this batch was added here before a failure elsewhere
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
	if _, err := s.coll.ReplaceOne(ctx, bson.D{{Key: "_id", Value: id}}, doc, options.Replace().SetUpsert(true)); err != nil {
		if mongodb.IsUnavailable(err) {
			return fmt.Errorf("write counters %s: store unavailable: %w", id, err)
		}
		return fmt.Errorf("write counters %s: %w", id, err)
	}
	return nil
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
