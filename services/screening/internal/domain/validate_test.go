package domain_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/beaconcms/beacon/platform/apperr"
	"github.com/beaconcms/beacon/services/screening/internal/domain"
)

func TestValidContentPasses(t *testing.T) {
	if got := violationsOf(t, validContent(), openSites); got != nil {
		t.Fatalf("violations for valid content: %q", got)
	}
}

// TestValidationMessages changes one thing at a time and expects exactly the named violation.
func TestValidationMessages(t *testing.T) {
	tests := []struct {
		name   string
		change func(c *domain.Content)
		want   string // "field: description" prefix of the only violation
	}{
		{"gap in bands", func(c *domain.Content) { c.Bands = []domain.Band{c.Bands[0], c.Bands[2]} },
			`questionnaire.bands: no band covers the reachable total(s) 1 (reachable: 0-1, 3)`},
		{"unreachable total left uncovered is fine", func(c *domain.Content) { c.Bands[1].Max = 1; c.Title, c.Slug = "", "t" },
			`questionnaire.title: is required`},
		{"overlapping bands", func(c *domain.Content) { c.Bands[1].Max = 3 },
			`questionnaire.bands[2]: overlaps bands[1] ("some") at total(s) 3;`},
		{"band over unreachable totals only", func(c *domain.Content) {
			c.Bands[1] = band("some", 1, 1, domain.SeverityLow)
			c.Bands = append(c.Bands[:2], band("ghost", 2, 2, domain.SeverityLow), c.Bands[2])
		}, `questionnaire.bands[2]: covers no reachable total (reachable: 0-1, 3)`},
		{"severe band without crisis lines", func(c *domain.Content) { c.Bands[2].ShowCrisisLines = false },
			`questionnaire.bands[2].show_crisis_lines: must be true for a severe band`},
		{"duplicate band code", func(c *domain.Content) { c.Bands[2].Code = "some" },
			`questionnaire.bands[2].code: "some" is already the code of bands[1]`},
		{"band max below min", func(c *domain.Content) { c.Bands[1].Max = 0 },
			`questionnaire.bands[1].max_score: must not be below min_score (1)`},
		{"duplicate link id", func(c *domain.Content) { c.Items[1].LinkID = "q1"; c.Items[1].EnableWhen = nil },
			`questionnaire.items[1].link_id: "q1" is already the link id of questionnaire.items[0]`},
		{"duplicate option value", func(c *domain.Content) { c.Items[0].Type = domain.ItemChoice; c.Items[0].Options[1].Value = "true" },
			`questionnaire.items[0].answer_options[1].value: "true" is already the value of answer_options[0]`},
		{"enableWhen refers to a later item", func(c *domain.Content) {
			c.Items[0].EnableWhen = []domain.EnableWhen{{Question: "q2", Operator: domain.OpExists, Answer: "true"}}
			c.Items[1].EnableWhen = nil
		}, `questionnaire.items[0].enable_when[0].question: must refer to an earlier item; "q2" is this item or comes after it`},
		{"enableWhen refers to itself", func(c *domain.Content) { c.Items[1].EnableWhen[0].Question = "q2" },
			`questionnaire.items[1].enable_when[0].question: must refer to an earlier item`},
		{"enableWhen refers to a missing item", func(c *domain.Content) { c.Items[1].EnableWhen[0].Question = "nope" },
			`questionnaire.items[1].enable_when[0].question: no item has link id "nope"`},
		{"enableWhen answer not valid for boolean", func(c *domain.Content) { c.Items[1].EnableWhen[0].Answer = "yes" },
			`questionnaire.items[1].enable_when[0].answer: must be true or false, as "q1" is a boolean question`},
		{"enableWhen answer not an option", func(c *domain.Content) {
			c.Items[0] = domain.Item{LinkID: "q1", Text: "How often?", Type: domain.ItemChoice,
				Options: []domain.AnswerOption{{Value: "never"}, {Value: "daily", Score: 1}}}
			c.Items[1].EnableWhen[0].Answer = "weekly"
		}, `questionnaire.items[1].enable_when[0].answer: "weekly" is not an option of "q1"`},
		{"ordered operator on a boolean", func(c *domain.Content) { c.Items[1].EnableWhen[0].Operator = domain.OpGreater },
			`questionnaire.items[1].enable_when[0].operator: > applies only to integer questions; "q1" is a boolean question`},
		{"enableWhen on a display item", func(c *domain.Content) {
			c.Items = append([]domain.Item{{LinkID: "intro", Text: "Hello", Type: domain.ItemDisplay}}, c.Items...)
			c.Items[2].EnableWhen[0].Question = "intro"
		}, `questionnaire.items[2].enable_when[0].question: "intro" is a display item, not a question`},
		{"commercial site with a non-commercial licence", func(c *domain.Content) {
			c.Source.CommercialUseAllowed = false
			c.TargetSites = []string{"kratom-help", "shop"}
		}, `questionnaire.target_sites[1]: site "shop" is commercial and the license "Public domain" does not allow commercial use`},
		{"required display item", func(c *domain.Content) {
			c.Items = append(c.Items, domain.Item{LinkID: "note", Text: "Note", Type: domain.ItemDisplay, Required: true})
		}, `questionnaire.items[2].required: only questions can be required (this is a display item)`},
		{"boolean with other options", func(c *domain.Content) { c.Items[0].Options[0].Value = "yes" },
			`questionnaire.items[0].answer_options: a boolean question has no options or exactly the options "true" and "false"`},
		{"missing licence", func(c *domain.Content) { c.Source.LicenseName = " " },
			`questionnaire.source.license_name: is required`},
		{"instructions too costly to render", func(c *domain.Content) { c.Instructions = strings.Repeat("[a](", 2500) },
			`questionnaire.instructions: is too complex to render: has too many link openers`},
		{"result text too costly to render", func(c *domain.Content) { c.Bands[0].ResultText = strings.Repeat("> ", 40) },
			`questionnaire.bands[0].result_text: is too complex to render: line 1 nests`},
		{"missing disclaimer", func(c *domain.Content) { c.Disclaimer = "" },
			`questionnaire.disclaimer: is required`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := validContent()
			tt.change(&c)
			got := violationsOf(t, c, openSites)
			if len(got) != 1 || !matchesPrefix(got[0], tt.want) {
				t.Fatalf("violations:\n  %s\nwant exactly one starting with:\n  %s", strings.Join(got, "\n  "), tt.want)
			}
		})
	}
}

