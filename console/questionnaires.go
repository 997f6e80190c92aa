package console

import (
	"bytes"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	accessv1 "github.com/beaconcms/beacon/gen/beacon/access/v1"
	screeningv1 "github.com/beaconcms/beacon/gen/beacon/screening/v1"
)

// The questionnaires screen (/console/questionnaires): the list, the items editor with live band
// coverage, the "try it" panel, publishing and version history, and the statistics. Every page
// calls the screening service as the signed-in user; the editor's coverage and the try panel
// use the QuestionnairePreviewService, which stores, counts and logs nothing.

// editorCSP is the Content-Security-Policy of the editor page: the console's policy plus the
// coverage script's requests to the console.
const editorCSP = ContentSecurityPolicy + "; connect-src 'self'"

// questFuncs are the template functions of the screen's pages.
var questFuncs = template.FuncMap{
	"fid": fieldID,
	"errs": func(e questErrors, field string) []string {
		return e[field]
	},
	"inc":   func(i int) int { return i + 1 },
	"field": func(format string, args ...any) string { return fmt.Sprintf(format, args...) },
}

// questPageNames are the screen's templates (parsed like pageNames).
var questPageNames = []string{"questionnaires", "questionnaire", "questionnaire-try", "questionnaire-versions", "questionnaire-stats"}

// questSharedTemplates defines the parts the screen's pages share.
const questSharedTemplates = "templates/questionnaire-parts.html"

// maxQuestionnaireFormBytes caps the questionnaire editor's forms: a questionnaire is sent to
// the screening service whole, whose requests are capped at 1 MiB.
const maxQuestionnaireFormBytes = 1 << 20

// parseEditorForm parses a posted form of the screen; an unreadable or oversized one is
// answered 400.
func (c *Console) parseEditorForm(w http.ResponseWriter, r *http.Request) bool {
	if err := r.ParseForm(); err != nil {
		c.renderError(w, r, http.StatusBadRequest, "The form could not be read (at most 1 MiB).")
		return false
	}
	return true
}

// questionnaireListSize is how many questionnaires one page of the list shows.
const questionnaireListSize = 50

// questionnaireClients are the screening service's clients the screen calls.
type questionnaireClients struct {
	manage  screeningv1.QuestionnaireServiceClient
	preview screeningv1.QuestionnairePreviewServiceClient
}

// newQuestionnaireClients returns the screen's clients over a connection to the screening
// service.
func newQuestionnaireClients(conn grpc.ClientConnInterface) questionnaireClients {
	return questionnaireClients{manage: screeningv1.NewQuestionnaireServiceClient(conn), preview: screeningv1.NewQuestionnairePreviewServiceClient(conn)}
}

// routeQuestionnaires adds the screen's routes (c.quest must be set).
func (c *Console) routeQuestionnaires(mux *http.ServeMux) {
	mux.HandleFunc("GET /console/questionnaires", c.questionnaireList)
	mux.HandleFunc("GET /console/questionnaires/new", c.questionnaireNew)
	mux.HandleFunc("POST /console/questionnaires/new", c.questionnaireSubmit)
	mux.HandleFunc("POST /console/questionnaires/coverage", c.questionnaireCoverage)
	mux.HandleFunc("GET /console/questionnaires/{id}", c.questionnaireEdit)
	mux.HandleFunc("POST /console/questionnaires/{id}", c.questionnaireSubmit)
	mux.HandleFunc("POST /console/questionnaires/{id}/publish", c.questionnairePublish)
	mux.HandleFunc("GET /console/questionnaires/{id}/versions", c.questionnaireVersions)
	mux.HandleFunc("GET /console/questionnaires/{id}/try", c.questionnaireTry)
	mux.HandleFunc("POST /console/questionnaires/{id}/try", c.questionnaireTry)
	mux.HandleFunc("GET /console/questionnaires/{id}/stats", c.questionnaireStats)
}

// questPage is the data of the screen's pages.
type questPage struct {
	Page      string     // which of the questionnaire's pages: edit, try, versions, stats
	Rows      []questRow // the list
	NextLink  string
	Name      string // "questionnaires/{id}" of the page's questionnaire
	ID        string
	Title     string
	State     string
	Version   int64
	Published int64

	Form      *questForm // the editor
	ItemViews []itemView // the form's items as the editor shows them, groups' items nested
	New       bool
	Errors    questErrors
	Summary   []problemLine
	Coverage  *coverageView
	Lint      []lintLine
	Note      string
	Conflict  *conflictView

	ItemTypes, Operators, Severities []option

	Try      *tryView
	Versions []versionRow
	Stats    *statsView
}

type questRow struct {
	Name, ID, Title, State, Sites string
	Version, Published            int64
	Updated                       time.Time
}

