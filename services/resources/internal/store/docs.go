package store

import (
	"fmt"
	"time"
	"unique"

	"github.com/beaconcms/beacon/services/resources/internal/domain"
)

// The stored documents: this package's own types, joined to the domain types only through the
// to*/from* converters below. Every document carries schemaVersion; a from* converter refuses a
// version it does not know (a document written by a newer release) instead of guessing. Enums are
// stored by name ("CRISIS_LINE"), so reordering a Go constant never changes what is stored.

// The schema versions this release reads and writes.
const (
	resourceSchemaVersion = 1
	revisionSchemaVersion = 1
	claimSchemaVersion    = 1
	changeSchemaVersion   = 1
)

type resourceDoc struct {
	ID            string     `bson:"_id"`
	SchemaVersion int        `bson:"schemaVersion"`
	Fields        fieldsDoc  `bson:"fields"`
	VerifiedDate  string     `bson:"verifiedDate"` // ISO 8601 date or ""
	Verifier      string     `bson:"verifier"`
	Revision      int64      `bson:"revision"`
	CreateTime    time.Time  `bson:"createTime"`
	UpdateTime    time.Time  `bson:"updateTime"`
	DeleteTime    *time.Time `bson:"deleteTime"`
	Creator       string     `bson:"creator"`
	// LastChange is the change that made this revision, so that the document alone answers for
	// its revision until the revision record is written (absent in documents of older releases).
	LastChange *lastChangeDoc `bson:"lastChange,omitempty"`
}

// lastChangeDoc is a domain.Change as kept on the resource or directory it made.
type lastChangeDoc struct {
	Actor  string    `bson:"actor"`
	Action string    `bson:"action"`
	Fields []string  `bson:"fields"`
	Time   time.Time `bson:"time"`
}

func toLastChangeDoc(c domain.Change) *lastChangeDoc {
	return &lastChangeDoc{Actor: c.Actor, Action: c.Action, Fields: c.Fields, Time: c.Time.UTC()}
}

type fieldsDoc struct {
	DisplayName      string          `bson:"displayName"`
	OrganizationName string          `bson:"organizationName"`
	Kind             string          `bson:"kind"`
	TaxonomyTerms    []string        `bson:"taxonomyTerms"`
	Description      string          `bson:"description"`
	Website          string          `bson:"website"`
	Email            string          `bson:"email"`
	Phones           []phoneDoc      `bson:"phones"`
	Locations        []locationDoc   `bson:"locations"`
	Hours            hoursDoc        `bson:"hours"`
	Languages        []string        `bson:"languages"`
	Costs            []string        `bson:"costs"`
	CostDescription  string          `bson:"costDescription"`
	Eligibility      string          `bson:"eligibility"`
	ServiceAreas     []areaDoc       `bson:"serviceAreas"`
	Status           string          `bson:"status"`
	Crisis           bool            `bson:"crisis"`
	ExternalIDs      []externalIDDoc `bson:"externalIds"`
	TargetSites      []string        `bson:"targetSites"`
	EditorNotes      string          `bson:"editorNotes"`
}

type phoneDoc struct {
	Number      string   `bson:"number"`
	Extension   string   `bson:"extension"`
	Type        string   `bson:"type"`
	Description string   `bson:"description"`
	Languages   []string `bson:"languages"`
}

type locationDoc struct {
	Type       string   `bson:"type"`
	Name       string   `bson:"name"`
	Address1   string   `bson:"address1"`
	Address2   string   `bson:"address2"`
	City       string   `bson:"city"`
	Region     string   `bson:"region"`
	PostalCode string   `bson:"postalCode"`
	Country    string   `bson:"country"`
	Lat        *float64 `bson:"lat"`
	Lng        *float64 `bson:"lng"`
	URL        string   `bson:"url"`
}

type hoursDoc struct {
	TimeZone   string       `bson:"timeZone"`
	AlwaysOpen bool         `bson:"alwaysOpen"`
	Periods    []periodDoc  `bson:"periods"`
	Closures   []closureDoc `bson:"closures"`
}

