package console

import (
	"net/url"
	"slices"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	accessv1 "github.com/beaconcms/beacon/gen/beacon/access/v1"
	sitesv1 "github.com/beaconcms/beacon/gen/beacon/sites/v1"
)

func fullSite() *sitesv1.Site {
	gates := true
	return &sitesv1.Site{Name: "sites/kratom-help", Etag: "e1", DisplayName: "Kratom Help", BaseUrl: "https://kratom-help.example.org",
		DefaultLocale: "en-US", CrisisLineText: "Call or text 988", Public: true, CacheMaxAgeSeconds: 120, ResourceStaleAfterDays: 90,
		HideStaleResources: true, Commercial: true, ReviewValidityMonths: 6, PublishGates: &gates, ExampleContent: true,
		LintTuning: &sitesv1.LintTuning{DisabledRules: []string{"stigma-soft-term", "cure-claim"},
			RuleSeverities: map[string]sitesv1.LintTuning_Severity{"number-needs-citation": sitesv1.LintTuning_SEVERITY_ERROR, "absolute-claim": sitesv1.LintTuning_SEVERITY_INFO}},
		AllowedOrigins: []string{"https://www.kratom-help.example.org", "http://localhost:5173"}}
}

// TestSiteFormRoundTrip: a site shown in the form and posted back unchanged is the same site.
func TestSiteFormRoundTrip(t *testing.T) {
	for _, site := range []*sitesv1.Site{fullSite(), {Name: "sites/bare", DisplayName: "Bare", BaseUrl: "https://bare.example.org", Etag: "e"}} {
		f := siteFormOf(site)
		posted := url.Values{"etag": {f.Etag}, "display_name": {f.DisplayName}, "base_url": {f.BaseURL}, "default_locale": {f.DefaultLocale},
			"crisis_line_text": {f.CrisisLineText}, "cache_max_age_seconds": {f.CacheMaxAge}, "resource_stale_after_days": {f.ResourceStaleAfterDays},
			"review_validity_months": {f.ReviewValidity}, "disabled_rules": {f.DisabledRules}, "rule_severities": {f.RuleSeverities},
			"allowed_origins": {f.AllowedOrigins}}
		for _, in := range []string{"public", "hide_stale_resources", "commercial", "publish_gates", "example_content"} {
			if f.value(in) == "on" {
				posted.Set(in, "on")
			}
		}
		got, problems := siteFormOfPost(siteID(site.GetName()), posted).site()
		if problems != nil {
			t.Fatalf("%s: problems %v", site.GetName(), problems)
		}
		want := proto.Clone(site).(*sitesv1.Site)
		if want.PublishGates == nil { // the form writes the switch as shown: off
			want.PublishGates = proto.Bool(false)
		}
		if want.LintTuning == nil {
			want.LintTuning = &sitesv1.LintTuning{}
		}
		if !proto.Equal(got, want) {
			t.Errorf("round trip of %s:\n got %v\nwant %v", site.GetName(), got, want)
		}
	}
}

func TestSiteFormProblems(t *testing.T) {
	tests := []struct {
		form url.Values
		want []string
	}{
		{url.Values{"cache_max_age_seconds": {"ten"}}, []string{"cache_max_age_seconds"}},
		{url.Values{"review_validity_months": {"99999999999"}, "rule_severities": {"cure-claim error"}}, []string{"review_validity_months", "rule_severities"}},
		{url.Values{"cache_max_age_seconds": {""}, "rule_severities": {"cure-claim: loud"}}, nil}, // the service names an unknown severity
	}
	for _, tt := range tests {
		_, problems := siteFormOfPost("x", tt.form).site()
		var got []string
		for k := range problems {
			got = append(got, k)
		}
		slices.Sort(got)
		if !slices.Equal(got, tt.want) {
			t.Errorf("%v: problems %v, want %v", tt.form, problems, tt.want)
		}
	}
}

