package access_test

import (
	"context"
	"log/slog"
	"net"
	"slices"
	"sort"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"

	accessv1 "github.com/beaconcms/beacon/gen/beacon/access/v1"
	"github.com/beaconcms/beacon/platform/auth"
	"github.com/beaconcms/beacon/platform/grpcserver"
	"github.com/beaconcms/beacon/platform/mongodb"
	"github.com/beaconcms/beacon/platform/mongodb/mongodbtest"
	"github.com/beaconcms/beacon/services/access"
)

// userEnv is the access service wired as the binary does (the facade is the verifier of the
// auth interceptor) with an all-sites admin key, over bufconn.
type userEnv struct {
	svc      *access.Service
	users    accessv1.UserServiceClient
	sessions accessv1.SessionServiceClient
	keys     accessv1.ApiKeyServiceClient
	admin    string
}

func newUserEnv(tb testing.TB) *userEnv {
	tb.Helper()
	ctx := tb.Context()
	db := mongodbtest.NewDatabase(tb)
	locks := mongodb.NewDocLocks()
	siteSvc, catalog := newSites(tb, locks)
	if _, err := siteSvc.EnsureSite(ctx, "kratom-help", "Kratom Help", "https://kratom-help.example.org"); err != nil {
		tb.Fatal(err)
	}
	if err := access.Migrate(ctx, db, nil); err != nil {
		tb.Fatal(err)
	}
	svc := access.New(access.Deps{DB: db, Locks: locks, Sites: catalog}, nil)
	admin, _, err := svc.Bootstrap(ctx, "admin")
	if err != nil {
		tb.Fatal(err)
	}
	policy, err := auth.Merge(auth.HealthAndReflectionRules(), access.Rules())
	if err != nil {
		tb.Fatal(err)
	}
	srv := grpcserver.New(grpcserver.Config{}, auth.NewInterceptor(policy, svc, nil), slog.New(slog.DiscardHandler))
	svc.Register(srv)
	if missing := policy.MissingRules(srv); len(missing) != 0 {
		tb.Fatalf("methods without a rule: %v", missing)
	}
	lis := bufconn.Listen(1 << 20)
	go srv.Serve(lis) //nolint:errcheck // returns when stopped
	tb.Cleanup(srv.Stop)
	conn, err := grpc.NewClient("passthrough:///bufnet",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { conn.Close() })
	return &userEnv{svc: svc, users: accessv1.NewUserServiceClient(conn), sessions: accessv1.NewSessionServiceClient(conn),
		keys: accessv1.NewApiKeyServiceClient(conn), admin: admin}
}

func bearer(ctx context.Context, credential string) context.Context {
	return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+credential)
}

func violations(err error) []string {
	var out []string
	for _, d := range status.Convert(err).Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, v := range br.GetFieldViolations() {
				out = append(out, v.GetField())
			}
		}
	}
	sort.Strings(out)
	return slices.Compact(out)
}

// createUser creates a user with the given roles as the admin key and returns its password.
func (e *userEnv) createUser(tb testing.TB, email string, roles ...*accessv1.RoleBinding) string {
	tb.Helper()
	resp, err := e.users.CreateUser(bearer(tb.Context(), e.admin), &accessv1.CreateUserRequest{
		User: &accessv1.User{Email: email, DisplayName: "User " + email, Roles: roles}})
	if err != nil {
		tb.Fatalf("CreateUser(%s): %v", email, err)
	}
	return resp.GetGeneratedPassword()
}

func (e *userEnv) signIn(tb testing.TB, email, password string) string {
	tb.Helper()
	resp, err := e.sessions.CreateSession(tb.Context(), &accessv1.CreateSessionRequest{Email: email, Password: password})
	if err != nil {
		tb.Fatalf("CreateSession(%s): %v", email, err)
	}
	return resp.GetToken()
}

