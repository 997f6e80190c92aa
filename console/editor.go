package console

import (
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // schedule times are read in any IANA zone, also where the system has no zoneinfo

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	accessv1 "github.com/beaconcms/beacon/gen/beacon/access/v1"
	contentv1 "github.com/beaconcms/beacon/gen/beacon/content/v1"
)

// scheduleZones are the time zones the schedule form offers first; any IANA zone name is
// accepted.
var scheduleZones = []string{"UTC", "America/New_York", "America/Chicago", "America/Denver", "America/Phoenix",
	"America/Los_Angeles", "America/Anchorage", "Pacific/Honolulu", "America/Toronto", "America/Vancouver",
	"Europe/London", "Europe/Dublin", "Europe/Paris", "Europe/Berlin", "Asia/Kolkata", "Asia/Tokyo",
	"Australia/Sydney", "Pacific/Auckland"}

// scheduleInputLayout is the layout of a datetime-local input's value.
const scheduleInputLayout = "2006-01-02T15:04"

// editorPage is the article editor's data.
type editorPage struct {
	New                 bool
	Name, ID            string
	Etag                string // the version the editor loaded: every write sends it
	OverwriteEtag       string // after a conflict: the server's version, to overwrite knowingly
	State               string
	Deleted, LiveOnly   bool
	Revision, Published int64
	Created, Updated    time.Time
	PublishTime         time.Time
	Scheduled           time.Time
	ReviewDue           time.Time
	Creator             string
	ScheduleFailure     []unmetRule
	Form                articleForm
	Sites               []siteOption
	Roles               []option
	ReviewerNames       []string
	Preview             *previewView
	PreviewOfUnsaved    bool
	Findings            []findingView
	Unmet               []unmetRule
	Conflict            []fieldChange
	Errors              []string          // the service's refusal, one line per violation
	FieldErrors         map[string]string // input name -> message
	Notice              string
	Done                string // the action the notice is about (?done=...)
	CanWrite            bool   // the role may write and the article is not shown as a live snapshot only
	Actions             editorActions
	Zones               []string
	Zone, ScheduleAt    string
	ActionError         string
}

// editorActions are the lifecycle actions the editor offers for the article's state; the role
// is checked by the service.
type editorActions struct {
	Publish, Schedule, Unpublish, Archive, Delete, Undelete bool
}

type previewView struct {
	HTML           template.HTML // sanitized by the content service's renderer
	TOC            []tocRow
	Words, Minutes int32
	Flesch         string
	Level          string
}

type tocRow struct {
	Level        int32
	Text, Anchor string
}

type findingView struct {
	Index                                                      int
	RuleID, Severity, Field, Where, Match, Message, Suggestion string
	Suppressed                                                 string
	Acknowledged, NeedsAck                                     bool
}

type unmetRule struct {
	Type, Subject, Description, Hint string
}

// unmetHints say how to meet each publish check (the content service's rule types).
var unmetHints = map[string]string{
	"CLINICAL_REVIEWER":       "Add a reviewer with the role Clinical whose credentials include MD, DO, NP, PA-C or PharmD, and who is not the only author.",
	"REVIEW_CURRENT":          "Give the clinical reviewer a review date (or set Last reviewed) within the site's review validity, not in the future.",
	"QUALITY_CITATION":        "Add a citation with a DOI, a PMID, or a .gov or .edu URL.",
	"INTERNAL_LINK":           "Link only to articles and screeners published on the article's sites, or publish the target first.",
	"INTERNAL_LINK_UNCHECKED": "The link could not be checked now; try again in a moment.",
}

func unmetHint(ruleType string) string {
	if h, ok := unmetHints[ruleType]; ok {
		return h
	}
	if strings.HasPrefix(ruleType, "LINT_") {
		return "Rewrite the text the lint names (see its suggestion below), or have a reviewer acknowledge the warning."
	}
	return ""
}

// readingLevel describes a Flesch reading ease score.
func readingLevel(score float64) string {
	switch {
	case score >= 90:
		return "very easy"
	case score >= 80:
		return "easy"
	case score >= 70:
		return "fairly easy"
	case score >= 60:
		return "plain English"
	case score >= 50:
		return "fairly difficult"
	case score >= 30:
		return "difficult"
	}
	return "very difficult"
}

