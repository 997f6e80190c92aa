package hsds_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/beaconcms/beacon/services/resources/internal/domain"
	"github.com/beaconcms/beacon/services/resources/internal/hsds"
)

// schemaBase is where openapi.json says the HSDS 3.0 schemas live; the copies in testdata are
// registered under it so every relative $ref resolves offline.
const schemaBase = "https://raw.githubusercontent.com/openreferral/specification/3.0/schema/"

// serviceSchema compiles the official HSDS 3.0 service schema (testdata/hsds-3.0, unmodified
// copies; see its README), asserting formats (uuid, email, uri, date-time).
func serviceSchema(tb testing.TB) *jsonschema.Schema {
	tb.Helper()
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	files, err := filepath.Glob("testdata/hsds-3.0/*.json")
	if err != nil || len(files) < 20 {
		tb.Fatalf("HSDS schemas missing: %v %v", files, err)
	}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			tb.Fatal(err)
		}
		doc, err := jsonschema.UnmarshalJSON(strings.NewReader(string(raw)))
		if err != nil {
			tb.Fatalf("%s: %v", f, err)
		}
		if err := c.AddResource(schemaBase+filepath.Base(f), doc); err != nil {
			tb.Fatal(err)
		}
	}
	s, err := c.Compile(schemaBase + "service.json")
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

func validateServices(tb testing.TB, schema *jsonschema.Schema, exported []byte) {
	tb.Helper()
	var records []any
	if err := json.Unmarshal(exported, &records); err != nil {
		tb.Fatal(err)
	}
	for i, r := range records {
		if err := schema.Validate(r); err != nil {
			tb.Errorf("service %d does not validate against HSDS 3.0: %v", i, err)
		}
	}
}

// sampleResources are normalized, valid resources using every exported field.
func sampleResources(tb testing.TB) []*domain.Resource {
	tb.Helper()
	lat, lng := 30.2672, -97.7431
	fields := []domain.Fields{
		{
			DisplayName: "988 Suicide & Crisis Lifeline", OrganizationName: "Vibrant Emotional Health",
			Kind: domain.KindCrisisLine, TaxonomyTerms: []string{"crisis intervention", "open-eligibility:mental-health"},
			Description: "Call or text **988**.", Website: "https://988lifeline.org/", Email: "info@example.org",
			Phones: []domain.Phone{
				{Number: "988", Type: domain.PhoneVoice, Languages: []string{"en", "es"}},
				{Number: "988", Type: domain.PhoneText},
				{Number: "+18007994889", Type: domain.PhoneTTY, Description: "TTY", Extension: "12"},
			},
			Locations:    []domain.Location{{Type: domain.LocationVirtual, URL: "https://988lifeline.org/chat/"}},
			Hours:        domain.Hours{AlwaysOpen: true},
			Languages:    []string{"en", "es"},
			Costs:        []domain.Cost{domain.CostFree},
			ServiceAreas: []domain.ServiceArea{{Country: "US"}},
			Status:       domain.StatusActive, Crisis: true,
			ExternalIDs: []domain.ExternalID{{Source: "csv", ID: "988"}},
		},
		{
			DisplayName: "Example Recovery Clinic (example data)", OrganizationName: "Example Health",
			Kind: domain.KindTreatmentProvider, Website: "https://clinic.example.org/",
			Phones: []domain.Phone{{Number: "+15125550100", Type: domain.PhoneVoice}, {Number: "+15125550101", Type: domain.PhoneFax}},
			Locations: []domain.Location{{Type: domain.LocationPhysical, Name: "Downtown",
				Address:     domain.Address{Address1: "100 Congress Ave", Address2: "Suite 2", City: "Austin", Region: "TX", PostalCode: "78701", Country: "US"},
				Coordinates: &domain.LatLng{Lat: lat, Lng: lng}}},
			Hours: domain.Hours{TimeZone: "America/Chicago",
				Periods: []domain.WeeklyPeriod{
					{Day: time.Monday, Opens: 9 * 60, Closes: 12 * 60}, {Day: time.Monday, Opens: 13 * 60, Closes: 17 * 60},
					{Day: time.Tuesday, Opens: 9 * 60, Closes: 12 * 60}, {Day: time.Saturday, Opens: 22 * 60, Closes: domain.MinutesPerDay},
					{Day: time.Sunday, Opens: 0, Closes: 2 * 60},
				},
				Closures: []domain.Closure{{Date: domain.Date{Year: 2026, Month: 12, Day: 25}, Description: "Christmas Day"}, {Date: domain.Date{Year: 2027, Month: 1, Day: 1}}}},
			Costs:           []domain.Cost{domain.CostSlidingScale, domain.CostInsurance},
			CostDescription: "Sliding scale from $10", Eligibility: "Adults 18+",
			ServiceAreas: []domain.ServiceArea{{Country: "US", Region: "TX", PostalCodes: []string{"78701", "78702"}}},
			Status:       domain.StatusTemporarilyClosed,
			ExternalIDs:  []domain.ExternalID{{Source: "hsds:211tx", ID: "abc-1"}, {Source: "csv", ID: "clinic-9"}},
		},
		{
			DisplayName: "Example peer group (example data)", Kind: domain.KindSupportGroup,
			Locations: []domain.Location{{Type: domain.LocationVirtual}},
			Status:    domain.StatusDefunct,
		},
	}
	var out []*domain.Resource
	for i, f := range fields {
		f.TargetSites = []string{"kratom-help"}
		f.Normalize()
		if err := f.Validate(""); err != nil {
			tb.Fatalf("sample %d: %v", i, err)
		}
		r := &domain.Resource{ID: "r" + string(rune('a'+i)), Fields: f, RevisionID: 3,
			UpdateTime: time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)}
		out = append(out, r)
	}
	out[0].Verified = domain.Verification{Date: domain.Date{Year: 2026, Month: 10, Day: 1}, Verifier: "editor@example.org"}
	out[1].Verified = domain.Verification{Date: domain.Date{Year: 2026, Month: 6, Day: 2}, Verifier: "keys/editor-kratom"}
	return out
}