func TestUserServiceValidationNamesFields(t *testing.T) {
	e := newUserEnv(t)
	ctx := bearer(t.Context(), e.admin)
	editor := []*accessv1.RoleBinding{{Role: accessv1.ApiKey_ROLE_EDITOR, Site: "sites/kratom-help"}}
	tests := []struct {
		name       string
		req        *accessv1.CreateUserRequest
		wantCode   codes.Code
		wantFields []string
	}{
		{"no user", &accessv1.CreateUserRequest{}, codes.InvalidArgument, []string{"user"}},
		{"bad email", &accessv1.CreateUserRequest{User: &accessv1.User{Email: "ed", DisplayName: "Ed", Roles: editor}}, codes.InvalidArgument, []string{"user.email"}},
		{"no display name", &accessv1.CreateUserRequest{User: &accessv1.User{Email: "ed@example.org", Roles: editor}}, codes.InvalidArgument, []string{"user.display_name"}},
		{"no roles", &accessv1.CreateUserRequest{User: &accessv1.User{Email: "ed@example.org", DisplayName: "Ed"}}, codes.InvalidArgument, []string{"user.roles"}},
		{"site not a name", &accessv1.CreateUserRequest{User: &accessv1.User{Email: "ed@example.org", DisplayName: "Ed",
			Roles: []*accessv1.RoleBinding{{Role: accessv1.ApiKey_ROLE_EDITOR, Site: "kratom-help"}}}}, codes.InvalidArgument, []string{"user.roles[0].site"}},
		{"unspecified role", &accessv1.CreateUserRequest{User: &accessv1.User{Email: "ed@example.org", DisplayName: "Ed",
			Roles: []*accessv1.RoleBinding{{Site: "sites/kratom-help"}}}}, codes.InvalidArgument, []string{"user.roles[0].role"}},
		{"missing site", &accessv1.CreateUserRequest{User: &accessv1.User{Email: "ed@example.org", DisplayName: "Ed",
			Roles: []*accessv1.RoleBinding{{Role: accessv1.ApiKey_ROLE_EDITOR, Site: "sites/no-such-site"}}}}, codes.FailedPrecondition, []string{"user.roles[0].site"}},
		{"short password", &accessv1.CreateUserRequest{User: &accessv1.User{Email: "ed@example.org", DisplayName: "Ed", Roles: editor}, Password: "short"},
			codes.InvalidArgument, []string{"password"}},
		{"everything wrong at once", &accessv1.CreateUserRequest{User: &accessv1.User{Email: "ed",
			Roles: []*accessv1.RoleBinding{{Site: "kratom-help"}}}, Password: "short"},
			codes.InvalidArgument, []string{"password", "user.display_name", "user.email", "user.roles[0].role", "user.roles[0].site"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.users.CreateUser(ctx, tt.req)
			if status.Code(err) != tt.wantCode || !slices.Equal(violations(err), tt.wantFields) {
				t.Fatalf("CreateUser = %v (fields %v), want %v naming %v", err, violations(err), tt.wantCode, tt.wantFields)
			}
		})
	}
	for _, name := range []string{"", "users/", "users/ED@example.org", "apiKeys/x", "users/a@b/c"} {
		if _, err := e.users.GetUser(ctx, &accessv1.GetUserRequest{Name: name}); status.Code(err) != codes.InvalidArgument || !slices.Equal(violations(err), []string{"name"}) {
			t.Errorf("GetUser(%q) = %v, want InvalidArgument naming name", name, err)
		}
	}
	if _, err := e.users.UpdateUserRoles(ctx, &accessv1.UpdateUserRolesRequest{Name: "users/nobody@example.org",
		Roles: []*accessv1.RoleBinding{{Role: accessv1.ApiKey_ROLE_VIEWER}}}); status.Code(err) != codes.NotFound {
		t.Errorf("UpdateUserRoles(unknown user) = %v, want NotFound", err)
	}
	if _, err := e.users.ListUsers(ctx, &accessv1.ListUsersRequest{PageToken: "!"}); !slices.Equal(violations(err), []string{"page_token"}) {
		t.Errorf("ListUsers(bad token) = %v, want InvalidArgument naming page_token", err)
	}
}

