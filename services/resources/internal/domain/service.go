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
	"github.com/beaconcms/beacon/platform/claimlint"
	"github.com/beaconcms/beacon/platform/markdown"
)

// Change describes the write that produced a revision.
type Change struct {
	Actor  string   // API key name
	Action string   // create, update, verify, delete, undelete, import
	Fields []string // proto field names the write touched
	Time   time.Time
	// Batched leaves the write out of the change log: the caller records it with others in one
	// entry (ResourceStore.LogBatch), as imports do every batch of rows.
	Batched bool
}

// Revision is a resource as one successful change left it.
type Revision struct {
	ResourceID string
	RevisionID int64
	Change     Change
	Resource   Resource
}

// ResourceStore persists resources, their revisions and their external-id claims. Every method is
// a point read, an insert or a whole-document replace by _id. Implementations return apperr
// errors: NotFound for missing ids, Conflict when a conditional write lost a race, AlreadyExists
// when an external id is claimed by another resource.
type ResourceStore interface {
	// CreateResource inserts r (RevisionID 1), claims its external ids and records revision 1.
	CreateResource(ctx context.Context, r *Resource, c Change) error
	// GetResource returns the resource, deleted or not.
	GetResource(ctx context.Context, id string) (*Resource, error)
	// UpdateResource replaces prev by next when the stored revision is still prev.RevisionID
	// (next.RevisionID = prev.RevisionID+1), moves external-id claims from prev's to next's and
	// records next's revision.
	UpdateResource(ctx context.Context, prev, next *Resource, c Change) error
	// ResourceIDByExternalID returns the id of the resource that holds an external id.
	ResourceIDByExternalID(ctx context.Context, e ExternalID) (string, bool, error)
	// GetRevision returns one revision of a resource.
	GetRevision(ctx context.Context, id string, revision int64) (Revision, error)
	// LogBatch records writes made with Change.Batched in the change log, in one entry, so that
	// other replicas' read models take them.
	LogBatch(ctx context.Context, written []*Resource) error
}

// ResourceLister answers lists from memory (the read model that follows the change log).
type ResourceLister interface {
	// ListResources returns the resources matching q, in q's order, at most q.Limit.
	ListResources(ctx context.Context, q ResourceQuery) ([]*Resource, error)
}

// ResourceQuery selects resources for a list.
type ResourceQuery struct {
	Match       func(*Resource) bool // nil matches all
	Sites       []string             // only resources targeting one of them; nil means all
	ShowDeleted bool
	Less        func(a, b *Resource) bool // order; nil means by update time, newest first
	After       func(*Resource) bool      // true for resources at or before the page cursor
	Limit       int
}

// SiteSettings is what the resources service needs to know about a site.
type SiteSettings struct {
	ID             string
	Deleted        bool
	StaleAfterDays int  // 0 means DefaultStaleAfterDays
	HideStale      bool // leave stale resources out of delivery
	// LintTuning is the site's own tuning of the clinical-claim lint (its lint_tuning setting).
	LintTuning claimlint.SiteTuning
}

// SiteCatalog answers questions about sites from memory (the sites service's catalog).
type SiteCatalog interface {
	// Site returns the site's settings; ok is false when no such site exists.
	Site(ctx context.Context, id string) (s SiteSettings, ok bool, err error)
}

// Service holds the rules of resources: validation, site scope, revisions, verification and
// imports.
type Service struct {
	store    ResourceStore
	lister   ResourceLister
	sites    SiteCatalog
	renderer *markdown.Renderer
	linter   Linter // the clinical-claim lint: a write whose texts have an error is refused
	now      func() time.Time
	newID    func() string
	logger   *slog.Logger
}

// NewService returns a Service. now and newID default to time.Now and random ids. linter checks
// every resource written, created, updated or imported (see checkLint).
func NewService(store ResourceStore, lister ResourceLister, sites SiteCatalog, linter Linter, now func() time.Time, newID func() string, logger *slog.Logger) *Service {
	if now == nil {
		now = func() time.Time { return time.Now().UTC().Truncate(time.Millisecond) } // as stored
	}
	if newID == nil {
		newID = RandomID
	}
	return &Service{store: store, lister: lister, sites: sites, renderer: markdown.NewRenderer(), linter: linter, now: now, newID: newID, logger: logger}
}

// RenderDescription renders a resource description like an article body: sanitized HTML.
func (s *Service) RenderDescription(md string) string { return s.renderer.Render(md).HTML }

// Stale reports whether r is stale today (UTC) for the strictest of its target sites (a site
// without a threshold counts with DefaultStaleAfterDays; so does a resource without sites).
func (s *Service) Stale(ctx context.Context, r *Resource) bool {
	threshold := 0
	for _, id := range r.TargetSites {
		days := s.staleAfterDays(ctx, id)
		if threshold == 0 || days < threshold {
			threshold = days
		}
	}
	return StaleAt(r.Verified.Date, DateOf(s.now().UTC()), threshold)
}

