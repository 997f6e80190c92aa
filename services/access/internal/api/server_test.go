package api_test

import (
	"context"
	"encoding/base64"
	"log/slog"
	"net"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"

	accessv1 "github.com/beaconcms/beacon/gen/beacon/access/v1"
	"github.com/beaconcms/beacon/platform/apperr"
	"github.com/beaconcms/beacon/platform/auth"
	"github.com/beaconcms/beacon/platform/grpcserver"
	"github.com/beaconcms/beacon/platform/mongodb"
	"github.com/beaconcms/beacon/platform/mongodb/mongodbtest"
	"github.com/beaconcms/beacon/services/access/internal/api"
	"github.com/beaconcms/beacon/services/access/internal/domain"
	"github.com/beaconcms/beacon/services/access/internal/store"
)

// env is the API key service as the binary runs it: store, service, the shared gRPC server with
// its error mapping and the auth interceptor, over bufconn.
type env struct {
	client accessv1.ApiKeyServiceClient
	keys   *domain.Service
	admin  string // token of an all-sites admin key
	server *grpcserver.Server
}

func newEnv(tb testing.TB) *env {
	tb.Helper()
	ctx := tb.Context()
	db := mongodbtest.NewDatabase(tb)
	if err := mongodb.Migrate(ctx, db, store.Migrations(), nil); err != nil {
		tb.Fatalf("Migrate: %v", err)
	}
	logger := slog.New(slog.DiscardHandler)
	keys := domain.NewService(store.New(db, mongodb.NewDocLocks()), namedSites{}, logger, domain.Config{})
	admin, created, err := keys.Bootstrap(ctx, "test admin")
	if err != nil || !created {
		tb.Fatalf("Bootstrap: %v, %v", created, err)
	}

	policy, err := auth.Merge(api.Rules(), auth.HealthAndReflectionRules())
	if err != nil {
		tb.Fatal(err)
	}
	srv := grpcserver.New(grpcserver.Config{Reflection: true}, auth.NewInterceptor(policy, keys, logger), logger)
	accessv1.RegisterApiKeyServiceServer(srv, api.NewServer(keys, logger))
	lis := bufconn.Listen(1 << 20)
	go srv.Serve(lis) //nolint:errcheck // returns when stopped
	tb.Cleanup(srv.Stop)

	conn, err := grpc.NewClient("passthrough:///bufnet",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { conn.Close() })
	return &env{client: accessv1.NewApiKeyServiceClient(conn), keys: keys, admin: admin, server: srv}
}

// namedSites is a site catalog whose sites are live, except those named "missing-..." (no such
// site) and "deleted-..." (deleted).
type namedSites struct{}

func (namedSites) SiteState(_ context.Context, id string) (domain.SiteState, error) {
	switch {
	case strings.HasPrefix(id, "missing-"):
		return domain.SiteMissing, nil
	case strings.HasPrefix(id, "deleted-"):
		return domain.SiteDeleted, nil
	}
	return domain.SiteLive, nil
}

func TestCreateForUnusableSite(t *testing.T) {
	e := newEnv(t)
	for _, site := range []string{"sites/missing-x", "sites/deleted-x"} {
		_, err := e.client.CreateApiKey(as(t.Context(), e.admin), &accessv1.CreateApiKeyRequest{
			ApiKey: &accessv1.ApiKey{DisplayName: "k", Role: accessv1.ApiKey_ROLE_EDITOR, Site: site},
		})
		if status.Code(err) != codes.FailedPrecondition || !slices.Equal(badFields(err), []string{"api_key.site"}) {
			t.Errorf("CreateApiKey(%s) = %v (fields %v), want FailedPrecondition naming api_key.site", site, err, badFields(err))
		}
	}
}

func as(ctx context.Context, token string) context.Context {
	return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token)
}

// create creates a key as the caller with token and fails the test on error.
func (e *env) create(tb testing.TB, token string, role accessv1.ApiKey_Role, site string) *accessv1.CreateApiKeyResponse {
	tb.Helper()
	resp, err := e.client.CreateApiKey(as(tb.Context(), token), &accessv1.CreateApiKeyRequest{
		ApiKey: &accessv1.ApiKey{DisplayName: "test " + role.String(), Role: role, Site: site},
	})
	if err != nil {
		tb.Fatalf("CreateApiKey(%v, %q): %v", role, site, err)
	}
	return resp
}

