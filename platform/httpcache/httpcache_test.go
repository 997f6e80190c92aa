package httpcache

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"
)

func TestEtagMatches(t *testing.T) {
	const h = "0123456789abcdef01234567"
	tests := []struct {
		name string
		inm  string
		want bool
	}{
		{"strong", `"` + h + `"`, true},
		{"weak", `W/"` + h + `"`, true},
		{"gzip representation", `"` + h + `-gz"`, true},
		{"weak gzip representation", `W/"` + h + `-gz"`, true},
		{"surrounding spaces", `  "` + h + `"  `, true},
		{"list, last", `"aaaa", W/"bbbb", "` + h + `"`, true},
		{"list, first, no spaces", `"` + h + `","aaaa"`, true},
		{"list of others", `"aaaa", "bbbb-gz", W/"cccc"`, false},
		{"star", `*`, true},
		{"star with spaces", ` * `, true},
		{"star inside a list is not special", `"aaaa", *`, false},
		{"quoted star", `"*"`, false},
		{"other hash", `"fedcba9876543210fedcba98"`, false},
		{"prefix of hash", `"` + h[:10] + `"`, false},
		{"hash plus suffix", `"` + h + `x"`, false},
		{"other suffix", `"` + h + `-br"`, false},
		{"lowercase weak prefix is not weak", `w/"` + h + `"`, false},
		{"empty", ``, false},
		{"empty tag", `""`, false},
		{"garbage", `@@@,,,;;;W/`, false},
		{"only commas", `,,,`, false},
		{"unbalanced quotes", `"` + h, true}, // lenient, like most servers
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ETagMatches(tt.inm, h); got != tt.want {
				t.Errorf("ETagMatches(%q) = %v, want %v", tt.inm, got, tt.want)
			}
		})
	}
}

func TestAcceptsGzip(t *testing.T) {
	tests := []struct {
		ae   string
		want bool
	}{
		{"", false},
		{"gzip", true},
		{"GZIP", true},
		{"Gzip", true},
		{"gzip, deflate, br", true},
		{"br, gzip", true},
		{"deflate, br", false},
		{"identity", false},
		{"  gzip  ", true},
		{"br ,  gzip ;q=0.8", true},
		{"gzip;q=1", true},
		{"gzip;q=0.001", true},
		{"gzip;q=0", false},
		{"gzip; q=0", false},
		{"gzip ; q = 0", false},
		{"gzip;q=0.0", false},
		{"gzip;q=0.00", false},
		{"gzip;q=0.000", false},
		{"gzip;Q=0", false},  // parameter names are case-insensitive
		{"gzip;q=0.", false}, // qvalue = "0" [ "." 0*3DIGIT ]
		{"*", true},
		{"*;q=0", false},
		{"br, *", true},
		{"x-gzip", false},
		{"gzipx", false},
		// An explicit gzip entry wins over "*", wherever either is (RFC 9110 12.5.3).
		{"*;q=0, gzip", true},
		{"*, gzip;q=0", false},
		{"gzip;q=0, *", false},
		{",,,;;;", false},
	}
	for _, tt := range tests {
		if got := AcceptsGzip(tt.ae); got != tt.want {
			t.Errorf("AcceptsGzip(%q) = %v, want %v", tt.ae, got, tt.want)
		}
	}
}

func FuzzEtagMatches(f *testing.F) {
	for _, s := range []struct{ inm, h string }{
		{`"abc"`, "abc"}, {`W/"abc-gz"`, "abc"}, {`*`, "abc"}, {`"a", "b"`, "b"}, {``, ""}, {`W/`, "W/"},
		{`"0123456789abcdef01234567"`, "0123456789abcdef01234567"}, {" \t", " "}, {`""`, ""}, {"\x00,\xff", "\xff"},
	} {
		f.Add(s.inm, s.h)
	}
	f.Fuzz(func(t *testing.T, inm, h string) {
		_ = ETagMatches(inm, h) // never panics
		if strings.ContainsAny(h, `",`) {
			return
		}
		// Any tag names itself, strong or weak, in a list or alone. (A real hash is hex: it never
		// ends in -gz, which names the gzip representation of the same hash.)
		if !strings.HasSuffix(h, "-gz") {
			for _, inm := range []string{`"` + h + `"`, `W/"` + h + `"`, `"x", "` + h + `"`, ` "` + h + `" ,W/"y"`} {
				if !ETagMatches(inm, h) {
					t.Errorf("ETagMatches(%q, %q) = false", inm, h)
				}
			}
		}
		if !ETagMatches(`"`+h+`-gz"`, h) {
			t.Errorf("ETagMatches(%q-gz, %q) = false", h, h)
		}
	})
}

