// Package startimage keeps, in a local file, a copy of the documents a service reads whole when
// it starts, so that its next start can read them from that file instead of from the store.
//
// On the embedded store (FerretDB v1 on SQLite) reading a collection whole costs about 15 MB/s
// of decoding: at 10,000 articles the content service's start-up scans are 3 to 4 s of a
// cold start on two cores. The same bytes read from a local file decode at the speed of the
// BSON decoder.
//
// An image is a cache, never a source of truth, and is used only when it is known to equal the
// store:
//   - The process that owns it writes every document it reads at start and every one it writes
//     afterwards (Append), so the file mirrors the collections as this process left them.
//   - Only a clean stop seals it (Close), with a Key naming the state it copies: the database,
//     its schema (migration) version and its change log's head. The owner seals only when every
//     head move since the image was started was its own, so no other writer's documents are
//     missing.
//   - Open uses an image only when its seal matches the store's Key now, and removes the seal
//     before anything else: after a crash, a failed write, another process's write or a
//     migration, the next start reads the store, and starts a new image from what it read.
package startimage

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
)

// format is the layout of the files below; an image of another format is not read.
const format = 1

const (
	entriesFile = "entries"    // the records, back to back
	sealFile    = "clean.json" // the seal: a marker
)

// Key names the state of the store an image copies.
type Key struct {
	Database string `json:"database"`
	// Schema is the database's schema version (the last migration applied).
	Schema int `json:"schema"`
	// Head is the database's change-log head: every write moves it.
	Head int64 `json:"head"`
}

// seal is what clean.json holds.
type seal struct {
	Format int   `json:"format"`
	Key    Key   `json:"key"`
	Size   int64 `json:"size"` // of the entries file, which must be whole
}

// Record is one document of an image. Kind says which collection it copies (the owner's
// choice); Doc is its BSON, which points into the Sealed that holds the record.
type Record struct {
	Kind byte
	Doc  []byte
}

// Sealed is what Open read of a sealed image: its records, in the order they were appended.
// Their documents point into a read-only mapping of the image's file (into one buffer where
// the platform cannot map files), so that a start reading tens of megabytes from it does not
// hold them in the Go heap, where the collector's goal would double them. The documents are
// valid until Release: callers copy what they keep, and must not touch a document after it.
type Sealed struct {
	Records []Record
	once    sync.Once
	unmap   func() error
	err     error
}

// Release ends the records' life (unmapping the file); it is safe to call more than once.
func (s *Sealed) Release() error {
	s.once.Do(func() {
		s.err = s.unmap()
		s.Records = nil
	})
	return s.err
}

// maxDoc bounds a record's document: MongoDB's own limit.
const maxDoc = 16 << 20

// Image is an image being written. Its methods are safe for concurrent use.
type Image struct {
	dir string

	mu     sync.Mutex
	f      *os.File      // nil once closed or discarded
	w      *bufio.Writer // over f
	size   int64
	failed error // the first write error: the image is not sealed
}

// Open starts a new image in dir (made if missing) and returns, with it, the image there if it
// was sealed at want and holds records, or nil; the caller releases it (Sealed.Release). A
// damaged or unsealed image, or one sealed at another Key, is not an error: it is not used.
// The error is for a directory that cannot be written.
func Open(dir string, want Key) (*Image, *Sealed, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, nil, fmt.Errorf("start-up image: %w", err)
	}
	sealed := readSealed(dir, want)
	fail := func(err error) (*Image, *Sealed, error) {
		if sealed != nil {
			_ = sealed.Release()
		}
		return nil, nil, fmt.Errorf("start-up image: %w", err)
	}
	// The seal goes before anything is written: a crash from here on leaves no sealed image.
	if err := os.Remove(filepath.Join(dir, sealFile)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fail(err)
	}
	// The new image is a new file: the old one's name goes, while its mapping keeps it readable
	// (truncating a mapped file would fault its readers).
	if err := os.Remove(filepath.Join(dir, entriesFile)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fail(err)
	}
	f, err := os.OpenFile(filepath.Join(dir, entriesFile), os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fail(err)
	}
	return &Image{dir: dir, f: f, w: bufio.NewWriterSize(f, 256<<10)}, sealed, nil
}

