package mongodbtest_test

import (
	"context"
	"net"
	"os"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/beaconcms/beacon/platform/mongodb"
	"github.com/beaconcms/beacon/platform/mongodb/mongodbtest"
)

// validName is FerretDB's rule for database names; it also satisfies MongoDB's.
var validName = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,63}$`)

func TestNewDatabaseGivesDistinctDatabases(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	a, b := mongodbtest.NewDatabase(t), mongodbtest.NewDatabase(t)
	if a.Name() == b.Name() {
		t.Fatalf("both databases are named %q", a.Name())
	}
	for _, db := range []string{a.Name(), b.Name()} {
		if !validName.MatchString(db) {
			t.Errorf("database name %q is not valid on FerretDB", db)
		}
	}
	if _, err := a.Collection("c").InsertOne(ctx, bson.D{{Key: "_id", Value: 1}}); err != nil {
		t.Fatalf("InsertOne into %s: %v", a.Name(), err)
	}
	n, err := b.Collection("c").CountDocuments(mongodb.WithScan(ctx, "test: inspect"), bson.D{})
	if err != nil {
		t.Fatalf("CountDocuments in %s: %v", b.Name(), err)
	}
	if n != 0 {
		t.Errorf("%s sees %d documents written to %s, want 0", b.Name(), n, a.Name())
	}
}

func TestNewDatabaseIsDroppedAfterTheTest(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	var name string
	t.Run("user", func(t *testing.T) {
		db := mongodbtest.NewDatabase(t)
		name = db.Name()
		if _, err := db.Collection("c").InsertOne(t.Context(), bson.D{{Key: "x", Value: 1}}); err != nil {
			t.Fatalf("InsertOne: %v", err)
		}
	})
	client, err := mongodb.Connect(ctx, mongodbtest.URI(t))
	if err != nil {
		t.Fatalf("Connect(URI): %v", err)
	}
	defer func() { _ = client.Disconnect(context.WithoutCancel(ctx)) }()
	names, err := client.ListDatabaseNames(ctx, bson.D{})
	if err != nil {
		t.Fatalf("ListDatabaseNames: %v", err)
	}
	if slices.Contains(names, name) {
		t.Errorf("database %s still exists after its test ended", name)
	}
}

func TestDatabaseName(t *testing.T) {
	t.Parallel()
	tests := []struct {
		testName   string
		wantPrefix string
	}{
		{"TestX", "t_TestX_"},
		{"TestX/sub_case/with spaces.and$dots", "t_TestX_sub_case_with_spaces_and_dots_"},
		{"TestÜnïcode/日本", "t_Test_n_code____"},
		{strings.Repeat("TestLong", 20), "t_" + strings.Repeat("TestLong", 5) + "_"},
	}
	for _, tt := range tests {
		t.Run(tt.wantPrefix, func(t *testing.T) {
			got := mongodbtest.DatabaseName(tt.testName)
			if !strings.HasPrefix(got, tt.wantPrefix) || len(got) != len(tt.wantPrefix)+12 {
				t.Errorf("databaseName(%q) = %q, want %q + 12 hex digits", tt.testName, got, tt.wantPrefix)
			}
			if !validName.MatchString(got) {
				t.Errorf("databaseName(%q) = %q, not a valid name", tt.testName, got)
			}
		})
	}
}

func TestListeningTCPPortsSeesAListener(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc")
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := lis.Addr().(*net.TCPAddr).Port
	if got := mongodbtest.ListeningTCPPorts(t, os.Getpid()); !slices.Contains(got, port) {
		t.Fatalf("ListeningTCPPorts = %v, want it to contain %d", got, port)
	}
	_ = lis.Close()
	if got := mongodbtest.ListeningTCPPorts(t, os.Getpid()); slices.Contains(got, port) {
		t.Fatalf("ListeningTCPPorts = %v after closing %d", got, port)
	}
}
