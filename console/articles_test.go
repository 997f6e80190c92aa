package console

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	accessv1 "github.com/beaconcms/beacon/gen/beacon/access/v1"
	contentv1 "github.com/beaconcms/beacon/gen/beacon/content/v1"
)

func TestArticleQueryFilter(t *testing.T) {
	tests := []struct {
		query      string
		filter     string
		orderBy    string
		nextOfPage string // link to page 2 with token "tok"
	}{
		{"size=2", "", "update_time desc", "/console/articles?dir=desc&page=2&page_token=tok&size=2&sort=update_time"},
		{"state=DRAFT&sort=title&dir=asc", `state = "DRAFT"`, "title", "/console/articles?dir=asc&page=2&page_token=tok&sort=title&state=DRAFT"},
		{"title=+Kratom+%22Q%22+&state=DRAFT", `title:"Kratom \"Q\"" AND state = "DRAFT"`, "update_time desc",
			"/console/articles?dir=desc&page=2&page_token=tok&sort=update_time&state=DRAFT&title=Kratom+%22Q%22"},
		{"site=+kratom-help+&tag=a%22b%5C&author=Dr.+X&sort=publish_time", `site = "kratom-help" AND tag = "a\"b\\" AND author = "Dr. X"`, "publish_time desc",
			"/console/articles?author=Dr.+X&dir=desc&page=2&page_token=tok&site=kratom-help&sort=publish_time&tag=a%22b%5C"},
	}
	for _, tt := range tests {
		v, _ := url.ParseQuery(tt.query)
		q := articleQueryOf(v)
		if got := q.filter(); got != tt.filter {
			t.Errorf("%q: filter %q, want %q", tt.query, got, tt.filter)
		}
		if got := q.orderBy(); got != tt.orderBy {
			t.Errorf("%q: order_by %q, want %q", tt.query, got, tt.orderBy)
		}
		if got := q.link("tok", 2); got != tt.nextOfPage {
			t.Errorf("%q: next link %q, want %q", tt.query, got, tt.nextOfPage)
		}
	}
}

func TestArticlesPageEscapesAndLabels(t *testing.T) {
	pages, err := parsePages()
	if err != nil {
		t.Fatal(err)
	}
	c := &Console{pages: pages}
	hostile := `<script>alert(1)</script>`
	rows := []articleListRow{{Title: hostile, State: "draft", Sites: hostile, Authors: hostile, Tags: hostile,
		Time: time.Date(2026, 12, 1, 9, 30, 0, 0, time.UTC)}}
	page := func(q articleQuery, errs map[string]string) *articlesPage {
		return &articlesPage{Query: q, States: articleStates, Sorts: articleSorts, Sizes: articlePageSizes, SortLabel: "Last changed", Rows: rows,
			FieldErrors: errs, NextLink: "/console/articles?page_token=x&page=2"}
	}
	for _, tt := range []struct {
		name    string
		data    pageData
		want    []string
		notWant []string
	}{
		{"editor", pageData{Title: "Articles", Viewer: &viewer{DisplayName: "Ed", CanWrite: true},
			Articles: page(articleQuery{PageSize: 25, Tag: `"><script>`, Sort: "update_time", Desc: true, Page: 1}, nil)},
			[]string{`<label for="title-search">`, `<label for="state">`, `<label for="site">`, `<label for="tag">`, `<label for="author">`, `<label for="sort">`, `<label for="dir">`, `<label for="size">`,
				`<caption>`, `<th scope="col" aria-sort="descending">Last changed</th>`, `value="&#34;&gt;&lt;script&gt;"`,
				`datetime="2026-12-01T09:30:00Z"`, `id="next-page"`, `href="/console/#new-heading"`, `aria-current="page">Articles`},
			nil},
		{"viewer", pageData{Title: "Articles", Viewer: &viewer{DisplayName: "Vera"},
			Articles: page(articleQuery{Sort: "title", Page: 2, PageToken: "x"}, nil)},
			[]string{`<th scope="col" aria-sort="ascending">Title</th>`, "page 2"},
			[]string{`New draft`, `method="post" action="/console/drafts"`}},
		{"refused filter", pageData{Title: "Articles", Viewer: &viewer{DisplayName: "Ed"},
			Articles: page(articleQuery{State: "GONE", Sort: "update_time"}, map[string]string{"state": `invalid value "GONE" for state` + hostile})},
			[]string{`aria-invalid="true" aria-describedby="state-error"`, `<p class="field-error" id="state-error">invalid value &#34;GONE&#34; for state&lt;script&gt;`},
			[]string{`<table`}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			c.render(w, httptest.NewRequest("GET", "/console/articles", nil), http.StatusOK, "articles", tt.data)
			body := w.Body.String()
			if strings.Contains(body, "<script") {
				t.Errorf("unescaped markup:\n%s", body)
			}
			for _, s := range tt.want {
				if !strings.Contains(body, s) {
					t.Errorf("lacks %q:\n%s", s, body)
				}
			}
			for _, s := range tt.notWant {
				if strings.Contains(body, s) {
					t.Errorf("has %q:\n%s", s, body)
				}
			}
		})
	}
}

