// Package csvfile reads resources from a CSV file: UTF-8, comma-separated, with a header row naming
// the columns below in any order. Only external_id and name are required; an empty cell leaves the
// field empty. Lists inside a cell are separated by ";".
//
//	external_id     the resource's id in your system (with the import's source, the key of the row)
//	name            display name
//	organization    organization name
//	kind            CRISIS_LINE, TEXT_LINE, CHAT, SUPPORT_GROUP, ONLINE_COMMUNITY, TREATMENT_PROVIDER,
//	                PEER_SUPPORT, APP_OR_TOOL or OTHER (default OTHER)
//	status          ACTIVE, TEMPORARILY_CLOSED, INACTIVE or DEFUNCT (default ACTIVE)
//	crisis          true or false
//	taxonomy        taxonomy terms
//	description     Markdown
//	website         http(s) URL
//	email           email address
//	phones          numbers, each optionally prefixed by its type: "voice:1-800-662-4357; text:741741;
//	                tty:+1 800 799 4889" (types voice, text, fax, tty; default voice)
//	address_1, address_2, city, region, postal_code, country
//	latitude, longitude   decimal degrees; with an address they make a physical location
//	virtual_url     URL of an online location (a virtual location)
//	time_zone       IANA zone of the hours, e.g. America/Chicago
//	hours           "24/7", or periods "MO-FR 09:00-17:00; SA 10:00-14:00" (days MO TU WE TH FR SA SU,
//	                as a range or a comma list; 24:00 closes at midnight)
//	closures        ISO dates closed, e.g. "2026-12-25; 2027-01-01"
//	languages       BCP 47 tags, e.g. "en; es"
//	costs           FREE, SLIDING_SCALE, INSURANCE, PAID
//	cost_description, eligibility
//	service_areas   ISO 3166 codes with optional postal codes: "US; US-TX; US-TX:78701,78702"
//	last_verified   ISO date the listing was last checked
//	verifier        who checked it
package csvfile

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/beaconcms/beacon/platform/apperr"
	"github.com/beaconcms/beacon/services/resources/internal/domain"
)

// Columns lists every column the reader knows, in documentation order.
var Columns = []string{
	"external_id", "name", "organization", "kind", "status", "crisis", "taxonomy", "description",
	"website", "email", "phones", "address_1", "address_2", "city", "region", "postal_code", "country",
	"latitude", "longitude", "virtual_url", "time_zone", "hours", "closures", "languages", "costs",
	"cost_description", "eligibility", "service_areas", "last_verified", "verifier",
}

var (
	periodPattern = regexp.MustCompile(`^([A-Za-z, -]+?)\s+([0-9]{1,2}:[0-9]{2})\s*-\s*([0-9]{1,2}:[0-9]{2})$`)
	weekdayCodes  = []string{"MO", "TU", "WE", "TH", "FR", "SA", "SU"}
	weekdays      = []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday, time.Saturday, time.Sunday}
	phoneTypes    = map[string]domain.PhoneType{"voice": domain.PhoneVoice, "text": domain.PhoneText, "sms": domain.PhoneText, "fax": domain.PhoneFax, "tty": domain.PhoneTTY}
)

// Read reads a CSV file into import records, one per data line, with the external id source
// source. An error is returned only when the file as a whole cannot be read (not CSV, no header,
// an unknown or repeated column, a required column missing); a bad row is a record with Problems.
func Read(r io.Reader, source string) ([]domain.ImportRecord, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	header, err := cr.Read()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("the file is empty: it needs a header row")
		}
		return nil, fmt.Errorf("reading the header row: %w", err)
	}
	index := map[string]int{}
	for i, name := range header {
		name = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(name, "\ufeff")))
		if !slices.Contains(Columns, name) {
			return nil, fmt.Errorf("unknown column %q (known columns: %s)", name, strings.Join(Columns, ", "))
		}
		if _, dup := index[name]; dup {
			return nil, fmt.Errorf("column %q appears twice", name)
		}
		index[name] = i
	}
	for _, required := range []string{"external_id", "name"} {
		if _, ok := index[required]; !ok {
			return nil, fmt.Errorf("the header has no %q column", required)
		}
	}
	var out []domain.ImportRecord
	for row := 1; ; row++ {
		cells, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				out = append(out, domain.ImportRecord{Row: row, Problems: apperr.InvalidField("row", "is not valid CSV: %v", pe.Err)})
				continue
			}
			return nil, err
		}
		get := func(col string) string {
			if i, ok := index[col]; ok && i < len(cells) {
				return strings.TrimSpace(cells[i])
			}
			return ""
		}
		out = append(out, readRow(row, get, source))
	}
}

