package claimlint_test

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/beaconcms/beacon/platform/claimlint"
)

// FuzzLint: any Markdown lints without panicking, in bounded time, and every finding points at
// the text it reports.
func FuzzLint(f *testing.F) {
	for _, c := range corpus {
		f.Add(c.text)
	}
	for _, s := range []string{
		"", "\n\n\n", "<!--", "<!-- lint-ignore", "<!-- lint-ignore x: y -->", "“unclosed", "\"", "| a |\n|---|\n| b |",
		"| Instead of saying | x |\n|---|---|\n| addict | junkie |\n", "> addict", "#", "# \n## addict", "1-800-", "call 1-800-273-8255",
		"as of 2020 kratom is legal", "\xff\xfe addict", "addict\u2028addict", strings.Repeat("addict ", 1000),
	} {
		f.Add(s)
	}
	e, err := claimlint.New(claimlint.Builtin(), claimlint.Tuning{})
	if err != nil {
		f.Fatal(err)
	}
	facts := baseFacts()
	f.Fuzz(func(t *testing.T, body string) {
		if len(body) > 1<<16 {
			return
		}
		start := time.Now()
		fs := e.Lint(claimlint.Input{Context: claimlint.ContextArticle, Facts: facts, Fields: []claimlint.Field{
			{Name: "title", Markdown: body}, {Name: "body", Markdown: body},
		}})
		if d := time.Since(start); d > 2*time.Second {
			t.Fatalf("lint took %v for %d bytes", d, len(body))
		}
		for _, f := range fs {
			if f.Line == 0 {
				continue
			}
			if f.Offset < 0 || f.Offset+len(f.Match) > len(body) || body[f.Offset:f.Offset+len(f.Match)] != f.Match {
				t.Fatalf("finding %+v does not point at its match", f)
			}
			lines := strings.Split(body, "\n")
			if f.Line > len(lines) {
				t.Fatalf("finding %+v: line beyond the text", f)
			}
			if utf8.ValidString(body) && f.Column != utf8.RuneCountInString(lines[f.Line-1][:f.Offset-lineStart(body, f.Line)])+1 {
				t.Fatalf("finding %+v: wrong column", f)
			}
		}
	})
}

func lineStart(s string, line int) int {
	off := 0
	for i := 1; i < line; i++ {
		off += strings.IndexByte(s[off:], '\n') + 1
	}
	return off
}
