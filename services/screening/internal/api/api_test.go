package api_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/beaconcms/beacon/gateway"
	screeningv1 "github.com/beaconcms/beacon/gen/beacon/screening/v1"
	"github.com/beaconcms/beacon/platform/apperr"
	"github.com/beaconcms/beacon/platform/auth"
	"github.com/beaconcms/beacon/platform/claimlint"
	"github.com/beaconcms/beacon/platform/mongodb"
	"github.com/beaconcms/beacon/platform/mongodb/mongodbtest"
	"github.com/beaconcms/beacon/platform/pagetoken"
	"github.com/beaconcms/beacon/services/screening/internal/api"
	"github.com/beaconcms/beacon/services/screening/internal/domain"
	"github.com/beaconcms/beacon/services/screening/internal/instruments"
	"github.com/beaconcms/beacon/services/screening/internal/store"
)

// testSites: kratom-help is public, private needs a key, other is a third site.
type testSites map[string]struct {
	public bool
	domain.SiteSettings
}

func (s testSites) Site(_ context.Context, id string) (domain.SiteSettings, error) {
	return s[id].SiteSettings, nil
}
func (s testSites) Public(_ context.Context, id string) bool { return s[id].public }
func (s testSites) Caching(_ context.Context, id string) (bool, int) {
	return s[id].public, 60
}

var sitesFixture = testSites{
	"kratom-help": {public: true, SiteSettings: domain.SiteSettings{Exists: true, CrisisLineText: "Call or text 988."}},
	"private":     {SiteSettings: domain.SiteSettings{Exists: true, CrisisLineText: "Private line text."}},
	"other":       {SiteSettings: domain.SiteSettings{Exists: true}},
}

// sources is a fake content and resources service that records what it was asked.
type sources struct {
	mu    sync.Mutex
	asked []string
}

func (s *sources) record(what string) {
	s.mu.Lock()
	s.asked = append(s.asked, what)
	s.mu.Unlock()
}

func (s *sources) RecommendArticles(_ context.Context, site string, tags, topics []string, limit int) ([]domain.ArticleRef, error) {
	s.record("articles " + site + " " + strings.Join(tags, ",") + "/" + strings.Join(topics, ","))
	return []domain.ArticleRef{{Name: "articles/a1", Title: "Finding help", Slug: "finding-help", URL: "https://" + site + ".example.org/articles/finding-help"}}, nil
}

func (s *sources) RecommendResources(_ context.Context, site string, kinds []string, near *domain.Point, limit int) ([]domain.ResourceRef, error) {
	s.record("resources " + site + " " + strings.Join(kinds, ","))
	r := domain.ResourceRef{Name: "resources/r1", Title: "Clinic", Kind: kinds[0]}
	if near != nil {
		r.DistanceMeters = 1500
	}
	return []domain.ResourceRef{r}, nil
}

func (s *sources) CrisisLines(_ context.Context, site string) ([]domain.CrisisLine, error) {
	s.record("crisis " + site)
	return []domain.CrisisLine{{Title: "988 Lifeline", Phone: "988", SMS: "988", Hours: "24/7"}}, nil
}

type env struct {
	manage    *api.QuestionnaireServer
	screeners *api.ScreenerServer
	preview   *api.QuestionnairePreviewServer
	read      *api.ReadSide
	tally     *domain.Tally
	counters  *store.Counters
	sources   *sources
}

func newEnv(tb testing.TB) *env {
	tb.Helper()
	return newEnvWith(tb, sitesFixture)
}

// newEnvWith is newEnv with the site catalog sites.
func newEnvWith(tb testing.TB, sitesFixture testSites) *env {
	tb.Helper()
	db := mongodbtest.NewDatabase(tb)
	locks := mongodb.NewDocLocks()
	tokens, err := pagetoken.NewCodec([]byte("test-page-token-secret-0123456789abcdef"))
	if err != nil {
		tb.Fatal(err)
	}
	logger := slog.New(slog.DiscardHandler)
	src := &sources{}
	counters := store.NewCounters(db, locks)
	tally := domain.NewTally(counters, nil, logger)
	delivery := domain.NewDelivery(sitesFixture, src, src, tally, domain.DefaultDeliverySettings(), logger)
	linter, err := claimlint.New(claimlint.Builtin(), claimlint.Tuning{})
	if err != nil {
		tb.Fatal(err)
	}
	svc := domain.NewService(store.NewQuestionnaires(db, locks, logger), sitesFixture, linter, nil, nil, logger)
	if err := svc.Load(context.Background(), delivery); err != nil {
		tb.Fatal(err)
	}
	screeners := api.NewScreenerServer(delivery, sitesFixture)
	return &env{
		manage: api.NewQuestionnaireServer(svc, tally, tokens, nil), screeners: screeners,
		preview: api.NewQuestionnairePreviewServer(svc, delivery),
		read:    api.NewReadSide(screeners, sitesFixture, logger), tally: tally, counters: counters, sources: src,
	}
}