// problemLine is one violation as listed above the form; Anchor is the id of its input, when
// the form has one.
type problemLine struct{ Field, Anchor, Message string }

type lintLine struct{ Severity, Field, Match, Message, Suggestion string }

// conflictView is what a save that lost an etag race shows: who changed what since the editor
// opened the draft, and the current etag to overwrite with knowingly.
type conflictView struct {
	LatestEtag string
	Changes    []versionRow
}

// coverageView is the band coverage panel.
type coverageView struct {
	Known       bool
	Valid       bool
	Reachable   string
	Gaps        string
	Bands       []bandCoverageRow
	Problems    []problemLine
	Unavailable string // why coverage could not be computed now
}

type bandCoverageRow struct {
	Number          int // 1-based
	Code, Title     string
	Covers          string
	Overlaps        string
	CoversNothing   bool
	HasOverlapIssue bool
}

func (c *Console) renderQuest(w http.ResponseWriter, r *http.Request, status int, page string, data pageData) {
	if page == "questionnaire" {
		w.Header().Set("Content-Security-Policy", editorCSP)
	}
	c.render(w, r, status, page, data)
}

func stateName(s screeningv1.Questionnaire_State) string {
	return strings.ToLower(strings.TrimPrefix(s.String(), "STATE_"))
}

func questionnaireIDOf(name string) string { return strings.TrimPrefix(name, "questionnaires/") }

// questionnaireList lists the questionnaires the user may see (the service scopes them to the
// user's sites), newest change first.
func (c *Console) questionnaireList(w http.ResponseWriter, r *http.Request) {
	token, sess, ok := c.signedIn(w, r)
	if !ok {
		return
	}
	ctx, cancel := c.callContext(r, token)
	defer cancel()
	resp, err := c.quest.manage.ListQuestionnaires(ctx, &screeningv1.ListQuestionnairesRequest{
		PageSize: questionnaireListSize, OrderBy: "update_time desc", PageToken: r.URL.Query().Get("page_token")})
	if err != nil {
		c.serviceError(w, r, err)
		return
	}
	page := &questPage{}
	for _, q := range resp.GetQuestionnaires() {
		sites := make([]string, 0, len(q.GetTargetSites()))
		for _, s := range q.GetTargetSites() {
			sites = append(sites, siteID(s))
		}
		page.Rows = append(page.Rows, questRow{Name: q.GetName(), ID: questionnaireIDOf(q.GetName()), Title: q.GetTitle(), State: stateName(q.GetState()),
			Sites: strings.Join(sites, ", "), Version: q.GetVersion(), Published: q.GetPublishedVersion(), Updated: q.GetUpdateTime().AsTime()})
	}
	if next := resp.GetNextPageToken(); next != "" {
		page.NextLink = Prefix + "questionnaires?page_token=" + url.QueryEscape(next)
	}
	c.renderQuest(w, r, http.StatusOK, "questionnaires", pageData{Title: "Questionnaires", Viewer: viewerOf(sess), Quest: page})
}

// questionnaireNew opens the editor on a new questionnaire's starting point (nothing is saved
// until Save).
func (c *Console) questionnaireNew(w http.ResponseWriter, r *http.Request) {
	token, sess, ok := c.signedIn(w, r)
	if !ok {
		return
	}
	site := ""
	if sites, err := c.writableSites(r, token, sess); err == nil && len(sites) > 0 {
		site = sites[0].ID
	}
	form := newQuestForm(site)
	page := &questPage{Form: &form, New: true, Errors: questErrors{}}
	c.renderEditor(w, r, token, sess, http.StatusOK, page)
}

// questionnaireEdit opens the editor on a questionnaire's draft.
func (c *Console) questionnaireEdit(w http.ResponseWriter, r *http.Request) {
	token, sess, ok := c.signedIn(w, r)
	if !ok {
		return
	}
	ctx, cancel := c.callContext(r, token)
	defer cancel()
	q, err := c.quest.manage.GetQuestionnaire(ctx, &screeningv1.GetQuestionnaireRequest{Name: "questionnaires/" + r.PathValue("id")})
	if err != nil {
		c.serviceError(w, r, err)
		return
	}
	page := questEditorPageOf(q)
	switch {
	case r.URL.Query().Get("saved") != "":
		page.Note = "Saved."
	case r.URL.Query().Get("created") != "":
		page.Note = "Created as a draft."
	case r.URL.Query().Get("published") != "":
		page.Note = fmt.Sprintf("Published version %d: sites serve it now.", q.GetPublishedVersion())
	}
	c.renderEditor(w, r, token, sess, http.StatusOK, page)
}