// matchesPrefix compares got with want, where a trailing "? " in want stands for "anything".
func matchesPrefix(got, want string) bool {
	want, _ = strings.CutSuffix(want, "? ")
	return strings.HasPrefix(got, want)
}

func TestValidationListsEveryViolation(t *testing.T) {
	c := validContent()
	c.Title = ""
	c.Bands[2].ShowCrisisLines = false
	c.Items[1].EnableWhen[0].Question = "nope"
	c.Source.Citation = ""
	c.TargetSites = []string{"Bad Site!"}
	got := violationsOf(t, c, openSites)
	for _, field := range []string{
		"questionnaire.title:", "questionnaire.bands[2].show_crisis_lines:",
		"questionnaire.items[1].enable_when[0].question:", "questionnaire.source.citation:", "questionnaire.target_sites[0]:",
	} {
		if !slices.ContainsFunc(got, func(v string) bool { return strings.HasPrefix(v, field) }) {
			t.Errorf("no violation of %s in:\n  %s", field, strings.Join(got, "\n  "))
		}
	}
}

func TestValidationOfMissingAndDeletedSites(t *testing.T) {
	c := validContent()
	c.TargetSites = []string{"kratom-help", "gone", "never"}
	c.Normalize()
	err := c.Validate(context.Background(), openSites, "questionnaire.")
	e, ok := apperr.As(err)
	if !ok || e.Code != apperr.FailedPrecondition {
		t.Fatalf("err = %v, want FailedPrecondition", err)
	}
	if len(e.Fields) != 2 || e.Fields[0].Field != "questionnaire.target_sites[1]" || e.Fields[1].Field != "questionnaire.target_sites[2]" {
		t.Fatalf("fields = %+v, want target_sites[1] and [2]", e.Fields)
	}
}

type failingSites struct{}

func (failingSites) Site(context.Context, string) (domain.SiteSettings, error) {
	return domain.SiteSettings{}, errors.New("catalog down")
}

func TestValidationPassesCatalogErrorsOn(t *testing.T) {
	c := validContent()
	c.Normalize()
	err := c.Validate(context.Background(), failingSites{}, "")
	if err == nil || apperr.CodeOf(err) != "" || !strings.Contains(err.Error(), "catalog down") {
		t.Fatalf("err = %v, want the catalog's error as an internal error", err)
	}
}

