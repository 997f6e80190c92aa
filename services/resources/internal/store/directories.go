package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/beaconcms/beacon/platform/apperr"
	"github.com/beaconcms/beacon/platform/mongodb"
	"github.com/beaconcms/beacon/services/resources/internal/domain"
)

// Directory collections:
//
//   - directories: one directoryDoc per directory, _id = directory id.
//   - directory_revisions: one directoryRevisionDoc per successful write, _id "directoryId/revision",
//     written after the directory's guarded replace (as for resources).
//   - directory_slugs: one slugClaimDoc per site and slug, _id "site/slug", naming the live
//     directory that holds it; released claims name "". A claim whose holder is deleted or no
//     longer has that site and slug (a crash between claiming and writing) is taken over.
const (
	directoriesCollection        = "directories"
	directoryRevisionsCollection = "directory_revisions"
	slugClaimsCollection         = "directory_slugs"
)

// changeKindDirectory marks a directory's change-log entry.
const changeKindDirectory = "directory"

func slugKey(d *domain.Directory) string { return d.Site + "/" + d.Slug }

// OnDirectoryWrite sets fn to be called after every successful directory write with the
// directory as written (the in-process read model). Call it before the Store is used.
func (s *Store) OnDirectoryWrite(fn func(*domain.Directory)) { s.onDirectory = fn }

// CreateDirectory implements domain.DirectoryStore.
func (s *Store) CreateDirectory(ctx context.Context, d *domain.Directory, c domain.Change) error {
	unlock, err := s.lockAll(ctx, []docKey{{directoriesCollection, d.ID}, {slugClaimsCollection, slugKey(d)}})
	if err != nil {
		return err
	}
	defer unlock()
	if err := s.claimSlug(ctx, d); err != nil {
		return err
	}
	doc := toDirectoryDoc(d, c)
	if _, err := s.db.Collection(directoriesCollection).InsertOne(ctx, doc); err != nil {
		if mongodb.IsDuplicateKey(err) {
			return apperr.New(apperr.AlreadyExists, "directory %q already exists", d.Name())
		}
		return fmt.Errorf("inserting directory %s: %w", d.ID, err)
	}
	s.recordDirectoryRevision(ctx, doc)
	return s.logDirectoryChange(ctx, d)
}

func (s *Store) readDirectory(ctx context.Context, id string) (directoryDoc, error) {
	var doc directoryDoc
	err := s.db.Collection(directoriesCollection).FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&doc)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return doc, apperr.New(apperr.NotFound, "directory %q not found", "directories/"+id)
	}
	if err != nil {
		return doc, fmt.Errorf("reading directory %s: %w", id, err)
	}
	return doc, nil
}

// GetDirectory implements domain.DirectoryStore.
func (s *Store) GetDirectory(ctx context.Context, id string) (*domain.Directory, error) {
	doc, err := s.readDirectory(ctx, id)
	if err != nil {
		return nil, err
	}
	return fromDirectoryDoc(doc)
}

// directoryChanged is the Conflict of a write made from revision prev when the stored directory
// is at revision stored (-1: another replica wrote it between the check and the replace).
func directoryChanged(prev *domain.Directory, stored int64) error {
	if stored < 0 {
		return apperr.New(apperr.Conflict, "directory %q changed meanwhile (another writer replaced revision %d): re-read and retry", prev.Name(), prev.RevisionID)
	}
	return apperr.New(apperr.Conflict, "directory %q changed meanwhile (revision %d, expected %d): re-read and retry", prev.Name(), stored, prev.RevisionID)
}

