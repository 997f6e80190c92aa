// Package gateway is Beacon's REST edge. It serves two kinds of routes:
//
//   - Read routes, GET and HEAD /v1/sites/{site}/{segment}[/{item}], are dispatched on the
//     segment to the service's [ReadSide] (content: "articles", "search", "sitemap.xml",
//     "feed.xml"), which answers from its in-memory read model without a gRPC hop. A
//     [PostReadSide] also takes POST on the items it accepts (screening's "{slug}:score"). The edge
//     authenticates the caller once, with the same bearer parser and [auth.Verifier] as the
//     gRPC services, and hands the result to the read side, which applies its site's rule.
//   - Every other route is a management route: grpc-gateway forwards it to its service over
//     that service's gRPC client connection, never in-process, so the services' interceptors
//     (authorization, error mapping, deadlines) treat REST and gRPC callers alike.
//
// Errors are JSON {code, message, details} with the HTTP status of the gRPC code, on both
// kinds of routes.
package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/beaconcms/beacon/platform/auth"
	"github.com/beaconcms/beacon/platform/grpcserver"
	"github.com/beaconcms/beacon/platform/httpcache"
	"github.com/beaconcms/beacon/platform/metrics"
	"github.com/beaconcms/beacon/platform/ratelimit"
	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"github.com/rs/cors"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
)

// Config is the gateway's configuration.
type Config struct {
	// MaxBodyBytes caps request bodies; larger ones get 413. Default 1 MiB.
	MaxBodyBytes int64
	// CallTimeout is the deadline of every call the gateway makes. Default 10s.
	CallTimeout time.Duration
	// ManagementOrigins are the browser origins whose pages may call the management routes
	// (CORS, see cors.go), each as weburl.CheckOrigin accepts it. Empty (the default): the
	// management routes are same-origin only.
	ManagementOrigins []string
	// PerAddress limits the management requests of each client address (zero: no limit, and
	// nothing installed). The services limit each caller (ratelimit.PerCaller).
	PerAddress ratelimit.Quota
	// PerSite limits the delivery requests of each site, whoever sends them (zero: no limit,
	// and nothing on the delivery path but one nil check).
	PerSite ratelimit.Quota
	// Version is the build's version, which the health endpoints report ("" for none).
	Version string
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{MaxBodyBytes: 1 << 20, CallTimeout: 10 * time.Second}
}

// RegisterFunc registers a service's management routes on mux, calling the service through
// conn (each service's facade has one: content.RegisterGateway, ...).
type RegisterFunc func(ctx context.Context, mux *runtime.ServeMux, conn *grpc.ClientConn) error

// Upstreams are what the gateway serves from.
type Upstreams struct {
	// Conns are the gRPC client connections of the services, by service name.
	Conns map[string]*grpc.ClientConn
	// Routes registers each service's management routes, by the same service name, over the
	// connection of that name. A name without a connection is an error.
	Routes map[string]RegisterFunc
	// ReadSides answer the read routes. Two read sides may not claim one segment.
	ReadSides []ReadSide
	// Verifier checks bearer keys for the read routes. Required when ReadSides is not empty.
	Verifier auth.Verifier
	// Ready reports whether the edge should receive traffic, for GET /readyz; nil means ready.
	// It must not depend on the services or the store: the edge answers read routes from
	// memory while they are down (see the health endpoints in gateway.go).
	Ready func() bool
	// Logger logs internal errors of read routes (with the id the caller sees). nil discards.
	Logger *slog.Logger
	// Origins tells which browser origins may call each site's delivery routes (CORS, see
	// cors.go). nil: no origin may (no CORS header on delivery routes).
	Origins SiteOrigins
	// OpenAPI is the OpenAPI document served at GET /openapi.json (gen/openapi.JSON); nil
	// serves none (404).
	OpenAPI []byte
	// Metrics, when set, is where Observe records requests: the edge names each request's
	// route pattern for it (see observe.go).
	Metrics *metrics.HTTP
}

// ReadSide serves a service's read routes from memory.
type ReadSide interface {
	// Segments are the path segments after /v1/sites/{site}/ that the read side serves.
	Segments() []string
	// ServeRead answers a GET or HEAD read route. The caller is already authenticated (or
	// presented no key); the read side decides whether it may read the site, and writes
	// errors with WriteError.
	ServeRead(w http.ResponseWriter, r *http.Request, req ReadRequest)
}

