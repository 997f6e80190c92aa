package grpcserver_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jhump/protoreflect/v2/grpcreflect"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	v1reflectiongrpc "google.golang.org/grpc/reflection/grpc_reflection_v1"
	v1alphareflectiongrpc "google.golang.org/grpc/reflection/grpc_reflection_v1alpha"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/beaconcms/beacon/platform/apperr"
	"github.com/beaconcms/beacon/platform/grpcserver"
	"github.com/beaconcms/beacon/platform/requestid"
)

// The test service, "beacon.grpcservertest.Test": Do and Stream call the handler the test
// installs; Deadline answers with the time left until the call's deadline.
const (
	serviceName    = "beacon.grpcservertest.Test"
	methodDo       = "/" + serviceName + "/Do"
	methodDeadline = "/" + serviceName + "/Deadline"
	methodStream   = "/" + serviceName + "/Stream"
)

// handlerFunc answers Do (and each message of Stream).
type handlerFunc func(ctx context.Context, req *wrapperspb.StringValue) (proto.Message, error)

func testService(handler handlerFunc) *grpc.ServiceDesc {
	unary := func(name string, h handlerFunc) grpc.MethodDesc {
		return grpc.MethodDesc{
			MethodName: name,
			Handler: func(srv any, ctx context.Context, dec func(any) error, interceptor grpc.UnaryServerInterceptor) (any, error) {
				in := new(wrapperspb.StringValue)
				if err := dec(in); err != nil {
					return nil, err
				}
				info := &grpc.UnaryServerInfo{Server: srv, FullMethod: "/" + serviceName + "/" + name}
				return interceptor(ctx, in, info, func(ctx context.Context, req any) (any, error) {
					return h(ctx, req.(*wrapperspb.StringValue))
				})
			},
		}
	}
	deadline := func(ctx context.Context, _ *wrapperspb.StringValue) (proto.Message, error) {
		d, ok := ctx.Deadline()
		if !ok {
			return nil, status.Error(codes.FailedPrecondition, "no deadline")
		}
		return durationpb.New(time.Until(d)), nil
	}
	return &grpc.ServiceDesc{
		ServiceName: serviceName,
		HandlerType: (*any)(nil),
		Methods:     []grpc.MethodDesc{unary("Do", handler), unary("Deadline", deadline)},
		Streams: []grpc.StreamDesc{{
			StreamName:    "Stream",
			ServerStreams: true,
			Handler: func(_ any, stream grpc.ServerStream) error {
				in := new(wrapperspb.StringValue)
				if err := stream.RecvMsg(in); err != nil {
					return err
				}
				out, err := handler(stream.Context(), in)
				if err != nil {
					return err
				}
				return stream.SendMsg(out)
			},
		}},
	}
}

// fakeAuthz refuses calls carrying the metadata "x-deny", as an authorization interceptor would,
// and authenticates calls carrying "x-caller" as that caller (testCallerKey in the context).
type fakeAuthz struct{}

type testCallerKey struct{}

func denied(ctx context.Context) bool {
	md, _ := metadata.FromIncomingContext(ctx)
	return len(md.Get("x-deny")) > 0
}

func (fakeAuthz) Unary() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		if denied(ctx) {
			return nil, apperr.New(apperr.PermissionDenied, "denied by the test")
		}
		md, _ := metadata.FromIncomingContext(ctx)
		if c := md.Get("x-caller"); len(c) > 0 {
			ctx = context.WithValue(ctx, testCallerKey{}, c[0])
		}
		return handler(ctx, req)
	}
}

// FullReflection admits callers carrying the metadata "x-admin".
func (fakeAuthz) FullReflection(ctx context.Context) bool {
	md, _ := metadata.FromIncomingContext(ctx)
	return len(md.Get("x-admin")) > 0
}

func (fakeAuthz) Stream() grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		if denied(ss.Context()) {
			return apperr.New(apperr.PermissionDenied, "denied by the test")
		}
		return handler(srv, ss)
	}
}

