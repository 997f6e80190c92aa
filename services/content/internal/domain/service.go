package domain

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"fmt"
	"log/slog"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/beaconcms/beacon/platform/apperr"
	"github.com/beaconcms/beacon/platform/auth"
	"github.com/beaconcms/beacon/platform/listfilter"
	"github.com/beaconcms/beacon/platform/loop"
	"github.com/beaconcms/beacon/platform/markdown"
)

// SchedulerActor is the actor recorded on revisions made by scheduled publishing.
const SchedulerActor = "system:scheduler"

// Service applies the content rules: access by site, validation, lifecycle and history.
// Every method takes the calling principal; a caller only ever sees articles that target a site
// its key covers, and anything else is reported exactly like a missing article.
type Service struct {
	articles ArticleStore
	sites    SiteCatalog
	renderer *markdown.Renderer
	now      func() time.Time
	logger   *slog.Logger
	observer Observer
	links    LinkTargets
	linter   Linter

	// deferred holds, by article id, when the scheduler may next try a due article whose
	// publish checks could not run (see PublishDue).
	deferredMu sync.Mutex
	deferred   map[string]time.Time

	scheduler schedulerCounters
}

// schedulerCounters count what RunScheduler did, for SchedulerStats.
type schedulerCounters struct {
	runs, failedRuns, published atomic.Int64
	lagNanos, lastRunNanos      atomic.Int64
}

// SchedulerStats is what the scheduler has done since the service was made.
type SchedulerStats struct {
	Runs, FailedRuns int64
	// Published counts the scheduled articles it published; Lag sums how late each was (its
	// publish time minus its scheduled time).
	Published int64
	Lag       time.Duration
	// LastRun is when the last run ended; zero before the first.
	LastRun time.Time
}

// SchedulerStats reports what the scheduler has done.
func (s *Service) SchedulerStats() SchedulerStats {
	c := &s.scheduler
	out := SchedulerStats{Runs: c.runs.Load(), FailedRuns: c.failedRuns.Load(), Published: c.published.Load(),
		Lag: time.Duration(c.lagNanos.Load())}
	if n := c.lastRunNanos.Load(); n != 0 {
		out.LastRun = time.Unix(0, n)
	}
	return out
}

// recheckDelay is how long the scheduler waits before it tries again a due article whose
// publish checks could not run (a site lookup failed, a screener link could not be checked).
const recheckDelay = time.Minute

// Observer learns, synchronously, of every write this service has just made successfully.
// Delivery read models use it to show changes at once. It must not modify what it is given.
type Observer interface {
	ArticleWritten(a *Article)
}

// Observe registers o. Call it before the service is used.
func (s *Service) Observe(o Observer) { s.observer = o }

func (s *Service) notify(a *Article) {
	if s.observer != nil {
		s.observer.ArticleWritten(a)
	}
}

// NewService returns a Service. now may be nil for time.Now. linter checks drafts against the
// clinical-claim rules: on every write and read it reports findings, and it gates publishing.
func NewService(articles ArticleStore, sites SiteCatalog, renderer *markdown.Renderer, linter Linter, now func() time.Time, logger *slog.Logger) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{articles: articles, sites: sites, renderer: renderer, linter: linter, now: func() time.Time { return now().UTC().Truncate(time.Millisecond) }, logger: logger}
}

// ArticleFilterSchema is the allowlist of fields ListArticles filters accept.
func ArticleFilterSchema() listfilter.Schema {
	t := listfilter.Field{Kind: listfilter.Time}
	s := listfilter.Field{Kind: listfilter.String}
	return listfilter.Schema{
		"state":        {Kind: listfilter.Enum, Values: StateNames()},
		"tag":          s,
		"topic":        s,
		"site":         s,
		"author":       s,
		"update_time":  t,
		"create_time":  t,
		"publish_time": t,
		"review_due":   {Kind: listfilter.Enum, Values: []string{"true", "false"}},
		"title":        {Kind: listfilter.Text},
	}
}

// ---- articles ----

// CreateArticle creates a draft from c.
func (s *Service) CreateArticle(ctx context.Context, p auth.Principal, c Content) (*Article, error) {
	c.Normalize()
	if err := c.Validate("article."); err != nil {
		return nil, err
	}
	if err := s.checkAcknowledgements(c); err != nil {
		return nil, err
	}
	if err := s.checkTargetSites(ctx, p, c.TargetSites); err != nil {
		return nil, err
	}
	now := s.now()
	a := &Article{
		ID:         newID(),
		Draft:      c,
		Rendering:  s.renderer.Render(c.Body),
		State:      StateDraft,
		RevisionID: 1,
		CreateTime: now,
		UpdateTime: now,
		Creator:    p.KeyName,
		LastChange: Change{Actor: p.KeyName, Action: "create", Fields: changedFields(Content{}, c), Time: now},
	}
	if err := s.articles.CreateArticle(ctx, a); err != nil {
		return nil, err
	}
	s.notify(a)
	return s.withLint(ctx, s.withReviewDue(ctx, a)), nil
}