// PostReadSide is a ReadSide that also answers POST /v1/sites/{site}/{segment}/{item} for the
// items it accepts, such as screening's "{slug}:score": a computation from the read side's
// memory that changes nothing a client could cache. The edge authenticates the caller as for
// a read and caps the body at Config.MaxBodyBytes (413 beyond).
type PostReadSide interface {
	ReadSide
	AcceptsPost(segment, item string) bool
}

// ReadRequest is a read route, parsed, with its authenticated caller.
type ReadRequest struct {
	Site    string // the {site} path segment, not empty
	Segment string // one of the read side's Segments
	// Item is the path segment after the segment ("" for the collection itself), never
	// containing "/".
	Item string
	// Authenticated reports whether the caller presented a key, which Caller then holds.
	Authenticated bool
	Caller        auth.Principal
}

// New returns the REST handler.
func New(ctx context.Context, cfg Config, up Upstreams) (http.Handler, error) {
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = DefaultConfig().MaxBodyBytes
	}
	if cfg.CallTimeout <= 0 {
		cfg.CallTimeout = DefaultConfig().CallTimeout
	}
	if up.Logger == nil {
		up.Logger = slog.New(slog.DiscardHandler)
	}
	strictJSON := &runtime.JSONPb{
		MarshalOptions:   protojson.MarshalOptions{},
		UnmarshalOptions: protojson.UnmarshalOptions{DiscardUnknown: false},
	}
	// google.api.HttpBody responses (e.g. an HSDS export) are sent as their own bytes and type.
	// A route answers only its own method: no X-HTTP-Method-Override (a form POST turned into
	// a DELETE gets past method rules at a proxy) and no form-encoded POST falling back to a GET.
	// No gRPC metadata reaches a REST client as Grpc-Metadata-* headers (grpc-gateway's default
	// forwards every header and trailer so, content-type included): what a client needs of a
	// reply is in its body, status and the edge's own headers.
	e := &edge{probe: newMethodProbe()}
	mux := runtime.NewServeMux(runtime.WithMarshalerOption(runtime.MIMEWildcard, &runtime.HTTPBodyMarshaler{Marshaler: strictJSON}),
		runtime.WithErrorHandler(hideTransportErrors), runtime.WithRoutingErrorHandler(e.routingError),
		runtime.WithOutgoingHeaderMatcher(forwardNoMetadata), runtime.WithOutgoingTrailerMatcher(forwardNoMetadata),
		runtime.WithDisableHTTPMethodOverride(), runtime.WithDisablePathLengthFallback(),
		runtime.WithMiddlewares(nameManagementRoute))
	var err error
	names := make([]string, 0, len(up.Routes))
	for name := range up.Routes {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		conn := up.Conns[name]
		if conn == nil {
			return nil, fmt.Errorf("gateway: routes of service %q but no connection to it", name)
		}
		if err := up.Routes[name](ctx, mux, conn); err != nil {
			return nil, fmt.Errorf("register %s routes: %w", name, err)
		}
		if err := up.Routes[name](ctx, e.probe.mux, conn); err != nil {
			return nil, fmt.Errorf("register %s routes: %w", name, err)
		}
	}
	e.management = noStore(limitBody(cfg.MaxBodyBytes, withTimeout(cfg.CallTimeout, mux)))
	if limit := newKeyedLimit(ratelimit.PolicyAddress, cfg.PerAddress); limit != nil {
		e.management = e.limitPerAddress(limit, e.management)
	}
	e.perSite = newKeyedLimit(ratelimit.PolicySite, cfg.PerSite)
	e.verifier, e.logger, e.ready, e.maxBody = up.Verifier, up.Logger, up.Ready, cfg.MaxBodyBytes
	e.serving, e.notServing = healthBody("SERVING", cfg.Version), healthBody("NOT_SERVING", cfg.Version)
	if e.ready == nil {
		e.ready = func() bool { return true }
	}
	if up.Origins != nil {
		e.deliveryCORS = newDeliveryCORS(up.Origins)
	}
	if up.OpenAPI != nil {
		e.openAPI = httpcache.New(up.OpenAPI)
	}
	if e.managementCORS, err = newManagementCORS(cfg.ManagementOrigins); err != nil {
		return nil, fmt.Errorf("gateway: %w", err)
	}
	for _, side := range up.ReadSides {
		for _, seg := range side.Segments() {
			if seg == "" || strings.Contains(seg, "/") {
				return nil, fmt.Errorf("gateway: read segment %q must be one non-empty path segment", seg)
			}
			for _, r := range e.reads {
				if r.segment == seg {
					return nil, fmt.Errorf("gateway: two read sides serve segment %q", seg)
				}
			}
			e.reads = append(e.reads, newReadRoute(seg, side, up.Metrics))
		}
	}
	if len(e.reads) > 0 && e.verifier == nil {
		return nil, errors.New("gateway: read sides need a Verifier")
	}
	return e, nil
}

