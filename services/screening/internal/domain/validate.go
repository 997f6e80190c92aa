package domain

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/beaconcms/beacon/platform/apperr"
	"github.com/beaconcms/beacon/platform/claimlint"
	"github.com/beaconcms/beacon/platform/markdown"
	"github.com/beaconcms/beacon/platform/slug"
	"github.com/beaconcms/beacon/platform/weburl"
)

// SiteSettings is what the screening rules need to know about one site.
type SiteSettings struct {
	Exists     bool
	Deleted    bool
	Commercial bool // the site is run commercially (a site setting)
	// CrisisLineText is the site's own crisis-line text: shown with every result whose band
	// shows crisis lines, and the floor when no crisis line can be fetched.
	CrisisLineText string
	// LintTuning is the site's own tuning of the clinical-claim lint (its lint_tuning setting).
	LintTuning claimlint.SiteTuning
}

// SiteCatalog answers questions about sites, from the site catalog. Declared here, by its
// consumer; the facade adapts the shared catalog.
type SiteCatalog interface {
	Site(ctx context.Context, id string) (SiteSettings, error)
}

// ResourceKinds are the kinds of resource a band may recommend: the resources service's kinds
// (beacon.resources.v1.Kind), in lower case without the KIND_ prefix. Normalize turns "-" and
// spaces into "_", so "peer-support" is peer_support.
var ResourceKinds = []string{"crisis_line", "text_line", "chat", "support_group", "online_community", "treatment_provider", "peer_support", "app_or_tool", "other"}

// Limits on questionnaire fields. Requests are capped at 1 MiB before they reach the domain.
const (
	maxTitle          = 200
	maxDescription    = 1000
	maxInstructions   = 10000
	maxItemText       = 2000
	maxItems          = 200 // all items, nested ones included
	maxDepth          = 4   // nesting levels of groups
	maxOptions        = 50
	maxOptionValue    = 100
	maxEnableWhen     = 10
	maxAbsScore       = 1000
	maxBands          = 20
	maxResultText     = 20000
	maxDisclaimer     = 2000
	maxCitation       = 2000
	maxLicenseName    = 200
	maxTargetSites    = 20
	maxRecommendLabel = 60
	maxRecommendEach  = 20
)

