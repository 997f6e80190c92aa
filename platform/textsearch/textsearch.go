// Package textsearch is an in-memory, relevance-ranked full-text index for the
// published articles of one site. It replaces MongoDB $text, which the embedded
// store does not offer, and is sized for hundreds to about 10,000 articles of
// about 1,000 words.
//
// # Tokens
//
// Text is split into tokens made of Unicode letters and digits; everything else
// separates tokens, except that an apostrophe between a letter (or digit) and a
// letter stays inside the word ("Crohn's" → "crohns"), and combining marks and
// soft hyphens never split a word. Tokens are folded: NFKD decomposition,
// combining marks dropped, lowercased, and a few letters without a
// decomposition transliterated (ß→ss, æ→ae, œ→oe, ø→o, ł→l, đ/ð→d, þ→th, ı→i),
// so "Kratóm", "KRATOM" and "kratom" are the same token, as are "ﬁ" and "fi" or
// "B₁₂" and "b12". A folded token is cut to 64 bytes. Tokens are then stemmed by
// a small English suffix stripper (plural -s/-es/-ies, -ing, -ed, -ly, final -e;
// see words.Stem) at index and at query time alike, so "withdrawals" matches
// "withdrawal" and "supporting" matches "support". Tokens with digits or
// non-ASCII letters are not stemmed.
//
// Per document, at most 255 title tokens, 767 summary tokens and 64,511 body
// tokens are indexed (positions are stored as uint16); the rest of a longer
// field is ignored.
//
// # Queries
//
// A query is a list of terms and "quoted phrases" (straight or typographic
// double quotes; an unclosed quote runs to the end of the query). Every term and
// every phrase must match the document (AND), in any field:
//
//   - A term matches a document that contains a token with the same stem.
//   - The last unquoted term, when it has at least two characters, also matches
//     as a prefix of any indexed word ("withdr" matches "withdrawal"), so a
//     search box can query while the user types. The prefix is folded but not
//     stemmed and is compared with the folded (unstemmed) words seen while
//     indexing; each such word stands for its stem, so "supporti" matches
//     every document with "support", "supports", ... once "supporting" has been
//     indexed. The expansion is limited to the MaxPrefixExpansions stems with
//     the highest document frequency, among at most 32,768 vocabulary entries.
//   - A phrase matches when its tokens occur at consecutive positions in one
//     field. A quoted single word is an exact term (no prefix matching).
//   - Unquoted stopwords ("the", "of", "with", ...) are dropped when the query
//     has any other term or phrase; a query of only stopwords searches for them.
//     Stopwords inside phrases are kept. When the prefix term is not alone,
//     stopwords are also left out of its expansion.
//   - Queries longer than MaxQueryLen bytes are truncated (on a rune boundary;
//     a word cut in half becomes the last, prefix-matched term), and only the
//     first MaxQueryTerms tokens that remain after dropping stopwords are used
//     (a phrase crossing that limit is shortened). Longer queries are never
//     refused: a search box should not error.
//
// # Ranking
//
// Each document's score is the sum over query terms of a per-field BM25
// (k1 = 1.2) with inverse document frequency idf = ln(1 + (N−df+0.5)/(df+0.5)),
// N being the number of documents and df the number of documents that contain
// the term in any field:
//
//	score(t) = idf(t) · Σ_f w_f · tf_f·(k1+1) / (tf_f + k1·(1 − b_f + b_f·len_f/avglen_f))
//
// with field weights w and length normalisations b
//
//	title   w = 3.0  b = 0     (titles are short; no length normalisation)
//	summary w = 2.0  b = 0.5
//	body    w = 1.0  b = 0.75
//
// Because the title has b = 0, a title occurrence alone contributes at least
// 3.0·idf, while body occurrences alone contribute less than (k1+1)·idf =
// 2.2·idf: for a term, a title match always ranks above a body-only match.
// A phrase scores as the sum of its words' scores. Words that match the prefix
// term only by prefix score with weight 0.5 and with an idf no higher than the
// exactly typed word's, so an exact match outranks an otherwise equal prefix
// match; when a document matches the prefix term several ways the best one
// counts. Ties are broken by ascending document ID.
//
// # Cost
//
// Search takes a read lock and does work proportional to the postings of the
// query terms (leapfrog intersection with galloping skips, driven by the
// rarest clause) plus a binary search and a bounded scan of the vocabulary for
// the prefix term, never proportional to the number of documents; apart from
// the returned slice it does not allocate in the steady state. Put tokenizes
// outside the lock and then appends postings under the write lock; Delete and
// replacement only mark the old version dead. Dead postings are dropped by a
// compaction (under the write lock, linear in the index size) once the dead
// versions number at least 64 and a quarter of the live documents.
// Posting lists are compressed (see postingList): a term's documents and, per
// document, its positions are delta-encoded uvarints in one byte string, with a
// skip entry every 32 documents. Memory is about 1.4 bytes per indexed token
// (one byte when a word recurs within 127 tokens) plus 2 to 3 bytes per (term,
// document) pair, plus the vocabulary and under 1 byte per (term, document) pair
// to update frequencies on removal: 47 MiB for 10,000 documents of 1,000 words
// where separate arrays of slots, counts and uint16 positions took 71 MiB
// (BenchmarkMemory10k). Compared with those arrays (BenchmarkCompressedVsUncompressed),
// term queries take as long and phrase queries up to a third longer, decoding
// positions.
package textsearch