// checkTargetSites verifies that the caller's key covers every site and that each exists and
// is not deleted. A site that does not exist is a bad reference: Invalid naming
// "article.target_sites[i]". A deleted site is a state that forbids the write until the site is
// undeleted: FailedPrecondition naming the same field. (Site ids are never reused, so an
// article can never end up on another site of the same id.)
func (s *Service) checkTargetSites(ctx context.Context, p auth.Principal, sites []string) error {
	for i, id := range sites {
		if !p.CoversSite(id) {
			return apperr.New(apperr.PermissionDenied, "this key is limited to site %q and cannot target site %q", p.Site, id)
		}
		if err := s.checkSite(ctx, fmt.Sprintf("article.target_sites[%d]", i), id); err != nil {
			return err
		}
	}
	return nil
}

// checkSite requires site id to exist and not be deleted, naming field in the error.
func (s *Service) checkSite(ctx context.Context, field, id string) error {
	site, found, err := s.sites.Site(ctx, id)
	switch {
	case err != nil:
		return fmt.Errorf("looking up sites/%s: %w", id, err)
	case !found:
		return apperr.InvalidField(field, "site %q does not exist", id)
	case site.Deleted():
		return apperr.FailedPreconditionField(field, "site %q is deleted; undelete it first", id)
	}
	return nil
}

// siteLive reports whether site id exists and is not deleted.
func (s *Service) siteLive(ctx context.Context, id string) (bool, error) {
	site, found, err := s.sites.Site(ctx, id)
	if err != nil {
		return false, fmt.Errorf("looking up sites/%s: %w", id, err)
	}
	return found && !site.Deleted(), nil
}

// checkDraftSites requires every site the draft targets to exist and not be deleted: a write
// that sends content toward a site (publish, schedule, undelete) needs its sites usable.
func (s *Service) checkDraftSites(ctx context.Context, a *Article) error {
	for i, id := range a.Draft.TargetSites {
		if err := s.checkSite(ctx, fmt.Sprintf("article.target_sites[%d]", i), id); err != nil {
			return err
		}
	}
	return nil
}

// GetArticle returns what the caller may see of an article (see ViewFor).
func (s *Service) GetArticle(ctx context.Context, p auth.Principal, id string) (*Article, error) {
	a, err := s.articles.GetArticle(ctx, id)
	if err != nil {
		return nil, err
	}
	v := ViewFor(p, a)
	if v == nil {
		return nil, articleNotFound(id)
	}
	return s.withLint(ctx, s.withReviewDue(ctx, v)), nil
}

// ListArticles lists what the caller may see of the articles matching q (see ViewFor), in q's
// order, at most q.Limit of them. For a key scoped to one site, the filter and the order apply to
// what the key sees: an article it may see only as a live snapshot is matched and ordered by
// that snapshot (listScoped).
func (s *Service) ListArticles(ctx context.Context, p auth.Principal, q ArticleQuery) ([]*Article, error) {
	list, err := s.listArticles(ctx, p, q)
	for i, a := range list {
		list[i] = s.withReviewDue(ctx, a) // a copy: the index's own entries are shared
	}
	return list, err
}

func (s *Service) listArticles(ctx context.Context, p auth.Principal, q ArticleQuery) ([]*Article, error) {
	if q.Limit <= 0 || q.Limit > 101 {
		return nil, fmt.Errorf("list articles: limit %d out of range", q.Limit)
	}
	q.Now = s.now()
	q.ReviewValidity = func(site string) int { return s.reviewValidity(ctx, site) }
	// A deleted site's articles are hidden from every list until the undelete (unless the
	// caller asks show_deleted): from its site-scoped lists, and from any other list when
	// every site the article is on is deleted (the index leaves those out, from the catalog's
	// memory; no store read).
	if !q.ShowDeleted {
		q.DeletedSites = s.sites.DeletedSites()
	}
	if p.Site != "" {
		if live, err := s.siteLive(ctx, p.Site); err != nil || !live {
			return nil, err
		}
		return s.lintList(ctx, q, func(ctx context.Context, q ArticleQuery) ([]*Article, error) { return s.listScoped(ctx, p.Site, q) })
	}
	if q.Sites != nil && !q.ShowDeleted {
		live := make([]string, 0, len(q.Sites))
		for _, id := range q.Sites {
			ok, err := s.siteLive(ctx, id)
			if err != nil {
				return nil, err
			}
			if ok {
				live = append(live, id)
			}
		}
		q.Sites = live
	}
	for _, c := range q.Conditions {
		if c.Field == "site" && c.Op == listfilter.Eq && !q.ShowDeleted {
			if ok, err := s.siteLive(ctx, c.Value); err != nil || !ok {
				return nil, err
			}
		}
	}
	return s.lintList(ctx, q, s.articles.ListArticles)
}

