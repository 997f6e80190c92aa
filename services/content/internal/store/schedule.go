package store

import (
	"context"
	"log/slog"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/beaconcms/beacon/platform/mongodb"
	"github.com/beaconcms/beacon/services/content/internal/domain"
)

// Scheduled publishing.
//
// The scheduler asks every second what is due. Asking the articles collection would decode every
// article each time on FerretDB v1 (it filters in Go), so due times live in their own small
// collection, article_schedule: one entry per scheduled article, _id = article id.
//
// An entry is written BEFORE the article write that schedules it and removed AFTER the write
// that unschedules it, so a scheduled article always has an entry; an entry may outlive its
// schedule (a failed write, a crash), and ListDueScheduled drops such stale entries when it
// finds the article no longer scheduled for that time.

// scheduleDoc is an entry of article_schedule.
type scheduleDoc struct {
	ArticleID     string    `bson:"_id"`
	SchemaVersion int       `bson:"schemaVersion"`
	Time          time.Time `bson:"time"`
}

const scheduleSchemaVersion = 1

// noteSchedule writes next's schedule entry when next is scheduled and prev was not, was for
// another time, or was deleted. The scheduler drops the entry of a deleted article when its time
// comes, so an undeleted scheduled article needs its entry back, or it would stay scheduled for
// ever.
func (s *Store) noteSchedule(ctx context.Context, prev, next *domain.Article) error {
	if next.State != domain.StateScheduled {
		return nil
	}
	if prev != nil && prev.State == domain.StateScheduled && prev.ScheduledPublishTime.Equal(next.ScheduledPublishTime) &&
		prev.Deleted() == next.Deleted() {
		return nil
	}
	entry := scheduleDoc{ArticleID: next.ID, SchemaVersion: scheduleSchemaVersion, Time: toTime(next.ScheduledPublishTime)}
	return s.dbErr(ctx, "schedule "+next.Name(), upsertByID(ctx, s.schedule, next.ID, entry))
}

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

// forgetSchedule removes the entry of an article that was scheduled and no longer is. A failure
// leaves a stale entry, which is harmless.
func (s *Store) forgetSchedule(ctx context.Context, prev, next *domain.Article) {
	if prev.State == domain.StateScheduled && next.State != domain.StateScheduled {
		s.dropScheduleEntry(ctx, next.ID, prev.ScheduledPublishTime)
	}
}

// dropScheduleEntry deletes the entry of id if it is still for time at.
func (s *Store) dropScheduleEntry(ctx context.Context, id string, at time.Time) {
	ctx, cancel := cleanupContext(ctx)
	defer cancel()
	_, err := s.schedule.DeleteOne(ctx, bson.D{
		{Key: "_id", Value: id},
		{Key: "time", Value: bson.D{{Key: "$eq", Value: toTime(at)}}},
	})
	if err != nil {
		s.logger.WarnContext(ctx, "removing a schedule entry failed; it is stale and will be dropped later",
			slog.String("article", "articles/"+id), slog.Any("err", err))
	}
}
