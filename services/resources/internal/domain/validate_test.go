package domain_test

import (
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/beaconcms/beacon/platform/apperr"
	"github.com/beaconcms/beacon/services/resources/internal/domain"
)

// validFields returns a complete, valid crisis resource.
func validFields() domain.Fields {
	return domain.Fields{
		DisplayName:      "Example Recovery Line",
		OrganizationName: "Example Org",
		Kind:             domain.KindCrisisLine,
		TaxonomyTerms:    []string{"Substance Use"},
		Description:      "Call **any time**.",
		Website:          "https://example.org/help",
		Email:            "help@example.org",
		Phones: []domain.Phone{
			{Number: "(800) 662-4357", Type: domain.PhoneVoice, Languages: []string{"en", "es"}},
			{Number: "741741", Type: domain.PhoneText},
		},
		Locations: []domain.Location{
			{Type: domain.LocationPhysical, Name: "Clinic", Address: domain.Address{Address1: "1 Main St", City: "Austin", Region: "TX", PostalCode: "78701", Country: "us"}, Coordinates: &domain.LatLng{Lat: 30.27, Lng: -97.74}},
			{Type: domain.LocationVirtual, URL: "https://example.org/chat"},
		},
		Hours: domain.Hours{
			TimeZone: "America/Chicago",
			Periods:  []domain.WeeklyPeriod{{Day: time.Monday, Opens: 9 * 60, Closes: 17 * 60}},
			Closures: []domain.Closure{{Date: domain.Date{Year: 2026, Month: 12, Day: 25}, Description: "Christmas"}},
		},
		Languages:    []string{"en", "es-mx"},
		Costs:        []domain.Cost{domain.CostFree},
		ServiceAreas: []domain.ServiceArea{{Country: "US", Region: "TX", PostalCodes: []string{"78701"}}},
		Crisis:       true,
		ExternalIDs:  []domain.ExternalID{{Source: "csv", ID: "row-1"}},
		TargetSites:  []string{"kratom-help"},
	}
}

func TestValidFieldsPass(t *testing.T) {
	f := validFields()
	f.Normalize()
	if err := f.Validate("resource."); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	if f.Phones[0].Number != "+18006624357" {
		t.Errorf("phone = %q, want E.164 +18006624357", f.Phones[0].Number)
	}
	if f.Phones[1].Number != "741741" {
		t.Errorf("short code = %q, want 741741", f.Phones[1].Number)
	}
	if f.Status != domain.StatusActive {
		t.Errorf("status = %v, want ACTIVE by default", f.Status)
	}
	if !slices.Equal(f.Languages, []string{"en", "es-MX"}) {
		t.Errorf("languages = %q, want canonical [en es-MX]", f.Languages)
	}
	if !slices.Equal(f.TaxonomyTerms, []string{"substance use"}) {
		t.Errorf("taxonomy terms = %q, want lowercased", f.TaxonomyTerms)
	}
}

