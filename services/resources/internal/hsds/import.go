package hsds

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/beaconcms/beacon/platform/apperr"
	"github.com/beaconcms/beacon/services/resources/internal/domain"
)

var (
	clockPattern  = regexp.MustCompile(`^([0-9]{1,2}):([0-9]{2})(?::([0-9]{2}))?(Z|[+-][0-9]{2}:?[0-9]{2})?$`)
	areaPattern   = regexp.MustCompile(`^([A-Za-z]{2})(?:-([A-Za-z0-9]{1,3}))?$`)
	weekdayByCode = map[string]time.Weekday{"SU": time.Sunday, "MO": time.Monday, "TU": time.Tuesday, "WE": time.Wednesday, "TH": time.Thursday, "FR": time.Friday, "SA": time.Saturday}
	statusByValue = map[string]domain.Status{"active": domain.StatusActive, "temporarily closed": domain.StatusTemporarilyClosed, "inactive": domain.StatusInactive, "defunct": domain.StatusDefunct}
)

// ToRecord reads one HSDS service record; row is its 1-based number in the file. Problems name HSDS
// fields ("phones[0].type"). A record with no Beacon attributes gets the external id
// {defaultSource, service id}; a record exported by Beacon carries its external ids as attributes.
func ToRecord(row int, s Service, defaultSource string) domain.ImportRecord {
	var v apperr.Violations
	rec := domain.ImportRecord{Row: row}
	f := &rec.Fields
	f.DisplayName = s.Name
	f.Description = s.Description
	f.Website = s.URL
	f.Email = s.Email
	f.CostDescription = s.FeesDescription
	f.Eligibility = s.EligibilityDescription
	if s.Organization != nil {
		f.OrganizationName = s.Organization.Name
	}
	if s.Status != "" {
		st, ok := statusByValue[strings.ToLower(strings.TrimSpace(s.Status))]
		if !ok {
			v.Add("status", "must be active, inactive, defunct or temporarily closed (got %q)", s.Status)
		}
		f.Status = st
	}
	if s.AssuredDate != "" {
		d, ok := domain.ParseDate(s.AssuredDate)
		if !ok {
			v.Add("assured_date", "must be an ISO 8601 date such as 2026-01-31 (got %q)", s.AssuredDate)
		}
		rec.Verified.Date = d
	}
	rec.Verified.Verifier = s.AssurerEmail

	// Phones: the service's, then those of its locations, each number once.
	seenPhones := map[string]bool{}
	addPhones := func(path string, phones []Phone) {
		for i, p := range phones {
			dp, err := importPhone(p)
			if err != "" {
				v.Add(fmt.Sprintf("%s[%d].type", path, i), "%s", err)
				continue
			}
			if key := dp.Number + "\x00" + dp.Extension + "\x00" + dp.Type.String(); !seenPhones[key] {
				seenPhones[key] = true
				f.Phones = append(f.Phones, dp)
			}
		}
	}
	addPhones("phones", s.Phones)
	for i, sal := range s.ServiceAtLocations {
		addPhones(fmt.Sprintf("service_at_locations[%d].phones", i), sal.Phones)
		if sal.Location != nil {
			addPhones(fmt.Sprintf("service_at_locations[%d].location.phones", i), sal.Location.Phones)
		}
	}
	for i, sal := range s.ServiceAtLocations {
		if sal.Location == nil {
			continue
		}
		loc, problems := importLocation(*sal.Location)
		for _, p := range problems {
			v.Add(fmt.Sprintf("service_at_locations[%d].location.%s", i, p.Field), "%s", p.Description)
		}
		f.Locations = append(f.Locations, loc)
	}
	for _, a := range s.ServiceAreas {
		m := areaPattern.FindStringSubmatch(strings.TrimSpace(a.Name))
		if m == nil {
			continue // a free-text area Beacon cannot place; left out
		}
		area := domain.ServiceArea{Country: m[1], Region: m[2]}
		if a.ExtentType == "text" && a.Extent != "" {
			area.PostalCodes = strings.Split(a.Extent, ",")
		}
		f.ServiceAreas = append(f.ServiceAreas, area)
	}
	for _, l := range s.Languages {
		if l.Code != "" {
			f.Languages = append(f.Languages, l.Code)
		}
	}

	beaconMade := false
	for i, a := range s.Attributes {
		t := a.TaxonomyTerm
		if t == nil {
			continue
		}
		if t.Taxonomy != BeaconTaxonomy {
			term := t.Code
			if term == "" {
				term = t.Name
			}
			if term != "" {
				f.TaxonomyTerms = append(f.TaxonomyTerms, term)
			}
			continue
		}
		beaconMade = true
		field := fmt.Sprintf("attributes[%d].value", i)
		switch t.Code {
		case codeResource:
			rec.OriginID = a.Value
		case codeKind:
			k, ok := domain.ParseKind(a.Value)
			if !ok {
				v.Add(field, "must be a kind: one of %s (got %q)", strings.Join(domain.KindNames(), ", "), a.Value)
			}
			f.Kind = k
		case codeCrisis:
			f.Crisis = a.Value == "true"
		case codeCost:
			c, ok := domain.ParseCost(a.Value)
			if !ok {
				v.Add(field, "must be FREE, SLIDING_SCALE, INSURANCE or PAID (got %q)", a.Value)
			}
			f.Costs = append(f.Costs, c)
		case codeTimeZone:
			f.Hours.TimeZone = a.Value
		case codeClosure:
			date, desc, _ := strings.Cut(a.Value, " ")
			d, ok := domain.ParseDate(date)
			if !ok {
				v.Add(field, "must be an ISO 8601 date, optionally followed by a space and a description (got %q)", a.Value)
			}
			f.Hours.Closures = append(f.Hours.Closures, domain.Closure{Date: d, Description: desc})
		case codeExternalID:
			src, id, ok := strings.Cut(a.Value, "/")
			if !ok {
				v.Add(field, "must be source/id (got %q)", a.Value)
			}
			f.ExternalIDs = append(f.ExternalIDs, domain.ExternalID{Source: src, ID: id})
		case codeVerifier:
			rec.Verified.Verifier = a.Value
		}
	}
	if !beaconMade && s.ID != "" {
		f.ExternalIDs = []domain.ExternalID{{Source: defaultSource, ID: s.ID}}
	}
	if f.Kind == 0 {
		f.Kind = domain.KindOther
	}

	schedules, path := s.Schedules, "schedules"
	if len(schedules) == 0 {
		for i, sal := range s.ServiceAtLocations {
			if len(sal.Schedules) > 0 {
				schedules, path = sal.Schedules, fmt.Sprintf("service_at_locations[%d].schedules", i)
				break
			}
		}
	}
	importSchedules(&v, path, schedules, &f.Hours)
	rec.Problems = v.Err()
	return rec
}

