package claimlint_test

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/beaconcms/beacon/platform/claimlint"
)

func TestPositions(t *testing.T) {
	body := "# Über\n\nCafé — “quoted addict” and then an addict.\n"
	fs := ofRule(lintBody(builtin(t), body, baseFacts()), "stigmatising-term")
	if len(fs) != 1 {
		t.Fatalf("got %+v, want one finding (the quoted one is not the author's claim)", fs)
	}
	f := fs[0]
	wantOff := strings.LastIndex(body, "addict")
	if f.Offset != wantOff || f.Line != 3 || f.Match != "addict" || f.Field != "body" {
		t.Errorf("got %+v, want offset %d, line 3", f, wantOff)
	}
	// Columns count characters: "Café — “quoted addict” and then an " is 35 characters.
	if want := len([]rune(body[strings.Index(body, "Café"):wantOff])) + 1; f.Column != want {
		t.Errorf("column %d, want %d", f.Column, want)
	}
}

func TestFieldsAreLintedInOrderWithMetadataLast(t *testing.T) {
	e := builtin(t)
	facts := baseFacts()
	facts.Reviewers = nil
	fs := e.Lint(claimlint.Input{Context: claimlint.ContextArticle, Facts: facts, Fields: []claimlint.Field{
		{Name: "title", Markdown: "Why addicts relapse"},
		{Name: "summary", Markdown: "Junkies and withdrawal treatment."},
		{Name: "body", Markdown: "Call 911 or 988 if you are in crisis.\n\n- seizure\n- trouble breathing"},
	}})
	var fields []string
	for _, f := range fs {
		if len(fields) == 0 || fields[len(fields)-1] != f.Field {
			fields = append(fields, f.Field)
		}
	}
	if !slices.Equal(fields, []string{"title", "summary", "reviewers"}) {
		t.Errorf("fields in order %v; findings %+v", fields, fs)
	}
}

func TestProperNouns(t *testing.T) {
	e := builtin(t)
	in := claimlint.Input{Context: claimlint.ContextResource, Fields: []claimlint.Field{
		{Name: "description", Markdown: "The Council on Alcohol and Drug Abuse runs groups. We do not judge drug abuse."}}}
	if got := ofRule(e.Lint(in), "stigmatising-term"); len(got) != 2 {
		t.Fatalf("without proper nouns: %+v", got)
	}
	in.Facts.ProperNouns = []string{"Council on Alcohol and Drug Abuse"}
	got := ofRule(e.Lint(in), "stigmatising-term")
	if len(got) != 1 || got[0].Offset != strings.LastIndex(in.Fields[0].Markdown, "drug abuse") {
		t.Errorf("with the organization's name allowed: %+v, want only the second", got)
	}
}

func TestDescribe(t *testing.T) {
	f := ofRule(lintBody(builtin(t), "## A\n\nThey are addicts.", baseFacts()), "stigmatising-term")[0]
	if got, want := f.PreconditionType(), "LINT_STIGMATISING_TERM"; got != want {
		t.Errorf("PreconditionType %q, want %q", got, want)
	}
	if got := f.Describe(); !strings.HasPrefix(got, `stigmatising-term (error) at line 3, column 10 "addicts": Stigmatising term.`) {
		t.Errorf("Describe: %q", got)
	}
}

func TestSkipMetadata(t *testing.T) {
	e := builtin(t)
	facts := baseFacts()
	facts.Reviewers = nil
	in := claimlint.Input{Context: claimlint.ContextArticle, Facts: facts, Fields: []claimlint.Field{{Name: "body", Markdown: "Withdrawal treatment. They are addicts."}}}
	if len(ofRule(e.Lint(in), "review-clinical-reviewer")) != 1 {
		t.Fatal("no review-clinical-reviewer finding without a reviewer")
	}
	in.SkipMetadata = true
	fs := e.Lint(in)
	for _, f := range fs {
		if f.Line == 0 {
			t.Errorf("metadata finding with SkipMetadata: %+v", f)
		}
	}
	if len(ofRule(fs, "stigmatising-term")) != 1 {
		t.Errorf("SkipMetadata dropped a text finding: %+v", fs)
	}
}

