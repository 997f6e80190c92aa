package requestid_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/test/bufconn"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/beaconcms/beacon/platform/requestid"
)

func TestValid(t *testing.T) {
	for _, tc := range []struct {
		id   string
		want bool
	}{
		{"3f2b8c1e-6f0a-4b7e-9a55-0c2d4e6f8a91", true},
		{"01HZX3K5Q2W8E4R6T7Y9U0I1O2", true},
		{"lb:7.req_42", true},
		{strings.Repeat("x", requestid.MaxLen), true},
		{"", false},
		{strings.Repeat("x", requestid.MaxLen+1), false},
		{"a b", false},
		{"a\nb", false},
		{`a"b`, false},
		{"a/b", false},
		{"é", false},
	} {
		if got := requestid.Valid(tc.id); got != tc.want {
			t.Errorf("Valid(%q) = %v, want %v", tc.id, got, tc.want)
		}
	}
}

func TestGenerator(t *testing.T) {
	g, other := requestid.NewGenerator(), requestid.NewGenerator()
	seen := map[string]bool{}
	for range 1000 {
		for _, id := range []string{g.New(), other.New()} {
			if !requestid.Valid(id) {
				t.Fatalf("generated id %q is not Valid", id)
			}
			if seen[id] {
				t.Fatalf("generated id %q twice", id)
			}
			seen[id] = true
		}
	}
	if got := g.FromClient("client-7"); got != "client-7" {
		t.Errorf("FromClient(valid) = %q", got)
	}
	if got := g.FromClient("bad id"); got == "bad id" || !requestid.Valid(got) {
		t.Errorf("FromClient(invalid) = %q, want a fresh id", got)
	}
}

func TestLogHandler(t *testing.T) {
	var buf bytes.Buffer
	logger := slog.New(requestid.LogHandler(slog.NewJSONHandler(&buf, nil))).With("service", "test")
	logger.InfoContext(requestid.With(context.Background(), "req-1"), "with")
	logger.InfoContext(context.Background(), "without")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d lines: %s", len(lines), buf.String())
	}
	for i, want := range []string{"req-1", ""} {
		var rec map[string]any
		if err := json.Unmarshal([]byte(lines[i]), &rec); err != nil {
			t.Fatal(err)
		}
		got, _ := rec[requestid.LogKey].(string)
		if got != want || rec["service"] != "test" {
			t.Errorf("line %d: %s; want request_id %q and the logger's own attributes", i, lines[i], want)
		}
	}
}

// The id travels from a client's context through gRPC metadata into the server's context; a
// call without one gets a fresh id, and an invalid one is replaced.
func TestInterceptorsCarryTheIDOverGRPC(t *testing.T) {
	seen := make(chan string, 1)
	srv := grpc.NewServer(grpc.ChainUnaryInterceptor(requestid.UnaryServerInterceptor(requestid.NewGenerator())))
	srv.RegisterService(&grpc.ServiceDesc{
		ServiceName: "test.Echo",
		HandlerType: (*any)(nil),
		Methods: []grpc.MethodDesc{{MethodName: "Do", Handler: func(_ any, ctx context.Context, dec func(any) error, in grpc.UnaryServerInterceptor) (any, error) {
			req := new(emptypb.Empty)
			if err := dec(req); err != nil {
				return nil, err
			}
			return in(ctx, req, &grpc.UnaryServerInfo{FullMethod: "/test.Echo/Do"}, func(ctx context.Context, _ any) (any, error) {
				seen <- requestid.From(ctx)
				return &emptypb.Empty{}, nil
			})
		}}},
	}, nil)
	lis := bufconn.Listen(1 << 16)
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	conn, err := grpc.NewClient("passthrough:///bufnet",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithChainUnaryInterceptor(requestid.UnaryClientInterceptor()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	for _, tc := range []struct {
		name string
		ctx  context.Context
		want string // "" for a fresh one
	}{
		{"from the caller's context", requestid.With(t.Context(), "edge-42"), "edge-42"},
		{"none", t.Context(), ""},
		{"invalid metadata", metadata.AppendToOutgoingContext(t.Context(), requestid.MetadataKey, "no spaces please"), ""},
	} {
		if err := conn.Invoke(tc.ctx, "/test.Echo/Do", &emptypb.Empty{}, &emptypb.Empty{}); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		got := <-seen
		switch {
		case tc.want != "" && got != tc.want:
			t.Errorf("%s: server saw %q, want %q", tc.name, got, tc.want)
		case tc.want == "" && (!requestid.Valid(got) || got == "no spaces please"):
			t.Errorf("%s: server saw %q, want a fresh valid id", tc.name, got)
		}
	}
}