// logBuffer collects JSON log records; safe for concurrent use.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func (b *logBuffer) Reset() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf.Reset()
}

// records returns the logged records with the given message.
func (b *logBuffer) records(tb testing.TB, msg string) []map[string]any {
	tb.Helper()
	var out []map[string]any
	for line := range strings.Lines(b.String()) {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			tb.Fatalf("log line %q is not JSON: %v", line, err)
		}
		if rec["msg"] == msg {
			out = append(out, rec)
		}
	}
	return out
}

type testServer struct {
	srv     *grpcserver.Server
	conn    *grpc.ClientConn
	logs    *logBuffer
	handler handlerFunc // swapped by tests; guarded by mu
	mu      sync.Mutex
}

// startServer serves grpcserver.New(cfg, ...) with the test service over bufconn.
func startServer(tb testing.TB, cfg grpcserver.Config, opts ...grpcserver.Option) *testServer {
	tb.Helper()
	ts := &testServer{logs: &logBuffer{}}
	logger := slog.New(requestid.LogHandler(slog.NewJSONHandler(ts.logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	ts.srv = grpcserver.New(cfg, fakeAuthz{}, logger, opts...)
	ts.srv.RegisterService(testService(func(ctx context.Context, req *wrapperspb.StringValue) (proto.Message, error) {
		ts.mu.Lock()
		h := ts.handler
		ts.mu.Unlock()
		return h(ctx, req)
	}), nil)
	lis := bufconn.Listen(1 << 20)
	go func() { _ = ts.srv.Serve(lis) }()
	conn, err := grpc.NewClient("passthrough:///bufnet",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		tb.Fatalf("grpc.NewClient: %v", err)
	}
	ts.conn = conn
	tb.Cleanup(func() {
		_ = conn.Close()
		ts.srv.Stop()
	})
	return ts
}

func (ts *testServer) handle(h handlerFunc) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	ts.handler = h
}

// failWith installs a handler returning err.
func (ts *testServer) failWith(err error) {
	ts.handle(func(context.Context, *wrapperspb.StringValue) (proto.Message, error) { return nil, err })
}

// do calls Do and returns the status of its error.
func (ts *testServer) do(ctx context.Context, req string) (*wrapperspb.StringValue, *status.Status) {
	out := new(wrapperspb.StringValue)
	err := ts.conn.Invoke(ctx, methodDo, wrapperspb.String(req), out)
	return out, status.Convert(err)
}

var internalMessage = regexp.MustCompile(`^internal error \(id ([0-9a-f]{16})\)$`)

// secret is text that must never reach a caller.
const secret = "mongodb://beacon:hunter2@db-7.internal:27017"

func TestStatusCodes(t *testing.T) {
	ts := startServer(t, grpcserver.Config{})
	tests := []struct {
		name     string
		err      error
		denied   bool // the authorizer refuses the call
		wantCode codes.Code
		wantMsg  string // "" for an internal error, whose message is checked to hide the cause
	}{
		{"invalid", apperr.New(apperr.Invalid, "bad input"), false, codes.InvalidArgument, "bad input"},
		{"not found", apperr.New(apperr.NotFound, "articles/x not found"), false, codes.NotFound, "articles/x not found"},
		{"already exists", apperr.New(apperr.AlreadyExists, "taken"), false, codes.AlreadyExists, "taken"},
		{"conflict", apperr.New(apperr.Conflict, "stale etag"), false, codes.Aborted, "stale etag"},
		{"failed precondition", apperr.New(apperr.FailedPrecondition, "deleted"), false, codes.FailedPrecondition, "deleted"},
		{"unauthenticated", apperr.New(apperr.Unauthenticated, "no key"), false, codes.Unauthenticated, "no key"},
		{"permission denied", apperr.New(apperr.PermissionDenied, "no"), false, codes.PermissionDenied, "no"},
		{"unavailable", apperr.New(apperr.Unavailable, "retry later"), false, codes.Unavailable, "retry later"},
		{"resource exhausted", apperr.TooManyAttempts(time.Minute, "too many attempts"), false, codes.ResourceExhausted, "too many attempts"},
		{"wrapped application error keeps only its own message", fmt.Errorf("querying %s: %w", secret, apperr.New(apperr.NotFound, "gone")), false, codes.NotFound, "gone"},
		{"unknown application code", apperr.New(apperr.Code("teapot"), "%s", secret), false, codes.Internal, ""},
		{"plain error", errors.New(secret), false, codes.Internal, ""},
		{"canceled", fmt.Errorf("reading %s: %w", secret, context.Canceled), false, codes.Canceled, "request canceled"},
		{"deadline exceeded", fmt.Errorf("reading %s: %w", secret, context.DeadlineExceeded), false, codes.DeadlineExceeded, "deadline exceeded"},
		{"status from a lower layer", status.Error(codes.ResourceExhausted, "slow down"), false, codes.ResourceExhausted, "slow down"},
		{"internal status from a lower layer", status.Error(codes.Internal, secret), false, codes.Internal, ""},
		{"unknown status from a lower layer", status.Error(codes.Unknown, secret), false, codes.Internal, ""},
		{"error from the authorizer", nil, true, codes.PermissionDenied, "denied by the test"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts.failWith(tt.err)
			ts.logs.Reset()
			ctx := t.Context()
			if tt.denied {
				ctx = metadata.AppendToOutgoingContext(ctx, "x-deny", "1")
			}
			_, st := ts.do(ctx, "")
			if st.Code() != tt.wantCode {
				t.Errorf("code = %v (%q), want %v", st.Code(), st.Message(), tt.wantCode)
			}
			switch {
			case tt.wantMsg != "" && st.Message() != tt.wantMsg:
				t.Errorf("message = %q, want %q", st.Message(), tt.wantMsg)
			case tt.wantMsg == "" && !internalMessage.MatchString(st.Message()):
				t.Errorf("message = %q, want an internal error with an id", st.Message())
			}
			if strings.Contains(st.Message(), "hunter2") {
				t.Errorf("message %q leaks the cause", st.Message())
			}
			// The request log line reports the code the caller got.
			rpcs := ts.logs.records(t, "rpc")
			if len(rpcs) != 1 || rpcs[0]["code"] != tt.wantCode.String() || rpcs[0]["method"] != methodDo {
				t.Errorf("request log = %v, want one line with method %s and code %v", rpcs, methodDo, tt.wantCode)
			}
		})
	}
}

func TestResourceExhaustedCarriesRetryInfo(t *testing.T) {
	ts := startServer(t, grpcserver.Config{})
	ts.failWith(apperr.TooManyAttempts(90*time.Second, "too many sign-in attempts"))
	_, st := ts.do(t.Context(), "")
	var got *errdetails.RetryInfo
	for _, d := range st.Details() {
		if ri, ok := d.(*errdetails.RetryInfo); ok {
			got = ri
		}
	}
	if st.Code() != codes.ResourceExhausted || got == nil || got.GetRetryDelay().AsDuration() != 90*time.Second {
		t.Fatalf("status = %v %q, RetryInfo %v; want RESOURCE_EXHAUSTED with a 90s retry delay", st.Code(), st.Message(), got)
	}
}

func TestInvalidCarriesBadRequest(t *testing.T) {
	ts := startServer(t, grpcserver.Config{})
	var twoFields apperr.Violations
	twoFields.Add("article.title", "is required")
	twoFields.Add("article.citations[0].doi", "must look like %s", "10.1234/abc")
	tests := []struct {
		name string
		err  error
		want *errdetails.BadRequest // nil: no details
	}{
		{"one field", apperr.InvalidField("page_size", "must not be negative"), &errdetails.BadRequest{
			FieldViolations: []*errdetails.BadRequest_FieldViolation{{Field: "page_size", Description: "must not be negative"}},
		}},
		{"several fields", twoFields.Err(), &errdetails.BadRequest{
			FieldViolations: []*errdetails.BadRequest_FieldViolation{
				{Field: "article.title", Description: "is required"},
				{Field: "article.citations[0].doi", Description: "must look like 10.1234/abc"},
			},
		}},
		{"wrapped", fmt.Errorf("create: %w", apperr.InvalidField("filter", "bad")), &errdetails.BadRequest{
			FieldViolations: []*errdetails.BadRequest_FieldViolation{{Field: "filter", Description: "bad"}},
		}},
		{"invalid without fields", apperr.New(apperr.Invalid, "bad request"), nil},
		{"not invalid", apperr.New(apperr.NotFound, "gone"), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts.failWith(tt.err)
			_, st := ts.do(t.Context(), "")
			var got *errdetails.BadRequest
			for _, d := range st.Details() {
				if br, ok := d.(*errdetails.BadRequest); ok {
					if got != nil {
						t.Errorf("more than one BadRequest detail")
					}
					got = br
				}
			}
			if diff := cmp.Diff(tt.want, got, protocmp.Transform()); diff != "" {
				t.Errorf("BadRequest detail (-want +got):\n%s", diff)
			}
			if tt.want != nil && (st.Code() != codes.InvalidArgument || !strings.Contains(st.Message(), tt.want.FieldViolations[0].Field)) {
				t.Errorf("status = %v %q, want INVALID_ARGUMENT naming the field", st.Code(), st.Message())
			}
		})
	}
}

