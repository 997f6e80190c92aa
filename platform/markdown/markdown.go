// Package markdown renders article bodies: Markdown in, sanitized HTML plus a table of
// contents and readability figures out.
//
// The dialect is CommonMark with the GitHub extensions for tables, strikethrough,
// autolinks (www.example.com, https://example.com) and task lists, plus footnotes.
// Raw HTML in the source is never passed through: the Markdown renderer omits it, and
// its output is then sanitized with an allow-list policy (see Renderer.Render).
package markdown

import (
	"bufio"
	"bytes"
	"fmt"
	"html"
	"math"
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/microcosm-cc/bluemonday"
	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	east "github.com/yuin/goldmark/extension/ast"
	goldhtml "github.com/yuin/goldmark/renderer/html"
	"github.com/yuin/goldmark/text"
	"github.com/yuin/goldmark/util"
	nethtml "golang.org/x/net/html"

	"github.com/beaconcms/beacon/platform/slug"
)

// wordsPerMinute is the reading speed behind Rendering.ReadingTimeMinutes.
const wordsPerMinute = 220

// TOCEntry is one heading of a rendered document.
type TOCEntry struct {
	Level  int    // 1 for h1 ... 6 for h6
	Text   string // the heading's visible text: plain text, not HTML (escape it before embedding)
	Anchor string // the heading's id attribute in Rendering.HTML; link to it as "#"+Anchor
}

// Rendering is the result of Renderer.Render.
type Rendering struct {
	// HTML is the sanitized HTML body. It is safe to embed in a page as is.
	HTML string
	// TOC lists every heading (h1 to h6) in document order.
	TOC []TOCEntry
	// WordCount is the number of words of the visible text (the text PlainText
	// returns): whitespace-separated runs that contain at least one letter or digit.
	WordCount int
	// ReadingTimeMinutes is ceil(WordCount/220): 0 for an empty document, at
	// least 1 otherwise.
	ReadingTimeMinutes int
	// FleschReadingEase is 206.835 - 1.015*(words/sentences) - 84.6*(syllables/words),
	// rounded to one decimal; 0 when there are no words. Higher is easier; it is not
	// clamped, so very simple text can exceed 100 and very dense text go below 0.
	// Syllables and sentences are estimated with English heuristics, documented
	// on countSyllables and textStats in this package's source.
	FleschReadingEase float64
}

// Renderer renders Markdown article bodies. Create one with NewRenderer; the zero
// value is not usable. A Renderer is safe for concurrent use and is meant to be
// created once and shared.
type Renderer struct {
	md     goldmark.Markdown
	policy *bluemonday.Policy
}

// NewRenderer returns a Renderer with Beacon's Markdown dialect and HTML policy.
func NewRenderer() *Renderer {
	md := goldmark.New(
		goldmark.WithExtensions(
			extension.NewTable(extension.WithTableCellAlignMethod(extension.TableCellAlignAttribute)),
			extension.Strikethrough,
			extension.Linkify,
			extension.TaskList,
			extension.NewFootnote(),
		),
		// html.WithUnsafe is deliberately not set: raw HTML in the source is
		// replaced by an HTML comment, and then dropped by the sanitizer.
	)
	return &Renderer{md: md, policy: newPolicy()}
}

