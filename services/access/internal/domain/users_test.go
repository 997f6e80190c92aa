package domain_test

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/beaconcms/beacon/platform/apperr"
	"github.com/beaconcms/beacon/platform/auth"
	"github.com/beaconcms/beacon/platform/mongodb"
	"github.com/beaconcms/beacon/platform/mongodb/mongodbtest"
	"github.com/beaconcms/beacon/platform/ratelimit"
	"github.com/beaconcms/beacon/services/access/internal/domain"
	"github.com/beaconcms/beacon/services/access/internal/store"
)

// newUsers returns a Users on a fresh database (the real store, checked for the store rule) with
// a fake clock and fake sites; caching is off unless cfg says otherwise.
func newUsers(tb testing.TB, cfg domain.UsersConfig) (*domain.Users, *store.Users, *fakeClock, *fakeSites) {
	tb.Helper()
	db := mongodbtest.NewDatabase(tb)
	if err := mongodb.Migrate(tb.Context(), db, store.Migrations(), nil); err != nil {
		tb.Fatal(err)
	}
	clock, sites := newFakeClock(), newFakeSites()
	st := store.NewUsers(db, mongodb.NewDocLocks())
	if cfg.CacheTTL == 0 {
		cfg.CacheTTL = -1
	}
	cfg.Now = clock.Now
	return domain.NewUsers(st, sites, nil, cfg), st, clock, sites
}

func mustCreateUser(tb testing.TB, u *domain.Users, email string, roles ...domain.RoleBinding) string {
	tb.Helper()
	const password = "correct horse battery staple"
	if _, _, err := u.CreateUser(tb.Context(), email, "Test "+email, roles, password); err != nil {
		tb.Fatalf("CreateUser(%s): %v", email, err)
	}
	return password
}

func mustSignIn(tb testing.TB, u *domain.Users, email, password string) string {
	tb.Helper()
	token, _, _, err := u.SignIn(tb.Context(), email, password)
	if err != nil {
		tb.Fatalf("SignIn(%s): %v", email, err)
	}
	return token
}

func fieldsOf(err error) []string {
	e, ok := apperr.As(err)
	if !ok {
		return nil
	}
	var out []string
	for _, f := range e.Fields {
		out = append(out, f.Field)
	}
	sort.Strings(out)
	return out
}

func TestCreateUserValidation(t *testing.T) {
	users, _, _, sites := newUsers(t, domain.UsersConfig{})
	sites.set("gone", domain.SiteDeleted)
	sites.set("nowhere", domain.SiteMissing)
	editor := []domain.RoleBinding{{Role: auth.RoleEditor, Site: "kratom-help"}}
	tests := []struct {
		name        string
		email       string
		displayName string
		roles       []domain.RoleBinding
		password    string
		wantCode    apperr.Code
		wantFields  []string
	}{
		{"not an email", "editor", "E", editor, "", apperr.Invalid, []string{"email"}},
		{"display name form", "Ed <ed@example.org>", "E", editor, "", apperr.Invalid, []string{"email"}},
		{"blank display name", "ed@example.org", "  ", editor, "", apperr.Invalid, []string{"display_name"}},
		{"no roles", "ed@example.org", "E", nil, "", apperr.Invalid, []string{"roles"}},
		{"bad role", "ed@example.org", "E", []domain.RoleBinding{{Role: 9}}, "", apperr.Invalid, []string{"roles[0].role"}},
		{"bad site", "ed@example.org", "E", []domain.RoleBinding{{Role: auth.RoleEditor, Site: "Not A Site"}}, "", apperr.Invalid, []string{"roles[0].site"}},
		{"two roles on one site", "ed@example.org", "E", []domain.RoleBinding{{Role: auth.RoleEditor, Site: "a"}, {Role: auth.RoleViewer, Site: "a"}}, "", apperr.Invalid, []string{"roles[1].site"}},
		{"short password", "ed@example.org", "E", editor, "hunter2", apperr.Invalid, []string{"password"}},
		{"everything wrong", "x", "", nil, "short", apperr.Invalid, []string{"display_name", "email", "password", "roles"}},
		{"deleted site", "ed@example.org", "E", []domain.RoleBinding{{Role: auth.RoleEditor, Site: "gone"}}, "", apperr.FailedPrecondition, []string{"roles[0].site"}},
		{"missing site", "ed@example.org", "E", []domain.RoleBinding{{Role: auth.RoleEditor, Site: "nowhere"}}, "", apperr.FailedPrecondition, []string{"roles[0].site"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := users.CreateUser(t.Context(), tt.email, tt.displayName, tt.roles, tt.password)
			if !apperr.Is(err, tt.wantCode) || !slices.Equal(fieldsOf(err), tt.wantFields) {
				t.Fatalf("CreateUser = %v (fields %v), want %s naming %v", err, fieldsOf(err), tt.wantCode, tt.wantFields)
			}
		})
	}
}