// edge dispatches read routes to their read side and everything else to the management mux.
type edge struct {
	reads      []readRoute // a few; a scan is cheaper than a map lookup
	management http.Handler
	verifier   auth.Verifier
	logger     *slog.Logger
	ready      func() bool
	maxBody    int64        // for POST read routes
	probe      *methodProbe // the management routes' methods, for 405's Allow
	// deliveryCORS answers CORS on read routes (nil: none); managementCORS on every other
	// route (nil: same-origin only). See cors.go.
	deliveryCORS   *cors.Cors
	managementCORS *cors.Cors
	openAPI        *httpcache.Body // nil: none
	perSite        *keyedLimit     // nil: no limit per site on the read routes
	// serving and notServing are the health endpoints' bodies.
	serving, notServing string
}

// healthBody is a health endpoint's JSON: the status, and the version when there is one.
func healthBody(status, version string) string {
	if version == "" {
		return `{"status":"` + status + `"}`
	}
	v, _ := json.Marshal(version)
	return `{"status":"` + status + `","version":` + string(v) + `}`
}

type readRoute struct {
	segment string
	side    ReadSide
	// names are the route's patterns, for metrics and logs (see observe.go).
	names readRouteNames
}

// ServeHTTP matches the read routes itself rather than through http.ServeMux patterns: this is
// the hottest path of the system and pattern matching (with path cleaning) was a measurable
// share of it. A path that does not match exactly (other methods, an empty site or item, more
// segments, an unknown segment) goes to the management routes, which answer 404 for it unless
// a service has such a route.
//
// CORS headers are added only to requests that carry an Origin header (browsers' cross-origin
// and POST requests), so other callers pay nothing for them.
//
// Every response is X-Content-Type-Options: nosniff and Content-Security-Policy: default-src
// 'none': the edge answers only JSON, XML and exports, never a page, so a body a browser is
// tricked into rendering may run and load nothing. (The console, served beside the edge, sets
// its own policy.)
func (e *edge) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h["X-Content-Type-Options"] = hdrNoSniff
	h["Content-Security-Policy"] = hdrNoContent
	if req, route := e.match(r); route != nil {
		side := route.side
		route.names.set(r.Context(), req.Item != "") // before the limit: a 429 counts under its route
		if e.deliveryCORS != nil && r.Header["Origin"] != nil {
			e.deliveryCORS.HandlerFunc(w, r) // an actual request: adds headers, writes nothing
		}
		if e.perSite != nil && !e.perSite.allow(w, r, e, "for site ", req.Site) {
			return
		}
		if r.Method == http.MethodPost {
			limitBody(e.maxBody, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { e.serveRead(w, r, side, req) })).ServeHTTP(w, r)
			return
		}
		e.serveRead(w, r, side, req)
		return
	}
	if r.URL.Path == healthzPath || r.URL.Path == readyzPath {
		setHealthRoute(r.Context(), r.URL.Path)
		e.serveHealth(w, r)
		return
	}
	if r.URL.Path == openAPIPath && e.openAPI != nil {
		SetRoute(r.Context(), openAPIPath)
		e.serveOpenAPI(w, r)
		return
	}
	if isPreflight(r) {
		if _, route := e.matchPath(r.URL.Path); route != nil {
			if e.deliveryCORS != nil {
				e.deliveryCORS.HandlerFunc(w, r) // writes 204, with CORS headers when allowed
			} else {
				w.WriteHeader(http.StatusNoContent) // no origin may call: no CORS header
			}
			return
		}
		if e.managementCORS != nil {
			e.managementCORS.HandlerFunc(w, r)
			return
		}
	}
	if e.managementCORS != nil && r.Header["Origin"] != nil {
		e.managementCORS.HandlerFunc(w, r)
	}
	e.management.ServeHTTP(w, r)
}

