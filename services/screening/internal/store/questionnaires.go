package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/beaconcms/beacon/platform/apperr"
	"github.com/beaconcms/beacon/platform/mongodb"
	"github.com/beaconcms/beacon/services/screening/internal/domain"
)

// Collections of questionnaires (see the package comment for counters).
//
//   - questionnaires: one questionnaireDoc per questionnaire, _id = id. Writes are conditional
//     on the stored revision, checked while holding the document's lock.
//   - questionnaire_versions: one versionDoc per published version, _id "id/v{n}", inserted
//     once and never changed.
//   - questionnaire_revisions: one revisionDoc per successful write, _id "id/{revision}". It is
//     written before the questionnaire, so a crash in between leaves a record of a revision that
//     never happened, which the next write of that revision number replaces; readers ask only for
//     revisions up to the questionnaire's own.
const (
	questionnairesCollection = "questionnaires"
	versionsCollection       = "questionnaire_versions"
	revisionsCollection      = "questionnaire_revisions"
)

// Questionnaires implements domain.QuestionnaireStore.
type Questionnaires struct {
	db    *mongo.Database
	locks *mongodb.DocLocks
}

// NewQuestionnaires returns the questionnaire store of db; locks is the process's one DocLocks.
func NewQuestionnaires(db *mongo.Database, locks *mongodb.DocLocks) *Questionnaires {
	return &Questionnaires{db: db, locks: locks}
}

func questionnaireName(id string) string { return "questionnaires/" + id }

func revisionID(id string, revision int64) string {
	return id + "/" + strconv.FormatInt(revision, 10)
}

func versionID(id string, number int64) string { return id + "/v" + strconv.FormatInt(number, 10) }

// CreateQuestionnaire implements domain.QuestionnaireStore.
func (s *Questionnaires) CreateQuestionnaire(ctx context.Context, q *domain.Questionnaire, c domain.Change) error {
	unlock, err := s.locks.Lock(ctx, s.db.Name(), questionnairesCollection, q.ID)
	if err != nil {
		return err
	}
	defer unlock()
	if err := s.putRevision(ctx, q, c); err != nil {
		return err
	}
	if _, err := s.db.Collection(questionnairesCollection).InsertOne(ctx, toQuestionnaireDoc(q)); err != nil {
		if mongodb.IsDuplicateKey(err) {
			return apperr.New(apperr.AlreadyExists, "questionnaire %q already exists", questionnaireName(q.ID))
		}
		return fmt.Errorf("inserting questionnaire %s: %w", q.ID, err)
	}
	return nil
}

// GetQuestionnaire implements domain.QuestionnaireStore.
func (s *Questionnaires) GetQuestionnaire(ctx context.Context, id string) (*domain.Questionnaire, error) {
	var d questionnaireDoc
	err := s.db.Collection(questionnairesCollection).FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return nil, apperr.New(apperr.NotFound, "questionnaire %q not found", questionnaireName(id))
	}
	if err != nil {
		return nil, fmt.Errorf("reading questionnaire %s: %w", id, err)
	}
	return fromQuestionnaireDoc(d)
}

// ListQuestionnaires implements domain.QuestionnaireStore: one scan of the questionnaires
// collection, marked as startup work.
func (s *Questionnaires) ListQuestionnaires(ctx context.Context) ([]*domain.Questionnaire, error) {
	ctx = mongodb.WithScan(ctx, "screening: loading every questionnaire at start")
	cur, err := s.db.Collection(questionnairesCollection).Find(ctx, bson.D{})
	if err != nil {
		return nil, fmt.Errorf("listing questionnaires: %w", err)
	}
	var docs []questionnaireDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, fmt.Errorf("listing questionnaires: %w", err)
	}
	out := make([]*domain.Questionnaire, 0, len(docs))
	for _, d := range docs {
		q, err := fromQuestionnaireDoc(d)
		if err != nil {
			return nil, err
		}
		out = append(out, q)
	}
	return out, nil
}

// UpdateQuestionnaire implements domain.QuestionnaireStore.
func (s *Questionnaires) UpdateQuestionnaire(ctx context.Context, prev, next *domain.Questionnaire, c domain.Change) error {
	unlock, err := s.locks.Lock(ctx, s.db.Name(), questionnairesCollection, prev.ID)
	if err != nil {
		return err
	}
	defer unlock()
	current, err := s.GetQuestionnaire(ctx, prev.ID)
	if err != nil {
		return err
	}
	if current.RevisionID != prev.RevisionID {
		return apperr.New(apperr.Conflict, "questionnaire %q changed meanwhile (revision %d, expected %d): re-read and retry", questionnaireName(prev.ID), current.RevisionID, prev.RevisionID)
	}
	if next.RevisionID != prev.RevisionID+1 {
		return fmt.Errorf("update of questionnaire %s: next revision %d does not follow %d", prev.ID, next.RevisionID, prev.RevisionID)
	}
	if err := s.putRevision(ctx, next, c); err != nil {
		return err
	}
	if _, err := s.db.Collection(questionnairesCollection).ReplaceOne(ctx, bson.D{{Key: "_id", Value: next.ID}}, toQuestionnaireDoc(next)); err != nil {
		return fmt.Errorf("replacing questionnaire %s: %w", next.ID, err)
	}
	return nil
}

