package markdown_test

import (
	"fmt"
	"math"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"unicode"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/net/html"

	"github.com/beaconcms/beacon/platform/markdown"
)

func TestRenderHTML(t *testing.T) {
	tests := []struct {
		name    string
		src     string
		want    []string // substrings the HTML must contain
		wantNot []string // substrings the HTML must not contain
	}{
		{
			name: "paragraph and emphasis",
			src:  "Hello *world* and **you**.",
			want: []string{"<p>Hello <em>world</em> and <strong>you</strong>.</p>"},
		},
		{
			name: "table with alignment",
			src:  "| Food | kcal |\n|:-----|-----:|\n| Apple | 52 |\n",
			want: []string{
				"<table>", "<thead>", "<tbody>",
				`<th align="left">Food</th>`, `<th align="right">kcal</th>`,
				`<td align="left">Apple</td>`, `<td align="right">52</td>`,
			},
		},
		{
			name: "strikethrough",
			src:  "~~old advice~~ new advice",
			want: []string{"<del>old advice</del> new advice"},
		},
		{
			name: "bare url and www autolinks",
			src:  "See https://example.org/a and www.example.com today.",
			want: []string{
				`<a href="https://example.org/a" rel="nofollow">https://example.org/a</a>`,
				`<a href="http://www.example.com" rel="nofollow">www.example.com</a>`,
			},
		},
		{
			name: "angle bracket autolink and email",
			src:  "<https://example.org> <help@example.org>",
			want: []string{
				`<a href="https://example.org" rel="nofollow">https://example.org</a>`,
				`<a href="mailto:help@example.org">help@example.org</a>`,
			},
		},
		{
			name: "task list",
			src:  "- [x] done\n- [ ] todo\n",
			want: []string{
				`<li><input checked="" disabled="" type="checkbox"> done</li>`,
				`<li><input disabled="" type="checkbox"> todo</li>`,
			},
		},
		{
			name: "footnotes",
			src:  "Claim.[^1]\n\n[^1]: Source.\n",
			want: []string{
				`<sup id="fnref:1"><a href="#fn:1" class="footnote-ref" role="doc-noteref">1</a></sup>`,
				`<div class="footnotes" role="doc-endnotes">`,
				`<li id="fn:1">`,
				`<a href="#fnref:1" class="footnote-backref" role="doc-backlink">`,
			},
		},
		{
			name:    "relative and fragment links are kept without nofollow",
			src:     "[courses](/courses/diabetes) [top](#intro) [up](../a?b=c)",
			want:    []string{`<a href="/courses/diabetes">courses</a>`, `<a href="#intro">top</a>`, `<a href="../a?b=c">up</a>`},
			wantNot: []string{"nofollow"},
		},
		{
			name: "external link gets nofollow",
			src:  "[helpline](https://www.example.org/help)",
			want: []string{`<a href="https://www.example.org/help" rel="nofollow">helpline</a>`},
		},
		{
			name: "http image kept",
			src:  "![A plate](https://cdn.example.org/plate.png)",
			want: []string{`<img src="https://cdn.example.org/plate.png" alt="A plate">`},
		},
		{
			name:    "code is escaped",
			src:     "`<b>x</b>`\n\n```html\n<script>alert(1)</script>\n```\n",
			want:    []string{"<code>&lt;b&gt;x&lt;/b&gt;</code>", "&lt;script&gt;alert(1)&lt;/script&gt;"},
			wantNot: []string{"<b>", "<script"},
		},
		{
			name:    "raw inline html is omitted, its text stays",
			src:     "a <span style=\"color:red\">red</span> word",
			want:    []string{"<p>a red word</p>"},
			wantNot: []string{"<span", "style", "raw HTML omitted"},
		},
		{
			name:    "raw html block is omitted",
			src:     "<div class=\"x\">\nhidden\n</div>\n\nshown\n",
			want:    []string{"<p>shown</p>"},
			wantNot: []string{"<div", "hidden"},
		},
		{
			name:    "blockquote and lists",
			src:     "> quoted\n\n1. one\n2. two\n",
			want:    []string{"<blockquote>\n<p>quoted</p>\n</blockquote>", "<ol>\n<li>one</li>\n<li>two</li>\n</ol>"},
			wantNot: nil,
		},
		{
			name: "heading ids",
			src:  "# Über Diabetes\n## See [the guide](https://x.org/a)\n",
			want: []string{`<h1 id="uber-diabetes">Über Diabetes</h1>`, `<h2 id="see-the-guide">See <a`},
		},
	}
	r := markdown.NewRenderer()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := r.Render(tt.src).HTML
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("HTML lacks %q\nHTML:\n%s", w, got)
				}
			}
			for _, w := range tt.wantNot {
				if strings.Contains(got, w) {
					t.Errorf("HTML contains %q\nHTML:\n%s", w, got)
				}
			}
			checkSafeHTML(t, got)
		})
	}
}

