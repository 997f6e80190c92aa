package console

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/timestamppb"

	accessv1 "github.com/beaconcms/beacon/gen/beacon/access/v1"
	screeningv1 "github.com/beaconcms/beacon/gen/beacon/screening/v1"
)

func int32p(n int32) *int32 { return &n }

// sampleQuestionnaire has a yes/no question, a choice question asked only after a yes, and two
// bands.
func sampleQuestionnaire() *screeningv1.Questionnaire {
	return &screeningv1.Questionnaire{
		Name: "questionnaires/q1", Etag: "e1", RevisionId: 3, Title: "Check", Disclaimer: "Not a diagnosis.",
		Source:      &screeningv1.Source{Citation: "Team.", LicenseName: "CC BY 4.0", CommercialUseAllowed: true},
		TargetSites: []string{"sites/kratom-help", "sites/other"},
		Items: []*screeningv1.Item{
			{LinkId: "used", Text: "Used?", Type: screeningv1.Item_TYPE_BOOLEAN, Required: true, AnswerOptions: []*screeningv1.AnswerOption{
				{Value: "true", Display: "Yes", Score: 1}, {Value: "false", Display: "No"}}},
			{LinkId: "often", Text: "How often?", Type: screeningv1.Item_TYPE_CHOICE, EnableBehavior: screeningv1.Item_ENABLE_BEHAVIOR_ANY,
				AnswerOptions: []*screeningv1.AnswerOption{{Value: "weekly", Display: "Weekly", Score: 1}, {Value: "daily", Display: "Daily", Score: 3}},
				EnableWhen:    []*screeningv1.EnableWhen{{Question: "used", Operator: screeningv1.EnableWhen_OPERATOR_EQUALS, Answer: "true"}}},
			{LinkId: "g", Type: screeningv1.Item_TYPE_GROUP, Items: []*screeningv1.Item{{LinkId: "note", Text: "Thanks", Type: screeningv1.Item_TYPE_DISPLAY}}},
		},
		Bands: []*screeningv1.Band{
			{Code: "low", Title: "Few signs", MinScore: 0, MaxScore: int32p(1), Severity: screeningv1.Severity_SEVERITY_NONE},
			{Code: "high", Title: "Many signs", MinScore: 2, Severity: screeningv1.Severity_SEVERITY_SEVERE, ShowCrisisLines: true, ResultText: "Talk to someone.",
				Recommendations: &screeningv1.Recommendations{ArticleTags: []string{"help"}, ResourceKinds: []string{"crisis_line"}}},
		},
	}
}

// valuesOf is the form the editor posts for f: every field under its service path.
func valuesOf(f questForm) url.Values {
	v := url.Values{"name": {f.Name}, "etag": {f.Etag}, "title": {f.Title}, "slug": {f.Slug}, "description": {f.Description},
		"instructions": {f.Instructions}, "disclaimer": {f.Disclaimer}, "source.citation": {f.Citation}, "source.url": {f.SourceURL},
		"source.license_name": {f.License}, "target_sites": {f.Sites}}
	if f.Commercial {
		v.Set("source.commercial_use_allowed", "on")
	}
	setItemValues(v, "items", f.Items)
	for j, b := range f.Bands {
		p := "bands[" + questItoa(j) + "]"
		for k, s := range map[string]string{".code": b.Code, ".title": b.Title, ".min_score": b.Min, ".max_score": b.Max, ".severity": b.Severity,
			".result_text": b.ResultText, ".recommendations.article_tags": b.Tags, ".recommendations.article_topics": b.Topics, ".recommendations.resource_kinds": b.Kinds} {
			v.Set(p+k, s)
		}
		if b.Crisis {
			v.Set(p+".show_crisis_lines", "on")
		}
	}
	return v
}

// setItemValues sets the fields of items posted under prefix, their groups' items too.
func setItemValues(v url.Values, prefix string, items []itemForm) {
	for i, it := range items {
		p := prefix + "[" + strconv.Itoa(i) + "]"
		v.Set(p+".link_id", it.LinkID)
		v.Set(p+".text", it.Text)
		v.Set(p+".type", it.Type)
		v.Set(p+".enable_behavior", it.Behavior)
		if it.Required {
			v.Set(p+".required", "on")
		}
		for k, o := range it.Options {
			op := p + ".answer_options[" + strconv.Itoa(k) + "]"
			v.Set(op+".value", o.Value)
			v.Set(op+".display", o.Display)
			v.Set(op+".score", o.Score)
		}
		for k, c := range it.Conditions {
			cp := p + ".enable_when[" + strconv.Itoa(k) + "]"
			v.Set(cp+".question", c.Question)
			v.Set(cp+".operator", c.Operator)
			v.Set(cp+".answer", c.Answer)
		}
		setItemValues(v, p+".items", it.Items)
	}
}

