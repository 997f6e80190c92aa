package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/beaconcms/beacon/platform/apperr"
	"github.com/beaconcms/beacon/platform/auth"
	"github.com/beaconcms/beacon/platform/mongodb"
	"github.com/beaconcms/beacon/platform/mongodb/mongodbtest"
	"github.com/beaconcms/beacon/services/access/internal/domain"
	"github.com/beaconcms/beacon/services/access/internal/store"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// newStore returns a Store on a fresh, migrated database.
func newStore(tb testing.TB) (*store.Store, *mongo.Database) {
	tb.Helper()
	db := mongodbtest.NewDatabase(tb)
	if err := mongodb.Migrate(tb.Context(), db, store.Migrations(), nil); err != nil {
		tb.Fatalf("Migrate: %v", err)
	}
	return store.New(db, mongodb.NewDocLocks()), db
}

// testKey returns a valid key with id made from n and created at t0 + n seconds.
func testKey(n int, site string) domain.Key {
	return domain.Key{
		ID:          fmt.Sprintf("%016x", n),
		DisplayName: fmt.Sprintf("key %d", n),
		Role:        auth.RoleEditor,
		Site:        site,
		CreateTime:  t0.Add(time.Duration(n) * time.Second),
		Prefix:      fmt.Sprintf("bk_%08x", n),
		SecretHash:  []byte(fmt.Sprintf("hash-%d", n)),
	}
}

func mustCreate(tb testing.TB, s *store.Store, keys ...domain.Key) {
	tb.Helper()
	for _, k := range keys {
		if err := s.Create(tb.Context(), k); err != nil {
			tb.Fatalf("Create(%s): %v", k.ID, err)
		}
	}
}

func TestCreateGet(t *testing.T) {
	s, _ := newStore(t)
	ctx := t.Context()
	want := testKey(1, "kratom-help")
	want.Role = auth.RoleDelivery
	mustCreate(t, s, want)

	got, err := s.Get(ctx, want.ID)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Get (-want +got):\n%s", diff)
	}

	if err := s.Create(ctx, want); !apperr.Is(err, apperr.AlreadyExists) {
		t.Errorf("Create again: %v, want AlreadyExists", err)
	}
	if _, err := s.Get(ctx, "00000000000000ff"); !apperr.Is(err, apperr.NotFound) {
		t.Errorf("Get(unknown): %v, want NotFound", err)
	}
}

func TestStoredDocument(t *testing.T) {
	s, db := newStore(t)
	k := testKey(1, "")
	mustCreate(t, s, k)

	var doc bson.M
	if err := db.Collection(store.Collection).FindOne(t.Context(), bson.D{{Key: "_id", Value: k.ID}}).Decode(&doc); err != nil {
		t.Fatalf("reading the raw document: %v", err)
	}
	if doc["schemaVersion"] != int32(1) || doc["role"] != "editor" || doc["site"] != "" {
		t.Errorf("stored document = %v, want schemaVersion 1, role \"editor\", site \"\"", doc)
	}
	if _, ok := doc["revokeTime"]; ok {
		t.Errorf("active key has a revokeTime field: %v", doc)
	}
}

