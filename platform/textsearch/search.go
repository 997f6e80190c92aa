package textsearch

import (
	"cmp"
	"encoding/binary"
	"github.com/beaconcms/beacon/platform/textsearch/internal/words"
	"math"
	"slices"
	"strings"
	"unicode/utf8"
)

const endDoc = int32(math.MaxInt32)

type span struct{ a, b int32 }

// qtok is one query token; surf and stem index scratch.buf.
type qtok struct {
	surf, stem span
	phrase     int32 // phrase number, -1 when unquoted
	stop       bool
}

// qclause is one parsed query clause over scratch.kept[t0:t1].
type qclause struct {
	t0, t1 int32
	phrase bool // two or more quoted words
	prefix bool // the last unquoted term, also matched as a prefix
}

const (
	clTerm   = iota // one posting list
	clUnion         // prefix term: any of several lists, best score counts
	clPhrase        // all lists, at consecutive positions in one field
)

// clause is a resolved query clause iterated in slot order.
type clause struct {
	kind     uint8
	lo, hi   int32 // cursor range in scratch.curs
	hlo, hhi int32 // heap range in scratch.heap (clUnion)
	c        []cursor
	heap     []int32
	cost     int
	cur      int32 // result of the last seek; seeks never go backwards
}

// cursor walks one term's posting list.
type cursor struct {
	pl    *postingList
	i     int32   // current posting; pl.n at the end
	slot  int32   // its slot, endDoc at the end
	cnt   int     // its number of positions
	start int     // byte offset of its positions (see postingList)
	next  int     // byte offset of the posting after it
	idf   float64 // idf times the match weight (1, or prefixWeight)
}

type cand struct{ tid, df int32 }

type match struct {
	slot  int32
	score float64
}

// scratch is the per-Search working memory, pooled per Index so that Search
// does not allocate in the steady state.
type scratch struct {
	buf   []byte
	toks  []qtok
	kept  []qtok
	qcl   []qclause
	curs  []cursor
	cl    []clause
	heap  []int32
	cands []cand
	exact []int32
	seen  []uint32 // per term id: epoch when last seen (prefix dedup)
	epoch uint32
	res   []match
	cf    [numFields]float64 // k1·(1−b)
	cb    [numFields]float64 // k1·b/avglen
}

func isQuote(r rune) bool { return r == '"' || r == '\u201c' || r == '\u201d' || r == '\u201e' }

// Search returns all matching documents ranked by score (desc), ties broken by
// ID ascending. It returns nil when nothing matches, including for an empty or
// unusable query (no letters or digits, or a term the index does not know).
// See the package documentation for the query syntax, limits and scoring.
func (ix *Index) Search(query string) []Hit {
	s, _ := ix.scratch.Get().(*scratch)
	if s == nil {
		s = new(scratch)
	}
	defer ix.scratch.Put(s)
	if !s.parse(query) {
		return nil
	}
	hits := ix.searchLocked(s)
	if len(hits) > 1 {
		slices.SortFunc(hits, func(a, b Hit) int {
			if a.Score != b.Score {
				if a.Score > b.Score {
					return -1
				}
				return 1
			}
			return strings.Compare(a.ID, b.ID)
		})
	}
	return hits
}

func (ix *Index) searchLocked(s *scratch) []Hit {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	defer func() { clear(s.curs); clear(s.cl) }() // do not pin posting lists
	if ix.live == 0 || !ix.resolve(s) {
		return nil
	}
	ix.run(s)
	if len(s.res) == 0 {
		return nil
	}
	hits := make([]Hit, len(s.res))
	for i, m := range s.res {
		hits[i] = Hit{ID: ix.slots[m.slot].id, Score: m.score}
	}
	return hits
}

