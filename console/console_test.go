package console

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	contentv1 "github.com/beaconcms/beacon/gen/beacon/content/v1"
)

func TestPagesEscapeAndLabel(t *testing.T) {
	pages, err := parsePages()
	if err != nil {
		t.Fatal(err)
	}
	c := &Console{pages: pages}
	hostile := `<script>alert(1)</script>`
	tests := []struct {
		page string
		data pageData
		want []string
	}{
		{"sign-in", pageData{Title: "Sign in", Email: `x" onfocus="alert(1)`, Error: hostile},
			[]string{`<label for="email">`, `<label for="password">`, `aria-describedby="sign-in-error"`, `value="x&#34; onfocus=&#34;alert(1)"`}},
		{"home", pageData{Title: "Home", Viewer: &viewer{DisplayName: hostile, CanWrite: true},
			Drafts: []articleRow{{Title: hostile, Updated: time.Date(2026, 12, 1, 9, 30, 0, 0, time.UTC)}},
			Sites:  []siteOption{{ID: "kratom-help", Name: hostile}}},
			[]string{`<label for="title">`, `<label for="site">`, `datetime="2026-12-01T09:30:00Z"`, `1 Dec 2026, 09:30 UTC`, `action="/console/drafts"`}},
		{"home", pageData{Title: "Home", Viewer: &viewer{DisplayName: "Vera", CanWrite: false}},
			[]string{"You have no drafts.", "Nothing you can see has been published yet.", "Nothing you can see is scheduled.", "No article you can see is overdue for review."}},
		{"home", pageData{Title: "Home", Viewer: &viewer{DisplayName: "Vera"},
			Scheduled: []articleRow{{Title: hostile, Updated: time.Date(2026, 12, 24, 6, 0, 0, 0, time.UTC)}},
			ReviewDue: []articleRow{{Title: hostile, Updated: time.Date(2025, 11, 30, 0, 0, 0, 0, time.UTC)}}},
			[]string{"Publishes (UTC)", `datetime="2026-12-24T06:00:00Z"`, "24 Dec 2026, 06:00 UTC", "Review due since (UTC)", "30 Nov 2025, 00:00 UTC"}},
		{"error", pageData{Title: "Forbidden", Error: hostile}, []string{`role="alert"`}},
	}
	for _, tt := range tests {
		t.Run(tt.page, func(t *testing.T) {
			w := httptest.NewRecorder()
			c.render(w, httptest.NewRequest("GET", "/console/", nil), http.StatusOK, tt.page, tt.data)
			body := w.Body.String()
			if strings.Contains(body, "<script") {
				t.Errorf("%s renders unescaped markup:\n%s", tt.page, body)
			}
			if !strings.Contains(body, `<html lang="en">`) || !strings.Contains(body, `<main id="main">`) {
				t.Errorf("%s lacks the page language or the main landmark", tt.page)
			}
			for _, s := range tt.want {
				if !strings.Contains(body, s) {
					t.Errorf("%s lacks %q:\n%s", tt.page, s, body)
				}
			}
			if tt.data.Viewer != nil && !tt.data.Viewer.CanWrite && strings.Contains(body, `action="/console/drafts"`) {
				t.Errorf("a reader is shown the new-draft form")
			}
		})
	}
}

func TestStatusOf(t *testing.T) {
	tests := []struct {
		code codes.Code
		want int
	}{
		{codes.InvalidArgument, 400}, {codes.FailedPrecondition, 400}, {codes.Unauthenticated, 401},
		{codes.PermissionDenied, 403}, {codes.NotFound, 404}, {codes.Aborted, 409}, {codes.AlreadyExists, 409},
		{codes.ResourceExhausted, 429}, {codes.Unavailable, 503}, {codes.Internal, 500},
	}
	for _, tt := range tests {
		if got, _ := statusOf(status.Error(tt.code, "m")); got != tt.want {
			t.Errorf("statusOf(%v) = %d, want %d", tt.code, got, tt.want)
		}
	}
}

func TestOwns(t *testing.T) {
	for path, want := range map[string]bool{
		"/console": true, "/console/": true, "/console/sign-in": true,
		"/consoles": false, "/v1/console": false, "/": false, "/v1/sites/x/articles": false,
	} {
		if got := Owns(path); got != want {
			t.Errorf("Owns(%q) = %v, want %v", path, got, want)
		}
	}
}

// draftArticles creates drafts (named articles/new1) or refuses them with err.
type draftArticles struct {
	contentv1.ArticleServiceClient
	err     error
	created []*contentv1.Article
}

func (f *draftArticles) CreateArticle(_ context.Context, req *contentv1.CreateArticleRequest, _ ...grpc.CallOption) (*contentv1.Article, error) {
	if f.err != nil {
		return nil, f.err
	}
	f.created = append(f.created, req.GetArticle())
	return &contentv1.Article{Name: "articles/new1", Title: req.GetArticle().GetTitle()}, nil
}

// TestNewDraftOpensItsEditor: Home's New draft creates the draft and opens its editor (which
// says it was created); a refusal is shown, naming the field.
func TestNewDraftOpensItsEditor(t *testing.T) {
	tests := []struct {
		name     string
		err      error
		status   int
		location string
		body     string
	}{
		{name: "created", status: http.StatusSeeOther, location: "/console/articles/new1?done=created"},
		{name: "refused", err: status.Error(codes.InvalidArgument, "article.title: is required"), status: http.StatusBadRequest, body: "article.title: is required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			articles := &draftArticles{err: tt.err}
			c, err := newTestConsole(fakeSessions{}, articles)
			if err != nil {
				t.Fatal(err)
			}
			form := url.Values{"title": {"  Sleep and kratom  "}, "site": {"s1"}}
			r := httptest.NewRequest("POST", "/console/drafts", strings.NewReader(form.Encode()))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			r.AddCookie(&http.Cookie{Name: CookieName, Value: "bs_token"})
			w := httptest.NewRecorder()
			c.ServeHTTP(w, r)
			if w.Code != tt.status || w.Header().Get("Location") != tt.location || !strings.Contains(w.Body.String(), tt.body) {
				t.Fatalf("status %d to %q, want %d to %q with %q:\n%s", w.Code, w.Header().Get("Location"), tt.status, tt.location, tt.body, w.Body)
			}
			if tt.err == nil && (len(articles.created) != 1 || articles.created[0].GetTitle() != "Sleep and kratom" ||
				!slices.Equal(articles.created[0].GetTargetSites(), []string{"sites/s1"})) {
				t.Errorf("created %v", articles.created)
			}
		})
	}
}