// fakeSessions answers GetCurrentSession with an editor's session.
type fakeSessions struct{ accessv1.SessionServiceClient }

func (fakeSessions) GetCurrentSession(context.Context, *accessv1.GetCurrentSessionRequest, ...grpc.CallOption) (*accessv1.Session, error) {
	return &accessv1.Session{User: "users/ed@example.org", DisplayName: "Ed",
		ActingAs: &accessv1.RoleBinding{Role: accessv1.ApiKey_ROLE_EDITOR}}, nil
}

// fakeArticles refuses any filter with a state other than DRAFT, and records the requests.
type fakeArticles struct {
	contentv1.ArticleServiceClient
	requests []*contentv1.ListArticlesRequest
}

func (f *fakeArticles) ListArticles(_ context.Context, req *contentv1.ListArticlesRequest, _ ...grpc.CallOption) (*contentv1.ListArticlesResponse, error) {
	f.requests = append(f.requests, req)
	if strings.Contains(req.GetFilter(), "state") && !strings.Contains(req.GetFilter(), `state = "DRAFT"`) {
		return nil, status.Error(codes.InvalidArgument, "filter: invalid value for state")
	}
	return &contentv1.ListArticlesResponse{NextPageToken: "next", Articles: []*contentv1.Article{{
		Name: "articles/a1", Title: "Kratom & you", State: contentv1.Article_STATE_DRAFT, TargetSites: []string{"sites/kratom-help"},
		Authors: []*contentv1.Person{{DisplayName: "Dr. X"}}, UpdateTime: timestamppb.New(time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC))}}}, nil
}

func TestArticlesHandler(t *testing.T) {
	pages, err := parsePages()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		query      string
		wantStatus int
		want       []string
		wantFilter string
	}{
		{"state=DRAFT&tag=x&sort=title&dir=asc", 200,
			[]string{"Kratom &amp; you", "Dr. X", "kratom-help", `id="next-page"`, "page_token=next"}, `state = "DRAFT" AND tag = "x"`},
		{"state=NOPE&tag=x", 400, []string{`id="state-error">filter: invalid value for state`}, `state = "NOPE" AND tag = "x"`},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			arts := &fakeArticles{}
			c := &Console{pages: pages, sessions: fakeSessions{}, articles: arts, logger: slog.New(slog.DiscardHandler),
				cfg: Config{CallTimeout: time.Second}}
			r := httptest.NewRequest("GET", "/console/articles?"+tt.query, nil)
			r.AddCookie(&http.Cookie{Name: CookieName, Value: "bs_token"})
			w := httptest.NewRecorder()
			c.articleList(w, r)
			if w.Code != tt.wantStatus {
				t.Fatalf("status %d, want %d:\n%s", w.Code, tt.wantStatus, w.Body)
			}
			for _, s := range tt.want {
				if !strings.Contains(w.Body.String(), s) {
					t.Errorf("lacks %q:\n%s", s, w.Body)
				}
			}
			if got := arts.requests[0].GetFilter(); got != tt.wantFilter {
				t.Errorf("filter sent %q, want %q", got, tt.wantFilter)
			}
			if tt.wantStatus == 400 && strings.Contains(w.Body.String(), `id="tag-error"`) {
				t.Errorf("the accepted tag is marked as refused")
			}
		})
	}
}