type periodDoc struct {
	Day    int `bson:"day"` // 0 Sunday .. 6 Saturday (time.Weekday)
	Opens  int `bson:"opens"`
	Closes int `bson:"closes"`
}

type closureDoc struct {
	Date        string `bson:"date"`
	Description string `bson:"description"`
}

type areaDoc struct {
	Country     string   `bson:"country"`
	Region      string   `bson:"region"`
	PostalCodes []string `bson:"postalCodes"`
}

type externalIDDoc struct {
	Source string `bson:"source"`
	ID     string `bson:"id"`
}

// revisionDoc is one revision, _id "resourceId/revision".
type revisionDoc struct {
	ID            string      `bson:"_id"`
	SchemaVersion int         `bson:"schemaVersion"`
	Actor         string      `bson:"actor"`
	Action        string      `bson:"action"`
	Fields        []string    `bson:"fields"`
	Time          time.Time   `bson:"time"`
	Resource      resourceDoc `bson:"resource"`
}

// claimDoc holds an external id for a resource, _id "source/id". Resource "" is a released claim.
type claimDoc struct {
	ID            string `bson:"_id"`
	SchemaVersion int    `bson:"schemaVersion"`
	Resource      string `bson:"resource"`
}

// changeDoc is one change-log entry: resource (or directory) id at a revision, written at time.
type changeDoc struct {
	ID            string `bson:"_id"`
	SchemaVersion int    `bson:"schemaVersion"`
	Resource      string `bson:"resource"` // the resource's or the directory's id
	// Kind is "directory" for a directory's entry; empty (as in every entry written before
	// directories) for a resource's.
	Kind     string    `bson:"kind,omitempty"`
	Revision int64     `bson:"revision"`
	Time     time.Time `bson:"time"`
	// Resources and Revisions, when set, are a batch of resource writes (an import's rows) in one
	// entry; Resource and Revision are then unused.
	Resources []string `bson:"resources,omitempty"`
	Revisions []int64  `bson:"revisions,omitempty"`
}

// toRevisionDoc is the revision record of the revision d is at, made by d.LastChange.
func toRevisionDoc(d resourceDoc) revisionDoc {
	rev := revisionDoc{ID: revisionKey(d.ID, d.Revision), SchemaVersion: revisionSchemaVersion}
	if c := d.LastChange; c != nil {
		rev.Actor, rev.Action, rev.Fields, rev.Time = c.Actor, c.Action, c.Fields, c.Time
	}
	d.LastChange = nil // the record holds it
	rev.Resource = d
	return rev
}

// toResourceDoc is r as stored, written by change c.
func toResourceDoc(r *domain.Resource, c domain.Change) resourceDoc {
	d := resourceDoc{
		ID: r.ID, SchemaVersion: resourceSchemaVersion, Fields: toFieldsDoc(r.Fields),
		VerifiedDate: r.Verified.Date.String(), Verifier: r.Verified.Verifier, Revision: r.RevisionID,
		CreateTime: r.CreateTime.UTC(), UpdateTime: r.UpdateTime.UTC(), Creator: r.Creator,
		LastChange: toLastChangeDoc(c),
	}
	if !r.DeleteTime.IsZero() {
		t := r.DeleteTime.UTC()
		d.DeleteTime = &t
	}
	return d
}

