package domain

import (
	"context"
	"crypto/subtle"
	"fmt"
	"log/slog"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/beaconcms/beacon/platform/apperr"
	"github.com/beaconcms/beacon/platform/auth"
)

// Paging limits of [Service.List].
const (
	DefaultPageSize = 20
	MaxPageSize     = 100
)

// Cache defaults of [Config].
const (
	// MaxCacheTTL is the longest a verification result is remembered. With it, every process
	// refuses a revoked key at most 30s after the revocation (the process that revoked it at
	// once), within the 60s the API promises.
	MaxCacheTTL      = 30 * time.Second
	DefaultCacheSize = 10_000

	// lookupTimeout bounds one store lookup shared by concurrent Verify calls, which run it
	// detached from any one caller's cancellation.
	lookupTimeout = 10 * time.Second
)

// Cursor is a position in the newest-first order of keys: the CreateTime and ID of the last key
// of a page. The zero Cursor is the start.
type Cursor struct {
	CreateTime time.Time
	ID         string
}

// IsZero reports whether c is the start of the list.
func (c Cursor) IsZero() bool { return c.ID == "" && c.CreateTime.IsZero() }

// ListQuery selects a page of keys, newest first (CreateTime, then ID, descending).
type ListQuery struct {
	// Site, when not empty, keeps only the keys limited to that site. Empty keeps every key.
	Site string
	// PageSize is the most keys to return; 0 means DefaultPageSize, more than MaxPageSize means
	// MaxPageSize.
	PageSize int
	// After starts the page after this position; zero starts at the newest key.
	After Cursor
}

// Page is one page of keys. Next is the Cursor of the following page, zero on the last page.
type Page struct {
	Keys []Key
	Next Cursor
}

// Store keeps keys. The store returns apperr NotFound for a missing id.
type Store interface {
	// Create inserts k; an existing id is apperr AlreadyExists.
	Create(ctx context.Context, k Key) error
	// Get returns the key with this id.
	Get(ctx context.Context, id string) (Key, error)
	// List returns one page of keys, newest first; q.PageSize is already within 1..MaxPageSize.
	List(ctx context.Context, q ListQuery) (Page, error)
	// Revoke sets the key's RevokeTime to now unless it is already set, in one atomic write,
	// and returns the key as stored afterwards.
	Revoke(ctx context.Context, id string, now time.Time) (Key, error)
	// HasActiveAdmin reports whether some key that is not revoked has RoleAdmin on all sites.
	HasActiveAdmin(ctx context.Context) (bool, error)
}

// SiteCatalog is what the service needs to know of sites: whether one exists and whether it is
// deleted. It answers from a local copy (the site catalog), so Verify stays cheap.
type SiteCatalog interface {
	// SiteState returns the state of the site with this id. An error means the catalog could
	// not answer (the site is unknown locally and the sites service is unreachable).
	SiteState(ctx context.Context, id string) (SiteState, error)
}

// SiteState is what the catalog says of a site.
type SiteState int

// The states of a site.
const (
	SiteMissing SiteState = iota // no such site
	SiteLive
	SiteDeleted // soft-deleted; its keys are refused until it is undeleted
)

// Config tunes a [Service]. The zero Config is the production setting.
type Config struct {
	// CacheTTL is how long Verify remembers what the store said about a key id (found or not).
	// 0 means MaxCacheTTL; more than MaxCacheTTL is reduced to it; negative disables caching.
	CacheTTL time.Duration
	// CacheSize bounds the remembered found ids, and separately the not-found ids. 0 means
	// DefaultCacheSize.
	CacheSize int
	// Now is the clock; nil means time.Now. For tests.
	Now func() time.Time
}

// Service issues, verifies and revokes API keys. It implements [auth.Verifier]. It is safe for
// concurrent use.
type Service struct {
	store  Store
	sites  SiteCatalog
	logger *slog.Logger
	now    func() time.Time
	cache  *lookupCache[Key] // nil when caching is disabled
	group  singleflight.Group
}

var _ auth.Verifier = (*Service)(nil)

