package auth_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/beaconcms/beacon/platform/apperr"
	"github.com/beaconcms/beacon/platform/auth"
)

// The methods of the test service, "beacon.authtest.Who". Every method answers with a
// description of the Principal it finds in its context.
const (
	methodAdmin      = "/beacon.authtest.Who/Admin"
	methodEditing    = "/beacon.authtest.Who/Editing"
	methodCreateSite = "/beacon.authtest.Who/CreateSite"
	methodPublic     = "/beacon.authtest.Who/Public"
	methodGap        = "/beacon.authtest.Who/Gap" // registered, but no rule
	methodWatch      = "/beacon.authtest.Who/Watch"
)

func testPolicy() auth.Policy {
	return auth.Policy{
		methodAdmin:      {Roles: []auth.Role{auth.RoleAdmin}},
		methodEditing:    {Roles: []auth.Role{auth.RoleAdmin, auth.RoleEditor}},
		methodCreateSite: {Roles: []auth.Role{auth.RoleAdmin}, AllSitesOnly: true},
		methodPublic:     {Public: true},
		methodWatch:      {Roles: []auth.Role{auth.RoleViewer}},
	}
}

// Secrets known to the fake verifier.
const (
	secretAdmin       = "bk_admin_secret"
	secretSiteAdmin   = "bk_siteadmin_secret"
	secretEditor      = "bk_editor_secret"
	secretViewer      = "bk_viewer_secret"
	secretRevoked     = "bk_revoked_secret"
	secretStoreBroken = "bk_broken_secret"
)

type fakeVerifier map[string]auth.Principal

func (f fakeVerifier) Verify(_ context.Context, secret string) (auth.Principal, error) {
	switch secret {
	case secretRevoked:
		return auth.Principal{}, apperr.New(apperr.Unauthenticated, "key apiKeys/revoked is revoked")
	case secretStoreBroken:
		return auth.Principal{}, errors.New("store: connection refused")
	}
	p, ok := f[secret]
	if !ok {
		return auth.Principal{}, apperr.New(apperr.Unauthenticated, "no such key")
	}
	return p, nil
}

func testVerifier() fakeVerifier {
	return fakeVerifier{
		secretAdmin:     {KeyName: "apiKeys/admin", Role: auth.RoleAdmin},
		secretSiteAdmin: {KeyName: "apiKeys/siteadmin", Role: auth.RoleAdmin, Site: "kratom-help"},
		secretEditor:    {KeyName: "apiKeys/editor", Role: auth.RoleEditor, Site: "kratom-help"},
		secretViewer:    {KeyName: "apiKeys/viewer", Role: auth.RoleViewer},
	}
}

func describe(ctx context.Context) string {
	p, ok := auth.FromContext(ctx)
	if !ok {
		return "anonymous"
	}
	return fmt.Sprintf("%s %s %q", p.KeyName, p.Role, p.Site)
}

// whoService builds the ServiceDesc of the test service; calls counts handler invocations.
func whoService(calls *atomic.Int64) *grpc.ServiceDesc {
	unary := func(name string) grpc.MethodDesc {
		return grpc.MethodDesc{
			MethodName: name,
			Handler: func(srv any, ctx context.Context, dec func(any) error, interceptor grpc.UnaryServerInterceptor) (any, error) {
				in := new(emptypb.Empty)
				if err := dec(in); err != nil {
					return nil, err
				}
				handler := func(ctx context.Context, _ any) (any, error) {
					calls.Add(1)
					return wrapperspb.String(describe(ctx)), nil
				}
				info := &grpc.UnaryServerInfo{Server: srv, FullMethod: "/beacon.authtest.Who/" + name}
				return interceptor(ctx, in, info, handler)
			},
		}
	}
	return &grpc.ServiceDesc{
		ServiceName: "beacon.authtest.Who",
		HandlerType: (*any)(nil),
		Methods:     []grpc.MethodDesc{unary("Admin"), unary("Editing"), unary("CreateSite"), unary("Public"), unary("Gap")},
		Streams: []grpc.StreamDesc{{
			StreamName:    "Watch",
			ServerStreams: true,
			Handler: func(_ any, stream grpc.ServerStream) error {
				calls.Add(1)
				if err := stream.RecvMsg(new(emptypb.Empty)); err != nil {
					return err
				}
				return stream.SendMsg(wrapperspb.String(describe(stream.Context())))
			},
		}},
	}
}

// toStatus stands in for platform/grpcserver: apperr codes to gRPC codes, anything else Internal.
func toStatus(err error) error {
	if err == nil {
		return nil
	}
	if _, ok := status.FromError(err); ok {
		return err
	}
	codeOf := map[apperr.Code]codes.Code{
		apperr.Unauthenticated:  codes.Unauthenticated,
		apperr.PermissionDenied: codes.PermissionDenied,
		apperr.NotFound:         codes.NotFound,
		apperr.Invalid:          codes.InvalidArgument,
	}
	if e, ok := apperr.As(err); ok {
		if c, ok := codeOf[e.Code]; ok {
			return status.Error(c, e.Error())
		}
	}
	return status.Error(codes.Internal, "internal error")
}