// TestReachableTotalsFollowEnableWhen checks the computed range on forms where ignoring
// enable_when would give a different answer.
func TestReachableTotalsFollowEnableWhen(t *testing.T) {
	freq := func(id string, required bool) domain.Item {
		return domain.Item{LinkID: id, Text: id, Type: domain.ItemChoice, Required: required, Options: []domain.AnswerOption{
			{Value: "never", Score: 0}, {Value: "monthly", Score: 2}, {Value: "daily", Score: 4}}}
	}
	tests := []struct {
		name     string
		items    func() []domain.Item
		min, max int
		totals   string
	}{
		{"independent required", func() []domain.Item { return []domain.Item{freq("a", true), freq("b", true)} }, 0, 8, "0, 2, 4, 6, 8"},
		{"follow-up only after daily", func() []domain.Item {
			b := yesNo("b", "b", 10)
			b.EnableWhen = []domain.EnableWhen{{Question: "a", Operator: domain.OpEquals, Answer: "daily"}}
			return []domain.Item{freq("a", true), b}
		}, 0, 14, "0, 2, 4, 14"},
		{"exclusive branches (any/all)", func() []domain.Item {
			b := yesNo("b", "b", 5)
			b.EnableWhen = []domain.EnableWhen{{Question: "a", Operator: domain.OpEquals, Answer: "true"}}
			c := yesNo("c", "c", 7)
			c.EnableWhen = []domain.EnableWhen{{Question: "a", Operator: domain.OpEquals, Answer: "false"}, {Question: "b", Operator: domain.OpExists, Answer: "true"}}
			c.EnableBehavior = domain.EnableAny
			d := yesNo("d", "d", 100)
			d.EnableWhen = []domain.EnableWhen{{Question: "a", Operator: domain.OpEquals, Answer: "false"}, {Question: "b", Operator: domain.OpEquals, Answer: "true"}}
			return []domain.Item{yesNo("a", "a", 0), b, c, d}
		}, 0, 12, "0, 5, 7, 12"},
		{"integer gate", func() []domain.Item {
			days := domain.Item{LinkID: "days", Text: "Days used", Type: domain.ItemInteger, Required: true}
			b := yesNo("b", "b", 3)
			b.EnableWhen = []domain.EnableWhen{{Question: "days", Operator: domain.OpGreaterOrEqual, Answer: "20"}}
			return []domain.Item{days, b}
		}, 0, 3, "0, 3"},
		{"disabled group hides its questions", func() []domain.Item {
			g := domain.Item{LinkID: "g", Type: domain.ItemGroup, Items: []domain.Item{yesNo("b", "b", 2), yesNo("c", "c", 2)},
				EnableWhen: []domain.EnableWhen{{Question: "a", Operator: domain.OpNotEquals, Answer: "true"}}}
			return []domain.Item{yesNo("a", "a", 1), g}
		}, 0, 4, "0-2, 4"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := validContent()
			c.Items = tt.items()
			c.Bands = []domain.Band{openBand("all", -1000, domain.SeverityNone)}
			got := violationsOf(t, c, openSites)
			if got != nil {
				t.Fatalf("violations: %q", got)
			}
			s := scorerFor(t, c)
			if lo, hi := s.Range(); lo != tt.min || hi != tt.max {
				t.Errorf("range = %d..%d, want %d..%d", lo, hi, tt.min, tt.max)
			}
			// A band over one total outside the reachable set is reported, which shows the
			// computed set in its message.
			c.Bands = append(c.Bands[:0], band("x", -1000, -999, domain.SeverityNone), openBand("all", -998, domain.SeverityNone))
			msgs := strings.Join(violationsOf(t, c, openSites), "\n")
			if !strings.Contains(msgs, "(reachable: "+tt.totals+")") {
				t.Errorf("reachable totals: got %s, want %s", msgs, tt.totals)
			}
		})
	}
}

func TestRanges(t *testing.T) {
	cases := []struct {
		in   []int
		want []domain.ScoreRange
	}{
		{nil, nil},
		{[]int{4}, []domain.ScoreRange{{4, 4}}},
		{[]int{-2, -1, 0, 3, 5, 6}, []domain.ScoreRange{{-2, 0}, {3, 3}, {5, 6}}},
	}
	for _, tc := range cases {
		if got := domain.Ranges(tc.in); !slices.Equal(got, tc.want) {
			t.Errorf("Ranges(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
}
