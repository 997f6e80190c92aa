package domain

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/mail"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"

	"github.com/beaconcms/beacon/platform/apperr"
	"github.com/beaconcms/beacon/platform/auth"
	"github.com/beaconcms/beacon/platform/siteid"
)

// User limits.
const (
	MaxEmailLen       = 254 // bytes of an email address (RFC 5321 path limit)
	MinPasswordLen    = 12  // characters (runes) of a password
	MaxPasswordLen    = 128 // characters (runes) of a password
	MaxRoleBindings   = 50  // roles of one user
	generatedPassword = 20  // bytes of randomness in a generated password (160 bits)
	userNamePrefix    = "users/"
)

// RoleBinding grants Role on Site ("" for all sites): the model of an API key's role and site.
type RoleBinding struct {
	Role auth.Role
	Site string
}

// User is a person who signs in to the console.
type User struct {
	Email        string // normalized (see NormalizeEmail); the user's id
	DisplayName  string
	Roles        []RoleBinding // at least one; at most one per site ("" counts as a site)
	PasswordHash string        // PHC string of argon2id (see hashPassword)
	CreateTime   time.Time
	UpdateTime   time.Time
	DisableTime  time.Time // zero while the user is active
	// SessionEpoch is bumped to revoke every session of the user at once (sign out everywhere,
	// a password change, disabling): a session is valid only while it carries the current epoch.
	SessionEpoch int64
}

// Name returns the user's resource name, "users/{email}".
func (u User) Name() string { return userNamePrefix + u.Email }

// Disabled reports whether the user is disabled.
func (u User) Disabled() bool { return !u.DisableTime.IsZero() }

// ActingRole returns the binding a credential naming site acts with: the user's role on that
// site; else its all-sites role; else, when site is "", its first role. ok is false when the
// user has no role covering site.
func (u User) ActingRole(site string) (RoleBinding, bool) {
	var allSites *RoleBinding
	for i, b := range u.Roles {
		switch {
		case site != "" && b.Site == site:
			return b, true
		case b.Site == "" && allSites == nil:
			allSites = &u.Roles[i]
		}
	}
	switch {
	case allSites != nil:
		return *allSites, true
	case site == "" && len(u.Roles) > 0:
		return u.Roles[0], true
	}
	return RoleBinding{}, false
}

// NormalizeEmail returns the canonical form of an email address used as a user's id: trimmed
// and in lower case. ok is false when email is not one plain address (no display name, no
// angle brackets) of at most MaxEmailLen bytes.
func NormalizeEmail(email string) (normalized string, ok bool) {
	e := strings.ToLower(strings.TrimSpace(email))
	if e == "" || len(e) > MaxEmailLen || !utf8.ValidString(e) || strings.ContainsFunc(e, unicode.IsSpace) {
		return "", false
	}
	addr, err := mail.ParseAddress(e)
	if err != nil || addr.Name != "" || addr.Address != e || strings.ContainsAny(e, "<>/\\") {
		return "", false
	}
	return e, true
}

// ValidateUser checks the fields a person chooses: Email (already normalized), DisplayName and
// Roles. It returns an apperr Invalid error naming "email", "display_name" and "roles[i].role" /
// "roles[i].site"; the gRPC layer prefixes them.
func ValidateUser(u User) error {
	var v apperr.Violations
	if n, ok := NormalizeEmail(u.Email); !ok || n != u.Email {
		v.Add("email", "must be an email address like editor@example.org")
	}
	validateDisplayName(&v, u.DisplayName)
	validateRoles(&v, u.Roles)
	return v.Err()
}

func validateDisplayName(v *apperr.Violations, name string) {
	switch n := utf8.RuneCountInString(name); {
	case !utf8.ValidString(name):
		v.Add("display_name", "must be valid UTF-8")
	case strings.TrimSpace(name) == "":
		v.Add("display_name", "is required")
	case n > MaxDisplayNameLen:
		v.Add("display_name", "must be at most %d characters, got %d", MaxDisplayNameLen, n)
	case strings.ContainsFunc(name, unicode.IsControl):
		v.Add("display_name", "must not contain control characters")
	}
}

// ValidateRoles checks a user's roles: at least one, at most MaxRoleBindings, each a valid role
// on "" or a site id, at most one per site. Fields are named "roles" and "roles[i].role|site".
func ValidateRoles(roles []RoleBinding) error {
	var v apperr.Violations
	validateRoles(&v, roles)
	return v.Err()
}

