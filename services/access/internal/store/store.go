// Package store keeps API keys in MongoDB (or the embedded FerretDB), collection
// "api_keys", one document per key, written only with single-document operations.
package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/beaconcms/beacon/platform/apperr"
	"github.com/beaconcms/beacon/platform/auth"
	"github.com/beaconcms/beacon/platform/mongodb"
	"github.com/beaconcms/beacon/services/access/internal/domain"
)

// Collection is the name of the collection holding the keys.
const Collection = "api_keys"

// schemaVersion is the version of keyDoc written by this code.
const schemaVersion = 1

// keyDoc is a key as stored. The role is stored by name so the data reads well and does not
// depend on enum numbers; revokeTime is absent while the key is active.
type keyDoc struct {
	ID            string     `bson:"_id"`
	SchemaVersion int        `bson:"schemaVersion"`
	DisplayName   string     `bson:"displayName"`
	Role          string     `bson:"role"`
	Site          string     `bson:"site"` // "" for all sites; always present, so it can be queried
	CreateTime    time.Time  `bson:"createTime"`
	RevokeTime    *time.Time `bson:"revokeTime,omitempty"`
	Prefix        string     `bson:"prefix"`
	SecretHash    []byte     `bson:"secretHash"`
}

func toDoc(k domain.Key) keyDoc {
	d := keyDoc{
		ID:            k.ID,
		SchemaVersion: schemaVersion,
		DisplayName:   k.DisplayName,
		Role:          k.Role.String(),
		Site:          k.Site,
		CreateTime:    k.CreateTime.UTC(),
		Prefix:        k.Prefix,
		SecretHash:    k.SecretHash,
	}
	if !k.RevokeTime.IsZero() {
		t := k.RevokeTime.UTC()
		d.RevokeTime = &t
	}
	return d
}

func fromDoc(d keyDoc) (domain.Key, error) {
	if d.SchemaVersion != schemaVersion {
		return domain.Key{}, fmt.Errorf("API key %s: unsupported schemaVersion %d", d.ID, d.SchemaVersion)
	}
	role, err := auth.ParseRole(d.Role)
	if err != nil {
		return domain.Key{}, fmt.Errorf("API key %s: %w", d.ID, err)
	}
	k := domain.Key{
		ID:          d.ID,
		DisplayName: d.DisplayName,
		Role:        role,
		Site:        d.Site,
		CreateTime:  d.CreateTime.UTC(),
		Prefix:      d.Prefix,
		SecretHash:  d.SecretHash,
	}
	if d.RevokeTime != nil {
		k.RevokeTime = d.RevokeTime.UTC()
	}
	return k, nil
}

// Store keeps keys in the "api_keys" collection. It implements domain.Store. Run
// [Migrations] before using it.
type Store struct {
	coll   *mongo.Collection
	locks  *mongodb.DocLocks
	dbName string
}

var _ domain.Store = (*Store)(nil)

// New returns a Store on db. locks is the process's one set of document locks (see
// mongodb.DocLocks).
func New(db *mongo.Database, locks *mongodb.DocLocks) *Store {
	return &Store{coll: db.Collection(Collection), locks: locks, dbName: db.Name()}
}

// Migrations returns the schema steps of the api_keys collection, versions 100 to 199 (the
// block reserved for API keys; versions are shared by every collection of the database).
//
//   - 100: indexes for listing newest first, overall and per site.
func Migrations() []mongodb.Migration {
	return []mongodb.Migration{{
		Version:     100,
		Description: "api_keys: list indexes",
		Up: func(ctx context.Context, db *mongo.Database) error {
			coll := db.Collection(Collection)
			// One index per call: FerretDB v1.24.2 drops the connection when a createIndexes
			// with several indexes that all exist already is repeated.
			for _, m := range listIndexes() {
				if err := mongodb.EnsureIndexes(ctx, coll, []mongo.IndexModel{m}); err != nil {
					return err
				}
			}
			return nil
		},
	}}
}

func listIndexes() []mongo.IndexModel {
	return []mongo.IndexModel{
		{
			Keys:    bson.D{{Key: "createTime", Value: -1}, {Key: "_id", Value: -1}},
			Options: options.Index().SetName("newest_first"),
		},
		{
			Keys:    bson.D{{Key: "site", Value: 1}, {Key: "createTime", Value: -1}, {Key: "_id", Value: -1}},
			Options: options.Index().SetName("site_newest_first"),
		},
	}
}

// Create inserts k. A key with the same id is apperr AlreadyExists.
func (s *Store) Create(ctx context.Context, k domain.Key) error {
	if _, err := s.coll.InsertOne(ctx, toDoc(k)); err != nil {
		if mongodb.IsDuplicateKey(err) {
			return apperr.New(apperr.AlreadyExists, "API key %s already exists", k.Name())
		}
		return storeErr("inserting API key "+k.Name(), err)
	}
	return nil
}