func TestUserServiceIsAdminOnly(t *testing.T) {
	e := newUserEnv(t)
	editorPassword := e.createUser(t, "ed@example.org", &accessv1.RoleBinding{Role: accessv1.ApiKey_ROLE_EDITOR})
	siteAdminPassword := e.createUser(t, "siteadmin@example.org", &accessv1.RoleBinding{Role: accessv1.ApiKey_ROLE_ADMIN, Site: "sites/kratom-help"})
	e.createUser(t, "other@example.org", &accessv1.RoleBinding{Role: accessv1.ApiKey_ROLE_VIEWER})
	e.createUser(t, "local@example.org", &accessv1.RoleBinding{Role: accessv1.ApiKey_ROLE_VIEWER, Site: "sites/kratom-help"})
	editor := e.signIn(t, "ed@example.org", editorPassword)
	siteAdmin := e.signIn(t, "siteadmin@example.org", siteAdminPassword)

	// An editor's session is refused by the policy, as an editor key is, on every method.
	ctx := bearer(t.Context(), editor)
	calls := map[string]func() error{
		"CreateUser": func() error {
			_, err := e.users.CreateUser(ctx, &accessv1.CreateUserRequest{User: &accessv1.User{Email: "x@example.org", DisplayName: "X",
				Roles: []*accessv1.RoleBinding{{Role: accessv1.ApiKey_ROLE_ADMIN}}}})
			return err
		},
		"GetUser": func() error {
			_, err := e.users.GetUser(ctx, &accessv1.GetUserRequest{Name: "users/ed@example.org"})
			return err
		},
		"ListUsers": func() error { _, err := e.users.ListUsers(ctx, &accessv1.ListUsersRequest{}); return err },
		"UpdateUserRoles": func() error {
			_, err := e.users.UpdateUserRoles(ctx, &accessv1.UpdateUserRolesRequest{Name: "users/ed@example.org",
				Roles: []*accessv1.RoleBinding{{Role: accessv1.ApiKey_ROLE_ADMIN}}})
			return err
		},
		"DisableUser": func() error {
			_, err := e.users.DisableUser(ctx, &accessv1.DisableUserRequest{Name: "users/other@example.org"})
			return err
		},
		"SetUserPassword": func() error {
			_, err := e.users.SetUserPassword(ctx, &accessv1.SetUserPasswordRequest{Name: "users/other@example.org"})
			return err
		},
		"CreateApiKey": func() error {
			_, err := e.keys.CreateApiKey(ctx, &accessv1.CreateApiKeyRequest{ApiKey: &accessv1.ApiKey{DisplayName: "k", Role: accessv1.ApiKey_ROLE_ADMIN}})
			return err
		},
	}
	for name, call := range calls {
		if err := call(); status.Code(err) != codes.PermissionDenied {
			t.Errorf("%s as an editor's session = %v, want PermissionDenied", name, err)
		}
	}

	// A site admin sees and manages only the users whose every role is on its site.
	sctx := bearer(t.Context(), siteAdmin)
	list, err := e.users.ListUsers(sctx, &accessv1.ListUsersRequest{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, u := range list.GetUsers() {
		names = append(names, u.GetName())
	}
	if want := []string{"users/local@example.org", "users/siteadmin@example.org"}; !slices.Equal(names, want) {
		t.Errorf("site admin lists %v, want %v", names, want)
	}
	if _, err := e.users.GetUser(sctx, &accessv1.GetUserRequest{Name: "users/other@example.org"}); status.Code(err) != codes.NotFound {
		t.Errorf("site admin GetUser(all-sites user) = %v, want NotFound", err)
	}
	if _, err := e.users.UpdateUserRoles(sctx, &accessv1.UpdateUserRolesRequest{Name: "users/local@example.org",
		Roles: []*accessv1.RoleBinding{{Role: accessv1.ApiKey_ROLE_ADMIN}}}); status.Code(err) != codes.PermissionDenied {
		t.Errorf("site admin granting an all-sites role = %v, want PermissionDenied", err)
	}
	if _, err := e.users.UpdateUserRoles(sctx, &accessv1.UpdateUserRolesRequest{Name: "users/local@example.org",
		Roles: []*accessv1.RoleBinding{{Role: accessv1.ApiKey_ROLE_EDITOR, Site: "sites/kratom-help"}}}); err != nil {
		t.Errorf("site admin granting a role on its site: %v", err)
	}
}

func TestSessionsOverGRPC(t *testing.T) {
	e := newUserEnv(t)
	ctx := t.Context()
	password := e.createUser(t, "ed@example.org", &accessv1.RoleBinding{Role: accessv1.ApiKey_ROLE_EDITOR, Site: "sites/kratom-help"})

	// Unknown email and wrong password: the same answer.
	_, unknown := e.sessions.CreateSession(ctx, &accessv1.CreateSessionRequest{Email: "nobody@example.org", Password: password})
	_, wrong := e.sessions.CreateSession(ctx, &accessv1.CreateSessionRequest{Email: "ed@example.org", Password: "not the password"})
	if status.Code(unknown) != codes.Unauthenticated || status.Convert(unknown).Message() != status.Convert(wrong).Message() || status.Code(wrong) != codes.Unauthenticated {
		t.Errorf("unknown email = %v, wrong password = %v; want the same UNAUTHENTICATED", unknown, wrong)
	}
	if _, err := e.sessions.CreateSession(ctx, &accessv1.CreateSessionRequest{}); !slices.Equal(violations(err), []string{"email", "password"}) {
		t.Errorf("CreateSession({}) = %v, want InvalidArgument naming email and password", err)
	}

	token := e.signIn(t, "ed@example.org", password)
	sess, err := e.sessions.GetCurrentSession(bearer(ctx, token), &accessv1.GetCurrentSessionRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if sess.GetUser() != "users/ed@example.org" || sess.GetActingAs().GetRole() != accessv1.ApiKey_ROLE_EDITOR ||
		sess.GetActingAs().GetSite() != "sites/kratom-help" || sess.GetExpireTime().AsTime().Sub(sess.GetCreateTime().AsTime()) != 7*24*time.Hour {
		t.Errorf("GetCurrentSession = %v", sess)
	}
	// Session methods need a session, not a key.
	if _, err := e.sessions.GetCurrentSession(bearer(ctx, e.admin), &accessv1.GetCurrentSessionRequest{}); status.Code(err) != codes.FailedPrecondition {
		t.Errorf("GetCurrentSession with a key = %v, want FailedPrecondition", err)
	}

	// A password change revokes the session; the user signs in with the new password.
	resp, err := e.users.SetUserPassword(bearer(ctx, e.admin), &accessv1.SetUserPasswordRequest{Name: "users/ed@example.org"})
	if err != nil || resp.GetGeneratedPassword() == "" {
		t.Fatalf("SetUserPassword = %v, %v", resp, err)
	}
	if _, err := e.sessions.GetCurrentSession(bearer(ctx, token), &accessv1.GetCurrentSessionRequest{}); status.Code(err) != codes.Unauthenticated {
		t.Errorf("session after a password change = %v, want Unauthenticated", err)
	}
	token = e.signIn(t, "ed@example.org", resp.GetGeneratedPassword())
	// The user changes its own password: a wrong current one is named; the right one ends the
	// session; a key cannot call it.
	if _, err := e.sessions.ChangeCurrentUserPassword(bearer(ctx, token), &accessv1.ChangeCurrentUserPasswordRequest{
		CurrentPassword: "not the password", NewPassword: "my own new password"}); !slices.Equal(violations(err), []string{"current_password"}) {
		t.Errorf("ChangeCurrentUserPassword(wrong current) = %v, want InvalidArgument naming current_password", err)
	}
	if _, err := e.sessions.ChangeCurrentUserPassword(bearer(ctx, e.admin), &accessv1.ChangeCurrentUserPasswordRequest{
		CurrentPassword: "x", NewPassword: "my own new password"}); status.Code(err) != codes.FailedPrecondition {
		t.Errorf("ChangeCurrentUserPassword with a key = %v, want FailedPrecondition", err)
	}
	if _, err := e.sessions.ChangeCurrentUserPassword(bearer(ctx, token), &accessv1.ChangeCurrentUserPasswordRequest{
		CurrentPassword: resp.GetGeneratedPassword(), NewPassword: "my own new password"}); err != nil {
		t.Fatalf("ChangeCurrentUserPassword: %v", err)
	}
	if _, err := e.sessions.GetCurrentSession(bearer(ctx, token), &accessv1.GetCurrentSessionRequest{}); status.Code(err) != codes.Unauthenticated {
		t.Errorf("session after changing the own password = %v, want Unauthenticated", err)
	}
	token = e.signIn(t, "ed@example.org", "my own new password")
	if _, err := e.sessions.DeleteCurrentSession(bearer(ctx, token), &accessv1.DeleteCurrentSessionRequest{}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.sessions.GetCurrentSession(bearer(ctx, token), &accessv1.GetCurrentSessionRequest{}); status.Code(err) != codes.Unauthenticated {
		t.Errorf("session after sign-out = %v, want Unauthenticated", err)
	}

	// Too many attempts for one account: RESOURCE_EXHAUSTED with RetryInfo.
	var last error
	for range 20 {
		if _, last = e.sessions.CreateSession(ctx, &accessv1.CreateSessionRequest{Email: "ed@example.org", Password: "guess guess guess"}); status.Code(last) == codes.ResourceExhausted {
			break
		}
	}
	var retry *errdetails.RetryInfo
	for _, d := range status.Convert(last).Details() {
		if ri, ok := d.(*errdetails.RetryInfo); ok {
			retry = ri
		}
	}
	if status.Code(last) != codes.ResourceExhausted || retry == nil || retry.GetRetryDelay().AsDuration() <= 0 {
		t.Errorf("repeated wrong passwords end with %v (retry info %v), want RESOURCE_EXHAUSTED with RetryInfo", last, retry)
	}
}
