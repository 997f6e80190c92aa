package api_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	sitesv1 "github.com/beaconcms/beacon/gen/beacon/sites/v1"
)

// rpcCase is one call: what it does, with which key, and the code it must end with. Each case
// creates the sites it changes (as admin), so that cases do not depend on each other.
type rpcCase struct {
	name   string
	key    string
	call   func(ctx context.Context, t *testing.T, e *env) error
	want   codes.Code
	fields []string // for InvalidArgument: the fields the BadRequest detail must name
}

func siteCases() []rpcCase {
	newSite := func(id string) *sitesv1.CreateSiteRequest {
		return &sitesv1.CreateSiteRequest{SiteId: id, Site: &sitesv1.Site{DisplayName: "New", BaseUrl: "https://new.example.org"}}
	}
	create := func(req *sitesv1.CreateSiteRequest) func(context.Context, *testing.T, *env) error {
		return func(ctx context.Context, _ *testing.T, e *env) error {
			_, err := e.sites.CreateSite(ctx, req)
			return err
		}
	}
	get := func(name string) func(context.Context, *testing.T, *env) error {
		return func(ctx context.Context, _ *testing.T, e *env) error {
			_, err := e.sites.GetSite(ctx, &sitesv1.GetSiteRequest{Name: name})
			return err
		}
	}
	list := func(req *sitesv1.ListSitesRequest) func(context.Context, *testing.T, *env) error {
		return func(ctx context.Context, _ *testing.T, e *env) error {
			_, err := e.sites.ListSites(ctx, req)
			return err
		}
	}
	// update changes site-b's display name; etag "" means the current one.
	update := func(site *sitesv1.Site, paths ...string) func(context.Context, *testing.T, *env) error {
		return func(ctx context.Context, t *testing.T, e *env) error {
			req := &sitesv1.UpdateSiteRequest{Site: site, UpdateMask: &fieldmaskpb.FieldMask{Paths: paths}}
			if site != nil && site.Etag == "" {
				cur, err := e.sites.GetSite(as(context.Background(), keyAdmin), &sitesv1.GetSiteRequest{Name: "sites/site-b"})
				if err != nil {
					t.Fatal(err)
				}
				site.Etag = cur.GetEtag()
			}
			_, err := e.sites.UpdateSite(ctx, req)
			return err
		}
	}
	del := func(name string) func(context.Context, *testing.T, *env) error {
		return func(ctx context.Context, _ *testing.T, e *env) error {
			_, err := e.sites.DeleteSite(ctx, &sitesv1.DeleteSiteRequest{Name: name})
			return err
		}
	}
	return []rpcCase{
		{name: "CreateSite", key: keyAdmin, call: create(newSite("site-new")), want: codes.OK},
		{name: "CreateSite by editor", key: keyEditorA, call: create(newSite("site-c1")), want: codes.PermissionDenied},
		{name: "CreateSite by viewer", key: keyViewer, call: create(newSite("site-c2")), want: codes.PermissionDenied},
		{name: "CreateSite by delivery key", key: keyDelivery, call: create(newSite("site-c3")), want: codes.PermissionDenied},
		{name: "CreateSite without key", key: keyNone, call: create(newSite("site-c4")), want: codes.Unauthenticated},
		{name: "CreateSite with unknown key", key: keyUnknown, call: create(newSite("site-c5")), want: codes.Unauthenticated},
		{name: "CreateSite bad id", key: keyAdmin, call: create(newSite("Site_C")), want: codes.InvalidArgument, fields: []string{"site_id"}},
		{name: "CreateSite without site", key: keyAdmin, call: create(&sitesv1.CreateSiteRequest{SiteId: "site-c6"}), want: codes.InvalidArgument, fields: []string{"site"}},
		{name: "CreateSite bad fields", key: keyAdmin, call: create(&sitesv1.CreateSiteRequest{SiteId: "site-c7", Site: &sitesv1.Site{BaseUrl: "new.example.org", CacheMaxAgeSeconds: -1}}),
			want: codes.InvalidArgument, fields: []string{"site.display_name", "site.base_url", "site.cache_max_age_seconds"}},
		{name: "CreateSite stale threshold too high", key: keyAdmin, call: create(&sitesv1.CreateSiteRequest{SiteId: "site-c8", Site: &sitesv1.Site{DisplayName: "C8", BaseUrl: "https://c8.example.org", ResourceStaleAfterDays: 3651}}),
			want: codes.InvalidArgument, fields: []string{"site.resource_stale_after_days"}},
		{name: "CreateSite stale threshold negative", key: keyAdmin, call: create(&sitesv1.CreateSiteRequest{SiteId: "site-c9", Site: &sitesv1.Site{DisplayName: "C9", BaseUrl: "https://c9.example.org", ResourceStaleAfterDays: -1}}),
			want: codes.InvalidArgument, fields: []string{"site.resource_stale_after_days"}},
		{name: "UpdateSite stale threshold out of range", key: keyAdmin, call: update(&sitesv1.Site{Name: "sites/site-b", ResourceStaleAfterDays: 5000}, "resource_stale_after_days"),
			want: codes.InvalidArgument, fields: []string{"site.resource_stale_after_days"}},
		{name: "CreateSite existing id", key: keyAdmin, call: create(newSite("site-a")), want: codes.AlreadyExists},

		{name: "GetSite", key: keyViewer, call: get("sites/site-b"), want: codes.OK},
		{name: "GetSite own site", key: keyEditorA, call: get("sites/site-a"), want: codes.OK},
		{name: "GetSite foreign site", key: keyEditorA, call: get("sites/site-b"), want: codes.NotFound},
		{name: "GetSite missing", key: keyAdmin, call: get("sites/nowhere"), want: codes.NotFound},
		{name: "GetSite bad name", key: keyAdmin, call: get("site-a"), want: codes.InvalidArgument, fields: []string{"name"}},
		{name: "GetSite bad id", key: keyAdmin, call: get("sites/Site A"), want: codes.InvalidArgument, fields: []string{"name"}},
		{name: "GetSite by delivery key", key: keyDelivery, call: get("sites/site-a"), want: codes.PermissionDenied},
		{name: "GetSite without key", key: keyNone, call: get("sites/site-a"), want: codes.Unauthenticated},

		{name: "ListSites", key: keyViewer, call: list(&sitesv1.ListSitesRequest{}), want: codes.OK},
		{name: "ListSites negative page size", key: keyViewer, call: list(&sitesv1.ListSitesRequest{PageSize: -1}), want: codes.InvalidArgument, fields: []string{"page_size"}},
		{name: "ListSites bad page token", key: keyViewer, call: list(&sitesv1.ListSitesRequest{PageToken: "garbage"}), want: codes.InvalidArgument, fields: []string{"page_token"}},
		{name: "ListSites by delivery key", key: keyDelivery, call: list(&sitesv1.ListSitesRequest{}), want: codes.PermissionDenied},

		{name: "UpdateSite", key: keyAdmin, call: update(&sitesv1.Site{Name: "sites/site-b", DisplayName: "Site B!"}, "display_name"), want: codes.OK},
		{name: "UpdateSite stale etag", key: keyAdmin, call: update(&sitesv1.Site{Name: "sites/site-b", DisplayName: "x", Etag: "stale"}, "display_name"), want: codes.Aborted},
		{name: "UpdateSite by editor", key: keyEditorA, call: update(&sitesv1.Site{Name: "sites/site-a", DisplayName: "x"}, "display_name"), want: codes.PermissionDenied},
		{name: "UpdateSite by viewer", key: keyViewer, call: update(&sitesv1.Site{Name: "sites/site-b", DisplayName: "x"}, "display_name"), want: codes.PermissionDenied},
		{name: "UpdateSite bad name", key: keyAdmin, call: update(&sitesv1.Site{Name: "site-b", DisplayName: "x"}, "display_name"), want: codes.InvalidArgument, fields: []string{"site.name"}},
		{name: "UpdateSite unknown mask path", key: keyAdmin, call: update(&sitesv1.Site{Name: "sites/site-b"}, "colour"), want: codes.InvalidArgument, fields: []string{"update_mask"}},
		{name: "UpdateSite invalid value", key: keyAdmin, call: update(&sitesv1.Site{Name: "sites/site-b", BaseUrl: "ftp://x"}, "base_url"), want: codes.InvalidArgument, fields: []string{"site.base_url"}},
		{name: "UpdateSite without site", key: keyAdmin, call: update(nil), want: codes.InvalidArgument, fields: []string{"site"}},

		{name: "DeleteSite", key: keyAdmin, call: func(ctx context.Context, t *testing.T, e *env) error {
			e.createSite(t, "site-doomed")
			_, err := e.sites.DeleteSite(ctx, &sitesv1.DeleteSiteRequest{Name: "sites/site-doomed"})
			return err
		}, want: codes.OK},
		{name: "DeleteSite twice", key: keyAdmin, call: func(ctx context.Context, t *testing.T, e *env) error {
			e.createSite(t, "site-twice")
			if err := del("sites/site-twice")(ctx, t, e); err != nil {
				return err
			}
			return del("sites/site-twice")(ctx, t, e)
		}, want: codes.FailedPrecondition},
		{name: "UndeleteSite", key: keyAdmin, call: func(ctx context.Context, t *testing.T, e *env) error {
			e.createSite(t, "site-back")
			if err := del("sites/site-back")(ctx, t, e); err != nil {
				return err
			}
			_, err := e.sites.UndeleteSite(ctx, &sitesv1.UndeleteSiteRequest{Name: "sites/site-back"})
			return err
		}, want: codes.OK},
		{name: "UndeleteSite not deleted", key: keyAdmin, call: func(ctx context.Context, _ *testing.T, e *env) error {
			_, err := e.sites.UndeleteSite(ctx, &sitesv1.UndeleteSiteRequest{Name: "sites/site-b"})
			return err
		}, want: codes.FailedPrecondition},
		{name: "UndeleteSite by site admin", key: keyEditorA, call: func(ctx context.Context, _ *testing.T, e *env) error {
			_, err := e.sites.UndeleteSite(ctx, &sitesv1.UndeleteSiteRequest{Name: "sites/site-a"})
			return err
		}, want: codes.PermissionDenied},
		{name: "DeleteSite missing", key: keyAdmin, call: del("sites/nowhere"), want: codes.NotFound},
		{name: "DeleteSite bad name", key: keyAdmin, call: del("nowhere"), want: codes.InvalidArgument, fields: []string{"name"}},
		{name: "DeleteSite by editor", key: keyEditorA, call: del("sites/site-a"), want: codes.PermissionDenied},
		{name: "DeleteSite by viewer", key: keyViewer, call: del("sites/site-b"), want: codes.PermissionDenied},
	}
}