func FuzzAcceptsGzip(f *testing.F) {
	for _, s := range []string{"", "gzip", "GZIP;Q=0", "gzip;q=0", "*", "*;q=0, gzip", "br, gzip;q=0.5", ";;,,", "gzip ; q = 0.000", "\xff\xfe"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, ae string) {
		got := AcceptsGzip(ae) // never panics
		// Codings and parameter names are case-insensitive; surrounding whitespace is not significant.
		if isASCII(ae) {
			if up := AcceptsGzip(strings.ToUpper(ae)); up != got {
				t.Errorf("AcceptsGzip(%q) = %v but AcceptsGzip(%q) = %v", ae, got, strings.ToUpper(ae), up)
			}
		}
		if padded := AcceptsGzip(" " + ae + " "); padded != got {
			t.Errorf("AcceptsGzip(%q) = %v but padded %v", ae, got, padded)
		}
		// An explicit gzip entry before anything else decides.
		if !strings.Contains(ae, ";") && !strings.Contains(ae, ",") {
			if !AcceptsGzip("gzip, " + ae) {
				t.Errorf("AcceptsGzip(%q) = false", "gzip, "+ae)
			}
		}
	})
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

func gunzip(tb testing.TB, raw []byte) []byte {
	tb.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		tb.Fatalf("gzip: %v", err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		tb.Fatalf("gzip: %v", err)
	}
	return out
}

