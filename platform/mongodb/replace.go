package mongodb

import (
	"context"
	"fmt"
	"sync"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// Guarded replaces.
//
// A store changes a document by reading it by _id, checking in process (under the document's
// DocLocks lock) that it is still the version the change was made from, and writing the whole
// document back by _id. The check is the guard. Where the guard goes on the wire depends on the
// server:
//
//   - MongoDB: the replace filter is {_id: X, guard...}. The server applies it atomically, which
//     keeps writes from several replicas of a service correct; a replace that matches nothing
//     means another replica wrote first.
//   - FerretDB v1 (the embedded store): the filter is exactly {_id: X}. FerretDB pushes only a
//     filter of that one field down to SQLite; with any guard beside it, the replace decodes every
//     document of the collection (measured: 1.6 s at 1,000 articles of 30 KB). Its conditional
//     writes are not atomic anyway (see DocLocks), so there the in-process check under the lock is
//     the guard, and one process writes each database (docs/architecture.md, "Several processes
//     on one store").

// Replacer sends whole-document replaces with their guard placed for the server behind one
// database. It learns the server's kind from buildInfo on first use. Safe for concurrent use.
type Replacer struct {
	db *mongo.Database

	mu       sync.Mutex
	known    bool
	ferretDB bool // guarded by mu
}

// NewReplacer returns a Replacer for db. It sends nothing until its first use.
func NewReplacer(db *mongo.Database) *Replacer { return &Replacer{db: db} }

// Replace replaces document id of coll by doc, provided the stored document matches guard (a
// filter on fields other than _id, already checked in process by the caller, who holds the
// document's lock). It reports whether a document was replaced: false when none has id, or, on
// MongoDB, when the stored document no longer matches guard.
func (r *Replacer) Replace(ctx context.Context, coll *mongo.Collection, id any, guard bson.D, doc any) (bool, error) {
	ferret, err := r.isFerretDB(ctx)
	if err != nil {
		return false, err
	}
	filter := bson.D{{Key: "_id", Value: id}}
	if !ferret {
		filter = append(filter, guard...)
	}
	res, err := coll.ReplaceOne(ctx, filter, doc)
	if err != nil {
		return false, err
	}
	return res.MatchedCount == 1, nil
}

// Upsert is Replace that inserts doc when no document has id. On MongoDB, when a document with
// id exists but does not match guard, the upsert fails as a duplicate key ([IsDuplicateKey]).
func (r *Replacer) Upsert(ctx context.Context, coll *mongo.Collection, id any, guard bson.D, doc any) error {
	ferret, err := r.isFerretDB(ctx)
	if err != nil {
		return err
	}
	filter := bson.D{{Key: "_id", Value: id}}
	if !ferret {
		filter = append(filter, guard...)
	}
	_, err = coll.ReplaceOne(ctx, filter, doc, options.Replace().SetUpsert(true))
	return err
}

func (r *Replacer) isFerretDB(ctx context.Context) (bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.known {
		return r.ferretDB, nil
	}
	ferret, err := IsFerretDB(ctx, r.db.Client())
	if err != nil {
		return false, err
	}
	r.known, r.ferretDB = true, ferret
	return ferret, nil
}

// IsFerretDB reports whether the server behind client is FerretDB (its buildInfo names a
// FerretDB version) rather than MongoDB.
func IsFerretDB(ctx context.Context, client *mongo.Client) (bool, error) {
	var info bson.Raw
	if err := client.Database("admin").RunCommand(ctx, bson.D{{Key: "buildInfo", Value: 1}}).Decode(&info); err != nil {
		return false, fmt.Errorf("asking the server for its build info: %w", err)
	}
	_, err := info.LookupErr("ferretdbVersion")
	return err == nil, nil
}