var (
	admin     = auth.Principal{KeyName: "apiKeys/admin", Role: auth.RoleAdmin}
	kratomKey = auth.Principal{KeyName: "apiKeys/kratom", Role: auth.RoleEditor, Site: "kratom-help"}
	otherKey  = auth.Principal{KeyName: "apiKeys/other", Role: auth.RoleEditor, Site: "other"}
)

func as(p auth.Principal) context.Context { return auth.WithPrincipal(context.Background(), p) }

// kratomCheck is the shipped kratom self-check as a Questionnaire message for sites.
func kratomCheck(tb testing.TB, sites ...string) *screeningv1.Questionnaire {
	tb.Helper()
	all, err := instruments.All()
	if err != nil {
		tb.Fatal(err)
	}
	for _, in := range all {
		if in.Name == "kratom-self-check" {
			c := in.Content.Clone()
			c.TargetSites = sites
			return api.ContentToProto(c, 0, 0)
		}
	}
	tb.Fatal("no kratom self-check")
	return nil
}

// published creates and publishes the kratom self-check for sites, as admin.
func (e *env) published(tb testing.TB, sites ...string) *screeningv1.Questionnaire {
	tb.Helper()
	q, err := e.manage.CreateQuestionnaire(as(admin), &screeningv1.CreateQuestionnaireRequest{Questionnaire: kratomCheck(tb, sites...)})
	if err != nil {
		tb.Fatalf("create: %v", err)
	}
	q, err = e.manage.PublishQuestionnaire(as(admin), &screeningv1.PublishQuestionnaireRequest{Name: q.GetName(), Etag: q.GetEtag()})
	if err != nil {
		tb.Fatalf("publish: %v", err)
	}
	return q
}

// kratomSigns are the sign questions of the kratom self-check, in order.
var kratomSigns = []string{"more-than-meant", "cut-down", "time", "craving", "obligations", "relationships", "given-up", "risky-situations", "health", "tolerance", "withdrawal"}

// kratomAnswers says yes to the first yes signs and no to the rest.
func kratomAnswers(yes int) []*screeningv1.Answer {
	out := []*screeningv1.Answer{{LinkId: "used", Value: structpb.NewBoolValue(true)}}
	for i, id := range kratomSigns {
		out = append(out, &screeningv1.Answer{LinkId: id, Value: structpb.NewBoolValue(i < yes)})
	}
	return out
}

