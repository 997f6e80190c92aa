package store

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/beaconcms/beacon/platform/apperr"
	"github.com/beaconcms/beacon/platform/mongodb"
	"github.com/beaconcms/beacon/services/content/internal/domain"
)

// changeDoc is an entry of the article_changes log, _id "articleId/revision". It is written with
// the revision record (inside the pending-revision outbox), so no successful article write is
// ever missing from it once its revision is recorded.
type changeLogDoc struct {
	ID            string    `bson:"_id,omitempty"`
	SchemaVersion int       `bson:"schemaVersion"`
	ArticleID     string    `bson:"articleId"`
	Revision      int64     `bson:"revision"`
	Time          time.Time `bson:"time"`
	// Articles and Revisions, when set, are a batch of imported articles at their revisions in
	// one entry (at most importLogBatch); ArticleID and Revision are then unused.
	Articles  []string `bson:"articles,omitempty"`
	Revisions []int64  `bson:"revisions,omitempty"`
}

// importLogBatch is the most articles one change-log entry of an import names. Batches keep the
// log small (every read of it, and its pruning, decodes every entry on FerretDB v1); the bound
// keeps one entry well under the followers' read batch (changelog.Follower.Batch).
const importLogBatch = 200

const changeLogSchemaVersion = 1

// logChange upserts the change-log entry of the revision doc is at.
func (s *Store) logChange(ctx context.Context, doc *articleDoc, own bool) error {
	id := doc.ID + "/" + strconv.FormatInt(doc.Revision, 10)
	entry := changeLogDoc{SchemaVersion: changeLogSchemaVersion, ArticleID: doc.ID, Revision: doc.Revision, Time: toTime(doc.UpdateTime)}
	_, err := s.changes.UpdateOne(ctx,
		bson.D{{Key: "_id", Value: id}},
		bson.D{{Key: "$setOnInsert", Value: entry}},
		options.UpdateOne().SetUpsert(true))
	if err != nil && !mongodb.IsDuplicateKey(err) {
		return fmt.Errorf("logging change %s: %w", id, err)
	}
	return s.head.Move(ctx, own)
}

// ArticleChangesHead returns the change log's head: it changes after every entry added.
func (s *Store) ArticleChangesHead(ctx context.Context) (int64, error) {
	h, err := s.head.Read(ctx)
	return h, s.dbErr(ctx, "read the change log's head", err)
}

// OwnArticleChanges reports whether every head value after from, up to to, came from this
// Store's own writes, which this process's index and read model were given in process.
func (s *Store) OwnArticleChanges(from, to int64) bool { return s.head.Own(from, to) }

// ListArticleChanges returns the changes of change-log entries at or after since, oldest first,
// at most limit entries; an import's batch entry gives one change per article, so more than limit
// may come back.
func (s *Store) ListArticleChanges(ctx context.Context, since time.Time, limit int) ([]domain.ArticleChange, error) {
	cur, err := s.changes.Find(ctx,
		bson.D{{Key: "time", Value: bson.D{{Key: "$gte", Value: toTime(since)}}}},
		options.Find().SetSort(bson.D{{Key: "time", Value: 1}, {Key: "_id", Value: 1}}).SetLimit(int64(limit)))
	if err != nil {
		return nil, s.dbErr(ctx, "list article changes", err)
	}
	var docs []changeLogDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, s.dbErr(ctx, "list article changes", err)
	}
	out := make([]domain.ArticleChange, 0, len(docs))
	for _, d := range docs {
		if len(d.Articles) > 0 { // an import's batch
			for i, id := range d.Articles {
				var rev int64
				if i < len(d.Revisions) {
					rev = d.Revisions[i]
				}
				out = append(out, domain.ArticleChange{ArticleID: id, RevisionID: rev, Time: fromTime(d.Time)})
			}
			continue
		}
		out = append(out, domain.ArticleChange{ArticleID: d.ArticleID, RevisionID: d.Revision, Time: fromTime(d.Time)})
	}
	return out, nil
}

// PruneArticleChanges deletes change-log entries older than before.
func (s *Store) PruneArticleChanges(ctx context.Context, before time.Time) error {
	_, err := s.changes.DeleteMany(ctx, bson.D{{Key: "time", Value: bson.D{{Key: "$lt", Value: toTime(before)}}}})
	return s.dbErr(ctx, "prune article changes", err)
}

// ImportArticles bulk-inserts new articles with their current revision and change-log entries,
// claiming their slug keys first. It is for seeding and imports, where one-by-one writes are too
// slow on the embedded store. A slug clash fails the whole batch before any article is written
// (the claims taken are released).
func (s *Store) ImportArticles(ctx context.Context, articles []*domain.Article) error {
	batch, err := s.EncodeImport(articles)
	if err != nil {
		return err
	}
	return s.ImportEncoded(ctx, batch)
}

// EncodeImport does the part of ImportArticles that needs no store: converting, compressing and
// encoding the articles, on every core. A caller importing batch after batch (Seed) encodes the
// next batch while the store takes the current one.
func (s *Store) EncodeImport(articles []*domain.Article) (*ImportBatch, error) {
	if len(articles) == 0 {
		return &ImportBatch{}, nil
	}
	b, err := s.encodeImport(articles)
	if err != nil {
		return nil, err
	}
	b.articles = articles
	return b, nil
}

