package api

import (
	"context"
	"strings"
	"time"

	contentv1 "github.com/beaconcms/beacon/gen/beacon/content/v1"
	"github.com/beaconcms/beacon/platform/apperr"
	"github.com/beaconcms/beacon/platform/listfilter"
	"github.com/beaconcms/beacon/platform/pagetoken"
	"github.com/beaconcms/beacon/services/content/internal/domain"
)

// ArticleServer implements contentv1.ArticleServiceServer.
type ArticleServer struct {
	contentv1.UnimplementedArticleServiceServer
	service *domain.Service
	tokens  TokenCodec
	filter  listfilter.Schema
}

// NewArticleServer returns the article API over service.
func NewArticleServer(service *domain.Service, tokens TokenCodec) *ArticleServer {
	return &ArticleServer{service: service, tokens: tokens, filter: domain.ArticleFilterSchema()}
}

func (s *ArticleServer) CreateArticle(ctx context.Context, req *contentv1.CreateArticleRequest) (*contentv1.Article, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	if req.GetArticle() == nil {
		return nil, apperr.InvalidField("article", "is required")
	}
	c, err := fromProtoContent(req.GetArticle())
	if err != nil {
		return nil, err
	}
	a, err := s.service.CreateArticle(ctx, p, c)
	if err != nil {
		return nil, err
	}
	return toProtoArticle(a), nil
}

func (s *ArticleServer) GetArticle(ctx context.Context, req *contentv1.GetArticleRequest) (*contentv1.Article, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	id, err := articleIDFromName("name", req.GetName())
	if err != nil {
		return nil, err
	}
	a, err := s.service.GetArticle(ctx, p, id)
	if err != nil {
		return nil, err
	}
	return toProtoArticle(a), nil
}

// articlePageToken is what a ListArticles page token carries.
type articlePageToken struct {
	Time  time.Time `json:"t,omitzero"`
	Title string    `json:"s,omitempty"`
	ID    string    `json:"i"`
}

func (s *ArticleServer) ListArticles(ctx context.Context, req *contentv1.ListArticlesRequest) (*contentv1.ListArticlesResponse, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	size, err := pagetoken.Size(req.GetPageSize())
	if err != nil {
		return nil, err
	}
	conds, err := listfilter.Parse(req.GetFilter(), s.filter)
	if err != nil {
		return nil, err
	}
	order, desc, err := parseOrderBy(req.GetOrderBy())
	if err != nil {
		return nil, err
	}
	basic, err := basicView(req.GetView())
	if err != nil {
		return nil, err
	}
	q := domain.ArticleQuery{Conditions: conds, ShowDeleted: req.GetShowDeleted(), OrderBy: order, Descending: desc, Limit: size + 1, Basic: basic}
	scope := pagetoken.Scope("ListArticles", p.KeyName, req.GetFilter(), req.GetOrderBy(), boolString(req.GetShowDeleted()))
	if req.GetPageToken() != "" {
		var tok articlePageToken
		if err := s.tokens.Decode(req.GetPageToken(), scope, &tok); err != nil {
			return nil, err
		}
		q.After = &domain.Cursor{Time: tok.Time, Title: tok.Title, ID: tok.ID}
	}
	articles, err := s.service.ListArticles(ctx, p, q)
	if err != nil {
		return nil, err
	}
	resp := &contentv1.ListArticlesResponse{}
	if len(articles) > size {
		articles = articles[:size]
		last := articles[size-1]
		next, err := s.tokens.Encode(scope, cursorAfter(last, order))
		if err != nil {
			return nil, err
		}
		resp.NextPageToken = next
	}
	for _, a := range articles {
		if basic {
			resp.Articles = append(resp.Articles, toProtoBasicArticle(a))
		} else {
			resp.Articles = append(resp.Articles, toProtoArticle(a))
		}
	}
	return resp, nil
}