// Get returns the key with this id, or apperr NotFound.
func (s *Store) Get(ctx context.Context, id string) (domain.Key, error) {
	var d keyDoc
	if err := s.coll.FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&d); err != nil {
		if errors.Is(err, mongo.ErrNoDocuments) {
			return domain.Key{}, notFound(id)
		}
		return domain.Key{}, storeErr("reading API key apiKeys/"+id, err)
	}
	return fromDoc(d)
}

// List returns up to q.PageSize keys (at most domain.MaxPageSize), newest first: by CreateTime,
// then ID, descending, after q.After, limited to q.Site when set.
func (s *Store) List(ctx context.Context, q domain.ListQuery) (domain.Page, error) {
	size := min(max(q.PageSize, 1), domain.MaxPageSize)
	filter := bson.D{}
	if q.Site != "" {
		filter = append(filter, bson.E{Key: "site", Value: q.Site})
	}
	if !q.After.IsZero() {
		t := q.After.CreateTime.UTC()
		filter = append(filter, bson.E{Key: "$or", Value: bson.A{
			bson.D{{Key: "createTime", Value: bson.D{{Key: "$lt", Value: t}}}},
			bson.D{{Key: "createTime", Value: t}, {Key: "_id", Value: bson.D{{Key: "$lt", Value: q.After.ID}}}},
		}})
	}
	opts := options.Find().
		SetSort(bson.D{{Key: "createTime", Value: -1}, {Key: "_id", Value: -1}}).
		SetLimit(int64(size) + 1) // one more, to know whether there is a next page
	cur, err := s.coll.Find(ctx, filter, opts)
	if err != nil {
		return domain.Page{}, storeErr("listing API keys", err)
	}
	var docs []keyDoc
	if err := cur.All(ctx, &docs); err != nil {
		return domain.Page{}, storeErr("listing API keys", err)
	}
	var page domain.Page
	for i, d := range docs {
		if i == size {
			last := page.Keys[size-1]
			page.Next = domain.Cursor{CreateTime: last.CreateTime, ID: last.ID}
			break
		}
		k, err := fromDoc(d)
		if err != nil {
			return domain.Page{}, err
		}
		page.Keys = append(page.Keys, k)
	}
	return page, nil
}

// Revoke sets the key's revokeTime to now unless it is already set (an earlier revocation
// stands), in one findOneAndUpdate holding the key's document lock, and returns the key as
// stored afterwards. An unknown id is apperr NotFound.
func (s *Store) Revoke(ctx context.Context, id string, now time.Time) (domain.Key, error) {
	unlock, err := s.locks.Lock(ctx, s.dbName, Collection, id)
	if err != nil {
		return domain.Key{}, fmt.Errorf("revoking API key apiKeys/%s: %w", id, err)
	}
	defer unlock()
	// $min sets a missing field, and keeps an existing earlier time.
	update := bson.D{{Key: "$min", Value: bson.D{{Key: "revokeTime", Value: now.UTC()}}}}
	opts := options.FindOneAndUpdate().SetReturnDocument(options.After)
	var d keyDoc
	if err := s.coll.FindOneAndUpdate(ctx, bson.D{{Key: "_id", Value: id}}, update, opts).Decode(&d); err != nil {
		if errors.Is(err, mongo.ErrNoDocuments) {
			return domain.Key{}, notFound(id)
		}
		return domain.Key{}, storeErr("revoking API key apiKeys/"+id, err)
	}
	return fromDoc(d)
}

// HasActiveAdmin reports whether a key that is not revoked has the admin role on all sites.
// (A full scan on the embedded FerretDB; called once at startup.)
func (s *Store) HasActiveAdmin(ctx context.Context) (bool, error) {
	filter := bson.D{
		{Key: "role", Value: auth.RoleAdmin.String()},
		{Key: "site", Value: ""},
		{Key: "revokeTime", Value: bson.D{{Key: "$exists", Value: false}}},
	}
	err := s.coll.FindOne(ctx, filter, options.FindOne().SetProjection(bson.D{{Key: "_id", Value: 1}})).Err()
	switch {
	case errors.Is(err, mongo.ErrNoDocuments):
		return false, nil
	case err != nil:
		return false, storeErr("looking for an active admin key", err)
	}
	return true, nil
}

func notFound(id string) error {
	return apperr.New(apperr.NotFound, "API key apiKeys/%s not found", id)
}

// storeErr wraps a driver error; when the store is unreachable it is apperr Unavailable, so
// callers are told to retry rather than shown an internal error.
func storeErr(op string, err error) error {
	if mongodb.IsUnavailable(err) {
		return fmt.Errorf("%s: %w: %v", op, apperr.New(apperr.Unavailable, "the API key store is unavailable; retry later"), err)
	}
	return fmt.Errorf("%s: %w", op, err)
}
