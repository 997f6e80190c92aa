package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"reflect"
	"slices"
	"sync"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/beaconcms/beacon/platform/apperr"
	"github.com/beaconcms/beacon/platform/mongodb"
	"github.com/beaconcms/beacon/services/content/internal/domain"
)

// maxPendingAttempts bounds how often UpdateArticle completes a pending revision of the article
// it is about to replace before giving up with Conflict.
const maxPendingAttempts = 3

// flushBatch bounds how many pending revisions one FlushPendingRevisions call completes.
const flushBatch = 500

// flushScanInterval is how often FlushPendingRevisions scans for pending revisions when this
// process has no reason to suspect any.
const flushScanInterval = 10 * time.Minute

// Failure must not feed itself: a pending revision whose recording failed is retried after a
// backoff that doubles from flushBackoffBase up to flushBackoffMax, with ±50 % jitter (so that
// replicas and articles do not retry in step), and a flush spends at most flushCPUShare of its
// wall time working: after each article it pauses for what that article took, times
// (1-share)/share.
const (
	flushBackoffBase = 10 * time.Second
	flushBackoffMax  = 10 * time.Minute
	flushCPUShare    = 0.25
)

// flushRetry is the backoff state of one article whose pending revision failed to record.
type flushRetry struct {
	failures int
	next     time.Time
}

// CreateArticle inserts a new article (RevisionID 1), claims its slug keys and records revision 1.
func (s *Store) CreateArticle(ctx context.Context, a *domain.Article) error {
	if a.ID == "" || a.RevisionID != 1 {
		return fmt.Errorf("create article %q: want an id and RevisionID 1, got revision %d", a.ID, a.RevisionID)
	}
	doc, err := toArticleDoc(a)
	if err != nil {
		return fmt.Errorf("create article: %w", err)
	}

	op := newClaimOp(a.ID, a.RevisionID)
	if err := s.claimKeys(ctx, op, a.SlugKeys()); err != nil {
		s.releaseAfterFailure(ctx, op)
		return err
	}
	if err := s.markPending(ctx, a.ID, a.RevisionID); err != nil {
		s.releaseAfterFailure(ctx, op)
		return err
	}
	stored, err := s.codec.storedArticle(&doc)
	if err != nil {
		return fmt.Errorf("create article: %w", err)
	}
	if _, err := s.articles.InsertOne(ctx, stored); err != nil {
		s.suspectPending() // a timed-out insert may still land: the next flush looks
		s.releaseAfterFailure(ctx, op)
		if mongodb.IsDuplicateKey(err) {
			return apperr.New(apperr.AlreadyExists, "%s already exists", a.Name())
		}
		return s.dbErr(ctx, "create "+a.Name(), err)
	}
	s.indexed(&doc)
	s.completeRevision(ctx, &doc, false)
	return nil
}

// GetBasic returns the article's basic view from the in-memory index, or, for an article the
// index does not hold yet (written by another replica since its last poll), from the store.
func (s *Store) GetBasic(ctx context.Context, id string) (*domain.Article, error) {
	if e, ok := s.index.Get(id); ok && (e.Basic != nil || e.PackedBasic != nil) {
		return s.codec.basicOf(&e)
	}
	a, err := s.GetArticle(ctx, id)
	if err != nil {
		return nil, err
	}
	return a.Basic(), nil
}

// GetArticle returns the article, deleted or not.
func (s *Store) GetArticle(ctx context.Context, id string) (*domain.Article, error) {
	var d articleDoc
	err := s.codec.decodeArticle(s.articles.FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode, &d)
	if isNoDocuments(err) {
		return nil, articleNotFound(id)
	}
	if err != nil {
		return nil, s.dbErr(ctx, "get articles/"+id, err)
	}
	s.indexed(&d)
	return fromArticleDoc(&d)
}

