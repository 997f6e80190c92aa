package store

import (
	"context"
	"errors"
	"fmt"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/beaconcms/beacon/platform/mongodb"
)

// codeNamespaceExists is the server error for creating a collection that exists.
const codeNamespaceExists = 48

// Migrations returns the sites database's schema steps, for mongodb.Migrate. Each step is
// idempotent. Append new steps; never change or reorder released ones.
//
// legacyDatabase is the content database of releases before the sites service existed, whose
// "sites" collection held the sites: step 2 copies its documents once (a document whose id is
// already here is left as it is). Empty skips the copy.
func Migrations(legacyDatabase string) []mongodb.Migration {
	return []mongodb.Migration{
		{
			Version:     1,
			Description: "sites: create the sites collection",
			Up: func(ctx context.Context, db *mongo.Database) error {
				err := db.CreateCollection(ctx, sitesCollection)
				var cmdErr mongo.CommandError
				if errors.As(err, &cmdErr) && cmdErr.Code == codeNamespaceExists {
					return nil
				}
				return err
			},
		},
		{
			Version:     2,
			Description: "sites: copy the sites of the content database of earlier releases",
			Up: func(ctx context.Context, db *mongo.Database) error {
				if legacyDatabase == "" || legacyDatabase == db.Name() {
					return nil
				}
				return copyLegacySites(ctx, db.Client().Database(legacyDatabase).Collection(sitesCollection), db.Collection(sitesCollection))
			},
		},
	}
}

// copyLegacySites inserts every document of from that to does not have (by _id). Documents are
// copied as they are: the legacy siteDoc is schema version 1 of this package's siteDoc.
func copyLegacySites(ctx context.Context, from, to *mongo.Collection) error {
	cur, err := from.Find(ctx, bson.D{})
	if err != nil {
		return fmt.Errorf("read legacy sites: %w", err)
	}
	var docs []bson.Raw
	if err := cur.All(ctx, &docs); err != nil {
		return fmt.Errorf("read legacy sites: %w", err)
	}
	for _, d := range docs {
		if _, err := to.InsertOne(ctx, d); err != nil && !mongodb.IsDuplicateKey(err) {
			return fmt.Errorf("copy legacy site %v: %w", d.Lookup("_id"), err)
		}
	}
	return nil
}