func previewOf(r *contentv1.Rendering) *previewView {
	if r == nil {
		return nil
	}
	p := &previewView{HTML: template.HTML(r.GetHtml()), Words: r.GetWordCount(), Minutes: r.GetReadingTimeMinutes(), //nolint:gosec // sanitized HTML from the renderer
		Flesch: strconv.FormatFloat(r.GetFleschReadingEase(), 'f', 1, 64), Level: readingLevel(r.GetFleschReadingEase())}
	for _, e := range r.GetTableOfContents() {
		p.TOC = append(p.TOC, tocRow{Level: e.GetLevel(), Text: e.GetText(), Anchor: e.GetAnchor()})
	}
	return p
}

func findingsOf(fs []*contentv1.LintFinding) []findingView {
	out := make([]findingView, 0, len(fs))
	for i, f := range fs {
		sev := strings.ToLower(strings.TrimPrefix(f.GetSeverity().String(), "SEVERITY_"))
		out = append(out, findingView{
			Index: i, RuleID: f.GetRuleId(), Severity: sev, Field: f.GetField(),
			Where: fmt.Sprintf("%s, line %d, column %d", f.GetField(), f.GetLine(), f.GetColumn()),
			Match: f.GetMatch(), Message: f.GetMessage(), Suggestion: f.GetSuggestion(),
			Suppressed: f.GetSuppressedReason(), Acknowledged: f.GetAcknowledged(),
			NeedsAck: f.GetSeverity() == contentv1.LintFinding_SEVERITY_WARNING && !f.GetAcknowledged() && f.GetSuppressedReason() == "",
		})
	}
	return out
}

// editorPageOf is the editor for article a as it is saved.
func editorPageOf(a *contentv1.Article, v *viewer) *editorPage {
	p := &editorPage{
		Name: a.GetName(), ID: strings.TrimPrefix(a.GetName(), "articles/"), Etag: a.GetEtag(),
		State: stateLabel(a.GetState()), Deleted: a.GetDeleteTime() != nil, LiveOnly: a.GetLiveSnapshotOnly(),
		Revision: a.GetRevisionId(), Published: a.GetPublishedRevisionId(),
		Created: tsTime(a.GetCreateTime()), Updated: tsTime(a.GetUpdateTime()), PublishTime: tsTime(a.GetPublishTime()),
		Scheduled: tsTime(a.GetScheduledPublishTime()), ReviewDue: tsTime(a.GetReviewDueTime()),
		Creator: a.GetCreator(), Form: formOfArticle(a), Roles: reviewerRoles,
		Preview: previewOf(a.GetRendering()), Findings: findingsOf(a.GetLintFindings()),
		Zones: scheduleZones, Zone: "UTC",
	}
	p.CanWrite = v.CanWrite && !p.LiveOnly
	for _, u := range a.GetScheduleFailure().GetUnmetRules() {
		p.ScheduleFailure = append(p.ScheduleFailure, unmetRule{Type: u.GetType(), Subject: u.GetSubject(), Description: u.GetDescription(), Hint: unmetHint(u.GetType())})
	}
	if p.CanWrite {
		live := a.GetState() == contentv1.Article_STATE_PUBLISHED || a.GetState() == contentv1.Article_STATE_SCHEDULED
		p.Actions = editorActions{
			Publish: !p.Deleted, Schedule: !p.Deleted, Unpublish: !p.Deleted && live,
			Archive: !p.Deleted && a.GetState() != contentv1.Article_STATE_ARCHIVED, Delete: !p.Deleted, Undelete: p.Deleted,
		}
	}
	if !p.Scheduled.IsZero() {
		p.ScheduleAt = p.Scheduled.UTC().Format(scheduleInputLayout)
	}
	return p
}

func tsTime(t *timestamppb.Timestamp) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.AsTime()
}

