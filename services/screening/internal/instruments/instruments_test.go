package instruments_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/beaconcms/beacon/platform/apperr"
	"github.com/beaconcms/beacon/services/screening/internal/domain"
	"github.com/beaconcms/beacon/services/screening/internal/instruments"
)

type sites map[string]domain.SiteSettings

func (s sites) Site(_ context.Context, id string) (domain.SiteSettings, error) { return s[id], nil }

var testSites = sites{"kratom-help": {Exists: true}, "shop": {Exists: true, Commercial: true}}

func load(t testing.TB, name string) domain.Content {
	t.Helper()
	all, err := instruments.All()
	if err != nil {
		t.Fatalf("All: %v", err)
	}
	for _, in := range all {
		if in.Name == name {
			c := in.Content.Clone()
			c.TargetSites = []string{"kratom-help"}
			return c
		}
	}
	t.Fatalf("no instrument %q", name)
	return domain.Content{}
}

func scorer(t testing.TB, name string) *domain.Scorer {
	t.Helper()
	c := load(t, name)
	if err := c.Validate(context.Background(), testSites, ""); err != nil {
		t.Fatalf("%s does not validate: %v", name, err)
	}
	q := &domain.Questionnaire{ID: name, Draft: c, State: domain.StateDraft, Version: 1}
	s, err := domain.NewScorer(q.Publish(time.Unix(0, 0)))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestShippedInstruments(t *testing.T) {
	all, err := instruments.All()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, in := range all {
		names = append(names, in.Name)
		if in.Content.Source.Citation == "" || in.Content.Source.LicenseName == "" {
			t.Errorf("%s: source or licence missing", in.Name)
		}
		if !strings.Contains(in.Content.Disclaimer, "not a diagnosis") {
			t.Errorf("%s: disclaimer %q does not say it is not a diagnosis", in.Name, in.Content.Disclaimer)
		}
	}
	if got := strings.Join(names, ","); got != "cage-aid,kratom-self-check,taps-1" {
		t.Fatalf("instruments = %s", got)
	}
}

type scoreCase struct {
	name    string
	answers []string // link id, value, ...
	score   int
	band    string
}

func runScoreTable(t *testing.T, instrument string, wantMin, wantMax int, cases []scoreCase) {
	s := scorer(t, instrument)
	if lo, hi := s.Range(); lo != wantMin || hi != wantMax {
		t.Errorf("reachable range = %d..%d, want %d..%d", lo, hi, wantMin, wantMax)
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var a domain.Answers
			for i := 0; i+1 < len(tc.answers); i += 2 {
				a.Add(tc.answers[i], tc.answers[i+1])
			}
			res, err := s.Score(a)
			if err != nil {
				t.Fatalf("Score: %v", err)
			}
			if res.Score != tc.score || res.Band.Code != tc.band {
				t.Fatalf("score %d band %s, want %d %s", res.Score, res.Band.Code, tc.score, tc.band)
			}
		})
	}
}

func TestTAPS1ScoringTable(t *testing.T) {
	never := func(sex string, changes ...string) []string {
		alcohol := "alcohol-" + map[string]string{"male": "men", "female": "women"}[sex]
		a := map[string]string{"tobacco": "never", "sex": sex, alcohol: "never", "drugs": "never", "prescription": "never"}
		for i := 0; i+1 < len(changes); i += 2 {
			a[changes[i]] = changes[i+1]
		}
		var out []string
		for _, id := range []string{"tobacco", "sex", alcohol, "drugs", "prescription"} {
			out = append(out, id, a[id])
		}
		return out
	}
	runScoreTable(t, "taps-1", 0, 4, []scoreCase{
		{"all never (0, lowest)", never("male"), 0, "negative"},
		{"tobacco less than monthly (1, lower edge of positive)", never("female", "tobacco", "less-than-monthly"), 1, "positive"},
		{"heavy drinking weekly, women's limit", never("female", "alcohol-women", "weekly"), 1, "positive"},
		{"drugs and prescription", never("male", "drugs", "monthly", "prescription", "daily"), 2, "positive"},
		{"everything daily (4, highest)", never("male", "tobacco", "daily", "alcohol-men", "daily", "drugs", "daily", "prescription", "daily"), 4, "positive"},
	})
	s := scorer(t, "taps-1")
	_, err := s.Score(answersOf("tobacco", "never", "sex", "female", "alcohol-men", "daily", "alcohol-women", "never", "drugs", "never", "prescription", "never"))
	if err == nil || !strings.Contains(err.Error(), `question "alcohol-men" is not enabled`) {
		t.Fatalf("men's drinking question answered by a woman: err = %v", err)
	}
}