func TestCreateUserStoresOnlyAnArgon2idHash(t *testing.T) {
	users, st, _, _ := newUsers(t, domain.UsersConfig{})
	u, generated, err := users.CreateUser(t.Context(), "  Editor@Example.ORG ", "Ed", []domain.RoleBinding{{Role: auth.RoleEditor}}, "")
	if err != nil {
		t.Fatal(err)
	}
	if u.Email != "editor@example.org" || u.Name() != "users/editor@example.org" {
		t.Errorf("email = %q, name %q; want the normalized email", u.Email, u.Name())
	}
	if len(generated) < 32 {
		t.Errorf("generated password %q is shorter than 32 characters", generated)
	}
	stored, err := st.GetUser(t.Context(), "editor@example.org")
	if err != nil {
		t.Fatal(err)
	}
	// OWASP's argon2id parameters, a salt and a 32-byte key, in PHC form; no password.
	if !regexp.MustCompile(`^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$`).MatchString(stored.PasswordHash) {
		t.Errorf("stored hash %q is not an argon2id PHC string with OWASP parameters", stored.PasswordHash)
	}
	if strings.Contains(stored.PasswordHash, generated) {
		t.Error("the stored hash contains the password")
	}
	if _, _, err := users.CreateUser(t.Context(), "EDITOR@example.org", "Ed again", []domain.RoleBinding{{Role: auth.RoleViewer}}, ""); !apperr.Is(err, apperr.AlreadyExists) {
		t.Errorf("CreateUser(same email, other case) = %v, want AlreadyExists", err)
	}
	if _, _, _, err := users.SignIn(t.Context(), "Editor@example.org", generated); err != nil {
		t.Errorf("SignIn with the generated password: %v", err)
	}
}

func TestSignInAnswersAlikeForUnknownEmailAndWrongPassword(t *testing.T) {
	users, _, _, _ := newUsers(t, domain.UsersConfig{})
	password := mustCreateUser(t, users, "ed@example.org", domain.RoleBinding{Role: auth.RoleEditor})
	disabled := mustCreateUser(t, users, "gone@example.org", domain.RoleBinding{Role: auth.RoleEditor})
	if _, err := users.Disable(t.Context(), "gone@example.org"); err != nil {
		t.Fatal(err)
	}
	attempts := []struct{ name, email, password string }{
		{"unknown email", "nobody@example.org", password},
		{"wrong password", "ed@example.org", password + "x"},
		{"disabled user", "gone@example.org", disabled},
		{"malformed email", "not an email", password},
	}
	var messages []string
	// The fastest of a few tries of each, so that a busy machine's pauses do not count.
	durations := map[string]time.Duration{}
	for _, a := range attempts {
		for range 5 {
			start := time.Now()
			_, _, _, err := users.SignIn(t.Context(), a.email, a.password)
			if d := time.Since(start); durations[a.name] == 0 || d < durations[a.name] {
				durations[a.name] = d
			}
			if !apperr.Is(err, apperr.Unauthenticated) {
				t.Fatalf("%s: SignIn = %v, want Unauthenticated", a.name, err)
			}
			messages = append(messages, err.Error())
		}
	}
	for _, m := range messages[1:] {
		if m != messages[0] {
			t.Errorf("sign-in errors differ: %q", messages)
		}
	}
	// An unknown email is checked against a dummy argon2id hash, so it takes about as long as a
	// wrong password (without it: microseconds against tens of milliseconds).
	if durations["unknown email"] < durations["wrong password"]/4 {
		t.Errorf("unknown email took %v, wrong password %v: the unknown email skipped the hash", durations["unknown email"], durations["wrong password"])
	}
}