import (
	"encoding/binary"
	"github.com/beaconcms/beacon/platform/textsearch/internal/words"
	"slices"
	"strings"
	"sync"
)

// Document is what gets indexed. Text fields are plain text (no markup).
type Document struct {
	ID      string
	Title   string
	Summary string
	Body    string
}

// Hit is one match.
type Hit struct {
	ID    string
	Score float64
}

const (
	// MaxQueryLen is the number of query bytes considered; the rest of a longer
	// query is ignored (the query is cut on a rune boundary).
	MaxQueryLen = 256
	// MaxQueryTerms is the number of query tokens (terms plus the words of
	// phrases, after dropping stopwords) used; later tokens are ignored.
	MaxQueryTerms = 8
	// MaxPrefixExpansions bounds the indexed words the prefix term expands to;
	// the most frequent ones (by document frequency) are kept.
	MaxPrefixExpansions = 64
	// maxPrefixScan bounds the vocabulary entries examined for one prefix.
	maxPrefixScan = 1 << 15
)

// Fields and their layout in the uint16 position space. A gap position between
// fields (254/255, 1022/1023, 65535) is never used, so a phrase cannot span two
// fields.
const (
	fieldTitle = iota
	fieldSummary
	fieldBody
	numFields
)

const (
	summaryBase = 256
	bodyBase    = 1024
)

var (
	fieldBase   = [numFields]int{0, summaryBase, bodyBase}
	fieldMax    = [numFields]int{summaryBase - 1, bodyBase - summaryBase - 1, 1<<16 - bodyBase - 1}
	fieldWeight = [numFields]float64{3.0, 2.0, 1.0}
	fieldB      = [numFields]float64{0, 0.5, 0.75}
)

const (
	k1           = 1.2
	prefixWeight = 0.5
	// compaction runs when dead documents reach compactMinDead and a quarter of
	// the live ones.
	compactMinDead = 64
	// pendingMax is the size of the unsorted-into-main tail of the prefix
	// vocabulary; above it the tail is merged into the main sorted list.
	pendingMax = 2048
)

// postingList holds, for one term, the documents that contain it in ascending slot order and,
// per document, the term's positions (field-encoded, ascending), in one byte string. A posting
// is four parts back to back:
//
//	uvarint(slot − previous posting's slot; the first posting's is counted from −1)
//	uvarint(number of positions)
//	uvarint(length in bytes of the positions that follow − their number), left out when there
//	  is one position (its uvarint says where it ends)
//	positions: uvarint(first position), then uvarint(each position − the one before)
//
// so that scoring reads a term's frequency in the body without decoding its positions, and a
// cursor steps over them.
// Every skipEvery postings a skip entry records the slot and byte offset of the posting that
// starts the block, so a seek jumps over whole blocks and decodes at most one block. A posting
// of k positions costs about 3 + 1.4·k bytes on English-like text (positions are usually less
// than 128 apart within a field, slots less than 128 apart within a list), where separate
// []int32 slots, []uint16 counts and []uint16 positions cost 6 + 2·k.
type postingList struct {
	data []byte
	skip []skipEntry
	n    int32 // postings
	last int32 // slot of the last posting, −1 when there is none
	df   int32 // live documents among the postings; -1 transiently during compaction
}

