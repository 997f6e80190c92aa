// Package store persists the content service's sites and articles in MongoDB (or the embedded
// FerretDB v1), implementing domain.ArticleStore. Sites belong to the sites service; the
// "sites" collection created by migration 1 is no longer used (the sites service's migration
// copies it once).
//
// Every query here behaves identically on MongoDB and FerretDB v1 (see "Store rules (FerretDB v1
// compatibility)" in docs/architecture.md): only single-document atomic writes, no transactions, no
// $elemMatch on subdocuments, no aggregation beyond what both support. FerretDB v1 does not make
// conditional updates atomic under concurrency; the store serializes its own conditional writes per
// document within the process to compensate (see mongodb.DocLocks). Several processes writing through one
// FerretDB are therefore not safe; several processes on one MongoDB are.
//
// # Collections
//
//   - articles: one articleDoc per article, _id = article id. A write is made only while the
//     stored revision is the one the change was made from (optimistic concurrency, checked in
//     process under the article's lock; see mongodb.Replacer).
//   - article_revisions: one revisionDoc per successful write, _id "articleId/revisionId".
//   - slug_claims: one claimDoc per "site/slug" key a live article holds (see claims.go). A claim
//     left behind by a crash is taken over once its holder does not hold the key and the claim
//     is older than a one-minute lease.
//   - article_index: one indexDoc per article, _id = article id: the metadata lists need.
//   - article_live_0 to article_live_3: one liveDoc per article, _id = article id, in the shard
//     its id hashes to: what delivery needs (live.go).
//   - pending_revisions, article_changes: small (see platform/mongodb.SmallCollections).
//
// # Revisions survive crashes
//
// Before a write that bumps an article's revision, under the article's lock, the write's
// revision is marked in pending_revisions (one small marker per article, _id = article id). The
// article is then written, the revision document inserted (idempotent, keyed by
// "articleId/revisionId"), the live and index entries and the change-log entry written, and the
// marker removed. When the process dies in between, [Store.FlushPendingRevisions] finds the marker
// and completes the revision later. A write first records the stored revision if the marker still
// names it, and only then replaces the marker by its own, so no revision is ever overwritten
// before it is recorded. (Until schema 5 the article itself carried a revisionPending flag, which
// cost a second rewrite of the whole document to clear; the marker alone says as much.)
//
// # The store rule
//
// Request paths and periodic loops touch the store only by _id: point reads, inserts, and
// whole-document replaces after an in-process version check under the document's lock (see
// platform/mongodb/storerule.go and docs/architecture.md, "Store rules"). Lists and the schedule
// queue come from the in-memory article index (articleindex), loaded at start from the small
// article_index collection (see index.go) and kept current by this Store's writes and by the
// change log. The store query ListArticles used before the index stays as the reference its
// tests compare the index with (list.go, queryArticles). Ordering by publish_time includes
// articles with no publish time: they sort before every publish time in ascending order and after
// every one in descending order, ties broken by id, as MongoDB sorts null. A cursor positioned on
// such an article has a zero Cursor.Time.
package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/beaconcms/beacon/platform/apperr"
	"github.com/beaconcms/beacon/platform/changelog"
	"github.com/beaconcms/beacon/platform/mongodb"
	"github.com/beaconcms/beacon/services/content/internal/articleindex"
	"github.com/beaconcms/beacon/services/content/internal/domain"
)

// Collection names.
const (
	articlesCollection  = "articles"
	revisionsCollection = "article_revisions"
	claimsCollection    = "slug_claims"
	sitesCollection     = "sites" // legacy: created by migration 1, read only by the sites service's migration
	changesCollection   = "article_changes"
	scheduleCollection  = "article_schedule"
	pendingCollection   = "pending_revisions"
	indexCollection     = "article_index"
	// legacyLiveCollection held every live entry until migration 12 spread them over the
	// article_live_N shards (liveShardName).
	legacyLiveCollection = "article_live"
)

// defaultClaimLease is how long a slug claim is protected from takeover after it was made, even
// when its holder does not (yet) hold the key: that is the window in which the holder's write is
// still in flight. Only claims older than this can be taken over as orphans.
const defaultClaimLease = time.Minute

