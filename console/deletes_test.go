package console

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	contentv1 "github.com/beaconcms/beacon/gen/beacon/content/v1"
	resourcesv1 "github.com/beaconcms/beacon/gen/beacon/resources/v1"
)

// deleteFakes records the deletes and undeletes of articles, resources and directories as
// "method name etag", and refuses them with refuse when it is set.
type deleteFakes struct {
	contentv1.ArticleServiceClient
	resourcesv1.ResourceServiceClient
	resourcesv1.DirectoryServiceClient
	refuse error
	calls  []string
}

func (f *deleteFakes) record(call string) error {
	if f.refuse != nil {
		return f.refuse
	}
	f.calls = append(f.calls, call)
	return nil
}

func (f *deleteFakes) GetArticle(_ context.Context, req *contentv1.GetArticleRequest, _ ...grpc.CallOption) (*contentv1.Article, error) {
	return &contentv1.Article{Name: req.GetName(), Title: "<b>Sleep</b>", State: contentv1.Article_STATE_PUBLISHED, TargetSites: []string{"sites/s1"}, Etag: "a1"}, nil
}

func (f *deleteFakes) DeleteArticle(_ context.Context, req *contentv1.DeleteArticleRequest, _ ...grpc.CallOption) (*contentv1.Article, error) {
	return &contentv1.Article{}, f.record("DeleteArticle " + req.GetName() + " " + req.GetEtag())
}

func (f *deleteFakes) GetResource(_ context.Context, req *resourcesv1.GetResourceRequest, _ ...grpc.CallOption) (*resourcesv1.Resource, error) {
	return &resourcesv1.Resource{Name: req.GetName(), DisplayName: "<b>Line</b>", Kind: resourcesv1.Kind_KIND_CRISIS_LINE, TargetSites: []string{"sites/s1"}}, nil
}

func (f *deleteFakes) DeleteResource(_ context.Context, req *resourcesv1.DeleteResourceRequest, _ ...grpc.CallOption) (*resourcesv1.Resource, error) {
	return &resourcesv1.Resource{}, f.record("DeleteResource " + req.GetName() + " " + req.GetEtag())
}

func (f *deleteFakes) UndeleteResource(_ context.Context, req *resourcesv1.UndeleteResourceRequest, _ ...grpc.CallOption) (*resourcesv1.Resource, error) {
	return &resourcesv1.Resource{}, f.record("UndeleteResource " + req.GetName())
}

func (f *deleteFakes) GetDirectory(_ context.Context, req *resourcesv1.GetDirectoryRequest, _ ...grpc.CallOption) (*resourcesv1.Directory, error) {
	return &resourcesv1.Directory{Name: req.GetName(), Title: "<b>Lines</b>", Site: "sites/s1", Slug: "lines"}, nil
}

func (f *deleteFakes) DeleteDirectory(_ context.Context, req *resourcesv1.DeleteDirectoryRequest, _ ...grpc.CallOption) (*resourcesv1.Directory, error) {
	return &resourcesv1.Directory{}, f.record("DeleteDirectory " + req.GetName() + " " + req.GetEtag())
}

func (f *deleteFakes) UndeleteDirectory(_ context.Context, req *resourcesv1.UndeleteDirectoryRequest, _ ...grpc.CallOption) (*resourcesv1.Directory, error) {
	return &resourcesv1.Directory{}, f.record("UndeleteDirectory " + req.GetName())
}

