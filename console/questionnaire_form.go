package console

import (
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"

	screeningv1 "github.com/beaconcms/beacon/gen/beacon/screening/v1"
)

// questForm is the questionnaire editor's form: the draft's editable fields as text, as the
// editor typed them or as the screening service returned them. Field names in the HTML form are
// the service's field paths ("items[0].answer_options[1].score"), so the service's violations
// land beside the inputs they name.
type questForm struct {
	Name     string // "questionnaires/{id}"; empty for a new questionnaire
	Etag     string // of the draft the editor opened
	Revision int64  // revision_id of the draft the editor opened

	Title, Slug, Description, Instructions, Disclaimer string
	Citation, SourceURL, License                       string
	Commercial                                         bool
	Sites                                              string // target site ids, comma-separated
	Items                                              []itemForm
	Bands                                              []bandForm
	// Focus is what the re-rendered form gives the focus to after a structural edit: the
	// value of the button to press again (a moved item's "up-0.1"), or the id of an input
	// (an added item's link id). Never posted.
	Focus string
}

type itemForm struct {
	LinkID, Text, Type string // Type: one of itemTypes' values
	Required           bool
	Behavior           string // "all" or "any"
	Options            []optionForm
	Conditions         []conditionForm
	// Items are a group's items, edited like the top level's, under "items[i].items[k]", to
	// formMaxDepth levels.
	Items []itemForm
}

type optionForm struct{ Value, Display, Score string }

type conditionForm struct{ Question, Operator, Answer string }

type bandForm struct {
	Code, Title, Min, Max, Severity, ResultText string
	Crisis                                      bool
	Tags, Topics, Kinds                         string // comma-separated recommendations
}

// Limits of what a posted form is read for: above the service's own limits, so the service
// names anything too long, but bounded against forged forms.
const (
	formMaxItems      = 250
	formMaxOptions    = 60
	formMaxConditions = 20
	formMaxBands      = 30
	// formMaxDepth is how many levels of items the editor reads and offers: the top level and
	// groups nested three deep, the screening service's limit (it refuses deeper nesting).
	formMaxDepth = 4
)

var itemTypes = []option{
	{"boolean", "Yes or no"}, {"choice", "Choice"}, {"integer", "Whole number"}, {"display", "Text only"}, {"group", "Group"},
}

var itemTypeToProto = map[string]screeningv1.Item_Type{
	"boolean": screeningv1.Item_TYPE_BOOLEAN, "choice": screeningv1.Item_TYPE_CHOICE, "integer": screeningv1.Item_TYPE_INTEGER,
	"display": screeningv1.Item_TYPE_DISPLAY, "group": screeningv1.Item_TYPE_GROUP,
}

var operators = []option{
	{"=", "equals"}, {"!=", "does not equal"}, {">", "greater than"}, {"<", "less than"},
	{">=", "at least"}, {"<=", "at most"}, {"exists", "is answered (true/false)"},
}

var operatorToProto = map[string]screeningv1.EnableWhen_Operator{
	"exists": screeningv1.EnableWhen_OPERATOR_EXISTS, "=": screeningv1.EnableWhen_OPERATOR_EQUALS, "!=": screeningv1.EnableWhen_OPERATOR_NOT_EQUALS,
	">": screeningv1.EnableWhen_OPERATOR_GREATER_THAN, "<": screeningv1.EnableWhen_OPERATOR_LESS_THAN,
	">=": screeningv1.EnableWhen_OPERATOR_GREATER_OR_EQUAL, "<=": screeningv1.EnableWhen_OPERATOR_LESS_OR_EQUAL,
}

var severities = []option{{"none", "None"}, {"low", "Low"}, {"moderate", "Moderate"}, {"high", "High"}, {"severe", "Severe (shows crisis lines)"}}