// StaleOnSite reports whether r is stale today (UTC) by the threshold of the site siteID.
func (s *Service) StaleOnSite(ctx context.Context, r *Resource, siteID string) bool {
	return StaleAt(r.Verified.Date, DateOf(s.now().UTC()), s.staleAfterDays(ctx, siteID))
}

// staleAfterDays is the site's stale threshold; DefaultStaleAfterDays when it sets none or is
// unknown.
func (s *Service) staleAfterDays(ctx context.Context, siteID string) int {
	if site, ok, err := s.sites.Site(ctx, siteID); err == nil && ok && site.StaleAfterDays > 0 {
		return site.StaleAfterDays
	}
	return DefaultStaleAfterDays
}

func resourceNotFound(id string) error {
	return apperr.New(apperr.NotFound, "resource %q not found", "resources/"+id)
}

// visible reports whether p may see r: a key for all sites, or for a site r targets.
func visible(p auth.Principal, r *Resource) bool {
	return p.Site == "" || slices.Contains(r.TargetSites, p.Site)
}

// canWrite checks that p's key covers every site in sites (the stored and the new version's).
func canWrite(p auth.Principal, sites ...[]string) error {
	if p.Site == "" {
		return nil
	}
	for _, list := range sites {
		for _, s := range list {
			if s != p.Site {
				return apperr.New(apperr.PermissionDenied, "the key is for site %q; this change concerns site %q too", "sites/"+p.Site, "sites/"+s)
			}
		}
	}
	return nil
}

// checkSites refuses target sites that do not exist or are deleted, naming the field.
func (s *Service) checkSites(ctx context.Context, field string, sites []string) error {
	var v violations
	for i, id := range sites {
		site, ok, err := s.sites.Site(ctx, id)
		if err != nil {
			return err
		}
		switch {
		case !ok:
			v.add(fmt.Sprintf("%s[%d]", field, i), "site %q does not exist", "sites/"+id)
		case site.Deleted:
			v.add(fmt.Sprintf("%s[%d]", field, i), "site %q is deleted; undelete it first", "sites/"+id)
		}
	}
	if err := v.Err(); err != nil {
		e, _ := apperr.As(err)
		e.Code, e.Message = apperr.FailedPrecondition, "a target site cannot take resources"
		return e
	}
	return nil
}

// getForWrite returns the stored resource for a write by p: NOT_FOUND when p may not see it,
// PERMISSION_DENIED when p's key does not cover every site it targets.
func (s *Service) getForWrite(ctx context.Context, p auth.Principal, id string) (*Resource, error) {
	r, err := s.store.GetResource(ctx, id)
	if err != nil {
		return nil, err
	}
	if !visible(p, r) {
		return nil, resourceNotFound(id)
	}
	return r, canWrite(p, r.TargetSites)
}

func checkEtag(r *Resource, etag string, required bool) error {
	switch {
	case etag == "" && required:
		return apperr.InvalidField("resource.etag", "is required: send the etag of the version you changed")
	case etag != "" && etag != r.Etag():
		return apperr.New(apperr.Conflict, "resource %q changed since it was read (etag %s, now %s): re-read and retry", r.Name(), etag, r.Etag())
	}
	return nil
}

// Create adds a resource.
func (s *Service) Create(ctx context.Context, p auth.Principal, f Fields) (*Resource, error) {
	f.Normalize()
	if err := f.Validate("resource."); err != nil {
		return nil, err
	}
	if err := s.checkLint(ctx, f, "resource."); err != nil {
		return nil, err
	}
	if err := canWrite(p, f.TargetSites); err != nil {
		return nil, err
	}
	if err := s.checkSites(ctx, "resource.target_sites", f.TargetSites); err != nil {
		return nil, err
	}
	now := s.now()
	r := &Resource{ID: s.newID(), Fields: f, RevisionID: 1, CreateTime: now, UpdateTime: now, Creator: p.KeyName}
	if err := s.store.CreateResource(ctx, r, Change{Actor: p.KeyName, Action: "create", Fields: changedFields(Fields{}, f), Time: now}); err != nil {
		return nil, err
	}
	return r, nil
}

// Get returns a resource p may see, deleted or not.
func (s *Service) Get(ctx context.Context, p auth.Principal, id string) (*Resource, error) {
	if !ValidResourceID(id) {
		return nil, apperr.InvalidField("name", "must be a resource name like resources/abc123")
	}
	r, err := s.store.GetResource(ctx, id)
	if err != nil {
		return nil, err
	}
	if !visible(p, r) {
		return nil, resourceNotFound(id)
	}
	return r, nil
}

