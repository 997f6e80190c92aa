package mongodb_test

import (
	"database/sql"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/beaconcms/beacon/platform/mongodb"
)

// queryPlan returns SQLite's plan for FerretDB's _id lookup on collection coll of database dbName.
func queryPlan(tb testing.TB, dataDir, dbName, coll string) string {
	tb.Helper()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dataDir, dbName+".sqlite"))
	if err != nil {
		tb.Fatal(err)
	}
	defer db.Close()
	var table string
	if err := db.QueryRow(`SELECT table_name FROM _ferretdb_collections WHERE name = ?`, coll).Scan(&table); err != nil {
		tb.Fatalf("finding the table of %s: %v", coll, err)
	}
	rows, err := db.Query(`EXPLAIN QUERY PLAN SELECT _ferretdb_sjson FROM "`+table+`" WHERE _ferretdb_sjson->'$._id' = ?`, `"x"`)
	if err != nil {
		tb.Fatal(err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			tb.Fatal(err)
		}
		plan = append(plan, detail)
	}
	return strings.Join(plan, "; ")
}

// The embedded store makes FerretDB's _id lookups use an index: for collections that exist when
// it starts, for those created later (within a few seconds, or at once with IndexIDLookups), and
// in databases created later.
func TestEmbeddedIndexesIDLookups(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	dir := filepath.Join(t.TempDir(), "store")

	first := startEmbedded(t, dir, nil)
	client, err := mongodb.Connect(ctx, first.URI())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.Database("before").Collection("articles").InsertOne(ctx, bson.D{{Key: "_id", Value: "a"}}); err != nil {
		t.Fatal(err)
	}
	if err := first.IndexIDLookups(ctx); err != nil {
		t.Fatalf("IndexIDLookups: %v", err)
	}
	if plan := queryPlan(t, dir, "before", "articles"); !strings.Contains(plan, "USING INDEX") {
		t.Errorf("after IndexIDLookups, the _id lookup plan is %q, want an index search", plan)
	}

	// A database and a collection created while it runs are indexed by its loop.
	if _, err := client.Database("later").Collection("resources").InsertOne(ctx, bson.D{{Key: "_id", Value: "r"}}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(queryPlan(t, dir, "later", "resources"), "USING INDEX") {
		if time.Now().After(deadline) {
			t.Fatalf("a collection created after start was not indexed within 10 s: plan %q", queryPlan(t, dir, "later", "resources"))
		}
		time.Sleep(100 * time.Millisecond)
	}

	// FerretDB does not see the index as a MongoDB index, and point reads still work.
	specs, err := client.Database("later").Collection("resources").Indexes().ListSpecifications(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(specs) != 1 || specs[0].Name != "_id_" {
		t.Errorf("indexes listed = %+v, want only _id_", specs)
	}
	var got bson.M
	if err := client.Database("before").Collection("articles").FindOne(ctx, bson.D{{Key: "_id", Value: "a"}}).Decode(&got); err != nil {
		t.Errorf("FindOne by _id: %v", err)
	}
	if err := client.Disconnect(ctx); err != nil {
		t.Fatal(err)
	}
}
