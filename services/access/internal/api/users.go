package api

import (
	"context"
	"encoding/base64"
	"fmt"
	"log/slog"
	"slices"
	"strings"

	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/timestamppb"

	accessv1 "github.com/beaconcms/beacon/gen/beacon/access/v1"
	"github.com/beaconcms/beacon/platform/apperr"
	"github.com/beaconcms/beacon/platform/auth"
	"github.com/beaconcms/beacon/platform/siteid"
	"github.com/beaconcms/beacon/services/access/internal/domain"
)

const userNamePrefix = "users/"

// UserRules returns the access rules of UserService (admin only; site admins are confined to
// users whose every role is on their site by the server) and SessionService (CreateSession is
// public: it is the sign-in; the others need a session of any role, checked by the server).
func UserRules() auth.Policy {
	admins := auth.Rule{Roles: []auth.Role{auth.RoleAdmin}}
	anyone := auth.Rule{Roles: []auth.Role{auth.RoleAdmin, auth.RoleEditor, auth.RoleViewer, auth.RoleDelivery}}
	return auth.Policy{
		accessv1.UserService_CreateUser_FullMethodName:      admins,
		accessv1.UserService_GetUser_FullMethodName:         admins,
		accessv1.UserService_ListUsers_FullMethodName:       admins,
		accessv1.UserService_UpdateUserRoles_FullMethodName: admins,
		accessv1.UserService_DisableUser_FullMethodName:     admins,
		accessv1.UserService_SetUserPassword_FullMethodName: admins,

		accessv1.SessionService_CreateSession_FullMethodName:                {Public: true},
		accessv1.SessionService_GetCurrentSession_FullMethodName:            anyone,
		accessv1.SessionService_DeleteCurrentSession_FullMethodName:         anyone,
		accessv1.SessionService_DeleteAllCurrentUserSessions_FullMethodName: anyone,
		accessv1.SessionService_ChangeCurrentUserPassword_FullMethodName:    anyone,
	}
}

// UserManager is what the servers need of domain.Users.
type UserManager interface {
	CreateUser(ctx context.Context, email, displayName string, roles []domain.RoleBinding, password string) (domain.User, string, error)
	GetUser(ctx context.Context, email string) (domain.User, error)
	ListUsers(ctx context.Context, q domain.UserListQuery) (domain.UserPage, error)
	UpdateRoles(ctx context.Context, email string, roles []domain.RoleBinding) (domain.User, error)
	Disable(ctx context.Context, email string) (domain.User, error)
	SetPassword(ctx context.Context, email, password string) (domain.User, string, error)
	SignIn(ctx context.Context, email, password string) (string, domain.Session, domain.User, error)
	Current(ctx context.Context, credential string) (domain.Session, domain.User, auth.Principal, error)
	SignOut(ctx context.Context, credential string) error
	SignOutEverywhere(ctx context.Context, credential string) error
	ChangeOwnPassword(ctx context.Context, credential, currentPassword, newPassword string) (domain.User, error)
}

// UserServer implements accessv1.UserServiceServer. Handlers return apperr errors.
type UserServer struct {
	accessv1.UnimplementedUserServiceServer
	users  UserManager
	logger *slog.Logger
}

// NewUserServer returns a UserServer on users. A nil logger discards.
func NewUserServer(users UserManager, logger *slog.Logger) *UserServer {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &UserServer{users: users, logger: logger}
}