// xssCase is a Markdown source that tries to get script into the output.
type xssCase struct {
	name, src string
	visible   string // text that must still be visible in the HTML, "" for none
}

// xssPayloads returns the XSS cases; they are part of FuzzRender's seed corpus too.
func xssPayloads() []xssCase {
	return []xssCase{
		{"script tag", "<script>alert(1)</script>", ""},
		{"script tag inline", "hi <script>alert(1)</script> there", "hi"},
		{"img onerror", "<img src=x onerror=alert(1)>", ""},
		{"svg onload", "<svg/onload=alert(1)>", ""},
		{"javascript link", "[x](javascript:alert(1))", "x"},
		{"mixed case javascript link", "[x](JaVaScRiPt:alert(1))", "x"},
		{"javascript link with whitespace", "[x](<java\tscript:alert(1)>)", "x"},
		{"javascript link leading space", "[x]( javascript:alert(1))", "x"},
		{"data html link", "[x](data:text/html,<script>alert(1)</script>)", "x"},
		{"data html base64 link", "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)", "x"},
		{"data image", "![x](data:image/png;base64,iVBORw0KGgo=)", ""},
		{"data svg image", "![x](data:image/svg+xml;base64,PHN2Zz48L3N2Zz4=)", ""},
		{"vbscript anchor", `<a href="vbscript:msgbox(1)">v</a>`, "v"},
		{"vbscript link", "[v](vbscript:msgbox(1))", "v"},
		{"iframe", `<iframe src="https://evil.example"></iframe>`, ""},
		{"iframe inline", `a <iframe src="javascript:alert(1)"></iframe> b`, "a"},
		{"object and embed", `<object data="x.swf"></object><embed src="x.swf">`, ""},
		{"style tag", "<style>body{display:none}</style>", ""},
		{"entity encoded javascript", "[x](&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;alert(1))", "x"},
		{"hex entity encoded javascript", "[x](&#x6A;avascript&#x3A;alert(1))", "x"},
		{"named entity colon", "[x](javascript&colon;alert(1))", "x"},
		{"entity tab in scheme", "[x](java&Tab;script:alert(1))", "x"},
		{"percent encoded colon", "[x](javascript%3Aalert(1))", "x"},
		{"autolink javascript", "<javascript:alert(1)>", ""},
		{"autolink vbscript", "<vbscript:msgbox(1)>", ""},
		{"autolink data", "<data:text/html,alert(1)>", ""},
		{"reference link javascript", "[x][r]\n\n[r]: javascript:alert(1)", "x"},
		{"image javascript", "![x](javascript:alert(1))", ""},
		{"link title breakout", `[x](https://example.org "a\" onmouseover=\"alert(1)")`, "x"},
		{"onclick in html block", "<div onclick=\"alert(1)\">click</div>", ""},
		{"form", `<form action="javascript:alert(1)"><button>go</button></form>`, ""},
		{"meta refresh", `<meta http-equiv="refresh" content="0;url=javascript:alert(1)">`, ""},
		{"nested markdown in html", "<a href=\"javascript:alert(1)\">**bold**</a>", "bold"},
		{"html comment", "<!-- <script>alert(1)</script> -->", ""},
		{"cdata", "<![CDATA[<script>alert(1)</script>]]>", ""},
	}
}

