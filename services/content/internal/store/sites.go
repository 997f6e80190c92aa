package store

import (
	"context"
	"fmt"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/beaconcms/beacon/platform/apperr"
	"github.com/beaconcms/beacon/platform/mongodb"
	"github.com/beaconcms/beacon/services/content/internal/domain"
)

// CreateSite inserts a site; AlreadyExists when its id is taken.
func (s *Store) CreateSite(ctx context.Context, site *domain.Site) error {
	if _, err := s.sites.InsertOne(ctx, toSiteDoc(site)); err != nil {
		if mongodb.IsDuplicateKey(err) {
			return apperr.New(apperr.AlreadyExists, "%s already exists", site.Name())
		}
		return s.dbErr(ctx, "create "+site.Name(), err)
	}
	return nil
}

// GetSite returns a site.
func (s *Store) GetSite(ctx context.Context, id string) (*domain.Site, error) {
	var d siteDoc
	err := s.sites.FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&d)
	if isNoDocuments(err) {
		return nil, siteNotFound(id)
	}
	if err != nil {
		return nil, s.dbErr(ctx, "get sites/"+id, err)
	}
	return fromSiteDoc(&d)
}

// ListSites returns sites ordered by id, after afterID (from the start when it is empty), at most
// limit of them (all when limit <= 0).
func (s *Store) ListSites(ctx context.Context, afterID string, limit int) ([]*domain.Site, error) {
	filter := bson.D{}
	if afterID != "" {
		filter = bson.D{{Key: "_id", Value: bson.D{{Key: "$gt", Value: afterID}}}}
	}
	opts := options.Find().SetSort(bson.D{{Key: "_id", Value: 1}})
	if limit > 0 {
		opts.SetLimit(int64(limit))
	}
	cur, err := s.sites.Find(ctx, filter, opts)
	if err != nil {
		return nil, s.dbErr(ctx, "list sites", err)
	}
	var docs []siteDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, s.dbErr(ctx, "list sites", err)
	}
	out := make([]*domain.Site, 0, len(docs))
	for i := range docs {
		site, err := fromSiteDoc(&docs[i])
		if err != nil {
			return nil, err
		}
		out = append(out, site)
	}
	return out, nil
}

// UpdateSite replaces the site when its stored revision is still prevRevision: NotFound when it
// does not exist, Conflict when it changed.
func (s *Store) UpdateSite(ctx context.Context, site *domain.Site, prevRevision int64) error {
	unlock, err := s.lockDoc(ctx, sitesCollection, site.ID)
	if err != nil {
		return fmt.Errorf("update %s: %w", site.Name(), err)
	}
	defer unlock()
	res, err := s.sites.ReplaceOne(ctx,
		bson.D{{Key: "_id", Value: site.ID}, {Key: "revision", Value: bson.D{{Key: "$eq", Value: prevRevision}}}},
		toSiteDoc(site))
	if err != nil {
		return s.dbErr(ctx, "update "+site.Name(), err)
	}
	if res.MatchedCount == 1 {
		return nil
	}
	n, err := s.sites.CountDocuments(ctx, bson.D{{Key: "_id", Value: site.ID}})
	if err != nil {
		return s.dbErr(ctx, "update "+site.Name(), err)
	}
	if n == 0 {
		return siteNotFound(site.ID)
	}
	return apperr.New(apperr.Conflict, "%s changed since you read it; fetch it again and reapply your change", site.Name())
}

// DeleteSite deletes the site for good; NotFound when it does not exist.
func (s *Store) DeleteSite(ctx context.Context, id string) error {
	unlock, err := s.lockDoc(ctx, sitesCollection, id)
	if err != nil {
		return fmt.Errorf("delete sites/%s: %w", id, err)
	}
	defer unlock()
	res, err := s.sites.DeleteOne(ctx, bson.D{{Key: "_id", Value: id}})
	if err != nil {
		return s.dbErr(ctx, "delete sites/"+id, err)
	}
	if res.DeletedCount == 0 {
		return siteNotFound(id)
	}
	return nil
}