// questEditorPageOf is the editor page of a questionnaire as the service returned it.
func questEditorPageOf(q *screeningv1.Questionnaire) *questPage {
	form := formOfQuestionnaire(q)
	page := &questPage{Form: &form, Errors: questErrors{}}
	page.setHeader(q)
	for _, l := range q.GetLintFindings() {
		if l.GetSuppressedReason() != "" {
			continue
		}
		sev := strings.ToLower(strings.TrimPrefix(l.GetSeverity().String(), "SEVERITY_"))
		if l.GetAcknowledged() {
			sev += ", acknowledged"
		}
		page.Lint = append(page.Lint, lintLine{Severity: sev, Field: l.GetField(), Match: l.GetMatch(), Message: l.GetMessage(), Suggestion: l.GetSuggestion()})
	}
	return page
}

func (p *questPage) setHeader(q *screeningv1.Questionnaire) {
	p.Name, p.ID, p.Title = q.GetName(), questionnaireIDOf(q.GetName()), q.GetTitle()
	p.State, p.Version, p.Published = stateName(q.GetState()), q.GetVersion(), q.GetPublishedVersion()
}

// renderEditor renders the editor with the coverage of its form (as the service computes it).
func (c *Console) renderEditor(w http.ResponseWriter, r *http.Request, token string, sess *accessv1.Session, code int, page *questPage) {
	page.Page, page.ItemTypes, page.Operators, page.Severities = "edit", itemTypes, operators, severities
	page.Coverage = c.coverage(r, token, *page.Form)
	page.ItemViews = itemViewsOf(page, !viewerOf(sess).CanWrite, page.Form.Items, nil)
	title := "New questionnaire"
	if !page.New {
		title = "Edit questionnaire"
	}
	c.renderQuest(w, r, code, "questionnaire", pageData{Title: title, Viewer: viewerOf(sess), Quest: page})
}

// coverage asks the screening service to check the form's content and returns the panel.
func (c *Console) coverage(r *http.Request, token string, form questForm) *coverageView {
	q, local := form.questionnaire()
	ctx, cancel := c.callContext(r, token)
	defer cancel()
	check, err := c.quest.preview.CheckQuestionnaire(ctx, &screeningv1.CheckQuestionnaireRequest{Questionnaire: q})
	if err != nil {
		_, msg := statusOf(err)
		return &coverageView{Unavailable: msg}
	}
	return coverageViewOf(check, form, local)
}

func coverageViewOf(check *screeningv1.QuestionnaireCheck, form questForm, local questErrors) *coverageView {
	v := &coverageView{Known: check.GetCoverageKnown(), Valid: check.GetValid() && len(local) == 0,
		Reachable: rangesText(check.GetReachable()), Gaps: rangesText(check.GetGaps())}
	for _, b := range check.GetBands() {
		row := bandCoverageRow{Number: int(b.GetIndex()) + 1, Code: b.GetCode(), Covers: rangesText(b.GetCovers()), Overlaps: rangesText(b.GetOverlaps())}
		if i := int(b.GetIndex()); i >= 0 && i < len(form.Bands) {
			row.Title = form.Bands[i].Title
		}
		row.CoversNothing, row.HasOverlapIssue = len(b.GetCovers()) == 0, len(b.GetOverlaps()) > 0
		v.Bands = append(v.Bands, row)
	}
	for field, msgs := range local {
		for _, m := range msgs {
			v.Problems = append(v.Problems, problemLine{Field: field, Anchor: fieldID(field), Message: m})
		}
	}
	for _, p := range check.GetViolations() {
		f := formField(p.GetField())
		v.Problems = append(v.Problems, problemLine{Field: f, Anchor: fieldID(f), Message: p.GetDescription()})
	}
	slices.SortStableFunc(v.Problems, func(a, b problemLine) int { return strings.Compare(a.Field, b.Field) })
	return v
}

// rangesText formats ranges as "0-3, 5".
func rangesText(rs []*screeningv1.ScoreRange) string {
	parts := make([]string, 0, len(rs))
	for _, r := range rs {
		if r.GetMin() == r.GetMax() {
			parts = append(parts, strconv.Itoa(int(r.GetMin())))
		} else {
			parts = append(parts, fmt.Sprintf("%d–%d", r.GetMin(), r.GetMax()))
		}
	}
	return strings.Join(parts, ", ")
}