// UpdateDirectory implements domain.DirectoryStore.
func (s *Store) UpdateDirectory(ctx context.Context, prev, next *domain.Directory, c domain.Change) error {
	unlock, err := s.lockAll(ctx, []docKey{{directoriesCollection, next.ID}, {slugClaimsCollection, slugKey(prev)}, {slugClaimsCollection, slugKey(next)}})
	if err != nil {
		return err
	}
	defer unlock()
	current, err := s.readDirectory(ctx, prev.ID)
	if err != nil {
		return err
	}
	if current.Revision != prev.RevisionID {
		return directoryChanged(prev, current.Revision)
	}
	if err := s.recordMissedDirectoryRevision(ctx, current); err != nil {
		return err
	}
	claimed := !next.Deleted() && (prev.Deleted() || slugKey(prev) != slugKey(next))
	if !next.Deleted() {
		if err := s.claimSlug(ctx, next); err != nil {
			return err
		}
	}
	s.slipIn()
	doc := toDirectoryDoc(next, c)
	replaced, err := s.replacer.Replace(ctx, s.db.Collection(directoriesCollection), next.ID,
		bson.D{{Key: "revision", Value: prev.RevisionID}}, doc)
	if err == nil && !replaced { // MongoDB: another replica wrote it after the check above
		err = directoryChanged(prev, -1)
	}
	if err != nil {
		if claimed { // give back the slug this write claimed; a claim left is taken over later anyway
			if rerr := s.releaseSlug(ctx, next); rerr != nil {
				s.logger.WarnContext(ctx, "releasing a slug after a failed write", slog.String("directory", next.Name()), slog.Any("err", rerr))
			}
		}
		if apperr.Is(err, apperr.Conflict) {
			return err
		}
		return fmt.Errorf("replacing directory %s: %w", next.ID, err)
	}
	s.recordDirectoryRevision(ctx, doc)
	// After the write: a crash before this leaves a claim that is taken over later.
	if !prev.Deleted() && (next.Deleted() || slugKey(prev) != slugKey(next)) {
		if err := s.releaseSlug(ctx, prev); err != nil {
			return err
		}
	}
	return s.logDirectoryChange(ctx, next)
}

// claimSlug takes d's site and slug for d. The caller holds the claim's lock.
func (s *Store) claimSlug(ctx context.Context, d *domain.Directory) error {
	coll := s.db.Collection(slugClaimsCollection)
	doc := slugClaimDoc{ID: slugKey(d), SchemaVersion: slugClaimSchemaVersion, Directory: d.ID}
	_, err := coll.InsertOne(ctx, doc)
	if err == nil {
		return nil
	}
	if !mongodb.IsDuplicateKey(err) {
		return fmt.Errorf("claiming slug %s: %w", doc.ID, err)
	}
	stored, held, err := s.slugHolder(ctx, doc.ID)
	if err != nil {
		return err
	}
	if held && stored != d.ID {
		return &apperr.Error{Code: apperr.AlreadyExists, Message: "slug taken", Fields: []apperr.FieldViolation{{
			Field: "directory.slug", Description: fmt.Sprintf("site %q already has a directory %q with slug %q", "sites/"+d.Site, "directories/"+stored, d.Slug)}}}
	}
	if held || stored == d.ID {
		return nil
	}
	replaced, err := s.replacer.Replace(ctx, coll, doc.ID, bson.D{{Key: "directory", Value: stored}}, doc)
	if err != nil {
		return fmt.Errorf("taking over slug %s: %w", doc.ID, err)
	}
	if !replaced { // MongoDB: another replica took it after the check
		return apperr.New(apperr.Conflict, "slug %q of site %q was claimed meanwhile by another writer: retry", d.Slug, "sites/"+d.Site)
	}
	return nil
}

// slugHolder returns the directory the claim key names (stored: "" for a released or missing
// claim) and whether it holds the claim: held is false when the claim is released or left by a
// crash (its directory is missing, deleted, or has another site or slug).
func (s *Store) slugHolder(ctx context.Context, key string) (stored string, held bool, err error) {
	var c slugClaimDoc
	err = s.db.Collection(slugClaimsCollection).FindOne(ctx, bson.D{{Key: "_id", Value: key}}).Decode(&c)
	if errors.Is(err, mongo.ErrNoDocuments) || (err == nil && c.Directory == "") {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("reading slug claim %s: %w", key, err)
	}
	d, err := s.GetDirectory(ctx, c.Directory)
	if apperr.Is(err, apperr.NotFound) {
		return c.Directory, false, nil
	}
	if err != nil {
		return "", false, err
	}
	return c.Directory, !d.Deleted() && slugKey(d) == key, nil
}

// releaseSlug gives d's site and slug back unless a live directory holds them (the caller's
// directory no longer does, or never got to). The replace is guarded on the claim still naming
// what it named when read.
func (s *Store) releaseSlug(ctx context.Context, d *domain.Directory) error {
	stored, held, err := s.slugHolder(ctx, slugKey(d))
	if err != nil || held || stored == "" {
		return err
	}
	doc := slugClaimDoc{ID: slugKey(d), SchemaVersion: slugClaimSchemaVersion}
	if _, err := s.replacer.Replace(ctx, s.db.Collection(slugClaimsCollection), doc.ID, bson.D{{Key: "directory", Value: stored}}, doc); err != nil {
		return fmt.Errorf("releasing slug %s: %w", doc.ID, err)
	}
	return nil
}

