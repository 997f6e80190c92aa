package store

import (
	"context"
	"sync"
	"sync/atomic"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/beaconcms/beacon/platform/startimage"
)

// The start-up image (package startimage) is a local copy of what a start reads whole: the
// article_index entries and the live entries. A Store given a directory (UseStartupImage)
// copies into it every entry its loads read and every entry it writes afterwards; a clean stop
// (CloseStartupImage) seals it when every head move since the load was this Store's own. The
// next start then reads the sealed copy instead of scanning the collections, as long as the
// database's schema version and change-log head are still those of the seal. Articles with a
// pending-revision marker are read from the articles collection either way.

// Record kinds of the image.
const (
	imageIndexEntry = 'i' // an article_index document
	imageLiveEntry  = 'l' // an article_live_N document
)

// imageLoads is how many loads fill an image: LoadIndex (ForEachIndexEntry) and
// ForEachLiveArticle. An image is sealed only once both have read every entry.
const imageLoads = 2

// startupImage is a Store's image state.
type startupImage struct {
	dir string

	once  sync.Once
	image atomic.Pointer[startimage.Image] // nil until opened, and when it could not be
	// sealed holds, by kind, the entries of a sealed image read at open, latest revision per
	// article, until the load of that kind takes them; a kind absent from it is scanned. They
	// point into mapped, which is released once every kind was taken and every load that took
	// one is done with it (inUse), or at the latest when the image closes.
	mu     sync.Mutex
	sealed map[byte][]bson.Raw
	mapped *startimage.Sealed
	inUse  int
	// baseHead and baseMoves are the head and the Store's own head moves when the image was
	// opened: at close, the head must have moved by exactly the Store's moves since.
	baseHead, baseMoves int64
	loads               atomic.Int32 // loads done
	// loadedSize is the image's size once the loads are done: what a start reads. Every later
	// write appends to it; once it has grown past maxImageSize(loadedSize) the image is
	// dropped, and the next start scans (and starts a compact one).
	loadedSize atomic.Int64
	bound      func(loaded int64) int64 // maxImageSize; tests make it small
}

// maxImageSize bounds an image that started at loaded bytes: a process that writes for
// months does not leave a file many times the size of what it copies. (At 10,000 articles an
// image starts at about 45 MB, and a draft edit appends about 1 KB, a publish about 5 KB.)
func maxImageSize(loaded int64) int64 { return 4*loaded + 256<<20 }

// UseStartupImage makes the Store keep a start-up image in dir and load from it when it is
// sealed at the database's current state. Call it before the loads (LoadIndex,
// ForEachLiveArticle), only in the process that owns the store (the embedded store's): a copy
// in a directory that another process also writes would be unsound.
func (s *Store) UseStartupImage(dir string) {
	s.image = &startupImage{dir: dir, bound: maxImageSize}
}

// openImage opens the image once, on the first load.
func (s *Store) openImage(ctx context.Context) {
	im := s.image
	if im == nil {
		return
	}
	im.once.Do(func() {
		head, moves, err := s.head.ReadSettled(ctx)
		if err != nil {
			s.logger.WarnContext(ctx, "start-up image not used: reading the change-log head", "err", err)
			return
		}
		im.baseHead, im.baseMoves = head, moves
		image, sealed, err := startimage.Open(im.dir, s.imageKey(head))
		if err != nil {
			s.logger.WarnContext(ctx, "start-up image not kept", "err", err)
			return
		}
		im.image.Store(image)
		if sealed == nil {
			return
		}
		if im.sealed = latestEntries(sealed.Records); im.sealed == nil {
			_ = sealed.Release()
			return
		}
		im.mapped = sealed
		s.logger.InfoContext(ctx, "loading from the start-up image", "dir", im.dir, "index_entries", len(im.sealed[imageIndexEntry]), "live_entries", len(im.sealed[imageLiveEntry]))
	})
}

// imageKey is the state an image sealed now would copy.
func (s *Store) imageKey(head int64) startimage.Key {
	return startimage.Key{Database: s.dbName, Schema: SchemaVersion(), Head: head}
}

// SchemaVersion is the version of the last migration of Migrations.
func SchemaVersion() int {
	m := Migrations()
	return m[len(m)-1].Version
}