// lintList runs list and, for full views, adds each article's lint findings.
func (s *Service) lintList(ctx context.Context, q ArticleQuery, list func(context.Context, ArticleQuery) ([]*Article, error)) ([]*Article, error) {
	as, err := list(ctx, q)
	if err != nil || q.Basic {
		return as, err
	}
	for i, a := range as {
		as[i] = s.withLint(ctx, a)
	}
	return as, nil
}

// UpdateArticle copies the named draft fields (all when fields is nil) from patch into the
// article's draft. etag is required and must be current. Sites see nothing of it until the
// next publish.
func (s *Service) UpdateArticle(ctx context.Context, p auth.Principal, id string, patch Content, fields []string, etag string) (*Article, error) {
	if etag == "" {
		return nil, apperr.InvalidField("article.etag", "is required: send the etag of the article you edited")
	}
	if fields == nil {
		fields = contentFieldNames
	}
	return s.mutate(ctx, p, id, etag, func(a *Article) error {
		if a.Deleted() {
			return apperr.New(apperr.FailedPrecondition, "article %s is deleted; undelete it first", a.Name())
		}
		next := a.Draft
		for _, f := range fields {
			if err := applyField(&next, patch, f); err != nil {
				return err
			}
		}
		next.Normalize()
		if err := next.Validate("article."); err != nil {
			return err
		}
		if err := s.checkAcknowledgements(next); err != nil {
			return err
		}
		if err := s.checkTargetSites(ctx, p, next.TargetSites); err != nil {
			return err
		}
		a.LastChange.Action, a.LastChange.Fields = "update", changedFields(a.Draft, next)
		a.setDraft(next, s.renderer)
		return nil
	})
}

func (a *Article) setDraft(c Content, r *markdown.Renderer) {
	if c.Body != a.Draft.Body {
		a.Rendering = r.Render(c.Body)
	}
	a.Draft = c
}

func applyField(dst *Content, src Content, field string) error {
	switch field {
	case "title":
		dst.Title = src.Title
	case "slug":
		dst.Slug = src.Slug
	case "summary":
		dst.Summary = src.Summary
	case "body":
		dst.Body = src.Body
	case "tags":
		dst.Tags = src.Tags
	case "topics":
		dst.Topics = src.Topics
	case "authors":
		dst.Authors = src.Authors
	case "reviewers":
		dst.Reviewers = src.Reviewers
	case "medical_reviewer":
		// Deprecated: the first clinical reviewer (the API puts it first in src.Reviewers).
		dst.Reviewers = WithMedicalReviewer(dst.Reviewers, MedicalReviewer(src.Reviewers))
	case "last_reviewed_date":
		dst.LastReviewedDate = src.LastReviewedDate
	case "citations":
		dst.Citations = src.Citations
	case "seo":
		dst.SEO = src.SEO
	case "seo.meta_title":
		dst.SEO.MetaTitle = src.SEO.MetaTitle
	case "seo.meta_description":
		dst.SEO.MetaDescription = src.SEO.MetaDescription
	case "seo.canonical_url":
		dst.SEO.CanonicalURL = src.SEO.CanonicalURL
	case "seo.social_image_url":
		dst.SEO.SocialImageURL = src.SEO.SocialImageURL
	case "target_sites":
		dst.TargetSites = src.TargetSites
	case "editor_notes":
		dst.EditorNotes = src.EditorNotes
	case "acknowledgements":
		dst.Acknowledgements = src.Acknowledgements
	default:
		return apperr.InvalidField("update_mask", "field %q cannot be updated; writable fields: %s", field, strings.Join(contentFieldNames, ", "))
	}
	return nil
}

// DeleteArticle soft-deletes an article; its slugs become free.
func (s *Service) DeleteArticle(ctx context.Context, p auth.Principal, id, etag string) (*Article, error) {
	return s.mutate(ctx, p, id, etag, func(a *Article) error {
		if a.Deleted() {
			return apperr.New(apperr.FailedPrecondition, "article %s is already deleted", a.Name())
		}
		a.DeleteTime = s.now()
		a.LastChange.Action = "delete"
		return nil
	})
}

