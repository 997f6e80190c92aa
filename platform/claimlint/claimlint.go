// Package claimlint checks what readers see (article bodies, titles and summaries, resource
// descriptions, questionnaire texts) against clinical-claim rules: diagnosis by self-check,
// stigmatising terms, unverified phone numbers, medication claims without a prescriber's review,
// and the others of the addiction-medicine review (see rules/clinical.yaml).
//
// The rules are data: a versioned YAML file embedded in the binary (Builtin), compiled by New.
// A site can tune them (disable a rule or change its severity): the operator's Tuning, given to
// New, is the default layer, and each site's own SiteTuning (its lint_tuning setting), given per
// call in Input.SiteTunings, is layered over it rule by rule. Patterns are Go
// regular expressions (RE2: linear time in the input), matched case-insensitively outside
// quotations, block quotes and the "instead of saying" column of a table. An author can suppress
// a rule for one passage with a marker that carries a reason:
//
//	<!-- lint-ignore stigmatising-term: quoting the seed article to correct it -->
//
// The marker covers the next block (paragraph, list, table or heading). A marker without a reason,
// or naming no known rule, suppresses nothing and is itself a finding (rule lint-marker).
//
// The engine knows nothing of any service's types: rules that need an article's metadata read a
// Facts value the caller fills in.
package claimlint

import (
	_ "embed"
	"fmt"
	"net/url"
	"slices"
	"sort"
	"strings"
	"time"
)

//go:embed rules/clinical.yaml
var builtinRules []byte

// Builtin returns the rules file shipped with Beacon.
func Builtin() []byte { return slices.Clone(builtinRules) }

// Severity is how much a finding matters. An error blocks publishing; a warning needs a
// reviewer's acknowledgement; info is advice.
type Severity int8

// The severities, in increasing order.
const (
	SeverityInfo Severity = iota + 1
	SeverityWarning
	SeverityError
)

func (s Severity) String() string {
	switch s {
	case SeverityInfo:
		return "info"
	case SeverityWarning:
		return "warning"
	case SeverityError:
		return "error"
	}
	return fmt.Sprintf("severity(%d)", int8(s))
}

// ParseSeverity reads "error", "warning" or "info".
func ParseSeverity(s string) (Severity, error) {
	switch s {
	case "error":
		return SeverityError, nil
	case "warning":
		return SeverityWarning, nil
	case "info":
		return SeverityInfo, nil
	}
	return 0, fmt.Errorf("severity %q: want error, warning or info", s)
}

// The contexts a text is linted in; a rule may apply to some only (its "contexts").
const (
	ContextArticle       = "article"
	ContextResource      = "resource"
	ContextQuestionnaire = "questionnaire"
)

// knownContext reports whether c is a context a rule may name.
func knownContext(c string) bool {
	return c == ContextArticle || c == ContextResource || c == ContextQuestionnaire
}

// Field is one text to lint: its name as the caller's API spells it ("body", "title",
// "questions[2].text") and its Markdown (plain text is Markdown too).
type Field struct {
	Name     string
	Markdown string
}

// Person is an author or a reviewer.
type Person struct {
	Name        string
	Credentials string
	// Fictional marks example people (demo content).
	Fictional bool
}

// Citation is one source of the text.
type Citation struct {
	URL, DOI, PMID string
}

// Facts is what metadata rules and locale-dependent rules need to know about the text. Zero
// values mean "none" (no reviewers, no review date).
type Facts struct {
	// Sites the text is published on: their tunings apply (see Tuning).
	Sites []string
	// Locale is a BCP 47 tag ("en-US"); it selects the verified phone numbers. A bare language
	// ("en") uses the rules file's first locale of that language, and no locale the file's first
	// locale.
	Locale     string
	Topics     []string
	Authors    []Person
	Reviewers  []Person
	ReviewedOn time.Time // a date; zero when never reviewed
	Citations  []Citation
	// PublicSite is true when any of the sites is readable without a key.
	PublicSite bool
	// ProperNouns are names the text may use as they are (an organization's own name, such as
	// "Council on Alcohol and Drug Abuse"): they join the allowlist of every rule that has one.
	ProperNouns []string
	// Now is the time dated rules compare with; zero means time.Now().
	Now time.Time
}

