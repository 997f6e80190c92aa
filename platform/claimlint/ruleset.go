package claimlint

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"regexp/syntax"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// fileFormat is the rules-file format this package reads (the file's "format" key).
const fileFormat = 1

// ruleFile is a rules file as written (YAML). See README.md for the format.
type ruleFile struct {
	Format   int                   `yaml:"format"`
	Revision string                `yaml:"revision"`
	Locales  map[string]localeFile `yaml:"locales"`
	Rules    []ruleEntry           `yaml:"rules"`
}

type localeFile struct {
	CountryCode string      `yaml:"countryCode"`
	Phones      []phoneFile `yaml:"phones"`
	Retired     []phoneFile `yaml:"retired"`
}

type phoneFile struct {
	Number     string `yaml:"number"`
	Name       string `yaml:"name"`
	Message    string `yaml:"message"`
	Suggestion string `yaml:"suggestion"`
}

type ruleEntry struct {
	ID         string          `yaml:"id"`
	Kind       string          `yaml:"kind"` // match (default), require, phone, metadata, marker
	Severity   string          `yaml:"severity"`
	Contexts   []string        `yaml:"contexts"`
	Message    string          `yaml:"message"`
	Suggestion string          `yaml:"suggestion"`
	Patterns   []patternEntry  `yaml:"patterns"`
	Allow      []string        `yaml:"allow"`
	When       []conditionFile `yaml:"when"`
	Unless     []conditionFile `yaml:"unless"`
	Require    []requireEntry  `yaml:"require"`
	Once       bool            `yaml:"once"`
	// OutsideFootnotes skips matches in footnote definitions (source notes).
	OutsideFootnotes bool       `yaml:"outsideFootnotes"`
	Dated            *datedFile `yaml:"dated"`
	// UnlessReviewer drops the rule's findings when a reviewer's credentials match it.
	UnlessReviewer string `yaml:"unlessReviewer"`
	// Metadata rules.
	Check        string `yaml:"check"`
	Field        string `yaml:"field"`
	Credential   string `yaml:"credential"`
	MaxAgeMonths int    `yaml:"maxAgeMonths"`
	HostPattern  string `yaml:"hostPattern"`
}

// patternEntry is a pattern, written either as a string or as {pattern, when, unless}.
type patternEntry struct {
	Pattern string          `yaml:"pattern"`
	When    []conditionFile `yaml:"when"`
	Unless  []conditionFile `yaml:"unless"`
}

func (p *patternEntry) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		return n.Decode(&p.Pattern)
	}
	type plain patternEntry
	return decodeStrict(n, (*plain)(p))
}

// conditionFile is a condition, written either as a string (a pattern searched in the whole
// document) or as {pattern, scope, chars}.
type conditionFile struct {
	Pattern string `yaml:"pattern"`
	Scope   string `yaml:"scope"`
	Chars   int    `yaml:"chars"`
}

func (c *conditionFile) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		c.Scope = "document"
		return n.Decode(&c.Pattern)
	}
	type plain conditionFile
	return decodeStrict(n, (*plain)(c))
}

// requireEntry is something a match must have around it (match rules) or the document must
// contain (require rules).
type requireEntry struct {
	Description string          `yaml:"description"`
	Pattern     string          `yaml:"pattern"`
	Patterns    []string        `yaml:"patterns"`
	Scope       string          `yaml:"scope"`
	Locales     []string        `yaml:"locales"`
	When        []conditionFile `yaml:"when"`
}

type datedFile struct {
	Pattern         string `yaml:"pattern"`
	Scope           string `yaml:"scope"`
	MaxAgeMonths    int    `yaml:"maxAgeMonths"`
	ExpiredSeverity string `yaml:"expiredSeverity"`
}

// decodeStrict decodes a node refusing unknown keys (a misspelt key would silently disable a
// condition).
func decodeStrict(n *yaml.Node, v any) error {
	n = resolveAliases(n)
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	if err := enc.Encode(n); err != nil {
		return err
	}
	dec := yaml.NewDecoder(&buf)
	dec.KnownFields(true)
	return dec.Decode(v)
}

// resolveAliases replaces alias nodes by what they point to, so a node re-encoded on its own
// does not refer to an anchor outside it.
func resolveAliases(n *yaml.Node) *yaml.Node {
	if n.Kind == yaml.AliasNode {
		return resolveAliases(n.Alias)
	}
	for i, c := range n.Content {
		n.Content[i] = resolveAliases(c)
	}
	return n
}

func parseRuleFile(data []byte) (*ruleFile, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var f ruleFile
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("rules file: %w", err)
	}
	if f.Format != fileFormat {
		return nil, fmt.Errorf("rules file: format %d, this release reads format %d", f.Format, fileFormat)
	}
	if f.Revision == "" {
		return nil, errors.New("rules file: revision is required")
	}
	return &f, nil
}