func TestInternalErrorIsLoggedWithItsID(t *testing.T) {
	ts := startServer(t, grpcserver.Config{})
	ts.failWith(fmt.Errorf("connecting to %s: connection refused", secret))
	var ids []string
	for range 2 {
		ts.logs.Reset()
		_, st := ts.do(t.Context(), "")
		m := internalMessage.FindStringSubmatch(st.Message())
		if st.Code() != codes.Internal || m == nil {
			t.Fatalf("status = %v %q, want INTERNAL with an id", st.Code(), st.Message())
		}
		ids = append(ids, m[1])
		recs := ts.logs.records(t, "internal error")
		if len(recs) != 1 {
			t.Fatalf("got %d 'internal error' log records, want 1; log:\n%s", len(recs), ts.logs)
		}
		rec := recs[0]
		if rec["error_id"] != m[1] || rec["method"] != methodDo || rec["level"] != "ERROR" {
			t.Errorf("log record %v: want error_id %s, method %s, level ERROR", rec, m[1], methodDo)
		}
		if errText, _ := rec["err"].(string); !strings.Contains(errText, secret+": connection refused") {
			t.Errorf("logged err = %q, want the original error", errText)
		}
	}
	if ids[0] == ids[1] {
		t.Errorf("two internal errors got the same id %s", ids[0])
	}
}

