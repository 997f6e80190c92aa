package store

import (
	"context"
	"errors"
	"fmt"

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
//     written before the directory (as for resources).
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
	if err := s.putDirectoryRevision(ctx, d, c); err != nil {
		return err
	}
	if _, err := s.db.Collection(directoriesCollection).InsertOne(ctx, toDirectoryDoc(d)); err != nil {
		if mongodb.IsDuplicateKey(err) {
			return apperr.New(apperr.AlreadyExists, "directory %q already exists", d.Name())
		}
		return fmt.Errorf("inserting directory %s: %w", d.ID, err)
	}
	return s.logDirectoryChange(ctx, d)
}

// GetDirectory implements domain.DirectoryStore.
func (s *Store) GetDirectory(ctx context.Context, id string) (*domain.Directory, error) {
	var doc directoryDoc
	err := s.db.Collection(directoriesCollection).FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&doc)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return nil, apperr.New(apperr.NotFound, "directory %q not found", "directories/"+id)
	}
	if err != nil {
		return nil, fmt.Errorf("reading directory %s: %w", id, err)
	}
	return fromDirectoryDoc(doc)
}

// UpdateDirectory implements domain.DirectoryStore.
func (s *Store) UpdateDirectory(ctx context.Context, prev, next *domain.Directory, c domain.Change) error {
	unlock, err := s.lockAll(ctx, []docKey{{directoriesCollection, next.ID}, {slugClaimsCollection, slugKey(prev)}, {slugClaimsCollection, slugKey(next)}})
	if err != nil {
		return err
	}
	defer unlock()
	current, err := s.GetDirectory(ctx, prev.ID)
	if err != nil {
		return err
	}
	if current.RevisionID != prev.RevisionID {
		return apperr.New(apperr.Conflict, "directory %q changed meanwhile (revision %d, expected %d): re-read and retry", prev.Name(), current.RevisionID, prev.RevisionID)
	}
	if !next.Deleted() {
		if err := s.claimSlug(ctx, next); err != nil {
			return err
		}
	}
	if err := s.putDirectoryRevision(ctx, next, c); err != nil {
		return err
	}
	if _, err := s.db.Collection(directoriesCollection).ReplaceOne(ctx, bson.D{{Key: "_id", Value: next.ID}}, toDirectoryDoc(next)); err != nil {
		return fmt.Errorf("replacing directory %s: %w", next.ID, err)
	}
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
	holder, held, err := s.slugHolder(ctx, doc.ID)
	if err != nil {
		return err
	}
	if held && holder != d.ID {
		return &apperr.Error{Code: apperr.AlreadyExists, Message: "slug taken", Fields: []apperr.FieldViolation{{
			Field: "directory.slug", Description: fmt.Sprintf("site %q already has a directory %q with slug %q", "sites/"+d.Site, "directories/"+holder, d.Slug)}}}
	}
	if held {
		return nil
	}
	if _, err := coll.ReplaceOne(ctx, bson.D{{Key: "_id", Value: doc.ID}}, doc); err != nil {
		return fmt.Errorf("taking over slug %s: %w", doc.ID, err)
	}
	return nil
}

// slugHolder returns the live directory holding the claim key: held is false when the claim is
// released or left by a crash (its directory is missing, deleted, or has another site or slug).
func (s *Store) slugHolder(ctx context.Context, key string) (string, bool, error) {
	var c slugClaimDoc
	err := s.db.Collection(slugClaimsCollection).FindOne(ctx, bson.D{{Key: "_id", Value: key}}).Decode(&c)
	if errors.Is(err, mongo.ErrNoDocuments) || (err == nil && c.Directory == "") {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("reading slug claim %s: %w", key, err)
	}
	d, err := s.GetDirectory(ctx, c.Directory)
	if apperr.Is(err, apperr.NotFound) {
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	return d.ID, !d.Deleted() && slugKey(d) == key, nil
}

func (s *Store) releaseSlug(ctx context.Context, d *domain.Directory) error {
	holder, held, err := s.slugHolder(ctx, slugKey(d))
	if err != nil || (held && holder != d.ID) {
		return err
	}
	doc := slugClaimDoc{ID: slugKey(d), SchemaVersion: slugClaimSchemaVersion}
	if _, err := s.db.Collection(slugClaimsCollection).ReplaceOne(ctx, bson.D{{Key: "_id", Value: doc.ID}}, doc); err != nil {
		return fmt.Errorf("releasing slug %s: %w", doc.ID, err)
	}
	return nil
}

func (s *Store) putDirectoryRevision(ctx context.Context, d *domain.Directory, c domain.Change) error {
	doc := directoryRevisionDoc{ID: revisionKey(d.ID, d.RevisionID), SchemaVersion: directoryRevisionSchemaVersion,
		Actor: c.Actor, Action: c.Action, Fields: c.Fields, Time: c.Time.UTC(), Directory: toDirectoryDoc(d)}
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
	if errors.Is(err, mongo.ErrNoDocuments) {
		return domain.DirectoryRevision{}, apperr.New(apperr.NotFound, "revision %d of %q not found", revision, "directories/"+id)
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
