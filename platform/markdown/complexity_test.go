package markdown_test

import (
	"errors"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/beaconcms/beacon/platform/markdown"
)

// maxSource is the largest article body the content service accepts (512 KiB).
const maxSource = 512 << 10

// fill repeats unit up to size bytes (whole units only).
func fill(unit string, size int) string { return strings.Repeat(unit, size/len(unit)) }

// pad appends ordinary prose to src up to size bytes.
func pad(src string, size int) string {
	return src + "\n\n" + fill("Plain words of an ordinary sentence. ", size-len(src)-2)
}

// worstAccepted returns, per shape, the most expensive sources of up to maxSource bytes
// that CheckComplexity still accepts: each pushes one limit (or all of them) to its edge.
func worstAccepted() map[string]string {
	var nestedLists, nestedQuotes strings.Builder
	for i := 0; nestedLists.Len() < maxSource-200; i++ {
		nestedLists.WriteString(strings.Repeat("  ", i%markdown.MaxNesting) + "- a\n")
	}
	for nestedQuotes.Len() < maxSource-200 {
		nestedQuotes.WriteString(strings.Repeat(">", markdown.MaxNesting) + " a\n")
	}
	// Unclosed link openers on lines as long as the scan budget allows.
	var links strings.Builder
	for line := fill("[a](", 4096) + "\n"; ; {
		if markdown.CheckComplexity(links.String()+line) != nil {
			break
		}
		links.WriteString(line)
	}
	markers := func(unit string) string {
		return pad(fill(unit, markdown.MaxInlineMarkers*len(unit)/strings.Count(unit, "[")), maxSource)
	}
	combined := links.String() + "\n" + fill("[[", markdown.MaxInlineMarkers-strings.Count(links.String(), "[")*2) + "\n\n" + nestedQuotes.String()[:maxSource/2]
	return map[string]string{
		"nested lists":     nestedLists.String(),
		"nested quotes":    nestedQuotes.String(),
		"unclosed links":   pad(links.String(), maxSource),
		"unclosed images":  pad(strings.ReplaceAll(links.String(), "[a](", "![a]("), maxSource),
		"brackets":         markers("[["),
		"bracket words":    markers("[a "),
		"emphasis":         pad(fill("*_", markdown.MaxInlineMarkers), maxSource),
		"code spans":       pad(fill("`a``", markdown.MaxInlineMarkers), maxSource),
		"angles":           pad(fill("<a", markdown.MaxInlineMarkers*2), maxSource),
		"footnote openers": markers("[^"),
		"all limits":       combined[:min(len(combined), maxSource)],
		"prose":            fill("Plain words of an ordinary sentence. ", maxSource),
	}
}

// cpuTime returns the CPU time (user + system) used by this process so far.
func cpuTime(tb testing.TB) time.Duration {
	tb.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// TestCheckComplexityBoundsRenderCost renders the worst sources CheckComplexity accepts
// and checks that each costs less than a second of CPU (process CPU time, not wall
// clock, so a busy machine does not make it fail; typical figures are far below).
func TestCheckComplexityBoundsRenderCost(t *testing.T) {
	if testing.Short() {
		t.Skip("renders several 512 KiB sources")
	}
	r := markdown.NewRenderer()
	for name, src := range worstAccepted() {
		t.Run(name, func(t *testing.T) {
			if len(src) > maxSource {
				t.Fatalf("source is %d bytes, over %d", len(src), maxSource)
			}
			if err := markdown.CheckComplexity(src); err != nil {
				t.Fatalf("CheckComplexity refused a shape meant to be at the edge of its limits: %v", err)
			}
			before := cpuTime(t)
			r.Render(src)
			used := cpuTime(t) - before
			t.Logf("%d bytes: %v of CPU", len(src), used)
			if used > raceFactor*time.Second {
				t.Errorf("rendering took %v of CPU, over the 1 s bound", used)
			}
		})
	}
}

func TestCheckComplexityRefusesPathologicalShapes(t *testing.T) {
	var deepLists strings.Builder
	for i := range 200 {
		deepLists.WriteString(strings.Repeat("  ", i) + "- a\n")
	}
	tests := []struct {
		name, src, reason string
	}{
		{"unclosed links 20 KB (the reported payload)", fill("[a](", 20_000), "link openers"},
		{"unclosed links 160 KB", fill("[a](", 160_000), "markup characters"},
		{"unclosed images", fill("![a](", 20_000), "link openers"},
		{"unclosed links with titles", fill("[a](<", 20_000), "link openers"},
		{"nested parentheses", fill("[a](b(", 20_000), "link openers"},
		{"block quotes 33 deep", strings.Repeat(">", 33) + " a\n", "line 1 nests"},
		{"block quotes on one line", fill("> ", 64_000), "line 1 nests"},
		{"lists on one line", fill("- > ", 32_000), "line 1 nests"},
		{"ordered lists on one line", fill("1. ", 48_000), "line 1 nests"},
		{"indented lists", deepLists.String(), "line 33 nests"},
		{"brackets", fill("[[", 2*markdown.MaxInlineMarkers+2), "markup characters"},
		{"emphasis", fill("*_", 512<<10), "markup characters"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := markdown.CheckComplexity(tt.src)
			var ce *markdown.ComplexityError
			if !errors.As(err, &ce) {
				t.Fatalf("CheckComplexity = %v, want a *ComplexityError", err)
			}
			if !strings.Contains(ce.Reason, tt.reason) {
				t.Errorf("reason %q does not mention %q", ce.Reason, tt.reason)
			}
		})
	}
}

func TestCheckComplexityAcceptsOrdinaryArticles(t *testing.T) {
	var nested strings.Builder
	for i := range 10 {
		nested.WriteString(strings.Repeat("    ", i) + "1. item with [a link](https://example.org/" + strings.Repeat("x", 40) + ") and *emphasis*\n")
	}
	for name, src := range map[string]string{
		"test article":          readArticle(t),
		"test article x 40":     strings.Repeat(readArticle(t)+"\n\n", 40),
		"nested lists 10 deep":  nested.String(),
		"long linked paragraph": strings.Repeat("See [the study](https://example.org/a/very/long/path/to/a/study?id=123) for details, ", 400),
	} {
		if err := markdown.CheckComplexity(src); err != nil {
			t.Errorf("%s (%d bytes): %v", name, len(src), err)
		}
	}
}

func BenchmarkRenderWorstAccepted(b *testing.B) {
	r := markdown.NewRenderer()
	for name, src := range worstAccepted() {
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(src)))
			for b.Loop() {
				r.Render(src)
			}
		})
	}
}

func BenchmarkCheckComplexity(b *testing.B) {
	src := fill("Plain [words](x) of an *ordinary* sentence. ", maxSource)
	b.SetBytes(int64(len(src)))
	for b.Loop() {
		_ = markdown.CheckComplexity(src)
	}
}