func TestRenderXSS(t *testing.T) {
	r := markdown.NewRenderer()
	for _, tt := range xssPayloads() {
		t.Run(tt.name, func(t *testing.T) {
			got := r.Render(tt.src)
			checkSafeHTML(t, got.HTML)
			if tt.visible != "" && !strings.Contains(got.HTML, tt.visible) {
				t.Errorf("HTML lost the visible text %q:\n%s", tt.visible, got.HTML)
			}
			if again := r.Sanitize(got.HTML); again != got.HTML {
				t.Errorf("sanitizing again changed the HTML:\n%s\n---\n%s", got.HTML, again)
			}
		})
	}
}

func TestRenderTOC(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []markdown.TOCEntry
	}{
		{"no headings", "just text", nil},
		{
			name: "levels and setext",
			src:  "# One\n\ntext\n\n## Two\n\n###### Six\n\nSetext\n======\n\nSub\n---\n",
			want: []markdown.TOCEntry{
				{Level: 1, Text: "One", Anchor: "one"},
				{Level: 2, Text: "Two", Anchor: "two"},
				{Level: 6, Text: "Six", Anchor: "six"},
				{Level: 1, Text: "Setext", Anchor: "setext"},
				{Level: 2, Text: "Sub", Anchor: "sub"},
			},
		},
		{
			name: "markup stripped from text and anchor",
			src:  "## *Eat* **well** with `code` and [links](https://x.org/y)\n",
			want: []markdown.TOCEntry{{Level: 2, Text: "Eat well with code and links", Anchor: "eat-well-with-code-and-links"}},
		},
		{
			name: "accents transliterated",
			src:  "# Über Größe & Ærø\n",
			want: []markdown.TOCEntry{{Level: 1, Text: "Über Größe & Ærø", Anchor: "uber-grosse-aero"}},
		},
		{
			name: "entities resolved in text",
			src:  "# Salt &amp; Sugar &lt;5g\n",
			want: []markdown.TOCEntry{{Level: 1, Text: "Salt & Sugar <5g", Anchor: "salt-sugar-5g"}},
		},
		{
			name: "duplicates get suffixes",
			src:  "# FAQ\n# FAQ\n# FAQ\n# FAQ 1\n",
			want: []markdown.TOCEntry{
				{Level: 1, Text: "FAQ", Anchor: "faq"},
				{Level: 1, Text: "FAQ", Anchor: "faq-1"},
				{Level: 1, Text: "FAQ", Anchor: "faq-2"},
				{Level: 1, Text: "FAQ 1", Anchor: "faq-1-1"},
			},
		},
		{
			name: "suffix skips ids taken by earlier headings",
			src:  "# Step 2\n# Step\n# Step\n# Step\n",
			want: []markdown.TOCEntry{
				{Level: 1, Text: "Step 2", Anchor: "step-2"},
				{Level: 1, Text: "Step", Anchor: "step"},
				{Level: 1, Text: "Step", Anchor: "step-1"},
				{Level: 1, Text: "Step", Anchor: "step-3"},
			},
		},
		{
			name: "no usable characters",
			src:  "# 日本語\n# !!!\n#\n",
			want: []markdown.TOCEntry{
				{Level: 1, Text: "日本語", Anchor: "heading"},
				{Level: 1, Text: "!!!", Anchor: "heading-1"},
				{Level: 1, Text: "", Anchor: "heading-2"},
			},
		},
		{
			name: "raw html and footnote refs left out",
			src:  "# Results <span>now</span>[^1]\n\n[^1]: note\n",
			want: []markdown.TOCEntry{{Level: 1, Text: "Results now", Anchor: "results-now"}},
		},
		{
			name: "footnote-like heading does not collide with footnote ids",
			src:  "# fn:1\n\nx[^1]\n\n[^1]: y\n",
			want: []markdown.TOCEntry{{Level: 1, Text: "fn:1", Anchor: "fn-1"}},
		},
		{
			name: "headings inside blockquote and list",
			src:  "> ## Quoted\n\n- ### Listed\n",
			want: []markdown.TOCEntry{
				{Level: 2, Text: "Quoted", Anchor: "quoted"},
				{Level: 3, Text: "Listed", Anchor: "listed"},
			},
		},
	}
	r := markdown.NewRenderer()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := r.Render(tt.src)
			if diff := cmp.Diff(tt.want, got.TOC); diff != "" {
				t.Errorf("TOC mismatch (-want +got):\n%s", diff)
			}
			checkTOCMatchesHTML(t, got)
		})
	}
}