// TestSiteScopeOnEveryMethod calls every method with a key for the questionnaire's site (allowed)
// and with a key for another site (refused as if the questionnaire or site did not exist).
func TestSiteScopeOnEveryMethod(t *testing.T) {
	e := newEnv(t)
	q := e.published(t, "kratom-help")
	name := q.GetName()
	edit := func(ctx context.Context) error {
		cur, err := e.manage.GetQuestionnaire(ctx, &screeningv1.GetQuestionnaireRequest{Name: name})
		if err != nil {
			return err
		}
		cur.Description = "Edited."
		_, err = e.manage.UpdateQuestionnaire(ctx, &screeningv1.UpdateQuestionnaireRequest{Questionnaire: cur, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"description"}}})
		return err
	}
	calls := []struct {
		method string
		call   func(ctx context.Context) error
		// refused is the code a key for another site gets.
		refused apperr.Code
	}{
		{"CreateQuestionnaire", func(ctx context.Context) error {
			c := kratomCheck(t, "kratom-help")
			c.Slug = "created-" + strings.ReplaceAll(strings.ToLower(time.Now().Format("150405.000000000")), ".", "-")
			_, err := e.manage.CreateQuestionnaire(ctx, &screeningv1.CreateQuestionnaireRequest{Questionnaire: c})
			return err
		}, apperr.PermissionDenied},
		{"GetQuestionnaire", func(ctx context.Context) error {
			_, err := e.manage.GetQuestionnaire(ctx, &screeningv1.GetQuestionnaireRequest{Name: name})
			return err
		}, apperr.NotFound},
		{"ListQuestionnaires", func(ctx context.Context) error {
			resp, err := e.manage.ListQuestionnaires(ctx, &screeningv1.ListQuestionnairesRequest{})
			if err == nil && len(resp.GetQuestionnaires()) == 0 {
				return apperr.New(apperr.NotFound, "listed nothing")
			}
			return err
		}, apperr.NotFound},
		{"UpdateQuestionnaire", edit, apperr.NotFound},
		{"PublishQuestionnaire", func(ctx context.Context) error {
			_, err := e.manage.PublishQuestionnaire(ctx, &screeningv1.PublishQuestionnaireRequest{Name: name})
			return err
		}, apperr.NotFound},
		{"ListQuestionnaireRevisions", func(ctx context.Context) error {
			resp, err := e.manage.ListQuestionnaireRevisions(ctx, &screeningv1.ListQuestionnaireRevisionsRequest{Name: name})
			if err == nil && len(resp.GetRevisions()) == 0 {
				return apperr.New(apperr.NotFound, "no revisions")
			}
			return err
		}, apperr.NotFound},
		{"ExportQuestionnaireFhir", func(ctx context.Context) error {
			_, err := e.manage.ExportQuestionnaireFhir(ctx, &screeningv1.ExportQuestionnaireFhirRequest{Name: name, Version: 1})
			return err
		}, apperr.NotFound},
		{"GetQuestionnaireStats", func(ctx context.Context) error {
			_, err := e.manage.GetQuestionnaireStats(ctx, &screeningv1.GetQuestionnaireStatsRequest{Name: name})
			return err
		}, apperr.NotFound},
		{"DeleteQuestionnaire", func(ctx context.Context) error {
			_, err := e.manage.DeleteQuestionnaire(ctx, &screeningv1.DeleteQuestionnaireRequest{Name: name})
			return err
		}, apperr.NotFound},
		{"UndeleteQuestionnaire", func(ctx context.Context) error {
			_, err := e.manage.UndeleteQuestionnaire(ctx, &screeningv1.UndeleteQuestionnaireRequest{Name: name})
			return err
		}, apperr.NotFound},
		{"GetScreener", func(ctx context.Context) error {
			_, err := e.screeners.GetScreener(ctx, &screeningv1.GetScreenerRequest{Site: "sites/kratom-help", Slug: "kratom-self-check"})
			return err
		}, apperr.NotFound},
		{"ScoreScreener", func(ctx context.Context) error {
			_, err := e.screeners.ScoreScreener(ctx, &screeningv1.ScoreScreenerRequest{Site: "sites/kratom-help", Slug: "kratom-self-check", Version: 1, Answers: kratomAnswers(0)})
			return err
		}, apperr.NotFound},
	}
	for _, c := range calls {
		t.Run(c.method, func(t *testing.T) {
			if err := c.call(as(otherKey)); apperr.CodeOf(err) != c.refused {
				t.Errorf("key for another site: %v, want %s", err, c.refused)
			}
			if err := c.call(as(kratomKey)); err != nil {
				t.Errorf("key for the site: %v", err)
			}
		})
	}

	t.Run("a key for one site reads a questionnaire its live version targets, and changes it only if nothing targets another site", func(t *testing.T) {
		cur, err := e.manage.GetQuestionnaire(as(admin), &screeningv1.GetQuestionnaireRequest{Name: name})
		if err != nil {
			t.Fatal(err)
		}
		cur.TargetSites = []string{"sites/other"} // the draft moves; the live version stays on kratom-help
		if _, err := e.manage.UpdateQuestionnaire(as(admin), &screeningv1.UpdateQuestionnaireRequest{Questionnaire: cur, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"target_sites"}}}); err != nil {
			t.Fatal(err)
		}
		got, err := e.manage.GetQuestionnaire(as(kratomKey), &screeningv1.GetQuestionnaireRequest{Name: name})
		if err != nil {
			t.Fatalf("the live site's key cannot read it: %v", err)
		}
		// It sees the live version, not the draft bound for another site.
		if sites := got.GetTargetSites(); len(sites) != 1 || sites[0] != "sites/kratom-help" {
			t.Errorf("the live site's key sees the draft's sites %v", sites)
		}
		listed, err := e.manage.ListQuestionnaires(as(kratomKey), &screeningv1.ListQuestionnairesRequest{})
		if err != nil || len(listed.GetQuestionnaires()) == 0 || listed.GetQuestionnaires()[0].GetTargetSites()[0] != "sites/kratom-help" {
			t.Errorf("the live site's key lists %v, %v", listed, err)
		}
		if all, err := e.manage.GetQuestionnaire(as(admin), &screeningv1.GetQuestionnaireRequest{Name: name}); err != nil || all.GetTargetSites()[0] != "sites/other" {
			t.Errorf("admin sees %v, %v; want the draft", all.GetTargetSites(), err)
		}
		if err := edit(as(kratomKey)); apperr.CodeOf(err) != apperr.PermissionDenied {
			t.Errorf("the live site's key edits a draft for another site: %v, want permission denied", err)
		}
		if err := edit(as(otherKey)); apperr.CodeOf(err) != apperr.PermissionDenied {
			t.Errorf("the draft site's key edits a questionnaire live on another site: %v, want permission denied", err)
		}
	})
}