func TestPanicIsRecovered(t *testing.T) {
	ts := startServer(t, grpcserver.Config{})
	ts.handle(func(_ context.Context, req *wrapperspb.StringValue) (proto.Message, error) {
		if req.GetValue() == "panic" {
			panic("boom: " + secret)
		}
		return wrapperspb.String("ok " + req.GetValue()), nil
	})
	for _, method := range []string{"unary", "stream"} {
		t.Run(method, func(t *testing.T) {
			ts.logs.Reset()
			var st *status.Status
			if method == "unary" {
				_, st = ts.do(t.Context(), "panic")
			} else {
				_, st = recvStream(t, ts.conn, t.Context(), "panic")
			}
			m := internalMessage.FindStringSubmatch(st.Message())
			if st.Code() != codes.Internal || m == nil {
				t.Fatalf("status = %v %q, want INTERNAL with an id", st.Code(), st.Message())
			}
			recs := ts.logs.records(t, "internal error")
			if len(recs) != 1 {
				t.Fatalf("got %d 'internal error' records, want 1; log:\n%s", len(recs), ts.logs)
			}
			errText, _ := recs[0]["err"].(string)
			wantMethod := methodDo
			if method == "stream" {
				wantMethod = methodStream
			}
			for _, want := range []string{"panic in " + wantMethod, "boom: " + secret, "goroutine"} {
				if !strings.Contains(errText, want) {
					t.Errorf("logged err does not contain %q:\n%s", want, errText)
				}
			}
			if recs[0]["error_id"] != m[1] {
				t.Errorf("logged error_id %v, caller got %s", recs[0]["error_id"], m[1])
			}
			// The server keeps serving.
			out, st := ts.do(t.Context(), "after")
			if st.Code() != codes.OK || out.GetValue() != "ok after" {
				t.Errorf("call after the panic = %q, %v; want \"ok after\", OK", out.GetValue(), st.Err())
			}
		})
	}
}

