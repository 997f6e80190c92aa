package auth_test

import (
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/reflection"

	"github.com/beaconcms/beacon/platform/auth"
)

func TestRoleStringAndParse(t *testing.T) {
	tests := []struct {
		role auth.Role
		name string
	}{
		{auth.RoleAdmin, "admin"},
		{auth.RoleEditor, "editor"},
		{auth.RoleViewer, "viewer"},
		{auth.RoleDelivery, "delivery"},
	}
	for _, tt := range tests {
		if got := tt.role.String(); got != tt.name {
			t.Errorf("%d.String() = %q, want %q", int(tt.role), got, tt.name)
		}
		got, err := auth.ParseRole(tt.name)
		if err != nil || got != tt.role {
			t.Errorf("ParseRole(%q) = %v, %v; want %v", tt.name, got, err, tt.role)
		}
		if !tt.role.Valid() {
			t.Errorf("%v.Valid() = false", tt.role)
		}
	}
	for _, bad := range []string{"", "Admin", "owner", "0"} {
		if r, err := auth.ParseRole(bad); err == nil {
			t.Errorf("ParseRole(%q) = %v, want an error", bad, r)
		}
	}
	for _, bad := range []auth.Role{0, 5, -1} {
		if bad.Valid() {
			t.Errorf("Role(%d).Valid() = true", int(bad))
		}
		if got, want := bad.String(), "Role("; !strings.HasPrefix(got, want) {
			t.Errorf("Role(%d).String() = %q, want prefix %q", int(bad), got, want)
		}
	}
}

func TestPrincipalCoversSite(t *testing.T) {
	tests := []struct {
		principalSite, site string
		want                bool
	}{
		{"", "kratom-help", true},
		{"", "", true},
		{"kratom-help", "kratom-help", true},
		{"kratom-help", "other-site", false},
		{"kratom-help", "", false},
		{"kratom-help", "kratom-help-2", false},
	}
	for _, tt := range tests {
		p := auth.Principal{KeyName: "apiKeys/k", Role: auth.RoleViewer, Site: tt.principalSite}
		if got := p.CoversSite(tt.site); got != tt.want {
			t.Errorf("Principal{Site: %q}.CoversSite(%q) = %v, want %v", tt.principalSite, tt.site, got, tt.want)
		}
	}
}

func TestFromContext(t *testing.T) {
	if p, ok := auth.FromContext(t.Context()); ok {
		t.Errorf("FromContext(empty) = %v, true; want false", p)
	}
	want := auth.Principal{KeyName: "apiKeys/k", Role: auth.RoleEditor, Site: "s"}
	got, ok := auth.FromContext(auth.WithPrincipal(t.Context(), want))
	if !ok || got != want {
		t.Errorf("FromContext(WithPrincipal(p)) = %v, %v; want %v, true", got, ok, want)
	}
}

func TestPolicyValidate(t *testing.T) {
	tests := []struct {
		name    string
		policy  auth.Policy
		wantErr string // "" for valid
	}{
		{name: "empty", policy: auth.Policy{}},
		{name: "good", policy: testPolicy()},
		{name: "health and reflection", policy: auth.HealthAndReflectionRules()},
		{name: "public with roles", policy: auth.Policy{"/a.B/C": {Public: true, Roles: []auth.Role{auth.RoleAdmin}}}, wantErr: "public rule"},
		{name: "public all-sites-only", policy: auth.Policy{"/a.B/C": {Public: true, AllSitesOnly: true}}, wantErr: "public rule"},
		{name: "no roles", policy: auth.Policy{"/a.B/C": {}}, wantErr: "at least one role"},
		{name: "invalid role", policy: auth.Policy{"/a.B/C": {Roles: []auth.Role{7}}}, wantErr: "invalid role"},
		{name: "short method name", policy: auth.Policy{"a.B/C": {Public: true}}, wantErr: "full method name"},
		{name: "method name without method", policy: auth.Policy{"/a.B/": {Public: true}}, wantErr: "full method name"},
		{name: "method name with three parts", policy: auth.Policy{"/a/B/C": {Public: true}}, wantErr: "full method name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.policy.Validate()
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("Validate() = %v, want nil", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("Validate() = %v, want an error containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestMissingRules(t *testing.T) {
	srv := grpc.NewServer()
	srv.RegisterService(whoService(new(atomic.Int64)), nil)
	healthpb.RegisterHealthServer(srv, health.NewServer())
	reflection.Register(srv)

	policy, err := auth.Merge(testPolicy(), auth.HealthAndReflectionRules())
	if err != nil {
		t.Fatalf("Merge: %v", err)
	}
	if diff := cmp.Diff([]string{methodGap}, policy.MissingRules(srv)); diff != "" {
		t.Errorf("MissingRules() (-want +got):\n%s", diff)
	}

	want := []string{
		methodAdmin, methodCreateSite, methodEditing, methodGap, methodPublic, methodWatch,
		auth.HealthCheckMethod, auth.HealthListMethod, auth.HealthWatchMethod,
		auth.ReflectionV1Method, auth.ReflectionV1AlphaMethod,
	}
	if diff := cmp.Diff(want, auth.Policy{}.MissingRules(srv)); diff != "" {
		t.Errorf("empty policy: MissingRules() (-want +got):\n%s", diff)
	}
}

func TestMerge(t *testing.T) {
	a := auth.Policy{"/a.A/X": {Public: true}}
	b := auth.Policy{"/b.B/Y": {Roles: []auth.Role{auth.RoleViewer}}}
	got, err := auth.Merge(a, b)
	if err != nil {
		t.Fatalf("Merge: %v", err)
	}
	want := auth.Policy{"/a.A/X": {Public: true}, "/b.B/Y": {Roles: []auth.Role{auth.RoleViewer}}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Merge (-want +got):\n%s", diff)
	}

	if _, err := auth.Merge(a, b, auth.Policy{"/a.A/X": {Public: true}}); err == nil || !strings.Contains(err.Error(), "/a.A/X") {
		t.Errorf("Merge with a method twice = %v, want an error naming it", err)
	}
}

func TestHealthAndReflectionRules(t *testing.T) {
	p := auth.HealthAndReflectionRules()
	for _, m := range []string{auth.HealthCheckMethod, auth.HealthWatchMethod, auth.HealthListMethod} {
		if !p[m].Public {
			t.Errorf("%s is not public", m)
		}
	}
	for _, m := range []string{auth.ReflectionV1Method, auth.ReflectionV1AlphaMethod} {
		// Public, but only ReflectionRule's callers see more than health (Interceptor.FullReflection).
		if diff := cmp.Diff(auth.Rule{Public: true}, p[m]); diff != "" {
			t.Errorf("%s rule (-want +got):\n%s", m, diff)
		}
	}
	want := auth.Rule{Roles: []auth.Role{auth.RoleAdmin}, AllSitesOnly: true}
	if diff := cmp.Diff(want, auth.ReflectionRule); diff != "" {
		t.Errorf("ReflectionRule (-want +got):\n%s", diff)
	}
}
