package console

import (
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/net/html"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"

	screeningv1 "github.com/beaconcms/beacon/gen/beacon/screening/v1"
)

// nestedQuestionnaire has groups three deep, the screening service's limit, and conditions on
// nested items that refer to a sibling, to a top-level item and to an item of another group.
func nestedQuestionnaire() *screeningv1.Questionnaire {
	yesNo := func(yes int32) []*screeningv1.AnswerOption {
		return []*screeningv1.AnswerOption{{Value: "true", Display: "Yes", Score: yes}, {Value: "false", Display: "No"}}
	}
	eq := func(q, a string) *screeningv1.EnableWhen {
		return &screeningv1.EnableWhen{Question: q, Operator: screeningv1.EnableWhen_OPERATOR_EQUALS, Answer: a}
	}
	return &screeningv1.Questionnaire{
		Name: "questionnaires/q1", Etag: "e1", Title: "Nested", Disclaimer: "Not a diagnosis.",
		Source:      &screeningv1.Source{Citation: "Team.", LicenseName: "CC BY 4.0"},
		TargetSites: []string{"sites/kratom-help"},
		Items: []*screeningv1.Item{
			{LinkId: "used", Text: "Used?", Type: screeningv1.Item_TYPE_BOOLEAN, Required: true, AnswerOptions: yesNo(1)},
			{LinkId: "habits", Text: "Your habits", Type: screeningv1.Item_TYPE_GROUP, EnableWhen: []*screeningv1.EnableWhen{eq("used", "true")},
				Items: []*screeningv1.Item{
					{LinkId: "often", Text: "How often?", Type: screeningv1.Item_TYPE_CHOICE, Required: true,
						AnswerOptions: []*screeningv1.AnswerOption{{Value: "weekly", Display: "Weekly", Score: 1}, {Value: "daily", Display: "Every day", Score: 3}},
						EnableWhen:    []*screeningv1.EnableWhen{eq("used", "true")}}, // a top-level item
					{LinkId: "doses", Text: "Doses a day?", Type: screeningv1.Item_TYPE_INTEGER, EnableBehavior: screeningv1.Item_ENABLE_BEHAVIOR_ANY,
						AnswerOptions: []*screeningv1.AnswerOption{{Value: "1", Display: "One"}, {Value: "2", Display: "Two or more", Score: 2}},
						EnableWhen: []*screeningv1.EnableWhen{eq("often", "daily"), // a sibling
							{Question: "used", Operator: screeningv1.EnableWhen_OPERATOR_EXISTS, Answer: "true"}}},
					{LinkId: "deeper", Type: screeningv1.Item_TYPE_GROUP, Items: []*screeningv1.Item{
						{LinkId: "deepest", Text: "Third level", Type: screeningv1.Item_TYPE_GROUP, Items: []*screeningv1.Item{
							{LinkId: "cut", Text: "Tried to cut down?", Type: screeningv1.Item_TYPE_BOOLEAN, AnswerOptions: yesNo(2),
								EnableWhen: []*screeningv1.EnableWhen{{Question: "doses", Operator: screeningv1.EnableWhen_OPERATOR_GREATER_OR_EQUAL, Answer: "2"}}},
						}},
					}},
				}},
			{LinkId: "more", Text: "More", Type: screeningv1.Item_TYPE_GROUP, Items: []*screeningv1.Item{
				{LinkId: "note", Text: "Thanks.\nThat is all.", Type: screeningv1.Item_TYPE_DISPLAY,
					EnableWhen: []*screeningv1.EnableWhen{eq("often", "weekly")}}, // an item of another group
			}},
		},
		Bands: []*screeningv1.Band{{Code: "all", Title: "All", Severity: screeningv1.Severity_SEVERITY_LOW}},
	}
}