// newPolicy returns the sanitizer policy: bluemonday's UGC policy (no script, style,
// iframe, object, form or event-handler attributes; only http, https and mailto
// URLs plus relative and fragment links; no data: images) extended with exactly the
// markup this package's Markdown dialect emits.
func newPolicy() *bluemonday.Policy {
	p := bluemonday.UGCPolicy()

	// rel="nofollow" only on links that leave the site; footnote, TOC and
	// relative links stay as they are.
	p.RequireNoFollowOnLinks(false)
	p.RequireNoFollowOnFullyQualifiedLinks(true)

	// Footnotes as the goldmark footnote extension writes them. The ids
	// (fn:1, fnref:1, heading ids) are covered by UGC's global id rule.
	p.AllowAttrs("class").Matching(regexp.MustCompile(`^footnote-(?:ref|backref)$`)).OnElements("a")
	p.AllowAttrs("role").Matching(regexp.MustCompile(`^doc-(?:noteref|backlink)$`)).OnElements("a")
	p.AllowAttrs("class").Matching(regexp.MustCompile(`^footnotes$`)).OnElements("div")
	p.AllowAttrs("role").Matching(regexp.MustCompile(`^doc-endnotes$`)).OnElements("div")

	// Task list items: <input checked="" disabled="" type="checkbox">.
	p.AllowAttrs("type").Matching(regexp.MustCompile(`^checkbox$`)).OnElements("input")
	p.AllowAttrs("checked", "disabled").Matching(regexp.MustCompile(`^$`)).OnElements("input")

	return p
}

// Render converts a Markdown source to sanitized HTML and computes its table of
// contents and readability figures.
//
// Every heading gets an id attribute derived from its visible text with
// slug.Normalize ("Über Diabetes" → "uber-diabetes"); a heading whose text has
// no usable characters gets "heading". Repeated ids get a suffix "-1", "-2", ...
// in document order, so ids are unique within one document and stable for the same
// source. Footnote ids (fn:N, fnref:N) contain a colon and therefore never collide
// with heading ids.
//
// Render never fails: any input, including invalid UTF-8, yields a Rendering.
// Its cost is roughly linear for ordinary articles (see BenchmarkRender: about a
// millisecond for 6 KB on a busy 2-core machine), but the goldmark parser is
// superlinear on some adversarial inputs ("[a](" repeated 10,000 times, 40 KB,
// takes about half a second; deeply nested lists are similar), so callers must
// refuse the sources from clients that CheckComplexity refuses, and bound their size.
func (r *Renderer) Render(source string) Rendering {
	rendering, _ := r.render(source)
	return rendering
}

// RenderWithText returns Render(source) and PlainText(source), parsing the source once.
func (r *Renderer) RenderWithText(source string) (Rendering, string) {
	rendering, a := r.render(source)
	return rendering, strings.Join(a.blocks, "\n\n")
}

func (r *Renderer) render(source string) (Rendering, analysis) {
	src := []byte(source)
	doc := r.md.Parser().Parse(text.NewReader(src))
	a := analyze(doc, src, true)

	var buf bytes.Buffer
	if err := r.md.Renderer().Render(&buf, src, doc); err != nil {
		// goldmark's HTML renderer only fails when the writer fails, and a
		// bytes.Buffer does not.
		panic(fmt.Sprintf("markdown: rendering into a buffer failed: %v", err))
	}

	words, sentences, syllables := textStats(a.blocks)
	return Rendering{
		HTML:               r.policy.Sanitize(buf.String()),
		TOC:                a.toc,
		WordCount:          words,
		ReadingTimeMinutes: (words + wordsPerMinute - 1) / wordsPerMinute,
		FleschReadingEase:  fleschReadingEase(words, sentences, syllables),
	}, a
}

// PlainText returns the visible text of a Markdown source (no markup), for search
// indexing and summaries.
//
// Each block (paragraph, heading, list item, table row, code block, footnote) is one
// line of text with runs of white space collapsed to a single space; blocks are
// separated by a blank line ("\n\n"). Character references and backslash escapes
// are resolved, so the result is plain text, not HTML: escape it before putting it
// in a page. Raw HTML, image descriptions and footnote reference numbers are not
// visible and are left out. The words of PlainText are the ones
// Rendering.WordCount counts.
func (r *Renderer) PlainText(source string) string {
	src := []byte(source)
	doc := r.md.Parser().Parse(text.NewReader(src))
	return strings.Join(analyze(doc, src, false).blocks, "\n\n")
}

