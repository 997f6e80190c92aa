package domain_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/beaconcms/beacon/platform/apperr"
	"github.com/beaconcms/beacon/services/screening/internal/domain"
)

// gatedContent has a gate question and a follow-up enabled by two conditions combined with
// behaviour b: gate = "true" and level >= 3.
func gatedContent(b domain.EnableBehavior) domain.Content {
	c := validContent()
	level := domain.Item{LinkID: "level", Text: "Level", Type: domain.ItemInteger}
	follow := yesNo("follow", "Follow-up?", 10)
	follow.EnableWhen = []domain.EnableWhen{
		{Question: "gate", Operator: domain.OpEquals, Answer: "true"},
		{Question: "level", Operator: domain.OpGreaterOrEqual, Answer: "3"},
	}
	follow.EnableBehavior = b
	c.Items = []domain.Item{yesNo("gate", "Gate?", 1), level, follow}
	c.Bands = []domain.Band{band("low", 0, 1, domain.SeverityNone), openBand("high", 10, domain.SeveritySevere)}
	return c
}

func TestEnableWhenAllAndAny(t *testing.T) {
	tests := []struct {
		name      string
		behaviour domain.EnableBehavior
		answers   []string
		wantScore int
		wantErr   string // substring of the error, "" for success
	}{
		{"all: both hold", domain.EnableAll, []string{"gate", "true", "level", "3", "follow", "true"}, 11, ""},
		{"all: one fails, follow-up disabled", domain.EnableAll, []string{"gate", "true", "level", "2"}, 1, ""},
		{"all: answering the disabled follow-up", domain.EnableAll, []string{"gate", "true", "level", "2", "follow", "true"}, 0,
			`answers[2]: question "follow" is not enabled by the other answers`},
		{"all: no level answer, != semantics aside, >= fails", domain.EnableAll, []string{"gate", "true"}, 1, ""},
		{"any: one holds", domain.EnableAny, []string{"gate", "false", "level", "7", "follow", "false"}, 0, ""},
		{"any: one holds, required follow-up missing", domain.EnableAny, []string{"gate", "true", "level", "1"}, 0,
			`answers: question "follow" is required`},
		{"any: none holds", domain.EnableAny, []string{"gate", "false", "level", "1"}, 0, ""},
		{"any: none holds, answering the follow-up", domain.EnableAny, []string{"gate", "false", "follow", "true"}, 0,
			`answers[1]: question "follow" is not enabled`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := scorerFor(t, gatedContent(tt.behaviour))
			res, err := s.Score(answers(tt.answers...))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || apperr.CodeOf(err) != apperr.Invalid {
					t.Fatalf("err = %v, want Invalid containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Score: %v", err)
			}
			if res.Score != tt.wantScore {
				t.Errorf("score = %d, want %d", res.Score, tt.wantScore)
			}
		})
	}
}

func TestScoreNamesEveryAnswerProblem(t *testing.T) {
	c := validContent()
	c.Items = append(c.Items,
		domain.Item{LinkID: "freq", Text: "How often?", Type: domain.ItemChoice, Options: []domain.AnswerOption{{Value: "never"}, {Value: "daily", Score: 1}}},
		domain.Item{LinkID: "days", Text: "Days?", Type: domain.ItemInteger},
		domain.Item{LinkID: "note", Text: "Thanks", Type: domain.ItemDisplay},
	)
	c.Bands = []domain.Band{openBand("all", 0, domain.SeverityNone)}
	s := scorerFor(t, c)
	var a domain.Answers
	a.Add("q1", "false")                  // q2 is now disabled
	a.Add("q2", "true")                   // answers[1]: disabled
	a.Add("freq", "sometimes-secret-777") // answers[2]: not an option
	a.Add("days", "many-secret-888")      // answers[3]: not an integer
	a.Add("ghost", "x")                   // answers[4]: unknown link id
	a.Add("note", "true")                 // answers[5]: not a question
	a.Add("q1", "true")                   // answers[6]: twice
	a.AddUnusable("days")                 // answers[7]: twice as well (first one was rejected, so it is a bad value)
	_, err := s.Score(a)
	e, ok := apperr.As(err)
	if !ok || e.Code != apperr.Invalid {
		t.Fatalf("err = %v, want Invalid", err)
	}
	var got []string
	for _, f := range e.Fields {
		got = append(got, f.Field+": "+f.Description)
	}
	want := []string{
		`answers[2].value: is not one of the options (question "freq")`,
		`answers[3].value: must be an integer (question "days")`,
		`answers[4].link_id: "ghost" is not an item of version 1`,
		`answers[5].link_id: "note" is a display item, not a question`,
		`answers[6].link_id: question "q1" is answered more than once (first at answers[0])`,
		`answers[7].value: must be a boolean, an integer or an option value (question "days")`,
		`answers[1]: question "q2" is not enabled by the other answers, so it must not be answered`,
	}
	if !slices.Equal(got, want) {
		t.Fatalf("violations:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
	if msg := err.Error(); strings.Contains(msg, "secret") {
		t.Fatalf("error message carries an answer value: %s", msg)
	}

	_, err = s.Score(answers())
	if err == nil || !strings.Contains(err.Error(), `answers: question "q1" is required`) {
		t.Fatalf("empty answers: err = %v, want q1 required", err)
	}
}

func TestAnswersNeverPrintTheirValues(t *testing.T) {
	secret := "kratom-daily-secret-4242"
	a := answers("q1", secret, secret+"-link", "true")
	type request struct {
		Site    string
		Answers domain.Answers
	}
	type hidden struct {
		site    string
		answers domain.Answers
	}
	var outputs []string
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%d"} {
		outputs = append(outputs,
			fmt.Sprintf(verb, a), fmt.Sprintf(verb, &a),
			fmt.Sprintf(verb, request{"s", a}), fmt.Sprintf(verb, &request{"s", a}),
			fmt.Sprintf(verb, hidden{"s", a}), fmt.Sprintf(verb, []domain.Answers{a}))
	}
	outputs = append(outputs, fmt.Sprint(a), fmt.Sprintln(a), a.String())
	j, err := json.Marshal(request{"s", a})
	if err != nil {
		t.Fatal(err)
	}
	outputs = append(outputs, string(j))
	var buf bytes.Buffer
	for _, h := range []slog.Handler{slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}), slog.NewJSONHandler(&buf, nil)} {
		l := slog.New(h)
		l.Info("scored", "answers", a, "request", request{"s", a}, "ptr", &a)
		l.Info("scored", slog.Any("answers", a), slog.Group("g", "a", a))
	}
	outputs = append(outputs, buf.String())
	for _, out := range outputs {
		if strings.Contains(out, "secret") || strings.Contains(out, "kratom") {
			t.Fatalf("answer value printed: %s", out)
		}
	}
	if !strings.Contains(buf.String(), "[2 answers redacted]") {
		t.Fatalf("log does not say the answers were redacted: %s", buf.String())
	}
}

