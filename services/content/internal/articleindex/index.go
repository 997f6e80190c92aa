// Package articleindex is the content service's in-memory index of article metadata: what lists,
// filters, sorting and the schedule and pending queues need, under 1 KB per article. It answers
// ListArticles queries (the AIP-160 subset of domain.ArticleFilterSchema, order_by and keyset
// paging) exactly as the store's query on the articles collection does, without touching the
// store: on the embedded FerretDB v1 any query other than by exact _id decodes every article.
//
// The index is filled at start from the store and kept current by this process's own writes and
// by following the change log (other replicas' writes); see Follow.
//
// # Order and nulls
//
// Lists are ordered by one field and then by id, both ascending or both descending. An article
// without a publish time (never published, or unpublished) sorts before every publish time, as
// MongoDB sorts null. A cursor with a zero Time on the publish_time order stands on such an article.
package articleindex

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/beaconcms/beacon/platform/apperr"
	"github.com/beaconcms/beacon/platform/listfilter"
	"github.com/beaconcms/beacon/services/content/internal/domain"
)

// Entry is one article's metadata. Times are UTC with millisecond precision, as stored; a zero
// time is unset.
type Entry struct {
	ID       string
	Revision int64
	State    domain.State
	Title    string
	Tags     []string
	Topics   []string
	// Sites are the draft's target sites; LiveSites the live snapshot's (kept while deleted).
	Sites     []string
	LiveSites []string
	// Authors are the draft authors' display names.
	Authors              []string
	CreateTime           time.Time
	UpdateTime           time.Time
	PublishTime          time.Time // of the live snapshot; zero when there is none
	DeleteTime           time.Time
	ScheduledPublishTime time.Time
	// LastReview is the draft's latest review date (domain.Content.LastReview), for the
	// review_due filter.
	LastReview domain.Date
	// Basic is the article's basic view (domain.Article.Basic), what basic lists return; nil when
	// the entry holds it packed instead. It is never changed once in an entry.
	Basic *domain.Article
	// PackedBasic, when Basic is nil, is the basic view as the index's filler encoded it (the
	// store: the compressed document it loaded the entry from, several hundred bytes where the
	// decoded view takes well over a kilobyte); the filler decodes it for the entries a list
	// returns. Entries loaded at start hold it so, entries of later writes hold Basic.
	PackedBasic []byte
}

// EntryOf returns the entry of a.
func EntryOf(a *domain.Article) Entry {
	e := Entry{
		Basic:                a.Basic(),
		ID:                   a.ID,
		Revision:             a.RevisionID,
		State:                a.State,
		Title:                a.Draft.Title,
		Tags:                 slices.Clone(a.Draft.Tags),
		Topics:               slices.Clone(a.Draft.Topics),
		Sites:                slices.Clone(a.Draft.TargetSites),
		CreateTime:           millis(a.CreateTime),
		UpdateTime:           millis(a.UpdateTime),
		DeleteTime:           millis(a.DeleteTime),
		ScheduledPublishTime: millis(a.ScheduledPublishTime),
		LastReview:           a.Draft.LastReview(),
	}
	for _, p := range a.Draft.Authors {
		e.Authors = append(e.Authors, p.DisplayName)
	}
	if a.Published != nil {
		e.LiveSites = slices.Clone(a.Published.Content.TargetSites)
		e.PublishTime = millis(a.Published.PublishTime)
	}
	return e
}

func millis(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC().Truncate(time.Millisecond)
}

// Deleted reports whether the article is soft-deleted.
func (e *Entry) Deleted() bool { return !e.DeleteTime.IsZero() }

// The orders, as indexes into Index.orders.
const (
	byUpdateTime = iota
	byCreateTime
	byPublishTime
	byTitle
	numOrders
)

// Index is the in-memory index. It is safe for concurrent use.
type Index struct {
	mu   sync.RWMutex
	byID map[string]*Entry
	// orders holds every entry once per order, sorted ascending by (order key, id).
	orders [numOrders][]*Entry
	// scheduled holds the entries that wait for the scheduler (see waitsForScheduler), so that
	// Due and NextDue, which the scheduler calls, never walk the whole index.
	scheduled map[string]*Entry
	// scheduleChanged receives after a Put that changed scheduled (ScheduleChanged).
	scheduleChanged chan struct{}
}

// New returns an empty index.
func New() *Index {
	return &Index{byID: map[string]*Entry{}, scheduled: map[string]*Entry{}, scheduleChanged: make(chan struct{}, 1)}
}

