package domain_test

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/beaconcms/beacon/platform/apperr"
	"github.com/beaconcms/beacon/platform/auth"
	"github.com/beaconcms/beacon/services/access/internal/domain"
)

func newService(tb testing.TB, cfg domain.Config) (*domain.Service, *fakeStore, *fakeClock) {
	tb.Helper()
	s, store, clock, _ := newServiceWithSites(tb, cfg)
	return s, store, clock
}

// newServiceWithSites is newService that also returns the fake site catalog (every site live
// unless set otherwise).
func newServiceWithSites(tb testing.TB, cfg domain.Config) (*domain.Service, *fakeStore, *fakeClock, *fakeSites) {
	tb.Helper()
	store, clock, sites := newFakeStore(), newFakeClock(), newFakeSites()
	if cfg.Now == nil {
		cfg.Now = clock.Now
	}
	return domain.NewService(store, sites, nil, cfg), store, clock, sites
}

func mustCreate(tb testing.TB, s *domain.Service, role auth.Role, site string) (domain.Key, string) {
	tb.Helper()
	k, token, err := s.Create(tb.Context(), "test key", role, site)
	if err != nil {
		tb.Fatalf("Create: %v", err)
	}
	return k, token
}

var tokenRE = regexp.MustCompile(`^bk_[0-9a-f]{16}_[a-z2-7]{52}$`)

func TestCreate(t *testing.T) {
	s, store, clock := newService(t, domain.Config{})
	k, token, err := s.Create(t.Context(), "kratom-help production frontend", auth.RoleDelivery, "kratom-help")
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	if !tokenRE.MatchString(token) {
		t.Errorf("token %q does not match %v", token, tokenRE)
	}
	hash := sha256.Sum256([]byte(token))
	want := domain.Key{
		ID:          keyID(t, token),
		DisplayName: "kratom-help production frontend",
		Role:        auth.RoleDelivery,
		Site:        "kratom-help",
		CreateTime:  clock.Now().Truncate(time.Millisecond),
		Prefix:      token[:11],
		SecretHash:  hash[:],
	}
	if diff := cmp.Diff(want, k); diff != "" {
		t.Errorf("Create returned (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want, store.keys[k.ID]); diff != "" {
		t.Errorf("stored (-want +got):\n%s", diff)
	}
	if got := k.Name(); got != "apiKeys/"+k.ID {
		t.Errorf("Name() = %q", got)
	}

	k2, token2 := mustCreate(t, s, auth.RoleDelivery, "kratom-help")
	if k2.ID == k.ID || token2 == token || token2[20:] == token[20:] {
		t.Errorf("two keys share an id or secret: %q, %q", token, token2)
	}
}

func TestCreateValidation(t *testing.T) {
	tests := []struct {
		name        string
		displayName string
		role        auth.Role
		site        string
		wantFields  []string
	}{
		{name: "empty name", displayName: "", role: auth.RoleViewer, wantFields: []string{"display_name"}},
		{name: "blank name", displayName: "  \t", role: auth.RoleViewer, wantFields: []string{"display_name"}},
		{name: "name too long", displayName: strings.Repeat("é", 101), role: auth.RoleViewer, wantFields: []string{"display_name"}},
		{name: "name with newline", displayName: "a\nb", role: auth.RoleViewer, wantFields: []string{"display_name"}},
		{name: "name not UTF-8", displayName: "a\xffb", role: auth.RoleViewer, wantFields: []string{"display_name"}},
		{name: "no role", displayName: "k", wantFields: []string{"role"}},
		{name: "unknown role", displayName: "k", role: 9, wantFields: []string{"role"}},
		{name: "site with resource prefix", displayName: "k", role: auth.RoleViewer, site: "sites/kratom-help", wantFields: []string{"site"}},
		{name: "site uppercase", displayName: "k", role: auth.RoleViewer, site: "Kratom", wantFields: []string{"site"}},
		{name: "site too long", displayName: "k", role: auth.RoleViewer, site: strings.Repeat("a", 64), wantFields: []string{"site"}},
		{name: "everything wrong", role: 0, site: "-x", wantFields: []string{"display_name", "role", "site"}},
		{name: "longest name and site", displayName: strings.Repeat("é", 100), role: auth.RoleViewer, site: strings.Repeat("a", 63)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, store, _ := newService(t, domain.Config{})
			_, token, err := s.Create(t.Context(), tt.displayName, tt.role, tt.site)
			if tt.wantFields == nil {
				if err != nil || token == "" {
					t.Fatalf("Create: %q, %v; want success", token, err)
				}
				return
			}
			e, ok := apperr.As(err)
			if !ok || e.Code != apperr.Invalid {
				t.Fatalf("Create: %v, want Invalid", err)
			}
			var fields []string
			for _, f := range e.Fields {
				fields = append(fields, f.Field)
			}
			if diff := cmp.Diff(tt.wantFields, fields); diff != "" {
				t.Errorf("fields (-want +got):\n%s", diff)
			}
			if token != "" || len(store.keys) != 0 {
				t.Errorf("invalid Create returned token %q and stored %d keys", token, len(store.keys))
			}
		})
	}
}

