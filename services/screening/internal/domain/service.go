package domain

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/beaconcms/beacon/platform/apperr"
	"github.com/beaconcms/beacon/platform/auth"
)

// Service holds the editorial rules of questionnaires: validation, site scope, slug uniqueness,
// etags, versions and revisions.
//
// Site scope: a key for one site sees a questionnaire when its draft or its live version targets
// that site, and changes it only when neither the draft (before and after the change) nor the
// live version targets another site.
//
// The Service keeps an in-memory copy of every questionnaire (deleted ones included), loaded once
// at start (Load) and updated by its own writes, which answers lists and slug checks without a
// store query. That copy is current because the screening service is its database's only writer
// and one screening process writes a database (see the store package); writes are serialized
// in process so that a slug check and its write cannot interleave with another's.
type Service struct {
	store  QuestionnaireStore
	sites  SiteCatalog
	linter Linter // the clinical-claim lint: a write whose texts have an error is refused
	now    func() time.Time
	newID  func() string
	logger *slog.Logger

	writeMu sync.Mutex // serializes writes: slug check, store write, copy update
	mu      sync.RWMutex
	all     map[string]*Questionnaire // every questionnaire by id; values are never modified
	served  Servable                  // told of every change of what sites serve; may be nil
}

// Servable is what serves published questionnaires to sites (the Delivery): the Service hands it
// a questionnaire's published versions whenever they or its deleted state change.
type Servable interface {
	Put(q *Questionnaire, versions []*Version) error
}

