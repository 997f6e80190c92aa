package console

import (
	"context"
	"net/url"
	"slices"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	accessv1 "github.com/beaconcms/beacon/gen/beacon/access/v1"
)

// fakeUsers is the UserService with one user, ed@example.org (editor on kratom-help); its
// writes answer err when set and are recorded.
type fakeUsers struct {
	accessv1.UserServiceClient
	err      error
	creates  []*accessv1.CreateUserRequest
	roles    []*accessv1.UpdateUserRolesRequest
	disabled []string
	resets   []string
}

func edUser() *accessv1.User {
	return &accessv1.User{Name: "users/ed@example.org", Email: "ed@example.org", DisplayName: "Ed <b>",
		Roles:      []*accessv1.RoleBinding{{Role: accessv1.ApiKey_ROLE_EDITOR, Site: "sites/kratom-help"}, {Role: accessv1.ApiKey_ROLE_VIEWER, Site: "sites/gone"}},
		CreateTime: timestamppb.New(time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC))}
}

func (f *fakeUsers) ListUsers(context.Context, *accessv1.ListUsersRequest, ...grpc.CallOption) (*accessv1.ListUsersResponse, error) {
	return &accessv1.ListUsersResponse{Users: []*accessv1.User{edUser()}, NextPageToken: "p2"}, nil
}

func (f *fakeUsers) GetUser(_ context.Context, req *accessv1.GetUserRequest, _ ...grpc.CallOption) (*accessv1.User, error) {
	if req.GetName() != "users/ed@example.org" {
		return nil, status.Errorf(codes.NotFound, "user %s not found", req.GetName())
	}
	return edUser(), nil
}

func (f *fakeUsers) CreateUser(_ context.Context, req *accessv1.CreateUserRequest, _ ...grpc.CallOption) (*accessv1.CreateUserResponse, error) {
	f.creates = append(f.creates, req)
	if f.err != nil {
		return nil, f.err
	}
	u := req.GetUser()
	u.Name = "users/" + u.GetEmail()
	return &accessv1.CreateUserResponse{User: u, GeneratedPassword: "generated-once-password"}, nil
}

func (f *fakeUsers) UpdateUserRoles(_ context.Context, req *accessv1.UpdateUserRolesRequest, _ ...grpc.CallOption) (*accessv1.User, error) {
	f.roles = append(f.roles, req)
	if f.err != nil {
		return nil, f.err
	}
	return edUser(), nil
}

func (f *fakeUsers) DisableUser(_ context.Context, req *accessv1.DisableUserRequest, _ ...grpc.CallOption) (*accessv1.User, error) {
	f.disabled = append(f.disabled, req.GetName())
	if f.err != nil {
		return nil, f.err
	}
	u := edUser()
	u.DisableTime = timestamppb.Now()
	return u, nil
}

func (f *fakeUsers) SetUserPassword(_ context.Context, req *accessv1.SetUserPasswordRequest, _ ...grpc.CallOption) (*accessv1.SetUserPasswordResponse, error) {
	f.resets = append(f.resets, req.GetName())
	if f.err != nil {
		return nil, f.err
	}
	return &accessv1.SetUserPasswordResponse{User: edUser(), GeneratedPassword: "reset-once-password"}, nil
}

func TestRoleGrid(t *testing.T) {
	grid := roleGrid(edUser(), []siteOption{{ID: "kratom-help", Name: "Kratom Help"}, {ID: "quit-help", Name: "Quit Help"}})
	want := []roleRow{
		{Key: "*", Label: "All sites"},
		{Key: "kratom-help", Label: "kratom-help (Kratom Help)", Role: "ROLE_EDITOR"},
		{Key: "quit-help", Label: "quit-help (Quit Help)"},
		{Key: "gone", Label: "gone (not a live site)", Role: "ROLE_VIEWER"},
	}
	if !slices.Equal(grid, want) {
		t.Fatalf("roleGrid =\n%v\nwant\n%v", grid, want)
	}
	tests := []struct {
		form url.Values
		want []string
	}{
		{url.Values{}, nil},
		{url.Values{"role.*": {"ROLE_VIEWER"}, "role.quit-help": {"ROLE_ADMIN"}, "role.kratom-help": {""}},
			[]string{"ROLE_VIEWER@", "ROLE_ADMIN@sites/quit-help"}},
		// A site outside the grid is not read; an unknown role is sent as unspecified (the
		// service refuses it naming the binding).
		{url.Values{"role.other": {"ROLE_ADMIN"}, "role.gone": {"ROLE_ROOT"}}, []string{"ROLE_UNSPECIFIED@sites/gone"}},
	}
	for _, tt := range tests {
		var got []string
		for _, b := range rolesOfForm(tt.form, grid) {
			got = append(got, b.GetRole().String()+"@"+b.GetSite())
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("rolesOfForm(%v) = %v, want %v", tt.form, got, tt.want)
		}
	}
}

