// Package mongodbtest gives tests a MongoDB database of their own.
//
// By default all tests of one test process share one embedded FerretDB v1 (SQLite handler), started
// on first use in a fresh temporary directory. Set BEACON_TEST_MONGODB_URI (e.g.
// "mongodb://localhost:27017/") to run the same tests against a real MongoDB instead.
package mongodbtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/beaconcms/beacon/platform/mongodb"
)

// EnvURI names the environment variable that points the tests at a real MongoDB.
const EnvURI = "BEACON_TEST_MONGODB_URI"

// tempPrefix starts the name of the temporary data directory of each test process's FerretDB; the
// process id follows, so that directories left by earlier processes can be swept (see sweepStale).
const tempPrefix = "beacon-mongodbtest-"

// startTimeout bounds starting the shared server and connecting to it.
const startTimeout = 30 * time.Second

// server is the process-wide server and client, set up once on first use. The embedded FerretDB is
// never closed: it ends with the test process, and the next process sweeps its directory.
var server struct {
	once   sync.Once
	uri    string
	client *mongo.Client
	rule   *ruleMonitor
	err    error
}

func setUp() {
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()

	uri := os.Getenv(EnvURI)
	if uri == "" {
		sweepStale(os.TempDir())
		dir, err := os.MkdirTemp("", tempPrefix+strconv.Itoa(os.Getpid())+"-*")
		if err != nil {
			server.err = fmt.Errorf("creating FerretDB data directory: %w", err)
			return
		}
		// FerretDB's error-level records go to stderr, where go test shows them.
		e, err := mongodb.StartEmbedded(ctx, dir, slog.New(slog.NewTextHandler(os.Stderr, nil)))
		if err != nil {
			_ = os.RemoveAll(dir)
			server.err = err
			return
		}
		uri = e.URI()
	}
	rule := newRuleMonitor(os.Getenv(EnvURI) != "") // a real MongoDB: replaces send their guards
	client, err := mongodb.Connect(ctx, uri, options.Client().SetMonitor(rule.commandMonitor()))
	if err != nil {
		server.err = err
		return
	}
	server.uri, server.client, server.rule = uri, client, rule
}

func shared(tb testing.TB) (string, *mongo.Client) {
	tb.Helper()
	server.once.Do(setUp)
	if server.err != nil {
		tb.Fatalf("mongodbtest: setting up the test server: %v", server.err)
	}
	return server.uri, server.client
}

// URI returns the URI of the test process's shared server, starting it if needed: the value of
// BEACON_TEST_MONGODB_URI when set, else the embedded FerretDB's. It is for end-to-end tests that
// need a URI; such tests should still use a database name from [NewDatabase] or their own unique one.
// It fails tb if the server cannot be started.
func URI(tb testing.TB) string {
	tb.Helper()
	uri, _ := shared(tb)
	return uri
}

// NewDatabase returns a fresh, uniquely named, empty database on the shared server (see [URI]) for
// one test, and drops it in tb.Cleanup. The name is derived from tb.Name() plus a random suffix and
// is valid on MongoDB and FerretDB. It fails tb if the server cannot be started.
//
// The store rule is enforced on it (see storerule.go): when the test ends, every command sent to it
// that reads, updates or deletes by anything but an exact _id on a collection outside
// [mongodb.SmallCollections], with a context not marked by [mongodb.WithScan], fails tb. Test code
// that inspects the store marks its context with WithScan; [AllowScans] exempts a database.
func NewDatabase(tb testing.TB, opts ...Option) *mongo.Database {
	tb.Helper()
	var o databaseOptions
	for _, opt := range opts {
		opt(&o)
	}
	_, client := shared(tb)
	db := client.Database(databaseName(tb.Name()))
	if o.scansAllowed == "" {
		server.rule.enforce(tb, db.Name())
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := db.Drop(ctx); err != nil {
			tb.Errorf("mongodbtest: dropping database %s: %v", db.Name(), err)
		}
	})
	return db
}

// databaseName returns "t_<sanitized test name>_<12 random hex digits>", at most 55 characters of
// [A-Za-z0-9_], within FerretDB's ^[a-zA-Z0-9_-]{1,63}$ and MongoDB's 63-byte limit.
func databaseName(testName string) string {
	const maxName = 40
	var b strings.Builder
	b.WriteString("t_")
	for _, r := range testName {
		if b.Len() >= 2+maxName {
			break
		}
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	var suffix [6]byte
	_, _ = rand.Read(suffix[:]) // crypto/rand.Read never fails
	b.WriteByte('_')
	b.WriteString(hex.EncodeToString(suffix[:]))
	return b.String()
}
