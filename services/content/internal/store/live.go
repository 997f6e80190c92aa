package store

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"runtime"
	"strconv"
	"sync"
	"time"

	"github.com/klauspost/compress/zstd"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/beaconcms/beacon/platform/mongodb"
	"github.com/beaconcms/beacon/services/content/internal/domain"
)

// The article_live_N collections (liveShards of them) hold, per article, only what delivery reads: the live snapshot
// (content and pre-rendered HTML), the slugs it was published under and the delete time,
// _id = article id. Delivery read models load it at start and read it by _id when they follow the
// change log, instead of the articles themselves (draft, draft HTML, live snapshot: about 30 KB
// each, which FerretDB v1 decodes field by field at about 20 MB/s: 15 s for 10,000 articles).
//
// The snapshot is stored as two binary fields: its HTML and search text, joined and compressed
// with zstd (Body; delivery keeps it compressed in memory until it needs it), and the rest, the
// snapshotDoc without them (and without its Markdown body when the search text is there),
// BSON-encoded and compressed (Snapshot). It is derived data (the articles collection keeps the same
// snapshot as fields, which operators can query), and one binary field is what FerretDB decodes
// fastest.
//
// A live document is written with every article write, in the revision outbox (recordRevision),
// before the change-log entry that makes other replicas read it, and is never replaced by an
// older revision's. Loading reads the articles whose latest write may not be recorded yet (a
// marker in pending_revisions) by _id from the articles collection instead.

const liveSchemaVersion = 1

// liveShards is how many collections the live entries are spread over, by a hash of the article
// id. Loading them at start is most of a cold start, and the embedded store serves one cursor
// on one goroutine, decoding about 15 MB/s of these entries: the shards load in parallel, on
// every core, beside the article index. A count, not a size: it is part of the schema (a
// migration would move the entries to change it).
const liveShards = 4

// liveShardName is the name of shard i.
func liveShardName(i int) string { return "article_live_" + strconv.Itoa(i) }

func liveShardCollections(db *mongo.Database) [liveShards]*mongo.Collection {
	var out [liveShards]*mongo.Collection
	for i := range out {
		out[i] = db.Collection(liveShardName(i))
	}
	return out
}

// liveShardOf returns the shard holding the live entry of article id.
func liveShardOf(id string) int {
	h := fnv.New32a()
	_, _ = h.Write([]byte(id))
	return int(h.Sum32() % liveShards)
}

// liveDoc is an article's entry in article_live.
type liveDoc struct {
	ID            string `bson:"_id"`
	SchemaVersion int    `bson:"schemaVersion"`
	// Revision is the article revision this entry was written at.
	Revision       int64      `bson:"revision"`
	DeleteTime     *time.Time `bson:"deleteTime"`
	PublishedSlugs []string   `bson:"publishedSlugs"`
	// Snapshot is the live snapshot, a zstd-compressed BSON snapshotDoc; nil when nothing is live.
	Snapshot []byte `bson:"snapshot"`
	// Body, when set, is the snapshot's rendered HTML and search text, joined by a NUL byte and
	// compressed with zstd apart from the rest (domain.Snapshot.CompressedBody), and the
	// snapshot holds neither: delivery keeps the body compressed until it needs it. Entries
	// written before Body carry both in the snapshot. Text is only read: entries written while
	// the search text was stored apart (main at 4e416d8 to f894efb) hold the HTML alone in Body
	// and the text, compressed, in Text (domain.Snapshot.CompressedText).
	Body []byte `bson:"body,omitempty"`
	Text []byte `bson:"text,omitempty"`
}

// snapshotCodec compresses live snapshots and index entries. Its encoder and decoder are safe for concurrent use
// through EncodeAll and DecodeAll, and are made once per Store.
type snapshotCodec struct {
	once sync.Once
	enc  *zstd.Encoder
	dec  *zstd.Decoder
	err  error
}

func (c *snapshotCodec) init() error {
	c.once.Do(func() {
		c.enc, c.err = zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedDefault), zstd.WithEncoderConcurrency(runtime.GOMAXPROCS(0)))
		if c.err == nil {
			c.dec, c.err = zstd.NewReader(nil, zstd.WithDecoderConcurrency(0))
		}
	})
	return c.err
}