// parse tokenizes the query into s.kept and s.qcl and reports whether any
// clause remains.
func (s *scratch) parse(q string) bool {
	if len(q) > MaxQueryLen {
		cut := MaxQueryLen
		for cut > 0 && !utf8.RuneStart(q[cut]) {
			cut--
		}
		q = q[:cut]
	}
	s.buf, s.toks, s.kept, s.qcl = s.buf[:0], s.toks[:0], s.kept[:0], s.qcl[:0]
	phrase, nextPhrase := int32(-1), int32(0)
	for i := 0; i < len(q); {
		r, n := words.DecodeRune(q, i)
		if isQuote(r) {
			if phrase >= 0 {
				phrase = -1
			} else {
				phrase, nextPhrase = nextPhrase, nextPhrase+1
			}
			i += n
			continue
		}
		if !words.IsWordRune(r) {
			i += n
			continue
		}
		j := words.WordEnd(q, i)
		a := len(s.buf)
		s.buf = words.AppendFold(s.buf, q[i:j])
		i = j
		b := len(s.buf)
		if a == b {
			continue
		}
		s.buf = append(s.buf, s.buf[a:b]...)
		st := words.Stem(s.buf[b:])
		s.buf = s.buf[:b+len(st)]
		s.toks = append(s.toks, qtok{
			surf:   span{int32(a), int32(b)},
			stem:   span{int32(b), int32(b + len(st))},
			phrase: phrase,
			stop:   words.IsStopword(s.buf[a:b]),
		})
	}

	content := false
	for _, t := range s.toks {
		if t.phrase >= 0 || !t.stop {
			content = true
			break
		}
	}
	for _, t := range s.toks {
		if content && t.phrase < 0 && t.stop {
			continue
		}
		if len(s.kept) == MaxQueryTerms {
			break
		}
		s.kept = append(s.kept, t)
	}

	last := -1
	for i := 0; i < len(s.kept); {
		t := s.kept[i]
		j := i + 1
		if t.phrase >= 0 {
			for j < len(s.kept) && s.kept[j].phrase == t.phrase {
				j++
			}
		} else {
			last = len(s.qcl)
		}
		s.qcl = append(s.qcl, qclause{t0: int32(i), t1: int32(j), phrase: j-i > 1})
		i = j
	}
	if last >= 0 {
		t := s.kept[s.qcl[last].t0]
		if utf8.RuneCount(s.buf[t.surf.a:t.surf.b]) >= 2 {
			s.qcl[last].prefix = true
		}
	}
	return len(s.qcl) > 0
}

func idf(n, df float64) float64 { return math.Log(1 + (n-df+0.5)/(df+0.5)) }

func (ix *Index) cursorFor(tid int32, idf float64) cursor {
	c := cursor{pl: &ix.post[tid], i: -1, slot: -1, idf: idf}
	c.advance()
	return c
}

// lookup returns the live term with the given stem.
func (ix *Index) lookup(stem []byte) (int32, bool) {
	tid, found := ix.terms[string(stem)]
	if !found || ix.post[tid].df <= 0 {
		return 0, false
	}
	return tid, true
}