// Update changes the fields named in mask (proto names; empty means all writable fields) to
// those of f. The etag is required.
func (s *Service) Update(ctx context.Context, p auth.Principal, id, etag string, f Fields, mask []string) (*Resource, error) {
	prev, err := s.getForWrite(ctx, p, id)
	if err != nil {
		return nil, err
	}
	if prev.Deleted() {
		return nil, apperr.New(apperr.FailedPrecondition, "resource %q is deleted; undelete it first", prev.Name())
	}
	if err := checkEtag(prev, etag, true); err != nil {
		return nil, err
	}
	next := prev.clone()
	if err := applyMask(&next.Fields, f, mask); err != nil {
		return nil, err
	}
	next.Normalize()
	if err := next.Validate("resource."); err != nil {
		return nil, err
	}
	if err := s.checkLint(ctx, next.Fields, "resource."); err != nil {
		return nil, err
	}
	if err := canWrite(p, prev.TargetSites, next.TargetSites); err != nil {
		return nil, err
	}
	if err := s.checkSites(ctx, "resource.target_sites", newSites(prev.TargetSites, next.TargetSites)); err != nil {
		return nil, err
	}
	changed := changedFields(prev.Fields, next.Fields)
	if len(changed) == 0 {
		return prev, nil
	}
	return s.write(ctx, prev, next, Change{Actor: p.KeyName, Action: "update", Fields: changed})
}

// newSites returns the sites of next that prev did not target: only those must be live (a
// resource may stay on a site that was deleted meanwhile).
func newSites(prev, next []string) []string {
	var out []string
	for _, s := range next {
		if !slices.Contains(prev, s) {
			out = append(out, s)
		}
	}
	return out
}

func (s *Service) write(ctx context.Context, prev, next *Resource, c Change) (*Resource, error) {
	c.Time = s.now()
	next.RevisionID = prev.RevisionID + 1
	next.UpdateTime = c.Time
	if err := s.store.UpdateResource(ctx, prev, next, c); err != nil {
		return nil, err
	}
	return next, nil
}

// Delete soft-deletes a resource.
func (s *Service) Delete(ctx context.Context, p auth.Principal, id, etag string) (*Resource, error) {
	prev, err := s.getForWrite(ctx, p, id)
	if err != nil {
		return nil, err
	}
	if err := checkEtag(prev, etag, false); err != nil {
		return nil, err
	}
	if prev.Deleted() {
		return prev, nil
	}
	next := prev.clone()
	next.DeleteTime = s.now()
	return s.write(ctx, prev, next, Change{Actor: p.KeyName, Action: "delete", Fields: []string{"delete_time"}})
}

// Undelete restores a soft-deleted resource as it was.
func (s *Service) Undelete(ctx context.Context, p auth.Principal, id string) (*Resource, error) {
	prev, err := s.getForWrite(ctx, p, id)
	if err != nil {
		return nil, err
	}
	if !prev.Deleted() {
		return prev, nil
	}
	next := prev.clone()
	next.DeleteTime = time.Time{}
	return s.write(ctx, prev, next, Change{Actor: p.KeyName, Action: "undelete", Fields: []string{"delete_time"}})
}

// Verify stamps today's date (UTC) and p's key name as the last verification.
func (s *Service) Verify(ctx context.Context, p auth.Principal, id, etag string) (*Resource, error) {
	prev, err := s.getForWrite(ctx, p, id)
	if err != nil {
		return nil, err
	}
	if prev.Deleted() {
		return nil, apperr.New(apperr.FailedPrecondition, "resource %q is deleted; undelete it first", prev.Name())
	}
	if err := checkEtag(prev, etag, false); err != nil {
		return nil, err
	}
	next := prev.clone()
	next.Verified = Verification{Date: DateOf(s.now().UTC()), Verifier: p.KeyName}
	return s.write(ctx, prev, next, Change{Actor: p.KeyName, Action: "verify", Fields: []string{"last_verified_date", "verifier"}})
}

// ListRevisions returns revisions of a resource newest first, starting below before (0: from the
// newest), at most limit. Revisions are read by id, so this touches the store by _id only.
func (s *Service) ListRevisions(ctx context.Context, p auth.Principal, id string, before int64, limit int) ([]Revision, error) {
	r, err := s.Get(ctx, p, id)
	if err != nil {
		return nil, err
	}
	start := r.RevisionID
	if before > 0 && before-1 < start {
		start = before - 1
	}
	var out []Revision
	for rev := start; rev >= 1 && len(out) < limit; rev-- {
		revision, err := s.store.GetRevision(ctx, id, rev)
		if apperr.Is(err, apperr.NotFound) {
			continue // a revision record lost to a crash between the write and its record
		}
		if err != nil {
			return nil, err
		}
		if p.Site != "" && !slices.Contains(revision.Resource.TargetSites, p.Site) {
			continue
		}
		out = append(out, revision)
	}
	return out, nil
}

