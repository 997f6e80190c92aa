// Package httpcache serves pre-rendered HTTP bodies with the validators and encodings caches
// and browsers use: a strong ETag per representation, 304 Not Modified on If-None-Match, gzip
// for clients that accept it, and an exact Content-Length.
//
// A [Body] is made once, when the content it holds changes, and then served any number of times
// concurrently without being modified. [Write] allocates nothing for a [New] body: header values
// are prepared in the body and assigned to the header map directly.
package httpcache

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/klauspost/compress/gzip" // several times faster than compress/gzip at a like ratio
)

// minGzipSize is the size under which gzip is not tried: the header and trailer alone eat
// most of what could be saved.
const minGzipSize = 512

// Body is a pre-rendered response: bytes, their gzip form and the header values that go with
// them. It is never modified once made (but for a lazy body's gzip form, made once under a
// sync.Once), so any number of goroutines may serve it.
type Body struct {
	raw      []byte
	gz       []byte   // nil when gzip would not help (or for a dynamic body)
	etag     []string // header value, strong: `"<hash>"`
	etagGzip []string // `"<hash>-gz"`: the gzip representation is a different one
	hash     string
	rawLen   []string // Content-Length header values
	gzLen    []string
	dynamic  bool // made for one response; compressed on the fly when the client accepts gzip

	// lazy bodies make gz and gzLen on the first request that accepts gzip, once, and then
	// tell gzipped (when set) its size.
	lazy     bool
	lazyOnce sync.Once
	gzipped  func(gzipBytes int)
}

// New prepares a body that will be served many times: its gzip form is computed now.
func New(raw []byte) *Body {
	b := newBody(raw)
	if len(raw) >= minGzipSize {
		if gz := Gzip(raw); len(gz) < len(raw) {
			b.gz = gz
			b.gzLen = []string{strconv.Itoa(len(gz))}
		}
	}
	return b
}

// NewLazy prepares a body that will be served many times, like [New], but computes its gzip form
// on the first request that accepts gzip rather than now: for the many bodies a read model
// renders at start, most of which no gzip client asks for soon (or ever). The ETags are the
// same as New's.
func NewLazy(raw []byte) *Body {
	b := newBody(raw)
	b.lazy = len(raw) >= minGzipSize
	return b
}

// NewLazyNotify is [NewLazy] for a body whose holder accounts for its memory: gzipped is called
// with the size of the gzip form when it is made and kept (once at most, on the goroutine of the
// request that made it, which waits for it; it must not serve the body).
func NewLazyNotify(raw []byte, gzipped func(gzipBytes int)) *Body {
	b := NewLazy(raw)
	b.gzipped = gzipped
	return b
}

// gzipLazily makes a lazy body's gzip form, once; it is safe for concurrent use.
func (b *Body) gzipLazily() {
	b.lazyOnce.Do(func() {
		if gz := Gzip(b.raw); len(gz) < len(b.raw) {
			b.gz, b.gzLen = gz, []string{strconv.Itoa(len(gz))}
			if b.gzipped != nil {
				b.gzipped(len(gz))
			}
		}
	})
}

// NewDynamic prepares a body served once (for example search results): no gzip form is made
// ahead; [Write] compresses it only for a client that accepts gzip.
func NewDynamic(raw []byte) *Body {
	b := newBody(raw)
	b.dynamic = true
	return b
}

// NewDynamicHashed is [NewDynamic] for a body whose hash the caller computes: hash must change
// whenever raw does (with the odds of a good 64-bit hash or better) and hold only characters an
// ETag may (letters, digits, '-', '_'). For bodies built per request, where SHA-256 over every
// response costs more than a fast hash.
func NewDynamicHashed(raw []byte, hash string) *Body {
	b := bodyWithHash(raw, hash)
	b.dynamic = true
	return b
}

// NewLazyHashed is [NewLazy] for a body whose hash the caller computes (with the same contract
// as [NewDynamicHashed]): for bodies cached for a while, which must carry the ETag the same body
// gets when it is served uncached with NewDynamicHashed.
func NewLazyHashed(raw []byte, hash string) *Body {
	b := bodyWithHash(raw, hash)
	b.lazy = len(raw) >= minGzipSize
	return b
}

func newBody(raw []byte) *Body {
	sum := sha256.Sum256(raw)
	return bodyWithHash(raw, hex.EncodeToString(sum[:12]))
}

func bodyWithHash(raw []byte, hash string) *Body {
	return &Body{raw: raw, hash: hash, etag: []string{`"` + hash + `"`}, etagGzip: []string{`"` + hash + `-gz"`},
		rawLen: []string{strconv.Itoa(len(raw))}}
}

// Raw returns the identity bytes. Callers must not modify them.
func (b *Body) Raw() []byte { return b.raw }

// Hash returns the hash the ETags are made of (the identity ETag is `"<hash>"`).
func (b *Body) Hash() string { return b.hash }

// ETag returns the strong ETag header value of the identity representation.
func (b *Body) ETag() string { return b.etag[0] }

// Size is the number of bytes the body holds (identity and gzip; a lazy body's gzip form is
// not counted, as MoveInto does not move it).
func (b *Body) Size() int {
	if b.lazy {
		return len(b.raw)
	}
	return len(b.raw) + len(b.gz)
}

// MoveInto copies the body's bytes into s (see [Slab]). Call it before the body is shared.
func (b *Body) MoveInto(s *Slab) {
	b.raw = s.Copy(b.raw)
	if !b.lazy {
		b.gz = s.Copy(b.gz)
	}
}