// resolve turns the parsed clauses into cursors; it reports false when some
// clause cannot match any document.
func (ix *Index) resolve(s *scratch) bool {
	s.curs, s.cl, s.heap, s.exact = s.curs[:0], s.cl[:0], s.heap[:0], s.exact[:0]
	n := float64(ix.live)
	for _, qc := range s.qcl {
		lo := int32(len(s.curs))
		cl := clause{cur: -1}
		switch {
		case qc.phrase:
			cl.kind = clPhrase
			cl.cost = math.MaxInt
			for k := qc.t0; k < qc.t1; k++ {
				t := &s.kept[k]
				tid, found := ix.lookup(s.buf[t.stem.a:t.stem.b])
				if !found {
					return false
				}
				df := ix.post[tid].df
				s.curs = append(s.curs, ix.cursorFor(tid, idf(n, float64(df))))
				cl.cost = min(cl.cost, int(ix.post[tid].n))
			}
		case !qc.prefix:
			t := &s.kept[qc.t0]
			tid, found := ix.lookup(s.buf[t.stem.a:t.stem.b])
			if !found {
				return false
			}
			if slices.Contains(s.exact, tid) { // repeated word
				continue
			}
			s.exact = append(s.exact, tid)
			cl.kind = clTerm
			s.curs = append(s.curs, ix.cursorFor(tid, idf(n, float64(ix.post[tid].df))))
			cl.cost = int(ix.post[tid].n)
		default:
			t := &s.kept[qc.t0]
			exact, exactIdf := int32(-1), math.Inf(1)
			if tid, found := ix.lookup(s.buf[t.stem.a:t.stem.b]); found {
				exact, exactIdf = tid, idf(n, float64(ix.post[tid].df))
				s.curs = append(s.curs, ix.cursorFor(tid, exactIdf))
				cl.cost += int(ix.post[tid].n)
			}
			ix.expand(s, s.buf[t.surf.a:t.surf.b], exact, len(s.qcl) > 1)
			for _, c := range s.cands {
				w := min(idf(n, float64(c.df)), exactIdf) * prefixWeight
				s.curs = append(s.curs, ix.cursorFor(c.tid, w))
				cl.cost += int(ix.post[c.tid].n)
			}
			switch len(s.curs) - int(lo) {
			case 0:
				return false
			case 1:
				cl.kind = clTerm
			default:
				cl.kind = clUnion
			}
		}
		cl.lo, cl.hi = lo, int32(len(s.curs))
		if cl.kind == clUnion {
			cl.hlo = int32(len(s.heap))
			for k := range cl.hi - cl.lo {
				s.heap = append(s.heap, k)
			}
			cl.hhi = int32(len(s.heap))
		}
		s.cl = append(s.cl, cl)
	}
	if len(s.cl) == 0 {
		return false
	}
	for i := range s.cl {
		cl := &s.cl[i]
		cl.c = s.curs[cl.lo:cl.hi]
		if cl.kind == clUnion {
			cl.heap = s.heap[cl.hlo:cl.hhi]
			for k := len(cl.heap)/2 - 1; k >= 0; k-- {
				cl.siftDown(k)
			}
		}
	}
	// Cheapest clause first: it drives the intersection.
	slices.SortFunc(s.cl, func(a, b clause) int { return cmp.Compare(a.cost, b.cost) })
	return true
}

// expand fills s.cands with the live terms of indexed words starting with p,
// except exact (and stopwords when dropStop), keeping the MaxPrefixExpansions
// with the highest document frequency.
func (ix *Index) expand(s *scratch, p []byte, exact int32, dropStop bool) {
	s.cands = s.cands[:0]
	if len(s.seen) < len(ix.post) {
		s.seen = make([]uint32, len(ix.post)+len(ix.post)/4+64)
		s.epoch = 0
	}
	s.epoch++
	if s.epoch == 0 {
		clear(s.seen)
		s.epoch = 1
	}
	if exact >= 0 {
		s.seen[exact] = s.epoch
	}
	budget := maxPrefixScan
	for _, list := range [2][]surfEntry{ix.sorted, ix.pending} {
		for i := lowerBound(list, p); i < len(list) && budget > 0; i++ {
			e := &list[i]
			if len(e.s) < len(p) || e.s[:len(p)] != string(p) {
				break
			}
			budget--
			if s.seen[e.tid] == s.epoch || (dropStop && e.stop) {
				continue
			}
			s.seen[e.tid] = s.epoch
			if df := ix.post[e.tid].df; df > 0 {
				s.cands = append(s.cands, cand{tid: e.tid, df: df})
			}
		}
	}
	if len(s.cands) > MaxPrefixExpansions {
		slices.SortFunc(s.cands, func(a, b cand) int {
			if c := cmp.Compare(b.df, a.df); c != 0 {
				return c
			}
			return cmp.Compare(a.tid, b.tid)
		})
		s.cands = s.cands[:MaxPrefixExpansions]
	}
}

