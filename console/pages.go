package console

import (
	"bytes"
	"fmt"
	"html/template"
	"net/http"
	"slices"
	"strings"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	accessv1 "github.com/beaconcms/beacon/gen/beacon/access/v1"
	contentv1 "github.com/beaconcms/beacon/gen/beacon/content/v1"
	sitesv1 "github.com/beaconcms/beacon/gen/beacon/sites/v1"
)

// Page limits of Home.
const (
	draftsScanned   = 100 // newest drafts looked through for the user's own
	recentPublished = 10
	homeScheduled   = 100 // scheduled publications listed (the API's page bound)
	homeReviewDue   = 20  // articles whose review is overdue, least recently changed first
)

// pageNames are the templates under templates/, each rendered inside layout.html.
var pageNames = []string{"sign-in", "home", "articles", "error",
	"confirm", "sites", "site", "keys", "users", "user", "account", "editor", "revisions"}

func parsePages() (map[string]*template.Template, error) {
	funcs := template.FuncMap{
		"when": func(t time.Time) string {
			if t.IsZero() {
				return ""
			}
			return t.UTC().Format("2 Jan 2006, 15:04 UTC")
		},
		"iso": func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
		"has": func(list []int, v int) bool { return slices.Contains(list, v) },
		// dict passes several values to a template: dict "Key" value "Key2" value2.
		"dict": func(kv ...any) (map[string]any, error) {
			if len(kv)%2 != 0 {
				return nil, fmt.Errorf("dict: %d arguments, want key-value pairs", len(kv))
			}
			m := make(map[string]any, len(kv)/2)
			for i := 0; i < len(kv); i += 2 {
				key, ok := kv[i].(string)
				if !ok {
					return nil, fmt.Errorf("dict: key %v is not a string", kv[i])
				}
				m[key] = kv[i+1]
			}
			return m, nil
		},
	}
	for name, f := range editorFuncs {
		funcs[name] = f
	}
	pages := map[string]*template.Template{}
	for _, name := range slices.Concat(pageNames, resourcePageNames, questPageNames) {
		files := []string{"templates/layout.html", "templates/partial-*.html", "templates/" + name + ".html"}
		if slices.Contains(questPageNames, name) {
			files = append(files, questSharedTemplates)
		}
		t, err := template.New("layout.html").Funcs(funcs).Funcs(questFuncs).ParseFS(templateFiles, files...)
		if err != nil {
			return nil, fmt.Errorf("console: parse %s: %w", name, err)
		}
		pages[name] = t
	}
	return pages, nil
}

// viewer is the signed-in user as pages show it.
type viewer struct {
	DisplayName string
	Email       string
	ActingAs    string // e.g. "editor on kratom-help"
	CanWrite    bool   // the acting role may write articles (admin, editor): shows write forms
	IsAdmin     bool   // the acting role is admin: shows the admin screens' links
}

// pageData is what every page template gets.
type pageData struct {
	Title  string
	Viewer *viewer // nil when signed out
	Error  string
	// Page-specific fields.
	Email     string
	Drafts    []articleRow
	Published []articleRow
	Scheduled []articleRow // Updated is the scheduled publish time
	ReviewDue []articleRow // Updated is the time the review fell due
	Sites     []siteOption
	Articles  *articlesPage
	Notice    string // a status line (e.g. on sign-in after a password change)
	// Admin screens and the account page (sites.go, keys.go, users.go).
	Confirm   *confirmPage
	SiteAdmin *sitesPage
	SiteEdit  *siteEditPage
	Keys      *keysPage
	Users     *usersPage
	User      *userPage
	Account   *accountPage

	// Resources and Directories screens, and Home's stale resources.
	StaleResources []resourceRow
	Resources      *resourcesPage
	ResourceEdit   *resourceEditPage
	Import         *importPage
	Directories    *directoriesPage
	DirectoryEdit  *directoryEditPage
	Editor         *editorPage
	Revisions      *revisionsPage
	Quest          *questPage // the questionnaires screen's pages
}

type articleRow struct {
	Name    string
	Title   string
	Sites   string
	Updated time.Time
}

type siteOption struct {
	ID, Name string
}