func TestRenderCounts(t *testing.T) {
	words := func(n int) string { return strings.TrimSpace(strings.Repeat("word ", n)) }
	tests := []struct {
		name        string
		src         string
		wantWords   int
		wantMinutes int
	}{
		{"empty", "", 0, 0},
		{"whitespace only", " \n\t\n ", 0, 0},
		{"punctuation only", "— - * … !", 0, 0},
		{"one word", "Hello", 1, 1},
		{"markup not counted", "**bold** _em_ [link text](https://example.org/a/b/c) `code`", 5, 1},
		{"heading and list", "# Title here\n\n- one\n- two three\n", 5, 1},
		{"numbers count", "Take 2 tablets at 8.30", 5, 1},
		{"hyphenated is one word", "well-being check-up", 2, 1},
		{"raw html omitted", "<div>\nhidden words here\n</div>\n\nshown <b>bold</b>", 2, 1},
		{"image alt not counted", "![a long description of the image](https://x.org/i.png) caption", 1, 1},
		{"footnote ref not counted, note counted", "Claim[^1]\n\n[^1]: Source text.", 3, 1},
		{"table cells", "| a | b |\n|---|---|\n| c d | e |\n", 5, 1},
		{"220 words is one minute", words(220), 220, 1},
		{"221 words is two minutes", words(221), 221, 2},
		{"440 words", words(440), 440, 2},
		{"441 words", words(441), 441, 3},
	}
	r := markdown.NewRenderer()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := r.Render(tt.src)
			if got.WordCount != tt.wantWords {
				t.Errorf("WordCount = %d, want %d (plain text %q)", got.WordCount, tt.wantWords, r.PlainText(tt.src))
			}
			if got.ReadingTimeMinutes != tt.wantMinutes {
				t.Errorf("ReadingTimeMinutes = %d, want %d", got.ReadingTimeMinutes, tt.wantMinutes)
			}
		})
	}
}

func TestFleschReadingEase(t *testing.T) {
	tests := []struct {
		name     string
		src      string
		min, max float64
	}{
		{"empty", "", 0, 0},
		// 6 words, 1 sentence, 6 syllables: 206.835 - 1.015*6 - 84.6*1 = 116.145.
		{"monosyllabic sentence", "The cat sat on the mat.", 116.1, 116.1},
		// 12 words, 2 sentences, 12 syllables: 206.835 - 1.015*6 - 84.6 = 116.145.
		{"two sentences averaged", "The cat sat on the mat. The dog lay by the door!", 116.1, 116.1},
		// One sentence of 13 words: 206.835 - 1.015*13 - 84.6 = 109.04.
		{"sentence length matters", "The cat sat on the mat and the dog lay by the door", 109.0, 109.0},
		// 1 word of 2 syllables: 206.835 - 1.015 - 169.2 = 36.62.
		{"syllables weigh in", "Water.", 36.6, 36.6},
		// Plain-language patient text: 26 words, 5 sentences, 37 syllables by a
		// dictionary gives 81.1; swapped coefficients or a missing term fall far
		// outside the range.
		{
			"plain patient text",
			"Drink plenty of water every day. Eat fresh fruit and vegetables. Walk for thirty minutes. " +
				"Sleep well at night. Ask your doctor if you feel unwell.",
			75, 90,
		},
		// Dense clinical prose: 15 words, 1 sentence, about 63 syllables gives
		// about -164.
		{
			"dense clinical text",
			"Pharmacological interventions targeting glycaemic variability necessitate individualised " +
				"therapeutic considerations, particularly regarding hypoglycaemia in elderly populations.",
			-200, -120,
		},
	}
	r := markdown.NewRenderer()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := r.Render(tt.src).FleschReadingEase
			if got < tt.min || got > tt.max {
				t.Errorf("FleschReadingEase = %v, want in [%v, %v]", got, tt.min, tt.max)
			}
			if rounded := math.Round(got*10) / 10; rounded != got {
				t.Errorf("FleschReadingEase = %v, not rounded to one decimal", got)
			}
		})
	}
}

