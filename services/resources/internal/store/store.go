// Package store persists resources in MongoDB (or the embedded FerretDB v1), implementing
// domain.ResourceStore. It keeps the store rule (platform/mongodb): every call on a request path
// is a point read by _id, an insert or a whole-document replace by _id. Lists come from the
// in-memory index (package index), which loads everything once at startup (LoadAll, a marked
// scan) and then follows the change log.
//
// # Collections
//
//   - resources: one resourceDoc per resource, _id = resource id.
//   - resource_revisions: one revisionDoc per successful write, _id "resourceId/revision". It is
//     written before the resource, so a crash in between leaves a record for a revision that never
//     happened, which the next write of that revision number replaces; ListRevisions reads only
//     revisions up to the resource's own.
//   - resource_external_ids: one claimDoc per external id, _id "source/id", naming the resource
//     that holds it; released claims name "". A claim whose holder no longer lists the id (a crash
//     between claiming and writing the resource) is taken over.
//   - resource_changes: the change log (small: pruned after ChangeRetention), one entry per write
//     of a resource or (kind "directory") of a directory.
//   - directories, directory_revisions, directory_slugs: see directories.go.
//
// # Conditional writes
//
// A write holds, within the process, the locks of the documents it checks and writes (the
// Locker, one per process), reads them by _id, checks in process that they are still the
// versions the change was made from, and replaces them whole by _id through mongodb.Replacer:
// on FerretDB v1 the filter is exactly {_id} (the in-process check is the guard, and one process
// writes a resources database; see docs/architecture.md), on MongoDB the check rides along as a
// guard (revision for resources and directories, the holder for claims), so a replica that lost a
// race is refused with Conflict instead of overwriting the winner.
//
// The revision record is written after the guarded replace, so only the write that won records
// its revision. The resource document carries its own last change (lastChange), so a crash
// between the two loses nothing: GetRevision answers the current revision from the document, and
// the next write records it first (recordMissedRevision).
package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/beaconcms/beacon/platform/apperr"
	"github.com/beaconcms/beacon/platform/changelog"
	"github.com/beaconcms/beacon/platform/mongodb"
	"github.com/beaconcms/beacon/services/resources/internal/domain"
)

// Collection names.
const (
	resourcesCollection = "resources"
	revisionsCollection = "resource_revisions"
	claimsCollection    = "resource_external_ids"
	changesCollection   = "resource_changes"
)

// ChangeRetention is how long change-log entries are kept; read models in other processes must
// poll more often than this.
const ChangeRetention = 5 * time.Minute

// Locker serializes conditional writes to one document within the process (mongodb.DocLocks).
type Locker interface {
	// Lock acquires the lock of document id of collection in database db, waiting until it is
	// free or ctx ends, and returns its release.
	Lock(ctx context.Context, db, collection, id string) (unlock func(), err error)
}

// Store implements domain.ResourceStore on one database.
type Store struct {
	db          *mongo.Database
	locks       Locker
	replacer    *mongodb.Replacer // guarded whole-document replaces
	logger      *slog.Logger
	onWrite     func(*domain.Resource)  // in-process read models learn of a write at once
	onDirectory func(*domain.Directory) // the same for directories (OnDirectoryWrite)
	head        *changelog.Head         // the change log's head; remembers this Store's own moves
	// beforeReplace, when set (tests), runs after a write's in-process check and before its
	// guarded replace: where another replica's write can slip in.
	beforeReplace func()
}

// New returns a Store. onWrite, when not nil, is called after every successful write with the
// resource as written, so read models in this process are fresh at once. A nil logger discards.
func New(db *mongo.Database, locks Locker, onWrite func(*domain.Resource), logger *slog.Logger) *Store {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Store{db: db, locks: locks, replacer: mongodb.NewReplacer(db), logger: logger, onWrite: onWrite,
		head: changelog.NewHead(db.Collection(changesCollection))}
}