// showEditor renders the editor page with status.
func (c *Console) showEditor(w http.ResponseWriter, r *http.Request, token string, sess *accessv1.Session, status int, page *editorPage) {
	v := viewerOf(sess)
	if page.CanWrite || page.New {
		sites, err := c.writableSites(r, token, sess)
		if err != nil {
			c.serviceError(w, r, err)
			return
		}
		for _, s := range page.Form.TargetSites { // a site the user cannot pick stays shown
			if !slices.ContainsFunc(sites, func(o siteOption) bool { return o.ID == s }) {
				sites = append(sites, siteOption{ID: s, Name: s})
			}
		}
		page.Sites = sites
		if page.New && r.Method == http.MethodGet && len(sites) == 1 {
			page.Form.TargetSites = []string{sites[0].ID} // the one site the user can write to
		}
	}
	page.Form = page.Form.withBlankRows()
	page.ReviewerNames = page.Form.reviewerNames()
	title := "Edit article"
	if page.New {
		title = "New article"
	}
	c.render(w, r, status, "editor", pageData{Title: title, Viewer: v, Editor: page})
}

// editorNotices are the notes a redirect after a successful write shows (?done=...).
var editorNotices = map[string]string{
	"created": "Created.", "saved": "Saved.", "publish": "Published.", "schedule": "Scheduled.",
	"unpublish": "Unpublished.", "archive": "Archived.", "delete": "Deleted. Undelete restores it.",
	"undelete": "Undeleted.", "rollback": "Rolled back: the draft is now the chosen revision's.",
}

// articleEditor shows an article in the editor, as the signed-in user may see it.
func (c *Console) articleEditor(w http.ResponseWriter, r *http.Request) {
	token, sess, ok := c.signedIn(w, r)
	if !ok {
		return
	}
	ctx, cancel := c.callContext(r, token)
	defer cancel()
	a, err := c.articles.GetArticle(ctx, &contentv1.GetArticleRequest{Name: "articles/" + r.PathValue("id")})
	if err != nil {
		c.serviceError(w, r, err)
		return
	}
	page := editorPageOf(a, viewerOf(sess))
	page.Done = r.URL.Query().Get("done")
	page.Notice = editorNotices[page.Done]
	c.showEditor(w, r, token, sess, http.StatusOK, page)
}

// newArticleEditor shows an empty editor.
func (c *Console) newArticleEditor(w http.ResponseWriter, r *http.Request) {
	token, sess, ok := c.signedIn(w, r)
	if !ok {
		return
	}
	page := &editorPage{New: true, CanWrite: viewerOf(sess).CanWrite, Roles: reviewerRoles, Zones: scheduleZones, Zone: "UTC"}
	if site := sess.GetActingAs().GetSite(); site != "" {
		page.Form.TargetSites = []string{siteID(site)}
	}
	c.showEditor(w, r, token, sess, http.StatusOK, page)
}

// postedArticle reads the editor's form: the article it describes, and the form itself to show
// again. An acknowledge button ("acknowledge:N") adds the reviewer's acknowledgement of finding
// N to the form first.
func postedArticle(r *http.Request) (articleForm, *contentv1.Article, map[string]string) {
	form := parseArticleForm(r.PostForm)
	if i, ok := strings.CutPrefix(r.PostFormValue("op"), "acknowledge:"); ok {
		form.Acknowledgements = append(form.Acknowledgements, ackRow{
			Index: len(form.Acknowledgements), RuleID: r.PostFormValue("finding." + i + ".rule_id"), Match: r.PostFormValue("finding." + i + ".match"),
			Reviewer: r.PostFormValue("finding." + i + ".reviewer"), Reason: r.PostFormValue("finding." + i + ".reason"),
		})
	}
	a, bad := form.toArticle()
	return form, a, bad
}

// createArticle previews or creates the article of the new-article form.
func (c *Console) createArticle(w http.ResponseWriter, r *http.Request) {
	token, sess, ok := c.signedIn(w, r)
	if !ok || !c.parseForm(w, r) {
		return
	}
	form, a, bad := postedArticle(r)
	page := &editorPage{New: true, CanWrite: viewerOf(sess).CanWrite, Roles: reviewerRoles, Zones: scheduleZones, Zone: "UTC", Form: form, FieldErrors: bad}
	ctx, cancel := c.callContext(r, token)
	defer cancel()
	if r.PostFormValue("op") == "preview" {
		c.previewInto(w, r, token, sess, page, a)
		return
	}
	if len(bad) > 0 {
		c.showEditor(w, r, token, sess, http.StatusBadRequest, page)
		return
	}
	created, err := c.articles.CreateArticle(ctx, &contentv1.CreateArticleRequest{Article: a})
	if code := status.Code(err); code == codes.InvalidArgument || code == codes.FailedPrecondition || code == codes.AlreadyExists {
		page.Errors, page.FieldErrors = articleViolations(err)
		c.showEditor(w, r, token, sess, httpStatus(err), page)
		return
	}
	if err != nil {
		c.serviceError(w, r, err)
		return
	}
	http.Redirect(w, r, Prefix+created.GetName()+"?done=created", http.StatusSeeOther)
}