// Input is a text to lint.
type Input struct {
	Context string // ContextArticle, ContextResource or ContextQuestionnaire
	Fields  []Field
	Facts   Facts
	// SkipMetadata leaves out the metadata rules, for a caller that enforces review metadata
	// itself (the content service's per-site publish gates).
	SkipMetadata bool
	// SiteTunings are the sites' own tunings (each site's lint_tuning setting), by site id. For
	// each rule a site's own tuning names, it wins over the engine's tuning (the operator's
	// --lint-tuning file) on that site; the engine's tuning decides the rules it does not name.
	// Only the sites in Facts.Sites count.
	SiteTunings map[string]SiteTuning
}

// Finding is one problem found. Line and Column are 1-based (the column counts characters),
// Offset is the 0-based byte offset in the field's Markdown; all three are 0 for findings about
// metadata, whose Field then names the metadata field ("reviewers").
type Finding struct {
	RuleID     string
	Severity   Severity
	Field      string
	Line       int
	Column     int
	Offset     int
	Match      string
	Message    string
	Suggestion string
	// Suppressed is the reason of the lint-ignore marker that covers this finding; a suppressed
	// finding is reported for the audit trail but blocks nothing.
	Suppressed string
}

// PreconditionType names the finding's rule as a google.rpc.PreconditionFailure violation type:
// "LINT_" and the rule id in upper snake case (LINT_STIGMATISING_TERM).
func (f Finding) PreconditionType() string {
	return "LINT_" + strings.ToUpper(strings.ReplaceAll(f.RuleID, "-", "_"))
}

// Describe says what and where the finding is, for an error message: its rule and severity,
// position, matched text and message.
func (f Finding) Describe() string {
	where := ""
	if f.Line > 0 {
		where = fmt.Sprintf(" at line %d, column %d", f.Line, f.Column)
	}
	match := ""
	if f.Match != "" {
		match = fmt.Sprintf(" %q", f.Match)
	}
	return fmt.Sprintf("%s (%s)%s%s: %s", f.RuleID, f.Severity, where, match, f.Message)
}

// Blocking returns the findings that block publishing: errors not suppressed.
func Blocking(fs []Finding) []Finding {
	return filter(fs, func(f Finding) bool { return f.Suppressed == "" && f.Severity == SeverityError })
}

// NeedAcknowledgement returns the warnings not suppressed: publishing needs a reviewer to
// acknowledge each.
func NeedAcknowledgement(fs []Finding) []Finding {
	return filter(fs, func(f Finding) bool { return f.Suppressed == "" && f.Severity == SeverityWarning })
}

func filter(fs []Finding, keep func(Finding) bool) []Finding {
	var out []Finding
	for _, f := range fs {
		if keep(f) {
			out = append(out, f)
		}
	}
	return out
}

// Engine lints texts with one compiled rules file and tuning. It is safe for concurrent use.
type Engine struct {
	revision string
	rules    []*rule
	locales  map[string]*locale
	// localeOrder lists the locale names in file order, for language fallback.
	localeOrder []string
	tuning      Tuning
	keywords    *keywordIndex
}