func (s *Store) slipIn() {
	if s.beforeReplace != nil {
		s.beforeReplace()
	}
}

// docKey names one document to lock.
type docKey struct{ collection, id string }

func (s *Store) lockAll(ctx context.Context, keys []docKey) (func(), error) {
	keys = slices.Clone(keys)
	slices.SortFunc(keys, func(a, b docKey) int { // one order for every writer: no deadlock
		if c := strings.Compare(a.collection, b.collection); c != 0 {
			return c
		}
		return strings.Compare(a.id, b.id)
	})
	keys = slices.Compact(keys)
	var unlocks []func()
	release := func() {
		for i := len(unlocks) - 1; i >= 0; i-- {
			unlocks[i]()
		}
	}
	for _, k := range keys {
		u, err := s.locks.Lock(ctx, s.db.Name(), k.collection, k.id)
		if err != nil {
			release()
			return nil, err
		}
		unlocks = append(unlocks, u)
	}
	return release, nil
}

func claimKey(e domain.ExternalID) string { return e.Source + "/" + e.ID }

func lockKeys(r *domain.Resource, more ...domain.ExternalID) []docKey {
	keys := []docKey{{resourcesCollection, r.ID}}
	for _, e := range append(slices.Clone(r.ExternalIDs), more...) {
		keys = append(keys, docKey{claimsCollection, claimKey(e)})
	}
	return keys
}

// CreateResource implements domain.ResourceStore.
func (s *Store) CreateResource(ctx context.Context, r *domain.Resource, c domain.Change) error {
	unlock, err := s.lockAll(ctx, lockKeys(r))
	if err != nil {
		return err
	}
	defer unlock()
	if err := s.claim(ctx, r.ID, r.ExternalIDs); err != nil {
		return err
	}
	doc := toResourceDoc(r, c)
	if _, err := s.db.Collection(resourcesCollection).InsertOne(ctx, doc); err != nil {
		if mongodb.IsDuplicateKey(err) {
			return apperr.New(apperr.AlreadyExists, "resource %q already exists", r.Name())
		}
		return fmt.Errorf("inserting resource %s: %w", r.ID, err)
	}
	s.recordRevision(ctx, doc)
	return s.logChange(ctx, r, c)
}

// readResource reads the stored document of resource id.
func (s *Store) readResource(ctx context.Context, id string) (resourceDoc, error) {
	var d resourceDoc
	err := s.db.Collection(resourcesCollection).FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return d, apperr.New(apperr.NotFound, "resource %q not found", "resources/"+id)
	}
	if err != nil {
		return d, fmt.Errorf("reading resource %s: %w", id, err)
	}
	return d, nil
}

// GetResource implements domain.ResourceStore.
func (s *Store) GetResource(ctx context.Context, id string) (*domain.Resource, error) {
	d, err := s.readResource(ctx, id)
	if err != nil {
		return nil, err
	}
	return fromResourceDoc(d)
}

// UpdateResource implements domain.ResourceStore.
func (s *Store) UpdateResource(ctx context.Context, prev, next *domain.Resource, c domain.Change) error {
	unlock, err := s.lockAll(ctx, lockKeys(next, prev.ExternalIDs...))
	if err != nil {
		return err
	}
	defer unlock()
	current, err := s.readResource(ctx, prev.ID)
	if err != nil {
		return err
	}
	if current.Revision != prev.RevisionID {
		return resourceChanged(prev, current.Revision)
	}
	if err := s.recordMissedRevision(ctx, current); err != nil {
		return err
	}
	var added, removed []domain.ExternalID
	for _, e := range next.ExternalIDs {
		if !slices.Contains(prev.ExternalIDs, e) {
			added = append(added, e)
		}
	}
	for _, e := range prev.ExternalIDs {
		if !slices.Contains(next.ExternalIDs, e) {
			removed = append(removed, e)
		}
	}
	if err := s.claim(ctx, next.ID, added); err != nil {
		return err
	}
	s.slipIn()
	doc := toResourceDoc(next, c)
	replaced, err := s.replacer.Replace(ctx, s.db.Collection(resourcesCollection), next.ID,
		bson.D{{Key: "revision", Value: prev.RevisionID}}, doc)
	if err == nil && !replaced { // MongoDB: another replica wrote it after the check above
		err = resourceChanged(prev, -1)
	}
	if err != nil {
		for _, e := range added { // give back what this write claimed; a claim left is taken over later anyway
			if rerr := s.release(ctx, e); rerr != nil {
				s.logger.WarnContext(ctx, "releasing an external id after a failed write", slog.String("resource", next.Name()), slog.Any("err", rerr))
			}
		}
		if apperr.Is(err, apperr.Conflict) {
			return err
		}
		return fmt.Errorf("replacing resource %s: %w", next.ID, err)
	}
	s.recordRevision(ctx, doc)
	for _, e := range removed { // after the write: a crash before this leaves a claim taken over later
		if err := s.release(ctx, e); err != nil {
			return err
		}
	}
	return s.logChange(ctx, next, c)
}