func TestRPCs(t *testing.T) {
	e := newEnv(t)
	for _, tt := range siteCases() {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call(as(t.Context(), tt.key), t, e)
			st := status.Convert(err)
			if st.Code() != tt.want {
				t.Fatalf("code = %v (%q), want %v", st.Code(), st.Message(), tt.want)
			}
			if diff := cmp.Diff(tt.fields, badRequestFields(err)); diff != "" {
				t.Errorf("BadRequest field violations (-want +got):\n%s", diff)
			}
			for _, f := range tt.fields {
				if !strings.Contains(st.Message(), f) {
					t.Errorf("message %q does not name %s", st.Message(), f)
				}
			}
		})
	}

	// The table covers every method of the service.
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, m := range sitesv1.SiteService_ServiceDesc.Methods {
		if full := "/" + sitesv1.SiteService_ServiceDesc.ServiceName + "/" + m.MethodName; !e.called[full] {
			t.Errorf("no case calls %s", full)
		}
	}
}

func TestListSitesPaging(t *testing.T) {
	e := newEnv(t)
	want := []string{"sites/site-a", "sites/site-b"}
	for _, id := range []string{"alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet", "kilo"} {
		want = append(want, e.createSite(t, id).GetName())
	}
	walkSites := func(key string, size int32) []string {
		var got []string
		req := &sitesv1.ListSitesRequest{PageSize: size}
		for page := 0; page < 100; page++ {
			resp, err := e.sites.ListSites(as(t.Context(), key), req)
			if err != nil {
				t.Fatalf("ListSites: %v", err)
			}
			if len(resp.GetSites()) > int(size) {
				t.Fatalf("page of %d sites, want at most %d", len(resp.GetSites()), size)
			}
			for _, s := range resp.GetSites() {
				got = append(got, s.GetName())
			}
			if resp.GetNextPageToken() == "" {
				return got
			}
			req.PageToken = resp.GetNextPageToken()
		}
		t.Fatal("too many pages")
		return nil
	}
	if diff := cmp.Diff(want, walkSites(keyAdmin, 4), cmpopts.SortSlices(func(a, b string) bool { return a < b })); diff != "" {
		t.Errorf("admin walk (-want +got):\n%s", diff)
	}
	got := walkSites(keyAdmin, 5)
	for i := 1; i < len(got); i++ {
		if got[i-1] >= got[i] {
			t.Errorf("sites out of order: %s before %s", got[i-1], got[i])
		}
	}
	if diff := cmp.Diff([]string{"sites/site-a"}, walkSites(keyEditorA, 1)); diff != "" {
		t.Errorf("site key walk (-want +got):\n%s", diff)
	}
	// A site list token is bound to the key that got it.
	first, err := e.sites.ListSites(as(t.Context(), keyAdmin), &sitesv1.ListSitesRequest{PageSize: 1})
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.sites.ListSites(as(t.Context(), keyViewer), &sitesv1.ListSitesRequest{PageToken: first.GetNextPageToken()})
	if status.Code(err) != codes.InvalidArgument {
		t.Errorf("another key's site page token: %v, want INVALID_ARGUMENT", err)
	}
}

