package main_test

import (
	"context"
	"net/http"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jhump/protoreflect/v2/grpcreflect"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/dynamicpb"

	sitesv1 "github.com/beaconcms/beacon/gen/beacon/sites/v1"
)

// TestEdgeHygiene checks what every HTTP and gRPC client of a running beacon may expect of it
// (issue #12, section 3): 405 with Allow, RFC 6750 challenges, security headers, no gRPC metadata
// as headers, and gRPC health through reflection without a key, as grpcurl does it.
func TestEdgeHygiene(t *testing.T) {
	in := startDev(t, t.TempDir())
	admin := in.adminKey

	t.Run("beacon probe, the image's health check", func(t *testing.T) {
		for _, target := range []string{in.restURL + "/readyz", in.restURL + "/healthz", "grpc://" + in.grpcAddr, "grpc://" + in.grpcAddr + "/beacon.content.v1.ArticleService"} {
			out, err := exec.Command(beaconBinary, "probe", target).CombinedOutput()
			if err != nil {
				t.Errorf("beacon probe %s: %v: %s", target, err, out)
			}
		}
	})

	t.Run("a wrong method is 405 with Allow", func(t *testing.T) {
		tests := []struct{ method, path, allow string }{
			{"PUT", "/v1/articles", "GET, POST"},
			{"POST", "/v1/sites/kratom-help", "GET, PATCH, DELETE"},
			{"DELETE", "/v1/sites/kratom-help/articles/anything", "GET, HEAD"},
			{"PUT", "/v1/sites/kratom-help/screeners/kratom-self-check:score", "GET, HEAD, POST"},
		}
		for _, tt := range tests {
			r := in.call(t, admin, tt.method, tt.path, nil).must(t, 405)
			if got := r.header.Get("Allow"); got != tt.allow {
				t.Errorf("%s %s: Allow %q, want %q", tt.method, tt.path, got, tt.allow)
			}
		}
	})

	t.Run("401 carries a bearer challenge and the reason", func(t *testing.T) {
		tests := []struct {
			name, key, path, challenge, reason string
		}{
			{"management without a key", "", "/v1/articles", `Bearer realm="beacon"`, "missing API key"},
			{"management with a bad key", "bk_nope", "/v1/articles", `Bearer realm="beacon", error="invalid_token", error_description="invalid or revoked API key"`, "invalid or revoked API key"},
			{"delivery with a bad key", "bk_nope", "/v1/sites/kratom-help/articles", `Bearer realm="beacon", error="invalid_token", error_description="invalid or revoked API key"`, "invalid or revoked API key"},
		}
		for _, tt := range tests {
			r := in.call(t, tt.key, "GET", tt.path, nil).must(t, 401)
			if got := r.header.Get("WWW-Authenticate"); got != tt.challenge || !strings.Contains(r.str("message"), tt.reason) {
				t.Errorf("%s: WWW-Authenticate %q, body %s; want %q and %q", tt.name, got, r.raw, tt.challenge, tt.reason)
			}
		}
	})

	t.Run("security headers and no gRPC metadata", func(t *testing.T) {
		for _, tt := range []struct {
			key, path string
			status    int
		}{
			{admin, "/v1/articles", 200},
			{"", "/v1/articles", 401},
			{"", "/v1/sites/kratom-help/articles", 200},
			{"", "/v1/sites/kratom-help/sitemap.xml", 200},
			{"", "/v1/sites/kratom-help/feed.xml", 200},
			{"", "/healthz", 200},
			{"", "/v1/nothing", 404},
		} {
			r := in.call(t, tt.key, "GET", tt.path, nil).must(t, tt.status)
			if r.header.Get("X-Content-Type-Options") != "nosniff" || r.header.Get("Content-Security-Policy") != "default-src 'none'" {
				t.Errorf("GET %s: X-Content-Type-Options %q, Content-Security-Policy %q", tt.path, r.header.Get("X-Content-Type-Options"), r.header.Get("Content-Security-Policy"))
			}
			for name := range r.header {
				if strings.HasPrefix(name, "Grpc-") {
					t.Errorf("GET %s: gRPC metadata as a header: %s: %s", tt.path, name, r.header.Get(name))
				}
			}
		}
		resp, err := http.Get(in.restURL + "/console/")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "form-action 'self'") || resp.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("console: Content-Security-Policy %q (want its own), X-Content-Type-Options %q", csp, resp.Header.Get("X-Content-Type-Options"))
		}
	})

	t.Run("gRPC health through reflection without a key, as grpcurl does it", func(t *testing.T) {
		conn, err := grpc.NewClient(in.grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()

		// grpcurl -plaintext host:port grpc.health.v1.Health/Check
		client := grpcreflect.NewClientAuto(ctx, conn)
		defer client.Reset()
		services, err := client.ListServices()
		if err != nil {
			t.Fatalf("list without a key: %v", err)
		}
		if !slices.Equal(services, []protoreflect.FullName{"grpc.health.v1.Health"}) {
			t.Errorf("services listed without a key: %v, want the health service alone", services)
		}
		if _, err := client.FileContainingSymbol("beacon.content.v1.ArticleService"); err == nil {
			t.Errorf("reflection resolved the content service without a key")
		}
		file, err := client.FileContainingSymbol("grpc.health.v1.Health")
		if err != nil {
			t.Fatalf("resolve health without a key: %v", err)
		}
		check := file.Services().ByName("Health").Methods().ByName("Check")
		req, resp := dynamicpb.NewMessage(check.Input()), dynamicpb.NewMessage(check.Output())
		if err := conn.Invoke(ctx, "/grpc.health.v1.Health/Check", req, resp); err != nil {
			t.Fatalf("Check with the reflected descriptors: %v", err)
		}
		status := resp.Get(check.Output().Fields().ByName("status")).Enum()
		if name := check.Output().Fields().ByName("status").Enum().Values().ByNumber(status).Name(); name != "SERVING" {
			t.Errorf("health = %s, want SERVING", name)
		}

		// grpcurl -H "authorization: Bearer $KEY" host:port list
		adminCtx := metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+admin)
		full := grpcreflect.NewClientAuto(adminCtx, conn)
		defer full.Reset()
		services, err = full.ListServices()
		if err != nil {
			t.Fatalf("list with an admin key: %v", err)
		}
		if !slices.Contains(services, "beacon.content.v1.ArticleService") || !slices.Contains(services, "grpc.health.v1.Health") {
			t.Errorf("services listed with an admin key: %v", services)
		}
		if _, err := full.FileContainingSymbol("beacon.content.v1.ArticleService"); err != nil {
			t.Errorf("an admin cannot resolve the content service: %v", err)
		}
	})
}

