package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/beaconcms/beacon/platform/mongodb"
	"github.com/beaconcms/beacon/services/content/internal/articleindex"
)

// codeNamespaceExists is the server error for creating a collection that exists.
const codeNamespaceExists = 48

// Migrations returns the content database's schema steps, for mongodb.Migrate. Each step is
// idempotent. Append new steps; never change or reorder released ones.
//
// FerretDB v1 uses indexes only to enforce uniqueness; the others serve MongoDB's planner and
// operators' own queries, and step 10 drops them on FerretDB, where they only slowed writes (a
// revision's _id, "{article}/{revision}", already makes that pair unique).
func Migrations() []mongodb.Migration {
	return []mongodb.Migration{
		{
			Version:     1,
			Description: "content: create the articles, article_revisions, slug_claims and sites collections",
			Up: func(ctx context.Context, db *mongo.Database) error {
				for _, name := range []string{articlesCollection, revisionsCollection, claimsCollection, sitesCollection} {
					if err := createCollection(ctx, db, name); err != nil {
						return err
					}
				}
				return nil
			},
		},
		{
			Version:     2,
			Description: "content: indexes for article lists, scheduling, pending revisions and revision history",
			Up: func(ctx context.Context, db *mongo.Database) error {
				err := mongodb.EnsureIndexes(ctx, db.Collection(articlesCollection), []mongo.IndexModel{
					{ // lists restricted to sites, newest first (the common management list)
						Keys:    bson.D{{Key: pathTargetSites, Value: 1}, {Key: pathUpdateTime, Value: 1}},
						Options: options.Index().SetName("targetSites_updateTime"),
					},
					{ // ListDueScheduled
						Keys:    bson.D{{Key: pathState, Value: 1}, {Key: "scheduledPublishTime", Value: 1}},
						Options: options.Index().SetName("state_scheduledPublishTime"),
					},
					{ // FlushPendingRevisions: only the few articles with the flag are indexed
						Keys:    bson.D{{Key: "revisionPending", Value: 1}},
						Options: options.Index().SetName("revisionPending").SetSparse(true),
					},
				})
				if err != nil {
					return err
				}
				// slug_claims needs only its _id index, which every collection has.
				return mongodb.EnsureIndexes(ctx, db.Collection(revisionsCollection), []mongo.IndexModel{
					{
						Keys:    bson.D{{Key: "articleId", Value: 1}, {Key: "revisionId", Value: 1}},
						Options: options.Index().SetName("articleId_revisionId").SetUnique(true),
					},
				})
			},
		},
		{
			Version:     3,
			Description: "content: the article_changes log that delivery read models poll",
			Up: func(ctx context.Context, db *mongo.Database) error {
				if err := createCollection(ctx, db, changesCollection); err != nil {
					return err
				}
				return mongodb.EnsureIndexes(ctx, db.Collection(changesCollection), []mongo.IndexModel{
					{Keys: bson.D{{Key: "time", Value: 1}}, Options: options.Index().SetName("time")},
				})
			},
		},
		{
			Version:     4,
			Description: "content: article_schedule, the due times the scheduler polls; existing schedules copied",
			Up: func(ctx context.Context, db *mongo.Database) error {
				if err := createCollection(ctx, db, scheduleCollection); err != nil {
					return err
				}
				if err := mongodb.EnsureIndexes(ctx, db.Collection(scheduleCollection), []mongo.IndexModel{
					{Keys: bson.D{{Key: "time", Value: 1}}, Options: options.Index().SetName("time")},
				}); err != nil {
					return err
				}
				return copyScheduleEntries(ctx, db)
			},
		},
		{
			Version:     5,
			Description: "content: pending_revisions markers; articles with a pending revision get one",
			Up: func(ctx context.Context, db *mongo.Database) error {
				if err := createCollection(ctx, db, pendingCollection); err != nil {
					return err
				}
				cur, err := db.Collection(articlesCollection).Find(ctx,
					bson.D{{Key: "revisionPending", Value: bson.D{{Key: "$eq", Value: true}}}},
					options.Find().SetProjection(bson.D{{Key: "revision", Value: 1}}))
				if err != nil {
					return err
				}
				var docs []pendingDoc
				if err := cur.All(ctx, &docs); err != nil {
					return err
				}
				for _, d := range docs {
					if _, err := db.Collection(pendingCollection).ReplaceOne(ctx, bson.D{{Key: "_id", Value: d.ArticleID}}, d, options.Replace().SetUpsert(true)); err != nil {
						return err
					}
				}
				return nil
			},
		},
		{
			Version:     6,
			Description: "content: schedule entries restored for scheduled articles that lost theirs (deleted while overdue, then undeleted)",
			Up:          copyScheduleEntries,
		},
		{
			Version:     7,
			Description: "content: article_index, the small index entries every process loads at start, built from the articles",
			Up:          rebuildIndexEntries,
		},
		{
			Version:     8,
			Description: "content: article_live, the live snapshots delivery loads at start (compressed), built from the articles",
			Up: func(ctx context.Context, db *mongo.Database) error {
				if err := createCollection(ctx, db, legacyLiveCollection); err != nil {
					return err
				}
				st := New(db, mongodb.NewDocLocks(), nil) // for its converters and collections; it takes no lock
				cur, err := st.articles.Find(ctx, bson.D{}, options.Find().SetBatchSize(500))
				if err != nil {
					return err
				}
				defer cur.Close(context.WithoutCancel(ctx))
				for cur.Next(ctx) {
					var d articleDoc
					if err := st.codec.decodeArticle(cur.Decode, &d); err != nil {
						return err
					}
					l, err := st.codec.toLiveDoc(&d)
					if err != nil {
						return err
					}
					if err := upsertByID(ctx, db.Collection(legacyLiveCollection), d.ID, l); err != nil {
						return err
					}
				}
				return cur.Err()
			},
		},
		{
			Version:     9,
			Description: "content: article_index entries become the articles' compressed basic views (what basic lists return)",
			Up:          rebuildIndexEntries,
		},
		{
			Version:     10,
			Description: "content: secondary indexes dropped on the embedded store (FerretDB never uses them; each slowed every write)",
			Up: func(ctx context.Context, db *mongo.Database) error {
				for coll, names := range map[string][]string{
					articlesCollection:  {"targetSites_updateTime", "state_scheduledPublishTime", "revisionPending"},
					revisionsCollection: {"articleId_revisionId"},
					changesCollection:   {"time"},
					scheduleCollection:  {"time"},
				} {
					if err := mongodb.DropFerretDBIndexes(ctx, db.Collection(coll), names...); err != nil {
						return err
					}
				}
				return nil
			},
		},
		{
			Version:     11,
			Description: "content: the articles' revisionPending index dropped (article schema 5 has no revisionPending flag; the pending_revisions markers are the outbox)",
			Up: func(ctx context.Context, db *mongo.Database) error {
				return dropIndexIfExists(ctx, db.Collection(articlesCollection), "revisionPending")
			},
		},
		{
			Version:     12,
			Description: "content: the live entries spread over the article_live_0 to article_live_3 shards, which start-up loads in parallel",
			Up:          shardLiveEntries,
		},
	}
}