// New compiles a rules file (see Builtin) and a tuning. It refuses a file it cannot read
// completely: an unknown key, a pattern that does not compile, or a tuning naming an unknown
// rule is an error, never a rule silently off.
func New(rulesFile []byte, tuning Tuning) (*Engine, error) {
	f, err := parseRuleFile(rulesFile)
	if err != nil {
		return nil, err
	}
	rules, locales, err := compileRuleFile(f)
	if err != nil {
		return nil, err
	}
	e := &Engine{revision: f.Revision, rules: rules, locales: locales}
	var all []string
	for _, r := range rules {
		for _, m := range r.matchers() {
			for _, c := range m.pf.clauses {
				all = append(all, c...)
			}
		}
	}
	e.keywords = newKeywordIndex(all)
	for _, r := range rules {
		for _, m := range r.matchers() {
			m.clauseIDs = nil
			for _, c := range m.pf.clauses {
				ids := make([]int, len(c))
				for i, k := range c {
					ids[i] = e.keywords.ids[k]
				}
				m.clauseIDs = append(m.clauseIDs, ids)
			}
		}
	}
	e.localeOrder = localeOrder(rulesFile, locales)
	if err := tuning.check(e); err != nil {
		return nil, err
	}
	e.tuning = tuning
	return e, nil
}

// Revision is the rules file's revision.
func (e *Engine) Revision() string { return e.revision }

// RuleIDs lists the rules in file order.
func (e *Engine) RuleIDs() []string {
	ids := make([]string, len(e.rules))
	for i, r := range e.rules {
		ids[i] = r.id
	}
	return ids
}

func (e *Engine) hasRule(id string) bool {
	return slices.ContainsFunc(e.rules, func(r *rule) bool { return r.id == id })
}

// localeOrder returns the locale names sorted by where they appear in the file.
func localeOrder(file []byte, locales map[string]*locale) []string {
	names := make([]string, 0, len(locales))
	for n := range locales {
		names = append(names, n)
	}
	s := string(file)
	sort.Slice(names, func(i, j int) bool { return strings.Index(s, names[i]+":") < strings.Index(s, names[j]+":") })
	return names
}

func (e *Engine) locale(tag string) (string, *locale) {
	if tag == "" && len(e.localeOrder) > 0 {
		return e.localeOrder[0], e.locales[e.localeOrder[0]]
	}
	if l, ok := e.locales[tag]; ok {
		return tag, l
	}
	lang, _, _ := strings.Cut(tag, "-")
	for _, n := range e.localeOrder {
		if strings.EqualFold(strings.SplitN(n, "-", 2)[0], lang) {
			return n, e.locales[n]
		}
	}
	return tag, nil
}

// Lint returns the findings for the input, ordered by field (in input order, metadata last),
// position and rule.
func (e *Engine) Lint(in Input) []Finding {
	d := newDocument(e, in)
	var out []Finding
	for _, r := range e.rules {
		sev, on := e.tuning.severity(r, in.Facts.Sites, in.SiteTunings)
		if !on || !r.appliesTo(in.Context) || (in.SkipMetadata && r.kind == kindMetadata) {
			continue
		}
		var fs []Finding
		switch r.kind {
		case kindMatch:
			fs = d.lintMatch(r)
		case kindPhone:
			fs = d.lintPhones(r)
		case kindRequire:
			fs = d.lintRequire(r)
		case kindMetadata:
			fs = d.lintMetadata(r)
		case kindMarker:
			fs = d.lintMarkers(r)
		}
		for i := range fs {
			// A tuning moves the rule's base severity; an escalation in the rule (an expired
			// dated claim) stays above it.
			if fs[i].Severity == r.severity || fs[i].Severity < sev {
				fs[i].Severity = sev
			}
		}
		out = append(out, fs...)
	}
	d.suppress(out)
	order := map[string]int{}
	for i, f := range in.Fields {
		if _, ok := order[f.Name]; !ok {
			order[f.Name] = i
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		oa, aok := order[a.Field]
		ob, bok := order[b.Field]
		if aok != bok {
			return aok
		}
		if oa != ob {
			return oa < ob
		}
		if a.Field != b.Field {
			return a.Field < b.Field
		}
		if a.Offset != b.Offset {
			return a.Offset < b.Offset
		}
		return a.RuleID < b.RuleID
	})
	return out
}