// syncBuffer is a bytes.Buffer safe for the server's goroutines and the test.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

type harness struct {
	conn  *grpc.ClientConn
	calls *atomic.Int64
	logs  *syncBuffer
}

// newHarness serves the test service over bufconn behind the interceptor.
func newHarness(tb testing.TB) *harness {
	tb.Helper()
	h := &harness{calls: new(atomic.Int64), logs: new(syncBuffer)}
	logger := slog.New(slog.NewTextHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ic := auth.NewInterceptor(testPolicy(), testVerifier(), logger)

	lis := bufconn.Listen(1 << 20)
	srv := grpc.NewServer(
		grpc.ChainUnaryInterceptor(
			func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
				resp, err := handler(ctx, req)
				return resp, toStatus(err)
			},
			ic.Unary()),
		grpc.ChainStreamInterceptor(
			func(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
				return toStatus(handler(srv, ss))
			},
			ic.Stream()),
	)
	srv.RegisterService(whoService(h.calls), nil)
	go srv.Serve(lis) //nolint:errcheck // returns when stopped
	tb.Cleanup(srv.Stop)

	conn, err := grpc.NewClient("passthrough:///bufnet",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		tb.Fatalf("grpc.NewClient: %v", err)
	}
	tb.Cleanup(func() { conn.Close() })
	h.conn = conn
	return h
}

func withAuth(ctx context.Context, values ...string) context.Context {
	for _, v := range values {
		ctx = metadata.AppendToOutgoingContext(ctx, "authorization", v)
	}
	return ctx
}

func (h *harness) callUnary(ctx context.Context, method string) (string, error) {
	out := new(wrapperspb.StringValue)
	err := h.conn.Invoke(ctx, method, &emptypb.Empty{}, out)
	return out.GetValue(), err
}

func (h *harness) callStream(ctx context.Context, method string) (string, error) {
	stream, err := h.conn.NewStream(ctx, &grpc.StreamDesc{ServerStreams: true}, method)
	if err != nil {
		return "", err
	}
	if err := stream.SendMsg(&emptypb.Empty{}); err != nil {
		return "", err
	}
	if err := stream.CloseSend(); err != nil {
		return "", err
	}
	out := new(wrapperspb.StringValue)
	if err := stream.RecvMsg(out); err != nil {
		return "", err
	}
	if err := stream.RecvMsg(new(wrapperspb.StringValue)); err != io.EOF {
		return "", fmt.Errorf("stream did not end after one message: %v", err)
	}
	return out.GetValue(), nil
}

