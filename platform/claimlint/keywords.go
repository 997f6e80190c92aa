package claimlint

import (
	"regexp/syntax"
	"strings"
	"unicode/utf8"
)

// maxKeywords bounds one keyword clause; a larger alternation gives no clause.
const maxKeywords = 64

// maxClauses bounds the clauses kept per pattern (the best ones).
const maxClauses = 4

// maxReach is how far from its keyword an unbounded pattern's match is looked for.
const maxReach = 256

// prefilter is what the engine knows about a pattern before running it: clauses of lowercase
// keywords, each of which has a member in every match (a match contains one keyword of every
// clause), and the longest a match can be (-1: unbounded or anchored). The engine finds keywords
// in one pass (keywordIndex), runs the expression only on the blocks that contain a keyword of
// every clause, and there only on a window around each keyword of the first clause: maxLen
// bytes either side, or maxReach for an unbounded pattern (a finding is a claim within a
// sentence or two; a match reaching further from its keyword is not looked for).
type prefilter struct {
	clauses [][]string // nil: none known; the pattern runs on every block
	maxLen  int
}

func analyze(pattern string) prefilter {
	re, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		return prefilter{maxLen: -1}
	}
	re = re.Simplify()
	var clauses [][]string
	for _, c := range required(re) {
		if keywordScore(c) > 0 && asciiOnly(c) {
			clauses = append(clauses, c)
		}
	}
	// Best clauses first: the first one anchors the windows.
	for i := 1; i < len(clauses); i++ {
		for j := i; j > 0 && keywordScore(clauses[j]) > keywordScore(clauses[j-1]); j-- {
			clauses[j], clauses[j-1] = clauses[j-1], clauses[j]
		}
	}
	if len(clauses) > maxClauses {
		clauses = clauses[:maxClauses]
	}
	return prefilter{clauses: clauses, maxLen: maxLen(re)}
}

// asciiOnly: the prefilter lowercases ASCII only, so a non-ASCII keyword is not used.
func asciiOnly(set []string) bool {
	for _, k := range set {
		for i := 0; i < len(k); i++ {
			if k[i] >= utf8.RuneSelf {
				return false
			}
		}
	}
	return true
}

// required returns clauses (a conjunction of disjunctions) that every match satisfies.
func required(re *syntax.Regexp) [][]string {
	switch re.Op {
	case syntax.OpLiteral:
		return [][]string{{strings.ToLower(string(re.Rune))}}
	case syntax.OpCharClass:
		// A small class (\d, [-–]) is a clause of one-character keywords: weak, but it still
		// skips the blocks that have none of them (a phone pattern skips blocks without digits).
		seen := map[string]bool{}
		var set []string
		for i := 0; i+1 < len(re.Rune); i += 2 {
			if re.Rune[i+1]-re.Rune[i] > 10 {
				return nil
			}
			for r := re.Rune[i]; r <= re.Rune[i+1]; r++ {
				k := strings.ToLower(string(r))
				if !seen[k] {
					seen[k] = true
					set = append(set, k)
				}
			}
			if len(set) > 10 {
				return nil
			}
		}
		return [][]string{set}
	case syntax.OpCapture, syntax.OpPlus:
		return required(re.Sub[0])
	case syntax.OpRepeat:
		if re.Min >= 1 {
			return required(re.Sub[0])
		}
		return nil
	case syntax.OpConcat:
		var all [][]string
		for _, sub := range re.Sub {
			all = append(all, required(sub)...)
		}
		return all
	case syntax.OpAlternate:
		// Each branch contributes its best clause; the union is one clause.
		var union []string
		for _, sub := range re.Sub {
			var best []string
			for _, c := range required(sub) {
				if keywordScore(c) > keywordScore(best) {
					best = c
				}
			}
			if best == nil {
				return nil
			}
			union = append(union, best...)
		}
		if len(union) > maxKeywords {
			return nil
		}
		return [][]string{dedupe(union)}
	}
	return nil
}

// keywordScore rates a clause: the length of its shortest member, except that a clause with a
// blank member (a space, found everywhere) is worthless.
func keywordScore(set []string) int {
	if len(set) == 0 {
		return 0
	}
	n := len(set[0])
	for _, s := range set {
		if strings.TrimSpace(s) == "" {
			return 0
		}
		n = min(n, len(s))
	}
	return n
}

// dedupe drops duplicates and strings that contain another member (finding the shorter one is
// enough).
func dedupe(set []string) []string {
	var out []string
	for i, s := range set {
		redundant := false
		for j, o := range set {
			if i != j && strings.Contains(s, o) && (len(o) < len(s) || j < i) {
				redundant = true
				break
			}
		}
		if !redundant {
			out = append(out, s)
		}
	}
	return out
}

// maxLen returns the most bytes a match of re can span, -1 when unbounded, or -2 when anchored to
// the start or end of the text or a line (a window would move those anchors: such a pattern runs
// on whole blocks).
func maxLen(re *syntax.Regexp) int {
	switch re.Op {
	case syntax.OpLiteral:
		return len(string(re.Rune))
	case syntax.OpCharClass, syntax.OpAnyCharNotNL, syntax.OpAnyChar:
		return utf8.UTFMax
	case syntax.OpWordBoundary, syntax.OpNoWordBoundary, syntax.OpEmptyMatch:
		return 0
	case syntax.OpCapture:
		return maxLen(re.Sub[0])
	case syntax.OpQuest:
		return maxLen(re.Sub[0])
	case syntax.OpRepeat:
		n := maxLen(re.Sub[0])
		if n < 0 || re.Max < 0 {
			return min(n, -1)
		}
		return n * re.Max
	case syntax.OpConcat, syntax.OpAlternate:
		total, worst := 0, 0
		for _, sub := range re.Sub {
			n := maxLen(sub)
			worst = min(worst, n)
			if re.Op == syntax.OpConcat {
				total += n
			} else {
				total = max(total, n)
			}
		}
		if worst < 0 {
			return worst
		}
		return total
	case syntax.OpStar, syntax.OpPlus:
		return min(maxLen(re.Sub[0]), -1)
	}
	return -2 // line and text anchors
}