// UpdateArticle replaces prev by next when the stored revision is still prev.RevisionID, moves
// slug claims from prev.SlugKeys() to next.SlugKeys() and records next's revision. Nothing
// changes when it fails (claims it made are released).
func (s *Store) UpdateArticle(ctx context.Context, prev, next *domain.Article) error {
	if next.ID != prev.ID || next.RevisionID != prev.RevisionID+1 {
		return fmt.Errorf("update article: next (%q, revision %d) must be prev (%q, revision %d) plus one revision",
			next.ID, next.RevisionID, prev.ID, prev.RevisionID)
	}
	doc, err := toArticleDoc(next)
	if err != nil {
		return fmt.Errorf("update article: %w", err)
	}

	op := newClaimOp(next.ID, next.RevisionID)
	if err := s.claimKeys(ctx, op, minus(next.SlugKeys(), prev.SlugKeys())); err != nil {
		s.releaseAfterFailure(ctx, op)
		return err
	}
	if err := s.replaceArticle(ctx, prev, &doc); err != nil {
		s.releaseAfterFailure(ctx, op)
		return err
	}
	s.releaseLost(ctx, next.ID, next.RevisionID, minus(prev.SlugKeys(), next.SlugKeys()))
	// replaceArticle left prev's revision recorded whole (recordIfPending), live entry included.
	s.completeRevision(ctx, &doc, liveUnchanged(prev, next))
	return nil
}

// replaceArticle writes doc if the stored article is at prev's revision, after marking doc's
// revision pending. If the stored revision is itself still pending (the write that made it was
// interrupted before recording it), it records that revision first: a marker is replaced only
// once the revision it names is recorded, so no revision is ever overwritten unrecorded.
//
// The version check reads the stored article by _id and is made in process, under the article's
// lock; the replace then goes by _id (see mongodb.Replacer: on FerretDB v1 a second field in the
// filter decodes the whole collection), carrying the check as a guard only to MongoDB, where it
// keeps writes from several replicas atomic.
func (s *Store) replaceArticle(ctx context.Context, prev *domain.Article, doc *articleDoc) error {
	unlock, err := s.lockDoc(ctx, articlesCollection, prev.ID)
	if err != nil {
		return fmt.Errorf("update %s: %w", prev.Name(), err)
	}
	defer unlock()
	guard := bson.D{{Key: "revision", Value: prev.RevisionID}}
	stored, err := s.codec.storedArticle(doc)
	if err != nil {
		return fmt.Errorf("update %s: %w", prev.Name(), err)
	}
	for attempt := 1; ; attempt++ {
		var cur articleDoc
		err := s.codec.decodeArticle(s.articles.FindOne(ctx, bson.D{{Key: "_id", Value: prev.ID}}).Decode, &cur)
		if isNoDocuments(err) {
			return articleNotFound(prev.ID)
		}
		if err != nil {
			return s.dbErr(ctx, "update "+prev.Name(), err)
		}
		s.indexed(&cur)
		if cur.Revision != prev.RevisionID || attempt > maxPendingAttempts {
			return apperr.New(apperr.Conflict, "%s changed since you read it (it is at revision %d, not %d); fetch it again and reapply your change",
				prev.Name(), cur.Revision, prev.RevisionID)
		}
		if err := s.recordIfPending(ctx, &cur); err != nil {
			return s.dbErr(ctx, "update "+prev.Name()+": recording its pending revision", err)
		}
		if err := s.markPending(ctx, doc.ID, doc.Revision); err != nil {
			return err
		}
		replaced, err := s.replacer.Replace(ctx, s.articles, prev.ID, guard, stored)
		if err != nil {
			s.suspectPending() // a timed-out replace may still land: the next flush looks
			return s.dbErr(ctx, "update "+prev.Name(), err)
		}
		if replaced {
			s.indexed(doc)
			return nil
		}
		// Gone, or another replica wrote it (MongoDB): look at what is stored.
	}
}

// recordIfPending records cur, the article as stored, when its pending-revision marker names
// cur's revision: the write that made it was interrupted, or is another replica's, still
// recording it (recording a revision twice is harmless). All of it, not only the revision
// document: the caller replaces the marker next, and the write that does so may not land, after
// which nothing would write cur's live and index entries. The caller holds the article's lock.
func (s *Store) recordIfPending(ctx context.Context, cur *articleDoc) error {
	var m pendingDoc
	err := s.pending.FindOne(ctx, bson.D{{Key: "_id", Value: cur.ID}}).Decode(&m)
	if isNoDocuments(err) || (err == nil && m.Revision != cur.Revision) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading the pending-revision marker of articles/%s: %w", cur.ID, err)
	}
	if err := s.storeRevision(ctx, cur); err != nil {
		return err
	}
	return s.recordEntries(ctx, cur, false, false)
}

