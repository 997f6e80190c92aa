package readmodel

import (
	"slices"
)

// listChunk is the number of entries an entryList's chunk is made with; chunks split when
// they reach twice that.
const listChunk = 128

// entryList is a list of entries in listing order (entryOrder), split into chunks, so that a
// view derived from another copies only the chunks its change touches and the list of chunks
// (with 10,000 entries, 79 chunk headers and a 1 KB chunk per changed entry instead of an
// 80 KB slice). A published list is never modified: patched derives the next one. The zero
// value and nil are empty lists.
type entryList struct {
	chunks [][]*Entry // each non-empty and shorter than 2·listChunk
	n      int
}

// newEntryList returns the list of sorted, which must be in listing order.
func newEntryList(sorted []*Entry) *entryList {
	l := &entryList{n: len(sorted)}
	for len(sorted) > 0 {
		k := min(len(sorted), listChunk)
		l.chunks = append(l.chunks, slices.Clip(sorted[:k]))
		sorted = sorted[k:]
	}
	return l
}

// len returns the number of entries.
func (l *entryList) len() int {
	if l == nil {
		return 0
	}
	return l.n
}

// first returns the first entry, or nil.
func (l *entryList) first() *Entry {
	if l.len() == 0 {
		return nil
	}
	return l.chunks[0][0]
}

// slice returns the entries as one slice (a copy: O(n)).
func (l *entryList) slice() []*Entry {
	if l == nil {
		return nil
	}
	out := make([]*Entry, 0, l.n)
	for _, c := range l.chunks {
		out = append(out, c...)
	}
	return out
}

// from calls fn, in order, for the entries from the first one skip is false for, until fn
// returns false. skip must be true for the entries before some point and false after it (a
// cut in listing order), which is found by binary search.
func (l *entryList) from(skip func(*Entry) bool, fn func(*Entry) bool) {
	if l.len() == 0 {
		return
	}
	c, _ := slices.BinarySearchFunc(l.chunks, true, func(ch []*Entry, _ bool) int {
		if skip(ch[len(ch)-1]) {
			return -1
		}
		return 1
	})
	if c == len(l.chunks) {
		return
	}
	i, _ := slices.BinarySearchFunc(l.chunks[c], true, func(e *Entry, _ bool) int {
		if skip(e) {
			return -1
		}
		return 1
	})
	for ; c < len(l.chunks); c, i = c+1, 0 {
		for _, e := range l.chunks[c][i:] {
			if !fn(e) {
				return
			}
		}
	}
}

// patched returns the list without the removed entries (those not in it are ignored) and with
// added (in any order) inserted; l is not modified.
func (l *entryList) patched(removed, added []*Entry) *entryList {
	n := &entryList{}
	if l != nil {
		n.chunks, n.n = slices.Clone(l.chunks), l.n
	}
	// copied marks the chunks n owns (made by this patch), which it may change in place.
	copied := make([]bool, len(n.chunks))
	own := func(c int) []*Entry {
		if !copied[c] {
			n.chunks[c], copied[c] = slices.Clone(n.chunks[c]), true
		}
		return n.chunks[c]
	}
	for _, r := range removed {
		c := n.chunkOf(r)
		if c == len(n.chunks) {
			continue
		}
		i, found := slices.BinarySearchFunc(n.chunks[c], r, entryOrder)
		if !found || n.chunks[c][i] != r {
			continue
		}
		ch := slices.Delete(own(c), i, i+1)
		n.n--
		if len(ch) == 0 {
			n.chunks = slices.Delete(n.chunks, c, c+1)
			copied = slices.Delete(copied, c, c+1)
		} else {
			n.chunks[c] = ch
		}
	}
	for _, a := range added {
		c := min(n.chunkOf(a), len(n.chunks)-1) // after every entry: the last chunk
		if c < 0 {
			n.chunks, copied = [][]*Entry{{a}}, []bool{true}
			n.n++
			continue
		}
		i, _ := slices.BinarySearchFunc(n.chunks[c], a, entryOrder)
		ch := slices.Insert(own(c), i, a)
		n.n++
		if len(ch) < 2*listChunk {
			n.chunks[c] = ch
			continue
		}
		head, tail := slices.Clip(ch[:listChunk]), ch[listChunk:]
		n.chunks[c] = head
		n.chunks = slices.Insert(n.chunks, c+1, tail)
		copied = slices.Insert(copied, c+1, true)
	}
	return n
}

// chunkOf returns the first chunk whose last entry is not before e (len(chunks): none).
func (l *entryList) chunkOf(e *Entry) int {
	c, _ := slices.BinarySearchFunc(l.chunks, e, func(ch []*Entry, e *Entry) int {
		return entryOrder(ch[len(ch)-1], e)
	})
	return c
}