func TestScoreRecommends(t *testing.T) {
	e := newEnv(t)
	e.published(t, "kratom-help")
	cases := []struct {
		name      string
		yes       int
		near      *screeningv1.Near
		band      string
		crisis    bool
		resources bool
		distance  float64
	}{
		{"few signs: articles only", 1, nil, "few-signs", false, false, 0},
		{"some signs: treatment providers", 2, nil, "some-signs", false, true, 0},
		{"several signs near a point", 4, &screeningv1.Near{Latitude: 38.6, Longitude: -90.2}, "several-signs", false, true, 1500},
		{"many signs: crisis lines", 6, nil, "many-signs", true, true, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp, err := e.screeners.ScoreScreener(context.Background(), &screeningv1.ScoreScreenerRequest{
				Site: "sites/kratom-help", Slug: "kratom-self-check", Version: 1, Answers: kratomAnswers(c.yes), Near: c.near})
			if err != nil {
				t.Fatal(err)
			}
			if resp.GetScore() != int32(c.yes) || resp.GetMaxScore() != 11 || resp.GetBand().GetCode() != c.band {
				t.Errorf("score %d/%d band %q, want %d/11 %q", resp.GetScore(), resp.GetMaxScore(), resp.GetBand().GetCode(), c.yes, c.band)
			}
			if resp.GetDisclaimer() == "" || resp.GetBand().GetResultHtml() == "" {
				t.Errorf("no disclaimer or result: %v", resp)
			}
			if a := resp.GetArticles(); a.GetUnavailable() || len(a.GetArticles()) != 1 || a.GetArticles()[0].GetUrl() == "" {
				t.Errorf("articles %v", a)
			}
			if r := resp.GetResources(); (len(r.GetResources()) == 1) != c.resources || (c.resources && r.GetResources()[0].GetDistanceMeters() != c.distance) {
				t.Errorf("resources %v, want some: %v at %v m", r, c.resources, c.distance)
			}
			if got := len(resp.GetCrisisLines()) == 1 && resp.GetCrisisLineText() == "Call or text 988."; got != c.crisis {
				t.Errorf("crisis lines %v / %q, want them: %v", resp.GetCrisisLines(), resp.GetCrisisLineText(), c.crisis)
			}
		})
	}
	if n := e.counted(t, e.mustList(t)[0]); n != int64(len(cases)) {
		t.Errorf("counted %d screenings, want %d", n, len(cases))
	}
}

func (e *env) mustList(tb testing.TB) []*screeningv1.Questionnaire {
	tb.Helper()
	resp, err := e.manage.ListQuestionnaires(as(admin), &screeningv1.ListQuestionnairesRequest{})
	if err != nil {
		tb.Fatal(err)
	}
	return resp.GetQuestionnaires()
}

