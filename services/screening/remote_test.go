package screening_test

import (
	"context"
	"net"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"

	screeningv1 "github.com/beaconcms/beacon/gen/beacon/screening/v1"
	"github.com/beaconcms/beacon/services/screening"
)

// fakeScreeners serves one published screener, to callers that send the right key.
type fakeScreeners struct {
	screeningv1.UnimplementedScreenerServiceServer
	key string
}

func (f fakeScreeners) GetScreener(ctx context.Context, req *screeningv1.GetScreenerRequest) (*screeningv1.Screener, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	if got := md.Get("authorization"); len(got) != 1 || got[0] != "Bearer "+f.key {
		return nil, status.Error(codes.Unauthenticated, "missing key")
	}
	if req.GetSite() == "sites/kratom-help" && req.GetSlug() == "kratom-self-check" {
		return &screeningv1.Screener{}, nil
	}
	return nil, status.Error(codes.NotFound, "no such screener")
}

// TestRemoteScreeners checks the answers a content service running apart from screening gets
// for its articles' screener links: published, not published, and "cannot tell".
func TestRemoteScreeners(t *testing.T) {
	lis := bufconn.Listen(1 << 16)
	srv := grpc.NewServer()
	screeningv1.RegisterScreenerServiceServer(srv, fakeScreeners{key: "bk_service"})
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	conn, err := grpc.NewClient("passthrough:///bufnet", grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	tests := []struct {
		name, key, site, slug string
		want                  bool
		wantErr               bool
	}{
		{"published", "bk_service", "kratom-help", "kratom-self-check", true, false},
		{"missing", "bk_service", "kratom-help", "no-such-check", false, false},
		{"another site", "bk_service", "other", "kratom-self-check", false, false},
		{"refused key: cannot tell", "bk_wrong", "kratom-help", "kratom-self-check", false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := screening.NewRemoteScreeners(conn, tt.key).ScreenerPublished(t.Context(), tt.site, tt.slug)
			if got != tt.want || (err != nil) != tt.wantErr {
				t.Errorf("ScreenerPublished = %v, %v; want %v, error %v", got, err, tt.want, tt.wantErr)
			}
		})
	}
}
