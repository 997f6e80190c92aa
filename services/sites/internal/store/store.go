// Package store keeps the sites service's sites in MongoDB (or the embedded FerretDB v1):
// collection "sites", one siteDoc per site, _id = the site id. Every write is a single-document
// write; conditional ones hold the document's lock from the process's mongodb.DocLocks (see
// docs/architecture.md, "Store rules").
package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/beaconcms/beacon/platform/apperr"
	"github.com/beaconcms/beacon/platform/claimlint"
	"github.com/beaconcms/beacon/platform/mongodb"
	"github.com/beaconcms/beacon/services/sites/internal/domain"
)

// sitesCollection holds the sites.
const sitesCollection = "sites"

// schemaVersion is the version of siteDoc this code writes and reads. Version 1 documents
// written by earlier releases in the content database have no deleteTime, which reads as "not
// deleted", so they are read as they are.
const schemaVersion = 1

// siteDoc is a domain.Site as stored.
type siteDoc struct {
	ID                 string `bson:"_id"`
	SchemaVersion      int    `bson:"schemaVersion"`
	DisplayName        string `bson:"displayName"`
	BaseURL            string `bson:"baseUrl"`
	DefaultLocale      string `bson:"defaultLocale"`
	CrisisLineText     string `bson:"crisisLineText"`
	Public             bool   `bson:"public"`
	CacheMaxAgeSeconds int    `bson:"cacheMaxAgeSeconds"`
	// Added after version 1 without a version bump: absent reads as 0 (the default threshold)
	// and false, which is what sites written before had.
	ResourceStaleAfterDays int  `bson:"resourceStaleAfterDays,omitempty"`
	HideStaleResources     bool `bson:"hideStaleResources,omitempty"`
	Commercial             bool `bson:"commercial,omitempty"`
	// Absent in sites written before these settings: 0 (the default validity), and publish
	// gates and example content off.
	ReviewValidityMonths int  `bson:"reviewValidityMonths,omitempty"`
	PublishGates         bool `bson:"publishGates,omitempty"`
	ExampleContent       bool `bson:"exampleContent,omitempty"`
	// Absent in sites written before the setting, and when the site tunes nothing.
	LintTuning *lintTuningDoc `bson:"lintTuning,omitempty"`
	// Absent in sites written before the setting (still version 1: absent reads as no allowed
	// origin, which is what those sites had), and when the site allows none.
	AllowedOrigins []string   `bson:"allowedOrigins,omitempty"`
	CreateTime     time.Time  `bson:"createTime"`
	UpdateTime     time.Time  `bson:"updateTime"`
	DeleteTime     *time.Time `bson:"deleteTime,omitempty"`
	Revision       int64      `bson:"revision"`
}

// lintTuningDoc is a site's claimlint.SiteTuning as stored; severities are a list, so rule ids
// never become field names.
type lintTuningDoc struct {
	Disable    []string          `bson:"disable,omitempty"`
	Severities []ruleSeverityDoc `bson:"severities,omitempty"`
}

type ruleSeverityDoc struct {
	Rule     string `bson:"rule"`
	Severity string `bson:"severity"`
}

func toLintTuningDoc(t claimlint.SiteTuning) *lintTuningDoc {
	if len(t.Disable) == 0 && len(t.Severity) == 0 {
		return nil
	}
	d := &lintTuningDoc{Disable: t.Disable}
	for _, rule := range slices.Sorted(maps.Keys(t.Severity)) {
		d.Severities = append(d.Severities, ruleSeverityDoc{Rule: rule, Severity: t.Severity[rule]})
	}
	return d
}

func fromLintTuningDoc(d *lintTuningDoc) claimlint.SiteTuning {
	if d == nil {
		return claimlint.SiteTuning{}
	}
	t := claimlint.SiteTuning{Disable: d.Disable}
	for _, rs := range d.Severities {
		if t.Severity == nil {
			t.Severity = map[string]string{}
		}
		t.Severity[rs.Rule] = rs.Severity
	}
	return t
}

func toSiteDoc(s *domain.Site) siteDoc {
	d := siteDoc{
		ID:                     s.ID,
		SchemaVersion:          schemaVersion,
		DisplayName:            s.DisplayName,
		BaseURL:                s.BaseURL,
		DefaultLocale:          s.DefaultLocale,
		CrisisLineText:         s.CrisisLineText,
		Public:                 s.Public,
		CacheMaxAgeSeconds:     s.CacheMaxAgeSeconds,
		ResourceStaleAfterDays: s.ResourceStaleAfterDays,
		HideStaleResources:     s.HideStaleResources,
		Commercial:             s.Commercial,
		ReviewValidityMonths:   s.ReviewValidityMonths,
		PublishGates:           s.PublishGates,
		ExampleContent:         s.ExampleContent,
		LintTuning:             toLintTuningDoc(s.LintTuning),
		AllowedOrigins:         slices.Clone(s.AllowedOrigins),
		CreateTime:             toTime(s.CreateTime),
		UpdateTime:             toTime(s.UpdateTime),
		Revision:               s.Revision,
	}
	if !s.DeleteTime.IsZero() {
		t := toTime(s.DeleteTime)
		d.DeleteTime = &t
	}
	return d
}

