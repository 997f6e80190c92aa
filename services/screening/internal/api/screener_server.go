package api

import (
	"context"
	"math"
	"strings"

	screeningv1 "github.com/beaconcms/beacon/gen/beacon/screening/v1"
	"github.com/beaconcms/beacon/platform/apperr"
	"github.com/beaconcms/beacon/platform/auth"
	"github.com/beaconcms/beacon/platform/siteid"
	"github.com/beaconcms/beacon/services/screening/internal/domain"
)

// PublicSites reports whether a site's delivery is readable without a key.
type PublicSites interface {
	Public(ctx context.Context, site string) bool
}

// ScreenerServer implements screeningv1.ScreenerServiceServer over the delivery, from memory.
//
// Privacy: the request's answers go from the message straight into domain.Answers, which
// redacts itself everywhere; nothing here logs a request or echoes a value.
type ScreenerServer struct {
	screeningv1.UnimplementedScreenerServiceServer
	delivery *domain.Delivery
	public   PublicSites
}

// NewScreenerServer returns the delivery API.
func NewScreenerServer(d *domain.Delivery, public PublicSites) *ScreenerServer {
	return &ScreenerServer{delivery: d, public: public}
}

// ScreenerRules lets anyone call the screener RPCs; the server then applies the site's rule
// (public, or a key covering the site). The interceptor still refuses a bad key.
func ScreenerRules() auth.Policy {
	public := auth.Rule{Public: true}
	return auth.Policy{
		screeningv1.ScreenerService_GetScreener_FullMethodName:   public,
		screeningv1.ScreenerService_ScoreScreener_FullMethodName: public,
	}
}

// readableSite returns the site id of a "sites/{site}" name the caller may read: a public site,
// or one its key covers. A key for another site gets NOT_FOUND, exactly like a missing site.
func (s *ScreenerServer) readableSite(ctx context.Context, name string) (string, error) {
	site, ok := strings.CutPrefix(name, "sites/")
	if !ok || !siteid.Valid(site) {
		return "", apperr.InvalidField("site", "must be a site name like sites/kratom-help (got %q)", name)
	}
	p, hasKey := auth.FromContext(ctx)
	switch {
	case hasKey && p.CoversSite(site):
		return site, nil
	case hasKey:
		return "", apperr.New(apperr.NotFound, "site %q not found", name)
	case s.public.Public(ctx, site):
		return site, nil
	}
	return "", apperr.New(apperr.Unauthenticated, "site %q needs an API key", name)
}

func (s *ScreenerServer) GetScreener(ctx context.Context, req *screeningv1.GetScreenerRequest) (*screeningv1.Screener, error) {
	site, err := s.readableSite(ctx, req.GetSite())
	if err != nil {
		return nil, err
	}
	served, err := s.delivery.Screener(ctx, site, req.GetSlug())
	if err != nil {
		return nil, err
	}
	return ScreenerToProto(served), nil
}

func (s *ScreenerServer) ScoreScreener(ctx context.Context, req *screeningv1.ScoreScreenerRequest) (*screeningv1.ScoreScreenerResponse, error) {
	site, err := s.readableSite(ctx, req.GetSite())
	if err != nil {
		return nil, err
	}
	answers, err := AnswersFromProto(req.GetAnswers())
	if err != nil {
		return nil, err
	}
	var near *domain.Point
	if n := req.GetNear(); n != nil {
		if math.IsNaN(n.GetLatitude()) || math.IsNaN(n.GetLongitude()) || math.Abs(n.GetLatitude()) > 90 || math.Abs(n.GetLongitude()) > 180 {
			return nil, apperr.InvalidField("near", "must have a latitude from -90 to 90 and a longitude from -180 to 180")
		}
		near = &domain.Point{Latitude: n.GetLatitude(), Longitude: n.GetLongitude()}
	}
	out, err := s.delivery.Score(ctx, site, req.GetSlug(), req.GetVersion(), answers, near)
	if err != nil {
		return nil, err
	}
	return OutcomeToProto(out), nil
}

// ScreenerToProto returns the message of a served version.
func ScreenerToProto(s *domain.Served) *screeningv1.Screener {
	c := s.Version.Content
	return &screeningv1.Screener{
		Name: "questionnaires/" + s.Version.QuestionnaireID, Version: s.Version.Number,
		Title: c.Title, Slug: c.Slug, Description: c.Description, InstructionsHtml: s.InstructionsHTML,
		Items: itemsToProto(c.Items), Disclaimer: c.Disclaimer, Citation: c.Source.Citation, LicenseName: c.Source.LicenseName,
		MinScore: int32(s.Min), MaxScore: int32(s.Max),
	}
}
