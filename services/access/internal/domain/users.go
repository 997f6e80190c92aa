package domain

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/beaconcms/beacon/platform/apperr"
	"github.com/beaconcms/beacon/platform/auth"
	"github.com/beaconcms/beacon/platform/ratelimit"
)

// Session lifetimes.
const (
	// SessionIdleTimeout ends a session this long after its last recorded activity.
	SessionIdleTimeout = 12 * time.Hour
	// SessionMaxLifetime ends a session this long after sign-in, whatever its activity.
	SessionMaxLifetime = 7 * 24 * time.Hour
	// sessionTouchInterval: activity is written at most this often per session, so a page view
	// costs no store write most of the time. Idle expiry is accurate to within it.
	sessionTouchInterval = time.Minute
)

// DefaultSignInLimit is the sign-in limit per account: 10 attempts at once, then one every 20
// seconds (180 an hour). Each attempt costs an argon2id hash (19 MiB, tens of milliseconds).
var DefaultSignInLimit = ratelimit.Config{Every: 20 * time.Second, Burst: 10, MaxKeys: 10_000}

// Session is a signed-in user's session. Only the hash of its token is kept (ID).
type Session struct {
	ID           string // hex SHA-256 of the token
	User         string // the user's email
	CreateTime   time.Time
	LastSeenTime time.Time
	ExpireTime   time.Time // CreateTime + SessionMaxLifetime
	Epoch        int64     // the user's SessionEpoch at sign-in
	RevokeTime   time.Time // set by sign-out; zero while the session is open
}

// activeAt reports whether the session, of a user at epoch, is usable at now.
func (s Session) activeAt(now time.Time, epoch int64) bool {
	return s.RevokeTime.IsZero() && now.Before(s.ExpireTime) && now.Before(s.LastSeenTime.Add(SessionIdleTimeout)) &&
		s.Epoch == epoch
}

// UserCursor is a position in the email order of users: the last email of a page.
type UserCursor string

// UserListQuery selects a page of users by email.
type UserListQuery struct {
	// Site, when not empty, keeps only users whose every role is on that site.
	Site     string
	PageSize int // 0 means DefaultPageSize; more than MaxPageSize means MaxPageSize
	After    UserCursor
}

// UserPage is one page of users; Next is empty on the last page.
type UserPage struct {
	Users []User
	Next  UserCursor
}

// UserStore keeps users and sessions. Missing ids are apperr NotFound.
type UserStore interface {
	// CreateUser inserts u; an existing email is apperr AlreadyExists.
	CreateUser(ctx context.Context, u User) error
	GetUser(ctx context.Context, email string) (User, error)
	// UpdateUser reads the user under its lock, lets change modify it (an error from change
	// is returned and nothing is written) and replaces it, returning what was stored.
	UpdateUser(ctx context.Context, email string, change func(*User) error) (User, error)
	// ListUsers returns a page of users by email; q.PageSize is within 1..MaxPageSize.
	ListUsers(ctx context.Context, q UserListQuery) (UserPage, error)
	// HasActiveAdminUser reports whether a user that is not disabled is admin for all sites.
	HasActiveAdminUser(ctx context.Context) (bool, error)

	CreateSession(ctx context.Context, s Session) error
	GetSession(ctx context.Context, id string) (Session, error)
	// UpdateSession reads the session under its lock, lets change modify it and replaces it.
	UpdateSession(ctx context.Context, id string, change func(*Session) error) (Session, error)
}

// UsersConfig tunes [Users]. The zero UsersConfig is the production setting.
type UsersConfig struct {
	// CacheTTL is how long Verify remembers a session and a user; 0 means MaxCacheTTL, more is
	// reduced to it, negative disables caching.
	CacheTTL time.Duration
	// SignInLimit limits sign-in attempts per email; zero means DefaultSignInLimit.
	SignInLimit ratelimit.Config
	// Now is the clock; nil means time.Now. For tests.
	Now func() time.Time
}