// latestEntries groups records by kind, keeping per article the entry of the latest revision
// (of equal ones, the last appended: the image's order is the order of the writes).
func latestEntries(records []startimage.Record) map[byte][]bson.Raw {
	type key struct {
		kind byte
		id   string
	}
	at := map[key]int{}
	out := map[byte][]bson.Raw{imageIndexEntry: nil, imageLiveEntry: nil}
	for _, r := range records {
		doc := bson.Raw(r.Doc)
		id, ok := doc.Lookup("_id").StringValueOK()
		if !ok {
			return nil // not an image of ours: scan
		}
		k := key{r.Kind, id}
		i, seen := at[k]
		if !seen {
			at[k] = len(out[r.Kind])
			out[r.Kind] = append(out[r.Kind], doc)
			continue
		}
		if entryRevision(doc) >= entryRevision(out[r.Kind][i]) {
			out[r.Kind][i] = doc
		}
	}
	return out
}

func entryRevision(doc bson.Raw) int64 {
	v, _ := doc.Lookup("revision").AsInt64OK()
	return v
}

// imageEntries returns the sealed image's entries of kind, and whether there were any to use
// (else the caller scans the collection). The entries are valid until the caller calls done:
// it decodes (copies) what it keeps, and calls done when it no longer touches them.
func (s *Store) imageEntries(ctx context.Context, kind byte) (docs []bson.Raw, done func(), ok bool) {
	s.openImage(ctx)
	im := s.image
	if im == nil {
		return nil, func() {}, false
	}
	im.mu.Lock()
	defer im.mu.Unlock()
	docs, ok = im.sealed[kind]
	if !ok {
		return nil, func() {}, false
	}
	delete(im.sealed, kind)
	im.inUse++
	var once sync.Once
	return docs, func() {
		once.Do(func() {
			im.mu.Lock()
			defer im.mu.Unlock()
			im.inUse--
			if len(im.sealed) == 0 {
				im.releaseLocked()
			}
		})
	}, true
}

// releaseLocked unmaps the sealed image's entries unless a load still reads them.
func (im *startupImage) releaseLocked() {
	if im.mapped == nil || im.inUse > 0 {
		return
	}
	_ = im.mapped.Release() // an unmap of our own mapping does not fail
	im.mapped, im.sealed = nil, nil
}

// openedImage returns the image being written, or nil.
func (s *Store) openedImage() *startimage.Image {
	if s.image == nil {
		return nil
	}
	return s.image.image.Load()
}

// copyToImage appends an entry the Store read or wrote to the image.
func (s *Store) copyToImage(kind byte, doc bson.Raw) {
	if im := s.openedImage(); im != nil {
		im.Append(kind, doc)
	}
}

// copyEntryToImage encodes an entry the Store wrote and appends it to the image.
func (s *Store) copyEntryToImage(kind byte, entry any) {
	im := s.openedImage()
	if im == nil {
		return
	}
	doc, err := bson.Marshal(entry)
	if err != nil {
		im.Discard() // cannot happen for an entry just stored; never seal without it
		return
	}
	im.Append(kind, doc)
	if loaded := s.image.loadedSize.Load(); loaded > 0 && im.Size() > s.image.bound(loaded) && im.Discard() {
		s.logger.Info("start-up image dropped: it grew past its bound; the next start reads the store and starts a new one",
			"loaded_bytes", loaded, "bound_bytes", s.image.bound(loaded))
	}
}

// imageLoaded notes a load that read every entry of its kind.
func (s *Store) imageLoaded() {
	if s.image == nil {
		return
	}
	if s.image.loads.Add(1) == imageLoads {
		if im := s.openedImage(); im != nil {
			s.image.loadedSize.Store(max(im.Size(), 1))
		}
	}
}

// CloseStartupImage seals the start-up image for the next start, or discards it when it cannot
// vouch for it: a load did not finish, or another writer moved the change-log head. Call it
// once, after the Store's last write (the service's loops stopped), before the database closes.
func (s *Store) CloseStartupImage(ctx context.Context) {
	if s.image != nil { // entries of a kind no load took
		s.image.mu.Lock()
		s.image.releaseLocked()
		s.image.mu.Unlock()
	}
	image := s.openedImage()
	if image == nil {
		return
	}
	im := s.image
	if im.loads.Load() < imageLoads {
		image.Discard()
		return
	}
	head, moves, err := s.head.ReadSettled(ctx)
	if err != nil {
		image.Discard()
		s.logger.WarnContext(ctx, "start-up image discarded: reading the change-log head", "err", err)
		return
	}
	if head-im.baseHead != moves-im.baseMoves {
		image.Discard()
		s.logger.InfoContext(ctx, "start-up image discarded: another process wrote the articles", "head", head)
		return
	}
	if err := image.Close(s.imageKey(head)); err != nil {
		s.logger.WarnContext(ctx, "start-up image not sealed", "err", err)
	}
}
