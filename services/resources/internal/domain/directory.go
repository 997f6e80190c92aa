package domain

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/beaconcms/beacon/platform/markdown"
	"github.com/beaconcms/beacon/platform/slug"
)

// Limits on directory fields.
const (
	maxTitle   = 200
	maxIntro   = 64 << 10
	maxEntries = 500
	maxNote    = 1000
)

// resourceIDPattern is the shape of a resource id (the last segment of its name).
var resourceIDPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)

// ValidResourceID reports whether id can be a resource id.
func ValidResourceID(id string) bool { return resourceIDPattern.MatchString(id) }

// DirectoryEntry is one hand-picked resource of a directory.
type DirectoryEntry struct {
	ResourceID string
	Note       string
}

// DirectoryRule selects a site's resources automatically: those matching every set part.
type DirectoryRule struct {
	Kinds         []Kind       // any of them; none means any kind
	TaxonomyTerms []string     // at least one of them; none means any
	Region        *ServiceArea // the resource serves it; nil means anywhere
}

// DirectoryFields is everything an editor writes about a directory.
type DirectoryFields struct {
	Title   string
	Slug    string
	Intro   string // Markdown
	Site    string // site id
	Entries []DirectoryEntry
	Rule    *DirectoryRule
}

// Directory is a curated page of resources for one site.
type Directory struct {
	ID string
	DirectoryFields
	RevisionID int64
	CreateTime time.Time
	UpdateTime time.Time
	DeleteTime time.Time
}

// Name returns "directories/{id}".
func (d *Directory) Name() string { return "directories/" + d.ID }

// Etag names this version of the directory.
func (d *Directory) Etag() string { return etag("directory", d.ID, d.RevisionID) }

// Deleted reports whether the directory is soft-deleted.
func (d *Directory) Deleted() bool { return !d.DeleteTime.IsZero() }

// Normalize puts directory fields into canonical form: trimmed title and notes, a slug derived
// from the title when empty, lowercase taxonomy terms and codes.
func (d *DirectoryFields) Normalize() {
	d.Title = strings.TrimSpace(d.Title)
	if strings.TrimSpace(d.Slug) == "" {
		d.Slug = slug.Normalize(d.Title)
	} else {
		// A slug the client chose is never cut: an overlong one stays as sent and fails Validate.
		d.Slug, _ = slug.NormalizeExplicit(d.Slug)
	}
	d.Site = strings.TrimSpace(d.Site)
	for i := range d.Entries {
		d.Entries[i].ResourceID = strings.TrimSpace(d.Entries[i].ResourceID)
		d.Entries[i].Note = strings.TrimSpace(d.Entries[i].Note)
	}
	if r := d.Rule; r != nil {
		r.Kinds = dedupe(r.Kinds, func(k Kind) Kind { return k })
		r.TaxonomyTerms = dedupe(r.TaxonomyTerms, func(s string) string {
			return strings.ToLower(strings.Join(strings.Fields(s), " "))
		})
		if a := r.Region; a != nil {
			a.Country = strings.ToUpper(strings.TrimSpace(a.Country))
			a.Region = strings.ToUpper(strings.TrimSpace(a.Region))
			a.PostalCodes = dedupe(a.PostalCodes, func(s string) string { return strings.ToUpper(strings.TrimSpace(s)) })
		}
	}
}

// Validate checks every field of normalized directory fields, naming bad ones with prefix.
func (d *DirectoryFields) Validate(prefix string) error {
	var v violations
	v.text(prefix+"title", d.Title, 1, maxTitle)
	if d.Slug == "" {
		v.add(prefix+"slug", "is required (or give a title with letters or digits)")
	} else if !slug.Valid(d.Slug) {
		v.add(prefix+"slug", "must be lowercase letters, digits and hyphens, at most %d characters", slug.MaxLen)
	}
	if len(d.Intro) > maxIntro {
		v.add(prefix+"intro", "must be at most %d bytes", maxIntro)
	} else {
		v.textLines(prefix+"intro", d.Intro, 0, maxIntro, true)
		if err := markdown.CheckComplexity(d.Intro); err != nil {
			v.add(prefix+"intro", "is too complex to render: %v", err)
		}
	}
	if !slug.Valid(d.Site) {
		v.add(prefix+"site", "must be a site name like sites/kratom-help")
	}
	if len(d.Entries) > maxEntries {
		v.add(prefix+"entries", "must have at most %d entries", maxEntries)
	}
	seen := make(map[string]int, len(d.Entries))
	for i, e := range d.Entries {
		f := fmt.Sprintf("%sentries[%d]", prefix, i)
		if !ValidResourceID(e.ResourceID) {
			v.add(f+".resource", "must be a resource name like resources/abc123")
		} else if j, dup := seen[e.ResourceID]; dup {
			v.add(f+".resource", "repeats entries[%d]", j)
		} else {
			seen[e.ResourceID] = i
		}
		v.textLines(f+".note", e.Note, 0, maxNote, true)
	}
	if r := d.Rule; r != nil {
		for i, k := range r.Kinds {
			if !k.Valid() {
				v.add(fmt.Sprintf("%srule.kinds[%d]", prefix, i), "must be one of %s", strings.Join(KindNames(), ", "))
			}
		}
		if len(r.TaxonomyTerms) > maxTerms {
			v.add(prefix+"rule.taxonomy_terms", "must have at most %d entries", maxTerms)
		}
		for i, t := range r.TaxonomyTerms {
			v.text(fmt.Sprintf("%srule.taxonomy_terms[%d]", prefix, i), t, 1, maxTermLen)
		}
		if r.Region != nil {
			v.serviceArea(prefix+"rule.region", *r.Region)
		}
	}
	if len(d.Entries) == 0 && d.Rule == nil {
		v.add(prefix+"entries", "a directory needs entries, a rule, or both")
	}
	return v.Err()
}

// Matches reports whether the rule selects the resource (its site is checked by the caller).
func (r *DirectoryRule) Matches(res *Fields) bool {
	if len(r.Kinds) > 0 && !contains(r.Kinds, res.Kind) {
		return false
	}
	if len(r.TaxonomyTerms) > 0 {
		found := false
		for _, t := range r.TaxonomyTerms {
			if contains(res.TaxonomyTerms, t) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	if r.Region != nil {
		for _, a := range res.ServiceAreas {
			if a.Covers(*r.Region) {
				return true
			}
		}
		return false
	}
	return true
}

// Covers reports whether area a contains all of area b: the same country, and a's region and
// postal codes (when set) include b's.
func (a ServiceArea) Covers(b ServiceArea) bool {
	if a.Country != b.Country {
		return false
	}
	if a.Region == "" {
		return true
	}
	if a.Region != b.Region {
		return false
	}
	if len(a.PostalCodes) == 0 {
		return true
	}
	if len(b.PostalCodes) == 0 {
		return false
	}
	for _, p := range b.PostalCodes {
		if !contains(a.PostalCodes, p) {
			return false
		}
	}
	return true
}

func contains[T comparable](xs []T, x T) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}