var severityToProto = map[string]screeningv1.Severity{
	"none": screeningv1.Severity_SEVERITY_NONE, "low": screeningv1.Severity_SEVERITY_LOW, "moderate": screeningv1.Severity_SEVERITY_MODERATE,
	"high": screeningv1.Severity_SEVERITY_HIGH, "severe": screeningv1.Severity_SEVERITY_SEVERE,
}

func keyOf[K comparable, V comparable](m map[K]V, v V) K {
	for k, x := range m {
		if x == v {
			return k
		}
	}
	var zero K
	return zero
}

// formOfQuestionnaire is the editor form of a questionnaire the service returned.
func formOfQuestionnaire(q *screeningv1.Questionnaire) questForm {
	f := questForm{
		Name: q.GetName(), Etag: q.GetEtag(), Revision: q.GetRevisionId(),
		Title: q.GetTitle(), Slug: q.GetSlug(), Description: q.GetDescription(), Instructions: q.GetInstructions(), Disclaimer: q.GetDisclaimer(),
		Citation: q.GetSource().GetCitation(), SourceURL: q.GetSource().GetUrl(), License: q.GetSource().GetLicenseName(),
		Commercial: q.GetSource().GetCommercialUseAllowed(),
	}
	sites := make([]string, 0, len(q.GetTargetSites()))
	for _, s := range q.GetTargetSites() {
		sites = append(sites, siteID(s))
	}
	f.Sites = strings.Join(sites, ", ")
	f.Items = itemFormsOf(q.GetItems())
	for _, b := range q.GetBands() {
		x := bandForm{Code: b.GetCode(), Title: b.GetTitle(), Min: strconv.Itoa(int(b.GetMinScore())), ResultText: b.GetResultText(),
			Severity: keyOf(severityToProto, b.GetSeverity()), Crisis: b.GetShowCrisisLines(),
			Tags: strings.Join(b.GetRecommendations().GetArticleTags(), ", "), Topics: strings.Join(b.GetRecommendations().GetArticleTopics(), ", "),
			Kinds: strings.Join(b.GetRecommendations().GetResourceKinds(), ", ")}
		if b.MaxScore != nil {
			x.Max = strconv.Itoa(int(b.GetMaxScore()))
		}
		f.Bands = append(f.Bands, x)
	}
	return f
}

// itemFormsOf is the editor form of items, their groups' items too.
func itemFormsOf(items []*screeningv1.Item) []itemForm {
	var out []itemForm
	for _, it := range items {
		x := itemForm{LinkID: it.GetLinkId(), Text: it.GetText(), Type: keyOf(itemTypeToProto, it.GetType()), Required: it.GetRequired(), Behavior: "all"}
		if it.GetEnableBehavior() == screeningv1.Item_ENABLE_BEHAVIOR_ANY {
			x.Behavior = "any"
		}
		for _, o := range it.GetAnswerOptions() {
			display := o.GetDisplay()
			if display == o.GetValue() {
				display = ""
			}
			x.Options = append(x.Options, optionForm{Value: o.GetValue(), Display: display, Score: strconv.Itoa(int(o.GetScore()))})
		}
		for _, w := range it.GetEnableWhen() {
			x.Conditions = append(x.Conditions, conditionForm{Question: w.GetQuestion(), Operator: keyOf(operatorToProto, w.GetOperator()), Answer: w.GetAnswer()})
		}
		x.Items = itemFormsOf(it.GetItems())
		out = append(out, x)
	}
	return out
}

// formKeys are the list indexes a posted form's keys hold, by the list's path: the key
// "items[1].items[2].text" holds index 1 of "items" and index 2 of "items[1].items". Built once
// per form, so reading a list costs a lookup, not a pass over every key.
type formKeys map[string]map[int]bool

