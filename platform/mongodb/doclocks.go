package mongodb

import (
	"context"
	"sync"
)

// Conditional writes and FerretDB v1.
//
// FerretDB v1 runs update, replace, findAndModify and delete as "query, filter in Go, then write
// by _id": the filter is evaluated on a read taken before, and outside, the write, and the write
// stores the whole document computed from that read. Concurrent conditional writes therefore all
// "match" (measured: 8 concurrent updateOne/replaceOne/findOneAndUpdate/findOneAndReplace calls
// with {_id, rev: 1} all report a match), and a stale write can overwrite a newer document. Only
// inserts (unique _id and unique indexes, enforced by SQLite) are atomic.
//
// So every store serializes, within the process, every conditional write to one document: the
// check-and-write runs holding that document's lock from a DocLocks. The embedded server serves
// a single process, which makes its conditional writes atomic again. On MongoDB the server's
// single-document atomicity already makes them atomic across replicas; the lock only queues this
// process's own writers to one document.

// DocLocks are per-document write locks, keyed by database, collection and _id. A process makes
// exactly one (in cmd/beacon) and passes it to every store constructor, so that two stores on
// one database (or two services' stores in one process) share the locks; a second DocLocks in
// the same process would silently break the guarantee above. The zero value is not usable; use
// [NewDocLocks]. Safe for concurrent use.
type DocLocks struct {
	mu    sync.Mutex
	locks map[string]*docLock
}

type docLock struct {
	ch   chan struct{} // holds a token while locked
	refs int           // holders and waiters; the entry is removed at 0
}

// NewDocLocks returns an empty set of locks.
func NewDocLocks() *DocLocks { return &DocLocks{locks: map[string]*docLock{}} }

// Lock acquires the lock of document id of collection in database db, waiting until it is free
// or ctx ends (then it returns ctx.Err()). The returned function releases it; call it once.
func (k *DocLocks) Lock(ctx context.Context, db, collection, id string) (unlock func(), err error) {
	key := db + "\x00" + collection + "\x00" + id
	k.mu.Lock()
	l := k.locks[key]
	if l == nil {
		l = &docLock{ch: make(chan struct{}, 1)}
		k.locks[key] = l
	}
	l.refs++
	k.mu.Unlock()

	release := func() {
		k.mu.Lock()
		l.refs--
		if l.refs == 0 {
			delete(k.locks, key)
		}
		k.mu.Unlock()
	}
	select {
	case l.ch <- struct{}{}:
		return func() { <-l.ch; release() }, nil
	case <-ctx.Done():
		release()
		return nil, ctx.Err()
	}
}

// held reports how many lock entries exist (holders or waiters); for tests.
func (k *DocLocks) held() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return len(k.locks)
}