// toLiveDoc returns the live entry of an article document.
func (c *snapshotCodec) toLiveDoc(d *articleDoc) (liveDoc, error) {
	l := liveDoc{
		ID:             d.ID,
		SchemaVersion:  liveSchemaVersion,
		Revision:       d.Revision,
		DeleteTime:     d.DeleteTime,
		PublishedSlugs: nonNil(d.PublishedSlugs),
	}
	published := d.publishedSnapshot()
	if published == nil {
		return l, nil
	}
	withText := *published
	withText.SearchText = d.liveSearchText
	if withText.SearchText != "" {
		// Delivery serves the HTML and searches the text: the Markdown would only be decoded
		// at every start. (Without search text, delivery derives it from the Markdown.)
		withText.Content.Body = ""
	}
	if html, text := withText.Rendering.HTML, withText.SearchText; html != "" || text != "" {
		if err := c.init(); err != nil {
			return liveDoc{}, err
		}
		// One body, the HTML and the text joined by a NUL byte: the text compresses against the
		// HTML it was derived from. (Compressed apart, in Text, they took 40 % more bytes, and a
		// start without a start-up image, which decodes every entry from the embedded store at
		// about 15 MB/s, took 0.6 to 0.9 s longer at 10,000 articles.)
		body := make([]byte, 0, len(html)+1+len(text))
		body = append(append(append(body, html...), 0), text...)
		l.Body = c.enc.EncodeAll(body, make([]byte, 0, len(body)/4))
		withText.Rendering.HTML, withText.SearchText = "", ""
	}
	snap, err := c.compress(&withText)
	if err != nil {
		return liveDoc{}, fmt.Errorf("the live snapshot of articles/%s: %w", d.ID, err)
	}
	l.Snapshot = snap
	return l, nil
}

// compress returns v BSON-encoded and zstd-compressed.
func (c *snapshotCodec) compress(v any) ([]byte, error) {
	if err := c.init(); err != nil {
		return nil, err
	}
	raw, err := bson.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encoding: %w", err)
	}
	return c.enc.EncodeAll(raw, make([]byte, 0, len(raw)/3)), nil
}

// decompress decodes what compress returned into v.
func (c *snapshotCodec) decompress(b []byte, v any) error {
	if err := c.init(); err != nil {
		return err
	}
	raw, err := c.dec.DecodeAll(b, nil)
	if err != nil {
		return fmt.Errorf("decompressing: %w", err)
	}
	if err := bson.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("decoding: %w", err)
	}
	return nil
}

// fromLiveDoc returns the article as delivery sees it: ID, RevisionID, DeleteTime,
// PublishedSlugs and Published (its HTML and search text compressed, see
// domain.Snapshot.CompressedBody and CompressedText, in entries that store them so), with Draft and Rendering empty.
func (c *snapshotCodec) fromLiveDoc(l *liveDoc) (*domain.Article, error) {
	if l.SchemaVersion != liveSchemaVersion {
		return nil, fmt.Errorf("article_live %s: unknown schemaVersion %d (this release reads %d)", l.ID, l.SchemaVersion, liveSchemaVersion)
	}
	a := &domain.Article{
		ID:             l.ID,
		RevisionID:     l.Revision,
		DeleteTime:     fromOptionalTime(l.DeleteTime),
		PublishedSlugs: nilIfEmpty(l.PublishedSlugs),
	}
	if l.Snapshot == nil {
		return a, nil
	}
	var snap snapshotDoc
	if err := c.decompress(l.Snapshot, &snap); err != nil {
		return nil, fmt.Errorf("article_live %s: the snapshot: %w", l.ID, err)
	}
	s := fromSnapshotDoc(snap)
	if len(l.Body) > 0 || len(l.Text) > 0 {
		s.CompressedBody, s.CompressedText = l.Body, l.Text
	}
	a.Published = &s
	return a, nil
}

// writeLiveDoc stores the live entry of the revision doc is at, unless a later revision's is
// stored. The caller holds the article's lock (see writeIndexDoc, which it mirrors).
func (s *Store) writeLiveDoc(ctx context.Context, doc *articleDoc) error {
	if s.index.Revision(doc.ID) > doc.Revision {
		return nil
	}
	l, err := s.codec.toLiveDoc(doc)
	if err != nil {
		return err
	}
	return s.putEntry(ctx, s.live[liveShardOf(doc.ID)], imageLiveEntry, doc, l, "live entry")
}

// liveLoaders bounds how many goroutines decode live entries while loading.
const liveLoaders = 4