func TestSuppressionMarker(t *testing.T) {
	e := builtin(t)
	body := "<!-- lint-ignore stigmatising-term: quoting the seed to correct it -->\nThey are addicts.\nStill the same paragraph: addict.\n\nA new paragraph: addict."
	fs := ofRule(lintBody(e, body, baseFacts()), "stigmatising-term")
	if len(fs) != 3 {
		t.Fatalf("got %+v, want three findings", fs)
	}
	for i, want := range []string{"quoting the seed to correct it", "quoting the seed to correct it", ""} {
		if fs[i].Suppressed != want {
			t.Errorf("finding %d (%q at line %d): suppressed %q, want %q", i, fs[i].Match, fs[i].Line, fs[i].Suppressed, want)
		}
	}
	if n := len(claimlint.Blocking(fs)); n != 1 {
		t.Errorf("%d blocking, want 1 (the paragraph the marker does not cover)", n)
	}

	// A marker for another rule suppresses nothing here; a marker without a reason suppresses
	// nothing and is a finding itself.
	for _, marker := range []string{"<!-- lint-ignore naloxone-action: not this rule -->", "<!-- lint-ignore stigmatising-term -->", "<!-- lint-ignore stigmatising-term: -->"} {
		fs := lintBody(e, marker+"\nThey are addicts.", baseFacts())
		if got := ofRule(fs, "stigmatising-term"); len(got) != 1 || got[0].Suppressed != "" {
			t.Errorf("%s: got %+v, want one unsuppressed finding", marker, got)
		}
		wantMarkerFinding := !strings.Contains(marker, "naloxone")
		if got := ofRule(fs, "lint-marker"); (len(got) == 1) != wantMarkerFinding {
			t.Errorf("%s: lint-marker findings %+v", marker, got)
		}
	}
}

func TestTuning(t *testing.T) {
	tuning, err := claimlint.ParseTuning([]byte(`
sites:
  relaxed:
    disable: [stigmatising-term]
    severity:
      number-needs-citation: info
  strict:
    severity:
      number-needs-citation: error
`))
	if err != nil {
		t.Fatal(err)
	}
	e, err := claimlint.New(claimlint.Builtin(), tuning)
	if err != nil {
		t.Fatal(err)
	}
	body := "They are addicts. It eases over about a week."
	for _, c := range []struct {
		sites      []string
		stigma     bool
		numberSeve claimlint.Severity
	}{
		{nil, true, claimlint.SeverityWarning},
		{[]string{"other"}, true, claimlint.SeverityWarning},
		{[]string{"relaxed"}, false, claimlint.SeverityInfo},
		{[]string{"strict"}, true, claimlint.SeverityError},
		// Several sites: the strictest wins, and a rule is off only where every site turns it off.
		{[]string{"relaxed", "strict"}, true, claimlint.SeverityError},
		{[]string{"relaxed", "other"}, true, claimlint.SeverityWarning},
	} {
		facts := baseFacts()
		facts.Sites = c.sites
		fs := lintBody(e, body, facts)
		if got := len(ofRule(fs, "stigmatising-term")) > 0; got != c.stigma {
			t.Errorf("sites %v: stigmatising-term reported %v, want %v", c.sites, got, c.stigma)
		}
		n := ofRule(fs, "number-needs-citation")
		if len(n) != 1 || n[0].Severity != c.numberSeve {
			t.Errorf("sites %v: number-needs-citation %+v, want severity %s", c.sites, n, c.numberSeve)
		}
	}

	for _, bad := range []string{
		"sites: {a: {disable: [no-such-rule]}}",
		"sites: {a: {severity: {no-such-rule: error}}}",
		"sites: {a: {severity: {stigmatising-term: fatal}}}",
	} {
		tn, err := claimlint.ParseTuning([]byte(bad))
		if err == nil {
			_, err = claimlint.New(claimlint.Builtin(), tn)
		}
		if err == nil {
			t.Errorf("tuning %q accepted", bad)
		}
	}
	if _, err := claimlint.ParseTuning([]byte("sites: {a: {disabled: [x]}}")); err == nil {
		t.Error("a misspelt tuning key was accepted")
	}
}