// resourceChanged is the Conflict of a write made from revision prev when the stored resource is
// at revision stored (-1: unknown, another replica wrote it between the check and the replace).
func resourceChanged(prev *domain.Resource, stored int64) error {
	if stored < 0 {
		return apperr.New(apperr.Conflict, "resource %q changed meanwhile (another writer replaced revision %d): re-read and retry", prev.Name(), prev.RevisionID)
	}
	return apperr.New(apperr.Conflict, "resource %q changed meanwhile (revision %d, expected %d): re-read and retry", prev.Name(), stored, prev.RevisionID)
}

// claim takes the external ids for resource id. The caller holds their locks.
func (s *Store) claim(ctx context.Context, id string, ids []domain.ExternalID) error {
	coll := s.db.Collection(claimsCollection)
	for i, e := range ids {
		doc := claimDoc{ID: claimKey(e), SchemaVersion: claimSchemaVersion, Resource: id}
		_, err := coll.InsertOne(ctx, doc)
		if err == nil {
			continue
		}
		if !mongodb.IsDuplicateKey(err) {
			return fmt.Errorf("claiming external id %s: %w", e, err)
		}
		stored, held, err := s.holder(ctx, e)
		if err != nil {
			return err
		}
		if held && stored != id {
			return &apperr.Error{Code: apperr.AlreadyExists, Message: "external id taken", Fields: []apperr.FieldViolation{{
				Field: "resource.external_ids[" + strconv.Itoa(i) + "]", Description: fmt.Sprintf("%s belongs to %q", e, "resources/"+stored)}}}
		}
		if held {
			continue
		}
		replaced, err := s.replacer.Replace(ctx, coll, doc.ID, bson.D{{Key: "resource", Value: stored}}, doc)
		if err != nil {
			return fmt.Errorf("taking over external id %s: %w", e, err)
		}
		if !replaced { // MongoDB: another replica took it after the check
			return apperr.New(apperr.Conflict, "external id %s was claimed meanwhile by another writer: retry", e)
		}
	}
	return nil
}

// holder returns the resource the claim of e names (stored: "" for a released or missing claim)
// and whether it holds e: held is false when the claim is released, or left by a crash (its
// resource is missing or no longer lists e).
func (s *Store) holder(ctx context.Context, e domain.ExternalID) (stored string, held bool, err error) {
	var d claimDoc
	err = s.db.Collection(claimsCollection).FindOne(ctx, bson.D{{Key: "_id", Value: claimKey(e)}}).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) || (err == nil && d.Resource == "") {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("reading external id %s: %w", e, err)
	}
	r, err := s.GetResource(ctx, d.Resource)
	if apperr.Is(err, apperr.NotFound) {
		return d.Resource, false, nil
	}
	if err != nil {
		return "", false, err
	}
	return d.Resource, slices.Contains(r.ExternalIDs, e), nil
}

