package store

import (
	"context"
	"fmt"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/beaconcms/beacon/platform/mongodb"
	"github.com/beaconcms/beacon/services/content/internal/articleindex"
)

// indexProjection reads only what an articleindex.Entry holds.
var indexProjection = bson.D{
	{Key: "schemaVersion", Value: 1},
	{Key: "revision", Value: 1},
	{Key: pathState, Value: 1},
	{Key: pathTitle, Value: 1},
	{Key: pathTags, Value: 1},
	{Key: pathTopics, Value: 1},
	{Key: pathTargetSites, Value: 1},
	{Key: "published.content.targetSites", Value: 1},
	{Key: pathAuthorNames, Value: 1},
	{Key: pathCreateTime, Value: 1},
	{Key: pathUpdateTime, Value: 1},
	{Key: pathPublishTime, Value: 1},
	{Key: pathDeleteTime, Value: 1},
	{Key: "scheduledPublishTime", Value: 1},
	{Key: "revisionPending", Value: 1},
}

// ForEachIndexEntry calls fn with the index entry of every article, deleted or not, reading them
// in one pass. It scans the articles collection: call it at startup only.
func (s *Store) ForEachIndexEntry(ctx context.Context, fn func(articleindex.Entry)) error {
	ctx = mongodb.WithScan(ctx, "startup: loading the article index")
	cur, err := s.articles.Find(ctx, bson.D{}, options.Find().SetProjection(indexProjection).SetBatchSize(500))
	if err != nil {
		return s.dbErr(ctx, "load the article index", err)
	}
	defer cur.Close(context.WithoutCancel(ctx))
	for cur.Next(ctx) {
		var d articleDoc
		if err := cur.Decode(&d); err != nil {
			return fmt.Errorf("load the article index: %w", err)
		}
		e, err := indexEntryOfDoc(&d)
		if err != nil {
			return err
		}
		fn(e)
	}
	return s.dbErr(ctx, "load the article index", cur.Err())
}

// GetIndexEntry returns the index entry of one article, by _id; false when it does not exist.
func (s *Store) GetIndexEntry(ctx context.Context, id string) (articleindex.Entry, bool, error) {
	var d articleDoc
	err := s.articles.FindOne(ctx, bson.D{{Key: "_id", Value: id}}, options.FindOne().SetProjection(indexProjection)).Decode(&d)
	if isNoDocuments(err) {
		return articleindex.Entry{}, false, nil
	}
	if err != nil {
		return articleindex.Entry{}, false, s.dbErr(ctx, "get the index entry of articles/"+id, err)
	}
	e, err := indexEntryOfDoc(&d)
	return e, err == nil, err
}

// indexEntryOfDoc returns the entry of a (possibly projected) article document.
func indexEntryOfDoc(d *articleDoc) (articleindex.Entry, error) {
	if d.SchemaVersion != articleSchemaVersion {
		return articleindex.Entry{}, fmt.Errorf("article %s: unknown schemaVersion %d (this release reads %d)", d.ID, d.SchemaVersion, articleSchemaVersion)
	}
	state, err := fromState(d.State)
	if err != nil {
		return articleindex.Entry{}, fmt.Errorf("article %s: %w", d.ID, err)
	}
	e := articleindex.Entry{
		ID:                   d.ID,
		Revision:             d.Revision,
		State:                state,
		Title:                d.Draft.Title,
		Tags:                 nilIfEmpty(d.Draft.Tags),
		Topics:               nilIfEmpty(d.Draft.Topics),
		Sites:                nilIfEmpty(d.Draft.TargetSites),
		Authors:              nilIfEmpty(d.AuthorNames),
		CreateTime:           fromTime(d.CreateTime),
		UpdateTime:           fromTime(d.UpdateTime),
		PublishTime:          fromOptionalTime(d.PublishTime),
		DeleteTime:           fromOptionalTime(d.DeleteTime),
		ScheduledPublishTime: fromOptionalTime(d.ScheduledPublishTime),
		RevisionPending:      d.RevisionPending,
	}
	if d.Published != nil {
		e.LiveSites = nilIfEmpty(d.Published.Content.TargetSites)
	}
	return e, nil
}