// Health endpoints. Both are open (no key), answer GET and HEAD, and never name an upstream or
// an address: their body is {"status": "SERVING"} or {"status": "NOT_SERVING"}, with the build's
// "version" (Config.Version).
//
//   - /healthz is liveness: 200 while this process serves HTTP. It does not follow the services
//     or the store, whose outage a restart would not cure.
//   - /readyz is readiness: 200 while Upstreams.Ready says so, 503 otherwise. Beacon reports
//     ready from the moment the edge listens (its read sides have loaded by then) until its
//     shutdown begins, also while the services or the store are down: the read routes keep
//     answering from memory, and management routes answer 503 UNAVAILABLE on their own.
const (
	healthzPath = "/healthz"
	readyzPath  = "/readyz"
)

func (e *edge) serveHealth(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		writeError(w, http.StatusMethodNotAllowed, 12, "health endpoints answer GET and HEAD") // UNIMPLEMENTED
		return
	}
	status, body := http.StatusOK, e.serving
	if r.URL.Path == readyzPath && !e.ready() {
		status, body = http.StatusServiceUnavailable, e.notServing
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	if r.Method == http.MethodGet {
		_, _ = io.WriteString(w, body)
	}
}

// openAPIPath serves the OpenAPI 3 document: open (no key), GET and HEAD, with an ETag and gzip,
// cacheable for five minutes, and readable by pages of any origin (it holds nothing secret, and
// API explorers load it from elsewhere).
const openAPIPath = "/openapi.json"

var (
	hdrOpenAPICache = []string{"public, max-age=300"}
	hdrAnyOrigin    = []string{"*"}
	hdrVaryEncoding = []string{"Accept-Encoding"}
)

func (e *edge) serveOpenAPI(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		writeError(w, http.StatusMethodNotAllowed, 12, "/openapi.json answers GET and HEAD") // UNIMPLEMENTED
		return
	}
	hdr := w.Header()
	hdr["Cache-Control"] = hdrOpenAPICache
	hdr["Vary"] = hdrVaryEncoding
	hdr["Access-Control-Allow-Origin"] = hdrAnyOrigin
	httpcache.Write(w, r, e.openAPI, hdrJSON)
}

func (e *edge) match(r *http.Request) (ReadRequest, *readRoute) {
	post := r.Method == http.MethodPost
	if r.Method != http.MethodGet && r.Method != http.MethodHead && !post {
		return ReadRequest{}, nil
	}
	req, route := e.matchPath(r.URL.Path)
	if route == nil {
		return ReadRequest{}, nil
	}
	if post {
		ps, ok := route.side.(PostReadSide)
		if !ok || !ps.AcceptsPost(req.Segment, req.Item) {
			return ReadRequest{}, nil
		}
	}
	return req, route
}

// matchPath matches path against the read routes, whatever the method.
func (e *edge) matchPath(path string) (ReadRequest, *readRoute) {
	rest, ok := strings.CutPrefix(path, "/v1/sites/")
	if !ok {
		return ReadRequest{}, nil
	}
	site, rest, ok := strings.Cut(rest, "/")
	if !ok || site == "" {
		return ReadRequest{}, nil
	}
	segment, item, hasItem := strings.Cut(rest, "/")
	if hasItem && (item == "" || strings.Contains(item, "/")) {
		return ReadRequest{}, nil
	}
	for i := range e.reads {
		if e.reads[i].segment == segment {
			return ReadRequest{Site: site, Segment: segment, Item: item}, &e.reads[i]
		}
	}
	return ReadRequest{}, nil
}

// serveRead authenticates the caller, if it sent an Authorization header, and hands the
// request to the read side.
func (e *edge) serveRead(w http.ResponseWriter, r *http.Request, side ReadSide, req ReadRequest) {
	if header := r.Header.Get("Authorization"); header != "" {
		p, err := auth.Authenticate(r.Context(), e.verifier, header)
		if err != nil {
			WriteError(w, r, e.logger, err)
			return
		}
		req.Authenticated, req.Caller = true, p
	}
	side.ServeRead(w, r, req)
}