// browserPost is what a browser posts from the form with id formID in page: every named input
// (checked boxes only, "on" without a value), textarea and selected option.
func browserPost(t *testing.T, page, formID string) url.Values {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(page))
	if err != nil {
		t.Fatal(err)
	}
	out := url.Values{}
	var inForm bool
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		attr := func(k string) (string, bool) {
			for _, a := range n.Attr {
				if a.Key == k {
					return a.Val, true
				}
			}
			return "", false
		}
		if n.Type == html.ElementNode {
			if id, _ := attr("id"); n.Data == "form" && id == formID {
				inForm = true
				defer func() { inForm = false }()
			}
			name, named := attr("name")
			switch {
			case !inForm || !named:
			case n.Data == "input":
				typ, _ := attr("type")
				_, checked := attr("checked")
				v, hasValue := attr("value")
				if typ == "checkbox" && !hasValue {
					v = "on"
				}
				if typ != "checkbox" || checked {
					out.Add(name, v)
				}
			case n.Data == "textarea":
				var b strings.Builder
				for c := n.FirstChild; c != nil; c = c.NextSibling {
					b.WriteString(c.Data)
				}
				out.Add(name, strings.TrimPrefix(b.String(), "\n"))
			case n.Data == "select":
				chosen, first := "", true
				for o := n.FirstChild; o != nil; o = o.NextSibling {
					if o.Type != html.ElementNode || o.Data != "option" {
						continue
					}
					v, _ := attrOf(o, "value")
					if _, selected := attrOf(o, "selected"); first || selected {
						chosen, first = v, false
					}
				}
				out.Add(name, chosen)
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	return out
}

func attrOf(n *html.Node, key string) (string, bool) {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val, true
		}
	}
	return "", false
}

// TestNestedItemsRoundTrip: rendering a questionnaire in the editor and parsing what the
// browser posts back are inverses, nested items included with every field (conditions on a
// child naming a sibling, a top-level item and another group's item), three groups deep.
// Three ways: proto -> form -> posted values -> proto; posted values -> form -> the same
// values; and proto -> the editor's HTML -> what a browser posts -> proto.
func TestNestedItemsRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		q    *screeningv1.Questionnaire
	}{
		{"flat, with a group", sampleQuestionnaire()},
		{"nested three deep, conditions across levels", nestedQuestionnaire()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := proto.Clone(tt.q).(*screeningv1.Questionnaire)
			want.RevisionId = 0 // posted as the form's "revision", not in the message
			// Displays equal to the value are left empty in the form; the service defaults them.
			var blankDisplays func([]*screeningv1.Item)
			blankDisplays = func(items []*screeningv1.Item) {
				for _, it := range items {
					for _, o := range it.GetAnswerOptions() {
						if o.GetDisplay() == o.GetValue() {
							o.Display = ""
						}
					}
					blankDisplays(it.GetItems())
				}
			}
			blankDisplays(want.Items)

			posted := valuesOf(formOfQuestionnaire(tt.q))
			got, errs := parseQuestForm(posted).questionnaire()
			if len(errs) > 0 {
				t.Fatalf("errors %v", errs)
			}
			if d := cmp.Diff(want, got, protocmp.Transform()); d != "" {
				t.Errorf("proto -> form -> proto (-want +got):\n%s", d)
			}
			if d := cmp.Diff(posted, valuesOf(parseQuestForm(posted))); d != "" {
				t.Errorf("posted -> form -> posted (-want +got):\n%s", d)
			}

			fake := &fakeScreening{current: tt.q, check: gapCheck}
			w := serveQuest(newQuestConsole(t, fake, fakeSessions{}), "GET", "/console/"+tt.q.GetName(), nil)
			if w.Code != 200 {
				t.Fatalf("editor: status %d", w.Code)
			}
			browser := browserPost(t, w.Body.String(), "questionnaire-form")
			browser.Set("name", tt.q.GetName()) // the handler takes it from the URL
			got, errs = parseQuestForm(browser).questionnaire()
			if len(errs) > 0 {
				t.Fatalf("errors %v", errs)
			}
			if d := cmp.Diff(want, got, protocmp.Transform()); d != "" {
				t.Errorf("proto -> editor HTML -> posted -> proto (-want +got):\n%s", d)
			}
		})
	}
}