// TestExportValidatesAndRoundTrips exports resources, validates every record against the official
// HSDS 3.0 schema, reads the export back and expects the same resources.
func TestExportValidatesAndRoundTrips(t *testing.T) {
	schema := serviceSchema(t)
	resources := sampleResources(t)
	exported, err := hsds.Export(resources)
	if err != nil {
		t.Fatal(err)
	}
	validateServices(t, schema, exported)

	records, err := hsds.Read(exported, "hsds")
	if err != nil {
		t.Fatal(err)
	}
	if len(records) != len(resources) {
		t.Fatalf("read %d records, want %d", len(records), len(resources))
	}
	for i, rec := range records {
		if rec.Problems != nil {
			t.Fatalf("record %d: %v", i, rec.Problems)
		}
		if rec.Row != i+1 || rec.OriginID != resources[i].ID {
			t.Errorf("record %d: row %d origin %q, want %d %q", i, rec.Row, rec.OriginID, i+1, resources[i].ID)
		}
		got := rec.Fields
		got.TargetSites = []string{"kratom-help"}
		got.Normalize()
		if err := got.Validate(""); err != nil {
			t.Errorf("record %d does not validate: %v", i, err)
		}
		if diff := cmp.Diff(resources[i].Fields, got); diff != "" {
			t.Errorf("record %d changed in the round trip (-exported +imported):\n%s", i, diff)
		}
		if rec.Verified != resources[i].Verified {
			t.Errorf("record %d: verification %+v, want %+v", i, rec.Verified, resources[i].Verified)
		}
	}

	again, err := hsds.Export(resources)
	if err != nil || string(again) != string(exported) {
		t.Errorf("a second export differs from the first (ids must be stable)")
	}
}

