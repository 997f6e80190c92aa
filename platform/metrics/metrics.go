// Package metrics holds Beacon's Prometheus instrumentation: the process's registry and the
// /metrics listener, HTTP request metrics by route, store command metrics (a MongoDB command
// monitor), and collectors that read the read models' and the scheduler's state when scraped.
//
// Nothing here registers with Prometheus' package-global default registry: every collector is
// registered on the *prometheus.Registry the process makes with [NewRegistry] and hands down.
package metrics

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Namespace prefixes every metric Beacon defines itself.
const Namespace = "beacon"

// NewRegistry returns a registry with the Go runtime and process collectors, and a
// beacon_build_info gauge (1) labelled with version.
func NewRegistry(version string) *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Namespace:   Namespace,
			Name:        "build_info",
			Help:        "Always 1; the version label names the running build.",
			ConstLabels: prometheus.Labels{"version": version},
		}, func() float64 { return 1 }),
	)
	return reg
}

// Handler serves the registry's metrics in the Prometheus exposition formats. Errors of a
// collector are logged and the other metrics are still served.
func Handler(reg *prometheus.Registry, logger *slog.Logger) http.Handler {
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		ErrorLog:      slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
		ErrorHandling: promhttp.ContinueOnError,
		Registry:      reg, // promhttp's own request counts, on the same registry
	})
}

// Serve serves GET /metrics from reg on addr, a listener of its own (never the public port),
// until the returned stop is called; stop waits for the server to close. It returns the
// address it listens on.
func Serve(addr string, reg *prometheus.Registry, logger *slog.Logger) (listening string, stop func(), err error) {
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		return "", nil, fmt.Errorf("listen metrics: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", Handler(reg, logger))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, WriteTimeout: 30 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(lis); !errors.Is(err, http.ErrServerClosed) {
			logger.Warn("metrics server stopped", "err", err)
		}
	}()
	logger.Info("metrics served", "addr", lis.Addr().String(), "path", "/metrics")
	return lis.Addr().String(), func() {
		_ = srv.Close()
		<-done
	}, nil
}
