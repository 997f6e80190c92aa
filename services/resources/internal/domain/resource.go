// Package domain holds the resources service's types and rules: resources (HSDS services with
// their organization folded in), directories, opening hours and staleness. It knows nothing of
// protobuf or MongoDB; the api and store packages convert at its edges.
package domain

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"time"
)

// Kind is what sort of help a resource offers.
type Kind int

// The kinds, in the order of the proto enum.
const (
	KindCrisisLine Kind = iota + 1
	KindTextLine
	KindChat
	KindSupportGroup
	KindOnlineCommunity
	KindTreatmentProvider
	KindPeerSupport
	KindAppOrTool
	KindOther
)

var kindNames = [...]string{
	KindCrisisLine: "CRISIS_LINE", KindTextLine: "TEXT_LINE", KindChat: "CHAT",
	KindSupportGroup: "SUPPORT_GROUP", KindOnlineCommunity: "ONLINE_COMMUNITY",
	KindTreatmentProvider: "TREATMENT_PROVIDER", KindPeerSupport: "PEER_SUPPORT",
	KindAppOrTool: "APP_OR_TOOL", KindOther: "OTHER",
}

// Valid reports whether k is one of the kinds.
func (k Kind) Valid() bool { return k >= KindCrisisLine && k <= KindOther }

// String returns the kind's name as used in filters and CSV files, e.g. "CRISIS_LINE".
func (k Kind) String() string {
	if !k.Valid() {
		return "KIND_" + strconv.Itoa(int(k))
	}
	return kindNames[k]
}

// KindNames lists the names Kind.String returns.
func KindNames() []string { return append([]string(nil), kindNames[1:]...) }

// ParseKind is the inverse of Kind.String.
func ParseKind(name string) (Kind, bool) { return parseName[Kind](kindNames[:], name) }

// Status is whether a resource operates (HSDS service.status).
type Status int

// The statuses. A new resource is StatusActive unless it says otherwise.
const (
	StatusActive Status = iota + 1
	StatusTemporarilyClosed
	StatusInactive
	StatusDefunct
)

var statusNames = [...]string{StatusActive: "ACTIVE", StatusTemporarilyClosed: "TEMPORARILY_CLOSED", StatusInactive: "INACTIVE", StatusDefunct: "DEFUNCT"}

// Valid reports whether s is one of the statuses.
func (s Status) Valid() bool { return s >= StatusActive && s <= StatusDefunct }

// String returns the status's name, e.g. "TEMPORARILY_CLOSED".
func (s Status) String() string {
	if !s.Valid() {
		return "STATUS_" + strconv.Itoa(int(s))
	}
	return statusNames[s]
}

// StatusNames lists the names Status.String returns.
func StatusNames() []string { return append([]string(nil), statusNames[1:]...) }

// ParseStatus is the inverse of Status.String.
func ParseStatus(name string) (Status, bool) { return parseName[Status](statusNames[:], name) }

// Listed reports whether delivery shows a resource of this status: inactive and defunct
// resources are left out; temporarily closed ones are shown (with their status).
func (s Status) Listed() bool { return s == StatusActive || s == StatusTemporarilyClosed }

// Cost is one way a resource can be paid for.
type Cost int

// The cost options.
const (
	CostFree Cost = iota + 1
	CostSlidingScale
	CostInsurance
	CostPaid
)

var costNames = [...]string{CostFree: "FREE", CostSlidingScale: "SLIDING_SCALE", CostInsurance: "INSURANCE", CostPaid: "PAID"}

// Valid reports whether c is one of the cost options.
func (c Cost) Valid() bool { return c >= CostFree && c <= CostPaid }

// String returns the cost option's name, e.g. "SLIDING_SCALE".
func (c Cost) String() string {
	if !c.Valid() {
		return "COST_" + strconv.Itoa(int(c))
	}
	return costNames[c]
}

// ParseCost is the inverse of Cost.String.
func ParseCost(name string) (Cost, bool) { return parseName[Cost](costNames[:], name) }

// PhoneType is how a number is used.
type PhoneType int

// The phone types. A phone without a type is a voice line.
const (
	PhoneVoice PhoneType = iota + 1
	PhoneText
	PhoneFax
	PhoneTTY
)

var phoneTypeNames = [...]string{PhoneVoice: "VOICE", PhoneText: "TEXT", PhoneFax: "FAX", PhoneTTY: "TTY"}

// Valid reports whether t is one of the phone types.
func (t PhoneType) Valid() bool { return t >= PhoneVoice && t <= PhoneTTY }

// String returns the type's name, e.g. "TTY".
func (t PhoneType) String() string {
	if !t.Valid() {
		return "PHONE_TYPE_" + strconv.Itoa(int(t))
	}
	return phoneTypeNames[t]
}

// ParsePhoneType is the inverse of PhoneType.String.
func ParsePhoneType(name string) (PhoneType, bool) {
	return parseName[PhoneType](phoneTypeNames[:], name)
}

// Reachable reports whether a person in need can reach help on a number of this type (a fax
// line does not count).
func (t PhoneType) Reachable() bool { return t == PhoneVoice || t == PhoneText || t == PhoneTTY }