func TestVerify(t *testing.T) {
	s, store, _ := newService(t, domain.Config{})
	k, token := mustCreate(t, s, auth.RoleEditor, "kratom-help")
	revoked, revokedToken := mustCreate(t, s, auth.RoleAdmin, "")
	if _, err := s.Revoke(t.Context(), revoked.ID); err != nil {
		t.Fatal(err)
	}
	// Same id as k, a different (well-formed) secret.
	wrongSecret := token[:20] + strings.Repeat("a", 52)
	if wrongSecret == token {
		t.Fatal("the test's wrong secret is the right one")
	}
	unknown := "bk_" + strings.Repeat("0", 16) + token[19:]

	tests := []struct {
		name      string
		token     string
		want      auth.Principal
		wantCode  apperr.Code
		wantReads int // store reads for this token's id
	}{
		{name: "valid", token: token, want: auth.Principal{KeyName: k.Name(), Role: auth.RoleEditor, Site: "kratom-help"}, wantReads: 1},
		{name: "wrong secret for the right id", token: wrongSecret, wantCode: apperr.Unauthenticated, wantReads: 0 /* cached by "valid" */},
		{name: "unknown id", token: unknown, wantCode: apperr.Unauthenticated, wantReads: 1},
		{name: "revoked", token: revokedToken, wantCode: apperr.Unauthenticated, wantReads: 1},
		{name: "empty", token: "", wantCode: apperr.Unauthenticated},
		{name: "truncated", token: token[:len(token)-1], wantCode: apperr.Unauthenticated},
		{name: "one character more", token: token + "a", wantCode: apperr.Unauthenticated},
		{name: "other prefix", token: "xk" + token[2:], wantCode: apperr.Unauthenticated},
		{name: "uppercase id", token: "bk_" + strings.ToUpper(token[3:19]) + token[19:], wantCode: apperr.Unauthenticated},
		{name: "uppercase secret", token: token[:20] + strings.ToUpper(token[20:]), wantCode: apperr.Unauthenticated},
		{name: "no separator", token: token[:19] + "-" + token[20:], wantCode: apperr.Unauthenticated},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := ""
			if len(tt.token) >= 19 {
				id = tt.token[3:19]
			}
			before := store.getCount(id)
			for range 2 { // the second time from the cache
				got, err := s.Verify(t.Context(), tt.token)
				if apperr.CodeOf(err) != tt.wantCode || (tt.wantCode == "" && err != nil) {
					t.Fatalf("Verify: %v, want code %q", err, tt.wantCode)
				}
				if got != tt.want {
					t.Errorf("Verify = %+v, want %+v", got, tt.want)
				}
			}
			if reads := store.getCount(id) - before; reads != tt.wantReads {
				t.Errorf("store reads = %d, want %d", reads, tt.wantReads)
			}
		})
	}
}

func TestVerifyStoreError(t *testing.T) {
	s, store, _ := newService(t, domain.Config{})
	_, token := mustCreate(t, s, auth.RoleViewer, "")
	store.getErr = errors.New("connection refused")

	for range 2 { // failures are not cached
		_, err := s.Verify(t.Context(), token)
		if err == nil || apperr.Is(err, apperr.Unauthenticated) || strings.Contains(err.Error(), token) {
			t.Errorf("Verify with the store down: %v; want a non-Unauthenticated error without the token", err)
		}
	}
	if n := store.getCount(keyID(t, token)); n != 2 {
		t.Errorf("store reads = %d, want 2 (failures are not cached)", n)
	}
	store.getErr = nil
	if _, err := s.Verify(t.Context(), token); err != nil {
		t.Errorf("Verify after the store recovered: %v", err)
	}
}