// document is one Lint call's state.
type document struct {
	texts      []*text
	hidden     *text // topics: searched by document conditions, never reported on
	facts      Facts
	localeName string
	locale     *locale
	now        time.Time
	anywhere   map[*matcher]bool
	known      []string // the engine's rule ids
	keywords   *keywordIndex
	// properNouns are Facts.ProperNouns, ASCII-lowercased.
	properNouns []string
}

func newDocument(e *Engine, in Input) *document {
	d := &document{facts: in.Facts, anywhere: map[*matcher]bool{}, now: in.Facts.Now, known: e.RuleIDs(), keywords: e.keywords}
	if d.now.IsZero() {
		d.now = time.Now()
	}
	for _, f := range in.Fields {
		d.texts = append(d.texts, newText(f.Name, f.Markdown))
	}
	d.hidden = newText("", strings.Join(in.Facts.Topics, "\n\n"))
	for _, n := range in.Facts.ProperNouns {
		if n = strings.TrimSpace(n); n != "" {
			d.properNouns = append(d.properNouns, asciiLower(n))
		}
	}
	d.localeName, d.locale = e.locale(in.Facts.Locale)
	return d
}

// blockHits marks the blocks of t that contain a keyword of every clause, in the masked text
// (where findings come from) or the visible text (where conditions look). No clauses mark every
// block.
func (d *document) blockHits(t *text, masked bool, m *matcher) []bool {
	hits := make([]bool, len(t.blocks))
	for i := range hits {
		hits[i] = true
	}
	if len(m.clauseIDs) == 0 {
		return hits
	}
	sets := t.keywordSets(d.keywords, masked)
	for i, set := range sets {
		for _, clause := range m.clauseIDs {
			if !slices.ContainsFunc(clause, set.has) {
				hits[i] = false
				break
			}
		}
	}
	return hits
}

// windows returns where to run a pattern in block b: around each occurrence of a keyword of one
// of its clauses (the clause whose windows cover the fewest bytes of this block), wide enough for
// any match containing it (see prefilter) plus one byte on each side, so that \b sees the same
// neighbours as in the whole block; overlapping windows are merged. An anchored pattern runs on
// the whole block.
func windows(t *text, block int, m *matcher, x *keywordIndex) []span {
	b, pf := t.blocks[block], m.pf
	reach := pf.maxLen
	switch {
	case reach == -2 || len(pf.clauses) == 0:
		return []span{b}
	case reach == -1:
		reach = maxReach
	}
	present := t.keywordSets(x, true)[block]
	var best []span
	bestCover := -1
	for c, clause := range pf.clauses {
		ws := clauseWindows(t, b, clause, m.clauseIDs[c], present, reach)
		cover := 0
		for _, w := range ws {
			cover += w.end - w.start
		}
		if bestCover < 0 || cover < bestCover {
			best, bestCover = ws, cover
		}
	}
	return best
}

// clauseWindows returns the merged windows around the clause's keywords in block b (only those
// the block has: present, by id).
func clauseWindows(t *text, b span, clause []string, ids []int, present bitset, reach int) []span {
	var ws []span
	for k, kw := range clause {
		if !present.has(ids[k]) {
			continue
		}
		for from := b.start; from < b.end; {
			i := strings.Index(t.lower[from:b.end], kw)
			if i < 0 {
				break
			}
			i += from
			ws = append(ws, span{max(b.start, i-reach-1), min(b.end, i+len(kw)+reach+1)})
			from = i + 1
		}
	}
	sort.Slice(ws, func(i, j int) bool { return ws[i].start < ws[j].start })
	var merged []span
	for _, w := range ws {
		if n := len(merged); n > 0 && w.start <= merged[n-1].end {
			merged[n-1].end = max(merged[n-1].end, w.end)
			continue
		}
		merged = append(merged, w)
	}
	return merged
}