// recvStream calls Stream with req and returns the first message and the status it ends with.
func recvStream(tb testing.TB, conn *grpc.ClientConn, ctx context.Context, req string) (*wrapperspb.StringValue, *status.Status) {
	tb.Helper()
	desc := &grpc.StreamDesc{StreamName: "Stream", ServerStreams: true}
	stream, err := conn.NewStream(ctx, desc, methodStream)
	if err != nil {
		return nil, status.Convert(err)
	}
	if err := stream.SendMsg(wrapperspb.String(req)); err != nil {
		return nil, status.Convert(err)
	}
	if err := stream.CloseSend(); err != nil {
		return nil, status.Convert(err)
	}
	out := new(wrapperspb.StringValue)
	if err := stream.RecvMsg(out); err != nil {
		return nil, status.Convert(err)
	}
	return out, status.New(codes.OK, "")
}

func TestStreamErrors(t *testing.T) {
	ts := startServer(t, grpcserver.Config{})
	tests := []struct {
		name     string
		err      error
		denied   bool
		wantCode codes.Code
	}{
		{"ok", nil, false, codes.OK},
		{"application error", apperr.New(apperr.NotFound, "gone"), false, codes.NotFound},
		{"plain error", errors.New(secret), false, codes.Internal},
		{"authorizer refuses", nil, true, codes.PermissionDenied},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts.handle(func(context.Context, *wrapperspb.StringValue) (proto.Message, error) {
				if tt.err != nil {
					return nil, tt.err
				}
				return wrapperspb.String("streamed"), nil
			})
			ctx := t.Context()
			if tt.denied {
				ctx = metadata.AppendToOutgoingContext(ctx, "x-deny", "1")
			}
			out, st := recvStream(t, ts.conn, ctx, "x")
			if st.Code() != tt.wantCode {
				t.Errorf("code = %v (%q), want %v", st.Code(), st.Message(), tt.wantCode)
			}
			if tt.wantCode == codes.OK && out.GetValue() != "streamed" {
				t.Errorf("got %q, want \"streamed\"", out.GetValue())
			}
			if strings.Contains(st.Message(), "hunter2") {
				t.Errorf("message %q leaks the cause", st.Message())
			}
		})
	}
}

func TestDeadlines(t *testing.T) {
	tests := []struct {
		name          string
		maxCall       time.Duration // Config.MaxCallDuration
		clientTimeout time.Duration // 0: the client sets no deadline
		wantAtMost    time.Duration
	}{
		{"no client deadline gets the cap", time.Hour, 0, time.Hour},
		{"longer client deadline is capped", time.Hour, 3 * time.Hour, time.Hour},
		{"shorter client deadline is kept", time.Hour, 10 * time.Minute, 10 * time.Minute},
		{"default cap is 30s", 0, 0, 30 * time.Second},
		{"default cap applies to long client deadlines", 0, time.Hour, 30 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := startServer(t, grpcserver.Config{MaxCallDuration: tt.maxCall})
			ctx := t.Context()
			if tt.clientTimeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tt.clientTimeout)
				defer cancel()
			}
			left := new(durationpb.Duration)
			if err := ts.conn.Invoke(ctx, methodDeadline, wrapperspb.String(""), left); err != nil {
				t.Fatalf("Deadline: %v", err)
			}
			if d := left.AsDuration(); d <= 0 || d > tt.wantAtMost {
				t.Errorf("handler had %v left, want a deadline at most %v away", d, tt.wantAtMost)
			}
		})
	}
}

