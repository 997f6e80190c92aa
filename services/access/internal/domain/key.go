// Package domain issues, verifies and revokes the API keys every Beacon service accepts.
//
// A key's secret is the bearer token "bk_<id>_<secret>": "bk_", the key's 16-character id, "_",
// and 52 base32 characters encoding 32 bytes from crypto/rand. Beacon stores only SHA-256 of
// the whole token and shows people only its first 11 characters ([Key.Prefix]).
//
// Why SHA-256 and not argon2 or bcrypt: those slow hashes exist to protect low-entropy,
// human-chosen passwords from offline guessing. A key carries 256 random bits, so a leaked hash
// cannot be reversed by guessing, however fast the hash; a slow hash would only add tens of
// milliseconds and megabytes of memory to every verified request. Because every token is
// unique and random, no salt is needed either. Hashes are compared in constant time.
//
// [Service] is the domain service; package store keeps keys in MongoDB and package api serves
// beacon.access.v1.ApiKeyService.
package domain

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/beaconcms/beacon/platform/apperr"
	"github.com/beaconcms/beacon/platform/auth"
	"github.com/beaconcms/beacon/platform/siteid"
)

// Limits and formats.
const (
	IDLen             = 16  // characters of a key id: lowercase hex
	PrefixLen         = 11  // characters of a token shown to people: "bk_" and 8 of the id
	MaxDisplayNameLen = 100 // characters (runes) of a display name

	tokenPrefix     = "bk_"
	secretBytes     = 32
	secretChars     = 52 // base32 of 32 bytes, no padding
	tokenLen        = len(tokenPrefix) + IDLen + 1 + secretChars
	secretAlphabet  = "abcdefghijklmnopqrstuvwxyz234567"
	keyNamePrefix   = "apiKeys/"
	idRandomBytes   = IDLen / 2
	storedTimeRound = time.Millisecond // BSON dates keep milliseconds
)

var secretEncoding = base32.NewEncoding(secretAlphabet).WithPadding(base32.NoPadding)

// Key is an API key. It never holds the secret, only its hash.
type Key struct {
	ID          string    // 16 lowercase hex characters; the key's name is "apiKeys/{ID}"
	DisplayName string    // a label for people, 1..100 characters
	Role        auth.Role // what the key may do
	Site        string    // site id the key is limited to; "" for all sites
	CreateTime  time.Time
	RevokeTime  time.Time // zero while the key is active
	Prefix      string    // the first PrefixLen characters of the token
	SecretHash  []byte    // SHA-256 of the whole token
}

// Name returns the key's resource name, "apiKeys/{id}".
func (k Key) Name() string { return keyNamePrefix + k.ID }

// Revoked reports whether the key has been revoked.
func (k Key) Revoked() bool { return !k.RevokeTime.IsZero() }

// Principal returns the caller a request signed with this key acts as.
func (k Key) Principal() auth.Principal {
	return auth.Principal{KeyName: k.Name(), Role: k.Role, Site: k.Site}
}

// Validate checks the fields a person chooses: DisplayName (1..100 characters, not blank, no
// control characters), Role (one of the roles) and Site ("" or a site id: a slug of at most 63
// characters). It returns an apperr Invalid error naming the fields "display_name", "role" and
// "site"; the gRPC layer prefixes them.
func (k Key) Validate() error {
	var v apperr.Violations
	switch n := utf8.RuneCountInString(k.DisplayName); {
	case !utf8.ValidString(k.DisplayName):
		v.Add("display_name", "must be valid UTF-8")
	case strings.TrimSpace(k.DisplayName) == "":
		v.Add("display_name", "is required")
	case n > MaxDisplayNameLen:
		v.Add("display_name", "must be at most %d characters, got %d", MaxDisplayNameLen, n)
	case strings.ContainsFunc(k.DisplayName, unicode.IsControl):
		v.Add("display_name", "must not contain control characters")
	}
	if !k.Role.Valid() {
		v.Add("role", "is required: one of admin, editor, viewer, delivery")
	}
	if k.Site != "" && !siteid.Valid(k.Site) {
		v.Add("site", "must be empty (all sites) or a site id of lowercase letters, digits and hyphens, e.g. kratom-help")
	}
	return v.Err()
}

// ValidID reports whether id is a well-formed key id: 16 lowercase hex characters.
func ValidID(id string) bool {
	if len(id) != IDLen {
		return false
	}
	for i := range len(id) {
		if c := id[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// newToken returns a new random key id and its bearer token.
func newToken() (id, token string) {
	idBytes := make([]byte, idRandomBytes)
	secret := make([]byte, secretBytes)
	rand.Read(idBytes) // never fails (crypto/rand, Go 1.24+)
	rand.Read(secret)
	id = hex.EncodeToString(idBytes)
	return id, tokenPrefix + id + "_" + secretEncoding.EncodeToString(secret)
}

// parseToken returns the key id of a well-formed token; ok is false for anything that is not
// exactly a token of the format newToken makes.
func parseToken(token string) (id string, ok bool) {
	if len(token) != tokenLen || !strings.HasPrefix(token, tokenPrefix) {
		return "", false
	}
	id = token[len(tokenPrefix) : len(tokenPrefix)+IDLen]
	if !ValidID(id) || token[len(tokenPrefix)+IDLen] != '_' {
		return "", false
	}
	for _, c := range token[len(token)-secretChars:] {
		if !strings.ContainsRune(secretAlphabet, c) {
			return "", false
		}
	}
	return id, true
}

func hashToken(token string) []byte {
	sum := sha256.Sum256([]byte(token))
	return sum[:]
}
