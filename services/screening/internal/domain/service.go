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
	"time"

	"github.com/beaconcms/beacon/platform/apperr"
	"github.com/beaconcms/beacon/platform/auth"
)

// Service holds the editorial rules of questionnaires: validation, site scope, etags, versions
// and revisions.
//
// Site scope: a key for one site sees a questionnaire only when its draft targets that site, and
// changes it only when the draft (before and after the change) targets no other site.
type Service struct {
	store  QuestionnaireStore
	sites  SiteCatalog
	now    func() time.Time
	newID  func() string
	logger *slog.Logger
}

// NewService returns a Service. now and newID may be nil for time.Now and random ids.
func NewService(store QuestionnaireStore, sites SiteCatalog, now func() time.Time, newID func() string, logger *slog.Logger) *Service {
	if now == nil {
		now = time.Now
	}
	if newID == nil {
		newID = func() string { return strings.ToLower(rand.Text()[:16]) }
	}
	return &Service{store: store, sites: sites, now: func() time.Time { return now().UTC().Truncate(time.Millisecond) }, newID: newID, logger: logger}
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
	return &c
}

func notFound(id string) error {
	return apperr.New(apperr.NotFound, "questionnaire %q not found", "questionnaires/"+id)
}

func visible(p auth.Principal, q *Questionnaire) bool {
	return p.Site == "" || slices.Contains(q.Draft.TargetSites, p.Site)
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
	return q, canWrite(p, q.Draft.TargetSites)
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
	now := s.now()
	q := &Questionnaire{ID: s.newID(), Draft: c, State: StateDraft, Version: 1, RevisionID: 1, Creator: p.KeyName, CreateTime: now, UpdateTime: now}
	if err := s.store.CreateQuestionnaire(ctx, q, Change{Actor: p.KeyName, Action: "create", Time: now}); err != nil {
		return nil, err
	}
	return q, nil
}

// Get returns a questionnaire p may see, deleted or not.
func (s *Service) Get(ctx context.Context, p auth.Principal, id string) (*Questionnaire, error) {
	q, err := s.store.GetQuestionnaire(ctx, id)
	if err != nil {
		return nil, err
	}
	if !visible(p, q) {
		return nil, notFound(id)
	}
	return q, nil
}

// Update replaces the draft by c (the API applies the update mask to the stored draft first).
// The etag is required. Editing a draft that is the newest published version starts the next
// version; published versions never change.
func (s *Service) Update(ctx context.Context, p auth.Principal, id, etag string, c Content, fields []string) (*Questionnaire, error) {
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
	return q, nil
}

// Delete soft-deletes a questionnaire: sites stop serving it.
func (s *Service) Delete(ctx context.Context, p auth.Principal, id, etag string) (*Questionnaire, error) {
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

// Undelete restores a soft-deleted questionnaire as it was; ALREADY_EXISTS when it is not deleted.
func (s *Service) Undelete(ctx context.Context, p auth.Principal, id string) (*Questionnaire, error) {
	prev, err := s.getForWrite(ctx, p, id)
	if err != nil {
		return nil, err
	}
	if !prev.Deleted() {
		return nil, apperr.New(apperr.AlreadyExists, "questionnaire %q is not deleted", prev.Name())
	}
	next := prev.clone()
	next.DeleteTime = time.Time{}
	return s.write(ctx, prev, next, Change{Actor: p.KeyName, Action: "undelete", Fields: []string{"delete_time"}})
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