// previewInto renders the posted draft with the content service's PreviewArticle into page.
func (c *Console) previewInto(w http.ResponseWriter, r *http.Request, token string, sess *accessv1.Session, page *editorPage, a *contentv1.Article) {
	ctx, cancel := c.callContext(r, token)
	defer cancel()
	preview, err := c.articles.PreviewArticle(ctx, &contentv1.PreviewArticleRequest{Article: a})
	if code := status.Code(err); code == codes.InvalidArgument {
		page.Errors, page.FieldErrors = articleViolations(err)
		c.showEditor(w, r, token, sess, http.StatusBadRequest, page)
		return
	}
	if err != nil {
		c.serviceError(w, r, err)
		return
	}
	page.Preview, page.PreviewOfUnsaved = previewOf(preview.GetRendering()), true
	page.Findings = findingsOf(preview.GetLintFindings())
	c.showEditor(w, r, token, sess, http.StatusOK, page)
}

// updateArticle previews or saves the editor's form. A save sends the etag the editor loaded
// (or, to overwrite knowingly after a conflict, the server's etag the conflict showed); when
// the article changed meanwhile, the editor gets the field-by-field differences between the
// server's version and its own, and nothing is written.
func (c *Console) updateArticle(w http.ResponseWriter, r *http.Request) {
	token, sess, ok := c.signedIn(w, r)
	if !ok || !c.parseForm(w, r) {
		return
	}
	name := "articles/" + r.PathValue("id")
	form, a, bad := postedArticle(r)
	ctx, cancel := c.callContext(r, token)
	defer cancel()
	current, err := c.articles.GetArticle(ctx, &contentv1.GetArticleRequest{Name: name})
	if err != nil {
		c.serviceError(w, r, err)
		return
	}
	loaded := r.PostFormValue("etag")
	page := editorPageOf(current, viewerOf(sess))
	page.Form, page.Etag, page.FieldErrors = form, loaded, bad
	page.Preview, page.Findings = nil, nil
	op := r.PostFormValue("op")
	if op == "preview" {
		c.previewInto(w, r, token, sess, page, a)
		return
	}
	if len(bad) > 0 {
		c.showEditor(w, r, token, sess, http.StatusBadRequest, page)
		return
	}
	etag := loaded
	if op == "overwrite" {
		etag = r.PostFormValue("overwrite_etag")
	}
	a.Name, a.Etag = name, etag
	_, err = c.articles.UpdateArticle(ctx, &contentv1.UpdateArticleRequest{Article: a, UpdateMask: &fieldmaskpb.FieldMask{Paths: editorUpdateMask}})
	switch code := status.Code(err); {
	case err == nil:
		http.Redirect(w, r, Prefix+name+"?done=saved", http.StatusSeeOther)
	case code == codes.Aborted || (code == codes.FailedPrecondition && current.GetEtag() != etag):
		c.showConflict(w, r, token, sess, page, name, a)
	case code == codes.InvalidArgument || code == codes.FailedPrecondition || code == codes.AlreadyExists:
		page.Errors, page.FieldErrors = articleViolations(err)
		c.showEditor(w, r, token, sess, httpStatus(err), page)
	default:
		c.serviceError(w, r, err)
	}
}

// showConflict answers a save refused because the article changed since the editor loaded it:
// 409 with the editor's version still in the form, the fields where the server's version
// differs, and the server's etag for an overwrite the editor chooses.
func (c *Console) showConflict(w http.ResponseWriter, r *http.Request, token string, sess *accessv1.Session, page *editorPage, name string, mine *contentv1.Article) {
	ctx, cancel := c.callContext(r, token)
	defer cancel()
	server, err := c.articles.GetArticle(ctx, &contentv1.GetArticleRequest{Name: name})
	if err != nil {
		c.serviceError(w, r, err)
		return
	}
	page.Conflict = diffArticles(server, mine)
	page.OverwriteEtag = server.GetEtag()
	page.Revision, page.Updated = server.GetRevisionId(), tsTime(server.GetUpdateTime())
	c.showEditor(w, r, token, sess, http.StatusConflict, page)
}