// Users manages console users and their sessions, and verifies session credentials for the
// auth interceptor. Safe for concurrent use.
type Users struct {
	store    UserStore
	sites    SiteCatalog
	logger   *slog.Logger
	now      func() time.Time
	users    *lookupCache[User]    // nil when caching is disabled
	sessions *lookupCache[Session] // nil when caching is disabled
	group    singleflight.Group
	attempts *ratelimit.Keyed
	// dummyHash is checked against the password of a sign-in with an unknown email, so that it
	// takes as long as one with a wrong password.
	dummyHash string
}

// NewUsers returns a Users on store, checking role sites in sites. A nil logger discards.
func NewUsers(store UserStore, sites SiteCatalog, logger *slog.Logger, cfg UsersConfig) *Users {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	u := &Users{store: store, sites: sites, logger: logger, now: cfg.Now, dummyHash: hashPassword(newPassword())}
	if u.now == nil {
		u.now = time.Now
	}
	limit := cfg.SignInLimit
	if limit.Every <= 0 || limit.Burst <= 0 {
		limit = DefaultSignInLimit
	}
	u.attempts = ratelimit.New(limit)
	ttl := cfg.CacheTTL
	if ttl == 0 || ttl > MaxCacheTTL {
		ttl = MaxCacheTTL
	}
	if ttl > 0 {
		u.users = newLookupCache[User](ttl, DefaultCacheSize)
		u.sessions = newLookupCache[Session](ttl, DefaultCacheSize)
	}
	return u
}

func (s *Users) storeTime() time.Time { return s.now().UTC().Truncate(storedTimeRound) }

// checkSites refuses roles on sites that do not exist or are deleted: FailedPrecondition naming
// "roles[i].site".
func (s *Users) checkSites(ctx context.Context, roles []RoleBinding) error {
	for i, b := range roles {
		if b.Site == "" {
			continue
		}
		state, err := s.sites.SiteState(ctx, b.Site)
		field := fmt.Sprintf("roles[%d].site", i)
		switch {
		case err != nil:
			return fmt.Errorf("checking sites/%s: %w", b.Site, err)
		case state == SiteMissing:
			return apperr.FailedPreconditionField(field, "sites/%s does not exist", b.Site)
		case state == SiteDeleted:
			return apperr.FailedPreconditionField(field, "sites/%s is deleted; undelete it first", b.Site)
		}
	}
	return nil
}

// CreateUser creates a user with password, or with a generated one when password is empty,
// and returns the user and the generated password ("" when one was given). Errors: Invalid
// naming "email", "display_name", "roles[i]..." or "password"; FailedPrecondition naming
// "roles[i].site"; AlreadyExists for a taken email.
func (s *Users) CreateUser(ctx context.Context, email, displayName string, roles []RoleBinding, password string) (User, string, error) {
	normalized, ok := NormalizeEmail(email)
	if !ok {
		normalized = email
	}
	u := User{Email: normalized, DisplayName: displayName, Roles: roles}
	if err := ValidateNewUser(email, displayName, roles, password); err != nil {
		return User{}, "", err
	}
	var generated string
	if password == "" {
		generated = newPassword()
		password = generated
	}
	if err := s.checkSites(ctx, roles); err != nil {
		return User{}, "", err
	}
	now := s.storeTime()
	u.PasswordHash = hashPassword(password)
	u.CreateTime, u.UpdateTime = now, now
	if err := s.store.CreateUser(ctx, u); err != nil {
		return User{}, "", err
	}
	s.forgetUser(u.Email)
	s.logger.InfoContext(ctx, "created user", "user", u.Name(), "roles", describeRoles(u.Roles))
	return u, generated, nil
}

