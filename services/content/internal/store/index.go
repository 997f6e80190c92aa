package store

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/beaconcms/beacon/platform/mongodb"
	"github.com/beaconcms/beacon/services/content/internal/articleindex"
	"github.com/beaconcms/beacon/services/content/internal/domain"
)

// The article_index collection holds every article's index entry, _id = article id, so that a
// process starting up reads these small documents instead of decoding every article. An entry is
// the article's basic view (domain.Article.Basic: no body, rendering, citations, SEO or editor
// notes, about 1 KB), stored as one binary field, a zstd-compressed BSON articleDoc (one binary
// field is what FerretDB v1 decodes fastest; see live.go). Basic lists are answered from these
// entries alone. An entry is written, under the article's lock, when the revision it describes
// is recorded (inside the pending-revision outbox), and never replaced by an older revision's. An
// article whose latest write is not recorded yet still has its marker in pending_revisions;
// loading reads those articles by _id. So the index loaded at start always matches the articles.

// indexDoc is an article's index entry in the article_index collection.
type indexDoc struct {
	ID            string `bson:"_id"`
	SchemaVersion int    `bson:"schemaVersion"`
	Revision      int64  `bson:"revision"`
	// Basic is the article's basic view, a zstd-compressed BSON articleDoc.
	Basic []byte `bson:"basic"`
}

// indexSchemaVersion 2: the entry is the compressed basic article (1 held its list fields).
const indexSchemaVersion = 2

// toIndexDoc returns the stored form of e, an entry made from an article document (its Basic set;
// entries loaded packed are never written back).
func (c *snapshotCodec) toIndexDoc(e articleindex.Entry) (indexDoc, error) {
	doc, err := toArticleDoc(e.Basic)
	if err != nil {
		return indexDoc{}, fmt.Errorf("index entry %s: %w", e.ID, err)
	}
	basic, err := c.compress(&doc) // without the pending flag: an entry is stored once its revision is recorded
	if err != nil {
		return indexDoc{}, fmt.Errorf("index entry %s: %w", e.ID, err)
	}
	return indexDoc{ID: e.ID, SchemaVersion: indexSchemaVersion, Revision: e.Revision, Basic: basic}, nil
}

func (c *snapshotCodec) fromIndexDoc(d *indexDoc) (articleindex.Entry, error) {
	if d.SchemaVersion != indexSchemaVersion {
		return articleindex.Entry{}, fmt.Errorf("index entry %s: unknown schemaVersion %d (this release reads %d)", d.ID, d.SchemaVersion, indexSchemaVersion)
	}
	var doc articleDoc
	if err := c.decompress(d.Basic, &doc); err != nil {
		return articleindex.Entry{}, fmt.Errorf("index entry %s: %w", d.ID, err)
	}
	e, err := indexEntryOfDoc(&doc)
	if err != nil {
		return articleindex.Entry{}, err
	}
	// Keep the basic view as read, compressed: the decoded one is garbage once the entry's
	// list fields are taken from it.
	e.Basic, e.PackedBasic = nil, d.Basic
	return e, nil
}

// basicOf returns e's basic view, decoding it when e holds it packed (see
// articleindex.Entry.PackedBasic). A decoded view is the caller's own; an unpacked one is shared.
func (c *snapshotCodec) basicOf(e *articleindex.Entry) (*domain.Article, error) {
	if e.Basic != nil {
		return e.Basic, nil
	}
	var doc articleDoc
	if err := c.decompress(e.PackedBasic, &doc); err != nil {
		return nil, fmt.Errorf("index entry %s: %w", e.ID, err)
	}
	return fromArticleDoc(&doc)
}

// writeIndexDoc stores the index entry of the revision doc is at, unless a later revision's is
// stored. The caller holds the article's lock, so this process's own later write is known to the
// in-memory index and checked first; the replace is guarded on the revision for other replicas
// (MongoDB), and an upsert that meets a newer entry fails on the duplicate _id, which is fine.
func (s *Store) writeIndexDoc(ctx context.Context, doc *articleDoc) error {
	if s.index.Revision(doc.ID) > doc.Revision {
		return nil
	}
	e, err := indexEntryOfDoc(doc)
	if err != nil {
		return err
	}
	d, err := s.codec.toIndexDoc(e)
	if err != nil {
		return err
	}
	return s.putEntry(ctx, s.indexEntries, imageIndexEntry, doc, d, "index entry")
}

// putEntry stores entry, an article's entry in coll (article_index, article_live) at doc's
// revision, unless a later revision's is stored: on MongoDB the guarded upsert then fails as a
// duplicate key, which is fine; on FerretDB the caller's lock and its in-process check
// (writeIndexDoc, writeLiveDoc) stand guard. A stored entry is copied to the start-up image
// (of kind).
func (s *Store) putEntry(ctx context.Context, coll *mongo.Collection, kind byte, doc *articleDoc, entry any, what string) error {
	err := s.replacer.Upsert(ctx, coll, doc.ID, bson.D{{Key: "revision", Value: bson.D{{Key: "$lte", Value: doc.Revision}}}}, entry)
	switch {
	case err == nil:
		s.copyEntryToImage(kind, entry)
	case !mongodb.IsDuplicateKey(err):
		return fmt.Errorf("storing the %s of articles/%s: %w", what, doc.ID, err)
	}
	return nil
}

