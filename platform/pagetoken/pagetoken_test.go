package pagetoken_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"github.com/beaconcms/beacon/platform/apperr"
	"github.com/beaconcms/beacon/platform/pagetoken"
)

// cursor is a typical payload: where the previous page ended.
type cursor struct {
	UpdateTime time.Time `json:"u"`
	ID         string    `json:"id"`
}

// otherCursor has different fields, as after a change of payload type between releases.
type otherCursor struct {
	Offset int `json:"offset"`
}

// t0 is the fixed time tests issue tokens at.
func t0() time.Time { return time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC) }

// clock is a settable time source for WithClock.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func secret(b byte) []byte { return bytes.Repeat([]byte{b}, pagetoken.MinSecretLength) }

func newCodec(tb testing.TB, key []byte, clk *clock) *pagetoken.Codec {
	tb.Helper()
	c, err := pagetoken.NewCodec(key, pagetoken.WithClock(clk.now))
	if err != nil {
		tb.Fatalf("NewCodec: %v", err)
	}
	return c
}

func encode(tb testing.TB, c *pagetoken.Codec, scope string, payload any) string {
	tb.Helper()
	token, err := c.Encode(scope, payload)
	if err != nil {
		tb.Fatalf("Encode(%q, %v): %v", scope, payload, err)
	}
	return token
}

// wantInvalid fails tb unless err is Decode's single Invalid error for "page_token".
func wantInvalid(tb testing.TB, err error) {
	tb.Helper()
	if err == nil {
		tb.Fatal("Decode succeeded, want an invalid page token error")
	}
	e, ok := apperr.As(err)
	if !ok {
		tb.Fatalf("error %v (%T) is not an *apperr.Error", err, err)
	}
	want := &apperr.Error{Code: apperr.Invalid, Message: "invalid request", Fields: []apperr.FieldViolation{
		{Field: "page_token", Description: "invalid or expired page token"},
	}}
	if diff := cmp.Diff(want, e); diff != "" {
		tb.Fatalf("error mismatch (-want +got):\n%s", diff)
	}
}

// wantInternal fails tb unless err is a non-nil error that is not an *apperr.Error.
func wantInternal(tb testing.TB, err error) {
	tb.Helper()
	if err == nil {
		tb.Fatal("got no error, want an internal error")
	}
	if e, ok := apperr.As(err); ok {
		tb.Fatalf("error %v is an *apperr.Error (code %q), want an internal error", err, e.Code)
	}
}

// forge builds a token by the layout documented in the package comment, signing with key
// derived from secret the documented way. It lets tests make validly signed tokens with
// contents Encode never produces.
func forge(tb testing.TB, secret []byte, scope string, version byte, issued uint64, body string) string {
	tb.Helper()
	derive := hmac.New(sha256.New, secret)
	derive.Write([]byte("beacon/pagetoken/v1"))
	raw := []byte{version}
	raw = binary.BigEndian.AppendUint64(raw, issued)
	raw = append(raw, body...)
	m := hmac.New(sha256.New, derive.Sum(nil))
	m.Write(binary.BigEndian.AppendUint64(nil, uint64(len(scope))))
	m.Write([]byte(scope))
	m.Write(raw)
	return base64.RawURLEncoding.EncodeToString(m.Sum(raw))
}

func TestNewCodec(t *testing.T) {
	for _, n := range []int{0, 1, pagetoken.MinSecretLength - 1} {
		if c, err := pagetoken.NewCodec(make([]byte, n)); c != nil || err == nil {
			t.Errorf("NewCodec(%d bytes) = %v, %v; want nil and an error", n, c, err)
		} else {
			wantInternal(t, err)
		}
	}
	for _, n := range []int{pagetoken.MinSecretLength, 64} {
		if c, err := pagetoken.NewCodec(make([]byte, n)); c == nil || err != nil {
			t.Errorf("NewCodec(%d bytes) = %v, %v; want a codec", n, c, err)
		}
	}
}