// localScope reports whether a condition's scope stays within one block.
func localScope(scope string) bool {
	switch scope {
	case scopeMatch, scopeBefore, scopeAfter, scopeAround, scopeSentence, scopeParagraph:
		return true
	}
	return false
}

// candidates returns the spans where p matches t outside masked text and passes the rule's and
// the pattern's conditions and allowlist, in order within each block; limit > 0 stops after
// that many.
func (d *document) candidates(r *rule, p pattern, t *text, limit int) []span {
	hits := d.blockHits(t, true, p.m)
	// A "when" condition local to the block must find its keywords in the block too.
	for _, c := range slices.Concat(r.when, p.when) {
		if !localScope(c.scope) || c.m.pf.clauses == nil {
			continue
		}
		ch := d.blockHits(t, false, c.m)
		for i := range hits {
			hits[i] = hits[i] && ch[i]
		}
	}
	var out []span
	for i, ok := range hits {
		if !ok || (r.outsideFootnotes && t.isFootnote(t.blocks[i])) {
			continue
		}
		for _, w := range windows(t, i, p.m, d.keywords) {
			out = d.matchWindow(r, p, t, w, out)
			if limit > 0 && len(out) >= limit {
				return out[:limit]
			}
		}
	}
	return out
}

// matchWindow appends to out the candidates of p in window w of t.
func (d *document) matchWindow(r *rule, p pattern, t *text, w span, out []span) []span {
	var ms [][]int
	if p.m.claim > 0 {
		ms = p.m.re.FindAllStringSubmatchIndex(t.lower[w.start:w.end], -1)
	} else {
		ms = p.m.re.FindAllStringIndex(t.lower[w.start:w.end], -1)
	}
	for _, m := range ms {
		s := span{w.start + m[0], w.start + m[1]}
		if p.m.claim > 0 {
			if m[2*p.m.claim] < 0 {
				continue
			}
			s = span{w.start + m[2*p.m.claim], w.start + m[2*p.m.claim+1]}
		}
		if d.allowed(r, t, s) || !d.all(t, s, r.when) || !d.all(t, s, p.when) || d.any(t, s, r.unless) || d.any(t, s, p.unless) {
			continue
		}
		out = append(out, s)
	}
	return out
}

// allowed reports whether the match lies inside an allowlisted phrase (a proper noun): the rule's,
// or, for a rule with an allowlist, one of the text's own proper nouns.
func (d *document) allowed(r *rule, t *text, s span) bool {
	allow := r.allow
	if len(allow) > 0 {
		allow = append(slices.Clip(allow), d.properNouns...)
	}
	for _, a := range allow {
		from := max(0, s.end-len(a))
		to := min(len(t.lowerVisible), s.start+len(a))
		for off := from; off < to; {
			i := strings.Index(t.lowerVisible[off:to], a)
			if i < 0 {
				break
			}
			if (span{off + i, off + i + len(a)}).contains(s) {
				return true
			}
			off += i + 1
		}
	}
	return false
}

func (d *document) all(t *text, s span, cs []condition) bool {
	for _, c := range cs {
		if !d.holds(c, t, s) {
			return false
		}
	}
	return true
}

func (d *document) any(t *text, s span, cs []condition) bool {
	for _, c := range cs {
		if d.holds(c, t, s) {
			return true
		}
	}
	return false
}

// region returns the text a scope covers around match s.
func (t *text) region(scope string, chars int, s span) span {
	blk := t.paragraph(s.start)
	switch scope {
	case scopeMatch:
		return s
	case scopeBefore:
		return span{max(blk.start, s.start-chars), s.start}
	case scopeAfter:
		return span{s.end, min(blk.end, s.end+chars)}
	case scopeAround:
		return span{max(blk.start, s.start-chars), min(blk.end, s.end+chars)}
	case scopeSentence:
		st := t.sentence(s.start)
		return span{st.start, max(st.end, min(s.end, blk.end))}
	case scopeParagraph:
		return blk
	case scopeSection:
		return t.section(s.start)
	}
	return span{0, len(t.src)}
}

