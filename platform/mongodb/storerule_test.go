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
	}{
		{"find by exact _id", bson.D{{Key: "find", Value: "articles"}, {Key: "filter", Value: id}}, ""},
		{"find by _id with projection", bson.D{{Key: "find", Value: "articles"}, {Key: "filter", Value: id}, {Key: "projection", Value: bson.D{{Key: "x", Value: 1}}}}, ""},
		{"find without filter", bson.D{{Key: "find", Value: "articles"}}, "without a filter"},
		{"find with empty filter", bson.D{{Key: "find", Value: "articles"}, {Key: "filter", Value: bson.D{}}}, "only an exact {_id: X}"},
		{"find by another field", bson.D{{Key: "find", Value: "articles"}, {Key: "filter", Value: bson.D{{Key: "state", Value: "DRAFT"}}}}, "only an exact {_id: X}"},
		{"find by _id and another field", bson.D{{Key: "find", Value: "articles"}, {Key: "filter", Value: bson.D{{Key: "_id", Value: "a"}, {Key: "rev", Value: 1}}}}, "only an exact {_id: X}"},
		{"find by _id $in", bson.D{{Key: "find", Value: "articles"}, {Key: "filter", Value: bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: bson.A{"a", "b"}}}}}}}, "{_id: {$in ...}}"},
		{"find by _id range", bson.D{{Key: "find", Value: "articles"}, {Key: "filter", Value: bson.D{{Key: "_id", Value: bson.D{{Key: "$gt", Value: "a"}}}}}}, "{_id: {$gt ...}}"},
		{"find on a small collection", bson.D{{Key: "find", Value: "article_changes"}, {Key: "filter", Value: bson.D{{Key: "time", Value: 1}}}}, ""},
		{"count", bson.D{{Key: "count", Value: "articles"}, {Key: "query", Value: bson.D{}}}, "count"},
		{"aggregate", bson.D{{Key: "aggregate", Value: "articles"}, {Key: "pipeline", Value: bson.A{}}}, "aggregate"},
		{"replace by _id", bson.D{{Key: "update", Value: "articles"}, {Key: "updates", Value: bson.A{bson.D{{Key: "q", Value: id}, {Key: "u", Value: replacement}}}}}, ""},
		{"replace by _id with upsert", bson.D{{Key: "update", Value: "articles"}, {Key: "updates", Value: bson.A{bson.D{{Key: "q", Value: id}, {Key: "u", Value: replacement}, {Key: "upsert", Value: true}}}}}, ""},
		{"replace guarded on a version", bson.D{{Key: "update", Value: "articles"}, {Key: "updates", Value: bson.A{bson.D{{Key: "q", Value: bson.D{{Key: "_id", Value: "a1"}, {Key: "rev", Value: 3}}}, {Key: "u", Value: replacement}}}}}, ""},
		{"replace by another field", bson.D{{Key: "update", Value: "articles"}, {Key: "updates", Value: bson.A{bson.D{{Key: "q", Value: bson.D{{Key: "slug", Value: "x"}}}, {Key: "u", Value: replacement}}}}}, "must start with an exact {_id: X}"},
		{"replace by _id range", bson.D{{Key: "update", Value: "articles"}, {Key: "updates", Value: bson.A{bson.D{{Key: "q", Value: bson.D{{Key: "_id", Value: bson.D{{Key: "$gte", Value: "a"}}}}}, {Key: "u", Value: replacement}}}}}, "full scan"},
		{"operator update by _id", bson.D{{Key: "update", Value: "articles"}, {Key: "updates", Value: bson.A{bson.D{{Key: "q", Value: id}, {Key: "u", Value: bson.D{{Key: "$set", Value: bson.D{{Key: "x", Value: 1}}}}}}}}}, "operator updates"},
		{"pipeline update", bson.D{{Key: "update", Value: "articles"}, {Key: "updates", Value: bson.A{bson.D{{Key: "q", Value: id}, {Key: "u", Value: bson.A{}}}}}}, "pipeline"},
		{"delete by _id", bson.D{{Key: "delete", Value: "articles"}, {Key: "deletes", Value: bson.A{bson.D{{Key: "q", Value: id}, {Key: "limit", Value: 1}}}}}, "deletes cost time"},
		{"delete on a small collection", bson.D{{Key: "delete", Value: "pending_revisions"}, {Key: "deletes", Value: bson.A{bson.D{{Key: "q", Value: id}, {Key: "limit", Value: 1}}}}}, ""},
		{"findAndModify", bson.D{{Key: "findAndModify", Value: "articles"}, {Key: "query", Value: id}}, "findAndModify"},
		{"insert", bson.D{{Key: "insert", Value: "articles"}, {Key: "documents", Value: bson.A{replacement}}}, ""},
		{"getMore", bson.D{{Key: "getMore", Value: int64(1)}, {Key: "collection", Value: "articles"}}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw, err := bson.Marshal(tt.command)
			if err != nil {
				t.Fatal(err)
			}
			got := mongodb.CheckStoreRule(tt.command[0].Key, raw)
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
