package mongodb_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"go.mongodb.org/mongo-driver/v2/x/mongo/driver/topology"

	"github.com/beaconcms/beacon/platform/mongodb"
	"github.com/beaconcms/beacon/platform/mongodb/mongodbtest"
)

// ferretUniqueErr is what FerretDB v1 (SQLite) returns when an update violates a unique index.
var ferretUniqueErr = mongo.CommandError{
	Code:    1,
	Name:    "InternalError",
	Message: "[msg_update.go:133 handler.(*Handler).updateDocument] constraint failed: UNIQUE constraint failed: index 'c_e60c2c52_slug_1' (2067)",
}

func TestIsDuplicateKeyClassifies(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"E11000 write error", mongo.WriteException{WriteErrors: mongo.WriteErrors{{Code: 11000, Message: "E11000 duplicate key error"}}}, true},
		{"E11000 command error", mongo.CommandError{Code: 11000}, true},
		{"E11000 in a bulk write", mongo.BulkWriteException{WriteErrors: []mongo.BulkWriteError{{WriteError: mongo.WriteError{Code: 11000}}}}, true},
		{"FerretDB UNIQUE constraint", ferretUniqueErr, true},
		{"FerretDB UNIQUE constraint, wrapped", fmt.Errorf("saving article: %w", ferretUniqueErr), true},
		{"other InternalError", mongo.CommandError{Code: 1, Name: "InternalError", Message: "database is locked"}, false},
		{"UNIQUE constraint text with another code", mongo.CommandError{Code: 2, Message: "UNIQUE constraint failed"}, false},
		{"UNIQUE constraint text, not a server error", errors.New("UNIQUE constraint failed"), false},
		{"other write error", mongo.WriteException{WriteErrors: mongo.WriteErrors{{Code: 121, Message: "Document failed validation"}}}, false},
		{"no documents", mongo.ErrNoDocuments, false},
		{"deadline", context.DeadlineExceeded, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := mongodb.IsDuplicateKey(tt.err); got != tt.want {
				t.Errorf("IsDuplicateKey(%v) = %t, want %t", tt.err, got, tt.want)
			}
		})
	}
}

func TestIsDuplicateKeyOnServer(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	coll := mongodbtest.NewDatabase(t, mongodbtest.AllowScans("checks the error shapes of every kind of write, scans included")).Collection("articles")
	err := mongodb.EnsureIndexes(ctx, coll, []mongo.IndexModel{
		{Keys: bson.D{{Key: "slug", Value: 1}}, Options: options.Index().SetUnique(true)},
	})
	if err != nil {
		t.Fatalf("EnsureIndexes: %v", err)
	}
	if _, err := coll.InsertMany(ctx, []any{
		bson.D{{Key: "_id", Value: "a"}, {Key: "slug", Value: "taken"}},
		bson.D{{Key: "_id", Value: "b"}, {Key: "slug", Value: "free"}},
	}); err != nil {
		t.Fatalf("InsertMany: %v", err)
	}
	byID := func(id string) bson.D { return bson.D{{Key: "_id", Value: id}} }
	setSlug := func(slug string) bson.D {
		return bson.D{{Key: "$set", Value: bson.D{{Key: "slug", Value: slug}}}}
	}

	tests := []struct {
		name string
		op   func() error
		want bool
	}{
		{"insert of a taken slug", func() error {
			_, err := coll.InsertOne(ctx, bson.D{{Key: "_id", Value: "c"}, {Key: "slug", Value: "taken"}})
			return err
		}, true},
		{"insert of a taken _id", func() error {
			_, err := coll.InsertOne(ctx, bson.D{{Key: "_id", Value: "a"}, {Key: "slug", Value: "other"}})
			return err
		}, true},
		{"upsert inserting a taken slug", func() error {
			_, err := coll.UpdateOne(ctx, byID("new"), setSlug("taken"), options.UpdateOne().SetUpsert(true))
			return err
		}, true},
		{"updateOne to a taken slug", func() error {
			_, err := coll.UpdateOne(ctx, byID("b"), setSlug("taken"))
			return err
		}, true},
		{"replaceOne to a taken slug", func() error {
			_, err := coll.ReplaceOne(ctx, byID("b"), bson.D{{Key: "slug", Value: "taken"}})
			return err
		}, true},
		{"findOneAndUpdate to a taken slug", func() error {
			return coll.FindOneAndUpdate(ctx, byID("b"), setSlug("taken")).Err()
		}, true},
		{"findOneAndUpdate of a missing document", func() error {
			return coll.FindOneAndUpdate(ctx, byID("missing"), setSlug("taken")).Err()
		}, false},
		{"bad update operator", func() error {
			_, err := coll.UpdateOne(ctx, byID("b"), bson.D{{Key: "$noSuchOp", Value: bson.D{{Key: "x", Value: 1}}}})
			return err
		}, false},
		{"unknown command", func() error {
			return coll.Database().RunCommand(ctx, bson.D{{Key: "noSuchCommand", Value: 1}}).Err()
		}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.op()
			if err == nil {
				t.Fatal("operation succeeded, want an error")
			}
			if got := mongodb.IsDuplicateKey(err); got != tt.want {
				t.Errorf("IsDuplicateKey(%v) = %t, want %t", err, got, tt.want)
			}
		})
	}

	// The update cases above cover FerretDB's InternalError form only while FerretDB still returns it.
	if os.Getenv(mongodbtest.EnvURI) == "" {
		_, err := coll.UpdateOne(ctx, byID("b"), setSlug("taken"))
		if mongo.IsDuplicateKeyError(err) || err == nil || !strings.Contains(err.Error(), "UNIQUE constraint failed") {
			t.Errorf("FerretDB's update error changed form, got %v: revisit IsDuplicateKey and its docs", err)
		}
	}
	var b bson.M
	if err := coll.FindOne(ctx, byID("b")).Decode(&b); err != nil || b["slug"] != "free" {
		t.Errorf("document b after failed updates = %v (err %v), want slug \"free\"", b, err)
	}
}

