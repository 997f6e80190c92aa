package console

import (
	"strings"

	"github.com/pmezard/go-difflib/difflib"

	contentv1 "github.com/beaconcms/beacon/gen/beacon/content/v1"
)

// fieldChange is one field that differs between two versions of an article: Old and New as
// text, and for multi-line values (the body, lists) a line diff.
type fieldChange struct {
	Path, Label string
	Old, New    string
	Lines       []diffLine // set when either value has more than one line
}

// diffLine is one line of a line diff. Op is "equal", "delete" (only in the old version) or
// "insert" (only in the new one); Old and New are 1-based line numbers, 0 where absent.
type diffLine struct {
	Op       string
	Old, New int
	Text     string
}

// diffArticles lists the editable fields whose values differ from old to new, in the editor's
// order.
func diffArticles(old, new *contentv1.Article) []fieldChange {
	var out []fieldChange
	for _, f := range articleFields {
		a, b := f.value(old), f.value(new)
		if a == b {
			continue
		}
		c := fieldChange{Path: f.Path, Label: f.Label, Old: a, New: b}
		if strings.Contains(a, "\n") || strings.Contains(b, "\n") {
			c.Lines = lineDiff(a, b)
		}
		out = append(out, c)
	}
	return out
}

// lineDiff is the line diff of a to b (difflib's sequence matcher, as Python's difflib).
func lineDiff(a, b string) []diffLine {
	al, bl := splitLines(a), splitLines(b)
	var out []diffLine
	for _, op := range difflib.NewMatcherWithJunk(al, bl, false, nil).GetOpCodes() {
		if op.Tag == 'e' {
			for k := range op.I2 - op.I1 {
				out = append(out, diffLine{Op: "equal", Old: op.I1 + k + 1, New: op.J1 + k + 1, Text: al[op.I1+k]})
			}
			continue
		}
		if op.Tag == 'r' || op.Tag == 'd' {
			for i := op.I1; i < op.I2; i++ {
				out = append(out, diffLine{Op: "delete", Old: i + 1, Text: al[i]})
			}
		}
		if op.Tag == 'r' || op.Tag == 'i' {
			for j := op.J1; j < op.J2; j++ {
				out = append(out, diffLine{Op: "insert", New: j + 1, Text: bl[j]})
			}
		}
	}
	return out
}

func splitLines(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n")
}
