package grpcserver

import (
	"context"
	"net"

	grpcprom "github.com/grpc-ecosystem/go-grpc-middleware/providers/prometheus"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/stats"

	"github.com/beaconcms/beacon/platform/requestid"
)

// Option instruments a Server.
type Option func(*options)

type options struct {
	metrics      *grpcprom.ServerMetrics
	statsHandler stats.Handler
	ids          *requestid.Generator
	caller       func(context.Context) string
	afterAuth    []grpc.UnaryServerInterceptor
}

// WithUnaryAfterAuth adds unary interceptors that run after authorization (and so see the
// authenticated caller), innermost, in the order given: a rate limit per caller, for one.
// Repeated options append.
func WithUnaryAfterAuth(interceptors ...grpc.UnaryServerInterceptor) Option {
	return func(o *options) { o.afterAuth = append(o.afterAuth, interceptors...) }
}

// WithRequestIDs gives every call a request id (requestid): the caller's x-request-id when
// valid, else one from ids. Every log line of the call carries it (with requestid.LogHandler).
func WithRequestIDs(ids *requestid.Generator) Option {
	return func(o *options) { o.ids = ids }
}

// WithCaller names the caller of each call in its log line: caller returns the name of the
// authenticated caller in the context the authorization interceptor hands on (an API key's
// name, never its secret), or "".
func WithCaller(caller func(context.Context) string) Option {
	return func(o *options) { o.caller = caller }
}

// WithMetrics registers per-method call metrics on reg: grpc_server_started_total,
// grpc_server_handled_total {grpc_type, grpc_service, grpc_method, grpc_code} (the code the
// caller sees, after the error mapping) and grpc_server_handling_seconds, plus the message
// counts of streams.
func WithMetrics(reg prometheus.Registerer) Option {
	return func(o *options) {
		o.metrics = grpcprom.NewServerMetrics(grpcprom.WithServerHandlingTimeHistogram(
			grpcprom.WithHistogramBuckets([]float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30})))
		reg.MustRegister(o.metrics)
	}
}

// WithStatsHandler adds h to the server (OpenTelemetry's otelgrpc server handler, for traces).
func WithStatsHandler(h stats.Handler) Option {
	return func(o *options) { o.statsHandler = h }
}

// serverOptions are the grpc.ServerOptions and the outermost interceptors the options add.
func (o *options) serverOptions() (opts []grpc.ServerOption, unary []grpc.UnaryServerInterceptor, stream []grpc.StreamServerInterceptor) {
	if o.statsHandler != nil {
		opts = append(opts, grpc.StatsHandler(o.statsHandler))
	}
	if o.ids != nil {
		unary = append(unary, requestid.UnaryServerInterceptor(o.ids))
		stream = append(stream, requestid.StreamServerInterceptor(o.ids))
	}
	if o.metrics != nil {
		unary = append(unary, o.metrics.UnaryServerInterceptor())
		stream = append(stream, o.metrics.StreamServerInterceptor())
	}
	return opts, unary, stream
}

// Serve serves on lis (see grpc.Server.Serve). With metrics, every registered method's series
// start at zero before the first call.
func (s *Server) Serve(lis net.Listener) error {
	if s.opts.metrics != nil {
		s.opts.metrics.InitializeMetrics(s.Server)
	}
	return s.Server.Serve(lis)
}
