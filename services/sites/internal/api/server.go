// Package api serves beacon.sites.v1.SiteService on top of the domain service: it converts
// between protobuf messages and domain types. Handlers return apperr errors; platform/grpcserver
// maps them to statuses.
package api

import (
	"context"
	"slices"
	"strings"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	sitesv1 "github.com/beaconcms/beacon/gen/beacon/sites/v1"
	"github.com/beaconcms/beacon/platform/apperr"
	"github.com/beaconcms/beacon/platform/auth"
	"github.com/beaconcms/beacon/platform/claimlint"
	"github.com/beaconcms/beacon/platform/pagetoken"
	"github.com/beaconcms/beacon/platform/siteid"
	"github.com/beaconcms/beacon/services/sites/internal/domain"
)

// Rules is the access policy of SiteService. Roles decide which methods a key may call; the
// domain then limits every call to the sites the key covers.
func Rules() auth.Policy {
	readers := auth.Rule{Roles: []auth.Role{auth.RoleAdmin, auth.RoleEditor, auth.RoleViewer}}
	admins := auth.Rule{Roles: []auth.Role{auth.RoleAdmin}}
	globalAdmins := auth.Rule{Roles: []auth.Role{auth.RoleAdmin}, AllSitesOnly: true}
	return auth.Policy{
		sitesv1.SiteService_CreateSite_FullMethodName:   globalAdmins,
		sitesv1.SiteService_GetSite_FullMethodName:      readers,
		sitesv1.SiteService_ListSites_FullMethodName:    readers,
		sitesv1.SiteService_UpdateSite_FullMethodName:   admins,
		sitesv1.SiteService_DeleteSite_FullMethodName:   globalAdmins,
		sitesv1.SiteService_UndeleteSite_FullMethodName: globalAdmins,
	}
}

// Page sizes of ListSites (AIP-158).
const (
	defaultPageSize = 20
	maxPageSize     = 100
)

// TokenCodec signs and checks page tokens (platform/pagetoken.Codec).
type TokenCodec interface {
	Encode(scope string, payload any) (string, error)
	Decode(token, scope string, payload any) error
}

// Server implements sitesv1.SiteServiceServer.
type Server struct {
	sitesv1.UnimplementedSiteServiceServer
	service *domain.Service
	tokens  TokenCodec
}

var _ sitesv1.SiteServiceServer = (*Server)(nil)

// NewServer returns the site API over service.
func NewServer(service *domain.Service, tokens TokenCodec) *Server {
	return &Server{service: service, tokens: tokens}
}

func principal(ctx context.Context) (auth.Principal, error) {
	p, ok := auth.FromContext(ctx)
	if !ok {
		return auth.Principal{}, apperr.New(apperr.Unauthenticated, "missing API key")
	}
	return p, nil
}

// CreateSite creates a site; output-only fields of the request are ignored.
func (s *Server) CreateSite(ctx context.Context, req *sitesv1.CreateSiteRequest) (*sitesv1.Site, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	if req.GetSite() == nil {
		return nil, apperr.InvalidField("site", "is required")
	}
	in := fromProtoSite(req.GetSiteId(), req.GetSite())
	if req.GetSite().PublishGates == nil {
		in.PublishGates = true // the clinical publish gates are on unless a new site says otherwise
	}
	site, err := s.service.CreateSite(ctx, p, in)
	if err != nil {
		return nil, err
	}
	return toProtoSite(site), nil
}

// GetSite returns a site, deleted ones too.
func (s *Server) GetSite(ctx context.Context, req *sitesv1.GetSiteRequest) (*sitesv1.Site, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	id, err := siteIDFromName("name", req.GetName())
	if err != nil {
		return nil, err
	}
	site, err := s.service.GetSite(ctx, p, id)
	if err != nil {
		return nil, err
	}
	return toProtoSite(site), nil
}

type sitePageToken struct {
	After string `json:"a"`
}

