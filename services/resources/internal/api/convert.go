// Package api is the gRPC surface of the resources service: proto <-> domain converters, the
// ResourceService server and the access policy.
package api

import (
	"context"
	"strings"
	"time"

	"google.golang.org/genproto/googleapis/type/date"
	"google.golang.org/genproto/googleapis/type/dayofweek"
	"google.golang.org/genproto/googleapis/type/latlng"
	"google.golang.org/genproto/googleapis/type/timeofday"
	"google.golang.org/protobuf/types/known/timestamppb"

	resourcesv1 "github.com/beaconcms/beacon/gen/beacon/resources/v1"
	"github.com/beaconcms/beacon/platform/apperr"
	"github.com/beaconcms/beacon/platform/auth"
	"github.com/beaconcms/beacon/platform/claimlint"
	"github.com/beaconcms/beacon/services/resources/internal/domain"
)

func principal(ctx context.Context) (auth.Principal, error) {
	p, ok := auth.FromContext(ctx)
	if !ok {
		return auth.Principal{}, apperr.New(apperr.Unauthenticated, "an API key is required")
	}
	return p, nil
}

// resourceID returns the id of "resources/{id}", naming field when the name is malformed.
func resourceID(field, name string) (string, error) {
	id, ok := strings.CutPrefix(name, "resources/")
	if !ok || !domain.ValidResourceID(id) {
		return "", apperr.InvalidField(field, "must be a resource name like resources/abc123 (got %q)", name)
	}
	return id, nil
}

// siteID returns the id of "sites/{id}".
func siteID(field, name string) (string, error) {
	id, ok := strings.CutPrefix(name, "sites/")
	if !ok || id == "" || strings.Contains(id, "/") {
		return "", apperr.InvalidField(field, "must be a site name like sites/kratom-help (got %q)", name)
	}
	return id, nil
}

// The proto enums and the domain's share their order, offset by the proto's UNSPECIFIED = 0 (a
// test checks every value), so conversion is a cast; out-of-range values fail validation.

func fromProtoFields(pr *resourcesv1.Resource) (domain.Fields, error) {
	var v apperr.Violations
	f := domain.Fields{
		DisplayName: pr.GetDisplayName(), OrganizationName: pr.GetOrganizationName(),
		Kind: domain.Kind(pr.GetKind()), TaxonomyTerms: pr.GetTaxonomyTerms(), Description: pr.GetDescription(),
		Website: pr.GetWebsite(), Email: pr.GetEmail(), Languages: pr.GetLanguages(),
		CostDescription: pr.GetCostDescription(), Eligibility: pr.GetEligibility(),
		Status: domain.Status(pr.GetStatus()), Crisis: pr.GetCrisis(), EditorNotes: pr.GetEditorNotes(),
	}
	for _, p := range pr.GetPhones() {
		f.Phones = append(f.Phones, domain.Phone{Number: p.GetNumber(), Extension: p.GetExtension(),
			Type: domain.PhoneType(p.GetType()), Description: p.GetDescription(), Languages: p.GetLanguages()})
	}
	for _, l := range pr.GetLocations() {
		a := l.GetAddress()
		loc := domain.Location{Type: domain.LocationType(l.GetType()), Name: l.GetName(), URL: l.GetUrl(),
			Address: domain.Address{Address1: a.GetAddress_1(), Address2: a.GetAddress_2(), City: a.GetCity(),
				Region: a.GetRegion(), PostalCode: a.GetPostalCode(), Country: a.GetCountry()}}
		if c := l.GetCoordinates(); c != nil {
			loc.Coordinates = &domain.LatLng{Lat: c.GetLatitude(), Lng: c.GetLongitude()}
		}
		f.Locations = append(f.Locations, loc)
	}
	if h := pr.GetHours(); h != nil {
		f.Hours = domain.Hours{TimeZone: h.GetTimeZone(), AlwaysOpen: h.GetAlwaysOpen()}
		for i, p := range h.GetPeriods() {
			field := "resource.hours.periods[" + itoa(i) + "]"
			day := p.GetDay()
			if day < dayofweek.DayOfWeek_MONDAY || day > dayofweek.DayOfWeek_SUNDAY {
				v.Add(field+".day", "is required: MONDAY to SUNDAY")
			}
			opens, ok := minuteOf(p.GetOpens(), false)
			if !ok {
				v.Add(field+".opens", "must be hours 0-23 and minutes 0-59, without seconds")
			}
			closes, ok := minuteOf(p.GetCloses(), true)
			if !ok {
				v.Add(field+".closes", "must be hours 0-24 and minutes 0-59 (24:00 at most), without seconds")
			}
			f.Hours.Periods = append(f.Hours.Periods, domain.WeeklyPeriod{Day: time.Weekday(int(day) % 7), Opens: opens, Closes: closes})
		}
		for _, c := range h.GetClosures() {
			f.Hours.Closures = append(f.Hours.Closures, domain.Closure{Date: fromProtoDate(c.GetDate()), Description: c.GetDescription()})
		}
	}
	for _, c := range pr.GetCosts() {
		f.Costs = append(f.Costs, domain.Cost(c))
	}
	for _, a := range pr.GetServiceAreas() {
		f.ServiceAreas = append(f.ServiceAreas, domain.ServiceArea{Country: a.GetCountry(), Region: a.GetRegion(), PostalCodes: a.GetPostalCodes()})
	}
	for _, e := range pr.GetExternalIds() {
		f.ExternalIDs = append(f.ExternalIDs, domain.ExternalID{Source: e.GetSource(), ID: e.GetId()})
	}
	for i, s := range pr.GetTargetSites() {
		id, err := siteID("resource.target_sites["+itoa(i)+"]", s)
		if err != nil {
			e, _ := apperr.As(err)
			v = append(v, e.Fields...)
			continue
		}
		f.TargetSites = append(f.TargetSites, id)
	}
	return f, v.Err()
}

