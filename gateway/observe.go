package gateway

import (
	"bytes"
	"cmp"
	"context"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"time"

	"github.com/beaconcms/beacon/platform/metrics"
	"github.com/beaconcms/beacon/platform/requestid"
	"github.com/beaconcms/beacon/platform/tracing"
	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
)

// ObserveConfig is what Observe records of each request.
type ObserveConfig struct {
	// Metrics counts and times requests by route (nil: none).
	Metrics *metrics.HTTP
	// Logger writes the call logs: one line per request at info (method, route, path, status,
	// duration in ms, request id), except the delivery routes' (see AccessLogSample) and the
	// health endpoints'. nil discards.
	Logger *slog.Logger
	// AccessLogSample is the share of delivery (read route) requests logged, from 0 (none, the
	// default: logging must not eat the read path) to 1 (all).
	AccessLogSample float64
	// IDs makes the request ids of requests that bring none (required).
	IDs *requestid.Generator
	// Tracing: the handler is wrapped by a tracing one (tracing.HTTPHandler), whose span Observe
	// names by the route pattern and marks with the request id.
	Tracing bool
}

// Observe wraps the whole HTTP edge (read routes, management routes, the console):
//   - it takes the request's X-Request-Id when it is valid (requestid.Valid) or makes one, and
//     echoes it on the response; the request's context carries it (requestid.From), so every
//     log line of the request, the error bodies (WriteError) and the gRPC calls made for it
//     (requestid.UnaryClientInterceptor) carry it too;
//   - it records the request in the metrics under the route pattern the handler named with
//     setRoute (SetRoute outside this package), never the raw path: "other" when none did;
//   - it logs the request (see ObserveConfig.Logger).
//
// Per request it costs one allocation (its state, which is the request's context and response
// writer at once), the request's shallow copy, the id when it makes one, and for metrics a few
// atomic additions.
func Observe(next http.Handler, cfg ObserveConfig) http.Handler {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	o := &observer{next: next, cfg: cfg}
	if cfg.Metrics != nil {
		o.other = cfg.Metrics.Route("other")
	}
	return o
}

type observer struct {
	next  http.Handler
	cfg   ObserveConfig
	other *metrics.Route
}

// Route kinds, for logging: read routes are sampled, health checks never logged.
const (
	kindOther = iota
	kindRead
	kindHealth
)

func (o *observer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	st := &requestState{Context: r.Context(), w: w, observer: o}
	st.id = o.cfg.IDs.FromClient(r.Header.Get(requestid.Header))
	st.idHeader[0] = st.id
	w.Header()[requestid.Header] = st.idHeader[:]
	o.next.ServeHTTP(st, r.WithContext(st))
	took := time.Since(start)
	status := st.status
	if status == 0 {
		status = http.StatusOK // nothing written: net/http answers 200
	}
	if o.cfg.Metrics != nil {
		route := st.route
		if route == nil {
			route = o.other
		}
		route.Observe(r.Method, status, took)
	}
	if o.cfg.Tracing {
		tracing.NameServerSpan(r.Context(), r.Method, cmp.Or(st.routeName, "other"), st.id)
	}
	switch st.kind {
	case kindHealth:
		return
	case kindRead:
		if o.cfg.AccessLogSample <= 0 || (o.cfg.AccessLogSample < 1 && rand.Float64() >= o.cfg.AccessLogSample) {
			return
		}
	}
	o.cfg.Logger.LogAttrs(st, slog.LevelInfo, "http",
		slog.String("method", r.Method), slog.String("route", cmp.Or(st.routeName, "other")), slog.String("path", r.URL.Path),
		slog.Int("status", status), slog.Float64("duration_ms", float64(took.Microseconds())/1000))
}

// requestState is one request's: its context (carrying the request id and the state itself)
// and its response writer (recording the status).
type requestState struct {
	context.Context
	w           http.ResponseWriter
	observer    *observer
	id          string
	idHeader    [1]string
	status      int
	route       *metrics.Route
	routeName   string
	kind        int
	wroteHeader bool
}

type stateKey struct{}

// Value answers the request id (requestid.ContextKey, as a requestid.Carrier) and the state
// itself.
func (s *requestState) Value(key any) any {
	switch key {
	case requestid.ContextKey, stateKey{}:
		return s
	}
	return s.Context.Value(key)
}