func TestSignInIsLimitedPerAccount(t *testing.T) {
	limit := ratelimit.Config{Every: time.Minute, Burst: 3}
	users, _, clock, _ := newUsers(t, domain.UsersConfig{SignInLimit: limit})
	password := mustCreateUser(t, users, "ed@example.org", domain.RoleBinding{Role: auth.RoleEditor})
	for range 3 {
		if _, _, _, err := users.SignIn(t.Context(), "ed@example.org", "wrong password!"); !apperr.Is(err, apperr.Unauthenticated) {
			t.Fatalf("SignIn = %v, want Unauthenticated", err)
		}
	}
	// The account is now limited, whatever the password, and in any spelling of the email.
	_, _, _, err := users.SignIn(t.Context(), "ED@example.org", password)
	e, ok := apperr.As(err)
	if !ok || e.Code != apperr.ResourceExhausted || e.RetryAfter <= 0 || e.RetryAfter > time.Minute {
		t.Fatalf("4th SignIn = %v, want ResourceExhausted with a retry delay of at most a minute", err)
	}
	// Unknown accounts are limited too (so nobody learns which exist).
	for range 3 {
		_, _, _, _ = users.SignIn(t.Context(), "nobody@example.org", "wrong password!")
	}
	if _, _, _, err := users.SignIn(t.Context(), "nobody@example.org", "x"); !apperr.Is(err, apperr.ResourceExhausted) {
		t.Errorf("unknown account after 3 attempts = %v, want ResourceExhausted", err)
	}
	// Malformed emails share one bucket (no account has one; made-up keys cost no memory).
	for i := range 3 {
		_, _, _, _ = users.SignIn(t.Context(), fmt.Sprintf("not an email %d", i), "x")
	}
	if _, _, _, err := users.SignIn(t.Context(), "also not an email", "x"); !apperr.Is(err, apperr.ResourceExhausted) {
		t.Errorf("4th malformed email = %v, want ResourceExhausted", err)
	}
	// Another account is not affected; the limited one recovers with time.
	other := mustCreateUser(t, users, "rev@example.org", domain.RoleBinding{Role: auth.RoleViewer})
	mustSignIn(t, users, "rev@example.org", other)
	clock.Advance(time.Minute)
	mustSignIn(t, users, "ed@example.org", password)
}

