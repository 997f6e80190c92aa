package metrics

import (
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// HTTP counts and times the requests of an HTTP server by route: beacon_http_requests_total
// {route, method, code} and beacon_http_request_duration_seconds {route, method}.
//
// A route is a pattern ("/v1/sites/{site}/articles/{item}"), never a raw path, and methods
// outside the standard ones count as "OTHER", so the label sets stay bounded. Recording a
// request on a [Route] the caller holds costs a few atomic operations and no allocation once
// its (method, code) pair has been seen.
type HTTP struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	routes   sync.Map // route pattern → *Route, for patterns known only at request time
}

// NewHTTP registers the HTTP metrics on reg.
func NewHTTP(reg prometheus.Registerer) *HTTP {
	h := &HTTP{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Subsystem: "http", Name: "requests_total",
			Help: "HTTP requests answered, by route pattern, method and status code.",
		}, []string{"route", "method", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: Namespace, Subsystem: "http", Name: "request_duration_seconds",
			Help:    "Time to answer HTTP requests (until the handler returns), by route pattern and method.",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"route", "method"}),
	}
	reg.MustRegister(h.requests, h.duration)
	return h
}

// Route returns the handle of a route pattern; the same pattern returns the same handle. Hold
// it for routes known in advance: looking it up by pattern costs a map read.
func (h *HTTP) Route(pattern string) *Route {
	if r, ok := h.routes.Load(pattern); ok {
		return r.(*Route)
	}
	r, _ := h.routes.LoadOrStore(pattern, &Route{h: h, pattern: pattern})
	return r.(*Route)
}

// Route records the requests of one route pattern.
type Route struct {
	h       *HTTP
	pattern string
	// seen caches the metrics of the (method, code) pairs seen so far; past its size, Observe
	// resolves them through the vectors (a hash and a map read).
	seen [routeCacheSize]atomic.Pointer[routeSeries]
}

const routeCacheSize = 8

type routeSeries struct {
	method   string
	code     int
	requests prometheus.Counter
	duration prometheus.Observer
}

// Pattern is the route's label value.
func (r *Route) Pattern() string { return r.pattern }

// Observe records one request: its method, the status code answered and how long it took.
func (r *Route) Observe(method string, code int, took time.Duration) {
	method = knownMethod(method)
	for i := range r.seen {
		s := r.seen[i].Load()
		if s == nil {
			s = r.series(method, code)
			if !r.seen[i].CompareAndSwap(nil, s) {
				if other := r.seen[i].Load(); other.method == method && other.code == code {
					s = other
				} else {
					continue // another pair took the slot; look further
				}
			}
		} else if s.method != method || s.code != code {
			continue
		}
		s.requests.Inc()
		s.duration.Observe(took.Seconds())
		return
	}
	s := r.series(method, code)
	s.requests.Inc()
	s.duration.Observe(took.Seconds())
}

func (r *Route) series(method string, code int) *routeSeries {
	return &routeSeries{
		method:   method,
		code:     code,
		requests: r.h.requests.WithLabelValues(r.pattern, method, statusLabel(code)),
		duration: r.h.duration.WithLabelValues(r.pattern, method),
	}
}

// knownMethod returns method when it is a standard one, else "OTHER".
func knownMethod(method string) string {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions:
		return method
	}
	return "OTHER"
}

// statusLabel is the code's decimal text, or "other" outside 100-599.
func statusLabel(code int) string {
	if code < 100 || code > 599 {
		return "other"
	}
	return strconv.Itoa(code)
}