// RequestID is the request's id (requestid.Carrier).
func (s *requestState) RequestID() string { return s.id }

func stateOf(ctx context.Context) *requestState {
	if s, ok := ctx.(*requestState); ok {
		return s
	}
	s, _ := ctx.Value(stateKey{}).(*requestState)
	return s
}

// SetRoute names the route pattern of the request ctx belongs to (e.g. "/console/"), for its
// metrics and call log, from a handler Observe wraps. Without Observe it does nothing.
func SetRoute(ctx context.Context, pattern string) {
	if s := stateOf(ctx); s != nil {
		s.setRoute(pattern, kindOther)
	}
}

func (s *requestState) setRoute(pattern string, kind int) {
	s.routeName, s.kind = pattern, kind
	if m := s.observer.cfg.Metrics; m != nil {
		s.route = m.Route(pattern)
	}
}

// setReadRoute names a read route from the handle the edge resolved in advance.
func (s *requestState) setReadRoute(route *metrics.Route, pattern string) {
	s.route, s.routeName, s.kind = route, pattern, kindRead
}

func (s *requestState) Header() http.Header { return s.w.Header() }

func (s *requestState) WriteHeader(code int) {
	if !s.wroteHeader && code >= 200 {
		s.status, s.wroteHeader = code, true
	}
	s.w.WriteHeader(code)
}

func (s *requestState) Write(b []byte) (int, error) {
	if !s.wroteHeader {
		s.status, s.wroteHeader = http.StatusOK, true
	}
	return s.w.Write(b)
}

// Unwrap gives http.ResponseController the underlying writer (Flush, deadlines).
func (s *requestState) Unwrap() http.ResponseWriter { return s.w }

// readRouteNames are a read route's patterns (the collection and one item), with their metrics
// resolved once when the edge is built.
type readRouteNames struct {
	collection, item             string
	collectionMetric, itemMetric *metrics.Route
}

func newReadRoute(segment string, side ReadSide, m *metrics.HTTP) readRoute {
	names := readRouteNames{collection: "/v1/sites/{site}/" + segment, item: "/v1/sites/{site}/" + segment + "/{item}"}
	if m != nil {
		names.collectionMetric, names.itemMetric = m.Route(names.collection), m.Route(names.item)
	}
	return readRoute{segment: segment, side: side, names: names}
}

// set names the read route of the request ctx belongs to.
func (n *readRouteNames) set(ctx context.Context, item bool) {
	s := stateOf(ctx)
	if s == nil {
		return
	}
	if item {
		s.setReadRoute(n.itemMetric, n.item)
	} else {
		s.setReadRoute(n.collectionMetric, n.collection)
	}
}

func setHealthRoute(ctx context.Context, path string) {
	if s := stateOf(ctx); s != nil {
		s.setRoute(path, kindHealth)
	}
}

// nameManagementRoute is the management mux's middleware: it names the request's route by the
// grpc-gateway pattern it matched ("/v1/{name=sites/*/articles/*}").
func nameManagementRoute(next runtime.HandlerFunc) runtime.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request, params map[string]string) {
		if p, ok := runtime.HTTPPattern(r.Context()); ok {
			SetRoute(r.Context(), p.String())
		}
		next(w, r, params)
	}
}

// withRequestID adds "requestId" to an error's JSON object (body, without a trailing newline)
// when ctx carries a request id.
func withRequestID(body []byte, ctx context.Context) []byte {
	id := requestid.From(ctx)
	if id == "" || len(body) < 2 || body[len(body)-1] != '}' {
		return body
	}
	tail := `,"requestId":"` + id + `"}` // ids are requestid.Valid: nothing to escape
	if len(body) == 2 {                  // {}
		tail = tail[1:]
	}
	return append(body[:len(body)-1], tail...)
}

// requestIDMarshaler is the management routes' error marshaler: their errors' JSON gets the
// request's id too.
type requestIDMarshaler struct {
	runtime.Marshaler
	ctx context.Context
}

func (m requestIDMarshaler) Marshal(v any) ([]byte, error) {
	b, err := m.Marshaler.Marshal(v)
	if err != nil {
		return b, err
	}
	return withRequestID(bytes.TrimRight(b, "\n"), m.ctx), nil
}