// liveUnchanged reports whether next leaves an article's live entry as prev had it: the same
// live snapshot (or none), delete time and former slugs. A false "changed" only costs a write.
func liveUnchanged(prev, next *domain.Article) bool {
	if !prev.DeleteTime.Equal(next.DeleteTime) || !slices.Equal(prev.PublishedSlugs, next.PublishedSlugs) {
		return false
	}
	switch {
	case prev.Published == next.Published:
		return true
	case prev.Published == nil || next.Published == nil:
		return false
	case len(prev.Published.CompressedBody) > 0 || len(next.Published.CompressedBody) > 0,
		len(prev.Published.CompressedText) > 0 || len(next.Published.CompressedText) > 0:
		return false // delivery's form, not a write's
	}
	// The search text is derived from the content; the service fills it before a write, while
	// an article read back from the articles collection comes without it.
	a, b := *prev.Published, *next.Published
	a.SearchText, b.SearchText = "", ""
	return reflect.DeepEqual(a, b)
}

// completeRevision records the revision doc has just been written at. A failure is only logged:
// the article is written and carries revisionPending, so FlushPendingRevisions (or the next update)
// records the revision later.
//
// With liveKept, the live entry is left as it is: the write left the live snapshot, delete time
// and former slugs as the recorded previous revision had them (liveUnchanged), so the stored entry
// is already right, at that earlier revision. A draft edit of a published article then does not
// rewrite its live entry, nor make other replicas read it again.
func (s *Store) completeRevision(ctx context.Context, doc *articleDoc, liveKept bool) {
	ctx, cancel := cleanupContext(ctx)
	defer cancel()
	if err := s.recordRevisionKeeping(ctx, doc, true, liveKept); err != nil {
		s.suspectPending()
		s.logger.WarnContext(ctx, "recording a revision failed; it stays pending and will be flushed",
			slog.String("article", "articles/"+doc.ID), slog.Int64("revision", doc.Revision), slog.Any("err", err))
	}
}

// recordRevision stores the revision the article document is at, its live and index entries and
// its entry in the change log, then removes its pending-revision marker (unless a later write's
// marker replaced it). Retrying is harmless.
//
// own says the write is this process's and its caller hands the article to the process's read
// models itself (a write that returned), so that they need not read it back from the change log;
// false for a revision completed later (FlushPendingRevisions), which nobody was given.
func (s *Store) recordRevision(ctx context.Context, doc *articleDoc, own bool) error {
	return s.recordRevisionKeeping(ctx, doc, own, false)
}

// recordRevisionKeeping is recordRevision that, with liveKept, leaves the live entry as stored
// (see completeRevision).
func (s *Store) recordRevisionKeeping(ctx context.Context, doc *articleDoc, own, liveKept bool) error {
	if err := s.storeRevision(ctx, doc); err != nil {
		return err
	}
	unlock, err := s.lockDoc(ctx, articlesCollection, doc.ID)
	if err != nil {
		return fmt.Errorf("recording the revision of articles/%s: %w", doc.ID, err)
	}
	defer unlock()
	return s.recordEntries(ctx, doc, own, liveKept)
}

// recordEntries is recordRevision after the revision document: the live entry, the change-log
// entry, the index entry, then the marker goes. The caller holds the article's lock.
func (s *Store) recordEntries(ctx context.Context, doc *articleDoc, own, liveKept bool) error {
	// The live entry before the change-log entry, which makes other replicas read it.
	if !liveKept {
		if err := s.writeLiveDoc(ctx, doc); err != nil {
			return err
		}
	}
	if err := s.logChange(ctx, doc, own); err != nil {
		return err
	}
	if err := s.writeIndexDoc(ctx, doc); err != nil {
		return err
	}
	s.unmarkPending(ctx, doc.ID, doc.Revision)
	return nil
}

// storeRevision inserts the revision document for the revision the article document is at. An
// existing revision document is left as is (revisions never change).
func (s *Store) storeRevision(ctx context.Context, doc *articleDoc) error {
	r := revisionFromArticleDoc(doc)
	rev, err := s.codec.storedRevision(&r)
	if err != nil {
		return fmt.Errorf("storing revision %s: %w", r.ID, err)
	}
	_, err = s.revisions.InsertOne(ctx, rev)
	if err != nil && !mongodb.IsDuplicateKey(err) { // duplicate: recorded already (a retry, a concurrent flush)
		return fmt.Errorf("storing revision %s: %w", rev.ID, err)
	}
	return nil
}

