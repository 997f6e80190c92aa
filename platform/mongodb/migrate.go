package mongodb

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// MigrationsCollection is the collection in which [Migrate] records applied migrations, one document
// per version: {_id: <version>, description: <string>, applied_at: <date>}.
const MigrationsCollection = "schema_migrations"

// Migration is one versioned schema step (collections, indexes).
//
// Up must be idempotent: when two replicas start at once both may run it, and a step that failed
// after a partial change is run again on the next start.
type Migration struct {
	Version     int // positive; unique and ascending within the list given to Migrate
	Description string
	Up          func(ctx context.Context, db *mongo.Database) error
}

type migrationRecord struct {
	Version     int       `bson:"_id"`
	Description string    `bson:"description"`
	AppliedAt   time.Time `bson:"applied_at"`
}

// Migrate applies, in Version order, the migrations not yet recorded in db's [MigrationsCollection]
// collection, recording each one right after its Up succeeds, and logs each step it applies.
//
// It returns an error, applying nothing, unless every Version is positive and greater than the one
// before it and every Up is non-nil. It stops at the first failing step; steps before it stay
// recorded. Two processes may call it at once: both may run a step (hence idempotent steps), and the
// unique _id = Version makes the record land once; the process that loses that race still succeeds.
// Recorded versions the list does not contain (a database migrated by a newer release) are logged
// at Warn and otherwise ignored. A nil logger discards the log.
func Migrate(ctx context.Context, db *mongo.Database, migrations []Migration, logger *slog.Logger) error {
	if err := validateMigrations(migrations); err != nil {
		return err
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	ctx = WithScan(ctx, "migrations") // steps may scan: they run once, at startup
	coll := db.Collection(MigrationsCollection)
	applied, err := appliedVersions(ctx, coll)
	if err != nil {
		return err
	}

	for _, m := range migrations {
		if applied[m.Version] {
			continue
		}
		start := time.Now()
		if err := m.Up(ctx, db); err != nil {
			return fmt.Errorf("applying migration %d (%s): %w", m.Version, m.Description, err)
		}
		rec := migrationRecord{Version: m.Version, Description: m.Description, AppliedAt: time.Now().UTC()}
		_, err := coll.InsertOne(ctx, rec)
		concurrent := IsDuplicateKey(err)
		if err != nil && !concurrent {
			return fmt.Errorf("recording migration %d (%s): %w", m.Version, m.Description, err)
		}
		logger.InfoContext(ctx, "applied migration",
			slog.String("database", db.Name()),
			slog.Int("version", m.Version),
			slog.String("description", m.Description),
			slog.Duration("duration", time.Since(start)),
			slog.Bool("recorded_concurrently", concurrent))
	}

	var unknown []int
	for v := range applied {
		if !slices.ContainsFunc(migrations, func(m Migration) bool { return m.Version == v }) {
			unknown = append(unknown, v)
		}
	}
	if len(unknown) > 0 {
		slices.Sort(unknown)
		logger.WarnContext(ctx, "database records migrations this release does not know",
			slog.String("database", db.Name()), slog.Any("versions", unknown))
	}
	return nil
}

func validateMigrations(migrations []Migration) error {
	for i, m := range migrations {
		switch {
		case m.Version <= 0:
			return fmt.Errorf("migration %d (%s): version must be positive", m.Version, m.Description)
		case m.Up == nil:
			return fmt.Errorf("migration %d (%s): Up is nil", m.Version, m.Description)
		case i > 0 && m.Version == migrations[i-1].Version:
			return fmt.Errorf("migration %d (%s): duplicate version", m.Version, m.Description)
		case i > 0 && m.Version < migrations[i-1].Version:
			return fmt.Errorf("migration %d (%s): versions must be ascending, it follows %d",
				m.Version, m.Description, migrations[i-1].Version)
		}
	}
	return nil
}

func appliedVersions(ctx context.Context, coll *mongo.Collection) (map[int]bool, error) {
	cur, err := coll.Find(ctx, bson.D{}, options.Find().SetProjection(bson.D{{Key: "_id", Value: 1}}))
	if err != nil {
		return nil, fmt.Errorf("reading applied migrations: %w", err)
	}
	var recs []migrationRecord
	if err := cur.All(ctx, &recs); err != nil {
		return nil, fmt.Errorf("reading applied migrations: %w", err)
	}
	applied := make(map[int]bool, len(recs))
	for _, r := range recs {
		applied[r.Version] = true
	}
	return applied, nil
}

// DropFerretDBIndexes drops the named indexes of coll on FerretDB, succeeding when they do not
// exist; on MongoDB it does nothing. FerretDB v1 pushes down nothing but _id equality, so there a
// secondary index never speeds a query up while every write pays for it: SQLite evaluates each
// indexed JSON path of the document once more. Indexes that enforce a uniqueness the data relies
// on must stay.
func DropFerretDBIndexes(ctx context.Context, coll *mongo.Collection, names ...string) error {
	ferret, err := IsFerretDB(ctx, coll.Database().Client())
	if err != nil || !ferret {
		return err
	}
	specs, err := coll.Indexes().ListSpecifications(ctx)
	if err != nil {
		return fmt.Errorf("listing indexes on %s: %w", coll.Name(), err)
	}
	for _, s := range specs {
		if !slices.Contains(names, s.Name) {
			continue
		}
		if err := coll.Indexes().DropOne(ctx, s.Name); err != nil {
			return fmt.Errorf("dropping index %q on %s: %w", s.Name, coll.Name(), err)
		}
	}
	return nil
}

// EnsureIndexes creates the indexes described by models on coll and succeeds when they already exist
// with the same keys and uniqueness; it is meant for migration steps. An empty models is a no-op.
//
// An existing index with the same name but different keys or a different unique option is an error, on
// MongoDB and on FerretDB alike: FerretDB v1 silently keeps the old index when only the options differ,
// so EnsureIndexes compares uniqueness itself. To change an index, add a step that drops it first.
// (FerretDB v1 ignores "sparse" altogether, so that option is not compared.)
//
// It sends one createIndexes command per model: FerretDB v1.24 panics, dropping the connection, or
// skips a new index, when one createIndexes command names several indexes of which some exist.
func EnsureIndexes(ctx context.Context, coll *mongo.Collection, models []mongo.IndexModel) error {
	if len(models) == 0 {
		return nil
	}
	names := make([]string, len(models))
	for i, model := range models {
		name, err := coll.Indexes().CreateOne(ctx, model)
		if err != nil {
			return fmt.Errorf("creating index %d of %d on %s: %w", i+1, len(models), coll.Name(), err)
		}
		names[i] = name
	}
	specs, err := coll.Indexes().ListSpecifications(ctx)
	if err != nil {
		return fmt.Errorf("listing indexes on %s: %w", coll.Name(), err)
	}
	for i, name := range names {
		want, err := isUnique(models[i].Options)
		if err != nil {
			return fmt.Errorf("index %q on %s: %w", name, coll.Name(), err)
		}
		j := slices.IndexFunc(specs, func(s mongo.IndexSpecification) bool { return s.Name == name })
		if j < 0 {
			return fmt.Errorf("index %q on %s: missing after creation", name, coll.Name())
		}
		if got := specs[j].Unique != nil && *specs[j].Unique; got != want {
			return fmt.Errorf("index %q on %s exists with unique=%t, want unique=%t", name, coll.Name(), got, want)
		}
	}
	return nil
}

// isUnique reports whether index options b ask for a unique index.
func isUnique(b *options.IndexOptionsBuilder) (bool, error) {
	if b == nil {
		return false, nil
	}
	var o options.IndexOptions
	for _, set := range b.List() {
		if err := set(&o); err != nil {
			return false, fmt.Errorf("reading index options: %w", err)
		}
	}
	return o.Unique != nil && *o.Unique, nil
}
