package console

import (
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"google.golang.org/genproto/googleapis/type/date"
	"google.golang.org/genproto/googleapis/type/dayofweek"
	"google.golang.org/genproto/googleapis/type/latlng"
	"google.golang.org/genproto/googleapis/type/timeofday"

	resourcesv1 "github.com/beaconcms/beacon/gen/beacon/resources/v1"
)

// The resource editor's form. Its inputs are named after the resources API's fields, with
// repeated rows numbered: "phone-0-number", "period-1-opens", "location-0-city". The
// console only parses what a form cannot carry as typed (times, dates, coordinates); every
// other rule is the resources service's, whose field violations are shown beside the input
// they name (fieldInput maps the API's path to the input).

// resourceFormMask are the fields the editor writes: an update changes only these, so what
// the form does not show (external ids, ...) is kept.
var resourceFormMask = []string{
	"display_name", "organization_name", "kind", "status", "crisis", "description", "website", "email",
	"phones", "locations", "hours", "languages", "costs", "cost_description", "eligibility",
	"service_areas", "target_sites", "taxonomy_terms", "editor_notes",
}

// Blank rows the editor offers after the filled ones, to add without script.
const (
	blankPhones    = 1
	blankPeriods   = 2
	blankClosures  = 1
	blankLocations = 1
	blankAreas     = 1
	maxFormRows    = 200 // rows of one kind read from a form
)

// resourceForm is the editor's form as typed.
type resourceForm struct {
	Etag                                                 string
	Revision                                             int64 // of the version the form was opened on
	DisplayName, Organization, Kind, Status, Description string
	Website, Email, Eligibility, CostDescription, Notes  string
	Languages, Taxonomy                                  string // comma-separated
	Crisis, AlwaysOpen                                   bool
	TimeZone                                             string
	Costs                                                []string // "FREE", ...
	Sites                                                []string // site ids
	Phones                                               []phoneRow
	Periods                                              []periodRow
	Closures                                             []closureRow
	Locations                                            []locationRow
	Areas                                                []areaRow
}

type phoneRow struct{ Number, Extension, Type, Description, Languages string }
type periodRow struct{ Day, Opens, Closes string }
type closureRow struct{ Date, Description string }
type locationRow struct {
	Type, Name, Address1, Address2, City, Region, PostalCode, Country, Latitude, Longitude, URL string
}
type areaRow struct{ Country, Region, PostalCodes string }

func (p phoneRow) blank() bool    { return p == phoneRow{} || p == phoneRow{Type: "VOICE"} }
func (p periodRow) blank() bool   { return p == periodRow{} }
func (c closureRow) blank() bool  { return c == closureRow{} }
func (a areaRow) blank() bool     { return a == areaRow{} }
func (l locationRow) blank() bool { return l == locationRow{} || l == locationRow{Type: l.Type} }

var (
	resourceCosts = protoEnumOptions(resourcesv1.Cost_name, "COST_")
	phoneTypes    = protoEnumOptions(resourcesv1.Phone_Type_name, "TYPE_")
	locationTypes = protoEnumOptions(resourcesv1.Location_Type_name, "TYPE_")
	weekDays      = protoEnumOptions(dayofweek.DayOfWeek_name, "")
)

func commaJoined(list []string) string { return strings.Join(list, ", ") }

