package domain_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/beaconcms/beacon/platform/apperr"
	"github.com/beaconcms/beacon/services/screening/internal/domain"
)

// source is a fake content and resources service: it answers after delay (or when ctx ends,
// with ctx's error), or fails with err.
type source struct {
	mu    sync.Mutex
	delay time.Duration
	err   error
	calls int
	sites []string
}

func (s *source) wait(ctx context.Context, site string) error {
	s.mu.Lock()
	s.calls++
	s.sites = append(s.sites, site)
	delay, err := s.delay, s.err
	s.mu.Unlock()
	if err != nil {
		return err
	}
	select {
	case <-time.After(delay):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *source) set(delay time.Duration, err error) {
	s.mu.Lock()
	s.delay, s.err = delay, err
	s.mu.Unlock()
}

func (s *source) RecommendArticles(ctx context.Context, site string, tags, topics []string, limit int) ([]domain.ArticleRef, error) {
	if err := s.wait(ctx, site); err != nil {
		return nil, err
	}
	return []domain.ArticleRef{{Name: "articles/a1", Title: "On " + strings.Join(append(tags, topics...), "+")}}, nil
}

func (s *source) RecommendResources(ctx context.Context, site string, kinds []string, near *domain.Point, limit int) ([]domain.ResourceRef, error) {
	if err := s.wait(ctx, site); err != nil {
		return nil, err
	}
	r := domain.ResourceRef{Name: "resources/r1", Kind: kinds[0]}
	if near != nil {
		r.DistanceMeters = 1200
	}
	return []domain.ResourceRef{r}, nil
}

func (s *source) CrisisLines(ctx context.Context, site string) ([]domain.CrisisLine, error) {
	if err := s.wait(ctx, site); err != nil {
		return nil, err
	}
	return []domain.CrisisLine{{Title: "988 Suicide & Crisis Lifeline", Phone: "988", SMS: "988"}}, nil
}

type deliveryFixture struct {
	d         *domain.Delivery
	content   *source
	resources *source
	counters  *memCounters
	tally     *domain.Tally
}

var deliverySites = fakeSites{
	"kratom-help": {Exists: true, CrisisLineText: "Call or text 988."},
	"gone":        {Exists: true, Deleted: true},
}

// newDeliveryFixture serves validContent (bands none 0, some 1-2, more 3+ severe) at
// kratom-help/test-check, with recommendations on the severe band.
func newDeliveryFixture(t testing.TB) *deliveryFixture {
	t.Helper()
	c := validContent()
	c.TargetSites = []string{"kratom-help", "gone"}
	c.Bands[2].Recommend = domain.Recommendations{ArticleTags: []string{"kratom"}, ResourceKinds: []string{"treatment_provider"}}
	c.Bands[2].ResultText = "Please **reach out**."
	c.Normalize()
	// "gone" was live when the questionnaire was published and deleted since.
	if err := c.Validate(context.Background(), fakeSites{"kratom-help": {Exists: true}, "gone": {Exists: true}}, ""); err != nil {
		t.Fatal(err)
	}
	f := &deliveryFixture{content: &source{}, resources: &source{}, counters: newMemCounters()}
	f.tally = domain.NewTally(f.counters, fixedNow, quiet)
	settings := domain.DefaultDeliverySettings()
	settings.RecommendBudget = 100 * time.Millisecond
	f.d = domain.NewDelivery(deliverySites, f.content, f.resources, f.tally, settings, quiet)
	q := &domain.Questionnaire{ID: "q1", Draft: c, State: domain.StateDraft, Version: 1}
	v1 := q.Publish(fixedNow())
	if err := f.d.Put(q, []*domain.Version{v1}); err != nil {
		t.Fatal(err)
	}
	return f
}

func severe() domain.Answers { return answers("q1", "true", "q2", "true") }

func (f *deliveryFixture) counted(t testing.TB) int64 {
	t.Helper()
	if err := f.tally.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	return f.counters.total()
}

func TestDeliveryScoresWithRecommendations(t *testing.T) {
	f := newDeliveryFixture(t)
	out, err := f.d.Score(context.Background(), "kratom-help", "test-check", 1, severe(), &domain.Point{Latitude: 40, Longitude: -75})
	if err != nil {
		t.Fatal(err)
	}
	if out.Result.Score != 3 || out.Result.Band.Code != "more" || out.Result.Max != 3 || out.Disclaimer == "" {
		t.Fatalf("outcome %+v", out.Result)
	}
	if out.ResultHTML != "<p>Please <strong>reach out</strong>.</p>\n" {
		t.Errorf("result HTML %q", out.ResultHTML)
	}
	if out.ArticlesUnavailable || len(out.Articles) != 1 || out.Articles[0].Title != "On kratom" {
		t.Errorf("articles %+v (unavailable %v)", out.Articles, out.ArticlesUnavailable)
	}
	if out.ResourcesUnavailable || len(out.Resources) != 1 || out.Resources[0].DistanceMeters != 1200 {
		t.Errorf("resources %+v (unavailable %v)", out.Resources, out.ResourcesUnavailable)
	}
	if len(out.CrisisLines) != 1 || out.CrisisLineText != "Call or text 988." {
		t.Errorf("crisis lines %+v, text %q", out.CrisisLines, out.CrisisLineText)
	}
	if n := f.counted(t); n != 1 {
		t.Errorf("counted %d screenings, want 1", n)
	}

	low, err := f.d.Score(context.Background(), "kratom-help", "test-check", 1, answers("q1", "false"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if low.Result.Band.Code != "none" || low.CrisisLines != nil || low.CrisisLineText != "" || low.Articles != nil {
		t.Errorf("band without recommendations or crisis lines: %+v", low)
	}
}

// TestDeliveryDegradedMode: with content and resources hanging, the score still returns within
// the budget, recommendations are marked unavailable and crisis lines come from the cached copy,
// or, with no copy (cold start), the site's crisis-line text is there.
func TestDeliveryDegradedMode(t *testing.T) {
	f := newDeliveryFixture(t)
	f.content.set(time.Hour, nil)
	f.resources.set(time.Hour, nil)

	start := time.Now()
	out, err := f.d.Score(context.Background(), "kratom-help", "test-check", 1, severe(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 500*time.Millisecond {
		t.Errorf("degraded score took %v", took)
	}
	if !out.ArticlesUnavailable || !out.ResourcesUnavailable || out.Result.Band.Code != "more" {
		t.Errorf("cold start, both down: %+v", out)
	}
	if len(out.CrisisLines) != 0 || out.CrisisLineText != "Call or text 988." {
		t.Errorf("cold start, resources down: crisis lines %+v, text %q; want the site's text as the floor", out.CrisisLines, out.CrisisLineText)
	}

	f.resources.set(0, nil)
	f.d.RefreshCrisisLines(context.Background())
	f.resources.set(0, errors.New("unavailable"))
	out, err = f.d.Score(context.Background(), "kratom-help", "test-check", 1, severe(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if !out.ResourcesUnavailable || len(out.CrisisLines) != 1 || out.CrisisLines[0].Phone != "988" {
		t.Errorf("resources down after a refresh: crisis lines %+v; want the cached copy", out.CrisisLines)
	}
}

func TestDeliveryRefusesAndRecordsNothing(t *testing.T) {
	f := newDeliveryFixture(t)
	ctx := context.Background()
	tests := []struct {
		name        string
		site, slug  string
		version     int64
		answers     domain.Answers
		code        apperr.Code
		errContains string
	}{
		{"unknown slug", "kratom-help", "nope", 1, severe(), apperr.NotFound, `no screener "nope"`},
		{"deleted site", "gone", "test-check", 1, severe(), apperr.NotFound, `sites/gone`},
		{"unknown site", "elsewhere", "test-check", 1, severe(), apperr.NotFound, ``},
		{"unknown version", "kratom-help", "test-check", 2, severe(), apperr.Invalid, `version: version 2 is not a published version`},
		{"bad answers", "kratom-help", "test-check", 1, answers("q1", "maybe"), apperr.Invalid, `answers[0].value: must be true or false`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := f.d.Score(ctx, tt.site, tt.slug, tt.version, tt.answers, nil)
			if apperr.CodeOf(err) != tt.code || !strings.Contains(err.Error(), tt.errContains) {
				t.Fatalf("err = %v, want %s containing %q", err, tt.code, tt.errContains)
			}
		})
	}
	if n := f.counted(t); n != 0 {
		t.Fatalf("refused screenings were counted: %d", n)
	}
	if f.content.calls+f.resources.calls != 0 {
		t.Fatalf("refused screenings called content/resources %d times", f.content.calls+f.resources.calls)
	}
}

// TestDeliveryOldVersionsStayScoreable: after a new version is published, a reader who loaded
// the old one is scored against it.
func TestDeliveryOldVersionsStayScoreable(t *testing.T) {
	f := newDeliveryFixture(t)
	c := validContent()
	c.Normalize()
	q := &domain.Questionnaire{ID: "q1", Draft: c, State: domain.StateDraft, Version: 1}
	v1 := q.Publish(fixedNow())
	next := c.Clone()
	next.Items[0].Options[0].Score = 5
	next.Bands = []domain.Band{band("none", 0, 0, domain.SeverityNone), openBand("more", 5, domain.SeveritySevere)}
	q.Edit(next, fixedNow())
	v2 := q.Publish(fixedNow())
	if err := f.d.Put(q, []*domain.Version{v1, v2}); err != nil {
		t.Fatal(err)
	}
	if v, err := f.d.Screener(context.Background(), "kratom-help", "test-check"); err != nil || v.Version.Number != 2 {
		t.Fatalf("served version: %v, %v; want 2", v, err)
	}
	for version, want := range map[int64]int{1: 1, 2: 5} {
		out, err := f.d.Score(context.Background(), "kratom-help", "test-check", version, answers("q1", "true", "q2", "false"), nil)
		if err != nil || out.Result.Version != version || out.Result.Score != want {
			t.Errorf("version %d: %+v, %v; want score %d", version, out.Result, err, want)
		}
	}
	q.DeleteTime = fixedNow()
	if err := f.d.Put(q, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := f.d.Screener(context.Background(), "kratom-help", "test-check"); apperr.CodeOf(err) != apperr.NotFound {
		t.Fatalf("deleted questionnaire still served: %v", err)
	}
}

// TestDeliveryLogsNoAnswers scores good and bad answers at debug level with both dependencies
// failing (so every warning path logs) and finds no answer value in the log.
func TestDeliveryLogsNoAnswers(t *testing.T) {
	var buf strings.Builder
	var mu sync.Mutex
	logger := slog.New(slog.NewTextHandler(lockedWriter{&mu, &buf}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	c := validContent()
	c.Items = []domain.Item{{LinkID: "freq", Text: "How often?", Type: domain.ItemChoice, Required: true,
		Options: []domain.AnswerOption{{Value: "zebra-never"}, {Value: "zebra-daily", Score: 1}}}}
	c.Bands = []domain.Band{band("none", 0, 0, domain.SeverityNone), openBand("more", 1, domain.SeveritySevere)}
	c.Bands[1].Recommend = domain.Recommendations{ArticleTags: []string{"kratom"}, ResourceKinds: []string{"treatment_provider"}}
	c.Normalize()
	down := &source{err: errors.New("connection refused")}
	d := domain.NewDelivery(deliverySites, down, down, domain.NewTally(newMemCounters(), fixedNow, logger), domain.DefaultDeliverySettings(), logger)
	q := &domain.Questionnaire{ID: "q", Draft: c, Version: 1}
	if err := d.Put(q, []*domain.Version{q.Publish(fixedNow())}); err != nil {
		t.Fatal(err)
	}
	for _, a := range []domain.Answers{answers("freq", "zebra-daily"), answers("freq", "zebra-unknown"), answers("zebra-link", "zebra-x")} {
		_, err := d.Score(context.Background(), "kratom-help", "test-check", 1, a, nil)
		logger.Debug("scored", "answers", a, "err", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if !strings.Contains(buf.String(), "unavailable") {
		t.Fatalf("the degraded paths did not log: %s", buf.String())
	}
	if strings.Contains(buf.String(), "zebra-daily") || strings.Contains(buf.String(), "zebra-unknown") || strings.Contains(buf.String(), "zebra-x") {
		t.Fatalf("an answer value reached the log:\n%s", buf.String())
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	b  *strings.Builder
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}