func TestWrite(t *testing.T) {
	long := []byte(strings.Repeat(`{"text":"compressible text"}`, 100))
	short := []byte(`{"ok":true}`)
	ct := []string{"application/json"}
	type want struct {
		status   int
		etag     string
		encoding string
		body     []byte // after gunzip when encoding is gzip; nil for no body
	}
	longBody, shortBody, dynBody, lazyBody := New(long), New(short), NewDynamic(long), NewLazy(long)
	hashedBody := NewDynamicHashed(long, "0123abcd")
	lazyHashed := NewLazyHashed(long, "4567cdef")
	tests := []struct {
		name    string
		b       *Body
		method  string
		headers []string
		want    want
	}{
		{"identity", longBody, "GET", nil, want{200, `"` + longBody.Hash() + `"`, "", long}},
		{"gzip", longBody, "GET", []string{"Accept-Encoding", "gzip, br"}, want{200, `"` + longBody.Hash() + `-gz"`, "gzip", long}},
		{"gzip refused by q=0", longBody, "GET", []string{"Accept-Encoding", "gzip;q=0"}, want{200, `"` + longBody.Hash() + `"`, "", long}},
		{"short body never gzipped", shortBody, "GET", []string{"Accept-Encoding", "gzip"}, want{200, `"` + shortBody.Hash() + `"`, "", short}},
		{"dynamic body gzipped on the fly", dynBody, "GET", []string{"Accept-Encoding", "gzip"}, want{200, `"` + dynBody.Hash() + `-gz"`, "gzip", long}},
		{"dynamic body identity", dynBody, "GET", nil, want{200, `"` + dynBody.Hash() + `"`, "", long}},
		{"dynamic body with the caller's hash", hashedBody, "GET", nil, want{200, `"0123abcd"`, "", long}},
		{"dynamic body with the caller's hash, gzipped", hashedBody, "GET", []string{"Accept-Encoding", "gzip"}, want{200, `"0123abcd-gz"`, "gzip", long}},
		{"dynamic body with the caller's hash: 304", hashedBody, "GET", []string{"If-None-Match", `"0123abcd"`}, want{304, `"0123abcd"`, "", nil}},
		{"304 on the identity tag", longBody, "GET", []string{"If-None-Match", `"` + longBody.Hash() + `"`}, want{304, `"` + longBody.Hash() + `"`, "", nil}},
		{"304 on the gzip tag from a gzip client", longBody, "GET", []string{"If-None-Match", `W/"` + longBody.Hash() + `-gz"`, "Accept-Encoding", "gzip"}, want{304, `"` + longBody.Hash() + `-gz"`, "", nil}},
		{"other tag: 200", longBody, "GET", []string{"If-None-Match", `"0000"`}, want{200, `"` + longBody.Hash() + `"`, "", long}},
		{"lazy body identity, before any gzip", lazyBody, "GET", nil, want{200, `"` + lazyBody.Hash() + `"`, "", long}},
		{"lazy body gzipped on first demand", lazyBody, "GET", []string{"Accept-Encoding", "gzip"}, want{200, `"` + lazyBody.Hash() + `-gz"`, "gzip", long}},
		{"lazy body gzipped again", lazyBody, "GET", []string{"Accept-Encoding", "gzip"}, want{200, `"` + lazyBody.Hash() + `-gz"`, "gzip", long}},
		{"lazy body 304 on the gzip tag", lazyBody, "GET", []string{"If-None-Match", `"` + lazyBody.Hash() + `-gz"`, "Accept-Encoding", "gzip"}, want{304, `"` + lazyBody.Hash() + `-gz"`, "", nil}},
		{"lazy body with the caller's hash", lazyHashed, "GET", nil, want{200, `"4567cdef"`, "", long}},
		{"lazy body with the caller's hash, gzipped", lazyHashed, "GET", []string{"Accept-Encoding", "gzip"}, want{200, `"4567cdef-gz"`, "gzip", long}},
		{"lazy body with the caller's hash: 304", lazyHashed, "GET", []string{"If-None-Match", `"4567cdef-gz"`}, want{304, `"4567cdef"`, "", nil}},
		{"HEAD has headers only", longBody, "HEAD", []string{"Accept-Encoding", "gzip"}, want{200, `"` + longBody.Hash() + `-gz"`, "gzip", nil}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(tt.method, "/x", nil)
			for i := 0; i+1 < len(tt.headers); i += 2 {
				r.Header.Set(tt.headers[i], tt.headers[i+1])
			}
			w := httptest.NewRecorder()
			Write(w, r, tt.b, ct)
			if w.Code != tt.want.status {
				t.Fatalf("status %d, want %d", w.Code, tt.want.status)
			}
			if got := w.Header().Get("ETag"); got != tt.want.etag {
				t.Errorf("ETag %q, want %q", got, tt.want.etag)
			}
			if tt.want.status == 304 {
				if w.Body.Len() != 0 || w.Header().Get("Content-Length") != "" {
					t.Errorf("304 with a body (%d bytes) or a Content-Length", w.Body.Len())
				}
				return
			}
			if got := w.Header().Get("Content-Encoding"); got != tt.want.encoding {
				t.Errorf("Content-Encoding %q, want %q", got, tt.want.encoding)
			}
			if w.Header().Get("Content-Type") != ct[0] || w.Header().Get("X-Content-Type-Options") != "nosniff" {
				t.Errorf("headers %v", w.Header())
			}
			if tt.want.body == nil {
				if w.Body.Len() != 0 {
					t.Errorf("HEAD answered %d body bytes", w.Body.Len())
				}
				return
			}
			if got := w.Header().Get("Content-Length"); got != itoa(w.Body.Len()) {
				t.Errorf("Content-Length %s, body %d bytes", got, w.Body.Len())
			}
			got := w.Body.Bytes()
			if tt.want.encoding == "gzip" {
				if len(got) >= len(tt.want.body) {
					t.Errorf("gzip body %d bytes is not smaller than %d", len(got), len(tt.want.body))
				}
				got = gunzip(t, got)
			}
			if !bytes.Equal(got, tt.want.body) {
				t.Errorf("body %.80q, want %.80q", got, tt.want.body)
			}
		})
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

func TestWriteAllocatesNothingForAPreparedBody(t *testing.T) {
	b := New([]byte(strings.Repeat("abcdefgh", 200)))
	r := httptest.NewRequest("GET", "/x", nil)
	r.Header.Set("Accept-Encoding", "gzip")
	w := &discardWriter{h: http.Header{}}
	ct := []string{"application/json"}
	allocs := testing.AllocsPerRun(100, func() {
		clear(w.h)
		Write(w, r, b, ct)
	})
	if allocs != 0 {
		t.Errorf("Write allocated %.1f times per call, want 0", allocs)
	}
}

type discardWriter struct{ h http.Header }

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) WriteHeader(int)             {}
func (w *discardWriter) Write(p []byte) (int, error) { return len(p), nil }

