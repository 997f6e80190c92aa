package claimlint

import (
	"regexp"
	"sort"
	"strings"
	"unicode/utf8"
)

// maxLinkLen bounds how far a link destination is looked for after "](".
const maxLinkLen = 4096

// span is a byte range [start, end) of a field's text.
type span struct{ start, end int }

func (s span) contains(o span) bool { return s.start <= o.start && o.end <= s.end }

// suppression is one lint-ignore marker: the rules it names, its reason, and the passage it
// covers (from the marker to the end of the next block).
type suppression struct {
	marker span
	covers span
	rules  []string
	reason string
}

// text is one field prepared for matching. All the strings have the same length as src, byte for
// byte, so an offset in any of them is an offset in the Markdown the author wrote:
//   - visible: src with HTML comments blanked (comments are not shown to readers);
//   - masked: visible with quotations, block quotes and "instead of saying" table columns
//     blanked; patterns that produce findings run on it;
//   - lower, lowerVisible: ASCII-lowercased masked and visible, for the keyword prefilter.
type text struct {
	field        string
	src          string
	visible      string
	masked       string
	lower        string
	lowerVisible string
	blocks       []span // paragraphs, list and table blocks, headings; in order
	headings     []int  // indexes into blocks of heading blocks
	lineStarts   []int
	markers      []suppression
	// kwMasked and kwVisible are, per block, the keywords found in lower and lowerVisible
	// (computed on first use).
	kwMasked, kwVisible []bitset
}

func (t *text) keywordSets(x *keywordIndex, masked bool) []bitset {
	if masked {
		if t.kwMasked == nil {
			t.kwMasked = x.scan(t, t.lower)
		}
		return t.kwMasked
	}
	if t.kwVisible == nil {
		t.kwVisible = x.scan(t, t.lowerVisible)
	}
	return t.kwVisible
}

var (
	commentRE = regexp.MustCompile(`(?s)<!--.*?-->`)
	// markerRE reads a suppression marker: <!-- lint-ignore rule-a, rule-b: reason -->.
	markerRE = regexp.MustCompile(`(?s)^<!--\s*lint-ignore\s+([A-Za-z0-9_,\s-]*?)\s*(?::\s*(.*?))?\s*-->$`)
	// linkDestinationRE finds the destination (and title) of an inline link or image.
	linkDestinationRE = regexp.MustCompile(`^\]\((<[^>\n]*>|[^()\s]*(?:\([^()\s]*\)[^()\s]*)*)(?:\s+(?:"[^"\n]*"|'[^'\n]*'))?\)`)
	// referenceDefinitionRE finds a link reference definition's destination (not a footnote's).
	referenceDefinitionRE = regexp.MustCompile(`^ {0,3}\[[^\]^\n][^\]\n]*\]:[ \t]*(\S+.*)$`)
	// insteadHeaderRE recognises the header cell of a column of phrasings to avoid.
	insteadHeaderRE = regexp.MustCompile(`(?i)\b(instead of|don'?t say|do not say|avoid saying|words to avoid|not this)\b`)
)

func newText(field, src string) *text {
	t := &text{field: field, src: src}
	vis := []byte(src)
	for _, m := range commentRE.FindAllStringIndex(src, -1) {
		blank(vis, m[0], m[1])
		if mm := markerRE.FindStringSubmatch(src[m[0]:m[1]]); mm != nil {
			var rules []string
			for _, r := range strings.FieldsFunc(mm[1], func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\n' }) {
				rules = append(rules, r)
			}
			t.markers = append(t.markers, suppression{marker: span{m[0], m[1]}, rules: rules, reason: strings.TrimSpace(mm[2])})
		}
	}
	t.visible = string(vis)
	t.lineStarts = lineStarts(src)
	t.blocks, t.headings = splitBlocks(t.visible)
	for i := range t.markers {
		t.markers[i].covers = span{t.markers[i].marker.start, t.nextBlockEnd(t.markers[i].marker.end)}
	}
	masked := vis // vis is not used again: mask in place
	// Link destinations are not shown to readers: "[more](/articles/withdrawal)" and reference
	// definitions "[c]: /v1/sites/x/screeners/y" say nothing.
	// The expressions run anchored where a link can start, not over the whole text.
	for i := 0; ; {
		j := strings.Index(t.visible[i:], "](")
		if j < 0 {
			break
		}
		j += i
		if m := linkDestinationRE.FindStringSubmatchIndex(t.visible[j:min(len(t.visible), j+maxLinkLen)]); m != nil {
			blank(masked, j+m[2], j+m[3])
		}
		i = j + 2
	}
	for _, ls := range t.lineStarts {
		if ls < len(t.visible) && strings.HasPrefix(strings.TrimLeft(t.visible[ls:min(len(t.visible), ls+4)], " "), "[") {
			end := strings.IndexByte(t.visible[ls:], '\n')
			if end < 0 {
				end = len(t.visible) - ls
			}
			if m := referenceDefinitionRE.FindStringSubmatchIndex(t.visible[ls : ls+end]); m != nil {
				blank(masked, ls+m[2], ls+m[3])
			}
		}
	}
	for _, b := range t.blocks {
		maskBlockQuotes(masked, b)
		maskQuotations(masked, b)
		maskInsteadColumns(masked, b)
	}
	t.masked = string(masked)
	t.lower = asciiLower(t.masked)
	t.lowerVisible = asciiLower(t.visible)
	return t
}