// FlushPendingRevisions records revisions whose write was interrupted between the article write
// and the revision write (a crash, a lost connection). The caller runs it at start and every few
// seconds; it completes at most flushBatch per call.
//
// Every article write first leaves a marker in pending_revisions (a small collection), and the
// marker goes once the revision is recorded; so the flush reads the markers, not the articles
// (which on FerretDB v1 would mean decoding every article). After the first call a Store looks
// again only when one of its own revision writes failed since, or flushScanInterval has passed
// (for writes other processes left).
func (s *Store) FlushPendingRevisions(ctx context.Context) error {
	s.flushMu.Lock()
	defer s.flushMu.Unlock()
	suspected := s.pendingSuspected.Swap(false)
	retryDue := !s.nextRetry.IsZero() && !time.Now().Before(s.nextRetry)
	if !suspected && !retryDue && !s.lastFlushScan.IsZero() && time.Since(s.lastFlushScan) < flushScanInterval {
		return nil
	}
	err := s.flushPending(ctx)
	if err != nil {
		s.suspectPending()
		return err
	}
	s.lastFlushScan = time.Now()
	return nil
}

// pendingDoc marks an article write whose revision may not be recorded yet; _id is the article id.
type pendingDoc struct {
	ArticleID string `bson:"_id"`
	Revision  int64  `bson:"revision"`
	// Time is when the marker was made; zero in markers made before it was recorded.
	Time time.Time `bson:"time,omitempty"`
}

// markerGrace is how long a marker whose write has not landed is kept: the write may still be
// on its way to the store (a call that timed out on this side). Every store call has a deadline
// well under it.
const markerGrace = time.Minute

// markPending notes, before an article write, that the write's revision is to be recorded.
func (s *Store) markPending(ctx context.Context, id string, revision int64) error {
	err := upsertByID(ctx, s.pending, id, pendingDoc{ArticleID: id, Revision: revision, Time: time.Now().UTC()})
	return s.dbErr(ctx, "mark pending revision of articles/"+id, err)
}

// unmarkPending removes the marker once revision is recorded; a later write's marker stays.
// A failure leaves a marker the next flush clears.
func (s *Store) unmarkPending(ctx context.Context, id string, revision int64) {
	_, err := s.pending.DeleteOne(ctx, bson.D{{Key: "_id", Value: id}, {Key: "revision", Value: bson.D{{Key: "$lte", Value: revision}}}})
	if err != nil {
		s.logger.WarnContext(ctx, "clearing a pending-revision marker failed", slog.String("article", "articles/"+id), slog.Any("err", err))
	}
}

// pendingMarkers returns the markers of pending_revisions, at most limit (all when limit <= 0).
func (s *Store) pendingMarkers(ctx context.Context, limit int) ([]pendingDoc, error) {
	opts := options.Find()
	if limit > 0 {
		opts.SetLimit(int64(limit))
	}
	cur, err := s.pending.Find(ctx, bson.D{}, opts)
	if err != nil {
		return nil, s.dbErr(ctx, "finding pending revisions", err)
	}
	var markers []pendingDoc
	if err := cur.All(ctx, &markers); err != nil {
		return nil, s.dbErr(ctx, "finding pending revisions", err)
	}
	return markers, nil
}

func (s *Store) flushPending(ctx context.Context) error {
	markers, err := s.pendingMarkers(ctx, flushBatch)
	if err != nil {
		return err
	}
	if len(markers) == flushBatch {
		s.suspectPending() // there may be more: look again next time
	}
	var errs []error
	s.nextRetry = time.Time{}
	for _, m := range markers {
		if r, ok := s.flushRetries[m.ArticleID]; ok && time.Now().Before(r.next) {
			s.noteRetry(r.next)
			continue // backing off
		}
		start := time.Now()
		err := s.flushOne(ctx, m)
		if err != nil {
			errs = append(errs, err)
			s.backOff(m.ArticleID)
		} else {
			delete(s.flushRetries, m.ArticleID)
		}
		if err := pause(ctx, time.Since(start)); err != nil {
			return ctx.Err() // stopping: the markers left are looked at next time
		}
	}
	return s.dbErr(ctx, "flushing pending revisions", errors.Join(errs...))
}

