package tracing_test

import (
	"context"
	"log/slog"
	"net/http"
	"testing"

	"github.com/beaconcms/beacon/platform/tracing"
)

type handler struct{}

func (*handler) ServeHTTP(http.ResponseWriter, *http.Request) {}

// Without an endpoint tracing is off and costs nothing: no provider, no stats handlers, and the
// HTTP handler is the one given, unwrapped. With one, every piece is there. (That spans reach a
// collector and join across processes is shown end to end: TestTraceSpansGatewayAndService.)
func TestOnlyWithAnEndpoint(t *testing.T) {
	h := &handler{}
	off, err := tracing.New(t.Context(), tracing.Config{ServiceName: "beacon"}, slog.New(slog.DiscardHandler))
	if err != nil || off != nil {
		t.Fatalf("New without an endpoint = %v, %v; want nil, nil", off, err)
	}
	if off.Enabled() || off.GRPCServerHandler() != nil || off.GRPCClientHandler() != nil || off.HTTPHandler(h) != http.Handler(h) {
		t.Error("tracing off still hands out instrumentation")
	}
	if err := off.Shutdown(context.Background()); err != nil {
		t.Errorf("Shutdown of tracing off = %v", err)
	}

	on, err := tracing.New(t.Context(), tracing.Config{Endpoint: "http://127.0.0.1:1", ServiceName: "beacon"}, slog.New(slog.DiscardHandler))
	if err != nil || !on.Enabled() {
		t.Fatalf("New with an endpoint = %v, %v", on, err)
	}
	defer func() {
		ctx, cancel := context.WithCancel(context.Background())
		cancel() // nothing listens at the endpoint: do not wait for an export
		_ = on.Shutdown(ctx)
	}()
	if on.GRPCServerHandler() == nil || on.GRPCClientHandler() == nil || on.HTTPHandler(h) == http.Handler(h) {
		t.Error("tracing on lacks a piece of instrumentation")
	}
}