func TestMaxRequestBytes(t *testing.T) {
	tests := []struct {
		name     string
		max      int
		size     int
		wantCode codes.Code
	}{
		{"under the limit", 1024, 900, codes.OK},
		{"over the limit", 1024, 2048, codes.ResourceExhausted},
		{"default limit 1 MiB", 0, 1<<20 + 16, codes.ResourceExhausted},
		{"under the default limit", 0, 1<<20 - 64, codes.OK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := startServer(t, grpcserver.Config{MaxRequestBytes: tt.max})
			ts.handle(func(context.Context, *wrapperspb.StringValue) (proto.Message, error) {
				return wrapperspb.String("ok"), nil
			})
			_, st := ts.do(t.Context(), strings.Repeat("x", tt.size))
			if st.Code() != tt.wantCode {
				t.Errorf("code = %v (%q), want %v", st.Code(), st.Message(), tt.wantCode)
			}
		})
	}
}

func TestReflection(t *testing.T) {
	for _, on := range []bool{false, true} {
		ts := startServer(t, grpcserver.Config{Reflection: on})
		_, got := ts.srv.GetServiceInfo()["grpc.reflection.v1.ServerReflection"]
		if got != on {
			t.Errorf("Reflection: %v: reflection service registered = %v", on, got)
		}
		if _, ok := ts.srv.GetServiceInfo()[healthpb.Health_ServiceDesc.ServiceName]; !ok {
			t.Errorf("health service not registered")
		}
	}
}

// TestReflectionShowsHealthToEveryone: with a real reflection client (grpcurl's), a caller the
// Authorizer does not admit lists and resolves only the health service, over v1 and v1alpha; an
// admitted caller sees every service.
func TestReflectionShowsHealthToEveryone(t *testing.T) {
	ts := startServer(t, grpcserver.Config{Reflection: true})
	health := protoreflect.FullName(healthpb.Health_ServiceDesc.ServiceName)
	tests := []struct {
		name      string
		admin     bool
		alpha     bool
		wantList  []protoreflect.FullName
		resolveOK map[protoreflect.FullName]bool
	}{
		{name: "no key, v1", wantList: []protoreflect.FullName{health},
			resolveOK: map[protoreflect.FullName]bool{health: true, "grpc.reflection.v1.ServerReflection": false, "google.protobuf.StringValue": false}},
		{name: "no key, v1alpha", alpha: true, wantList: []protoreflect.FullName{health},
			resolveOK: map[protoreflect.FullName]bool{health: true, "grpc.reflection.v1.ServerReflection": false}},
		{name: "admitted", admin: true,
			wantList:  []protoreflect.FullName{serviceName, "grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection", "grpc.reflection.v1alpha.ServerReflection"},
			resolveOK: map[protoreflect.FullName]bool{health: true, "grpc.reflection.v1.ServerReflection": true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := t.Context()
			if tt.admin {
				ctx = metadata.AppendToOutgoingContext(ctx, "x-admin", "1")
			}
			var client *grpcreflect.Client
			if tt.alpha {
				client = grpcreflect.NewClientV1Alpha(ctx, v1alphareflectiongrpc.NewServerReflectionClient(ts.conn))
			} else {
				client = grpcreflect.NewClientV1(ctx, v1reflectiongrpc.NewServerReflectionClient(ts.conn))
			}
			defer client.Reset()
			got, err := client.ListServices()
			if err != nil {
				t.Fatalf("ListServices: %v", err)
			}
			slices.Sort(got)
			if !slices.Equal(got, tt.wantList) {
				t.Errorf("ListServices = %v, want %v", got, tt.wantList)
			}
			for name, ok := range tt.resolveOK {
				_, err := client.FileContainingSymbol(name)
				if (err == nil) != ok {
					t.Errorf("FileContainingSymbol(%s) error %v, want resolved %v", name, err, ok)
				}
			}
		})
	}
}

