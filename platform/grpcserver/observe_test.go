package grpcserver_test

import (
	"context"
	"errors"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/beaconcms/beacon/platform/apperr"
	"github.com/beaconcms/beacon/platform/grpcserver"
	"github.com/beaconcms/beacon/platform/requestid"
)

// sample returns the value of the metric family name whose labels include want (a counter's
// value, a histogram's sample count), and whether there is one.
func sample(tb testing.TB, reg *prometheus.Registry, name string, want map[string]string) (float64, bool) {
	tb.Helper()
	families, err := reg.Gather()
	if err != nil {
		tb.Fatalf("Gather: %v", err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
	metrics:
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			for k, v := range want {
				if labels[k] != v {
					continue metrics
				}
			}
			switch f.GetType() {
			case dto.MetricType_COUNTER:
				return m.GetCounter().GetValue(), true
			case dto.MetricType_HISTOGRAM:
				return float64(m.GetHistogram().GetSampleCount()), true
			default:
				return m.GetGauge().GetValue(), true
			}
		}
	}
	return 0, false
}

// Every call is counted and timed by method and by the code the caller saw: application errors
// after their mapping, panics and denials included. Methods not called yet are present at zero.
func TestMetricsCountCallsByMethodAndCode(t *testing.T) {
	reg := prometheus.NewRegistry()
	ts := startServer(t, grpcserver.Config{}, grpcserver.WithMetrics(reg))
	calls := []struct {
		name    string
		handler handlerFunc
		deny    bool
		want    codes.Code
	}{
		{"ok", func(context.Context, *wrapperspb.StringValue) (proto.Message, error) {
			return wrapperspb.String("hi"), nil
		}, false, codes.OK},
		{"ok again", func(context.Context, *wrapperspb.StringValue) (proto.Message, error) {
			return wrapperspb.String("hi"), nil
		}, false, codes.OK},
		{"not found", func(context.Context, *wrapperspb.StringValue) (proto.Message, error) {
			return nil, apperr.New(apperr.NotFound, "no such thing")
		}, false, codes.NotFound},
		{"panic", func(context.Context, *wrapperspb.StringValue) (proto.Message, error) { panic("boom") }, false, codes.Internal},
		{"denied", nil, true, codes.PermissionDenied},
	}
	for _, c := range calls {
		ts.handle(c.handler)
		ctx := t.Context()
		if c.deny {
			ctx = metadata.AppendToOutgoingContext(ctx, "x-deny", "1")
		}
		if _, st := ts.do(ctx, c.name); st.Code() != c.want {
			t.Fatalf("%s: code %v, want %v", c.name, st.Code(), c.want)
		}
	}
	for _, c := range []struct {
		code string
		want float64
	}{{"OK", 2}, {"NotFound", 1}, {"Internal", 1}, {"PermissionDenied", 1}, {"Unavailable", 0}} {
		got, _ := sample(t, reg, "grpc_server_handled_total", map[string]string{
			"grpc_service": serviceName, "grpc_method": "Do", "grpc_type": "unary", "grpc_code": c.code})
		if got != c.want {
			t.Errorf("grpc_server_handled_total{Do, %s} = %v, want %v", c.code, got, c.want)
		}
	}
	if got, ok := sample(t, reg, "grpc_server_handling_seconds", map[string]string{"grpc_service": serviceName, "grpc_method": "Do"}); got != 5 {
		t.Errorf("grpc_server_handling_seconds{Do} counts %v calls (present %v), want 5", got, ok)
	}
	if _, ok := sample(t, reg, "grpc_server_handled_total", map[string]string{"grpc_method": "Deadline", "grpc_code": "OK"}); !ok {
		t.Error("a method never called has no series: want it initialized at zero")
	}
}

// Each call's log line, at info, names the method, the code, the duration in milliseconds, the
// caller (WithCaller, from inside authorization) and the request id (WithRequestIDs); internal
// errors are at warn.
func TestCallLog(t *testing.T) {
	ts := startServer(t, grpcserver.Config{}, grpcserver.WithRequestIDs(requestid.NewGenerator()),
		grpcserver.WithCaller(func(ctx context.Context) string {
			name, _ := ctx.Value(testCallerKey{}).(string)
			return name
		}))
	ts.logs.Reset()
	for _, tc := range []struct {
		name    string
		handler handlerFunc
		id      string
		level   string
		code    string
		caller  string
	}{
		{"ok", func(context.Context, *wrapperspb.StringValue) (proto.Message, error) {
			return wrapperspb.String("hi"), nil
		}, "call-1", "INFO", "OK", "apiKeys/k1"},
		{"invalid", func(context.Context, *wrapperspb.StringValue) (proto.Message, error) {
			return nil, apperr.New(apperr.Invalid, "bad")
		}, "call-2", "INFO", "InvalidArgument", "apiKeys/k1"},
		{"internal", func(context.Context, *wrapperspb.StringValue) (proto.Message, error) { return nil, errors.New(secret) }, "call-3", "WARN", "Internal", "apiKeys/k1"},
	} {
		ts.handle(tc.handler)
		ctx := metadata.AppendToOutgoingContext(t.Context(), requestid.MetadataKey, tc.id, "x-caller", tc.caller)
		ts.do(ctx, tc.name)
		var line map[string]any
		for _, rec := range ts.logs.records(t, "rpc") {
			if rec["request_id"] == tc.id {
				line = rec
			}
		}
		if line == nil {
			t.Fatalf("%s: no rpc log line with request_id %q in %s", tc.name, tc.id, ts.logs)
		}
		if line["level"] != tc.level || line["code"] != tc.code || line["method"] != methodDo || line["caller"] != tc.caller {
			t.Errorf("%s: log line %v; want level %s, code %s, method %s, caller %s", tc.name, line, tc.level, tc.code, methodDo, tc.caller)
		}
		if d, ok := line["duration_ms"].(float64); !ok || d < 0 {
			t.Errorf("%s: log line %v has no duration_ms", tc.name, line)
		}
	}
}