func list(cell string) []string {
	if cell == "" {
		return nil
	}
	var out []string
	for _, part := range strings.Split(cell, ";") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}

func readRow(row int, get func(string) string, source string) domain.ImportRecord {
	var v apperr.Violations
	rec := domain.ImportRecord{Row: row}
	f := &rec.Fields
	f.ExternalIDs = []domain.ExternalID{{Source: source, ID: get("external_id")}}
	if get("external_id") == "" {
		v.Add("external_id", "is required")
	}
	f.DisplayName = get("name")
	f.OrganizationName = get("organization")
	f.Kind = domain.KindOther
	if k := get("kind"); k != "" {
		kind, ok := domain.ParseKind(strings.ToUpper(k))
		if !ok {
			v.Add("kind", "must be one of %s (got %q)", strings.Join(domain.KindNames(), ", "), k)
		}
		f.Kind = kind
	}
	if s := get("status"); s != "" {
		st, ok := domain.ParseStatus(strings.ToUpper(strings.ReplaceAll(s, " ", "_")))
		if !ok {
			v.Add("status", "must be one of %s (got %q)", strings.Join(domain.StatusNames(), ", "), s)
		}
		f.Status = st
	}
	if c := get("crisis"); c != "" {
		b, err := strconv.ParseBool(strings.ToLower(c))
		if err != nil {
			switch strings.ToLower(c) {
			case "yes", "y":
				b, err = true, nil
			case "no", "n":
				b, err = false, nil
			}
		}
		if err != nil {
			v.Add("crisis", "must be true or false (got %q)", c)
		}
		f.Crisis = b
	}
	f.TaxonomyTerms = list(get("taxonomy"))
	f.Description = get("description")
	f.Website = get("website")
	f.Email = get("email")
	for i, p := range list(get("phones")) {
		phone := domain.Phone{Number: p, Type: domain.PhoneVoice}
		if typ, number, ok := strings.Cut(p, ":"); ok && !strings.ContainsAny(typ, "+0123456789") {
			t, known := phoneTypes[strings.ToLower(strings.TrimSpace(typ))]
			if !known {
				v.Add(fmt.Sprintf("phones[%d]", i), "type must be voice, text, fax or tty (got %q)", typ)
			}
			phone.Type, phone.Number = t, strings.TrimSpace(number)
		}
		f.Phones = append(f.Phones, phone)
	}
	addr := domain.Address{Address1: get("address_1"), Address2: get("address_2"), City: get("city"), Region: get("region"), PostalCode: get("postal_code"), Country: get("country")}
	lat, lng := get("latitude"), get("longitude")
	if lat != "" || lng != "" || !addr.IsZero() {
		loc := domain.Location{Type: domain.LocationPhysical, Address: addr}
		if lat != "" || lng != "" {
			la, errLat := strconv.ParseFloat(lat, 64)
			lo, errLng := strconv.ParseFloat(lng, 64)
			if errLat != nil {
				v.Add("latitude", "must be a decimal number of degrees (got %q)", lat)
			}
			if errLng != nil {
				v.Add("longitude", "must be a decimal number of degrees (got %q)", lng)
			}
			loc.Coordinates = &domain.LatLng{Lat: la, Lng: lo}
		}
		f.Locations = append(f.Locations, loc)
	}
	if u := get("virtual_url"); u != "" {
		f.Locations = append(f.Locations, domain.Location{Type: domain.LocationVirtual, URL: u})
	}
	f.Hours.TimeZone = get("time_zone")
	readHours(&v, get("hours"), &f.Hours)
	for i, d := range list(get("closures")) {
		date, ok := domain.ParseDate(d)
		if !ok {
			v.Add(fmt.Sprintf("closures[%d]", i), "must be an ISO 8601 date such as 2026-12-25 (got %q)", d)
		}
		f.Hours.Closures = append(f.Hours.Closures, domain.Closure{Date: date})
	}
	f.Languages = list(get("languages"))
	for i, c := range list(get("costs")) {
		cost, ok := domain.ParseCost(strings.ToUpper(strings.ReplaceAll(c, " ", "_")))
		if !ok {
			v.Add(fmt.Sprintf("costs[%d]", i), "must be FREE, SLIDING_SCALE, INSURANCE or PAID (got %q)", c)
		}
		f.Costs = append(f.Costs, cost)
	}
	f.CostDescription = get("cost_description")
	f.Eligibility = get("eligibility")
	for _, a := range list(get("service_areas")) {
		code, postal, _ := strings.Cut(a, ":")
		country, region, _ := strings.Cut(strings.TrimSpace(code), "-")
		area := domain.ServiceArea{Country: country, Region: region}
		if postal != "" {
			area.PostalCodes = strings.Split(postal, ",")
		}
		f.ServiceAreas = append(f.ServiceAreas, area)
	}
	if d := get("last_verified"); d != "" {
		date, ok := domain.ParseDate(d)
		if !ok {
			v.Add("last_verified", "must be an ISO 8601 date such as 2026-10-01 (got %q)", d)
		}
		rec.Verified.Date = date
	}
	rec.Verified.Verifier = get("verifier")
	rec.Problems = v.Err()
	return rec
}

