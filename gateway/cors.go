package gateway

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/rs/cors"

	"github.com/beaconcms/beacon/platform/weburl"
)

// CORS. Browsers let a page call another origin only when that origin's answers say so
// (https://fetch.spec.whatwg.org/#http-cors-protocol):
//
//   - Delivery routes (/v1/sites/{site}/{segment}[/{item}]) follow the site's allowed_origins
//     setting, read from the site catalog in memory ([SiteOrigins]). A preflight (OPTIONS with
//     Access-Control-Request-Method) from an allowed origin gets 204 with
//     Access-Control-Allow-Origin (the origin), -Methods, -Headers and -Max-Age; an actual
//     request from an allowed origin gets Access-Control-Allow-Origin and
//     Access-Control-Expose-Headers (ETag and the like, which a page could not read otherwise).
//     Any other origin gets no Access-Control-* header at all (a preflight still gets 204, and
//     the browser then refuses the call). A site allowed_origins "*" answers every origin.
//   - Management routes answer only the origins of Config.ManagementOrigins (the operator's
//     opt-in, --cors-management-origins); with none, they stay same-origin: no CORS header, and
//     a preflight goes to the routes like any OPTIONS request (which none serves).
//
// Credentials (cookies) are never allowed cross-origin: callers send their key in the
// Authorization header, which the preflight allows.

// SiteOrigins tells the edge which browser origins may call a site's delivery routes.
type SiteOrigins interface {
	// AllowedOrigins returns the site's allowed origins as browsers send them
	// ("https://www.example.org"), or the single "*" for every origin; nil when the site allows
	// none, is deleted or does not exist. It answers from memory (the site catalog): it is asked
	// on every delivery request that carries an Origin header. The result is not modified.
	AllowedOrigins(ctx context.Context, site string) []string
}

// CORSMaxAge is how long a browser may cache a preflight's answer: two hours, the most
// Chromium keeps one. A site that drops an origin is still safe meanwhile: its actual
// responses no longer carry Access-Control-Allow-Origin, so the browser refuses them.
const CORSMaxAge = 2 * time.Hour

// Vary values of delivery responses. Every delivery response varies on Origin, because the
// edge's CORS headers depend on it: a cache must not give one origin's answer to another (or a
// non-browser's answer to a browser). Read sides assign these as they are (never modified).
var (
	// VaryPublic is the Vary of a public site's responses.
	VaryPublic = []string{"Accept-Encoding, Origin"}
	// VaryPrivate is the Vary of responses that depend on the caller's key.
	VaryPrivate = []string{"Accept-Encoding, Authorization, Origin"}
)

// Headers a page may send and read. Last-Modified, Cache-Control, Content-Type and the other
// CORS-safelisted response headers are readable without being named.
var (
	deliveryMethods   = []string{http.MethodGet, http.MethodHead, http.MethodPost}
	managementMethods = []string{http.MethodGet, http.MethodPost, http.MethodPatch, http.MethodDelete}
	requestHeaders    = []string{"Authorization", "Content-Type", "If-Match", "If-None-Match", "If-Modified-Since",
		"X-Request-Id", "Traceparent", "Tracestate"}
	exposedHeaders = []string{"ETag", "Location", "Retry-After", "WWW-Authenticate", "X-Request-Id",
		"RateLimit", "RateLimit-Policy"}
)

// newDeliveryCORS returns the CORS handler of the delivery routes: each site's origins.
func newDeliveryCORS(origins SiteOrigins) *cors.Cors {
	return cors.New(cors.Options{
		AllowOriginVaryRequestFunc: func(r *http.Request, origin string) (bool, []string) {
			return originAllowed(origins.AllowedOrigins(r.Context(), deliverySite(r.URL.Path)), origin), nil
		},
		AllowedMethods:       deliveryMethods,
		AllowedHeaders:       requestHeaders,
		ExposedHeaders:       exposedHeaders,
		MaxAge:               int(CORSMaxAge / time.Second),
		OptionsSuccessStatus: http.StatusNoContent,
	})
}

// newManagementCORS returns the CORS handler of the management routes, or nil when no origin
// may call them (same-origin only). Each origin must pass weburl.CheckOrigin: no wildcard.
func newManagementCORS(origins []string) (*cors.Cors, error) {
	if len(origins) == 0 {
		return nil, nil
	}
	for _, o := range origins {
		if err := weburl.CheckOrigin(o); err != nil {
			return nil, fmt.Errorf("management CORS origin %q %s", o, err)
		}
	}
	allowed := slices.Clone(origins)
	return cors.New(cors.Options{
		AllowOriginVaryRequestFunc: func(_ *http.Request, origin string) (bool, []string) {
			return slices.Contains(allowed, origin), nil
		},
		AllowedMethods:       managementMethods,
		AllowedHeaders:       requestHeaders,
		ExposedHeaders:       exposedHeaders,
		MaxAge:               int(CORSMaxAge / time.Second),
		OptionsSuccessStatus: http.StatusNoContent,
	}), nil
}

// originAllowed reports whether origin, as the browser sent it, is one of allowed (or allowed is
// the single "*"). Allowed origins are stored lowercase; the browser sends them lowercase too.
func originAllowed(allowed []string, origin string) bool {
	if origin == "" {
		return false
	}
	for _, a := range allowed {
		if a == origin || a == "*" {
			return true
		}
	}
	return false
}

// deliverySite returns the {site} of a delivery path, "/v1/sites/{site}/...".
func deliverySite(path string) string {
	rest, _ := strings.CutPrefix(path, "/v1/sites/")
	site, _, _ := strings.Cut(rest, "/")
	return site
}

// isPreflight reports whether r is a CORS preflight request.
func isPreflight(r *http.Request) bool {
	return r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != ""
}