func TestReadSide(t *testing.T) {
	e := newEnv(t)
	q := e.published(t, "kratom-help", "private")
	serve := func(method, path, key, body string, header ...string) *httptest.ResponseRecorder {
		t.Helper()
		r := httptest.NewRequest(method, path, strings.NewReader(body))
		for i := 0; i+1 < len(header); i += 2 {
			r.Header.Set(header[i], header[i+1])
		}
		rest := strings.TrimPrefix(r.URL.Path, "/v1/sites/")
		site, rest, _ := strings.Cut(rest, "/")
		_, item, _ := strings.Cut(rest, "/")
		req := gateway.ReadRequest{Site: site, Segment: "screeners", Item: item}
		if key != "" {
			req.Authenticated, req.Caller = true, map[string]auth.Principal{"kratom": kratomKey, "other": otherKey, "admin": admin}[key]
		}
		w := httptest.NewRecorder()
		e.read.ServeRead(w, r, req)
		return w
	}

	t.Run("screener: public site, ETag and 304", func(t *testing.T) {
		w := serve("GET", "/v1/sites/kratom-help/screeners/kratom-self-check", "", "")
		if w.Code != 200 || !strings.HasPrefix(w.Header().Get("Cache-Control"), "public, max-age=60") ||
			!strings.Contains(w.Header().Get("Surrogate-Key"), "screener-"+strings.TrimPrefix(q.GetName(), "questionnaires/")) {
			t.Fatalf("GET: %d %v", w.Code, w.Header())
		}
		var s screeningv1.Screener
		if err := protojson.Unmarshal(w.Body.Bytes(), &s); err != nil || s.GetVersion() != 1 || s.GetMaxScore() != 11 || len(s.GetItems()) == 0 {
			t.Fatalf("screener %v, %v", &s, err)
		}
		again := serve("GET", "/v1/sites/kratom-help/screeners/kratom-self-check", "", "", "If-None-Match", w.Header().Get("ETag"))
		if again.Code != http.StatusNotModified {
			t.Errorf("If-None-Match: %d, want 304", again.Code)
		}
	})
	t.Run("screener: private site needs a key covering it", func(t *testing.T) {
		if w := serve("GET", "/v1/sites/private/screeners/kratom-self-check", "", ""); w.Code != 401 {
			t.Errorf("no key: %d, want 401", w.Code)
		}
		if w := serve("GET", "/v1/sites/private/screeners/kratom-self-check", "kratom", ""); w.Code != 404 {
			t.Errorf("key for another site: %d, want 404", w.Code)
		}
		w := serve("GET", "/v1/sites/private/screeners/kratom-self-check", "admin", "")
		if w.Code != 200 || !strings.HasPrefix(w.Header().Get("Cache-Control"), "private") || !strings.Contains(w.Header().Get("Vary"), "Authorization") {
			t.Errorf("admin: %d %v", w.Code, w.Header())
		}
	})
	t.Run("score: no-store, and bad answers name each problem and count nothing", func(t *testing.T) {
		w := serve("POST", "/v1/sites/kratom-help/screeners/kratom-self-check:score", "", `{"version": 1, "answers": [{"linkId": "used", "value": true},
			{"linkId": "more-than-meant", "value": true}, {"linkId": "cut-down", "value": false}, {"linkId": "time", "value": false},
			{"linkId": "craving", "value": false}, {"linkId": "obligations", "value": false}, {"linkId": "relationships", "value": false},
			{"linkId": "given-up", "value": false}, {"linkId": "risky-situations", "value": false}, {"linkId": "health", "value": false},
			{"linkId": "tolerance", "value": false}, {"linkId": "withdrawal", "value": false}]}`)
		if w.Code != 200 || w.Header().Get("Cache-Control") != "no-store" || !strings.Contains(w.Body.String(), `"score":1`) {
			t.Fatalf("score: %d %v %s", w.Code, w.Header(), w.Body)
		}
		before := e.counted(t, q)
		bad := serve("POST", "/v1/sites/kratom-help/screeners/kratom-self-check:score", "", `{"version": 1, "answers": [{"linkId": "used", "value": "sometimes"}, {"linkId": "nosuch", "value": true}]}`)
		body := bad.Body.String()
		if bad.Code != 400 || bad.Header().Get("Cache-Control") != "no-store" || !strings.Contains(body, `answers[0].value`) || !strings.Contains(body, `answers[1].link_id`) || strings.Contains(body, "sometimes") {
			t.Errorf("bad answers: %d %s", bad.Code, body)
		}
		unknown := serve("POST", "/v1/sites/kratom-help/screeners/kratom-self-check:score", "", `{"version": 7, "answers": []}`)
		if unknown.Code != 400 || !strings.Contains(unknown.Body.String(), "version") {
			t.Errorf("unknown version: %d %s", unknown.Code, unknown.Body)
		}
		garbled := serve("POST", "/v1/sites/kratom-help/screeners/kratom-self-check:score", "", `{"version": 1, "answers": [{"linkId": "used", "value": secretword}]}`)
		if garbled.Code != 400 || strings.Contains(garbled.Body.String(), "secretword") {
			t.Errorf("unparsable body: %d %s", garbled.Code, garbled.Body)
		}
		if after := e.counted(t, q); after != before {
			t.Errorf("refused scores were counted: %d then %d", before, after)
		}
	})
}

// counted is the true number of screenings of q today, as stored after a flush.
func (e *env) counted(tb testing.TB, q *screeningv1.Questionnaire) int64 {
	tb.Helper()
	if err := e.tally.Flush(context.Background()); err != nil {
		tb.Fatal(err)
	}
	cells, err := e.counters.Counts(context.Background(), strings.TrimPrefix(q.GetName(), "questionnaires/"), []string{time.Now().UTC().Format("2006-01-02")})
	if err != nil {
		tb.Fatal(err)
	}
	var n int64
	for _, c := range cells {
		n += c.N
	}
	return n
}