// ValidateNewUser checks what CreateUser is given: the email (any case), display name and roles
// as [ValidateUser] does, and the password, unless empty (generated), as [ValidatePassword]. The
// Invalid error names every bad field: "email", "display_name", "roles...", "password".
func ValidateNewUser(email, displayName string, roles []RoleBinding, password string) error {
	normalized, ok := NormalizeEmail(email)
	if !ok {
		normalized = email
	}
	err := ValidateUser(User{Email: normalized, DisplayName: displayName, Roles: roles})
	if password != "" {
		err = joinInvalid(err, ValidatePassword("password", password))
	}
	return err
}

// joinInvalid merges the field violations of two Invalid errors (either may be nil).
func joinInvalid(a, b error) error {
	var v apperr.Violations
	for _, err := range []error{a, b} {
		if e, ok := apperr.As(err); ok {
			v = append(v, e.Fields...)
		}
	}
	return v.Err()
}

func describeRoles(roles []RoleBinding) string {
	out := ""
	for i, b := range roles {
		if i > 0 {
			out += ","
		}
		site := b.Site
		if site == "" {
			site = "*"
		}
		out += b.Role.String() + "@" + site
	}
	return out
}

// GetUser returns the user with this email (any case), read from the store.
func (s *Users) GetUser(ctx context.Context, email string) (User, error) {
	normalized, ok := NormalizeEmail(email)
	if !ok {
		return User{}, userNotFound(email)
	}
	return s.store.GetUser(ctx, normalized)
}

// ListUsers returns a page of users by email.
func (s *Users) ListUsers(ctx context.Context, q UserListQuery) (UserPage, error) {
	switch {
	case q.PageSize <= 0:
		q.PageSize = DefaultPageSize
	case q.PageSize > MaxPageSize:
		q.PageSize = MaxPageSize
	}
	return s.store.ListUsers(ctx, q)
}

// UpdateRoles replaces the user's roles. Sessions act with them within MaxCacheTTL (in this
// process at once). Errors as for CreateUser, and NotFound.
func (s *Users) UpdateRoles(ctx context.Context, email string, roles []RoleBinding) (User, error) {
	if err := ValidateRoles(roles); err != nil {
		return User{}, err
	}
	if err := s.checkSites(ctx, roles); err != nil {
		return User{}, err
	}
	u, err := s.update(ctx, email, func(u *User) error {
		u.Roles = roles
		return nil
	})
	if err == nil {
		s.logger.InfoContext(ctx, "updated user roles", "user", u.Name(), "roles", describeRoles(u.Roles))
	}
	return u, err
}

// Disable disables the user and revokes its sessions; disabling a disabled user changes
// nothing.
func (s *Users) Disable(ctx context.Context, email string) (User, error) {
	u, err := s.update(ctx, email, func(u *User) error {
		if !u.Disabled() {
			u.DisableTime = s.storeTime()
			u.SessionEpoch++
		}
		return nil
	})
	if err == nil {
		s.logger.InfoContext(ctx, "disabled user; its sessions are revoked", "user", u.Name())
	}
	return u, err
}

// SetPassword sets the user's password (generated and returned when password is empty) and
// revokes all its sessions.
func (s *Users) SetPassword(ctx context.Context, email, password string) (User, string, error) {
	var generated string
	if password == "" {
		generated = newPassword()
		password = generated
	} else if err := ValidatePassword("password", password); err != nil {
		return User{}, "", err
	}
	hash := hashPassword(password)
	u, err := s.update(ctx, email, func(u *User) error {
		u.PasswordHash = hash
		u.SessionEpoch++
		return nil
	})
	if err != nil {
		return User{}, "", err
	}
	s.logger.InfoContext(ctx, "set user password; its sessions are revoked", "user", u.Name())
	return u, generated, nil
}

// update applies change to the stored user, stamps UpdateTime and drops the cached copy.
func (s *Users) update(ctx context.Context, email string, change func(*User) error) (User, error) {
	normalized, ok := NormalizeEmail(email)
	if !ok {
		return User{}, userNotFound(email)
	}
	u, err := s.store.UpdateUser(ctx, normalized, func(u *User) error {
		if err := change(u); err != nil {
			return err
		}
		u.UpdateTime = s.storeTime()
		return nil
	})
	s.forgetUser(normalized)
	return u, err
}

