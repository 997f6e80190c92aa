package mongodb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"

	_ "modernc.org/sqlite" // the SQLite driver FerretDB itself uses, registered as "sqlite"
)

// The _id lookup index of the embedded store.
//
// FerretDB v1 on SQLite keeps each collection in a table with one JSON column, _ferretdb_sjson,
// and looks a document up by _id with `WHERE _ferretdb_sjson->'$._id' = ?` (every point read,
// replace, update and delete by _id). The unique index it creates for _id is on a different
// expression, `_ferretdb_sjson->"_id"`, which SQLite does not match with the lookup's; so every
// lookup scanned the table and parsed every row's JSON: a point read cost time in proportion to
// the bytes of the collection (measured: about 200 ms per write at 1,000 articles of 30 KB, and
// seconds at 10,000). idLookupIndexer adds to every collection's table an index on exactly the
// lookup's expression, which SQLite uses (EXPLAIN QUERY PLAN: SEARCH ... USING INDEX), making
// _id lookups logarithmic. The index is invisible to FerretDB (not in its metadata, so never
// listed as a MongoDB index) and goes with the table when FerretDB drops the collection.

// idLookupExpr is FerretDB v1's _id lookup expression (metadata.IDColumn in its SQLite backend).
// The index must be on this exact text.
const idLookupExpr = `_ferretdb_sjson->'$._id'`

// idLookupSuffix names Beacon's index: "<table>" + idLookupSuffix. FerretDB names its own indexes
// "<table>_<MongoDB index name>"; "_id_" is its _id index.
const idLookupSuffix = "__beacon_id_lookup"

// ferretCollectionsTable is FerretDB's metadata table listing each collection's table.
const ferretCollectionsTable = "_ferretdb_collections"

// idLookupIndexer keeps an _id lookup index on every collection table of the SQLite files in one
// data directory, and tells which files changed since it last looked. It is used by one goroutine
// at a time (Embedded's loop, or its start).
type idLookupIndexer struct {
	dir    string
	logger *slog.Logger

	mu       sync.Mutex
	dbs      map[string]*sql.DB   // by file name; guarded by mu
	versionQ map[string]*sql.Stmt // "PRAGMA data_version" prepared on dbs, by file name; guarded by mu
	schemas  map[string]int64     // schema_version last indexed, by file name; guarded by mu
	versions map[string]int64     // data_version last seen on dbs' connection, by file name; guarded by mu
}

func newIDLookupIndexer(dir string, logger *slog.Logger) *idLookupIndexer {
	return &idLookupIndexer{dir: dir, logger: logger, dbs: map[string]*sql.DB{}, versionQ: map[string]*sql.Stmt{},
		schemas: map[string]int64{}, versions: map[string]int64{}}
}

// sync creates the missing lookup indexes of every database file of the directory whose schema
// changed since the last call (a new database, a new collection), and returns the databases
// (file names without ".sqlite") that changed at all since the last call: any commit to the file
// by another connection (FerretDB's, for any client), a new file, a file gone. indexed reports
// whether the schema of any file changed. An unchanged file costs one PRAGMA query: SQLite's
// data_version, which changes on the indexer's own connection exactly when another connection
// has committed to the file.
func (x *idLookupIndexer) sync(ctx context.Context) (changedDBs []string, indexed bool, err error) {
	files, err := filepath.Glob(filepath.Join(x.dir, "*.sqlite"))
	if err != nil {
		return nil, false, err
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	present := make(map[string]bool, len(files))
	for _, path := range files {
		present[filepath.Base(path)] = true
	}
	for name, db := range x.dbs { // dropped databases: FerretDB removed the file
		if !present[name] {
			_ = db.Close()
			x.forget(name)
			changedDBs = append(changedDBs, databaseOfFile(name))
			indexed = true
		}
	}
	var errs []error
	for _, path := range files {
		name := filepath.Base(path)
		db, err := x.open(name, path)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		var dataVersion, version int64
		// Not cancellable: SQLite then runs the PRAGMAs (local reads of a few bytes) without a
		// goroutine per query to watch the context, each of which woke a thread on every look.
		local := context.WithoutCancel(ctx)
		err = x.versionQ[name].QueryRowContext(local).Scan(&dataVersion)
		if seen, ok := x.versions[name]; err == nil && ok && seen == dataVersion {
			continue // nobody committed to the file since the last look
		}
		// Changed, new, or unknown (a failed read): the watchers look for themselves.
		changedDBs = append(changedDBs, databaseOfFile(name))
		if err == nil {
			err = db.QueryRowContext(local, "PRAGMA schema_version").Scan(&version)
		}
		if err != nil {
			// Dropped meanwhile (the file is gone), or a handle gone bad: open it afresh next time.
			_ = db.Close()
			x.forget(name)
			if _, statErr := os.Stat(path); statErr == nil {
				errs = append(errs, fmt.Errorf("%s: reading its versions: %w", name, err))
			}
			continue
		}
		if x.schemas[name] == version {
			x.versions[name] = dataVersion
			continue
		}
		indexed = true
		created, err := indexTables(ctx, db)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
			continue
		}
		if created > 0 {
			x.logger.DebugContext(ctx, "embedded store: indexed _id lookups", slog.String("database", strings.TrimSuffix(name, ".sqlite")), slog.Int("tables", created))
			// Creating indexes changed the schema version again; read it back.
			if err := db.QueryRowContext(ctx, "PRAGMA schema_version").Scan(&version); err != nil {
				errs = append(errs, fmt.Errorf("%s: reading its schema version: %w", name, err))
				continue
			}
		}
		// Only now, so that a file whose indexing failed is looked at again next time.
		x.schemas[name], x.versions[name] = version, dataVersion
	}
	return changedDBs, indexed, errors.Join(errs...)
}