// commaSplit splits a comma-separated input, trimmed, without empty items.
func commaSplit(s string) []string {
	var out []string
	for _, item := range strings.Split(s, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

func clockText(t *timeofday.TimeOfDay) string {
	if t == nil {
		return ""
	}
	return fmt.Sprintf("%02d:%02d", t.GetHours(), t.GetMinutes())
}

func degreesText(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

// enumName is a proto enum value's name without prefix as the form's choices name it, "" for
// the unspecified value.
func enumName(name, prefix string) string {
	if name = strings.TrimPrefix(name, prefix); name == "UNSPECIFIED" {
		return ""
	}
	return name
}

// resourceFormOf is the form of a stored resource.
func resourceFormOf(r *resourcesv1.Resource) resourceForm {
	f := resourceForm{
		Etag: r.GetEtag(), Revision: r.GetRevisionId(), DisplayName: r.GetDisplayName(), Organization: r.GetOrganizationName(),
		Kind: enumName(r.GetKind().String(), "KIND_"), Status: enumName(r.GetStatus().String(), "STATUS_"),
		Description: r.GetDescription(), Website: r.GetWebsite(), Email: r.GetEmail(), Eligibility: r.GetEligibility(),
		CostDescription: r.GetCostDescription(), Notes: r.GetEditorNotes(), Languages: commaJoined(r.GetLanguages()),
		Taxonomy: commaJoined(r.GetTaxonomyTerms()), Crisis: r.GetCrisis(),
		AlwaysOpen: r.GetHours().GetAlwaysOpen(), TimeZone: r.GetHours().GetTimeZone(),
	}
	for _, c := range r.GetCosts() {
		f.Costs = append(f.Costs, enumName(c.String(), "COST_"))
	}
	for _, s := range r.GetTargetSites() {
		f.Sites = append(f.Sites, siteID(s))
	}
	for _, p := range r.GetPhones() {
		f.Phones = append(f.Phones, phoneRow{Number: p.GetNumber(), Extension: p.GetExtension(),
			Type: enumName(p.GetType().String(), "TYPE_"), Description: p.GetDescription(), Languages: commaJoined(p.GetLanguages())})
	}
	for _, p := range r.GetHours().GetPeriods() {
		f.Periods = append(f.Periods, periodRow{Day: p.GetDay().String(), Opens: clockText(p.GetOpens()), Closes: clockText(p.GetCloses())})
	}
	for _, c := range r.GetHours().GetClosures() {
		f.Closures = append(f.Closures, closureRow{Date: isoDateOrNever(c.GetDate()), Description: c.GetDescription()})
	}
	for _, l := range r.GetLocations() {
		a := l.GetAddress()
		row := locationRow{Type: enumName(l.GetType().String(), "TYPE_"), Name: l.GetName(), Address1: a.GetAddress_1(),
			Address2: a.GetAddress_2(), City: a.GetCity(), Region: a.GetRegion(), PostalCode: a.GetPostalCode(), Country: a.GetCountry(), URL: l.GetUrl()}
		if c := l.GetCoordinates(); c != nil {
			row.Latitude, row.Longitude = degreesText(c.GetLatitude()), degreesText(c.GetLongitude())
		}
		f.Locations = append(f.Locations, row)
	}
	for _, a := range r.GetServiceAreas() {
		f.Areas = append(f.Areas, areaRow{Country: a.GetCountry(), Region: a.GetRegion(), PostalCodes: commaJoined(a.GetPostalCodes())})
	}
	return f
}

// resourceFormFrom reads a posted editor form. Rows left blank are dropped (clearing a row
// removes it).
func resourceFormFrom(v url.Values) resourceForm {
	get := func(key string) string { return strings.TrimSpace(v.Get(key)) }
	f := resourceForm{
		Etag: v.Get("etag"), DisplayName: get("display_name"), Organization: get("organization_name"),
		Kind: get("kind"), Status: get("status"), Description: v.Get("description"), Website: get("website"),
		Email: get("email"), Eligibility: get("eligibility"), CostDescription: get("cost_description"),
		Notes: v.Get("editor_notes"), Languages: get("languages"), Taxonomy: get("taxonomy_terms"),
		Crisis: v.Get("crisis") == "on", AlwaysOpen: v.Get("always_open") == "on", TimeZone: get("time_zone"),
		Costs: v["costs"], Sites: v["target_sites"],
	}
	f.Revision, _ = strconv.ParseInt(v.Get("revision"), 10, 64)
	rows := func(prefix string, read func(key func(string) string)) {
		for i := range maxFormRows {
			p := fmt.Sprintf("%s-%d-", prefix, i)
			found := false
			for k := range v {
				if strings.HasPrefix(k, p) {
					found = true
					break
				}
			}
			if !found {
				return
			}
			read(func(field string) string { return get(p + field) })
		}
	}
	rows("phone", func(k func(string) string) {
		if p := (phoneRow{Number: k("number"), Extension: k("extension"), Type: k("type"), Description: k("description"), Languages: k("languages")}); !p.blank() {
			f.Phones = append(f.Phones, p)
		}
	})
	rows("period", func(k func(string) string) {
		if p := (periodRow{Day: k("day"), Opens: k("opens"), Closes: k("closes")}); !p.blank() {
			f.Periods = append(f.Periods, p)
		}
	})
	rows("closure", func(k func(string) string) {
		if c := (closureRow{Date: k("date"), Description: k("description")}); !c.blank() {
			f.Closures = append(f.Closures, c)
		}
	})
	rows("location", func(k func(string) string) {
		l := locationRow{Type: k("type"), Name: k("name"), Address1: k("address_1"), Address2: k("address_2"), City: k("city"),
			Region: k("region"), PostalCode: k("postal_code"), Country: k("country"), Latitude: k("latitude"), Longitude: k("longitude"), URL: k("url")}
		if !l.blank() {
			f.Locations = append(f.Locations, l)
		}
	})
	rows("area", func(k func(string) string) {
		if a := (areaRow{Country: k("country"), Region: k("region"), PostalCodes: k("postal_codes")}); !a.blank() {
			f.Areas = append(f.Areas, a)
		}
	})
	return f
}

var (
	clockInputPattern = regexp.MustCompile(`^([0-9]{1,2}):([0-9]{2})$`)
	dateInputPattern  = regexp.MustCompile(`^([0-9]{4})-([0-9]{2})-([0-9]{2})$`)
)

// inputErrors maps form input ids to what is wrong with them.
type inputErrors map[string]string

// add records msg for input, naming the API field path it is about.
func (e inputErrors) add(input, path, msg string) {
	text := path + ": " + msg
	if prev, ok := e[input]; ok {
		text = prev + "; " + text
	}
	e[input] = text
}

// resource is the form as the resources API's Resource. Inputs a form cannot carry as typed
// (a time that is not HH:MM, a date that is not YYYY-MM-DD, coordinates that are not numbers,
// an unknown choice) are reported in errs, named by the API field they are for; the service
// checks the rest.
func (f resourceForm) resource(errs inputErrors) *resourcesv1.Resource {
	r := &resourcesv1.Resource{
		DisplayName: f.DisplayName, OrganizationName: f.Organization, Description: f.Description, Website: f.Website,
		Email: f.Email, Eligibility: f.Eligibility, CostDescription: f.CostDescription, EditorNotes: f.Notes,
		Languages: commaSplit(f.Languages), TaxonomyTerms: commaSplit(f.Taxonomy), Crisis: f.Crisis, Etag: f.Etag,
		Kind:   resourcesv1.Kind(protoEnumValue(resourcesv1.Kind_value, "KIND_", f.Kind, errs, "kind", "kind")),
		Status: resourcesv1.Status(protoEnumValue(resourcesv1.Status_value, "STATUS_", f.Status, errs, "status", "status")),
	}
	for _, c := range f.Costs {
		r.Costs = append(r.Costs, resourcesv1.Cost(protoEnumValue(resourcesv1.Cost_value, "COST_", c, errs, "costs", "costs")))
	}
	for _, s := range f.Sites {
		r.TargetSites = append(r.TargetSites, "sites/"+s)
	}
	for i, p := range f.Phones {
		in, path := fmt.Sprintf("phone-%d-", i), fmt.Sprintf("phones[%d].", i)
		r.Phones = append(r.Phones, &resourcesv1.Phone{Number: p.Number, Extension: p.Extension, Description: p.Description,
			Languages: commaSplit(p.Languages), Type: resourcesv1.Phone_Type(protoEnumValue(resourcesv1.Phone_Type_value, "TYPE_", p.Type, errs, in+"type", path+"type"))})
	}
	if f.TimeZone != "" || f.AlwaysOpen || len(f.Periods) > 0 || len(f.Closures) > 0 {
		r.Hours = &resourcesv1.Hours{TimeZone: f.TimeZone, AlwaysOpen: f.AlwaysOpen}
	}
	for i, p := range f.Periods {
		in, path := fmt.Sprintf("period-%d-", i), fmt.Sprintf("hours.periods[%d].", i)
		r.Hours.Periods = append(r.Hours.Periods, &resourcesv1.WeeklyPeriod{
			Day:    dayofweek.DayOfWeek(protoEnumValue(dayofweek.DayOfWeek_value, "", p.Day, errs, in+"day", path+"day")),
			Opens:  clockInput(p.Opens, errs, in+"opens", path+"opens"),
			Closes: clockInput(p.Closes, errs, in+"closes", path+"closes"),
		})
	}
	for i, c := range f.Closures {
		in, path := fmt.Sprintf("closure-%d-", i), fmt.Sprintf("hours.closures[%d].", i)
		r.Hours.Closures = append(r.Hours.Closures, &resourcesv1.Closure{Date: dateInput(c.Date, errs, in+"date", path+"date"), Description: c.Description})
	}
	for i, l := range f.Locations {
		in, path := fmt.Sprintf("location-%d-", i), fmt.Sprintf("locations[%d].", i)
		loc := &resourcesv1.Location{Name: l.Name, Url: l.URL,
			Type: resourcesv1.Location_Type(protoEnumValue(resourcesv1.Location_Type_value, "TYPE_", l.Type, errs, in+"type", path+"type"))}
		if a := (resourcesv1.Address{Address_1: l.Address1, Address_2: l.Address2, City: l.City, Region: l.Region, PostalCode: l.PostalCode, Country: l.Country}); a.Address_1+a.Address_2+a.City+a.Region+a.PostalCode+a.Country != "" {
			loc.Address = &a
		}
		if l.Latitude != "" || l.Longitude != "" {
			loc.Coordinates = &latlng.LatLng{
				Latitude:  degreesInput(l.Latitude, errs, in+"latitude", path+"coordinates.latitude"),
				Longitude: degreesInput(l.Longitude, errs, in+"longitude", path+"coordinates.longitude"),
			}
		}
		r.Locations = append(r.Locations, loc)
	}
	for _, a := range f.Areas {
		r.ServiceAreas = append(r.ServiceAreas, &resourcesv1.ServiceArea{Country: a.Country, Region: a.Region, PostalCodes: commaSplit(a.PostalCodes)})
	}
	return r
}

// protoEnumValue is the number of the enum value named prefix+name (0 for an empty name); an
// unknown name is an error of input.
func protoEnumValue(values map[string]int32, prefix, name string, errs inputErrors, input, path string) int32 {
	if name == "" {
		return 0
	}
	n, ok := values[prefix+name]
	if !ok {
		errs.add(input, path, fmt.Sprintf("%q is not one of the choices", name))
	}
	return n
}

// clockInput parses "HH:MM" (24:00 allowed: the service checks the range).
func clockInput(s string, errs inputErrors, input, path string) *timeofday.TimeOfDay {
	if s == "" {
		return nil
	}
	m := clockInputPattern.FindStringSubmatch(s)
	if m == nil {
		errs.add(input, path, fmt.Sprintf("must be a time as HH:MM, such as 09:30 or 24:00 (got %q)", s))
		return nil
	}
	h, _ := strconv.Atoi(m[1])
	mm, _ := strconv.Atoi(m[2])
	return &timeofday.TimeOfDay{Hours: int32(h), Minutes: int32(mm)}
}

// dateInput parses "YYYY-MM-DD" (the service checks it is a real date).
func dateInput(s string, errs inputErrors, input, path string) *date.Date {
	m := dateInputPattern.FindStringSubmatch(s)
	if m == nil {
		errs.add(input, path, fmt.Sprintf("must be a date as YYYY-MM-DD (got %q)", s))
		return nil
	}
	y, _ := strconv.Atoi(m[1])
	mo, _ := strconv.Atoi(m[2])
	d, _ := strconv.Atoi(m[3])
	return &date.Date{Year: int32(y), Month: int32(mo), Day: int32(d)}
}

func degreesInput(s string, errs inputErrors, input, path string) float64 {
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		errs.add(input, path, fmt.Sprintf("must be a number of degrees such as 30.2672 (got %q)", s))
	}
	return v
}

var (
	// rowPath matches the repeated parts of an API field path the form numbers as rows.
	rowPath = regexp.MustCompile(`^(phones|hours\.periods|hours\.closures|locations|service_areas)\[([0-9]+)\](.*)$`)
	rowName = map[string]string{"phones": "phone", "hours.periods": "period", "hours.closures": "closure",
		"locations": "location", "service_areas": "area"}
	// listPath matches an item of a list the form edits as one input.
	listPath = regexp.MustCompile(`^(languages|taxonomy_terms|target_sites|costs)\[[0-9]+\]$`)
)

// fieldInput is the id of the editor input an API field violation names (e.g.
// "resource.hours.periods[1].closes" -> "period-1-closes"), or "" when no input shows the
// field (the violation is then listed above the form only).
func fieldInput(path string) string {
	path = strings.TrimPrefix(path, "resource.")
	if m := listPath.FindStringSubmatch(path); m != nil {
		return m[1]
	}
	if m := rowPath.FindStringSubmatch(path); m != nil {
		rest := strings.TrimPrefix(m[3], ".")
		switch {
		case rest == "":
			rest = rowFirstInput[m[1]]
		case strings.HasPrefix(rest, "address."):
			rest = strings.TrimPrefix(rest, "address.")
		case rest == "address":
			rest = "address_1"
		case rest == "coordinates" || rest == "coordinates.latitude":
			rest = "latitude"
		case rest == "coordinates.longitude":
			rest = "longitude"
		case strings.HasPrefix(rest, "languages["):
			rest = "languages"
		case strings.HasPrefix(rest, "postal_codes"):
			rest = "postal_codes"
		}
		return rowName[m[1]] + "-" + m[2] + "-" + rest
	}
	switch path {
	case "hours.time_zone":
		return "time_zone"
	case "hours.periods", "hours.always_open":
		return "always_open"
	case "hours.closures":
		return "closure-0-date"
	case "phones":
		return "phone-0-number"
	case "locations":
		return "location-0-type"
	case "service_areas":
		return "area-0-country"
	}
	if slices.Contains(resourceFormMask, path) {
		return path
	}
	return ""
}

// rowFirstInput is the input a violation about a whole row is shown beside.
var rowFirstInput = map[string]string{"phones": "number", "hours.periods": "day", "hours.closures": "date",
	"locations": "type", "service_areas": "country"}
