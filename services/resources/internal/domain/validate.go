package domain

import (
	"fmt"
	"math"
	"net/mail"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"
	"unique"

	"github.com/nyaruka/phonenumbers"
	"golang.org/x/text/language"

	"github.com/beaconcms/beacon/platform/apperr"
	"github.com/beaconcms/beacon/platform/markdown"
	"github.com/beaconcms/beacon/platform/slug"
	"github.com/beaconcms/beacon/platform/weburl"
)

// Limits on resource fields. Requests are capped at 1 MiB before they reach the domain.
const (
	maxName         = 200
	maxDescription  = 64 << 10
	maxTerms        = 30
	maxTermLen      = 100
	maxPhones       = 20
	maxLocations    = 50
	maxPeriods      = 70
	maxClosures     = 366
	maxLanguages    = 50
	maxAreas        = 100
	maxPostalCodes  = 500
	maxExternalIDs  = 20
	maxTargetSites  = 20
	maxEditorNotes  = 10000
	maxShortText    = 200
	maxLongText     = 2000
	defaultPhoneCC  = "US"
	maxEmailLength  = 254
	maxExtensionLen = 10
)

var (
	digitsPattern       = regexp.MustCompile(`^[0-9]+$`)
	shortCodePattern    = regexp.MustCompile(`^[0-9]{3,6}$`)
	e164Pattern         = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)
	sourcePattern       = regexp.MustCompile(`^[a-z0-9][a-z0-9:._-]{0,63}$`)
	countryPattern      = regexp.MustCompile(`^[A-Z]{2}$`)
	subdivisionPattern  = regexp.MustCompile(`^[A-Z0-9]{1,3}$`)
	postalCodePattern   = regexp.MustCompile(`^[A-Z0-9][A-Z0-9 -]{0,11}$`)
	phoneFormattingRune = strings.NewReplacer(" ", "", "-", "", ".", "", "(", "", ")", "", "\u00a0", "")
)

type violations struct{ apperr.Violations }

func (v *violations) add(field, format string, args ...any) { v.Add(field, format, args...) }

// text checks that s is valid UTF-8 without control characters and min to max characters long.
func (v *violations) text(field, s string, min, max int) { v.textLines(field, s, min, max, false) }

func (v *violations) textLines(field, s string, min, max int, multiline bool) {
	n := utf8.RuneCountInString(s)
	switch {
	case !utf8.ValidString(s):
		v.add(field, "must be valid UTF-8")
	case min > 0 && strings.TrimSpace(s) == "":
		v.add(field, "is required")
	case n < min:
		v.add(field, "must be at least %d characters", min)
	case n > max:
		v.add(field, "must be at most %d characters", max)
	case hasControl(s, multiline):
		v.add(field, "must not contain control characters")
	}
}

func hasControl(s string, multiline bool) bool {
	for _, r := range s {
		if r == '\n' || r == '\t' || r == '\r' {
			if multiline {
				continue
			}
			return true
		}
		if r < 0x20 || r == 0x7f {
			return true
		}
	}
	return false
}

// optionalURL checks a URL field that may be empty with the one URL rule (platform/weburl).
func (v *violations) optionalURL(field, s string) {
	if s == "" {
		return
	}
	if err := weburl.CheckAbsolute(s); err != nil {
		v.add(field, "%s", err)
	}
}

func (v *violations) languages(field string, tags []string) {
	if len(tags) > maxLanguages {
		v.add(field, "must have at most %d entries", maxLanguages)
	}
	for i, t := range tags {
		if _, err := language.Parse(t); err != nil || t == "" {
			v.add(fmt.Sprintf("%s[%d]", field, i), "must be a BCP 47 language tag such as \"en\" or \"es-MX\" (got %q)", t)
		}
	}
}