// ScheduleChanged returns a channel that receives after the entries waiting for the scheduler
// changed (an article scheduled, rescheduled, unscheduled, published, deleted or undeleted,
// whether written in process or brought by the change log): one value for however many changes
// came since the last, so that a scheduler sleeping until NextDue looks again. It has one reader.
func (ix *Index) ScheduleChanged() <-chan struct{} { return ix.scheduleChanged }

// waitsForScheduler reports whether the scheduler will publish e: scheduled, undeleted, with a time.
func (e *Entry) waitsForScheduler() bool {
	return e.State == domain.StateScheduled && !e.Deleted() && !e.ScheduledPublishTime.IsZero()
}

// Put adds or replaces the entry of e.ID. An entry at a lower revision than the one held is
// ignored (a late read must not undo a newer write); at the same revision it replaces (the pending
// flag clears without a new revision). It reports whether the index changed.
func (ix *Index) Put(e Entry) bool {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	old := ix.byID[e.ID]
	if old != nil {
		if e.Revision < old.Revision {
			return false
		}
		for o := range ix.orders {
			ix.orders[o] = slices.Delete(ix.orders[o], position(ix.orders[o], o, old), position(ix.orders[o], o, old)+1)
		}
	}
	n := &e
	ix.byID[e.ID] = n
	was, wasScheduled := ix.scheduled[e.ID]
	if n.waitsForScheduler() {
		ix.scheduled[e.ID] = n
	} else {
		delete(ix.scheduled, e.ID)
	}
	if waits := n.waitsForScheduler(); waits != wasScheduled || (waits && !was.ScheduledPublishTime.Equal(n.ScheduledPublishTime)) {
		select {
		case ix.scheduleChanged <- struct{}{}:
		default: // a notice is pending already
		}
	}
	for o := range ix.orders {
		i := position(ix.orders[o], o, n)
		ix.orders[o] = slices.Insert(ix.orders[o], i, n)
	}
	return true
}

// position returns where e is, or would be inserted, in the sorted slice of order o.
func position(sorted []*Entry, o int, e *Entry) int {
	k := keyOf(e, o)
	i, _ := slices.BinarySearchFunc(sorted, k, func(x *Entry, k key) int { return compareKeys(keyOf(x, o), k) })
	return i
}

// Get returns the entry of id.
func (ix *Index) Get(id string) (Entry, bool) {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	e, ok := ix.byID[id]
	if !ok {
		return Entry{}, false
	}
	return *e, true
}

// Revision returns the revision held for id, 0 when none.
func (ix *Index) Revision(id string) int64 {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	if e, ok := ix.byID[id]; ok {
		return e.Revision
	}
	return 0
}

// Len returns the number of entries.
func (ix *Index) Len() int {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return len(ix.byID)
}