// TestLivenessDoesNotFollowReadiness: marking services not ready (the store is down) leaves the
// whole server, which liveness probes check, SERVING.
func TestLivenessDoesNotFollowReadiness(t *testing.T) {
	ts := startServer(t, grpcserver.Config{})
	health := healthpb.NewHealthClient(ts.conn)
	check := func(service string) healthpb.HealthCheckResponse_ServingStatus {
		resp, err := health.Check(t.Context(), &healthpb.HealthCheckRequest{Service: service})
		if err != nil {
			t.Fatalf("health of %q: %v", service, err)
		}
		return resp.GetStatus()
	}
	serving, notServing := healthpb.HealthCheckResponse_SERVING, healthpb.HealthCheckResponse_NOT_SERVING
	for _, step := range []struct {
		name          string
		do            func()
		whole, single healthpb.HealthCheckResponse_ServingStatus
	}{
		{"ready", func() { ts.srv.SetServing(serviceName) }, serving, serving},
		{"store down", func() { ts.srv.SetNotServing(serviceName) }, serving, notServing},
		{"store back", func() { ts.srv.SetServing(serviceName) }, serving, serving},
	} {
		step.do()
		if got := check(""); got != step.whole {
			t.Errorf("%s: whole server = %v, want %v", step.name, got, step.whole)
		}
		if got := check(serviceName); got != step.single {
			t.Errorf("%s: %s = %v, want %v", step.name, serviceName, got, step.single)
		}
	}
}

func TestHealthAndDrain(t *testing.T) {
	ts := startServer(t, grpcserver.Config{})
	health := healthpb.NewHealthClient(ts.conn)
	check := func(service string) (healthpb.HealthCheckResponse_ServingStatus, codes.Code) {
		resp, err := health.Check(t.Context(), &healthpb.HealthCheckRequest{Service: service})
		return resp.GetStatus(), status.Code(err)
	}
	ts.srv.SetServing(serviceName)
	for _, svc := range []string{"", serviceName} {
		if st, code := check(svc); st != healthpb.HealthCheckResponse_SERVING || code != codes.OK {
			t.Errorf("health of %q = %v, %v; want SERVING", svc, st, code)
		}
	}
	if _, code := check("beacon.Unknown"); code != codes.NotFound {
		t.Errorf("health of an unregistered service: code %v, want NOT_FOUND", code)
	}

	watchCtx, stopWatch := context.WithCancel(t.Context())
	defer stopWatch()
	watch, err := health.Watch(watchCtx, &healthpb.HealthCheckRequest{Service: serviceName})
	if err != nil {
		t.Fatal(err)
	}
	if resp, err := watch.Recv(); err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("first watch update = %v, %v; want SERVING", resp, err)
	}

	// A call in flight when draining starts.
	entered, release := make(chan struct{}), make(chan struct{})
	ts.handle(func(_ context.Context, req *wrapperspb.StringValue) (proto.Message, error) {
		if req.GetValue() == "slow" {
			close(entered)
			<-release
		}
		return wrapperspb.String("done " + req.GetValue()), nil
	})
	type result struct {
		out *wrapperspb.StringValue
		st  *status.Status
	}
	slow := make(chan result, 1)
	go func() {
		out, st := ts.do(context.Background(), "slow")
		slow <- result{out, st}
	}()
	<-entered

	drained := make(chan struct{})
	go func() {
		ts.srv.Drain(time.Minute)
		close(drained)
	}()
	if resp, err := watch.Recv(); err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_NOT_SERVING {
		t.Fatalf("watch update after Drain = %v, %v; want NOT_SERVING", resp, err)
	}
	stopWatch()
	select {
	case <-drained:
		t.Fatal("Drain returned while a call was still in flight")
	default:
	}
	close(release)
	if r := <-slow; r.st.Code() != codes.OK || r.out.GetValue() != "done slow" {
		t.Errorf("in-flight call = %q, %v; want it to finish", r.out.GetValue(), r.st.Err())
	}
	<-drained
	for _, svc := range []string{"", serviceName} {
		resp, err := ts.srv.Health.Check(context.Background(), &healthpb.HealthCheckRequest{Service: svc})
		if err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_NOT_SERVING {
			t.Errorf("health of %q after Drain = %v, %v; want NOT_SERVING", svc, resp, err)
		}
	}
	if _, st := ts.do(t.Context(), "late"); st.Code() != codes.Unavailable {
		t.Errorf("call after Drain: code %v, want UNAVAILABLE", st.Code())
	}
}

