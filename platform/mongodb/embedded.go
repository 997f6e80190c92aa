package mongodb

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/FerretDB/FerretDB/ferretdb"
)

// Embedded is an in-process FerretDB v1 server with the SQLite handler, storing under a data directory
// and listening on 127.0.0.1 on a random port. It serves development, tests and small deployments;
// see the package documentation for what differs from MongoDB.
//
// Its methods are safe for concurrent use.
type Embedded struct {
	uri       string
	dataDir   string
	stop      context.CancelFunc
	done      chan struct{} // closed when FerretDB's Run has returned
	runErr    error         // Run's result; read only after done is closed
	closeOnce sync.Once
}

// ferretNewMu serializes ferretdb.New, which writes FerretDB's package-level version info and would
// otherwise race when two servers start at once (parallel tests).
var ferretNewMu sync.Mutex

// StartEmbedded creates dataDir if needed (mode 0700) and starts FerretDB on it, returning once the
// server answers a ping. ctx bounds the start only: the server runs until [Embedded.Close].
//
// dataDir holds one SQLite file per database and is reused across restarts; it must not be used by
// two running servers at once, and its path must not contain '?' or '#'. FerretDB's own log records go
// to logger at Error level and above only (FerretDB logs every failed command at Warn); a nil logger
// discards them.
func StartEmbedded(ctx context.Context, dataDir string, logger *slog.Logger) (*Embedded, error) {
	if dataDir == "" {
		return nil, errors.New("starting embedded FerretDB: empty data directory")
	}
	dir, err := filepath.Abs(dataDir)
	if err != nil {
		return nil, fmt.Errorf("starting embedded FerretDB: resolving data directory: %w", err)
	}
	if strings.ContainsAny(dir, "?#") {
		return nil, fmt.Errorf("starting embedded FerretDB: data directory %q contains '?' or '#'", dir)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("starting embedded FerretDB: creating data directory: %w", err)
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	// FerretDB wants a "file:" URI naming an existing directory, with a trailing slash.
	sqliteURL := (&url.URL{Scheme: "file", Path: filepath.ToSlash(dir) + "/"}).String()

	ferretNewMu.Lock()
	f, err := ferretdb.New(&ferretdb.Config{
		Listener:  ferretdb.ListenerConfig{TCP: "127.0.0.1:0"},
		Handler:   "sqlite",
		SQLiteURL: sqliteURL,
		Logger:    slog.New(newMinLevelHandler(logger.Handler(), slog.LevelError)).With("component", "ferretdb"),
	})
	ferretNewMu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("starting embedded FerretDB in %s: %w", dir, err)
	}

	runCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	e := &Embedded{dataDir: dir, stop: stop, done: make(chan struct{})}
	go func() {
		defer close(e.done)
		e.runErr = f.Run(runCtx)
	}()
	// The listener is bound by ferretdb.New, so this does not block.
	e.uri = f.MongoDBURI()

	client, err := Connect(ctx, e.uri)
	if err != nil {
		_ = e.Close() // the start error is the one worth returning
		return nil, fmt.Errorf("starting embedded FerretDB in %s: %w", dir, err)
	}
	// Disconnect now: a connection still open when Close is called makes FerretDB wait 3s for it.
	if err := client.Disconnect(context.WithoutCancel(ctx)); err != nil {
		_ = e.Close()
		return nil, fmt.Errorf("starting embedded FerretDB: disconnecting the probe client: %w", err)
	}
	return e, nil
}

// URI returns the mongodb:// URI clients use to reach the server, e.g. "mongodb://127.0.0.1:40123/".
func (e *Embedded) URI() string { return e.uri }

// DataDir returns the absolute path of the directory the server stores its data in.
func (e *Embedded) DataDir() string { return e.dataDir }

// Close stops the server and waits until it has exited and closed its SQLite files. Disconnect clients
// first: FerretDB gives connections that are still open 3 seconds to finish before closing them, and
// Close waits for that. Calling Close again returns the same result.
func (e *Embedded) Close() error {
	e.closeOnce.Do(e.stop)
	<-e.done
	if e.runErr != nil {
		return fmt.Errorf("running embedded FerretDB: %w", e.runErr)
	}
	return nil
}

// minLevelHandler passes on to next only records at or above min.
type minLevelHandler struct {
	next slog.Handler
	min  slog.Level
}

func newMinLevelHandler(next slog.Handler, minLevel slog.Level) slog.Handler {
	return minLevelHandler{next: next, min: minLevel}
}

func (h minLevelHandler) Enabled(ctx context.Context, level slog.Level) bool {
	return level >= h.min && h.next.Enabled(ctx, level)
}

func (h minLevelHandler) Handle(ctx context.Context, r slog.Record) error {
	if r.Level < h.min { // for callers that skip Enabled
		return nil
	}
	return h.next.Handle(ctx, r)
}

func (h minLevelHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return minLevelHandler{next: h.next.WithAttrs(attrs), min: h.min}
}

func (h minLevelHandler) WithGroup(name string) slog.Handler {
	return minLevelHandler{next: h.next.WithGroup(name), min: h.min}
}
