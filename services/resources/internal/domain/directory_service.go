package domain

import (
	"context"
	"fmt"
	"log/slog"
	"reflect"
	"slices"
	"time"

	"github.com/beaconcms/beacon/platform/apperr"
	"github.com/beaconcms/beacon/platform/auth"
	"github.com/beaconcms/beacon/platform/markdown"
)

// DirectoryRevision is a directory as one successful change left it.
type DirectoryRevision struct {
	DirectoryID string
	RevisionID  int64
	Change      Change
	Directory   Directory
}

// DirectoryStore persists directories, their revisions and their slug claims. Every method is a
// point read, an insert or a whole-document replace by _id. Implementations return apperr errors:
// NotFound for a missing id, Conflict when a conditional write lost a race, AlreadyExists (naming
// the field directory.slug) when a live directory of the same site holds the slug.
type DirectoryStore interface {
	// CreateDirectory inserts d (RevisionID 1), claims its site and slug and records revision 1.
	CreateDirectory(ctx context.Context, d *Directory, c Change) error
	// GetDirectory returns the directory, deleted or not.
	GetDirectory(ctx context.Context, id string) (*Directory, error)
	// UpdateDirectory replaces prev by next when the stored revision is still prev.RevisionID
	// (next.RevisionID = prev.RevisionID+1) and records next's revision. The slug claim follows:
	// a live next claims its site and slug, and prev's claim is released when next no longer
	// holds it (another slug or site, or deleted).
	UpdateDirectory(ctx context.Context, prev, next *Directory, c Change) error
	// GetDirectoryRevision returns one revision of a directory.
	GetDirectoryRevision(ctx context.Context, id string, revision int64) (DirectoryRevision, error)
}

// DirectoryLister answers directory lists from memory.
type DirectoryLister interface {
	// ListDirectories returns the directories matching q, in q's order, at most q.Limit.
	ListDirectories(ctx context.Context, q DirectoryQuery) ([]*Directory, error)
}

// ResourceLookup finds resources by id in memory (the read model).
type ResourceLookup interface {
	Get(id string) (*Resource, bool)
}

// DirectoryQuery selects directories for a list.
type DirectoryQuery struct {
	Match       func(*Directory) bool // nil matches all
	Site        string                // only this site's directories; "" means all
	ShowDeleted bool
	Less        func(a, b *Directory) bool // order; nil means by update time, newest first
	After       func(*Directory) bool      // true for directories at or before the page cursor
	Limit       int
}

// DirectoryService holds the rules of directories: validation, the site scope (a directory
// belongs to one site; a key limited to a site sees and writes only that site's directories),
// entries that must target the directory's site, per-site slugs, revisions and soft delete.
type DirectoryService struct {
	store     DirectoryStore
	lister    DirectoryLister
	resources ResourceLookup
	sites     SiteCatalog
	renderer  *markdown.Renderer
	linter    Linter // the clinical-claim lint: a write whose title or intro has an error is refused
	now       func() time.Time
	newID     func() string
	logger    *slog.Logger
}