// Normalize puts fields into canonical form before validation. It never fails: anything it cannot
// normalize is left for Validate to name. It trims names, lowercases taxonomy terms, canonicalizes
// language tags and codes, formats phone numbers as E.164 (for the country of the first service
// area or physical address, else US), orders opening periods (seven all-day periods become AlwaysOpen), defaults the status to active and a
// phone's type to voice, and removes duplicates from lists whose order carries no meaning.
func (f *Fields) Normalize() {
	f.DisplayName = strings.TrimSpace(f.DisplayName)
	f.OrganizationName = strings.TrimSpace(f.OrganizationName)
	f.TaxonomyTerms = dedupe(f.TaxonomyTerms, func(s string) string {
		return canonical(strings.ToLower(strings.Join(strings.Fields(s), " ")))
	})
	f.Website = strings.TrimSpace(f.Website)
	f.Email = strings.TrimSpace(f.Email)
	f.Languages = dedupe(f.Languages, func(s string) string { return canonical(canonicalLanguage(s)) })
	f.Costs = dedupe(f.Costs, func(c Cost) Cost { return c })
	f.CostDescription = strings.TrimSpace(f.CostDescription)
	f.Eligibility = strings.TrimSpace(f.Eligibility)
	if f.Status == 0 {
		f.Status = StatusActive
	}
	for i := range f.ServiceAreas {
		a := &f.ServiceAreas[i]
		a.Country = strings.ToUpper(strings.TrimSpace(a.Country))
		a.Region = strings.ToUpper(strings.TrimSpace(a.Region))
		a.PostalCodes = dedupe(a.PostalCodes, func(s string) string { return strings.ToUpper(strings.TrimSpace(s)) })
	}
	for i := range f.Locations {
		l := &f.Locations[i]
		l.Name = strings.TrimSpace(l.Name)
		l.URL = strings.TrimSpace(l.URL)
		l.Address.Country = canonical(strings.ToUpper(strings.TrimSpace(l.Address.Country)))
		l.Address.Region = strings.TrimSpace(l.Address.Region)
		l.Address.PostalCode = strings.TrimSpace(l.Address.PostalCode)
	}
	region := f.phoneRegion()
	for i := range f.Phones {
		p := &f.Phones[i]
		if p.Type == 0 {
			p.Type = PhoneVoice
		}
		p.Number = NormalizePhone(p.Number, region)
		p.Extension = strings.TrimSpace(p.Extension)
		p.Description = strings.TrimSpace(p.Description)
		p.Languages = dedupe(p.Languages, func(s string) string { return canonical(canonicalLanguage(s)) })
	}
	if allDayEveryDay(f.Hours.Periods) {
		f.Hours.AlwaysOpen, f.Hours.Periods = true, nil
	}
	sortPeriods(f.Hours.Periods)
	slices.SortStableFunc(f.Hours.Closures, func(a, b Closure) int {
		switch {
		case a.Date.Before(b.Date):
			return -1
		case b.Date.Before(a.Date):
			return 1
		}
		return 0
	})
	for i := range f.ExternalIDs {
		f.ExternalIDs[i].Source = strings.ToLower(strings.TrimSpace(f.ExternalIDs[i].Source))
		f.ExternalIDs[i].ID = strings.TrimSpace(f.ExternalIDs[i].ID)
	}
	f.TargetSites = dedupe(f.TargetSites, func(s string) string { return canonical(strings.TrimSpace(s)) })
	f.Hours.TimeZone = canonical(f.Hours.TimeZone)
	f.Phones = nilIfEmpty(f.Phones)
	f.Locations = nilIfEmpty(f.Locations)
	f.ServiceAreas = nilIfEmpty(f.ServiceAreas)
	f.ExternalIDs = nilIfEmpty(f.ExternalIDs)
	f.Hours.Periods = nilIfEmpty(f.Hours.Periods)
	f.Hours.Closures = nilIfEmpty(f.Hours.Closures)
}

// canonical returns the one shared copy of s: the few distinct values of site ids, languages,
// taxonomy terms, time zones and countries are then held once by all the resources in memory.
func canonical(s string) string { return unique.Make(s).Value() }

func nilIfEmpty[T any](xs []T) []T {
	if len(xs) == 0 {
		return nil
	}
	return xs
}

// allDayEveryDay reports whether periods are exactly 00:00-24:00 on each of the seven days, which
// is 24/7 written the long way.
func allDayEveryDay(ps []WeeklyPeriod) bool {
	if len(ps) != 7 {
		return false
	}
	var days [7]bool
	for _, p := range ps {
		if p.Opens != 0 || p.Closes != MinutesPerDay || p.Day < 0 || p.Day > 6 || days[p.Day] {
			return false
		}
		days[p.Day] = true
	}
	return true
}

// phoneRegion is the country whose national numbering plan a number without "+" is read in.
func (f *Fields) phoneRegion() string {
	for _, a := range f.ServiceAreas {
		if countryPattern.MatchString(a.Country) {
			return a.Country
		}
	}
	for _, l := range f.Locations {
		if countryPattern.MatchString(l.Address.Country) {
			return l.Address.Country
		}
	}
	return defaultPhoneCC
}

// NormalizePhone returns number in E.164 form when it is a valid number (international with "+",
// or national in region; vanity letters such as 1-800-662-HELP are read as their digits); the bare
// digits of a short code such as "988" or "741741"; and number
// unchanged otherwise (Validate then refuses it).
func NormalizePhone(number, region string) string {
	trimmed := strings.TrimSpace(number)
	compact := phoneFormattingRune.Replace(trimmed)
	if shortCodePattern.MatchString(compact) && shortCodePattern.MatchString(strings.ReplaceAll(trimmed, " ", "")) {
		return compact // "988", "741 741"; not "555-12"
	}
	parsed, err := phonenumbers.Parse(trimmed, region)
	if err != nil || !phonenumbers.IsValidNumber(parsed) {
		return trimmed
	}
	return phonenumbers.Format(parsed, phonenumbers.E164)
}