// NewService returns a Service keeping keys in store and checking their sites in sites. A nil
// logger discards.
func NewService(store Store, sites SiteCatalog, logger *slog.Logger, cfg Config) *Service {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	s := &Service{store: store, sites: sites, logger: logger, now: cfg.Now}
	if s.now == nil {
		s.now = time.Now
	}
	ttl := cfg.CacheTTL
	if ttl == 0 || ttl > MaxCacheTTL {
		ttl = MaxCacheTTL
	}
	size := cfg.CacheSize
	if size <= 0 {
		size = DefaultCacheSize
	}
	if ttl > 0 {
		s.cache = newLookupCache[Key](ttl, size)
	}
	return s
}

// storeTime is the service's clock in UTC, rounded as the store keeps it, so that a key returned
// by Create equals the key read back.
func (s *Service) storeTime() time.Time {
	return s.now().UTC().Truncate(storedTimeRound)
}

// Create issues a key and returns it with its bearer token. The token is returned only here:
// only its hash is stored. Errors: apperr Invalid naming "display_name", "role" or "site";
// FailedPrecondition naming "site" when the site does not exist or is deleted.
func (s *Service) Create(ctx context.Context, displayName string, role auth.Role, site string) (Key, string, error) {
	k := Key{DisplayName: displayName, Role: role, Site: site}
	if err := k.Validate(); err != nil {
		return Key{}, "", err
	}
	if site != "" {
		state, err := s.sites.SiteState(ctx, site)
		switch {
		case err != nil:
			return Key{}, "", fmt.Errorf("checking sites/%s: %w", site, err)
		case state == SiteMissing:
			return Key{}, "", apperr.FailedPreconditionField("site", "sites/%s does not exist", site)
		case state == SiteDeleted:
			return Key{}, "", apperr.FailedPreconditionField("site", "sites/%s is deleted; undelete it first", site)
		}
	}
	id, token := newToken()
	k.ID = id
	k.CreateTime = s.storeTime()
	k.Prefix = token[:PrefixLen]
	k.SecretHash = hashToken(token)
	if err := s.store.Create(ctx, k); err != nil {
		return Key{}, "", fmt.Errorf("creating API key: %w", err)
	}
	s.forget(id) // a not-found answer for this id, however unlikely, is now wrong
	s.logger.InfoContext(ctx, "created API key",
		"key", k.Name(), "prefix", k.Prefix, "role", k.Role.String(), "site", k.Site)
	return k, token, nil
}

// Get returns the key with this id, read from the store (not the cache). A malformed or
// unknown id is apperr NotFound.
func (s *Service) Get(ctx context.Context, id string) (Key, error) {
	if !ValidID(id) {
		return Key{}, notFound(id)
	}
	return s.store.Get(ctx, id)
}

// List returns a page of keys, newest first; see [ListQuery] for the page size bounds.
func (s *Service) List(ctx context.Context, q ListQuery) (Page, error) {
	switch {
	case q.PageSize <= 0:
		q.PageSize = DefaultPageSize
	case q.PageSize > MaxPageSize:
		q.PageSize = MaxPageSize
	}
	return s.store.List(ctx, q)
}

// Revoke revokes the key with this id and returns it. Revoking a revoked key changes nothing
// and returns it as it is. This process refuses the key at once; every other one within
// MaxCacheTTL. A malformed or unknown id is apperr NotFound.
func (s *Service) Revoke(ctx context.Context, id string) (Key, error) {
	if !ValidID(id) {
		return Key{}, notFound(id)
	}
	k, err := s.store.Revoke(ctx, id, s.storeTime())
	s.forget(id)
	if err != nil {
		return Key{}, err
	}
	s.logger.InfoContext(ctx, "revoked API key", "key", k.Name(), "prefix", k.Prefix, "revoke_time", k.RevokeTime)
	return k, nil
}

