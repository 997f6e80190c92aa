package domain_test

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/beaconcms/beacon/platform/apperr"
	"github.com/beaconcms/beacon/platform/auth"
	"github.com/beaconcms/beacon/services/access/internal/domain"
)

// fakeStore is an in-memory domain.Store that counts reads.
type fakeStore struct {
	mu        sync.Mutex
	keys      map[string]domain.Key
	gets      map[string]int
	getErr    error            // when set, Get fails with it
	getHook   func(domain.Key) // when set, Get calls it, unlocked, with what it read, before returning
	lastQuery domain.ListQuery
}

func newFakeStore() *fakeStore {
	return &fakeStore{keys: map[string]domain.Key{}, gets: map[string]int{}}
}

func (f *fakeStore) Create(_ context.Context, k domain.Key) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.keys[k.ID]; ok {
		return apperr.New(apperr.AlreadyExists, "exists")
	}
	f.keys[k.ID] = k
	return nil
}

func (f *fakeStore) Get(_ context.Context, id string) (domain.Key, error) {
	f.mu.Lock()
	f.gets[id]++
	k, ok := f.keys[id]
	err, hook := f.getErr, f.getHook
	f.mu.Unlock()
	if hook != nil {
		hook(k)
	}
	switch {
	case err != nil:
		return domain.Key{}, err
	case !ok:
		return domain.Key{}, apperr.New(apperr.NotFound, "not found")
	}
	return k, nil
}

func (f *fakeStore) List(_ context.Context, q domain.ListQuery) (domain.Page, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lastQuery = q
	var keys []domain.Key
	for _, k := range f.keys {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b domain.Key) int { return strings.Compare(b.ID, a.ID) })
	return domain.Page{Keys: keys[:min(len(keys), q.PageSize)]}, nil
}

func (f *fakeStore) Revoke(_ context.Context, id string, now time.Time) (domain.Key, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	k, ok := f.keys[id]
	if !ok {
		return domain.Key{}, apperr.New(apperr.NotFound, "not found")
	}
	if k.RevokeTime.IsZero() {
		k.RevokeTime = now
		f.keys[id] = k
	}
	return k, nil
}

func (f *fakeStore) HasActiveAdmin(context.Context) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, k := range f.keys {
		if k.Role == auth.RoleAdmin && k.Site == "" && k.RevokeTime.IsZero() {
			return true, nil
		}
	}
	return false, nil
}

// getCount returns how often Get read id.
func (f *fakeStore) getCount(id string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.gets[id]
}

func (f *fakeStore) totalGets() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, c := range f.gets {
		n += c
	}
	return n
}

// revokeBehindTheServicesBack revokes as another process would: the service's cache is not told.
func (f *fakeStore) revokeBehindTheServicesBack(tb testing.TB, id string, now time.Time) {
	tb.Helper()
	if _, err := f.Revoke(context.Background(), id, now); err != nil {
		tb.Fatal(err)
	}
}

// fakeClock is a settable clock.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 3, 1, 12, 0, 0, 123456789, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// keyID returns the id part of a token.
func keyID(tb testing.TB, token string) string {
	tb.Helper()
	if len(token) < 19 {
		tb.Fatalf("token %q is too short", token)
	}
	return token[3:19]
}

// fakeSites is an in-memory domain.SiteCatalog: every site is live unless set otherwise.
type fakeSites struct {
	mu     sync.Mutex
	states map[string]domain.SiteState
	err    error
}

func newFakeSites() *fakeSites { return &fakeSites{states: map[string]domain.SiteState{}} }

func (f *fakeSites) SiteState(_ context.Context, id string) (domain.SiteState, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return domain.SiteMissing, f.err
	}
	if st, ok := f.states[id]; ok {
		return st, nil
	}
	return domain.SiteLive, nil
}

func (f *fakeSites) set(id string, st domain.SiteState) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.states[id] = st
}

func (f *fakeSites) fail(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.err = err
}
