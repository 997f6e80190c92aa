package mongodb

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/FerretDB/FerretDB/ferretdb"

	"github.com/beaconcms/beacon/platform/loop"
)

// Embedded is an in-process FerretDB v1 server with the SQLite handler, storing under a data directory
// and listening only on a unix socket inside it ([SocketName]). It serves development, tests and small
// deployments; see the package documentation for what differs from MongoDB.
//
// FerretDB v1 has no authentication, so the socket is the access control: it is never served on TCP,
// the data directory is kept at mode 0700 and the socket at 0600, so only the user running Beacon (and
// root) can connect.
//
// Its methods are safe for concurrent use.
type Embedded struct {
	uri       string
	dataDir   string
	socket    string
	stop      context.CancelFunc
	done      chan struct{} // closed when FerretDB's Run has returned
	runErr    error         // Run's result; read only after done is closed
	closeOnce sync.Once

	lookups     *idLookupIndexer
	stopLookups context.CancelFunc
	lookupsDone chan struct{} // closed when the look loop has returned

	watchMu  sync.Mutex
	watchers map[string]map[chan struct{}]struct{} // by database; guarded by watchMu
}

// lookInterval is how often the embedded store looks at its database files while they change:
// for commits (which it tells the databases' watchers of, see Changes) and for new collections
// to give an _id lookup index (see idlookup.go). Looks that find nothing changed space out to
// one every lookIdleLooks intervals, so a commit is seen within 4 s of an idle spell, and within
// a second while writes go on. A look at an unchanged database costs one PRAGMA query per
// database file. Migrations create most collections, and IndexIDLookups runs after them.
//
// Every write of this process reaches its own readers in process at once; what a look finds is
// for the writes of other processes through this server (a second replica, which the embedded
// store does not support for writes, or a maintenance command), and for writes this process
// completed late (an interrupted revision record the flusher completed). Each look wakes the
// process, so an idle one costs its CPU: four seconds keeps that near nothing.
const (
	lookInterval  = time.Second
	lookIdleLooks = 4
)

// ferretNewMu serializes ferretdb.New, which writes FerretDB's package-level version info and would
// otherwise race when two servers start at once (parallel tests).
var ferretNewMu sync.Mutex

// SocketName is the name of the unix socket [StartEmbedded] serves on, inside its data directory.
const SocketName = "mongodb.sock"

// maxSocketPath is the longest socket path the kernel takes (sun_path is 108 bytes with its NUL).
const maxSocketPath = 107