// render writes page with status; a template error is logged and answered 500.
func (c *Console) render(w http.ResponseWriter, r *http.Request, status int, page string, data pageData) {
	var buf bytes.Buffer
	if err := c.pages[page].ExecuteTemplate(&buf, "layout.html", data); err != nil {
		c.logger.ErrorContext(r.Context(), "console template failed", "page", page, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

func (c *Console) renderError(w http.ResponseWriter, r *http.Request, status int, message string) {
	c.render(w, r, status, "error", pageData{Title: http.StatusText(status), Error: message})
}

// sessionToken returns the well-formed session token of the request's cookie, or "".
func sessionToken(r *http.Request) string {
	cookie, err := r.Cookie(CookieName)
	if err != nil || !strings.HasPrefix(cookie.Value, "bs_") || len(cookie.Value) > 128 {
		return ""
	}
	return cookie.Value
}

// current returns the request's session, asking the access service (which records the
// activity). ok is false when there is none or it ended: the caller redirects to sign-in.
func (c *Console) current(w http.ResponseWriter, r *http.Request) (token string, sess *accessv1.Session, ok bool) {
	token = sessionToken(r)
	if token == "" {
		return "", nil, false
	}
	ctx, cancel := c.callContext(r, token)
	defer cancel()
	sess, err := c.sessions.GetCurrentSession(ctx, &accessv1.GetCurrentSessionRequest{})
	if status.Code(err) == codes.Unauthenticated {
		c.clearCookie(w, r)
		return "", nil, false
	}
	if err != nil {
		code, msg := statusOf(err)
		c.logger.WarnContext(r.Context(), "console: reading the session failed", "err", err)
		c.renderError(w, r, code, msg)
		return "", nil, true // answered
	}
	return token, sess, true
}

func viewerOf(sess *accessv1.Session) *viewer {
	role := sess.GetActingAs().GetRole()
	return &viewer{
		DisplayName: sess.GetDisplayName(),
		Email:       strings.TrimPrefix(sess.GetUser(), "users/"),
		ActingAs:    describeBinding(sess.GetActingAs()),
		CanWrite:    role == accessv1.ApiKey_ROLE_ADMIN || role == accessv1.ApiKey_ROLE_EDITOR,
		IsAdmin:     role == accessv1.ApiKey_ROLE_ADMIN,
	}
}

func (c *Console) setCookie(w http.ResponseWriter, r *http.Request, token string, expires time.Time) {
	http.SetCookie(w, &http.Cookie{
		Name:     CookieName,
		Value:    token,
		Path:     Prefix,
		Expires:  expires,
		HttpOnly: true,
		Secure:   r.TLS != nil || c.cfg.SecureCookie,
		SameSite: http.SameSiteLaxMode,
	})
}

func (c *Console) clearCookie(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{Name: CookieName, Value: "", Path: Prefix, MaxAge: -1, HttpOnly: true,
		Secure: r.TLS != nil || c.cfg.SecureCookie, SameSite: http.SameSiteLaxMode})
}

func (c *Console) signInForm(w http.ResponseWriter, r *http.Request) {
	c.render(w, r, http.StatusOK, "sign-in", pageData{Title: "Sign in"})
}

// signIn checks the client address's limit, then asks the access service to open a session.
// Unknown emails and wrong passwords get the same page.
func (c *Console) signIn(w http.ResponseWriter, r *http.Request) {
	if !c.parseForm(w, r) {
		return
	}
	email, password := r.PostFormValue("email"), r.PostFormValue("password")
	data := pageData{Title: "Sign in", Email: email}
	if allowed, retry := c.addresses.Allow(clientAddress(r), c.now()); !allowed {
		c.logger.WarnContext(r.Context(), "sign-in refused: too many attempts from the client address")
		setRetryAfter(w, retry)
		data.Error = fmt.Sprintf("Too many sign-in attempts. Try again in %s.", waitText(retry))
		c.render(w, r, http.StatusTooManyRequests, "sign-in", data)
		return
	}
	if strings.TrimSpace(email) == "" || password == "" {
		data.Error = "Enter your email and your password."
		c.render(w, r, http.StatusBadRequest, "sign-in", data)
		return
	}
	ctx, cancel := c.callContext(r, "")
	defer cancel()
	resp, err := c.sessions.CreateSession(ctx, &accessv1.CreateSessionRequest{Email: email, Password: password})
	switch code := status.Code(err); {
	case code == codes.Unauthenticated:
		data.Error = "Wrong email or password."
		c.render(w, r, http.StatusUnauthorized, "sign-in", data)
		return
	case code == codes.ResourceExhausted:
		retry := retryDelay(err)
		setRetryAfter(w, retry)
		data.Error = fmt.Sprintf("Too many sign-in attempts for this account. Try again in %s.", waitText(retry))
		c.render(w, r, http.StatusTooManyRequests, "sign-in", data)
		return
	case err != nil:
		status, msg := statusOf(err)
		c.logger.WarnContext(r.Context(), "console: sign-in failed", "code", code.String())
		data.Error = msg
		c.render(w, r, status, "sign-in", data)
		return
	}
	c.setCookie(w, r, resp.GetToken(), resp.GetSession().GetExpireTime().AsTime())
	http.Redirect(w, r, Prefix, http.StatusSeeOther)
}

// parseForm parses the posted form; an unreadable or oversized one is answered 400.
func (c *Console) parseForm(w http.ResponseWriter, r *http.Request) bool {
	if err := r.ParseForm(); err != nil {
		c.renderError(w, r, http.StatusBadRequest, fmt.Sprintf("The form could not be read (at most %d KiB).", formLimit(r.URL.Path)>>10))
		return false
	}
	return true
}

// retryDelay is the google.rpc.RetryInfo of err, or a minute.
func retryDelay(err error) time.Duration {
	for _, d := range status.Convert(err).Details() {
		if ri, ok := d.(*errdetails.RetryInfo); ok && ri.GetRetryDelay().AsDuration() > 0 {
			return ri.GetRetryDelay().AsDuration()
		}
	}
	return time.Minute
}

func waitText(d time.Duration) string {
	if s := int((d + time.Second - 1) / time.Second); s < 120 {
		return fmt.Sprintf("%d seconds", max(s, 1))
	}
	return fmt.Sprintf("%d minutes", int((d+time.Minute-1)/time.Minute))
}

func (c *Console) signOut(w http.ResponseWriter, r *http.Request) {
	c.endSessions(w, r, false)
}

func (c *Console) signOutEverywhere(w http.ResponseWriter, r *http.Request) {
	c.endSessions(w, r, true)
}

func (c *Console) endSessions(w http.ResponseWriter, r *http.Request, everywhere bool) {
	if token := sessionToken(r); token != "" {
		ctx, cancel := c.callContext(r, token)
		defer cancel()
		var err error
		if everywhere {
			_, err = c.sessions.DeleteAllCurrentUserSessions(ctx, &accessv1.DeleteAllCurrentUserSessionsRequest{})
		} else {
			_, err = c.sessions.DeleteCurrentSession(ctx, &accessv1.DeleteCurrentSessionRequest{})
		}
		if err != nil && status.Code(err) != codes.Unauthenticated {
			code, msg := statusOf(err)
			c.renderError(w, r, code, "Signing out failed: "+msg)
			return
		}
	}
	c.clearCookie(w, r)
	http.Redirect(w, r, Prefix+"sign-in", http.StatusSeeOther)
}

// home lists the user's own drafts and what was published last, as the user may see them.
func (c *Console) home(w http.ResponseWriter, r *http.Request) {
	token, sess, ok := c.current(w, r)
	if !ok {
		http.Redirect(w, r, Prefix+"sign-in", http.StatusSeeOther)
		return
	}
	if sess == nil {
		return // answered by current
	}
	data := pageData{Title: "Home", Viewer: viewerOf(sess)}
	ctx, cancel := c.callContext(r, token)
	defer cancel()
	drafts, err := c.articles.ListArticles(ctx, &contentv1.ListArticlesRequest{
		Filter: "state = DRAFT", OrderBy: "update_time desc", PageSize: draftsScanned})
	if err != nil {
		c.serviceError(w, r, err)
		return
	}
	for _, a := range drafts.GetArticles() {
		if a.GetCreator() == sess.GetUser() {
			data.Drafts = append(data.Drafts, rowOf(a))
		}
	}
	published, err := c.articles.ListArticles(ctx, &contentv1.ListArticlesRequest{
		Filter: "state = PUBLISHED", OrderBy: "publish_time desc", PageSize: recentPublished})
	if err != nil {
		c.serviceError(w, r, err)
		return
	}
	for _, a := range published.GetArticles() {
		row := rowOf(a)
		row.Updated = a.GetPublishTime().AsTime()
		data.Published = append(data.Published, row)
	}
	scheduled, err := c.articles.ListArticles(ctx, &contentv1.ListArticlesRequest{
		Filter: "state = SCHEDULED", OrderBy: "update_time desc", PageSize: homeScheduled})
	if err != nil {
		c.serviceError(w, r, err)
		return
	}
	for _, a := range scheduled.GetArticles() {
		row := rowOf(a)
		row.Updated = a.GetScheduledPublishTime().AsTime()
		data.Scheduled = append(data.Scheduled, row)
	}
	// The soonest first; the list holds the 100 last changed scheduled articles.
	slices.SortStableFunc(data.Scheduled, func(a, b articleRow) int { return a.Updated.Compare(b.Updated) })
	due, err := c.articles.ListArticles(ctx, &contentv1.ListArticlesRequest{
		Filter: "review_due = true", OrderBy: "update_time", PageSize: homeReviewDue})
	if err != nil {
		c.serviceError(w, r, err)
		return
	}
	for _, a := range due.GetArticles() {
		row := rowOf(a)
		row.Updated = a.GetReviewDueTime().AsTime()
		data.ReviewDue = append(data.ReviewDue, row)
	}
	if data.StaleResources, err = c.staleResources(ctx); err != nil {
		c.serviceError(w, r, err)
		return
	}
	if data.Viewer.CanWrite {
		if data.Sites, err = c.writableSites(r, token, sess); err != nil {
			c.serviceError(w, r, err)
			return
		}
	}
	c.render(w, r, http.StatusOK, "home", data)
}

func rowOf(a *contentv1.Article) articleRow {
	sites := make([]string, 0, len(a.GetTargetSites()))
	for _, s := range a.GetTargetSites() {
		sites = append(sites, siteID(s))
	}
	return articleRow{Name: a.GetName(), Title: a.GetTitle(), Sites: strings.Join(sites, ", "), Updated: a.GetUpdateTime().AsTime()}
}

// writableSites are the sites a new draft may target: the acting role's site, or every site
// the user can see when it acts for all sites.
func (c *Console) writableSites(r *http.Request, token string, sess *accessv1.Session) ([]siteOption, error) {
	if site := sess.GetActingAs().GetSite(); site != "" {
		return []siteOption{{ID: siteID(site), Name: siteID(site)}}, nil
	}
	ctx, cancel := c.callContext(r, token)
	defer cancel()
	var out []siteOption
	req := &sitesv1.ListSitesRequest{PageSize: 100}
	for range 10 { // at most 1,000 sites in the list
		resp, err := c.sites.ListSites(ctx, req)
		if err != nil {
			return nil, err
		}
		for _, s := range resp.GetSites() {
			out = append(out, siteOption{ID: siteID(s.GetName()), Name: s.GetDisplayName()})
		}
		if resp.GetNextPageToken() == "" {
			break
		}
		req.PageToken = resp.GetNextPageToken()
	}
	slices.SortFunc(out, func(a, b siteOption) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

// createDraft creates an article as the signed-in user. The console does not check the role:
// the content service's policy does, as for any caller.
func (c *Console) createDraft(w http.ResponseWriter, r *http.Request) {
	token := sessionToken(r)
	if token == "" {
		http.Redirect(w, r, Prefix+"sign-in", http.StatusSeeOther)
		return
	}
	if !c.parseForm(w, r) {
		return
	}
	title, site := strings.TrimSpace(r.PostFormValue("title")), r.PostFormValue("site")
	ctx, cancel := c.callContext(r, token)
	defer cancel()
	a, err := c.articles.CreateArticle(ctx, &contentv1.CreateArticleRequest{Article: &contentv1.Article{
		Title: title, TargetSites: []string{"sites/" + site}}})
	if err != nil {
		c.serviceError(w, r, err)
		return
	}
	// Straight into the new draft's editor, which says it was created.
	http.Redirect(w, r, Prefix+a.GetName()+"?done=created", http.StatusSeeOther)
}

// serviceError answers a failed service call: an ended session goes to sign-in, anything else
// is an error page with the service's message.
func (c *Console) serviceError(w http.ResponseWriter, r *http.Request, err error) {
	if status.Code(err) == codes.Unauthenticated {
		c.clearCookie(w, r)
		http.Redirect(w, r, Prefix+"sign-in", http.StatusSeeOther)
		return
	}
	code, msg := statusOf(err)
	if code >= 500 {
		c.logger.ErrorContext(r.Context(), "console: service call failed", "path", r.URL.Path, "err", err)
	}
	var details []string
	for _, d := range status.Convert(err).Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, v := range br.GetFieldViolations() {
				details = append(details, v.GetField()+": "+v.GetDescription())
			}
		}
	}
	if len(details) > 0 {
		msg = strings.Join(details, "; ")
	}
	c.renderError(w, r, code, msg)
}
