package mongodbtest_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/beaconcms/beacon/platform/mongodb"
	"github.com/beaconcms/beacon/platform/mongodb/mongodbtest"
)

// recordingTB runs cleanups on demand and records errors instead of failing.
type recordingTB struct {
	testing.TB
	mu       sync.Mutex
	errors   []string
	cleanups []func()
}

func (r *recordingTB) Cleanup(f func()) { r.cleanups = append(r.cleanups, f) }

func (r *recordingTB) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}

func (r *recordingTB) end() {
	for i := len(r.cleanups) - 1; i >= 0; i-- {
		r.cleanups[i]()
	}
}

func TestStoreRuleFailsTheTestThatScans(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		opts     []mongodbtest.Option
		marked   bool
		coll     string
		filter   bson.D
		wantFail bool
	}{
		{"scan fails the test", nil, false, "articles", bson.D{{Key: "state", Value: "DRAFT"}}, true},
		{"point read passes", nil, false, "articles", bson.D{{Key: "_id", Value: "a"}}, false},
		{"scan marked as startup passes", nil, true, "articles", bson.D{{Key: "state", Value: "DRAFT"}}, false},
		{"scan of a small collection passes", nil, false, "article_changes", bson.D{{Key: "time", Value: 1}}, false},
		{"scan on an exempt database passes", []mongodbtest.Option{mongodbtest.AllowScans("checker test")}, false, "articles", bson.D{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &recordingTB{TB: t}
			db := mongodbtest.NewDatabase(rec, tt.opts...)
			ctx := t.Context()
			if tt.marked {
				ctx = mongodb.WithScan(ctx, "startup")
			}
			cur, err := db.Collection(tt.coll).Find(ctx, tt.filter)
			if err != nil {
				t.Fatalf("Find: %v", err)
			}
			_ = cur.Close(ctx)
			rec.end()
			if failed := len(rec.errors) > 0; failed != tt.wantFail {
				t.Fatalf("test failed = %t (%q), want %t", failed, rec.errors, tt.wantFail)
			}
			if tt.wantFail && !strings.Contains(rec.errors[0], "storerule_test.go") {
				t.Errorf("the failure does not name the code that sent the command: %s", rec.errors[0])
			}
		})
	}
}