// shardLiveEntries creates the live shards, copies every entry of article_live into its shard
// and drops article_live. Run again after an interruption, it copies what is left (entries
// already copied are replaced by the same).
func shardLiveEntries(ctx context.Context, db *mongo.Database) error {
	for i := range liveShards {
		if err := createCollection(ctx, db, liveShardName(i)); err != nil {
			return err
		}
	}
	legacy := db.Collection(legacyLiveCollection)
	cur, err := legacy.Find(ctx, bson.D{}, options.Find().SetBatchSize(500))
	if err != nil {
		return fmt.Errorf("reading article_live: %w", err)
	}
	defer cur.Close(context.WithoutCancel(ctx))
	shards := liveShardCollections(db)
	for cur.Next(ctx) {
		var l struct {
			ID string `bson:"_id"`
		}
		if err := cur.Decode(&l); err != nil {
			return fmt.Errorf("reading article_live: %w", err)
		}
		if err := upsertByID(ctx, shards[liveShardOf(l.ID)], l.ID, cur.Current); err != nil {
			return fmt.Errorf("copying the live entry of articles/%s: %w", l.ID, err)
		}
	}
	if err := cur.Err(); err != nil {
		return fmt.Errorf("reading article_live: %w", err)
	}
	if err := legacy.Drop(ctx); err != nil {
		return fmt.Errorf("dropping article_live: %w", err)
	}
	return nil
}

// dropIndexIfExists drops the named index of coll, succeeding when it does not exist.
func dropIndexIfExists(ctx context.Context, coll *mongo.Collection, name string) error {
	specs, err := coll.Indexes().ListSpecifications(ctx)
	if err != nil {
		return fmt.Errorf("listing the indexes of %s: %w", coll.Name(), err)
	}
	for _, spec := range specs {
		if spec.Name == name {
			if err := coll.Indexes().DropOne(ctx, name); err != nil {
				return fmt.Errorf("dropping index %s of %s: %w", name, coll.Name(), err)
			}
		}
	}
	return nil
}

// rebuildIndexEntries creates article_index if needed and writes every article's entry, from
// the articles.
func rebuildIndexEntries(ctx context.Context, db *mongo.Database) error {
	if err := createCollection(ctx, db, indexCollection); err != nil {
		return err
	}
	st := New(db, mongodb.NewDocLocks(), nil) // for its readers and collections; it takes no lock
	var failed error
	err := st.forEachArticleEntry(ctx, func(e articleindex.Entry) {
		d, err := st.codec.toIndexDoc(e)
		if err == nil {
			err = upsertByID(ctx, st.indexEntries, e.ID, d)
		}
		if err != nil && failed == nil {
			failed = err
		}
	})
	if err != nil {
		return err
	}
	return failed
}

// copyScheduleEntries writes the schedule entry of every scheduled article, replacing any. An
// entry for a deleted article is harmless: the scheduler drops it when its time comes.
func copyScheduleEntries(ctx context.Context, db *mongo.Database) error {
	cur, err := db.Collection(articlesCollection).Find(ctx,
		bson.D{{Key: pathState, Value: bson.D{{Key: "$eq", Value: "SCHEDULED"}}}},
		options.Find().SetProjection(bson.D{{Key: "scheduledPublishTime", Value: 1}}))
	if err != nil {
		return err
	}
	var docs []struct {
		ID   string     `bson:"_id"`
		Time *time.Time `bson:"scheduledPublishTime"`
	}
	if err := cur.All(ctx, &docs); err != nil {
		return err
	}
	for _, d := range docs {
		if d.Time == nil {
			continue
		}
		entry := scheduleDoc{ArticleID: d.ID, SchemaVersion: scheduleSchemaVersion, Time: *d.Time}
		if _, err := db.Collection(scheduleCollection).ReplaceOne(ctx, bson.D{{Key: "_id", Value: d.ID}}, entry, options.Replace().SetUpsert(true)); err != nil {
			return err
		}
	}
	return nil
}

// createCollection creates the collection, succeeding when it exists.
func createCollection(ctx context.Context, db *mongo.Database, name string) error {
	err := db.CreateCollection(ctx, name)
	var se mongo.ServerError
	if err == nil || (errors.As(err, &se) && se.HasErrorCode(codeNamespaceExists)) {
		return nil
	}
	return fmt.Errorf("creating collection %s: %w", name, err)
}