// minuteOf converts a TimeOfDay without seconds; 24:00 only when closing.
func minuteOf(t *timeofday.TimeOfDay, closing bool) (domain.Minute, bool) {
	if t == nil || t.GetSeconds() != 0 || t.GetNanos() != 0 || t.GetMinutes() < 0 || t.GetMinutes() > 59 || t.GetHours() < 0 {
		return 0, false
	}
	m := domain.Minute(t.GetHours()*60 + t.GetMinutes())
	if m > domain.MinutesPerDay || (m == domain.MinutesPerDay && !closing) {
		return 0, false
	}
	return m, true
}

func fromProtoDate(d *date.Date) domain.Date {
	if d == nil {
		return domain.Date{}
	}
	return domain.Date{Year: int(d.GetYear()), Month: int(d.GetMonth()), Day: int(d.GetDay())}
}

func toProtoDate(d domain.Date) *date.Date {
	if d.IsZero() {
		return nil
	}
	return &date.Date{Year: int32(d.Year), Month: int32(d.Month), Day: int32(d.Day)}
}

func toProtoTime(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}

func toProtoPhones(ps []domain.Phone) []*resourcesv1.Phone {
	var out []*resourcesv1.Phone
	for _, p := range ps {
		out = append(out, &resourcesv1.Phone{Number: p.Number, Extension: p.Extension, Type: resourcesv1.Phone_Type(p.Type), Description: p.Description, Languages: p.Languages})
	}
	return out
}

func toProtoAddress(a domain.Address) *resourcesv1.Address {
	if a.IsZero() {
		return nil
	}
	return &resourcesv1.Address{Address_1: a.Address1, Address_2: a.Address2, City: a.City, Region: a.Region, PostalCode: a.PostalCode, Country: a.Country}
}

func toProtoHours(h domain.Hours) *resourcesv1.Hours {
	if h.IsZero() {
		return nil
	}
	out := &resourcesv1.Hours{TimeZone: h.TimeZone, AlwaysOpen: h.AlwaysOpen}
	for _, p := range h.Periods {
		day := dayofweek.DayOfWeek(p.Day)
		if p.Day == time.Sunday {
			day = dayofweek.DayOfWeek_SUNDAY
		}
		out.Periods = append(out.Periods, &resourcesv1.WeeklyPeriod{Day: day,
			Opens:  &timeofday.TimeOfDay{Hours: int32(p.Opens / 60), Minutes: int32(p.Opens % 60)},
			Closes: &timeofday.TimeOfDay{Hours: int32(p.Closes / 60), Minutes: int32(p.Closes % 60)}})
	}
	for _, c := range h.Closures {
		out.Closures = append(out.Closures, &resourcesv1.Closure{Date: toProtoDate(c.Date), Description: c.Description})
	}
	return out
}

func toProtoAreas(as []domain.ServiceArea) []*resourcesv1.ServiceArea {
	var out []*resourcesv1.ServiceArea
	for _, a := range as {
		out = append(out, &resourcesv1.ServiceArea{Country: a.Country, Region: a.Region, PostalCodes: a.PostalCodes})
	}
	return out
}

func toProtoCosts(cs []domain.Cost) []resourcesv1.Cost {
	var out []resourcesv1.Cost
	for _, c := range cs {
		out = append(out, resourcesv1.Cost(c))
	}
	return out
}

// resourceView is what the API adds to a stored resource: rendering and staleness.
type resourceView struct {
	html  string
	stale bool
	lint  []claimlint.Finding
}

func toProtoResource(r *domain.Resource, view resourceView) *resourcesv1.Resource {
	out := &resourcesv1.Resource{
		Name: r.Name(), DisplayName: r.DisplayName, OrganizationName: r.OrganizationName,
		Kind: resourcesv1.Kind(r.Kind), TaxonomyTerms: r.TaxonomyTerms, Description: r.Description,
		Website: r.Website, Email: r.Email, Phones: toProtoPhones(r.Phones), Hours: toProtoHours(r.Hours),
		Languages: r.Languages, Costs: toProtoCosts(r.Costs), CostDescription: r.CostDescription,
		Eligibility: r.Eligibility, ServiceAreas: toProtoAreas(r.ServiceAreas), Status: resourcesv1.Status(r.Status),
		Crisis: r.Crisis, LastVerifiedDate: toProtoDate(r.Verified.Date), Verifier: r.Verified.Verifier,
		Stale: view.stale, EditorNotes: r.EditorNotes, DescriptionHtml: view.html, Etag: r.Etag(),
		RevisionId: r.RevisionID, CreateTime: toProtoTime(r.CreateTime), UpdateTime: toProtoTime(r.UpdateTime),
		DeleteTime: toProtoTime(r.DeleteTime), Creator: r.Creator, LintFindings: toProtoLintFindings(view.lint),
	}
	for _, l := range r.Locations {
		pl := &resourcesv1.Location{Type: resourcesv1.Location_Type(l.Type), Name: l.Name, Address: toProtoAddress(l.Address), Url: l.URL}
		if l.Coordinates != nil {
			pl.Coordinates = &latlng.LatLng{Latitude: l.Coordinates.Lat, Longitude: l.Coordinates.Lng}
		}
		out.Locations = append(out.Locations, pl)
	}
	for _, e := range r.ExternalIDs {
		out.ExternalIds = append(out.ExternalIds, &resourcesv1.ExternalId{Source: e.Source, Id: e.ID})
	}
	for _, s := range r.TargetSites {
		out.TargetSites = append(out.TargetSites, "sites/"+s)
	}
	return out
}