// suspectPending notes that a revision write may not have been recorded (it failed or timed
// out, or a flush left markers): the next flush looks, and a flusher waiting on FlushWake wakes.
func (s *Store) suspectPending() {
	s.pendingSuspected.Store(true)
	select {
	case s.flushWake <- struct{}{}:
	default: // a wake is pending already
	}
}

// FlushWake receives after this Store suspects a pending revision (see NextFlush). It has one
// reader: the flusher.
func (s *Store) FlushWake() <-chan struct{} { return s.flushWake }

// NextFlush returns how long from now FlushPendingRevisions has work, so that a flusher sleeps
// until then instead of calling it every few seconds: soon after a revision write of this Store
// failed (or the last flush left markers), when the earliest backed-off marker's retry comes,
// and at the latest when the periodic scan for markers other processes left is due
// (flushScanInterval after the last).
func (s *Store) NextFlush(soon time.Duration) time.Duration {
	if s.pendingSuspected.Load() {
		return soon
	}
	s.flushMu.Lock()
	defer s.flushMu.Unlock()
	if s.lastFlushScan.IsZero() {
		return soon
	}
	next := s.lastFlushScan.Add(flushScanInterval)
	if !s.nextRetry.IsZero() && s.nextRetry.Before(next) {
		next = s.nextRetry
	}
	return max(time.Until(next), 0)
}

// backOff schedules the next attempt of id's pending revision. The caller holds flushMu.
func (s *Store) backOff(id string) {
	r := s.flushRetries[id]
	r.failures++
	delay := min(flushBackoffBase<<min(r.failures-1, 16), flushBackoffMax)
	delay = delay/2 + rand.N(delay) // ±50 % jitter
	r.next = time.Now().Add(delay)
	s.flushRetries[id] = r
	s.noteRetry(r.next)
}

// noteRetry keeps the earliest retry time. The caller holds flushMu.
func (s *Store) noteRetry(at time.Time) {
	if s.nextRetry.IsZero() || at.Before(s.nextRetry) {
		s.nextRetry = at
	}
}

// pause waits so that work of duration took is at most flushCPUShare of the time spent.
func pause(ctx context.Context, took time.Duration) error {
	t := time.NewTimer(time.Duration(float64(took) * (1 - flushCPUShare) / flushCPUShare))
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// flushOne completes the pending revision one marker names, if the article is still at that
// revision; otherwise the marked write never landed (or a later one replaced it, recording it
// first) and the marker goes. The article is read, and a stale marker removed, under the
// article's lock, so no write marks a revision in between.
func (s *Store) flushOne(ctx context.Context, m pendingDoc) error {
	d, pending, err := s.pendingArticle(ctx, m)
	if err != nil || !pending {
		return err
	}
	s.indexed(d)
	if err := s.recordRevision(ctx, d, false); err != nil {
		return err
	}
	s.logger.InfoContext(ctx, "recorded a pending revision",
		slog.String("article", "articles/"+d.ID), slog.Int64("revision", d.Revision))
	return nil
}

// pendingArticle reads the article marker m names and reports whether it is at the marked
// revision; when not, it removes the marker (once past its grace; until then the flusher looks
// again when the grace ends). The caller holds flushMu.
func (s *Store) pendingArticle(ctx context.Context, m pendingDoc) (*articleDoc, bool, error) {
	unlock, err := s.lockDoc(ctx, articlesCollection, m.ArticleID)
	if err != nil {
		return nil, false, err
	}
	defer unlock()
	var d articleDoc
	err = s.codec.decodeArticle(s.articles.FindOne(ctx, bson.D{{Key: "_id", Value: m.ArticleID}}).Decode, &d)
	switch {
	case isNoDocuments(err):
		s.unmarkPending(ctx, m.ArticleID, m.Revision) // the insert that marked it never happened
		return nil, false, nil
	case err != nil:
		return nil, false, err
	case !readableArticleSchema(d.SchemaVersion):
		return nil, false, fmt.Errorf("articles/%s: unknown schemaVersion %d", d.ID, d.SchemaVersion)
	case d.Revision < m.Revision && time.Since(m.Time) < markerGrace:
		s.noteRetry(m.Time.Add(markerGrace)) // the marked write may still land: look again then
		return nil, false, nil
	case d.Revision != m.Revision:
		s.unmarkPending(ctx, m.ArticleID, m.Revision) // the marked write never landed, or was followed
		return nil, false, nil
	}
	return &d, true, nil
}

// ListRevisions returns revisions of one article newest first, those below beforeID when it is
// > 0, at most limit of them (all when limit <= 0). It reads them by _id ("{article}/{R}",
// "{R-1}", ...) from the article's current revision down, a page's worth at a time and in
// parallel; a revision not recorded yet (pending) is skipped.
func (s *Store) ListRevisions(ctx context.Context, articleID string, beforeID int64, limit int) ([]domain.Revision, error) {
	top := s.index.Revision(articleID)
	if top == 0 {
		a, err := s.GetArticle(ctx, articleID)
		if apperr.Is(err, apperr.NotFound) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		top = a.RevisionID
	}
	if beforeID > 0 && beforeID-1 < top {
		top = beforeID - 1
	}
	var out []domain.Revision
	for r := top; r >= 1 && (limit <= 0 || len(out) < limit); {
		n := r // all that is left
		if limit > 0 {
			n = min(r, int64(limit-len(out)))
		}
		revs := make([]domain.Revision, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() { revs[i], errs[i] = s.GetRevision(ctx, articleID, r-i) })
			if (i+1)%revisionReaders == 0 {
				wg.Wait()
			}
		}
		wg.Wait()
		for i := range n {
			switch {
			case apperr.Is(errs[i], apperr.NotFound):
			case errs[i] != nil:
				return nil, errs[i]
			default:
				out = append(out, revs[i])
			}
		}
		r -= n
	}
	return out, nil
}