func TestVerifySeesRevocationElsewhereWithinTTL(t *testing.T) {
	tests := []struct {
		name    string
		ttl     time.Duration
		wantTTL time.Duration
	}{
		{name: "default", ttl: 0, wantTTL: 30 * time.Second},
		{name: "too long is capped", ttl: time.Hour, wantTTL: 30 * time.Second},
		{name: "shorter", ttl: 5 * time.Second, wantTTL: 5 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, store, clock := newService(t, domain.Config{CacheTTL: tt.ttl})
			k, token := mustCreate(t, s, auth.RoleViewer, "")
			if _, err := s.Verify(t.Context(), token); err != nil {
				t.Fatalf("Verify: %v", err)
			}
			store.revokeBehindTheServicesBack(t, k.ID, clock.Now())

			clock.Advance(tt.wantTTL - time.Millisecond)
			if _, err := s.Verify(t.Context(), token); err != nil {
				t.Errorf("Verify just before the TTL: %v; want the cached answer", err)
			}
			clock.Advance(time.Millisecond)
			if _, err := s.Verify(t.Context(), token); !apperr.Is(err, apperr.Unauthenticated) {
				t.Errorf("Verify at the TTL: %v; want Unauthenticated", err)
			}
			if n := store.getCount(k.ID); n != 2 {
				t.Errorf("store reads = %d, want 2", n)
			}
		})
	}
}

func TestVerifyNegativeCacheExpires(t *testing.T) {
	s, store, clock := newService(t, domain.Config{})
	_, token := mustCreate(t, s, auth.RoleViewer, "")
	id := keyID(t, token)
	k := store.keys[id]
	delete(store.keys, id) // as if it did not exist yet

	if _, err := s.Verify(t.Context(), token); !apperr.Is(err, apperr.Unauthenticated) {
		t.Fatalf("Verify of a missing key: %v", err)
	}
	store.keys[id] = k // created by another process
	if _, err := s.Verify(t.Context(), token); !apperr.Is(err, apperr.Unauthenticated) {
		t.Errorf("Verify within the TTL: %v; want the cached not-found", err)
	}
	clock.Advance(30 * time.Second)
	if _, err := s.Verify(t.Context(), token); err != nil {
		t.Errorf("Verify after the TTL: %v", err)
	}
}

func TestVerifyWithoutCache(t *testing.T) {
	s, store, _ := newService(t, domain.Config{CacheTTL: -1})
	_, token := mustCreate(t, s, auth.RoleViewer, "")
	for range 3 {
		if _, err := s.Verify(t.Context(), token); err != nil {
			t.Fatal(err)
		}
	}
	if n := store.getCount(keyID(t, token)); n != 3 {
		t.Errorf("store reads = %d, want 3", n)
	}
}

func TestRevokeIsImmediateHere(t *testing.T) {
	s, _, clock := newService(t, domain.Config{})
	k, token := mustCreate(t, s, auth.RoleViewer, "")
	if _, err := s.Verify(t.Context(), token); err != nil {
		t.Fatal(err)
	}
	got, err := s.Revoke(t.Context(), k.ID)
	if err != nil {
		t.Fatalf("Revoke: %v", err)
	}
	if want := clock.Now().Truncate(time.Millisecond); !got.RevokeTime.Equal(want) {
		t.Errorf("RevokeTime = %v, want %v", got.RevokeTime, want)
	}
	if _, err := s.Verify(t.Context(), token); !apperr.Is(err, apperr.Unauthenticated) {
		t.Errorf("Verify right after Revoke: %v; want Unauthenticated", err)
	}

	clock.Advance(time.Minute)
	again, err := s.Revoke(t.Context(), k.ID)
	if err != nil || !again.RevokeTime.Equal(got.RevokeTime) {
		t.Errorf("Revoke again = %v, %v; want success keeping RevokeTime %v", again.RevokeTime, err, got.RevokeTime)
	}
}

// A store read that started before a revocation must not put the old key back into the cache.
func TestRevokeDuringLookup(t *testing.T) {
	s, store, _ := newService(t, domain.Config{})
	k, token := mustCreate(t, s, auth.RoleViewer, "")

	entered, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	store.getHook = func(domain.Key) {
		once.Do(func() {
			close(entered)
			<-release
		})
	}
	done := make(chan error)
	go func() {
		_, err := s.Verify(t.Context(), token)
		done <- err
	}()
	<-entered // the read has the active key in hand
	if _, err := s.Revoke(t.Context(), k.ID); err != nil {
		t.Fatal(err)
	}
	close(release)
	<-done // it may accept: it raced with the revocation

	if _, err := s.Verify(t.Context(), token); !apperr.Is(err, apperr.Unauthenticated) {
		t.Errorf("Verify after Revoke: %v; want Unauthenticated", err)
	}
}