// blank replaces b[start:end] by spaces, keeping newlines so lines and blocks stay where they are.
func blank(b []byte, start, end int) {
	for i := start; i < end; i++ {
		if b[i] != '\n' {
			b[i] = ' '
		}
	}
}

func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

func lineStarts(s string) []int {
	starts := []int{0}
	for i := 0; i < len(s); i++ {
		if s[i] == '\n' {
			starts = append(starts, i+1)
		}
	}
	return starts
}

// position returns the 1-based line and column (in characters) of byte offset off.
func (t *text) position(off int) (line, col int) {
	i := sort.Search(len(t.lineStarts), func(i int) bool { return t.lineStarts[i] > off }) - 1
	return i + 1, utf8.RuneCountInString(t.src[t.lineStarts[i]:off]) + 1
}

// splitBlocks splits Markdown into blocks: runs of non-blank lines separated by blank lines, with
// each ATX heading line a block of its own, and each list item and footnote definition starting
// a block (an item is a paragraph of its own: "the same paragraph" means the same item).
func splitBlocks(s string) (blocks []span, headings []int) {
	start := -1
	flush := func(end int) {
		if start >= 0 {
			blocks = append(blocks, span{start, end})
			start = -1
		}
	}
	for pos := 0; pos < len(s); {
		end := strings.IndexByte(s[pos:], '\n')
		next := len(s)
		if end < 0 {
			end = len(s)
		} else {
			end += pos
			next = end + 1
		}
		line := s[pos:end]
		trimmed := strings.TrimLeft(line, " \t")
		switch {
		case strings.TrimSpace(line) == "":
			flush(pos)
		case isHeading(trimmed):
			flush(pos)
			headings = append(headings, len(blocks))
			blocks = append(blocks, span{pos, end})
		case isListItem(trimmed) || strings.HasPrefix(line, "[^"):
			flush(pos)
			start = pos
		default:
			if start < 0 {
				start = pos
			}
		}
		pos = next
	}
	flush(len(s))
	return blocks, headings
}

func isListItem(line string) bool {
	return line != "" && line[0] != '|' && line[0] != '#' && line[0] != '>' && startsBlockLine(line)
}

// isFootnote reports whether block b is a footnote definition ("[^label]: text"): a note on a
// claim made elsewhere, often its source.
func (t *text) isFootnote(b span) bool {
	s := t.visible[b.start:b.end]
	i := strings.Index(s, "]:")
	return strings.HasPrefix(s, "[^") && i > 2 && !strings.ContainsAny(s[2:i], " \n]")
}

func isHeading(line string) bool {
	n := 0
	for n < len(line) && line[n] == '#' {
		n++
	}
	return n >= 1 && n <= 6 && (n == len(line) || line[n] == ' ' || line[n] == '\t')
}

// nextBlockEnd returns where the passage a marker ending at off covers ends: the end of the next
// run of non-blank lines (a paragraph, a whole list, a table), or of the rest of the marker's own
// line when text follows it there.
func (t *text) nextBlockEnd(off int) int {
	s := t.visible
	i := off
	for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r') {
		i++
	}
	for i < len(s) {
		nl := strings.IndexByte(s[i:], '\n')
		if nl < 0 {
			return len(s)
		}
		i += nl + 1
		lineEnd := strings.IndexByte(s[i:], '\n')
		if lineEnd < 0 {
			lineEnd = len(s) - i
		}
		if strings.TrimSpace(s[i:i+lineEnd]) == "" {
			return i
		}
	}
	return len(s)
}

// blockIndex returns the index of the block containing off, or -1.
func (t *text) blockIndex(off int) int {
	i := sort.Search(len(t.blocks), func(i int) bool { return t.blocks[i].end > off })
	if i < len(t.blocks) && t.blocks[i].start <= off {
		return i
	}
	return -1
}

// paragraph returns the block containing off (an empty span at off when there is none).
func (t *text) paragraph(off int) span {
	if i := t.blockIndex(off); i >= 0 {
		return t.blocks[i]
	}
	return span{off, off}
}

// section returns the text from the heading before off to the next heading.
func (t *text) section(off int) span {
	s := span{0, len(t.src)}
	for _, h := range t.headings {
		b := t.blocks[h]
		if b.start <= off {
			s.start = b.start
		} else {
			s.end = b.start
			break
		}
	}
	return s
}

// sentence returns the sentence containing off, within its block. Sentences end at ., ! or ?
// followed by a space or the end, at a table cell border, and at a line break that starts a list
// item, table row, heading or quote (a soft-wrapped line continues the sentence).
func (t *text) sentence(off int) span {
	b := t.paragraph(off)
	s := t.visible
	start := off
	for start > b.start && !sentenceBreakBefore(s, start, b) {
		start--
	}
	end := off
	for end < b.end && !sentenceBreakBefore(s, end, b) {
		end++
	}
	return span{start, end}
}