// questionnaireCoverage answers the editor's script: the coverage panel of the posted form,
// as an HTML fragment. It stores nothing.
func (c *Console) questionnaireCoverage(w http.ResponseWriter, r *http.Request) {
	token := sessionToken(r)
	if token == "" {
		http.Error(w, "Your session has ended. Sign in again.", http.StatusUnauthorized)
		return
	}
	if err := r.ParseForm(); err != nil {
		http.Error(w, "The form could not be read.", http.StatusBadRequest)
		return
	}
	form := parseQuestForm(r.PostForm)
	var buf bytes.Buffer
	if err := c.pages["questionnaire"].ExecuteTemplate(&buf, "coverage", c.coverage(r, token, form)); err != nil {
		c.logger.ErrorContext(r.Context(), "console template failed", "page", "coverage", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write(buf.Bytes())
}

// questionnaireSubmit handles the editor's buttons: a structural edit (add, remove, move)
// re-renders the form unsaved; Save creates or updates the draft with the etag the editor
// opened; "Overwrite" after a conflict saves with the etag the conflict showed.
func (c *Console) questionnaireSubmit(w http.ResponseWriter, r *http.Request) {
	token, sess, ok := c.signedIn(w, r)
	if !ok {
		return
	}
	if !c.parseEditorForm(w, r) {
		return
	}
	form := parseQuestForm(r.PostForm)
	isNew := r.PathValue("id") == ""
	if !isNew {
		form.Name = "questionnaires/" + r.PathValue("id")
	}
	page := &questPage{Form: &form, New: isNew, Errors: questErrors{}, Name: form.Name, ID: r.PathValue("id"), Title: form.Title}
	op := r.PostFormValue("op")
	if form.applyEdit(op) {
		page.Note = form.movedNote() + "Not saved yet: save to keep these changes."
		c.renderEditor(w, r, token, sess, http.StatusOK, page)
		return
	}
	if op != "save" && op != "overwrite" {
		c.renderError(w, r, http.StatusBadRequest, "The editor sent an unknown action.")
		return
	}
	q, local := form.questionnaire()
	if len(local) > 0 {
		page.Errors = local
		page.summarize()
		c.renderEditor(w, r, token, sess, http.StatusBadRequest, page)
		return
	}
	ctx, cancel := c.callContext(r, token)
	defer cancel()
	var saved *screeningv1.Questionnaire
	var err error
	if isNew {
		saved, err = c.quest.manage.CreateQuestionnaire(ctx, &screeningv1.CreateQuestionnaireRequest{Questionnaire: q})
	} else {
		if op == "overwrite" {
			q.Etag = r.PostFormValue("latest_etag")
		}
		saved, err = c.quest.manage.UpdateQuestionnaire(ctx, &screeningv1.UpdateQuestionnaireRequest{Questionnaire: q,
			UpdateMask: &fieldmaskpb.FieldMask{Paths: editableMask}})
	}
	if err == nil {
		note := "saved=1"
		if isNew {
			note = "created=1"
		}
		http.Redirect(w, r, Prefix+saved.GetName()+"?"+note, http.StatusSeeOther)
		return
	}
	c.editorError(w, r, token, sess, page, err)
}

// editorError shows a refused save or publish in the editor: violations beside their fields, a
// conflict with what changed meanwhile; anything else as an error page.
func (c *Console) editorError(w http.ResponseWriter, r *http.Request, token string, sess *accessv1.Session, page *questPage, err error) {
	code := status.Code(err)
	switch code {
	case codes.InvalidArgument, codes.FailedPrecondition, codes.AlreadyExists:
		st := status.Convert(err)
		found := false
		for _, d := range st.Details() {
			if br, ok := d.(*errdetails.BadRequest); ok {
				for _, v := range br.GetFieldViolations() {
					page.Errors.add(formField(v.GetField()), v.GetDescription())
					found = true
				}
			}
		}
		if !found {
			field := "form"
			if code == codes.AlreadyExists && strings.Contains(st.Message(), "slug") {
				field = "slug"
			}
			page.Errors.add(field, st.Message())
		}
		page.summarize()
		httpCode, _ := statusOf(err)
		c.renderEditor(w, r, token, sess, httpCode, page)
	case codes.Aborted:
		ctx, cancel := c.callContext(r, token)
		defer cancel()
		current, getErr := c.quest.manage.GetQuestionnaire(ctx, &screeningv1.GetQuestionnaireRequest{Name: page.Form.Name})
		if getErr != nil {
			c.serviceError(w, r, getErr)
			return
		}
		page.setHeader(current)
		page.Title = page.Form.Title
		page.Conflict = &conflictView{LatestEtag: current.GetEtag()}
		revs, revErr := c.quest.manage.ListQuestionnaireRevisions(ctx, &screeningv1.ListQuestionnaireRevisionsRequest{Name: page.Form.Name, PageSize: 20})
		if revErr == nil {
			for _, rev := range revs.GetRevisions() {
				if rev.GetRevisionId() > page.Form.Revision {
					page.Conflict.Changes = append(page.Conflict.Changes, versionRowOf(rev))
				}
			}
		}
		c.renderEditor(w, r, token, sess, http.StatusConflict, page)
	default:
		c.serviceError(w, r, err)
	}
}

// summarize lists every field error above the form, linked to its input.
func (p *questPage) summarize() {
	p.Summary = p.Summary[:0]
	for field, msgs := range p.Errors {
		for _, m := range msgs {
			p.Summary = append(p.Summary, problemLine{Field: field, Anchor: fieldID(field), Message: m})
		}
	}
	slices.SortStableFunc(p.Summary, func(a, b problemLine) int { return strings.Compare(a.Field, b.Field) })
}

// questionnairePublish publishes the draft the editor reviewed (its etag).
func (c *Console) questionnairePublish(w http.ResponseWriter, r *http.Request) {
	token, sess, ok := c.signedIn(w, r)
	if !ok {
		return
	}
	if !c.parseEditorForm(w, r) {
		return
	}
	name := "questionnaires/" + r.PathValue("id")
	ctx, cancel := c.callContext(r, token)
	defer cancel()
	_, err := c.quest.manage.PublishQuestionnaire(ctx, &screeningv1.PublishQuestionnaireRequest{Name: name, Etag: r.PostFormValue("etag")})
	if err == nil {
		http.Redirect(w, r, Prefix+name+"?published=1", http.StatusSeeOther)
		return
	}
	if code := status.Code(err); code != codes.InvalidArgument && code != codes.FailedPrecondition && code != codes.Aborted {
		c.serviceError(w, r, err)
		return
	}
	q, getErr := c.quest.manage.GetQuestionnaire(ctx, &screeningv1.GetQuestionnaireRequest{Name: name})
	if getErr != nil {
		c.serviceError(w, r, getErr)
		return
	}
	page := questEditorPageOf(q)
	if status.Code(err) == codes.Aborted {
		page.Errors.add("form", "The draft changed since you opened it; review it again before publishing.")
		page.summarize()
		c.renderEditor(w, r, token, sess, http.StatusConflict, page)
		return
	}
	page.Errors.add("form", "Not published: "+status.Convert(err).Message())
	c.editorError(w, r, token, sess, page, err)
}

// versionRow is one revision in the version history.
type versionRow struct {
	Revision int64
	Time     time.Time
	Actor    string
	Action   string
	Fields   string
	Version  int64 // the draft's version number at the revision
	Publish  bool  // this revision published Version
}

func versionRowOf(rev *screeningv1.QuestionnaireRevision) versionRow {
	return versionRow{Revision: rev.GetRevisionId(), Time: rev.GetCreateTime().AsTime(), Actor: rev.GetActor(), Action: rev.GetAction(),
		Fields: strings.Join(rev.GetChangedFields(), ", "), Version: rev.GetSnapshot().GetVersion(), Publish: rev.GetAction() == "publish"}
}

// questionnaireVersions shows the published versions and every recorded revision, newest first.
func (c *Console) questionnaireVersions(w http.ResponseWriter, r *http.Request) {
	token, sess, ok := c.signedIn(w, r)
	if !ok {
		return
	}
	name := "questionnaires/" + r.PathValue("id")
	ctx, cancel := c.callContext(r, token)
	defer cancel()
	q, err := c.quest.manage.GetQuestionnaire(ctx, &screeningv1.GetQuestionnaireRequest{Name: name})
	if err != nil {
		c.serviceError(w, r, err)
		return
	}
	page := &questPage{}
	page.setHeader(q)
	page.Page = "versions"
	req := &screeningv1.ListQuestionnaireRevisionsRequest{Name: name, PageSize: 100}
	for range 10 { // at most 1,000 revisions
		resp, err := c.quest.manage.ListQuestionnaireRevisions(ctx, req)
		if err != nil {
			c.serviceError(w, r, err)
			return
		}
		for _, rev := range resp.GetRevisions() {
			page.Versions = append(page.Versions, versionRowOf(rev))
		}
		if resp.GetNextPageToken() == "" {
			break
		}
		req.PageToken = resp.GetNextPageToken()
	}
	c.renderQuest(w, r, http.StatusOK, "questionnaire-versions", pageData{Title: "Version history", Viewer: viewerOf(sess), Quest: page})
}

// tryView is the "try it" panel: a question per answerable item and, after a try, what a
// reader would see.
type tryView struct {
	Questions []tryQuestion
	Sites     []string
	Site      string
	Result    *tryResult
	Problems  []string // refusals not tied to one question
	// Published is the same answers scored by the published version, beside the draft's
	// result; nil when nothing is published (or the draft's result is not shown).
	Published *publishedTry
}

// publishedTry is a published version's result for the answers the draft was tried with.
type publishedTry struct {
	Version int64
	Result  *tryResult
	// Problem is why the version could not score them (e.g. it lacks a question the draft
	// has, or the chosen site is not among its sites); Result is nil then.
	Problem string
	// Differs: the version puts these answers in another band, or scores them differently,
	// than the draft: publishing the draft changes what this reader sees.
	Differs bool
}

type tryQuestion struct {
	LinkID, Text, Kind string // Kind: "select", "number" or "display"
	Options            []option
	Value              string
	Condition          string // when the item is asked, e.g. "asked when q1 = true"
	Error              string
}

type tryResult struct {
	Score, MaxScore int32
	BandTitle       string
	Severity        string
	ResultHTML      template.HTML // the service's sanitized rendering of the band's text
	Disclaimer      string
	CrisisLines     []*screeningv1.CrisisLine
	CrisisText      string
	Articles        []*screeningv1.RecommendedArticle
	Resources       []*screeningv1.RecommendedResource
	Severe          bool
}

// tryQuestions flattens the answerable items (nested ones too) into the try form's questions.
func tryQuestions(items []*screeningv1.Item, form url.Values) []tryQuestion {
	var out []tryQuestion
	var walk func(items []*screeningv1.Item)
	walk = func(items []*screeningv1.Item) {
		for _, it := range items {
			q := tryQuestion{LinkID: it.GetLinkId(), Text: it.GetText(), Value: form.Get("answer." + it.GetLinkId())}
			var conds []string
			for _, w := range it.GetEnableWhen() {
				conds = append(conds, fmt.Sprintf("%s %s %s", w.GetQuestion(), keyOf(operatorToProto, w.GetOperator()), w.GetAnswer()))
			}
			if len(conds) > 0 {
				join := " and "
				if it.GetEnableBehavior() == screeningv1.Item_ENABLE_BEHAVIOR_ANY {
					join = " or "
				}
				q.Condition = "Asked only when " + strings.Join(conds, join) + "."
			}
			switch it.GetType() {
			case screeningv1.Item_TYPE_GROUP:
				walk(it.GetItems())
				continue
			case screeningv1.Item_TYPE_DISPLAY:
				q.Kind = "display"
			case screeningv1.Item_TYPE_INTEGER:
				q.Kind = "number"
			default:
				q.Kind = "select"
			}
			for _, o := range it.GetAnswerOptions() {
				q.Kind = "select"
				q.Options = append(q.Options, option{Value: o.GetValue(), Label: fmt.Sprintf("%s (scores %d)", o.GetDisplay(), o.GetScore())})
			}
			if it.GetType() == screeningv1.Item_TYPE_BOOLEAN && len(q.Options) == 0 {
				q.Options = []option{{"true", "Yes"}, {"false", "No"}}
			}
			out = append(out, q)
		}
	}
	walk(items)
	return out
}

// questionnaireTry shows the try form (GET) and scores the sample answers (POST) against the
// draft, as a reader of the chosen site would see the result. Nothing is stored or counted.
func (c *Console) questionnaireTry(w http.ResponseWriter, r *http.Request) {
	token, sess, ok := c.signedIn(w, r)
	if !ok {
		return
	}
	if r.Method == http.MethodPost && !c.parseEditorForm(w, r) {
		return
	}
	name := "questionnaires/" + r.PathValue("id")
	ctx, cancel := c.callContext(r, token)
	defer cancel()
	q, err := c.quest.manage.GetQuestionnaire(ctx, &screeningv1.GetQuestionnaireRequest{Name: name})
	if err != nil {
		c.serviceError(w, r, err)
		return
	}
	page := &questPage{}
	page.setHeader(q)
	view := &tryView{Questions: tryQuestions(q.GetItems(), r.PostForm), Site: r.PostFormValue("site")}
	for _, s := range q.GetTargetSites() {
		view.Sites = append(view.Sites, siteID(s))
	}
	page.Try, page.Page = view, "try"
	data := pageData{Title: "Try it", Viewer: viewerOf(sess), Quest: page}
	if r.Method != http.MethodPost {
		c.renderQuest(w, r, http.StatusOK, "questionnaire-try", data)
		return
	}
	req := &screeningv1.TryQuestionnaireRequest{Name: name}
	if view.Site != "" {
		req.Site = "sites/" + view.Site
	}
	var sent []int // index in view.Questions of each answer sent
	for i, tq := range view.Questions {
		if tq.Kind != "display" && strings.TrimSpace(tq.Value) != "" {
			req.Answers = append(req.Answers, &screeningv1.SampleAnswer{LinkId: tq.LinkID, Value: strings.TrimSpace(tq.Value)})
			sent = append(sent, i)
		}
	}
	resp, err := c.quest.preview.TryQuestionnaire(ctx, req)
	if status.Code(err) == codes.InvalidArgument || status.Code(err) == codes.FailedPrecondition {
		for _, d := range status.Convert(err).Details() {
			br, ok := d.(*errdetails.BadRequest)
			if !ok {
				continue
			}
			for _, v := range br.GetFieldViolations() {
				if i, ok := answerIndex(v.GetField()); ok && i < len(sent) {
					view.Questions[sent[i]].Error = v.GetDescription()
					continue
				}
				view.Problems = append(view.Problems, v.GetDescription())
			}
		}
		if len(view.Problems) == 0 && !slices.ContainsFunc(view.Questions, func(q tryQuestion) bool { return q.Error != "" }) {
			view.Problems = append(view.Problems, status.Convert(err).Message())
		}
		c.renderQuest(w, r, http.StatusBadRequest, "questionnaire-try", data)
		return
	}
	if err != nil {
		c.serviceError(w, r, err)
		return
	}
	view.Result = tryResultOf(resp)
	if v := q.GetPublishedVersion(); v > 0 {
		// The same answers against what readers get now.
		view.Published = &publishedTry{Version: v}
		req.Version = v
		pub, err := c.quest.preview.TryQuestionnaire(ctx, req)
		switch code := status.Code(err); {
		case code == codes.InvalidArgument || code == codes.FailedPrecondition:
			view.Published.Problem = tryRefusal(err)
		case err != nil:
			c.serviceError(w, r, err)
			return
		default:
			view.Published.Result = tryResultOf(pub)
			view.Published.Differs = pub.GetBand().GetCode() != resp.GetBand().GetCode() || pub.GetScore() != resp.GetScore()
		}
	}
	c.renderQuest(w, r, http.StatusOK, "questionnaire-try", data)
}

// tryResultOf is what the try page shows of a TryQuestionnaire answer.
func tryResultOf(resp *screeningv1.ScoreScreenerResponse) *tryResult {
	return &tryResult{Score: resp.GetScore(), MaxScore: resp.GetMaxScore(), BandTitle: resp.GetBand().GetTitle(),
		Severity:   strings.ToLower(strings.TrimPrefix(resp.GetBand().GetSeverity().String(), "SEVERITY_")),
		ResultHTML: template.HTML(resp.GetBand().GetResultHtml()), Disclaimer: resp.GetDisclaimer(),
		CrisisLines: resp.GetCrisisLines(), CrisisText: resp.GetCrisisLineText(),
		Articles: resp.GetArticles().GetArticles(), Resources: resp.GetResources().GetResources(),
		Severe: resp.GetBand().GetSeverity() == screeningv1.Severity_SEVERITY_SEVERE}
}

// tryRefusal words a refused try: its field violations ("answers[1].value: ..."), else its
// message.
func tryRefusal(err error) string {
	var msgs []string
	for _, d := range status.Convert(err).Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, v := range br.GetFieldViolations() {
				msgs = append(msgs, v.GetField()+": "+v.GetDescription())
			}
		}
	}
	if len(msgs) == 0 {
		return status.Convert(err).Message()
	}
	return strings.Join(msgs, "; ")
}