// Header values set by Write; assigned directly to avoid allocations.
var (
	hdrGzip    = []string{"gzip"}
	hdrNoSniff = []string{"nosniff"}
)

// Write sends b with status 200, or 304 when the request's If-None-Match names it, gzip-encoded
// when the client accepts gzip and that makes it smaller. It sets ETag, Content-Type (given as
// a ready header value), Content-Length, Content-Encoding and X-Content-Type-Options; the
// caller sets Cache-Control, Vary and the like before. A HEAD request gets the headers only.
func Write(w http.ResponseWriter, r *http.Request, b *Body, contentType []string) {
	hdr := w.Header()
	ae := r.Header.Get("Accept-Encoding")
	var gz []byte
	var gzLen []string
	switch {
	case !b.lazy:
		gz, gzLen = b.gz, b.gzLen
	case AcceptsGzip(ae): // a lazy body's gzip form is read only after it is made
		b.gzipLazily()
		gz, gzLen = b.gz, b.gzLen
	}
	useGzip := false
	if gz != nil {
		useGzip = AcceptsGzip(ae)
	} else if b.dynamic && len(b.raw) >= minGzipSize && AcceptsGzip(ae) {
		// Served once: compress now, for this client only. (Shared bodies are never modified.)
		if z := Gzip(b.raw); len(z) < len(b.raw) {
			gz, gzLen, useGzip = z, []string{strconv.Itoa(len(z))}, true
		}
	}
	if useGzip {
		hdr["Etag"] = b.etagGzip
	} else {
		hdr["Etag"] = b.etag
	}
	if inm := r.Header.Get("If-None-Match"); inm != "" && ETagMatches(inm, b.hash) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	hdr["Content-Type"] = contentType
	hdr["X-Content-Type-Options"] = hdrNoSniff
	payload, length := b.raw, b.rawLen
	if useGzip {
		hdr["Content-Encoding"] = hdrGzip
		payload, length = gz, gzLen
	}
	hdr["Content-Length"] = length
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(payload)
	}
}

// AcceptsGzip reports whether an Accept-Encoding value allows gzip.
// An explicit gzip entry decides wherever it is; "*" applies only when gzip is not listed
// (RFC 9110 12.5.3), so "*;q=0, gzip" allows gzip and "*, gzip;q=0" does not.
func AcceptsGzip(ae string) bool {
	star := false
	for part := range strings.SplitSeq(ae, ",") {
		coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		coding = strings.TrimSpace(coding)
		if strings.EqualFold(coding, "gzip") {
			return !qZero(params)
		}
		if coding == "*" {
			star = !qZero(params)
		}
	}
	return star
}

// qZero reports whether a coding's parameters give it q=0 ("not acceptable"); "q" is
// case-insensitive and qvalue = "0" [ "." 0*3DIGIT ].
func qZero(params string) bool {
	q := strings.ToLower(strings.ReplaceAll(strings.TrimSpace(params), " ", ""))
	return q == "q=0" || q == "q=0." || q == "q=0.0" || q == "q=0.00" || q == "q=0.000"
}

// ETagMatches reports whether an If-None-Match value names hash, in either representation
// (identity or gzip) and with or without the weak prefix (RFC 9110 weak comparison).
func ETagMatches(inm, hash string) bool {
	if strings.TrimSpace(inm) == "*" {
		return true
	}
	for tag := range strings.SplitSeq(inm, ",") {
		tag = strings.TrimPrefix(strings.TrimSpace(tag), "W/")
		tag = strings.Trim(tag, `"`)
		tag = strings.TrimSuffix(tag, "-gz")
		if tag == hash {
			return true
		}
	}
	return false
}

// gzipWriters reuses compressors: a new one allocates about a megabyte.
var gzipWriters = sync.Pool{New: func() any {
	zw, _ := gzip.NewWriterLevel(io.Discard, gzip.DefaultCompression)
	return zw
}}

// Gzip compresses raw into an exactly sized slice, with a pooled compressor.
func Gzip(raw []byte) []byte {
	var buf bytes.Buffer
	zw := gzipWriters.Get().(*gzip.Writer)
	zw.Reset(&buf)
	_, _ = zw.Write(raw)
	_ = zw.Close()
	gzipWriters.Put(zw)
	return bytes.Clone(buf.Bytes())
}

// SlabSize is the size of the blocks a Slab copies bytes into.
const SlabSize = 4 << 20

// Slab copies many small byte slices into a few large blocks. Thousands of separately
// allocated 3-10 KB slices fragment the heap (measured: a third more heap in use than live
// data with 10,000 articles); contiguous blocks do not. A block lives while any slice in it
// does, so replacing bodies leaves some dead bytes in blocks, at most one block's worth per
// still-live slice.
type Slab struct {
	block     []byte
	remaining int
}

// NewSlab returns a slab for about total bytes to come (it sizes its blocks by it).
func NewSlab(total int) *Slab { return &Slab{remaining: total} }

// Copy returns b copied into the slab, capped so that appending to it cannot overwrite a
// neighbour. Slices over a quarter of SlabSize stay where they are.
func (s *Slab) Copy(b []byte) []byte {
	if len(b) == 0 {
		return b
	}
	defer func() { s.remaining -= len(b) }()
	if len(b) > SlabSize/4 {
		return b
	}
	if cap(s.block)-len(s.block) < len(b) {
		s.block = make([]byte, 0, min(SlabSize, max(s.remaining, len(b))))
	}
	start := len(s.block)
	s.block = append(s.block, b...)
	return s.block[start:len(s.block):len(s.block)]
}