func lowerBound(list []surfEntry, p []byte) int {
	lo, hi := 0, len(list)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if list[m].s < string(p) {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo
}

// run intersects the clauses (leapfrog) and scores the live matches into s.res.
func (ix *Index) run(s *scratch) {
	for f := range numFields {
		s.cf[f] = k1 * (1 - fieldB[f])
		s.cb[f] = 0
		if ix.totalLen[f] > 0 {
			s.cb[f] = k1 * fieldB[f] * float64(ix.live) / float64(ix.totalLen[f])
		}
	}
	s.res = s.res[:0]
	cls := s.cl
	target := int32(0)
outer:
	for {
		d := cls[0].seek(target)
		if d == endDoc {
			break
		}
		for k := 1; k < len(cls); k++ {
			x := cls[k].seek(d)
			if x == endDoc {
				break outer
			}
			if x != d {
				target = x
				continue outer
			}
		}
		if sl := &ix.slots[d]; sl.id != "" {
			score := 0.0
			for k := range cls {
				score += s.clauseScore(&cls[k], d, &sl.lens)
			}
			s.res = append(s.res, match{slot: d, score: score})
		}
		target = d + 1
	}
}

func (c *cursor) doc() int32 { return c.slot }

// advance moves to the next posting (from i = −1: the first).
func (c *cursor) advance() {
	if c.slot != endDoc {
		c.seek(c.slot + 1)
	}
}

// positions returns the current posting's positions (see postingList).
func (c *cursor) positions() []byte { return c.pl.data[c.start:c.next] }

// seek advances to the first posting with slot >= t and returns its slot, or endDoc. It
// gallops over the skip entries to the last block starting at or before t, then reads
// postings one by one (the common cases of the uvarints inlined by hand: this is most of an
// intersection's time).
func (c *cursor) seek(t int32) int32 {
	if c.slot >= t {
		return c.slot
	}
	pl := c.pl
	data := pl.data
	i, slot, off := c.i, c.slot, c.next
	skip := pl.skip
	if lo := int(i>>skipShift) + 1; lo < len(skip) && skip[lo].slot <= t {
		step := 1 // skip[lo].slot <= t
		hi := lo + step
		for hi < len(skip) && skip[hi].slot <= t {
			lo = hi
			step <<= 1
			hi = lo + step
		}
		hi = min(hi, len(skip))
		for lo+1 < hi { // skip[lo].slot <= t, and skip[hi].slot > t or hi == len(skip)
			m := int(uint(lo+hi) >> 1)
			if skip[m].slot <= t {
				lo = m
			} else {
				hi = m
			}
		}
		e := skip[lo]
		gap, _ := uvarint(data[e.off:])
		// Just before the block's first posting, which the loop reads.
		i, slot, off = int32(lo<<skipShift)-1, e.slot-int32(gap), int(e.off)
	}
	var cnt, start int
	for slot < t {
		i++
		if i >= pl.n {
			c.i, c.slot, c.cnt, c.start, c.next = pl.n, endDoc, 0, 0, 0
			return endDoc
		}
		if g := data[off]; g < 0x80 {
			slot += int32(g)
			off++
		} else {
			gap, n := uvarintLong(data[off:])
			slot += int32(gap)
			off += n
		}
		switch c0 := data[off]; {
		case c0 > 1 && c0 < 0x80 && data[off+1] < 0x80: // count, then extra bytes
			cnt, start = int(c0), off+2
			off = start + cnt + int(data[off+1])
		case c0 == 1: // one position of one to three bytes
			cnt, start = 1, off+1
			switch {
			case data[start] < 0x80:
				off = start + 1
			case data[start+1] < 0x80:
				off = start + 2
			default:
				off = start + 3
			}
		default:
			var size int
			cnt, start, size = positionsAt(data, off)
			off = start + size
		}
	}
	c.i, c.slot, c.cnt, c.start, c.next = i, slot, cnt, start, off
	return slot
}

// positionReader decodes a posting's positions in ascending order.
type positionReader struct {
	b    []byte
	i, p int // next byte to read; the current position
}

// next moves to the next position and reports whether there was one.
func (r *positionReader) next() bool {
	if r.i >= len(r.b) {
		return false
	}
	c := r.b[r.i]
	if c >= 0x80 {
		return r.nextLong()
	}
	r.i++
	r.p += int(c)
	return true
}

// nextLong is next of a position more than 127 after the current one (r.i < len(r.b)).
func (r *positionReader) nextLong() bool {
	d, n := binary.Uvarint(r.b[r.i:])
	r.i += n
	r.p += int(d)
	return true
}

func (cl *clause) seek(t int32) int32 {
	if cl.cur >= t {
		return cl.cur
	}
	var d int32
	switch cl.kind {
	case clTerm:
		d = cl.c[0].seek(t)
	case clUnion:
		for {
			top := &cl.c[cl.heap[0]]
			d = top.doc()
			if d >= t {
				break
			}
			top.seek(t)
			cl.siftDown(0)
		}
	case clPhrase:
		d = cl.seekPhrase(t)
	}
	cl.cur = d
	return d
}

// seekPhrase returns the first slot >= t where all words occur and form the
// phrase.
func (cl *clause) seekPhrase(t int32) int32 {
	for {
		d := t
		for k := 0; k < len(cl.c); {
			x := cl.c[k].seek(d)
			if x == endDoc {
				return endDoc
			}
			if x != d {
				d, k = x, 0
				continue
			}
			k++
		}
		if phraseAt(cl.c) {
			return d
		}
		t = d + 1
	}
}

// phraseAt reports whether the cursors' current positions contain p, p+1, ...
// for some p. Field bases leave unused gap positions, so a phrase never spans
// two fields.
func phraseAt(cs []cursor) bool {
	// Decoding is inlined by hand, on locals, as this loop is most of a phrase query's time.
	var rs [MaxQueryTerms]positionReader
	for j := range cs {
		rs[j].b = cs[j].positions()
		if !rs[j].next() {
			return false
		}
	}
	fb, fi, fp := rs[0].b, rs[0].i, rs[0].p
	for {
		matched := true
		for j := 1; j < len(cs); j++ {
			r := &rs[j]
			b, i, p, want := r.b, r.i, r.p, fp+j
			for p < want {
				if i >= len(b) {
					return false
				}
				if c := b[i]; c < 0x80 {
					i++
					p += int(c)
				} else {
					d, n := binary.Uvarint(b[i:])
					i += n
					p += int(d)
				}
			}
			r.i, r.p = i, p
			if p != want {
				matched = false
				break
			}
		}
		if matched {
			return true
		}
		if fi >= len(fb) {
			return false
		}
		if c := fb[fi]; c < 0x80 {
			fi++
			fp += int(c)
		} else {
			d, n := binary.Uvarint(fb[fi:])
			fi += n
			fp += int(d)
		}
	}
}

func (cl *clause) siftDown(k int) {
	h := cl.heap
	for {
		l := 2*k + 1
		if l >= len(h) {
			return
		}
		m := l
		if r := l + 1; r < len(h) && cl.c[h[r]].doc() < cl.c[h[l]].doc() {
			m = r
		}
		if cl.c[h[k]].doc() <= cl.c[h[m]].doc() {
			return
		}
		h[k], h[m] = h[m], h[k]
		k = m
	}
}

func (s *scratch) clauseScore(cl *clause, d int32, lens *[numFields]uint16) float64 {
	switch cl.kind {
	case clTerm:
		return s.termScore(&cl.c[0], lens)
	case clUnion:
		best := 0.0
		for k := range cl.c {
			if cl.c[k].doc() == d {
				best = max(best, s.termScore(&cl.c[k], lens))
			}
		}
		return best
	default:
		sum := 0.0
		for k := range cl.c {
			sum += s.termScore(&cl.c[k], lens)
		}
		return sum
	}
}

// termScore is the per-field BM25 of the cursor's current posting.
func (s *scratch) termScore(c *cursor, lens *[numFields]uint16) float64 {
	// Positions ascend: read the title's and the summary's; the rest are the body's.
	var tf [numFields]int
	if p := c.positions(); len(p) >= 2 && p[0] >= 0x80 && int(p[0]&0x7f)|int(p[1]&0x7f)<<7 >= bodyBase {
		tf[fieldBody] = c.cnt // the first position is in the body (the usual case, made quick)
	} else {
		r := positionReader{b: p}
		for k := range c.cnt {
			r.next()
			if r.p >= bodyBase {
				tf[fieldBody] = c.cnt - k
				break
			}
			if r.p < summaryBase {
				tf[fieldTitle]++
			} else {
				tf[fieldSummary]++
			}
		}
	}
	sc := 0.0
	for f := range numFields {
		if tf[f] > 0 {
			t := float64(tf[f])
			sc += fieldWeight[f] * t * (k1 + 1) / (t + s.cf[f] + s.cb[f]*float64(lens[f]))
		}
	}
	return c.idf * sc
}