func TestCacheIsBounded(t *testing.T) {
	s, store, _ := newService(t, domain.Config{CacheSize: 2})
	var tokens []string
	for range 5 {
		_, token := mustCreate(t, s, auth.RoleViewer, "")
		tokens = append(tokens, token)
	}
	verifyAll := func() {
		for _, token := range tokens {
			if _, err := s.Verify(t.Context(), token); err != nil {
				t.Fatal(err)
			}
		}
	}
	verifyAll()
	before := store.totalGets()
	verifyAll()
	if reads := store.totalGets() - before; reads < 3 {
		t.Errorf("second pass over 5 keys read the store %d times; a cache of 2 must miss at least 3", reads)
	}
	if found, _ := domain.CacheLen(s); found > 2 {
		t.Errorf("cache holds %d keys, want at most 2", found)
	}
}

// Made-up ids fill only the not-found side of the cache; real keys stay cached.
func TestUnknownIDsDoNotEvictKeys(t *testing.T) {
	s, store, _ := newService(t, domain.Config{CacheSize: 3})
	k, token := mustCreate(t, s, auth.RoleViewer, "")
	if _, err := s.Verify(t.Context(), token); err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		fake := fmt.Sprintf("bk_%016x_%s", i, token[20:])
		if _, err := s.Verify(t.Context(), fake); !apperr.Is(err, apperr.Unauthenticated) {
			t.Fatalf("Verify(made-up id): %v", err)
		}
	}
	if _, err := s.Verify(t.Context(), token); err != nil {
		t.Fatal(err)
	}
	if n := store.getCount(k.ID); n != 1 {
		t.Errorf("store reads of the real key = %d, want 1", n)
	}
	if found, notFound := domain.CacheLen(s); found != 1 || notFound > 3 {
		t.Errorf("cache holds %d keys and %d unknown ids; want 1 and at most 3", found, notFound)
	}
}

func TestGetAndRevokeMalformedID(t *testing.T) {
	s, store, _ := newService(t, domain.Config{})
	for _, id := range []string{"", "abc", "ZZZZZZZZZZZZZZZZ", "0000000000000000/x"} {
		if _, err := s.Get(t.Context(), id); !apperr.Is(err, apperr.NotFound) {
			t.Errorf("Get(%q): %v, want NotFound", id, err)
		}
		if _, err := s.Revoke(t.Context(), id); !apperr.Is(err, apperr.NotFound) {
			t.Errorf("Revoke(%q): %v, want NotFound", id, err)
		}
	}
	if n := store.totalGets(); n != 0 {
		t.Errorf("malformed ids read the store %d times", n)
	}
}

func TestListPageSize(t *testing.T) {
	tests := []struct{ in, want int }{{0, 20}, {-3, 20}, {1, 1}, {100, 100}, {101, 100}, {5000, 100}}
	for _, tt := range tests {
		s, store, _ := newService(t, domain.Config{})
		if _, err := s.List(t.Context(), domain.ListQuery{PageSize: tt.in, Site: "a"}); err != nil {
			t.Fatal(err)
		}
		if store.lastQuery.PageSize != tt.want || store.lastQuery.Site != "a" {
			t.Errorf("List(PageSize %d) asked the store for %+v, want PageSize %d, Site a", tt.in, store.lastQuery, tt.want)
		}
	}
}

func TestBootstrap(t *testing.T) {
	s, store, _ := newService(t, domain.Config{})
	ctx := t.Context()

	mustCreate(t, s, auth.RoleAdmin, "kratom-help") // a site admin does not count
	token, created, err := s.Bootstrap(ctx, "beacon dev")
	if err != nil || !created || token == "" {
		t.Fatalf("Bootstrap on a store without an all-sites admin = %q, %v, %v", token, created, err)
	}
	p, err := s.Verify(ctx, token)
	if err != nil || p.Role != auth.RoleAdmin || p.Site != "" {
		t.Errorf("the bootstrap key verifies as %+v, %v; want an all-sites admin", p, err)
	}

	again, created, err := s.Bootstrap(ctx, "beacon dev")
	if err != nil || created || again != "" {
		t.Errorf("second Bootstrap = %q, %v, %v; want \"\", false, nil", again, created, err)
	}
	if n := len(store.keys); n != 2 {
		t.Errorf("store holds %d keys, want 2", n)
	}

	if _, err := s.Revoke(ctx, keyID(t, token)); err != nil {
		t.Fatal(err)
	}
	if _, created, err := s.Bootstrap(ctx, "beacon dev"); err != nil || !created {
		t.Errorf("Bootstrap after revoking the admin key: created %v, %v; want a new key", created, err)
	}
}

