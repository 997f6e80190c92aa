package store_test

import (
	"context"
	"log/slog"
	"slices"
	"strconv"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/beaconcms/beacon/platform/apperr"
	"github.com/beaconcms/beacon/platform/markdown"
	"github.com/beaconcms/beacon/platform/mongodb"
	"github.com/beaconcms/beacon/platform/mongodb/mongodbtest"
	"github.com/beaconcms/beacon/services/content/internal/domain"
	"github.com/beaconcms/beacon/services/content/internal/store"
)

// t0 is the base time of the fixtures.
var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

// newStore returns a Store on a fresh, migrated database, and the database for tests that
// inspect or damage the stored documents directly.
func newStore(tb testing.TB) (*store.Store, *mongo.Database) {
	tb.Helper()
	stores, db := newStores(tb, 1)
	return stores[0], db
}

// newStores returns n Stores, their indexes loaded, on one fresh, migrated database sharing one
// mongodb.DocLocks, as the stores of one process do.
func newStores(tb testing.TB, n int) ([]*store.Store, *mongo.Database) {
	tb.Helper()
	db := mongodbtest.NewDatabase(tb)
	logger := slog.New(slog.NewTextHandler(tb.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	if err := mongodb.Migrate(context.Background(), db, store.Migrations(), logger); err != nil {
		tb.Fatalf("migrating: %v", err)
	}
	locks := mongodb.NewDocLocks()
	stores := make([]*store.Store, n)
	for i := range stores {
		stores[i] = store.New(db, locks, logger)
		if err := stores[i].LoadIndex(context.Background()); err != nil {
			tb.Fatalf("loading the article index: %v", err)
		}
	}
	return stores, db
}

// newArticle returns a minimal valid draft at revision 1.
func newArticle(id, slug string, sites ...string) *domain.Article {
	return &domain.Article{
		ID:         id,
		Draft:      domain.Content{Title: "Title of " + id, Slug: slug, TargetSites: sites},
		State:      domain.StateDraft,
		RevisionID: 1,
		CreateTime: t0,
		UpdateTime: t0,
		Creator:    "key-a",
		LastChange: domain.Change{Actor: "key-a", Action: "create", Fields: []string{"title", "slug", "target_sites"}, Time: t0},
	}
}

func mustCreate(tb testing.TB, s *store.Store, articles ...*domain.Article) {
	tb.Helper()
	for _, a := range articles {
		if err := s.CreateArticle(context.Background(), a); err != nil {
			tb.Fatalf("CreateArticle(%s): %v", a.ID, err)
		}
	}
}

// next returns a deep copy of a at the next revision, changed by change.
func next(a *domain.Article, action string, change func(*domain.Article)) *domain.Article {
	n := cloneArticle(a)
	n.RevisionID++
	n.UpdateTime = a.UpdateTime.Add(time.Minute)
	n.LastChange = domain.Change{Actor: "key-b", Action: action, Time: n.UpdateTime}
	if change != nil {
		change(n)
	}
	return n
}

// mustUpdate applies change as the next revision of prev and returns it.
func mustUpdate(tb testing.TB, s *store.Store, prev *domain.Article, action string, change func(*domain.Article)) *domain.Article {
	tb.Helper()
	n := next(prev, action, change)
	if err := s.UpdateArticle(context.Background(), prev, n); err != nil {
		tb.Fatalf("UpdateArticle(%s, %s): %v", prev.ID, action, err)
	}
	return n
}

func mustGet(tb testing.TB, s *store.Store, id string) *domain.Article {
	tb.Helper()
	a, err := s.GetArticle(context.Background(), id)
	if err != nil {
		tb.Fatalf("GetArticle(%s): %v", id, err)
	}
	return a
}

func cloneArticle(a *domain.Article) *domain.Article {
	c := *a
	c.Draft = cloneContent(a.Draft)
	c.Rendering.TOC = slices.Clone(a.Rendering.TOC)
	if a.Published != nil {
		snap := *a.Published
		snap.Content = cloneContent(a.Published.Content)
		snap.Rendering.TOC = slices.Clone(a.Published.Rendering.TOC)
		c.Published = &snap
	}
	c.LastChange.Fields = slices.Clone(a.LastChange.Fields)
	return &c
}

func cloneContent(c domain.Content) domain.Content {
	c.Tags = slices.Clone(c.Tags)
	c.Topics = slices.Clone(c.Topics)
	c.Authors = slices.Clone(c.Authors)
	c.Citations = slices.Clone(c.Citations)
	c.TargetSites = slices.Clone(c.TargetSites)
	return c
}

// publish makes a's draft its live snapshot, published at t.
func publish(a *domain.Article, t time.Time) {
	snap := cloneContent(a.Draft)
	snap.EditorNotes = ""
	a.State = domain.StatePublished
	a.Published = &domain.Snapshot{Content: snap, Rendering: a.Rendering, RevisionID: a.RevisionID, PublishTime: t}
}

// claims returns the stored slug claims as key -> holder article id.
func claims(tb testing.TB, db *mongo.Database) map[string]string {
	tb.Helper()
	ctx := mongodb.WithScan(context.Background(), "test: inspecting the claims")
	cur, err := db.Collection("slug_claims").Find(ctx, bson.D{})
	if err != nil {
		tb.Fatalf("reading slug claims: %v", err)
	}
	var docs []struct {
		Key       string `bson:"_id"`
		ArticleID string `bson:"articleId"`
	}
	if err := cur.All(ctx, &docs); err != nil {
		tb.Fatalf("reading slug claims: %v", err)
	}
	out := map[string]string{}
	for _, d := range docs {
		if d.ArticleID != "" { // released
			out[d.Key] = d.ArticleID
		}
	}
	return out
}

// insertClaim stores a claim directly, as a crashed writer would have left it.
func insertClaim(tb testing.TB, db *mongo.Database, key, articleID string, claimedAt time.Time) {
	tb.Helper()
	_, err := db.Collection("slug_claims").InsertOne(context.Background(), bson.D{
		{Key: "_id", Value: key}, {Key: "schemaVersion", Value: 1}, {Key: "articleId", Value: articleID},
		{Key: "revision", Value: int64(1)}, {Key: "token", Value: "crashed"}, {Key: "claimedAt", Value: claimedAt},
	})
	if err != nil {
		tb.Fatalf("inserting claim %s: %v", key, err)
	}
}

func wantCode(tb testing.TB, err error, code apperr.Code) {
	tb.Helper()
	if !apperr.Is(err, code) {
		tb.Fatalf("got error %v (code %q), want code %q", err, apperr.CodeOf(err), code)
	}
}

func ids(articles []*domain.Article) []string {
	out := make([]string, len(articles))
	for i, a := range articles {
		out[i] = a.ID
	}
	return out
}

// sampleRendering is a fully populated rendering.
func sampleRendering(title string) markdown.Rendering {
	return markdown.Rendering{
		HTML:               "<h2 id=\"" + title + "\">" + title + "</h2><p>Body</p>",
		TOC:                []markdown.TOCEntry{{Level: 2, Text: title, Anchor: title}, {Level: 3, Text: "More", Anchor: "more"}},
		WordCount:          321,
		ReadingTimeMinutes: 2,
		FleschReadingEase:  61.3,
	}
}

type (
	storeT = *store.Store
	dbT    = *mongo.Database
)

var storeMigrations = store.Migrations

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// damage marks ctx for test code that inspects or damages stored documents directly, which may
// break the store rule.
func damage(ctx context.Context) context.Context {
	return mongodb.WithScan(ctx, "test: inspecting or damaging stored documents")
}
