package sitecatalog

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	sitesv1 "github.com/beaconcms/beacon/gen/beacon/sites/v1"
	"github.com/beaconcms/beacon/platform/claimlint"
)

// GRPCSource reads sites from a sites service over gRPC (beacon.sites.v1.SiteService), for a
// process that does not run the sites service itself. Every call carries the service key, an
// API key for all sites with at least the viewer role (`beacon admin-key --role=viewer`).
type GRPCSource struct {
	client sitesv1.SiteServiceClient
	auth   string // "Bearer <key>"
}

var _ Source = (*GRPCSource)(nil)

// NewGRPCSource returns a Source calling the sites service on conn with serviceKey.
func NewGRPCSource(conn grpc.ClientConnInterface, serviceKey string) *GRPCSource {
	return &GRPCSource{client: sitesv1.NewSiteServiceClient(conn), auth: "Bearer " + serviceKey}
}

func (g *GRPCSource) outgoing(ctx context.Context) context.Context {
	return metadata.AppendToOutgoingContext(ctx, "authorization", g.auth)
}

// listPageSize is the page size of ListSites calls: the API's maximum.
const listPageSize = 100

// ListSites returns every site, deleted ones included, following the pages.
func (g *GRPCSource) ListSites(ctx context.Context) ([]Site, error) {
	ctx = g.outgoing(ctx)
	var out []Site
	token := ""
	for {
		resp, err := g.client.ListSites(ctx, &sitesv1.ListSitesRequest{PageSize: listPageSize, PageToken: token, ShowDeleted: true})
		if err != nil {
			return nil, fmt.Errorf("list sites: %w", err)
		}
		for _, s := range resp.GetSites() {
			site, err := fromProto(s)
			if err != nil {
				return nil, err
			}
			out = append(out, site)
		}
		if token = resp.GetNextPageToken(); token == "" {
			return out, nil
		}
	}
}

// GetSite returns one site; found is false when the service says NOT_FOUND.
func (g *GRPCSource) GetSite(ctx context.Context, id string) (Site, bool, error) {
	s, err := g.client.GetSite(g.outgoing(ctx), &sitesv1.GetSiteRequest{Name: "sites/" + id})
	if status.Code(err) == codes.NotFound {
		return Site{}, false, nil
	}
	if err != nil {
		return Site{}, false, fmt.Errorf("get sites/%s: %w", id, err)
	}
	site, err := fromProto(s)
	if err != nil {
		return Site{}, false, err
	}
	return site, true, nil
}

// fromProto converts a site from the wire.
func fromProto(s *sitesv1.Site) (Site, error) {
	id, ok := strings.CutPrefix(s.GetName(), "sites/")
	if !ok || id == "" {
		return Site{}, fmt.Errorf("the sites service returned a site named %q", s.GetName())
	}
	site := Site{
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
		LintTuning:             lintTuningFromProto(s.GetLintTuning()),
		AllowedOrigins:         s.GetAllowedOrigins(),
		Etag:                   s.GetEtag(),
	}
	if t := s.GetCreateTime(); t != nil {
		site.CreateTime = t.AsTime()
	}
	if t := s.GetUpdateTime(); t != nil {
		site.UpdateTime = t.AsTime()
	}
	if t := s.GetDeleteTime(); t != nil {
		site.DeleteTime = t.AsTime()
	}
	return site, nil
}

// lintTuningFromProto takes a site's lint tuning from the wire, its severities as the rules file
// spells them. A severity this release does not know becomes "", which the lint ignores.
func lintTuningFromProto(t *sitesv1.LintTuning) claimlint.SiteTuning {
	out := claimlint.SiteTuning{Disable: slices.Clone(t.GetDisabledRules())}
	for id, sev := range t.GetRuleSeverities() {
		if out.Severity == nil {
			out.Severity = make(map[string]string, len(t.GetRuleSeverities()))
		}
		switch sev {
		case sitesv1.LintTuning_SEVERITY_ERROR:
			out.Severity[id] = "error"
		case sitesv1.LintTuning_SEVERITY_WARNING:
			out.Severity[id] = "warning"
		case sitesv1.LintTuning_SEVERITY_INFO:
			out.Severity[id] = "info"
		default:
			out.Severity[id] = ""
		}
	}
	return out
}