func TestSecretsAreNotLogged(t *testing.T) {
	var logs bytes.Buffer
	store, clock := newFakeStore(), newFakeClock()
	s := domain.NewService(store, newFakeSites(), slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})), domain.Config{Now: clock.Now})
	ctx := t.Context()

	token, _, err := s.Bootstrap(ctx, "dev")
	if err != nil {
		t.Fatal(err)
	}
	k, token2 := mustCreate(t, s, auth.RoleViewer, "")
	for _, tok := range []string{token, token2, token2[:20] + strings.Repeat("b", 52)} {
		_, _ = s.Verify(ctx, tok)
	}
	if _, err := s.Revoke(ctx, k.ID); err != nil {
		t.Fatal(err)
	}
	if logs.Len() == 0 {
		t.Fatal("nothing was logged; the test would prove nothing")
	}
	for _, tok := range []string{token, token2} {
		if strings.Contains(logs.String(), tok[20:]) {
			t.Errorf("the logs contain a secret:\n%s", logs.String())
		}
	}
}

// TestKeysFollowTheirSite: a key of a deleted site is refused exactly like an unknown key and
// works again after the undelete; keys are not created for missing or deleted sites.
func TestKeysFollowTheirSite(t *testing.T) {
	s, _, _, sites := newServiceWithSites(t, domain.Config{})
	ctx := t.Context()
	_, siteToken := mustCreate(t, s, auth.RoleEditor, "kratom-help")
	_, allToken := mustCreate(t, s, auth.RoleViewer, "")
	_, unknownErr := s.Verify(ctx, "bk_0123456789abcdef_"+strings.Repeat("a", 52))
	if !apperr.Is(unknownErr, apperr.Unauthenticated) {
		t.Fatalf("Verify(unknown key) = %v, want Unauthenticated", unknownErr)
	}

	steps := []struct {
		name      string
		state     domain.SiteState
		wantValid bool
	}{
		{"live", domain.SiteLive, true},
		{"deleted", domain.SiteDeleted, false},
		{"undeleted", domain.SiteLive, true},
		{"gone", domain.SiteMissing, false},
	}
	for _, st := range steps {
		sites.set("kratom-help", st.state)
		p, err := s.Verify(ctx, siteToken)
		if st.wantValid {
			if err != nil || p.Site != "kratom-help" {
				t.Errorf("%s: Verify = %+v, %v; want the site's principal", st.name, p, err)
			}
		} else if !apperr.Is(err, apperr.Unauthenticated) || err.Error() != unknownErr.Error() {
			t.Errorf("%s: Verify = %v; want the unknown-key error %q", st.name, err, unknownErr)
		}
		if _, err := s.Verify(ctx, allToken); err != nil {
			t.Errorf("%s: the all-sites key: %v", st.name, err)
		}
	}

	createTests := []struct {
		name  string
		state domain.SiteState
		want  apperr.Code
	}{
		{"missing site", domain.SiteMissing, apperr.FailedPrecondition},
		{"deleted site", domain.SiteDeleted, apperr.FailedPrecondition},
		{"live site", domain.SiteLive, ""},
	}
	for _, tt := range createTests {
		sites.set("other", tt.state)
		_, _, err := s.Create(ctx, "k", auth.RoleViewer, "other")
		if apperr.CodeOf(err) != tt.want {
			t.Errorf("%s: Create = %v, want code %q", tt.name, err, tt.want)
		}
		if e, ok := apperr.As(err); ok && (len(e.Fields) != 1 || e.Fields[0].Field != "site") {
			t.Errorf("%s: violations %+v, want one naming site", tt.name, e.Fields)
		}
	}

	sites.fail(apperr.New(apperr.Unavailable, "catalog down"))
	if _, err := s.Verify(ctx, siteToken); !apperr.Is(err, apperr.Unavailable) {
		t.Errorf("Verify while the catalog cannot answer = %v, want Unavailable (not a refusal)", err)
	}
}
