package delivery

import (
	"context"
	"strconv"
	"strings"
	"time"

	contentv1 "github.com/beaconcms/beacon/gen/beacon/content/v1"
	"github.com/beaconcms/beacon/platform/apperr"
	"github.com/beaconcms/beacon/platform/auth"
	"github.com/beaconcms/beacon/platform/pagetoken"
	"github.com/beaconcms/beacon/services/content/internal/readmodel"
	"github.com/beaconcms/beacon/services/content/internal/render"
	"google.golang.org/genproto/googleapis/api/httpbody"
)

// Server implements contentv1.DeliveryServiceServer for internal tools, from the same model and
// with the same access rule as the REST handler.
type Server struct {
	contentv1.UnimplementedDeliveryServiceServer
	model  *readmodel.Model
	tokens *pagetoken.Codec
}

// NewServer returns the gRPC delivery API.
func NewServer(model *readmodel.Model, tokens *pagetoken.Codec) *Server {
	return &Server{model: model, tokens: tokens}
}

// Rules lets anyone call the delivery RPCs; Server.view then applies the site's own rule
// (public, or a key covering the site). The interceptor still refuses a bad key.
func Rules() auth.Policy {
	public := auth.Rule{Public: true}
	return auth.Policy{
		contentv1.DeliveryService_ListPublishedArticles_FullMethodName:   public,
		contentv1.DeliveryService_GetPublishedArticle_FullMethodName:     public,
		contentv1.DeliveryService_SearchPublishedArticles_FullMethodName: public,
		contentv1.DeliveryService_GetSitemap_FullMethodName:              public,
		contentv1.DeliveryService_GetFeed_FullMethodName:                 public,
	}
}

func (s *Server) view(ctx context.Context, name string) (*readmodel.View, error) {
	site, ok := strings.CutPrefix(name, "sites/")
	if !ok || site == "" || strings.Contains(site, "/") {
		return nil, apperr.InvalidField("site", "must be a site name like sites/kratom-help, got %q", name)
	}
	p, hasKey := auth.FromContext(ctx)
	return s.model.Access(site, p, hasKey)
}

func (s *Server) GetPublishedArticle(ctx context.Context, req *contentv1.GetPublishedArticleRequest) (*contentv1.PublishedArticle, error) {
	v, err := s.view(ctx, req.GetSite())
	if err != nil {
		return nil, err
	}
	e := v.Article(req.GetSlug())
	if e == nil {
		if to, moved := v.Redirect(req.GetSlug()); moved {
			return &contentv1.PublishedArticle{RedirectSlug: to}, nil
		}
		return nil, articleNotFound(v, req.GetSlug())
	}
	html, err := e.HTML()
	if err != nil {
		return nil, err
	}
	return render.PublishedArticle(v.Site(), e.Live, html, time.Now())
}

func (s *Server) ListPublishedArticles(ctx context.Context, req *contentv1.ListPublishedArticlesRequest) (*contentv1.ListPublishedArticlesResponse, error) {
	v, err := s.view(ctx, req.GetSite())
	if err != nil {
		return nil, err
	}
	size, err := parsePageSize(strconv.Itoa(int(req.GetPageSize())), "page_size", defaultListSize, maxListSize)
	if err != nil {
		return nil, err
	}
	entries, next, err := listCards(s.tokens, v, req.GetTag(), req.GetTopic(), req.GetPageToken(), size)
	if err != nil {
		return nil, err
	}
	resp := &contentv1.ListPublishedArticlesResponse{NextPageToken: next}
	for _, e := range entries {
		resp.Articles = append(resp.Articles, e.Card())
	}
	return resp, nil
}

func (s *Server) SearchPublishedArticles(ctx context.Context, req *contentv1.SearchPublishedArticlesRequest) (*contentv1.SearchPublishedArticlesResponse, error) {
	v, err := s.view(ctx, req.GetSite())
	if err != nil {
		return nil, err
	}
	res, err := runSearch(ctx, s.tokens, v, req.GetQ(), strconv.Itoa(int(req.GetPageSize())), req.GetPageToken())
	if err != nil {
		return nil, err
	}
	resp := &contentv1.SearchPublishedArticlesResponse{NextPageToken: res.next, TotalSize: int32(res.total)}
	for _, h := range res.hits {
		resp.Results = append(resp.Results, &contentv1.SearchResult{Article: h.Entry.Card(), Score: h.Score})
	}
	return resp, nil
}

func (s *Server) GetSitemap(ctx context.Context, req *contentv1.GetSitemapRequest) (*httpbody.HttpBody, error) {
	v, err := s.view(ctx, req.GetSite())
	if err != nil {
		return nil, err
	}
	b, err := v.Sitemap()
	if err != nil {
		return nil, err
	}
	return &httpbody.HttpBody{ContentType: hdrXML[0], Data: b.Raw()}, nil
}

func (s *Server) GetFeed(ctx context.Context, req *contentv1.GetFeedRequest) (*httpbody.HttpBody, error) {
	v, err := s.view(ctx, req.GetSite())
	if err != nil {
		return nil, err
	}
	b, err := v.Feed()
	if err != nil {
		return nil, err
	}
	return &httpbody.HttpBody{ContentType: hdrAtom[0], Data: b.Raw()}, nil
}