func TestIsUnavailableClassifies(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"server selection timeout", topology.ServerSelectionError{Wrapped: context.DeadlineExceeded}, true},
		{"server selection timeout, wrapped", fmt.Errorf("loading: %w", topology.ServerSelectionError{Wrapped: context.DeadlineExceeded}), true},
		{"server selection canceled by the caller", topology.ServerSelectionError{Wrapped: context.Canceled}, false},
		{"network error label", mongo.CommandError{Labels: []string{"NetworkError"}}, true},
		{"connection error", topology.ConnectionError{Wrapped: errors.New("connection refused")}, true},
		{"pool checkout timeout", topology.WaitQueueTimeoutError{Wrapped: context.DeadlineExceeded}, true},
		{"client disconnected", mongo.ErrClientDisconnected, true},
		{"shutdown in progress", mongo.CommandError{Code: 91, Name: "ShutdownInProgress"}, true},
		{"not writable primary (write error)", mongo.WriteException{WriteErrors: mongo.WriteErrors{{Code: 10107}}}, true},
		{"duplicate key", mongo.WriteException{WriteErrors: mongo.WriteErrors{{Code: 11000}}}, false},
		{"bad value", mongo.CommandError{Code: 2, Name: "BadValue"}, false},
		{"no documents", mongo.ErrNoDocuments, false},
		{"caller's deadline on a reachable store", context.DeadlineExceeded, false},
		{"caller canceled", context.Canceled, false},
		{"plain error", errors.New("boom"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := mongodb.IsUnavailable(tt.err); got != tt.want {
				t.Errorf("IsUnavailable(%v) = %t, want %t", tt.err, got, tt.want)
			}
		})
	}
}

// closedAddr returns a loopback address nothing listens on.
func closedAddr(tb testing.TB) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		tb.Fatal(err)
	}
	return addr
}

func TestConnectUnreachable(t *testing.T) {
	t.Parallel()
	addr := closedAddr(t)
	tests := []struct {
		name    string
		uri     string
		timeout time.Duration // of ctx
		within  time.Duration // Connect must return by then
	}{
		{"bounded by ctx", "mongodb://" + addr + "/", 300 * time.Millisecond, 3 * time.Second},
		{"URI's serverSelectionTimeoutMS wins over the 5s default", "mongodb://" + addr + "/?serverSelectionTimeoutMS=200", time.Minute, 3 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(t.Context(), tt.timeout)
			defer cancel()
			start := time.Now()
			client, err := mongodb.Connect(ctx, tt.uri)
			if err == nil {
				_ = client.Disconnect(context.Background())
				t.Fatal("Connect succeeded, want an error")
			}
			if took := time.Since(start); took > tt.within {
				t.Errorf("Connect took %v, want under %v", took, tt.within)
			}
			if !mongodb.IsUnavailable(err) {
				t.Errorf("IsUnavailable(%v) = false, want true", err)
			}
		})
	}
}

func TestConnectBadURI(t *testing.T) {
	t.Parallel()
	for _, uri := range []string{"", "http://localhost/", "mongodb://host/?serverSelectionTimeoutMS=abc"} {
		client, err := mongodb.Connect(t.Context(), uri)
		if err == nil {
			_ = client.Disconnect(context.Background())
			t.Errorf("Connect(%q) succeeded, want an error", uri)
		}
	}
}

func TestIsUnavailableWhenNetworkDrops(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	db := mongodbtest.NewDatabase(t) // creates the database on the shared server
	u, err := url.PathUnescape(strings.TrimSuffix(strings.TrimPrefix(mongodbtest.URI(t), "mongodb://"), "/"))
	if err != nil || strings.ContainsAny(u, "?,@") || (!strings.HasPrefix(u, "/") && strings.Contains(u, "/")) {
		t.Skipf("cannot proxy %q: not a single host:port or socket", mongodbtest.URI(t))
	}
	p := startProxy(t, u)
	client, err := mongodb.Connect(ctx, "mongodb://"+p.Addr()+"/?directConnection=true&serverSelectionTimeoutMS=500")
	if err != nil {
		t.Fatalf("Connect through proxy: %v", err)
	}
	defer func() { _ = client.Disconnect(context.WithoutCancel(ctx)) }()
	coll := client.Database(db.Name()).Collection("c")
	if _, err := coll.InsertOne(ctx, bson.D{{Key: "x", Value: 1}}); err != nil {
		t.Fatalf("InsertOne before the drop: %v", err)
	}

	p.Drop()
	opCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	_, err = coll.InsertOne(opCtx, bson.D{{Key: "x", Value: 2}})
	if err == nil {
		t.Fatal("InsertOne after the drop succeeded")
	}
	if !mongodb.IsUnavailable(err) {
		t.Errorf("IsUnavailable(%v) = false, want true", err)
	}
	err = coll.FindOne(opCtx, bson.D{}).Err()
	if err == nil {
		t.Fatal("FindOne after the drop succeeded")
	}
	if !mongodb.IsUnavailable(err) {
		t.Errorf("IsUnavailable(%v) = false, want true", err)
	}
}