// ImportEncoded stores a batch EncodeImport made, as ImportArticles does.
func (s *Store) ImportEncoded(ctx context.Context, batch *ImportBatch) error {
	articles := batch.articles
	if len(articles) == 0 {
		return nil
	}
	now := s.now()
	token := newClaimOp("import", 0).token
	var claims []any
	for _, a := range articles {
		for _, key := range a.SlugKeys() {
			claims = append(claims, claimDoc{Key: key, SchemaVersion: claimSchemaVersion, ArticleID: a.ID, Revision: a.RevisionID, Token: token, ClaimedAt: now})
		}
	}
	if _, err := s.claims.InsertMany(ctx, claims); err != nil {
		cleanup := mongodb.WithScan(context.WithoutCancel(ctx), "import tool: releasing the claims of a failed import")
		_, _ = s.claims.DeleteMany(cleanup, bson.D{{Key: "token", Value: bson.D{{Key: "$eq", Value: token}}}})
		if mongodb.IsDuplicateKey(err) {
			return apperr.New(apperr.AlreadyExists, "a slug in this import is already used on its site")
		}
		return s.dbErr(ctx, "import: claim slugs", err)
	}
	type insert struct {
		what string
		coll *mongo.Collection
		docs []any
	}
	steps := []insert{
		// Index entries first: a crash before the articles leaves entries of articles that do not
		// exist, which lists skip; never articles that the index would not know after a restart.
		{"index entries", s.indexEntries, batch.entries},
		{"articles", s.articles, batch.stored}, {"revisions", s.revisions, batch.revisions},
	}
	for i, lives := range batch.lives {
		steps = append(steps, insert{"live entries", s.live[i], lives})
	}
	steps = append(steps, insert{"change log", s.changes, batch.changes})
	for _, step := range steps {
		if len(step.docs) == 0 {
			continue
		}
		if _, err := step.coll.InsertMany(ctx, step.docs); err != nil {
			return s.dbErr(ctx, "import: insert "+step.what, err)
		}
	}
	for _, doc := range batch.entries {
		s.copyToImage(imageIndexEntry, doc.(bson.Raw))
	}
	for _, lives := range batch.lives {
		for _, doc := range lives {
			s.copyToImage(imageLiveEntry, doc.(bson.Raw))
		}
	}
	if err := s.head.Move(ctx, true); err != nil { // ImportPublished hands the articles to the read models
		return s.dbErr(ctx, "import", err)
	}
	for i := range batch.docs {
		s.indexed(&batch.docs[i])
	}
	return nil
}

// ImportBatch is what ImportArticles inserts besides slug claims: a document per article in each
// collection, BSON-encoded, and change-log entries of importLogBatch articles each.
type ImportBatch struct {
	articles                            []*domain.Article // the articles encoded
	docs                                []articleDoc
	entries, stored, revisions, changes []any
	lives                               [liveShards][]any // by shard
}

// encodeImport converts and encodes the articles of an import on every core: the conversion,
// the compression of live snapshots and index entries and the BSON encoding are most of an
// import's work outside the store.
func (s *Store) encodeImport(articles []*domain.Article) (*ImportBatch, error) {
	type encoded struct {
		doc                                    articleDoc
		entry, article, revision, live, change bson.Raw
	}
	out := make([]encoded, len(articles))
	errs := make([]error, len(articles))
	encode := func(i int) error {
		a := articles[i]
		doc, err := toArticleDoc(a)
		if err != nil {
			return err
		}
		e, err := indexEntryOfDoc(&doc)
		if err != nil {
			return err
		}
		entry, err := s.codec.toIndexDoc(e)
		if err != nil {
			return err
		}
		live, err := s.codec.toLiveDoc(&doc)
		if err != nil {
			return err
		}
		r := revisionFromArticleDoc(&doc)
		rev, err := s.codec.storedRevision(&r)
		if err != nil {
			return err
		}
		o := &out[i]
		o.doc = doc
		for _, m := range []struct {
			dst *bson.Raw
			v   any
		}{{&o.entry, entry}, {&o.revision, rev}, {&o.live, &live}} {
			if *m.dst, err = bson.Marshal(m.v); err != nil {
				return fmt.Errorf("encoding articles/%s for import: %w", a.ID, err)
			}
		}
		if o.article, err = s.codec.marshalStoredArticle(&doc); err != nil {
			return fmt.Errorf("encoding articles/%s for import: %w", a.ID, err)
		}
		return nil
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(articles)) {
		wg.Go(func() {
			for i := int(next.Add(1)) - 1; i < len(articles); i = int(next.Add(1)) - 1 {
				errs[i] = encode(i)
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	b := &ImportBatch{docs: make([]articleDoc, len(out))}
	for i := range out {
		o := &out[i]
		b.docs[i] = o.doc
		b.entries = append(b.entries, o.entry)
		b.stored = append(b.stored, o.article)
		b.revisions = append(b.revisions, o.revision)
		shard := liveShardOf(o.doc.ID)
		b.lives[shard] = append(b.lives[shard], o.live)
	}
	now := toTime(s.now())
	for first := 0; first < len(out); first += importLogBatch {
		batch := out[first:min(first+importLogBatch, len(out))]
		c := changeLogDoc{ID: "import/" + batch[0].doc.ID + "/" + strconv.FormatInt(batch[0].doc.Revision, 10), SchemaVersion: changeLogSchemaVersion, Time: now}
		for _, o := range batch {
			c.Articles = append(c.Articles, o.doc.ID)
			c.Revisions = append(c.Revisions, o.doc.Revision)
		}
		b.changes = append(b.changes, c)
	}
	return b, nil
}