// TestSitePublishGatesDefault checks that a new site has the clinical publish gates unless it
// says otherwise, and that review_validity_months is checked.
func TestSitePublishGatesDefault(t *testing.T) {
	e := newEnv(t)
	ctx := as(t.Context(), keyAdmin)
	for _, tt := range []struct {
		id    string
		gates *bool
		want  bool
	}{{"unset", nil, true}, {"on", proto.Bool(true), true}, {"off", proto.Bool(false), false}} {
		s, err := e.sites.CreateSite(ctx, &sitesv1.CreateSiteRequest{SiteId: tt.id, Site: &sitesv1.Site{
			DisplayName: tt.id, BaseUrl: "https://" + tt.id + ".example.org", PublishGates: tt.gates}})
		if err != nil {
			t.Fatal(err)
		}
		if s.PublishGates == nil || s.GetPublishGates() != tt.want {
			t.Errorf("site %s: publish_gates %v, want %v", tt.id, s.PublishGates, tt.want)
		}
	}
	for _, months := range []int32{-1, 61} {
		_, err := e.sites.CreateSite(ctx, &sitesv1.CreateSiteRequest{SiteId: "bad", Site: &sitesv1.Site{
			DisplayName: "bad", BaseUrl: "https://bad.example.org", ReviewValidityMonths: months}})
		if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "site.review_validity_months") {
			t.Errorf("review_validity_months %d: %v, want INVALID_ARGUMENT naming site.review_validity_months", months, err)
		}
	}
}