// release gives e back unless a resource holds it: the caller's resource no longer lists e
// (or never got to). The replace is guarded on the claim still naming what it named when read.
func (s *Store) release(ctx context.Context, e domain.ExternalID) error {
	stored, held, err := s.holder(ctx, e)
	if err != nil || held || stored == "" {
		return err
	}
	doc := claimDoc{ID: claimKey(e), SchemaVersion: claimSchemaVersion}
	if _, err := s.replacer.Replace(ctx, s.db.Collection(claimsCollection), doc.ID, bson.D{{Key: "resource", Value: stored}}, doc); err != nil {
		return fmt.Errorf("releasing external id %s: %w", e, err)
	}
	return nil
}

// ResourceIDByExternalID implements domain.ResourceStore.
func (s *Store) ResourceIDByExternalID(ctx context.Context, e domain.ExternalID) (string, bool, error) {
	id, held, err := s.holder(ctx, e)
	if !held {
		id = ""
	}
	return id, held, err
}

func revisionKey(id string, rev int64) string { return id + "/" + strconv.FormatInt(rev, 10) }

// insertOrReplace writes doc as document id of coll: an insert, or, when a document with that id
// exists, a replace by _id. Only the write that won a revision records it, so an existing record
// is either the same (written by recordMissedRevision meanwhile) or left by an older release,
// which recorded revisions before writing the resource and could crash in between. Never an
// upsert: on FerretDB an upsert whose filter matches nothing decodes the whole collection.
func (s *Store) insertOrReplace(ctx context.Context, coll, id string, doc any) error {
	_, err := s.db.Collection(coll).InsertOne(ctx, doc)
	if mongodb.IsDuplicateKey(err) {
		_, err = s.db.Collection(coll).ReplaceOne(ctx, bson.D{{Key: "_id", Value: id}}, doc)
	}
	return err
}

// recordRevision records the revision doc was just written at. A failure is only logged: the
// document carries its last change, so GetRevision answers from it and the next write records it.
func (s *Store) recordRevision(ctx context.Context, doc resourceDoc) {
	if err := s.putRevision(ctx, doc); err != nil {
		s.logger.WarnContext(ctx, "recording a resource revision failed; the next write records it",
			slog.String("resource", "resources/"+doc.ID), slog.Int64("revision", doc.Revision), slog.Any("err", err))
	}
}

// recordMissedRevision records the revision stored is at when a crash (or a failure logged by
// recordRevision) left it unrecorded. The caller holds the resource's lock.
func (s *Store) recordMissedRevision(ctx context.Context, stored resourceDoc) error {
	if stored.LastChange == nil { // written before lastChange: its revision was recorded first
		return nil
	}
	err := s.db.Collection(revisionsCollection).FindOne(ctx, bson.D{{Key: "_id", Value: revisionKey(stored.ID, stored.Revision)}}).Err()
	if errors.Is(err, mongo.ErrNoDocuments) {
		return s.putRevision(ctx, stored)
	}
	if err != nil {
		return fmt.Errorf("reading revision %s: %w", revisionKey(stored.ID, stored.Revision), err)
	}
	return nil
}

func (s *Store) putRevision(ctx context.Context, r resourceDoc) error {
	doc := toRevisionDoc(r)
	err := s.insertOrReplace(ctx, revisionsCollection, doc.ID, doc)
	if err != nil {
		return fmt.Errorf("recording revision %s: %w", doc.ID, err)
	}
	return nil
}