// answerIndex is i of a violation on "answers[i]" or "answers[i].value".
func answerIndex(field string) (int, bool) {
	rest, ok := strings.CutPrefix(field, "answers[")
	if !ok {
		return 0, false
	}
	n, _, ok := strings.Cut(rest, "]")
	if !ok {
		return 0, false
	}
	i, err := strconv.Atoi(n)
	return i, err == nil && i >= 0
}

// statsView is the statistics page: counts per band over a period, per day and band, with the
// service's small-cell suppression shown as such.
type statsView struct {
	From, To   string
	Errors     questErrors
	Total      countView
	Bands      []statsBandRow
	Days       []statsDayRow
	BandCodes  []string
	Suppressed bool // some count shown is suppressed or a range
}

type countView struct {
	Display    string
	Suppressed bool
}

type statsBandRow struct {
	Code, Title string
	Count       countView
}

type statsDayRow struct {
	Day    string
	Counts []countView // by BandCodes
	Total  countView
}

func countOf(c *screeningv1.Count) countView {
	if c == nil {
		return countView{Display: "0"}
	}
	return countView{Display: c.GetDisplay(), Suppressed: c.GetMin() != c.GetMax()}
}

// questionnaireStats shows the aggregate counters of a period (default: the service's, the
// last 30 days).
func (c *Console) questionnaireStats(w http.ResponseWriter, r *http.Request) {
	token, sess, ok := c.signedIn(w, r)
	if !ok {
		return
	}
	name := "questionnaires/" + r.PathValue("id")
	ctx, cancel := c.callContext(r, token)
	defer cancel()
	q, err := c.quest.manage.GetQuestionnaire(ctx, &screeningv1.GetQuestionnaireRequest{Name: name})
	if err != nil {
		c.serviceError(w, r, err)
		return
	}
	page := &questPage{}
	page.setHeader(q)
	view := &statsView{From: strings.TrimSpace(r.URL.Query().Get("from")), To: strings.TrimSpace(r.URL.Query().Get("to")), Errors: questErrors{}}
	page.Stats, page.Page = view, "stats"
	data := pageData{Title: "Statistics", Viewer: viewerOf(sess), Quest: page}
	stats, err := c.quest.manage.GetQuestionnaireStats(ctx, &screeningv1.GetQuestionnaireStatsRequest{Name: name, From: view.From, To: view.To})
	if status.Code(err) == codes.InvalidArgument {
		for _, d := range status.Convert(err).Details() {
			if br, ok := d.(*errdetails.BadRequest); ok {
				for _, v := range br.GetFieldViolations() {
					view.Errors.add(v.GetField(), v.GetDescription())
				}
			}
		}
		if len(view.Errors) == 0 {
			view.Errors.add("from", status.Convert(err).Message())
		}
		c.renderQuest(w, r, http.StatusBadRequest, "questionnaire-stats", data)
		return
	}
	if err != nil {
		c.serviceError(w, r, err)
		return
	}
	fillStats(view, stats, q.GetBands())
	c.renderQuest(w, r, http.StatusOK, "questionnaire-stats", data)
}

