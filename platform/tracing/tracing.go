// Package tracing sets up OpenTelemetry tracing: spans for every REST request at the edge
// (otelhttp) and every gRPC call on both ends (otelgrpc stats handlers), W3C trace context
// (traceparent) taken from the edge's requests and carried in every service call, exported by
// OTLP over HTTP.
//
// Tracing is off unless an endpoint is configured: then [New] returns nil, and every method of
// a nil *Tracing hands back what it was given or nothing, so that the process pays nothing for
// it. Nothing here touches OpenTelemetry's global providers: the provider and propagator are
// handed to each instrumentation.
package tracing

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.26.0"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc/stats"
)

// Config says where spans go and what they are labelled with.
type Config struct {
	// Endpoint is the OTLP/HTTP collector's base URL, e.g. "http://otel-collector:4318"; spans
	// are POSTed to its /v1/traces. Empty: tracing is off. The exporter also reads the standard
	// OTEL_EXPORTER_OTLP_* variables (headers, certificates, timeout).
	Endpoint string
	// ServiceName and Version name the process in every span's resource (service.name,
	// service.version); Target (beacon.target) tells apart the processes of a split deployment.
	ServiceName, Version, Target string
	// BatchTimeout is the longest a span waits before it is sent. Default 5s.
	BatchTimeout time.Duration
}

// Tracing is a process's tracer provider and propagator. A nil *Tracing is tracing off.
type Tracing struct {
	provider   *sdktrace.TracerProvider
	propagator propagation.TextMapPropagator
}

// New starts tracing to cfg.Endpoint, or returns nil (off) when it is empty. Call Shutdown to
// send the spans still buffered.
func New(ctx context.Context, cfg Config, logger *slog.Logger) (*Tracing, error) {
	if cfg.Endpoint == "" {
		return nil, nil
	}
	exporter, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpointURL(cfg.Endpoint+"/v1/traces"))
	if err != nil {
		return nil, fmt.Errorf("--otlp-endpoint %q: %w", cfg.Endpoint, err)
	}
	res, err := resource.Merge(resource.Default(), resource.NewSchemaless(
		semconv.ServiceName(cfg.ServiceName), semconv.ServiceVersion(cfg.Version), attribute.String("beacon.target", cfg.Target)))
	if err != nil {
		return nil, err
	}
	var batch []sdktrace.BatchSpanProcessorOption
	if cfg.BatchTimeout > 0 {
		batch = append(batch, sdktrace.WithBatchTimeout(cfg.BatchTimeout))
	}
	provider := sdktrace.NewTracerProvider(
		sdktrace.WithBatcher(exporter, batch...),
		sdktrace.WithResource(res),
		// A caller's sampling decision (traceparent's flag) is kept; new traces are all sampled.
		sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.AlwaysSample())),
	)
	logger.Info("tracing: exporting spans by OTLP", "endpoint", cfg.Endpoint)
	return &Tracing{provider: provider, propagator: propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})}, nil
}

// Enabled reports whether spans are recorded.
func (t *Tracing) Enabled() bool { return t != nil }

// Shutdown sends the buffered spans and stops the exporter (nil: nothing to do).
func (t *Tracing) Shutdown(ctx context.Context) error {
	if t == nil {
		return nil
	}
	return t.provider.Shutdown(ctx)
}

// GRPCServerHandler is the stats handler of a gRPC server: a span per call, child of the
// caller's (from its traceparent metadata). nil when tracing is off.
func (t *Tracing) GRPCServerHandler() stats.Handler {
	if t == nil {
		return nil
	}
	return otelgrpc.NewServerHandler(otelgrpc.WithTracerProvider(t.provider), otelgrpc.WithPropagators(t.propagator),
		otelgrpc.WithMeterProvider(metricnoop.NewMeterProvider()))
}

// GRPCClientHandler is the stats handler of a gRPC client connection: a span per call, whose
// context goes to the service as traceparent metadata. nil when tracing is off.
func (t *Tracing) GRPCClientHandler() stats.Handler {
	if t == nil {
		return nil
	}
	return otelgrpc.NewClientHandler(otelgrpc.WithTracerProvider(t.provider), otelgrpc.WithPropagators(t.propagator),
		otelgrpc.WithMeterProvider(metricnoop.NewMeterProvider()))
}

// HTTPHandler wraps the REST edge: a server span per request (health checks aside), child of
// the request's W3C traceparent when it sends one. It returns h itself when tracing is off.
func (t *Tracing) HTTPHandler(h http.Handler) http.Handler {
	if t == nil {
		return h
	}
	return otelhttp.NewHandler(h, "http",
		otelhttp.WithTracerProvider(t.provider), otelhttp.WithPropagators(t.propagator),
		otelhttp.WithMeterProvider(metricnoop.NewMeterProvider()),
		otelhttp.WithFilter(func(r *http.Request) bool { return r.URL.Path != "/healthz" && r.URL.Path != "/readyz" }),
		otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string { return r.Method }))
}

// NameServerSpan names the span of the request ctx belongs to by its route pattern
// ("GET /v1/sites/{site}/articles/{item}", as OpenTelemetry's HTTP conventions want: a span
// name of bounded cardinality) and records the route and the request id on it.
func NameServerSpan(ctx context.Context, method, route, requestID string) {
	span := trace.SpanFromContext(ctx)
	if !span.IsRecording() {
		return
	}
	span.SetName(method + " " + route)
	span.SetAttributes(semconv.HTTPRoute(route), attribute.String("beacon.request_id", requestID))
}