func TestCountSyllables(t *testing.T) {
	tests := []struct {
		word string
		want int
	}{
		{"the", 1},
		{"cat", 1},
		{"health", 1},
		{"you", 1},
		{"water", 2},
		{"make", 1},
		{"whole", 1},
		{"creature", 2},
		{"table", 2},
		{"people", 2},
		{"agree", 2},
		{"helped", 1},
		{"played", 1},
		{"needed", 2},
		{"wanted", 2},
		{"makes", 1},
		{"boxes", 2},
		{"changes", 2},
		{"washes", 2},
		{"nutrition", 3},
		{"vegetable", 4},
		{"Medicine,", 3},
		{"café", 2},
		{"42", 1},
		{"%", 1},
		{"a", 1},
	}
	for _, tt := range tests {
		if got := markdown.CountSyllables(tt.word); got != tt.want {
			t.Errorf("countSyllables(%q) = %d, want %d", tt.word, got, tt.want)
		}
	}
}

func TestPlainText(t *testing.T) {
	tests := []struct {
		name, src, want string
	}{
		{"empty", "", ""},
		{"paragraphs", "One\ntwo.\n\nThree  four.", "One two.\n\nThree four."},
		{"markup removed", "# Title\n\n**Bold** and _em_ and [a link](https://x.org) and `co<de>`.", "Title\n\nBold and em and a link and co<de>."},
		{"entities and escapes resolved", "AT&amp;T \\*not em\\* &copy; &#65;", "AT&T *not em* © A"},
		{"lists and tasks", "- [x] done\n- todo\n  1. nested", "done\n\ntodo\n\nnested"},
		{"table rows", "| a | b |\n|---|---|\n| c | d |", "a b\n\nc d"},
		{"code block", "```go\nfmt.Println(\"<hi>\")\n```", "fmt.Println(\"<hi>\")"},
		{"raw html and images left out", "<p>raw</p>\n\nx <em>y</em> ![alt](i.png)", "x y"},
		{"footnotes", "Claim[^n].\n\n[^n]: Source.", "Claim.\n\nSource."},
		{"autolinks", "<https://x.org/a?b&c> www.example.com", "https://x.org/a?b&c www.example.com"},
		{"script text is just text", "&lt;script&gt;", "<script>"},
	}
	r := markdown.NewRenderer()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := r.PlainText(tt.src); got != tt.want {
				t.Errorf("PlainText(%q) = %q, want %q", tt.src, got, tt.want)
			}
		})
	}
}

