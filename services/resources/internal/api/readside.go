package api

import (
	"context"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"

	"google.golang.org/protobuf/encoding/protojson"

	"github.com/beaconcms/beacon/gateway"
	resourcesv1 "github.com/beaconcms/beacon/gen/beacon/resources/v1"
	"github.com/beaconcms/beacon/platform/apperr"
	"github.com/beaconcms/beacon/platform/auth"
	"github.com/beaconcms/beacon/platform/httpcache"
	"github.com/beaconcms/beacon/services/resources/internal/delivery"
)

// SitePolicies answers, from memory, how a site's delivery may be read and cached.
type SitePolicies interface {
	// Public reports whether the site's delivery is readable without a key.
	Public(ctx context.Context, site string) bool
	// CacheMaxAge is the site's delivery cache lifetime in seconds (its cache_max_age_seconds,
	// 60 when unset).
	CacheMaxAge(ctx context.Context, site string) int
}

// MaxResourceCacheAge caps the max-age of resource responses, whatever the site's setting:
// open_now in a response ages with it.
const MaxResourceCacheAge = 60

// ReadSide serves the REST read routes of resources from the delivery read model:
//
//	GET /v1/sites/{site}/resources?near=LAT,LNG&radiusKm=&kind=&taxonomy=&language=&openNow=&q=&pageSize=&remotePageSize=&pageToken=
//	GET /v1/sites/{site}/resources/{id}
//	GET /v1/sites/{site}/crisis-lines
//	GET /v1/sites/{site}/directories/{slug}
//
// The JSON is the DeliveryService's messages in protojson form, with a strong ETag (304 on a
// match) and gzip. A public site's responses are the same for every caller, so they carry
// `Cache-Control: public, max-age=N, stale-while-revalidate=60` (N the site's max-age, at most
// MaxResourceCacheAge) and `Surrogate-Key`/`Cache-Tag` naming the site and every resource (and
// directory) in them, for CDN purges; a private site's are `private, max-age=0, must-revalidate`
// and vary by Authorization.
type ReadSide struct {
	delivery *DeliveryServer
	sites    SitePolicies
	logger   *slog.Logger
}

// NewReadSide returns the read side over a delivery server.
func NewReadSide(d *DeliveryServer, sites SitePolicies, logger *slog.Logger) *ReadSide {
	return &ReadSide{delivery: d, sites: sites, logger: logger}
}

// Segments implements gateway.ReadSide.
func (rs *ReadSide) Segments() []string { return []string{"resources", "crisis-lines", "directories"} }

var jsonContentType = []string{"application/json"}

// ServeRead implements gateway.ReadSide.
func (rs *ReadSide) ServeRead(w http.ResponseWriter, r *http.Request, req gateway.ReadRequest) {
	ctx := r.Context()
	public := rs.sites != nil && rs.sites.Public(ctx, req.Site)
	switch {
	case req.Authenticated:
		ctx = auth.WithPrincipal(ctx, req.Caller)
	case public:
		ctx = auth.WithPrincipal(ctx, auth.Principal{KeyName: "public", Role: auth.RoleDelivery, Site: req.Site})
	default:
		gateway.WriteError(w, r, rs.logger, apperr.New(apperr.Unauthenticated, "site %q needs an API key", "sites/"+req.Site))
		return
	}
	site := "sites/" + req.Site
	var out readJSON
	var err error
	switch {
	case req.Segment == "crisis-lines" && req.Item == "":
		out, err = rs.delivery.crisisLinesJSON(ctx, &resourcesv1.ListCrisisLinesRequest{Site: site})
	case req.Segment == "directories" && req.Item != "":
		var d *resourcesv1.PublishedDirectory
		if d, err = rs.delivery.GetSiteDirectory(ctx, &resourcesv1.GetSiteDirectoryRequest{Site: site, Slug: req.Item}); err == nil {
			out.body, err = protojson.Marshal(d)
			out.keys = directoryKeys(d)
		}
	case req.Segment == "resources" && req.Item != "":
		out, err = rs.delivery.resourceJSON(ctx, &resourcesv1.GetSiteResourceRequest{Site: site, Resource: req.Item})
	case req.Segment == "resources":
		var lr *resourcesv1.ListSiteResourcesRequest
		if lr, err = listRequest(site, r); err == nil {
			out, err = rs.delivery.listJSON(ctx, lr)
		}
	default:
		err = apperr.New(apperr.NotFound, "no such route")
	}
	if err != nil {
		gateway.WriteError(w, r, rs.logger, err)
		return
	}
	rs.write(w, r, req.Site, public, out)
	out.release() // httpcache.Write has sent the body and keeps no reference to it
}

// write sends a read-side response with its caching headers. The ETag hashes the body
// (bodyHash); a kept answer carries its hash and surrogate keys.
func (rs *ReadSide) write(w http.ResponseWriter, r *http.Request, site string, public bool, out readJSON) {
	hdr := w.Header()
	if public {
		hdr["Cache-Control"] = publicCacheControl[min(max(rs.sites.CacheMaxAge(r.Context(), site), 0), MaxResourceCacheAge)]
		hdr["Vary"] = gateway.VaryPublic
		if a := out.answer; a != nil {
			hdr["Surrogate-Key"], hdr["Cache-Tag"] = a.surrogate, a.cacheTag // shared, never modified
		} else {
			surrogate, tags := out.surrogateKeys(site)
			hdr["Surrogate-Key"] = []string{surrogate}
			hdr["Cache-Tag"] = []string{tags}
		}
	} else {
		hdr["Cache-Control"] = cachePrivate // open-now changes with time
		hdr["Vary"] = gateway.VaryPrivate
	}
	if out.answer != nil {
		httpcache.Write(w, r, out.answer.body, jsonContentType)
		return
	}
	httpcache.Write(w, r, httpcache.NewDynamicHashed(out.body, bodyHash(out.body)), jsonContentType)
}