// NewService returns a Service. now and newID may be nil for time.Now and random ids. linter
// checks every questionnaire written (see checkLint).
func NewService(store QuestionnaireStore, sites SiteCatalog, linter Linter, now func() time.Time, newID func() string, logger *slog.Logger) *Service {
	if now == nil {
		now = time.Now
	}
	if newID == nil {
		newID = func() string { return strings.ToLower(rand.Text()[:16]) }
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Service{store: store, sites: sites, linter: linter, now: func() time.Time { return now().UTC().Truncate(time.Millisecond) }, newID: newID, logger: logger,
		all: map[string]*Questionnaire{}}
}

// Load reads every questionnaire into the in-memory copy and hands the published ones to served
// (nil: none). Call it once, at start, before serving requests.
func (s *Service) Load(ctx context.Context, served Servable) error {
	list, err := s.store.ListQuestionnaires(ctx)
	if err != nil {
		return err
	}
	s.mu.Lock()
	for _, q := range list {
		s.all[q.ID] = q
	}
	s.served = served
	s.mu.Unlock()
	for _, q := range list {
		if err := s.serve(ctx, q); err != nil {
			return err
		}
	}
	return nil
}

// serve hands q's published versions to the Servable.
func (s *Service) serve(ctx context.Context, q *Questionnaire) error {
	s.mu.RLock()
	served := s.served
	s.mu.RUnlock()
	if served == nil || q.PublishedVersion == 0 {
		return nil
	}
	versions, err := s.Versions(ctx, q)
	if err != nil {
		return err
	}
	return served.Put(q, versions)
}

// remember puts q in the in-memory copy.
func (s *Service) remember(q *Questionnaire) {
	s.mu.Lock()
	s.all[q.ID] = q.clone()
	s.mu.Unlock()
}

// ListQuery selects and orders questionnaires for List.
type ListQuery struct {
	ShowDeleted bool
	// Match, when set, keeps only questionnaires for which it is true.
	Match func(*Questionnaire) bool
	// Less orders the list; ties are broken by id.
	Less func(a, b *Questionnaire) bool
	// After, when set, keeps only questionnaires for which it is true (the page token's cursor).
	After func(*Questionnaire) bool
	Limit int
}

// List returns the questionnaires p may see, from memory. A questionnaire is listed while one
// of its sites (draft or live) is not deleted, or it targets none, unless ShowDeleted; deleted
// questionnaires only with ShowDeleted.
func (s *Service) List(ctx context.Context, p auth.Principal, q ListQuery) ([]*Questionnaire, error) {
	s.mu.RLock()
	candidates := make([]*Questionnaire, 0, len(s.all))
	for _, x := range s.all {
		candidates = append(candidates, x)
	}
	s.mu.RUnlock()
	deletedSite := map[string]bool{}
	siteDeleted := func(id string) bool {
		d, seen := deletedSite[id]
		if !seen {
			st, err := s.sites.Site(ctx, id)
			d = err == nil && st.Exists && st.Deleted
			deletedSite[id] = d
		}
		return d
	}
	var out []*Questionnaire
	for _, x := range candidates {
		if !visible(p, x) || (q.Match != nil && !q.Match(x)) || (q.After != nil && !q.After(x)) {
			continue
		}
		if !q.ShowDeleted {
			if x.Deleted() {
				continue
			}
			sites := append(slices.Clone(x.Draft.TargetSites), x.LiveSites...)
			if len(sites) > 0 && !slices.ContainsFunc(sites, func(id string) bool { return !siteDeleted(id) }) {
				continue
			}
		}
		out = append(out, x)
	}
	slices.SortFunc(out, func(a, b *Questionnaire) int {
		switch {
		case q.Less != nil && q.Less(a, b):
			return -1
		case q.Less != nil && q.Less(b, a):
			return 1
		}
		return strings.Compare(a.ID, b.ID)
	})
	if q.Limit > 0 && len(out) > q.Limit {
		out = out[:q.Limit]
	}
	for i, x := range out {
		v, err := s.viewFor(ctx, p, x.clone())
		if err != nil {
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}

// checkSlug refuses content whose slug another live (not deleted) questionnaire uses, as a
// draft or as its live version, on one of the same sites. self is the questionnaire being
// written ("" for a new one).
func (s *Service) checkSlug(c Content, self string) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, o := range s.all {
		if o.ID == self || o.Deleted() {
			continue
		}
		for _, site := range c.TargetSites {
			if (o.Draft.Slug == c.Slug && slices.Contains(o.Draft.TargetSites, site)) || (o.LiveSlug == c.Slug && slices.Contains(o.LiveSites, site)) {
				return apperr.New(apperr.AlreadyExists, "questionnaire.slug %q is already used on site %q by %s", c.Slug, "sites/"+site, o.Name())
			}
		}
	}
	return nil
}

// Etag is the opaque version of a questionnaire's draft.
func (q *Questionnaire) Etag() string {
	sum := sha256.Sum256([]byte("questionnaire\x00" + q.ID + "\x00" + strconv.FormatInt(q.RevisionID, 10)))
	return hex.EncodeToString(sum[:10])
}

// Name is the questionnaire's resource name.
func (q *Questionnaire) Name() string { return "questionnaires/" + q.ID }

func (q *Questionnaire) clone() *Questionnaire {
	c := *q
	c.Draft = q.Draft.Clone()
	c.LiveSites = slices.Clone(q.LiveSites)
	return &c
}

func notFound(id string) error {
	return apperr.New(apperr.NotFound, "questionnaire %q not found", "questionnaires/"+id)
}

func visible(p auth.Principal, q *Questionnaire) bool {
	return p.Site == "" || slices.Contains(q.Draft.TargetSites, p.Site) || slices.Contains(q.LiveSites, p.Site)
}

// canWrite checks that p's key covers every site in the lists.
func canWrite(p auth.Principal, lists ...[]string) error {
	if p.Site == "" {
		return nil
	}
	for _, list := range lists {
		for _, s := range list {
			if s != p.Site {
				return apperr.New(apperr.PermissionDenied, "the key is for site %q; this change concerns site %q too", "sites/"+p.Site, "sites/"+s)
			}
		}
	}
	return nil
}

func checkEtag(q *Questionnaire, etag string, required bool) error {
	switch {
	case etag == "" && required:
		return apperr.InvalidField("questionnaire.etag", "is required: send the etag of the version you changed")
	case etag != "" && etag != q.Etag():
		return apperr.New(apperr.Conflict, "questionnaire %q changed since it was read: re-read and retry", q.Name())
	}
	return nil
}

func (s *Service) getForWrite(ctx context.Context, p auth.Principal, id string) (*Questionnaire, error) {
	q, err := s.store.GetQuestionnaire(ctx, id)
	if err != nil {
		return nil, err
	}
	if !visible(p, q) {
		return nil, notFound(id)
	}
	return q, canWrite(p, q.Draft.TargetSites, q.LiveSites)
}

// Create validates content and stores it as a new draft, version 1.
func (s *Service) Create(ctx context.Context, p auth.Principal, c Content) (*Questionnaire, error) {
	c.Normalize()
	if err := canWrite(p, c.TargetSites); err != nil {
		return nil, err
	}
	if err := c.Validate(ctx, s.sites, "questionnaire."); err != nil {
		return nil, err
	}
	if err := s.checkAcknowledgements(c, "questionnaire."); err != nil {
		return nil, err
	}
	if err := s.checkLint(ctx, c, "questionnaire."); err != nil {
		return nil, err
	}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	if err := s.checkSlug(c, ""); err != nil {
		return nil, err
	}
	now := s.now()
	q := &Questionnaire{ID: s.newID(), Draft: c, State: StateDraft, Version: 1, RevisionID: 1, Creator: p.KeyName, CreateTime: now, UpdateTime: now}
	if err := s.store.CreateQuestionnaire(ctx, q, Change{Actor: p.KeyName, Action: "create", Time: now}); err != nil {
		return nil, err
	}
	s.remember(q)
	return q, nil
}

// Get returns a questionnaire p may see, deleted or not, as p may see it (viewFor).
func (s *Service) Get(ctx context.Context, p auth.Principal, id string) (*Questionnaire, error) {
	q, err := s.store.GetQuestionnaire(ctx, id)
	if err != nil {
		return nil, err
	}
	if !visible(p, q) {
		return nil, notFound(id)
	}
	return s.viewFor(ctx, p, q)
}

// viewFor returns what p sees of a questionnaire it may see: all of it with a key for all sites
// or for a site the draft targets; with a key for a site only the live version targets, the
// live version's content in place of the draft (the draft is on its way to other sites and is
// not that site's business), as for articles.
func (s *Service) viewFor(ctx context.Context, p auth.Principal, q *Questionnaire) (*Questionnaire, error) {
	if p.Site == "" || slices.Contains(q.Draft.TargetSites, p.Site) {
		return q, nil
	}
	v, err := s.store.GetVersion(ctx, q.ID, q.PublishedVersion)
	if err != nil {
		return nil, err
	}
	view := q.clone()
	view.Draft, view.Version = v.Content.Clone(), v.Number
	return view, nil
}

// Update replaces the draft by c (the API applies the update mask to the stored draft first).
// The etag is required. Editing a draft that is the newest published version starts the next
// version; published versions never change.
func (s *Service) Update(ctx context.Context, p auth.Principal, id, etag string, c Content, fields []string) (*Questionnaire, error) {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	prev, err := s.getForWrite(ctx, p, id)
	if err != nil {
		return nil, err
	}
	if prev.Deleted() {
		return nil, apperr.New(apperr.FailedPrecondition, "questionnaire %q is deleted; undelete it first", prev.Name())
	}
	if err := checkEtag(prev, etag, true); err != nil {
		return nil, err
	}
	c.Normalize()
	if err := canWrite(p, c.TargetSites); err != nil {
		return nil, err
	}
	if err := c.Validate(ctx, s.sites, "questionnaire."); err != nil {
		return nil, err
	}
	if err := s.checkAcknowledgements(c, "questionnaire."); err != nil {
		return nil, err
	}
	if err := s.checkLint(ctx, c, "questionnaire."); err != nil {
		return nil, err
	}
	if err := s.checkSlug(c, id); err != nil {
		return nil, err
	}
	next := prev.clone()
	next.Edit(c, s.now())
	return s.write(ctx, prev, next, Change{Actor: p.KeyName, Action: "update", Fields: fields})
}

func (s *Service) write(ctx context.Context, prev, next *Questionnaire, c Change) (*Questionnaire, error) {
	c.Time = s.now()
	next.RevisionID = prev.RevisionID + 1
	next.UpdateTime = c.Time
	if err := s.store.UpdateQuestionnaire(ctx, prev, next, c); err != nil {
		return nil, err
	}
	s.remember(next)
	return next, nil
}

// Publish freezes the draft as its version and makes it the one sites serve. The draft is
// validated again (sites may have changed since it was saved). Publishing an already published
// draft only makes sure its version is stored.
//
// The questionnaire is written before the version: a crash in between leaves a questionnaire
// whose published version is missing, which the next Publish stores (the draft cannot change in
// between without starting a new version).
func (s *Service) Publish(ctx context.Context, p auth.Principal, id, etag string) (*Questionnaire, error) {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	prev, err := s.getForWrite(ctx, p, id)
	if err != nil {
		return nil, err
	}
	if prev.Deleted() {
		return nil, apperr.New(apperr.FailedPrecondition, "questionnaire %q is deleted; undelete it first", prev.Name())
	}
	if err := checkEtag(prev, etag, false); err != nil {
		return nil, err
	}
	if err := prev.Draft.Validate(ctx, s.sites, "questionnaire."); err != nil {
		return nil, err
	}
	// The lint too: a site's tuning (or the rules) may have made an error of a saved text, and
	// every warning needs an acknowledgement.
	if err := s.checkPublishLint(ctx, prev.Draft, "questionnaire."); err != nil {
		return nil, err
	}
	q := prev
	if !prev.DraftIsPublished() {
		next := prev.clone()
		next.Publish(s.now())
		if q, err = s.write(ctx, prev, next, Change{Actor: p.KeyName, Action: "publish", Fields: []string{"state", "published_version"}}); err != nil {
			return nil, err
		}
	}
	if err := s.store.PutVersion(ctx, q.clone().Publish(q.PublishTime)); err != nil {
		return nil, err
	}
	if err := s.serve(ctx, q); err != nil {
		return nil, err
	}
	return q, nil
}

// Delete soft-deletes a questionnaire: sites stop serving it.
func (s *Service) Delete(ctx context.Context, p auth.Principal, id, etag string) (*Questionnaire, error) {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
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
	q, err := s.write(ctx, prev, next, Change{Actor: p.KeyName, Action: "delete", Fields: []string{"delete_time"}})
	if err != nil {
		return nil, err
	}
	return q, s.serve(ctx, q)
}

// Undelete restores a soft-deleted questionnaire as it was; ALREADY_EXISTS when it is not deleted.
func (s *Service) Undelete(ctx context.Context, p auth.Principal, id string) (*Questionnaire, error) {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	prev, err := s.getForWrite(ctx, p, id)
	if err != nil {
		return nil, err
	}
	if !prev.Deleted() {
		return nil, apperr.New(apperr.AlreadyExists, "questionnaire %q is not deleted", prev.Name())
	}
	if err := s.checkSlug(prev.Draft, id); err != nil {
		return nil, err
	}
	if prev.LiveSlug != "" {
		live := prev.Draft
		live.Slug, live.TargetSites = prev.LiveSlug, prev.LiveSites
		if err := s.checkSlug(live, id); err != nil {
			return nil, err
		}
	}
	next := prev.clone()
	next.DeleteTime = time.Time{}
	q, err := s.write(ctx, prev, next, Change{Actor: p.KeyName, Action: "undelete", Fields: []string{"delete_time"}})
	if err != nil {
		return nil, err
	}
	return q, s.serve(ctx, q)
}

// Versions returns the stored published versions of q, oldest first. A version lost to a crash
// before Publish stored it is skipped.
func (s *Service) Versions(ctx context.Context, q *Questionnaire) ([]*Version, error) {
	var out []*Version
	for n := int64(1); n <= q.PublishedVersion; n++ {
		v, err := s.store.GetVersion(ctx, q.ID, n)
		if apperr.Is(err, apperr.NotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// ListRevisions returns revisions newest first, starting below before (0: from the newest), at
// most limit; a key for one site gets only revisions whose draft targeted its site.
func (s *Service) ListRevisions(ctx context.Context, p auth.Principal, id string, before int64, limit int) ([]Revision, error) {
	q, err := s.Get(ctx, p, id)
	if err != nil {
		return nil, err
	}
	start := q.RevisionID
	if before > 0 && before-1 < start {
		start = before - 1
	}
	var out []Revision
	for rev := start; rev >= 1 && len(out) < limit; rev-- {
		r, err := s.store.GetRevision(ctx, id, rev)
		if apperr.Is(err, apperr.NotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if p.Site != "" && !slices.Contains(r.Questionnaire.Draft.TargetSites, p.Site) {
			continue
		}
		out = append(out, r)
	}
	return out, nil
}

// GetVersion returns published version number of a questionnaire p may see.
func (s *Service) GetVersion(ctx context.Context, p auth.Principal, id string, number int64) (*Version, error) {
	q, err := s.Get(ctx, p, id)
	if err != nil {
		return nil, err
	}
	if number < 1 || number > q.PublishedVersion {
		return nil, apperr.InvalidField("version", "must be a published version of %s (1 to %d), or 0 for the draft", q.Name(), q.PublishedVersion)
	}
	return s.store.GetVersion(ctx, id, number)
}