// forget drops what the indexer knows of one file, whose handle was closed. The caller holds mu.
func (x *idLookupIndexer) forget(name string) {
	delete(x.dbs, name)
	delete(x.versionQ, name)
	delete(x.schemas, name)
	delete(x.versions, name)
}

// databaseOfFile returns the database FerretDB keeps in the SQLite file name.
func databaseOfFile(name string) string { return strings.TrimSuffix(name, ".sqlite") }

// open returns the handle of one database file, opening it on first use. The caller holds mu.
func (x *idLookupIndexer) open(name, path string) (*sql.DB, error) {
	if db := x.dbs[name]; db != nil {
		return db, nil
	}
	// Wait for FerretDB's writers as they wait for ours (it sets busy_timeout(10000) too).
	uri := (&url.URL{Scheme: "file", Path: filepath.ToSlash(path), RawQuery: "_pragma=busy_timeout(10000)"}).String()
	db, err := sql.Open("sqlite", uri)
	if err != nil {
		return nil, fmt.Errorf("%s: opening it: %w", name, err)
	}
	db.SetMaxOpenConns(1)
	// Prepared once: each look runs it on every file.
	q, err := db.Prepare("PRAGMA data_version")
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("%s: preparing its data_version query: %w", name, err)
	}
	x.dbs[name], x.versionQ[name] = db, q
	return db, nil
}

// indexTables creates the lookup index of every collection table of db that lacks one, and
// returns how many it created. A file without FerretDB's metadata table has no collections yet.
func indexTables(ctx context.Context, db *sql.DB) (int, error) {
	var hasMeta int
	if err := db.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?", ferretCollectionsTable).Scan(&hasMeta); err != nil {
		return 0, fmt.Errorf("looking for %s: %w", ferretCollectionsTable, err)
	}
	if hasMeta == 0 {
		return 0, nil
	}
	rows, err := db.QueryContext(ctx, fmt.Sprintf(
		`SELECT c.table_name FROM %q c WHERE NOT EXISTS (SELECT 1 FROM sqlite_master m WHERE m.type = 'index' AND m.name = c.table_name || ?)
		 AND EXISTS (SELECT 1 FROM sqlite_master t WHERE t.type = 'table' AND t.name = c.table_name)`,
		ferretCollectionsTable), idLookupSuffix)
	if err != nil {
		return 0, fmt.Errorf("listing collection tables: %w", err)
	}
	var tables []string
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			_ = rows.Close()
			return 0, fmt.Errorf("listing collection tables: %w", err)
		}
		tables = append(tables, t)
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return 0, fmt.Errorf("listing collection tables: %w", err)
	}
	created := 0
	for _, t := range tables {
		q := fmt.Sprintf(`CREATE INDEX IF NOT EXISTS %q ON %q (%s)`, t+idLookupSuffix, t, idLookupExpr)
		if _, err := db.ExecContext(ctx, q); err != nil {
			if strings.Contains(err.Error(), "no such table") {
				continue // dropped meanwhile
			}
			return created, fmt.Errorf("indexing _id lookups of table %s: %w", t, err)
		}
		created++
	}
	return created, nil
}

// close closes every database handle.
func (x *idLookupIndexer) close() error {
	x.mu.Lock()
	defer x.mu.Unlock()
	var errs []error
	for name, db := range x.dbs {
		errs = append(errs, db.Close())
		delete(x.dbs, name)
	}
	return errors.Join(errs...)
}