// BootstrapAdmin creates an all-sites admin user with a generated password when no active one
// exists, and returns the password (created true). For one process at startup (`beacon dev`).
func (s *Users) BootstrapAdmin(ctx context.Context, email, displayName string) (password string, created bool, err error) {
	has, err := s.store.HasActiveAdminUser(ctx)
	if err != nil {
		return "", false, fmt.Errorf("bootstrap: looking for an admin user: %w", err)
	}
	if has {
		return "", false, nil
	}
	u, password, err := s.CreateUser(ctx, email, displayName, []RoleBinding{{Role: auth.RoleAdmin}}, "")
	if err != nil {
		return "", false, fmt.Errorf("bootstrap admin user: %w", err)
	}
	s.logger.WarnContext(ctx, "created the bootstrap admin user: change its password", "user", u.Name())
	return password, true, nil
}

// SignIn checks an email and password and opens a session, returning its token (shown only
// here) and the session. An unknown email, a disabled user and a wrong password are the same
// apperr Unauthenticated error, and take about as long (an unknown email is checked against a
// dummy hash). Attempts per email are limited: apperr ResourceExhausted with RetryAfter.
func (s *Users) SignIn(ctx context.Context, email, password string) (string, Session, User, error) {
	normalized, ok := NormalizeEmail(email)
	limitKey := normalized
	if !ok {
		// No account has a malformed email: such attempts share one bucket, so that their
		// (dummy) hashes are limited too while made-up keys cost no memory.
		limitKey = "(malformed email)"
	}
	if allowed, retry := s.attempts.Allow(limitKey, s.now()); !allowed {
		s.logger.WarnContext(ctx, "sign-in refused: too many attempts for the account")
		return "", Session{}, User{}, apperr.TooManyAttempts(retry, "too many sign-in attempts; retry in %d s", int(retry.Seconds()+0.999))
	}
	var u User
	var err error
	if ok {
		u, err = s.store.GetUser(ctx, normalized)
	} else {
		err = userNotFound(email)
	}
	switch {
	case apperr.Is(err, apperr.NotFound):
		checkPassword(s.dummyHash, password)
		return "", Session{}, User{}, errBadCredentials()
	case err != nil:
		return "", Session{}, User{}, err
	}
	if !checkPassword(u.PasswordHash, password) || u.Disabled() {
		s.logger.InfoContext(ctx, "sign-in refused", "user", u.Name())
		return "", Session{}, User{}, errBadCredentials()
	}
	now := s.storeTime()
	token := newSessionToken()
	sess := Session{ID: sessionID(token), User: u.Email, CreateTime: now, LastSeenTime: now,
		ExpireTime: now.Add(SessionMaxLifetime), Epoch: u.SessionEpoch}
	if err := s.store.CreateSession(ctx, sess); err != nil {
		return "", Session{}, User{}, fmt.Errorf("creating session: %w", err)
	}
	s.logger.InfoContext(ctx, "signed in", "user", u.Name())
	return token, sess, u, nil
}

func errBadCredentials() error {
	return apperr.New(apperr.Unauthenticated, "wrong email or password")
}

func errInvalidSession() error {
	return apperr.New(apperr.Unauthenticated, "invalid, expired or revoked session")
}

// Verify resolves a session credential, "bs_<secret>[~<site>]", to the Principal the user acts
// as: KeyName "users/{email}" and the role of [User.ActingRole]. A malformed, unknown, expired
// or revoked session, a disabled user, no role for the named site, or a role on a missing or
// deleted site is apperr Unauthenticated. Sessions and users are cached for up to MaxCacheTTL.
func (s *Users) Verify(ctx context.Context, credential string) (auth.Principal, error) {
	_, _, b, err := s.resolve(ctx, credential)
	if err != nil {
		return auth.Principal{}, err
	}
	return b, nil
}