// Header values of error responses; assigned directly to avoid allocations.
var (
	hdrJSON      = []string{"application/json"}
	hdrNoStore   = []string{"no-store"}
	hdrNoSniff   = []string{"nosniff"}
	hdrNoContent = []string{"default-src 'none'"}
)

// forwardNoMetadata is the outgoing header and trailer matcher: no gRPC metadata is forwarded.
func forwardNoMetadata(string) (string, bool) { return "", false }

// WriteError writes err as {code, message, details}, not cacheable, with the HTTP status of
// its gRPC code: the same mapping (grpcserver.Status) and the same JSON (google.rpc.Status,
// details only when there are some, such as a google.rpc.BadRequest naming each bad field)
// that every gRPC and management error takes. An error that is not an apperr error is logged
// with an id and answered as internal.
func WriteError(w http.ResponseWriter, r *http.Request, logger *slog.Logger, err error) {
	st := grpcserver.Status(r.Context(), logger, "GET "+r.URL.Path, err)
	w.Header()["Content-Type"] = hdrJSON
	w.Header()["Cache-Control"] = hdrNoStore
	if st.Code() == codes.Unauthenticated {
		w.Header().Set("WWW-Authenticate", bearerChallenge(r.Header.Get("Authorization"), st.Message()))
	}
	setRetryHeaders(w.Header(), st)
	w.WriteHeader(runtime.HTTPStatusFromCode(st.Code()))
	body, merr := protojson.Marshal(st.Proto())
	if merr != nil {
		// Only an unregistered detail type fails; the code and message still go out.
		body, _ = protojson.Marshal(status.New(st.Code(), st.Message()).Proto())
	}
	_, _ = w.Write(append(withRequestID(body, r.Context()), '\n'))
}

// hideTransportErrors is grpc-gateway's error handler, except that errors the gateway or the
// gRPC transport made do not reach the caller with their text, which names internals:
//   - an error of the client connection itself (the service is unreachable, its text names
//     internal addresses) becomes 503 "service unavailable; retry later";
//   - a request the gateway could not decode (body JSON, query or path parameters) gets the
//     documented shape of a bad field (see decodeError);
//   - a message over gRPC's size limit becomes RESOURCE_EXHAUSTED "message too large".
//
// Errors a service returned pass unchanged (their messages are written to be shown). A 401
// carries the bearer challenge of RFC 6750 (see bearerChallenge).
func hideTransportErrors(ctx context.Context, mux *runtime.ServeMux, m runtime.Marshaler, w http.ResponseWriter, r *http.Request, err error) {
	if st, ok := status.FromError(err); ok {
		if st.Code() == codes.Unauthenticated {
			w = challengeWriter{ResponseWriter: w, value: bearerChallenge(r.Header.Get("Authorization"), st.Message())}
		}
		setRetryHeaders(w.Header(), st)
		switch {
		case st.Code() == codes.Unavailable && isTransportError(st.Message()):
			err = status.Error(codes.Unavailable, "service unavailable; retry later")
		case st.Code() == codes.ResourceExhausted && strings.HasPrefix(st.Message(), "grpc: received message larger than max"):
			err = status.Error(codes.ResourceExhausted, "message too large: send a smaller request or ask for a smaller page")
		case st.Code() == codes.InvalidArgument && len(st.Details()) == 0:
			if clean := decodeError(st.Message()); clean != nil {
				err = clean.Err()
			}
		}
	}
	runtime.DefaultHTTPErrorHandler(ctx, mux, requestIDMarshaler{m, r.Context()}, w, r, err)
}