func questItoa(i int) string {
	return strings.TrimSpace(strings.Repeat(" ", 0) + string(rune('0'+i%10)))
}

// TestQuestFormRoundTrip: a questionnaire shown in the editor and posted back unchanged is the
// same questionnaire (nested group items included), for every editable field.
func TestQuestFormRoundTrip(t *testing.T) {
	want := sampleQuestionnaire()
	posted := parseQuestForm(valuesOf(formOfQuestionnaire(want)))
	got, errs := posted.questionnaire()
	if len(errs) > 0 {
		t.Fatalf("errors %v", errs)
	}
	want.RevisionId = 0 // sent as the form's "revision", not in the message
	// Displays equal to the value are left empty in the form; the service defaults them again.
	want.Items[1].AnswerOptions[0].Display, want.Items[1].AnswerOptions[1].Display = "Weekly", "Daily"
	if d := cmp.Diff(want, got, protocmp.Transform()); d != "" {
		t.Errorf("round trip (-want +got):\n%s", d)
	}
}

func TestParseQuestForm(t *testing.T) {
	tests := []struct {
		name   string
		form   url.Values
		check  func(t *testing.T, q *screeningv1.Questionnaire)
		errors questErrors
	}{
		{"blank option and condition rows are dropped, gaps in indexes close",
			url.Values{"items[0].link_id": {"a"}, "items[0].type": {"choice"}, "items[0].answer_options[0].value": {"x"}, "items[0].answer_options[0].score": {"2"},
				"items[0].answer_options[1].value": {""}, "items[0].answer_options[1].score": {" "}, "items[0].enable_when[0].question": {""},
				"items[5].link_id": {"b"}, "items[5].type": {"integer"}, "target_sites": {" kratom-help , ,other"}},
			func(t *testing.T, q *screeningv1.Questionnaire) {
				if len(q.GetItems()) != 2 || q.GetItems()[1].GetLinkId() != "b" || len(q.GetItems()[0].GetAnswerOptions()) != 1 ||
					q.GetItems()[0].GetAnswerOptions()[0].GetScore() != 2 || len(q.GetItems()[0].GetEnableWhen()) != 0 {
					t.Errorf("items %v", q.GetItems())
				}
				if d := cmp.Diff([]string{"sites/kratom-help", "sites/other"}, q.GetTargetSites()); d != "" {
					t.Errorf("sites: %s", d)
				}
			}, questErrors{}},
		{"a score and a band limit that are not whole numbers are named",
			url.Values{"items[0].answer_options[0].value": {"x"}, "items[0].answer_options[0].score": {"two"}, "bands[0].min_score": {"1.5"}, "bands[0].max_score": {""}},
			func(t *testing.T, q *screeningv1.Questionnaire) {
				if q.GetBands()[0].MaxScore != nil {
					t.Errorf("an empty highest total is no limit, got %d", q.GetBands()[0].GetMaxScore())
				}
			}, questErrors{"items[0].answer_options[0].score": {"must be a whole number"}, "bands[0].min_score": {"must be a whole number"}}},
		{"indexes beyond the limits are ignored",
			url.Values{"items[9999].link_id": {"far"}, "bands[31].code": {"far"}},
			func(t *testing.T, q *screeningv1.Questionnaire) {
				if len(q.GetItems())+len(q.GetBands()) != 0 {
					t.Errorf("read %d items and %d bands", len(q.GetItems()), len(q.GetBands()))
				}
			}, questErrors{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, errs := parseQuestForm(tt.form).questionnaire()
			tt.check(t, q)
			if d := cmp.Diff(tt.errors, errs); d != "" {
				t.Errorf("errors (-want +got):\n%s", d)
			}
		})
	}
}

