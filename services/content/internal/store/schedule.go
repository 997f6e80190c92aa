package store

import (
	"context"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/beaconcms/beacon/platform/mongodb"
)

// Scheduled publishing.
//
// The scheduler sleeps until the next scheduled article falls due (NextDue), woken early by any
// change of the scheduled articles (ScheduleChanged), and then asks what is due. The queue is the
// in-memory article index (articleindex.Index.Due), built from the articles themselves at start
// and kept current by every write and by the change log, so a scheduled article is always in it
// (also after a delete and an undelete) and asking costs no store call; ListDueScheduled then
// reads each due article by _id.
//
// Releases before the index kept due times in the article_schedule collection (one entry per
// scheduled article, _id = article id). Migrations 4 and 6 still write it; nothing reads it.

// scheduleDoc is an entry of article_schedule (written by migrations 4 and 6 only).
type scheduleDoc struct {
	ArticleID     string    `bson:"_id"`
	SchemaVersion int       `bson:"schemaVersion"`
	Time          time.Time `bson:"time"`
}

const scheduleSchemaVersion = 1

// upsertByID replaces or inserts the document with _id id. Two concurrent upserts of one new
// _id can both take the insert path; the loser's duplicate-key error means the document now
// exists, so it retries once as a replace.
func upsertByID(ctx context.Context, coll *mongo.Collection, id string, doc any) error {
	filter := bson.D{{Key: "_id", Value: id}}
	_, err := coll.ReplaceOne(ctx, filter, doc, options.Replace().SetUpsert(true))
	if mongodb.IsDuplicateKey(err) {
		_, err = coll.ReplaceOne(ctx, filter, doc, options.Replace().SetUpsert(true))
	}
	return err
}
