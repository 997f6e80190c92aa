package console

import (
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"google.golang.org/protobuf/encoding/protojson"

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
}

type itemForm struct {
	LinkID, Text, Type string // Type: one of itemTypes' values
	Required           bool
	Behavior           string // "all" or "any"
	Options            []optionForm
	Conditions         []conditionForm
	// Nested is a group's nested items as protojson, kept as they are: the editor edits the
	// top level (the API edits any depth).
	Nested      string
	NestedCount int
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
	for _, it := range q.GetItems() {
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
		if len(it.GetItems()) > 0 {
			raw, err := protojson.Marshal(&screeningv1.Item{Items: it.GetItems()})
			if err == nil {
				x.Nested, x.NestedCount = string(raw), len(it.GetItems())
			}
		}
		f.Items = append(f.Items, x)
	}
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

// indexes returns the indexes n (below limit) for which some form key starts with
// prefix + "[n]", ascending.
func indexes(form url.Values, prefix string, limit int) []int {
	pattern := regexp.MustCompile(`^` + regexp.QuoteMeta(prefix) + `\[(\d{1,4})\]`)
	seen := map[int]bool{}
	for k := range form {
		if m := pattern.FindStringSubmatch(k); m != nil {
			if n, err := strconv.Atoi(m[1]); err == nil && n < limit {
				seen[n] = true
			}
		}
	}
	out := make([]int, 0, len(seen))
	for n := range seen {
		out = append(out, n)
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
	for _, i := range indexes(form, "items", formMaxItems) {
		p := fmt.Sprintf("items[%d]", i)
		it := itemForm{LinkID: get(p + ".link_id"), Text: get(p + ".text"), Type: get(p + ".type"), Required: get(p+".required") != "",
			Behavior: get(p + ".enable_behavior"), Nested: get(p + ".nested")}
		if it.Behavior != "any" {
			it.Behavior = "all"
		}
		for _, k := range indexes(form, p+".answer_options", formMaxOptions) {
			o := fmt.Sprintf("%s.answer_options[%d]", p, k)
			opt := optionForm{Value: get(o + ".value"), Display: get(o + ".display"), Score: get(o + ".score")}
			if strings.TrimSpace(opt.Value+opt.Display+opt.Score) != "" {
				it.Options = append(it.Options, opt)
			}
		}
		for _, k := range indexes(form, p+".enable_when", formMaxConditions) {
			w := fmt.Sprintf("%s.enable_when[%d]", p, k)
			c := conditionForm{Question: get(w + ".question"), Operator: get(w + ".operator"), Answer: get(w + ".answer")}
			if strings.TrimSpace(c.Question+c.Answer) != "" {
				it.Conditions = append(it.Conditions, c)
			}
		}
		if it.Nested != "" {
			var nested screeningv1.Item
			if protojson.Unmarshal([]byte(it.Nested), &nested) == nil {
				it.NestedCount = len(nested.GetItems())
			} else {
				it.Nested = ""
			}
		}
		f.Items = append(f.Items, it)
	}
	for _, j := range indexes(form, "bands", formMaxBands) {
		p := fmt.Sprintf("bands[%d]", j)
		f.Bands = append(f.Bands, bandForm{Code: get(p + ".code"), Title: get(p + ".title"), Min: get(p + ".min_score"), Max: get(p + ".max_score"),
			Severity: get(p + ".severity"), ResultText: get(p + ".result_text"), Crisis: get(p+".show_crisis_lines") != "",
			Tags: get(p + ".recommendations.article_tags"), Topics: get(p + ".recommendations.article_topics"), Kinds: get(p + ".recommendations.resource_kinds")})
	}
	return f
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
	for i, it := range f.Items {
		p := fmt.Sprintf("items[%d]", i)
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
		if it.Nested != "" {
			var nested screeningv1.Item
			if protojson.Unmarshal([]byte(it.Nested), &nested) == nil {
				x.Items = nested.GetItems()
			}
		}
		q.Items = append(q.Items, x)
	}
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
// and reports whether op was one. Indexes out of range do nothing.
//
//	add-item, remove-item-I, up-I, down-I, add-option-I, remove-option-I-K,
//	add-condition-I, remove-condition-I-K, add-band, remove-band-J
func (f *questForm) applyEdit(op string) bool {
	verb, args := splitOp(op)
	inItems := func(i int) bool { return i >= 0 && i < len(f.Items) }
	switch {
	case verb == "add-item" && len(args) == 0 && len(f.Items) < formMaxItems:
		f.Items = append(f.Items, itemForm{LinkID: nextLinkID(f.Items), Type: "boolean", Required: true, Behavior: "all",
			Options: []optionForm{{Value: "true", Display: "Yes", Score: "1"}, {Value: "false", Display: "No", Score: "0"}}})
	case verb == "remove-item" && len(args) == 1 && inItems(args[0]):
		f.Items = slices.Delete(f.Items, args[0], args[0]+1)
	case verb == "up" && len(args) == 1 && inItems(args[0]) && args[0] > 0:
		f.Items[args[0]-1], f.Items[args[0]] = f.Items[args[0]], f.Items[args[0]-1]
	case verb == "down" && len(args) == 1 && inItems(args[0]) && args[0] < len(f.Items)-1:
		f.Items[args[0]+1], f.Items[args[0]] = f.Items[args[0]], f.Items[args[0]+1]
	case verb == "add-option" && len(args) == 1 && inItems(args[0]) && len(f.Items[args[0]].Options) < formMaxOptions:
		f.Items[args[0]].Options = append(f.Items[args[0]].Options, optionForm{Score: "0"})
	case verb == "remove-option" && len(args) == 2 && inItems(args[0]) && args[1] >= 0 && args[1] < len(f.Items[args[0]].Options):
		f.Items[args[0]].Options = slices.Delete(f.Items[args[0]].Options, args[1], args[1]+1)
	case verb == "add-condition" && len(args) == 1 && inItems(args[0]) && len(f.Items[args[0]].Conditions) < formMaxConditions:
		f.Items[args[0]].Conditions = append(f.Items[args[0]].Conditions, conditionForm{Operator: "="})
	case verb == "remove-condition" && len(args) == 2 && inItems(args[0]) && args[1] >= 0 && args[1] < len(f.Items[args[0]].Conditions):
		f.Items[args[0]].Conditions = slices.Delete(f.Items[args[0]].Conditions, args[1], args[1]+1)
	case verb == "add-band" && len(args) == 0 && len(f.Bands) < formMaxBands:
		f.Bands = append(f.Bands, bandForm{Severity: "none", Min: "0"})
	case verb == "remove-band" && len(args) == 1 && args[0] >= 0 && args[0] < len(f.Bands):
		f.Bands = slices.Delete(f.Bands, args[0], args[0]+1)
	default:
		return false
	}
	return true
}

// splitOp splits "remove-option-2-1" into "remove-option" and [2 1].
func splitOp(op string) (string, []int) {
	parts := strings.Split(op, "-")
	var args []int
	for len(parts) > 0 {
		n, err := strconv.Atoi(parts[len(parts)-1])
		if err != nil {
			break
		}
		args = append([]int{n}, args...)
		parts = parts[:len(parts)-1]
	}
	return strings.Join(parts, "-"), args
}

// nextLinkID is "qN" for the smallest N no item uses.
func nextLinkID(items []itemForm) string {
	for n := len(items) + 1; ; n++ {
		id := "q" + strconv.Itoa(n)
		if !slices.ContainsFunc(items, func(it itemForm) bool { return it.LinkID == id }) {
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