// TestSiteTuningsLayerOverTheFile checks Input.SiteTunings (the sites' lint_tuning setting): for
// a rule a site's own tuning names, it wins over the operator's file on that site (even turning
// back on a rule the file turned off); the file decides the rules it does not name; a severity the
// engine cannot read is ignored; and several sites still get the strictest treatment.
func TestSiteTuningsLayerOverTheFile(t *testing.T) {
	file, err := claimlint.ParseTuning([]byte(`
sites:
  a:
    disable: [stigmatising-term]
    severity:
      number-needs-citation: info
`))
	if err != nil {
		t.Fatal(err)
	}
	e, err := claimlint.New(claimlint.Builtin(), file)
	if err != nil {
		t.Fatal(err)
	}
	body := "They are addicts. It eases over about a week."
	for _, c := range []struct {
		name   string
		sites  []string
		own    map[string]claimlint.SiteTuning
		stigma claimlint.Severity // 0: off
		number claimlint.Severity
	}{
		{"the file alone", []string{"a"}, nil, 0, claimlint.SeverityInfo},
		{"own names another rule: the file decides these", []string{"a"},
			map[string]claimlint.SiteTuning{"a": {Severity: map[string]string{"absolute-safety-claim": "error"}}}, 0, claimlint.SeverityInfo},
		{"own severity wins over the file's", []string{"a"},
			map[string]claimlint.SiteTuning{"a": {Severity: map[string]string{"number-needs-citation": "error", "stigmatising-term": "warning"}}},
			claimlint.SeverityWarning, claimlint.SeverityError},
		{"own disable", []string{"b"},
			map[string]claimlint.SiteTuning{"b": {Disable: []string{"number-needs-citation"}}}, claimlint.SeverityError, 0},
		{"an unreadable own severity is ignored", []string{"b"},
			map[string]claimlint.SiteTuning{"b": {Severity: map[string]string{"number-needs-citation": "fatal"}}}, claimlint.SeverityError, claimlint.SeverityWarning},
		{"another site's own tuning does not apply", []string{"b"},
			map[string]claimlint.SiteTuning{"a": {Disable: []string{"number-needs-citation"}}}, claimlint.SeverityError, claimlint.SeverityWarning},
		{"several sites: strictest", []string{"a", "b"},
			map[string]claimlint.SiteTuning{"b": {Disable: []string{"stigmatising-term"}, Severity: map[string]string{"number-needs-citation": "info"}}},
			0, claimlint.SeverityInfo},
	} {
		facts := baseFacts()
		facts.Sites = c.sites
		fs := e.Lint(claimlint.Input{Context: claimlint.ContextArticle, Fields: []claimlint.Field{{Name: "body", Markdown: body}}, Facts: facts, SiteTunings: c.own})
		for _, w := range []struct {
			rule string
			want claimlint.Severity
		}{{"stigmatising-term", c.stigma}, {"number-needs-citation", c.number}} {
			got := ofRule(fs, w.rule)
			switch {
			case w.want == 0 && len(got) > 0:
				t.Errorf("%s: %s reported %+v, want it off", c.name, w.rule, got)
			case w.want != 0 && (len(got) == 0 || got[0].Severity != w.want):
				t.Errorf("%s: %s %+v, want severity %s", c.name, w.rule, got, w.want)
			}
		}
	}
}

func TestRuleIDs(t *testing.T) {
	ids, err := claimlint.RuleIDs(claimlint.Builtin())
	if err != nil {
		t.Fatal(err)
	}
	e, err := claimlint.New(claimlint.Builtin(), claimlint.Tuning{})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ids, e.RuleIDs()) {
		t.Errorf("RuleIDs = %v, want the engine's %v", ids, e.RuleIDs())
	}
	if _, err := claimlint.RuleIDs([]byte("format: 1\nrules: [")); err == nil {
		t.Error("RuleIDs of a broken file: no error")
	}
}

func TestPhoneLocales(t *testing.T) {
	e := builtin(t)
	body := "Call 1-800-273-8255 or call 1 (800) 662-4357. Poison Help: call 1.800.222.1222."
	for _, c := range []struct {
		locale string
		want   []string // matched numbers reported
	}{
		{"en-US", []string{"1-800-273-8255"}},
		{"en", []string{"1-800-273-8255"}},
		{"", []string{"1-800-273-8255"}},
		{"fr-FR", []string{"1-800-273-8255", "1 (800) 662-4357", "1.800.222.1222"}},
	} {
		facts := baseFacts()
		facts.Locale = c.locale
		var got []string
		for _, f := range ofRule(lintBody(e, body, facts), "phone-number-allowlist") {
			got = append(got, f.Match)
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("locale %s: reported %q, want %q", c.locale, got, c.want)
		}
	}
	fs := ofRule(lintBody(e, body, baseFacts()), "phone-number-allowlist")
	if !strings.Contains(fs[0].Message, "retired") || !strings.Contains(fs[0].Suggestion, "988") {
		t.Errorf("retired number: %+v", fs[0])
	}
}