// Rule kinds.
const (
	kindMatch    = "match"
	kindRequire  = "require"
	kindPhone    = "phone"
	kindMetadata = "metadata"
	kindMarker   = "marker"
)

// Metadata checks a metadata rule can name.
const (
	checkReviewerCredential = "reviewer-credential"
	checkReviewerNotSole    = "reviewer-not-sole-author"
	checkReviewCurrent      = "review-current"
	checkCitation           = "citation-authoritative"
	checkFictionalReviewer  = "no-fictional-reviewer-on-public-site"
)

// Scopes a condition can search.
const (
	scopeMatch     = "match"
	scopeBefore    = "before"
	scopeAfter     = "after"
	scopeAround    = "around"
	scopeSentence  = "sentence"
	scopeParagraph = "paragraph"
	scopeSection   = "section"
	scopeDocument  = "document"
)

var ruleIDRE = regexp.MustCompile(`^[a-z][a-z0-9]*(-[a-z0-9]+)*$`)

// matcher is a compiled pattern with its keyword prefilter.
type matcher struct {
	source string
	re     *regexp.Regexp
	pf     prefilter
	claim  int // index of the (?P<claim>...) group, or 0 for the whole match
	// clauseIDs are pf.clauses as ids in the engine's keywordIndex.
	clauseIDs [][]int
}

func compileMatcher(pattern string) (*matcher, error) {
	if strings.TrimSpace(pattern) == "" {
		return nil, errors.New("empty pattern")
	}
	if err := checkLowercase(pattern); err != nil {
		return nil, err
	}
	re, err := regexp.Compile(pattern)
	if err != nil {
		return nil, err
	}
	m := &matcher{source: pattern, re: re, pf: analyze(pattern)}
	if i := re.SubexpIndex("claim"); i > 0 {
		m.claim = i
	}
	return m, nil
}

// checkLowercase refuses a pattern that could only match uppercase letters: patterns run on the
// text with ASCII letters lowercased (no case folding in the matcher, which keeps it fast).
func checkLowercase(pattern string) error {
	re, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		return err
	}
	var bad error
	var walk func(*syntax.Regexp)
	walk = func(re *syntax.Regexp) {
		switch re.Op {
		case syntax.OpLiteral:
			for _, r := range re.Rune {
				if r >= 'A' && r <= 'Z' && re.Flags&syntax.FoldCase == 0 {
					bad = fmt.Errorf("pattern %q: write letters in lowercase (the text is matched lowercased)", pattern)
				}
			}
		case syntax.OpCharClass:
			in := func(c rune) bool {
				for i := 0; i+1 < len(re.Rune); i += 2 {
					if re.Rune[i] <= c && c <= re.Rune[i+1] {
						return true
					}
				}
				return false
			}
			for c := 'A'; c <= 'Z'; c++ {
				if in(c) && !in(c+'a'-'A') {
					bad = fmt.Errorf("pattern %q: a character class has uppercase letters without their lowercase (the text is matched lowercased)", pattern)
				}
			}
		}
		for _, sub := range re.Sub {
			walk(sub)
		}
	}
	walk(re)
	return bad
}

type condition struct {
	m     *matcher
	scope string
	chars int
}

func compileConditions(cs []conditionFile, what string) ([]condition, error) {
	var out []condition
	for i, c := range cs {
		m, err := compileMatcher(c.Pattern)
		if err != nil {
			return nil, fmt.Errorf("%s[%d]: %w", what, i, err)
		}
		switch c.Scope {
		case scopeBefore, scopeAfter, scopeAround:
			if c.Chars <= 0 {
				return nil, fmt.Errorf("%s[%d]: scope %s needs chars > 0", what, i, c.Scope)
			}
		case scopeMatch, scopeSentence, scopeParagraph, scopeSection, scopeDocument:
		case "":
			return nil, fmt.Errorf("%s[%d]: scope is required", what, i)
		default:
			return nil, fmt.Errorf("%s[%d]: unknown scope %q", what, i, c.Scope)
		}
		out = append(out, condition{m: m, scope: c.Scope, chars: c.Chars})
	}
	return out, nil
}

type pattern struct {
	m      *matcher
	when   []condition
	unless []condition
}

type requirement struct {
	description string
	any         []*matcher // the requirement holds when any of them matches in scope
	scope       string
	locales     []string // nil: every locale
	when        []condition
}

type dated struct {
	m               *matcher
	scope           string
	maxAgeMonths    int
	expiredSeverity Severity
}

// rule is a compiled rule.
type rule struct {
	id, kind            string
	severity            Severity
	contexts            []string // nil: every context
	message, suggestion string
	patterns            []pattern
	allow               []string // lowercase phrases
	when, unless        []condition
	require             []requirement
	once                bool
	outsideFootnotes    bool
	dated               *dated
	unlessReviewer      *regexp.Regexp
	check, field        string
	credential          *regexp.Regexp
	maxAgeMonths        int
	hostPattern         *regexp.Regexp
}