// Bootstrap creates an all-sites admin key named displayName when there is no active one, and
// returns its token with created true; otherwise it returns "", false. `beacon dev` uses it to
// print the first admin key once.
//
// It is meant for one process at startup: two processes bootstrapping an empty store at the
// same moment may both create a key (each a valid admin key, each printed by its own process).
func (s *Service) Bootstrap(ctx context.Context, displayName string) (token string, created bool, err error) {
	has, err := s.store.HasActiveAdmin(ctx)
	if err != nil {
		return "", false, fmt.Errorf("bootstrap: looking for an admin key: %w", err)
	}
	if has {
		return "", false, nil
	}
	k, token, err := s.Create(ctx, displayName, auth.RoleAdmin, "")
	if err != nil {
		return "", false, fmt.Errorf("bootstrap: %w", err)
	}
	s.logger.WarnContext(ctx, "created the bootstrap admin API key: keep it secret, revoke it when no longer needed",
		"key", k.Name(), "prefix", k.Prefix)
	return token, true, nil
}

// Verify implements [auth.Verifier]: it returns the Principal of an active key whose token this
// is. A malformed, unknown or revoked token, a wrong secret for a real id, or a key of a site
// that does not exist or is deleted, is the same apperr Unauthenticated error; other errors mean
// the store or the site catalog could not answer. The site is checked on every call, from the
// catalog's memory, so a key works again as soon as its site is undeleted.
//
// What the store says about a key id (including "no such key") is cached for CacheTTL, so a key
// revoked elsewhere works here for up to that long. Concurrent lookups of one id share one
// store read.
func (s *Service) Verify(ctx context.Context, token string) (auth.Principal, error) {
	id, ok := parseToken(token)
	if !ok {
		return auth.Principal{}, errInvalidToken()
	}
	k, found, err := s.lookup(ctx, id)
	if err != nil {
		return auth.Principal{}, err
	}
	if !found || subtle.ConstantTimeCompare(hashToken(token), k.SecretHash) != 1 || k.Revoked() {
		return auth.Principal{}, errInvalidToken()
	}
	if k.Site != "" {
		state, err := s.sites.SiteState(ctx, k.Site)
		if err != nil {
			return auth.Principal{}, fmt.Errorf("checking the site of %s: %w", k.Name(), err)
		}
		if state != SiteLive {
			return auth.Principal{}, errInvalidToken()
		}
	}
	return k.Principal(), nil
}

type lookupResult struct {
	key   Key
	found bool
}

// lookup returns the key with this id from the cache or the store; found is false when the store
// has no such key.
func (s *Service) lookup(ctx context.Context, id string) (Key, bool, error) {
	if s.cache != nil {
		if k, found, hit := s.cache.get(id, s.now()); hit {
			return k, found, nil
		}
	}
	var gen uint64
	if s.cache != nil {
		gen = s.cache.generation()
	}
	ch := s.group.DoChan(id, func() (any, error) {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), lookupTimeout)
		defer cancel()
		k, err := s.store.Get(ctx, id)
		switch {
		case apperr.Is(err, apperr.NotFound):
			if s.cache != nil {
				s.cache.putNotFound(gen, id, s.now())
			}
			return lookupResult{}, nil
		case err != nil:
			return nil, fmt.Errorf("looking up API key %s: %w", keyNamePrefix+id, err)
		}
		if s.cache != nil {
			s.cache.putFound(gen, k.ID, k, s.now())
		}
		return lookupResult{key: k, found: true}, nil
	})
	select {
	case <-ctx.Done():
		return Key{}, false, ctx.Err()
	case r := <-ch:
		if r.Err != nil {
			return Key{}, false, r.Err
		}
		res := r.Val.(lookupResult)
		return res.key, res.found, nil
	}
}

// forget drops what this process remembers about id: the cached answer, and any store read in
// flight (later Verify calls start a new one, and the one in flight does not fill the cache).
func (s *Service) forget(id string) {
	if s.cache != nil {
		s.cache.delete(id)
	}
	s.group.Forget(id)
}

func errInvalidToken() error {
	return apperr.New(apperr.Unauthenticated, "invalid or revoked API key")
}

func notFound(id string) error {
	return apperr.New(apperr.NotFound, "API key %s%s not found", keyNamePrefix, id)
}