// articleAction runs a lifecycle action (publish, schedule, unpublish, archive, delete,
// undelete) as the signed-in user, with the etag the editor loaded. A refusal is shown on the
// editor: each unmet publish check with how to meet it, or the service's message.
func (c *Console) articleAction(w http.ResponseWriter, r *http.Request) {
	token, sess, ok := c.signedIn(w, r)
	if !ok || !c.parseForm(w, r) {
		return
	}
	name, action, etag := "articles/"+r.PathValue("id"), r.PathValue("action"), r.PostFormValue("etag")
	ctx, cancel := c.callContext(r, token)
	defer cancel()
	var err error
	zone, at := r.PostFormValue("zone"), r.PostFormValue("publish_at")
	switch action {
	case "publish":
		_, err = c.articles.PublishArticle(ctx, &contentv1.PublishArticleRequest{Name: name, Etag: etag})
	case "unpublish":
		_, err = c.articles.UnpublishArticle(ctx, &contentv1.UnpublishArticleRequest{Name: name, Etag: etag})
	case "archive":
		_, err = c.articles.ArchiveArticle(ctx, &contentv1.ArchiveArticleRequest{Name: name, Etag: etag})
	case "delete":
		if !c.confirmArticleDelete(w, r, token, sess, name) {
			return // the confirmation page (or an error) was the answer
		}
		_, err = c.articles.DeleteArticle(ctx, &contentv1.DeleteArticleRequest{Name: name, Etag: etag})
	case "undelete":
		_, err = c.articles.UndeleteArticle(ctx, &contentv1.UndeleteArticleRequest{Name: name})
	case "schedule":
		var when time.Time
		if when, err = scheduleTime(at, zone); err == nil {
			_, err = c.articles.ScheduleArticle(ctx, &contentv1.ScheduleArticleRequest{Name: name, Etag: etag, PublishTime: timestamppb.New(when)})
		}
	default:
		c.renderError(w, r, http.StatusNotFound, "There is no such article action.")
		return
	}
	if err == nil {
		http.Redirect(w, r, Prefix+name+"?done="+action, http.StatusSeeOther)
		return
	}
	code := status.Code(err)
	if code != codes.InvalidArgument && code != codes.FailedPrecondition && code != codes.Aborted && code != codes.AlreadyExists {
		c.serviceError(w, r, err)
		return
	}
	current, gerr := c.articles.GetArticle(ctx, &contentv1.GetArticleRequest{Name: name})
	if gerr != nil {
		c.serviceError(w, r, gerr)
		return
	}
	page := editorPageOf(current, viewerOf(sess))
	page.Zone, page.ScheduleAt = zone, at
	if page.Zone == "" {
		page.Zone = "UTC"
	}
	page.Unmet = unmetOf(err)
	switch {
	case code == codes.Aborted || (etag != "" && current.GetEtag() != etag):
		page.ActionError = fmt.Sprintf("Not done: the article changed since you loaded it (it is now revision %d). Review the current version below, then %s again.", current.GetRevisionId(), action)
	case len(page.Unmet) > 0:
		page.ActionError = fmt.Sprintf("The article cannot be %s yet: %d publish checks are not met.", map[string]string{"publish": "published", "schedule": "scheduled"}[action], len(page.Unmet))
	default:
		page.ActionError = "Not done: " + status.Convert(err).Message()
	}
	c.showEditor(w, r, token, sess, httpStatus(err), page)
}

// scheduleTime reads a datetime-local value in an IANA time zone.
func scheduleTime(local, zone string) (time.Time, error) {
	if zone == "" {
		zone = "UTC"
	}
	loc, err := time.LoadLocation(zone)
	if err != nil || zone == "Local" {
		return time.Time{}, status.Errorf(codes.InvalidArgument, "time zone %q is not an IANA zone name such as Europe/Berlin", zone)
	}
	t, err := time.ParseInLocation(scheduleInputLayout, strings.TrimSpace(local), loc)
	if err != nil {
		return time.Time{}, status.Errorf(codes.InvalidArgument, "publish time %q is not a date and time like 2026-12-24T09:00", local)
	}
	return t, nil
}

