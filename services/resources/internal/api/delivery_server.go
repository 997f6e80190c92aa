package api

import (
	"context"
	"math"
	"strconv"
	"strings"

	resourcesv1 "github.com/beaconcms/beacon/gen/beacon/resources/v1"
	"github.com/beaconcms/beacon/platform/apperr"
	"github.com/beaconcms/beacon/platform/auth"
	"github.com/beaconcms/beacon/platform/geo"
	"github.com/beaconcms/beacon/platform/pagetoken"
	"github.com/beaconcms/beacon/platform/slug"
	"github.com/beaconcms/beacon/services/resources/internal/delivery"
	"github.com/beaconcms/beacon/services/resources/internal/domain"
)

// DeliveryServer implements resourcesv1.DeliveryServiceServer over the delivery read model.
type DeliveryServer struct {
	resourcesv1.UnimplementedDeliveryServiceServer
	model   *delivery.Model
	tokens  TokenCodec
	frags   fragments    // the REST read side's JSON of each resource revision (delivery_json.go)
	answers *listAnswers // the REST read side's list responses (list_answers.go)
}

// JSONBytes is the size of the JSON the REST read side keeps of the current resource revisions.
func (s *DeliveryServer) JSONBytes() int64 { return s.frags.bytes() }

// NewDeliveryServer returns the delivery API over model.
func NewDeliveryServer(model *delivery.Model, tokens TokenCodec) *DeliveryServer {
	s := &DeliveryServer{model: model, tokens: tokens, answers: newListAnswers()}
	model.OnChange(s.frags.forget)
	model.OnChange(s.answers.drop)
	return s
}

// readableSite checks the caller's key covers the site; a key for another site gets NOT_FOUND,
// exactly like a missing site. (The REST read side lets anyone read a public site.)
func readableSite(ctx context.Context, field, name string) (string, error) {
	site, err := siteID(field, name)
	if err != nil {
		return "", err
	}
	p, err := principal(ctx)
	if err != nil {
		return "", err
	}
	if !p.CoversSite(site) { // as for articles: another site's key sees no such site
		return "", apperr.New(apperr.NotFound, "site %q not found", name)
	}
	return site, nil
}

// ParseNear reads "LAT,LNG" in decimal degrees.
func ParseNear(s string) (geo.Point, error) {
	lat, lng, ok := strings.Cut(s, ",")
	la, err1 := strconv.ParseFloat(strings.TrimSpace(lat), 64)
	lo, err2 := strconv.ParseFloat(strings.TrimSpace(lng), 64)
	p := geo.Point{Lat: la, Lng: lo}
	if !ok || err1 != nil || err2 != nil || math.IsNaN(la) || math.IsNaN(lo) || !p.Valid() {
		return p, apperr.InvalidField("near", "must be LAT,LNG in decimal degrees, latitude -90 to 90 and longitude -180 to 180 (got %q)", s)
	}
	return p, nil
}

// offsetToken is a list's page token: where the next page starts in the local list and (with
// near) in the remote list.
type offsetToken struct {
	Offset int `json:"o"`
	Remote int `json:"r,omitempty"`
}

func (s *DeliveryServer) ListSiteResources(ctx context.Context, req *resourcesv1.ListSiteResourcesRequest) (*resourcesv1.ListSiteResourcesResponse, error) {
	var page delivery.Page
	token, err := s.list(ctx, req, &page)
	if err != nil {
		return nil, err
	}
	resp := &resourcesv1.ListSiteResourcesResponse{NextPageToken: token}
	for _, it := range page.Local {
		resp.Resources = append(resp.Resources, s.published(it))
	}
	for _, it := range page.Remote {
		resp.RemoteResources = append(resp.RemoteResources, s.published(it))
	}
	return resp, nil
}

