package delivery

import (
	"context"

	"github.com/beaconcms/beacon/platform/apperr"
	"github.com/beaconcms/beacon/platform/auth"
)

// access decides who may read a site's published content: anyone when the site is public,
// otherwise any valid key that covers the site (delivery keys are made for this; admin,
// editor and viewer keys may preview too). A key for another site is answered exactly like a
// missing site. Both the REST handler and the gRPC server decide through this function.
func (m *Model) access(site string, p auth.Principal, hasKey bool) (*view, error) {
	v := m.view(site)
	if hasKey {
		if v == nil || !p.CoversSite(site) {
			return nil, siteNotFound(site)
		}
		return v, nil
	}
	if v == nil {
		return nil, siteNotFound(site)
	}
	if !v.site.Public {
		return nil, apperr.New(apperr.Unauthenticated, "sites/%s requires a delivery key: send 'Authorization: Bearer <key>'", site)
	}
	return v, nil
}

// principalFromContext returns the caller the gRPC auth interceptor found, if any.
func principalFromContext(ctx context.Context) (auth.Principal, bool) { return auth.FromContext(ctx) }

func siteNotFound(site string) error { return apperr.New(apperr.NotFound, "sites/%s not found", site) }