func TestSiteRoundTrip(t *testing.T) {
	e := newEnv(t)
	ctx := as(t.Context(), keyAdmin)
	created, err := e.sites.CreateSite(ctx, &sitesv1.CreateSiteRequest{SiteId: "kratom-help", Site: &sitesv1.Site{
		Name: "sites/ignored", DisplayName: " Kratom Help ", BaseUrl: "https://kratom-help.example.org/", CrisisLineText: "Call 988",
		Public: true, CacheMaxAgeSeconds: 300, ResourceStaleAfterDays: 90,
	}})
	if err != nil {
		t.Fatal(err)
	}
	want := &sitesv1.Site{
		Name: "sites/kratom-help", DisplayName: "Kratom Help", BaseUrl: "https://kratom-help.example.org", DefaultLocale: "en",
		CrisisLineText: "Call 988", Public: true, CacheMaxAgeSeconds: 300, ResourceStaleAfterDays: 90,
		PublishGates: proto.Bool(true), // on for a new site that does not say
	}
	ignoreOutput := protocmp.IgnoreFields(&sitesv1.Site{}, "etag", "create_time", "update_time")
	if diff := cmp.Diff(want, created, protocmp.Transform(), ignoreOutput); diff != "" {
		t.Errorf("created site (-want +got):\n%s", diff)
	}
	got, err := e.sites.GetSite(ctx, &sitesv1.GetSiteRequest{Name: "sites/kratom-help"})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(created, got, protocmp.Transform()); diff != "" {
		t.Errorf("GetSite differs from CreateSite (-created +got):\n%s", diff)
	}
	upd, err := e.sites.UpdateSite(ctx, &sitesv1.UpdateSiteRequest{
		Site: &sitesv1.Site{Name: "sites/kratom-help", Etag: got.GetEtag(), Public: false, DisplayName: "ignored",
			ResourceStaleAfterDays: 365, HideStaleResources: true, Commercial: true,
			ReviewValidityMonths: 6, PublishGates: proto.Bool(false), ExampleContent: true},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"public", "etag", "update_time", "resourceStaleAfterDays", "hide_stale_resources", "commercial",
			"reviewValidityMonths", "publish_gates", "example_content"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	want.Public, want.ResourceStaleAfterDays, want.HideStaleResources, want.Commercial = false, 365, true, true
	want.ReviewValidityMonths, want.PublishGates, want.ExampleContent = 6, proto.Bool(false), true
	if diff := cmp.Diff(want, upd, protocmp.Transform(), ignoreOutput); diff != "" {
		t.Errorf("updated site (-want +got):\n%s", diff)
	}
	if upd.GetEtag() == got.GetEtag() {
		t.Errorf("etag unchanged by an update")
	}
}

// TestSiteLintTuning: lint_tuning is written with update_mask "lint_tuning", read back as
// written (and kept by the store), and refused with INVALID_ARGUMENT naming the entry when it
// names a rule the embedded rules file lacks, repeats a rule, gives no valid severity, or both
// disables a rule and gives it a severity.
func TestSiteLintTuning(t *testing.T) {
	e := newEnv(t)
	ctx := as(t.Context(), keyAdmin)
	site := e.createSite(t, "tuned")
	tuning := &sitesv1.LintTuning{
		DisabledRules:  []string{"stigma-soft-term"},
		RuleSeverities: map[string]sitesv1.LintTuning_Severity{"number-needs-citation": sitesv1.LintTuning_SEVERITY_ERROR, "stigmatising-term": sitesv1.LintTuning_SEVERITY_WARNING},
	}
	upd, err := e.sites.UpdateSite(ctx, &sitesv1.UpdateSiteRequest{
		Site:       &sitesv1.Site{Name: site.GetName(), Etag: site.GetEtag(), LintTuning: tuning},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"lintTuning"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(tuning, upd.GetLintTuning(), protocmp.Transform()); diff != "" {
		t.Errorf("lint_tuning after update (-want +got):\n%s", diff)
	}
	got, err := e.sites.GetSite(ctx, &sitesv1.GetSiteRequest{Name: site.GetName()})
	if err != nil || !cmp.Equal(tuning, got.GetLintTuning(), protocmp.Transform()) {
		t.Errorf("GetSite lint_tuning = %v, %v; want %v", got.GetLintTuning(), err, tuning)
	}

	for _, tt := range []struct {
		name   string
		tuning *sitesv1.LintTuning
		field  string
	}{
		{"unknown disabled rule", &sitesv1.LintTuning{DisabledRules: []string{"stigma-soft-term", "no-such-rule"}}, "site.lint_tuning.disabled_rules[1]"},
		{"a rule twice", &sitesv1.LintTuning{DisabledRules: []string{"stigma-soft-term", "stigma-soft-term"}}, "site.lint_tuning.disabled_rules[1]"},
		{"unknown rule given a severity", &sitesv1.LintTuning{RuleSeverities: map[string]sitesv1.LintTuning_Severity{"no-such-rule": sitesv1.LintTuning_SEVERITY_ERROR}}, `site.lint_tuning.rule_severities["no-such-rule"]`},
		{"unspecified severity", &sitesv1.LintTuning{RuleSeverities: map[string]sitesv1.LintTuning_Severity{"stigmatising-term": sitesv1.LintTuning_SEVERITY_UNSPECIFIED}}, `site.lint_tuning.rule_severities["stigmatising-term"]`},
		{"undefined severity", &sitesv1.LintTuning{RuleSeverities: map[string]sitesv1.LintTuning_Severity{"stigmatising-term": 9}}, `site.lint_tuning.rule_severities["stigmatising-term"]`},
		{"disabled and given a severity", &sitesv1.LintTuning{DisabledRules: []string{"stigmatising-term"},
			RuleSeverities: map[string]sitesv1.LintTuning_Severity{"stigmatising-term": sitesv1.LintTuning_SEVERITY_INFO}}, `site.lint_tuning.rule_severities["stigmatising-term"]`},
	} {
		_, err := e.sites.UpdateSite(ctx, &sitesv1.UpdateSiteRequest{
			Site:       &sitesv1.Site{Name: site.GetName(), LintTuning: tt.tuning},
			UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"lint_tuning"}},
		})
		if status.Code(err) != codes.InvalidArgument || !slices.Equal(badRequestFields(err), []string{tt.field}) {
			t.Errorf("%s: %v (fields %v), want INVALID_ARGUMENT naming %s", tt.name, err, badRequestFields(err), tt.field)
		}
		_, err = e.sites.CreateSite(ctx, &sitesv1.CreateSiteRequest{SiteId: "bad-tuning", Site: &sitesv1.Site{
			DisplayName: "Bad", BaseUrl: "https://bad.example.org", LintTuning: tt.tuning}})
		if status.Code(err) != codes.InvalidArgument || !slices.Equal(badRequestFields(err), []string{tt.field}) {
			t.Errorf("create, %s: %v (fields %v), want INVALID_ARGUMENT naming %s", tt.name, err, badRequestFields(err), tt.field)
		}
	}
	if after, _ := e.sites.GetSite(ctx, &sitesv1.GetSiteRequest{Name: site.GetName()}); !cmp.Equal(tuning, after.GetLintTuning(), protocmp.Transform()) {
		t.Errorf("a refused update changed lint_tuning to %v", after.GetLintTuning())
	}
	cleared, err := e.sites.UpdateSite(ctx, &sitesv1.UpdateSiteRequest{
		Site: &sitesv1.Site{Name: site.GetName()}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"lint_tuning"}},
	})
	if err != nil || cleared.GetLintTuning() != nil {
		t.Errorf("clearing lint_tuning: %v, %v; want it unset", cleared.GetLintTuning(), err)
	}
}