func (d *document) holds(c condition, t *text, s span) bool {
	if c.scope == scopeDocument {
		return d.matchesAnywhere(c.m)
	}
	return matchIn(c.m, t, t.region(c.scope, c.chars, s))
}

// matchIn reports whether m matches the visible text of region.
func matchIn(m *matcher, t *text, region span) bool {
	if region.end <= region.start {
		return m.re.MatchString("")
	}
	low := t.lowerVisible[region.start:region.end]
	for _, clause := range m.pf.clauses {
		if !slices.ContainsFunc(clause, func(k string) bool { return strings.Contains(low, k) }) {
			return false
		}
	}
	return m.re.MatchString(t.lowerVisible[region.start:region.end])
}

// matchesAnywhere reports whether m matches in any block of any field, or in the topics.
func (d *document) matchesAnywhere(m *matcher) bool {
	if v, ok := d.anywhere[m]; ok {
		return v
	}
	found := false
	for _, t := range append(slices.Clip(d.texts), d.hidden) {
		hits := d.blockHits(t, false, m)
		for i, ok := range hits {
			if ok && m.re.MatchString(t.lowerVisible[t.blocks[i].start:t.blocks[i].end]) {
				found = true
				break
			}
		}
		if !found && m.re.MatchString("") {
			found = true
		}
		if found {
			break
		}
	}
	d.anywhere[m] = found
	return found
}

func (d *document) finding(r *rule, t *text, s span) Finding {
	line, col := t.position(s.start)
	return Finding{RuleID: r.id, Severity: r.severity, Field: t.field, Line: line, Column: col, Offset: s.start,
		Match: t.src[s.start:s.end], Message: r.message, Suggestion: r.suggestion}
}

func (d *document) reviewerMatches(re interface{ MatchString(string) bool }) (Person, bool) {
	for _, p := range d.facts.Reviewers {
		if re.MatchString(p.Credentials) {
			return p, true
		}
	}
	return Person{}, false
}

func (d *document) lintMatch(r *rule) []Finding {
	if r.unlessReviewer != nil {
		if _, ok := d.reviewerMatches(r.unlessReviewer); ok {
			return nil
		}
	}
	var out []Finding
	for _, t := range d.texts {
		for _, p := range r.patterns {
			for _, s := range d.candidates(r, p, t, 0) {
				f, ok := d.checkMatch(r, t, s)
				if !ok {
					continue
				}
				out = append(out, f)
				if r.once {
					return out
				}
			}
		}
	}
	return dedupeFindings(out)
}

// checkMatch applies a match rule's requirements and date check to one candidate.
func (d *document) checkMatch(r *rule, t *text, s span) (Finding, bool) {
	f := d.finding(r, t, s)
	if len(r.require) == 0 && r.dated == nil {
		return f, true
	}
	var problems []string
	for _, q := range r.require {
		if !d.requirementApplies(q, t, s) {
			continue
		}
		if !slices.ContainsFunc(q.any, func(m *matcher) bool {
			if q.scope == scopeDocument {
				return d.matchesAnywhere(m)
			}
			return matchIn(m, t, t.region(q.scope, 0, s))
		}) {
			problems = append(problems, "missing "+q.description)
		}
	}
	if r.dated != nil {
		region := t.region(r.dated.scope, 0, s)
		sub := r.dated.m.re.FindStringSubmatch(t.lowerVisible[region.start:region.end])
		if sub == nil {
			problems = append(problems, `missing an "as of" date`)
		} else if when, ok := datedTime(r.dated.m, sub); !ok {
			problems = append(problems, fmt.Sprintf("unreadable date %q", sub[0]))
		} else if when.AddDate(0, r.dated.maxAgeMonths, 0).Before(d.now) {
			problems = append(problems, fmt.Sprintf("%q is older than %d months", strings.TrimSpace(sub[0]), r.dated.maxAgeMonths))
			f.Severity = max(f.Severity, r.dated.expiredSeverity)
		}
	}
	if len(problems) == 0 {
		return f, false
	}
	f.Message += " (" + strings.Join(problems, "; ") + ")"
	return f, true
}

