// Package api serves beacon.access.v1.ApiKeyService on top of a domain.Service.
//
// Only admins call it (see [Rules]). An admin key limited to one site may create, list and revoke
// only keys of that site; other keys do not exist for it (NotFound).
package api

import (
	"context"
	"encoding/base64"
	"log/slog"
	"strconv"
	"strings"
	"time"

	accessv1 "github.com/beaconcms/beacon/gen/beacon/access/v1"
	"github.com/beaconcms/beacon/platform/apperr"
	"github.com/beaconcms/beacon/platform/auth"
	"github.com/beaconcms/beacon/services/access/internal/domain"
)

// Rules returns the access rules of ApiKeyService: every method needs RoleAdmin. Keys limited
// to a site are allowed; the server confines them to their site.
func Rules() auth.Policy {
	admins := auth.Rule{Roles: []auth.Role{auth.RoleAdmin}}
	return auth.Policy{
		accessv1.ApiKeyService_CreateApiKey_FullMethodName: admins,
		accessv1.ApiKeyService_ListApiKeys_FullMethodName:  admins,
		accessv1.ApiKeyService_RevokeApiKey_FullMethodName: admins,
	}
}

// KeyService is what the server needs of domain.Service.
type KeyService interface {
	Create(ctx context.Context, displayName string, role auth.Role, site string) (domain.Key, string, error)
	Get(ctx context.Context, id string) (domain.Key, error)
	List(ctx context.Context, q domain.ListQuery) (domain.Page, error)
	Revoke(ctx context.Context, id string) (domain.Key, error)
}

// Server implements accessv1.ApiKeyServiceServer. Handlers return apperr errors.
type Server struct {
	accessv1.UnimplementedApiKeyServiceServer
	keys   KeyService
	logger *slog.Logger
}

var _ accessv1.ApiKeyServiceServer = (*Server)(nil)

// NewServer returns a Server on keys. A nil logger discards.
func NewServer(keys KeyService, logger *slog.Logger) *Server {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Server{keys: keys, logger: logger}
}

// CreateApiKey creates a key and returns it with its secret. Output-only fields of the request
// (name, create_time, revoke_time, key_prefix) are ignored.
func (s *Server) CreateApiKey(ctx context.Context, req *accessv1.CreateApiKeyRequest) (*accessv1.CreateApiKeyResponse, error) {
	p, err := admin(ctx)
	if err != nil {
		return nil, err
	}
	in := req.GetApiKey()
	if in == nil {
		return nil, apperr.InvalidField("api_key", "is required")
	}
	k, err := fromProto(in)
	if err != nil {
		return nil, err
	}
	if !p.CoversSite(k.Site) { // a site admin may not create all-sites keys either
		return nil, apperr.New(apperr.PermissionDenied,
			"API key %s is limited to %s and may only create keys for that site", p.KeyName, siteName(p.Site))
	}
	k, token, err := s.keys.Create(ctx, k.DisplayName, k.Role, k.Site)
	if err != nil {
		return nil, prefixFields("api_key.", err)
	}
	s.logger.InfoContext(ctx, "API key created through the API", "key", k.Name(), "by", p.KeyName)
	return &accessv1.CreateApiKeyResponse{ApiKey: toProto(k), Secret: token}, nil
}