// ListSites lists sites by id; deleted ones with show_deleted. A page token is valid only for
// the key and show_deleted it was made for.
func (s *Server) ListSites(ctx context.Context, req *sitesv1.ListSitesRequest) (*sitesv1.ListSitesResponse, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	size := int(req.GetPageSize())
	switch {
	case size < 0:
		return nil, apperr.InvalidField("page_size", "must not be negative")
	case size == 0:
		size = defaultPageSize
	case size > maxPageSize:
		size = maxPageSize
	}
	scope := pagetoken.Scope("ListSites", p.KeyName, boolText(req.GetShowDeleted()))
	var tok sitePageToken
	if req.GetPageToken() != "" {
		if err := s.tokens.Decode(req.GetPageToken(), scope, &tok); err != nil {
			return nil, err
		}
	}
	sites, err := s.service.ListSites(ctx, p, tok.After, size+1, req.GetShowDeleted())
	if err != nil {
		return nil, err
	}
	resp := &sitesv1.ListSitesResponse{}
	if len(sites) > size {
		sites = sites[:size]
		next, err := s.tokens.Encode(scope, sitePageToken{After: sites[size-1].ID})
		if err != nil {
			return nil, err
		}
		resp.NextPageToken = next
	}
	for _, site := range sites {
		resp.Sites = append(resp.Sites, toProtoSite(site))
	}
	return resp, nil
}

// UpdateSite changes the fields of update_mask (every writable one when it is empty or "*").
func (s *Server) UpdateSite(ctx context.Context, req *sitesv1.UpdateSiteRequest) (*sitesv1.Site, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	if req.GetSite() == nil {
		return nil, apperr.InvalidField("site", "is required")
	}
	id, err := siteIDFromName("site.name", req.GetSite().GetName())
	if err != nil {
		return nil, err
	}
	fields := maskPaths(req.GetUpdateMask().GetPaths())
	site, err := s.service.UpdateSite(ctx, p, fromProtoSite(id, req.GetSite()), fields, req.GetSite().GetEtag())
	if err != nil {
		return nil, err
	}
	return toProtoSite(site), nil
}

// DeleteSite soft-deletes a site and returns it.
func (s *Server) DeleteSite(ctx context.Context, req *sitesv1.DeleteSiteRequest) (*sitesv1.Site, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	id, err := siteIDFromName("name", req.GetName())
	if err != nil {
		return nil, err
	}
	site, err := s.service.DeleteSite(ctx, p, id, req.GetEtag())
	if err != nil {
		return nil, err
	}
	return toProtoSite(site), nil
}

// UndeleteSite restores a soft-deleted site and returns it.
func (s *Server) UndeleteSite(ctx context.Context, req *sitesv1.UndeleteSiteRequest) (*sitesv1.Site, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	id, err := siteIDFromName("name", req.GetName())
	if err != nil {
		return nil, err
	}
	site, err := s.service.UndeleteSite(ctx, p, id)
	if err != nil {
		return nil, err
	}
	return toProtoSite(site), nil
}

// siteIDFromName parses "sites/{id}", naming field in errors.
func siteIDFromName(field, name string) (string, error) {
	id, ok := strings.CutPrefix(name, "sites/")
	if !ok || !siteid.Valid(id) {
		return "", apperr.InvalidField(field, "must be a site name like sites/kratom-help, got %q", name)
	}
	return id, nil
}

// ignoredPaths are identifier and output-only fields; AIP-203 says to ignore them in masks.
var ignoredPaths = map[string]bool{"name": true, "etag": true, "create_time": true, "update_time": true, "delete_time": true}

// maskPaths drops ignored paths; "*" or no paths mean every field (nil). Paths may use proto
// names (base_url) or, as REST clients write them, JSON names (baseUrl).
func maskPaths(paths []string) []string {
	var out []string
	for _, p := range paths {
		if p == "*" {
			return nil
		}
		p = snakeCase(p)
		if !ignoredPaths[p] {
			out = append(out, p)
		}
	}
	if len(paths) > 0 && len(out) == 0 {
		return []string{}
	}
	return out
}

// snakeCase turns a lowerCamelCase field path into proto names: "baseUrl" → "base_url".
func snakeCase(path string) string {
	var b strings.Builder
	for _, r := range path {
		if r >= 'A' && r <= 'Z' {
			b.WriteByte('_')
			r += 'a' - 'A'
		}
		b.WriteRune(r)
	}
	return b.String()
}

func boolText(b bool) string {
	if b {
		return "deleted"
	}
	return "live"
}

func timestampOrNil(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}