// list checks a list request and answers it from the read model into page: it returns the
// next-page token ("" on the last page).
func (s *DeliveryServer) list(ctx context.Context, req *resourcesv1.ListSiteResourcesRequest, page *delivery.Page) (string, error) {
	site, err := readableSite(ctx, "site", req.GetSite())
	if err != nil {
		return "", err
	}
	size, err := pagetoken.Size(req.GetPageSize())
	if err != nil {
		return "", err
	}
	q := delivery.Query{Kind: domain.Kind(req.GetKind()), Taxonomy: req.GetTaxonomy(), Language: req.GetLanguage(),
		OpenNow: req.GetOpenNow(), Words: req.GetQ(), Limit: size, RadiusKm: req.GetRadiusKm()}
	if req.GetNear() != "" {
		p, err := ParseNear(req.GetNear())
		if err != nil {
			return "", err
		}
		q.Near = &p
	}
	if r := req.GetRadiusKm(); math.IsNaN(r) || r < 0 || r > delivery.MaxRadiusKm {
		return "", apperr.InvalidField("radius_km", "must be from 0 (the default, %d km) to %d", delivery.DefaultRadiusKm, delivery.MaxRadiusKm)
	}
	if q.Kind != 0 && !q.Kind.Valid() {
		return "", apperr.InvalidField("kind", "is not a kind")
	}
	if n := req.GetRemotePageSize(); n < 0 || n > delivery.MaxRemotePageSize {
		return "", apperr.InvalidField("remote_page_size", "must be from 0 (the default, %d) to %d", delivery.DefaultRemotePageSize, delivery.MaxRemotePageSize)
	}
	if q.Near != nil {
		q.RemoteLimit = int(req.GetRemotePageSize())
		if q.RemoteLimit == 0 {
			q.RemoteLimit = delivery.DefaultRemotePageSize
		}
	}
	scope := func() string { return listScope(site, req) } // made only when a token is read or written
	if req.GetPageToken() != "" {
		tok, err := s.listToken(site, req)
		if err != nil {
			return "", err
		}
		q.Offset, q.RemoteOffset = tok.Offset, tok.Remote
	}
	if err := s.model.ListInto(ctx, site, q, page); err != nil {
		return "", err
	}
	token := ""
	if page.More || page.MoreRemote {
		next := offsetToken{Offset: q.Offset + len(page.Local), Remote: q.RemoteOffset + len(page.Remote)}
		if token, err = s.tokens.Encode(scope(), next); err != nil {
			return "", err
		}
	}
	return token, nil
}

// listScope is the query a list's page token is bound to.
func listScope(site string, req *resourcesv1.ListSiteResourcesRequest) string {
	return pagetoken.Scope("ListSiteResources", site, req.GetNear(), strconv.FormatFloat(req.GetRadiusKm(), 'g', -1, 64),
		req.GetKind().String(), req.GetTaxonomy(), req.GetLanguage(), strconv.FormatBool(req.GetOpenNow()), req.GetQ())
}

// listToken reads a list request's page token: InvalidArgument when it is not one of this
// query's, or has expired.
func (s *DeliveryServer) listToken(site string, req *resourcesv1.ListSiteResourcesRequest) (offsetToken, error) {
	var tok offsetToken
	err := s.tokens.Decode(req.GetPageToken(), listScope(site, req), &tok)
	return tok, err
}

func (s *DeliveryServer) GetSiteResource(ctx context.Context, req *resourcesv1.GetSiteResourceRequest) (*resourcesv1.PublishedResource, error) {
	it, err := s.getItem(ctx, req)
	if err != nil {
		return nil, err
	}
	return s.published(it), nil
}

func (s *DeliveryServer) getItem(ctx context.Context, req *resourcesv1.GetSiteResourceRequest) (delivery.Item, error) {
	site, err := readableSite(ctx, "site", req.GetSite())
	if err != nil {
		return delivery.Item{}, err
	}
	if !domain.ValidResourceID(req.GetResource()) {
		return delivery.Item{}, apperr.InvalidField("resource", "must be a resource id (got %q)", req.GetResource())
	}
	return s.model.Get(ctx, site, req.GetResource())
}

