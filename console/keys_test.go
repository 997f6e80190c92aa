package console

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	accessv1 "github.com/beaconcms/beacon/gen/beacon/access/v1"
)

// fakeKeys is the ApiKeyService: a list of keys, and CreateApiKey/RevokeApiKey answering err
// when set.
type fakeKeys struct {
	accessv1.ApiKeyServiceClient
	keys    []*accessv1.ApiKey
	err     error
	creates []*accessv1.CreateApiKeyRequest
	revokes []string
}

func (f *fakeKeys) ListApiKeys(context.Context, *accessv1.ListApiKeysRequest, ...grpc.CallOption) (*accessv1.ListApiKeysResponse, error) {
	return &accessv1.ListApiKeysResponse{ApiKeys: f.keys}, nil
}

func (f *fakeKeys) CreateApiKey(_ context.Context, req *accessv1.CreateApiKeyRequest, _ ...grpc.CallOption) (*accessv1.CreateApiKeyResponse, error) {
	f.creates = append(f.creates, req)
	if f.err != nil {
		return nil, f.err
	}
	k := &accessv1.ApiKey{Name: "apiKeys/k2", DisplayName: req.GetApiKey().GetDisplayName(), Role: req.GetApiKey().GetRole(),
		Site: req.GetApiKey().GetSite(), KeyPrefix: "bk_k2", CreateTime: timestamppb.Now()}
	return &accessv1.CreateApiKeyResponse{ApiKey: k, Secret: "bk_k2_THE-SECRET"}, nil
}

func (f *fakeKeys) RevokeApiKey(_ context.Context, req *accessv1.RevokeApiKeyRequest, _ ...grpc.CallOption) (*accessv1.ApiKey, error) {
	f.revokes = append(f.revokes, req.GetName())
	if f.err != nil {
		return nil, f.err
	}
	return &accessv1.ApiKey{Name: req.GetName(), RevokeTime: timestamppb.Now()}, nil
}

func newFakeKeys() *fakeKeys {
	return &fakeKeys{keys: []*accessv1.ApiKey{
		{Name: "apiKeys/k1", DisplayName: `<script>alert(1)</script>`, Role: accessv1.ApiKey_ROLE_DELIVERY, Site: "sites/kratom-help",
			KeyPrefix: "bk_k1", CreateTime: timestamppb.New(time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC))},
		{Name: "apiKeys/k0", DisplayName: "old", Role: accessv1.ApiKey_ROLE_ADMIN, KeyPrefix: "bk_k0",
			CreateTime: timestamppb.New(time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)), RevokeTime: timestamppb.New(time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC))},
	}}
}

