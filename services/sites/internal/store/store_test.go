package store_test

import (
	"log/slog"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/beaconcms/beacon/platform/apperr"
	"github.com/beaconcms/beacon/platform/mongodb"
	"github.com/beaconcms/beacon/platform/mongodb/mongodbtest"
	"github.com/beaconcms/beacon/services/sites/internal/domain"
	"github.com/beaconcms/beacon/services/sites/internal/store"
)

// newStore returns a Store on a fresh, migrated database (the store rule enforced).
func newStore(tb testing.TB) (*store.Store, *mongo.Database) {
	tb.Helper()
	db := mongodbtest.NewDatabase(tb)
	logger := slog.New(slog.NewTextHandler(tb.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	if err := mongodb.Migrate(tb.Context(), db, store.Migrations(""), logger); err != nil {
		tb.Fatalf("migrating: %v", err)
	}
	return store.New(db, mongodb.NewDocLocks(), logger), db
}

func wantCode(tb testing.TB, err error, code apperr.Code) {
	tb.Helper()
	e, ok := apperr.As(err)
	if !ok || e.Code != code {
		tb.Fatalf("error = %v, want code %v", err, code)
	}
}

// t0 is a time as the store keeps it (UTC, milliseconds).
var t0 = time.Date(2026, 3, 1, 12, 0, 0, 123_000_000, time.UTC)

func newSite(id string) *domain.Site {
	return &domain.Site{
		ID: id, DisplayName: "Site " + id, BaseURL: "https://" + id + ".example.org", DefaultLocale: "en",
		CrisisLineText: "Call 988", Public: true, CacheMaxAgeSeconds: 60, CreateTime: t0, UpdateTime: t0, Revision: 1,
	}
}

func TestCreateAndGet(t *testing.T) {
	st, _ := newStore(t)
	ctx := t.Context()
	want := newSite("kh")
	want.CreateTime = t0.Add(456 * time.Microsecond) // stored to the millisecond
	if err := st.Create(ctx, want); err != nil {
		t.Fatal(err)
	}
	got, err := st.Get(ctx, "kh")
	if err != nil {
		t.Fatal(err)
	}
	want.CreateTime = t0
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Get after Create (-want +got):\n%s", diff)
	}
	wantCode(t, st.Create(ctx, newSite("kh")), apperr.AlreadyExists)
	_, err = st.Get(ctx, "nowhere")
	wantCode(t, err, apperr.NotFound)
}

func TestSoftDeleteAndUndelete(t *testing.T) {
	st, _ := newStore(t)
	ctx := t.Context()
	site := newSite("kh")
	if err := st.Create(ctx, site); err != nil {
		t.Fatal(err)
	}
	deleted := *site
	deleted.DeleteTime, deleted.UpdateTime, deleted.Revision = t0.Add(time.Hour), t0.Add(time.Hour), 2
	if err := st.Update(ctx, &deleted, 1); err != nil {
		t.Fatal(err)
	}
	got, err := st.Get(ctx, "kh")
	if err != nil {
		t.Fatal(err)
	}
	if !got.Deleted() || !got.DeleteTime.Equal(t0.Add(time.Hour)) {
		t.Fatalf("after a soft delete Get = %+v, want it deleted at %v", got, t0.Add(time.Hour))
	}
	// The id of a deleted site is still taken.
	wantCode(t, st.Create(ctx, newSite("kh")), apperr.AlreadyExists)

	undeleted := *got
	undeleted.DeleteTime, undeleted.Revision = time.Time{}, 3
	if err := st.Update(ctx, &undeleted, 2); err != nil {
		t.Fatal(err)
	}
	got, err = st.Get(ctx, "kh")
	if err != nil {
		t.Fatal(err)
	}
	if got.Deleted() || got.Revision != 3 || got.DisplayName != site.DisplayName {
		t.Errorf("after an undelete Get = %+v, want the site back, not deleted, revision 3", got)
	}
}

func TestConditionalUpdate(t *testing.T) {
	st, _ := newStore(t)
	ctx := t.Context()
	if err := st.Create(ctx, newSite("kh")); err != nil {
		t.Fatal(err)
	}
	first := newSite("kh")
	first.DisplayName, first.Revision = "First", 2
	if err := st.Update(ctx, first, 1); err != nil {
		t.Fatal(err)
	}
	// A writer that read revision 1 too loses: Conflict, and its change is not stored.
	second := newSite("kh")
	second.DisplayName, second.Revision = "Second", 2
	wantCode(t, st.Update(ctx, second, 1), apperr.Conflict)
	if got, err := st.Get(ctx, "kh"); err != nil || got.DisplayName != "First" || got.Revision != 2 {
		t.Errorf("after a conflicting update Get = %+v, %v; want First at revision 2", got, err)
	}
	wantCode(t, st.Update(ctx, newSite("nowhere"), 0), apperr.NotFound)
}

// TestLegacyCopyMigration: the sites of an earlier release's content database are copied once;
// running the migrations again (another process, a restart) copies nothing twice and never
// overwrites a site the sites database already has.
func TestLegacyCopyMigration(t *testing.T) {
	legacy := mongodbtest.NewDatabase(t)
	db := mongodbtest.NewDatabase(t)
	ctx := mongodb.WithScan(t.Context(), "test setup and inspection")
	legacyDocs := []any{
		bson.D{{Key: "_id", Value: "old-a"}, {Key: "schemaVersion", Value: 1}, {Key: "displayName", Value: "Old A"},
			{Key: "baseUrl", Value: "https://a.example.org"}, {Key: "createTime", Value: t0}, {Key: "updateTime", Value: t0}, {Key: "revision", Value: int64(4)}},
		bson.D{{Key: "_id", Value: "both"}, {Key: "schemaVersion", Value: 1}, {Key: "displayName", Value: "Legacy copy"},
			{Key: "createTime", Value: t0}, {Key: "updateTime", Value: t0}, {Key: "revision", Value: int64(1)}},
	}
	if _, err := legacy.Collection("sites").InsertMany(ctx, legacyDocs); err != nil {
		t.Fatal(err)
	}
	migrate := func() {
		t.Helper()
		if err := mongodb.Migrate(t.Context(), db, store.Migrations(legacy.Name()), nil); err != nil {
			t.Fatalf("migrate: %v", err)
		}
	}
	// "both" exists in the sites database before the copy runs (step 1 creates the collection).
	if err := mongodb.Migrate(t.Context(), db, store.Migrations(legacy.Name())[:1], nil); err != nil {
		t.Fatal(err)
	}
	st := store.New(db, mongodb.NewDocLocks(), nil)
	current := newSite("both")
	current.DisplayName = "Current"
	if err := st.Create(t.Context(), current); err != nil {
		t.Fatal(err)
	}
	migrate()
	migrate()
	// Run step 2 again on its own, as a second process racing the first would.
	if err := store.Migrations(legacy.Name())[1].Up(ctx, db); err != nil {
		t.Fatalf("copy again: %v", err)
	}

	n, err := db.Collection("sites").CountDocuments(ctx, bson.D{})
	if err != nil {
		t.Fatal(err)
	}
	if n != 2 {
		t.Errorf("the sites database holds %d sites, want 2 (old-a copied once, both kept)", n)
	}
	got, err := st.Get(t.Context(), "old-a")
	if err != nil {
		t.Fatal(err)
	}
	if got.DisplayName != "Old A" || got.Revision != 4 || got.Deleted() || !got.CreateTime.Equal(t0) {
		t.Errorf("copied legacy site = %+v", got)
	}
	if got, err := st.Get(t.Context(), "both"); err != nil || got.DisplayName != "Current" {
		t.Errorf("a site already in the sites database = %+v, %v; want it kept as it was", got, err)
	}
}

// TestAllowedOriginsStored: a site's allowed origins round-trip, and a schema version 1
// document written before the setting existed (no allowedOrigins field) reads as a site that
// allows no origin.
func TestAllowedOriginsStored(t *testing.T) {
	st, db := newStore(t)
	ctx := t.Context()
	want := newSite("cors")
	want.AllowedOrigins = []string{"https://www.example.org", "http://localhost:5173"}
	if err := st.Create(ctx, want); err != nil {
		t.Fatal(err)
	}
	got, err := st.Get(ctx, "cors")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Get after Create (-want +got):\n%s", diff)
	}
	old := bson.D{{Key: "_id", Value: "before-cors"}, {Key: "schemaVersion", Value: 1}, {Key: "displayName", Value: "Old"},
		{Key: "baseUrl", Value: "https://old.example.org"}, {Key: "public", Value: true},
		{Key: "createTime", Value: t0}, {Key: "updateTime", Value: t0}, {Key: "revision", Value: int64(3)}}
	if _, err := db.Collection("sites").InsertOne(ctx, old); err != nil {
		t.Fatal(err)
	}
	got, err = st.Get(ctx, "before-cors")
	if err != nil {
		t.Fatal(err)
	}
	if got.AllowedOrigins != nil || got.DisplayName != "Old" || got.Revision != 3 {
		t.Errorf("old document read as %+v, want no allowed origins", got)
	}
}