// unmetOf lists the publish checks a FAILED_PRECONDITION names (google.rpc.PreconditionFailure).
func unmetOf(err error) []unmetRule {
	var out []unmetRule
	for _, d := range status.Convert(err).Details() {
		if pf, ok := d.(*errdetails.PreconditionFailure); ok {
			for _, v := range pf.GetViolations() {
				out = append(out, unmetRule{Type: v.GetType(), Subject: v.GetSubject(), Description: v.GetDescription(), Hint: unmetHint(v.GetType())})
			}
		}
	}
	return out
}

// articleViolations lists a refusal's field violations (google.rpc.BadRequest), or its message, and
// maps each violation to the editor's input it is about.
func articleViolations(err error) ([]string, map[string]string) {
	var lines []string
	fields := map[string]string{}
	for _, d := range status.Convert(err).Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, v := range br.GetFieldViolations() {
				lines = append(lines, v.GetField()+": "+v.GetDescription())
				fields[inputOf(v.GetField())] = v.GetDescription()
			}
		}
	}
	if len(lines) == 0 {
		lines = []string{status.Convert(err).Message()}
	}
	return lines, fields
}

// inputOf is the editor input of an API field path: "article.authors[0].url" -> "authors.0.url".
func inputOf(field string) string {
	s := strings.TrimPrefix(field, "article.")
	s = strings.NewReplacer("[", ".", "]", "").Replace(s)
	return s
}

func httpStatus(err error) int {
	code, _ := statusOf(err)
	return code
}

// lintResponse is what the lint endpoint answers the editor's script with.
type lintResponse struct {
	Findings []findingView `json:"findings"`
	Words    int32         `json:"words"`
	Flesch   string        `json:"flesch"`
	Level    string        `json:"level"`
	Error    string        `json:"error,omitempty"`
}

// lintDraft answers the editor's script (static/editor.js) as the editor types: the lint
// findings and reading level of the posted form, from the content service's PreviewArticle as
// the signed-in user. Nothing is saved.
func (c *Console) lintDraft(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	token := sessionToken(r)
	if token == "" {
		w.WriteHeader(http.StatusUnauthorized)
		_ = json.NewEncoder(w).Encode(lintResponse{Error: "Your session has ended. Sign in again."})
		return
	}
	if err := r.ParseForm(); err != nil {
		w.WriteHeader(http.StatusBadRequest)
		_ = json.NewEncoder(w).Encode(lintResponse{Error: "The form could not be read."})
		return
	}
	_, a, _ := postedArticle(r)
	ctx, cancel := c.callContext(r, token)
	defer cancel()
	preview, err := c.articles.PreviewArticle(ctx, &contentv1.PreviewArticleRequest{Article: a})
	if err != nil {
		code, msg := statusOf(err)
		if lines, _ := articleViolations(err); status.Code(err) == codes.InvalidArgument {
			msg = strings.Join(lines, "; ")
		}
		w.WriteHeader(code)
		_ = json.NewEncoder(w).Encode(lintResponse{Error: msg})
		return
	}
	rend := preview.GetRendering()
	_ = json.NewEncoder(w).Encode(lintResponse{
		Findings: findingsOf(preview.GetLintFindings()), Words: rend.GetWordCount(),
		Flesch: strconv.FormatFloat(rend.GetFleschReadingEase(), 'f', 1, 64), Level: readingLevel(rend.GetFleschReadingEase()),
	})
}

// inputField is one labelled text input of the editor (template "text-field").
type inputField struct {
	Name, Label, Value, Help, Error string
}

// editorFuncs are the template functions of the editor's templates.
var editorFuncs = template.FuncMap{
	"fieldOf": func(e *editorPage, name, label, value, help string) inputField {
		return inputField{Name: name, Label: label, Value: value, Help: help, Error: e.FieldErrors[name]}
	},
	"rowField": func(e *editorPage, name, label, value string) inputField {
		return inputField{Name: name, Label: label, Value: value, Error: e.FieldErrors[name]}
	},
	"inc":  func(i int) int { return i + 1 },
	"has2": func(list []string, v string) bool { return slices.Contains(list, v) },
}