func TestRenderArticle(t *testing.T) {
	src := readArticle(t)
	r := markdown.NewRenderer()
	got := r.Render(src)
	checkRendering(t, r, src, got)
	wantTOC := []markdown.TOCEntry{
		{Level: 1, Text: "Living Well with Type 2 Diabetes", Anchor: "living-well-with-type-2-diabetes"},
		{Level: 2, Text: "What Happens in Your Body", Anchor: "what-happens-in-your-body"},
		{Level: 2, Text: "Eating for Steady Blood Sugar", Anchor: "eating-for-steady-blood-sugar"},
		{Level: 3, Text: "Build a Balanced Plate", Anchor: "build-a-balanced-plate"},
		{Level: 3, Text: "Understand Carbohydrates", Anchor: "understand-carbohydrates"},
		{Level: 2, Text: "Moving More", Anchor: "moving-more"},
		{Level: 2, Text: "Checking Your Blood Sugar", Anchor: "checking-your-blood-sugar"},
		{Level: 3, Text: "Signs of Low Blood Sugar", Anchor: "signs-of-low-blood-sugar"},
		{Level: 2, Text: "Medicines and Treatment", Anchor: "medicines-and-treatment"},
		{Level: 2, Text: "Looking After Your Feet, Eyes and Heart", Anchor: "looking-after-your-feet-eyes-and-heart"},
		{Level: 2, Text: "Looking After Your Mind", Anchor: "looking-after-your-mind"},
		{Level: 2, Text: "Key Points", Anchor: "key-points"},
	}
	if diff := cmp.Diff(wantTOC, got.TOC); diff != "" {
		t.Errorf("TOC mismatch (-want +got):\n%s", diff)
	}
	if got.WordCount < 910 || got.WordCount > 950 { // a crude wc-style count of the source gives 933
		t.Errorf("WordCount = %d, want 910-950", got.WordCount)
	}
	if got.ReadingTimeMinutes != 5 {
		t.Errorf("ReadingTimeMinutes = %d, want 5", got.ReadingTimeMinutes)
	}
	// Patient education material written in plain English scores 60-80.
	if got.FleschReadingEase < 55 || got.FleschReadingEase > 85 {
		t.Errorf("FleschReadingEase = %v, want 55-85", got.FleschReadingEase)
	}
}

func TestRendererConcurrent(t *testing.T) {
	r := markdown.NewRenderer()
	srcs := []string{readArticle(t), "# A\n# A\n\nx[^1]\n\n[^1]: y", "| a |\n|---|\n| b |"}
	want := make([]markdown.Rendering, len(srcs))
	for i, s := range srcs {
		want[i] = r.Render(s)
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 20 {
				k := (g + i) % len(srcs)
				if diff := cmp.Diff(want[k], r.Render(srcs[k])); diff != "" {
					t.Errorf("concurrent Render differs (-want +got):\n%s", diff)
					return
				}
			}
		})
	}
	wg.Wait()
}

func FuzzRender(f *testing.F) {
	for _, p := range xssPayloads() {
		f.Add(p.src)
	}
	for _, s := range []string{
		"",
		"# Title\n\nSome *text* with a [link](https://example.org).",
		"| a | b |\n|:--|--:|\n| 1 | 2 |",
		"- [x] done\n- [ ] todo",
		"Note[^1].\n\n[^1]: Footnote with **bold**.",
		"~~strike~~ www.example.com <mail@example.org>",
		"# Dup\n# Dup\n## Dup 1\nSetext\n===",
		"```\n<script>\n```",
		"> quote\n>\n> > nested",
		"&amp; &#0; &#x110000; &bogus; \\*",
		"a\x00b\xff\xfe",
		"[a]: <javascript:alert(1)> \"t\"\n\n[a]",
		"*[x](javascript:alert(1))*",
	} {
		f.Add(s)
	}
	if src, err := os.ReadFile("testdata/article.md"); err == nil {
		f.Add(string(src))
	}
	r := markdown.NewRenderer()
	f.Fuzz(func(t *testing.T, src string) {
		checkRendering(t, r, src, r.Render(src))
	})
}

func BenchmarkRender(b *testing.B) {
	src := readArticle(b)
	r := markdown.NewRenderer()
	b.SetBytes(int64(len(src)))
	b.ReportAllocs()
	for b.Loop() {
		r.Render(src)
	}
}

func readArticle(tb testing.TB) string {
	tb.Helper()
	src, err := os.ReadFile("testdata/article.md")
	if err != nil {
		tb.Fatal(err)
	}
	return string(src)
}