func TestCAGEAIDScoringTable(t *testing.T) {
	yes := func(n int) []string {
		var out []string
		for i, id := range []string{"cut-down", "annoyed", "guilty", "eye-opener"} {
			v := "false"
			if i < n {
				v = "true"
			}
			out = append(out, id, v)
		}
		return out
	}
	runScoreTable(t, "cage-aid", 0, 4, []scoreCase{
		{"0 yes", yes(0), 0, "negative"},
		{"1 yes", yes(1), 1, "one-yes"},
		{"2 yes", yes(2), 2, "positive"},
		{"4 yes", yes(4), 4, "positive"},
	})
}

func TestCAGEAIDStaysOffCommercialSites(t *testing.T) {
	c := load(t, "cage-aid")
	c.TargetSites = []string{"shop"}
	err := c.Validate(context.Background(), testSites, "")
	if e, ok := apperr.As(err); !ok || e.Code != apperr.Invalid || e.Fields[0].Field != "target_sites[0]" {
		t.Fatalf("CAGE-AID on a commercial site: err = %v, want Invalid on target_sites[0]", err)
	}
}

var kratomSigns = []string{"more-than-meant", "cut-down", "time", "craving", "obligations", "relationships", "given-up", "risky-situations", "health", "tolerance", "withdrawal"}

func kratomYes(n int) []string {
	out := []string{"used", "true"}
	for i, id := range kratomSigns {
		v := "false"
		if i < n {
			v = "true"
		}
		out = append(out, id, v)
	}
	return out
}

func TestKratomSelfCheckScoringTable(t *testing.T) {
	runScoreTable(t, "kratom-self-check", 0, 11, []scoreCase{
		{"not used: no further questions", []string{"used", "false"}, 0, "few-signs"},
		{"0 signs", kratomYes(0), 0, "few-signs"},
		{"1 sign", kratomYes(1), 1, "few-signs"},
		{"2 signs", kratomYes(2), 2, "some-signs"},
		{"3 signs", kratomYes(3), 3, "some-signs"},
		{"4 signs", kratomYes(4), 4, "several-signs"},
		{"5 signs", kratomYes(5), 5, "several-signs"},
		{"6 signs", kratomYes(6), 6, "many-signs"},
		{"11 signs", kratomYes(11), 11, "many-signs"},
		{"tolerance and withdrawal only", []string{"used", "true", "more-than-meant", "false", "cut-down", "false", "time", "false", "craving", "false",
			"obligations", "false", "relationships", "false", "given-up", "false", "risky-situations", "false", "health", "false", "tolerance", "true", "withdrawal", "true"}, 2, "some-signs"},
	})
	s := scorer(t, "kratom-self-check")
	if _, err := s.Score(answersOf("used", "true")); err == nil || !strings.Contains(err.Error(), `question "craving" is required`) {
		t.Fatalf("used kratom, no further answers: err = %v", err)
	}
}

func TestKratomSelfCheckWording(t *testing.T) {
	c := load(t, "kratom-self-check")
	if !strings.Contains(c.Title, "self-check") || !strings.Contains(c.Disclaimer, "self-check, not a diagnosis") {
		t.Errorf("not labelled a self-check, not a diagnosis: %q / %q", c.Title, c.Disclaimer)
	}
	var note string
	for _, it := range c.Items[1].Items {
		if it.Type == domain.ItemDisplay {
			note = it.Text
		}
	}
	if !strings.Contains(note, "physical dependence") || !strings.Contains(note, "not addiction") {
		t.Errorf("no note that tolerance and withdrawal alone are physical dependence: %q", note)
	}
	for _, b := range c.Bands {
		if b.Severity == domain.SeveritySevere && !b.ShowCrisisLines {
			t.Errorf("severe band %s does not show crisis lines", b.Code)
		}
	}
	if !strings.Contains(c.Bands[1].ResultText, "physical dependence") {
		t.Errorf("the 2-3 band does not explain physical dependence: %q", c.Bands[1].ResultText)
	}
	// Phrases of the APA's criteria text that a paraphrase must not copy.
	for _, apa := range []string{"larger amounts or over a longer period", "persistent desire or unsuccessful efforts", "recurrent use resulting in a failure to fulfill", "important social, occupational, or recreational activities"} {
		for _, it := range c.Items[1].Items {
			if strings.Contains(strings.ToLower(it.Text), apa) {
				t.Errorf("item %s copies the APA wording %q", it.LinkID, apa)
			}
		}
	}
}

func answersOf(pairs ...string) domain.Answers {
	var a domain.Answers
	for i := 0; i+1 < len(pairs); i += 2 {
		a.Add(pairs[i], pairs[i+1])
	}
	return a
}