func (s *DeliveryServer) ListCrisisLines(ctx context.Context, req *resourcesv1.ListCrisisLinesRequest) (*resourcesv1.ListCrisisLinesResponse, error) {
	site, err := readableSite(ctx, "site", req.GetSite())
	if err != nil {
		return nil, err
	}
	items, err := s.model.CrisisLines(ctx, site)
	if err != nil {
		return nil, err
	}
	resp := &resourcesv1.ListCrisisLinesResponse{}
	for _, it := range items {
		resp.CrisisLines = append(resp.CrisisLines, s.published(it))
	}
	return resp, nil
}

func (s *DeliveryServer) GetSiteDirectory(ctx context.Context, req *resourcesv1.GetSiteDirectoryRequest) (*resourcesv1.PublishedDirectory, error) {
	site, err := readableSite(ctx, "site", req.GetSite())
	if err != nil {
		return nil, err
	}
	if !slug.Valid(req.GetSlug()) {
		return nil, apperr.InvalidField("slug", "must be lowercase letters, digits and hyphens (got %q)", req.GetSlug())
	}
	page, err := s.model.Directory(ctx, site, req.GetSlug())
	if err != nil {
		return nil, err
	}
	d := page.Directory
	out := &resourcesv1.PublishedDirectory{Name: d.Name(), Title: d.Title, Slug: d.Slug, IntroHtml: page.IntroHTML}
	for _, e := range page.Entries {
		out.Entries = append(out.Entries, &resourcesv1.PublishedDirectoryEntry{Resource: s.published(e.Item), Note: e.Note})
	}
	return out, nil
}

// published converts a delivered item; editor notes, external ids and the verifier stay private.
func (s *DeliveryServer) published(it delivery.Item) *resourcesv1.PublishedResource {
	r := it.Resource
	out := &resourcesv1.PublishedResource{
		Name: r.Name(), DisplayName: r.DisplayName, OrganizationName: r.OrganizationName, Kind: resourcesv1.Kind(r.Kind),
		TaxonomyTerms: r.TaxonomyTerms, DescriptionHtml: it.DescriptionHTML, Website: r.Website,
		Email: r.Email, Hours: toProtoHours(r.Hours), Languages: r.Languages, Costs: toProtoCosts(r.Costs),
		CostDescription: r.CostDescription, Eligibility: r.Eligibility, ServiceAreas: toProtoAreas(r.ServiceAreas),
		Status: resourcesv1.Status(r.Status), Crisis: r.Crisis, LastVerifiedDate: r.Verified.Date.String(),
		Stale: it.Stale, OpenNow: it.OpenNow, DistanceKm: math.Round(it.DistanceKm*100) / 100,
	}
	for _, p := range r.Phones {
		out.Phones = append(out.Phones, &resourcesv1.PublishedPhone{Number: p.Number, Extension: p.Extension, Type: resourcesv1.Phone_Type(p.Type), Description: p.Description, Languages: p.Languages})
	}
	for _, l := range r.Locations {
		pl := &resourcesv1.PublishedLocation{Type: resourcesv1.Location_Type(l.Type), Name: l.Name, Address: toProtoAddress(l.Address), Url: l.URL}
		if l.Coordinates != nil {
			pl.Latitude, pl.Longitude = l.Coordinates.Lat, l.Coordinates.Lng
		}
		out.Locations = append(out.Locations, pl)
	}
	return out
}

// DeliveryRules is the access policy of the delivery API: any key covering the site (checked per
// call), delivery keys included.
func DeliveryRules() auth.Policy {
	readers := auth.Rule{Roles: []auth.Role{auth.RoleAdmin, auth.RoleEditor, auth.RoleViewer, auth.RoleDelivery}}
	return auth.Policy{
		resourcesv1.DeliveryService_ListSiteResources_FullMethodName: readers,
		resourcesv1.DeliveryService_GetSiteResource_FullMethodName:   readers,
		resourcesv1.DeliveryService_ListCrisisLines_FullMethodName:   readers,
		resourcesv1.DeliveryService_GetSiteDirectory_FullMethodName:  readers,
	}
}