// Entries returns every entry, ordered by id.
func (ix *Index) Entries() []Entry {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	out := make([]Entry, 0, len(ix.byID))
	for _, e := range ix.byID {
		out = append(out, *e)
	}
	slices.SortFunc(out, func(a, b Entry) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// Due returns the scheduled, undeleted articles whose scheduled time is at or before now, earliest
// first (ties by id), at most limit of them (all when limit <= 0).
func (ix *Index) Due(now time.Time, limit int) []Entry {
	ix.mu.RLock()
	var out []Entry
	for _, e := range ix.scheduled {
		if !e.ScheduledPublishTime.After(now) {
			out = append(out, *e)
		}
	}
	ix.mu.RUnlock()
	slices.SortFunc(out, func(a, b Entry) int {
		return cmp.Or(a.ScheduledPublishTime.Compare(b.ScheduledPublishTime), strings.Compare(a.ID, b.ID))
	})
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out
}

// NextDue returns the earliest scheduled time of an undeleted scheduled article, if any.
func (ix *Index) NextDue() (time.Time, bool) {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	var next time.Time
	for _, e := range ix.scheduled {
		if next.IsZero() || e.ScheduledPublishTime.Before(next) {
			next = e.ScheduledPublishTime
		}
	}
	return next, !next.IsZero()
}

// List returns at most q.Limit entries matching q, in q's order: the same articles, in the same
// order, as the store's query (see the package documentation).
func (ix *Index) List(q domain.ArticleQuery) ([]Entry, error) {
	if q.Limit <= 0 {
		return nil, fmt.Errorf("list articles: limit must be positive, got %d", q.Limit)
	}
	match, err := compile(q)
	if err != nil {
		return nil, err
	}
	o, err := orderOf(q.OrderBy)
	if err != nil {
		return nil, err
	}
	if q.Sites != nil && len(q.Sites) == 0 {
		return nil, nil // restricted to no site at all
	}
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	sorted := ix.orders[o]
	var out []Entry
	if !q.Descending {
		start := 0
		if q.After != nil {
			c := cursorKey(q.After, o)
			start, _ = slices.BinarySearchFunc(sorted, c, func(x *Entry, k key) int {
				if compareKeys(keyOf(x, o), k) <= 0 {
					return -1
				}
				return 1
			})
		}
		for i := start; i < len(sorted) && len(out) < q.Limit; i++ {
			if match(sorted[i]) {
				out = append(out, *sorted[i])
			}
		}
		return out, nil
	}
	end := len(sorted) // exclusive
	if q.After != nil {
		c := cursorKey(q.After, o)
		end, _ = slices.BinarySearchFunc(sorted, c, func(x *Entry, k key) int {
			if compareKeys(keyOf(x, o), k) < 0 {
				return -1
			}
			return 1
		})
	}
	for i := end - 1; i >= 0 && len(out) < q.Limit; i-- {
		if match(sorted[i]) {
			out = append(out, *sorted[i])
		}
	}
	return out, nil
}

// key is an entry's position in one order.
type key struct {
	null  bool // publish_time only: no publish time, sorts first
	time  time.Time
	title string
	id    string
}

func keyOf(e *Entry, o int) key {
	switch o {
	case byUpdateTime:
		return key{time: e.UpdateTime, id: e.ID}
	case byCreateTime:
		return key{time: e.CreateTime, id: e.ID}
	case byPublishTime:
		return key{null: e.PublishTime.IsZero(), time: e.PublishTime, id: e.ID}
	default:
		return key{title: e.Title, id: e.ID}
	}
}

func cursorKey(c *domain.Cursor, o int) key {
	switch o {
	case byTitle:
		return key{title: c.Title, id: c.ID}
	case byPublishTime:
		return key{null: c.Time.IsZero(), time: millis(c.Time), id: c.ID}
	default:
		return key{time: millis(c.Time), id: c.ID}
	}
}

func compareKeys(a, b key) int {
	if a.null != b.null {
		if a.null {
			return -1
		}
		return 1
	}
	return cmp.Or(a.time.Compare(b.time), strings.Compare(a.title, b.title), strings.Compare(a.id, b.id))
}

func orderOf(f domain.OrderField) (int, error) {
	switch f {
	case domain.OrderUpdateTime, "":
		return byUpdateTime, nil
	case domain.OrderCreateTime:
		return byCreateTime, nil
	case domain.OrderPublishTime:
		return byPublishTime, nil
	case domain.OrderTitle:
		return byTitle, nil
	}
	return 0, fmt.Errorf("list articles: unknown order field %q", f)
}

// compile returns the predicate of q's conditions, deleted state and sites.
func compile(q domain.ArticleQuery) (func(*Entry) bool, error) {
	preds := make([]func(*Entry) bool, 0, len(q.Conditions)+2)
	if !q.ShowDeleted {
		preds = append(preds, func(e *Entry) bool { return !e.Deleted() })
	}
	if !q.ShowDeleted && len(q.DeletedSites) > 0 {
		deleted := make(map[string]bool, len(q.DeletedSites))
		for _, id := range q.DeletedSites {
			deleted[id] = true
		}
		// Listed while at least one site the article is on (draft or live) is not deleted.
		preds = append(preds, func(e *Entry) bool {
			if len(e.Sites) == 0 && len(e.LiveSites) == 0 {
				return true
			}
			for _, lists := range [2][]string{e.Sites, e.LiveSites} {
				for _, id := range lists {
					if !deleted[id] {
						return true
					}
				}
			}
			return false
		})
	}
	if q.Sites != nil {
		sites := slices.Clone(q.Sites)
		// An article is on a site while its draft targets it or its live snapshot still does.
		preds = append(preds, func(e *Entry) bool { return anyIn(e.Sites, sites) || anyIn(e.LiveSites, sites) })
	}
	for _, c := range q.Conditions {
		if c.Field == "review_due" {
			p, err := reviewDueCondition(c, q)
			if err != nil {
				return nil, err
			}
			preds = append(preds, p)
			continue
		}
		p, err := compileCondition(c)
		if err != nil {
			return nil, err
		}
		preds = append(preds, p)
	}
	return func(e *Entry) bool {
		for _, p := range preds {
			if !p(e) {
				return false
			}
		}
		return true
	}, nil
}

func anyIn(have, want []string) bool {
	for _, h := range have {
		if slices.Contains(want, h) {
			return true
		}
	}
	return false
}

// compileCondition returns the predicate of one filter condition. String fields on lists match
// when any element equals the value (=) or none does (!=); publish_time conditions match only
// articles that have a publish time, whatever the operator.
func compileCondition(c listfilter.Condition) (func(*Entry) bool, error) {
	var list func(*Entry) []string
	switch c.Field {
	case "state":
		want, ok := domain.ParseState(c.Value)
		if !ok {
			return nil, apperr.InvalidField("filter", "invalid value %q for state: want one of %v", c.Value, domain.StateNames())
		}
		switch c.Op {
		case listfilter.Eq:
			return func(e *Entry) bool { return e.State == want }, nil
		case listfilter.Ne:
			return func(e *Entry) bool { return e.State != want }, nil
		}
		return nil, unsupported(c)
	case "tag":
		list = func(e *Entry) []string { return e.Tags }
	case "topic":
		list = func(e *Entry) []string { return e.Topics }
	case "site":
		list = func(e *Entry) []string { return e.Sites }
	case "author":
		list = func(e *Entry) []string { return e.Authors }
	case "update_time":
		return timeCondition(c, func(e *Entry) time.Time { return e.UpdateTime }, false)
	case "create_time":
		return timeCondition(c, func(e *Entry) time.Time { return e.CreateTime }, false)
	case "publish_time":
		return timeCondition(c, func(e *Entry) time.Time { return e.PublishTime }, true)
	case "title":
		if c.Op != listfilter.Has {
			return nil, unsupported(c)
		}
		contains := domain.TitleContains(c.Value)
		return func(e *Entry) bool { return contains(e.Title) }, nil
	default:
		return nil, fmt.Errorf("list articles: unknown filter field %q", c.Field)
	}
	v := c.Value
	switch c.Op {
	case listfilter.Eq:
		return func(e *Entry) bool { return slices.Contains(list(e), v) }, nil
	case listfilter.Ne:
		return func(e *Entry) bool { return !slices.Contains(list(e), v) }, nil
	}
	return nil, unsupported(c)
}

// reviewDueCondition matches articles whose next review is due at q.Now (review_due = true) or
// not (false; never-reviewed articles are never due), on their draft's target sites' validity.
func reviewDueCondition(c listfilter.Condition, q domain.ArticleQuery) (func(*Entry) bool, error) {
	if c.Value != "true" && c.Value != "false" {
		return nil, apperr.InvalidField("filter", "invalid value %q for review_due: want true or false", c.Value)
	}
	if q.ReviewValidity == nil || q.Now.IsZero() {
		return nil, fmt.Errorf("list articles: review_due needs the query's Now and ReviewValidity")
	}
	want := (c.Value == "true") == (c.Op == listfilter.Eq)
	if c.Op != listfilter.Eq && c.Op != listfilter.Ne {
		return nil, unsupported(c)
	}
	now, validity := q.Now, q.ReviewValidity
	return func(e *Entry) bool {
		due := domain.ReviewDueOn(e.LastReview, e.Sites, validity)
		return (!due.IsZero() && !now.Before(due)) == want
	}, nil
}

func timeCondition(c listfilter.Condition, field func(*Entry) time.Time, optional bool) (func(*Entry) bool, error) {
	t := millis(c.Time)
	var holds func(int) bool
	switch c.Op {
	case listfilter.Eq:
		holds = func(n int) bool { return n == 0 }
	case listfilter.Ne:
		holds = func(n int) bool { return n != 0 }
	case listfilter.Lt:
		holds = func(n int) bool { return n < 0 }
	case listfilter.Le:
		holds = func(n int) bool { return n <= 0 }
	case listfilter.Gt:
		holds = func(n int) bool { return n > 0 }
	case listfilter.Ge:
		holds = func(n int) bool { return n >= 0 }
	default:
		return nil, unsupported(c)
	}
	return func(e *Entry) bool {
		v := field(e)
		if optional && v.IsZero() {
			return false
		}
		return holds(v.Compare(t))
	}, nil
}

func unsupported(c listfilter.Condition) error {
	return fmt.Errorf("list articles: operator %q is not supported for %s", c.Op, c.Field)
}