func TestSessionPrincipal(t *testing.T) {
	users, _, _, sites := newUsers(t, domain.UsersConfig{})
	password := mustCreateUser(t, users, "ed@example.org",
		domain.RoleBinding{Role: auth.RoleEditor, Site: "kratom-help"},
		domain.RoleBinding{Role: auth.RoleViewer},
		domain.RoleBinding{Role: auth.RoleAdmin, Site: "other-site"})
	token := mustSignIn(t, users, "ed@example.org", password)
	tests := []struct {
		credential string
		want       auth.Principal
	}{
		{token, auth.Principal{KeyName: "users/ed@example.org", Role: auth.RoleViewer}}, // the all-sites role
		{token + "~kratom-help", auth.Principal{KeyName: "users/ed@example.org", Role: auth.RoleEditor, Site: "kratom-help"}},
		{token + "~other-site", auth.Principal{KeyName: "users/ed@example.org", Role: auth.RoleAdmin, Site: "other-site"}},
		{token + "~third-site", auth.Principal{KeyName: "users/ed@example.org", Role: auth.RoleViewer}},
	}
	for _, tt := range tests {
		p, err := users.Verify(t.Context(), tt.credential)
		if err != nil || p != tt.want {
			t.Errorf("Verify(%s) = %+v, %v; want %+v", strings.TrimPrefix(tt.credential, token), p, err, tt.want)
		}
	}
	for _, bad := range []string{token[:len(token)-1], token + "x", token + "~", token + "~Bad Site", "bs_" + strings.Repeat("a", 52), "bk_x"} {
		if _, err := users.Verify(t.Context(), bad); !apperr.Is(err, apperr.Unauthenticated) {
			t.Errorf("Verify(%q) = %v, want Unauthenticated", bad, err)
		}
	}
	// A role on a deleted site is refused, like a key of that site.
	sites.set("kratom-help", domain.SiteDeleted)
	if _, err := users.Verify(t.Context(), token+"~kratom-help"); !apperr.Is(err, apperr.Unauthenticated) {
		t.Errorf("Verify(role on a deleted site) = %v, want Unauthenticated", err)
	}
	// A user with only site roles acts with its first role without a site.
	pw := mustCreateUser(t, users, "site@example.org", domain.RoleBinding{Role: auth.RoleEditor, Site: "s1"})
	siteToken := mustSignIn(t, users, "site@example.org", pw)
	if p, err := users.Verify(t.Context(), siteToken); err != nil || p.Site != "s1" || p.Role != auth.RoleEditor {
		t.Errorf("Verify(site-only user) = %+v, %v", p, err)
	}
	if _, err := users.Verify(t.Context(), siteToken+"~s2"); !apperr.Is(err, apperr.Unauthenticated) {
		t.Errorf("Verify(site-only user, another site) = %v, want Unauthenticated", err)
	}
}

func TestSessionExpiry(t *testing.T) {
	users, _, clock, _ := newUsers(t, domain.UsersConfig{})
	password := mustCreateUser(t, users, "ed@example.org", domain.RoleBinding{Role: auth.RoleEditor})
	ctx := t.Context()

	t.Run("idle", func(t *testing.T) {
		token := mustSignIn(t, users, "ed@example.org", password)
		clock.Advance(domain.SessionIdleTimeout - time.Minute)
		if _, _, _, err := users.Current(ctx, token); err != nil { // activity: the idle time starts again
			t.Fatalf("Current before the idle timeout: %v", err)
		}
		clock.Advance(domain.SessionIdleTimeout - time.Minute)
		if _, err := users.Verify(ctx, token); err != nil {
			t.Fatalf("Verify within the idle timeout of the last activity: %v", err)
		}
		clock.Advance(2 * time.Minute)
		if _, err := users.Verify(ctx, token); !apperr.Is(err, apperr.Unauthenticated) {
			t.Fatalf("Verify after 12h idle = %v, want Unauthenticated", err)
		}
	})
	t.Run("absolute", func(t *testing.T) {
		token := mustSignIn(t, users, "ed@example.org", password)
		for elapsed := time.Duration(0); elapsed < domain.SessionMaxLifetime-time.Hour; elapsed += 6 * time.Hour {
			if _, _, _, err := users.Current(ctx, token); err != nil {
				t.Fatalf("Current after %v of activity: %v", elapsed, err)
			}
			clock.Advance(6 * time.Hour)
		}
		clock.Advance(time.Hour)
		if _, _, _, err := users.Current(ctx, token); !apperr.Is(err, apperr.Unauthenticated) {
			t.Fatalf("Current after 7 days = %v, want Unauthenticated", err)
		}
	})
}