func toFieldsDoc(f domain.Fields) fieldsDoc {
	d := fieldsDoc{
		DisplayName: f.DisplayName, OrganizationName: f.OrganizationName, Kind: f.Kind.String(),
		TaxonomyTerms: f.TaxonomyTerms, Description: f.Description, Website: f.Website, Email: f.Email,
		Languages: f.Languages, CostDescription: f.CostDescription, Eligibility: f.Eligibility,
		Status: f.Status.String(), Crisis: f.Crisis, TargetSites: f.TargetSites, EditorNotes: f.EditorNotes,
		Hours: hoursDoc{TimeZone: f.Hours.TimeZone, AlwaysOpen: f.Hours.AlwaysOpen},
	}
	for _, p := range f.Phones {
		d.Phones = append(d.Phones, phoneDoc{Number: p.Number, Extension: p.Extension, Type: p.Type.String(), Description: p.Description, Languages: p.Languages})
	}
	for _, l := range f.Locations {
		ld := locationDoc{Type: l.Type.String(), Name: l.Name, Address1: l.Address.Address1, Address2: l.Address.Address2,
			City: l.Address.City, Region: l.Address.Region, PostalCode: l.Address.PostalCode, Country: l.Address.Country, URL: l.URL}
		if l.Coordinates != nil {
			lat, lng := l.Coordinates.Lat, l.Coordinates.Lng
			ld.Lat, ld.Lng = &lat, &lng
		}
		d.Locations = append(d.Locations, ld)
	}
	for _, p := range f.Hours.Periods {
		d.Hours.Periods = append(d.Hours.Periods, periodDoc{Day: int(p.Day), Opens: int(p.Opens), Closes: int(p.Closes)})
	}
	for _, c := range f.Hours.Closures {
		d.Hours.Closures = append(d.Hours.Closures, closureDoc{Date: c.Date.String(), Description: c.Description})
	}
	for _, c := range f.Costs {
		d.Costs = append(d.Costs, c.String())
	}
	for _, a := range f.ServiceAreas {
		d.ServiceAreas = append(d.ServiceAreas, areaDoc{Country: a.Country, Region: a.Region, PostalCodes: a.PostalCodes})
	}
	for _, e := range f.ExternalIDs {
		d.ExternalIDs = append(d.ExternalIDs, externalIDDoc{Source: e.Source, ID: e.ID})
	}
	return d
}

func fromResourceDoc(d resourceDoc) (*domain.Resource, error) {
	if d.SchemaVersion != resourceSchemaVersion {
		return nil, fmt.Errorf("resource %s has schema version %d; this release reads %d", d.ID, d.SchemaVersion, resourceSchemaVersion)
	}
	f, err := fromFieldsDoc(d.Fields)
	if err != nil {
		return nil, fmt.Errorf("resource %s: %w", d.ID, err)
	}
	r := &domain.Resource{ID: d.ID, Fields: f, RevisionID: d.Revision, CreateTime: d.CreateTime, UpdateTime: d.UpdateTime, Creator: d.Creator}
	r.Verified.Verifier = d.Verifier
	if d.VerifiedDate != "" {
		date, ok := domain.ParseDate(d.VerifiedDate)
		if !ok {
			return nil, fmt.Errorf("resource %s: bad verified date %q", d.ID, d.VerifiedDate)
		}
		r.Verified.Date = date
	}
	if d.DeleteTime != nil {
		r.DeleteTime = *d.DeleteTime
	}
	return r, nil
}

// intern returns the canonical copy of s, and interned makes ss's elements canonical: fields
// that take a few distinct values (site ids, languages, taxonomy terms, time zones, countries)
// are then shared by every resource the read model holds instead of copied into each, and
// comparing them (a site id with the request's) finds the same bytes at once.
func intern(s string) string { return unique.Make(s).Value() }

func interned(ss []string) []string {
	for i, s := range ss {
		ss[i] = intern(s)
	}
	return ss
}