func canonicalLanguage(s string) string {
	s = strings.TrimSpace(s)
	if t, err := language.Parse(s); err == nil {
		return t.String()
	}
	return s
}

// dedupe applies norm to every element and drops empty values and repeats, keeping the order.
func dedupe[T comparable](in []T, norm func(T) T) []T {
	if in == nil {
		return nil
	}
	var zero T
	out := make([]T, 0, len(in))
	seen := make(map[T]bool, len(in))
	for _, x := range in {
		x = norm(x)
		if x == zero || seen[x] {
			continue
		}
		seen[x] = true
		out = append(out, x)
	}
	if len(out) == 0 {
		return nil // empty lists are nil, so equal fields compare equal
	}
	return out
}

// Validate checks every field of normalized fields and names each bad one with prefix (e.g.
// "resource.").
func (f *Fields) Validate(prefix string) error {
	var v violations
	v.text(prefix+"display_name", f.DisplayName, 1, maxName)
	v.text(prefix+"organization_name", f.OrganizationName, 0, maxName)
	if !f.Kind.Valid() {
		v.add(prefix+"kind", "is required: one of %s", strings.Join(KindNames(), ", "))
	}
	if len(f.TaxonomyTerms) > maxTerms {
		v.add(prefix+"taxonomy_terms", "must have at most %d entries", maxTerms)
	}
	for i, t := range f.TaxonomyTerms {
		v.text(fmt.Sprintf("%staxonomy_terms[%d]", prefix, i), t, 1, maxTermLen)
	}
	switch {
	case len(f.Description) > maxDescription:
		v.add(prefix+"description", "must be at most %d bytes", maxDescription)
	case !utf8.ValidString(f.Description):
		v.add(prefix+"description", "must be valid UTF-8")
	case strings.ContainsRune(f.Description, 0):
		v.add(prefix+"description", "must not contain NUL characters")
	default:
		if err := markdown.CheckComplexity(f.Description); err != nil {
			v.add(prefix+"description", "is too complex to render: %v", err)
		}
	}
	v.optionalURL(prefix+"website", f.Website)
	if f.Email != "" {
		if a, err := mail.ParseAddress(f.Email); err != nil || a.Address != f.Email || len(f.Email) > maxEmailLength {
			v.add(prefix+"email", "must be an email address such as help@example.org")
		}
	}
	if len(f.Phones) > maxPhones {
		v.add(prefix+"phones", "must have at most %d entries", maxPhones)
	}
	for i, p := range f.Phones {
		field := fmt.Sprintf("%sphones[%d]", prefix, i)
		switch {
		case p.Number == "":
			v.add(field+".number", "is required")
		case !e164Pattern.MatchString(p.Number) && !shortCodePattern.MatchString(p.Number):
			v.add(field+".number", "must be a valid phone number, international (+44 20 7946 0000) or national for the resource's country (%s), or a 3 to 6 digit short code (got %q)", f.phoneRegion(), p.Number)
		}
		if p.Extension != "" && (!digitsPattern.MatchString(p.Extension) || len(p.Extension) > maxExtensionLen) {
			v.add(field+".extension", "must be at most %d digits", maxExtensionLen)
		}
		if !p.Type.Valid() {
			v.add(field+".type", "must be VOICE, TEXT, FAX or TTY")
		}
		v.text(field+".description", p.Description, 0, maxShortText)
		v.languages(field+".languages", p.Languages)
	}
	if len(f.Locations) > maxLocations {
		v.add(prefix+"locations", "must have at most %d entries", maxLocations)
	}
	for i, l := range f.Locations {
		v.location(fmt.Sprintf("%slocations[%d]", prefix, i), l)
	}
	v.hours(prefix+"hours.", f.Hours)
	v.languages(prefix+"languages", f.Languages)
	for i, c := range f.Costs {
		if !c.Valid() {
			v.add(fmt.Sprintf("%scosts[%d]", prefix, i), "must be FREE, SLIDING_SCALE, INSURANCE or PAID")
		}
	}
	v.textLines(prefix+"cost_description", f.CostDescription, 0, maxLongText, true)
	v.textLines(prefix+"eligibility", f.Eligibility, 0, maxLongText, true)
	if len(f.ServiceAreas) > maxAreas {
		v.add(prefix+"service_areas", "must have at most %d entries", maxAreas)
	}
	for i, a := range f.ServiceAreas {
		v.serviceArea(fmt.Sprintf("%sservice_areas[%d]", prefix, i), a)
	}
	if !f.Status.Valid() {
		v.add(prefix+"status", "must be one of %s", strings.Join(StatusNames(), ", "))
	}
	if f.Crisis && !f.ReachableContact() {
		v.add(prefix+"crisis", "a crisis resource needs at least one reachable contact: a voice, text or TTY phone, a website, or a virtual location URL")
	}
	if len(f.ExternalIDs) > maxExternalIDs {
		v.add(prefix+"external_ids", "must have at most %d entries", maxExternalIDs)
	}
	seenIDs := make(map[ExternalID]bool, len(f.ExternalIDs))
	for i, e := range f.ExternalIDs {
		field := fmt.Sprintf("%sexternal_ids[%d]", prefix, i)
		if !sourcePattern.MatchString(e.Source) {
			v.add(field+".source", "must be 1 to 64 lowercase letters, digits, ':', '.', '_' or '-', starting with a letter or digit")
		}
		v.text(field+".id", e.ID, 1, maxShortText)
		if seenIDs[e] {
			v.add(field, "repeats %s", e)
		}
		seenIDs[e] = true
	}
	switch {
	case len(f.TargetSites) == 0:
		v.add(prefix+"target_sites", "must name at least one site")
	case len(f.TargetSites) > maxTargetSites:
		v.add(prefix+"target_sites", "must name at most %d sites", maxTargetSites)
	}
	for i, s := range f.TargetSites {
		if !slug.Valid(s) {
			v.add(fmt.Sprintf("%starget_sites[%d]", prefix, i), "must be a site name like sites/kratom-help")
		}
	}
	v.textLines(prefix+"editor_notes", f.EditorNotes, 0, maxEditorNotes, true)
	return v.Err()
}

