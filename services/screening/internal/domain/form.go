package domain

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// form is a questionnaire's items flattened in document order (pre-order), with enable_when
// references resolved to positions. It evaluates which items are enabled by a set of answers
// (FHIR semantics) and computes the totals answers can reach.
type form struct {
	nodes []node
	index map[string]int // link id -> first node with it
}

type node struct {
	item   *Item
	parent int    // -1 at the top level
	path   string // field path below the questionnaire, e.g. "items[0].items[2]"
	conds  []cond
}

// cond is an EnableWhen with its question resolved: q is -1 when the link id names no item.
type cond struct {
	EnableWhen
	q int
	n int64 // Answer as an integer, for integer questions
}

// value is the answer held for one item during evaluation.
type value struct {
	set bool
	s   string // the option value, "true"/"false", or the canonical decimal integer
	n   int64  // integer questions
}

func newForm(items []Item) *form {
	f := &form{index: map[string]int{}}
	f.add(items, -1, "items")
	for i := range f.nodes {
		n := &f.nodes[i]
		for _, w := range n.item.EnableWhen {
			c := cond{EnableWhen: w, q: -1}
			if q, ok := f.index[w.Question]; ok {
				c.q = q
				if f.nodes[q].item.Type == ItemInteger {
					c.n, _ = strconv.ParseInt(w.Answer, 10, 64)
				}
			}
			n.conds = append(n.conds, c)
		}
	}
	return f
}

func (f *form) add(items []Item, parent int, prefix string) {
	for i := range items {
		it := &items[i]
		path := fmt.Sprintf("%s[%d]", prefix, i)
		f.nodes = append(f.nodes, node{item: it, parent: parent, path: path})
		if _, dup := f.index[it.LinkID]; !dup && it.LinkID != "" {
			f.index[it.LinkID] = len(f.nodes) - 1
		}
		f.add(it.Items, len(f.nodes)-1, path+".items")
	}
}

// enablement returns, for every node, whether it is enabled by vals. A node is enabled when its
// parent is and its conditions hold. Conditions only look at earlier nodes, so one pass in
// document order suffices; a question whose item is disabled counts as unanswered.
func (f *form) enablement(vals []value) []bool {
	en := make([]bool, len(f.nodes))
	f.enablementUpTo(vals, en, len(f.nodes))
	return en
}

func (f *form) enablementUpTo(vals []value, en []bool, end int) {
	for i := 0; i < end; i++ {
		n := &f.nodes[i]
		en[i] = (n.parent < 0 || en[n.parent]) && f.conditionsHold(n, en, vals)
	}
}

func (f *form) conditionsHold(n *node, en []bool, vals []value) bool {
	if len(n.conds) == 0 {
		return true
	}
	any := n.item.EnableBehavior == EnableAny
	for _, c := range n.conds {
		h := f.holds(c, en, vals)
		if any && h {
			return true
		}
		if !any && !h {
			return false
		}
	}
	return !any
}

// holds evaluates one condition. With no answer, "exists false" and "!=" hold and every other
// comparison fails (FHIR R4 enableWhen semantics).
func (f *form) holds(c cond, en []bool, vals []value) bool {
	if c.q < 0 {
		return false
	}
	present := en[c.q] && vals[c.q].set
	if c.Operator == OpExists {
		return present == (c.Answer == "true")
	}
	if !present {
		return c.Operator == OpNotEquals
	}
	v := vals[c.q]
	if f.nodes[c.q].item.Type == ItemInteger {
		switch c.Operator {
		case OpEquals:
			return v.n == c.n
		case OpNotEquals:
			return v.n != c.n
		case OpGreater:
			return v.n > c.n
		case OpLess:
			return v.n < c.n
		case OpGreaterOrEqual:
			return v.n >= c.n
		case OpLessOrEqual:
			return v.n <= c.n
		}
		return false
	}
	switch c.Operator {
	case OpEquals:
		return v.s == c.Answer
	case OpNotEquals:
		return v.s != c.Answer
	}
	return false
}

// scoreOf is the points an answer adds: its option's score, 0 for items without options.
func (n *node) scoreOf(v value) int {
	for _, o := range n.item.Options {
		if n.item.Type == ItemInteger {
			if x, err := strconv.ParseInt(o.Value, 10, 64); err == nil && x == v.n {
				return o.Score
			}
		} else if o.Value == v.s {
			return o.Score
		}
	}
	return 0
}

// Limits of the reachable-score computation, so a save can never take unbounded work.
const (
	maxControllerCombinations = 4096
	maxScoreSpan              = 1 << 20
)

var errTooComplex = errors.New("too complex")

// Reach is the set of totals that some valid set of answers produces.
type Reach struct {
	Min, Max int
	lo       int
	set      []bool // set[i]: lo+i is reachable
}

// Reachable reports whether total can be reached.
func (r Reach) Reachable(total int) bool {
	i := total - r.lo
	return i >= 0 && i < len(r.set) && r.set[i]
}

// Totals lists the reachable totals in increasing order.
func (r Reach) Totals() []int {
	var out []int
	for i, ok := range r.set {
		if ok {
			out = append(out, r.lo+i)
		}
	}
	return out
}

