// Package uncompressed is a frozen copy of package textsearch as it was before its posting
// lists were compressed (commit fac3544): slots as []int32, position counts as []uint16 and
// positions as []uint16 per term. It is the oracle of textsearch's equivalence test
// (TestCompressedAnswersAsUncompressed), which checks that the compressed index returns the
// same hits with the same scores on randomized corpora, so it must not be changed apart from
// keeping it in step with textsearch's ranking; it tokenizes with textsearch's own tokenizer
// (package words).
//
// Only tests import it.
package uncompressed

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

// postingList holds, for one term, the documents that contain it in ascending
// slot order and, per document, the term's positions (field-encoded, ascending).
// Posting i has cnt[i] positions; they start at skip[i/skipEvery] plus the
// counts of the postings before i in its block. So a posting costs 4 (slot) +
// 2 (count) + 4/skipEvery bytes, plus 2 bytes per position.
type postingList struct {
	docs []int32
	cnt  []uint16
	skip []uint32
	pos  []uint16
	df   int32 // live documents among docs; -1 transiently during compaction
}

const (
	skipShift = 5
	skipEvery = 1 << skipShift
)

// add appends a posting.
func (pl *postingList) add(slot int32, positions []uint16) {
	if len(pl.docs)%skipEvery == 0 {
		pl.skip = appendGrow(pl.skip, uint32(len(pl.pos)))
	}
	pl.docs = appendGrow(pl.docs, slot)
	pl.cnt = appendGrow(pl.cnt, uint16(len(positions)))
	pl.pos = appendGrow(pl.pos, positions...)
}

// appendGrow is append with a growth factor of 1/8 instead of append's 1/4 (or
// 2 for small slices): posting lists only grow, and slack is most of what an
// index built by Put wastes.
func appendGrow[T any](s []T, v ...T) []T {
	if need := len(s) + len(v); need > cap(s) {
		ns := make([]T, len(s), need+need/8+4)
		copy(ns, s)
		s = ns
	}
	return append(s, v...)
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
		if pl.docs == nil { // already free
			continue
		}
		if pl.df == 0 {
			*pl = postingList{df: -1}
			freed++
			continue
		}
		// Filter in place; skip entries are rewritten behind the read index.
		w, pw, start := 0, uint32(0), uint32(0)
		pl.skip = pl.skip[:0]
		for i, d := range pl.docs {
			n := uint32(pl.cnt[i])
			if nd := remap[d]; nd >= 0 {
				if w%skipEvery == 0 {
					pl.skip = append(pl.skip, pw)
				}
				copy(pl.pos[pw:], pl.pos[start:start+n])
				pl.docs[w], pl.cnt[w] = nd, uint16(n)
				w++
				pw += n
			}
			start += n
		}
		pl.docs = shrink(pl.docs[:w])
		pl.cnt = shrink(pl.cnt[:w])
		pl.skip = shrink(pl.skip)
		pl.pos = shrink(pl.pos[:pw])
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
