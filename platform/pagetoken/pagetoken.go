// Package pagetoken makes opaque, tamper-evident page tokens for List RPCs.
//
// A token carries a JSON payload (typically the sort key and id of the last item returned),
// the time it was issued, and an HMAC-SHA256 over both and over a scope string describing the
// query. A token therefore only decodes with the same key, for the same scope, within [TTL] of
// being issued, and any change to it is detected.
//
// Tokens are signed, not encrypted: whoever holds a token can read its payload by decoding the
// base64. Put only values the caller may see (such as the sort key of an item it was just
// sent) in a payload, never secrets or data from outside the caller's view.
//
// Token layout, before unpadded URL-safe base64 ([base64.RawURLEncoding]):
//
//	version (1 byte, 1) | issued-at (8 bytes, big-endian Unix seconds) | payload JSON | MAC (32 bytes)
//
// The MAC is HMAC-SHA256, under a key derived from the secret, of the length-prefixed scope
// followed by everything before the MAC.
package pagetoken

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/beaconcms/beacon/platform/apperr"
)

// Limits and lifetimes.
const (
	// MinSecretLength is the shortest secret NewCodec accepts, in bytes.
	MinSecretLength = 32
	// MaxTokenLength is the longest token, in bytes, that Decode looks at; Encode fails rather
	// than produce a longer one.
	MaxTokenLength = 2048
	// TTL is how long a token stays valid after Encode.
	TTL = 24 * time.Hour
	// MaxClockSkew is how far in the future a token's issued-at may be (another replica's clock
	// may be ahead) before Decode rejects it.
	MaxClockSkew = 5 * time.Minute
)

const (
	version   = 1
	headerLen = 1 + 8 // version, issued-at
	macLen    = sha256.Size
	// keyLabel separates this package's derived key from other uses of the same secret.
	keyLabel = "beacon/pagetoken/v1"
)

// errField is the request field Decode's errors name.
const errField = "page_token"

// Codec signs page tokens with HMAC-SHA256. Safe for concurrent use.
type Codec struct {
	key  []byte           // derived from the secret; never modified after NewCodec
	now  func() time.Time // never nil
	macs sync.Pool        // hash.Hash: HMAC-SHA256 keyed with key, reused (Reset) across calls
}

// Option configures a Codec.
type Option func(*Codec)

// WithClock makes the Codec read the time from now instead of time.Now (for tests). A nil now
// is ignored.
func WithClock(now func() time.Time) Option {
	return func(c *Codec) {
		if now != nil {
			c.now = now
		}
	}
}

// NewCodec returns a Codec keyed by secret, which must be at least MinSecretLength bytes of
// random data shared by every replica that must accept each other's tokens. The Codec does not
// keep secret, so the caller may clear it afterwards. A short secret is a configuration error,
// reported as a plain (internal) error.
func NewCodec(secret []byte, opts ...Option) (*Codec, error) {
	if len(secret) < MinSecretLength {
		return nil, fmt.Errorf("pagetoken: secret is %d bytes, want at least %d", len(secret), MinSecretLength)
	}
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(keyLabel))
	c := &Codec{key: m.Sum(nil), now: time.Now}
	for _, opt := range opts {
		opt(c)
	}
	return c, nil
}

// Scope joins parts (e.g. method, filter, order_by, caller site) into a scope string so that
// different parts can never produce the same scope, as plain concatenation can
// ("a"+"bc" = "ab"+"c").
func Scope(parts ...string) string {
	var b strings.Builder
	for _, p := range parts {
		b.WriteString(strconv.Itoa(len(p)))
		b.WriteByte(':')
		b.WriteString(p)
	}
	return b.String()
}