// basicView reports whether a list asks for basic views (the default) rather than full ones.
func basicView(v contentv1.ArticleView) (bool, error) {
	switch v {
	case contentv1.ArticleView_ARTICLE_VIEW_UNSPECIFIED, contentv1.ArticleView_ARTICLE_VIEW_BASIC:
		return true, nil
	case contentv1.ArticleView_ARTICLE_VIEW_FULL:
		return false, nil
	}
	return false, apperr.InvalidField("view", "is %d, not a known view; use ARTICLE_VIEW_BASIC or ARTICLE_VIEW_FULL", v)
}

func cursorAfter(a *domain.Article, order domain.OrderField) articlePageToken {
	tok := articlePageToken{ID: a.ID}
	switch order {
	case domain.OrderUpdateTime:
		tok.Time = a.UpdateTime
	case domain.OrderCreateTime:
		tok.Time = a.CreateTime
	case domain.OrderPublishTime:
		if a.Published != nil {
			tok.Time = a.Published.PublishTime
		}
	case domain.OrderTitle:
		tok.Title = a.Draft.Title
	}
	return tok
}

func boolString(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

// parseOrderBy accepts one field with an optional " desc" / " asc"; the default is "update_time desc".
func parseOrderBy(s string) (domain.OrderField, bool, error) {
	words := strings.Fields(s)
	if len(words) == 0 {
		return domain.OrderUpdateTime, true, nil
	}
	field := domain.OrderField(words[0])
	switch field {
	case domain.OrderUpdateTime, domain.OrderCreateTime, domain.OrderPublishTime, domain.OrderTitle:
	default:
		return "", false, apperr.InvalidField("order_by", "cannot order by %q; use update_time, create_time, publish_time or title, optionally followed by desc", words[0])
	}
	switch {
	case len(words) == 1:
		return field, false, nil
	case len(words) == 2 && strings.EqualFold(words[1], "desc"):
		return field, true, nil
	case len(words) == 2 && strings.EqualFold(words[1], "asc"):
		return field, false, nil
	}
	return "", false, apperr.InvalidField("order_by", "want one field optionally followed by asc or desc, got %q", s)
}

func (s *ArticleServer) UpdateArticle(ctx context.Context, req *contentv1.UpdateArticleRequest) (*contentv1.Article, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	if req.GetArticle() == nil {
		return nil, apperr.InvalidField("article", "is required")
	}
	id, err := articleIDFromName("article.name", req.GetArticle().GetName())
	if err != nil {
		return nil, err
	}
	c, err := fromProtoContent(req.GetArticle())
	if err != nil {
		return nil, err
	}
	fields := maskPaths(req.GetUpdateMask().GetPaths(), articleIgnoredPaths)
	a, err := s.service.UpdateArticle(ctx, p, id, c, fields, req.GetArticle().GetEtag())
	if err != nil {
		return nil, err
	}
	return toProtoArticle(a), nil
}

// lifecycle runs one of the custom methods that take a name and an optional etag.
func (s *ArticleServer) lifecycle(ctx context.Context, name, etag string, do func(context.Context, string, string) (*domain.Article, error)) (*contentv1.Article, error) {
	id, err := articleIDFromName("name", name)
	if err != nil {
		return nil, err
	}
	a, err := do(ctx, id, etag)
	if err != nil {
		return nil, err
	}
	return toProtoArticle(a), nil
}

func (s *ArticleServer) DeleteArticle(ctx context.Context, req *contentv1.DeleteArticleRequest) (*contentv1.Article, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	return s.lifecycle(ctx, req.GetName(), req.GetEtag(), func(ctx context.Context, id, etag string) (*domain.Article, error) {
		return s.service.DeleteArticle(ctx, p, id, etag)
	})
}

func (s *ArticleServer) UndeleteArticle(ctx context.Context, req *contentv1.UndeleteArticleRequest) (*contentv1.Article, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	return s.lifecycle(ctx, req.GetName(), "", func(ctx context.Context, id, _ string) (*domain.Article, error) {
		return s.service.UndeleteArticle(ctx, p, id)
	})
}

func (s *ArticleServer) PublishArticle(ctx context.Context, req *contentv1.PublishArticleRequest) (*contentv1.Article, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	return s.lifecycle(ctx, req.GetName(), req.GetEtag(), func(ctx context.Context, id, etag string) (*domain.Article, error) {
		return s.service.PublishArticle(ctx, p, id, etag)
	})
}

func (s *ArticleServer) UnpublishArticle(ctx context.Context, req *contentv1.UnpublishArticleRequest) (*contentv1.Article, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	return s.lifecycle(ctx, req.GetName(), req.GetEtag(), func(ctx context.Context, id, etag string) (*domain.Article, error) {
		return s.service.UnpublishArticle(ctx, p, id, etag)
	})
}

func (s *ArticleServer) ScheduleArticle(ctx context.Context, req *contentv1.ScheduleArticleRequest) (*contentv1.Article, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	if req.GetPublishTime() == nil {
		return nil, apperr.InvalidField("publish_time", "is required")
	}
	if err := req.GetPublishTime().CheckValid(); err != nil {
		return nil, apperr.InvalidField("publish_time", "is not a valid timestamp")
	}
	at := req.GetPublishTime().AsTime()
	return s.lifecycle(ctx, req.GetName(), req.GetEtag(), func(ctx context.Context, id, etag string) (*domain.Article, error) {
		return s.service.ScheduleArticle(ctx, p, id, at, etag)
	})
}

func (s *ArticleServer) ArchiveArticle(ctx context.Context, req *contentv1.ArchiveArticleRequest) (*contentv1.Article, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	return s.lifecycle(ctx, req.GetName(), req.GetEtag(), func(ctx context.Context, id, etag string) (*domain.Article, error) {
		return s.service.ArchiveArticle(ctx, p, id, etag)
	})
}

func (s *ArticleServer) ListArticleRevisions(ctx context.Context, req *contentv1.ListArticleRevisionsRequest) (*contentv1.ListArticleRevisionsResponse, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	id, err := articleIDFromName("name", req.GetName())
	if err != nil {
		return nil, err
	}
	size, err := pagetoken.Size(req.GetPageSize())
	if err != nil {
		return nil, err
	}
	revs, next, err := pagetoken.PageBefore(s.tokens, pagetoken.Scope("ListArticleRevisions", p.KeyName, id), req.GetPageToken(), size,
		func(r domain.Revision) int64 { return r.RevisionID },
		func(before int64, limit int) ([]domain.Revision, error) {
			return s.service.ListRevisions(ctx, p, id, before, limit)
		})
	if err != nil {
		return nil, err
	}
	resp := &contentv1.ListArticleRevisionsResponse{NextPageToken: next}
	for _, r := range revs {
		resp.Revisions = append(resp.Revisions, toProtoRevision(r))
	}
	return resp, nil
}

func (s *ArticleServer) RollbackArticle(ctx context.Context, req *contentv1.RollbackArticleRequest) (*contentv1.Article, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	return s.lifecycle(ctx, req.GetName(), req.GetEtag(), func(ctx context.Context, id, etag string) (*domain.Article, error) {
		return s.service.RollbackArticle(ctx, p, id, req.GetRevisionId(), etag)
	})
}

func (s *ArticleServer) PreviewArticle(ctx context.Context, req *contentv1.PreviewArticleRequest) (*contentv1.PreviewArticleResponse, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	if req.GetArticle() == nil {
		return nil, apperr.InvalidField("article", "is required")
	}
	c, err := fromProtoContent(req.GetArticle())
	if err != nil {
		return nil, err
	}
	preview, err := s.service.PreviewArticle(ctx, p, c)
	if err != nil {
		return nil, err
	}
	return &contentv1.PreviewArticleResponse{
		Rendering:    toProtoRendering(preview.Rendering),
		LintFindings: toProtoLintFindings(preview.LintFindings),
	}, nil
}
