package api

import (
	"context"
	"strings"

	contentv1 "github.com/beaconcms/beacon/gen/beacon/content/v1"
	"github.com/beaconcms/beacon/platform/apperr"
	"github.com/beaconcms/beacon/platform/auth"
	"github.com/beaconcms/beacon/platform/pagetoken"
	"github.com/beaconcms/beacon/services/content/internal/domain"
	"google.golang.org/protobuf/types/known/emptypb"
)

// SiteServer implements contentv1.SiteServiceServer.
type SiteServer struct {
	contentv1.UnimplementedSiteServiceServer
	service *domain.Service
	tokens  TokenCodec
}

// NewSiteServer returns the site API over service.
func NewSiteServer(service *domain.Service, tokens TokenCodec) *SiteServer {
	return &SiteServer{service: service, tokens: tokens}
}

func principal(ctx context.Context) (auth.Principal, error) {
	p, ok := auth.FromContext(ctx)
	if !ok {
		return auth.Principal{}, apperr.New(apperr.Unauthenticated, "missing API key")
	}
	return p, nil
}

func (s *SiteServer) CreateSite(ctx context.Context, req *contentv1.CreateSiteRequest) (*contentv1.Site, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	if req.GetSite() == nil {
		return nil, apperr.InvalidField("site", "is required")
	}
	site, err := s.service.CreateSite(ctx, p, fromProtoSite(req.GetSiteId(), req.GetSite()))
	if err != nil {
		return nil, err
	}
	return toProtoSite(site), nil
}

func (s *SiteServer) GetSite(ctx context.Context, req *contentv1.GetSiteRequest) (*contentv1.Site, error) {
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

func (s *SiteServer) ListSites(ctx context.Context, req *contentv1.ListSitesRequest) (*contentv1.ListSitesResponse, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	size, err := pageSize(req.GetPageSize())
	if err != nil {
		return nil, err
	}
	scope := pagetoken.Scope("ListSites", p.KeyName)
	var tok sitePageToken
	if req.GetPageToken() != "" {
		if err := s.tokens.Decode(req.GetPageToken(), scope, &tok); err != nil {
			return nil, err
		}
	}
	sites, err := s.service.ListSites(ctx, p, tok.After, size+1)
	if err != nil {
		return nil, err
	}
	resp := &contentv1.ListSitesResponse{}
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

func (s *SiteServer) UpdateSite(ctx context.Context, req *contentv1.UpdateSiteRequest) (*contentv1.Site, error) {
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
	fields := maskPaths(req.GetUpdateMask().GetPaths(), siteIgnoredPaths)
	site, err := s.service.UpdateSite(ctx, p, fromProtoSite(id, req.GetSite()), fields, req.GetSite().GetEtag())
	if err != nil {
		return nil, err
	}
	return toProtoSite(site), nil
}

func (s *SiteServer) DeleteSite(ctx context.Context, req *contentv1.DeleteSiteRequest) (*emptypb.Empty, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	id, err := siteIDFromName("name", req.GetName())
	if err != nil {
		return nil, err
	}
	if err := s.service.DeleteSite(ctx, p, id); err != nil {
		return nil, err
	}
	return &emptypb.Empty{}, nil
}

// siteIgnoredPaths are identifier and output-only fields; AIP-203 says to ignore them in masks.
var siteIgnoredPaths = map[string]bool{"name": true, "etag": true, "create_time": true, "update_time": true}

// articleIgnoredPaths likewise for articles.
var articleIgnoredPaths = map[string]bool{"name": true, "etag": true, "state": true, "create_time": true, "update_time": true,
	"publish_time": true, "scheduled_publish_time": true, "delete_time": true, "revision_id": true,
	"published_revision_id": true, "rendering": true, "creator": true}

// maskPaths drops ignored paths; "*" means every field (returned as nil). Paths may use proto
// names (editor_notes) or, as REST clients write them, JSON names (editorNotes).
func maskPaths(paths []string, ignored map[string]bool) []string {
	var out []string
	for _, p := range paths {
		if p == "*" {
			return nil
		}
		p = snakeCase(p)
		if !ignored[p] {
			out = append(out, p)
		}
	}
	if len(paths) > 0 && len(out) == 0 {
		return []string{}
	}
	return out
}

// snakeCase turns a lowerCamelCase field path into proto names: "seo.metaTitle" → "seo.meta_title".
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
