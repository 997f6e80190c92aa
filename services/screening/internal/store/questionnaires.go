package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/beaconcms/beacon/platform/apperr"
	"github.com/beaconcms/beacon/platform/mongodb"
	"github.com/beaconcms/beacon/services/screening/internal/domain"
)

// Collections of questionnaires (see the package comment for counters).
//
//   - questionnaires: one questionnaireDoc per questionnaire, _id = id. Writes are conditional
//     on the stored revision: checked in process while holding the document's lock, and sent
//     along with the replace to MongoDB, where a replica that lost a race is refused with
//     Conflict (mongodb.Replacer; on FerretDB v1 the replace is by _id alone and one process
//     writes the database).
//   - questionnaire_versions: one versionDoc per published version, _id "id/v{n}", inserted
//     once and never changed.
//   - questionnaire_revisions: one revisionDoc per successful write, _id "id/{revision}". It is
//     written after the questionnaire's guarded replace, so only the write that won records its
//     revision. The questionnaire document carries the change that made it (lastChange), so a
//     crash in between loses nothing: GetRevision answers the current revision from the
//     document, and the next write records it first.
const (
	questionnairesCollection = "questionnaires"
	versionsCollection       = "questionnaire_versions"
	revisionsCollection      = "questionnaire_revisions"
)

// Questionnaires implements domain.QuestionnaireStore.
type Questionnaires struct {
	db       *mongo.Database
	locks    *mongodb.DocLocks
	replacer *mongodb.Replacer
	logger   *slog.Logger
	// beforeReplace, when set (tests), runs after an update's in-process check and before its
	// guarded replace: where another replica's write can slip in.
	beforeReplace func()
}

// NewQuestionnaires returns the questionnaire store of db; locks is the process's one DocLocks.
// A nil logger discards.
func NewQuestionnaires(db *mongo.Database, locks *mongodb.DocLocks, logger *slog.Logger) *Questionnaires {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Questionnaires{db: db, locks: locks, replacer: mongodb.NewReplacer(db), logger: logger}
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
	doc := toQuestionnaireDoc(q, c)
	if _, err := s.db.Collection(questionnairesCollection).InsertOne(ctx, doc); err != nil {
		if mongodb.IsDuplicateKey(err) {
			return apperr.New(apperr.AlreadyExists, "questionnaire %q already exists", questionnaireName(q.ID))
		}
		return fmt.Errorf("inserting questionnaire %s: %w", q.ID, err)
	}
	s.recordRevision(ctx, doc)
	return nil
}

func (s *Questionnaires) read(ctx context.Context, id string) (questionnaireDoc, error) {
	var d questionnaireDoc
	err := s.db.Collection(questionnairesCollection).FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return d, apperr.New(apperr.NotFound, "questionnaire %q not found", questionnaireName(id))
	}
	if err != nil {
		return d, fmt.Errorf("reading questionnaire %s: %w", id, err)
	}
	return d, nil
}

// GetQuestionnaire implements domain.QuestionnaireStore.
func (s *Questionnaires) GetQuestionnaire(ctx context.Context, id string) (*domain.Questionnaire, error) {
	d, err := s.read(ctx, id)
	if err != nil {
		return nil, err
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
	current, err := s.read(ctx, prev.ID)
	if err != nil {
		return err
	}
	if current.Revision != prev.RevisionID {
		return apperr.New(apperr.Conflict, "questionnaire %q changed meanwhile (revision %d, expected %d): re-read and retry", questionnaireName(prev.ID), current.Revision, prev.RevisionID)
	}
	if next.RevisionID != prev.RevisionID+1 {
		return fmt.Errorf("update of questionnaire %s: next revision %d does not follow %d", prev.ID, next.RevisionID, prev.RevisionID)
	}
	if err := s.recordMissedRevision(ctx, current); err != nil {
		return err
	}
	if s.beforeReplace != nil {
		s.beforeReplace()
	}
	doc := toQuestionnaireDoc(next, c)
	replaced, err := s.replacer.Replace(ctx, s.db.Collection(questionnairesCollection), next.ID, bson.D{{Key: "revision", Value: prev.RevisionID}}, doc)
	if err != nil {
		return fmt.Errorf("replacing questionnaire %s: %w", next.ID, err)
	}
	if !replaced { // MongoDB: another replica wrote it after the check above
		return apperr.New(apperr.Conflict, "questionnaire %q changed meanwhile (another writer replaced revision %d): re-read and retry", questionnaireName(prev.ID), prev.RevisionID)
	}
	s.recordRevision(ctx, doc)
	return nil
}

// recordRevision records the revision doc was just written at. A failure is only logged: the
// document carries its last change, so GetRevision answers from it and the next write records it.
func (s *Questionnaires) recordRevision(ctx context.Context, doc questionnaireDoc) {
	if err := s.putRevision(ctx, doc); err != nil {
		s.logger.WarnContext(ctx, "recording a questionnaire revision failed; the next write records it",
			slog.String("questionnaire", questionnaireName(doc.ID)), slog.Int64("revision", doc.Revision), slog.Any("err", err))
	}
}

// recordMissedRevision records the revision stored is at when a crash (or a failure logged by
// recordRevision) left it unrecorded. The caller holds the questionnaire's lock.
func (s *Questionnaires) recordMissedRevision(ctx context.Context, stored questionnaireDoc) error {
	if stored.LastChange == nil { // written by an older release, which recorded revisions first
		return nil
	}
	id := revisionID(stored.ID, stored.Revision)
	err := s.db.Collection(revisionsCollection).FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Err()
	if errors.Is(err, mongo.ErrNoDocuments) {
		return s.putRevision(ctx, stored)
	}
	if err != nil {
		return fmt.Errorf("reading revision %s: %w", id, err)
	}
	return nil
}

// putRevision records the revision d is at: an insert, or a replace by _id of a record already
// there (the same one, written meanwhile by recordMissedRevision, or one left by an older release,
// which recorded revisions before writing the questionnaire). Never an upsert: on FerretDB an
// upsert whose filter matches nothing decodes the whole collection.
func (s *Questionnaires) putRevision(ctx context.Context, d questionnaireDoc) error {
	rev := toRevisionDoc(d)
	coll := s.db.Collection(revisionsCollection)
	_, err := coll.InsertOne(ctx, rev)
	if mongodb.IsDuplicateKey(err) {
		_, err = coll.ReplaceOne(ctx, bson.D{{Key: "_id", Value: rev.ID}}, rev)
	}
	if err != nil {
		return fmt.Errorf("recording revision %s: %w", rev.ID, err)
	}
	return nil
}

// GetRevision implements domain.QuestionnaireStore. The questionnaire's current revision is
// answered from the questionnaire itself when its record is missing (see recordRevision).
func (s *Questionnaires) GetRevision(ctx context.Context, id string, revision int64) (domain.Revision, error) {
	var d revisionDoc
	err := s.db.Collection(revisionsCollection).FindOne(ctx, bson.D{{Key: "_id", Value: revisionID(id, revision)}}).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		notFound := apperr.New(apperr.NotFound, "revision %d of questionnaire %q not found", revision, questionnaireName(id))
		current, cerr := s.read(ctx, id)
		if apperr.Is(cerr, apperr.NotFound) || (cerr == nil && (current.Revision != revision || current.LastChange == nil)) {
			return domain.Revision{}, notFound
		}
		if cerr != nil {
			return domain.Revision{}, cerr
		}
		d, err = toRevisionDoc(current), nil
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
