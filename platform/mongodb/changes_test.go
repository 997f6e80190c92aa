package mongodb_test

import (
	"path/filepath"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/beaconcms/beacon/platform/mongodb"
)

// TestEmbeddedChangesTellEveryCommit: a watcher of one database hears of every write to it by
// any client, within the look's four seconds, and of nothing else: not of reads, not of writes to
// another database, and not while nothing happens.
func TestEmbeddedChangesTellEveryCommit(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	e := startEmbedded(t, filepath.Join(t.TempDir(), "store"), nil)
	writer, err := mongodb.Connect(ctx, e.URI()) // stands for any client, this process's or another's
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = writer.Disconnect(ctx) })
	watched := writer.Database("watched").Collection("items")
	other := writer.Database("other").Collection("items")
	if _, err := watched.InsertOne(ctx, bson.D{{Key: "_id", Value: "a"}, {Key: "n", Value: 1}}); err != nil {
		t.Fatal(err)
	}
	if _, err := other.InsertOne(ctx, bson.D{{Key: "_id", Value: "a"}}); err != nil {
		t.Fatal(err)
	}

	changed, stop := e.Changes("watched").Watch()
	defer stop()
	heard := func(within time.Duration) bool {
		select {
		case <-changed:
			return true
		case <-time.After(within):
			return false
		}
	}
	heard(3 * time.Second) // the writes above, if the loop had not looked since
	if heard(3 * time.Second) {
		t.Fatal("a notice with nothing written")
	}

	// Reads and another database's writes: nothing.
	var doc bson.M
	if err := watched.FindOne(ctx, bson.D{{Key: "_id", Value: "a"}}).Decode(&doc); err != nil {
		t.Fatal(err)
	}
	if _, err := other.ReplaceOne(ctx, bson.D{{Key: "_id", Value: "a"}}, bson.D{{Key: "n", Value: 2}}); err != nil {
		t.Fatal(err)
	}
	if heard(3 * time.Second) {
		t.Fatal("a notice for a read and another database's write")
	}

	// A write to the database: heard within the look's spacing (4 s; 8 s allows for a busy machine).
	written := time.Now()
	if _, err := watched.ReplaceOne(ctx, bson.D{{Key: "_id", Value: "a"}}, bson.D{{Key: "n", Value: 2}}); err != nil {
		t.Fatal(err)
	}
	if !heard(8 * time.Second) {
		t.Fatal("a write to the watched database was not told within 8 s")
	}
	t.Logf("told %s after the write", time.Since(written).Round(time.Millisecond))

	// After stop, nothing more arrives.
	stop()
	if _, err := watched.InsertOne(ctx, bson.D{{Key: "_id", Value: "b"}}); err != nil {
		t.Fatal(err)
	}
	if heard(3 * time.Second) {
		t.Fatal("a notice after stop")
	}
}