// UndeleteArticle restores a soft-deleted article as it was, reclaiming its slugs. A scheduled
// article whose publish time passed while it was deleted is published by the undelete itself
// (revision action "undelete", publish_time the undelete time): it is overdue, as it would be
// after a scheduler outage, and overdue schedules publish as soon as they can. Like the
// scheduler, the undelete runs the publish checks first; a draft that fails them is restored
// with its schedule dropped and the failure recorded (see failSchedule), not published.
func (s *Service) UndeleteArticle(ctx context.Context, p auth.Principal, id string) (*Article, error) {
	return s.mutate(ctx, p, id, "", func(a *Article) error {
		if !a.Deleted() {
			return apperr.New(apperr.FailedPrecondition, "article %s is not deleted", a.Name())
		}
		// A target site may have been deleted since.
		if err := s.checkDraftSites(ctx, a); err != nil {
			return err
		}
		a.DeleteTime = time.Time{}
		a.LastChange.Action = "undelete"
		if now := s.now(); a.State == StateScheduled && !a.ScheduledPublishTime.After(now) {
			// Its time came while it was deleted: publish it now, as the scheduler would have
			// done at once had it not been deleted, and on the same checks. (A schedule still
			// ahead stays as it is.)
			unmet, err := s.unmetPublishChecks(ctx, a)
			switch {
			case err != nil:
				return err
			case onlyUnchecked(unmet):
				// The checks cannot run now: it stays scheduled, and the scheduler tries again.
			case len(unmet) > 0:
				s.failSchedule(ctx, a, now, unmet)
			default:
				a.publish(now)
			}
		}
		return nil
	})
}

// PublishArticle freezes the draft as the live snapshot.
func (s *Service) PublishArticle(ctx context.Context, p auth.Principal, id, etag string) (*Article, error) {
	return s.mutate(ctx, p, id, etag, func(a *Article) error {
		if err := requireUndeleted(a); err != nil {
			return err
		}
		if err := s.checkDraftSites(ctx, a); err != nil {
			return err
		}
		if err := s.CheckPublishable(ctx, a); err != nil {
			return err
		}
		a.publish(s.now())
		a.LastChange.Action = "publish"
		return nil
	})
}

// publish freezes the draft; editor notes never enter the snapshot. A schedule failure recorded
// before is cleared.
func (a *Article) publish(now time.Time) {
	snap := a.Draft
	snap.EditorNotes = ""
	a.State = StatePublished
	a.ScheduledPublishTime = time.Time{}
	a.ScheduleFailure = nil
	a.Published = &Snapshot{Content: snap, Rendering: a.Rendering, RevisionID: a.RevisionID + 1, PublishTime: now}
	if !slices.Contains(a.PublishedSlugs, snap.Slug) {
		a.PublishedSlugs = append(a.PublishedSlugs, snap.Slug)
	}
}

// UnpublishArticle withdraws the live snapshot; the article returns to draft.
func (s *Service) UnpublishArticle(ctx context.Context, p auth.Principal, id, etag string) (*Article, error) {
	return s.mutate(ctx, p, id, etag, func(a *Article) error {
		if err := requireUndeleted(a); err != nil {
			return err
		}
		if a.Published == nil && a.State != StateScheduled {
			return apperr.New(apperr.FailedPrecondition, "article %s is not published", a.Name())
		}
		a.State, a.Published, a.ScheduledPublishTime = StateDraft, nil, time.Time{}
		a.LastChange.Action = "unpublish"
		return nil
	})
}

// ScheduleArticle publishes the draft at publishTime. A live snapshot stays live until then.
func (s *Service) ScheduleArticle(ctx context.Context, p auth.Principal, id string, publishTime time.Time, etag string) (*Article, error) {
	if publishTime.IsZero() {
		return nil, apperr.InvalidField("publish_time", "is required")
	}
	if !publishTime.After(s.now()) {
		return nil, apperr.InvalidField("publish_time", "must be in the future")
	}
	if publishTime.After(s.now().AddDate(5, 0, 0)) {
		return nil, apperr.InvalidField("publish_time", "must be within five years")
	}
	return s.mutate(ctx, p, id, etag, func(a *Article) error {
		if err := requireUndeleted(a); err != nil {
			return err
		}
		if err := s.checkDraftSites(ctx, a); err != nil {
			return err
		}
		if err := s.CheckPublishable(ctx, a); err != nil {
			return err
		}
		a.State = StateScheduled
		a.ScheduledPublishTime = publishTime.UTC().Truncate(time.Millisecond)
		a.ScheduleFailure = nil
		a.LastChange.Action = "schedule"
		return nil
	})
}