func TestApplyEdit(t *testing.T) {
	linkIDs := func(f questForm) string {
		var ids []string
		for _, it := range f.Items {
			ids = append(ids, it.LinkID+"/"+questItoa(len(it.Options))+"/"+questItoa(len(it.Conditions)))
		}
		return strings.Join(ids, " ") + " bands " + questItoa(len(f.Bands))
	}
	tests := []struct {
		op   string
		ok   bool
		want string
	}{
		{"add-item", true, "used/2/0 often/2/1 g/0/0 q5/2/0 bands 2"}, // q4: "note", nested, counts
		{"up-1", true, "often/2/1 used/2/0 g/0/0 bands 2"},
		{"up-0", false, "used/2/0 often/2/1 g/0/0 bands 2"},
		{"down-1", true, "used/2/0 g/0/0 often/2/1 bands 2"},
		{"down-2", false, "used/2/0 often/2/1 g/0/0 bands 2"},
		{"remove-item-0", true, "often/2/1 g/0/0 bands 2"},
		{"remove-item-7", false, "used/2/0 often/2/1 g/0/0 bands 2"},
		{"add-option-1", true, "used/2/0 often/3/1 g/0/0 bands 2"},
		{"remove-option-1-0", true, "used/2/0 often/1/1 g/0/0 bands 2"},
		{"add-condition-0", true, "used/2/1 often/2/1 g/0/0 bands 2"},
		{"remove-condition-1-0", true, "used/2/0 often/2/0 g/0/0 bands 2"},
		{"add-band", true, "used/2/0 often/2/1 g/0/0 bands 3"},
		{"remove-band-1", true, "used/2/0 often/2/1 g/0/0 bands 1"},
		{"save", false, "used/2/0 often/2/1 g/0/0 bands 2"},
		{"remove-item--1", false, "used/2/0 often/2/1 g/0/0 bands 2"},
	}
	for _, tt := range tests {
		t.Run(tt.op, func(t *testing.T) {
			f := formOfQuestionnaire(sampleQuestionnaire())
			if ok := f.applyEdit(tt.op); ok != tt.ok {
				t.Errorf("applyEdit(%q) = %v, want %v", tt.op, ok, tt.ok)
			}
			if got := linkIDs(f); got != tt.want {
				t.Errorf("after %q: %s, want %s", tt.op, got, tt.want)
			}
		})
	}
}