// ForEachIndexEntry calls fn with the index entry of every article, deleted or not: those of
// article_index, then, for each article whose latest write may not be recorded yet (a marker in
// pending_revisions), the entry read from the article itself. It scans article_index (small
// documents): call it at startup only.
func (s *Store) ForEachIndexEntry(ctx context.Context, fn func(articleindex.Entry)) error {
	ctx = mongodb.WithScan(ctx, "startup: loading the article index")
	if docs, done, ok := s.imageEntries(ctx, imageIndexEntry); ok {
		entries, err := s.decodeIndexEntries(docs)
		done()
		if err != nil {
			return err
		}
		for i := range entries {
			fn(entries[i])
		}
	} else {
		err := s.scanIndexEntries(ctx, func(raw bson.Raw) error {
			e, err := s.decodeIndexEntry(raw)
			if err == nil {
				fn(e)
			}
			return err
		})
		if err != nil {
			return err
		}
	}
	markers, err := s.pendingMarkers(ctx, 0)
	if err != nil {
		return err
	}
	for _, m := range markers {
		e, ok, err := s.GetIndexEntry(ctx, m.ArticleID)
		if err != nil {
			return err
		}
		if ok {
			fn(e)
		}
	}
	s.imageLoaded()
	return nil
}

// decodeIndexEntry copies an article_index document read at start to the start-up image and
// returns its entry.
func (s *Store) decodeIndexEntry(raw bson.Raw) (articleindex.Entry, error) {
	s.copyToImage(imageIndexEntry, raw)
	var d indexDoc
	if err := bson.Unmarshal(raw, &d); err != nil {
		return articleindex.Entry{}, fmt.Errorf("load the article index: %w", err)
	}
	return s.codec.fromIndexDoc(&d)
}

// decodeIndexEntries decodes the documents of a start-up image on every core.
func (s *Store) decodeIndexEntries(docs []bson.Raw) ([]articleindex.Entry, error) {
	entries := make([]articleindex.Entry, len(docs))
	errs := make([]error, runtime.GOMAXPROCS(0))
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := range errs {
		wg.Go(func() {
			for i := int(next.Add(1)) - 1; i < len(docs) && errs[w] == nil; i = int(next.Add(1)) - 1 {
				entries[i], errs[w] = s.decodeIndexEntry(docs[i])
			}
		})
	}
	wg.Wait()
	return entries, errors.Join(errs...)
}

// scanIndexEntries calls take with every document of article_index.
func (s *Store) scanIndexEntries(ctx context.Context, take func(bson.Raw) error) error {
	cur, err := s.indexEntries.Find(ctx, bson.D{}, options.Find().SetBatchSize(2000))
	if err != nil {
		return s.dbErr(ctx, "load the article index", err)
	}
	defer cur.Close(context.WithoutCancel(ctx))
	for cur.Next(ctx) {
		if err := take(cur.Current); err != nil {
			return err
		}
	}
	return s.dbErr(ctx, "load the article index", cur.Err())
}

// forEachArticleEntry calls fn with the index entry of every article, read from the articles
// themselves in one pass. It decodes every article: for the migration that builds article_index.
func (s *Store) forEachArticleEntry(ctx context.Context, fn func(articleindex.Entry)) error {
	cur, err := s.articles.Find(ctx, bson.D{}, options.Find().SetBatchSize(500))
	if err != nil {
		return s.dbErr(ctx, "read the articles' index entries", err)
	}
	defer cur.Close(context.WithoutCancel(ctx))
	for cur.Next(ctx) {
		var d articleDoc
		if err := cur.Decode(&d); err != nil {
			return fmt.Errorf("read the articles' index entries: %w", err)
		}
		e, err := indexEntryOfDoc(&d)
		if err != nil {
			return err
		}
		fn(e)
	}
	return s.dbErr(ctx, "read the articles' index entries", cur.Err())
}

// GetIndexEntry returns the index entry of one article, by _id; false when it does not exist.
func (s *Store) GetIndexEntry(ctx context.Context, id string) (articleindex.Entry, bool, error) {
	var d articleDoc
	err := s.articles.FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&d)
	if isNoDocuments(err) {
		return articleindex.Entry{}, false, nil
	}
	if err != nil {
		return articleindex.Entry{}, false, s.dbErr(ctx, "get the index entry of articles/"+id, err)
	}
	e, err := indexEntryOfDoc(&d)
	return e, err == nil, err
}

// indexEntryOfDoc returns the entry of an article document (whole, or a basic view), as read or
// as to be written: the entry has no body or HTML, so a rendering's packed text is ignored.
func indexEntryOfDoc(d *articleDoc) (articleindex.Entry, error) {
	if d.Rendering.packed() || (d.Published != nil && d.Published.Rendering.packed()) {
		basic := *d
		basic.Rendering.HTMLZstd, basic.Rendering.TextZstd = nil, nil
		if d.Published != nil {
			snap := *d.Published
			snap.Rendering.HTMLZstd, snap.Rendering.TextZstd = nil, nil
			basic.Published = &snap
		}
		d = &basic
	}
	a, err := fromArticleDoc(d)
	if err != nil {
		return articleindex.Entry{}, err
	}
	return articleindex.EntryOf(a), nil
}