// GetRevision implements domain.ResourceStore. The resource's current revision is answered from
// the resource itself when its record is missing (see recordRevision).
func (s *Store) GetRevision(ctx context.Context, id string, revision int64) (domain.Revision, error) {
	var d revisionDoc
	err := s.db.Collection(revisionsCollection).FindOne(ctx, bson.D{{Key: "_id", Value: revisionKey(id, revision)}}).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		notFound := apperr.New(apperr.NotFound, "revision %d of %q not found", revision, "resources/"+id)
		current, cerr := s.readResource(ctx, id)
		if apperr.Is(cerr, apperr.NotFound) || (cerr == nil && (current.Revision != revision || current.LastChange == nil)) {
			return domain.Revision{}, notFound
		}
		if cerr != nil {
			return domain.Revision{}, cerr
		}
		d, err = toRevisionDoc(current), nil
	}
	if err != nil {
		return domain.Revision{}, fmt.Errorf("reading revision %s/%d: %w", id, revision, err)
	}
	if d.SchemaVersion != revisionSchemaVersion {
		return domain.Revision{}, fmt.Errorf("revision %s has schema version %d; this release reads %d", d.ID, d.SchemaVersion, revisionSchemaVersion)
	}
	r, err := fromResourceDoc(d.Resource)
	if err != nil {
		return domain.Revision{}, err
	}
	return domain.Revision{ResourceID: id, RevisionID: revision, Resource: *r,
		Change: domain.Change{Actor: d.Actor, Action: d.Action, Fields: d.Fields, Time: d.Time}}, nil
}

// logChange records r's write in the change log (unless the change is Batched: LogBatch does it)
// and tells this process's read model.
func (s *Store) logChange(ctx context.Context, r *domain.Resource, c domain.Change) error {
	if !c.Batched {
		if err := s.insertChange(ctx, r.ID, "", r.RevisionID); err != nil {
			return fmt.Errorf("logging the change of %s: %w", r.ID, err)
		}
	}
	if s.onWrite != nil {
		s.onWrite(r)
	}
	return nil
}

// LogBatch implements domain.ResourceStore: one change-log entry naming every written resource
// at its revision.
func (s *Store) LogBatch(ctx context.Context, written []*domain.Resource) error {
	if len(written) == 0 {
		return nil
	}
	doc := changeDoc{ID: bson.NewObjectID().Hex(), SchemaVersion: changeSchemaVersion, Time: time.Now().UTC()}
	for _, r := range written {
		doc.Resources = append(doc.Resources, r.ID)
		doc.Revisions = append(doc.Revisions, r.RevisionID)
	}
	if _, err := s.db.Collection(changesCollection).InsertOne(ctx, doc); err != nil {
		return fmt.Errorf("logging a batch of %d changes: %w", len(written), err)
	}
	return s.head.Move(ctx, s.onWrite != nil) // the batch's resources went to onWrite one by one
}

func (s *Store) insertChange(ctx context.Context, id, kind string, revision int64) error {
	doc := changeDoc{ID: bson.NewObjectID().Hex(), SchemaVersion: changeSchemaVersion, Resource: id, Kind: kind, Revision: revision, Time: time.Now().UTC()}
	if _, err := s.db.Collection(changesCollection).InsertOne(ctx, doc); err != nil {
		return err
	}
	// Own when this process's read model is handed the write right after (onWrite, onDirectory).
	own := (kind == changeKindDirectory && s.onDirectory != nil) || (kind != changeKindDirectory && s.onWrite != nil)
	return s.head.Move(ctx, own)
}

// ChangesHead returns the change log's head, which moves after every entry added.
func (s *Store) ChangesHead(ctx context.Context) (int64, error) { return s.head.Read(ctx) }

// OwnChanges reports whether every head value after from, up to to, came from this Store's own
// writes, which this process's index was handed in process.
func (s *Store) OwnChanges(from, to int64) bool { return s.head.Own(from, to) }

// Change is one change-log entry: of a resource, or of a directory when Directory is set.
type Change struct {
	ResourceID string // the resource's id, or the directory's when Directory
	Directory  bool
	Revision   int64
	Time       time.Time
}