func validateRoles(v *apperr.Violations, roles []RoleBinding) {
	switch {
	case len(roles) == 0:
		v.Add("roles", "is required: at least one role, e.g. editor on sites/kratom-help")
	case len(roles) > MaxRoleBindings:
		v.Add("roles", "must have at most %d roles, got %d", MaxRoleBindings, len(roles))
	}
	for i, b := range roles {
		if !b.Role.Valid() {
			v.Add(fmt.Sprintf("roles[%d].role", i), "is required: one of admin, editor, viewer, delivery")
		}
		switch {
		case b.Site != "" && !siteid.Valid(b.Site):
			v.Add(fmt.Sprintf("roles[%d].site", i), "must be empty (all sites) or a site id of lowercase letters, digits and hyphens, e.g. kratom-help")
		case slices.ContainsFunc(roles[:i], func(o RoleBinding) bool { return o.Site == b.Site }):
			v.Add(fmt.Sprintf("roles[%d].site", i), "has a role already: a user has at most one role per site (and one for all sites)")
		}
	}
}

// ValidatePassword checks a password a person chose: MinPasswordLen..MaxPasswordLen characters
// of valid UTF-8 without control characters. field names it in the error.
func ValidatePassword(field, password string) error {
	switch n := utf8.RuneCountInString(password); {
	case !utf8.ValidString(password):
		return apperr.InvalidField(field, "must be valid UTF-8")
	case n < MinPasswordLen:
		return apperr.InvalidField(field, "must be at least %d characters, got %d", MinPasswordLen, n)
	case n > MaxPasswordLen:
		return apperr.InvalidField(field, "must be at most %d characters, got %d", MaxPasswordLen, n)
	case strings.ContainsFunc(password, unicode.IsControl):
		return apperr.InvalidField(field, "must not contain control characters")
	}
	return nil
}

// newPassword returns a random password: 32 characters of base32 (160 bits).
func newPassword() string {
	b := make([]byte, generatedPassword)
	rand.Read(b) // never fails (crypto/rand, Go 1.24+)
	return secretEncoding.EncodeToString(b)
}

// Argon2id parameters: OWASP's first recommendation (m=19 MiB, t=2, p=1). They are stored in
// every hash, so hashes made with other parameters still verify.
const (
	argonMemoryKiB = 19 * 1024
	argonTime      = 2
	argonThreads   = 1
	argonKeyLen    = 32
	argonSaltLen   = 16
)

var phc = base64.RawStdEncoding

// hashPassword returns the PHC string "$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>" of password
// with a random salt.
func hashPassword(password string) string {
	salt := make([]byte, argonSaltLen)
	rand.Read(salt)
	key := argon2.IDKey([]byte(password), salt, argonTime, argonMemoryKiB, argonThreads, argonKeyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, argonMemoryKiB, argonTime, argonThreads, phc.EncodeToString(salt), phc.EncodeToString(key))
}

// checkPassword reports whether password matches the PHC string encoded, comparing in constant
// time. A malformed hash never matches.
func checkPassword(encoded, password string) bool {
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" || parts[2] != fmt.Sprintf("v=%d", argon2.Version) {
		return false
	}
	var memory, iterations uint32
	var threads uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &memory, &iterations, &threads); err != nil ||
		memory < 8*uint32(max(threads, 1)) || memory > 1<<21 || iterations == 0 || iterations > 16 || threads == 0 {
		return false
	}
	salt, err := phc.Strict().DecodeString(parts[4])
	if err != nil || len(salt) < 8 {
		return false
	}
	want, err := phc.Strict().DecodeString(parts[5])
	if err != nil || len(want) < 16 || len(want) > 64 {
		return false
	}
	got := argon2.IDKey([]byte(password), salt, iterations, memory, threads, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}

// Session tokens are "bs_" and 52 base32 characters of 32 random bytes; the store keeps only the
// hex SHA-256 of the token as the session's id. A credential may add "~<site id>" to act with the
// user's role on that site ([User.ActingRole]).
const (
	sessionTokenPrefix = "bs_"
	sessionTokenLen    = len(sessionTokenPrefix) + secretChars
	siteSuffixSep      = "~"
)

// IsSessionCredential reports whether a bearer credential is a session token (possibly with a
// site), not an API key.
func IsSessionCredential(credential string) bool {
	return strings.HasPrefix(credential, sessionTokenPrefix)
}

func newSessionToken() string {
	b := make([]byte, secretBytes)
	rand.Read(b)
	return sessionTokenPrefix + secretEncoding.EncodeToString(b)
}

// parseSessionCredential splits "bs_<secret>[~<site>]"; ok is false for anything else.
func parseSessionCredential(credential string) (token, site string, ok bool) {
	token, site, hasSite := strings.Cut(credential, siteSuffixSep)
	if len(token) != sessionTokenLen || !strings.HasPrefix(token, sessionTokenPrefix) {
		return "", "", false
	}
	for _, c := range token[len(sessionTokenPrefix):] {
		if !strings.ContainsRune(secretAlphabet, c) {
			return "", "", false
		}
	}
	if hasSite && !siteid.Valid(site) {
		return "", "", false
	}
	return token, site, true
}

// sessionID is the stored id of a session: the hex SHA-256 of its token.
func sessionID(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}