// skipEntry locates the posting that starts a block of skipEvery postings.
type skipEntry struct {
	slot int32
	off  uint32
}

const (
	skipShift = 5
	skipEvery = 1 << skipShift
)

// add appends a posting; slot is above every slot in the list.
func (pl *postingList) add(slot int32, positions []uint16) {
	if pl.n == 0 {
		pl.last = -1
	}
	if pl.n%skipEvery == 0 {
		pl.skip = appendGrow(pl.skip, skipEntry{slot: slot, off: uint32(len(pl.data))})
	}
	var head [3 * binary.MaxVarintLen64]byte
	size := encodedLen(positions)
	h := binary.PutUvarint(head[:], uint64(slot-pl.last))
	h += binary.PutUvarint(head[h:], uint64(len(positions)))
	if len(positions) != 1 {
		h += binary.PutUvarint(head[h:], uint64(size-len(positions)))
	}
	pl.data = append(grow(pl.data, h+size), head[:h]...)
	prev := uint16(0)
	for _, p := range positions {
		pl.data = binary.AppendUvarint(pl.data, uint64(p-prev))
		prev = p
	}
	pl.last = slot
	pl.n++
}

// encodedLen is the length of positions encoded as uvarint deltas.
func encodedLen(positions []uint16) int {
	n, prev := 0, uint16(0)
	for _, p := range positions {
		switch d := p - prev; {
		case d < 1<<7:
			n++
		case d < 1<<14:
			n += 2
		default:
			n += 3
		}
		prev = p
	}
	return n
}

// uvarint decodes a uvarint the index wrote (so never malformed), fast for one byte.
func uvarint(b []byte) (uint64, int) {
	if c := b[0]; c < 0x80 {
		return uint64(c), 1
	}
	return uvarintLong(b)
}

func uvarintLong(b []byte) (uint64, int) { return binary.Uvarint(b) }

// positionsAt reads the number of positions of the posting whose count is at off, and returns
// it with the offset and length in bytes of the positions.
func positionsAt(data []byte, off int) (count, start, size int) {
	c, n := uvarint(data[off:])
	off += n
	if c != 1 {
		extra, e := uvarint(data[off:])
		return int(c), off + e, int(c + extra)
	}
	switch { // one position: under 1<<16, so at most three bytes
	case data[off] < 0x80:
		return 1, off, 1
	case data[off+1] < 0x80:
		return 1, off, 2
	default:
		return 1, off, 3
	}
}

// appendGrow is append with a growth factor of 1/8 instead of append's 1/4 (or
// 2 for small slices): posting lists only grow, and slack is most of what an
// index built by Put wastes.
func appendGrow[T any](s []T, v ...T) []T {
	return append(grow(s, len(v)), v...)
}

// grow returns s with room for n more elements, growing it by 1/8 (see appendGrow).
func grow[T any](s []T, n int) []T {
	if need := len(s) + n; need > cap(s) {
		ns := make([]T, len(s), need+need/8+4)
		copy(ns, s)
		s = ns
	}
	return s
}

// slot is one indexed document version. id == "" marks a dead slot.
type slot struct {
	id    string
	lens  [numFields]uint16
	terms []byte // term ids, ascending, uvarint delta-encoded (to update df on removal)
}

// surfEntry maps a folded, unstemmed word to its term for prefix matching.
type surfEntry struct {
	s    string
	tid  int32
	stop bool
}

// Index is safe for concurrent use: many Search calls run alongside Put and
// Delete. The zero value is not usable; call New.
type Index struct {
	mu sync.RWMutex

	terms     map[string]int32 // stem → term id
	post      []postingList    // by term id
	freeTerms []int32

	surf    map[string]int32 // folded word → term id
	sorted  []surfEntry      // sorted by s
	pending []surfEntry      // sorted by s, merged into sorted when large

	byID     map[string]int32 // document ID → live slot
	slots    []slot
	live     int
	dead     int
	totalLen [numFields]int64

	scratch sync.Pool // *scratch
}