// matchers returns every matcher of r that runs on text.
func (r *rule) matchers() []*matcher {
	var ms []*matcher
	for _, c := range slices.Concat(r.when, r.unless) {
		ms = append(ms, c.m)
	}
	for _, p := range r.patterns {
		ms = append(ms, p.m)
		for _, c := range slices.Concat(p.when, p.unless) {
			ms = append(ms, c.m)
		}
	}
	for _, q := range r.require {
		ms = append(ms, q.any...)
		for _, c := range q.when {
			ms = append(ms, c.m)
		}
	}
	if r.dated != nil {
		ms = append(ms, r.dated.m)
	}
	return ms
}

func (r *rule) appliesTo(context string) bool {
	return r.contexts == nil || slices.Contains(r.contexts, context)
}

// locale is a compiled locale: digits of each verified number, and retired numbers.
type locale struct {
	countryCode string
	phones      map[string]string // digits -> name
	retired     map[string]phoneFile
}

func compileRuleFile(f *ruleFile) ([]*rule, map[string]*locale, error) {
	locales := map[string]*locale{}
	for name, lf := range f.Locales {
		l := &locale{countryCode: lf.CountryCode, phones: map[string]string{}, retired: map[string]phoneFile{}}
		for _, p := range lf.Phones {
			d := l.normalize(p.Number)
			if d == "" {
				return nil, nil, fmt.Errorf("locale %s: phone %q has no digits", name, p.Number)
			}
			l.phones[d] = p.Name
		}
		for _, p := range lf.Retired {
			l.retired[l.normalize(p.Number)] = p
		}
		locales[name] = l
	}
	seen := map[string]bool{}
	var rules []*rule
	for i, e := range f.Rules {
		r, err := compileRule(e)
		if err != nil {
			return nil, nil, fmt.Errorf("rule %d (%s): %w", i, e.ID, err)
		}
		if seen[r.id] {
			return nil, nil, fmt.Errorf("rule %s: duplicate id", r.id)
		}
		seen[r.id] = true
		rules = append(rules, r)
	}
	return rules, locales, nil
}