// checkRendering asserts the invariants every Rendering must satisfy.
func checkRendering(tb testing.TB, r *markdown.Renderer, src string, got markdown.Rendering) {
	tb.Helper()
	checkSafeHTML(tb, got.HTML)
	if toc := markdown.TOCFromHTML(got.HTML); !slices.Equal(toc, got.TOC) {
		tb.Errorf("TOCFromHTML(HTML) = %+v\nwant the rendering's TOC %+v", toc, got.TOC)
	}
	if again := r.Sanitize(got.HTML); again != got.HTML {
		tb.Errorf("sanitizing the output again changed it:\n%q\n---\n%q", got.HTML, again)
	}
	checkTOCMatchesHTML(tb, got)

	if got.WordCount < 0 {
		tb.Errorf("WordCount = %d < 0", got.WordCount)
	}
	if want := countWords(r.PlainText(src)); got.WordCount != want {
		tb.Errorf("WordCount = %d, but PlainText has %d words", got.WordCount, want)
	}
	if want := (got.WordCount + 219) / 220; got.ReadingTimeMinutes != want {
		tb.Errorf("ReadingTimeMinutes = %d for %d words, want %d", got.ReadingTimeMinutes, got.WordCount, want)
	}
	f := got.FleschReadingEase
	if math.IsNaN(f) || math.IsInf(f, 0) {
		tb.Errorf("FleschReadingEase = %v", f)
	}
	// With at least one syllable per word and one word per sentence, the score
	// cannot exceed 206.835 - 1.015 - 84.6.
	if f > 121.3 {
		tb.Errorf("FleschReadingEase = %v > 121.2", f)
	}
	if got.WordCount == 0 && f != 0 {
		tb.Errorf("FleschReadingEase = %v without words, want 0", f)
	}
}

// countWords counts whitespace-separated fields with a letter or digit.
func countWords(s string) int {
	n := 0
	for _, f := range strings.Fields(s) {
		if strings.IndexFunc(f, func(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }) >= 0 {
			n++
		}
	}
	return n
}

// isForbiddenTag reports whether an element must never appear in sanitized output.
func isForbiddenTag(name string) bool {
	switch name {
	case "script", "style", "iframe", "frame", "frameset", "object", "embed", "applet",
		"form", "base", "meta", "link", "svg", "math", "template":
		return true
	}
	return false
}

// isURLAttr reports whether a browser loads or navigates to an attribute's value.
func isURLAttr(key string) bool {
	switch key {
	case "href", "src", "srcset", "action", "formaction", "cite", "poster", "background",
		"data", "xlink:href", "longdesc", "usemap", "ping":
		return true
	}
	return false
}

// checkSafeHTML asserts that html, parsed the way a browser tokenizes it, has no
// script-capable elements, no event-handler attributes and no URL with a scheme
// other than http, https or mailto.
func checkSafeHTML(tb testing.TB, s string) {
	tb.Helper()
	if strings.Contains(strings.ToLower(s), "<script") {
		tb.Errorf("output contains <script:\n%s", s)
	}
	z := html.NewTokenizer(strings.NewReader(s))
	for {
		tt := z.Next()
		if tt == html.ErrorToken {
			return
		}
		if tt != html.StartTagToken && tt != html.SelfClosingTagToken && tt != html.EndTagToken {
			continue
		}
		tok := z.Token()
		if isForbiddenTag(tok.Data) {
			tb.Errorf("output contains a <%s> element:\n%s", tok.Data, s)
		}
		for _, a := range tok.Attr {
			key := strings.ToLower(a.Key)
			if strings.HasPrefix(key, "on") {
				tb.Errorf("output has event handler attribute %s=%q on <%s>:\n%s", a.Key, a.Val, tok.Data, s)
			}
			if key == "style" {
				tb.Errorf("output has a style attribute on <%s>:\n%s", tok.Data, s)
			}
			if isURLAttr(key) {
				if err := checkURL(a.Val); err != nil {
					tb.Errorf("output <%s %s=%q>: %v:\n%s", tok.Data, a.Key, a.Val, err, s)
				}
			}
		}
	}
}