func TestSessionRevocation(t *testing.T) {
	tests := []struct {
		name string
		// revoke acts on the user "ed@example.org" given one of its session tokens.
		revoke func(t *testing.T, users *domain.Users, token string)
		// all: every session of the user ends, not only token's.
		all bool
	}{
		{"sign out", func(t *testing.T, users *domain.Users, token string) {
			if err := users.SignOut(t.Context(), token); err != nil {
				t.Fatal(err)
			}
		}, false},
		{"sign out everywhere", func(t *testing.T, users *domain.Users, token string) {
			if err := users.SignOutEverywhere(t.Context(), token+"~kratom-help"); err != nil {
				t.Fatal(err)
			}
		}, true},
		{"password change", func(t *testing.T, users *domain.Users, _ string) {
			if _, _, err := users.SetPassword(t.Context(), "ed@example.org", "a new long password"); err != nil {
				t.Fatal(err)
			}
		}, true},
		{"own password change", func(t *testing.T, users *domain.Users, token string) {
			if _, err := users.ChangeOwnPassword(t.Context(), token, "correct horse battery staple", "a new long password"); err != nil {
				t.Fatal(err)
			}
		}, true},
		{"disable", func(t *testing.T, users *domain.Users, _ string) {
			if _, err := users.Disable(t.Context(), "ed@example.org"); err != nil {
				t.Fatal(err)
			}
		}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// With the cache on, as in production: this process refuses at once.
			users, _, _, _ := newUsers(t, domain.UsersConfig{CacheTTL: domain.MaxCacheTTL})
			password := mustCreateUser(t, users, "ed@example.org", domain.RoleBinding{Role: auth.RoleEditor})
			token, other := mustSignIn(t, users, "ed@example.org", password), mustSignIn(t, users, "ed@example.org", password)
			for _, tok := range []string{token, other} {
				if _, err := users.Verify(t.Context(), tok); err != nil { // cached now
					t.Fatal(err)
				}
			}
			tt.revoke(t, users, token)
			if _, err := users.Verify(t.Context(), token); !apperr.Is(err, apperr.Unauthenticated) {
				t.Errorf("Verify(revoked session) = %v, want Unauthenticated", err)
			}
			_, err := users.Verify(t.Context(), other)
			if got := apperr.Is(err, apperr.Unauthenticated); got != tt.all {
				t.Errorf("Verify(the user's other session) = %v; want refused: %v", err, tt.all)
			}
		})
	}
}

func TestChangeOwnPassword(t *testing.T) {
	const current = "correct horse battery staple"
	tests := []struct {
		name             string
		current, newPass string
		code             apperr.Code
		fields           []string
	}{
		{"changed", current, "a new long password", "", nil},
		{"wrong current password", "not the password at all", "a new long password", apperr.Invalid, []string{"current_password"}},
		{"no current password, short new one", "", "short", apperr.Invalid, []string{"current_password", "new_password"}},
		{"the same password", current, current, apperr.Invalid, []string{"new_password"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			users, _, _, _ := newUsers(t, domain.UsersConfig{})
			mustCreateUser(t, users, "ed@example.org", domain.RoleBinding{Role: auth.RoleEditor})
			token := mustSignIn(t, users, "ed@example.org", current)
			_, err := users.ChangeOwnPassword(t.Context(), token, tt.current, tt.newPass)
			if tt.code == "" {
				if err != nil {
					t.Fatal(err)
				}
				mustSignIn(t, users, "ed@example.org", tt.newPass)
				if _, _, _, err := users.SignIn(t.Context(), "ed@example.org", current); !apperr.Is(err, apperr.Unauthenticated) {
					t.Errorf("SignIn with the old password = %v, want Unauthenticated", err)
				}
				return
			}
			if !apperr.Is(err, tt.code) || !slices.Equal(fieldsOf(err), tt.fields) {
				t.Fatalf("ChangeOwnPassword = %v (fields %v), want %s naming %v", err, fieldsOf(err), tt.code, tt.fields)
			}
			// A refused change keeps the password and the session.
			if _, err := users.Verify(t.Context(), token); err != nil {
				t.Errorf("the session after a refused change: %v", err)
			}
			mustSignIn(t, users, "ed@example.org", current)
		})
	}
}