// putRevision records q's revision (replacing a record left by a crash at the same number).
func (s *Questionnaires) putRevision(ctx context.Context, q *domain.Questionnaire, c domain.Change) error {
	d := revisionDoc{
		ID: revisionID(q.ID, q.RevisionID), SchemaVersion: revisionSchema, QuestionnaireID: q.ID, Revision: q.RevisionID,
		Actor: c.Actor, Action: c.Action, Fields: c.Fields, Time: c.Time.UTC(), Questionnaire: toQuestionnaireDoc(q),
	}
	_, err := s.db.Collection(revisionsCollection).ReplaceOne(ctx, bson.D{{Key: "_id", Value: d.ID}}, d, options.Replace().SetUpsert(true))
	if err != nil {
		return fmt.Errorf("recording revision %s: %w", d.ID, err)
	}
	return nil
}

// GetRevision implements domain.QuestionnaireStore.
func (s *Questionnaires) GetRevision(ctx context.Context, id string, revision int64) (domain.Revision, error) {
	var d revisionDoc
	err := s.db.Collection(revisionsCollection).FindOne(ctx, bson.D{{Key: "_id", Value: revisionID(id, revision)}}).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return domain.Revision{}, apperr.New(apperr.NotFound, "revision %d of questionnaire %q not found", revision, questionnaireName(id))
	}
	if err != nil {
		return domain.Revision{}, fmt.Errorf("reading revision %s: %w", revisionID(id, revision), err)
	}
	q, err := fromQuestionnaireDoc(d.Questionnaire)
	if err != nil {
		return domain.Revision{}, err
	}
	return domain.Revision{
		RevisionID:    d.Revision,
		Change:        domain.Change{Actor: d.Actor, Action: d.Action, Fields: d.Fields, Time: d.Time.UTC()},
		Questionnaire: *q,
	}, nil
}

// PutVersion implements domain.QuestionnaireStore.
func (s *Questionnaires) PutVersion(ctx context.Context, v *domain.Version) error {
	d := versionDoc{
		ID: versionID(v.QuestionnaireID, v.Number), SchemaVersion: versionSchema, QuestionnaireID: v.QuestionnaireID,
		Number: v.Number, Content: toContentDoc(v.Content), PublishTime: v.PublishTime.UTC(),
	}
	_, err := s.db.Collection(versionsCollection).InsertOne(ctx, d)
	if err == nil {
		return nil
	}
	if !mongodb.IsDuplicateKey(err) {
		return fmt.Errorf("storing version %s: %w", d.ID, err)
	}
	var stored versionDoc
	if err := s.db.Collection(versionsCollection).FindOne(ctx, bson.D{{Key: "_id", Value: d.ID}}).Decode(&stored); err != nil {
		return fmt.Errorf("reading version %s: %w", d.ID, err)
	}
	same, err := sameBSON(stored.Content, d.Content)
	if err != nil {
		return err
	}
	if !same || !stored.PublishTime.Equal(d.PublishTime.Truncate(time.Millisecond)) {
		return apperr.New(apperr.Conflict, "version %d of questionnaire %q is published already with other content", v.Number, questionnaireName(v.QuestionnaireID))
	}
	return nil
}

// sameBSON reports whether a and b store the same, comparing their encodings after one decode
// (so an empty list and a missing one compare equal, as they read back).
func sameBSON(a, b contentDoc) (bool, error) {
	canon := func(c contentDoc) ([]byte, error) {
		raw, err := bson.Marshal(c)
		if err != nil {
			return nil, err
		}
		var back contentDoc
		if err := bson.Unmarshal(raw, &back); err != nil {
			return nil, err
		}
		return bson.Marshal(back)
	}
	ra, err := canon(a)
	if err != nil {
		return false, err
	}
	rb, err := canon(b)
	if err != nil {
		return false, err
	}
	return bytes.Equal(ra, rb), nil
}

// GetVersion implements domain.QuestionnaireStore.
func (s *Questionnaires) GetVersion(ctx context.Context, id string, number int64) (*domain.Version, error) {
	var d versionDoc
	err := s.db.Collection(versionsCollection).FindOne(ctx, bson.D{{Key: "_id", Value: versionID(id, number)}}).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return nil, apperr.New(apperr.NotFound, "version %d of questionnaire %q not found", number, questionnaireName(id))
	}
	if err != nil {
		return nil, fmt.Errorf("reading version %s: %w", versionID(id, number), err)
	}
	return &domain.Version{QuestionnaireID: d.QuestionnaireID, Number: d.Number, Content: fromContentDoc(d.Content), PublishTime: d.PublishTime.UTC()}, nil
}