func importPhone(p Phone) (domain.Phone, string) {
	out := domain.Phone{Number: strings.Trim(strings.TrimSpace(p.Number), `"`), Description: p.Description}
	if p.Extension != nil {
		out.Extension = p.Extension.String()
	}
	switch strings.ToLower(strings.TrimSpace(p.Type)) {
	case "", "voice", "cell":
		out.Type = domain.PhoneVoice
	case "text", "sms":
		out.Type = domain.PhoneText
	case "fax":
		out.Type = domain.PhoneFax
	case "textphone", "tty":
		out.Type = domain.PhoneTTY
	default:
		return out, fmt.Sprintf("must be voice, cell, text, fax or textphone (got %q)", p.Type)
	}
	for _, l := range p.Languages {
		if l.Code != "" {
			out.Languages = append(out.Languages, l.Code)
		}
	}
	return out, ""
}

func importLocation(l Location) (domain.Location, apperr.Violations) {
	var v apperr.Violations
	out := domain.Location{Name: l.Name, URL: l.URL}
	switch strings.ToLower(l.LocationType) {
	case "physical", "postal":
		out.Type = domain.LocationPhysical
	case "virtual":
		out.Type = domain.LocationVirtual
	default:
		v.Add("location_type", "must be physical, postal or virtual (got %q)", l.LocationType)
	}
	if l.Latitude != nil && l.Longitude != nil {
		out.Coordinates = &domain.LatLng{Lat: *l.Latitude, Lng: *l.Longitude}
	} else if (l.Latitude == nil) != (l.Longitude == nil) {
		v.Add("latitude", "latitude and longitude must be given together")
	}
	if len(l.Addresses) > 0 {
		a := l.Addresses[0]
		for _, cand := range l.Addresses { // prefer the physical address
			if cand.AddressType == "physical" {
				a = cand
				break
			}
		}
		out.Address = domain.Address{Address1: a.Address1, Address2: a.Address2, City: a.City, Region: a.StateProvince, PostalCode: a.PostalCode, Country: a.Country}
	}
	return out, v
}

