package main

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

func TestProbe(t *testing.T) {
	web := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/readyz" {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	defer web.Close()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	hs := health.NewServer()
	hs.SetServingStatus("beacon.content.v1.ArticleService", healthpb.HealthCheckResponse_NOT_SERVING)
	healthpb.RegisterHealthServer(srv, hs)
	go func() { _ = srv.Serve(lis) }()
	defer srv.Stop()
	dead, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadAddr := dead.Addr().String()
	dead.Close()

	grpcURL := "grpc://" + lis.Addr().String()
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantErr  string
	}{
		{"http 200", []string{web.URL + "/healthz"}, 0, ""},
		{"http 503", []string{web.URL + "/readyz"}, 1, "status 503"},
		{"http nothing listening", []string{"--timeout=1s", "http://" + deadAddr + "/healthz"}, 1, "connection refused"},
		{"grpc server as a whole", []string{grpcURL}, 0, ""},
		{"grpc service not serving", []string{grpcURL + "/beacon.content.v1.ArticleService"}, 1, "NOT_SERVING"},
		{"grpc unknown service", []string{grpcURL + "/nothing.Here"}, 1, "NotFound"},
		{"grpc nothing listening", []string{"--timeout=1s", "grpc://" + deadAddr}, 1, ""},
		{"no URL", nil, 2, "Usage"},
		{"not a URL", []string{"readyz"}, 2, "is not a URL"},
		{"another scheme", []string{"ftp://127.0.0.1:21/x"}, 2, "scheme"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := runProbe(context.Background(), tt.args, &stdout, &stderr)
			if code != tt.wantCode || !strings.Contains(stderr.String(), tt.wantErr) {
				t.Errorf("probe %v = %d, stderr %q; want %d and %q", tt.args, code, &stderr, tt.wantCode, tt.wantErr)
			}
		})
	}
}
