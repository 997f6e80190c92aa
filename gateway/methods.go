package gateway

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// allowCandidates are the methods management routes may have, in the order Allow lists them.
var allowCandidates = []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete}

// methodProbe answers which methods the management routes have for a path. It is a second
// grpc-gateway mux with the same routes whose handlers never run: a middleware in front of
// each answers 204 instead, so serving a request to it says whether its method and path match a
// route, by grpc-gateway's own matching. It is used only to answer a wrong method (405), never
// on a route that matched.
type methodProbe struct {
	mux *runtime.ServeMux
}

func newMethodProbe() *methodProbe {
	matched := func(runtime.HandlerFunc) runtime.HandlerFunc {
		return func(w http.ResponseWriter, _ *http.Request, _ map[string]string) { w.WriteHeader(http.StatusNoContent) }
	}
	return &methodProbe{mux: runtime.NewServeMux(runtime.WithMiddlewares(matched),
		runtime.WithDisableHTTPMethodOverride(), runtime.WithDisablePathLengthFallback(),
		runtime.WithRoutingErrorHandler(func(context.Context, *runtime.ServeMux, runtime.Marshaler, http.ResponseWriter, *http.Request, int) {}))}
}

// allowed returns the management methods that have a route for r's path.
func (p *methodProbe) allowed(r *http.Request) []string {
	var out []string
	for _, m := range allowCandidates {
		probe := *r // shallow: the probe reads only the method, URL and headers
		probe.Method = m
		probe.Body = http.NoBody
		var rec statusRecorder
		p.mux.ServeHTTP(&rec, &probe)
		if rec.status == http.StatusNoContent {
			out = append(out, m)
		}
	}
	return out
}

// statusRecorder is a ResponseWriter that keeps only the status.
type statusRecorder struct {
	header http.Header
	status int
}

func (s *statusRecorder) Header() http.Header {
	if s.header == nil {
		s.header = http.Header{}
	}
	return s.header
}
func (s *statusRecorder) Write(b []byte) (int, error) { return len(b), nil }
func (s *statusRecorder) WriteHeader(code int)        { s.status = code }

// readMethods returns the methods the read routes answer on r's path (GET and HEAD, and POST
// where a PostReadSide accepts the item), or nil when the path is no read route.
func (e *edge) readMethods(r *http.Request) []string {
	req, route := e.matchPath(r.URL.Path)
	if route == nil {
		return nil
	}
	methods := []string{http.MethodGet, http.MethodHead}
	if ps, ok := route.side.(PostReadSide); ok && ps.AcceptsPost(req.Segment, req.Item) {
		methods = append(methods, http.MethodPost)
	}
	return methods
}

// routingError answers a request no route took. A path that some route has, under other
// methods, is 405 Method Not Allowed with Allow listing them (and the gRPC code UNIMPLEMENTED in
// the body, as grpc-gateway has it), whether the methods are a management route's or a read
// route's; any other path is 404. X-HTTP-Method-Override is never honoured, so a POST carrying
// it is judged as the POST it is.
func (e *edge) routingError(ctx context.Context, mux *runtime.ServeMux, m runtime.Marshaler, w http.ResponseWriter, r *http.Request, httpStatus int) {
	if httpStatus == http.StatusNotFound || httpStatus == http.StatusMethodNotAllowed {
		allow := e.readMethods(r)
		for _, method := range e.probe.allowed(r) {
			if !slices.Contains(allow, method) {
				allow = append(allow, method)
			}
		}
		if len(allow) > 0 && !slices.Contains(allow, r.Method) {
			w.Header().Set("Allow", strings.Join(allow, ", "))
			hideTransportErrors(ctx, mux, m, w, r, &runtime.HTTPStatusError{
				HTTPStatus: http.StatusMethodNotAllowed,
				Err:        status.Error(codes.Unimplemented, fmt.Sprintf("method %s is not allowed here; allowed: %s", r.Method, strings.Join(allow, ", "))),
			})
			return
		}
	}
	runtime.DefaultRoutingErrorHandler(ctx, mux, m, w, r, httpStatus)
}