// listAll lists every key visible to token, following page tokens.
func (e *env) listAll(tb testing.TB, token string, pageSize int32) []*accessv1.ApiKey {
	tb.Helper()
	var all []*accessv1.ApiKey
	req := &accessv1.ListApiKeysRequest{PageSize: pageSize}
	for i := 0; ; i++ {
		if i > 50 {
			tb.Fatal("more than 50 pages")
		}
		resp, err := e.client.ListApiKeys(as(tb.Context(), token), req)
		if err != nil {
			tb.Fatalf("ListApiKeys: %v", err)
		}
		if pageSize > 0 && len(resp.GetApiKeys()) > int(pageSize) {
			tb.Errorf("page of %d keys for page_size %d", len(resp.GetApiKeys()), pageSize)
		}
		all = append(all, resp.GetApiKeys()...)
		if resp.GetNextPageToken() == "" {
			return all
		}
		req.PageToken = resp.GetNextPageToken()
	}
}

func names(keys []*accessv1.ApiKey) []string {
	var out []string
	for _, k := range keys {
		out = append(out, k.GetName())
	}
	return out
}

// badFields returns the field names of the BadRequest detail of err.
func badFields(err error) []string {
	var fields []string
	for _, d := range status.Convert(err).Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, v := range br.GetFieldViolations() {
				fields = append(fields, v.GetField())
			}
		}
	}
	return fields
}

var secretRE = regexp.MustCompile(`^bk_[0-9a-f]{16}_[a-z2-7]{52}$`)

func TestRules(t *testing.T) {
	rules := api.Rules()
	if err := rules.Validate(); err != nil {
		t.Errorf("Rules().Validate(): %v", err)
	}
	want := auth.Rule{Roles: []auth.Role{auth.RoleAdmin}}
	for _, m := range []string{
		accessv1.ApiKeyService_CreateApiKey_FullMethodName,
		accessv1.ApiKeyService_ListApiKeys_FullMethodName,
		accessv1.ApiKeyService_RevokeApiKey_FullMethodName,
	} {
		if diff := cmp.Diff(want, rules[m]); diff != "" {
			t.Errorf("rule of %s (-want +got):\n%s", m, diff)
		}
	}

	srv := grpc.NewServer()
	accessv1.RegisterApiKeyServiceServer(srv, api.NewServer(nil, nil))
	if missing := rules.MissingRules(srv); len(missing) != 0 {
		t.Errorf("methods without a rule: %v", missing)
	}
}

func TestCreateUseRevoke(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()

	created := e.create(t, e.admin, accessv1.ApiKey_ROLE_EDITOR, "sites/kratom-help")
	k, secret := created.GetApiKey(), created.GetSecret()
	if !secretRE.MatchString(secret) {
		t.Errorf("secret %q does not match %v", secret, secretRE)
	}
	if want := "apiKeys/" + secret[3:19]; k.GetName() != want {
		t.Errorf("name = %q, want %q", k.GetName(), want)
	}
	if k.GetKeyPrefix() != secret[:11] || k.GetSite() != "sites/kratom-help" || k.GetRole() != accessv1.ApiKey_ROLE_EDITOR ||
		k.GetDisplayName() != "test ROLE_EDITOR" || k.GetCreateTime() == nil || k.GetRevokeTime() != nil {
		t.Errorf("created key = %v", k)
	}

	// The new key authenticates: as an editor it is refused by policy, not as unknown.
	_, err := e.client.ListApiKeys(as(ctx, secret), &accessv1.ListApiKeysRequest{})
	if status.Code(err) != codes.PermissionDenied {
		t.Errorf("ListApiKeys as the new editor key: %v, want PermissionDenied", err)
	}

	revoked, err := e.client.RevokeApiKey(as(ctx, e.admin), &accessv1.RevokeApiKeyRequest{Name: k.GetName()})
	if err != nil {
		t.Fatalf("RevokeApiKey: %v", err)
	}
	if revoked.GetRevokeTime() == nil || revoked.GetName() != k.GetName() {
		t.Errorf("revoked key = %v", revoked)
	}
	_, err = e.client.ListApiKeys(as(ctx, secret), &accessv1.ListApiKeysRequest{})
	if st := status.Convert(err); st.Code() != codes.Unauthenticated || st.Message() != "invalid or revoked API key" {
		t.Errorf("call with the revoked key: %v, want Unauthenticated", err)
	}

	again, err := e.client.RevokeApiKey(as(ctx, e.admin), &accessv1.RevokeApiKeyRequest{Name: k.GetName()})
	if err != nil || !again.GetRevokeTime().AsTime().Equal(revoked.GetRevokeTime().AsTime()) {
		t.Errorf("revoking again = %v, %v; want the first revoke_time %v", again, err, revoked.GetRevokeTime())
	}
}

