package domain_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/beaconcms/beacon/platform/apperr"
	"github.com/beaconcms/beacon/services/screening/internal/domain"
)

// fakeSites is a SiteCatalog over a map; ids not in it do not exist.
type fakeSites map[string]domain.SiteSettings

func (f fakeSites) Site(_ context.Context, id string) (domain.SiteSettings, error) {
	return f[id], nil
}

var openSites = fakeSites{
	"kratom-help": {Exists: true},
	"shop":        {Exists: true, Commercial: true},
	"gone":        {Exists: true, Deleted: true},
}

func yesNo(linkID, text string, yes int) domain.Item {
	return domain.Item{LinkID: linkID, Text: text, Type: domain.ItemBoolean, Required: true,
		Options: []domain.AnswerOption{{Value: "true", Display: "Yes", Score: yes}, {Value: "false", Display: "No", Score: 0}}}
}

func band(code string, min, max int, sev domain.Severity) domain.Band {
	return domain.Band{Code: code, Title: strings.ToUpper(code), Min: min, Max: max, HasMax: true, Severity: sev, ShowCrisisLines: sev == domain.SeveritySevere}
}

func openBand(code string, min int, sev domain.Severity) domain.Band {
	b := band(code, min, 0, sev)
	b.HasMax = false
	return b
}

// validContent is a small questionnaire: q1 (yes scores 1), and q2 (yes scores 2) shown only when
// q1 is yes. Reachable totals: 0, 1, 3.
func validContent() domain.Content {
	q2 := yesNo("q2", "Second?", 2)
	q2.EnableWhen = []domain.EnableWhen{{Question: "q1", Operator: domain.OpEquals, Answer: "true"}}
	return domain.Content{
		Title: "Test check", Disclaimer: "A self-check, not a diagnosis.",
		Source:      domain.Source{Citation: "Written for tests.", LicenseName: "Public domain", CommercialUseAllowed: true},
		TargetSites: []string{"kratom-help"},
		Items:       []domain.Item{yesNo("q1", "First?", 1), q2},
		Bands:       []domain.Band{band("none", 0, 0, domain.SeverityNone), band("some", 1, 2, domain.SeverityLow), openBand("more", 3, domain.SeveritySevere)},
	}
}

// violationsOf validates c and returns its field violations as "field: description" lines.
func violationsOf(t testing.TB, c domain.Content, sites domain.SiteCatalog) []string {
	t.Helper()
	c.Normalize()
	err := c.Validate(context.Background(), sites, "questionnaire.")
	if err == nil {
		return nil
	}
	e, ok := apperr.As(err)
	if !ok {
		t.Fatalf("Validate: non-application error %v", err)
	}
	var out []string
	for _, f := range e.Fields {
		out = append(out, f.Field+": "+f.Description)
	}
	return out
}

// scorerFor validates c, publishes it as version 1 and returns its scorer.
func scorerFor(t testing.TB, c domain.Content) *domain.Scorer {
	t.Helper()
	c.Normalize()
	if err := c.Validate(context.Background(), openSites, "questionnaire."); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	q := &domain.Questionnaire{ID: "q", Draft: c, State: domain.StateDraft, Version: 1}
	s, err := domain.NewScorer(q.Publish(time.Unix(0, 0)))
	if err != nil {
		t.Fatalf("NewScorer: %v", err)
	}
	return s
}

// answers builds Answers from link id / value pairs.
func answers(pairs ...string) domain.Answers {
	var a domain.Answers
	for i := 0; i+1 < len(pairs); i += 2 {
		a.Add(pairs[i], pairs[i+1])
	}
	return a
}
