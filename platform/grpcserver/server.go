package grpcserver

import (
	"context"
	"log/slog"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/status"
)

// Config holds the settings every gRPC server shares.
type Config struct {
	// MaxRequestBytes caps one request message. Default 1 MiB.
	MaxRequestBytes int
	// MaxCallDuration caps how long one call may run. Default 30s.
	MaxCallDuration time.Duration
	// Reflection registers the gRPC reflection service: open to everyone, but only callers
	// Authorizer.FullReflection admits see every service; the others see only health.
	Reflection bool
	// MaxConcurrentStreams caps the calls in flight on one client connection; a client's
	// further calls wait for one to end. Default 1000 (the REST edge multiplexes its calls to
	// a service over one connection).
	MaxConcurrentStreams uint32
	// MaxHealthWatches caps the health Watch streams open at once on the server, which anyone
	// may open without a key; one more is refused with RESOURCE_EXHAUSTED. Default 1000.
	MaxHealthWatches int
}

func (c Config) withDefaults() Config {
	if c.MaxRequestBytes <= 0 {
		c.MaxRequestBytes = 1 << 20
	}
	if c.MaxCallDuration <= 0 {
		c.MaxCallDuration = 30 * time.Second
	}
	if c.MaxConcurrentStreams == 0 {
		c.MaxConcurrentStreams = 1000
	}
	if c.MaxHealthWatches <= 0 {
		c.MaxHealthWatches = 1000
	}
	return c
}

// Authorizer is the access check every call passes (platform/auth's interceptor).
type Authorizer interface {
	Unary() grpc.UnaryServerInterceptor
	Stream() grpc.StreamServerInterceptor
	// FullReflection reports whether the caller of a reflection stream (its context as Stream
	// passed it on) may see every service; any other caller sees only the health service.
	FullReflection(ctx context.Context) bool
}

// Server is a gRPC server with Beacon's interceptor chain and a health service.
type Server struct {
	*grpc.Server
	Health *health.Server
	config Config
	opts   options
}

// New builds a server. The interceptor order is: the options' instrumentation (request ids first,
// then metrics, which see the code the caller gets), error mapping and panic recovery (so every
// error below is mapped in one place), logging, deadline, authorization, then the unary
// interceptors WithUnaryAfterAuth adds, which need the authenticated caller (a rate limit per
// caller).
func New(cfg Config, authz Authorizer, logger *slog.Logger, opts ...Option) *Server {
	cfg = cfg.withDefaults()
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	extra, unary, stream := o.serverOptions()
	srv := grpc.NewServer(append(extra,
		grpc.MaxRecvMsgSize(cfg.MaxRequestBytes),
		grpc.MaxConcurrentStreams(cfg.MaxConcurrentStreams),
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: 20 * time.Second, PermitWithoutStream: true}),
		grpc.KeepaliveParams(keepalive.ServerParameters{MaxConnectionIdle: 5 * time.Minute, MaxConnectionAge: 30 * time.Minute, MaxConnectionAgeGrace: 30 * time.Second}),
		grpc.ChainUnaryInterceptor(append(append(unary, errorUnary(logger), logUnary(logger), deadlineUnary(cfg.MaxCallDuration), authz.Unary(), callerUnary(o.caller)), o.afterAuth...)...),
		grpc.ChainStreamInterceptor(append(stream, errorStream(logger), authz.Stream())...),
	)...)
	hs := health.NewServer()
	healthpb.RegisterHealthServer(srv, &boundedHealth{Server: hs, watches: make(chan struct{}, cfg.MaxHealthWatches)})
	if cfg.Reflection {
		registerReflection(srv, authz.FullReflection)
	}
	return &Server{Server: srv, Health: hs, config: cfg, opts: o}
}

// boundedHealth is the health service with at most cap(watches) Watch streams open at once.
type boundedHealth struct {
	*health.Server
	watches chan struct{} // one token per open Watch
}

func (b *boundedHealth) Watch(req *healthpb.HealthCheckRequest, stream healthpb.Health_WatchServer) error {
	select {
	case b.watches <- struct{}{}:
	default:
		return status.Error(codes.ResourceExhausted, "too many health watches open; use Check, or retry later")
	}
	defer func() { <-b.watches }()
	return b.Server.Watch(req, stream)
}

// Health has two meanings, one per kind of name:
//   - the whole server, "", is liveness: SERVING from New until Drain (the process works). It never
//     follows the store, so that a store outage does not make an orchestrator restart every replica;
//   - each service name is readiness: SetServing and SetNotServing move it (Beacon follows store
//     reachability), and Drain turns it NOT_SERVING.

// SetServing marks the named services as ready. It does not touch the whole server ("").
func (s *Server) SetServing(services ...string) {
	for _, name := range services {
		s.Health.SetServingStatus(name, healthpb.HealthCheckResponse_SERVING)
	}
}

// SetNotServing marks the named services as not ready. The whole server ("") stays SERVING.
func (s *Server) SetNotServing(services ...string) {
	for _, name := range services {
		s.Health.SetServingStatus(name, healthpb.HealthCheckResponse_NOT_SERVING)
	}
}

// Drain marks every service NOT_SERVING and then stops the server gracefully, giving pending calls
// up to grace before they are cut.
func (s *Server) Drain(grace time.Duration) {
	s.Health.Shutdown()
	done := make(chan struct{})
	go func() {
		s.GracefulStop()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(grace):
		s.Stop()
	}
}