// revisionReaders bounds how many revisions ListRevisions reads at once.
const revisionReaders = 4

// GetRevision returns one revision.
func (s *Store) GetRevision(ctx context.Context, articleID string, revisionID int64) (domain.Revision, error) {
	var d revisionDoc
	err := s.revisions.FindOne(ctx, bson.D{{Key: "_id", Value: revisionKey(articleID, revisionID)}}).Decode(&d)
	if isNoDocuments(err) {
		return domain.Revision{}, apperr.New(apperr.NotFound, "articles/%s has no revision %d", articleID, revisionID)
	}
	if err != nil {
		return domain.Revision{}, s.dbErr(ctx, "get revision "+revisionKey(articleID, revisionID), err)
	}
	if err := s.codec.readRevision(&d); err != nil {
		return domain.Revision{}, err
	}
	return fromRevisionDoc(&d)
}

// NextDue returns the earliest scheduled time of a scheduled, undeleted article, if any (from
// the in-memory index: no store call).
func (s *Store) NextDue() (time.Time, bool) { return s.index.NextDue() }

// ScheduleChanged receives after the scheduled articles changed, by this Store's writes or by the
// change log (articleindex.Index.ScheduleChanged). It has one reader: the scheduler.
func (s *Store) ScheduleChanged() <-chan struct{} { return s.index.ScheduleChanged() }

// ListDueScheduled returns scheduled, undeleted articles whose time is at or before now, earliest
// first, at most limit of them (all when limit <= 0). The queue is the in-memory index; each due
// article is then read by _id, and kept only if it is still scheduled and due.
func (s *Store) ListDueScheduled(ctx context.Context, now time.Time, limit int) ([]*domain.Article, error) {
	entries := s.index.Due(now, limit)
	due := make([]*domain.Article, 0, len(entries))
	for _, e := range entries {
		a, err := s.GetArticle(ctx, e.ID)
		if apperr.Is(err, apperr.NotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if a.State == domain.StateScheduled && !a.Deleted() && !a.ScheduledPublishTime.After(now) {
			due = append(due, a)
		}
	}
	return due, nil
}

func (s *Store) findArticles(ctx context.Context, what string, filter bson.D, opts *options.FindOptionsBuilder) ([]*domain.Article, error) {
	cur, err := s.articles.Find(ctx, filter, opts)
	if err != nil {
		return nil, s.dbErr(ctx, what, err)
	}
	var docs []articleDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, s.dbErr(ctx, what, err)
	}
	out := make([]*domain.Article, 0, len(docs))
	for i := range docs {
		if err := s.codec.readArticle(&docs[i]); err != nil {
			return nil, err
		}
		a, err := fromArticleDoc(&docs[i])
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, nil
}