func compileRule(e ruleEntry) (*rule, error) {
	if !ruleIDRE.MatchString(e.ID) {
		return nil, fmt.Errorf("id must be lowercase words joined by '-'")
	}
	sev, err := ParseSeverity(e.Severity)
	if err != nil {
		return nil, err
	}
	if e.Message == "" {
		return nil, errors.New("message is required")
	}
	r := &rule{id: e.ID, kind: e.Kind, severity: sev, contexts: e.Contexts, message: e.Message, suggestion: e.Suggestion, once: e.Once, outsideFootnotes: e.OutsideFootnotes, check: e.Check, field: e.Field, maxAgeMonths: e.MaxAgeMonths}
	if r.kind == "" {
		r.kind = kindMatch
	}
	for _, c := range e.Contexts {
		if !knownContext(c) {
			return nil, fmt.Errorf("unknown context %q", c)
		}
	}
	for i, p := range e.Patterns {
		m, err := compileMatcher(p.Pattern)
		if err != nil {
			return nil, fmt.Errorf("patterns[%d]: %w", i, err)
		}
		when, err := compileConditions(p.When, fmt.Sprintf("patterns[%d].when", i))
		if err != nil {
			return nil, err
		}
		unless, err := compileConditions(p.Unless, fmt.Sprintf("patterns[%d].unless", i))
		if err != nil {
			return nil, err
		}
		r.patterns = append(r.patterns, pattern{m: m, when: when, unless: unless})
	}
	for _, a := range e.Allow {
		r.allow = append(r.allow, asciiLower(a))
	}
	if r.when, err = compileConditions(e.When, "when"); err != nil {
		return nil, err
	}
	if r.unless, err = compileConditions(e.Unless, "unless"); err != nil {
		return nil, err
	}
	for i, q := range e.Require {
		req := requirement{description: q.Description, scope: q.Scope, locales: q.Locales}
		if req.description == "" {
			return nil, fmt.Errorf("require[%d]: description is required", i)
		}
		srcs := q.Patterns
		if q.Pattern != "" {
			srcs = append([]string{q.Pattern}, srcs...)
		}
		if len(srcs) == 0 {
			return nil, fmt.Errorf("require[%d]: a pattern is required", i)
		}
		for _, s := range srcs {
			m, err := compileMatcher(s)
			if err != nil {
				return nil, fmt.Errorf("require[%d]: %w", i, err)
			}
			req.any = append(req.any, m)
		}
		if req.when, err = compileConditions(q.When, fmt.Sprintf("require[%d].when", i)); err != nil {
			return nil, err
		}
		switch {
		case r.kind == kindRequire && req.scope == "":
			req.scope = scopeDocument
		case r.kind == kindRequire && req.scope != scopeDocument:
			return nil, fmt.Errorf("require[%d]: a require rule searches the document", i)
		case !slices.Contains([]string{scopeSentence, scopeParagraph, scopeSection, scopeDocument}, req.scope):
			return nil, fmt.Errorf("require[%d]: scope must be sentence, paragraph, section or document", i)
		}
		r.require = append(r.require, req)
	}
	if e.Dated != nil {
		m, err := compileMatcher(e.Dated.Pattern)
		if err != nil {
			return nil, fmt.Errorf("dated: %w", err)
		}
		if m.re.SubexpIndex("year") < 0 {
			return nil, errors.New("dated: the pattern needs a (?P<year>...) group")
		}
		exp, err := ParseSeverity(e.Dated.ExpiredSeverity)
		if err != nil {
			return nil, fmt.Errorf("dated: %w", err)
		}
		if e.Dated.MaxAgeMonths <= 0 {
			return nil, errors.New("dated: maxAgeMonths must be positive")
		}
		if !slices.Contains([]string{scopeSentence, scopeParagraph}, e.Dated.Scope) {
			return nil, errors.New("dated: scope must be sentence or paragraph")
		}
		r.dated = &dated{m: m, scope: e.Dated.Scope, maxAgeMonths: e.Dated.MaxAgeMonths, expiredSeverity: exp}
	}
	if e.UnlessReviewer != "" {
		if r.unlessReviewer, err = regexp.Compile("(?i)" + e.UnlessReviewer); err != nil {
			return nil, fmt.Errorf("unlessReviewer: %w", err)
		}
	}
	if e.Credential != "" {
		if r.credential, err = regexp.Compile("(?i)" + e.Credential); err != nil {
			return nil, fmt.Errorf("credential: %w", err)
		}
	}
	if e.HostPattern != "" {
		if r.hostPattern, err = regexp.Compile("(?i)" + e.HostPattern); err != nil {
			return nil, fmt.Errorf("hostPattern: %w", err)
		}
	}
	if r.kind == kindRequire || r.kind == kindMetadata {
		for _, c := range slices.Concat(r.when, r.unless) {
			if c.scope != scopeDocument {
				return nil, fmt.Errorf("a %s rule's conditions search the document", r.kind)
			}
		}
		for _, q := range r.require {
			for _, c := range q.when {
				if c.scope != scopeDocument {
					return nil, fmt.Errorf("a %s rule's conditions search the document", r.kind)
				}
			}
		}
	}
	switch r.kind {
	case kindMatch, kindPhone, kindRequire:
		if len(r.patterns) == 0 {
			return nil, errors.New("patterns are required")
		}
		if r.kind == kindRequire && len(r.require) == 0 {
			return nil, errors.New("a require rule needs require entries")
		}
	case kindMetadata:
		if err := checkMetadataRule(r); err != nil {
			return nil, err
		}
	case kindMarker:
	default:
		return nil, fmt.Errorf("unknown kind %q", r.kind)
	}
	return r, nil
}

func checkMetadataRule(r *rule) error {
	if r.field == "" {
		return errors.New("a metadata rule needs field")
	}
	switch r.check {
	case checkReviewerCredential, checkReviewerNotSole:
		if r.credential == nil {
			return fmt.Errorf("check %s needs credential", r.check)
		}
	case checkReviewCurrent:
		if r.maxAgeMonths <= 0 {
			return fmt.Errorf("check %s needs maxAgeMonths", r.check)
		}
	case checkCitation:
		if r.hostPattern == nil {
			return fmt.Errorf("check %s needs hostPattern", r.check)
		}
	case checkFictionalReviewer:
	default:
		return fmt.Errorf("unknown check %q", r.check)
	}
	return nil
}

// normalize returns the digits of a phone number, letters turned to keypad digits (HELP = 4357),
// without the locale's country code when one leads a full number.
func (l *locale) normalize(number string) string {
	var b strings.Builder
	for _, c := range strings.ToUpper(number) {
		switch {
		case c >= '0' && c <= '9':
			b.WriteRune(c)
		case c >= 'A' && c <= 'Z':
			b.WriteByte(keypad[c-'A'])
		}
	}
	d := b.String()
	if l.countryCode != "" && len(d) > len(l.countryCode)+6 && strings.HasPrefix(d, l.countryCode) {
		d = d[len(l.countryCode):]
	}
	return d
}

// keypad maps A-Z to the digit on a phone keypad.
var keypad = [26]byte{'2', '2', '2', '3', '3', '3', '4', '4', '4', '5', '5', '5', '6', '6', '6', '7', '7', '7', '7', '8', '8', '8', '9', '9', '9', '9'}