func TestRoundTrip(t *testing.T) {
	tests := []struct {
		name    string
		scope   string
		payload cursor
	}{
		{"typical", pagetoken.Scope("ListArticles", `state = PUBLISHED`, "update_time desc", "sites/a"), cursor{UpdateTime: t0().Add(-time.Hour), ID: "articles/123"}},
		{"empty scope and zero payload", "", cursor{}},
		{"unicode and url-hostile characters", "scope/?&=+ é", cursor{UpdateTime: t0().Add(123456789), ID: "a/b?c=d&e=f+g é 🌿 \"q\" \\"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newCodec(t, secret(1), &clock{t0()})
			token := encode(t, c, tt.scope, tt.payload)
			if strings.Trim(token, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") != "" {
				t.Errorf("token %q is not URL-safe", token)
			}
			var got cursor
			if err := c.Decode(token, tt.scope, &got); err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if diff := cmp.Diff(tt.payload, got); diff != "" {
				t.Errorf("payload mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// The documented layout is what Encode produces: a forged token made by it decodes.
func TestForgedLayoutMatchesEncode(t *testing.T) {
	c := newCodec(t, secret(1), &clock{t0()})
	want := cursor{ID: "x"}
	token := encode(t, c, "s", want)
	if forged := forge(t, secret(1), "s", 1, uint64(t0().Unix()), `{"u":"0001-01-01T00:00:00Z","id":"x"}`); forged != token {
		t.Errorf("forged token %q != encoded token %q", forged, token)
	}
}

func TestDecodeRejects(t *testing.T) {
	key := secret(1)
	valid := encode(t, newCodec(t, key, &clock{t0()}), "s", cursor{ID: "articles/1"})
	tests := []struct {
		name  string
		token string
		scope string
		key   []byte
		now   time.Time
	}{
		{name: "empty", token: ""},
		{name: "garbage", token: "not a token!"},
		{name: "json instead of token", token: `{"id":"articles/1"}`},
		{name: "huge", token: strings.Repeat("A", pagetoken.MaxTokenLength+1)},
		{name: "huge valid prefix", token: valid + strings.Repeat("A", pagetoken.MaxTokenLength)},
		{name: "padding added", token: valid + "="},
		{name: "newline inserted", token: valid[:10] + "\n" + valid[10:]},
		{name: "trailing newline", token: valid + "\n"},
		{name: "standard base64 alphabet", token: strings.NewReplacer("-", "+", "_", "/").Replace(valid) + "+/"},
		{name: "truncated by one", token: valid[:len(valid)-1]},
		{name: "extended by one", token: valid + "A"},
		{name: "header only", token: valid[:12]},
		{name: "MAC only", token: valid[len(valid)-43:]},
		{name: "other scope", token: valid, scope: "t"},
		{name: "scope prefix", token: valid, scope: "s\x00"},
		{name: "other key", token: valid, key: secret(2)},
		{name: "expired", token: valid, now: t0().Add(pagetoken.TTL + time.Second)},
		{name: "issued in the future", token: valid, now: t0().Add(-pagetoken.MaxClockSkew - time.Second)},
		{name: "other version", token: forge(t, key, "s", 2, uint64(t0().Unix()), `{"id":"x"}`)},
		{name: "version zero", token: forge(t, key, "s", 0, uint64(t0().Unix()), `{"id":"x"}`)},
		{name: "issued at max uint64", token: forge(t, key, "s", 1, ^uint64(0), `{"id":"x"}`)},
		{name: "issued at max int64", token: forge(t, key, "s", 1, 1<<63-1, `{"id":"x"}`)},
		{name: "issued at zero", token: forge(t, key, "s", 1, 0, `{"id":"x"}`)},
		{name: "unknown payload field", token: forge(t, key, "s", 1, uint64(t0().Unix()), `{"id":"x","admin":true}`)},
		{name: "payload of wrong type", token: forge(t, key, "s", 1, uint64(t0().Unix()), `["x"]`)},
		{name: "payload not JSON", token: forge(t, key, "s", 1, uint64(t0().Unix()), `{`)},
		{name: "empty payload", token: forge(t, key, "s", 1, uint64(t0().Unix()), ``)},
		{name: "two payloads", token: forge(t, key, "s", 1, uint64(t0().Unix()), `{"id":"x"}{"id":"y"}`)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.scope == "" {
				tt.scope = "s"
			}
			if tt.key == nil {
				tt.key = key
			}
			if tt.now.IsZero() {
				tt.now = t0()
			}
			var got cursor
			wantInvalid(t, newCodec(t, tt.key, &clock{tt.now}).Decode(tt.token, tt.scope, &got))
		})
	}
}

// A token from an older payload type must not be misread as the new one.
func TestDecodeOtherPayloadType(t *testing.T) {
	c := newCodec(t, secret(1), &clock{t0()})
	token := encode(t, c, "s", otherCursor{Offset: 40})
	var got cursor
	wantInvalid(t, c.Decode(token, "s", &got))
}

func TestDecodeExpiryBoundaries(t *testing.T) {
	tests := []struct {
		name  string
		now   time.Time
		valid bool
	}{
		{"just issued", t0(), true},
		{"at TTL", t0().Add(pagetoken.TTL), true},
		{"just after TTL", t0().Add(pagetoken.TTL + time.Second), false},
		{"issuer clock ahead by MaxClockSkew", t0().Add(-pagetoken.MaxClockSkew), true},
		{"issuer clock ahead by more", t0().Add(-pagetoken.MaxClockSkew - time.Second), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := &clock{t0()}
			c := newCodec(t, secret(1), clk)
			token := encode(t, c, "s", cursor{ID: "x"})
			clk.t = tt.now
			var got cursor
			err := c.Decode(token, "s", &got)
			if !tt.valid {
				wantInvalid(t, err)
				return
			}
			if err != nil || got.ID != "x" {
				t.Errorf("Decode = %v, payload %+v; want success with ID x", err, got)
			}
		})
	}
}

// Every single-bit change to the token's bytes, every one-character change to its text and
// every truncation is detected, for raw lengths of each residue mod 3 (so that some tokens end
// in a character with unused low bits, which must not have a second spelling).
func TestDecodeEveryModification(t *testing.T) {
	for _, id := range []string{"a", "ab", "abc"} {
		t.Run(id, func(t *testing.T) { testEveryModification(t, id) })
	}
}

func testEveryModification(t *testing.T, id string) {
	c := newCodec(t, secret(1), &clock{t0()})
	token := encode(t, c, "s", cursor{UpdateTime: t0(), ID: id})
	raw, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil {
		t.Fatalf("token is not unpadded URL-safe base64: %v", err)
	}
	for i := range raw {
		for bit := range 8 {
			flipped := bytes.Clone(raw)
			flipped[i] ^= 1 << bit
			var got cursor
			if err := c.Decode(base64.RawURLEncoding.EncodeToString(flipped), "s", &got); err == nil {
				t.Fatalf("token with byte %d bit %d flipped decoded to %+v", i, bit, got)
			} else {
				wantInvalid(t, err)
			}
		}
	}
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	for i := range len(token) {
		for _, r := range alphabet {
			if byte(r) == token[i] {
				continue
			}
			changed := token[:i] + string(r) + token[i+1:]
			var got cursor
			if err := c.Decode(changed, "s", &got); err == nil {
				t.Fatalf("token with character %d changed to %q decoded to %+v", i, r, got)
			} else {
				wantInvalid(t, err)
			}
		}
	}
	for n := range len(token) {
		var got cursor
		if err := c.Decode(token[:n], "s", &got); err == nil {
			t.Fatalf("token truncated to %d characters decoded to %+v", n, got)
		} else {
			wantInvalid(t, err)
		}
	}
}

// The length cap applies to validly signed tokens too, exactly at MaxTokenLength.
func TestDecodeLengthCap(t *testing.T) {
	key := secret(1)
	c := newCodec(t, key, &clock{t0()})
	// 1 + 8 + len(body) + 32 raw bytes; 1536 raw bytes are exactly 2048 characters.
	for _, tt := range []struct {
		n     int // length of the id
		valid bool
	}{{1486, true}, {1487, false}} {
		token := forge(t, key, "s", 1, uint64(t0().Unix()), `{"id":"`+strings.Repeat("x", tt.n)+`"}`)
		if got, want := len(token) <= pagetoken.MaxTokenLength, tt.valid; got != want {
			t.Fatalf("test setup: token of %d characters, MaxTokenLength %d", len(token), pagetoken.MaxTokenLength)
		}
		var got cursor
		err := c.Decode(token, "s", &got)
		if !tt.valid {
			wantInvalid(t, err)
			continue
		}
		if err != nil || len(got.ID) != tt.n {
			t.Errorf("Decode(%d-character token) = %v, id of %d bytes; want success", len(token), err, len(got.ID))
		}
	}
}

func TestScope(t *testing.T) {
	pairs := [][2][]string{
		{{"ab", "c"}, {"a", "bc"}},
		{{"a", ""}, {"a"}},
		{{""}, {}},
		{{"1:a"}, {"a"}},
		{{"1:a", ""}, {"a", "0:"}},
	}
	for _, p := range pairs {
		if a, b := pagetoken.Scope(p[0]...), pagetoken.Scope(p[1]...); a == b {
			t.Errorf("Scope(%q) == Scope(%q) == %q", p[0], p[1], a)
		}
	}
	if a, b := pagetoken.Scope("x", "y"), pagetoken.Scope("x", "y"); a != b {
		t.Errorf("Scope is not deterministic: %q != %q", a, b)
	}
}

func TestDecodeBadTarget(t *testing.T) {
	c := newCodec(t, secret(1), &clock{t0()})
	token := encode(t, c, "s", cursor{ID: "x"})
	wantInternal(t, c.Decode(token, "s", cursor{}))
	wantInternal(t, c.Decode(token, "s", nil))
	var nilPtr *cursor
	wantInternal(t, c.Decode(token, "s", nilPtr))
}

func TestEncodeErrors(t *testing.T) {
	c := newCodec(t, secret(1), &clock{t0()})
	tests := []struct {
		name    string
		payload any
	}{
		{"not marshalable", make(chan int)},
		{"too big", cursor{ID: strings.Repeat("x", pagetoken.MaxTokenLength)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			token, err := c.Encode("s", tt.payload)
			if token != "" {
				t.Errorf("Encode returned token %q with error %v", token, err)
			}
			wantInternal(t, err)
		})
	}
}

// The codec derives its key at construction: changing the secret slice afterwards changes
// nothing.
func TestSecretNotRetained(t *testing.T) {
	key := secret(1)
	c := newCodec(t, key, &clock{t0()})
	token := encode(t, c, "s", cursor{ID: "x"})
	for i := range key {
		key[i] = 0
	}
	var got cursor
	if err := c.Decode(token, "s", &got); err != nil {
		t.Fatalf("Decode after clearing the secret: %v", err)
	}
}

// Run with -race.
func TestConcurrentUse(t *testing.T) {
	c := newCodec(t, secret(1), &clock{t0()})
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for g := range 8 {
		wg.Go(func() {
			for i := range 50 {
				want := cursor{ID: strings.Repeat("x", g+i)}
				token, err := c.Encode("s", want)
				if err != nil {
					errs <- err
					return
				}
				var got cursor
				if err := c.Decode(token, "s", &got); err != nil {
					errs <- err
					return
				}
				if got != want {
					errs <- fmt.Errorf("payload mismatch: got %+v, want %+v", got, want)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func FuzzDecode(f *testing.F) {
	key := secret(1)
	valid := encode(f, newCodec(f, key, &clock{t0()}), "scope", cursor{UpdateTime: t0(), ID: "articles/1"})
	for _, seed := range []struct{ token, scope string }{
		{valid, "scope"},
		{valid, "other"},
		{valid[:len(valid)-1], "scope"},
		{valid + "A", "scope"},
		{valid + "=", "scope"},
		{"", ""},
		{"A", "scope"},
		{"AAAA", ""},
		{"!!!!", "scope"},
		{"\x00\xff", "scope"},
		{forge(f, key, "scope", 1, uint64(t0().Unix()), `{"id":"x","extra":1}`), "scope"},
		{forge(f, key, "scope", 2, uint64(t0().Unix()), `{"id":"x"}`), "scope"},
		{forge(f, key, "scope", 1, ^uint64(0), `{"id":"x"}`), "scope"},
		{strings.Repeat("A", pagetoken.MaxTokenLength+1), "scope"},
	} {
		f.Add(seed.token, seed.scope)
	}
	f.Fuzz(func(t *testing.T, token, scope string) {
		c := newCodec(t, key, &clock{t0()})
		var got cursor
		err := c.Decode(token, scope, &got)
		switch {
		case err == nil && (token != valid || scope != "scope"):
			// Only the one token this key signed for this scope may verify; anything else is a forgery.
			t.Fatalf("Decode(%q, %q) accepted a token it never issued: %+v", token, scope, got)
		case err == nil && got.ID != "articles/1":
			t.Fatalf("Decode of the valid token gave %+v", got)
		case err != nil:
			wantInvalid(t, err)
		}

		// Any scope and any UTF-8 payload string round-trip (json.Marshal replaces invalid
		// UTF-8, so only valid strings are expected back unchanged).
		if !utf8.ValidString(token) {
			return
		}
		want := cursor{ID: token}
		issued, err := c.Encode(scope, want)
		if err != nil {
			wantInternal(t, err) // too big
			return
		}
		var back cursor
		if err := c.Decode(issued, scope, &back); err != nil {
			t.Fatalf("Decode(Encode(%q, %+v)): %v", scope, want, err)
		}
		if diff := cmp.Diff(want, back); diff != "" {
			t.Fatalf("round trip mismatch (-want +got):\n%s", diff)
		}
	})
}
