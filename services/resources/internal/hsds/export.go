package hsds

import (
	"encoding/json"
	"fmt"
	"net/mail"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"golang.org/x/text/language"
	"golang.org/x/text/language/display"

	"github.com/beaconcms/beacon/services/resources/internal/domain"
)

// idSpace is the UUID namespace of the ids Beacon gives HSDS records: a record's id is a version 5
// UUID of the resource id and the record's path, so exporting twice gives the same ids.
var idSpace = uuid.MustParse("6f1c5b8e-8c1e-4d8e-9a53-0b9f7d2f2c11")

func recordID(resourceID, path string) string {
	return uuid.NewSHA1(idSpace, []byte(resourceID+"/"+path)).String()
}

var weekdayCodes = [...]string{time.Sunday: "SU", time.Monday: "MO", time.Tuesday: "TU", time.Wednesday: "WE", time.Thursday: "TH", time.Friday: "FR", time.Saturday: "SA"}

var statusValues = map[domain.Status]string{
	domain.StatusActive: "active", domain.StatusTemporarilyClosed: "temporarily closed",
	domain.StatusInactive: "inactive", domain.StatusDefunct: "defunct",
}

var phoneTypeValues = map[domain.PhoneType]string{
	domain.PhoneVoice: "voice", domain.PhoneText: "text", domain.PhoneFax: "fax", domain.PhoneTTY: "textphone",
}

// Export returns resources as an HSDS 3.0 JSON array of full service records.
func Export(resources []*domain.Resource) ([]byte, error) {
	services := make([]Service, 0, len(resources))
	for _, r := range resources {
		services = append(services, FromResource(r))
	}
	return json.MarshalIndent(services, "", "  ")
}

// FromResource returns the HSDS service record of a resource.
func FromResource(r *domain.Resource) Service {
	id := func(path string) string { return recordID(r.ID, path) }
	s := Service{
		ID:                     id("service"),
		Name:                   r.DisplayName,
		Description:            r.Description,
		URL:                    r.Website,
		Email:                  r.Email,
		Status:                 statusValues[r.Status],
		FeesDescription:        r.CostDescription,
		EligibilityDescription: r.Eligibility,
		AssuredDate:            r.Verified.Date.String(),
	}
	if !r.UpdateTime.IsZero() {
		s.LastModified = r.UpdateTime.UTC().Format(time.RFC3339)
	}
	if r.OrganizationName != "" {
		s.OrganizationID = id("organization")
		s.Organization = &Organization{ID: s.OrganizationID, Name: r.OrganizationName, Description: ""}
	}
	for i, p := range r.Phones {
		s.Phones = append(s.Phones, exportPhone(p, id, fmt.Sprintf("phones/%d", i)))
	}
	s.Schedules = exportSchedules(r.Hours, id)
	for i, a := range r.ServiceAreas {
		area := ServiceArea{ID: id(fmt.Sprintf("service_areas/%d", i)), Name: areaCode(a)}
		if len(a.PostalCodes) > 0 {
			area.ExtentType = "text"
			area.Extent = strings.Join(a.PostalCodes, ",")
		}
		s.ServiceAreas = append(s.ServiceAreas, area)
	}
	for i, l := range r.Locations {
		path := fmt.Sprintf("locations/%d", i)
		loc := &Location{ID: id(path), LocationType: strings.ToLower(l.Type.String()), Name: l.Name, URL: l.URL}
		if l.Coordinates != nil {
			lat, lng := l.Coordinates.Lat, l.Coordinates.Lng
			loc.Latitude, loc.Longitude = &lat, &lng
		}
		if !l.Address.IsZero() {
			loc.Addresses = []Address{{
				ID: id(path + "/address"), Address1: l.Address.Address1, Address2: l.Address.Address2,
				City: l.Address.City, StateProvince: l.Address.Region, PostalCode: l.Address.PostalCode,
				Country: l.Address.Country, AddressType: "physical",
			}}
		}
		s.ServiceAtLocations = append(s.ServiceAtLocations, ServiceAtLocation{ID: id(path + "/service_at_location"), Location: loc})
	}
	s.Languages = exportLanguages(r.Languages, id, "languages")

	attr := func(code, value string) {
		n := len(s.Attributes)
		s.Attributes = append(s.Attributes, Attribute{
			ID: id(fmt.Sprintf("attributes/%d", n)), LinkID: s.ID, LinkType: "service", LinkEntity: "service", Value: value,
			TaxonomyTerm: &TaxonomyTerm{ID: recordID("beacon", code), Code: code, Name: code, Description: beaconTermDescriptions[code], Taxonomy: BeaconTaxonomy},
		})
	}
	attr(codeResource, r.ID)
	attr(codeKind, r.Kind.String())
	if r.Crisis {
		attr(codeCrisis, "true")
	}
	for _, c := range r.Costs {
		attr(codeCost, c.String())
	}
	if r.Hours.TimeZone != "" {
		attr(codeTimeZone, r.Hours.TimeZone)
	}
	for _, c := range r.Hours.Closures {
		value := c.Date.String()
		if c.Description != "" {
			value += " " + c.Description
		}
		attr(codeClosure, value)
	}
	for _, e := range r.ExternalIDs {
		attr(codeExternalID, e.Source+"/"+e.ID)
	}
	if v := r.Verified.Verifier; v != "" {
		if a, err := mail.ParseAddress(v); err == nil && a.Address == v {
			s.AssurerEmail = v
		} else {
			attr(codeVerifier, v)
		}
	}
	for _, t := range r.TaxonomyTerms {
		n := len(s.Attributes)
		s.Attributes = append(s.Attributes, Attribute{
			ID: id(fmt.Sprintf("attributes/%d", n)), LinkID: s.ID, LinkType: "service", LinkEntity: "service",
			TaxonomyTerm: &TaxonomyTerm{ID: recordID("term", t), Code: t, Name: t, Description: t},
		})
	}
	return s
}

