package store

import (
	"context"
	"sync"
)

// ProcessLocks is a Locker for one process: a lock per key, created on first use and dropped when
// no one holds or waits for it. Give every Store of a process the same ProcessLocks.
//
// It stands in for mongodb.DocLocks (issue #6), which replaces it once it lands.
type ProcessLocks struct {
	mu    sync.Mutex
	locks map[string]*processLock
}

type processLock struct {
	token chan struct{}
	refs  int
}

// NewProcessLocks returns an empty ProcessLocks.
func NewProcessLocks() *ProcessLocks { return &ProcessLocks{locks: map[string]*processLock{}} }

// Lock implements Locker.
func (p *ProcessLocks) Lock(ctx context.Context, key string) (func(), error) {
	p.mu.Lock()
	l := p.locks[key]
	if l == nil {
		l = &processLock{token: make(chan struct{}, 1)}
		p.locks[key] = l
	}
	l.refs++
	p.mu.Unlock()
	done := func() {
		p.mu.Lock()
		if l.refs--; l.refs == 0 {
			delete(p.locks, key)
		}
		p.mu.Unlock()
	}
	select {
	case l.token <- struct{}{}:
		return func() { <-l.token; done() }, nil
	case <-ctx.Done():
		done()
		return nil, ctx.Err()
	}
}