// StartEmbedded creates dataDir if needed, sets its mode to 0700, and starts FerretDB on it, serving
// on the unix socket dataDir/[SocketName] (mode 0600) and on nothing else. It returns once the server
// answers a ping. ctx bounds the start only: the server runs until [Embedded.Close].
//
// dataDir holds one SQLite file per database and is reused across restarts; its path must not contain
// '?' or '#', and the socket path must fit in 107 bytes. A socket left behind by a process that died
// is replaced; one that another running server still answers on is an error, so that two servers never
// share a data directory. FerretDB's own log records go to logger at Error level and above only
// (FerretDB logs every failed command at Warn); a nil logger discards them.
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
	// MkdirAll leaves an existing directory's mode alone; the socket relies on this one's.
	if err := os.Chmod(dir, 0o700); err != nil {
		return nil, fmt.Errorf("starting embedded FerretDB: restricting the data directory to its owner: %w", err)
	}
	socket := filepath.Join(dir, SocketName)
	if len(socket) > maxSocketPath {
		return nil, fmt.Errorf("starting embedded FerretDB: socket path %s is longer than %d bytes; use a shorter data directory", socket, maxSocketPath)
	}
	if err := removeStaleSocket(socket); err != nil {
		return nil, fmt.Errorf("starting embedded FerretDB: %w", err)
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	// FerretDB wants a "file:" URI naming an existing directory, with a trailing slash.
	//
	// synchronous(NORMAL): in WAL mode (which FerretDB sets) SQLite then syncs the log at
	// checkpoints instead of at every commit. A process that dies loses nothing (its writes are in
	// the operating system's hands); a power loss or an OS crash may roll back the last commits,
	// never corrupting the database, and Beacon's writes are built to survive any prefix of their
	// steps (the revision outbox, slug claims). With the default FULL, every store call paid a
	// sync: about half of a write's 20 ms on this machine's disk.
	sqliteURL := (&url.URL{Scheme: "file", Path: filepath.ToSlash(dir) + "/", RawQuery: "_pragma=synchronous(NORMAL)"}).String()

	ferretNewMu.Lock()
	f, err := ferretdb.New(&ferretdb.Config{
		Listener:  ferretdb.ListenerConfig{Unix: socket},
		Handler:   "sqlite",
		SQLiteURL: sqliteURL,
		Logger:    slog.New(newMinLevelHandler(logger.Handler(), slog.LevelError)).With("component", "ferretdb"),
	})
	ferretNewMu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("starting embedded FerretDB in %s: %w", dir, err)
	}

	// The socket is bound by ferretdb.New. Nobody else can reach it yet (the directory is 0700); 0600
	// keeps it so should the directory's mode be loosened later.
	if err := os.Chmod(socket, 0o600); err != nil {
		return nil, fmt.Errorf("starting embedded FerretDB: restricting the socket to its owner: %w", err)
	}

	runCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	e := &Embedded{dataDir: dir, socket: socket, stop: stop, done: make(chan struct{})}
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

	e.lookups = newIDLookupIndexer(dir, logger)
	if _, _, err := e.lookups.sync(ctx); err != nil {
		_ = e.Close()
		return nil, fmt.Errorf("starting embedded FerretDB: indexing _id lookups: %w", err)
	}
	lookupCtx, stopLookups := context.WithCancel(context.WithoutCancel(ctx))
	e.stopLookups, e.lookupsDone = stopLookups, make(chan struct{})
	go func() {
		defer close(e.lookupsDone)
		e.look(lookupCtx, logger)
	}()
	return e, nil
}

// look tells the watchers of each database that changed, and gives new collections their _id
// lookup index, looking every lookInterval (spaced out while nothing changes) until ctx ends. A
// failure is logged once until a look succeeds again.
func (e *Embedded) look(ctx context.Context, logger *slog.Logger) {
	failing := false
	backoff := loop.IdleBackoff{Max: lookIdleLooks}
	_ = loop.Poll(ctx, lookInterval, &backoff, func(ctx context.Context) {
		changed, _, err := e.lookups.sync(ctx)
		e.tell(changed)
		if len(changed) > 0 || err != nil {
			backoff.Busy()
		} else {
			backoff.Idle()
		}
		switch {
		case err != nil && ctx.Err() == nil && !failing:
			logger.WarnContext(ctx, "embedded store: indexing _id lookups failed; point reads of new collections stay slow until it works", slog.Any("err", err))
			failing = true
		case err == nil:
			failing = false
		}
	})
}

// IndexIDLookups gives every collection created so far its _id lookup index now, rather than
// within a few seconds. Call it after migrations, before serving.
func (e *Embedded) IndexIDLookups(ctx context.Context) error {
	changed, _, err := e.lookups.sync(ctx)
	e.tell(changed)
	if err != nil {
		return fmt.Errorf("embedded store: indexing _id lookups: %w", err)
	}
	return nil
}

// Changes returns the commits to one database of this server, for a reader in this process that
// would otherwise poll the database for other writers' changes (a change-log follower, the site
// catalog). Every commit to the database reaches it, whichever process made it: every client
// writes through this server, and no second server opens its files (StartEmbedded refuses a
// data directory that another server answers on).
func (e *Embedded) Changes(database string) *DatabaseChanges {
	return &DatabaseChanges{e: e, database: database}
}

// DatabaseChanges is the commits to one database of an Embedded server (Embedded.Changes).
type DatabaseChanges struct {
	e        *Embedded
	database string
}