// indexFormKeys reads the list indexes (at most 4 digits) of every key of form.
func indexFormKeys(form url.Values) formKeys {
	keys := formKeys{}
	for k := range form {
		for i := 0; i < len(k); i++ {
			if k[i] != '[' {
				continue
			}
			j := i + 1
			for j < len(k) && j-i <= 4 && k[j] >= '0' && k[j] <= '9' {
				j++
			}
			if j == i+1 || j >= len(k) || k[j] != ']' {
				continue
			}
			n, err := strconv.Atoi(k[i+1 : j])
			if err != nil {
				continue
			}
			if keys[k[:i]] == nil {
				keys[k[:i]] = map[int]bool{}
			}
			keys[k[:i]][n] = true
		}
	}
	return keys
}

// indexes returns the indexes n (below limit) of the list at path, ascending.
func (keys formKeys) indexes(path string, limit int) []int {
	out := make([]int, 0, len(keys[path]))
	for n := range keys[path] {
		if n < limit {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return out
}

// parseQuestForm reads the editor form from a posted form. Option and condition rows left
// entirely blank are dropped (the "add" buttons append blank rows).
func parseQuestForm(form url.Values) questForm {
	get := func(k string) string { return form.Get(k) }
	f := questForm{
		Name: get("name"), Etag: get("etag"),
		Title: get("title"), Slug: get("slug"), Description: get("description"), Instructions: get("instructions"), Disclaimer: get("disclaimer"),
		Citation: get("source.citation"), SourceURL: get("source.url"), License: get("source.license_name"),
		Commercial: get("source.commercial_use_allowed") != "", Sites: get("target_sites"),
	}
	f.Revision, _ = strconv.ParseInt(get("revision"), 10, 64)
	keys := indexFormKeys(form)
	f.Items = parseItemForms(form, keys, "items", 1)
	for _, j := range keys.indexes("bands", formMaxBands) {
		p := fmt.Sprintf("bands[%d]", j)
		f.Bands = append(f.Bands, bandForm{Code: get(p + ".code"), Title: get(p + ".title"), Min: get(p + ".min_score"), Max: get(p + ".max_score"),
			Severity: get(p + ".severity"), ResultText: get(p + ".result_text"), Crisis: get(p+".show_crisis_lines") != "",
			Tags: get(p + ".recommendations.article_tags"), Topics: get(p + ".recommendations.article_topics"), Kinds: get(p + ".recommendations.resource_kinds")})
	}
	return f
}

// parseItemForms reads the items posted under prefix ("items", "items[2].items"), at the
// given level (1: the top), and their groups' items below it up to formMaxDepth.
func parseItemForms(form url.Values, keys formKeys, prefix string, level int) []itemForm {
	get := form.Get
	var out []itemForm
	for _, i := range keys.indexes(prefix, formMaxItems) {
		p := fmt.Sprintf("%s[%d]", prefix, i)
		it := itemForm{LinkID: get(p + ".link_id"), Text: get(p + ".text"), Type: get(p + ".type"), Required: get(p+".required") != "",
			Behavior: get(p + ".enable_behavior")}
		if it.Behavior != "any" {
			it.Behavior = "all"
		}
		for _, k := range keys.indexes(p+".answer_options", formMaxOptions) {
			o := fmt.Sprintf("%s.answer_options[%d]", p, k)
			opt := optionForm{Value: get(o + ".value"), Display: get(o + ".display"), Score: get(o + ".score")}
			if strings.TrimSpace(opt.Value+opt.Display+opt.Score) != "" {
				it.Options = append(it.Options, opt)
			}
		}
		for _, k := range keys.indexes(p+".enable_when", formMaxConditions) {
			w := fmt.Sprintf("%s.enable_when[%d]", p, k)
			c := conditionForm{Question: get(w + ".question"), Operator: get(w + ".operator"), Answer: get(w + ".answer")}
			if strings.TrimSpace(c.Question+c.Answer) != "" {
				it.Conditions = append(it.Conditions, c)
			}
		}
		if level < formMaxDepth {
			it.Items = parseItemForms(form, keys, p+".items", level+1)
		}
		out = append(out, it)
	}
	return out
}

// questErrors are messages by form field path ("items[0].text", "bands", "target_sites").
type questErrors map[string][]string

func (e questErrors) add(field, message string) {
	e[field] = append(e[field], message)
}

// questionnaire returns the Questionnaire message of the form, and the problems the console
// finds before the service can (a score that is not a whole number), by field.
func (f questForm) questionnaire() (*screeningv1.Questionnaire, questErrors) {
	errs := questErrors{}
	number := func(field, s string) int32 {
		s = strings.TrimSpace(s)
		if s == "" {
			return 0
		}
		n, err := strconv.ParseInt(s, 10, 32)
		if err != nil {
			errs.add(field, "must be a whole number")
		}
		return int32(n)
	}
	q := &screeningv1.Questionnaire{
		Name: f.Name, Etag: f.Etag, Title: f.Title, Slug: f.Slug, Description: f.Description, Instructions: f.Instructions, Disclaimer: f.Disclaimer,
		Source: &screeningv1.Source{Citation: f.Citation, Url: f.SourceURL, LicenseName: f.License, CommercialUseAllowed: f.Commercial},
	}
	for _, s := range splitQuestList(f.Sites) {
		q.TargetSites = append(q.TargetSites, "sites/"+s)
	}
	q.Items = itemsOfForms(f.Items, "items", number)
	for j, b := range f.Bands {
		p := fmt.Sprintf("bands[%d]", j)
		x := &screeningv1.Band{Code: b.Code, Title: b.Title, ResultText: b.ResultText, Severity: severityToProto[b.Severity],
			ShowCrisisLines: b.Crisis, MinScore: number(p+".min_score", b.Min)}
		if strings.TrimSpace(b.Max) != "" {
			m := number(p+".max_score", b.Max)
			x.MaxScore = &m
		}
		if tags, topics, kinds := splitQuestList(b.Tags), splitQuestList(b.Topics), splitQuestList(b.Kinds); len(tags)+len(topics)+len(kinds) > 0 {
			x.Recommendations = &screeningv1.Recommendations{ArticleTags: tags, ArticleTopics: topics, ResourceKinds: kinds}
		}
		q.Bands = append(q.Bands, x)
	}
	return q, errs
}

// itemsOfForms are the Item messages of item forms posted under prefix; number reads a score
// (and names the field when it is not a whole number).
func itemsOfForms(items []itemForm, prefix string, number func(field, s string) int32) []*screeningv1.Item {
	var out []*screeningv1.Item
	for i, it := range items {
		p := fmt.Sprintf("%s[%d]", prefix, i)
		x := &screeningv1.Item{LinkId: it.LinkID, Text: it.Text, Type: itemTypeToProto[it.Type], Required: it.Required}
		if it.Behavior == "any" {
			x.EnableBehavior = screeningv1.Item_ENABLE_BEHAVIOR_ANY
		}
		for k, o := range it.Options {
			x.AnswerOptions = append(x.AnswerOptions, &screeningv1.AnswerOption{Value: o.Value, Display: o.Display,
				Score: number(fmt.Sprintf("%s.answer_options[%d].score", p, k), o.Score)})
		}
		for _, c := range it.Conditions {
			x.EnableWhen = append(x.EnableWhen, &screeningv1.EnableWhen{Question: c.Question, Operator: operatorToProto[c.Operator], Answer: c.Answer})
		}
		x.Items = itemsOfForms(it.Items, p+".items", number)
		out = append(out, x)
	}
	return out
}

// splitQuestList splits a comma-separated list, dropping blanks.
func splitQuestList(s string) []string {
	var out []string
	for _, part := range strings.Split(s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}

// editableMask are the fields the editor saves: every writable field but the lint
// acknowledgements, which it leaves as they are.
var editableMask = []string{"title", "slug", "description", "instructions", "items", "bands", "disclaimer", "source", "target_sites"}

// applyEdit applies a structural edit the editor asked for (a button's "op" value) to the form
// and reports whether op was one. P is an item's path of indexes, dot-separated: "2" is the
// third top-level item, "2.0" the first item of that group. Paths out of range do nothing.
//
//	add-item, add-group, add-child-P, add-group-P, remove-item-P, up-P, down-P, add-option-P, remove-option-P-K,
//	add-condition-P, remove-condition-P-K, add-band, remove-band-J
//
// A group is added with one yes/no question in it (the service refuses an empty group).
// It sets f.Focus to what the re-rendered form should give the focus to: a moved item's
// button that moves it the same way again (the other one at either end), an added item's link
// id, an added group's text.
func (f *questForm) applyEdit(op string) bool {
	verb, args := splitOp(op)
	f.Focus = ""
	var it *itemForm // the item args[0] names, if any
	if len(args) > 0 {
		it = f.item(args[0])
	}
	index := func(n int) (int, bool) { // args[n] as one index
		if len(args) > n && len(args[n]) == 1 {
			return args[n][0], true
		}
		return 0, false
	}
	k, hasK := index(1)
	switch {
	case verb == "add-item" && len(args) == 0 && len(f.Items) < formMaxItems:
		f.Items = append(f.Items, newItemForm(nextLinkID(f.Items)))
		f.Focus = fieldID(itemPath([]int{len(f.Items) - 1}) + ".link_id")
	case verb == "add-child" && len(args) == 1 && it != nil && it.Type == "group" && len(args[0]) < formMaxDepth && len(it.Items) < formMaxItems:
		it.Items = append(it.Items, newItemForm(nextLinkID(f.Items)))
		f.Focus = fieldID(itemPath(append(slices.Clone(args[0]), len(it.Items)-1)) + ".link_id")
	case verb == "add-group" && len(args) == 0 && len(f.Items) < formMaxItems:
		f.Items = append(f.Items, itemForm{LinkID: nextLinkID(f.Items), Type: "group", Behavior: "all"})
		g := &f.Items[len(f.Items)-1]
		g.Items = []itemForm{newItemForm(nextLinkID(f.Items))}
		f.Focus = fieldID(itemPath([]int{len(f.Items) - 1}) + ".text")
	case verb == "add-group" && len(args) == 1 && it != nil && it.Type == "group" && len(args[0]) < formMaxDepth-1 && len(it.Items) < formMaxItems:
		it.Items = append(it.Items, itemForm{LinkID: nextLinkID(f.Items), Type: "group", Behavior: "all"})
		g := &it.Items[len(it.Items)-1]
		g.Items = []itemForm{newItemForm(nextLinkID(f.Items))}
		f.Focus = fieldID(itemPath(append(slices.Clone(args[0]), len(it.Items)-1)) + ".text")
	case verb == "remove-item" && len(args) == 1 && it != nil:
		siblings, i := f.siblings(args[0])
		*siblings = slices.Delete(*siblings, i, i+1)
	case (verb == "up" || verb == "down") && len(args) == 1 && it != nil:
		siblings, i := f.siblings(args[0])
		j := i - 1
		if verb == "down" {
			j = i + 1
		}
		if j < 0 || j >= len(*siblings) {
			return false
		}
		(*siblings)[i], (*siblings)[j] = (*siblings)[j], (*siblings)[i]
		moved := append(slices.Clone(args[0][:len(args[0])-1]), j)
		switch {
		case len(*siblings) == 1:
		case verb == "up" && j > 0, verb == "down" && j == len(*siblings)-1:
			f.Focus = "up-" + opPath(moved)
		default:
			f.Focus = "down-" + opPath(moved)
		}
	case verb == "add-option" && len(args) == 1 && it != nil && len(it.Options) < formMaxOptions:
		it.Options = append(it.Options, optionForm{Score: "0"})
	case verb == "remove-option" && len(args) == 2 && it != nil && hasK && k >= 0 && k < len(it.Options):
		it.Options = slices.Delete(it.Options, k, k+1)
	case verb == "add-condition" && len(args) == 1 && it != nil && len(it.Conditions) < formMaxConditions:
		it.Conditions = append(it.Conditions, conditionForm{Operator: "="})
	case verb == "remove-condition" && len(args) == 2 && it != nil && hasK && k >= 0 && k < len(it.Conditions):
		it.Conditions = slices.Delete(it.Conditions, k, k+1)
	case verb == "add-band" && len(args) == 0 && len(f.Bands) < formMaxBands:
		f.Bands = append(f.Bands, bandForm{Severity: "none", Min: "0"})
	case verb == "remove-band" && len(args) == 1 && len(args[0]) == 1 && args[0][0] >= 0 && args[0][0] < len(f.Bands):
		f.Bands = slices.Delete(f.Bands, args[0][0], args[0][0]+1)
	default:
		return false
	}
	return true
}

// movedNote says where the item the last edit moved is now ("" when it moved nothing), for
// the page's status line.
func (f *questForm) movedNote() string {
	verb, args := splitOp(f.Focus)
	if (verb != "up" && verb != "down") || len(args) != 1 || f.item(args[0]) == nil {
		return ""
	}
	siblings, i := f.siblings(args[0])
	numbers := make([]string, len(args[0]))
	for n, x := range args[0] {
		numbers[n] = strconv.Itoa(x + 1)
	}
	return fmt.Sprintf("Moved %s: now item %s, %d of %d in its list. ", (*siblings)[i].LinkID, strings.Join(numbers, "."), i+1, len(*siblings))
}

// newItemForm is an added item: a required yes/no question.
func newItemForm(linkID string) itemForm {
	return itemForm{LinkID: linkID, Type: "boolean", Required: true, Behavior: "all",
		Options: []optionForm{{Value: "true", Display: "Yes", Score: "1"}, {Value: "false", Display: "No", Score: "0"}}}
}

// item is the item at path, or nil.
func (f *questForm) item(path []int) *itemForm {
	items := &f.Items
	var it *itemForm
	for _, i := range path {
		if i < 0 || i >= len(*items) {
			return nil
		}
		it = &(*items)[i]
		items = &it.Items
	}
	return it
}

// siblings is the list that holds the item at path (which must exist) and its index there.
func (f *questForm) siblings(path []int) (*[]itemForm, int) {
	last := len(path) - 1
	if last == 0 {
		return &f.Items, path[0]
	}
	return &f.item(path[:last]).Items, path[last]
}

// itemPath is the field path of the item at path: [2 0] is "items[2].items[0]".
func itemPath(path []int) string {
	var b strings.Builder
	for n, i := range path {
		if n > 0 {
			b.WriteByte('.')
		}
		fmt.Fprintf(&b, "items[%d]", i)
	}
	return b.String()
}

// opPath is path as the editor's buttons name it: [2 0] is "2.0".
func opPath(path []int) string {
	parts := make([]string, len(path))
	for n, i := range path {
		parts[n] = strconv.Itoa(i)
	}
	return strings.Join(parts, ".")
}

// splitOp splits "remove-option-2.0-1" into "remove-option" and [[2 0] [1]]: the trailing
// dash-separated parts that are dot-separated indexes.
func splitOp(op string) (string, [][]int) {
	parts := strings.Split(op, "-")
	var args [][]int
	for len(parts) > 0 {
		path, ok := parseOpPath(parts[len(parts)-1])
		if !ok {
			break
		}
		args = append([][]int{path}, args...)
		parts = parts[:len(parts)-1]
	}
	return strings.Join(parts, "-"), args
}

// parseOpPath reads "2.0" as [2 0]; at most formMaxDepth indexes.
func parseOpPath(s string) ([]int, bool) {
	fields := strings.Split(s, ".")
	if len(fields) > formMaxDepth {
		return nil, false
	}
	path := make([]int, 0, len(fields))
	for _, x := range fields {
		n, err := strconv.Atoi(x)
		if err != nil {
			return nil, false
		}
		path = append(path, n)
	}
	return path, true
}

// nextLinkID is "qN" for the smallest N (from the number of items, nested ones included, plus
// one) no item at any level uses: link ids are unique across the questionnaire.
func nextLinkID(items []itemForm) string {
	used := map[string]bool{}
	var walk func([]itemForm)
	walk = func(items []itemForm) {
		for _, it := range items {
			used[it.LinkID] = true
			walk(it.Items)
		}
	}
	walk(items)
	for n := len(used) + 1; ; n++ {
		if id := "q" + strconv.Itoa(n); !used[id] {
			return id
		}
	}
}

// newQuestForm is the starting point of a new questionnaire: one yes/no question and bands
// that cover its totals, the disclaimer every result shows, and the editor's first site.
func newQuestForm(site string) questForm {
	return questForm{
		Disclaimer: "This is a self-check, not a diagnosis. Only a health professional can diagnose.",
		License:    "All rights reserved", Citation: "Written by the editorial team.", Sites: site,
		Items: []itemForm{{LinkID: "q1", Type: "boolean", Required: true, Behavior: "all",
			Options: []optionForm{{Value: "true", Display: "Yes", Score: "1"}, {Value: "false", Display: "No", Score: "0"}}}},
		Bands: []bandForm{
			{Code: "none", Title: "No signs", Min: "0", Max: "0", Severity: "none"},
			{Code: "some", Title: "Some signs", Min: "1", Severity: "low"},
		},
	}
}

// itemView is one item as the editor's template shows it, with its group's items below it.
type itemView struct {
	Q        *questPage
	Item     *itemForm
	Path     string // field path: "items[2].items[0]"
	Op       string // the path as the buttons name it: "2.0"
	Number   string // as the editor reads it: "3.1"
	First    bool   // first of its list: it cannot move up
	Last     bool   // last of its list: it cannot move down
	Nested   bool   // inside a group
	ReadOnly bool   // the viewer may not change it: no buttons
	CanNest  bool   // items may be added to it (a group above the deepest level)
	CanGroup bool   // a group may be added to it (a group two levels above the deepest)
	Children []itemView
}

// itemViewsOf are the views of items at path (nil: the top level).
func itemViewsOf(page *questPage, readOnly bool, items []itemForm, path []int) []itemView {
	out := make([]itemView, 0, len(items))
	for i := range items {
		at := append(slices.Clone(path), i)
		numbers := make([]string, len(at))
		for n, x := range at {
			numbers[n] = strconv.Itoa(x + 1)
		}
		v := itemView{Q: page, Item: &items[i], Path: itemPath(at), Op: opPath(at), Number: strings.Join(numbers, "."),
			First: i == 0, Last: i == len(items)-1, Nested: len(path) > 0, ReadOnly: readOnly,
			CanNest: items[i].Type == "group" && len(at) < formMaxDepth, CanGroup: items[i].Type == "group" && len(at) < formMaxDepth-1}
		v.Children = itemViewsOf(page, readOnly, items[i].Items, at)
		out = append(out, v)
	}
	return out
}

// fieldID is the HTML id of the input for a field path: "items[0].text" is "f-items-0-text".
func fieldID(path string) string {
	var b strings.Builder
	b.WriteString("f-")
	dash := false
	for _, r := range path {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
			dash = false
		} else if !dash {
			b.WriteByte('-')
			dash = true
		}
	}
	return strings.TrimSuffix(b.String(), "-")
}

// formField is where a violation the service names is shown: the field path without the
// request's "questionnaire." prefix; a target site's index is dropped (one input lists them).
func formField(serviceField string) string {
	f := strings.TrimPrefix(serviceField, "questionnaire.")
	if strings.HasPrefix(f, "target_sites") {
		return "target_sites"
	}
	return f
}
