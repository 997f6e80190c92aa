package console

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/net/html"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/genproto/googleapis/type/date"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"

	accessv1 "github.com/beaconcms/beacon/gen/beacon/access/v1"
	contentv1 "github.com/beaconcms/beacon/gen/beacon/content/v1"
	sitesv1 "github.com/beaconcms/beacon/gen/beacon/sites/v1"
)

// fullArticle has every writable field set, with markup where text goes.
func fullArticle() *contentv1.Article {
	return &contentv1.Article{
		Name: "articles/a1", Etag: "e1", State: contentv1.Article_STATE_PUBLISHED, RevisionId: 4, PublishedRevisionId: 3,
		Title: `Kratom & <sleep>`, Slug: "kratom-sleep", Summary: "Line one.\nLine two.", Body: "## Sleep\n\nText \"quoted\".\n",
		Tags: []string{"sleep", "kratom"}, Topics: []string{"withdrawal"}, TargetSites: []string{"sites/kratom-help", "sites/other"},
		EditorNotes: "check <this>", LastReviewedDate: &date.Date{Year: 2026, Month: 3, Day: 9},
		Authors: []*contentv1.Person{{DisplayName: "Ann", Credentials: "RN", Url: "https://example.org/ann", Fictional: true}, {DisplayName: "Bo"}},
		Reviewers: []*contentv1.Reviewer{
			{DisplayName: "Dr. Rev", Credentials: "MD", Role: contentv1.Reviewer_ROLE_CLINICAL, ReviewDate: &date.Date{Year: 2026, Month: 1, Day: 2}},
			{DisplayName: "Lee", Role: contentv1.Reviewer_ROLE_LIVED_EXPERIENCE, Fictional: true}},
		Citations:        []*contentv1.Citation{{Title: "A study", Url: "https://example.gov/s", Doi: "10.1000/x", Pmid: "123", AccessedDate: &date.Date{Year: 2025, Month: 12, Day: 31}}},
		Seo:              &contentv1.Seo{MetaTitle: "Meta", MetaDescription: "Desc", CanonicalUrl: "https://example.org/c", SocialImageUrl: "https://example.org/i.png"},
		Acknowledgements: []*contentv1.LintAcknowledgement{{RuleId: "number-needs-citation", Match: "a week", Reviewer: "Dr. Rev", Reason: "common knowledge"}},
		Rendering:        &contentv1.Rendering{Html: `<h2 id="sleep">Sleep</h2>`, TableOfContents: []*contentv1.TocEntry{{Level: 2, Text: "Sleep & <rest>", Anchor: "sleep"}}, WordCount: 3, FleschReadingEase: 65.2},
		LintFindings: []*contentv1.LintFinding{{RuleId: "number-needs-citation", Severity: contentv1.LintFinding_SEVERITY_WARNING, Field: "body", Line: 3, Column: 1,
			Match: "a week", Message: "needs a citation", Suggestion: "cite it"}},
	}
}

