package mongodb_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/beaconcms/beacon/platform/mongodb"
	"github.com/beaconcms/beacon/platform/mongodb/mongodbtest"
)

// calls records which migration steps ran, in order.
type calls struct {
	mu       sync.Mutex
	versions []int
}

func (c *calls) step(version int) mongodb.Migration {
	return mongodb.Migration{
		Version:     version,
		Description: fmt.Sprintf("step %d", version),
		Up: func(context.Context, *mongo.Database) error {
			c.mu.Lock()
			defer c.mu.Unlock()
			c.versions = append(c.versions, version)
			return nil
		},
	}
}

func (c *calls) take() []int {
	c.mu.Lock()
	defer c.mu.Unlock()
	v := c.versions
	c.versions = nil
	return v
}

type record struct {
	Version     int    `bson:"_id"`
	Description string `bson:"description"`
}

// recorded returns the migration records in db, by version.
func recorded(tb testing.TB, db *mongo.Database) []record {
	tb.Helper()
	cur, err := db.Collection(mongodb.MigrationsCollection).Find(tb.Context(), bson.D{}, options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}))
	if err != nil {
		tb.Fatalf("reading %s: %v", mongodb.MigrationsCollection, err)
	}
	var recs []record
	if err := cur.All(tb.Context(), &recs); err != nil {
		tb.Fatalf("reading %s: %v", mongodb.MigrationsCollection, err)
	}
	return recs
}

func records(versions ...int) []record {
	var recs []record
	for _, v := range versions {
		recs = append(recs, record{Version: v, Description: fmt.Sprintf("step %d", v)})
	}
	return recs
}

// loggedVersions returns the versions of the "applied migration" log records.
func loggedVersions(rec *recorder) []int {
	var vs []int
	for _, r := range rec.all() {
		if r.Message == "applied migration" && r.Level == slog.LevelInfo {
			vs = append(vs, int(attr(r, "version").Int64()))
		}
	}
	return vs
}

func TestMigrateAppliesPendingStepsInOrderOnce(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	db := mongodbtest.NewDatabase(t)
	c := &calls{}

	runs := []struct {
		name       string
		migrations []mongodb.Migration
		wantCalls  []int
		wantRecs   []record
	}{
		{"first run applies all", []mongodb.Migration{c.step(1), c.step(2), c.step(5)}, []int{1, 2, 5}, records(1, 2, 5)},
		{"re-run is a no-op", []mongodb.Migration{c.step(1), c.step(2), c.step(5)}, nil, records(1, 2, 5)},
		{"new steps only", []mongodb.Migration{c.step(1), c.step(2), c.step(5), c.step(6), c.step(7)}, []int{6, 7}, records(1, 2, 5, 6, 7)},
		{"a step missed in between", []mongodb.Migration{c.step(1), c.step(2), c.step(3), c.step(5), c.step(6), c.step(7)}, []int{3}, records(1, 2, 3, 5, 6, 7)},
	}
	for _, run := range runs { // sequential: each run builds on the one before
		rec := &recorder{}
		if err := mongodb.Migrate(ctx, db, run.migrations, slog.New(rec)); err != nil {
			t.Fatalf("%s: Migrate: %v", run.name, err)
		}
		if diff := cmp.Diff(run.wantCalls, c.take()); diff != "" {
			t.Errorf("%s: steps run (-want +got):\n%s", run.name, diff)
		}
		if diff := cmp.Diff(run.wantCalls, loggedVersions(rec)); diff != "" {
			t.Errorf("%s: steps logged (-want +got):\n%s", run.name, diff)
		}
		if diff := cmp.Diff(run.wantRecs, recorded(t, db)); diff != "" {
			t.Errorf("%s: records (-want +got):\n%s", run.name, diff)
		}
	}
}

func TestMigrateRejectsBadLists(t *testing.T) {
	t.Parallel()
	c := &calls{}
	noUp := c.step(2)
	noUp.Up = nil
	tests := []struct {
		name       string
		migrations []mongodb.Migration
	}{
		{"duplicate version", []mongodb.Migration{c.step(1), c.step(2), c.step(2)}},
		{"descending versions", []mongodb.Migration{c.step(1), c.step(3), c.step(2)}},
		{"zero version", []mongodb.Migration{c.step(0), c.step(1)}},
		{"negative version", []mongodb.Migration{c.step(-1)}},
		{"nil Up", []mongodb.Migration{c.step(1), noUp}},
	}
	db := mongodbtest.NewDatabase(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := mongodb.Migrate(t.Context(), db, tt.migrations, nil); err == nil {
				t.Error("Migrate succeeded, want an error")
			}
			if got := c.take(); len(got) > 0 {
				t.Errorf("steps %v ran, want none", got)
			}
			if got := recorded(t, db); len(got) > 0 {
				t.Errorf("records %v, want none", got)
			}
		})
	}
}

