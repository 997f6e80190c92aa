package csvfile_test

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/beaconcms/beacon/services/resources/internal/csvfile"
	"github.com/beaconcms/beacon/services/resources/internal/domain"
)

const sample = `external_id,name,organization,kind,crisis,phones,website,time_zone,hours,closures,languages,costs,service_areas,address_1,city,region,postal_code,country,latitude,longitude,virtual_url,last_verified,verifier,taxonomy
988,988 Suicide & Crisis Lifeline,Vibrant Emotional Health,crisis_line,yes,"voice:988; text:988",https://988lifeline.org/,,24/7,,en; es,FREE,US,,,,,,,,https://988lifeline.org/chat/,2026-10-01,editor@example.org,crisis
clinic-1,Example Clinic (example data),Example Health,TREATMENT_PROVIDER,false,(512) 555-0100,,America/Chicago,"MO-FR 09:00-17:00; FR-SU 22:00-24:00",2026-12-25,,SLIDING_SCALE; insurance,US-TX:78701,100 Congress Ave,Austin,TX,78701,US,30.2672,-97.7431,,,,Substance Use
bad-1,Broken row,,DRAGON,maybe,pager:123,,,MO 9am-5pm,2026-02-30,,GOLD,,,,,,,north,,,yesterday,,
`

func TestRead(t *testing.T) {
	records, err := csvfile.Read(strings.NewReader(sample), "csv")
	if err != nil {
		t.Fatal(err)
	}
	if len(records) != 3 {
		t.Fatalf("%d records, want 3", len(records))
	}

	crisis := records[0]
	if crisis.Problems != nil {
		t.Fatalf("row 1: %v", crisis.Problems)
	}
	f := crisis.Fields
	f.TargetSites = []string{"kratom-help"}
	f.Normalize()
	if err := f.Validate(""); err != nil {
		t.Fatalf("row 1 does not validate: %v", err)
	}
	want := []domain.Phone{{Number: "988", Type: domain.PhoneVoice}, {Number: "988", Type: domain.PhoneText}}
	if diff := cmp.Diff(want, f.Phones); diff != "" {
		t.Errorf("phones:\n%s", diff)
	}
	if !f.Crisis || f.Kind != domain.KindCrisisLine || !f.Hours.AlwaysOpen || f.ExternalIDs[0] != (domain.ExternalID{Source: "csv", ID: "988"}) {
		t.Errorf("row 1 = %+v", f)
	}
	if crisis.Verified != (domain.Verification{Date: domain.Date{Year: 2026, Month: 10, Day: 1}, Verifier: "editor@example.org"}) {
		t.Errorf("verification = %+v", crisis.Verified)
	}

	clinic := records[1]
	if clinic.Problems != nil {
		t.Fatalf("row 2: %v", clinic.Problems)
	}
	c := clinic.Fields
	c.TargetSites = []string{"kratom-help"}
	c.Normalize()
	if err := c.Validate(""); err != nil {
		t.Fatalf("row 2 does not validate: %v", err)
	}
	if c.Phones[0].Number != "+15125550100" {
		t.Errorf("phone = %q, want +15125550100", c.Phones[0].Number)
	}
	// MO-FR 09:00-17:00 is five periods; FR-SU 22:00-24:00 wraps to Friday, Saturday and Sunday.
	if len(c.Hours.Periods) != 8 {
		t.Errorf("periods = %v, want 8", c.Hours.Periods)
	}
	if last := c.Hours.Periods[len(c.Hours.Periods)-1]; last.Day != time.Sunday || last.Closes != domain.MinutesPerDay {
		t.Errorf("last period = %+v, want Sunday until 24:00", last)
	}
	loc := c.Locations[0]
	if loc.Type != domain.LocationPhysical || loc.Coordinates == nil || loc.Coordinates.Lat != 30.2672 || loc.Address.City != "Austin" {
		t.Errorf("location = %+v", loc)
	}
	if diff := cmp.Diff([]domain.ServiceArea{{Country: "US", Region: "TX", PostalCodes: []string{"78701"}}}, c.ServiceAreas); diff != "" {
		t.Errorf("service areas:\n%s", diff)
	}
	if diff := cmp.Diff([]domain.Cost{domain.CostSlidingScale, domain.CostInsurance}, c.Costs); diff != "" {
		t.Errorf("costs:\n%s", diff)
	}

	bad := records[2]
	if bad.Row != 3 || bad.Problems == nil {
		t.Fatalf("row 3: %+v", bad)
	}
	for _, field := range []string{"kind", "crisis", "phones[0]", "hours[0]", "closures[0]", "costs[0]", "latitude", "longitude", "last_verified"} {
		if !strings.Contains(bad.Problems.Error(), field+": ") {
			t.Errorf("row 3 problems %q do not name %s", bad.Problems, field)
		}
	}
}

func TestReadRefusesBadFiles(t *testing.T) {
	tests := map[string]string{
		"empty":          "",
		"unknown column": "external_id,name,colour\n1,a,red\n",
		"repeated":       "external_id,name,name\n1,a,b\n",
		"no name":        "external_id,kind\n1,OTHER\n",
	}
	for name, doc := range tests {
		if _, err := csvfile.Read(strings.NewReader(doc), "csv"); err == nil {
			t.Errorf("%s: Read accepted the file", name)
		}
	}
}