func TestChangeOwnPasswordIsLimitedPerAccount(t *testing.T) {
	users, _, clock, _ := newUsers(t, domain.UsersConfig{SignInLimit: ratelimit.Config{Every: time.Minute, Burst: 3}})
	password := mustCreateUser(t, users, "ed@example.org", domain.RoleBinding{Role: auth.RoleEditor})
	token := mustSignIn(t, users, "ed@example.org", password) // one attempt of three
	for range 2 {
		if _, err := users.ChangeOwnPassword(t.Context(), token, "a wrong guess here", "a new long password"); !apperr.Is(err, apperr.Invalid) {
			t.Fatalf("ChangeOwnPassword(wrong) = %v, want Invalid", err)
		}
	}
	_, err := users.ChangeOwnPassword(t.Context(), token, password, "a new long password")
	if e, ok := apperr.As(err); !ok || e.Code != apperr.ResourceExhausted || e.RetryAfter <= 0 {
		t.Fatalf("4th attempt = %v, want ResourceExhausted with a retry delay", err)
	}
	clock.Advance(time.Minute)
	if _, err := users.ChangeOwnPassword(t.Context(), token, password, "a new long password"); err != nil {
		t.Errorf("after a minute: %v", err)
	}
}

func TestBootstrapAdminUser(t *testing.T) {
	users, _, _, _ := newUsers(t, domain.UsersConfig{})
	password, created, err := users.BootstrapAdmin(t.Context(), "admin@beacon.test", "Admin")
	if err != nil || !created || password == "" {
		t.Fatalf("BootstrapAdmin = %q, %v, %v", password, created, err)
	}
	token := mustSignIn(t, users, "admin@beacon.test", password)
	if p, err := users.Verify(t.Context(), token); err != nil || p.Role != auth.RoleAdmin || p.Site != "" {
		t.Errorf("bootstrap admin acts as %+v, %v; want admin for all sites", p, err)
	}
	if _, created, err := users.BootstrapAdmin(t.Context(), "other@beacon.test", "Other"); err != nil || created {
		t.Errorf("second BootstrapAdmin = %v, %v; want nothing created", created, err)
	}
	// Once the admin is disabled, a new one may be bootstrapped.
	if _, err := users.Disable(t.Context(), "admin@beacon.test"); err != nil {
		t.Fatal(err)
	}
	if _, created, err := users.BootstrapAdmin(t.Context(), "other@beacon.test", "Other"); err != nil || !created {
		t.Errorf("BootstrapAdmin after disabling the admin = %v, %v; want a new admin", created, err)
	}
}

func TestPruneSessions(t *testing.T) {
	users, st, clock, _ := newUsers(t, domain.UsersConfig{})
	password := mustCreateUser(t, users, "ed@example.org", domain.RoleBinding{Role: auth.RoleEditor})
	signedOut := mustSignIn(t, users, "ed@example.org", password)
	if err := users.SignOut(t.Context(), signedOut); err != nil {
		t.Fatal(err)
	}
	idle := mustSignIn(t, users, "ed@example.org", password)
	clock.Advance(domain.SessionIdleTimeout / 2)
	open := mustSignIn(t, users, "ed@example.org", password)
	clock.Advance(domain.SessionIdleTimeout/2 + time.Second)
	n, err := st.PruneSessions(context.Background(), clock.Now())
	if err != nil || n != 2 {
		t.Fatalf("PruneSessions = %d, %v; want the signed-out and the idle session", n, err)
	}
	if _, err := users.Verify(t.Context(), open); err != nil {
		t.Errorf("the open session was pruned: %v", err)
	}
	if _, err := users.Verify(t.Context(), idle); !apperr.Is(err, apperr.Unauthenticated) {
		t.Errorf("Verify(pruned session) = %v", err)
	}
}