// Store implements domain.ArticleStore on one database (the content
// service's own). It is safe for concurrent use, also by several processes on one database.
type Store struct {
	articles     *mongo.Collection
	revisions    *mongo.Collection
	claims       *mongo.Collection
	changes      *mongo.Collection
	schedule     *mongo.Collection
	pending      *mongo.Collection
	indexEntries *mongo.Collection
	live         [liveShards]*mongo.Collection // article_live_0 ... (see liveShard)
	codec        snapshotCodec                 // compresses live snapshots
	logger       *slog.Logger
	locks        *mongodb.DocLocks
	replacer     *mongodb.Replacer // guarded whole-document replaces
	dbName       string            // for locks

	now        func() time.Time
	claimLease time.Duration

	flushMu          sync.Mutex
	lastFlushScan    time.Time             // guarded by flushMu
	flushRetries     map[string]flushRetry // by article id; guarded by flushMu
	nextRetry        time.Time             // earliest of flushRetries; guarded by flushMu
	pendingSuspected atomic.Bool           // a revision write of this Store failed since the last scan
	flushWake        chan struct{}         // receives after suspectPending (FlushWake)
	head             *changelog.Head       // the change log's head; remembers this Store's own moves

	// index holds every article's metadata; lists and the schedule queue are answered from it.
	// LoadIndex fills it; this Store's own writes and FollowChanges keep it current.
	index       *articleindex.Index
	indexLoaded atomic.Bool
	indexFrom   changelog.Position // where FollowChanges starts; set by LoadIndex

	image *startupImage // nil: no start-up image (UseStartupImage)
}

var _ domain.ArticleStore = (*Store)(nil)

// New returns a Store on db, whose schema [Migrations] must have brought up to date. locks is
// the process's one set of document locks (see mongodb.DocLocks). A nil logger discards.
func New(db *mongo.Database, locks *mongodb.DocLocks, logger *slog.Logger) *Store {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Store{
		articles:     db.Collection(articlesCollection),
		revisions:    db.Collection(revisionsCollection),
		claims:       db.Collection(claimsCollection),
		changes:      db.Collection(changesCollection),
		schedule:     db.Collection(scheduleCollection),
		pending:      db.Collection(pendingCollection),
		indexEntries: db.Collection(indexCollection),
		live:         liveShardCollections(db),
		head:         changelog.NewHead(db.Collection(changesCollection)),
		flushWake:    make(chan struct{}, 1),
		logger:       logger,
		locks:        locks,
		replacer:     mongodb.NewReplacer(db),
		dbName:       db.Name(),
		now:          func() time.Time { return time.Now().UTC().Truncate(time.Millisecond) },
		claimLease:   defaultClaimLease,
		index:        articleindex.New(),

		flushRetries: map[string]flushRetry{},
	}
}

// LoadIndex reads every article's metadata into the in-memory index, in one pass over the
// articles (a scan: call it once, at startup, before serving lists).
func (s *Store) LoadIndex(ctx context.Context) error {
	from, err := s.index.Load(ctx, s, s.ForEachIndexEntry, s.now())
	if err != nil {
		return err
	}
	s.indexFrom = from
	s.indexLoaded.Store(true)
	return nil
}

// FollowChanges keeps the index current with other replicas' writes, polling the change log
// every interval (with changes, reading it when told of a write to the database) until ctx
// ends. Call it after LoadIndex. It returns an error only for a non-positive interval.
func (s *Store) FollowChanges(ctx context.Context, interval time.Duration, changes changelog.Changes) error {
	if interval <= 0 {
		return fmt.Errorf("article index: the change-log poll interval must be positive, got %v", interval)
	}
	return s.index.Follow(ctx, s, s.indexFrom, interval, changes, s.now, s.logger)
}

// indexed notes an article this Store has just written (or found) in the index.
func (s *Store) indexed(doc *articleDoc) {
	if e, err := indexEntryOfDoc(doc); err == nil {
		s.index.Put(e)
	}
}

// errUnavailable is what callers see when the database cannot be reached.
func errUnavailable() error {
	return apperr.New(apperr.Unavailable, "the content store is unavailable; retry later")
}

// dbErr turns a driver error into what the store returns: Unavailable when the database cannot
// serve (the cause is logged), else err wrapped with what was being done.
func (s *Store) dbErr(ctx context.Context, what string, err error) error {
	if err == nil {
		return nil
	}
	if _, ok := apperr.As(err); ok {
		return err
	}
	if mongodb.IsUnavailable(err) {
		s.logger.WarnContext(ctx, "content store unavailable", slog.String("op", what), slog.Any("err", err))
		return errUnavailable()
	}
	return fmt.Errorf("%s: %w", what, err)
}

func articleNotFound(id string) error {
	return apperr.New(apperr.NotFound, "articles/%s not found", id)
}

func isNoDocuments(err error) bool { return errors.Is(err, mongo.ErrNoDocuments) }

// lockDoc locks one document of one of the store's collections (see mongodb.DocLocks).
func (s *Store) lockDoc(ctx context.Context, collection, id string) (func(), error) {
	return s.locks.Lock(ctx, s.dbName, collection, id)
}