// fillStats lays the service's report out by band (the draft's bands first, in order, then any
// band code only older versions had) and by day.
func fillStats(view *statsView, stats *screeningv1.QuestionnaireStats, bands []*screeningv1.Band) {
	view.From, view.To = stats.GetFrom(), stats.GetTo()
	view.Total = countOf(stats.GetTotal())
	titles := map[string]string{}
	for _, b := range bands {
		titles[b.GetCode()] = b.GetTitle()
		view.BandCodes = append(view.BandCodes, b.GetCode())
	}
	bandTotals := map[string]*screeningv1.Count{}
	for _, t := range stats.GetBandTotals() {
		bandTotals[t.GetKey()] = t.GetCount()
		if !slices.Contains(view.BandCodes, t.GetKey()) {
			view.BandCodes = append(view.BandCodes, t.GetKey())
		}
	}
	for _, code := range view.BandCodes {
		view.Bands = append(view.Bands, statsBandRow{Code: code, Title: titles[code], Count: countOf(bandTotals[code])})
	}
	// Cells are per version, site, band and day; a day's band count is the sum of its cells,
	// which is exact only when they all are.
	type sum struct{ min, max int64 }
	byDay := map[string]map[string]*sum{}
	for _, cell := range stats.GetCells() {
		if byDay[cell.GetDay()] == nil {
			byDay[cell.GetDay()] = map[string]*sum{}
		}
		s := byDay[cell.GetDay()][cell.GetBandCode()]
		if s == nil {
			s = &sum{}
			byDay[cell.GetDay()][cell.GetBandCode()] = s
		}
		s.min += cell.GetCount().GetMin()
		s.max += cell.GetCount().GetMax()
	}
	dayTotals := map[string]*screeningv1.Count{}
	for _, t := range stats.GetDayTotals() {
		dayTotals[t.GetKey()] = t.GetCount()
	}
	days := make([]string, 0, len(byDay))
	for d := range byDay {
		days = append(days, d)
	}
	slices.Sort(days)
	for _, d := range days {
		row := statsDayRow{Day: d, Total: countOf(dayTotals[d])}
		for _, code := range view.BandCodes {
			s := byDay[d][code]
			switch {
			case s == nil:
				row.Counts = append(row.Counts, countView{Display: "0"})
			case s.min == s.max:
				row.Counts = append(row.Counts, countView{Display: strconv.FormatInt(s.min, 10)})
			case s.max < 5:
				row.Counts = append(row.Counts, countView{Display: "<5", Suppressed: true})
			default:
				row.Counts = append(row.Counts, countView{Display: fmt.Sprintf("%d–%d", s.min, s.max), Suppressed: true})
			}
		}
		view.Days = append(view.Days, row)
	}
	view.Suppressed = view.Total.Suppressed || slices.ContainsFunc(view.Bands, func(b statsBandRow) bool { return b.Count.Suppressed }) ||
		slices.ContainsFunc(view.Days, func(d statsDayRow) bool {
			return d.Total.Suppressed || slices.ContainsFunc(d.Counts, func(c countView) bool { return c.Suppressed })
		})
}