// resolve verifies a credential and returns its session, user and principal.
func (s *Users) resolve(ctx context.Context, credential string) (Session, User, auth.Principal, error) {
	token, site, ok := parseSessionCredential(credential)
	if !ok {
		return Session{}, User{}, auth.Principal{}, errInvalidSession()
	}
	id := sessionID(token)
	sess, found, err := lookup(ctx, s, s.sessions, "session:"+id, id, s.store.GetSession)
	if err != nil || !found {
		return Session{}, User{}, auth.Principal{}, orInvalid(err)
	}
	u, found, err := lookup(ctx, s, s.users, "user:"+sess.User, sess.User, s.store.GetUser)
	if err != nil || !found {
		return Session{}, User{}, auth.Principal{}, orInvalid(err)
	}
	if u.Disabled() || !sess.activeAt(s.now(), u.SessionEpoch) {
		return Session{}, User{}, auth.Principal{}, errInvalidSession()
	}
	b, ok := u.ActingRole(site)
	if !ok {
		return Session{}, User{}, auth.Principal{}, errInvalidSession()
	}
	if b.Site != "" {
		state, err := s.sites.SiteState(ctx, b.Site)
		if err != nil {
			return Session{}, User{}, auth.Principal{}, fmt.Errorf("checking the site of %s: %w", u.Name(), err)
		}
		if state != SiteLive {
			return Session{}, User{}, auth.Principal{}, errInvalidSession()
		}
	}
	return sess, u, auth.Principal{KeyName: u.Name(), Role: b.Role, Site: b.Site}, nil
}

func orInvalid(err error) error {
	if err != nil {
		return err
	}
	return errInvalidSession()
}

// Current verifies credential like Verify and records the session's activity (at most once a
// minute), returning the session, its user and the principal the credential acts as.
func (s *Users) Current(ctx context.Context, credential string) (Session, User, auth.Principal, error) {
	sess, u, p, err := s.resolve(ctx, credential)
	if err != nil {
		return Session{}, User{}, auth.Principal{}, err
	}
	now := s.storeTime()
	if now.Sub(sess.LastSeenTime) >= sessionTouchInterval {
		touched, err := s.store.UpdateSession(ctx, sess.ID, func(stored *Session) error {
			if !stored.activeAt(now, u.SessionEpoch) {
				return errInvalidSession()
			}
			stored.LastSeenTime = now
			return nil
		})
		s.forgetSession(sess.ID)
		if err != nil {
			return Session{}, User{}, auth.Principal{}, err
		}
		sess = touched
	}
	return sess, u, p, nil
}

// SignOut revokes the session of credential. Revoking it again changes nothing.
func (s *Users) SignOut(ctx context.Context, credential string) error {
	token, _, ok := parseSessionCredential(credential)
	if !ok {
		return errInvalidSession()
	}
	id := sessionID(token)
	now := s.storeTime()
	_, err := s.store.UpdateSession(ctx, id, func(stored *Session) error {
		if stored.RevokeTime.IsZero() {
			stored.RevokeTime = now
		}
		return nil
	})
	s.forgetSession(id)
	if apperr.Is(err, apperr.NotFound) {
		return errInvalidSession()
	}
	return err
}

// SignOutEverywhere revokes every session of the credential's user.
func (s *Users) SignOutEverywhere(ctx context.Context, credential string) error {
	_, u, _, err := s.resolve(ctx, credential)
	if err != nil {
		return err
	}
	u, err = s.update(ctx, u.Email, func(u *User) error {
		u.SessionEpoch++
		return nil
	})
	if err == nil {
		s.logger.InfoContext(ctx, "signed out everywhere", "user", u.Name())
	}
	return err
}