func TestInterceptor(t *testing.T) {
	const (
		missingMsg = "missing API key: send 'authorization: Bearer <key>'"
		invalidMsg = "invalid or revoked API key"
	)
	tests := []struct {
		name     string
		method   string
		stream   bool
		auth     []string // authorization metadata values
		wantCode codes.Code
		wantMsg  string // the status message contains it
		want     string // the handler's answer, when OK
	}{
		{name: "no key", method: methodAdmin, wantCode: codes.Unauthenticated, wantMsg: missingMsg},
		{name: "bad scheme", method: methodAdmin, auth: []string{"Basic " + secretAdmin}, wantCode: codes.Unauthenticated, wantMsg: missingMsg},
		{name: "secret without scheme", method: methodAdmin, auth: []string{secretAdmin}, wantCode: codes.Unauthenticated, wantMsg: missingMsg},
		{name: "bearer without secret", method: methodAdmin, auth: []string{"Bearer "}, wantCode: codes.Unauthenticated, wantMsg: missingMsg},
		{name: "secret with a space", method: methodAdmin, auth: []string{"Bearer " + secretAdmin + " x"}, wantCode: codes.Unauthenticated, wantMsg: missingMsg},
		{name: "two authorization values", method: methodAdmin, auth: []string{"Bearer " + secretAdmin, "Bearer " + secretAdmin}, wantCode: codes.Unauthenticated, wantMsg: missingMsg},
		{name: "unknown key", method: methodAdmin, auth: []string{"Bearer bk_nobody_secret"}, wantCode: codes.Unauthenticated, wantMsg: invalidMsg},
		{name: "revoked key", method: methodAdmin, auth: []string{"Bearer " + secretRevoked}, wantCode: codes.Unauthenticated, wantMsg: invalidMsg},
		{name: "verifier cannot tell", method: methodAdmin, auth: []string{"Bearer " + secretStoreBroken}, wantCode: codes.Internal},
		{name: "role not allowed", method: methodAdmin, auth: []string{"Bearer " + secretEditor}, wantCode: codes.PermissionDenied, wantMsg: methodAdmin},
		{name: "all-sites-only with site key", method: methodCreateSite, auth: []string{"Bearer " + secretSiteAdmin}, wantCode: codes.PermissionDenied, wantMsg: methodCreateSite},
		{name: "all-sites-only with all-sites key", method: methodCreateSite, auth: []string{"Bearer " + secretAdmin}, want: `apiKeys/admin admin ""`},
		{name: "no rule, admin key", method: methodGap, auth: []string{"Bearer " + secretAdmin}, wantCode: codes.PermissionDenied, wantMsg: methodGap},
		{name: "no rule, no key", method: methodGap, wantCode: codes.PermissionDenied, wantMsg: methodGap},
		{name: "public without key", method: methodPublic, want: "anonymous"},
		{name: "public with key", method: methodPublic, auth: []string{"Bearer " + secretViewer}, want: `apiKeys/viewer viewer ""`},
		{name: "public with unknown key", method: methodPublic, auth: []string{"Bearer bk_nobody_secret"}, wantCode: codes.Unauthenticated, wantMsg: invalidMsg},
		{name: "public with malformed authorization", method: methodPublic, auth: []string{"Basic x"}, wantCode: codes.Unauthenticated, wantMsg: missingMsg},
		{name: "allowed", method: methodEditing, auth: []string{"Bearer " + secretEditor}, want: `apiKeys/editor editor "kratom-help"`},
		{name: "allowed, lowercase scheme", method: methodEditing, auth: []string{"bearer " + secretAdmin}, want: `apiKeys/admin admin ""`},
		{name: "stream allowed", method: methodWatch, stream: true, auth: []string{"Bearer " + secretViewer}, want: `apiKeys/viewer viewer ""`},
		{name: "stream no key", method: methodWatch, stream: true, wantCode: codes.Unauthenticated, wantMsg: missingMsg},
		{name: "stream role not allowed", method: methodWatch, stream: true, auth: []string{"Bearer " + secretAdmin}, wantCode: codes.PermissionDenied, wantMsg: methodWatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			ctx := withAuth(t.Context(), tt.auth...)
			var got string
			var err error
			if tt.stream {
				got, err = h.callStream(ctx, tt.method)
			} else {
				got, err = h.callUnary(ctx, tt.method)
			}

			if code := status.Code(err); code != tt.wantCode {
				t.Fatalf("code = %v (%v), want %v", code, err, tt.wantCode)
			}
			if msg := status.Convert(err).Message(); !strings.Contains(msg, tt.wantMsg) {
				t.Errorf("message = %q, want it to contain %q", msg, tt.wantMsg)
			}
			if got != tt.want {
				t.Errorf("handler saw %q, want %q", got, tt.want)
			}
			wantCalls := int64(0)
			if tt.wantCode == codes.OK {
				wantCalls = 1
			}
			if n := h.calls.Load(); n != wantCalls {
				t.Errorf("handler called %d times, want %d", n, wantCalls)
			}
			for _, s := range []string{secretAdmin, secretSiteAdmin, secretEditor, secretViewer, secretRevoked, secretStoreBroken, "bk_nobody_secret"} {
				if strings.Contains(h.logs.String(), s) {
					t.Errorf("logs contain the secret %q:\n%s", s, h.logs)
				}
			}
		})
	}
}

func TestInterceptorLogsPolicyGap(t *testing.T) {
	h := newHarness(t)
	if _, err := h.callUnary(withAuth(t.Context(), "Bearer "+secretAdmin), methodGap); status.Code(err) != codes.PermissionDenied {
		t.Fatalf("call: %v, want PermissionDenied", err)
	}
	logs := h.logs.String()
	if !strings.Contains(logs, "level=ERROR") || !strings.Contains(logs, "policy gap") || !strings.Contains(logs, methodGap) {
		t.Errorf("logs do not report the policy gap at ERROR:\n%s", logs)
	}
}

func TestInterceptorCopiesPolicy(t *testing.T) {
	policy := testPolicy()
	var calls atomic.Int64
	ic := auth.NewInterceptor(policy, testVerifier(), nil)
	policy[methodGap] = auth.Rule{Public: true} // must not open the method

	handler := func(ctx context.Context, _ any) (any, error) { calls.Add(1); return nil, nil }
	_, err := ic.Unary()(t.Context(), nil, &grpc.UnaryServerInfo{FullMethod: methodGap}, handler)
	if !apperr.Is(err, apperr.PermissionDenied) || calls.Load() != 0 {
		t.Errorf("after changing the caller's map: err = %v, handler calls = %d; want PermissionDenied, 0", err, calls.Load())
	}
}