// TestPublishFreezesVersions: publishing freezes the draft; an edit after a publish starts the
// next version; old versions stay scoreable with their own bands.
func TestPublishFreezesVersions(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	c := validContent()
	c.Normalize()
	q := &domain.Questionnaire{ID: "q", Draft: c, State: domain.StateDraft, Version: 1}
	v1 := q.Publish(now)
	if v1.Number != 1 || q.PublishedVersion != 1 || q.State != domain.StatePublished || !q.DraftIsPublished() {
		t.Fatalf("after first publish: version %d, questionnaire %+v", v1.Number, q)
	}
	if again := q.Publish(now.Add(time.Hour)); again.Number != 1 || !q.PublishTime.Equal(now) {
		t.Fatalf("republishing an unchanged draft made version %d at %v", again.Number, q.PublishTime)
	}

	edited := q.Draft.Clone()
	edited.Bands[2].Title = "CHANGED"
	edited.Items[0].Options[0].Score = 5 // q1 yes now scores 5: totals 0, 5, 7
	edited.Bands = []domain.Band{band("none", 0, 0, domain.SeverityNone), openBand("more", 5, domain.SeveritySevere)}
	q.Edit(edited, now.Add(time.Minute))
	if q.Version != 2 || q.PublishedVersion != 1 {
		t.Fatalf("after edit: version %d, published %d; want 2, 1", q.Version, q.PublishedVersion)
	}
	if v1.Content.Items[0].Options[0].Score != 1 || v1.Content.Bands[2].Title != "MORE" {
		t.Fatal("editing the draft changed the frozen version 1")
	}
	q.Edit(edited, now.Add(2*time.Minute))
	if q.Version != 2 {
		t.Fatalf("second edit of an unpublished draft moved the version to %d", q.Version)
	}
	v2 := q.Publish(now.Add(time.Hour))
	if v2.Number != 2 || q.PublishedVersion != 2 {
		t.Fatalf("second publish made version %d", v2.Number)
	}

	s1, err := domain.NewScorer(v1)
	if err != nil {
		t.Fatal(err)
	}
	s2, err := domain.NewScorer(v2)
	if err != nil {
		t.Fatal(err)
	}
	scorers := []*domain.Scorer{s1, s2}
	for _, tc := range []struct {
		version   int64
		wantScore int
		wantBand  string
	}{{1, 1, "some"}, {2, 5, "more"}} {
		s, err := domain.FindScorer(scorers, tc.version)
		if err != nil {
			t.Fatal(err)
		}
		res, err := s.Score(answers("q1", "true", "q2", "false"))
		if err != nil {
			t.Fatal(err)
		}
		if res.Version != tc.version || res.Score != tc.wantScore || res.Band.Code != tc.wantBand {
			t.Errorf("version %d: got version %d score %d band %s; want score %d band %s", tc.version, res.Version, res.Score, res.Band.Code, tc.wantScore, tc.wantBand)
		}
	}
	_, err = domain.FindScorer(scorers, 3)
	if e, ok := apperr.As(err); !ok || e.Code != apperr.Invalid || e.Fields[0].Field != "version" || !strings.Contains(e.Fields[0].Description, "published: [1 2]") {
		t.Fatalf("unknown version: err = %v", err)
	}
}