// New returns an empty index.
func New() *Index {
	return &Index{
		terms: make(map[string]int32),
		surf:  make(map[string]int32),
		byID:  make(map[string]int32),
	}
}

// Len returns the number of indexed documents.
func (ix *Index) Len() int {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return ix.live
}

// Put adds or replaces a document (by ID). Documents with an empty ID are
// ignored. A document without any token is counted by Len but never matches.
func (ix *Index) Put(d Document) {
	t := Tokenize(d)
	ix.PutTokenized(t)
	t.Release()
}

// Tokenized is a document split into terms: the costly part of Put, done outside any index's
// lock, so that callers loading many documents can tokenize them on every core.
type Tokenized struct {
	id string
	b  *builder
}

// Tokenize splits d into terms for PutTokenized. It returns nil when d has an empty ID.
func Tokenize(d Document) *Tokenized {
	if d.ID == "" {
		return nil
	}
	b := builderPool.Get().(*builder)
	b.build(&d)
	return &Tokenized{id: d.ID, b: b}
}

// PutTokenized is Put of a tokenized document; t may be put into several indexes, and then
// released. A nil t is ignored.
func (ix *Index) PutTokenized(t *Tokenized) {
	if t == nil {
		return
	}
	ix.mu.Lock()
	ix.removeLocked(t.id)
	ix.addLocked(strings.Clone(t.id), t.b)
	ix.maybeCompactLocked()
	ix.mu.Unlock()
}

// Release gives t's memory back for reuse; t must not be used afterwards. A nil t is ignored.
func (t *Tokenized) Release() {
	if t == nil || t.b == nil {
		return
	}
	t.b.release()
	builderPool.Put(t.b)
	t.b = nil
}

// Delete removes a document; unknown IDs are ignored.
func (ix *Index) Delete(id string) {
	ix.mu.Lock()
	if ix.removeLocked(id) {
		ix.maybeCompactLocked()
	}
	ix.mu.Unlock()
}

// builder holds the tokenized form of one document, built outside the lock.
type builder struct {
	arena  []byte
	toks   []btok
	lens   [numFields]uint16
	local  map[string]int32 // stem → index in lterms
	lterms []lterm
	surfs  map[string]struct{}
	lsurf  []lsurf
	pos    []uint16
	tids   []int32
	enc    []byte
	newS   []surfEntry
}

type btok struct {
	surf0, surf1, stem0, stem1 int32
	li                         int32
	pos                        uint16
}

type lterm struct {
	stem     string
	n, start int32
	tid      int32
	fresh    bool // stem was interned by this Put
}

type lsurf struct {
	s  string
	li int32
}

var builderPool = sync.Pool{New: func() any {
	return &builder{local: make(map[string]int32), surfs: make(map[string]struct{})}
}}

func (b *builder) build(d *Document) {
	b.arena, b.toks, b.pos = b.arena[:0], b.toks[:0], b.pos[:0]
	texts := [numFields]string{d.Title, d.Summary, d.Body}
	for f, text := range texts {
		n := 0
		for i := 0; i < len(text) && n < fieldMax[f]; {
			r, sz := words.DecodeRune(text, i)
			if !words.IsWordRune(r) {
				i += sz
				continue
			}
			j := words.WordEnd(text, i)
			s0 := len(b.arena)
			b.arena = words.AppendFold(b.arena, text[i:j])
			i = j
			s1 := len(b.arena)
			if s1 == s0 {
				continue
			}
			b.arena = append(b.arena, b.arena[s0:s1]...)
			st := words.Stem(b.arena[s1:])
			b.arena = b.arena[:s1+len(st)]
			b.toks = append(b.toks, btok{
				surf0: int32(s0), surf1: int32(s1),
				stem0: int32(s1), stem1: int32(s1 + len(st)),
				pos: uint16(fieldBase[f] + n),
			})
			n++
		}
		b.lens[f] = uint16(n)
	}
	// One string for all keys: map keys below are substrings of it.
	str := string(b.arena)
	for k := range b.toks {
		t := &b.toks[k]
		key := str[t.stem0:t.stem1]
		li, ok := b.local[key]
		if !ok {
			li = int32(len(b.lterms))
			b.local[key] = li
			b.lterms = append(b.lterms, lterm{stem: key})
		}
		b.lterms[li].n++
		t.li = li
		sk := str[t.surf0:t.surf1]
		if _, ok := b.surfs[sk]; !ok {
			b.surfs[sk] = struct{}{}
			b.lsurf = append(b.lsurf, lsurf{s: sk, li: li})
		}
	}
	// Bucket positions by term; tokens are in ascending position order.
	var start int32
	for k := range b.lterms {
		b.lterms[k].start = start
		start += b.lterms[k].n
		b.lterms[k].n = 0
	}
	b.pos = slices.Grow(b.pos[:0], len(b.toks))[:len(b.toks)]
	for _, t := range b.toks {
		lt := &b.lterms[t.li]
		b.pos[lt.start+lt.n] = t.pos
		lt.n++
	}
}

