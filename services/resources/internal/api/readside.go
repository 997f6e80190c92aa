package api

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/beaconcms/beacon/gateway"
	resourcesv1 "github.com/beaconcms/beacon/gen/beacon/resources/v1"
	"github.com/beaconcms/beacon/platform/apperr"
	"github.com/beaconcms/beacon/platform/auth"
	"github.com/beaconcms/beacon/platform/httpcache"
)

// PublicSites reports whether a site's delivery is readable without a key.
type PublicSites interface {
	Public(ctx context.Context, site string) bool
}

// ReadSide serves the REST read routes of resources from the delivery read model:
//
//	GET /v1/sites/{site}/resources?near=LAT,LNG&radiusKm=&kind=&taxonomy=&language=&openNow=&q=&pageSize=&pageToken=
//	GET /v1/sites/{site}/resources/{id}
//	GET /v1/sites/{site}/crisis-lines
//	GET /v1/sites/{site}/directories/{slug}
//
// The JSON is the DeliveryService's messages in protojson form, with a strong ETag (304 on a
// match) and gzip.
type ReadSide struct {
	delivery *DeliveryServer
	public   PublicSites
	logger   *slog.Logger
}

// NewReadSide returns the read side over a delivery server.
func NewReadSide(d *DeliveryServer, public PublicSites, logger *slog.Logger) *ReadSide {
	return &ReadSide{delivery: d, public: public, logger: logger}
}

// Segments implements gateway.ReadSide.
func (rs *ReadSide) Segments() []string { return []string{"resources", "crisis-lines", "directories"} }

var jsonContentType = []string{"application/json"}

// ServeRead implements gateway.ReadSide.
func (rs *ReadSide) ServeRead(w http.ResponseWriter, r *http.Request, req gateway.ReadRequest) {
	ctx := r.Context()
	switch {
	case req.Authenticated:
		ctx = auth.WithPrincipal(ctx, req.Caller)
	case rs.public != nil && rs.public.Public(ctx, req.Site):
		ctx = auth.WithPrincipal(ctx, auth.Principal{KeyName: "public", Role: auth.RoleDelivery, Site: req.Site})
	default:
		gateway.WriteError(w, r, rs.logger, apperr.New(apperr.Unauthenticated, "site %q needs an API key", "sites/"+req.Site))
		return
	}
	site := "sites/" + req.Site
	var msg proto.Message
	var err error
	switch {
	case req.Segment == "crisis-lines" && req.Item == "":
		msg, err = rs.delivery.ListCrisisLines(ctx, &resourcesv1.ListCrisisLinesRequest{Site: site})
	case req.Segment == "directories" && req.Item != "":
		msg, err = rs.delivery.GetSiteDirectory(ctx, &resourcesv1.GetSiteDirectoryRequest{Site: site, Slug: req.Item})
	case req.Segment == "resources" && req.Item != "":
		msg, err = rs.delivery.GetSiteResource(ctx, &resourcesv1.GetSiteResourceRequest{Site: site, Resource: req.Item})
	case req.Segment == "resources":
		var lr *resourcesv1.ListSiteResourcesRequest
		if lr, err = listRequest(site, r); err == nil {
			msg, err = rs.delivery.ListSiteResources(ctx, lr)
		}
	default:
		err = apperr.New(apperr.NotFound, "no such route")
	}
	if err != nil {
		gateway.WriteError(w, r, rs.logger, err)
		return
	}
	raw, err := protojson.Marshal(msg)
	if err != nil {
		gateway.WriteError(w, r, rs.logger, err)
		return
	}
	w.Header().Set("Cache-Control", "private, max-age=0, must-revalidate") // open-now changes with time
	w.Header().Set("Vary", "Authorization, Accept-Encoding")
	httpcache.Write(w, r, httpcache.NewDynamic(raw), jsonContentType)
}

// listRequest reads the query parameters of a list; both camelCase and snake_case names work.
func listRequest(site string, r *http.Request) (*resourcesv1.ListSiteResourcesRequest, error) {
	q := r.URL.Query()
	get := func(names ...string) string {
		for _, n := range names {
			if v := q.Get(n); v != "" {
				return v
			}
		}
		return ""
	}
	req := &resourcesv1.ListSiteResourcesRequest{Site: site, Near: get("near"), Taxonomy: get("taxonomy"),
		Language: get("language"), Q: get("q"), PageToken: get("pageToken", "page_token")}
	if v := get("radiusKm", "radius_km"); v != "" {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return nil, apperr.InvalidField("radiusKm", "must be a number of kilometres (got %q)", v)
		}
		req.RadiusKm = f
	}
	if v := get("pageSize", "page_size"); v != "" {
		n, err := strconv.ParseInt(v, 10, 32)
		if err != nil {
			return nil, apperr.InvalidField("pageSize", "must be a whole number (got %q)", v)
		}
		req.PageSize = int32(n)
	}
	if v := get("openNow", "open_now"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return nil, apperr.InvalidField("openNow", "must be true or false (got %q)", v)
		}
		req.OpenNow = b
	}
	if v := get("kind"); v != "" {
		name := strings.ToUpper(v)
		if !strings.HasPrefix(name, "KIND_") {
			name = "KIND_" + name
		}
		k, ok := resourcesv1.Kind_value[name]
		if !ok || k == 0 {
			return nil, apperr.InvalidField("kind", "must be a kind such as crisis_line or SUPPORT_GROUP (got %q)", v)
		}
		req.Kind = resourcesv1.Kind(k)
	}
	return req, nil
}