func fromFieldsDoc(d fieldsDoc) (domain.Fields, error) {
	f := domain.Fields{
		DisplayName: d.DisplayName, OrganizationName: d.OrganizationName, TaxonomyTerms: interned(d.TaxonomyTerms),
		Description: d.Description, Website: d.Website, Email: d.Email, Languages: interned(d.Languages),
		CostDescription: d.CostDescription, Eligibility: d.Eligibility, Crisis: d.Crisis,
		TargetSites: interned(d.TargetSites), EditorNotes: d.EditorNotes,
		Hours: domain.Hours{TimeZone: intern(d.Hours.TimeZone), AlwaysOpen: d.Hours.AlwaysOpen},
	}
	var ok bool
	if f.Kind, ok = domain.ParseKind(d.Kind); !ok {
		return f, fmt.Errorf("unknown kind %q", d.Kind)
	}
	if f.Status, ok = domain.ParseStatus(d.Status); !ok {
		return f, fmt.Errorf("unknown status %q", d.Status)
	}
	for _, p := range d.Phones {
		t, ok := domain.ParsePhoneType(p.Type)
		if !ok {
			return f, fmt.Errorf("unknown phone type %q", p.Type)
		}
		f.Phones = append(f.Phones, domain.Phone{Number: p.Number, Extension: p.Extension, Type: t, Description: p.Description, Languages: interned(p.Languages)})
	}
	for _, l := range d.Locations {
		t, ok := domain.ParseLocationType(l.Type)
		if !ok {
			return f, fmt.Errorf("unknown location type %q", l.Type)
		}
		loc := domain.Location{Type: t, Name: l.Name, URL: l.URL, Address: domain.Address{
			Address1: l.Address1, Address2: l.Address2, City: intern(l.City), Region: intern(l.Region), PostalCode: l.PostalCode, Country: intern(l.Country)}}
		if l.Lat != nil && l.Lng != nil {
			loc.Coordinates = &domain.LatLng{Lat: *l.Lat, Lng: *l.Lng}
		}
		f.Locations = append(f.Locations, loc)
	}
	for _, p := range d.Hours.Periods {
		f.Hours.Periods = append(f.Hours.Periods, domain.WeeklyPeriod{Day: time.Weekday(p.Day), Opens: domain.Minute(p.Opens), Closes: domain.Minute(p.Closes)})
	}
	for _, c := range d.Hours.Closures {
		date, ok := domain.ParseDate(c.Date)
		if !ok {
			return f, fmt.Errorf("bad closure date %q", c.Date)
		}
		f.Hours.Closures = append(f.Hours.Closures, domain.Closure{Date: date, Description: c.Description})
	}
	for _, c := range d.Costs {
		cost, ok := domain.ParseCost(c)
		if !ok {
			return f, fmt.Errorf("unknown cost %q", c)
		}
		f.Costs = append(f.Costs, cost)
	}
	for _, a := range d.ServiceAreas {
		f.ServiceAreas = append(f.ServiceAreas, domain.ServiceArea{Country: a.Country, Region: a.Region, PostalCodes: a.PostalCodes})
	}
	for _, e := range d.ExternalIDs {
		f.ExternalIDs = append(f.ExternalIDs, domain.ExternalID{Source: e.Source, ID: e.ID})
	}
	return f, nil
}

// The schema versions of the directory documents.
const (
	directorySchemaVersion         = 1
	directoryRevisionSchemaVersion = 1
	slugClaimSchemaVersion         = 1
)

// directoryDoc is a domain.Directory as stored, _id = directory id.
type directoryDoc struct {
	ID            string              `bson:"_id"`
	SchemaVersion int                 `bson:"schemaVersion"`
	Title         string              `bson:"title"`
	Slug          string              `bson:"slug"`
	Intro         string              `bson:"intro"`
	Site          string              `bson:"site"`
	Entries       []directoryEntryDoc `bson:"entries"`
	Rule          *directoryRuleDoc   `bson:"rule"`
	Revision      int64               `bson:"revision"`
	CreateTime    time.Time           `bson:"createTime"`
	UpdateTime    time.Time           `bson:"updateTime"`
	DeleteTime    *time.Time          `bson:"deleteTime"`
	LastChange    *lastChangeDoc      `bson:"lastChange,omitempty"` // as on resourceDoc
}

type directoryEntryDoc struct {
	Resource string `bson:"resource"`
	Note     string `bson:"note"`
}

type directoryRuleDoc struct {
	Kinds         []string `bson:"kinds"`
	TaxonomyTerms []string `bson:"taxonomyTerms"`
	Region        *areaDoc `bson:"region"`
}