func TestContexts(t *testing.T) {
	e := builtin(t)
	in := claimlint.Input{Context: claimlint.ContextResource, Facts: baseFacts(), Fields: []claimlint.Field{
		{Name: "description", Markdown: "A withdrawal management program for addicts. Open 2-3 days a week."},
	}}
	var rules []string
	for _, f := range e.Lint(in) {
		rules = append(rules, f.RuleID)
	}
	// Resource descriptions are checked for what applies to them (terms, phone numbers), not
	// for article-only rules (crisis block, citations, review metadata).
	if !slices.Equal(rules, []string{"stigmatising-term"}) {
		t.Errorf("resource findings %v, want only stigmatising-term", rules)
	}
}

func TestRulesFileErrors(t *testing.T) {
	good := string(claimlint.Builtin())
	for name, file := range map[string]string{
		"format":        strings.Replace(good, "format: 1", "format: 2", 1),
		"unknown key":   strings.Replace(good, "    once: true", "    onse: true", 1),
		"bad regexp":    strings.Replace(good, `'\b(self-?check`, `'\b((self-?check`, 1),
		"duplicate id":  strings.Replace(good, "id: stigmatising-clean-dirty", "id: stigmatising-term", 1),
		"bad severity":  strings.Replace(good, "severity: info", "severity: note", 1),
		"unknown scope": strings.Replace(good, "scope: sentence}", "scope: line}", 1),
		"unknown kind":  strings.Replace(good, "kind: phone", "kind: telephone", 1),
		"unknown check": strings.Replace(good, "check: review-current", "check: review-fresh", 1),
		"no revision":   strings.Replace(good, "revision: ", "# revision: ", 1),
		"bad context":   strings.Replace(good, "contexts: [article]", "contexts: [articles]", 1),
		"uppercase":     strings.Replace(good, `'\b(self-?check`, `'\b(Self-?check`, 1),
	} {
		if file == good {
			t.Fatalf("%s: the replacement did not apply", name)
		}
		if _, err := claimlint.New([]byte(file), claimlint.Tuning{}); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// TestShippedPatternsHaveKeywords: every shipped pattern that produces findings has a keyword
// prefilter, or is gated by a local condition that has one; that is what keeps a long article
// within the time budget (BenchmarkLint6000Words).
func TestShippedPatternsHaveKeywords(t *testing.T) {
	for _, p := range claimlint.ShippedPatternsWithoutPrefilter(builtin(t)) {
		t.Errorf("pattern without a keyword prefilter: %s", p)
	}
}

func TestRevisionIsVersioned(t *testing.T) {
	e := builtin(t)
	if !regexp.MustCompile(`^\d{4}-\d{2}-\d{2}\.\d+$`).MatchString(e.Revision()) {
		t.Errorf("revision %q", e.Revision())
	}
}

// BenchmarkLint6000Words lints a 6,000-word article made of the seed article (many findings)
// and clean demo-style prose. The target is under 5 ms per article.
func BenchmarkLint6000Words(b *testing.B) {
	body := article6000(b)
	e := builtin(b)
	facts := baseFacts()
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		e.Lint(claimlint.Input{Context: claimlint.ContextArticle, Facts: facts, Fields: []claimlint.Field{
			{Name: "title", Markdown: "Kratom withdrawal: what to expect"},
			{Name: "summary", Markdown: "What kratom withdrawal can feel like and how long it may last."},
			{Name: "body", Markdown: body},
		}})
	}
}

// BenchmarkLint6000WordsDemo lints a 6,000-word article of demo prose only (few findings).
func BenchmarkLint6000WordsDemo(b *testing.B) {
	clean, err := os.ReadFile("testdata/withdrawal-article.md")
	if err != nil {
		b.Fatal(err)
	}
	var body strings.Builder
	for len(strings.Fields(body.String())) < 6000 {
		body.Write(clean)
		body.WriteString("\n\n")
	}
	e := builtin(b)
	in := claimlint.Input{Context: claimlint.ContextArticle, Facts: baseFacts(), Fields: []claimlint.Field{{Name: "body", Markdown: body.String()}}}
	b.SetBytes(int64(body.Len()))
	b.ReportAllocs()
	for b.Loop() {
		e.Lint(in)
	}
}

func article6000(tb testing.TB) string {
	tb.Helper()
	seed, err := os.ReadFile("testdata/seed-kratom-addiction.md")
	if err != nil {
		tb.Fatal(err)
	}
	clean, err := os.ReadFile("testdata/withdrawal-article.md")
	if err != nil {
		tb.Fatal(err)
	}
	var b strings.Builder
	for i := 0; len(strings.Fields(b.String())) < 6000; i++ {
		if i%3 == 0 {
			b.Write(seed)
		} else {
			b.Write(clean)
		}
		b.WriteString("\n\n")
	}
	return b.String()
}
