package mongodb_test

import (
	"context"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/beaconcms/beacon/platform/mongodb"
)

// startEmbedded starts a FerretDB on dataDir and closes it in tb.Cleanup.
func startEmbedded(tb testing.TB, dataDir string, logger *slog.Logger) *mongodb.Embedded {
	tb.Helper()
	ctx, cancel := context.WithTimeout(tb.Context(), 30*time.Second)
	defer cancel()
	e, err := mongodb.StartEmbedded(ctx, dataDir, logger)
	if err != nil {
		tb.Fatalf("StartEmbedded(%q): %v", dataDir, err)
	}
	tb.Cleanup(func() {
		if err := e.Close(); err != nil {
			tb.Errorf("Close: %v", err)
		}
	})
	return e
}

type article struct {
	ID    string `bson:"_id"`
	Title string `bson:"title"`
	Rev   int64  `bson:"rev"`
}

func TestEmbeddedPersistsAcrossRestart(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	dataDir := filepath.Join(t.TempDir(), "not yet", "thère")
	want := article{ID: "a1", Title: "Hello", Rev: 3}

	first, err := mongodb.StartEmbedded(ctx, dataDir, nil)
	if err != nil {
		t.Fatalf("StartEmbedded: %v", err)
	}
	client, err := mongodb.Connect(ctx, first.URI())
	if err != nil {
		t.Fatalf("Connect: %v", err)
	}
	if _, err := client.Database("beacon").Collection("articles").InsertOne(ctx, want); err != nil {
		t.Fatalf("InsertOne: %v", err)
	}
	if err := client.Disconnect(ctx); err != nil {
		t.Fatalf("Disconnect: %v", err)
	}
	if err := first.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := first.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}

	fi, err := os.Stat(dataDir)
	if err != nil {
		t.Fatalf("data directory: %v", err)
	}
	if got := fi.Mode().Perm(); got != 0o700 {
		t.Errorf("data directory mode = %v, want 0700", got)
	}
	// FerretDB keeps one SQLite file per database: make sure it is in dataDir, not some escaped twin.
	if _, err := os.Stat(filepath.Join(dataDir, "beacon.sqlite")); err != nil {
		t.Errorf("database file not in the data directory: %v", err)
	}
	// net/url refuses %2F in a host; the driver wants exactly that for a socket.
	host, err := url.PathUnescape(strings.TrimSuffix(strings.TrimPrefix(first.URI(), "mongodb://"), "/"))
	if err != nil {
		t.Fatalf("URI %q: %v", first.URI(), err)
	}
	if want := filepath.Join(dataDir, mongodb.SocketName); host != want || first.Socket() != want {
		t.Errorf("URI %q, socket %q: want the socket %s", first.URI(), first.Socket(), want)
	}
	if c, err := net.DialTimeout("unix", first.Socket(), time.Second); err == nil {
		_ = c.Close()
		t.Errorf("%s still accepts connections after Close", first.Socket())
	}

	second := startEmbedded(t, dataDir, nil)
	client2, err := mongodb.Connect(ctx, second.URI())
	if err != nil {
		t.Fatalf("Connect after restart: %v", err)
	}
	defer func() { _ = client2.Disconnect(context.WithoutCancel(ctx)) }()
	var got article
	err = client2.Database("beacon").Collection("articles").FindOne(ctx, bson.D{{Key: "_id", Value: "a1"}}).Decode(&got)
	if err != nil {
		t.Fatalf("FindOne after restart: %v", err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("document after restart (-want +got):\n%s", diff)
	}
}

func TestStartEmbeddedErrors(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		dataDir string
	}{
		{"empty", ""},
		{"a regular file", file},
		{"below a regular file", filepath.Join(file, "data")},
		{"URI metacharacter", filepath.Join(t.TempDir(), "what?")},
		{"socket path too long", filepath.Join(t.TempDir(), strings.Repeat("d", 100))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := mongodb.StartEmbedded(t.Context(), tt.dataDir, nil)
			if err == nil {
				_ = e.Close()
				t.Fatalf("StartEmbedded(%q) succeeded, want an error", tt.dataDir)
			}
		})
	}
}

func TestEmbeddedLogsOnlyErrors(t *testing.T) {
	t.Parallel()
	rec := &recorder{}
	e := startEmbedded(t, t.TempDir(), slog.New(rec))
	client, err := mongodb.Connect(t.Context(), e.URI())
	if err != nil {
		t.Fatalf("Connect: %v", err)
	}
	// A failing command: FerretDB logs it at Warn.
	if err := client.Database("x").RunCommand(t.Context(), bson.D{{Key: "noSuchCommand", Value: 1}}).Err(); err == nil {
		t.Error("noSuchCommand succeeded")
	}
	if err := client.Disconnect(t.Context()); err != nil {
		t.Fatalf("Disconnect: %v", err)
	}
	if err := e.Close(); err != nil { // FerretDB logs its shutdown at Info
		t.Fatalf("Close: %v", err)
	}
	for _, r := range rec.all() {
		if r.Level < slog.LevelError {
			t.Errorf("record below Error reached the logger: %v %q", r.Level, r.Message)
		}
	}
}

func TestMinLevelHandler(t *testing.T) {
	t.Parallel()
	tests := []struct {
		level slog.Level
		want  bool
	}{
		{slog.LevelDebug, false},
		{slog.LevelInfo, false},
		{slog.LevelWarn, false},
		{slog.LevelError, true},
		{slog.LevelError + 4, true},
	}
	for _, tt := range tests {
		t.Run(tt.level.String(), func(t *testing.T) {
			rec := &recorder{}
			logger := slog.New(mongodb.NewMinLevelHandler(rec, slog.LevelError)).With("k", "v").WithGroup("g")
			logger.Log(t.Context(), tt.level, "message")
			if got := len(rec.all()) == 1; got != tt.want {
				t.Errorf("record at %v passed = %t, want %t", tt.level, got, tt.want)
			}
			if got := logger.Enabled(t.Context(), tt.level); got != tt.want {
				t.Errorf("Enabled(%v) = %t, want %t", tt.level, got, tt.want)
			}
		})
	}
}

// Attributes and groups added before a record reach it, in order, when it passes.
func TestMinLevelHandlerKeepsAttributes(t *testing.T) {
	t.Parallel()
	var buf strings.Builder
	text := slog.NewTextHandler(&buf, &slog.HandlerOptions{ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
		if a.Key == slog.TimeKey {
			return slog.Attr{}
		}
		return a
	}})
	logger := slog.New(mongodb.NewMinLevelHandler(text, slog.LevelError)).With("conn", 7).WithGroup("cmd").With("name", "insert")
	logger.Warn("dropped", "n", 1)
	logger.Error("failed", "n", 2)
	if got, want := buf.String(), "level=ERROR msg=failed conn=7 cmd.name=insert cmd.n=2\n"; got != want {
		t.Errorf("logged %q, want %q", got, want)
	}
}