func TestList(t *testing.T) {
	e := newEnv(t)
	want := names(e.listAll(t, e.admin, 0)) // the bootstrap key
	for range 4 {
		want = append(want, e.create(t, e.admin, accessv1.ApiKey_ROLE_VIEWER, "").GetApiKey().GetName())
	}

	for _, size := range []int32{0, 1, 2, 5, 1000} {
		got := e.listAll(t, e.admin, size)
		if diff := cmp.Diff(want, names(got), cmpopts.SortSlices(func(a, b string) bool { return a < b })); diff != "" {
			t.Errorf("page_size %d: keys (-want +got):\n%s", size, diff)
		}
		newestFirst := slices.IsSortedFunc(got, func(a, b *accessv1.ApiKey) int {
			if c := b.GetCreateTime().AsTime().Compare(a.GetCreateTime().AsTime()); c != 0 {
				return c
			}
			return strings.Compare(b.GetName(), a.GetName())
		})
		if !newestFirst {
			t.Errorf("page_size %d: not newest first: %v", size, got)
		}
	}
}

func TestListDefaultPageSize(t *testing.T) {
	e := newEnv(t)
	for range 21 { // 22 keys with the bootstrap key
		e.create(t, e.admin, accessv1.ApiKey_ROLE_VIEWER, "")
	}
	resp, err := e.client.ListApiKeys(as(t.Context(), e.admin), &accessv1.ListApiKeysRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(resp.GetApiKeys()); n != 20 || resp.GetNextPageToken() == "" {
		t.Errorf("page_size 0 gave %d keys, next token %q; want 20 and a token", n, resp.GetNextPageToken())
	}
}

func TestValidation(t *testing.T) {
	e := newEnv(t)
	ctx := as(t.Context(), e.admin)
	token := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	valid := func(k *accessv1.ApiKey) *accessv1.ApiKey {
		if k.DisplayName == "" {
			k.DisplayName = "name"
		}
		if k.Role == 0 {
			k.Role = accessv1.ApiKey_ROLE_VIEWER
		}
		return k
	}

	tests := []struct {
		name       string
		call       func() error
		wantFields []string
	}{
		{"create without api_key", func() error {
			_, err := e.client.CreateApiKey(ctx, &accessv1.CreateApiKeyRequest{})
			return err
		}, []string{"api_key"}},
		{"create with everything missing", func() error {
			_, err := e.client.CreateApiKey(ctx, &accessv1.CreateApiKeyRequest{ApiKey: &accessv1.ApiKey{}})
			return err
		}, []string{"api_key.display_name", "api_key.role"}},
		{"create with a bare site id", func() error {
			_, err := e.client.CreateApiKey(ctx, &accessv1.CreateApiKeyRequest{ApiKey: valid(&accessv1.ApiKey{Site: "kratom-help"})})
			return err
		}, []string{"api_key.site"}},
		{"create with a bad site id", func() error {
			_, err := e.client.CreateApiKey(ctx, &accessv1.CreateApiKeyRequest{ApiKey: valid(&accessv1.ApiKey{Site: "sites/Kratom Help"})})
			return err
		}, []string{"api_key.site"}},
		{"create with an unknown role and a long name", func() error {
			_, err := e.client.CreateApiKey(ctx, &accessv1.CreateApiKeyRequest{ApiKey: &accessv1.ApiKey{
				DisplayName: strings.Repeat("x", 101), Role: 42, Site: "sites/",
			}})
			return err
		}, []string{"api_key.site", "api_key.display_name", "api_key.role"}},
		{"list with a negative page size", func() error {
			_, err := e.client.ListApiKeys(ctx, &accessv1.ListApiKeysRequest{PageSize: -1})
			return err
		}, []string{"page_size"}},
		{"list with a garbage page token", func() error {
			_, err := e.client.ListApiKeys(ctx, &accessv1.ListApiKeysRequest{PageToken: "not a token!"})
			return err
		}, []string{"page_token"}},
		{"list with a page token without an id", func() error {
			_, err := e.client.ListApiKeys(ctx, &accessv1.ListApiKeysRequest{PageToken: token("1700000000000.")})
			return err
		}, []string{"page_token"}},
		{"list with a page token with a bad id", func() error {
			_, err := e.client.ListApiKeys(ctx, &accessv1.ListApiKeysRequest{PageToken: token("1700000000000.ZZZZZZZZZZZZZZZZ")})
			return err
		}, []string{"page_token"}},
		{"list with a negative time", func() error {
			_, err := e.client.ListApiKeys(ctx, &accessv1.ListApiKeysRequest{PageToken: token("-1.0123456789abcdef")})
			return err
		}, []string{"page_token"}},
		{"list with a non-canonical time", func() error {
			_, err := e.client.ListApiKeys(ctx, &accessv1.ListApiKeysRequest{PageToken: token("+01700000000000.0123456789abcdef")})
			return err
		}, []string{"page_token"}},
		{"list with a padded token", func() error {
			_, err := e.client.ListApiKeys(ctx, &accessv1.ListApiKeysRequest{PageToken: base64.URLEncoding.EncodeToString([]byte("170000000000.0123456789abcdef")) /* 29 bytes: padded */})
			return err
		}, []string{"page_token"}},
		{"revoke without a name", func() error {
			_, err := e.client.RevokeApiKey(ctx, &accessv1.RevokeApiKeyRequest{})
			return err
		}, []string{"name"}},
		{"revoke with a bare id", func() error {
			_, err := e.client.RevokeApiKey(ctx, &accessv1.RevokeApiKeyRequest{Name: "0123456789abcdef"})
			return err
		}, []string{"name"}},
		{"revoke with a bad id", func() error {
			_, err := e.client.RevokeApiKey(ctx, &accessv1.RevokeApiKeyRequest{Name: "apiKeys/0123456789abcdeg"})
			return err
		}, []string{"name"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			if status.Code(err) != codes.InvalidArgument {
				t.Fatalf("code %v (%v), want InvalidArgument", status.Code(err), err)
			}
			if diff := cmp.Diff(tt.wantFields, badFields(err)); diff != "" {
				t.Errorf("bad fields (-want +got):\n%s", diff)
			}
		})
	}

	// A well-formed token of a position past every key is valid: an empty last page.
	resp, err := e.client.ListApiKeys(ctx, &accessv1.ListApiKeysRequest{PageToken: token("0.0000000000000000")})
	if err != nil || len(resp.GetApiKeys()) != 0 || resp.GetNextPageToken() != "" {
		t.Errorf("list after the oldest possible position = %v, %v; want an empty last page", resp, err)
	}
}

func TestRevokeUnknown(t *testing.T) {
	e := newEnv(t)
	_, err := e.client.RevokeApiKey(as(t.Context(), e.admin), &accessv1.RevokeApiKeyRequest{Name: "apiKeys/0123456789abcdef"})
	if status.Code(err) != codes.NotFound {
		t.Errorf("revoking an unknown key: %v, want NotFound", err)
	}
}

func TestSiteAdmin(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	siteAdmin := e.create(t, e.admin, accessv1.ApiKey_ROLE_ADMIN, "sites/kratom-help")
	other := e.create(t, e.admin, accessv1.ApiKey_ROLE_VIEWER, "sites/other-site").GetApiKey()
	global := e.create(t, e.admin, accessv1.ApiKey_ROLE_VIEWER, "").GetApiKey()
	own := e.create(t, siteAdmin.GetSecret(), accessv1.ApiKey_ROLE_DELIVERY, "sites/kratom-help").GetApiKey()
	sa := as(ctx, siteAdmin.GetSecret())

	for _, site := range []string{"sites/other-site", ""} {
		_, err := e.client.CreateApiKey(sa, &accessv1.CreateApiKeyRequest{ApiKey: &accessv1.ApiKey{
			DisplayName: "x", Role: accessv1.ApiKey_ROLE_VIEWER, Site: site,
		}})
		if status.Code(err) != codes.PermissionDenied {
			t.Errorf("site admin creating a key for %q: %v, want PermissionDenied", site, err)
		}
	}

	want := []string{siteAdmin.GetApiKey().GetName(), own.GetName()}
	if diff := cmp.Diff(want, names(e.listAll(t, siteAdmin.GetSecret(), 1)), cmpopts.SortSlices(func(a, b string) bool { return a < b })); diff != "" {
		t.Errorf("site admin lists (-want +got):\n%s", diff)
	}

	for _, k := range []*accessv1.ApiKey{other, global} {
		_, err := e.client.RevokeApiKey(sa, &accessv1.RevokeApiKeyRequest{Name: k.GetName()})
		if status.Code(err) != codes.NotFound {
			t.Errorf("site admin revoking %s (site %q): %v, want NotFound", k.GetName(), k.GetSite(), err)
		}
	}
	if got, err := e.keys.Get(ctx, strings.TrimPrefix(other.GetName(), "apiKeys/")); err != nil || got.Revoked() {
		t.Errorf("other site's key after the refused revocation: %+v, %v; want it active", got, err)
	}
	if _, err := e.client.RevokeApiKey(sa, &accessv1.RevokeApiKeyRequest{Name: own.GetName()}); err != nil {
		t.Errorf("site admin revoking its own site's key: %v", err)
	}
}

func TestAccess(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	tokens := map[string]string{"": ""}
	for _, role := range []accessv1.ApiKey_Role{accessv1.ApiKey_ROLE_EDITOR, accessv1.ApiKey_ROLE_VIEWER, accessv1.ApiKey_ROLE_DELIVERY} {
		tokens[role.String()] = e.create(t, e.admin, role, "").GetSecret()
	}
	for who, token := range tokens {
		ctx := ctx
		want := codes.PermissionDenied
		if token != "" {
			ctx = as(ctx, token)
		} else {
			want = codes.Unauthenticated
		}
		calls := map[string]func() error{
			"create": func() error {
				_, err := e.client.CreateApiKey(ctx, &accessv1.CreateApiKeyRequest{ApiKey: &accessv1.ApiKey{DisplayName: "x", Role: accessv1.ApiKey_ROLE_ADMIN}})
				return err
			},
			"list": func() error { _, err := e.client.ListApiKeys(ctx, &accessv1.ListApiKeysRequest{}); return err },
			"revoke": func() error {
				_, err := e.client.RevokeApiKey(ctx, &accessv1.RevokeApiKeyRequest{Name: "apiKeys/" + e.admin[3:19]})
				return err
			},
		}
		for name, call := range calls {
			if err := call(); status.Code(err) != want {
				t.Errorf("%s as %q: %v, want %v", name, who, err, want)
			}
		}
	}
	if _, err := e.keys.Verify(ctx, e.admin); err != nil {
		t.Errorf("the admin key after the refused calls: %v", err)
	}
}

func TestServerChecksCallerWithoutInterceptor(t *testing.T) {
	srv := api.NewServer(nil, nil) // never reaches the service
	tests := []struct {
		name string
		ctx  context.Context
		want apperr.Code
	}{
		{"no principal", t.Context(), apperr.Unauthenticated},
		{"editor", auth.WithPrincipal(t.Context(), auth.Principal{KeyName: "apiKeys/x", Role: auth.RoleEditor}), apperr.PermissionDenied},
	}
	for _, tt := range tests {
		_, err1 := srv.CreateApiKey(tt.ctx, &accessv1.CreateApiKeyRequest{})
		_, err2 := srv.ListApiKeys(tt.ctx, &accessv1.ListApiKeysRequest{})
		_, err3 := srv.RevokeApiKey(tt.ctx, &accessv1.RevokeApiKeyRequest{})
		for i, err := range []error{err1, err2, err3} {
			if apperr.CodeOf(err) != tt.want {
				t.Errorf("%s: call %d: %v, want %s", tt.name, i, err, tt.want)
			}
		}
	}
}

func TestBinaryPolicyCoversServer(t *testing.T) {
	e := newEnv(t)
	policy, err := auth.Merge(api.Rules(), auth.HealthAndReflectionRules())
	if err != nil {
		t.Fatal(err)
	}
	if missing := policy.MissingRules(e.server); len(missing) != 0 {
		t.Errorf("methods without a rule: %v", missing)
	}
}