func TestUsersScreen(t *testing.T) {
	denied := status.Error(codes.PermissionDenied, "users/ada@example.org has role editor; managing users needs admin")
	tests := []struct {
		name       string
		method     string
		path       string
		form       url.Values
		err        error
		wantStatus int
		want       []string
		notWant    []string
		check      func(t *testing.T, f *fakeUsers)
	}{
		{name: "list", method: "GET", path: "/console/users", wantStatus: 200,
			want: []string{`href="/console/users/ed@example.org"`, "Ed &lt;b&gt;", "editor on kratom-help, viewer on gone", "page_token=p2",
				`<label for="email">`, `<label for="display_name">`, `<label for="role">`, `<label for="site">`}},
		{name: "create shows the generated password once", method: "POST", path: "/console/users",
			form:       url.Values{"email": {"new@example.org"}, "display_name": {"New"}, "role": {"ROLE_EDITOR"}, "site": {"kratom-help"}},
			wantStatus: 200, want: []string{`value="generated-once-password"`, `data-shown-once="/console/users"`, "/console/static/copy.js"},
			check: func(t *testing.T, f *fakeUsers) {
				u := f.creates[0].GetUser()
				if u.GetEmail() != "new@example.org" || len(u.GetRoles()) != 1 || u.GetRoles()[0].GetSite() != "sites/kratom-help" ||
					u.GetRoles()[0].GetRole() != accessv1.ApiKey_ROLE_EDITOR || f.creates[0].GetPassword() != "" {
					t.Errorf("CreateUser(%v)", f.creates[0])
				}
			}},
		{name: "refused fields shown beside them", method: "POST", path: "/console/users",
			form: url.Values{"email": {"nope"}, "display_name": {""}, "role": {"ROLE_EDITOR"}, "site": {"gone"}},
			err:  invalid(t, "user.email", "must be an email address", "user.roles[0].site", "sites/gone is deleted"), wantStatus: 400,
			want:    []string{`id="email-error">must be an email address`, `id="role-error">sites/gone is deleted`, `value="nope"`},
			notWant: []string{`id="secret"`}},
		{name: "a taken email", method: "POST", path: "/console/users", form: url.Values{"email": {"ed@example.org"}, "role": {"ROLE_EDITOR"}},
			err: status.Error(codes.AlreadyExists, "user users/ed@example.org already exists"), wantStatus: 409,
			want: []string{`id="user-form-error">user users/ed@example.org already exists`}},
		{name: "a non-admin's forged create is the service's 403", method: "POST", path: "/console/users",
			form: url.Values{"email": {"x@example.org"}, "role": {"ROLE_ADMIN"}}, err: denied, wantStatus: 403, notWant: []string{`id="secret"`}},
		{name: "a user's page", method: "GET", path: "/console/users/ed@example.org", wantStatus: 200,
			want: []string{`name="role.kratom-help"`, `<option value="ROLE_EDITOR" selected>editor</option>`, `gone (not a live site)`,
				`href="/console/users/ed@example.org/disable"`, `href="/console/users/ed@example.org/password"`, `<label for="role-0">All sites</label>`}},
		{name: "an unknown user", method: "GET", path: "/console/users/nobody@example.org", wantStatus: 404},
		{name: "set roles", method: "POST", path: "/console/users/ed@example.org/roles",
			form: url.Values{"role.*": {"ROLE_VIEWER"}, "role.kratom-help": {"ROLE_ADMIN"}}, wantStatus: 303,
			check: func(t *testing.T, f *fakeUsers) {
				var got []string
				for _, b := range f.roles[0].GetRoles() {
					got = append(got, b.GetRole().String()+"@"+b.GetSite())
				}
				if f.roles[0].GetName() != "users/ed@example.org" || !slices.Equal(got, []string{"ROLE_VIEWER@", "ROLE_ADMIN@sites/kratom-help"}) {
					t.Errorf("UpdateUserRoles(%v)", f.roles[0])
				}
			}},
		{name: "refused roles keep the grid as posted", method: "POST", path: "/console/users/ed@example.org/roles", form: url.Values{},
			err: invalid(t, "roles", "at least one role is required"), wantStatus: 400,
			want: []string{`id="roles-error">at least one role is required`}, notWant: []string{`<option value="ROLE_EDITOR" selected>`}},
		{name: "disable asks first", method: "GET", path: "/console/users/ed@example.org/disable", wantStatus: 200,
			want: []string{`action="/console/users/ed@example.org/disable"`, "every session of theirs ends now"}},
		{name: "disable", method: "POST", path: "/console/users/ed@example.org/disable", form: url.Values{}, wantStatus: 303,
			check: func(t *testing.T, f *fakeUsers) {
				if !slices.Equal(f.disabled, []string{"users/ed@example.org"}) {
					t.Errorf("disabled %v", f.disabled)
				}
			}},
		{name: "a non-admin's forged disable is the service's 403", method: "POST", path: "/console/users/ed@example.org/disable", form: url.Values{},
			err: denied, wantStatus: 403},
		{name: "reset shows the password once", method: "POST", path: "/console/users/ed@example.org/password", form: url.Values{}, wantStatus: 200,
			want: []string{`value="reset-once-password"`, `data-shown-once="/console/users/ed@example.org"`},
			check: func(t *testing.T, f *fakeUsers) {
				if !slices.Equal(f.resets, []string{"users/ed@example.org"}) {
					t.Errorf("reset %v", f.resets)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			users := &fakeUsers{err: tt.err}
			c := newAdminTestConsole(t, &fakeSession{role: accessv1.ApiKey_ROLE_ADMIN}, nil, users, newFakeSites())
			p := serve(t, c, tt.method, tt.path, tt.form)
			p.check(t, tt.wantStatus, tt.want, tt.notWant)
			if tt.check != nil && !t.Failed() {
				tt.check(t, users)
			}
		})
	}
}

func TestChangeOwnPassword(t *testing.T) {
	limited, _ := status.New(codes.ResourceExhausted, "too many").WithDetails(&errdetails.RetryInfo{RetryDelay: durationpb.New(90 * time.Second)})
	tests := []struct {
		name        string
		form        url.Values
		err         error
		wantStatus  int
		want        []string
		wantCalls   int
		wantCleared bool
	}{
		{"changed: signed out", url.Values{"current_password": {"old password here"}, "new_password": {"a new password!"}, "new_password_again": {"a new password!"}},
			nil, 200, []string{`id="sign-in-notice"`, `value="ada@example.org"`}, 1, true},
		{"the repeat differs: not sent", url.Values{"current_password": {"old"}, "new_password": {"a new password!"}, "new_password_again": {"another"}},
			nil, 400, []string{`id="new_password_again-error">does not match`}, 0, false},
		{"wrong current password", url.Values{"current_password": {"wrong"}, "new_password": {"a new password!"}, "new_password_again": {"a new password!"}},
			invalid(t, "current_password", "is not your current password"), 400, []string{`id="current_password-error">is not your current password`}, 1, false},
		{"limited", url.Values{"current_password": {"wrong"}, "new_password": {"a new password!"}, "new_password_again": {"a new password!"}},
			limited.Err(), 429, []string{"Try again in 90 seconds"}, 1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sess := &fakeSession{role: accessv1.ApiKey_ROLE_VIEWER, changeErr: tt.err}
			c := newAdminTestConsole(t, sess, nil, nil, newFakeSites())
			p := serve(t, c, "POST", "/console/account/password", tt.form)
			p.check(t, tt.wantStatus, tt.want, nil)
			if len(sess.changes) != tt.wantCalls {
				t.Fatalf("%d calls, want %d", len(sess.changes), tt.wantCalls)
			}
			if tt.wantCalls == 1 && (sess.changes[0].GetCurrentPassword() != tt.form.Get("current_password") || sess.changes[0].GetNewPassword() != tt.form.Get("new_password")) {
				t.Errorf("sent %v", sess.changes[0])
			}
			cleared := slices.ContainsFunc(p.header.Values("Set-Cookie"), func(s string) bool { return len(s) > 0 && s[:len(CookieName)+2] == CookieName+"=;" })
			if cleared != tt.wantCleared {
				t.Errorf("cookie cleared: %v, want %v (%v)", cleared, tt.wantCleared, p.header.Values("Set-Cookie"))
			}
			if tt.wantStatus == 429 && p.header.Get("Retry-After") != "90" {
				t.Errorf("Retry-After %q", p.header.Get("Retry-After"))
			}
		})
	}
}
