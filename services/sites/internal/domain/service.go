package domain

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/beaconcms/beacon/platform/apperr"
	"github.com/beaconcms/beacon/platform/auth"
	"github.com/beaconcms/beacon/platform/claimlint"
	"github.com/beaconcms/beacon/platform/siteid"
)

// Service applies the site rules. Every method takes the calling principal: a key limited to
// one site sees only that site, and any other is reported exactly like a missing one. Safe for
// concurrent use.
type Service struct {
	store  Store
	now    func() time.Time
	logger *slog.Logger
	// lintRules are the rule ids of the embedded clinical-claim rules file: a site's lint tuning
	// may name only these.
	lintRules []string

	mu       sync.Mutex
	watchers []func(Site)
}

// NewService returns a Service on store. now may be nil for time.Now; a nil logger discards.
func NewService(store Store, now func() time.Time, logger *slog.Logger) *Service {
	if now == nil {
		now = time.Now
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	// The embedded rules file is the binary's own (its tests parse it): it cannot fail here.
	lintRules, err := claimlint.RuleIDs(claimlint.Builtin())
	if err != nil {
		panic(fmt.Sprintf("sites: the embedded lint rules: %v", err))
	}
	return &Service{store: store, now: func() time.Time { return now().UTC().Truncate(time.Millisecond) }, logger: logger, lintRules: lintRules}
}

// Watch registers fn, which is called synchronously, after every successful write of this
// Service, with a copy of the site as written (deleted ones included). In-process site catalogs
// use it to see a write at once. fn must be quick and must not call back into the Service.
func (s *Service) Watch(fn func(Site)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.watchers = append(s.watchers, fn)
}

func (s *Service) written(site *Site) {
	s.mu.Lock()
	watchers := s.watchers
	s.mu.Unlock()
	for _, fn := range watchers {
		fn(*site)
	}
}

// CreateSite creates a site with the given id. The id of a deleted site stays taken: creating
// it again is AlreadyExists, telling the caller to undelete it.
func (s *Service) CreateSite(ctx context.Context, p auth.Principal, site *Site) (*Site, error) {
	if !siteid.Valid(site.ID) {
		return nil, apperr.InvalidField("site_id", "must be "+siteid.Rule)
	}
	if p.Site != "" {
		return nil, apperr.New(apperr.PermissionDenied, "only keys for all sites can create sites")
	}
	site.normalize()
	if err := site.validate("site.", s.lintRules); err != nil {
		return nil, err
	}
	now := s.now()
	site.CreateTime, site.UpdateTime, site.DeleteTime, site.Revision = now, now, time.Time{}, 1
	if err := s.store.Create(ctx, site); err != nil {
		if apperr.Is(err, apperr.AlreadyExists) {
			if cur, getErr := s.store.Get(ctx, site.ID); getErr == nil && cur.Deleted() {
				return nil, apperr.New(apperr.AlreadyExists,
					"%s exists and is deleted; site ids are never reused: undelete it (POST /v1/%s:undelete)", site.Name(), site.Name())
			}
		}
		return nil, err
	}
	s.written(site)
	return site, nil
}

// GetSite returns a site the caller's key covers, deleted or not.
func (s *Service) GetSite(ctx context.Context, p auth.Principal, id string) (*Site, error) {
	if !p.CoversSite(id) {
		return nil, siteNotFound(id)
	}
	return s.store.Get(ctx, id)
}

// ListSites lists the sites the caller's key covers, ordered by id, after afterID; deleted
// ones only when showDeleted.
func (s *Service) ListSites(ctx context.Context, p auth.Principal, afterID string, limit int, showDeleted bool) ([]*Site, error) {
	if p.Site == "" {
		return s.store.List(ctx, afterID, limit, showDeleted)
	}
	if afterID >= p.Site {
		return nil, nil
	}
	site, err := s.store.Get(ctx, p.Site)
	switch {
	case apperr.Is(err, apperr.NotFound):
		return nil, nil
	case err != nil:
		return nil, err
	case site.Deleted() && !showDeleted:
		return nil, nil
	}
	return []*Site{site}, nil
}

// Fields are the writable fields of a site, in proto names.
var Fields = []string{"display_name", "base_url", "default_locale", "crisis_line_text", "public", "cache_max_age_seconds",
	"resource_stale_after_days", "hide_stale_resources", "commercial",
	"review_validity_months", "publish_gates", "example_content", "lint_tuning", "allowed_origins"}

// UpdateSite copies the named fields (all writable ones when fields is nil) from patch. A
// non-empty etag must match the stored site. A deleted site cannot be changed.
func (s *Service) UpdateSite(ctx context.Context, p auth.Principal, patch *Site, fields []string, etag string) (*Site, error) {
	if fields == nil {
		fields = Fields
	}
	return s.mutate(ctx, p, patch.ID, etag, func(next *Site) error {
		if next.Deleted() {
			return apperr.New(apperr.FailedPrecondition, "%s is deleted; undelete it first", next.Name())
		}
		for _, f := range fields {
			switch f {
			case "display_name":
				next.DisplayName = patch.DisplayName
			case "base_url":
				next.BaseURL = patch.BaseURL
			case "default_locale":
				next.DefaultLocale = patch.DefaultLocale
			case "crisis_line_text":
				next.CrisisLineText = patch.CrisisLineText
			case "public":
				next.Public = patch.Public
			case "cache_max_age_seconds":
				next.CacheMaxAgeSeconds = patch.CacheMaxAgeSeconds
			case "resource_stale_after_days":
				next.ResourceStaleAfterDays = patch.ResourceStaleAfterDays
			case "hide_stale_resources":
				next.HideStaleResources = patch.HideStaleResources
			case "commercial":
				next.Commercial = patch.Commercial
			case "review_validity_months":
				next.ReviewValidityMonths = patch.ReviewValidityMonths
			case "publish_gates":
				next.PublishGates = patch.PublishGates
			case "example_content":
				next.ExampleContent = patch.ExampleContent
			case "lint_tuning":
				next.LintTuning = patch.LintTuning
			case "allowed_origins":
				next.AllowedOrigins = slices.Clone(patch.AllowedOrigins)
			default:
				return apperr.InvalidField("update_mask", "field %q cannot be updated; writable fields: %s", f, strings.Join(Fields, ", "))
			}
		}
		next.normalize()
		return next.validate("site.", s.lintRules)
	})
}

// DeleteSite soft-deletes a site (AIP-164): it keeps everything and sets DeleteTime. Every
// service hides a deleted site's content and refuses writes to it and its API keys; the id is
// never reused. A non-empty etag must match. Only keys for all sites may delete.
func (s *Service) DeleteSite(ctx context.Context, p auth.Principal, id, etag string) (*Site, error) {
	if p.Site != "" {
		if !p.CoversSite(id) {
			return nil, siteNotFound(id)
		}
		return nil, apperr.New(apperr.PermissionDenied, "only keys for all sites can delete sites")
	}
	return s.mutate(ctx, p, id, etag, func(next *Site) error {
		if next.Deleted() {
			return apperr.New(apperr.FailedPrecondition, "%s is already deleted", next.Name())
		}
		next.DeleteTime = s.now()
		return nil
	})
}

// UndeleteSite restores a soft-deleted site as it was. Only keys for all sites may undelete.
func (s *Service) UndeleteSite(ctx context.Context, p auth.Principal, id string) (*Site, error) {
	if p.Site != "" {
		if !p.CoversSite(id) {
			return nil, siteNotFound(id)
		}
		return nil, apperr.New(apperr.PermissionDenied, "only keys for all sites can undelete sites")
	}
	return s.mutate(ctx, p, id, "", func(next *Site) error {
		if !next.Deleted() {
			return apperr.New(apperr.FailedPrecondition, "%s is not deleted", next.Name())
		}
		next.DeleteTime = time.Time{}
		return nil
	})
}

// mutate loads the site, checks access and etag, applies change to a copy and writes it
// conditionally on the revision it read.
func (s *Service) mutate(ctx context.Context, p auth.Principal, id, etag string, change func(next *Site) error) (*Site, error) {
	cur, err := s.GetSite(ctx, p, id)
	if err != nil {
		return nil, err
	}
	if etag != "" && etag != cur.Etag() {
		return nil, apperr.New(apperr.Conflict, "the site changed since you read it (etag mismatch); fetch it again and reapply your change")
	}
	next := *cur
	if err := change(&next); err != nil {
		return nil, err
	}
	next.Revision = cur.Revision + 1
	next.UpdateTime = s.now()
	if err := s.store.Update(ctx, &next, cur.Revision); err != nil {
		return nil, err
	}
	s.written(&next)
	return &next, nil
}

func siteNotFound(id string) error { return apperr.New(apperr.NotFound, "sites/%s not found", id) }