// checkURL reports an error unless the attribute value (as the tokenizer, like a
// browser, unescaped it) is relative or uses http, https or mailto, and unless it is
// free of javascript:, vbscript: and data: even after a second HTML-unescape.
func checkURL(val string) error {
	// dropSpace removes what URL parsers ignore or strip: ASCII whitespace
	// and control characters.
	dropSpace := func(s string) string {
		return strings.Map(func(r rune) rune {
			if r <= ' ' || r == 0x7f {
				return -1
			}
			return r
		}, s)
	}
	// Paranoid check: also unescape once more, in case a consumer
	// double-decodes.
	paranoid := strings.ToLower(dropSpace(html.UnescapeString(val)))
	for _, bad := range []string{"javascript:", "vbscript:", "data:"} {
		if strings.HasPrefix(paranoid, bad) {
			return fmt.Errorf("forbidden scheme %q", bad)
		}
	}
	// The browser's view: a scheme is an ASCII letter followed by letters,
	// digits, '+', '-' or '.', up to the first ':'; without one the URL is
	// relative.
	v := strings.ToLower(dropSpace(val))
	colon := strings.IndexByte(v, ':')
	if colon <= 0 || v[0] < 'a' || v[0] > 'z' {
		return nil
	}
	scheme := v[:colon]
	if strings.IndexFunc(scheme, func(r rune) bool {
		return !('a' <= r && r <= 'z' || '0' <= r && r <= '9' || r == '+' || r == '-' || r == '.')
	}) >= 0 {
		return nil
	}
	switch scheme {
	case "http", "https", "mailto":
		return nil
	}
	return fmt.Errorf("scheme %q not allowed", scheme)
}

// checkTOCMatchesHTML asserts that the headings of the HTML are exactly the TOC
// entries, in order, with matching levels and ids.
func checkTOCMatchesHTML(tb testing.TB, got markdown.Rendering) {
	tb.Helper()
	var headings []markdown.TOCEntry
	z := html.NewTokenizer(strings.NewReader(got.HTML))
	for {
		tt := z.Next()
		if tt == html.ErrorToken {
			break
		}
		if tt != html.StartTagToken {
			continue
		}
		tok := z.Token()
		if len(tok.Data) != 2 || tok.Data[0] != 'h' || tok.Data[1] < '1' || tok.Data[1] > '6' {
			continue
		}
		e := markdown.TOCEntry{Level: int(tok.Data[1] - '0')}
		for _, a := range tok.Attr {
			if a.Key == "id" {
				e.Anchor = a.Val
			}
		}
		headings = append(headings, e)
	}
	if len(headings) != len(got.TOC) {
		tb.Errorf("HTML has %d headings, TOC has %d entries\nHTML:\n%s\nTOC: %+v", len(headings), len(got.TOC), got.HTML, got.TOC)
		return
	}
	seen := map[string]bool{}
	for i, h := range headings {
		e := got.TOC[i]
		if h.Level != e.Level || h.Anchor != e.Anchor {
			tb.Errorf("heading %d in HTML is h%d id=%q, TOC entry is %+v", i, h.Level, h.Anchor, e)
		}
		if e.Anchor == "" {
			tb.Errorf("TOC entry %d has an empty anchor", i)
		}
		if seen[e.Anchor] {
			tb.Errorf("anchor %q is used twice", e.Anchor)
		}
		seen[e.Anchor] = true
	}
}

// RenderWithText gives what Render and PlainText give, from one parse.
func TestRenderWithText(t *testing.T) {
	t.Parallel()
	r := markdown.NewRenderer()
	for _, src := range []string{
		"",
		"# Kratom withdrawal\n\nDay *one* to three.\n\n## Sleep\n\n- a\n- b\n",
		"| a | b |\n|---|---|\n| 1 | 2 |\n\nText[^1].\n\n[^1]: A note.",
		"<script>x</script> &amp; \\*escaped\\*",
	} {
		gotR, gotText := r.RenderWithText(src)
		if diff := cmp.Diff(r.Render(src), gotR); diff != "" {
			t.Errorf("%q: rendering (-Render +RenderWithText):\n%s", src, diff)
		}
		if want := r.PlainText(src); gotText != want {
			t.Errorf("%q: text %q, PlainText %q", src, gotText, want)
		}
	}
}