// CreateUser creates a user; a site admin only with roles on its site.
func (s *UserServer) CreateUser(ctx context.Context, req *accessv1.CreateUserRequest) (*accessv1.CreateUserResponse, error) {
	p, err := userAdmin(ctx)
	if err != nil {
		return nil, err
	}
	in := req.GetUser()
	if in == nil {
		return nil, apperr.InvalidField("user", "is required")
	}
	// Every bad field at once: the role sites' names here, the rest by the domain's rules.
	roles, v := parseRoles("user.roles", in.GetRoles())
	if e, ok := apperr.As(domain.ValidateNewUser(in.GetEmail(), in.GetDisplayName(), roles, req.GetPassword())); ok {
		for _, f := range e.Fields {
			if f.Field != "password" {
				f.Field = "user." + f.Field
			}
			if !slices.ContainsFunc(v, func(o apperr.FieldViolation) bool { return o.Field == f.Field }) {
				v = append(v, f)
			}
		}
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	if err := confinedRoles(p, roles); err != nil {
		return nil, err
	}
	u, generated, err := s.users.CreateUser(ctx, in.GetEmail(), in.GetDisplayName(), roles, req.GetPassword())
	if err != nil {
		return nil, prefixUserFields(err)
	}
	s.logger.InfoContext(ctx, "user created through the API", "user", u.Name(), "by", p.KeyName)
	return &accessv1.CreateUserResponse{User: userToProto(u), GeneratedPassword: generated}, nil
}

// prefixUserFields names the fields of CreateUser errors in the request: "user.email", ...,
// and "password" as is.
func prefixUserFields(err error) error {
	e, ok := apperr.As(err)
	if !ok || len(e.Fields) == 0 {
		return err
	}
	out := &apperr.Error{Code: e.Code, Message: e.Message}
	for _, f := range e.Fields {
		if f.Field != "password" {
			f.Field = "user." + f.Field
		}
		out.Fields = append(out.Fields, f)
	}
	return out
}

// GetUser returns a user the caller may manage.
func (s *UserServer) GetUser(ctx context.Context, req *accessv1.GetUserRequest) (*accessv1.User, error) {
	u, _, err := s.managed(ctx, req.GetName())
	if err != nil {
		return nil, err
	}
	return userToProto(u), nil
}

// ListUsers lists users by email: all for an all-sites admin, those only on its site for a site
// admin.
func (s *UserServer) ListUsers(ctx context.Context, req *accessv1.ListUsersRequest) (*accessv1.ListUsersResponse, error) {
	p, err := userAdmin(ctx)
	if err != nil {
		return nil, err
	}
	var v apperr.Violations
	if req.GetPageSize() < 0 {
		v.Add("page_size", "must not be negative")
	}
	after, ok := decodeUserPageToken(req.GetPageToken())
	if !ok {
		v.Add("page_token", "is not a page token returned by ListUsers")
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	page, err := s.users.ListUsers(ctx, domain.UserListQuery{Site: p.Site, PageSize: int(req.GetPageSize()), After: after})
	if err != nil {
		return nil, err
	}
	resp := &accessv1.ListUsersResponse{Users: make([]*accessv1.User, 0, len(page.Users)), NextPageToken: encodeUserPageToken(page.Next)}
	for _, u := range page.Users {
		resp.Users = append(resp.Users, userToProto(u))
	}
	return resp, nil
}

// UpdateUserRoles replaces a user's roles.
func (s *UserServer) UpdateUserRoles(ctx context.Context, req *accessv1.UpdateUserRolesRequest) (*accessv1.User, error) {
	_, p, err := s.managed(ctx, req.GetName())
	if err != nil {
		return nil, err
	}
	roles, err := rolesFromProto("roles", req.GetRoles())
	if err != nil {
		return nil, err
	}
	if err := confinedRoles(p, roles); err != nil {
		return nil, err
	}
	u, err := s.users.UpdateRoles(ctx, strings.TrimPrefix(req.GetName(), userNamePrefix), roles)
	if err != nil {
		return nil, err
	}
	s.logger.InfoContext(ctx, "user roles updated through the API", "user", u.Name(), "by", p.KeyName)
	return userToProto(u), nil
}

// DisableUser disables a user and revokes its sessions.
func (s *UserServer) DisableUser(ctx context.Context, req *accessv1.DisableUserRequest) (*accessv1.User, error) {
	_, p, err := s.managed(ctx, req.GetName())
	if err != nil {
		return nil, err
	}
	u, err := s.users.Disable(ctx, strings.TrimPrefix(req.GetName(), userNamePrefix))
	if err != nil {
		return nil, err
	}
	s.logger.InfoContext(ctx, "user disabled through the API", "user", u.Name(), "by", p.KeyName)
	return userToProto(u), nil
}

// SetUserPassword sets a user's password and revokes its sessions.
func (s *UserServer) SetUserPassword(ctx context.Context, req *accessv1.SetUserPasswordRequest) (*accessv1.SetUserPasswordResponse, error) {
	_, p, err := s.managed(ctx, req.GetName())
	if err != nil {
		return nil, err
	}
	u, generated, err := s.users.SetPassword(ctx, strings.TrimPrefix(req.GetName(), userNamePrefix), req.GetPassword())
	if err != nil {
		return nil, err
	}
	s.logger.InfoContext(ctx, "user password set through the API", "user", u.Name(), "by", p.KeyName)
	return &accessv1.SetUserPasswordResponse{User: userToProto(u), GeneratedPassword: generated}, nil
}

// managed parses name ("users/{email}", field "name") and returns the user, which the calling
// admin must cover: a site admin only users whose every role is on its site (others are
// NotFound, as for keys).
func (s *UserServer) managed(ctx context.Context, name string) (domain.User, auth.Principal, error) {
	p, err := userAdmin(ctx)
	if err != nil {
		return domain.User{}, auth.Principal{}, err
	}
	email, ok := strings.CutPrefix(name, userNamePrefix)
	if normalized, valid := domain.NormalizeEmail(email); !ok || !valid || normalized != email {
		return domain.User{}, auth.Principal{}, apperr.InvalidField("name", "must be a user name like users/editor@example.org (the email in lower case), got %q", name)
	}
	u, err := s.users.GetUser(ctx, email)
	if err != nil {
		return domain.User{}, auth.Principal{}, err
	}
	if p.Site != "" {
		for _, b := range u.Roles {
			if b.Site != p.Site {
				return domain.User{}, auth.Principal{}, apperr.New(apperr.NotFound, "user %s not found", name)
			}
		}
	}
	return u, p, nil
}

// userAdmin returns the caller, who must be an admin (the policy ensures it already).
func userAdmin(ctx context.Context) (auth.Principal, error) {
	p, ok := auth.FromContext(ctx)
	if !ok {
		return auth.Principal{}, apperr.New(apperr.Unauthenticated, "missing credentials: send 'authorization: Bearer <key>'")
	}
	if p.Role != auth.RoleAdmin {
		return auth.Principal{}, apperr.New(apperr.PermissionDenied, "%s has role %s; managing users needs admin", p.KeyName, p.Role)
	}
	return p, nil
}

// confinedRoles refuses, for a site admin, roles on other sites or on all sites.
func confinedRoles(p auth.Principal, roles []domain.RoleBinding) error {
	if p.Site == "" {
		return nil
	}
	for _, b := range roles {
		if b.Site != p.Site {
			return apperr.New(apperr.PermissionDenied, "%s is limited to sites/%s and may only grant roles on that site", p.KeyName, p.Site)
		}
	}
	return nil
}

// parseRoles converts role bindings, returning violations naming field[i].site for site names
// that are not "sites/{id}" (such a binding keeps the name as given, so the domain's checks see
// one binding per entry).
func parseRoles(field string, in []*accessv1.RoleBinding) ([]domain.RoleBinding, apperr.Violations) {
	var v apperr.Violations
	out := make([]domain.RoleBinding, 0, len(in))
	for i, b := range in {
		site, ok := strings.CutPrefix(b.GetSite(), siteNamePrefix)
		if b.GetSite() == "" {
			site, ok = "", true
		}
		if !ok || (site != "" && !siteid.Valid(site)) {
			v.Add(fmt.Sprintf("%s[%d].site", field, i), "must be empty (all sites) or a site name like sites/kratom-help, got %q", b.GetSite())
			site = b.GetSite()
		}
		out = append(out, domain.RoleBinding{Role: roleFromProto(b.GetRole()), Site: site})
	}
	return out, v
}

// rolesFromProto converts and validates role bindings, naming field "roles" and "roles[i].*".
func rolesFromProto(field string, in []*accessv1.RoleBinding) ([]domain.RoleBinding, error) {
	roles, v := parseRoles(field, in)
	if e, ok := apperr.As(domain.ValidateRoles(roles)); ok {
		for _, f := range e.Fields {
			name := strings.TrimSuffix(field, "roles") + f.Field
			if !slices.ContainsFunc(v, func(o apperr.FieldViolation) bool { return o.Field == name }) {
				v.Add(name, "%s", f.Description)
			}
		}
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	return roles, nil
}

func roleBindingToProto(b domain.RoleBinding) *accessv1.RoleBinding {
	return &accessv1.RoleBinding{Role: roleToProto(b.Role), Site: siteName(b.Site)}
}

// userToProto converts a user for callers; it never carries the password hash.
func userToProto(u domain.User) *accessv1.User {
	out := &accessv1.User{
		Name:        u.Name(),
		Email:       u.Email,
		DisplayName: u.DisplayName,
		CreateTime:  timestampOrNil(u.CreateTime),
		UpdateTime:  timestampOrNil(u.UpdateTime),
		DisableTime: timestampOrNil(u.DisableTime),
	}
	for _, b := range u.Roles {
		out.Roles = append(out.Roles, roleBindingToProto(b))
	}
	return out
}

// User page tokens are base64url (no padding) of the last email of the previous page.
func encodeUserPageToken(c domain.UserCursor) string {
	if c == "" {
		return ""
	}
	return base64.RawURLEncoding.EncodeToString([]byte(c))
}

func decodeUserPageToken(token string) (domain.UserCursor, bool) {
	if token == "" {
		return "", true
	}
	raw, err := base64.RawURLEncoding.Strict().DecodeString(token)
	if err != nil {
		return "", false
	}
	if n, ok := domain.NormalizeEmail(string(raw)); !ok || n != string(raw) {
		return "", false
	}
	return domain.UserCursor(raw), true
}

// SessionServer implements accessv1.SessionServiceServer.
type SessionServer struct {
	accessv1.UnimplementedSessionServiceServer
	users  UserManager
	logger *slog.Logger
}

// NewSessionServer returns a SessionServer on users. A nil logger discards.
func NewSessionServer(users UserManager, logger *slog.Logger) *SessionServer {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &SessionServer{users: users, logger: logger}
}

// CreateSession signs a user in.
func (s *SessionServer) CreateSession(ctx context.Context, req *accessv1.CreateSessionRequest) (*accessv1.CreateSessionResponse, error) {
	var v apperr.Violations
	if strings.TrimSpace(req.GetEmail()) == "" {
		v.Add("email", "is required")
	}
	if req.GetPassword() == "" {
		v.Add("password", "is required")
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	token, sess, u, err := s.users.SignIn(ctx, req.GetEmail(), req.GetPassword())
	if err != nil {
		return nil, err
	}
	acting, _ := u.ActingRole("")
	return &accessv1.CreateSessionResponse{Session: sessionToProto(sess, u, acting), Token: token}, nil
}

// GetCurrentSession returns the calling session and records its activity.
func (s *SessionServer) GetCurrentSession(ctx context.Context, _ *accessv1.GetCurrentSessionRequest) (*accessv1.Session, error) {
	credential, err := sessionCredential(ctx)
	if err != nil {
		return nil, err
	}
	sess, u, p, err := s.users.Current(ctx, credential)
	if err != nil {
		return nil, err
	}
	return sessionToProto(sess, u, domain.RoleBinding{Role: p.Role, Site: p.Site}), nil
}

// DeleteCurrentSession signs the calling session out.
func (s *SessionServer) DeleteCurrentSession(ctx context.Context, _ *accessv1.DeleteCurrentSessionRequest) (*emptypb.Empty, error) {
	credential, err := sessionCredential(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.users.SignOut(ctx, credential); err != nil {
		return nil, err
	}
	return &emptypb.Empty{}, nil
}

// DeleteAllCurrentUserSessions signs the calling user out everywhere.
func (s *SessionServer) DeleteAllCurrentUserSessions(ctx context.Context, _ *accessv1.DeleteAllCurrentUserSessionsRequest) (*emptypb.Empty, error) {
	credential, err := sessionCredential(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.users.SignOutEverywhere(ctx, credential); err != nil {
		return nil, err
	}
	return &emptypb.Empty{}, nil
}

// ChangeCurrentUserPassword changes the calling user's password and revokes all its sessions.
func (s *SessionServer) ChangeCurrentUserPassword(ctx context.Context, req *accessv1.ChangeCurrentUserPasswordRequest) (*emptypb.Empty, error) {
	credential, err := sessionCredential(ctx)
	if err != nil {
		return nil, err
	}
	if _, err := s.users.ChangeOwnPassword(ctx, credential, req.GetCurrentPassword(), req.GetNewPassword()); err != nil {
		return nil, err
	}
	return &emptypb.Empty{}, nil
}

// sessionCredential returns the caller's bearer credential, which must be a session's (the auth
// interceptor has verified it already).
func sessionCredential(ctx context.Context) (string, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	values := md.Get("authorization")
	if len(values) == 1 {
		if credential, ok := auth.BearerToken(values[0]); ok && domain.IsSessionCredential(credential) {
			return credential, nil
		}
	}
	return "", apperr.New(apperr.FailedPrecondition, "this method needs a session token (bs_...), not an API key")
}

func sessionToProto(sess domain.Session, u domain.User, acting domain.RoleBinding) *accessv1.Session {
	out := &accessv1.Session{
		User:        u.Name(),
		DisplayName: u.DisplayName,
		ActingAs:    roleBindingToProto(acting),
		CreateTime:  timestamppb.New(sess.CreateTime),
		ExpireTime:  timestamppb.New(sess.ExpireTime),
	}
	for _, b := range u.Roles {
		out.Roles = append(out.Roles, roleBindingToProto(b))
	}
	return out
}