// TestParseNestedLimits: the editor reads items to the service's depth and no deeper, keeps
// the indexes' order with gaps closed at every level, and ignores keys with no index.
func TestParseNestedLimits(t *testing.T) {
	form := url.Values{
		"items[0].link_id": {"g"}, "items[0].type": {"group"},
		"items[0].items[7].link_id": {"b"}, "items[0].items[2].link_id": {"a"}, "items[0].items[2].type": {"group"},
		"items[0].items[2].items[0].link_id":                   {"c"},
		"items[0].items[2].items[0].items[0].link_id":          {"d"},
		"items[0].items[2].items[0].items[0].items[0].link_id": {"too-deep"},
		"items[12345].link_id":                                 {"five-digits"}, "items[].link_id": {"no-index"}, "items[x].link_id": {"letters"},
	}
	q, _ := parseQuestForm(form).questionnaire()
	var tree func([]*screeningv1.Item) string
	tree = func(items []*screeningv1.Item) string {
		var parts []string
		for _, it := range items {
			s := it.GetLinkId()
			if len(it.GetItems()) > 0 {
				s += "(" + tree(it.GetItems()) + ")"
			}
			parts = append(parts, s)
		}
		return strings.Join(parts, " ")
	}
	if got, want := tree(q.GetItems()), "g(a(c(d)) b)"; got != want {
		t.Errorf("read %s, want %s", got, want)
	}
}