// LocationType says whether a location is a place or online.
type LocationType int

// The location types.
const (
	LocationPhysical LocationType = iota + 1
	LocationVirtual
)

var locationTypeNames = [...]string{LocationPhysical: "PHYSICAL", LocationVirtual: "VIRTUAL"}

// Valid reports whether t is one of the location types.
func (t LocationType) Valid() bool { return t == LocationPhysical || t == LocationVirtual }

// String returns the type's name, e.g. "VIRTUAL".
func (t LocationType) String() string {
	if !t.Valid() {
		return "LOCATION_TYPE_" + strconv.Itoa(int(t))
	}
	return locationTypeNames[t]
}

// ParseLocationType is the inverse of LocationType.String.
func ParseLocationType(name string) (LocationType, bool) {
	return parseName[LocationType](locationTypeNames[:], name)
}

func parseName[T ~int](names []string, name string) (T, bool) {
	for i, n := range names {
		if i > 0 && n == name {
			return T(i), true
		}
	}
	return 0, false
}

// Phone is a number to call or text.
type Phone struct {
	Number      string // E.164, or the digits of a short code such as "988"
	Extension   string
	Type        PhoneType
	Description string
	Languages   []string // BCP 47
}

// Address is a postal address.
type Address struct {
	Address1, Address2, City, Region, PostalCode string
	Country                                      string // ISO 3166-1 alpha-2
}

// IsZero reports whether no field is set.
func (a Address) IsZero() bool { return a == Address{} }

// LatLng is a WGS 84 point in decimal degrees.
type LatLng struct{ Lat, Lng float64 }

// Location is where a resource is offered.
type Location struct {
	Type        LocationType
	Name        string
	Address     Address
	Coordinates *LatLng // required for a physical location; nil for a virtual one
	URL         string  // virtual locations: where to join
}

// ServiceArea is a region a resource serves.
type ServiceArea struct {
	Country     string   // ISO 3166-1 alpha-2, upper case
	Region      string   // subdivision code without the country, upper case; "" is the whole country
	PostalCodes []string // "" / none is the whole region
}

// ExternalID names a resource in another system; imports match on it.
type ExternalID struct{ Source, ID string }

// String returns "source/id".
func (e ExternalID) String() string { return e.Source + "/" + e.ID }

// Fields is everything an editor (or an import) writes about a resource.
type Fields struct {
	DisplayName      string
	OrganizationName string
	Kind             Kind
	TaxonomyTerms    []string
	Description      string // Markdown
	Website          string
	Email            string
	Phones           []Phone
	Locations        []Location
	Hours            Hours
	Languages        []string // BCP 47
	Costs            []Cost
	CostDescription  string
	Eligibility      string
	ServiceAreas     []ServiceArea
	Status           Status
	Crisis           bool
	ExternalIDs      []ExternalID
	TargetSites      []string // site ids
	EditorNotes      string   // never delivered
}

// Verification records when and by whom a listing was last checked (HSDS assured_date, assurer).
type Verification struct {
	Date     Date
	Verifier string
}

// Resource is one listing of the help directory.
type Resource struct {
	ID string
	Fields
	Verified   Verification
	RevisionID int64
	CreateTime time.Time
	UpdateTime time.Time
	DeleteTime time.Time // zero while live
	Creator    string
}

// Name returns the resource name, "resources/{id}".
func (r *Resource) Name() string { return "resources/" + r.ID }

// Deleted reports whether the resource is soft-deleted.
func (r *Resource) Deleted() bool { return !r.DeleteTime.IsZero() }

// Etag names this version of the resource.
func (r *Resource) Etag() string { return etag("resource", r.ID, r.RevisionID) }

// HasPhysicalLocation reports whether some location of the resource is a place with coordinates.
func (r *Resource) HasPhysicalLocation() bool {
	for _, l := range r.Locations {
		if l.Type == LocationPhysical && l.Coordinates != nil {
			return true
		}
	}
	return false
}

// ReachableContact reports whether a person can reach the resource: a voice, text or TTY phone, a
// website, or the URL of a virtual location.
func (f *Fields) ReachableContact() bool {
	if f.Website != "" {
		return true
	}
	for _, p := range f.Phones {
		if p.Number != "" && p.Type.Reachable() {
			return true
		}
	}
	for _, l := range f.Locations {
		if l.Type == LocationVirtual && l.URL != "" {
			return true
		}
	}
	return false
}

func etag(kind, id string, revision int64) string {
	sum := sha256.Sum256([]byte(kind + "\x00" + id + "\x00" + strconv.FormatInt(revision, 10)))
	return hex.EncodeToString(sum[:10])
}

// ImportRecord is one row of an import file (a CSV line or an HSDS service record) as its format
// reader understood it, before normalization and validation.
type ImportRecord struct {
	Row      int    // 1-based: CSV data line or service record number
	Fields   Fields // TargetSites empty: the import names the site
	Verified Verification
	// OriginID is the resource id in the Beacon that exported the record, or "". An import into
	// that Beacon matches the record to it when no external id matches.
	OriginID string
	// Problems holds what the reader could not understand (an *apperr.Error with field
	// violations), or nil.
	Problems error
}