// release drops references to the document's strings so pooled builders do not
// pin them.
func (b *builder) release() {
	clear(b.local)
	clear(b.surfs)
	clear(b.lterms)
	clear(b.lsurf)
	clear(b.newS)
	b.lterms, b.lsurf, b.newS = b.lterms[:0], b.lsurf[:0], b.newS[:0]
}

func (ix *Index) newTermLocked(stem string) int32 {
	var tid int32
	if n := len(ix.freeTerms); n > 0 {
		tid = ix.freeTerms[n-1]
		ix.freeTerms = ix.freeTerms[:n-1]
	} else {
		tid = int32(len(ix.post))
		ix.post = append(ix.post, postingList{})
	}
	ix.terms[stem] = tid
	return tid
}

func (ix *Index) addLocked(id string, b *builder) {
	sl := int32(len(ix.slots))
	b.tids = b.tids[:0]
	for k := range b.lterms {
		lt := &b.lterms[k]
		lt.fresh = false // a builder may be added to several indexes
		tid, ok := ix.terms[lt.stem]
		if !ok {
			lt.stem, lt.fresh = strings.Clone(lt.stem), true
			tid = ix.newTermLocked(lt.stem)
		}
		pl := &ix.post[tid]
		pl.add(sl, b.pos[lt.start:lt.start+lt.n])
		pl.df++
		lt.tid = tid
		b.tids = append(b.tids, tid)
	}

	b.newS = b.newS[:0]
	for _, ls := range b.lsurf {
		if _, ok := ix.surf[ls.s]; ok {
			continue
		}
		lt := &b.lterms[ls.li]
		s := lt.stem // share memory when the word is its own, just interned, stem
		if !lt.fresh || s != ls.s {
			s = strings.Clone(ls.s)
		}
		ix.surf[s] = lt.tid
		stop := words.IsStopwordString(s)
		b.newS = append(b.newS, surfEntry{s: s, tid: lt.tid, stop: stop})
	}
	if len(b.newS) > 0 {
		slices.SortFunc(b.newS, cmpEntry)
		ix.pending = mergeInto(ix.pending, b.newS)
		if len(ix.pending) > pendingMax {
			ix.sorted = mergeNew(ix.sorted, ix.pending)
			clear(ix.pending)
			ix.pending = ix.pending[:0]
		}
	}

	slices.Sort(b.tids)
	b.enc = b.enc[:0]
	prev := int32(0)
	for _, t := range b.tids {
		b.enc = binary.AppendUvarint(b.enc, uint64(t-prev))
		prev = t
	}
	ix.slots = append(ix.slots, slot{id: id, lens: b.lens, terms: slices.Clone(b.enc)})
	ix.byID[id] = sl
	ix.live++
	for f := range numFields {
		ix.totalLen[f] += int64(b.lens[f])
	}
}

func cmpEntry(a, b surfEntry) int { return strings.Compare(a.s, b.s) }

// mergeInto merges the sorted b into the sorted a in place (from the back) and
// returns the grown a.
func mergeInto(a, b []surfEntry) []surfEntry {
	i, j := len(a)-1, len(b)-1
	a = append(a, b...)
	for k := len(a) - 1; j >= 0; k-- {
		if i >= 0 && a[i].s > b[j].s {
			a[k] = a[i]
			i--
		} else {
			a[k] = b[j]
			j--
		}
	}
	return a
}