func TestValidateNamesEveryBadField(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(f *domain.Fields)
		want   []string
	}{
		{"missing name", func(f *domain.Fields) { f.DisplayName = "  " }, []string{"resource.display_name"}},
		{"missing kind", func(f *domain.Fields) { f.Kind = 0 }, []string{"resource.kind"}},
		{"description too costly to render", func(f *domain.Fields) { f.Description = strings.Repeat("[a](", 4000) }, []string{"resource.description"}},
		{"javascript website", func(f *domain.Fields) { f.Website = "javascript:alert(1)" }, []string{"resource.website"}},
		{"ftp website", func(f *domain.Fields) { f.Website = "ftp://example.org/x" }, []string{"resource.website"}},
		{"bad email", func(f *domain.Fields) { f.Email = "Help <help@example.org>" }, []string{"resource.email"}},
		{"unparseable phone", func(f *domain.Fields) { f.Phones[0].Number = "call us" }, []string{"resource.phones[0].number"}},
		{"too short national number", func(f *domain.Fields) { f.Phones[0].Number = "555-12" }, []string{"resource.phones[0].number"}},
		{"invalid US number", func(f *domain.Fields) { f.Phones[0].Number = "(000) 123-4567" }, []string{"resource.phones[0].number"}},
		{"bad extension", func(f *domain.Fields) { f.Phones[0].Extension = "12a" }, []string{"resource.phones[0].extension"}},
		{"bad phone language", func(f *domain.Fields) { f.Phones[1].Languages = []string{"not a tag!"} }, []string{"resource.phones[1].languages[0]"}},
		{"latitude out of range", func(f *domain.Fields) { f.Locations[0].Coordinates.Lat = 91 }, []string{"resource.locations[0].coordinates.latitude"}},
		{"longitude out of range", func(f *domain.Fields) { f.Locations[0].Coordinates.Lng = -180.5 }, []string{"resource.locations[0].coordinates.longitude"}},
		{"NaN latitude", func(f *domain.Fields) { f.Locations[0].Coordinates.Lat = math.NaN() }, []string{"resource.locations[0].coordinates.latitude"}},
		{"physical without coordinates", func(f *domain.Fields) { f.Locations[0].Coordinates = nil }, []string{"resource.locations[0].coordinates"}},
		{"virtual with coordinates", func(f *domain.Fields) { f.Locations[1].Coordinates = &domain.LatLng{} }, []string{"resource.locations[1].coordinates"}},
		{"location without type", func(f *domain.Fields) { f.Locations[1].Type = 0 }, []string{"resource.locations[1].type"}},
		{"bad country", func(f *domain.Fields) { f.Locations[0].Address.Country = "XX" }, []string{"resource.locations[0].address.country"}},
		{"unknown zone", func(f *domain.Fields) { f.Hours.TimeZone = "Mars/Olympus" }, []string{"resource.hours.time_zone"}},
		{"Local zone", func(f *domain.Fields) { f.Hours.TimeZone = "Local" }, []string{"resource.hours.time_zone"}},
		{"periods without zone", func(f *domain.Fields) { f.Hours.TimeZone = "" }, []string{"resource.hours.time_zone"}},
		{"closes before opens", func(f *domain.Fields) { f.Hours.Periods[0].Closes = 8 * 60 }, []string{"resource.hours.periods[0].closes"}},
		{"closes after midnight", func(f *domain.Fields) { f.Hours.Periods[0].Closes = 25 * 60 }, []string{"resource.hours.periods[0].closes"}},
		{"overlapping periods", func(f *domain.Fields) {
			f.Hours.Periods = append(f.Hours.Periods, domain.WeeklyPeriod{Day: time.Monday, Opens: 16 * 60, Closes: 18 * 60})
		}, []string{"resource.hours.periods[1]"}},
		{"always open with periods", func(f *domain.Fields) { f.Hours.AlwaysOpen = true }, []string{"resource.hours.periods"}},
		{"bad closure date", func(f *domain.Fields) { f.Hours.Closures[0].Date = domain.Date{Year: 2026, Month: 2, Day: 30} }, []string{"resource.hours.closures[0].date"}},
		{"bad language", func(f *domain.Fields) { f.Languages = []string{"english!"} }, []string{"resource.languages[0]"}},
		{"bad cost", func(f *domain.Fields) { f.Costs = []domain.Cost{9} }, []string{"resource.costs[0]"}},
		{"bad area country", func(f *domain.Fields) { f.ServiceAreas[0].Country = "USA" }, []string{"resource.service_areas[0].country"}},
		{"bad area region", func(f *domain.Fields) { f.ServiceAreas[0].Region = "TEXAS" }, []string{"resource.service_areas[0].region"}},
		{"bad status", func(f *domain.Fields) { f.Status = 7 }, []string{"resource.status"}},
		{"crisis without reachable contact", func(f *domain.Fields) {
			f.Website = ""
			f.Phones = []domain.Phone{{Number: "+18005550100", Type: domain.PhoneFax}}
			f.Locations = f.Locations[:1]
		}, []string{"resource.crisis"}},
		{"bad external id source", func(f *domain.Fields) { f.ExternalIDs[0].Source = "Bad Source" }, []string{"resource.external_ids[0].source"}},
		{"no sites", func(f *domain.Fields) { f.TargetSites = nil }, []string{"resource.target_sites"}},
		{"bad site", func(f *domain.Fields) { f.TargetSites = []string{"Not_A_Site"} }, []string{"resource.target_sites[0]"}},
		{"several at once", func(f *domain.Fields) {
			f.DisplayName = ""
			f.Website = "http://"
			f.Locations[0].Coordinates.Lat = -100
		}, []string{"resource.display_name", "resource.website", "resource.locations[0].coordinates.latitude"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := validFields()
			tt.mutate(&f)
			f.Normalize()
			err := f.Validate("resource.")
			e, ok := apperr.As(err)
			if !ok || e.Code != apperr.Invalid {
				t.Fatalf("Validate = %v, want an Invalid error", err)
			}
			var got []string
			for _, fv := range e.Fields {
				got = append(got, fv.Field)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("bad fields = %q, want %q (%v)", got, tt.want, err)
			}
		})
	}
}

func TestNormalizePhone(t *testing.T) {
	tests := []struct{ in, region, want string }{
		{"1-800-662-4357", "US", "+18006624357"},
		{"+1 (800) 662-HELP", "US", "+18006624357"}, // vanity letters are read as digits
		{"555-12", "US", "555-12"},
		{"988", "US", "988"},
		{"741 741", "US", "741741"},
		{"020 7946 0018", "GB", "+442079460018"},
		{"+44 20 7946 0018", "US", "+442079460018"},
		{"116 123", "GB", "116123"},
		{"not a number", "US", "not a number"},
	}
	for _, tt := range tests {
		if got := domain.NormalizePhone(tt.in, tt.region); got != tt.want {
			t.Errorf("NormalizePhone(%q, %s) = %q, want %q", tt.in, tt.region, got, tt.want)
		}
	}
}