// openWatches opens n health watches on conn and reads the first update of each.
func openWatches(tb testing.TB, ctx context.Context, conn *grpc.ClientConn, n int) []context.CancelFunc {
	tb.Helper()
	var cancels []context.CancelFunc
	for i := range n {
		wctx, cancel := context.WithCancel(ctx)
		cancels = append(cancels, cancel)
		w, err := healthpb.NewHealthClient(conn).Watch(wctx, &healthpb.HealthCheckRequest{})
		if err != nil {
			tb.Fatalf("watch %d: %v", i, err)
		}
		if _, err := w.Recv(); err != nil {
			tb.Fatalf("watch %d: first update: %v", i, err)
		}
	}
	tb.Cleanup(func() {
		for _, c := range cancels {
			c()
		}
	})
	return cancels
}

func TestHealthWatchesAreBounded(t *testing.T) {
	ts := startServer(t, grpcserver.Config{MaxHealthWatches: 3})
	cancels := openWatches(t, t.Context(), ts.conn, 3)
	watch := func() error {
		w, err := healthpb.NewHealthClient(ts.conn).Watch(t.Context(), &healthpb.HealthCheckRequest{})
		if err != nil {
			return err
		}
		_, err = w.Recv()
		return err
	}
	if err := watch(); status.Code(err) != codes.ResourceExhausted {
		t.Fatalf("fourth watch: %v, want RESOURCE_EXHAUSTED", err)
	}
	// Check still answers, and a closed watch frees its place.
	if _, err := healthpb.NewHealthClient(ts.conn).Check(t.Context(), &healthpb.HealthCheckRequest{}); err != nil {
		t.Fatalf("Check with the watches full: %v", err)
	}
	cancels[0]()
	deadline := time.Now().Add(5 * time.Second)
	for {
		ctx, cancel := context.WithCancel(t.Context())
		w, err := healthpb.NewHealthClient(ts.conn).Watch(ctx, &healthpb.HealthCheckRequest{})
		if err == nil {
			_, err = w.Recv()
		}
		cancel()
		if err == nil {
			break
		}
		if status.Code(err) != codes.ResourceExhausted || time.Now().After(deadline) {
			t.Fatalf("watch after one closed: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestStreamsPerConnectionAreBounded(t *testing.T) {
	ts := startServer(t, grpcserver.Config{MaxConcurrentStreams: 4})
	cancels := openWatches(t, t.Context(), ts.conn, 4)
	// A fifth call on the same connection waits for a stream to end.
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	if _, err := healthpb.NewHealthClient(ts.conn).Check(ctx, &healthpb.HealthCheckRequest{}); status.Code(err) != codes.DeadlineExceeded {
		t.Fatalf("fifth stream on a full connection: %v, want it to wait (DEADLINE_EXCEEDED)", err)
	}
	cancels[0]()
	ctx, cancel = context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if _, err := healthpb.NewHealthClient(ts.conn).Check(ctx, &healthpb.HealthCheckRequest{}); err != nil {
		t.Fatalf("call after a stream ended: %v", err)
	}
}