// TestRateLimits runs beacon with small limits: a key's fourth management call in a minute is
// 429 with Retry-After and the RateLimit fields over REST, and RESOURCE_EXHAUSTED with
// RetryInfo and ErrorInfo over gRPC; other keys and delivery keep going; a site's delivery is
// limited on its own.
func TestRateLimits(t *testing.T) {
	in := startDev(t, t.TempDir(), "--rate-limit-per-key=3/1m", "--rate-limit-per-site=5/1m")
	admin := in.adminKey
	for range 3 {
		in.call(t, admin, "GET", "/v1/sites", nil).must(t, 200)
	}
	r := in.call(t, admin, "GET", "/v1/sites", nil).must(t, 429)
	if r.header.Get("Retry-After") == "" || r.header.Get("RateLimit-Policy") != `"caller";q=3;w=60` ||
		!strings.HasPrefix(r.header.Get("RateLimit"), `"caller";r=0;t=`) || !strings.Contains(r.str("message"), "too many requests") {
		t.Errorf("429 headers %v body %s", r.header, r.raw)
	}

	conn, err := grpc.NewClient(in.grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx := metadata.AppendToOutgoingContext(t.Context(), "authorization", "Bearer "+admin)
	_, err = sitesv1.NewSiteServiceClient(conn).ListSites(ctx, &sitesv1.ListSitesRequest{})
	st := status.Convert(err)
	var retry, info bool
	for _, d := range st.Details() {
		switch d := d.(type) {
		case *errdetails.RetryInfo:
			retry = d.GetRetryDelay().AsDuration() > 0
		case *errdetails.ErrorInfo:
			info = d.GetReason() == "RATE_LIMITED" && d.GetMetadata()["policy"] == "caller"
		}
	}
	if st.Code() != codes.ResourceExhausted || !retry || !info {
		t.Errorf("gRPC over the limit: %v %v; want RESOURCE_EXHAUSTED with RetryInfo and ErrorInfo RATE_LIMITED", st.Code(), st.Details())
	}

	// Health needs no key and counts nothing; delivery is limited per site only.
	for range 5 {
		in.call(t, "", "GET", "/v1/sites/kratom-help/articles", nil).must(t, 200)
	}
	r = in.call(t, "", "GET", "/v1/sites/kratom-help/articles", nil).must(t, 429)
	if r.header.Get("RateLimit-Policy") != `"site";q=5;w=60` {
		t.Errorf("site limit: RateLimit-Policy %q", r.header.Get("RateLimit-Policy"))
	}
	in.call(t, "", "GET", "/healthz", nil).must(t, 200)
}