func TestPhoneRegionFollowsServiceArea(t *testing.T) {
	f := validFields()
	f.ServiceAreas = []domain.ServiceArea{{Country: "GB"}}
	f.Phones = []domain.Phone{{Number: "020 7946 0018"}}
	f.Normalize()
	if err := f.Validate(""); err != nil {
		t.Fatal(err)
	}
	if f.Phones[0].Number != "+442079460018" || f.Phones[0].Type != domain.PhoneVoice {
		t.Errorf("phone = %+v, want +442079460018 VOICE", f.Phones[0])
	}
}

func TestStaleAt(t *testing.T) {
	today := domain.Date{Year: 2026, Month: 12, Day: 1}
	tests := []struct {
		name      string
		verified  domain.Date
		threshold int
		want      bool
	}{
		{"never verified", domain.Date{}, 180, true},
		{"verified today", today, 180, false},
		{"exactly at the threshold", today.AddDays(-180), 180, false},
		{"one day past the threshold", today.AddDays(-181), 180, true},
		{"default threshold", today.AddDays(-181), 0, true},
		{"default threshold, fresh", today.AddDays(-179), 0, false},
		{"site threshold of 30 days", today.AddDays(-31), 30, true},
		{"across a leap day", domain.Date{Year: 2028, Month: 2, Day: 28}, 2, false},
	}
	for _, tt := range tests {
		now := today
		if tt.name == "across a leap day" {
			now = domain.Date{Year: 2028, Month: 3, Day: 1} // 28 Feb + 2 days is 1 Mar in a leap year
		}
		if got := domain.StaleAt(tt.verified, now, tt.threshold); got != tt.want {
			t.Errorf("%s: StaleAt(%s, %s, %d) = %v, want %v", tt.name, tt.verified, now, tt.threshold, got, tt.want)
		}
	}
}

func TestDirectoryValidate(t *testing.T) {
	tests := []struct {
		name string
		d    domain.DirectoryFields
		want []string
	}{
		{"entries only", domain.DirectoryFields{Title: "Crisis lines", Site: "kratom-help", Entries: []domain.DirectoryEntry{{ResourceID: "r1"}}}, nil},
		{"rule only", domain.DirectoryFields{Title: "Groups", Site: "kratom-help", Rule: &domain.DirectoryRule{Kinds: []domain.Kind{domain.KindSupportGroup}}}, nil},
		{"neither", domain.DirectoryFields{Title: "Empty", Site: "kratom-help"}, []string{"directory.entries"}},
		{"duplicate entry and bad site", domain.DirectoryFields{Title: "X", Site: "Bad Site", Entries: []domain.DirectoryEntry{{ResourceID: "r1"}, {ResourceID: "r1"}}}, []string{"directory.site", "directory.entries[1].resource"}},
		{"bad rule", domain.DirectoryFields{Title: "X", Site: "s", Rule: &domain.DirectoryRule{Kinds: []domain.Kind{42}, Region: &domain.ServiceArea{Country: "ZZ"}}}, []string{"directory.rule.kinds[0]", "directory.rule.region.country"}},
		{"intro too costly to render", domain.DirectoryFields{Title: "X", Site: "s", Intro: strings.Repeat("> ", 40), Entries: []domain.DirectoryEntry{{ResourceID: "r1"}}}, []string{"directory.intro"}},
		{"no title", domain.DirectoryFields{Site: "s", Entries: []domain.DirectoryEntry{{ResourceID: "r1"}}}, []string{"directory.title", "directory.slug"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := tt.d
			d.Normalize()
			err := d.Validate("directory.")
			var got []string
			if e, ok := apperr.As(err); ok {
				for _, fv := range e.Fields {
					got = append(got, fv.Field)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("bad fields = %q, want %q (%v)", got, tt.want, err)
			}
		})
	}
}

func TestDirectoryRuleMatches(t *testing.T) {
	res := validFields() // crisis line, "substance use", serves US/TX/78701
	res.Normalize()
	tests := []struct {
		name string
		rule domain.DirectoryRule
		want bool
	}{
		{"empty rule", domain.DirectoryRule{}, true},
		{"kind matches", domain.DirectoryRule{Kinds: []domain.Kind{domain.KindChat, domain.KindCrisisLine}}, true},
		{"kind differs", domain.DirectoryRule{Kinds: []domain.Kind{domain.KindChat}}, false},
		{"term matches", domain.DirectoryRule{TaxonomyTerms: []string{"substance use"}}, true},
		{"term differs", domain.DirectoryRule{TaxonomyTerms: []string{"housing"}}, false},
		{"region inside", domain.DirectoryRule{Region: &domain.ServiceArea{Country: "US", Region: "TX", PostalCodes: []string{"78701"}}}, true},
		{"larger region than served", domain.DirectoryRule{Region: &domain.ServiceArea{Country: "US"}}, false},
		{"other country", domain.DirectoryRule{Region: &domain.ServiceArea{Country: "CA"}}, false},
	}
	for _, tt := range tests {
		if got := tt.rule.Matches(&res); got != tt.want {
			t.Errorf("%s: Matches = %v, want %v", tt.name, got, tt.want)
		}
	}
}