// TestSiteAllowedOrigins: allowed_origins is written with update_mask "allowedOrigins" (JSON
// name) or "allowed_origins", read back normalized, and refused with INVALID_ARGUMENT naming
// the entry.
func TestSiteAllowedOrigins(t *testing.T) {
	e := newEnv(t)
	ctx := as(t.Context(), keyAdmin)
	site := e.createSite(t, "cors")
	upd, err := e.sites.UpdateSite(ctx, &sitesv1.UpdateSiteRequest{
		Site:       &sitesv1.Site{Name: site.GetName(), AllowedOrigins: []string{"https://App.example.org/", "http://localhost:5173"}},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"allowedOrigins"}},
	})
	want := []string{"https://app.example.org", "http://localhost:5173"}
	if err != nil || !slices.Equal(upd.GetAllowedOrigins(), want) {
		t.Fatalf("UpdateSite allowed_origins = %v, %v; want %v", upd.GetAllowedOrigins(), err, want)
	}
	if got, err := e.sites.GetSite(ctx, &sitesv1.GetSiteRequest{Name: site.GetName()}); err != nil || !slices.Equal(got.GetAllowedOrigins(), want) {
		t.Errorf("GetSite allowed_origins = %v, %v; want %v", got.GetAllowedOrigins(), err, want)
	}
	for _, tt := range []struct {
		origins []string
		field   string
	}{
		{[]string{"https://*.example.org"}, "site.allowed_origins[0]"},
		{[]string{"https://a.example.org", "https://a.example.org/path"}, "site.allowed_origins[1]"},
		{[]string{"https://a.example.org", "*"}, "site.allowed_origins[1]"},
	} {
		_, err := e.sites.UpdateSite(ctx, &sitesv1.UpdateSiteRequest{
			Site:       &sitesv1.Site{Name: site.GetName(), AllowedOrigins: tt.origins},
			UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"allowed_origins"}},
		})
		if status.Code(err) != codes.InvalidArgument || !slices.Equal(badRequestFields(err), []string{tt.field}) {
			t.Errorf("%v: %v (fields %v), want INVALID_ARGUMENT naming %s", tt.origins, err, badRequestFields(err), tt.field)
		}
	}
}
