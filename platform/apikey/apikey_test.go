package apikey_test

import (
	"context"
	"log/slog"
	"net"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"

	contentv1 "github.com/beaconcms/beacon/gen/beacon/content/v1"
	"github.com/beaconcms/beacon/platform/apikey"
	"github.com/beaconcms/beacon/platform/apperr"
	"github.com/beaconcms/beacon/platform/auth"
	"github.com/beaconcms/beacon/platform/grpcserver"
	"github.com/beaconcms/beacon/platform/mongodb/mongodbtest"
)

func TestServiceName(t *testing.T) {
	if got := contentv1.ApiKeyService_ServiceDesc.ServiceName; apikey.ServiceName != got {
		t.Errorf("ServiceName = %q, want %q", apikey.ServiceName, got)
	}
}

// TestWiring wires the service as the beacon binary does and drives it end to end.
func TestWiring(t *testing.T) {
	ctx := t.Context()
	db := mongodbtest.NewDatabase(t)
	keys, err := apikey.Open(ctx, db, nil)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if _, err := apikey.Open(ctx, db, nil); err != nil { // already migrated
		t.Fatalf("Open again: %v", err)
	}

	admin, created, err := keys.Bootstrap(ctx, "bootstrap admin")
	if err != nil || !created {
		t.Fatalf("Bootstrap = %v, %v", created, err)
	}
	if _, created, err := keys.Bootstrap(ctx, "bootstrap admin"); err != nil || created {
		t.Fatalf("second Bootstrap = %v, %v; want no new key", created, err)
	}
	p, err := keys.Verify(ctx, admin)
	if err != nil || p.Role != auth.RoleAdmin || p.Site != "" || p.KeyName != "apiKeys/"+admin[3:19] {
		t.Fatalf("Verify(bootstrap key) = %+v, %v", p, err)
	}
	last := "a"
	if admin[len(admin)-1] == 'a' {
		last = "b"
	}
	if _, err := keys.Verify(ctx, admin[:len(admin)-1]+last); !apperr.Is(err, apperr.Unauthenticated) {
		t.Errorf("Verify(tampered key) = %v, want Unauthenticated", err)
	}

	policy, err := auth.Merge(auth.HealthAndReflectionRules(), apikey.Rules())
	if err != nil {
		t.Fatal(err)
	}
	srv := grpcserver.New(grpcserver.Config{Reflection: true}, auth.NewInterceptor(policy, keys, nil), slog.New(slog.DiscardHandler))
	keys.Register(srv)
	if missing := policy.MissingRules(srv); len(missing) != 0 {
		t.Errorf("methods without a rule: %v", missing)
	}
	lis := bufconn.Listen(1 << 20)
	go srv.Serve(lis) //nolint:errcheck // returns when stopped
	t.Cleanup(srv.Stop)
	conn, err := grpc.NewClient("passthrough:///bufnet",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	client := contentv1.NewApiKeyServiceClient(conn)

	actx := metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+admin)
	resp, err := client.CreateApiKey(actx, &contentv1.CreateApiKeyRequest{ApiKey: &contentv1.ApiKey{
		DisplayName: "frontend", Role: contentv1.ApiKey_ROLE_DELIVERY, Site: "sites/kratom-help",
	}})
	if err != nil {
		t.Fatalf("CreateApiKey: %v", err)
	}
	if p, err := keys.Verify(ctx, resp.GetSecret()); err != nil || p.Role != auth.RoleDelivery || p.Site != "kratom-help" {
		t.Errorf("Verify(new key) = %+v, %v", p, err)
	}
	list, err := client.ListApiKeys(actx, &contentv1.ListApiKeysRequest{})
	if err != nil || len(list.GetApiKeys()) != 2 {
		t.Errorf("ListApiKeys = %v, %v; want 2 keys", list, err)
	}
	if _, err := client.ListApiKeys(ctx, &contentv1.ListApiKeysRequest{}); status.Code(err) != codes.Unauthenticated {
		t.Errorf("ListApiKeys without a key: %v, want Unauthenticated", err)
	}
}