// ArchiveArticle withdraws an article from sites and marks it archived.
func (s *Service) ArchiveArticle(ctx context.Context, p auth.Principal, id, etag string) (*Article, error) {
	return s.mutate(ctx, p, id, etag, func(a *Article) error {
		if err := requireUndeleted(a); err != nil {
			return err
		}
		if a.State == StateArchived {
			return apperr.New(apperr.FailedPrecondition, "article %s is already archived", a.Name())
		}
		a.State, a.Published, a.ScheduledPublishTime = StateArchived, nil, time.Time{}
		a.LastChange.Action = "archive"
		return nil
	})
}

// ListRevisions lists an article's revisions, newest first, those below beforeID when it is > 0,
// at most limit of them. A key for one site sees only the revisions whose draft targeted its
// site: a revision made while the article was on other sites only is not listed (nor is a
// revision of an article it may see only as a live snapshot, unless that revision targeted its
// site, as the published one did).
func (s *Service) ListRevisions(ctx context.Context, p auth.Principal, id string, beforeID int64, limit int) ([]Revision, error) {
	// Whether the caller may see the article at all takes only its sites: the basic view, from
	// memory, rather than the whole article from the store, rendered and linted.
	a, err := s.articles.GetBasic(ctx, id)
	if err != nil {
		return nil, err
	}
	if ViewFor(p, a) == nil {
		return nil, articleNotFound(id)
	}
	if p.Site == "" {
		return s.articles.ListRevisions(ctx, id, beforeID, limit)
	}
	out := make([]Revision, 0, limit)
	for {
		revs, err := s.articles.ListRevisions(ctx, id, beforeID, limit)
		if err != nil {
			return nil, err
		}
		for _, r := range revs {
			if slices.Contains(r.Content.TargetSites, p.Site) {
				out = append(out, r)
				if len(out) == limit {
					return out, nil
				}
			}
		}
		if len(revs) < limit || limit <= 0 {
			return out, nil
		}
		beforeID = revs[len(revs)-1].RevisionID
	}
}

// RollbackArticle makes a new revision whose draft equals revision revisionID's.
func (s *Service) RollbackArticle(ctx context.Context, p auth.Principal, id string, revisionID int64, etag string) (*Article, error) {
	if revisionID <= 0 {
		return nil, apperr.InvalidField("revision_id", "must be a positive revision number")
	}
	if err := s.checkWritable(ctx, p, id); err != nil {
		return nil, err
	}
	rev, err := s.articles.GetRevision(ctx, id, revisionID)
	if err == nil && p.Site != "" && !slices.Contains(rev.Content.TargetSites, p.Site) {
		err = apperr.New(apperr.NotFound, "revision not visible to this key") // as ListRevisions hides it
	}
	if apperr.Is(err, apperr.NotFound) {
		return nil, apperr.InvalidField("revision_id", "articles/%s has no revision %d", id, revisionID)
	}
	if err != nil {
		return nil, err
	}
	return s.mutate(ctx, p, id, etag, func(a *Article) error {
		if err := requireUndeleted(a); err != nil {
			return err
		}
		if err := s.checkTargetSites(ctx, p, rev.Content.TargetSites); err != nil {
			return err
		}
		a.LastChange.Action, a.LastChange.Fields = "rollback", changedFields(a.Draft, rev.Content)
		a.setDraft(rev.Content, s.renderer)
		return nil
	})
}

// PublishDue publishes every scheduled article whose time has come and returns how many it
// published. Replicas may run it at once: the conditional write lets exactly one of them win.
//
// Each article is held to the publish checks again at its time (CheckPublishable: the sites'
// gates and settings, its internal links and the lint, as they are now: a review may have
// fallen due, a site may have tuned the lint, a link target may be gone). One that fails them
// is not published: its schedule is dropped and the failure recorded on it (revision action
// "schedule_failed", see failSchedule), so it is never retried. One whose checks cannot run now
// (a site lookup failing, or only screener links the screening service could not answer for:
// INTERNAL_LINK_UNCHECKED) stays due and untouched, and is tried again recheckDelay later.
func (s *Service) PublishDue(ctx context.Context) (int, error) {
	now := s.now()
	due, err := s.articles.ListDueScheduled(ctx, now, 100)
	if err != nil {
		return 0, err
	}
	system := auth.Principal{KeyName: SchedulerActor, Role: auth.RoleAdmin}
	published := 0
	for _, a := range due {
		if s.deferredUntil(a.ID, now) {
			continue
		}
		unmet, err := s.unmetPublishChecks(ctx, a)
		if err == nil && onlyUnchecked(unmet) {
			err = fmt.Errorf("its screener links cannot be checked now (%s)", RuleInternalLinkUnchecked)
		}
		if err != nil {
			if ctx.Err() != nil {
				return published, ctx.Err()
			}
			s.deferCheck(a.ID, now.Add(recheckDelay))
			s.logger.WarnContext(ctx, "scheduled article not published yet: its publish checks could not run; trying again later",
				"article", a.Name(), "retry_after", recheckDelay, "err", err)
			continue
		}
		next := a.clone()
		action := "publish"
		if len(unmet) > 0 {
			s.failSchedule(ctx, next, now, unmet)
			action = "schedule_failed"
		} else {
			next.publish(now)
		}
		next.RevisionID = a.RevisionID + 1
		next.UpdateTime = now
		next.LastChange = Change{Actor: system.KeyName, Action: action, Time: now}
		s.deriveSearchText(next)
		err = s.articles.UpdateArticle(ctx, a, next)
		switch {
		case err == nil && action == "publish":
			published++
			s.scheduler.published.Add(1)
			s.scheduler.lagNanos.Add(int64(max(now.Sub(a.ScheduledPublishTime), 0)))
			s.notify(next)
			s.logger.InfoContext(ctx, "scheduled article published", "article", a.Name(), "revision", next.RevisionID)
		case err == nil:
			s.notify(next)
		case apperr.Is(err, apperr.Conflict):
			// Another replica, or an editor, changed it first.
		default:
			return published, fmt.Errorf("publish scheduled %s: %w", a.Name(), err)
		}
	}
	return published, nil
}