// TestDeletesAskFirst: a delete form answers with a confirmation page that posts the same
// etag with confirmed=1 (and deletes nothing); only that deletes, with the etag the user saw;
// a change in between is a conflict; Undelete is one step.
func TestDeletesAskFirst(t *testing.T) {
	tests := []struct {
		name     string
		path     string
		form     url.Values
		refuse   error
		status   int
		location string
		calls    []string
		want     []string
	}{
		{name: "article: the confirmation", path: "/console/articles/a9/delete", form: url.Values{"etag": {"a1"}}, status: http.StatusOK,
			want: []string{`<h1>Delete an article</h1>`, `Delete “&lt;b&gt;Sleep&lt;/b&gt;”?`, `action="/console/articles/a9/delete"`,
				`name="etag" value="a1"`, `name="confirmed" value="1"`, `id="confirm">Delete the article</button>`, `<a href="/console/articles/a9">Cancel</a>`, "State: Published", "Sites: s1"}},
		{name: "article: confirmed", path: "/console/articles/a9/delete", form: url.Values{"etag": {"a1"}, "confirmed": {"1"}}, status: http.StatusSeeOther,
			location: "/console/articles/a9?done=delete", calls: []string{"DeleteArticle articles/a9 a1"}},
		{name: "resource: the confirmation", path: "/console/resources/r1/delete", form: url.Values{"etag": {"e1"}}, status: http.StatusOK,
			want: []string{`<h1>Delete a resource</h1>`, `Delete “&lt;b&gt;Line&lt;/b&gt;”?`, `action="/console/resources/r1/delete"`,
				`name="etag" value="e1"`, `name="confirmed" value="1"`, "Kind: Crisis line", `<a href="/console/resources/r1">Cancel</a>`}},
		{name: "resource: confirmed", path: "/console/resources/r1/delete", form: url.Values{"etag": {"e1"}, "confirmed": {"1"}}, status: http.StatusSeeOther,
			location: "/console/resources/r1?deleted=1", calls: []string{"DeleteResource resources/r1 e1"}},
		{name: "resource: changed meanwhile", path: "/console/resources/r1/delete", form: url.Values{"etag": {"old"}, "confirmed": {"1"}},
			refuse: status.Error(codes.Aborted, "etag mismatch"), status: http.StatusConflict, want: []string{"it was not deleted"}},
		{name: "resource: a viewer's forged delete", path: "/console/resources/r1/delete", form: url.Values{"etag": {"e1"}, "confirmed": {"1"}},
			refuse: status.Error(codes.PermissionDenied, "the role viewer may not call DeleteResource"), status: http.StatusForbidden, want: []string{"Your role does not allow this"}},
		{name: "resource: undelete", path: "/console/resources/r1/undelete", form: url.Values{}, status: http.StatusSeeOther,
			location: "/console/resources/r1?undeleted=1", calls: []string{"UndeleteResource resources/r1"}},
		{name: "directory: the confirmation", path: "/console/directories/d1/delete", form: url.Values{"etag": {"d7"}}, status: http.StatusOK,
			want: []string{`<h1>Delete a directory</h1>`, `Delete “&lt;b&gt;Lines&lt;/b&gt;”?`, `action="/console/directories/d1/delete"`,
				`name="etag" value="d7"`, `name="confirmed" value="1"`, "Slug: lines"}},
		{name: "directory: confirmed", path: "/console/directories/d1/delete", form: url.Values{"etag": {"d7"}, "confirmed": {"1"}}, status: http.StatusSeeOther,
			location: "/console/directories/d1?deleted=1", calls: []string{"DeleteDirectory directories/d1 d7"}},
		{name: "directory: undelete refused (slug taken)", path: "/console/directories/d1/undelete", form: url.Values{},
			refuse: status.Error(codes.AlreadyExists, "directory.slug: another live directory of sites/s1 has the slug lines"), status: http.StatusConflict,
			want: []string{"another live directory"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fakes := &deleteFakes{refuse: tt.refuse}
			c, err := newTestConsole(fakeSessions{}, fakes)
			if err != nil {
				t.Fatal(err)
			}
			c.resources, c.directories = fakes, fakes
			r := httptest.NewRequest("POST", tt.path, strings.NewReader(tt.form.Encode()))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			r.AddCookie(&http.Cookie{Name: CookieName, Value: "bs_token"})
			w := httptest.NewRecorder()
			c.ServeHTTP(w, r)
			if w.Code != tt.status || w.Header().Get("Location") != tt.location {
				t.Fatalf("status %d to %q, want %d to %q:\n%s", w.Code, w.Header().Get("Location"), tt.status, tt.location, w.Body)
			}
			if !slices.Equal(fakes.calls, tt.calls) {
				t.Errorf("calls %q, want %q", fakes.calls, tt.calls)
			}
			for _, s := range tt.want {
				if !strings.Contains(w.Body.String(), s) {
					t.Errorf("lacks %q:\n%s", s, w.Body)
				}
			}
		})
	}
}