// Encode serializes payload (any JSON-marshalable value) bound to scope into a URL-safe
// string. scope describes the query (see [Scope]) so that the token only works for the same
// query. Errors (payload not marshalable, token longer than MaxTokenLength) are programming
// errors and are not *apperr.Error.
func (c *Codec) Encode(scope string, payload any) (string, error) {
	body, err := json.Marshal(payload)
	if err != nil {
		return "", fmt.Errorf("pagetoken: encode payload: %w", err)
	}
	raw := make([]byte, headerLen, headerLen+len(body)+macLen)
	raw[0] = version
	binary.BigEndian.PutUint64(raw[1:headerLen], uint64(c.now().Unix()))
	raw = append(raw, body...)
	raw = c.appendMAC(raw, scope, raw)
	token := base64.RawURLEncoding.EncodeToString(raw)
	if len(token) > MaxTokenLength {
		return "", fmt.Errorf("pagetoken: token would be %d bytes, more than %d; shrink the payload", len(token), MaxTokenLength)
	}
	return token, nil
}

// Decode verifies token and decodes its payload into payload, which must be a non-nil pointer
// (as for json.Unmarshal). Any tampering, truncation, wrong scope, wrong key, expiry (issued
// more than TTL ago, or more than MaxClockSkew in the future), a payload that does not fit
// payload's type (unknown fields included), or garbage gives an *apperr.Error with code Invalid
// for field "page_token" and the same description for every cause, so callers learn nothing
// about which check failed. A payload that is not a non-nil pointer is a programming error,
// reported as a plain (internal) error. On error, payload may have been partly written.
// Decode never panics.
func (c *Codec) Decode(token, scope string, payload any) error {
	raw, ok := c.verify(token, scope)
	if !ok {
		return invalid()
	}
	dec := json.NewDecoder(bytes.NewReader(raw[headerLen : len(raw)-macLen]))
	dec.DisallowUnknownFields()
	if err := dec.Decode(payload); err != nil {
		if _, ok := errors.AsType[*json.InvalidUnmarshalError](err); ok {
			return fmt.Errorf("pagetoken: decode payload: %w", err)
		}
		return invalid()
	}
	if dec.More() {
		return invalid()
	}
	return nil
}

// verify checks token's encoding, MAC, version and age, and returns its raw bytes.
func (c *Codec) verify(token, scope string) ([]byte, bool) {
	if token == "" || len(token) > MaxTokenLength {
		return nil, false
	}
	// The decoder skips '\r' and '\n'; allow only the alphabet, so each token has one spelling.
	for i := 0; i < len(token); i++ {
		if b := token[i]; !('A' <= b && b <= 'Z' || 'a' <= b && b <= 'z' || '0' <= b && b <= '9' || b == '-' || b == '_') {
			return nil, false
		}
	}
	// Strict rejects non-zero trailing bits, which would give a second spelling.
	raw, err := base64.RawURLEncoding.Strict().DecodeString(token)
	if err != nil || len(raw) < headerLen+macLen {
		return nil, false
	}
	signed, mac := raw[:len(raw)-macLen], raw[len(raw)-macLen:]
	var want [macLen]byte
	if !hmac.Equal(mac, c.appendMAC(want[:0], scope, signed)) || signed[0] != version {
		return nil, false
	}
	issued := time.Unix(int64(binary.BigEndian.Uint64(signed[1:headerLen])), 0)
	now := c.now()
	if now.Sub(issued) > TTL || issued.Sub(now) > MaxClockSkew {
		return nil, false
	}
	return raw, true
}

// appendMAC appends to dst the HMAC-SHA256 of the length-prefixed scope followed by signed
// (which may be dst itself: it is read before anything is appended).
func (c *Codec) appendMAC(dst []byte, scope string, signed []byte) []byte {
	m, ok := c.macs.Get().(hash.Hash)
	if ok {
		m.Reset()
	} else {
		m = hmac.New(sha256.New, c.key)
	}
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(len(scope)))
	m.Write(n[:])
	io.WriteString(m, scope)
	m.Write(signed)
	dst = m.Sum(dst)
	c.macs.Put(m)
	return dst
}

func invalid() error {
	return apperr.InvalidField(errField, "invalid or expired page token")
}