// ForEachLiveArticle calls fn with every article that has a live snapshot (published, not
// deleted), in no particular order, with Draft and Rendering left empty. It reads every live
// shard in one pass each, all at once (a scan: call it at startup only), decompressing on several
// goroutines, and then, by _id, the articles whose latest write may not be recorded there yet. fn
// is called from one goroutine at a time.
func (s *Store) ForEachLiveArticle(ctx context.Context, fn func(*domain.Article) error) error {
	ctx = mongodb.WithScan(ctx, "startup: loading the delivery read model")
	markers, err := s.pendingMarkers(ctx, 0)
	if err != nil {
		return err
	}
	pending := make(map[string]bool, len(markers))
	for _, m := range markers {
		pending[m.ArticleID] = true
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	docs := make(chan liveDoc, 256)
	decoded := make(chan *domain.Article, 256)
	var workers sync.WaitGroup
	for range liveLoaders {
		workers.Go(func() {
			for l := range docs {
				a, err := s.codec.fromLiveDoc(&l)
				if err != nil {
					cancel(err)
					continue
				}
				if a.Live() {
					select {
					case decoded <- a:
					case <-ctx.Done():
					}
				}
			}
		})
	}
	applied := make(chan error, 1)
	go func() {
		var failed error
		for a := range decoded {
			if failed == nil {
				if failed = fn(a); failed != nil {
					cancel(failed)
				}
			}
		}
		applied <- failed
	}()
	var readErr error
	if image, done, ok := s.imageEntries(ctx, imageLiveEntry); ok {
		readErr = s.readLiveImage(ctx, image, pending, docs)
		done()
	} else {
		readErrs := make([]error, liveShards)
		var readers sync.WaitGroup
		for i, shard := range s.live {
			readers.Go(func() { readErrs[i] = s.readLiveShard(ctx, shard, pending, docs) })
		}
		readers.Wait()
		readErr = errors.Join(readErrs...)
	}
	close(docs)
	workers.Wait()
	close(decoded)
	if err := <-applied; err != nil {
		return err
	}
	if cause := context.Cause(ctx); cause != nil && cause != context.Canceled {
		return cause
	}
	if readErr != nil {
		return readErr
	}
	ids := make([]string, 0, len(pending))
	for id := range pending {
		ids = append(ids, id)
	}
	articles, err := s.getArticlesFromArticles(ctx, ids)
	if err != nil {
		return err
	}
	for _, a := range articles {
		if a.Live() {
			if err := fn(a); err != nil {
				return err
			}
		}
	}
	s.imageLoaded()
	return nil
}

// readLiveImage sends the live entries of the start-up image to docs, but those of pending
// articles, as readLiveShard does for a shard.
func (s *Store) readLiveImage(ctx context.Context, image []bson.Raw, pending map[string]bool, docs chan<- liveDoc) error {
	for _, raw := range image {
		if err := s.takeLiveEntry(ctx, raw, pending, docs); err != nil {
			return err
		}
	}
	return nil
}

// takeLiveEntry copies a live entry read at start to the start-up image, and sends it to docs
// unless its article is pending (read from the article itself instead).
func (s *Store) takeLiveEntry(ctx context.Context, raw bson.Raw, pending map[string]bool, docs chan<- liveDoc) error {
	s.copyToImage(imageLiveEntry, raw)
	var l liveDoc
	if err := bson.Unmarshal(raw, &l); err != nil {
		return fmt.Errorf("load live articles: %w", err)
	}
	if pending[l.ID] {
		return nil
	}
	select {
	case docs <- l:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

// readLiveShard sends the entries of one live shard to docs, but those of pending articles.
func (s *Store) readLiveShard(ctx context.Context, shard *mongo.Collection, pending map[string]bool, docs chan<- liveDoc) error {
	cur, err := shard.Find(ctx, bson.D{}, options.Find().SetBatchSize(1000))
	if err != nil {
		return s.dbErr(ctx, "load live articles", err)
	}
	defer cur.Close(context.WithoutCancel(ctx))
	for cur.Next(ctx) {
		if err := s.takeLiveEntry(ctx, cur.Current, pending, docs); err != nil {
			return err
		}
	}
	return s.dbErr(ctx, "load live articles", cur.Err())
}

// GetArticlesForDelivery returns the named articles that exist, in any state, with Draft and
// Rendering left empty. It reads their live entries one by one, by _id ({_id: {$in: ...}} is a
// full scan on FerretDB v1); an article without one (its first write not recorded yet) is read
// from the articles collection.
func (s *Store) GetArticlesForDelivery(ctx context.Context, ids []string) ([]*domain.Article, error) {
	out := make([]*domain.Article, 0, len(ids))
	var missing []string
	for _, id := range ids {
		var l liveDoc
		err := s.live[liveShardOf(id)].FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&l)
		if isNoDocuments(err) {
			missing = append(missing, id)
			continue
		}
		if err != nil {
			return nil, s.dbErr(ctx, "get articles for delivery", err)
		}
		a, err := s.codec.fromLiveDoc(&l)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	rest, err := s.getArticlesFromArticles(ctx, missing)
	if err != nil {
		return nil, err
	}
	return append(out, rest...), nil
}

// getArticlesFromArticles reads the named articles that exist from the articles collection, by
// _id (whole: a live snapshot may be stored as its draft).
func (s *Store) getArticlesFromArticles(ctx context.Context, ids []string) ([]*domain.Article, error) {
	out := make([]*domain.Article, 0, len(ids))
	for _, id := range ids {
		var d articleDoc
		err := s.codec.decodeArticle(s.articles.FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode, &d)
		if isNoDocuments(err) {
			continue
		}
		if err != nil {
			return nil, s.dbErr(ctx, "get articles for delivery", err)
		}
		a, err := fromArticleDoc(&d)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, nil
}