func (v *violations) location(field string, l Location) {
	v.text(field+".name", l.Name, 0, maxShortText)
	a := l.Address
	for _, part := range []struct{ name, value string }{
		{"address_1", a.Address1}, {"address_2", a.Address2}, {"city", a.City},
		{"region", a.Region}, {"postal_code", a.PostalCode},
	} {
		v.text(field+".address."+part.name, part.value, 0, maxShortText)
	}
	if a.Country != "" && !isCountry(a.Country) {
		v.add(field+".address.country", "must be an ISO 3166-1 alpha-2 country code such as US (got %q)", a.Country)
	}
	switch l.Type {
	case LocationPhysical:
		if l.Coordinates == nil {
			v.add(field+".coordinates", "is required for a physical location")
		} else {
			c := *l.Coordinates
			if math.IsNaN(c.Lat) || c.Lat < -90 || c.Lat > 90 {
				v.add(field+".coordinates.latitude", "must be from -90 to 90 degrees")
			}
			if math.IsNaN(c.Lng) || c.Lng < -180 || c.Lng > 180 {
				v.add(field+".coordinates.longitude", "must be from -180 to 180 degrees")
			}
		}
		if a.Address1 == "" && a.City == "" {
			v.add(field+".address", "needs at least address_1 or city for a physical location")
		}
		if a.Country == "" {
			v.add(field+".address.country", "is required for a physical location")
		}
		v.optionalURL(field+".url", l.URL)
	case LocationVirtual:
		if l.Coordinates != nil {
			v.add(field+".coordinates", "must be empty for a virtual location")
		}
		v.optionalURL(field+".url", l.URL)
	default:
		v.add(field+".type", "is required: PHYSICAL or VIRTUAL")
	}
}

func (v *violations) serviceArea(field string, a ServiceArea) {
	if !isCountry(a.Country) {
		v.add(field+".country", "must be an ISO 3166-1 alpha-2 country code such as US (got %q)", a.Country)
	}
	if a.Region != "" && !subdivisionPattern.MatchString(a.Region) {
		v.add(field+".region", "must be an ISO 3166-2 subdivision code without the country, such as CA (got %q)", a.Region)
	}
	if len(a.PostalCodes) > maxPostalCodes {
		v.add(field+".postal_codes", "must have at most %d entries", maxPostalCodes)
	}
	for i, p := range a.PostalCodes {
		if !postalCodePattern.MatchString(p) {
			v.add(fmt.Sprintf("%s.postal_codes[%d]", field, i), "must be a postal code: letters, digits, spaces and hyphens, at most 12 (got %q)", p)
		}
	}
}

// isCountry reports whether code is an assigned ISO 3166-1 alpha-2 country code.
func isCountry(code string) bool {
	if !countryPattern.MatchString(code) {
		return false
	}
	r, err := language.ParseRegion(code)
	return err == nil && r.IsCountry() && r.String() == code
}