func TestSlab(t *testing.T) {
	s := NewSlab(30)
	a := s.Copy([]byte("0123456789"))
	b := s.Copy([]byte("abcdefghij"))
	if string(a) != "0123456789" || string(b) != "abcdefghij" {
		t.Fatalf("copies %q %q", a, b)
	}
	if cap(a) != len(a) {
		t.Errorf("copy has spare capacity %d > %d: appending would overwrite its neighbour", cap(a), len(a))
	}
	a = append(a, 'X')
	if string(b) != "abcdefghij" {
		t.Errorf("appending to one copy changed the next: %q", b)
	}
	big := make([]byte, SlabSize/4+1)
	if got := s.Copy(big); &got[0] != &big[0] {
		t.Error("a large slice was copied into the slab")
	}
	if got := s.Copy(nil); got != nil {
		t.Errorf("Copy(nil) = %v", got)
	}
}

// A lazy body is gzipped once however many gzip clients ask at the same time, and its ETags
// are New's.
func TestLazyBodyConcurrently(t *testing.T) {
	raw := []byte(strings.Repeat(`{"text":"compressible text"}`, 100))
	eager, lazy := New(raw), NewLazy(raw)
	if lazy.ETag() != eager.ETag() {
		t.Fatalf("lazy ETag %s, eager %s", lazy.ETag(), eager.ETag())
	}
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Go(func() {
			r := httptest.NewRequest("GET", "/x", nil)
			if i%2 == 0 {
				r.Header.Set("Accept-Encoding", "gzip")
			}
			w := httptest.NewRecorder()
			Write(w, r, lazy, []string{"application/json"})
			got := w.Body.Bytes()
			if w.Header().Get("Content-Encoding") == "gzip" {
				got = gunzip(t, got)
			}
			if !bytes.Equal(got, raw) {
				t.Errorf("request %d: wrong body", i)
			}
		})
	}
	wg.Wait()
}

// NewLazyNotify tells its holder the size of the gzip form exactly once, when a gzip client
// first asks, and never for identity clients or bodies gzip does not shrink.
func TestLazyNotifyReportsTheGzipForm(t *testing.T) {
	tests := []struct {
		name      string
		raw       []byte
		encodings []string // Accept-Encoding of each request, in turn
		wantCalls int
	}{
		{"identity clients only", []byte(strings.Repeat(`{"text":"compressible"}`, 100)), []string{"", "identity", ""}, 0},
		{"gzip clients", []byte(strings.Repeat(`{"text":"compressible"}`, 100)), []string{"", "gzip", "gzip", "br, gzip"}, 1},
		{"too small to gzip", []byte(`{"ok":true}`), []string{"gzip", "gzip"}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var mu sync.Mutex
			var sizes []int
			b := NewLazyNotify(tt.raw, func(n int) {
				mu.Lock()
				defer mu.Unlock()
				sizes = append(sizes, n)
			})
			if b.ETag() != New(tt.raw).ETag() {
				t.Fatalf("ETag %s, New's %s", b.ETag(), New(tt.raw).ETag())
			}
			var gzipLen string
			var wg sync.WaitGroup
			for _, ae := range tt.encodings {
				wg.Go(func() {
					r := httptest.NewRequest("GET", "/x", nil)
					if ae != "" {
						r.Header.Set("Accept-Encoding", ae)
					}
					w := httptest.NewRecorder()
					Write(w, r, b, []string{"application/json"})
					if w.Header().Get("Content-Encoding") == "gzip" {
						mu.Lock()
						gzipLen = w.Header().Get("Content-Length")
						mu.Unlock()
					}
				})
			}
			wg.Wait()
			if len(sizes) != tt.wantCalls {
				t.Fatalf("told %d times (%v), want %d", len(sizes), sizes, tt.wantCalls)
			}
			if tt.wantCalls > 0 && strconv.Itoa(sizes[0]) != gzipLen {
				t.Errorf("told %d bytes, served a gzip form of %s", sizes[0], gzipLen)
			}
		})
	}
}