func TestMigrateStopsAtAFailingStep(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	db := mongodbtest.NewDatabase(t)
	c := &calls{}
	errBoom := errors.New("boom")
	failing := c.step(2)
	failing.Up = func(context.Context, *mongo.Database) error { return errBoom }

	err := mongodb.Migrate(ctx, db, []mongodb.Migration{c.step(1), failing, c.step(3)}, nil)
	if !errors.Is(err, errBoom) {
		t.Fatalf("Migrate = %v, want an error wrapping %v", err, errBoom)
	}
	if diff := cmp.Diff([]int{1}, c.take()); diff != "" {
		t.Errorf("steps run (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(records(1), recorded(t, db)); diff != "" {
		t.Errorf("records after the failure (-want +got):\n%s", diff)
	}

	if err := mongodb.Migrate(ctx, db, []mongodb.Migration{c.step(1), c.step(2), c.step(3)}, nil); err != nil {
		t.Fatalf("Migrate after the fix: %v", err)
	}
	if diff := cmp.Diff([]int{2, 3}, c.take()); diff != "" {
		t.Errorf("steps run after the fix (-want +got):\n%s", diff)
	}
}

func TestMigrateWarnsAboutUnknownRecordedVersions(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	db := mongodbtest.NewDatabase(t)
	c := &calls{}
	if err := mongodb.Migrate(ctx, db, []mongodb.Migration{c.step(1), c.step(2), c.step(3)}, nil); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	rec := &recorder{}
	if err := mongodb.Migrate(ctx, db, []mongodb.Migration{c.step(1)}, slog.New(rec)); err != nil {
		t.Fatalf("Migrate with an older list: %v", err)
	}
	var warned []int64
	for _, r := range rec.all() {
		if r.Level == slog.LevelWarn {
			if vs, ok := attr(r, "versions").Any().([]int); ok {
				for _, v := range vs {
					warned = append(warned, int64(v))
				}
			}
		}
	}
	if diff := cmp.Diff([]int64{2, 3}, warned); diff != "" {
		t.Errorf("versions warned about (-want +got):\n%s", diff)
	}
}

// schema is a realistic list of steps: collections with indexes.
var schema = []mongodb.Migration{
	{Version: 1, Description: "sites", Up: func(ctx context.Context, db *mongo.Database) error {
		return mongodb.EnsureIndexes(ctx, db.Collection("sites"), []mongo.IndexModel{
			{Keys: bson.D{{Key: "slug", Value: 1}}, Options: options.Index().SetUnique(true)},
		})
	}},
	{Version: 2, Description: "articles", Up: func(ctx context.Context, db *mongo.Database) error {
		return mongodb.EnsureIndexes(ctx, db.Collection("articles"), []mongo.IndexModel{
			{Keys: bson.D{{Key: "site_id", Value: 1}, {Key: "slug", Value: 1}}, Options: options.Index().SetUnique(true)},
			{Keys: bson.D{{Key: "tags", Value: 1}}},
		})
	}},
	{Version: 3, Description: "api keys", Up: func(ctx context.Context, db *mongo.Database) error {
		return mongodb.EnsureIndexes(ctx, db.Collection("api_keys"), []mongo.IndexModel{
			{Keys: bson.D{{Key: "hash", Value: 1}}, Options: options.Index().SetUnique(true)},
		})
	}},
}

func TestMigrateConcurrently(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	db := mongodbtest.NewDatabase(t)
	const replicas = 3
	var wg sync.WaitGroup
	errs := make([]error, replicas)
	for i := range replicas {
		wg.Go(func() { errs[i] = mongodb.Migrate(ctx, db, schema, nil) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("replica %d: Migrate: %v", i, err)
		}
	}
	want := []record{{1, "sites"}, {2, "articles"}, {3, "api keys"}}
	if diff := cmp.Diff(want, recorded(t, db)); diff != "" {
		t.Errorf("records (-want +got):\n%s", diff)
	}
	// The unique index of step 1 is in place.
	sites := db.Collection("sites")
	if _, err := sites.InsertOne(ctx, bson.D{{Key: "slug", Value: "s"}}); err != nil {
		t.Fatalf("InsertOne: %v", err)
	}
	if _, err := sites.InsertOne(ctx, bson.D{{Key: "slug", Value: "s"}}); !mongodb.IsDuplicateKey(err) {
		t.Errorf("second insert of slug s: %v, want a duplicate key error", err)
	}
}

func TestEnsureIndexes(t *testing.T) {
	t.Parallel()
	uniqueSlug := mongo.IndexModel{Keys: bson.D{{Key: "slug", Value: 1}}, Options: options.Index().SetUnique(true)}
	tests := []struct {
		name    string
		first   []mongo.IndexModel
		then    []mongo.IndexModel
		wantErr bool
		wantIdx map[string]bool // index name -> unique, after both calls
	}{
		{
			name:    "same indexes twice",
			first:   []mongo.IndexModel{uniqueSlug, {Keys: bson.D{{Key: "site", Value: 1}, {Key: "at", Value: -1}}}},
			then:    []mongo.IndexModel{uniqueSlug, {Keys: bson.D{{Key: "site", Value: 1}, {Key: "at", Value: -1}}}},
			wantIdx: map[string]bool{"_id_": false, "slug_1": true, "site_1_at_-1": false},
		},
		{
			name:    "sparse unique twice",
			first:   []mongo.IndexModel{{Keys: bson.D{{Key: "email", Value: 1}}, Options: options.Index().SetUnique(true).SetSparse(true)}},
			then:    []mongo.IndexModel{{Keys: bson.D{{Key: "email", Value: 1}}, Options: options.Index().SetUnique(true).SetSparse(true)}},
			wantIdx: map[string]bool{"_id_": false, "email_1": true},
		},
		{
			name:    "an added index",
			first:   []mongo.IndexModel{uniqueSlug},
			then:    []mongo.IndexModel{uniqueSlug, {Keys: bson.D{{Key: "tags", Value: 1}}, Options: options.Index().SetName("by_tag")}},
			wantIdx: map[string]bool{"_id_": false, "slug_1": true, "by_tag": false},
		},
		{
			name:    "a new index after existing ones in one call",
			first:   []mongo.IndexModel{uniqueSlug, {Keys: bson.D{{Key: "tags", Value: 1}}}},
			then:    []mongo.IndexModel{uniqueSlug, {Keys: bson.D{{Key: "tags", Value: 1}}}, {Keys: bson.D{{Key: "at", Value: -1}}}},
			wantIdx: map[string]bool{"_id_": false, "slug_1": true, "tags_1": false, "at_-1": false},
		},
		{
			name:    "no indexes",
			first:   nil,
			then:    []mongo.IndexModel{},
			wantIdx: map[string]bool{},
		},
		{
			name:    "unique dropped from an existing index",
			first:   []mongo.IndexModel{uniqueSlug},
			then:    []mongo.IndexModel{{Keys: bson.D{{Key: "slug", Value: 1}}}},
			wantErr: true,
		},
		{
			name:    "unique added to an existing index",
			first:   []mongo.IndexModel{{Keys: bson.D{{Key: "slug", Value: 1}}}},
			then:    []mongo.IndexModel{uniqueSlug},
			wantErr: true,
		},
		{
			name:    "other keys under an existing name",
			first:   []mongo.IndexModel{{Keys: bson.D{{Key: "slug", Value: 1}}, Options: options.Index().SetName("k")}},
			then:    []mongo.IndexModel{{Keys: bson.D{{Key: "title", Value: 1}}, Options: options.Index().SetName("k")}},
			wantErr: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			coll := mongodbtest.NewDatabase(t).Collection("c")
			if err := mongodb.EnsureIndexes(ctx, coll, tt.first); err != nil {
				t.Fatalf("first EnsureIndexes: %v", err)
			}
			err := mongodb.EnsureIndexes(ctx, coll, tt.then)
			if tt.wantErr {
				if err == nil {
					t.Error("second EnsureIndexes succeeded, want an error")
				}
				return
			}
			if err != nil {
				t.Fatalf("second EnsureIndexes: %v", err)
			}
			specs, err := coll.Indexes().ListSpecifications(ctx)
			if err != nil {
				t.Fatalf("ListSpecifications: %v", err)
			}
			got := map[string]bool{}
			for _, s := range specs {
				got[s.Name] = s.Unique != nil && *s.Unique
			}
			if diff := cmp.Diff(tt.wantIdx, got); diff != "" {
				t.Errorf("indexes (-want +got):\n%s", diff)
			}
		})
	}
}