// Links returns the destinations of the links of a Markdown source, in document order, as
// written (not resolved): inline and reference links and autolinks, not images. Footnote
// references are not links.
func (r *Renderer) Links(source string) []string {
	src := []byte(source)
	doc := r.md.Parser().Parse(text.NewReader(src))
	var out []string
	_ = ast.Walk(doc, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if !entering {
			return ast.WalkContinue, nil
		}
		switch l := n.(type) {
		case *ast.Link:
			out = append(out, string(l.Destination))
		case *ast.AutoLink:
			if l.AutoLinkType == ast.AutoLinkURL {
				out = append(out, string(l.URL(src)))
			}
		}
		return ast.WalkContinue, nil
	})
	return out
}

// analysis is what analyze extracts from a document.
type analysis struct {
	blocks []string // visible text of each block, white space collapsed, none empty
	toc    []TOCEntry
}

// analyze walks a parsed document and collects its visible text block by block and
// its headings. With setIDs it also gives every heading its id attribute (see
// Render).
func analyze(doc ast.Node, src []byte, setIDs bool) analysis {
	e := extractor{src: src, used: map[string]bool{}, next: map[string]int{}, setIDs: setIDs}
	e.w = bufio.NewWriter(&e.buf)
	_ = ast.Walk(doc, e.visit) // visit never returns an error
	e.flush()
	return analysis{blocks: e.blocks, toc: e.toc}
}

// extractor collects visible text. Text is written HTML-escaped through goldmark's
// own HTML text writer, so entity references, backslash escapes and NUL bytes are
// handled exactly as in the rendered HTML, and unescaped again when a block ends.
type extractor struct {
	src    []byte
	buf    bytes.Buffer
	w      *bufio.Writer
	blocks []string
	toc    []TOCEntry
	used   map[string]bool // heading ids handed out so far
	next   map[string]int  // per base id, the last numeric suffix handed out
	setIDs bool
}

func (e *extractor) visit(n ast.Node, entering bool) (ast.WalkStatus, error) {
	switch n := n.(type) {
	case *ast.RawHTML, *ast.HTMLBlock, *ast.Image, *east.FootnoteLink, *east.FootnoteBacklink:
		// Omitted by the renderer, an attribute rather than text, or a bare number.
		return ast.WalkSkipChildren, nil
	case *ast.Text:
		if entering {
			if n.IsRaw() {
				goldhtml.DefaultWriter.RawWrite(e.w, n.Value(e.src))
			} else {
				goldhtml.DefaultWriter.Write(e.w, n.Value(e.src))
			}
			if n.SoftLineBreak() || n.HardLineBreak() {
				_ = e.w.WriteByte(' ')
			}
		}
	case *ast.String:
		if entering {
			switch {
			case n.IsCode():
				_, _ = e.w.Write(n.Value)
			case n.IsRaw():
				goldhtml.DefaultWriter.RawWrite(e.w, n.Value)
			default:
				goldhtml.DefaultWriter.Write(e.w, n.Value)
			}
		}
	case *ast.AutoLink:
		if entering {
			_, _ = e.w.Write(util.EscapeHTML(n.Label(e.src)))
		}
		return ast.WalkSkipChildren, nil
	case *ast.CodeBlock, *ast.FencedCodeBlock:
		if entering {
			e.flush()
			lines := n.Lines()
			for i := range lines.Len() {
				line := lines.At(i)
				goldhtml.DefaultWriter.RawWrite(e.w, line.Value(e.src))
			}
			e.flush()
		}
		return ast.WalkSkipChildren, nil
	case *east.TableCell:
		// Cells of a row stay on the row's line.
		if !entering {
			_ = e.w.WriteByte(' ')
		}
		return ast.WalkContinue, nil
	case *ast.Heading:
		if entering {
			e.flush()
		} else {
			e.heading(n, e.flush())
		}
		return ast.WalkContinue, nil
	}
	if n.Type() == ast.TypeBlock {
		e.flush()
	}
	return ast.WalkContinue, nil
}