// deferredUntil reports whether the scheduler should leave article id alone at now (its checks
// could not run a moment ago); it forgets deferrals whose time has come.
func (s *Service) deferredUntil(id string, now time.Time) bool {
	s.deferredMu.Lock()
	defer s.deferredMu.Unlock()
	until, ok := s.deferred[id]
	if ok && !now.Before(until) {
		delete(s.deferred, id)
		return false
	}
	return ok
}

// deferCheck makes the scheduler leave article id alone until until.
func (s *Service) deferCheck(id string, until time.Time) {
	s.deferredMu.Lock()
	defer s.deferredMu.Unlock()
	if s.deferred == nil {
		s.deferred = map[string]time.Time{}
	}
	s.deferred[id] = until
}

// onlyUnchecked reports whether every unmet rule (at least one) is a screener link that could not
// be checked now: the checks did not fail, they could not run.
func onlyUnchecked(unmet []apperr.FieldViolation) bool {
	return len(unmet) > 0 && !slices.ContainsFunc(unmet, func(v apperr.FieldViolation) bool { return v.Rule != RuleInternalLinkUnchecked })
}

// unmetPublishChecks runs CheckPublishable on a and returns the rules it fails (none when it
// may be published now). An error means the checks could not run.
func (s *Service) unmetPublishChecks(ctx context.Context, a *Article) ([]apperr.FieldViolation, error) {
	err := s.CheckPublishable(ctx, a)
	if err == nil {
		return nil, nil
	}
	if e, ok := apperr.As(err); ok && e.Code == apperr.FailedPrecondition {
		if len(e.Fields) == 0 { // every refusal names its rules; keep one that did not visible
			return []apperr.FieldViolation{{Rule: "PUBLISH_CHECKS", Field: "article", Description: e.Message}}, nil
		}
		return e.Fields, nil
	}
	return nil, err
}

// failSchedule drops a's due schedule because the draft fails the publish checks (unmet): the
// failure is recorded on the article, what was live stays live (state PUBLISHED) or the article
// returns to DRAFT, and nothing retries it. The log names the article and the rules it failed,
// never its text (a finding's description quotes the draft).
func (s *Service) failSchedule(ctx context.Context, a *Article, now time.Time, unmet []apperr.FieldViolation) {
	a.ScheduleFailure = &ScheduleFailure{FailTime: now, ScheduledPublishTime: a.ScheduledPublishTime, Unmet: slices.Clone(unmet)}
	a.ScheduledPublishTime = time.Time{}
	a.State = StateDraft
	if a.Published != nil {
		a.State = StatePublished
	}
	rules := make([]string, 0, len(unmet))
	for _, u := range unmet {
		rules = append(rules, u.Rule+" "+u.Field)
	}
	s.logger.WarnContext(ctx, "scheduled publish refused: the draft no longer passes the publish checks; schedule dropped",
		"article", a.Name(), "scheduled_publish_time", a.ScheduleFailure.ScheduledPublishTime, "unmet", rules)
}

// ScheduleQueue is what a scheduler that sleeps until the next article falls due needs of the
// queue of scheduled articles (the content store's article index).
type ScheduleQueue interface {
	// NextDue returns the earliest scheduled time of a scheduled, undeleted article, if any.
	NextDue() (time.Time, bool)
	// ScheduleChanged receives after the queue changed (an article scheduled, rescheduled,
	// unscheduled, published, deleted or undeleted, in process or by another replica), one value
	// for however many changes came since the last.
	ScheduleChanged() <-chan struct{}
}