// ChangeOwnPassword sets the password of the credential's user to newPassword, given its current
// password, and revokes every session of the user (the credential's too). Attempts count against
// the account's sign-in limit (apperr ResourceExhausted with RetryAfter), since a stolen session
// could otherwise guess the password without one. Errors: Invalid naming "new_password" (see
// ValidatePassword, or equal to the current one) or "current_password" (wrong); Unauthenticated
// for an ended session; Conflict when the password changed between the check and the write.
func (s *Users) ChangeOwnPassword(ctx context.Context, credential, currentPassword, newPassword string) (User, error) {
	_, u, _, err := s.resolve(ctx, credential)
	if err != nil {
		return User{}, err
	}
	var v apperr.Violations
	if currentPassword == "" {
		v.Add("current_password", "is required")
	}
	if e, ok := apperr.As(ValidatePassword("new_password", newPassword)); ok {
		v = append(v, e.Fields...)
	} else if newPassword == currentPassword {
		v.Add("new_password", "must differ from the current password")
	}
	if err := v.Err(); err != nil {
		return User{}, err
	}
	if allowed, retry := s.attempts.Allow(u.Email, s.now()); !allowed {
		s.logger.WarnContext(ctx, "password change refused: too many attempts for the account", "user", u.Name())
		return User{}, apperr.TooManyAttempts(retry, "too many password attempts; retry in %d s", int(retry.Seconds()+0.999))
	}
	// The stored hash, not a cached one: the password may have changed in another process.
	stored, err := s.store.GetUser(ctx, u.Email)
	if err != nil {
		return User{}, err
	}
	if !checkPassword(stored.PasswordHash, currentPassword) {
		s.logger.InfoContext(ctx, "password change refused: wrong current password", "user", u.Name())
		return User{}, apperr.InvalidField("current_password", "is not your current password")
	}
	hash := hashPassword(newPassword)
	u, err = s.update(ctx, u.Email, func(u *User) error {
		if u.PasswordHash != stored.PasswordHash {
			return apperr.New(apperr.Conflict, "the password changed meanwhile; sign in again")
		}
		u.PasswordHash = hash
		u.SessionEpoch++
		return nil
	})
	if err != nil {
		return User{}, err
	}
	s.logger.InfoContext(ctx, "user changed its password; its sessions are revoked", "user", u.Name())
	return u, nil
}

// lookup returns the value with this id from cache or the store (get); found is false when the
// store has none. Concurrent lookups of one id share one store read.
func lookup[V any](ctx context.Context, s *Users, cache *lookupCache[V], flightKey, id string,
	get func(context.Context, string) (V, error)) (V, bool, error) {
	var zero V
	if cache != nil {
		if v, found, hit := cache.get(id, s.now()); hit {
			return v, found, nil
		}
	}
	var gen uint64
	if cache != nil {
		gen = cache.generation()
	}
	ch := s.group.DoChan(flightKey, func() (any, error) {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), lookupTimeout)
		defer cancel()
		v, err := get(ctx, id)
		switch {
		case apperr.Is(err, apperr.NotFound):
			if cache != nil {
				cache.putNotFound(gen, id, s.now())
			}
			return nil, nil
		case err != nil:
			return nil, err
		}
		if cache != nil {
			cache.putFound(gen, id, v, s.now())
		}
		return v, nil
	})
	select {
	case <-ctx.Done():
		return zero, false, ctx.Err()
	case r := <-ch:
		if r.Err != nil {
			return zero, false, r.Err
		}
		if r.Val == nil {
			return zero, false, nil
		}
		return r.Val.(V), true, nil
	}
}

func (s *Users) forgetUser(email string) {
	if s.users != nil {
		s.users.delete(email)
	}
	s.group.Forget("user:" + email)
}

func (s *Users) forgetSession(id string) {
	if s.sessions != nil {
		s.sessions.delete(id)
	}
	s.group.Forget("session:" + id)
}

func userNotFound(email string) error {
	return apperr.New(apperr.NotFound, "user %s%s not found", userNamePrefix, email)
}