func TestFieldIDAndFormField(t *testing.T) {
	for in, want := range map[string]string{
		"items[0].answer_options[12].score": "f-items-0-answer-options-12-score", "title": "f-title", "source.url": "f-source-url",
	} {
		if got := fieldID(in); got != want {
			t.Errorf("fieldID(%q) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[string]string{
		"questionnaire.items[1].text": "items[1].text", "questionnaire.target_sites[2]": "target_sites", "questionnaire.bands": "bands", "answers": "answers",
	} {
		if got := formField(in); got != want {
			t.Errorf("formField(%q) = %q, want %q", in, got, want)
		}
	}
}

// fakeScreening is the screening service's two clients: it records what it is asked and answers
// from its fields.
type fakeScreening struct {
	screeningv1.QuestionnaireServiceClient
	screeningv1.QuestionnairePreviewServiceClient
	current   *screeningv1.Questionnaire
	updateErr error
	updated   *screeningv1.UpdateQuestionnaireRequest
	tried     *screeningv1.TryQuestionnaireRequest // the first try (the draft's)
	tries     []*screeningv1.TryQuestionnaireRequest
	tryResp   *screeningv1.ScoreScreenerResponse
	tryErr    error
	// pubResp and pubErr answer a try of a published version (version > 0).
	pubResp *screeningv1.ScoreScreenerResponse
	pubErr  error
	check   *screeningv1.QuestionnaireCheck
	stats   *screeningv1.QuestionnaireStats
}

func (f *fakeScreening) GetQuestionnaire(context.Context, *screeningv1.GetQuestionnaireRequest, ...grpc.CallOption) (*screeningv1.Questionnaire, error) {
	return proto.Clone(f.current).(*screeningv1.Questionnaire), nil
}

func (f *fakeScreening) UpdateQuestionnaire(_ context.Context, req *screeningv1.UpdateQuestionnaireRequest, _ ...grpc.CallOption) (*screeningv1.Questionnaire, error) {
	f.updated = req
	if f.updateErr != nil {
		return nil, f.updateErr
	}
	return req.GetQuestionnaire(), nil
}

func (f *fakeScreening) ListQuestionnaireRevisions(context.Context, *screeningv1.ListQuestionnaireRevisionsRequest, ...grpc.CallOption) (*screeningv1.ListQuestionnaireRevisionsResponse, error) {
	return &screeningv1.ListQuestionnaireRevisionsResponse{Revisions: []*screeningv1.QuestionnaireRevision{
		{RevisionId: 4, Actor: "users/other@example.org", Action: "update", ChangedFields: []string{"bands"}, CreateTime: timestamppb.New(time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)),
			Snapshot: &screeningv1.Questionnaire{Version: 2}},
		{RevisionId: 3, Actor: "users/ed@example.org", Action: "publish", Snapshot: &screeningv1.Questionnaire{Version: 1}},
	}}, nil
}

func (f *fakeScreening) CheckQuestionnaire(context.Context, *screeningv1.CheckQuestionnaireRequest, ...grpc.CallOption) (*screeningv1.QuestionnaireCheck, error) {
	return f.check, nil
}

func (f *fakeScreening) TryQuestionnaire(_ context.Context, req *screeningv1.TryQuestionnaireRequest, _ ...grpc.CallOption) (*screeningv1.ScoreScreenerResponse, error) {
	if f.tried == nil {
		f.tried = req
	}
	f.tries = append(f.tries, proto.CloneOf(req))
	if req.GetVersion() > 0 {
		return f.pubResp, f.pubErr
	}
	return f.tryResp, f.tryErr
}

func (f *fakeScreening) GetQuestionnaireStats(context.Context, *screeningv1.GetQuestionnaireStatsRequest, ...grpc.CallOption) (*screeningv1.QuestionnaireStats, error) {
	return f.stats, nil
}

// questViewerSessions answers GetCurrentSession with a viewer's session.
type questViewerSessions struct{ accessv1.SessionServiceClient }

func (questViewerSessions) GetCurrentSession(context.Context, *accessv1.GetCurrentSessionRequest, ...grpc.CallOption) (*accessv1.Session, error) {
	return &accessv1.Session{User: "users/vera@example.org", DisplayName: "Vera",
		ActingAs: &accessv1.RoleBinding{Role: accessv1.ApiKey_ROLE_VIEWER, Site: "sites/kratom-help"}}, nil
}

func newQuestConsole(tb testing.TB, fake *fakeScreening, sessions accessv1.SessionServiceClient) *Console {
	tb.Helper()
	pages, err := parsePages()
	if err != nil {
		tb.Fatal(err)
	}
	return &Console{pages: pages, sessions: sessions, quest: questionnaireClients{manage: fake, preview: fake},
		logger: slog.New(slog.DiscardHandler), cfg: Config{CallTimeout: time.Second}}
}

// serveQuest runs one request through the screen's routes.
func serveQuest(c *Console, method, target string, form url.Values) *httptest.ResponseRecorder {
	mux := http.NewServeMux()
	c.routeQuestionnaires(mux)
	var r *http.Request
	if form != nil {
		r = httptest.NewRequest(method, target, strings.NewReader(form.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	} else {
		r = httptest.NewRequest(method, target, nil)
	}
	r.AddCookie(&http.Cookie{Name: CookieName, Value: "bs_token"})
	w := httptest.NewRecorder()
	mux.ServeHTTP(w, r)
	return w
}

var gapCheck = &screeningv1.QuestionnaireCheck{CoverageKnown: true, MinScore: 0, MaxScore: 4,
	Reachable: []*screeningv1.ScoreRange{{Min: 0, Max: 4}}, Gaps: []*screeningv1.ScoreRange{{Min: 2, Max: 2}},
	Violations: []*screeningv1.CheckViolation{{Field: "questionnaire.bands", Description: "no band covers the reachable total(s) 2"}},
	Bands: []*screeningv1.BandCoverage{{Index: 0, Code: "low", Covers: []*screeningv1.ScoreRange{{Min: 0, Max: 1}}},
		{Index: 1, Code: "high", Covers: []*screeningv1.ScoreRange{{Min: 3, Max: 4}}, Overlaps: []*screeningv1.ScoreRange{{Min: 3, Max: 3}}}}}

func TestEditorPages(t *testing.T) {
	badRequest := func(field, desc string) error {
		st, _ := status.New(codes.InvalidArgument, "invalid request").WithDetails(&errdetails.BadRequest{
			FieldViolations: []*errdetails.BadRequest_FieldViolation{{Field: field, Description: desc}}})
		return st.Err()
	}
	saveForm := func(edit func(v url.Values)) url.Values {
		v := valuesOf(formOfQuestionnaire(sampleQuestionnaire()))
		v.Set("revision", "3")
		edit(v)
		return v
	}
	tests := []struct {
		name       string
		sessions   accessv1.SessionServiceClient
		method     string
		target     string
		form       url.Values
		updateErr  error
		wantStatus int
		want       []string
		notWant    []string
	}{
		{name: "editor shows coverage, gap and overlap flagged", sessions: fakeSessions{}, method: "GET", target: "/console/questionnaires/q1", wantStatus: 200,
			want: []string{`id="coverage-gaps"`, "no band covers 2.", `<strong class="overlap">Overlap:</strong> 3 also in an earlier band`, `<label for="f-items-1-enable-when-0-question">`,
				`name="items[1].enable_when[0].question" value="used"`, `<script src="/console/static/questionnaire-coverage.js" defer>`, `value="remove-item-2"`, `id="publish"`,
				`name="items[2].items[0].link_id" value="note"`, `<label for="f-items-2-items-0-text">`, `value="add-child-2"`, `value="remove-item-2.0"`, `value="up-2.0"`, "Items in group 3"}},
		{name: "a viewer gets no write button", sessions: questViewerSessions{}, method: "GET", target: "/console/questionnaires/q1", wantStatus: 200,
			want:    []string{"fieldset disabled", "your role does not allow changes"},
			notWant: []string{`id="save"`, `id="publish"`, `value="add-item"`, `value="up-1"`, `value="add-child-2"`, `value="remove-item-2.0"`}},
		{name: "a structural edit re-renders unsaved", sessions: fakeSessions{}, method: "POST", target: "/console/questionnaires/q1",
			form: saveForm(func(v url.Values) { v.Set("op", "up-1") }), wantStatus: 200,
			want: []string{"Not saved yet", `name="items[0].link_id" value="often"`, `name="items[1].link_id" value="used"`}},
		{name: "a refused save shows the service's message beside the field", sessions: fakeSessions{}, method: "POST", target: "/console/questionnaires/q1",
			form:      saveForm(func(v url.Values) { v.Set("op", "save"); v.Set("items[0].text", "") }),
			updateErr: badRequest("questionnaire.items[0].text", "is required"), wantStatus: 400,
			want: []string{`aria-invalid="true" aria-describedby="f-items-0-text-error"`, `<p class="field-error" id="f-items-0-text-error">is required`, `<a href="#f-items-0-text">items[0].text</a>`}},
		{name: "a moved nested item keeps the focus on its button", sessions: fakeSessions{}, method: "POST", target: "/console/questionnaires/q1",
			form: saveForm(func(v url.Values) {
				v.Set("op", "up-2.1")
				v.Set("items[2].items[1].link_id", "second")
				v.Set("items[2].items[1].type", "display")
				v.Set("items[2].items[1].text", "More")
			}), wantStatus: 200,
			want: []string{"Not saved yet", `name="items[2].items[0].link_id" value="second"`, `name="items[2].items[1].link_id" value="note"`,
				`value="down-2.0" class="secondary small" autofocus>Move item 3.1 down`, "Moved second: now item 3.1, 1 of 2 in its list. Not saved yet"}},
		{name: "an added nested item gets the focus on its link id", sessions: fakeSessions{}, method: "POST", target: "/console/questionnaires/q1",
			form: saveForm(func(v url.Values) { v.Set("op", "add-child-2") }), wantStatus: 200,
			want: []string{`id="f-items-2-items-1-link-id" name="items[2].items[1].link_id" value="q5" autofocus`, "Item 3.2 (q5)"}},
		{name: "a refused save shows a nested item's violation beside its field", sessions: fakeSessions{}, method: "POST", target: "/console/questionnaires/q1",
			form:      saveForm(func(v url.Values) { v.Set("op", "save"); v.Set("items[2].items[0].text", "") }),
			updateErr: badRequest("questionnaire.items[2].items[0].text", "is required"), wantStatus: 400,
			want: []string{`id="f-items-2-items-0-text" name="items[2].items[0].text" rows="2" aria-invalid="true" aria-describedby="f-items-2-items-0-text-error"`,
				`<p class="field-error" id="f-items-2-items-0-text-error">is required`, `<a href="#f-items-2-items-0-text">items[2].items[0].text</a>`}},
		{name: "a group's own violation shows beside its items", sessions: fakeSessions{}, method: "POST", target: "/console/questionnaires/q1",
			form:      saveForm(func(v url.Values) { v.Set("op", "save") }),
			updateErr: badRequest("questionnaire.items[2].items", "a group must contain at least one item"), wantStatus: 400,
			want: []string{`id="f-items-2-items"`, `<a href="#f-items-2-items">items[2].items</a>`,
				"<legend>Items in group 3</legend><p class=\"field-error\">a group must contain at least one item"}},
		{name: "a conflict shows who changed what and offers a knowing overwrite", sessions: fakeSessions{}, method: "POST", target: "/console/questionnaires/q1",
			form:      saveForm(func(v url.Values) { v.Set("op", "save"); v.Set("title", "My title") }),
			updateErr: status.Error(codes.Aborted, "changed since it was read"), wantStatus: 409,
			want:    []string{`id="conflict"`, "revision 4, update by users/other@example.org", ": bands", `name="latest_etag" value="e2"`, `value="overwrite"`, `value="My title"`},
			notWant: []string{"revision 3, publish"}},
		{name: "an unknown action is refused", sessions: fakeSessions{}, method: "POST", target: "/console/questionnaires/q1",
			form: saveForm(func(v url.Values) { v.Set("op", "drop-tables") }), wantStatus: 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			current := sampleQuestionnaire()
			current.Etag = "e2"
			fake := &fakeScreening{current: current, check: gapCheck, updateErr: tt.updateErr}
			c := newQuestConsole(t, fake, tt.sessions)
			w := serveQuest(c, tt.method, tt.target, tt.form)
			body := w.Body.String()
			if w.Code != tt.wantStatus {
				t.Fatalf("status %d, want %d:\n%s", w.Code, tt.wantStatus, body)
			}
			for _, s := range tt.want {
				if !strings.Contains(body, s) {
					t.Errorf("lacks %q:\n%s", s, body)
				}
			}
			for _, s := range tt.notWant {
				if strings.Contains(body, s) {
					t.Errorf("has %q", s)
				}
			}
			if csp := w.Header().Get("Content-Security-Policy"); tt.method == "GET" && (!strings.Contains(csp, "script-src 'self';") ||
				!strings.HasSuffix(csp, "; connect-src 'self'") || strings.Contains(csp, "unsafe-")) {
				t.Errorf("the editor's CSP %q does not allow its script and its requests to the console alone", csp)
			}
		})
	}
	t.Run("save sends the etag the editor opened and the editor's fields only", func(t *testing.T) {
		fake := &fakeScreening{current: sampleQuestionnaire(), check: gapCheck}
		c := newQuestConsole(t, fake, fakeSessions{})
		w := serveQuest(c, "POST", "/console/questionnaires/q1", saveForm(func(v url.Values) { v.Set("op", "save"); v.Set("etag", "opened") }))
		if w.Code != http.StatusSeeOther || fake.updated.GetQuestionnaire().GetEtag() != "opened" ||
			!cmp.Equal(fake.updated.GetUpdateMask().GetPaths(), editableMask) {
			t.Errorf("status %d, etag %q, mask %v", w.Code, fake.updated.GetQuestionnaire().GetEtag(), fake.updated.GetUpdateMask().GetPaths())
		}
		w = serveQuest(c, "POST", "/console/questionnaires/q1", saveForm(func(v url.Values) { v.Set("op", "overwrite"); v.Set("etag", "opened"); v.Set("latest_etag", "seen") }))
		if w.Code != http.StatusSeeOther || fake.updated.GetQuestionnaire().GetEtag() != "seen" {
			t.Errorf("overwrite: status %d, etag %q; want the conflict's etag", w.Code, fake.updated.GetQuestionnaire().GetEtag())
		}
	})
}

func TestCoverageFragment(t *testing.T) {
	fake := &fakeScreening{check: gapCheck}
	c := newQuestConsole(t, fake, fakeSessions{})
	w := serveQuest(c, "POST", "/console/questionnaires/coverage", valuesOf(formOfQuestionnaire(sampleQuestionnaire())))
	body := w.Body.String()
	if w.Code != 200 || strings.Contains(body, "<html") || !strings.Contains(body, "no band covers 2.") || !strings.Contains(body, "1 problem(s) a save would report") {
		t.Errorf("status %d:\n%s", w.Code, body)
	}
	fake.check = &screeningv1.QuestionnaireCheck{Valid: true, CoverageKnown: true, Reachable: []*screeningv1.ScoreRange{{Min: 0, Max: 4}},
		Bands: []*screeningv1.BandCoverage{{Code: "all", Covers: []*screeningv1.ScoreRange{{Min: 0, Max: 4}}}}}
	if body := serveQuest(c, "POST", "/console/questionnaires/coverage", url.Values{}).Body.String(); !strings.Contains(body, `id="coverage-complete"`) || !strings.Contains(body, "0–4") {
		t.Errorf("a complete coverage:\n%s", body)
	}
}

func TestTryPanel(t *testing.T) {
	severe := &screeningv1.ScoreScreenerResponse{Score: 4, MaxScore: 4, Disclaimer: "A self-check, not a diagnosis.",
		Band:           &screeningv1.ResultBand{Code: "high", Title: "Many signs", ResultHtml: "<p>Talk to someone.</p>", Severity: screeningv1.Severity_SEVERITY_SEVERE},
		CrisisLines:    []*screeningv1.CrisisLine{{Title: "988 Lifeline", Phone: "988", Hours: "24/7"}},
		CrisisLineText: "Call or text 988."}
	answerErr, _ := status.New(codes.InvalidArgument, "invalid request").WithDetails(&errdetails.BadRequest{FieldViolations: []*errdetails.BadRequest_FieldViolation{
		{Field: "answers[1]", Description: `question "often" is not enabled by the other answers, so it must not be answered`}}})
	tests := []struct {
		name       string
		form       url.Values
		resp       *screeningv1.ScoreScreenerResponse
		err        error
		wantStatus int
		want       []string
		sent       int
	}{
		{"severe result with crisis lines", url.Values{"answer.used": {"true"}, "answer.often": {"daily"}, "site": {"other"}}, severe, nil, 200,
			[]string{"What a reader would see", `<p>Talk to someone.</p>`, `id="crisis-lines"`, "988 Lifeline", "Call or text 988.", "not a diagnosis", "Score 4 of at most 4"}, 2},
		{"a refused answer is shown beside its question", url.Values{"answer.used": {"false"}, "answer.often": {"daily"}}, nil, answerErr.Err(), 400,
			[]string{`<p class="field-error" id="answer-1-error">question &#34;often&#34; is not enabled`}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := &fakeScreening{current: sampleQuestionnaire(), tryResp: tt.resp, tryErr: tt.err}
			c := newQuestConsole(t, fake, questViewerSessions{})
			w := serveQuest(c, "POST", "/console/questionnaires/q1/try", tt.form)
			if w.Code != tt.wantStatus {
				t.Fatalf("status %d, want %d:\n%s", w.Code, tt.wantStatus, w.Body)
			}
			for _, s := range tt.want {
				if !strings.Contains(w.Body.String(), s) {
					t.Errorf("lacks %q:\n%s", s, w.Body)
				}
			}
			if len(fake.tried.GetAnswers()) != tt.sent || fake.tried.GetVersion() != 0 {
				t.Errorf("sent %v", fake.tried)
			}
		})
	}
	t.Run("the published version scores the same answers", func(t *testing.T) {
		mild := &screeningv1.ScoreScreenerResponse{Score: 1, MaxScore: 4, Band: &screeningv1.ResultBand{Code: "low", Title: "Few signs"}}
		pubErr, _ := status.New(codes.InvalidArgument, "invalid request").WithDetails(&errdetails.BadRequest{FieldViolations: []*errdetails.BadRequest_FieldViolation{
			{Field: "answers[1].link_id", Description: `version 2 has no question "often"`}}})
		for _, pt := range []struct {
			name    string
			resp    *screeningv1.ScoreScreenerResponse
			err     error
			want    []string
			notWant []string
		}{
			{"another band", mild, nil, []string{`Published version 2, the same answers`, `id="published-band"><strong>Few signs</strong>`, "Score 1 of at most 4", `id="published-differs"`}, []string{`id="published-same"`}},
			{"the same band", severe, nil, []string{`id="published-same">The same score and band as the draft.`}, []string{`id="published-differs"`}},
			{"refused", nil, pubErr.Err(), []string{`id="published-problem">Version 2 cannot score these answers: answers[1].link_id: version 2 has no question &#34;often&#34;`},
				[]string{`id="published-band"`}},
		} {
			t.Run(pt.name, func(t *testing.T) {
				q := sampleQuestionnaire()
				q.PublishedVersion = 2
				fake := &fakeScreening{current: q, tryResp: severe, pubResp: pt.resp, pubErr: pt.err}
				c := newQuestConsole(t, fake, questViewerSessions{})
				w := serveQuest(c, "POST", "/console/questionnaires/q1/try", url.Values{"answer.used": {"true"}, "answer.often": {"daily"}, "site": {"other"}})
				if w.Code != 200 {
					t.Fatalf("status %d:\n%s", w.Code, w.Body)
				}
				body := w.Body.String()
				for _, s := range append(pt.want, `<p>Talk to someone.</p>`, "and, with the same answers, the published version 2.") {
					if !strings.Contains(body, s) {
						t.Errorf("lacks %q:\n%s", s, body)
					}
				}
				for _, s := range pt.notWant {
					if strings.Contains(body, s) {
						t.Errorf("has %q", s)
					}
				}
				if len(fake.tries) != 2 || fake.tries[0].GetVersion() != 0 || fake.tries[1].GetVersion() != 2 ||
					!proto.Equal(&screeningv1.TryQuestionnaireRequest{Name: "questionnaires/q1", Site: "sites/other", Answers: fake.tries[0].GetAnswers()},
						&screeningv1.TryQuestionnaireRequest{Name: fake.tries[1].GetName(), Site: fake.tries[1].GetSite(), Answers: fake.tries[1].GetAnswers()}) {
					t.Errorf("tries %v; want the draft, then version 2 with the same site and answers", fake.tries)
				}
			})
		}
	})
	t.Run("the form lists every question with its condition", func(t *testing.T) {
		c := newQuestConsole(t, &fakeScreening{current: sampleQuestionnaire()}, questViewerSessions{})
		body := serveQuest(c, "GET", "/console/questionnaires/q1/try", nil).Body.String()
		for _, s := range []string{`<label for="answer-0">Used?`, `<label for="answer-1">How often?`, "Asked only when used = true.", `Daily (scores 3)`, "Thanks", `<label for="try-site">`} {
			if !strings.Contains(body, s) {
				t.Errorf("lacks %q:\n%s", s, body)
			}
		}
	})
}

func TestStatsPage(t *testing.T) {
	count := func(display string, min, max int64) *screeningv1.Count {
		return &screeningv1.Count{Display: display, Min: min, Max: max}
	}
	stats := &screeningv1.QuestionnaireStats{From: "2026-11-01", To: "2026-12-01", Total: count("12-15", 12, 15),
		BandTotals: []*screeningv1.StatsTotal{{Key: "low", Count: count("10", 10, 10)}, {Key: "high", Count: count("<5", 1, 4)}, {Key: "old", Count: count("<5", 1, 4)}},
		DayTotals:  []*screeningv1.StatsTotal{{Key: "2026-11-30", Count: count("12-15", 12, 15)}},
		Cells: []*screeningv1.StatsCell{
			{Day: "2026-11-30", BandCode: "low", Site: "sites/kratom-help", Version: 1, Count: count("6", 6, 6)},
			{Day: "2026-11-30", BandCode: "low", Site: "sites/other", Version: 1, Count: count("<5", 1, 4)},
			{Day: "2026-11-30", BandCode: "high", Site: "sites/other", Version: 1, Count: count("<5", 1, 4)},
		}}
	c := newQuestConsole(t, &fakeScreening{current: sampleQuestionnaire(), stats: stats}, questViewerSessions{})
	w := serveQuest(c, "GET", "/console/questionnaires/q1/stats", nil)
	body := w.Body.String()
	for _, s := range []string{
		`<strong><span class="suppressed">12-15 <span class="tag">suppressed</span></span></strong>`,
		`<th scope="row">low <span class="meta">Few signs</span></th><td>10</td>`,
		`<th scope="row">high <span class="meta">Many signs</span></th><td><span class="suppressed">&lt;5 <span class="tag">suppressed</span>`,
		`<th scope="row">old</th>`, // a band only an older version had
		`<th scope="row">2026-11-30</th><td><span class="suppressed">7–10 <span class="tag">suppressed</span></span></td><td><span class="suppressed">&lt;5`,
		`id="suppression-note"`, `<label for="from">`, `value="2026-11-01"`,
	} {
		if !strings.Contains(body, s) {
			t.Errorf("lacks %q:\n%s", s, body)
		}
	}
}

func TestEditorFormsMayBeLarger(t *testing.T) {
	parsed := limitForms(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			w.WriteHeader(http.StatusBadRequest)
		}
	}))
	big := url.Values{"title": {strings.Repeat("x", 100<<10)}}.Encode()
	huge := url.Values{"title": {strings.Repeat("x", 2<<20)}}.Encode()
	for _, tt := range []struct {
		path, body string
		want       int
	}{
		{"/console/drafts", big, 400},
		{"/console/questionnaires/new", big, 200},
		{"/console/questionnaires/q1", big, 200},
		{"/console/questionnaires/q1", huge, 400},
	} {
		r := httptest.NewRequest("POST", tt.path, strings.NewReader(tt.body))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		w := httptest.NewRecorder()
		parsed.ServeHTTP(w, r)
		if w.Code != tt.want {
			t.Errorf("%s with %d bytes: %d, want %d", tt.path, len(tt.body), w.Code, tt.want)
		}
	}
}
