package console

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"

	accessv1 "github.com/beaconcms/beacon/gen/beacon/access/v1"
	sitesv1 "github.com/beaconcms/beacon/gen/beacon/sites/v1"
)

// newAdminTestConsole returns a console built by New (its routes, cross-origin protection and
// headers) whose service clients are the given fakes; the connections are never dialled.
func newAdminTestConsole(tb testing.TB, sess *fakeSession, keys accessv1.ApiKeyServiceClient, users accessv1.UserServiceClient, sites sitesv1.SiteServiceClient) *Console {
	tb.Helper()
	conn, err := grpc.NewClient("passthrough:///unused", grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = conn.Close() })
	c, err := New(Config{CallTimeout: time.Second}, Upstreams{Access: conn, Content: conn, Sites: conn, Resources: conn}, slog.New(slog.DiscardHandler))
	if err != nil {
		tb.Fatal(err)
	}
	c.sessions, c.keys, c.users, c.sites = sess, keys, users, sites
	return c
}

// adminPage is one answer of the console.
type adminPage struct {
	status int
	header http.Header
	body   string
}

// serve sends a request through the console as a browser with a session cookie would (a form
// is posted same-origin).
func serve(tb testing.TB, c *Console, method, path string, form url.Values) adminPage {
	tb.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	r := httptest.NewRequest(method, "http://console.test"+path, body)
	r.AddCookie(&http.Cookie{Name: CookieName, Value: "bs_token"})
	if form != nil {
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.Header.Set("Sec-Fetch-Site", "same-origin")
	}
	w := httptest.NewRecorder()
	c.ServeHTTP(w, r)
	return adminPage{status: w.Code, header: w.Header(), body: w.Body.String()}
}

func (p adminPage) check(tb testing.TB, status int, want, notWant []string) {
	tb.Helper()
	if p.status != status {
		tb.Errorf("status %d, want %d:\n%s", p.status, status, p.body)
	}
	for _, s := range want {
		if !strings.Contains(p.body, s) {
			tb.Errorf("lacks %q:\n%s", s, p.body)
		}
	}
	for _, s := range notWant {
		if strings.Contains(p.body, s) {
			tb.Errorf("has %q:\n%s", s, p.body)
		}
	}
}

// fakeSession is the access service's SessionService for one signed-in user of role.
type fakeSession struct {
	accessv1.SessionServiceClient
	role      accessv1.ApiKey_Role
	changeErr error
	changes   []*accessv1.ChangeCurrentUserPasswordRequest
}

func (f *fakeSession) GetCurrentSession(context.Context, *accessv1.GetCurrentSessionRequest, ...grpc.CallOption) (*accessv1.Session, error) {
	b := &accessv1.RoleBinding{Role: f.role}
	return &accessv1.Session{User: "users/ada@example.org", DisplayName: "Ada", ActingAs: b, Roles: []*accessv1.RoleBinding{b}}, nil
}

func (f *fakeSession) ChangeCurrentUserPassword(_ context.Context, req *accessv1.ChangeCurrentUserPasswordRequest, _ ...grpc.CallOption) (*emptypb.Empty, error) {
	f.changes = append(f.changes, req)
	if f.changeErr != nil {
		return nil, f.changeErr
	}
	return &emptypb.Empty{}, nil
}

// fakeSiteList answers ListSites with kratom-help and GetSite with it (or getErr).
type fakeSiteList struct {
	sitesv1.SiteServiceClient
	site      *sitesv1.Site
	updateErr error
	updates   []*sitesv1.UpdateSiteRequest
}

func (f *fakeSiteList) ListSites(context.Context, *sitesv1.ListSitesRequest, ...grpc.CallOption) (*sitesv1.ListSitesResponse, error) {
	return &sitesv1.ListSitesResponse{Sites: []*sitesv1.Site{f.site}}, nil
}

func (f *fakeSiteList) GetSite(_ context.Context, req *sitesv1.GetSiteRequest, _ ...grpc.CallOption) (*sitesv1.Site, error) {
	if req.GetName() != f.site.GetName() {
		return nil, status.Errorf(codes.NotFound, "site %s not found", req.GetName())
	}
	return f.site, nil
}

func (f *fakeSiteList) UpdateSite(_ context.Context, req *sitesv1.UpdateSiteRequest, _ ...grpc.CallOption) (*sitesv1.Site, error) {
	f.updates = append(f.updates, req)
	if f.updateErr != nil {
		return nil, f.updateErr
	}
	return req.GetSite(), nil
}

func newFakeSites() *fakeSiteList {
	return &fakeSiteList{site: &sitesv1.Site{Name: "sites/kratom-help", DisplayName: "Kratom Help", BaseUrl: "https://kratom-help.example.org", Etag: "e1"}}
}

// invalid is an INVALID_ARGUMENT error naming fields (field, description pairs) as the services
// send it.
func invalid(tb testing.TB, fields ...string) error {
	tb.Helper()
	br := &errdetails.BadRequest{}
	for i := 0; i+1 < len(fields); i += 2 {
		br.FieldViolations = append(br.FieldViolations, &errdetails.BadRequest_FieldViolation{Field: fields[i], Description: fields[i+1]})
	}
	st, err := status.New(codes.InvalidArgument, "invalid request").WithDetails(br)
	if err != nil {
		tb.Fatal(err)
	}
	return st.Err()
}

func TestFieldErrors(t *testing.T) {
	tests := []struct {
		name     string
		err      error
		prefixes []string
		want     map[string]string
	}{
		{"no details", status.Error(codes.InvalidArgument, "bad"), []string{"site."}, nil},
		{"prefix and index cut", invalid(t, "user.roles[0].site", "is deleted", "user.email", "is taken"), []string{"user."},
			map[string]string{"roles": "is deleted", "email": "is taken"}},
		{"longest prefix first, messages joined", invalid(t, "site.lint_tuning.disabled_rules[0]", "unknown", "site.lint_tuning.disabled_rules[2]", "twice"),
			[]string{"site.lint_tuning.", "site."}, map[string]string{"disabled_rules": "unknown; twice"}},
		{"unprefixed field kept", invalid(t, "password", "too short"), []string{"user."}, map[string]string{"password": "too short"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := fieldErrors(tt.err, tt.prefixes...)
			if len(got) != len(tt.want) {
				t.Fatalf("fieldErrors = %v, want %v", got, tt.want)
			}
			for k, v := range tt.want {
				if got[k] != v {
					t.Errorf("fieldErrors[%q] = %q, want %q", k, got[k], v)
				}
			}
		})
	}
}

// TestAdminLinksOnlyForAdmins: the admin screens are linked for admins only; the account page
// for everyone.
func TestAdminLinksOnlyForAdmins(t *testing.T) {
	for _, role := range []accessv1.ApiKey_Role{accessv1.ApiKey_ROLE_ADMIN, accessv1.ApiKey_ROLE_EDITOR, accessv1.ApiKey_ROLE_VIEWER} {
		t.Run(role.String(), func(t *testing.T) {
			c := newAdminTestConsole(t, &fakeSession{role: role}, nil, nil, newFakeSites())
			p := serve(t, c, "GET", "/console/account", nil)
			links := []string{`href="/console/sites"`, `href="/console/keys"`, `href="/console/users"`}
			if role == accessv1.ApiKey_ROLE_ADMIN {
				p.check(t, 200, append(links, `id="nav-account"`), nil)
			} else {
				p.check(t, 200, []string{`id="nav-account"`}, links)
			}
		})
	}
}
