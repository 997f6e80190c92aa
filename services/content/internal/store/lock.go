package store

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
// So the store serializes, within the process, every conditional write to one document: the
// check-and-write of an article, a site or a slug claim runs holding that document's lock. The
// embedded server serves a single process, which makes its conditional writes atomic again. On
// MongoDB the server's single-document atomicity already makes them atomic across replicas; the
// lock only queues this process's own writers to one document.

// docLocks holds the per-document locks of every Store in the process, keyed by database,
// collection and _id, so that two Stores on one database share them.
var docLocks = keyedLocks{locks: map[string]*keyLock{}}

type keyedLocks struct {
	mu    sync.Mutex
	locks map[string]*keyLock
}

type keyLock struct {
	ch   chan struct{} // holds a token while locked
	refs int           // holders and waiters; the entry is removed at 0
}

// lock acquires the lock of key, waiting until it is free or ctx ends. The returned function
// releases it.
func (k *keyedLocks) lock(ctx context.Context, key string) (unlock func(), err error) {
	k.mu.Lock()
	l := k.locks[key]
	if l == nil {
		l = &keyLock{ch: make(chan struct{}, 1)}
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

// lockDoc locks one document of one of the store's collections.
func (s *Store) lockDoc(ctx context.Context, collection, id string) (func(), error) {
	return docLocks.lock(ctx, s.dbName+"\x00"+collection+"\x00"+id)
}