// flush ends the current block and returns its text ("" if it had none).
func (e *extractor) flush() string {
	_ = e.w.Flush()
	if e.buf.Len() == 0 {
		return ""
	}
	t := strings.Join(strings.Fields(html.UnescapeString(e.buf.String())), " ")
	e.buf.Reset()
	if t != "" {
		e.blocks = append(e.blocks, t)
	}
	return t
}

// heading records a TOC entry for h, whose visible text is t, and with e.setIDs
// sets its id attribute.
func (e *extractor) heading(h *ast.Heading, t string) {
	base := slug.Normalize(t)
	if base == "" {
		base = "heading"
	}
	id := base
	if e.used[id] {
		// Resume after the last suffix tried for this base, so that n equal
		// headings cost O(n) rather than O(n²).
		for i := e.next[base] + 1; ; i++ {
			id = base + "-" + strconv.Itoa(i)
			if !e.used[id] {
				e.next[base] = i
				break
			}
		}
	}
	e.used[id] = true
	if e.setIDs {
		h.SetAttributeString("id", []byte(id))
	}
	e.toc = append(e.toc, TOCEntry{Level: h.Level, Text: t, Anchor: id})
}

// isWord reports whether a whitespace-separated field counts as a word: it has at
// least one letter or digit (so "—" or "-" alone do not).
func isWord(f string) bool {
	for _, r := range f {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			return true
		}
	}
	return false
}

// textStats counts the words, sentences and syllables of the visible text.
//
// Sentences are estimated per block: a sentence ends after a word whose last
// character, ignoring closing quotes, brackets and emphasis marks, is '.', '!', '?'
// or '…', and at the end of every block (so a heading or list item without final
// punctuation is one sentence). Abbreviations such as "e.g." therefore end a
// sentence too; decimals such as "2.5" do not.
func textStats(blocks []string) (words, sentences, syllables int) {
	for _, b := range blocks {
		open := false // the current sentence has words
		for f := range strings.FieldsSeq(b) {
			if isWord(f) {
				words++
				syllables += countSyllables(f)
				open = true
			}
			if open && endsSentence(f) {
				sentences++
				open = false
			}
		}
		if open {
			sentences++
		}
	}
	return words, sentences, syllables
}

// endsSentence reports whether a field ends with sentence-final punctuation.
func endsSentence(f string) bool {
	f = strings.TrimRight(f, `"')]}*_»”’`)
	r, _ := utf8.DecodeLastRuneInString(f)
	switch r {
	case '.', '!', '?', '…':
		return true
	}
	return false
}

// fleschReadingEase computes the Flesch reading-ease score rounded to one decimal,
// 0 when there are no words.
func fleschReadingEase(words, sentences, syllables int) float64 {
	if words == 0 || sentences == 0 {
		return 0
	}
	w, s, y := float64(words), float64(sentences), float64(syllables)
	score := 206.835 - 1.015*(w/s) - 84.6*(y/w)
	return math.Round(score*10) / 10
}

// isVowel reports whether a lowercase letter counts as a vowel for countSyllables:
// a, e, i, o, u, y (always treated as a vowel) and their common accented forms.
func isVowel(r rune) bool {
	switch r {
	case 'a', 'e', 'i', 'o', 'u', 'y':
		return true
	}
	return r >= 0xe0 && strings.ContainsRune("àáâãäåæèéêëìíîïòóôõöøùúûüýÿœ", r)
}