// sentenceBreakBefore reports whether a sentence boundary lies just before s[i].
func sentenceBreakBefore(s string, i int, b span) bool {
	if i <= b.start || i >= b.end {
		return true
	}
	prev := s[i-1]
	switch prev {
	case '|':
		return true
	case '\n':
		rest := strings.TrimLeft(s[i:b.end], " \t")
		return rest == "" || startsBlockLine(rest)
	case '.', '!', '?':
		return s[i] == ' ' || s[i] == '\n' || s[i] == '\t'
	}
	return s[i] == '|'
}

func startsBlockLine(line string) bool {
	if line == "" {
		return false
	}
	switch line[0] {
	case '-', '*', '+':
		return len(line) > 1 && (line[1] == ' ' || line[1] == '\t')
	case '|', '#', '>':
		return true
	}
	i := 0
	for i < len(line) && i < 9 && line[i] >= '0' && line[i] <= '9' {
		i++
	}
	return i > 0 && i+1 < len(line) && (line[i] == '.' || line[i] == ')') && line[i+1] == ' '
}

// maskBlockQuotes blanks the lines of b that are Markdown block quotes ("> ...").
func maskBlockQuotes(b []byte, blk span) {
	for pos := blk.start; pos < blk.end; {
		end := indexByteFrom(b, pos, blk.end, '\n')
		line := strings.TrimLeft(string(b[pos:end]), " ")
		if strings.HasPrefix(line, ">") && end-pos-len(line) <= 3 {
			blank(b, pos, end)
		}
		pos = end + 1
	}
}

func indexByteFrom(b []byte, from, to int, c byte) int {
	for i := from; i < to; i++ {
		if b[i] == c {
			return i
		}
	}
	return to
}

// maskQuotations blanks text between paired quotation marks within a block: straight double
// quotes pair up in order, curly ones open with “ and close with ”. An unpaired mark masks
// nothing. Single quotes are left alone: they double as apostrophes.
func maskQuotations(b []byte, blk span) {
	open := -1
	for i := blk.start; i < blk.end; i++ {
		if b[i] == '"' {
			if open < 0 {
				open = i
			} else {
				blank(b, open, i+1)
				open = -1
			}
		}
	}
	s := string(b[blk.start:blk.end])
	const lq, rq = "“", "”"
	for from := 0; ; {
		o := strings.Index(s[from:], lq)
		if o < 0 {
			return
		}
		o += from
		c := strings.Index(s[o+len(lq):], rq)
		if c < 0 {
			return
		}
		c += o + len(lq) + len(rq)
		blank(b, blk.start+o, blk.start+c)
		from = c
	}
}

// maskInsteadColumns blanks, in a Markdown table whose header names phrasings to avoid ("Instead
// of saying...", "Don't say"), the cells of that column: those are examples of what not to write.
func maskInsteadColumns(b []byte, blk span) {
	var lines []span
	for pos := blk.start; pos < blk.end; {
		end := indexByteFrom(b, pos, blk.end, '\n')
		lines = append(lines, span{pos, end})
		pos = end + 1
	}
	for i := 0; i+1 < len(lines); i++ {
		header := string(b[lines[i].start:lines[i].end])
		if !strings.Contains(header, "|") || !isDelimiterRow(string(b[lines[i+1].start:lines[i+1].end])) {
			continue
		}
		cols := map[int]bool{}
		for c, cell := range tableCells(header) {
			if insteadHeaderRE.MatchString(header[cell.start:cell.end]) {
				cols[c] = true
			}
		}
		if len(cols) == 0 {
			continue
		}
		for j := i; j < len(lines) && strings.Contains(string(b[lines[j].start:lines[j].end]), "|"); j++ {
			row := string(b[lines[j].start:lines[j].end])
			for c, cell := range tableCells(row) {
				if cols[c] {
					blank(b, lines[j].start+cell.start, lines[j].start+cell.end)
				}
			}
		}
	}
}

var delimiterRowRE = regexp.MustCompile(`^\s*\|?\s*:?-+:?\s*(\|\s*:?-+:?\s*)*\|?\s*$`)

func isDelimiterRow(line string) bool { return delimiterRowRE.MatchString(line) }

// tableCells returns the byte ranges of a table row's cells (without the pipes). A leading and a
// trailing pipe are optional, as in GFM; an escaped pipe (\|) does not split a cell.
func tableCells(row string) []span {
	var cells []span
	start := 0
	trimmed := strings.TrimLeft(row, " \t")
	if strings.HasPrefix(trimmed, "|") {
		start = len(row) - len(trimmed) + 1
	}
	for i := start; i < len(row); i++ {
		switch row[i] {
		case '\\':
			i++
		case '|':
			cells = append(cells, span{start, i})
			start = i + 1
		}
	}
	if strings.TrimSpace(row[start:]) != "" {
		cells = append(cells, span{start, len(row)})
	}
	return cells
}