// ListApiKeys lists keys newest first: all of them for an all-sites admin, the site's for a
// site admin. page_size 0 means 20, more than 100 means 100.
func (s *Server) ListApiKeys(ctx context.Context, req *accessv1.ListApiKeysRequest) (*accessv1.ListApiKeysResponse, error) {
	p, err := admin(ctx)
	if err != nil {
		return nil, err
	}
	var v apperr.Violations
	if req.GetPageSize() < 0 {
		v.Add("page_size", "must not be negative")
	}
	after, err := decodePageToken(req.GetPageToken())
	if err != nil {
		v.Add("page_token", "is not a page token returned by ListApiKeys")
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	page, err := s.keys.List(ctx, domain.ListQuery{Site: p.Site, PageSize: int(req.GetPageSize()), After: after})
	if err != nil {
		return nil, err
	}
	resp := &accessv1.ListApiKeysResponse{
		ApiKeys:       make([]*accessv1.ApiKey, 0, len(page.Keys)),
		NextPageToken: encodePageToken(page.Next),
	}
	for _, k := range page.Keys {
		resp.ApiKeys = append(resp.ApiKeys, toProto(k))
	}
	return resp, nil
}

// RevokeApiKey revokes a key; revoking a revoked key returns it unchanged.
func (s *Server) RevokeApiKey(ctx context.Context, req *accessv1.RevokeApiKeyRequest) (*accessv1.ApiKey, error) {
	p, err := admin(ctx)
	if err != nil {
		return nil, err
	}
	id, err := keyIDFromName("name", req.GetName())
	if err != nil {
		return nil, err
	}
	if p.Site != "" {
		// A key's site never changes, so checking it before revoking is not racy.
		k, err := s.keys.Get(ctx, id)
		if err != nil {
			return nil, err
		}
		if k.Site != p.Site {
			return nil, apperr.New(apperr.NotFound, "API key %s not found", req.GetName())
		}
	}
	k, err := s.keys.Revoke(ctx, id)
	if err != nil {
		return nil, err
	}
	s.logger.InfoContext(ctx, "API key revoked through the API", "key", k.Name(), "by", p.KeyName)
	return toProto(k), nil
}

// admin returns the caller, who must hold an admin key. The policy already ensures it; this
// keeps the server safe if it is ever registered without it.
func admin(ctx context.Context) (auth.Principal, error) {
	p, ok := auth.FromContext(ctx)
	if !ok {
		return auth.Principal{}, apperr.New(apperr.Unauthenticated, "missing API key: send 'authorization: Bearer <key>'")
	}
	if p.Role != auth.RoleAdmin {
		return auth.Principal{}, apperr.New(apperr.PermissionDenied, "API key %s has role %s; managing API keys needs admin", p.KeyName, p.Role)
	}
	return p, nil
}

// prefixFields returns err with prefix added to the field names of an Invalid error.
func prefixFields(prefix string, err error) error {
	e, ok := apperr.As(err)
	if !ok || len(e.Fields) == 0 {
		return err
	}
	out := &apperr.Error{Code: e.Code, Message: e.Message}
	for _, f := range e.Fields {
		out.Fields = append(out.Fields, apperr.FieldViolation{Field: prefix + f.Field, Description: f.Description})
	}
	return out
}

// Page tokens are base64url (no padding) of "<create time, Unix milliseconds>.<key id>" of the
// last key of the previous page. decodePageToken accepts only tokens encodePageToken makes.

func encodePageToken(c domain.Cursor) string {
	if c.IsZero() {
		return ""
	}
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(c.CreateTime.UnixMilli(), 10) + "." + c.ID))
}

func decodePageToken(token string) (domain.Cursor, error) {
	if token == "" {
		return domain.Cursor{}, nil
	}
	invalid := apperr.InvalidField("page_token", "is not a page token returned by ListApiKeys")
	raw, err := base64.RawURLEncoding.Strict().DecodeString(token)
	if err != nil {
		return domain.Cursor{}, invalid
	}
	millis, id, ok := strings.Cut(string(raw), ".")
	if !ok || !domain.ValidID(id) {
		return domain.Cursor{}, invalid
	}
	ms, err := strconv.ParseInt(millis, 10, 64)
	if err != nil || ms < 0 {
		return domain.Cursor{}, invalid
	}
	c := domain.Cursor{CreateTime: time.UnixMilli(ms).UTC(), ID: id}
	if encodePageToken(c) != token { // only the canonical spelling, e.g. no leading zeros or "+"
		return domain.Cursor{}, invalid
	}
	return c, nil
}