// toProtoSite converts a domain site to the wire.
func toProtoSite(s *domain.Site) *sitesv1.Site {
	return &sitesv1.Site{
		Name:                   s.Name(),
		DisplayName:            s.DisplayName,
		BaseUrl:                s.BaseURL,
		DefaultLocale:          s.DefaultLocale,
		CrisisLineText:         s.CrisisLineText,
		Public:                 s.Public,
		CacheMaxAgeSeconds:     int32(s.CacheMaxAgeSeconds),
		ResourceStaleAfterDays: int32(s.ResourceStaleAfterDays),
		HideStaleResources:     s.HideStaleResources,
		Commercial:             s.Commercial,
		ReviewValidityMonths:   int32(s.ReviewValidityMonths),
		PublishGates:           proto.Bool(s.PublishGates),
		ExampleContent:         s.ExampleContent,
		LintTuning:             toProtoLintTuning(s.LintTuning),
		AllowedOrigins:         slices.Clone(s.AllowedOrigins),
		CreateTime:             timestampOrNil(s.CreateTime),
		UpdateTime:             timestampOrNil(s.UpdateTime),
		DeleteTime:             timestampOrNil(s.DeleteTime),
		Etag:                   s.Etag(),
	}
}

// fromProtoSite takes the writable fields of s for the site id.
func fromProtoSite(id string, s *sitesv1.Site) *domain.Site {
	return &domain.Site{
		ID:                     id,
		DisplayName:            s.GetDisplayName(),
		BaseURL:                s.GetBaseUrl(),
		DefaultLocale:          s.GetDefaultLocale(),
		CrisisLineText:         s.GetCrisisLineText(),
		Public:                 s.GetPublic(),
		CacheMaxAgeSeconds:     int(s.GetCacheMaxAgeSeconds()),
		ResourceStaleAfterDays: int(s.GetResourceStaleAfterDays()),
		HideStaleResources:     s.GetHideStaleResources(),
		Commercial:             s.GetCommercial(),
		ReviewValidityMonths:   int(s.GetReviewValidityMonths()),
		PublishGates:           s.GetPublishGates(),
		ExampleContent:         s.GetExampleContent(),
		LintTuning:             fromProtoLintTuning(s.GetLintTuning()),
		AllowedOrigins:         slices.Clone(s.GetAllowedOrigins()),
	}
}

// lintSeverityToProto and lintSeverityFromProto map the lint tuning's severities, which the
// domain keeps as the rules file spells them ("error", "warning", "info"). A severity the map
// lacks (unspecified, or a number no release defines) becomes "", which the domain refuses,
// naming the entry.
var lintSeverityToProto = map[string]sitesv1.LintTuning_Severity{
	"info":    sitesv1.LintTuning_SEVERITY_INFO,
	"warning": sitesv1.LintTuning_SEVERITY_WARNING,
	"error":   sitesv1.LintTuning_SEVERITY_ERROR,
}

var lintSeverityFromProto = map[sitesv1.LintTuning_Severity]string{
	sitesv1.LintTuning_SEVERITY_INFO:    "info",
	sitesv1.LintTuning_SEVERITY_WARNING: "warning",
	sitesv1.LintTuning_SEVERITY_ERROR:   "error",
}

// toProtoLintTuning converts a site's lint tuning; nil when it tunes nothing.
func toProtoLintTuning(t claimlint.SiteTuning) *sitesv1.LintTuning {
	if len(t.Disable) == 0 && len(t.Severity) == 0 {
		return nil
	}
	out := &sitesv1.LintTuning{DisabledRules: slices.Clone(t.Disable)}
	if len(t.Severity) > 0 {
		out.RuleSeverities = make(map[string]sitesv1.LintTuning_Severity, len(t.Severity))
		for id, sev := range t.Severity {
			out.RuleSeverities[id] = lintSeverityToProto[sev]
		}
	}
	return out
}

// fromProtoLintTuning takes a lint tuning from the wire.
func fromProtoLintTuning(t *sitesv1.LintTuning) claimlint.SiteTuning {
	out := claimlint.SiteTuning{Disable: slices.Clone(t.GetDisabledRules())}
	if len(t.GetRuleSeverities()) > 0 {
		out.Severity = make(map[string]string, len(t.GetRuleSeverities()))
		for id, sev := range t.GetRuleSeverities() {
			out.Severity[id] = lintSeverityFromProto[sev]
		}
	}
	return out
}
