package claimlint

// keywordIndex finds every keyword of every rule in one pass over a text (an Aho-Corasick
// automaton, compiled to a dense table over the bytes that occur in keywords). Each text records,
// per block, which keywords occur in it; a pattern then runs only on the blocks that have a
// keyword of each of its clauses.
type keywordIndex struct {
	ids     map[string]int
	class   [256]uint8 // byte -> column; 0 is "a byte no keyword has"
	columns int
	next    []int32   // state*columns + column -> state
	out     [][]int32 // state -> ids of the keywords ending there (suffixes included)
}

func newKeywordIndex(keywords []string) *keywordIndex {
	x := &keywordIndex{ids: map[string]int{}}
	var words []string
	for _, k := range keywords {
		if _, ok := x.ids[k]; ok || k == "" {
			continue
		}
		x.ids[k] = len(words)
		words = append(words, k)
	}
	x.columns = 1
	for _, w := range words {
		for i := 0; i < len(w); i++ {
			if x.class[w[i]] == 0 {
				x.class[w[i]] = uint8(x.columns)
				x.columns++
			}
		}
	}
	// The trie.
	x.next = make([]int32, x.columns)
	x.out = [][]int32{nil}
	for id, w := range words {
		s := int32(0)
		for i := 0; i < len(w); i++ {
			c := int32(x.class[w[i]])
			if x.next[s*int32(x.columns)+c] == 0 {
				x.next = append(x.next, make([]int32, x.columns)...)
				x.out = append(x.out, nil)
				x.next[s*int32(x.columns)+c] = int32(len(x.out) - 1)
			}
			s = x.next[s*int32(x.columns)+c]
		}
		x.out[s] = append(x.out[s], int32(id))
	}
	// Failure links, breadth first, folded into the table (a DFA).
	fail := make([]int32, len(x.out))
	var queue []int32
	for c := 0; c < x.columns; c++ {
		if s := x.next[c]; s != 0 {
			queue = append(queue, s)
		}
	}
	for len(queue) > 0 {
		s := queue[0]
		queue = queue[1:]
		x.out[s] = append(x.out[s], x.out[fail[s]]...)
		for c := 0; c < x.columns; c++ {
			t := x.next[int(s)*x.columns+c]
			if t != 0 {
				fail[t] = x.next[int(fail[s])*x.columns+c]
				queue = append(queue, t)
			} else {
				x.next[int(s)*x.columns+c] = x.next[int(fail[s])*x.columns+c]
			}
		}
	}
	return x
}

// scan returns, per block of t, the set of keyword ids that occur in s (t.lower or
// t.lowerVisible) within the block.
func (x *keywordIndex) scan(t *text, s string) []bitset {
	sets := make([]bitset, len(t.blocks))
	words := (len(x.ids) + 63) / 64
	for i, b := range t.blocks {
		set := make(bitset, words)
		state := int32(0)
		for p := b.start; p < b.end; p++ {
			state = x.next[int(state)*x.columns+int(x.class[s[p]])]
			for _, id := range x.out[state] {
				set[id/64] |= 1 << (id % 64)
			}
		}
		sets[i] = set
	}
	return sets
}

type bitset []uint64

func (b bitset) has(id int) bool { return b[id/64]&(1<<(id%64)) != 0 }
