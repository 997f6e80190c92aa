package console

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"

	resourcesv1 "github.com/beaconcms/beacon/gen/beacon/resources/v1"
)

// TestDirectoryRuleHandler: the rule form writes the rule alone (mask "rule") with the etag
// the user saw, as a DirectoryRule (kinds, terms, a region when one is filled in; none when
// switched off), and a refusal is shown beside the input it names with the user's values kept.
func TestDirectoryRuleHandler(t *testing.T) {
	tests := []struct {
		name     string
		form     url.Values
		refuse   error
		status   int
		location string
		rule     *resourcesv1.DirectoryRule
		want     []string
	}{
		{name: "a rule", form: url.Values{"etag": {"d1"}, "rule_on": {"on"}, "rule_kinds": {"CRISIS_LINE", "TEXT_LINE"},
			"rule_taxonomy": {" kratom, Recovery ,, "}, "rule_country": {"us"}, "rule_region": {"tx "}, "rule_postal_codes": {"78701, 78702"}},
			status: http.StatusSeeOther, location: "/console/directories/dir1?rule=1",
			rule: &resourcesv1.DirectoryRule{Kinds: []resourcesv1.Kind{resourcesv1.Kind_KIND_CRISIS_LINE, resourcesv1.Kind_KIND_TEXT_LINE},
				TaxonomyTerms: []string{"kratom", "Recovery"}, Region: &resourcesv1.ServiceArea{Country: "US", Region: "TX", PostalCodes: []string{"78701", "78702"}}}},
		{name: "every resource of the site", form: url.Values{"etag": {"d1"}, "rule_on": {"on"}}, status: http.StatusSeeOther,
			location: "/console/directories/dir1?rule=1", rule: &resourcesv1.DirectoryRule{}},
		{name: "switched off", form: url.Values{"etag": {"d1"}, "rule_kinds": {"CRISIS_LINE"}}, status: http.StatusSeeOther,
			location: "/console/directories/dir1?rule=1", rule: nil},
		{name: "a forged kind is the service's to refuse", form: url.Values{"etag": {"d1"}, "rule_on": {"on"}, "rule_kinds": {"BOGUS"}},
			refuse: badRequest(t, codes.InvalidArgument, "directory.rule.kinds[0]", "must be one of CRISIS_LINE, ..."), status: http.StatusBadRequest,
			rule: &resourcesv1.DirectoryRule{Kinds: []resourcesv1.Kind{resourcesv1.Kind_KIND_UNSPECIFIED}},
			want: []string{`id="rule_kinds-error">rule.kinds[0]: must be one of CRISIS_LINE, ...`}},
		{name: "a refused region beside its input, the user's values kept", form: url.Values{"etag": {"d1"}, "rule_on": {"on"}, "rule_region": {"tx"}, "rule_taxonomy": {"kratom"}},
			refuse: badRequest(t, codes.InvalidArgument, "directory.rule.region.country", `must be an ISO 3166-1 alpha-2 country code such as US (got "")`),
			status: http.StatusBadRequest, rule: &resourcesv1.DirectoryRule{TaxonomyTerms: []string{"kratom"}, Region: &resourcesv1.ServiceArea{Region: "TX"}},
			want: []string{`id="rule_country-error">rule.region.country: must be an ISO 3166-1`, `aria-invalid="true" aria-describedby="rule_country-error"`,
				`id="rule_region" name="rule_region" value="TX"`, `id="rule_taxonomy" name="rule_taxonomy" value="kratom"`, `id="rule_on" name="rule_on" checked`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := &fakeResources{refuse: tt.refuse, page: []*resourcesv1.Resource{},
				directory: &resourcesv1.Directory{Name: "directories/dir1", Site: "sites/s1", Title: "D", Slug: "d", Etag: "d1", Entries: entriesOf("a")}}
			c := newResourceConsole(t, fake, fakeSessions{})
			r := signedInRequest("POST", "/console/directories/dir1/rule", strings.NewReader(tt.form.Encode()))
			r.SetPathValue("id", "dir1")
			w := httptest.NewRecorder()
			c.directoryRule(w, r)
			if w.Code != tt.status || w.Header().Get("Location") != tt.location {
				t.Fatalf("status %d to %q, want %d to %q:\n%s", w.Code, w.Header().Get("Location"), tt.status, tt.location, w.Body)
			}
			if len(fake.dirUpdates) != 1 {
				t.Fatalf("%d updates", len(fake.dirUpdates))
			}
			up := fake.dirUpdates[0]
			if !slices.Equal(up.GetUpdateMask().GetPaths(), []string{"rule"}) || up.GetDirectory().GetEtag() != "d1" || !proto.Equal(up.GetDirectory().GetRule(), tt.rule) {
				t.Errorf("update %v, want the rule %v alone with etag d1", up, tt.rule)
			}
			for _, s := range tt.want {
				if !strings.Contains(w.Body.String(), s) {
					t.Errorf("lacks %q:\n%s", s, w.Body)
				}
			}
		})
	}
}

// TestRuleFormOfStoredRule: the form shows a stored rule as it was saved.
func TestRuleFormOfStoredRule(t *testing.T) {
	f := ruleFormOf(&resourcesv1.DirectoryRule{Kinds: []resourcesv1.Kind{resourcesv1.Kind_KIND_CHAT}, TaxonomyTerms: []string{"a", "b"},
		Region: &resourcesv1.ServiceArea{Country: "US", Region: "CA", PostalCodes: []string{"90001"}}})
	if !f.On || !f.Kinds["CHAT"] || len(f.Kinds) != 1 || f.Taxonomy != "a, b" || f.Country != "US" || f.Region != "CA" || f.PostalCode != "90001" {
		t.Errorf("form %+v", f)
	}
	if off := ruleFormOf(nil); off.On || len(off.Kinds) != 0 {
		t.Errorf("no rule: %+v", off)
	}
}