// TestImportOfficialExample reads the full service example shipped with the HSDS 3.0 specification.
func TestImportOfficialExample(t *testing.T) {
	raw, err := os.ReadFile("testdata/service_full.json")
	if err != nil {
		t.Fatal(err)
	}
	records, err := hsds.Read(raw, "hsds:example")
	if err != nil {
		t.Fatal(err)
	}
	if len(records) != 1 {
		t.Fatalf("%d records, want 1", len(records))
	}
	rec := records[0]
	if rec.Problems != nil {
		t.Fatalf("problems: %v", rec.Problems)
	}
	f := rec.Fields
	f.TargetSites = []string{"kratom-help"}
	f.Normalize()
	// The example's location is at latitude 100, longitude 101: out of range, and named.
	err = f.Validate("")
	if err == nil || err.Error() != "invalid request: locations[0].coordinates.latitude: must be from -90 to 90 degrees" {
		t.Fatalf("Validate = %v, want only the latitude refused", err)
	}
	f.Locations[0].Coordinates = &domain.LatLng{Lat: 51.5, Lng: -0.12}
	if err := f.Validate(""); err != nil {
		t.Fatalf("the official example with real coordinates does not validate as a resource: %v", err)
	}
	want := []domain.ExternalID{{Source: "hsds:example", ID: "ac148810-d857-441c-9679-408f346de14b"}}
	if diff := cmp.Diff(want, f.ExternalIDs); diff != "" {
		t.Errorf("external ids:\n%s", diff)
	}
	if f.DisplayName != "Community Counselling" || f.Kind != domain.KindOther || f.Status != domain.StatusActive {
		t.Errorf("name/kind/status = %q %v %v", f.DisplayName, f.Kind, f.Status)
	}
	if len(f.Phones) != 1 || f.Phones[0].Number != "+441234234567" || f.Phones[0].Extension != "100" {
		t.Errorf("phones = %+v, want one +441234234567 ext 100", f.Phones)
	}
	if f.Hours.TimeZone != "Etc/GMT-3" || len(f.Hours.Periods) != 2 || f.Hours.Periods[0].Day != time.Thursday || f.Hours.Periods[0].Opens != 10*60 {
		t.Errorf("hours = %+v, want Thursday and Friday 10:00-18:00 at UTC+3", f.Hours)
	}
	if rec.Verified.Date != (domain.Date{Year: 2005, Month: 1, Day: 1}) {
		t.Errorf("assured date = %v", rec.Verified.Date)
	}
}

func TestImportNamesBadHSDSFields(t *testing.T) {
	doc := `[{"id":"x","name":"A","status":"closed-ish",
	  "phones":[{"id":"p","number":"1","type":"pager"}],
	  "schedules":[{"id":"s","freq":"MONTHLY","byday":"1MO","opens_at":"09:00","closes_at":"10:00"},
	               {"id":"t","freq":"WEEKLY","byday":"MO","opens_at":"9am","closes_at":"10:00"}],
	  "service_at_locations":[{"id":"l","location":{"id":"m","location_type":"moon","latitude":1}}]}]`
	records, err := hsds.Read([]byte(doc), "hsds")
	if err != nil {
		t.Fatal(err)
	}
	got := records[0].Problems
	if got == nil {
		t.Fatal("no problems reported")
	}
	for _, field := range []string{"status", "phones[0].type", "schedules[0].freq", "schedules[1].opens_at", "service_at_locations[0].location.location_type", "service_at_locations[0].location.latitude"} {
		if !strings.Contains(got.Error(), field+":") {
			t.Errorf("problems %q do not name %s", got, field)
		}
	}
}

func TestDecodeForms(t *testing.T) {
	for _, doc := range []string{
		`[{"id":"a","name":"A","status":"active"}]`,
		`{"total_items":1,"contents":[{"id":"a","name":"A","status":"active"}]}`,
		`{"id":"a","name":"A","status":"active"}`,
	} {
		s, err := hsds.Decode([]byte(doc))
		if err != nil || len(s) != 1 || s[0].Name != "A" {
			t.Errorf("Decode(%s) = %v, %v", doc, s, err)
		}
	}
	if _, err := hsds.Decode([]byte(`{"id": `)); err == nil {
		t.Error("Decode accepted broken JSON")
	}
}

// TestSchemaRefusesBrokenRecords shows the schema check can fail: records missing a required
// field or with a malformed id are refused.
func TestSchemaRefusesBrokenRecords(t *testing.T) {
	schema := serviceSchema(t)
	exported, err := hsds.Export(sampleResources(t)[:1])
	if err != nil {
		t.Fatal(err)
	}
	breakers := map[string]func(m map[string]any){
		"no status":       func(m map[string]any) { delete(m, "status") },
		"bad status":      func(m map[string]any) { m["status"] = "open" },
		"phone id":        func(m map[string]any) { m["phones"].([]any)[0].(map[string]any)["id"] = "not-a-uuid" },
		"phone no number": func(m map[string]any) { delete(m["phones"].([]any)[0].(map[string]any), "number") },
		"bad url":         func(m map[string]any) { m["url"] = "not a url" },
	}
	for name, breakRecord := range breakers {
		var records []map[string]any
		if err := json.Unmarshal(exported, &records); err != nil {
			t.Fatal(err)
		}
		breakRecord(records[0])
		var generic any
		raw, _ := json.Marshal(records[0])
		_ = json.Unmarshal(raw, &generic)
		if err := schema.Validate(generic); err == nil {
			t.Errorf("%s: the schema accepted a broken record", name)
		}
	}
}