// decodeError rewrites the INVALID_ARGUMENT of a request grpc-gateway could not decode, whose
// message is a Go error's text ("proto: syntax error (line 1:1): …", "parsing field
// \"page_size\": strconv.ParseInt: …"), as "invalid request: {field}: {description}" with a google.rpc.BadRequest
// naming the field ("body" for the JSON body, the parameter's proto name otherwise). It
// returns nil for any other message: the services' own INVALID_ARGUMENT errors always carry a
// BadRequest, so they never reach it.
func decodeError(msg string) *status.Status {
	var field, description string
	switch {
	case strings.HasPrefix(msg, "proto:"):
		rest := strings.TrimSpace(strings.TrimPrefix(msg, "proto:"))
		rest = strings.TrimSpace(strings.TrimPrefix(rest, "syntax error"))
		field, description = "body", "is not valid JSON for this request: "+rest
	case strings.HasPrefix(msg, "invalid character ") || strings.HasPrefix(msg, "unexpected end of JSON input") || strings.HasPrefix(msg, "json: "):
		// encoding/json, which reads the body before protojson does.
		field, description = "body", "is not valid JSON: "+strings.TrimPrefix(msg, "json: ")
	case strings.HasPrefix(msg, "parsing field ") || strings.HasPrefix(msg, "parsing list "):
		_, rest, _ := strings.Cut(strings.TrimPrefix(msg, "parsing "), " ") // after "field " or "list "
		name, inner, ok := strings.Cut(rest, ": ")
		if !ok {
			return nil
		}
		if unquoted, err := strconv.Unquote(name); err == nil {
			name = unquoted
		}
		field, description = name, valueProblem(inner)
	case strings.HasPrefix(msg, "type mismatch, parameter: "):
		name, _, _ := strings.Cut(strings.TrimPrefix(msg, "type mismatch, parameter: "), ",")
		field, description = name, "has an invalid value"
	default:
		return nil
	}
	// The message reads as the services' own (apperr.Error): "invalid request: field: description".
	st, err := status.New(codes.InvalidArgument, "invalid request: "+field+": "+description).WithDetails(&errdetails.BadRequest{
		FieldViolations: []*errdetails.BadRequest_FieldViolation{{Field: field, Description: description}},
	})
	if err != nil {
		return status.New(codes.InvalidArgument, "invalid request: "+field+": "+description)
	}
	return st
}

// valueProblem describes why a query parameter's value did not parse, without Go's error text.
func valueProblem(inner string) string {
	switch {
	case strings.Contains(inner, "value out of range"):
		return "is out of range"
	case strings.HasPrefix(inner, "strconv.ParseInt") || strings.HasPrefix(inner, "strconv.ParseUint"):
		return "must be a whole number"
	case strings.HasPrefix(inner, "strconv.ParseFloat"):
		return "must be a number"
	case strings.HasPrefix(inner, "strconv.ParseBool"):
		return "must be true or false"
	case strings.HasPrefix(inner, "strconv.") || strings.HasPrefix(inner, "proto:"):
		return "has an invalid value"
	}
	return inner // grpc-gateway's own words, e.g. `"FOO" is not a valid value`
}

// isTransportError reports whether msg is one of grpc-go's client-side connection errors.
func isTransportError(msg string) bool {
	return strings.HasPrefix(msg, "connection error") || strings.Contains(msg, "transport:") ||
		strings.Contains(msg, "name resolver") || strings.Contains(msg, "connection closed")
}

// noStore marks every management response Cache-Control: no-store. They answer one key's
// caller, and some carry secrets shown once (a new API key, a generated password), which no
// browser, proxy or CDN may keep.
func noStore(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header()["Cache-Control"] = hdrNoStore
		next.ServeHTTP(w, r)
	})
}

func withTimeout(d time.Duration, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), d)
		defer cancel()
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// limitBody answers 413 for bodies over max bytes before any route sees them.
func limitBody(max int64, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body == nil || r.Body == http.NoBody {
			next.ServeHTTP(w, r)
			return
		}
		if r.ContentLength > max {
			writeError(w, http.StatusRequestEntityTooLarge, 8, fmt.Sprintf("request body is larger than %d bytes", max))
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, max))
		var tooLarge *http.MaxBytesError
		switch {
		case errors.As(err, &tooLarge):
			writeError(w, http.StatusRequestEntityTooLarge, 8, fmt.Sprintf("request body is larger than %d bytes", max))
			return
		case err != nil:
			writeError(w, http.StatusBadRequest, 3, "could not read request body")
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		next.ServeHTTP(w, r)
	})
}

// writeError writes an error in the same shape grpc-gateway uses: {code, message}, with no
// details to give.
// grpcCode is the gRPC code number (8 RESOURCE_EXHAUSTED, 3 INVALID_ARGUMENT).
func writeError(w http.ResponseWriter, status, grpcCode int, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"code": grpcCode, "message": message})
}