// List returns the resources p may see that match q (its Sites is narrowed to p's site).
func (s *Service) List(ctx context.Context, p auth.Principal, q ResourceQuery) ([]*Resource, error) {
	if p.Site != "" {
		if q.Sites != nil && !slices.Contains(q.Sites, p.Site) {
			return nil, nil
		}
		q.Sites = []string{p.Site}
	}
	return s.lister.ListResources(ctx, q)
}

func (r *Resource) clone() *Resource {
	c := *r
	c.Fields = r.Fields.clone()
	return &c
}

func (f Fields) clone() Fields {
	c := f
	c.TaxonomyTerms = slices.Clone(f.TaxonomyTerms)
	c.Phones = slices.Clone(f.Phones)
	for i := range c.Phones {
		c.Phones[i].Languages = slices.Clone(f.Phones[i].Languages)
	}
	c.Locations = slices.Clone(f.Locations)
	for i, l := range c.Locations {
		if l.Coordinates != nil {
			ll := *l.Coordinates
			c.Locations[i].Coordinates = &ll
		}
	}
	c.Hours.Periods = slices.Clone(f.Hours.Periods)
	c.Hours.Closures = slices.Clone(f.Hours.Closures)
	c.Languages = slices.Clone(f.Languages)
	c.Costs = slices.Clone(f.Costs)
	c.ServiceAreas = slices.Clone(f.ServiceAreas)
	for i := range c.ServiceAreas {
		c.ServiceAreas[i].PostalCodes = slices.Clone(f.ServiceAreas[i].PostalCodes)
	}
	c.ExternalIDs = slices.Clone(f.ExternalIDs)
	c.TargetSites = slices.Clone(f.TargetSites)
	return c
}

// fieldAccess names each writable field by its proto name, with a function returning a pointer to
// it, for update masks and change lists.
var fieldAccess = []struct {
	name string
	ptr  func(*Fields) any
}{
	{"display_name", func(f *Fields) any { return &f.DisplayName }},
	{"organization_name", func(f *Fields) any { return &f.OrganizationName }},
	{"kind", func(f *Fields) any { return &f.Kind }},
	{"taxonomy_terms", func(f *Fields) any { return &f.TaxonomyTerms }},
	{"description", func(f *Fields) any { return &f.Description }},
	{"website", func(f *Fields) any { return &f.Website }},
	{"email", func(f *Fields) any { return &f.Email }},
	{"phones", func(f *Fields) any { return &f.Phones }},
	{"locations", func(f *Fields) any { return &f.Locations }},
	{"hours", func(f *Fields) any { return &f.Hours }},
	{"languages", func(f *Fields) any { return &f.Languages }},
	{"costs", func(f *Fields) any { return &f.Costs }},
	{"cost_description", func(f *Fields) any { return &f.CostDescription }},
	{"eligibility", func(f *Fields) any { return &f.Eligibility }},
	{"service_areas", func(f *Fields) any { return &f.ServiceAreas }},
	{"status", func(f *Fields) any { return &f.Status }},
	{"crisis", func(f *Fields) any { return &f.Crisis }},
	{"external_ids", func(f *Fields) any { return &f.ExternalIDs }},
	{"target_sites", func(f *Fields) any { return &f.TargetSites }},
	{"editor_notes", func(f *Fields) any { return &f.EditorNotes }},
}

// WritableFields lists the proto names of the fields an update mask may name.
func WritableFields() []string {
	out := make([]string, len(fieldAccess))
	for i, a := range fieldAccess {
		out[i] = a.name
	}
	return out
}

// applyMask copies the fields named in mask from src to dst; an empty mask copies all.
func applyMask(dst *Fields, src Fields, mask []string) error {
	if len(mask) == 0 {
		*dst = src.clone()
		return nil
	}
	var v violations
	for i, path := range mask {
		found := false
		for _, a := range fieldAccess {
			if a.name == path {
				reflect.ValueOf(a.ptr(dst)).Elem().Set(reflect.ValueOf(a.ptr(&src)).Elem())
				found = true
				break
			}
		}
		if !found {
			v.add(fmt.Sprintf("update_mask.paths[%d]", i), "%q is not a writable field (writable: %v)", path, WritableFields())
		}
	}
	return v.Err()
}

// changedFields returns the proto names of the fields that differ between a and b.
func changedFields(a, b Fields) []string {
	var out []string
	for _, f := range fieldAccess {
		if !reflect.DeepEqual(reflect.ValueOf(f.ptr(&a)).Elem().Interface(), reflect.ValueOf(f.ptr(&b)).Elem().Interface()) {
			out = append(out, f.name)
		}
	}
	return out
}