// ListChanges returns the changes of up to limit change-log entries at or after since, oldest
// first; a batch entry (LogBatch) gives one change per resource, so more than limit may come back.
// The change log is a small collection (pruned, and imports log a batch of rows per entry), so
// this range read keeps the store rule.
func (s *Store) ListChanges(ctx context.Context, since time.Time, limit int) ([]Change, error) {
	cur, err := s.db.Collection(changesCollection).Find(ctx, bson.D{{Key: "time", Value: bson.D{{Key: "$gte", Value: since.UTC()}}}},
		options.Find().SetSort(bson.D{{Key: "time", Value: 1}, {Key: "_id", Value: 1}}).SetLimit(int64(limit)))
	if err != nil {
		return nil, fmt.Errorf("reading the change log: %w", err)
	}
	var docs []changeDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, fmt.Errorf("reading the change log: %w", err)
	}
	out := make([]Change, 0, len(docs))
	for _, d := range docs {
		if len(d.Resources) > 0 { // a batch (LogBatch)
			for i, id := range d.Resources {
				rev := int64(0)
				if i < len(d.Revisions) {
					rev = d.Revisions[i]
				}
				out = append(out, Change{ResourceID: id, Revision: rev, Time: d.Time})
			}
			continue
		}
		out = append(out, Change{ResourceID: d.Resource, Directory: d.Kind == changeKindDirectory, Revision: d.Revision, Time: d.Time})
	}
	return out, nil
}

// PruneChanges deletes the change-log entries older than before (see ChangeRetention).
func (s *Store) PruneChanges(ctx context.Context, before time.Time) error {
	_, err := s.db.Collection(changesCollection).DeleteMany(ctx, bson.D{{Key: "time", Value: bson.D{{Key: "$lt", Value: before.UTC()}}}})
	if err != nil {
		return fmt.Errorf("pruning the change log: %w", err)
	}
	return nil
}

// LoadAll reads every resource, deleted ones included: the startup load of the in-memory index. It
// scans the collection, so it runs only at startup (ctx marked with mongodb.WithScan).
func (s *Store) LoadAll(ctx context.Context) ([]*domain.Resource, error) {
	ctx = mongodb.WithScan(ctx, "startup: load the resources index")
	cur, err := s.db.Collection(resourcesCollection).Find(ctx, bson.D{})
	if err != nil {
		return nil, fmt.Errorf("loading resources: %w", err)
	}
	defer cur.Close(ctx)
	var out []*domain.Resource
	for cur.Next(ctx) {
		var d resourceDoc
		if err := cur.Decode(&d); err != nil {
			return nil, fmt.Errorf("loading resources: %w", err)
		}
		r, err := fromResourceDoc(d)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, cur.Err()
}

// Migrations returns the resources database's schema steps, for mongodb.Migrate.
func Migrations() []mongodb.Migration {
	return []mongodb.Migration{{
		Version:     1,
		Description: "resources: create the resources, resource_revisions, resource_external_ids and resource_changes collections",
		Up: func(ctx context.Context, db *mongo.Database) error {
			for _, name := range []string{resourcesCollection, revisionsCollection, claimsCollection, changesCollection} {
				err := db.CreateCollection(ctx, name)
				var se mongo.ServerError
				if err != nil && !(errors.As(err, &se) && se.HasErrorCode(48)) { // 48: NamespaceExists
					return fmt.Errorf("creating %s: %w", name, err)
				}
			}
			return mongodb.EnsureIndexes(ctx, db.Collection(changesCollection), []mongo.IndexModel{{
				Keys: bson.D{{Key: "time", Value: 1}}, Options: options.Index().SetName("time"),
			}})
		},
	}, {
		Version:     2,
		Description: "resources: create the directories, directory_revisions and directory_slugs collections",
		Up: func(ctx context.Context, db *mongo.Database) error {
			for _, name := range []string{directoriesCollection, directoryRevisionsCollection, slugClaimsCollection} {
				err := db.CreateCollection(ctx, name)
				var se mongo.ServerError
				if err != nil && !(errors.As(err, &se) && se.HasErrorCode(48)) { // 48: NamespaceExists
					return fmt.Errorf("creating %s: %w", name, err)
				}
			}
			return nil
		},
	}}
}