// importSchedules turns WEEKLY schedules into weekly periods. opens_at and closes_at are wall-clock
// times in the Beacon time_zone attribute's zone; without one, a schedule's UTC offset (its
// timezone field or an offset suffix of opens_at) gives a fixed zone such as Etc/GMT+5. A schedule
// of all seven days from 00:00 to 24:00 is always-open hours.
func importSchedules(v *apperr.Violations, path string, schedules []Schedule, h *domain.Hours) {
	for i, s := range schedules {
		field := fmt.Sprintf("%s[%d]", path, i)
		if s.OpensAt == "" && s.ClosesAt == "" && s.ByDay == "" {
			continue // a description-only schedule
		}
		if f := strings.ToUpper(s.Freq); f != "" && f != "WEEKLY" {
			v.Add(field+".freq", "only WEEKLY schedules can be imported (got %q)", s.Freq)
			continue
		}
		opens, offOpen, ok := parseClock(s.OpensAt, false)
		if !ok {
			v.Add(field+".opens_at", "must be a time such as 09:00 or 09:00-05:00 (got %q)", s.OpensAt)
			continue
		}
		closes, _, ok := parseClock(s.ClosesAt, true)
		if !ok {
			v.Add(field+".closes_at", "must be a time such as 17:00 or 24:00 (got %q)", s.ClosesAt)
			continue
		}
		if h.TimeZone == "" {
			number := ""
			if s.Timezone != nil {
				number = s.Timezone.String()
			}
			zone, ok := fixedZone(number, offOpen)
			switch {
			case !ok:
				v.Add(field+".timezone", "must be a whole-hour UTC offset from -12 to 14")
				continue
			case zone != "":
				h.TimeZone = zone
			}
		}
		days := strings.Split(strings.ToUpper(strings.ReplaceAll(s.ByDay, " ", "")), ",")
		if s.ByDay == "" {
			v.Add(field+".byday", "is required for a weekly schedule, e.g. MO,TU,WE")
			continue
		}
		if len(days) == 7 && opens == 0 && closes == domain.MinutesPerDay {
			h.AlwaysOpen = true
			continue
		}
		for _, code := range days {
			d, ok := weekdayByCode[code]
			if !ok {
				v.Add(field+".byday", "must list days as MO,TU,WE,TH,FR,SA,SU (got %q)", s.ByDay)
				break
			}
			h.Periods = append(h.Periods, domain.WeeklyPeriod{Day: d, Opens: opens, Closes: closes})
		}
	}
	if h.AlwaysOpen {
		h.Periods = nil // other periods are within 24/7
	}
}

// parseClock reads "HH:MM", "HH:MM:SS", optionally followed by "Z" or "+HH:MM"; it returns the
// minute of the day and the offset suffix ("" when none). 24:00 is accepted only as a closing time.
func parseClock(s string, closing bool) (domain.Minute, string, bool) {
	m := clockPattern.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		return 0, "", false
	}
	hh, _ := strconv.Atoi(m[1])
	mm, _ := strconv.Atoi(m[2])
	minute := domain.Minute(hh*60 + mm)
	if mm > 59 || minute > domain.MinutesPerDay || (minute == domain.MinutesPerDay && !closing) {
		return 0, "", false
	}
	return minute, m[4], true
}

// fixedZone returns the IANA Etc zone of a whole-hour UTC offset given as HSDS's timezone number or
// as a clock suffix ("Z", "-05:00"); "" and true when neither is given.
func fixedZone(number, suffix string) (string, bool) {
	hours := 0
	switch {
	case number != "":
		f, err := strconv.ParseFloat(number, 64)
		if err != nil || f != float64(int(f)) {
			return "", false
		}
		hours = int(f)
	case suffix == "Z":
		return "Etc/UTC", true
	case suffix != "":
		sign := 1
		if suffix[0] == '-' {
			sign = -1
		}
		digits := strings.ReplaceAll(suffix[1:], ":", "")
		h, _ := strconv.Atoi(digits[:2])
		if digits[2:] != "00" {
			return "", false
		}
		hours = sign * h
	default:
		return "", true
	}
	if hours < -12 || hours > 14 {
		return "", false
	}
	if hours == 0 {
		return "Etc/UTC", true
	}
	// Etc zones have POSIX signs: UTC-5 is Etc/GMT+5.
	if hours < 0 {
		return "Etc/GMT+" + strconv.Itoa(-hours), true
	}
	return "Etc/GMT-" + strconv.Itoa(hours), true
}
