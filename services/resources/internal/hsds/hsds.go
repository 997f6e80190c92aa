// Package hsds converts resources to and from Open Referral HSDS 3.0 JSON: full service records
// with their organization, locations (through service_at_locations), phones, schedules, service
// areas, languages and attributes.
//
// HSDS has no place for some Beacon fields. They travel as attributes whose taxonomy term is in the
// "beacon" taxonomy (code = the field, value = the value), so a Beacon export imports back without
// loss: kind, crisis, cost options, the IANA time zone, closures, external ids, the verifier when
// it is not an email address, and the id of the resource in the Beacon that exported it. Every
// other attribute's taxonomy term becomes a taxonomy term of the resource (its code, else its name).
// Editor notes and target sites are not exported: notes are internal, and an import names its site.
package hsds

import (
	"encoding/json"
	"strings"

	"github.com/beaconcms/beacon/services/resources/internal/domain"
)

// Service is an HSDS 3.0 service record with the parts Beacon reads and writes. Unknown fields of
// an imported record are ignored.
type Service struct {
	ID                     string              `json:"id"`
	OrganizationID         string              `json:"organization_id,omitempty"`
	Name                   string              `json:"name"`
	Description            string              `json:"description,omitempty"`
	URL                    string              `json:"url,omitempty"`
	Email                  string              `json:"email,omitempty"`
	Status                 string              `json:"status"`
	FeesDescription        string              `json:"fees_description,omitempty"`
	EligibilityDescription string              `json:"eligibility_description,omitempty"`
	AssuredDate            string              `json:"assured_date,omitempty"`
	AssurerEmail           string              `json:"assurer_email,omitempty"`
	LastModified           string              `json:"last_modified,omitempty"`
	Organization           *Organization       `json:"organization,omitempty"`
	Phones                 []Phone             `json:"phones,omitempty"`
	Schedules              []Schedule          `json:"schedules,omitempty"`
	ServiceAreas           []ServiceArea       `json:"service_areas,omitempty"`
	ServiceAtLocations     []ServiceAtLocation `json:"service_at_locations,omitempty"`
	Languages              []Language          `json:"languages,omitempty"`
	Attributes             []Attribute         `json:"attributes,omitempty"`
}

// Organization is the HSDS organization providing a service. Description is required by HSDS.
type Organization struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description"`
}

// Phone is an HSDS phone.
type Phone struct {
	ID          string       `json:"id"`
	Number      string       `json:"number"`
	Extension   *json.Number `json:"extension,omitempty"`
	Type        string       `json:"type,omitempty"`
	Description string       `json:"description,omitempty"`
	Languages   []Language   `json:"languages,omitempty"`
}

// Schedule is an HSDS schedule (iCalendar RRULE fields). Beacon writes weekly schedules with
// wall-clock opens_at/closes_at in the zone given by the "beacon" time_zone attribute.
type Schedule struct {
	ID          string       `json:"id"`
	Freq        string       `json:"freq,omitempty"`
	ByDay       string       `json:"byday,omitempty"`
	OpensAt     string       `json:"opens_at,omitempty"`
	ClosesAt    string       `json:"closes_at,omitempty"`
	Timezone    *json.Number `json:"timezone,omitempty"`
	Description string       `json:"description,omitempty"`
}

// ServiceArea is an HSDS service area. Beacon writes the ISO 3166 code ("US" or "US-TX") as the
// name and the postal codes, comma-separated, as a text extent.
type ServiceArea struct {
	ID          string `json:"id"`
	Name        string `json:"name,omitempty"`
	Description string `json:"description,omitempty"`
	Extent      string `json:"extent,omitempty"`
	ExtentType  string `json:"extent_type,omitempty"`
}

// ServiceAtLocation joins a service and a location.
type ServiceAtLocation struct {
	ID        string     `json:"id"`
	Phones    []Phone    `json:"phones,omitempty"`
	Schedules []Schedule `json:"schedules,omitempty"`
	Location  *Location  `json:"location,omitempty"`
}

// Location is an HSDS location.
type Location struct {
	ID           string    `json:"id"`
	LocationType string    `json:"location_type"`
	URL          string    `json:"url,omitempty"`
	Name         string    `json:"name,omitempty"`
	Latitude     *float64  `json:"latitude,omitempty"`
	Longitude    *float64  `json:"longitude,omitempty"`
	Addresses    []Address `json:"addresses,omitempty"`
	Phones       []Phone   `json:"phones,omitempty"`
}

// Address is an HSDS address. HSDS requires every field but address_2 (empty strings are allowed).
type Address struct {
	ID            string `json:"id"`
	Address1      string `json:"address_1"`
	Address2      string `json:"address_2,omitempty"`
	City          string `json:"city"`
	StateProvince string `json:"state_province"`
	PostalCode    string `json:"postal_code"`
	Country       string `json:"country"`
	AddressType   string `json:"address_type"`
}

// Language is an HSDS language.
type Language struct {
	ID   string `json:"id"`
	Name string `json:"name,omitempty"`
	Code string `json:"code,omitempty"`
}

// Attribute links a taxonomy term (and a value) to the service.
type Attribute struct {
	ID           string        `json:"id"`
	LinkID       string        `json:"link_id,omitempty"`
	LinkType     string        `json:"link_type,omitempty"`
	LinkEntity   string        `json:"link_entity,omitempty"`
	Value        string        `json:"value,omitempty"`
	TaxonomyTerm *TaxonomyTerm `json:"taxonomy_term,omitempty"`
}

// TaxonomyTerm is an HSDS taxonomy term. Name and description are required by HSDS.
type TaxonomyTerm struct {
	ID          string `json:"id"`
	Code        string `json:"code,omitempty"`
	Name        string `json:"name"`
	Description string `json:"description"`
	Taxonomy    string `json:"taxonomy,omitempty"`
}

// BeaconTaxonomy is the taxonomy of the attributes that carry Beacon fields.
const BeaconTaxonomy = "beacon"

// The codes of Beacon attributes.
const (
	codeKind       = "kind"
	codeCrisis     = "crisis"
	codeCost       = "cost"
	codeTimeZone   = "time_zone"
	codeClosure    = "closure"
	codeExternalID = "external_id"
	codeVerifier   = "verifier"
	codeResource   = "resource"
)

// Decode reads an HSDS JSON document: an array of service records, a page of them ({"contents":
// [...]}, as the HSDS API's /services returns), or one service record.
func Decode(data []byte) ([]Service, error) {
	trimmed := strings.TrimLeft(string(data), " \t\r\n\ufeff")
	if strings.HasPrefix(trimmed, "[") {
		var list []Service
		if err := json.Unmarshal([]byte(trimmed), &list); err != nil {
			return nil, err
		}
		return list, nil
	}
	var probe struct {
		Contents json.RawMessage `json:"contents"`
	}
	if err := json.Unmarshal([]byte(trimmed), &probe); err != nil {
		return nil, err
	}
	if len(probe.Contents) > 0 {
		var list []Service
		if err := json.Unmarshal(probe.Contents, &list); err != nil {
			return nil, err
		}
		return list, nil
	}
	var one Service
	if err := json.Unmarshal([]byte(trimmed), &one); err != nil {
		return nil, err
	}
	return []Service{one}, nil
}

// Read decodes an HSDS JSON document (see Decode) into import records, one per service record.
func Read(data []byte, defaultSource string) ([]domain.ImportRecord, error) {
	services, err := Decode(data)
	if err != nil {
		return nil, err
	}
	out := make([]domain.ImportRecord, len(services))
	for i, s := range services {
		out[i] = ToRecord(i+1, s, defaultSource)
	}
	return out, nil
}