// readSealed returns the image in dir if it is sealed at want and holds records, else nil.
func readSealed(dir string, want Key) *Sealed {
	raw, err := os.ReadFile(filepath.Join(dir, sealFile))
	if err != nil {
		return nil
	}
	var s seal
	if json.Unmarshal(raw, &s) != nil || s.Format != format || s.Key != want || s.Size <= 0 {
		return nil
	}
	f, err := os.Open(filepath.Join(dir, entriesFile))
	if err != nil {
		return nil
	}
	defer f.Close() // a mapping outlives its file's descriptor
	if info, err := f.Stat(); err != nil || info.Size() != s.Size {
		return nil
	}
	data, unmap, err := mapFile(f, s.Size)
	if err != nil {
		return nil
	}
	records, err := parse(data)
	if err != nil || len(records) == 0 {
		_ = unmap()
		return nil
	}
	return &Sealed{Records: records, unmap: unmap}
}

// parse splits data into records: a kind byte, then a BSON document, whose first four bytes
// are its length (little-endian, the length included).
func parse(data []byte) ([]Record, error) {
	var out []Record
	for len(data) > 0 {
		if len(data) < 1+5 {
			return nil, errors.New("a truncated record")
		}
		n := int64(binary.LittleEndian.Uint32(data[1:5]))
		if n < 5 || n > maxDoc || n > int64(len(data)-1) || data[n] != 0 {
			return nil, errors.New("a record of a bad length")
		}
		out = append(out, Record{Kind: data[0], Doc: data[1 : 1+n : 1+n]})
		data = data[1+n:]
	}
	return out, nil
}

// Append adds a document of kind. doc must be one whole BSON document; Append copies it. A
// write error stops the image (Close then seals nothing); it is not reported to the caller,
// whose own write succeeded: the next start reads the store.
func (im *Image) Append(kind byte, doc []byte) {
	im.mu.Lock()
	defer im.mu.Unlock()
	if im.f == nil || im.failed != nil {
		return
	}
	if len(doc) < 5 || int64(binary.LittleEndian.Uint32(doc)) != int64(len(doc)) || len(doc) > maxDoc {
		im.failed = fmt.Errorf("a document of %d bytes is not one whole BSON document", len(doc))
		return
	}
	if err := im.w.WriteByte(kind); err != nil {
		im.failed = err
		return
	}
	if _, err := im.w.Write(doc); err != nil {
		im.failed = err
		return
	}
	im.size += 1 + int64(len(doc))
}

// Size returns how many bytes the image holds (appended so far).
func (im *Image) Size() int64 {
	im.mu.Lock()
	defer im.mu.Unlock()
	return im.size
}

// Close writes the image out and seals it at key; the next Open with that key reads it. An
// image that failed a write is discarded instead, and the error returned. Appends after Close
// are dropped (and, as writes, move the head: the seal then no longer matches).
func (im *Image) Close(key Key) error {
	im.mu.Lock()
	defer im.mu.Unlock()
	if im.f == nil {
		return errors.New("start-up image: already closed")
	}
	err := im.failed
	if err == nil {
		err = im.w.Flush()
	}
	if err == nil {
		err = im.f.Sync()
	}
	if cerr := im.f.Close(); err == nil {
		err = cerr
	}
	im.f = nil
	if err == nil {
		err = im.writeSeal(seal{Format: format, Key: key, Size: im.size})
	}
	if err != nil {
		_ = os.Remove(filepath.Join(im.dir, entriesFile))
		return fmt.Errorf("start-up image: %w", err)
	}
	return nil
}

func (im *Image) writeSeal(s seal) error {
	raw, err := json.Marshal(s)
	if err != nil {
		return err
	}
	tmp := filepath.Join(im.dir, sealFile+".tmp")
	if err := os.WriteFile(tmp, raw, 0o600); err != nil {
		return err
	}
	f, err := os.Open(tmp)
	if err == nil {
		err = errors.Join(f.Sync(), f.Close())
	}
	if err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(im.dir, sealFile))
}

// Discard closes the image without sealing it and removes its file: for an owner that cannot
// vouch for it (a load that did not finish, another writer's head moves). It reports whether
// the image was still open.
func (im *Image) Discard() bool {
	im.mu.Lock()
	defer im.mu.Unlock()
	if im.f == nil {
		return false
	}
	_ = im.f.Close()
	im.f = nil
	_ = os.Remove(filepath.Join(im.dir, entriesFile))
	return true
}