// TestApplyEditNested: the structural edits on items inside groups, and where the focus goes.
func TestApplyEditNested(t *testing.T) {
	var tree func([]itemForm) string
	tree = func(items []itemForm) string {
		var parts []string
		for _, it := range items {
			s := it.LinkID + "/" + questItoa(len(it.Options)) + "/" + questItoa(len(it.Conditions))
			if len(it.Items) > 0 {
				s += "(" + tree(it.Items) + ")"
			}
			parts = append(parts, s)
		}
		return strings.Join(parts, " ")
	}
	const start = "used/2/0 habits/0/1(often/2/1 doses/2/2 deeper/0/0(deepest/0/0(cut/2/1))) more/0/0(note/0/1)"
	tests := []struct {
		op        string
		ok        bool
		want      string
		wantFocus string
	}{
		{"add-child-1", true, "used/2/0 habits/0/1(often/2/1 doses/2/2 deeper/0/0(deepest/0/0(cut/2/1)) q10/2/0) more/0/0(note/0/1)", "f-items-1-items-3-link-id"},
		{"add-child-1.2.0", true, "used/2/0 habits/0/1(often/2/1 doses/2/2 deeper/0/0(deepest/0/0(cut/2/1 q10/2/0))) more/0/0(note/0/1)", "f-items-1-items-2-items-0-items-1-link-id"},
		{"add-child-0", false, start, ""}, // not a group
		{"add-group", true, "used/2/0 habits/0/1(often/2/1 doses/2/2 deeper/0/0(deepest/0/0(cut/2/1))) more/0/0(note/0/1) q10/0/0(q11/2/0)", "f-items-3-text"},
		{"add-group-1", true, "used/2/0 habits/0/1(often/2/1 doses/2/2 deeper/0/0(deepest/0/0(cut/2/1)) q10/0/0(q11/2/0)) more/0/0(note/0/1)", "f-items-1-items-3-text"},
		{"add-group-1.2", true, "used/2/0 habits/0/1(often/2/1 doses/2/2 deeper/0/0(deepest/0/0(cut/2/1) q10/0/0(q11/2/0))) more/0/0(note/0/1)", "f-items-1-items-2-items-1-text"},
		{"add-group-1.2.0", false, start, ""}, // its question would be on a fifth level
		{"add-group-0", false, start, ""},     // not a group
		{"add-child-1.2", true, "used/2/0 habits/0/1(often/2/1 doses/2/2 deeper/0/0(deepest/0/0(cut/2/1) q10/2/0)) more/0/0(note/0/1)", "f-items-1-items-2-items-1-link-id"},
		{"add-child-9", false, start, ""},
		{"up-1.1", true, "used/2/0 habits/0/1(doses/2/2 often/2/1 deeper/0/0(deepest/0/0(cut/2/1))) more/0/0(note/0/1)", "down-1.0"},
		{"up-1.2", true, "used/2/0 habits/0/1(often/2/1 deeper/0/0(deepest/0/0(cut/2/1)) doses/2/2) more/0/0(note/0/1)", "up-1.1"},
		{"up-1.0", false, start, ""},
		{"down-1.0", true, "used/2/0 habits/0/1(doses/2/2 often/2/1 deeper/0/0(deepest/0/0(cut/2/1))) more/0/0(note/0/1)", "down-1.1"},
		{"down-1.1", true, "used/2/0 habits/0/1(often/2/1 deeper/0/0(deepest/0/0(cut/2/1)) doses/2/2) more/0/0(note/0/1)", "up-1.2"},
		{"down-1.2", false, start, ""},
		{"down-2.0", false, start, ""},
		{"up-1.2.0.0", false, start, ""}, // the only item of its group
		{"down-0", true, "habits/0/1(often/2/1 doses/2/2 deeper/0/0(deepest/0/0(cut/2/1))) used/2/0 more/0/0(note/0/1)", "down-1"},
		{"remove-item-1.2.0.0", true, "used/2/0 habits/0/1(often/2/1 doses/2/2 deeper/0/0(deepest/0/0)) more/0/0(note/0/1)", ""},
		{"remove-item-1.5", false, start, ""},
		{"add-option-1.2.0.0", true, "used/2/0 habits/0/1(often/2/1 doses/2/2 deeper/0/0(deepest/0/0(cut/3/1))) more/0/0(note/0/1)", ""},
		{"remove-option-1.1-1", true, "used/2/0 habits/0/1(often/2/1 doses/1/2 deeper/0/0(deepest/0/0(cut/2/1))) more/0/0(note/0/1)", ""},
		{"remove-option-1.1-2", false, start, ""},
		{"remove-option-1.1-0.1", false, start, ""},
		{"add-condition-2.0", true, "used/2/0 habits/0/1(often/2/1 doses/2/2 deeper/0/0(deepest/0/0(cut/2/1))) more/0/0(note/0/2)", ""},
		{"remove-condition-1.1-0", true, "used/2/0 habits/0/1(often/2/1 doses/2/1 deeper/0/0(deepest/0/0(cut/2/1))) more/0/0(note/0/1)", ""},
		{"remove-band-0.0", false, start, ""},
		{"up-1.-1", false, start, ""},
		{"up-1.1.1.1.1", false, start, ""},
	}
	for _, tt := range tests {
		t.Run(tt.op, func(t *testing.T) {
			f := formOfQuestionnaire(nestedQuestionnaire())
			if got := tree(f.Items); got != start {
				t.Fatalf("start %s", got)
			}
			if ok := f.applyEdit(tt.op); ok != tt.ok {
				t.Errorf("applyEdit(%q) = %v, want %v", tt.op, ok, tt.ok)
			}
			if got := tree(f.Items); got != tt.want {
				t.Errorf("after %q:\n%s\nwant\n%s", tt.op, got, tt.want)
			}
			if f.Focus != tt.wantFocus {
				t.Errorf("focus %q, want %q", f.Focus, tt.wantFocus)
			}
		})
	}
	t.Run("no fifth level", func(t *testing.T) {
		f := formOfQuestionnaire(nestedQuestionnaire())
		f.Items[1].Items[2].Items[0].Items[0].Type = "group" // "cut", on the fourth level
		if f.applyEdit("add-child-1.2.0.0") || len(f.Items[1].Items[2].Items[0].Items[0].Items) != 0 {
			t.Error("added an item on a fifth level; the service allows four")
		}
		page := &questPage{Form: &f}
		views := itemViewsOf(page, false, f.Items, nil)
		if cut := views[1].Children[2].Children[0].Children[0]; cut.CanNest || !views[1].Children[2].Children[0].CanNest {
			t.Errorf("a group on the fourth level offers to nest (%v), or one on the third does not", cut.CanNest)
		}
	})
}