func TestSitesScreen(t *testing.T) {
	editForm := func(change func(url.Values)) url.Values {
		f := siteFormOf(fullSite())
		v := url.Values{"etag": {"e1"}, "display_name": {f.DisplayName}, "base_url": {f.BaseURL}, "public": {"on"}, "disabled_rules": {f.DisabledRules}}
		if change != nil {
			change(v)
		}
		return v
	}
	tests := []struct {
		name       string
		method     string
		path       string
		form       url.Values
		updateErr  error
		stored     *sitesv1.Site // the site GetSite answers after a conflict
		wantStatus int
		want       []string
		notWant    []string
		notSent    bool     // the form is refused before any UpdateSite
		origins    []string // the allowed_origins sent, when checked
	}{
		{name: "list", method: "GET", path: "/console/sites", wantStatus: 200,
			want: []string{`href="/console/sites/kratom-help"`, "https://kratom-help.example.org", "public"}},
		{name: "edit form", method: "GET", path: "/console/sites/kratom-help", wantStatus: 200,
			want: []string{`name="etag" value="e1"`, `<label for="base_url">`, `id="public" name="public" checked`, "number-needs-citation: error",
				"stigma-soft-term\ncure-claim</textarea>", `<label for="allowed_origins">`,
				"https://www.kratom-help.example.org\nhttp://localhost:5173</textarea>"}},
		{name: "unknown site", method: "GET", path: "/console/sites/nope", wantStatus: 404},
		{name: "saved", method: "POST", path: "/console/sites/kratom-help", form: editForm(nil), wantStatus: 303},
		{name: "refused values beside their inputs", method: "POST", path: "/console/sites/kratom-help",
			form:       editForm(func(v url.Values) { v.Set("base_url", "ftp://x"); v.Set("disabled_rules", "no-such-rule") }),
			updateErr:  invalid(t, "site.base_url", "must be an http or https URL", "site.lint_tuning.disabled_rules[0]", `unknown lint rule "no-such-rule"`),
			wantStatus: 400,
			want: []string{`id="base_url-error">must be an http or https URL`, `id="disabled_rules-error">unknown lint rule &#34;no-such-rule&#34;`,
				`value="ftp://x"`, `aria-describedby="base_url-error base_url-saved" aria-invalid="true"`}},
		{name: "refused origins named beside their textarea, by position and value", method: "POST", path: "/console/sites/kratom-help",
			form: editForm(func(v url.Values) {
				v.Set("allowed_origins", "https://ok.example.org\r\n\r\nftp://x.example.org\n *  ")
			}),
			updateErr:  invalid(t, "site.allowed_origins[1]", "must be an http or https origin", "site.allowed_origins[2]", `"*" allows every origin: it must be the only entry`),
			wantStatus: 400, origins: []string{"https://ok.example.org", "ftp://x.example.org", "*"},
			want: []string{`id="allowed_origins-error">origin 2, ftp://x.example.org: must be an http or https origin; origin 3, *: &#34;*&#34; allows every origin: it must be the only entry`,
				`aria-describedby="allowed_origins-hint allowed_origins-error" aria-invalid="true"`, "https://ok.example.org\r\n\r\nftp://x.example.org\n *</textarea>"}},
		{name: "too many origins", method: "POST", path: "/console/sites/kratom-help",
			form:       editForm(func(v url.Values) { v.Set("allowed_origins", "https://a.example.org") }),
			updateErr:  invalid(t, "site.allowed_origins", "must name at most 20 origins (it names 21)"),
			wantStatus: 400, want: []string{`id="allowed_origins-error">must name at most 20 origins (it names 21)`}},
		{name: "a number that is not one is not sent", method: "POST", path: "/console/sites/kratom-help",
			form: editForm(func(v url.Values) { v.Set("cache_max_age_seconds", "a minute") }), wantStatus: 400,
			want: []string{`id="cache_max_age_seconds-error">must be a whole number`}, notSent: true},
		{name: "a stale etag shows the saved values and takes the new etag", method: "POST", path: "/console/sites/kratom-help",
			form:      editForm(func(v url.Values) { v.Set("display_name", "Mine") }),
			updateErr: status.Error(codes.Aborted, "the site changed since you read it"),
			stored: func() *sitesv1.Site {
				s := fullSite()
				s.DisplayName, s.Etag = "Theirs", "e2"
				return s
			}(), wantStatus: 409,
			want:    []string{`id="site-form-error">Someone saved this site`, `id="display_name-saved">Saved meanwhile: <strong>Theirs</strong>`, `value="Mine"`, `name="etag" value="e2"`},
			notWant: []string{`id="base_url-saved"`, `name="etag" value="e1"`}},
		{name: "a non-admin's forged save is the service's 403", method: "POST", path: "/console/sites/kratom-help", form: editForm(nil),
			updateErr: status.Error(codes.PermissionDenied, "needs admin"), wantStatus: 403},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sites := &fakeSiteList{site: fullSite(), updateErr: tt.updateErr}
			if tt.stored != nil {
				sites.site = tt.stored
			}
			c := newAdminTestConsole(t, &fakeSession{role: accessv1.ApiKey_ROLE_ADMIN}, nil, nil, sites)
			p := serve(t, c, tt.method, tt.path, tt.form)
			p.check(t, tt.wantStatus, tt.want, tt.notWant)
			if tt.notSent && len(sites.updates) != 0 {
				t.Fatalf("sent %v", sites.updates)
			}
			if tt.method != "POST" || tt.notSent {
				return
			}
			if len(sites.updates) != 1 {
				t.Fatalf("%d updates", len(sites.updates))
			}
			req := sites.updates[0]
			if req.GetSite().GetEtag() != "e1" || req.GetSite().GetName() != "sites/kratom-help" || !slices.Contains(req.GetUpdateMask().GetPaths(), "lint_tuning") ||
				!slices.Contains(req.GetUpdateMask().GetPaths(), "allowed_origins") || slices.Contains(req.GetUpdateMask().GetPaths(), "etag") {
				t.Errorf("UpdateSite(%v)", req)
			}
			if tt.origins != nil && !slices.Equal(req.GetSite().GetAllowedOrigins(), tt.origins) {
				t.Errorf("allowed_origins sent %q, want %q", req.GetSite().GetAllowedOrigins(), tt.origins)
			}
		})
	}
}