// readHours reads "24/7" or periods such as "MO-FR 09:00-17:00; SA 10:00-14:00".
func readHours(v *apperr.Violations, cell string, h *domain.Hours) {
	if cell == "" {
		return
	}
	if strings.EqualFold(strings.ReplaceAll(cell, " ", ""), "24/7") {
		h.AlwaysOpen = true
		return
	}
	for i, part := range list(cell) {
		field := fmt.Sprintf("hours[%d]", i)
		m := periodPattern.FindStringSubmatch(part)
		if m == nil {
			v.Add(field, "must be days and times such as \"MO-FR 09:00-17:00\" (got %q)", part)
			continue
		}
		days, ok := parseDays(m[1])
		opens, okOpen := parseClock(m[2])
		closes, okClose := parseClock(m[3])
		if !ok || !okOpen || !okClose {
			v.Add(field, "must be days (MO TU WE TH FR SA SU, a range or a comma list) and times from 00:00 to 24:00 (got %q)", part)
			continue
		}
		for _, d := range days {
			h.Periods = append(h.Periods, domain.WeeklyPeriod{Day: d, Opens: opens, Closes: closes})
		}
	}
}

func parseClock(s string) (domain.Minute, bool) {
	hh, mm, _ := strings.Cut(s, ":")
	h, err1 := strconv.Atoi(hh)
	m, err2 := strconv.Atoi(mm)
	if err1 != nil || err2 != nil || m > 59 || h*60+m > int(domain.MinutesPerDay) {
		return 0, false
	}
	return domain.Minute(h*60 + m), true
}

func parseDays(s string) ([]time.Weekday, bool) {
	var out []time.Weekday
	for _, part := range strings.Split(strings.ToUpper(strings.ReplaceAll(s, " ", "")), ",") {
		from, to, isRange := strings.Cut(part, "-")
		i, j := slices.Index(weekdayCodes, from), slices.Index(weekdayCodes, to)
		switch {
		case i < 0:
			return nil, false
		case !isRange:
			out = append(out, weekdays[i])
		case j < 0:
			return nil, false
		default:
			for k := i; ; k = (k + 1) % 7 { // "FR-MO" wraps over the weekend
				out = append(out, weekdays[k])
				if k == j {
					break
				}
			}
		}
	}
	return out, true
}