// formValues renders the editor for a and returns what the browser would post: every named
// input, textarea and selected option of the article form (checked boxes only).
func formValues(t *testing.T, a *contentv1.Article) url.Values {
	t.Helper()
	pages, err := parsePages()
	if err != nil {
		t.Fatal(err)
	}
	c := &Console{pages: pages}
	page := editorPageOf(a, &viewer{CanWrite: true})
	page.Sites = []siteOption{{ID: "kratom-help", Name: "Kratom Help"}, {ID: "other", Name: "Other"}, {ID: "third", Name: "Third"}}
	page.Form = page.Form.withBlankRows()
	page.ReviewerNames = page.Form.reviewerNames()
	w := httptest.NewRecorder()
	c.render(w, httptest.NewRequest("GET", "/console/articles/a1", nil), 200, "editor", pageData{Title: "Edit", Viewer: &viewer{CanWrite: true}, Editor: page})
	doc, err := html.Parse(w.Body)
	if err != nil {
		t.Fatal(err)
	}
	out := url.Values{}
	var inForm bool
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		attr := func(k string) (string, bool) {
			for _, a := range n.Attr {
				if a.Key == k {
					return a.Val, true
				}
			}
			return "", false
		}
		if n.Type == html.ElementNode {
			if id, _ := attr("id"); n.Data == "form" && id == "article-form" {
				inForm = true
				defer func() { inForm = false }()
			}
			name, named := attr("name")
			switch {
			case !inForm || !named:
			case n.Data == "input":
				typ, _ := attr("type")
				_, checked := attr("checked")
				v, _ := attr("value")
				if (typ != "checkbox" && typ != "radio") || checked {
					out.Add(name, v)
				}
			case n.Data == "textarea":
				var b strings.Builder
				for c := n.FirstChild; c != nil; c = c.NextSibling {
					b.WriteString(c.Data)
				}
				out.Add(name, strings.ReplaceAll(strings.TrimPrefix(b.String(), "\n"), "\n", "\r\n")) // as a browser posts it
			case n.Data == "select": // the selected option, else the first (as a browser does)
				var chosen string
				first := true
				for o := n.FirstChild; o != nil; o = o.NextSibling {
					if o.Type != html.ElementNode || o.Data != "option" {
						continue
					}
					v, selected := o.FirstChild.Data, false
					for _, a := range o.Attr {
						switch a.Key {
						case "value":
							v = a.Val
						case "selected":
							selected = true
						}
					}
					if first || selected {
						chosen, first = v, false
					}
				}
				out.Add(name, chosen)
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	return out
}

// TestEditorFormRoundTrip: the editor's form, posted unchanged, describes the article it was
// loaded with: every writable field survives the HTML form (escaping, CRLF, blank rows, dates).
func TestEditorFormRoundTrip(t *testing.T) {
	a := fullArticle()
	v := formValues(t, a)
	if v.Get("etag") != "e1" {
		t.Errorf("etag %q", v.Get("etag"))
	}
	got, bad := parseArticleForm(v).toArticle()
	if len(bad) > 0 {
		t.Fatalf("the form's own values are refused: %v", bad)
	}
	want := proto.Clone(a).(*contentv1.Article)
	want.Name, want.Etag, want.State, want.RevisionId, want.PublishedRevisionId, want.Rendering, want.LintFindings = "", "", 0, 0, 0, nil, nil
	if diff := cmp.Diff(want, got, protocmp.Transform()); diff != "" {
		t.Errorf("round trip (-loaded +posted):\n%s", diff)
	}
	if diff := diffArticles(a, got); len(diff) != 0 {
		t.Errorf("diffArticles of the round trip: %+v", diff)
	}
}

func TestParseArticleForm(t *testing.T) {
	tests := []struct {
		name string
		form url.Values
		want *contentv1.Article
		bad  []string
	}{
		{"blank rows and removed acknowledgements are left out",
			url.Values{"title": {"T"}, "target_sites": {"a", "a", " "}, "tags": {" x , ,y "},
				"authors.0.display_name": {""}, "authors.1.display_name": {"Ann"}, "reviewers.0.role": {"ROLE_CLINICAL"},
				"acks.0.rule_id": {"r1"}, "acks.0.remove": {"1"}, "acks.1.rule_id": {"r2"}, "acks.1.reviewer": {"Dr"}, "acks.1.reason": {"why"}},
			&contentv1.Article{Title: "T", TargetSites: []string{"sites/a"}, Tags: []string{"x", "y"},
				Authors: []*contentv1.Person{{DisplayName: "Ann"}}, Acknowledgements: []*contentv1.LintAcknowledgement{{RuleId: "r2", Reviewer: "Dr", Reason: "why"}}},
			nil},
		{"dates the form cannot read are named by input",
			url.Values{"last_reviewed_date": {"yesterday"}, "reviewers.0.display_name": {"R"}, "reviewers.0.review_date": {"2026-02-30"}, "citations.0.title": {"C"}, "citations.0.accessed_date": {"2026-01-01"}},
			nil, []string{"last_reviewed_date", "reviewers.0.review_date"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, bad := parseArticleForm(tt.form).toArticle()
			if got := slices.Sorted(maps.Keys(bad)); !slices.Equal(got, tt.bad) {
				t.Errorf("refused inputs %q, want %q", got, tt.bad)
			}
			if tt.want != nil {
				if diff := cmp.Diff(tt.want, got, protocmp.Transform()); diff != "" {
					t.Errorf("article (-want +got):\n%s", diff)
				}
			}
		})
	}
}

func TestLineDiff(t *testing.T) {
	got := lineDiff("a\nb\nc\nd", "a\nB\nc\nd\ne")
	want := []diffLine{{"equal", 1, 1, "a"}, {"delete", 2, 0, "b"}, {"insert", 0, 2, "B"}, {"equal", 3, 3, "c"}, {"equal", 4, 4, "d"}, {"insert", 0, 5, "e"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	changes := diffArticles(&contentv1.Article{Title: "a", Body: "x\ny"}, &contentv1.Article{Title: "b", Body: "x\ny", Tags: []string{"t"}})
	if len(changes) != 2 || changes[0].Path != "title" || changes[1].Path != "tags" || changes[0].Lines != nil {
		t.Errorf("diffArticles: %+v", changes)
	}
}

// roleSessions answers GetCurrentSession with a session acting in role.
type roleSessions struct {
	accessv1.SessionServiceClient
	role accessv1.ApiKey_Role
}

func (s roleSessions) GetCurrentSession(context.Context, *accessv1.GetCurrentSessionRequest, ...grpc.CallOption) (*accessv1.Session, error) {
	return &accessv1.Session{User: "users/ed@example.org", DisplayName: "Ed", ActingAs: &accessv1.RoleBinding{Role: s.role}}, nil
}

type oneSite struct{ sitesv1.SiteServiceClient }

func (oneSite) ListSites(context.Context, *sitesv1.ListSitesRequest, ...grpc.CallOption) (*sitesv1.ListSitesResponse, error) {
	return &sitesv1.ListSitesResponse{Sites: []*sitesv1.Site{{Name: "sites/kratom-help", DisplayName: "Kratom Help"}}}, nil
}

// editorArticles is the content service as the editor tests need it: the server holds
// article a1 at etag "e2"; writes answer err when set, and are recorded.
type editorArticles struct {
	contentv1.ArticleServiceClient
	err      error
	updates  []*contentv1.UpdateArticleRequest
	schedule []*contentv1.ScheduleArticleRequest
	publish  []*contentv1.PublishArticleRequest
}

func (f *editorArticles) server() *contentv1.Article {
	a := fullArticle()
	a.Etag, a.Title, a.RevisionId = "e2", "Changed on the server", 5
	return a
}

func (f *editorArticles) GetArticle(context.Context, *contentv1.GetArticleRequest, ...grpc.CallOption) (*contentv1.Article, error) {
	return f.server(), nil
}

func (f *editorArticles) UpdateArticle(_ context.Context, req *contentv1.UpdateArticleRequest, _ ...grpc.CallOption) (*contentv1.Article, error) {
	f.updates = append(f.updates, req)
	if f.err != nil {
		return nil, f.err
	}
	if req.GetArticle().GetEtag() != "e2" {
		return nil, status.Error(codes.Aborted, "the article changed")
	}
	return req.GetArticle(), nil
}

func (f *editorArticles) PublishArticle(_ context.Context, req *contentv1.PublishArticleRequest, _ ...grpc.CallOption) (*contentv1.Article, error) {
	f.publish = append(f.publish, req)
	return nil, f.err
}

func (f *editorArticles) ScheduleArticle(_ context.Context, req *contentv1.ScheduleArticleRequest, _ ...grpc.CallOption) (*contentv1.Article, error) {
	f.schedule = append(f.schedule, req)
	return &contentv1.Article{}, f.err
}

func (f *editorArticles) PreviewArticle(_ context.Context, req *contentv1.PreviewArticleRequest, _ ...grpc.CallOption) (*contentv1.PreviewArticleResponse, error) {
	if f.err != nil {
		return nil, f.err
	}
	return &contentv1.PreviewArticleResponse{
		Rendering:    &contentv1.Rendering{Html: "<p>" + html.EscapeString(req.GetArticle().GetBody()) + "</p>", WordCount: 2, FleschReadingEase: 72.25},
		LintFindings: []*contentv1.LintFinding{{RuleId: "stigmatising-term", Severity: contentv1.LintFinding_SEVERITY_ERROR, Field: "body", Line: 1, Column: 1, Match: "Junkies", Suggestion: "people who use drugs"}},
	}, nil
}

func blocked() error {
	st, _ := status.New(codes.FailedPrecondition, "articles/a1 cannot be published").WithDetails(&errdetails.PreconditionFailure{
		Violations: []*errdetails.PreconditionFailure_Violation{
			{Type: "QUALITY_CITATION", Subject: "article.citations", Description: "needs a quality citation"},
			{Type: "LINT_NUMBER_NEEDS_CITATION", Subject: "article.body", Description: "not acknowledged by a reviewer: ..."}}})
	return st.Err()
}

// TestEditorHandlers posts the editor's forms as a browser would and checks what the console
// sends the content service and what it shows.
func TestEditorHandlers(t *testing.T) {
	loaded := formValues(t, fullArticle()) // as loaded at etag e1
	with := func(v url.Values, kv ...string) url.Values {
		out := url.Values{}
		for k, vs := range v {
			out[k] = append([]string(nil), vs...)
		}
		for i := 0; i+1 < len(kv); i += 2 {
			out.Set(kv[i], kv[i+1])
		}
		return out
	}
	tests := []struct {
		name       string
		role       accessv1.ApiKey_Role
		path       string
		form       url.Values
		serviceErr error
		wantStatus int
		wantBody   []string
		notBody    []string
		check      func(t *testing.T, f *editorArticles, w *httptest.ResponseRecorder)
	}{
		{"save with a stale etag shows the conflict", accessv1.ApiKey_ROLE_EDITOR, "/console/articles/a1",
			with(loaded, "op", "save", "summary", "Mine"), nil, http.StatusConflict,
			[]string{`id="conflict"`, `data-field="title"`, "Changed on the server", "Kratom &amp; &lt;sleep&gt;", `data-field="summary"`,
				`name="overwrite_etag" value="e2"`, `name="etag" value="e1"`, `value="overwrite"`, `id="reload"`},
			[]string{`data-field="body"`},
			func(t *testing.T, f *editorArticles, _ *httptest.ResponseRecorder) {
				if len(f.updates) != 1 || f.updates[0].GetArticle().GetEtag() != "e1" {
					t.Errorf("updates %v, want one with the loaded etag", f.updates)
				}
				if got := f.updates[0].GetUpdateMask().GetPaths(); !cmp.Equal(got, editorUpdateMask) {
					t.Errorf("update mask %v", got)
				}
			}},
		{"overwrite sends the server's etag", accessv1.ApiKey_ROLE_EDITOR, "/console/articles/a1",
			with(loaded, "op", "overwrite", "overwrite_etag", "e2", "summary", "Mine"), nil, http.StatusSeeOther, nil, nil,
			func(t *testing.T, f *editorArticles, w *httptest.ResponseRecorder) {
				if len(f.updates) != 1 || f.updates[0].GetArticle().GetEtag() != "e2" || f.updates[0].GetArticle().GetSummary() != "Mine" {
					t.Errorf("updates %v", f.updates)
				}
				if loc := w.Header().Get("Location"); loc != "/console/articles/a1?done=saved" {
					t.Errorf("redirect to %q", loc)
				}
			}},
		{"acknowledge adds the reviewer's acknowledgement and saves", accessv1.ApiKey_ROLE_EDITOR, "/console/articles/a1",
			with(loaded, "etag", "e2", "op", "acknowledge:0", "finding.0.reason", "fine as is"), nil, http.StatusSeeOther, nil, nil,
			func(t *testing.T, f *editorArticles, _ *httptest.ResponseRecorder) {
				acks := f.updates[0].GetArticle().GetAcknowledgements()
				want := &contentv1.LintAcknowledgement{RuleId: "number-needs-citation", Match: "a week", Reviewer: "Dr. Rev", Reason: "fine as is"}
				if len(acks) != 2 || !proto.Equal(acks[1], want) {
					t.Errorf("acknowledgements sent: %v", acks)
				}
			}},
		{"a date the form cannot read is shown, nothing sent", accessv1.ApiKey_ROLE_EDITOR, "/console/articles/a1",
			with(loaded, "etag", "e2", "op", "save", "last_reviewed_date", "soon"), nil, http.StatusBadRequest,
			[]string{`id="last_reviewed_date-error"`, "not a date"}, nil,
			func(t *testing.T, f *editorArticles, _ *httptest.ResponseRecorder) {
				if len(f.updates) != 0 {
					t.Errorf("sent %v", f.updates)
				}
			}},
		{"preview renders the posted draft, unsaved", accessv1.ApiKey_ROLE_EDITOR, "/console/articles/a1",
			with(loaded, "op", "preview", "body", "Junkies <b>"), nil, http.StatusOK,
			[]string{"Preview of your unsaved changes", "<p>Junkies &lt;b&gt;</p>", "Reading ease 72.2 (fairly easy", "Suggested rewrite: people who use drugs", "In your preview (not saved)"},
			nil,
			func(t *testing.T, f *editorArticles, _ *httptest.ResponseRecorder) {
				if len(f.updates) != 0 {
					t.Errorf("a preview saved: %v", f.updates)
				}
			}},
		{"a blocked publish explains each unmet check", accessv1.ApiKey_ROLE_EDITOR, "/console/articles/a1/publish",
			url.Values{"etag": {"e2"}}, blocked(), http.StatusBadRequest,
			[]string{`id="unmet"`, "QUALITY_CITATION", "Add a citation with a DOI", "LINT_NUMBER_NEEDS_CITATION", "have a reviewer acknowledge", "2 publish checks are not met"}, nil, nil},
		{"a viewer's forged publish gets the service's 403", accessv1.ApiKey_ROLE_VIEWER, "/console/articles/a1/publish",
			url.Values{"etag": {"e2"}}, status.Error(codes.PermissionDenied, "role viewer may not call PublishArticle"), http.StatusForbidden,
			[]string{"Your role does not allow this", "may not call PublishArticle"}, nil, nil},
		{"a publish with a stale etag says so", accessv1.ApiKey_ROLE_EDITOR, "/console/articles/a1/publish",
			url.Values{"etag": {"e1"}}, status.Error(codes.Aborted, "etag"), http.StatusConflict,
			[]string{"changed since you loaded it", "revision 5"}, nil, nil},
		{"schedule reads local time in the chosen zone", accessv1.ApiKey_ROLE_EDITOR, "/console/articles/a1/schedule",
			url.Values{"etag": {"e2"}, "publish_at": {"2026-12-24T09:00"}, "zone": {"America/New_York"}}, nil, http.StatusSeeOther, nil, nil,
			func(t *testing.T, f *editorArticles, _ *httptest.ResponseRecorder) {
				if got := f.schedule[0].GetPublishTime().AsTime(); !got.Equal(time.Date(2026, 12, 24, 14, 0, 0, 0, time.UTC)) || f.schedule[0].GetEtag() != "e2" {
					t.Errorf("scheduled %v with etag %q", got, f.schedule[0].GetEtag())
				}
			}},
		{"an unknown zone is refused before the service", accessv1.ApiKey_ROLE_EDITOR, "/console/articles/a1/schedule",
			url.Values{"etag": {"e2"}, "publish_at": {"2026-12-24T09:00"}, "zone": {"Mars/Olympus"}}, nil, http.StatusBadRequest,
			[]string{"Mars/Olympus", "not an IANA zone"}, nil,
			func(t *testing.T, f *editorArticles, _ *httptest.ResponseRecorder) {
				if len(f.schedule) != 0 {
					t.Errorf("scheduled anyway")
				}
			}},
		{"unknown action", accessv1.ApiKey_ROLE_EDITOR, "/console/articles/a1/explode", url.Values{}, nil, http.StatusNotFound, nil, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &editorArticles{err: tt.serviceErr}
			c, err := newTestConsole(roleSessions{role: tt.role}, f)
			if err != nil {
				t.Fatal(err)
			}
			r := httptest.NewRequest("POST", tt.path, strings.NewReader(tt.form.Encode()))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			r.AddCookie(&http.Cookie{Name: CookieName, Value: "bs_token"})
			w := httptest.NewRecorder()
			c.ServeHTTP(w, r)
			if w.Code != tt.wantStatus {
				t.Fatalf("status %d, want %d:\n%s", w.Code, tt.wantStatus, w.Body)
			}
			for _, s := range tt.wantBody {
				if !strings.Contains(w.Body.String(), s) {
					t.Errorf("lacks %q:\n%s", s, w.Body)
				}
			}
			for _, s := range tt.notBody {
				if strings.Contains(w.Body.String(), s) {
					t.Errorf("has %q", s)
				}
			}
			if tt.check != nil {
				tt.check(t, f, w)
			}
		})
	}
}

// newTestConsole is a console over fake clients, routed as New routes.
func newTestConsole(sessions accessv1.SessionServiceClient, articles contentv1.ArticleServiceClient) (*Console, error) {
	c, err := New(Config{CallTimeout: time.Second}, Upstreams{Access: &grpc.ClientConn{}, Content: &grpc.ClientConn{}, Sites: &grpc.ClientConn{}, Resources: &grpc.ClientConn{}}, slog.New(slog.DiscardHandler))
	if err != nil {
		return nil, err
	}
	c.sessions, c.articles, c.sites = sessions, articles, oneSite{}
	return c, nil
}

// TestEditorPageByRole: a viewer gets the article in a disabled form without any write
// control; an editor gets the actions the state allows; markup in the article is escaped.
func TestEditorPageByRole(t *testing.T) {
	for _, tt := range []struct {
		role    accessv1.ApiKey_Role
		want    []string
		notWant []string
	}{
		{accessv1.ApiKey_ROLE_VIEWER, []string{`<fieldset class="plain" disabled>`, "check &lt;this&gt;", `id="revisions-link"`, "Sleep &amp; &lt;rest&gt;"},
			[]string{`id="save-button"`, `id="preview-button"`, `id="publish"`, `id="unpublish"`, `id="delete"`, `id="schedule"`, "acknowledge:"}},
		{accessv1.ApiKey_ROLE_EDITOR, []string{`id="save-button"`, `id="preview-button"`, `id="publish"`, `id="unpublish"`, `id="archive"`, `id="delete"`, `id="schedule"`,
			`value="acknowledge:0"`, `<script src="/console/static/editor.js" defer></script>`},
			[]string{`disabled>`, `id="undelete"`}},
	} {
		t.Run(tt.role.String(), func(t *testing.T) {
			c, err := newTestConsole(roleSessions{role: tt.role}, &editorArticles{})
			if err != nil {
				t.Fatal(err)
			}
			r := httptest.NewRequest("GET", "/console/articles/a1", nil)
			r.AddCookie(&http.Cookie{Name: CookieName, Value: "bs_token"})
			w := httptest.NewRecorder()
			c.ServeHTTP(w, r)
			body := w.Body.String()
			if w.Code != 200 || strings.Contains(body, "<this>") || strings.Contains(body, "<rest>") {
				t.Fatalf("status %d or unescaped markup:\n%s", w.Code, body)
			}
			for _, s := range tt.want {
				if !strings.Contains(body, s) {
					t.Errorf("lacks %q", s)
				}
			}
			for _, s := range tt.notWant {
				if strings.Contains(body, s) {
					t.Errorf("has %q", s)
				}
			}
			if csp := w.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self';") || strings.Contains(csp, "unsafe") {
				t.Errorf("CSP %q", csp)
			}
		})
	}
}

// TestLintEndpoint: the script's endpoint answers the posted draft's findings as JSON, and the
// service's refusal as an error with its status.
func TestLintEndpoint(t *testing.T) {
	for _, tt := range []struct {
		name       string
		cookie     bool
		err        error
		wantStatus int
		check      func(t *testing.T, got lintResponse)
	}{
		{"findings", true, nil, 200, func(t *testing.T, got lintResponse) {
			if len(got.Findings) != 1 || got.Findings[0].Suggestion != "people who use drugs" || got.Level != "fairly easy" || got.Words != 2 {
				t.Errorf("%+v", got)
			}
		}},
		{"refused", true, status.Error(codes.PermissionDenied, "viewer"), 403, func(t *testing.T, got lintResponse) {
			if !strings.Contains(got.Error, "Your role does not allow this") {
				t.Errorf("%+v", got)
			}
		}},
		{"signed out", false, nil, 401, func(t *testing.T, got lintResponse) {
			if got.Error == "" {
				t.Errorf("%+v", got)
			}
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, err := newTestConsole(roleSessions{role: accessv1.ApiKey_ROLE_EDITOR}, &editorArticles{err: tt.err})
			if err != nil {
				t.Fatal(err)
			}
			r := httptest.NewRequest("POST", "/console/lint", strings.NewReader(url.Values{"body": {"Junkies"}}.Encode()))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			r.Header.Set("Sec-Fetch-Site", "same-origin")
			if tt.cookie {
				r.AddCookie(&http.Cookie{Name: CookieName, Value: "bs_token"})
			}
			w := httptest.NewRecorder()
			c.ServeHTTP(w, r)
			var got lintResponse
			if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil || w.Code != tt.wantStatus {
				t.Fatalf("status %d (want %d), body %s: %v", w.Code, tt.wantStatus, w.Body, err)
			}
			tt.check(t, got)
		})
	}
}

// TestOversizedFormsNameTheirLimit: a form over its path's limit is refused with 400, and the
// message names that path's limit (the editors take larger forms than the rest).
func TestOversizedFormsNameTheirLimit(t *testing.T) {
	for _, tt := range []struct {
		path string
		want string
	}{
		{"/console/articles/a1", fmt.Sprintf("at most %d KiB", maxArticleFormBytes>>10)},
		{"/console/keys", fmt.Sprintf("at most %d KiB", maxFormBytes>>10)},
	} {
		t.Run(tt.path, func(t *testing.T) {
			c, err := newTestConsole(roleSessions{role: accessv1.ApiKey_ROLE_ADMIN}, &editorArticles{})
			if err != nil {
				t.Fatal(err)
			}
			body := "title=" + strings.Repeat("a", int(formLimit(tt.path)))
			r := httptest.NewRequest("POST", tt.path, strings.NewReader(body))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			r.AddCookie(&http.Cookie{Name: CookieName, Value: "bs_token"})
			w := httptest.NewRecorder()
			c.ServeHTTP(w, r)
			if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), tt.want) {
				t.Errorf("status %d, body %.300q; want 400 naming %q", w.Code, w.Body.String(), tt.want)
			}
		})
	}
}