func TestGetRefusesUnknownSchemaVersion(t *testing.T) {
	s, db := newStore(t)
	_, err := db.Collection(store.Collection).InsertOne(t.Context(), bson.D{
		{Key: "_id", Value: "00000000000000aa"}, {Key: "schemaVersion", Value: 99}, {Key: "role", Value: "admin"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(t.Context(), "00000000000000aa"); err == nil || apperr.CodeOf(err) != "" {
		t.Errorf("Get of a schemaVersion 99 document: %v, want an internal error", err)
	}
}

func TestRevoke(t *testing.T) {
	s, _ := newStore(t)
	ctx := t.Context()
	k := testKey(1, "")
	mustCreate(t, s, k)

	first := t0.Add(time.Hour)
	got, err := s.Revoke(ctx, k.ID, first)
	if err != nil {
		t.Fatalf("Revoke: %v", err)
	}
	want := k
	want.RevokeTime = first
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Revoke (-want +got):\n%s", diff)
	}

	// Revoking again succeeds and keeps the first time.
	got, err = s.Revoke(ctx, k.ID, first.Add(time.Hour))
	if err != nil {
		t.Fatalf("Revoke again: %v", err)
	}
	if !got.RevokeTime.Equal(first) {
		t.Errorf("after revoking twice, RevokeTime = %v, want the first %v", got.RevokeTime, first)
	}
	if stored, err := s.Get(ctx, k.ID); err != nil || !stored.RevokeTime.Equal(first) {
		t.Errorf("Get after revoking twice = %v, %v; want RevokeTime %v", stored.RevokeTime, err, first)
	}

	if _, err := s.Revoke(ctx, "00000000000000ff", first); !apperr.Is(err, apperr.NotFound) {
		t.Errorf("Revoke(unknown): %v, want NotFound", err)
	}
}

func TestList(t *testing.T) {
	s, _ := newStore(t)
	ctx := t.Context()
	// Keys 1..7; 3 and 4 share a CreateTime, so the ID orders them; 2, 5 and 7 are for "a".
	var keys []domain.Key
	for n := 1; n <= 7; n++ {
		site := ""
		if n == 2 || n == 5 || n == 7 {
			site = "a"
		}
		k := testKey(n, site)
		if n == 4 {
			k.CreateTime = keys[2].CreateTime
		}
		keys = append(keys, k)
	}
	// Insert in an order unrelated to the listing order.
	for _, i := range []int{3, 0, 6, 2, 5, 1, 4} {
		mustCreate(t, s, keys[i])
	}
	ids := func(ns ...int) []string {
		var out []string
		for _, n := range ns {
			out = append(out, keys[n-1].ID)
		}
		return out
	}

	tests := []struct {
		name  string
		site  string
		size  int
		pages [][]string
	}{
		{name: "all in one page", size: 100, pages: [][]string{ids(7, 6, 5, 4, 3, 2, 1)}},
		{name: "pages of 3", size: 3, pages: [][]string{ids(7, 6, 5), ids(4, 3, 2), ids(1)}},
		{name: "pages of 4 split the equal times", size: 4, pages: [][]string{ids(7, 6, 5, 4), ids(3, 2, 1)}},
		{name: "exact pages", size: 7, pages: [][]string{ids(7, 6, 5, 4, 3, 2, 1)}},
		{name: "one site", site: "a", size: 2, pages: [][]string{ids(7, 5), ids(2)}},
		{name: "unknown site", site: "b", size: 2, pages: [][]string{nil}},
		{name: "size 0 means 1", size: 0, pages: [][]string{ids(7), ids(6), ids(5), ids(4), ids(3), ids(2), ids(1)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got [][]string
			after := domain.Cursor{}
			for i := 0; ; i++ {
				if i > 10 {
					t.Fatalf("more than 10 pages: %v", got)
				}
				page, err := s.List(ctx, domain.ListQuery{Site: tt.site, PageSize: tt.size, After: after})
				if err != nil {
					t.Fatalf("List: %v", err)
				}
				var pageIDs []string
				for _, k := range page.Keys {
					pageIDs = append(pageIDs, k.ID)
				}
				got = append(got, pageIDs)
				if page.Next.IsZero() {
					break
				}
				after = page.Next
			}
			if diff := cmp.Diff(tt.pages, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("pages (-want +got):\n%s", diff)
			}
		})
	}
}

func TestListIsBounded(t *testing.T) {
	s, _ := newStore(t)
	for n := 1; n <= domain.MaxPageSize+5; n++ {
		mustCreate(t, s, testKey(n, ""))
	}
	page, err := s.List(t.Context(), domain.ListQuery{PageSize: 1000})
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	if len(page.Keys) != domain.MaxPageSize || page.Next.IsZero() {
		t.Errorf("List(PageSize 1000) = %d keys, next %v; want %d keys and a next page", len(page.Keys), page.Next, domain.MaxPageSize)
	}
}

func TestHasActiveAdmin(t *testing.T) {
	admin := func(n int, site string) domain.Key {
		k := testKey(n, site)
		k.Role = auth.RoleAdmin
		return k
	}
	tests := []struct {
		name   string
		keys   []domain.Key
		revoke []string
		want   bool
	}{
		{name: "no keys", want: false},
		{name: "editor only", keys: []domain.Key{testKey(1, "")}, want: false},
		{name: "site admin only", keys: []domain.Key{admin(1, "a")}, want: false},
		{name: "revoked admin", keys: []domain.Key{admin(1, "")}, revoke: []string{admin(1, "").ID}, want: false},
		{name: "active admin", keys: []domain.Key{admin(1, "")}, want: true},
		{name: "one of two admins revoked", keys: []domain.Key{admin(1, ""), admin(2, "")}, revoke: []string{admin(1, "").ID}, want: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := newStore(t)
			mustCreate(t, s, tt.keys...)
			for _, id := range tt.revoke {
				if _, err := s.Revoke(t.Context(), id, t0); err != nil {
					t.Fatal(err)
				}
			}
			got, err := s.HasActiveAdmin(t.Context())
			if err != nil || got != tt.want {
				t.Errorf("HasActiveAdmin() = %v, %v; want %v", got, err, tt.want)
			}
		})
	}
}

func TestMigrationsAreIdempotent(t *testing.T) {
	db := mongodbtest.NewDatabase(t)
	for _, m := range store.Migrations() {
		for i := range 2 {
			if err := m.Up(t.Context(), db); err != nil {
				t.Fatalf("migration %d, run %d: %v", m.Version, i+1, err)
			}
		}
	}
	specs, err := db.Collection(store.Collection).Indexes().ListSpecifications(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range specs {
		names = append(names, s.Name)
	}
	if diff := cmp.Diff([]string{"_id_", "newest_first", "site_newest_first"}, names, cmpopts.SortSlices(func(a, b string) bool { return a < b })); diff != "" {
		t.Errorf("indexes (-want +got):\n%s", diff)
	}
}