// publicCacheControl is the Cache-Control value of a public response by max-age (0 to
// MaxResourceCacheAge), made once.
var publicCacheControl = func() [][]string {
	out := make([][]string, MaxResourceCacheAge+1)
	for age := range out {
		out[age] = []string{"public, max-age=" + strconv.Itoa(age) + ", stale-while-revalidate=60"}
	}
	return out
}()

var (
	cachePrivate = []string{"private, max-age=0, must-revalidate"}
)

// keyBuffers recycles the buffers surrogate keys are written in.
var keyBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 4<<10); return &b }}

// surrogateKeys returns the Surrogate-Key (space-separated) and Cache-Tag (comma-separated)
// values of a response: "site-{site}", then "resource-{id}" of every resource in it, then its
// other keys.
func (out readJSON) surrogateKeys(site string) (surrogate, tags string) {
	bp := keyBuffers.Get().(*[]byte)
	b := append((*bp)[:0], "site-"...)
	b = append(b, site...)
	for _, list := range [2][]delivery.Item{out.items, out.remote} {
		for i := range list {
			b = append(b, " resource-"...)
			b = append(b, list[i].Resource.ID...)
		}
	}
	for _, k := range out.keys {
		b = append(b, ' ')
		b = append(b, k...)
	}
	surrogate = string(b)
	for i, c := range b {
		if c == ' ' {
			b[i] = ','
		}
	}
	tags = string(b)
	if cap(b) <= 64<<10 {
		*bp = b
		keyBuffers.Put(bp)
	}
	return surrogate, tags
}

// directoryKeys are the surrogate keys of a delivered directory besides the site's:
// "directory-{id}", then "resource-{id}" of each entry.
func directoryKeys(d *resourcesv1.PublishedDirectory) []string {
	keys := []string{"directory-" + strings.TrimPrefix(d.GetName(), "directories/")}
	for _, e := range d.GetEntries() {
		keys = append(keys, "resource-"+strings.TrimPrefix(e.GetResource().GetName(), "resources/"))
	}
	return keys
}

// listRequest reads the query parameters of a list; both camelCase and snake_case names work.
func listRequest(site string, r *http.Request) (*resourcesv1.ListSiteResourcesRequest, error) {
	var buf [12]queryParam // on the stack: a list request has a handful of parameters
	q := parseQuery(buf[:0], r.URL.RawQuery)
	get := func(names ...string) string {
		for _, n := range names {
			if v := q.get(n); v != "" {
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
	if v := get("remotePageSize", "remote_page_size"); v != "" {
		n, err := strconv.ParseInt(v, 10, 32)
		if err != nil {
			return nil, apperr.InvalidField("remotePageSize", "must be a whole number (got %q)", v)
		}
		req.RemotePageSize = int32(n)
	}
	if v := get("openNow", "open_now"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return nil, apperr.InvalidField("openNow", "must be true or false (got %q)", v)
		}
		req.OpenNow = b
	}
	if v := get("kind"); v != "" {
		k, ok := kindsByName[v]
		if !ok {
			k, ok = kindsByName[strings.ToUpper(v)] // any other mix of cases
		}
		if !ok {
			return nil, apperr.InvalidField("kind", "must be a kind such as crisis_line or SUPPORT_GROUP (got %q)", v)
		}
		req.Kind = k
	}
	return req, nil
}

// kindsByName reads the kind parameter: every kind but UNSPECIFIED by its enum name with or
// without the KIND_ prefix, in upper and in lower case ("SUPPORT_GROUP", "support_group",
// "KIND_SUPPORT_GROUP", "kind_support_group"), made once.
var kindsByName = func() map[string]resourcesv1.Kind {
	out := map[string]resourcesv1.Kind{}
	for name, k := range resourcesv1.Kind_value {
		if k == 0 {
			continue
		}
		short := strings.TrimPrefix(name, "KIND_")
		for _, n := range []string{name, short, strings.ToLower(name), strings.ToLower(short)} {
			out[n] = resourcesv1.Kind(k)
		}
	}
	return out
}()

// queryParams are a query string's parameters in order, read as url.ParseQuery reads them (a
// pair with a semicolon or a bad escape is left out), without building its map: a list request
// has a handful of them.
type queryParams []queryParam

type queryParam struct{ name, value string }

// parseQuery appends raw's parameters to q (which may have room for them).
func parseQuery(q queryParams, raw string) queryParams {
	for raw != "" {
		var pair string
		pair, raw, _ = strings.Cut(raw, "&")
		if pair == "" || strings.Contains(pair, ";") {
			continue
		}
		name, value, _ := strings.Cut(pair, "=")
		name, ok1 := unescapeQuery(name)
		value, ok2 := unescapeQuery(value)
		if ok1 && ok2 {
			q = append(q, queryParam{name, value})
		}
	}
	return q
}

// unescapeQuery is url.QueryUnescape, which it calls only when s has something to unescape.
func unescapeQuery(s string) (string, bool) {
	if !strings.ContainsAny(s, "%+") {
		return s, true
	}
	u, err := url.QueryUnescape(s)
	return u, err == nil
}

// get returns the first value of name, "" when there is none (as url.Values.Get).
func (q queryParams) get(name string) string {
	for _, p := range q {
		if p.name == name {
			return p.value
		}
	}
	return ""
}
