package mongodb_test

import (
	"context"
	"strings"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/beaconcms/beacon/platform/mongodb"
)

func TestCheckStoreRule(t *testing.T) {
	t.Parallel()
	id := bson.D{{Key: "_id", Value: "a1"}}
	replacement := bson.D{{Key: "_id", Value: "a1"}, {Key: "title", Value: "x"}}
	tests := []struct {
		name    string
		command bson.D
		wantWhy string // "" when the command keeps the rule; else a fragment of the reason
		mongoDB bool   // the server is MongoDB (guards are sent), not FerretDB
	}{
		{"find by exact _id", bson.D{{Key: "find", Value: "articles"}, {Key: "filter", Value: id}}, "", false},
		{"find by _id with projection", bson.D{{Key: "find", Value: "articles"}, {Key: "filter", Value: id}, {Key: "projection", Value: bson.D{{Key: "x", Value: 1}}}}, "", false},
		{"find without filter", bson.D{{Key: "find", Value: "articles"}}, "without a filter", false},
		{"find with empty filter", bson.D{{Key: "find", Value: "articles"}, {Key: "filter", Value: bson.D{}}}, "only an exact {_id: X}", false},
		{"find by another field", bson.D{{Key: "find", Value: "articles"}, {Key: "filter", Value: bson.D{{Key: "state", Value: "DRAFT"}}}}, "only an exact {_id: X}", false},
		{"find by _id and another field", bson.D{{Key: "find", Value: "articles"}, {Key: "filter", Value: bson.D{{Key: "_id", Value: "a"}, {Key: "rev", Value: 1}}}}, "only an exact {_id: X}", false},
		{"find by _id $in", bson.D{{Key: "find", Value: "articles"}, {Key: "filter", Value: bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: bson.A{"a", "b"}}}}}}}, "{_id: {$in ...}}", false},
		{"find by _id range", bson.D{{Key: "find", Value: "articles"}, {Key: "filter", Value: bson.D{{Key: "_id", Value: bson.D{{Key: "$gt", Value: "a"}}}}}}, "{_id: {$gt ...}}", false},
		{"find on a small collection", bson.D{{Key: "find", Value: "article_changes"}, {Key: "filter", Value: bson.D{{Key: "time", Value: 1}}}}, "", false},
		{"count", bson.D{{Key: "count", Value: "articles"}, {Key: "query", Value: bson.D{}}}, "count", false},
		{"aggregate", bson.D{{Key: "aggregate", Value: "articles"}, {Key: "pipeline", Value: bson.A{}}}, "aggregate", false},
		{"replace by _id", bson.D{{Key: "update", Value: "articles"}, {Key: "updates", Value: bson.A{bson.D{{Key: "q", Value: id}, {Key: "u", Value: replacement}}}}}, "", false},
		{"replace by _id with upsert", bson.D{{Key: "update", Value: "articles"}, {Key: "updates", Value: bson.A{bson.D{{Key: "q", Value: id}, {Key: "u", Value: replacement}, {Key: "upsert", Value: true}}}}}, "", false},
		{"replace guarded on a version, FerretDB", bson.D{{Key: "update", Value: "articles"}, {Key: "updates", Value: bson.A{bson.D{{Key: "q", Value: bson.D{{Key: "_id", Value: "a1"}, {Key: "rev", Value: 3}}}, {Key: "u", Value: replacement}}}}}, "only an exact {_id: X}", false},
		{"replace guarded on a version, MongoDB", bson.D{{Key: "update", Value: "articles"}, {Key: "updates", Value: bson.A{bson.D{{Key: "q", Value: bson.D{{Key: "_id", Value: "a1"}, {Key: "rev", Value: 3}}}, {Key: "u", Value: replacement}}}}}, "", true},
		{"replace by another field", bson.D{{Key: "update", Value: "articles"}, {Key: "updates", Value: bson.A{bson.D{{Key: "q", Value: bson.D{{Key: "slug", Value: "x"}}}, {Key: "u", Value: replacement}}}}}, "only an exact {_id: X}", false},
		{"replace by another field, MongoDB", bson.D{{Key: "update", Value: "articles"}, {Key: "updates", Value: bson.A{bson.D{{Key: "q", Value: bson.D{{Key: "slug", Value: "x"}}}, {Key: "u", Value: replacement}}}}}, "must start with an exact {_id: X}", true},
		{"replace by _id range", bson.D{{Key: "update", Value: "articles"}, {Key: "updates", Value: bson.A{bson.D{{Key: "q", Value: bson.D{{Key: "_id", Value: bson.D{{Key: "$gte", Value: "a"}}}}}, {Key: "u", Value: replacement}}}}}, "full scan", false},
		{"operator update by _id", bson.D{{Key: "update", Value: "articles"}, {Key: "updates", Value: bson.A{bson.D{{Key: "q", Value: id}, {Key: "u", Value: bson.D{{Key: "$set", Value: bson.D{{Key: "x", Value: 1}}}}}}}}}, "operator updates", false},
		{"pipeline update", bson.D{{Key: "update", Value: "articles"}, {Key: "updates", Value: bson.A{bson.D{{Key: "q", Value: id}, {Key: "u", Value: bson.A{}}}}}}, "pipeline", false},
		{"delete by _id", bson.D{{Key: "delete", Value: "articles"}, {Key: "deletes", Value: bson.A{bson.D{{Key: "q", Value: id}, {Key: "limit", Value: 1}}}}}, "deletes cost time", false},
		{"delete on a small collection", bson.D{{Key: "delete", Value: "pending_revisions"}, {Key: "deletes", Value: bson.A{bson.D{{Key: "q", Value: id}, {Key: "limit", Value: 1}}}}}, "", false},
		{"findAndModify", bson.D{{Key: "findAndModify", Value: "articles"}, {Key: "query", Value: id}}, "findAndModify", false},
		{"insert", bson.D{{Key: "insert", Value: "articles"}, {Key: "documents", Value: bson.A{replacement}}}, "", false},
		{"getMore", bson.D{{Key: "getMore", Value: int64(1)}, {Key: "collection", Value: "articles"}}, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw, err := bson.Marshal(tt.command)
			if err != nil {
				t.Fatal(err)
			}
			got := mongodb.CheckStoreRule(tt.command[0].Key, raw, tt.mongoDB)
			switch {
			case tt.wantWhy == "" && got != "":
				t.Errorf("CheckStoreRule = %q, want no violation", got)
			case tt.wantWhy != "" && !strings.Contains(got, tt.wantWhy):
				t.Errorf("CheckStoreRule = %q, want a violation mentioning %q", got, tt.wantWhy)
			}
		})
	}
}

func TestSmallCollectionsHaveBounds(t *testing.T) {
	t.Parallel()
	all := mongodb.SmallCollections()
	if len(all) == 0 {
		t.Fatal("no small collections")
	}
	for name, c := range all {
		if strings.TrimSpace(c.Bound) == "" {
			t.Errorf("small collection %s has no bound", name)
		}
	}
	delete(all, mongodb.MigrationsCollection)
	if _, ok := mongodb.SmallCollections()[mongodb.MigrationsCollection]; !ok {
		t.Error("SmallCollections returned the allowlist itself, not a copy")
	}
}

func TestWithScan(t *testing.T) {
	t.Parallel()
	if _, ok := mongodb.ScanReason(context.Background()); ok {
		t.Error("ScanReason of a plain context reports a scan")
	}
	ctx := mongodb.WithScan(context.Background(), "startup: index")
	if r, ok := mongodb.ScanReason(ctx); !ok || r != "startup: index" {
		t.Errorf("ScanReason = %q, %t; want the reason given", r, ok)
	}
}