// NewDirectoryService returns a DirectoryService. now and newID default to time.Now (to the
// millisecond, as stored) and random ids. linter checks every directory created or updated.
func NewDirectoryService(store DirectoryStore, lister DirectoryLister, resources ResourceLookup, sites SiteCatalog, linter Linter, now func() time.Time, newID func() string, logger *slog.Logger) *DirectoryService {
	if now == nil {
		now = func() time.Time { return time.Now().UTC().Truncate(time.Millisecond) }
	}
	if newID == nil {
		newID = RandomID
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &DirectoryService{store: store, lister: lister, resources: resources, sites: sites,
		renderer: markdown.NewRenderer(), linter: linter, now: now, newID: newID, logger: logger}
}

// RenderIntro renders a directory intro like an article body: sanitized HTML.
func (s *DirectoryService) RenderIntro(md string) string { return s.renderer.Render(md).HTML }

func directoryNotFound(id string) error {
	return apperr.New(apperr.NotFound, "directory %q not found", "directories/"+id)
}

// directoryVisible reports whether p may see d: a key for all sites, or for d's site.
func directoryVisible(p auth.Principal, d *Directory) bool { return p.CoversSite(d.Site) }

// checkDirectoryTargets refuses a site that does not exist or is deleted, and entries whose
// resource does not exist, is deleted or does not target the site, naming each field. Only the
// entries in check are looked at (on update, those new to the directory).
func (s *DirectoryService) checkDirectoryTargets(ctx context.Context, f *DirectoryFields, checkSite bool, check func(DirectoryEntry) bool) error {
	var v violations
	if checkSite {
		site, ok, err := s.sites.Site(ctx, f.Site)
		if err != nil {
			return err
		}
		switch {
		case !ok:
			v.add("directory.site", "site %q does not exist", "sites/"+f.Site)
		case site.Deleted:
			v.add("directory.site", "site %q is deleted; undelete it first", "sites/"+f.Site)
		}
	}
	for i, e := range f.Entries {
		if !check(e) {
			continue
		}
		field := fmt.Sprintf("directory.entries[%d].resource", i)
		r, ok := s.resources.Get(e.ResourceID)
		switch {
		case !ok:
			v.add(field, "resource %q does not exist", "resources/"+e.ResourceID)
		case r.Deleted():
			v.add(field, "resource %q is deleted", r.Name())
		case !slices.Contains(r.TargetSites, f.Site):
			v.add(field, "resource %q does not target site %q; add the site to its target_sites first", r.Name(), "sites/"+f.Site)
		}
	}
	if err := v.Err(); err != nil {
		e, _ := apperr.As(err)
		e.Code, e.Message = apperr.FailedPrecondition, "the directory names a site or resources it cannot hold"
		return e
	}
	return nil
}

// Create adds a directory to a site.
func (s *DirectoryService) Create(ctx context.Context, p auth.Principal, f DirectoryFields) (*Directory, error) {
	f.Normalize()
	if err := f.Validate("directory."); err != nil {
		return nil, err
	}
	if !p.CoversSite(f.Site) {
		return nil, apperr.New(apperr.PermissionDenied, "the key is for site %q, not %q", "sites/"+p.Site, "sites/"+f.Site)
	}
	if err := s.checkDirectoryTargets(ctx, &f, true, func(DirectoryEntry) bool { return true }); err != nil {
		return nil, err
	}
	if err := s.checkLint(ctx, f); err != nil {
		return nil, err
	}
	now := s.now()
	d := &Directory{ID: s.newID(), DirectoryFields: f, RevisionID: 1, CreateTime: now, UpdateTime: now}
	if err := s.store.CreateDirectory(ctx, d, Change{Actor: p.KeyName, Action: "create", Fields: changedDirectoryFields(DirectoryFields{}, f), Time: now}); err != nil {
		return nil, err
	}
	return d, nil
}

// Get returns a directory p may see, deleted or not.
func (s *DirectoryService) Get(ctx context.Context, p auth.Principal, id string) (*Directory, error) {
	if !ValidResourceID(id) {
		return nil, apperr.InvalidField("name", "must be a directory name like directories/abc123")
	}
	d, err := s.store.GetDirectory(ctx, id)
	if err != nil {
		return nil, err
	}
	if !directoryVisible(p, d) {
		return nil, directoryNotFound(id)
	}
	return d, nil
}

func checkDirectoryEtag(d *Directory, etag string, required bool) error {
	switch {
	case etag == "" && required:
		return apperr.InvalidField("directory.etag", "is required: send the etag of the version you changed")
	case etag != "" && etag != d.Etag():
		return apperr.New(apperr.Conflict, "directory %q changed since it was read (etag %s, now %s): re-read and retry", d.Name(), etag, d.Etag())
	}
	return nil
}

// Update changes the fields named in mask (proto names; empty means every writable field) to
// those of f. The etag is required. Moving a directory to another site needs a key for both.
func (s *DirectoryService) Update(ctx context.Context, p auth.Principal, id, etag string, f DirectoryFields, mask []string) (*Directory, error) {
	prev, err := s.Get(ctx, p, id)
	if err != nil {
		return nil, err
	}
	if prev.Deleted() {
		return nil, apperr.New(apperr.FailedPrecondition, "directory %q is deleted; undelete it first", prev.Name())
	}
	if err := checkDirectoryEtag(prev, etag, true); err != nil {
		return nil, err
	}
	next := prev.clone()
	if err := applyDirectoryMask(&next.DirectoryFields, f, mask); err != nil {
		return nil, err
	}
	next.Normalize()
	if err := next.Validate("directory."); err != nil {
		return nil, err
	}
	if !p.CoversSite(next.Site) {
		return nil, apperr.New(apperr.PermissionDenied, "the key is for site %q; this change concerns site %q too", "sites/"+p.Site, "sites/"+next.Site)
	}
	moved := next.Site != prev.Site
	// Entries already in the directory may stay while their resource changes; new ones (all of
	// them when the directory moves) must fit.
	if err := s.checkDirectoryTargets(ctx, &next.DirectoryFields, moved, func(e DirectoryEntry) bool {
		return moved || !slices.ContainsFunc(prev.Entries, func(old DirectoryEntry) bool { return old.ResourceID == e.ResourceID })
	}); err != nil {
		return nil, err
	}
	changed := changedDirectoryFields(prev.DirectoryFields, next.DirectoryFields)
	if len(changed) == 0 {
		return prev, nil
	}
	if err := s.checkLint(ctx, next.DirectoryFields); err != nil {
		return nil, err
	}
	return s.write(ctx, prev, next, Change{Actor: p.KeyName, Action: "update", Fields: changed})
}

func (s *DirectoryService) write(ctx context.Context, prev, next *Directory, c Change) (*Directory, error) {
	c.Time = s.now()
	next.RevisionID = prev.RevisionID + 1
	next.UpdateTime = c.Time
	if err := s.store.UpdateDirectory(ctx, prev, next, c); err != nil {
		return nil, err
	}
	return next, nil
}

// Delete soft-deletes a directory and frees its slug. A non-empty etag must be current.
func (s *DirectoryService) Delete(ctx context.Context, p auth.Principal, id, etag string) (*Directory, error) {
	prev, err := s.Get(ctx, p, id)
	if err != nil {
		return nil, err
	}
	if err := checkDirectoryEtag(prev, etag, false); err != nil {
		return nil, err
	}
	if prev.Deleted() {
		return prev, nil
	}
	next := prev.clone()
	next.DeleteTime = s.now()
	return s.write(ctx, prev, next, Change{Actor: p.KeyName, Action: "delete", Fields: []string{"delete_time"}})
}

// Undelete restores a soft-deleted directory; AlreadyExists when its slug was taken meanwhile.
func (s *DirectoryService) Undelete(ctx context.Context, p auth.Principal, id string) (*Directory, error) {
	prev, err := s.Get(ctx, p, id)
	if err != nil {
		return nil, err
	}
	if !prev.Deleted() {
		return prev, nil
	}
	if site, ok, err := s.sites.Site(ctx, prev.Site); err != nil {
		return nil, err
	} else if !ok || site.Deleted {
		return nil, apperr.New(apperr.FailedPrecondition, "site %q of directory %q is deleted or missing", "sites/"+prev.Site, prev.Name())
	}
	next := prev.clone()
	next.DeleteTime = time.Time{}
	return s.write(ctx, prev, next, Change{Actor: p.KeyName, Action: "undelete", Fields: []string{"delete_time"}})
}

// List returns the directories p may see that match q (its Site is narrowed to p's site).
func (s *DirectoryService) List(ctx context.Context, p auth.Principal, q DirectoryQuery) ([]*Directory, error) {
	if p.Site != "" {
		if q.Site != "" && q.Site != p.Site {
			return nil, nil
		}
		q.Site = p.Site
	}
	return s.lister.ListDirectories(ctx, q)
}

// ListRevisions returns revisions of a directory newest first, starting below before (0: from
// the newest), at most limit. Revisions are read by id. A site-limited key sees only the
// revisions in which the directory belonged to its site.
func (s *DirectoryService) ListRevisions(ctx context.Context, p auth.Principal, id string, before int64, limit int) ([]DirectoryRevision, error) {
	d, err := s.Get(ctx, p, id)
	if err != nil {
		return nil, err
	}
	start := d.RevisionID
	if before > 0 && before-1 < start {
		start = before - 1
	}
	var out []DirectoryRevision
	for rev := start; rev >= 1 && len(out) < limit; rev-- {
		revision, err := s.store.GetDirectoryRevision(ctx, id, rev)
		if apperr.Is(err, apperr.NotFound) {
			continue // a revision record lost to a crash between the record and the write
		}
		if err != nil {
			return nil, err
		}
		if !p.CoversSite(revision.Directory.Site) {
			continue
		}
		out = append(out, revision)
	}
	return out, nil
}

func (d *Directory) clone() *Directory {
	c := *d
	c.DirectoryFields = d.DirectoryFields.Clone()
	return &c
}

// Clone returns a deep copy.
func (d DirectoryFields) Clone() DirectoryFields {
	c := d
	c.Entries = slices.Clone(d.Entries)
	if d.Rule != nil {
		r := *d.Rule
		r.Kinds = slices.Clone(d.Rule.Kinds)
		r.TaxonomyTerms = slices.Clone(d.Rule.TaxonomyTerms)
		if d.Rule.Region != nil {
			a := *d.Rule.Region
			a.PostalCodes = slices.Clone(d.Rule.Region.PostalCodes)
			r.Region = &a
		}
		c.Rule = &r
	}
	return c
}

// directoryFieldAccess names each writable directory field by its proto name.
var directoryFieldAccess = []struct {
	name string
	ptr  func(*DirectoryFields) any
}{
	{"title", func(f *DirectoryFields) any { return &f.Title }},
	{"slug", func(f *DirectoryFields) any { return &f.Slug }},
	{"intro", func(f *DirectoryFields) any { return &f.Intro }},
	{"site", func(f *DirectoryFields) any { return &f.Site }},
	{"entries", func(f *DirectoryFields) any { return &f.Entries }},
	{"rule", func(f *DirectoryFields) any { return &f.Rule }},
}

// WritableDirectoryFields lists the proto names an update mask of a directory may name.
func WritableDirectoryFields() []string {
	out := make([]string, len(directoryFieldAccess))
	for i, a := range directoryFieldAccess {
		out[i] = a.name
	}
	return out
}

func applyDirectoryMask(dst *DirectoryFields, src DirectoryFields, mask []string) error {
	src = src.Clone()
	if len(mask) == 0 {
		*dst = src
		return nil
	}
	var v violations
	for i, path := range mask {
		found := false
		for _, a := range directoryFieldAccess {
			if a.name == path {
				reflect.ValueOf(a.ptr(dst)).Elem().Set(reflect.ValueOf(a.ptr(&src)).Elem())
				found = true
				break
			}
		}
		if !found {
			v.add(fmt.Sprintf("update_mask.paths[%d]", i), "%q is not a writable field (writable: %v)", path, WritableDirectoryFields())
		}
	}
	return v.Err()
}

func changedDirectoryFields(a, b DirectoryFields) []string {
	var out []string
	for _, f := range directoryFieldAccess {
		if !reflect.DeepEqual(reflect.ValueOf(f.ptr(&a)).Elem().Interface(), reflect.ValueOf(f.ptr(&b)).Elem().Interface()) {
			out = append(out, f.name)
		}
	}
	return out
}

// EntryNames returns the display name of each entry's resource of d, in order, from memory
// (the read model): "" for a resource it does not hold, a deleted one, or one that no longer
// targets d's site.
func (s *DirectoryService) EntryNames(d *Directory) []string {
	names := make([]string, len(d.Entries))
	for i, e := range d.Entries {
		if r, ok := s.resources.Get(e.ResourceID); ok && !r.Deleted() && slices.Contains(r.TargetSites, d.Site) {
			names[i] = r.DisplayName
		}
	}
	return names
}