var beaconTermDescriptions = map[string]string{
	codeResource:   "Beacon: id of the resource in the Beacon instance that exported it",
	codeKind:       "Beacon: kind of help (CRISIS_LINE, TEXT_LINE, CHAT, SUPPORT_GROUP, ONLINE_COMMUNITY, TREATMENT_PROVIDER, PEER_SUPPORT, APP_OR_TOOL, OTHER)",
	codeCrisis:     "Beacon: offers immediate help in a crisis",
	codeCost:       "Beacon: a way to pay (FREE, SLIDING_SCALE, INSURANCE, PAID)",
	codeTimeZone:   "Beacon: IANA time zone of the schedules' opens_at and closes_at (wall-clock times)",
	codeClosure:    "Beacon: a day closed, as an ISO 8601 date followed by an optional description",
	codeExternalID: "Beacon: an id of the service in another system, as source/id",
	codeVerifier:   "Beacon: who last verified the listing",
}

func exportPhone(p domain.Phone, id func(string) string, path string) Phone {
	out := Phone{ID: id(path), Number: p.Number, Type: phoneTypeValues[p.Type], Description: p.Description}
	if p.Extension != "" {
		ext := json.Number(p.Extension)
		out.Extension = &ext
	}
	out.Languages = exportLanguages(p.Languages, id, path+"/languages")
	return out
}

func exportLanguages(tags []string, id func(string) string, path string) []Language {
	var out []Language
	for i, tag := range tags {
		l := Language{ID: id(fmt.Sprintf("%s/%d", path, i)), Code: tag}
		if t, err := language.Parse(tag); err == nil {
			l.Name = display.English.Tags().Name(t)
		}
		out = append(out, l)
	}
	return out
}

// exportSchedules writes weekly periods as WEEKLY schedules, one per distinct opening time with
// the days that share it; always-open hours are one schedule of every day from 00:00 to 24:00.
func exportSchedules(h domain.Hours, id func(string) string) []Schedule {
	if h.AlwaysOpen {
		return []Schedule{{ID: id("schedules/0"), Freq: "WEEKLY", ByDay: "MO,TU,WE,TH,FR,SA,SU", OpensAt: "00:00", ClosesAt: "24:00", Description: "Open 24 hours a day, 7 days a week"}}
	}
	type span struct{ opens, closes domain.Minute }
	var order []span
	days := map[span][]string{}
	for _, p := range h.Periods { // normalized: Monday first, then by opening time
		k := span{p.Opens, p.Closes}
		if _, ok := days[k]; !ok {
			order = append(order, k)
		}
		days[k] = append(days[k], weekdayCodes[p.Day])
	}
	out := make([]Schedule, 0, len(order))
	for i, k := range order {
		out = append(out, Schedule{ID: id("schedules/" + strconv.Itoa(i)), Freq: "WEEKLY", ByDay: strings.Join(days[k], ","), OpensAt: k.opens.String(), ClosesAt: k.closes.String()})
	}
	return out
}

func areaCode(a domain.ServiceArea) string {
	if a.Region == "" {
		return a.Country
	}
	return a.Country + "-" + a.Region
}