// recordDirectoryRevision records the revision doc was just written at; a failure is only logged
// (see recordRevision).
func (s *Store) recordDirectoryRevision(ctx context.Context, doc directoryDoc) {
	if err := s.putDirectoryRevision(ctx, doc); err != nil {
		s.logger.WarnContext(ctx, "recording a directory revision failed; the next write records it",
			slog.String("directory", "directories/"+doc.ID), slog.Int64("revision", doc.Revision), slog.Any("err", err))
	}
}

// recordMissedDirectoryRevision records the revision stored is at when it was left unrecorded.
// The caller holds the directory's lock.
func (s *Store) recordMissedDirectoryRevision(ctx context.Context, stored directoryDoc) error {
	if stored.LastChange == nil {
		return nil
	}
	id := revisionKey(stored.ID, stored.Revision)
	err := s.db.Collection(directoryRevisionsCollection).FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Err()
	if errors.Is(err, mongo.ErrNoDocuments) {
		return s.putDirectoryRevision(ctx, stored)
	}
	if err != nil {
		return fmt.Errorf("reading directory revision %s: %w", id, err)
	}
	return nil
}

func (s *Store) putDirectoryRevision(ctx context.Context, d directoryDoc) error {
	doc := toDirectoryRevisionDoc(d)
	err := s.insertOrReplace(ctx, directoryRevisionsCollection, doc.ID, doc)
	if err != nil {
		return fmt.Errorf("recording directory revision %s: %w", doc.ID, err)
	}
	return nil
}

// GetDirectoryRevision implements domain.DirectoryStore.
func (s *Store) GetDirectoryRevision(ctx context.Context, id string, revision int64) (domain.DirectoryRevision, error) {
	var doc directoryRevisionDoc
	err := s.db.Collection(directoryRevisionsCollection).FindOne(ctx, bson.D{{Key: "_id", Value: revisionKey(id, revision)}}).Decode(&doc)
	if errors.Is(err, mongo.ErrNoDocuments) { // the current revision may be unrecorded yet
		notFound := apperr.New(apperr.NotFound, "revision %d of %q not found", revision, "directories/"+id)
		current, cerr := s.readDirectory(ctx, id)
		if apperr.Is(cerr, apperr.NotFound) || (cerr == nil && (current.Revision != revision || current.LastChange == nil)) {
			return domain.DirectoryRevision{}, notFound
		}
		if cerr != nil {
			return domain.DirectoryRevision{}, cerr
		}
		doc, err = toDirectoryRevisionDoc(current), nil
	}
	if err != nil {
		return domain.DirectoryRevision{}, fmt.Errorf("reading directory revision %s/%d: %w", id, revision, err)
	}
	if doc.SchemaVersion != directoryRevisionSchemaVersion {
		return domain.DirectoryRevision{}, fmt.Errorf("directory revision %s has schema version %d; this release reads %d", doc.ID, doc.SchemaVersion, directoryRevisionSchemaVersion)
	}
	d, err := fromDirectoryDoc(doc.Directory)
	if err != nil {
		return domain.DirectoryRevision{}, err
	}
	return domain.DirectoryRevision{DirectoryID: id, RevisionID: revision, Directory: *d,
		Change: domain.Change{Actor: doc.Actor, Action: doc.Action, Fields: doc.Fields, Time: doc.Time}}, nil
}

func (s *Store) logDirectoryChange(ctx context.Context, d *domain.Directory) error {
	if err := s.insertChange(ctx, d.ID, changeKindDirectory, d.RevisionID); err != nil {
		return fmt.Errorf("logging the change of directory %s: %w", d.ID, err)
	}
	if s.onDirectory != nil {
		s.onDirectory(d)
	}
	return nil
}

// LoadAllDirectories reads every directory, deleted ones included: the startup load of the
// in-memory index. It scans the collection, so it runs only at startup (ctx marked with
// mongodb.WithScan).
func (s *Store) LoadAllDirectories(ctx context.Context) ([]*domain.Directory, error) {
	ctx = mongodb.WithScan(ctx, "startup: load the directories index")
	cur, err := s.db.Collection(directoriesCollection).Find(ctx, bson.D{})
	if err != nil {
		return nil, fmt.Errorf("loading directories: %w", err)
	}
	defer cur.Close(ctx)
	var out []*domain.Directory
	for cur.Next(ctx) {
		var doc directoryDoc
		if err := cur.Decode(&doc); err != nil {
			return nil, fmt.Errorf("loading directories: %w", err)
		}
		d, err := fromDirectoryDoc(doc)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, cur.Err()
}
