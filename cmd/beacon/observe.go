package main

import (
	"fmt"
	"io"
	"runtime/debug"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/beaconcms/beacon/platform/grpcserver"
	"github.com/beaconcms/beacon/platform/metrics"
	"github.com/beaconcms/beacon/platform/requestid"
	"github.com/beaconcms/beacon/platform/tracing"
)

// version is the build's version, set by the build from git:
//
//	go build -ldflags "-X main.version=$(git describe --tags --always --dirty)"
//
// (make build and the Dockerfile do). Without it, buildVersion falls back to what the Go
// toolchain recorded (the module version, or the VCS revision).
var version = ""

// buildVersion returns the version of this binary: the one injected with -ldflags, else the
// main module's version as Go recorded it, else its VCS revision (with "-dirty" for a modified
// tree), else "devel".
func buildVersion() string {
	if version != "" {
		return version
	}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "devel"
	}
	return versionFromBuildInfo(info)
}

func versionFromBuildInfo(info *debug.BuildInfo) string {
	if v := info.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	var revision, modified string
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			revision = s.Value
		case "vcs.modified":
			modified = s.Value
		}
	}
	if revision == "" {
		return "devel"
	}
	if len(revision) > 12 {
		revision = revision[:12]
	}
	if modified == "true" {
		revision += "-dirty"
	}
	return revision
}

// printVersion writes `beacon version`'s output.
func printVersion(w io.Writer) {
	fmt.Fprintf(w, "beacon %s\n", buildVersion())
}

// observability is what a serving process records: metrics (nil without --metrics-addr),
// traces (nil without --otlp-endpoint) and the request ids of calls that bring none.
type observability struct {
	registry *prometheus.Registry
	http     *metrics.HTTP
	store    *metrics.Store
	ids      *requestid.Generator
	tracing  *tracing.Tracing // set by serve
}

func newObservability(cfg Config) *observability {
	o := &observability{ids: requestid.NewGenerator()}
	if cfg.MetricsAddr != "" {
		o.registry = metrics.NewRegistry(buildVersion())
		o.http = metrics.NewHTTP(o.registry)
		o.store = metrics.NewStore(o.registry)
	}
	return o
}

// grpcServerOptions instrument the process's gRPC server.
func (o *observability) grpcServerOptions() []grpcserver.Option {
	opts := []grpcserver.Option{grpcserver.WithRequestIDs(o.ids)}
	if o.registry != nil {
		opts = append(opts, grpcserver.WithMetrics(o.registry))
	}
	if o.tracing.Enabled() {
		opts = append(opts, grpcserver.WithStatsHandler(o.tracing.GRPCServerHandler()))
	}
	return opts
}

// dialOptions are the options of every gRPC client connection the process makes to a service:
// the request id and (with tracing) the trace context of the caller's context go along.
func (o *observability) dialOptions() []grpc.DialOption {
	opts := []grpc.DialOption{
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithChainUnaryInterceptor(requestid.UnaryClientInterceptor()),
		grpc.WithChainStreamInterceptor(requestid.StreamClientInterceptor()),
	}
	if o.tracing.Enabled() {
		opts = append(opts, grpc.WithStatsHandler(o.tracing.GRPCClientHandler()))
	}
	return opts
}

// registerReadModel exports a read model's gauges, when metrics are on.
func (o *observability) registerReadModel(name string, m metrics.ReadModel) error {
	if o.registry == nil {
		return nil
	}
	return metrics.RegisterReadModel(o.registry, name, m, nil)
}

// registerScheduler exports a scheduler's metrics, when metrics are on.
func (o *observability) registerScheduler(name string, s metrics.Scheduler) error {
	if o.registry == nil {
		return nil
	}
	return metrics.RegisterScheduler(o.registry, name, s, nil)
}