// mergeNew returns a new sorted slice holding a and b.
func mergeNew(a, b []surfEntry) []surfEntry {
	out := make([]surfEntry, 0, len(a)+len(b))
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		if a[i].s <= b[j].s {
			out = append(out, a[i])
			i++
		} else {
			out = append(out, b[j])
			j++
		}
	}
	out = append(out, a[i:]...)
	return append(out, b[j:]...)
}

// removeLocked marks the live document id dead and reports whether it existed.
func (ix *Index) removeLocked(id string) bool {
	sl, found := ix.byID[id]
	if !found {
		return false
	}
	s := &ix.slots[sl]
	var tid uint64
	for buf := s.terms; len(buf) > 0; {
		v, n := binary.Uvarint(buf)
		buf = buf[n:]
		tid += v
		ix.post[tid].df--
	}
	for f := range numFields {
		ix.totalLen[f] -= int64(s.lens[f])
	}
	delete(ix.byID, id)
	*s = slot{}
	ix.live--
	ix.dead++
	return true
}

func (ix *Index) maybeCompactLocked() {
	if ix.dead >= compactMinDead && ix.dead*4 >= ix.live {
		ix.compactLocked()
	}
}

// compactLocked drops dead slots from all posting lists, renumbers slots
// densely, and frees terms no live document uses (with their prefix entries).
func (ix *Index) compactLocked() {
	remap := make([]int32, len(ix.slots))
	n := int32(0)
	for i := range ix.slots {
		if ix.slots[i].id == "" {
			remap[i] = -1
			continue
		}
		remap[i] = n
		ix.slots[n] = ix.slots[i]
		ix.byID[ix.slots[n].id] = n
		n++
	}
	clear(ix.slots[n:])
	ix.slots = shrink(ix.slots[:n])
	ix.dead = 0

	freed := 0
	for tid := range ix.post {
		pl := &ix.post[tid]
		if pl.n == 0 { // already free
			continue
		}
		if pl.df == 0 {
			*pl = postingList{df: -1}
			freed++
			continue
		}
		pl.compact(remap)
	}
	if freed > 0 {
		for s, tid := range ix.terms {
			if ix.post[tid].df < 0 {
				delete(ix.terms, s)
			}
		}
		for s, tid := range ix.surf {
			if ix.post[tid].df < 0 {
				delete(ix.surf, s)
			}
		}
		gone := func(e surfEntry) bool { return ix.post[e.tid].df < 0 }
		ix.sorted = slices.DeleteFunc(ix.sorted, gone)
		ix.pending = slices.DeleteFunc(ix.pending, gone)
		for tid := range ix.post {
			if ix.post[tid].df < 0 {
				ix.post[tid].df = 0
				ix.freeTerms = append(ix.freeTerms, int32(tid))
			}
		}
	}
	ix.sorted = mergeNew(ix.sorted, ix.pending)
	clear(ix.pending)
	ix.pending = ix.pending[:0]
}

// compact drops the postings of slots remap maps to −1 and renumbers the others, in place. The
// remap is ascending on the slots kept and never widens a gap between two of them, so no
// posting's header grows: the writer never overtakes the reader.
func (pl *postingList) compact(remap []int32) {
	data := pl.data
	w, r := 0, 0
	prev, kept := int32(-1), int32(-1)
	pl.skip = pl.skip[:0]
	n := int32(0)
	for range pl.n {
		gap, g := uvarint(data[r:])
		slot := prev + int32(gap)
		prev = slot
		count, body, size := positionsAt(data, r+g)
		r = body + size
		nd := remap[slot]
		if nd < 0 {
			continue
		}
		if n%skipEvery == 0 {
			pl.skip = append(pl.skip, skipEntry{slot: nd, off: uint32(w)})
		}
		w += binary.PutUvarint(data[w:], uint64(nd-kept))
		w += binary.PutUvarint(data[w:], uint64(count))
		if count != 1 {
			w += binary.PutUvarint(data[w:], uint64(size-count))
		}
		w += copy(data[w:], data[body:r])
		kept = nd
		n++
	}
	pl.n, pl.last = n, kept
	pl.data = shrink(data[:w])
	pl.skip = shrink(pl.skip)
}

// shrink returns s, reallocated to its length when it wastes more than half.
func shrink[T any](s []T) []T {
	if len(s) == 0 {
		return nil
	}
	if cap(s)-len(s) > len(s)/2+8 {
		return slices.Clone(s)
	}
	return s
}