// directoryRevisionDoc is one revision of a directory, _id "directoryId/revision".
type directoryRevisionDoc struct {
	ID            string       `bson:"_id"`
	SchemaVersion int          `bson:"schemaVersion"`
	Actor         string       `bson:"actor"`
	Action        string       `bson:"action"`
	Fields        []string     `bson:"fields"`
	Time          time.Time    `bson:"time"`
	Directory     directoryDoc `bson:"directory"`
}

// slugClaimDoc holds a site's slug for a live directory, _id "site/slug". Directory "" is a
// released claim (kept, never deleted: a delete by filter would break the store rule).
type slugClaimDoc struct {
	ID            string `bson:"_id"`
	SchemaVersion int    `bson:"schemaVersion"`
	Directory     string `bson:"directory"`
}

// toDirectoryRevisionDoc is the revision record of the revision d is at, made by d.LastChange.
func toDirectoryRevisionDoc(d directoryDoc) directoryRevisionDoc {
	rev := directoryRevisionDoc{ID: revisionKey(d.ID, d.Revision), SchemaVersion: directoryRevisionSchemaVersion}
	if c := d.LastChange; c != nil {
		rev.Actor, rev.Action, rev.Fields, rev.Time = c.Actor, c.Action, c.Fields, c.Time
	}
	d.LastChange = nil // the record holds it
	rev.Directory = d
	return rev
}

// toDirectoryDoc is d as stored, written by change c.
func toDirectoryDoc(d *domain.Directory, c domain.Change) directoryDoc {
	doc := directoryDoc{
		ID: d.ID, SchemaVersion: directorySchemaVersion, Title: d.Title, Slug: d.Slug, Intro: d.Intro, Site: d.Site,
		Revision: d.RevisionID, CreateTime: d.CreateTime.UTC(), UpdateTime: d.UpdateTime.UTC(), LastChange: toLastChangeDoc(c),
	}
	for _, e := range d.Entries {
		doc.Entries = append(doc.Entries, directoryEntryDoc{Resource: e.ResourceID, Note: e.Note})
	}
	if r := d.Rule; r != nil {
		rd := &directoryRuleDoc{TaxonomyTerms: r.TaxonomyTerms}
		for _, k := range r.Kinds {
			rd.Kinds = append(rd.Kinds, k.String())
		}
		if a := r.Region; a != nil {
			rd.Region = &areaDoc{Country: a.Country, Region: a.Region, PostalCodes: a.PostalCodes}
		}
		doc.Rule = rd
	}
	if !d.DeleteTime.IsZero() {
		t := d.DeleteTime.UTC()
		doc.DeleteTime = &t
	}
	return doc
}

func fromDirectoryDoc(doc directoryDoc) (*domain.Directory, error) {
	if doc.SchemaVersion != directorySchemaVersion {
		return nil, fmt.Errorf("directory %s has schema version %d; this release reads %d", doc.ID, doc.SchemaVersion, directorySchemaVersion)
	}
	d := &domain.Directory{ID: doc.ID, RevisionID: doc.Revision, CreateTime: doc.CreateTime, UpdateTime: doc.UpdateTime,
		DirectoryFields: domain.DirectoryFields{Title: doc.Title, Slug: doc.Slug, Intro: doc.Intro, Site: doc.Site}}
	for _, e := range doc.Entries {
		d.Entries = append(d.Entries, domain.DirectoryEntry{ResourceID: e.Resource, Note: e.Note})
	}
	if rd := doc.Rule; rd != nil {
		r := &domain.DirectoryRule{TaxonomyTerms: rd.TaxonomyTerms}
		for _, k := range rd.Kinds {
			kind, ok := domain.ParseKind(k)
			if !ok {
				return nil, fmt.Errorf("directory %s: unknown kind %q", doc.ID, k)
			}
			r.Kinds = append(r.Kinds, kind)
		}
		if a := rd.Region; a != nil {
			r.Region = &domain.ServiceArea{Country: a.Country, Region: a.Region, PostalCodes: a.PostalCodes}
		}
		d.Rule = r
	}
	if doc.DeleteTime != nil {
		d.DeleteTime = *doc.DeleteTime
	}
	return d, nil
}