func (d *document) requirementApplies(q requirement, t *text, s span) bool {
	if q.locales != nil && !slices.Contains(q.locales, d.localeName) {
		return false
	}
	return d.all(t, s, q.when)
}

var months = map[string]time.Month{"jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6, "jul": 7, "aug": 8, "sep": 9, "oct": 10, "nov": 11, "dec": 12}

// datedTime reads the year and optional month of an "as of" date. A date without a month counts
// from the end of its year (the claim was true some time that year).
func datedTime(m *matcher, sub []string) (time.Time, bool) {
	var year int
	if _, err := fmt.Sscanf(sub[m.re.SubexpIndex("year")], "%d", &year); err != nil {
		return time.Time{}, false
	}
	month := time.December
	if i := m.re.SubexpIndex("month"); i > 0 && sub[i] != "" {
		mo, ok := months[strings.ToLower(sub[i])[:min(3, len(sub[i]))]]
		if !ok {
			return time.Time{}, false
		}
		month = mo
	}
	return time.Date(year, month, 1, 0, 0, 0, 0, time.UTC), true
}

func (d *document) lintRequire(r *rule) []Finding {
	var trigger *Finding
	for _, t := range d.texts {
		for _, p := range r.patterns {
			if c := d.candidates(r, p, t, 1); len(c) > 0 {
				f := d.finding(r, t, c[0])
				if trigger == nil || (trigger.Field == f.Field && f.Offset < trigger.Offset) {
					trigger = &f
				}
			}
		}
		if trigger != nil {
			break
		}
	}
	if trigger == nil {
		return nil
	}
	var missing []string
	for _, q := range r.require {
		if q.locales != nil && !slices.Contains(q.locales, d.localeName) {
			continue
		}
		if !d.all(nil, span{}, q.when) {
			continue
		}
		if !slices.ContainsFunc(q.any, d.matchesAnywhere) {
			missing = append(missing, q.description)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	trigger.Message += " (missing " + strings.Join(missing, "; ") + ")"
	return []Finding{*trigger}
}

func (d *document) lintPhones(r *rule) []Finding {
	var out []Finding
	for _, t := range d.texts {
		var spans []span
		for _, p := range r.patterns {
			spans = append(spans, d.candidates(r, p, t, 0)...)
		}
		for i, s := range spans {
			// A number inside a longer one ("800" in "1 (800) 662-4357") is part of it.
			if slices.ContainsFunc(spans, func(o span) bool { return o != s && o.contains(s) }) || slices.Index(spans, s) < i {
				continue
			}
			f := d.finding(r, t, s)
			if d.locale == nil {
				f.Message = fmt.Sprintf("No verified phone numbers for locale %q: every number is unverified. %s", d.localeName, r.message)
				out = append(out, f)
				continue
			}
			digits := d.locale.normalize(f.Match)
			if ret, ok := d.locale.retired[digits]; ok {
				f.Message, f.Suggestion = ret.Message, ret.Suggestion
				out = append(out, f)
				continue
			}
			if _, ok := d.locale.phones[digits]; !ok {
				f.Message = fmt.Sprintf("Unknown number %s. %s", strings.TrimSpace(f.Match), r.message)
				out = append(out, f)
			}
		}
	}
	return out
}

func (d *document) lintMarkers(r *rule) []Finding {
	var out []Finding
	for _, t := range d.texts {
		for _, m := range t.markers {
			var problems []string
			if m.reason == "" {
				problems = append(problems, "it gives no reason")
			}
			if len(m.rules) == 0 {
				problems = append(problems, "it names no rule")
			}
			for _, id := range m.rules {
				if !slices.Contains(d.known, id) {
					problems = append(problems, fmt.Sprintf("it names an unknown rule %q", id))
				}
			}
			if len(problems) == 0 {
				continue
			}
			f := d.finding(r, t, m.marker)
			f.Message += " This marker suppresses nothing: " + strings.Join(problems, "; ") + "."
			out = append(out, f)
		}
	}
	return out
}

// suppress marks the findings covered by a valid marker naming their rule.
func (d *document) suppress(fs []Finding) {
	for i := range fs {
		f := &fs[i]
		if f.RuleID == "lint-marker" || f.Line == 0 {
			continue
		}
		for _, t := range d.texts {
			if t.field != f.Field {
				continue
			}
			for _, m := range t.markers {
				if m.reason == "" || !m.covers.contains(span{f.Offset, f.Offset}) || !slices.Contains(m.rules, f.RuleID) {
					continue
				}
				if slices.ContainsFunc(m.rules, func(id string) bool { return !slices.Contains(d.known, id) }) {
					continue
				}
				f.Suppressed = m.reason
			}
		}
	}
}

func (d *document) lintMetadata(r *rule) []Finding {
	if !d.all(nil, span{}, r.when) || d.any(nil, span{}, r.unless) {
		return nil
	}
	f := Finding{RuleID: r.id, Severity: r.severity, Field: r.field, Message: r.message, Suggestion: r.suggestion}
	switch r.check {
	case checkReviewerCredential:
		if _, ok := d.reviewerMatches(r.credential); ok {
			return nil
		}
		if len(d.facts.Reviewers) == 0 {
			f.Message += " (there is no reviewer)"
		}
	case checkReviewerNotSole:
		qualified := false
		for _, p := range d.facts.Reviewers {
			if !r.credential.MatchString(p.Credentials) {
				continue
			}
			qualified = true
			if !(len(d.facts.Authors) == 1 && samePerson(d.facts.Authors[0].Name, p.Name)) {
				return nil
			}
			f.Match = p.Name
		}
		if !qualified {
			return nil // review-clinical-reviewer reports it
		}
	case checkReviewCurrent:
		switch on := d.facts.ReviewedOn; {
		case on.IsZero():
			f.Message += " (there is no review date)"
		case on.After(d.now):
			f.Match = on.Format(time.DateOnly)
			f.Message += " (the review date is in the future)"
		case on.AddDate(0, r.maxAgeMonths, 0).Before(d.now):
			f.Match = on.Format(time.DateOnly)
			f.Message += fmt.Sprintf(" (the review is older than %d months)", r.maxAgeMonths)
		default:
			return nil
		}
	case checkCitation:
		for _, c := range d.facts.Citations {
			if strings.TrimSpace(c.DOI) != "" || strings.TrimSpace(c.PMID) != "" {
				return nil
			}
			if u, err := url.Parse(strings.TrimSpace(c.URL)); err == nil && u.Hostname() != "" && r.hostPattern.MatchString(u.Hostname()) {
				return nil
			}
		}
	case checkFictionalReviewer:
		if !d.facts.PublicSite {
			return nil
		}
		i := slices.IndexFunc(d.facts.Reviewers, func(p Person) bool { return p.Fictional })
		if i < 0 {
			return nil
		}
		f.Match = d.facts.Reviewers[i].Name
	}
	return []Finding{f}
}

func samePerson(a, b string) bool {
	return strings.EqualFold(strings.Join(strings.Fields(a), " "), strings.Join(strings.Fields(b), " "))
}

// dedupeFindings drops a finding at the same rule and offset as an earlier one (two patterns of
// one rule matching the same words).
func dedupeFindings(fs []Finding) []Finding {
	type key struct {
		field string
		off   int
	}
	seen := map[key]bool{}
	out := fs[:0]
	for _, f := range fs {
		k := key{f.Field, f.Offset}
		if seen[k] {
			continue
		}
		seen[k] = true
		out = append(out, f)
	}
	return out
}