// schedulerMaxSleep bounds how long a scheduler with a queue sleeps: scheduled times are
// wall-clock times and a timer is not, so a clock set forward could otherwise keep a due
// article waiting for the whole sleep.
const schedulerMaxSleep = time.Minute

// RunScheduler calls PublishDue until ctx ends, at most once every interval: without a queue,
// every interval; with one, only when an article falls due (queue.NextDue, looked at again when
// queue tells of a change) or an article is past due (one whose checks could not run is tried
// again every interval), and at least every schedulerMaxSleep (or interval, if longer). So a
// process with nothing scheduled is not woken every interval. It returns once ctx has ended and
// no PublishDue call is running (nil), or at once for an interval that is not positive.
func (s *Service) RunScheduler(ctx context.Context, interval time.Duration, queue ScheduleQueue) error {
	if interval <= 0 {
		return fmt.Errorf("scheduler: interval must be positive, got %v", interval)
	}
	if queue == nil {
		return loop.Every(ctx, interval, s.runScheduled)
	}
	last := time.Now() // the first run comes an interval after the start at the earliest, as with Every
	return loop.Timed(ctx, queue.ScheduleChanged(), func() (time.Duration, bool) {
		return s.schedulerSleep(queue, interval, last), true
	}, func(ctx context.Context) {
		s.runScheduled(ctx)
		last = time.Now()
	})
}

// schedulerSleep returns how long a scheduler whose last run ended at last sleeps before the
// next: until the queue's next due time, at most schedulerMaxSleep (or interval, if longer), and
// at least until an interval after last.
func (s *Service) schedulerSleep(queue ScheduleQueue, interval time.Duration, last time.Time) time.Duration {
	wait := max(schedulerMaxSleep, interval)
	if next, ok := queue.NextDue(); ok {
		wait = min(wait, next.Sub(s.now()))
	}
	return max(wait, time.Until(last.Add(interval)))
}

// runScheduled is one run of the scheduler: PublishDue, counted for SchedulerStats.
func (s *Service) runScheduled(ctx context.Context) {
	_, err := s.PublishDue(ctx)
	if ctx.Err() != nil {
		return // stopping: not a run
	}
	s.scheduler.runs.Add(1)
	s.scheduler.lastRunNanos.Store(time.Now().UnixNano())
	if err != nil {
		s.scheduler.failedRuns.Add(1)
		s.logger.ErrorContext(ctx, "scheduled publishing failed", "err", err)
	}
}

// mutate loads the article, checks access and etag, applies change to a copy and writes it
// conditionally, recording a revision. change sets LastChange.Action (and Fields if relevant).
func (s *Service) mutate(ctx context.Context, p auth.Principal, id, etag string, change func(a *Article) error) (*Article, error) {
	cur, err := s.getForWrite(ctx, p, id)
	if err != nil {
		return nil, err
	}
	if etag != "" && etag != cur.Etag() {
		return nil, staleEtag("article")
	}
	next := cur.clone()
	next.LastChange = Change{}
	if err := change(next); err != nil {
		return nil, err
	}
	now := s.now()
	next.RevisionID = cur.RevisionID + 1
	next.UpdateTime = now
	next.LastChange.Actor, next.LastChange.Time = p.KeyName, now
	s.deriveSearchText(next)
	if err := s.articles.UpdateArticle(ctx, cur, next); err != nil {
		return nil, err
	}
	s.notify(next)
	return s.withLint(ctx, s.withReviewDue(ctx, next)), nil
}

// deriveSearchText fills the search text of a's live snapshot when it lacks it.
func (s *Service) deriveSearchText(a *Article) {
	if a.Published != nil && a.Published.SearchText == "" {
		a.Published.SearchText = s.renderer.PlainText(a.Published.Content.Body)
	}
}

// canWrite requires the caller's key to cover every site the article is on: every site its
// draft targets and every site its live snapshot targets. A write can change what any of them
// shows (publish replaces the snapshot, unpublish, archive and delete withdraw it), so a key
// scoped to one of them must not make it for the others.
func canWrite(p auth.Principal, a *Article) error {
	for _, site := range a.Sites() {
		if !p.CoversSite(site) {
			return apperr.New(apperr.PermissionDenied, "%s is also on site %q, which this key does not cover", a.Name(), site)
		}
	}
	return nil
}

func requireUndeleted(a *Article) error {
	if a.Deleted() {
		return apperr.New(apperr.FailedPrecondition, "article %s is deleted; undelete it first", a.Name())
	}
	return nil
}