// Watch returns a channel that receives after commits to the database: within about two
// seconds of a commit, by any connection (this process's own writes included), one value for
// however many commits came since the last. It holds one pending value, so a reader busy with
// the last notice gets the next once it is done. stop ends the watch; the channel is not closed.
func (c *DatabaseChanges) Watch() (changed <-chan struct{}, stop func()) {
	ch := make(chan struct{}, 1)
	e := c.e
	e.watchMu.Lock()
	if e.watchers == nil {
		e.watchers = map[string]map[chan struct{}]struct{}{}
	}
	if e.watchers[c.database] == nil {
		e.watchers[c.database] = map[chan struct{}]struct{}{}
	}
	e.watchers[c.database][ch] = struct{}{}
	e.watchMu.Unlock()
	return ch, func() {
		e.watchMu.Lock()
		delete(e.watchers[c.database], ch)
		e.watchMu.Unlock()
	}
}

// tell notifies the watchers of the databases that changed, without ever blocking.
func (e *Embedded) tell(databases []string) {
	if len(databases) == 0 {
		return
	}
	e.watchMu.Lock()
	defer e.watchMu.Unlock()
	for _, db := range databases {
		for ch := range e.watchers[db] {
			select {
			case ch <- struct{}{}:
			default: // a notice is pending already
			}
		}
	}
}

// URI returns the mongodb:// URI clients use to reach the server: its socket, percent-encoded, e.g.
// "mongodb://%2Fvar%2Flib%2Fbeacon%2Fstore%2Fmongodb.sock/". Only processes of the same user can use it.
func (e *Embedded) URI() string { return e.uri }

// Socket returns the path of the unix socket the server listens on.
func (e *Embedded) Socket() string { return e.socket }

// DataDir returns the absolute path of the directory the server stores its data in.
func (e *Embedded) DataDir() string { return e.dataDir }

// Close stops the server and waits until it has exited and closed its SQLite files. Disconnect clients
// first: FerretDB gives connections that are still open 3 seconds to finish before closing them, and
// Close waits for that. Calling Close again returns the same result.
func (e *Embedded) Close() error {
	e.closeOnce.Do(func() {
		if e.stopLookups != nil {
			e.stopLookups()
			<-e.lookupsDone
		}
		if e.lookups != nil {
			_ = e.lookups.close()
		}
		e.stop()
	})
	<-e.done
	if e.runErr != nil {
		return fmt.Errorf("running embedded FerretDB: %w", e.runErr)
	}
	return nil
}

// removeStaleSocket removes path if it is a socket nobody answers on (left by a process that died),
// and fails if a server still answers on it or if path is something other than a socket.
func removeStaleSocket(path string) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if fi.Mode().Type() != fs.ModeSocket {
		return fmt.Errorf("%s exists and is not a socket", path)
	}
	if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
		_ = c.Close()
		return fmt.Errorf("another process serves this data directory on %s", path)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("removing the stale socket %s: %w", path, err)
	}
	return nil
}

// minLevelHandler passes on to next only records at or above min. Its WithAttrs and WithGroup
// are lazy: they are applied to next only when a record passes. FerretDB derives a logger per
// connection and per command, and a text or JSON handler formats attributes as soon as they are
// added; done eagerly, that formatting cost about a fifth of the CPU of a bulk insert, for
// records that are then dropped.
type minLevelHandler struct {
	next slog.Handler
	min  slog.Level
	ops  []func(slog.Handler) slog.Handler // WithAttrs and WithGroup calls, in order, not yet applied
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
	next := h.next
	for _, op := range h.ops {
		next = op(next)
	}
	return next.Handle(ctx, r)
}

func (h minLevelHandler) with(op func(slog.Handler) slog.Handler) minLevelHandler {
	return minLevelHandler{next: h.next, min: h.min, ops: append(slices.Clip(h.ops), op)}
}

func (h minLevelHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return h.with(func(next slog.Handler) slog.Handler { return next.WithAttrs(attrs) })
}

func (h minLevelHandler) WithGroup(name string) slog.Handler {
	return h.with(func(next slog.Handler) slog.Handler { return next.WithGroup(name) })
}