// reach computes exactly which totals valid answers can produce. Questions that some
// enable_when refers to ("controllers") are enumerated over their possible answers (and no
// answer, where allowed), since they decide what else is enabled; for each such assignment the
// other enabled questions contribute any of their option scores, or 0 when they may be left
// unanswered. The totals are the union over all assignments. It fails with errTooComplex when
// controllers have more than maxControllerCombinations joint states.
func (f *form) reach() (Reach, error) {
	lo, hi := 0, 0
	for i := range f.nodes {
		it := f.nodes[i].item
		if !it.Type.Answerable() {
			continue
		}
		mn, mx := 0, 0
		for _, o := range it.Options {
			mn, mx = min(mn, o.Score), max(mx, o.Score)
		}
		lo, hi = lo+mn, hi+mx
	}
	if hi-lo+1 > maxScoreSpan {
		return Reach{}, errTooComplex
	}
	isController := make([]bool, len(f.nodes))
	for _, n := range f.nodes {
		for _, c := range n.conds {
			if c.q >= 0 {
				isController[c.q] = true
			}
		}
	}
	var controllers []int
	for i, c := range isController {
		if c && f.nodes[i].item.Type.Answerable() {
			controllers = append(controllers, i)
		}
	}
	candidates := make([][]value, len(f.nodes))
	for _, c := range controllers {
		candidates[c] = f.candidateValues(c)
	}

	r := Reach{lo: lo, set: make([]bool, hi-lo+1)}
	others := map[string][]bool{} // enabled non-controllers -> their sums (offset lo)
	vals := make([]value, len(f.nodes))
	en := make([]bool, len(f.nodes))
	combos := 0
	var walk func(k int) error
	walk = func(k int) error {
		if k == len(controllers) {
			combos++
			if combos > maxControllerCombinations {
				return errTooComplex
			}
			f.enablementUpTo(vals, en, len(f.nodes))
			fixed := 0
			var key strings.Builder
			for i := range f.nodes {
				if isController[i] {
					if en[i] && vals[i].set {
						fixed += f.nodes[i].scoreOf(vals[i])
					}
				} else if en[i] && f.nodes[i].item.Type.Answerable() {
					key.WriteString(strconv.Itoa(i))
					key.WriteByte(',')
				}
			}
			sums, ok := others[key.String()]
			if !ok {
				sums = f.sumsOfOthers(en, isController, lo, hi)
				others[key.String()] = sums
			}
			for i, reachable := range sums {
				if reachable {
					// The others add i+lo; with the controllers' fixed part the total is
					// i+lo+fixed, at index i+fixed.
					if t := i + fixed; t >= 0 && t < len(r.set) {
						r.set[t] = true
					}
				}
			}
			return nil
		}
		c := controllers[k]
		f.enablementUpTo(vals, en, c+1)
		var options []value
		switch {
		case !en[c]:
			options = []value{{}}
		case f.nodes[c].item.Required:
			options = candidates[c]
		default:
			options = append([]value{{}}, candidates[c]...)
		}
		for _, v := range options {
			vals[c] = v
			if err := walk(k + 1); err != nil {
				return err
			}
		}
		vals[c] = value{}
		return nil
	}
	if err := walk(0); err != nil {
		return Reach{}, err
	}
	first, last := -1, -1
	for i, ok := range r.set {
		if ok {
			if first < 0 {
				first = i
			}
			last = i
		}
	}
	r.Min, r.Max = lo+first, lo+last
	return r, nil
}

// candidateValues lists the answers of a controlling question that can make a difference: each
// option; true and false; or, for an integer question without options, each integer its
// conditions compare with and its neighbours (which decide every comparison).
func (f *form) candidateValues(q int) []value {
	it := f.nodes[q].item
	var out []value
	switch {
	case len(it.Options) > 0:
		for _, o := range it.Options {
			v := value{set: true, s: o.Value}
			if it.Type == ItemInteger {
				v.n, _ = strconv.ParseInt(o.Value, 10, 64)
			}
			out = append(out, v)
		}
	case it.Type == ItemBoolean:
		out = []value{{set: true, s: "true"}, {set: true, s: "false"}}
	default: // integer without options
		seen := map[int64]bool{}
		for _, n := range f.nodes {
			for _, c := range n.conds {
				if c.q != q || c.Operator == OpExists {
					continue
				}
				for _, x := range []int64{c.n - 1, c.n, c.n + 1} {
					if !seen[x] {
						seen[x] = true
						out = append(out, value{set: true, s: strconv.FormatInt(x, 10), n: x})
					}
				}
			}
		}
		if len(out) == 0 {
			out = []value{{set: true, s: "0"}}
		}
	}
	return out
}

// sumsOfOthers returns the totals the enabled non-controlling questions can add up to, as a
// set offset by lo.
func (f *form) sumsOfOthers(en, isController []bool, lo, hi int) []bool {
	set := make([]bool, hi-lo+1)
	set[-lo] = true
	next := make([]bool, len(set))
	for i := range f.nodes {
		it := f.nodes[i].item
		if isController[i] || !en[i] || !it.Type.Answerable() {
			continue
		}
		contrib := map[int]bool{}
		if !it.Required || len(it.Options) == 0 {
			contrib[0] = true
		}
		for _, o := range it.Options {
			contrib[o.Score] = true
		}
		clear(next)
		for s, ok := range set {
			if !ok {
				continue
			}
			for c := range contrib {
				if t := s + c; t >= 0 && t < len(next) {
					next[t] = true
				}
			}
		}
		set, next = next, set
	}
	return set
}