// clone returns a deep copy, so a failed write never leaves a half-changed article behind.
func (a *Article) clone() *Article {
	c := *a
	c.Draft = a.Draft.clone()
	if a.Published != nil {
		snap := *a.Published
		snap.Content = a.Published.Content.clone()
		c.Published = &snap
	}
	c.LastChange.Fields = slices.Clone(a.LastChange.Fields)
	c.PublishedSlugs = slices.Clone(a.PublishedSlugs)
	return &c
}

func (c Content) clone() Content {
	c.Tags = slices.Clone(c.Tags)
	c.Topics = slices.Clone(c.Topics)
	c.Authors = slices.Clone(c.Authors)
	c.Reviewers = slices.Clone(c.Reviewers)
	c.Citations = slices.Clone(c.Citations)
	c.TargetSites = slices.Clone(c.TargetSites)
	return c
}

// changedFields lists, in proto names, the fields that differ between a and b.
func changedFields(a, b Content) []string {
	var out []string
	av, bv := reflect.ValueOf(a), reflect.ValueOf(b)
	for i, name := range contentFieldNames {
		x, y := av.Field(i).Interface(), bv.Field(i).Interface()
		if !reflect.DeepEqual(x, y) && !(isEmpty(av.Field(i)) && isEmpty(bv.Field(i))) {
			out = append(out, name)
		}
	}
	return out
}

func isEmpty(v reflect.Value) bool {
	return v.Kind() == reflect.Slice && v.Len() == 0
}

// contentFieldNames are the proto names of Content's fields, in declaration order; they are also
// the fields UpdateArticle can change.
var contentFieldNames = []string{"title", "slug", "summary", "body", "tags", "topics", "authors", "reviewers",
	"last_reviewed_date", "citations", "seo", "target_sites", "editor_notes", "acknowledgements"}

func newID() string {
	var b [10]byte
	_, _ = rand.Read(b[:])
	return strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b[:]))
}

func articleNotFound(id string) error {
	return apperr.New(apperr.NotFound, "articles/%s not found", id)
}

func siteNotFound(id string) error { return apperr.New(apperr.NotFound, "sites/%s not found", id) }

func staleEtag(kind string) error {
	return apperr.New(apperr.Conflict, "the %s changed since you read it (etag mismatch); fetch it again and reapply your change", kind)
}

// ArticleImporter bulk-inserts new articles (see store.ImportArticles).
type ArticleImporter interface {
	ImportArticles(ctx context.Context, articles []*Article) error
}

// ImportPublished validates each content, renders it and stores it as a new published article
// in one batch: revision 1, action "import". The caller's key must cover every target site.
func (s *Service) ImportPublished(ctx context.Context, p auth.Principal, importer ArticleImporter, contents []Content) error {
	articles, err := s.PrepareImport(ctx, p, contents)
	if err != nil {
		return err
	}
	if err := importer.ImportArticles(ctx, articles); err != nil {
		return err
	}
	for _, a := range articles {
		s.notify(a)
	}
	return nil
}

// PrepareImport is the first half of ImportPublished: it validates each content, checks the
// caller's key covers its sites, and returns the new published articles, rendered on every core,
// for ArticleImporter.ImportArticles. Nothing is stored and no observer is told.
func (s *Service) PrepareImport(ctx context.Context, p auth.Principal, contents []Content) ([]*Article, error) {
	now := s.now()
	articles := make([]*Article, len(contents))
	checked := map[string]bool{}
	for i, c := range contents {
		c.Normalize()
		if err := c.Validate(fmt.Sprintf("articles[%d].", i)); err != nil {
			return nil, err
		}
		for _, site := range c.TargetSites {
			if !checked[site] {
				if err := s.checkTargetSites(ctx, p, []string{site}); err != nil {
					return nil, err
				}
				checked[site] = true
			}
		}
		articles[i] = &Article{
			ID:         newID(),
			Draft:      c,
			State:      StateDraft,
			CreateTime: now,
			UpdateTime: now,
			Creator:    p.KeyName,
			LastChange: Change{Actor: p.KeyName, Action: "import", Fields: changedFields(Content{}, c), Time: now},
		}
	}
	// Rendering is most of the work: spread it over the cores.
	next := make(chan *Article)
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(articles)) {
		wg.Go(func() {
			for a := range next {
				var text string
				a.Rendering, text = s.renderer.RenderWithText(a.Draft.Body) // one parse for both
				a.publish(now)
				a.RevisionID = 1
				a.Published.RevisionID = 1
				a.Published.SearchText = text
			}
		})
	}
	for _, a := range articles {
		next <- a
	}
	close(next)
	wg.Wait()
	return articles, nil
}