func TestKeysScreen(t *testing.T) {
	denied := status.Error(codes.PermissionDenied, "users/ada@example.org has role editor; this method needs admin")
	tests := []struct {
		name        string
		method      string
		path        string
		form        url.Values
		err         error
		wantStatus  int
		want        []string
		notWant     []string
		wantCreate  *accessv1.ApiKey
		wantRevoked string
	}{
		{name: "list", method: "GET", path: "/console/keys", wantStatus: 200,
			want: []string{"&lt;script&gt;", `href="/console/keys/k1/revoke"`, "delivery", "kratom-help", "revoked", `<option value="kratom-help">`,
				`<label for="display_name">`, `<label for="role">`, `<label for="site">`},
			notWant: []string{`href="/console/keys/k0/revoke"`, `id="secret"`, "<script>alert"}},
		{name: "create shows the secret once", method: "POST", path: "/console/keys",
			form:       url.Values{"display_name": {" Frontend "}, "role": {"ROLE_EDITOR"}, "site": {"kratom-help"}},
			wantStatus: 200, want: []string{`value="bk_k2_THE-SECRET"`, `data-shown-once="/console/keys"`, `data-copy="secret" hidden`, `<script src="/console/static/copy.js" defer></script>`},
			wantCreate: &accessv1.ApiKey{DisplayName: "Frontend", Role: accessv1.ApiKey_ROLE_EDITOR, Site: "sites/kratom-help"}},
		{name: "create for all sites", method: "POST", path: "/console/keys", form: url.Values{"display_name": {"All"}, "role": {"ROLE_VIEWER"}, "site": {""}},
			wantStatus: 200, want: []string{"bk_k2_THE-SECRET"}, wantCreate: &accessv1.ApiKey{DisplayName: "All", Role: accessv1.ApiKey_ROLE_VIEWER}},
		{name: "refused field shown beside it", method: "POST", path: "/console/keys", form: url.Values{"display_name": {""}, "role": {"ROLE_EDITOR"}},
			err: invalid(t, "api_key.display_name", "is required"), wantStatus: 400,
			want:       []string{`id="display_name-error">is required`, `aria-invalid="true" aria-describedby="display_name-error"`},
			notWant:    []string{`id="secret"`},
			wantCreate: &accessv1.ApiKey{Role: accessv1.ApiKey_ROLE_EDITOR}},
		{name: "a non-admin's forged create is the service's 403", method: "POST", path: "/console/keys", form: url.Values{"display_name": {"x"}, "role": {"ROLE_ADMIN"}},
			err: denied, wantStatus: 403, want: []string{"Your role does not allow this"}, notWant: []string{`id="secret"`},
			wantCreate: &accessv1.ApiKey{DisplayName: "x", Role: accessv1.ApiKey_ROLE_ADMIN}},
		{name: "revoke asks first", method: "GET", path: "/console/keys/k1/revoke", wantStatus: 200,
			want: []string{`action="/console/keys/k1/revoke"`, "bk_k1", "delivery on kratom-help", `href="/console/keys">Cancel`}},
		{name: "revoke", method: "POST", path: "/console/keys/k1/revoke", form: url.Values{}, wantStatus: 303, wantRevoked: "apiKeys/k1"},
		{name: "a non-admin's forged revoke is the service's 403", method: "POST", path: "/console/keys/k1/revoke", form: url.Values{}, err: denied,
			wantStatus: 403, wantRevoked: "apiKeys/k1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			keys := newFakeKeys()
			keys.err = tt.err
			c := newAdminTestConsole(t, &fakeSession{role: accessv1.ApiKey_ROLE_ADMIN}, keys, nil, newFakeSites())
			p := serve(t, c, tt.method, tt.path, tt.form)
			p.check(t, tt.wantStatus, tt.want, tt.notWant)
			if got := p.header.Get("Cache-Control"); got != "no-store" {
				t.Errorf("Cache-Control %q, want no-store", got)
			}
			if csp := p.header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self';") || strings.Contains(csp, "unsafe-inline") {
				t.Errorf("CSP %q", csp)
			}
			if strings.Contains(p.body, "<script>") {
				t.Errorf("inline script:\n%s", p.body)
			}
			if tt.wantCreate != nil {
				if len(keys.creates) != 1 {
					t.Fatalf("%d creates", len(keys.creates))
				}
				got := keys.creates[0].GetApiKey()
				if got.GetDisplayName() != tt.wantCreate.GetDisplayName() || got.GetRole() != tt.wantCreate.GetRole() || got.GetSite() != tt.wantCreate.GetSite() {
					t.Errorf("CreateApiKey(%v), want %v", got, tt.wantCreate)
				}
			}
			if tt.wantRevoked != "" && (len(keys.revokes) != 1 || keys.revokes[0] != tt.wantRevoked) {
				t.Errorf("revoked %v, want %s", keys.revokes, tt.wantRevoked)
			}
			if tt.wantStatus == 303 && p.header.Get("Location") != "/console/keys?revoked=apiKeys%2Fk1" {
				t.Errorf("redirect to %q", p.header.Get("Location"))
			}
		})
	}
}

// TestStaticCopyScript: the copy script is served as JavaScript from the console's static
// files, the one origin the CSP allows script from.
func TestStaticCopyScript(t *testing.T) {
	c := newAdminTestConsole(t, &fakeSession{role: accessv1.ApiKey_ROLE_ADMIN}, nil, nil, newFakeSites())
	p := serve(t, c, "GET", "/console/static/copy.js", nil)
	p.check(t, 200, []string{"data-shown-once", "navigator.clipboard"}, nil)
	if ct := p.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/javascript") {
		t.Errorf("Content-Type %q", ct)
	}
}