func fromSiteDoc(d *siteDoc) (*domain.Site, error) {
	if d.SchemaVersion != schemaVersion {
		return nil, fmt.Errorf("site %s: unknown schemaVersion %d (this release reads %d)", d.ID, d.SchemaVersion, schemaVersion)
	}
	s := &domain.Site{
		ID:                     d.ID,
		DisplayName:            d.DisplayName,
		BaseURL:                d.BaseURL,
		DefaultLocale:          d.DefaultLocale,
		CrisisLineText:         d.CrisisLineText,
		Public:                 d.Public,
		CacheMaxAgeSeconds:     d.CacheMaxAgeSeconds,
		ResourceStaleAfterDays: d.ResourceStaleAfterDays,
		HideStaleResources:     d.HideStaleResources,
		Commercial:             d.Commercial,
		ReviewValidityMonths:   d.ReviewValidityMonths,
		PublishGates:           d.PublishGates,
		ExampleContent:         d.ExampleContent,
		LintTuning:             fromLintTuningDoc(d.LintTuning),
		AllowedOrigins:         d.AllowedOrigins,
		CreateTime:             d.CreateTime.UTC(),
		UpdateTime:             d.UpdateTime.UTC(),
		Revision:               d.Revision,
	}
	if d.DeleteTime != nil {
		s.DeleteTime = d.DeleteTime.UTC()
	}
	return s, nil
}

// toTime returns t as stored: UTC, truncated to the millisecond (BSON dates hold milliseconds).
func toTime(t time.Time) time.Time { return t.UTC().Truncate(time.Millisecond) }

// Store implements domain.Store on the sites service's own database. Safe for concurrent use.
type Store struct {
	sites  *mongo.Collection
	locks  *mongodb.DocLocks
	dbName string
	logger *slog.Logger
}

var _ domain.Store = (*Store)(nil)

// New returns a Store on db, which [Migrations] must have brought up to date. locks is the
// process's one set of document locks. A nil logger discards.
func New(db *mongo.Database, locks *mongodb.DocLocks, logger *slog.Logger) *Store {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Store{sites: db.Collection(sitesCollection), locks: locks, dbName: db.Name(), logger: logger}
}

// Create inserts a site; AlreadyExists when its id is taken, by a deleted site too.
func (s *Store) Create(ctx context.Context, site *domain.Site) error {
	if _, err := s.sites.InsertOne(ctx, toSiteDoc(site)); err != nil {
		if mongodb.IsDuplicateKey(err) {
			return apperr.New(apperr.AlreadyExists, "%s already exists", site.Name())
		}
		return s.dbErr(ctx, "create "+site.Name(), err)
	}
	return nil
}

// Get returns a site, deleted or not.
func (s *Store) Get(ctx context.Context, id string) (*domain.Site, error) {
	var d siteDoc
	err := s.sites.FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return nil, siteNotFound(id)
	}
	if err != nil {
		return nil, s.dbErr(ctx, "get sites/"+id, err)
	}
	return fromSiteDoc(&d)
}

// List returns sites ordered by id, after afterID (from the start when it is empty), at most
// limit of them (all when limit <= 0); deleted ones only when showDeleted.
func (s *Store) List(ctx context.Context, afterID string, limit int, showDeleted bool) ([]*domain.Site, error) {
	filter := bson.D{}
	if afterID != "" {
		filter = append(filter, bson.E{Key: "_id", Value: bson.D{{Key: "$gt", Value: afterID}}})
	}
	if !showDeleted {
		filter = append(filter, bson.E{Key: "deleteTime", Value: bson.D{{Key: "$exists", Value: false}}})
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

// Update replaces the site when its stored revision is still prevRevision: NotFound when it
// does not exist, Conflict when it changed. It holds the site's document lock.
func (s *Store) Update(ctx context.Context, site *domain.Site, prevRevision int64) error {
	unlock, err := s.locks.Lock(ctx, s.dbName, sitesCollection, site.ID)
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

// dbErr turns a driver error into what the store returns: Unavailable when the database cannot
// serve (the cause is logged), else err wrapped with what was being done.
func (s *Store) dbErr(ctx context.Context, what string, err error) error {
	if _, ok := apperr.As(err); ok {
		return err
	}
	if mongodb.IsUnavailable(err) {
		s.logger.WarnContext(ctx, "sites store unavailable", slog.String("op", what), slog.Any("err", err))
		return apperr.New(apperr.Unavailable, "the sites store is unavailable; retry later")
	}
	return fmt.Errorf("%s: %w", what, err)
}

func siteNotFound(id string) error { return apperr.New(apperr.NotFound, "sites/%s not found", id) }