var (
	linkIDPattern   = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)
	bandCodePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,39}$`)
)

// Normalize puts content into canonical form before validation: trimmed texts, a slug (from
// the title when empty), canonical integers in options and conditions of integer questions,
// option displays defaulting to values, canonical labels and sites.
func (c *Content) Normalize() {
	c.Title = strings.TrimSpace(c.Title)
	if strings.TrimSpace(c.Slug) == "" {
		c.Slug = slug.Normalize(c.Title)
	} else {
		// A slug the client chose is never cut: an overlong one stays as sent and fails Validate.
		c.Slug, _ = slug.NormalizeExplicit(c.Slug)
	}
	c.Description = strings.TrimSpace(c.Description)
	c.Disclaimer = strings.TrimSpace(c.Disclaimer)
	c.Source.Citation = strings.TrimSpace(c.Source.Citation)
	c.Source.LicenseName = strings.TrimSpace(c.Source.LicenseName)
	c.Source.URL = strings.TrimSpace(c.Source.URL)
	for i := range c.Acknowledgements {
		a := &c.Acknowledgements[i]
		a.RuleID, a.Reviewer, a.Reason = strings.TrimSpace(a.RuleID), strings.TrimSpace(a.Reviewer), strings.TrimSpace(a.Reason)
	}
	types := map[string]ItemType{}
	var walk func(items []Item)
	walk = func(items []Item) {
		for i := range items {
			it := &items[i]
			it.LinkID = strings.TrimSpace(it.LinkID)
			it.Text = strings.TrimSpace(it.Text)
			if _, seen := types[it.LinkID]; !seen {
				types[it.LinkID] = it.Type
			}
			for k := range it.Options {
				o := &it.Options[k]
				o.Value = strings.TrimSpace(o.Value)
				if it.Type == ItemInteger {
					o.Value = canonicalInteger(o.Value)
				}
				o.Display = strings.TrimSpace(o.Display)
				if o.Display == "" {
					o.Display = o.Value
				}
			}
			for k := range it.EnableWhen {
				w := &it.EnableWhen[k]
				w.Question = strings.TrimSpace(w.Question)
				w.Answer = strings.TrimSpace(w.Answer)
				if types[w.Question] == ItemInteger && w.Operator != OpExists {
					w.Answer = canonicalInteger(w.Answer)
				}
			}
			walk(it.Items)
		}
	}
	walk(c.Items)
	for i := range c.Bands {
		b := &c.Bands[i]
		b.Code = strings.TrimSpace(b.Code)
		b.Title = strings.TrimSpace(b.Title)
		b.Recommend.ArticleTags = normalizeLabels(b.Recommend.ArticleTags)
		b.Recommend.ArticleTopics = normalizeLabels(b.Recommend.ArticleTopics)
		b.Recommend.ResourceKinds = normalizeLabels(b.Recommend.ResourceKinds)
		for k, kind := range b.Recommend.ResourceKinds {
			b.Recommend.ResourceKinds[k] = strings.NewReplacer("-", "_", " ", "_").Replace(kind)
		}
	}
	sites := make([]string, 0, len(c.TargetSites))
	for _, s := range c.TargetSites {
		if s = strings.TrimSpace(s); !slices.Contains(sites, s) {
			sites = append(sites, s)
		}
	}
	c.TargetSites = sites
}

// canonicalInteger rewrites a decimal integer without sign noise or leading zeros; anything else
// is returned unchanged for validation to reject.
func canonicalInteger(s string) string {
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return strconv.FormatInt(n, 10)
	}
	return s
}

func normalizeLabels(in []string) []string {
	out := make([]string, 0, len(in))
	for _, l := range in {
		l = strings.ToLower(strings.Join(strings.Fields(l), " "))
		if l != "" && !slices.Contains(out, l) {
			out = append(out, l)
		}
	}
	return out
}

// Validate checks normalized content and returns an Invalid error listing every violation,
// with fields named below prefix (e.g. "questionnaire."). With no violation it checks the
// target sites: a site that does not exist or is deleted gives FailedPrecondition naming it.
// A catalog failure is returned as is.
func (c *Content) Validate(ctx context.Context, sites SiteCatalog, prefix string) error {
	var v violations
	v.prefix = prefix
	v.text("title", c.Title, 1, maxTitle, false)
	if c.Slug == "" {
		v.add("slug", "is required (or give a title with letters or digits)")
	} else if !slug.Valid(c.Slug) {
		v.add("slug", "must be lowercase letters, digits and hyphens, at most %d characters", slug.MaxLen)
	}
	v.text("description", c.Description, 0, maxDescription, true)
	v.text("instructions", c.Instructions, 0, maxInstructions, true)
	if err := markdown.CheckComplexity(c.Instructions); err != nil {
		v.add("instructions", "is too complex to render: %v", err)
	}
	v.text("disclaimer", c.Disclaimer, 1, maxDisclaimer, true)
	v.text("source.citation", c.Source.Citation, 1, maxCitation, true)
	v.text("source.license_name", c.Source.LicenseName, 1, maxLicenseName, false)
	if c.Source.URL != "" {
		if err := weburl.CheckAbsolute(c.Source.URL); err != nil {
			v.add("source.url", "%s", err)
		}
	}
	f := newForm(c.Items)
	itemsOK := v.items(c.Items, f)
	bandsOK := v.bands(c.Bands)
	if itemsOK && bandsOK {
		v.coverage(f, c.Bands)
	}
	switch {
	case len(c.TargetSites) == 0:
		v.add("target_sites", "must name at least one site")
	case len(c.TargetSites) > maxTargetSites:
		v.add("target_sites", "must name at most %d sites", maxTargetSites)
	}
	var unusable []int
	for i, id := range c.TargetSites {
		field := fmt.Sprintf("target_sites[%d]", i)
		if !slug.Valid(id) {
			v.add(field, "must be a site name like sites/kratom-help")
			continue
		}
		s, err := sites.Site(ctx, id)
		if err != nil {
			return fmt.Errorf("site %s: %w", id, err)
		}
		if !s.Exists || s.Deleted {
			unusable = append(unusable, i)
			continue
		}
		if s.Commercial && !c.Source.CommercialUseAllowed {
			v.add(field, "site %q is commercial and the license %q does not allow commercial use", id, c.Source.LicenseName)
		}
	}
	if err := v.Err(); err != nil {
		return err
	}
	if len(unusable) == 0 {
		return nil
	}
	e := &apperr.Error{Code: apperr.FailedPrecondition, Message: "a target site does not exist or is deleted"}
	for _, i := range unusable {
		e.Fields = append(e.Fields, apperr.FieldViolation{Field: fmt.Sprintf("%starget_sites[%d]", prefix, i), Description: fmt.Sprintf("site %q does not exist or is deleted", c.TargetSites[i])})
	}
	return e
}

type violations struct {
	apperr.Violations
	prefix string
}

func (v *violations) add(field, format string, args ...any) {
	v.Add(v.prefix+field, format, args...)
}

// text checks that s is valid UTF-8 without control characters (newlines allowed when
// multiline) and between min and max characters long.
func (v *violations) text(field, s string, min, max int, multiline bool) {
	n := utf8.RuneCountInString(s)
	switch {
	case !utf8.ValidString(s):
		v.add(field, "must be valid UTF-8")
	case min > 0 && strings.TrimSpace(s) == "":
		v.add(field, "is required")
	case n > max:
		v.add(field, "must be at most %d characters", max)
	case hasControl(s, multiline):
		v.add(field, "must not contain control characters")
	}
}

func hasControl(s string, multiline bool) bool {
	for _, r := range s {
		if r == '\n' || r == '\r' || r == '\t' {
			if !multiline {
				return true
			}
			continue
		}
		if r < 0x20 || r == 0x7f {
			return true
		}
	}
	return false
}

// items checks every item and reports whether the structure is sound enough to compute
// reachable totals (unique link ids, valid options and conditions).
func (v *violations) items(items []Item, f *form) bool {
	before := len(v.Violations)
	if len(items) == 0 {
		v.add("items", "must have at least one question")
	}
	if len(f.nodes) > maxItems {
		v.add("items", "must have at most %d items in all, nested ones included (has %d)", maxItems, len(f.nodes))
		return false
	}
	firstAt := map[string]string{}
	questions := 0
	for i := range f.nodes {
		n := &f.nodes[i]
		it := n.item
		if it.Type.Answerable() {
			questions++
		}
		if !linkIDPattern.MatchString(it.LinkID) {
			v.add(n.path+".link_id", "must be 1 to 64 letters, digits, '.', '-' or '_', starting with a letter or digit")
		} else if at, dup := firstAt[it.LinkID]; dup {
			v.add(n.path+".link_id", "%q is already the link id of %s", it.LinkID, at)
		} else {
			firstAt[it.LinkID] = v.prefix + n.path
		}
		v.item(f, i)
	}
	if len(items) > 0 && questions == 0 {
		v.add("items", "must have at least one question (boolean, choice or integer item)")
	}
	return len(v.Violations) == before
}

func (v *violations) item(f *form, i int) {
	n := &f.nodes[i]
	it := n.item
	p := n.path
	depth := strings.Count(p, ".items[")
	if depth >= maxDepth {
		v.add(p, "is nested %d groups deep; at most %d levels are allowed", depth, maxDepth-1)
	}
	multiline := it.Type == ItemDisplay
	minText := 1
	if it.Type == ItemGroup {
		minText = 0
	}
	v.text(p+".text", it.Text, minText, maxItemText, multiline)
	switch it.Type {
	case ItemBoolean, ItemChoice, ItemInteger, ItemDisplay, ItemGroup:
	default:
		v.add(p+".type", "is required: boolean, choice, integer, display or group")
		return
	}
	if it.Type == ItemGroup && len(it.Items) == 0 {
		v.add(p+".items", "a group must contain at least one item")
	}
	if it.Type != ItemGroup && len(it.Items) > 0 {
		v.add(p+".items", "only groups contain items (this is a %s item)", it.Type)
	}
	if !it.Type.Answerable() {
		if it.Required {
			v.add(p+".required", "only questions can be required (this is a %s item)", it.Type)
		}
		if len(it.Options) > 0 {
			v.add(p+".answer_options", "only questions have answer options (this is a %s item)", it.Type)
		}
	}
	v.options(p, it)
	if len(it.EnableWhen) > maxEnableWhen {
		v.add(p+".enable_when", "must have at most %d conditions", maxEnableWhen)
	}
	if it.EnableBehavior != EnableAll && it.EnableBehavior != EnableAny {
		v.add(p+".enable_behavior", "must be all or any")
	}
	for k, c := range n.conds {
		v.condition(f, i, fmt.Sprintf("%s.enable_when[%d]", p, k), c)
	}
}

func (v *violations) options(p string, it *Item) {
	switch it.Type {
	case ItemChoice:
		if len(it.Options) < 2 {
			v.add(p+".answer_options", "a choice question needs at least 2 options")
		}
	case ItemBoolean:
		if len(it.Options) != 0 && !(len(it.Options) == 2 && optionValuesAre(it.Options, "true", "false")) {
			v.add(p+".answer_options", "a boolean question has no options or exactly the options \"true\" and \"false\"")
		}
	}
	if len(it.Options) > maxOptions {
		v.add(p+".answer_options", "must have at most %d options", maxOptions)
	}
	seen := map[string]int{}
	for k, o := range it.Options {
		f := fmt.Sprintf("%s.answer_options[%d]", p, k)
		switch {
		case o.Value == "":
			v.add(f+".value", "is required")
		case utf8.RuneCountInString(o.Value) > maxOptionValue || hasControl(o.Value, false):
			v.add(f+".value", "must be at most %d characters without control characters", maxOptionValue)
		case it.Type == ItemInteger && !isInteger(o.Value):
			v.add(f+".value", "must be an integer for an integer question")
		}
		if first, dup := seen[o.Value]; dup && o.Value != "" {
			v.add(f+".value", "%q is already the value of answer_options[%d]", o.Value, first)
		} else {
			seen[o.Value] = k
		}
		v.text(f+".display", o.Display, 0, maxItemText, false)
		if o.Score < -maxAbsScore || o.Score > maxAbsScore {
			v.add(f+".score", "must be between %d and %d", -maxAbsScore, maxAbsScore)
		}
	}
}

func optionValuesAre(options []AnswerOption, values ...string) bool {
	for _, want := range values {
		if !slices.ContainsFunc(options, func(o AnswerOption) bool { return o.Value == want }) {
			return false
		}
	}
	return true
}

func isInteger(s string) bool {
	_, err := strconv.ParseInt(s, 10, 64)
	return err == nil
}

// condition checks that an enable_when refers to an earlier question with an answer that
// question can have, and an operator that applies to it.
func (v *violations) condition(f *form, i int, p string, c cond) {
	if c.q < 0 {
		if c.Question == "" {
			v.add(p+".question", "is required")
		} else {
			v.add(p+".question", "no item has link id %s", quoteID(c.Question))
		}
		return
	}
	q := f.nodes[c.q].item
	switch {
	case c.q >= i:
		v.add(p+".question", "must refer to an earlier item; %q is this item or comes after it", c.Question)
		return
	case !q.Type.Answerable():
		v.add(p+".question", "%q is a %s item, not a question", c.Question, q.Type)
		return
	}
	switch {
	case c.Operator < OpExists || c.Operator > OpLessOrEqual:
		v.add(p+".operator", "is required: exists, =, !=, >, <, >= or <=")
	case c.Operator == OpExists:
		if c.Answer != "true" && c.Answer != "false" {
			v.add(p+".answer", "must be true or false for exists")
		}
	case c.Operator.Ordered() && q.Type != ItemInteger:
		v.add(p+".operator", "%s applies only to integer questions; %q is a %s question", c.Operator, c.Question, q.Type)
	case q.Type == ItemBoolean:
		if c.Answer != "true" && c.Answer != "false" {
			v.add(p+".answer", "must be true or false, as %q is a boolean question", c.Question)
		}
	case q.Type == ItemChoice:
		if !slices.ContainsFunc(q.Options, func(o AnswerOption) bool { return o.Value == c.Answer }) {
			v.add(p+".answer", "%s is not an option of %q", quoteID(c.Answer), c.Question)
		}
	case q.Type == ItemInteger:
		if !isInteger(c.Answer) {
			v.add(p+".answer", "must be an integer, as %q is an integer question", c.Question)
		} else if len(q.Options) > 0 && !c.Operator.Ordered() && !slices.ContainsFunc(q.Options, func(o AnswerOption) bool { return o.Value == c.Answer }) {
			v.add(p+".answer", "%s is not an option of %q", quoteID(c.Answer), c.Question)
		}
	}
}

// bands checks each band on its own and reports whether they are sound enough to check
// coverage.
func (v *violations) bands(bands []Band) bool {
	before := len(v.Violations)
	switch {
	case len(bands) == 0:
		v.add("bands", "must have at least one band")
	case len(bands) > maxBands:
		v.add("bands", "must have at most %d bands", maxBands)
	}
	codes := map[string]int{}
	for i, b := range bands {
		p := fmt.Sprintf("bands[%d]", i)
		if !bandCodePattern.MatchString(b.Code) {
			v.add(p+".code", "must be 1 to 40 lowercase letters, digits, '-' or '_'")
		} else if first, dup := codes[b.Code]; dup {
			v.add(p+".code", "%q is already the code of bands[%d]", b.Code, first)
		} else {
			codes[b.Code] = i
		}
		v.text(p+".title", b.Title, 1, maxTitle, false)
		v.text(p+".result_text", b.ResultText, 0, maxResultText, true)
		if err := markdown.CheckComplexity(b.ResultText); err != nil {
			v.add(p+".result_text", "is too complex to render: %v", err)
		}
		if b.HasMax && b.Max < b.Min {
			v.add(p+".max_score", "must not be below min_score (%d)", b.Min)
		}
		if b.Severity < SeverityNone || b.Severity > SeveritySevere {
			v.add(p+".severity", "is required: none, low, moderate, high or severe")
		}
		if b.Severity == SeveritySevere && !b.ShowCrisisLines {
			v.add(p+".show_crisis_lines", "must be true for a severe band")
		}
		for name, labels := range map[string][]string{"article_tags": b.Recommend.ArticleTags, "article_topics": b.Recommend.ArticleTopics, "resource_kinds": b.Recommend.ResourceKinds} {
			if len(labels) > maxRecommendEach {
				v.add(p+".recommendations."+name, "must have at most %d entries", maxRecommendEach)
			}
			for k, l := range labels {
				field := fmt.Sprintf("%s.recommendations.%s[%d]", p, name, k)
				v.text(field, l, 1, maxRecommendLabel, false)
				if name == "resource_kinds" && !slices.Contains(ResourceKinds, l) {
					v.add(field, "must be a resource kind: %s", strings.Join(ResourceKinds, ", "))
				}
			}
		}
	}
	return len(v.Violations) == before
}

// coverage checks that the bands cover every reachable total exactly once and that every band
// covers some reachable total.
func (v *violations) coverage(f *form, bands []Band) {
	r, err := f.reach()
	if errors.Is(err, errTooComplex) {
		v.add("items", "enable_when conditions depend on too many answers to check the bands (at most %d combinations of the questions they refer to)", maxControllerCombinations)
		return
	}
	cov := coverageOf(r, bands)
	if len(cov.Gaps) > 0 {
		v.add("bands", "no band covers the reachable total(s) %s (reachable: %s)", ranges(cov.Gaps), ranges(cov.Reachable))
	}
	for j, bc := range cov.Bands {
		if len(bc.Covers) == 0 {
			v.add(fmt.Sprintf("bands[%d]", j), "covers no reachable total (reachable: %s)", ranges(cov.Reachable))
			continue
		}
		for _, o := range bc.Overlaps {
			v.add(fmt.Sprintf("bands[%d]", j), "overlaps bands[%d] (%q) at total(s) %s; each total must fall in exactly one band", o.Band, bands[o.Band].Code, ranges(o.Totals))
		}
	}
}

// ranges formats sorted integers compactly: "0-3, 5, 7-9".
func ranges(ns []int) string {
	var parts []string
	for _, r := range Ranges(ns) {
		if r.Min == r.Max {
			parts = append(parts, strconv.Itoa(r.Min))
		} else {
			parts = append(parts, fmt.Sprintf("%d-%d", r.Min, r.Max))
		}
	}
	return strings.Join(parts, ", ")
}
