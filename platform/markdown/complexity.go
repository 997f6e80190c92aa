package markdown

import (
	"fmt"
	"strings"
)

// Limits applied by CheckComplexity. Together they bound the work of Render on any
// accepted source of up to 512 KiB to well under a second of CPU (see
// TestCheckComplexityBoundsRenderCost and BenchmarkRenderWorstAccepted).
const (
	// MaxNesting is the largest accepted estimated container depth of a line: the
	// block quote markers ('>') and list markers at its start, plus half its leading
	// indentation in columns. The parser re-checks every open container on every
	// line, so deep nesting costs lines × depth.
	MaxNesting = 32
	// MaxInlineMarkers is the largest accepted number of the characters that open or
	// close inline markup ('[', ']', '*', '_', '~', '`', '<'). Each one costs the
	// inline parser a delimiter node, a few microseconds when there are very many.
	MaxInlineMarkers = 1 << 16
	// MaxLinkScan bounds the sum, over every "](" (a link or image destination
	// opener), of the length of the rest of its line. An opener whose destination
	// never closes makes the parser scan to the end of the line, so many of them on
	// one long line cost quadratic time ("[a](" repeated).
	MaxLinkScan = 1 << 23
)

// ComplexityError is the error CheckComplexity returns: the source is refused
// because rendering it could cost too much. Reason says which limit was exceeded,
// in terms an author can act on.
type ComplexityError struct{ Reason string }

func (e *ComplexityError) Error() string { return e.Reason }

// CheckComplexity reports whether source is cheap enough to render, returning a
// *ComplexityError if it exceeds one of MaxNesting, MaxInlineMarkers or MaxLinkScan.
// It runs in time linear in len(source). Callers that accept sources from clients
// check them with it before storing them; Render itself renders any source.
//
// The limits are estimates made on the raw text, without parsing: they also count
// markers inside code blocks and code spans, so an article with tens of thousands
// of brackets or asterisks in code is refused too.
func CheckComplexity(source string) error {
	markers, linkScan := 0, 0
	lineNo := 0
	for line := range strings.Lines(source) {
		lineNo++
		if d := lineNesting(line); d > MaxNesting {
			return &ComplexityError{Reason: fmt.Sprintf("line %d nests block quotes, lists or indentation %d levels deep; at most %d are allowed", lineNo, d, MaxNesting)}
		}
		for i := 0; i < len(line); i++ {
			switch line[i] {
			case '[', '*', '_', '~', '`', '<':
				markers++
			case ']':
				markers++
				if i+1 < len(line) && line[i+1] == '(' {
					linkScan += len(line) - i
				}
			}
		}
	}
	if markers > MaxInlineMarkers {
		return &ComplexityError{Reason: fmt.Sprintf("has %d markup characters ([ ] * _ ~ ` <); at most %d are allowed", markers, MaxInlineMarkers)}
	}
	if linkScan > MaxLinkScan {
		return &ComplexityError{Reason: fmt.Sprintf("has too many link openers \"](\" on long lines (%d characters to scan, at most %d); close each link's parenthesis or break the lines", linkScan, MaxLinkScan)}
	}
	return nil
}

// lineNesting estimates the container depth of a line: the block quote and list
// markers at its start plus half its leading indentation in columns (tabs to the
// next multiple of 4).
func lineNesting(line string) int {
	markers, cols := 0, 0
	for i := 0; i < len(line); {
		c := line[i]
		switch {
		case c == ' ':
			cols++
			i++
		case c == '\t':
			cols += 4 - cols%4
			i++
		case c == '>':
			markers++
			i++
		case (c == '-' || c == '+' || c == '*') && i+1 < len(line) && (line[i+1] == ' ' || line[i+1] == '\t'):
			markers++
			i++
		case c >= '0' && c <= '9':
			j := i
			for j < len(line) && j-i < 9 && line[j] >= '0' && line[j] <= '9' {
				j++
			}
			if j+1 < len(line) && (line[j] == '.' || line[j] == ')') && (line[j+1] == ' ' || line[j+1] == '\t') {
				markers++
				i = j + 1
				continue
			}
			return markers + cols/2
		default:
			return markers + cols/2
		}
	}
	return markers + cols/2
}