// countSyllables estimates the syllables of an English word:
//
//  1. Only letters count; a field without letters ("42", "%") has 1 syllable.
//  2. Each maximal group of adjacent vowels (a e i o u y, also accented) is one
//     syllable: "health" 1, "nutrition" 3 (nu-tri-tion), "you" 1.
//  3. A silent trailing 'e' is not counted: after a consonant at the end of the
//     word ("make" 1, "creature" 2), except in consonant+"le" ("table" 2) and
//     when the 'e' follows a vowel ("agree" 2, one group anyway).
//  4. A trailing "ed" after a consonant or 'y' is not a syllable unless it
//     follows 't' or 'd' ("helped" 1, "played" 1, "needed" 2), and a trailing
//     "es" after a consonant is not a syllable unless it follows s, x, z, ch,
//     sh, c or g ("makes" 1, "boxes" 2, "changes" 2).
//  5. Every word has at least 1 syllable.
//
// It misjudges some words (e.g. "diabetes" 3, "recipe" 2, "Australian" 3), which is
// acceptable for a readability estimate over a whole article.
func countSyllables(word string) int {
	var buf [32]rune
	w := buf[:0]
	for _, r := range word {
		if unicode.IsLetter(r) {
			w = append(w, unicode.ToLower(r))
		}
	}
	if len(w) == 0 {
		return 1
	}
	vowelAt := func(i int) bool { return i >= 0 && i < len(w) && isVowel(w[i]) }

	count := 0
	for i := range w {
		if vowelAt(i) && !vowelAt(i-1) {
			count++
		}
	}

	n := len(w)
	last := w[n-1]
	switch {
	case last == 'e' && n >= 2 && !vowelAt(n-2):
		// Silent final e, except consonant + "le".
		if !(w[n-2] == 'l' && n >= 3 && !vowelAt(n-3)) {
			count--
		}
	case last == 'd' && n >= 3 && w[n-2] == 'e' && (!vowelAt(n-3) || w[n-3] == 'y'):
		if c := w[n-3]; c != 't' && c != 'd' {
			count--
		}
	case last == 's' && n >= 3 && w[n-2] == 'e' && !vowelAt(n-3):
		c := w[n-3]
		sibilant := c == 's' || c == 'x' || c == 'z' || c == 'c' || c == 'g' ||
			(c == 'h' && n >= 4 && (w[n-4] == 'c' || w[n-4] == 's'))
		if !sibilant {
			count--
		}
	}
	return max(count, 1)
}

// TOCFromHTML returns the table of contents of HTML that Render made: every h1 to h6 element
// with an id, in document order, its text unescaped and its runs of white space made one space.
// For any Markdown source, Render's TOC equals TOCFromHTML of Render's HTML (a fuzzed
// invariant), so a reader that keeps the HTML can leave the TOC out and derive it when needed.
// It reads s once, in time linear in its length.
func TOCFromHTML(s string) []TOCEntry {
	z := nethtml.NewTokenizer(strings.NewReader(s))
	var (
		out   []TOCEntry
		open  *TOCEntry // the heading being read, if any
		depth int       // elements open inside it
		text  strings.Builder
	)
	for {
		tt := z.Next()
		switch tt {
		case nethtml.ErrorToken:
			return out
		case nethtml.StartTagToken, nethtml.SelfClosingTagToken:
			name, hasAttr := z.TagName()
			if open != nil {
				if tt == nethtml.StartTagToken && !isVoidElement(string(name)) {
					depth++
				}
				continue
			}
			level := headingLevel(name)
			if level == 0 || !hasAttr || tt == nethtml.SelfClosingTagToken {
				continue
			}
			for {
				key, val, more := z.TagAttr()
				if string(key) == "id" && len(val) > 0 {
					open = &TOCEntry{Level: level, Anchor: string(val)}
					depth = 0
					text.Reset()
					break
				}
				if !more {
					break
				}
			}
		case nethtml.EndTagToken:
			if open == nil {
				continue
			}
			if depth > 0 {
				depth--
				continue
			}
			open.Text = strings.Join(strings.Fields(text.String()), " ")
			out = append(out, *open)
			open = nil
		case nethtml.TextToken:
			if open != nil {
				text.Write(z.Text())
			}
		}
	}
}

// headingLevel returns n for the tag name hn (1 to 6), else 0.
func headingLevel(name []byte) int {
	if len(name) == 2 && name[0] == 'h' && name[1] >= '1' && name[1] <= '6' {
		return int(name[1] - '0')
	}
	return 0
}

// isVoidElement reports whether an element of this name has no end tag.
func isVoidElement(name string) bool {
	switch name {
	case "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr":
		return true
	}
	return false
}
