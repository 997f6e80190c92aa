package domain

import (
	"cmp"
	"context"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"time"

	"github.com/beaconcms/beacon/platform/auth"
	"github.com/beaconcms/beacon/platform/listfilter"
)

// Site scope: what a key for one site may see and change of an article.
//
// An article is on every site its draft targets and, until the next publish or unpublish, on
// every site its live snapshot still targets (Article.Sites). Writes need a key covering all of
// them (canWrite). Reads show a key at most what its own site can see (ViewFor).

// getForWrite returns the whole stored article for a write by p: NOT_FOUND when p may not see
// it at all, PERMISSION_DENIED unless p's key covers every site the article is on (canWrite).
func (s *Service) getForWrite(ctx context.Context, p auth.Principal, id string) (*Article, error) {
	a, err := s.articles.GetArticle(ctx, id)
	if err != nil {
		return nil, err
	}
	if ViewFor(p, a) == nil {
		return nil, articleNotFound(id)
	}
	if err := canWrite(p, a); err != nil {
		return nil, err
	}
	return a, nil
}

// checkWritable answers as getForWrite would, from the article's basic view (which holds every
// site it is on): for a write that reads something else first, and the article itself later.
func (s *Service) checkWritable(ctx context.Context, p auth.Principal, id string) error {
	a, err := s.articles.GetBasic(ctx, id)
	if err != nil {
		return err
	}
	if ViewFor(p, a) == nil {
		return articleNotFound(id)
	}
	return canWrite(p, a)
}

// ViewFor returns what p may see of a, or nil when p may see nothing of it. The rule: a key
// sees at most what its own sites can see.
//   - A key for all sites, or for a site the draft targets, sees the whole article: the draft,
//     its editor notes, its rendering and the live snapshot.
//   - A key for a site that only the live snapshot still targets (the draft was moved to other
//     sites and not republished) sees the live snapshot and nothing of the draft: a copy of a
//     made by liveView, with LiveSnapshotOnly set.
//   - Any other key sees nothing (the caller answers NOT_FOUND).
func ViewFor(p auth.Principal, a *Article) *Article {
	switch {
	case p.Site == "" || slices.Contains(a.Draft.TargetSites, p.Site):
		return a
	case a.Published != nil && slices.Contains(a.Published.Content.TargetSites, p.Site):
		return a.liveView()
	}
	return nil
}

// liveView is the article as its live snapshot shows it, for a key that may see only that: the
// snapshot's content and rendering in place of the draft (a snapshot has no editor notes), state
// PUBLISHED, revision_id and update_time those of the snapshot's publish (so the etag names the
// version shown), create_time and delete_time the article's; no schedule, no creator, no last
// change. Nothing in it comes from the draft.
func (a *Article) liveView() *Article {
	snap := *a.Published
	snap.Content = a.Published.Content.clone()
	return &Article{
		ID:               a.ID,
		Draft:            snap.Content.clone(),
		Rendering:        snap.Rendering,
		State:            StatePublished,
		RevisionID:       snap.RevisionID,
		CreateTime:       a.CreateTime,
		UpdateTime:       snap.PublishTime,
		DeleteTime:       a.DeleteTime,
		Published:        &snap,
		PublishedSlugs:   slices.Clone(a.PublishedSlugs),
		LastChange:       Change{Action: "publish", Time: snap.PublishTime},
		LiveSnapshotOnly: true,
	}
}

// liveOnlyPage is how many articles listScoped reads per store call when it collects the
// articles only a live snapshot puts on a site.
const liveOnlyPage = 100

// listScoped lists for a key scoped to site: the articles whose draft targets the site, whole,
// matched and ordered by the store; merged with the live-snapshot views of the articles only
// their live snapshot puts on the site (an article moved away from it and not republished),
// matched and ordered here by what the view shows, so that neither the filter nor the order nor
// a page token reveals anything of the draft. Collecting the latter costs in proportion to how
// many there are on the site, which is few: the next publish or unpublish ends the state.
func (s *Service) listScoped(ctx context.Context, site string, q ArticleQuery) ([]*Article, error) {
	own := q
	own.Sites = nil
	own.Conditions = append(slices.Clone(q.Conditions), listfilter.Condition{Field: "site", Op: listfilter.Eq, Value: site})
	whole, err := s.articles.ListArticles(ctx, own)
	if err != nil {
		return nil, err
	}
	views, err := s.liveOnlyViews(ctx, site, q.ShowDeleted, q.Basic)
	if err != nil {
		return nil, err
	}
	order := listOrder{field: q.OrderBy, desc: q.Descending}
	var shown []*Article
	for _, v := range views {
		ok, err := matchesAll(v, q)
		if err != nil {
			return nil, err
		}
		if ok && (q.After == nil || order.afterCursor(v, q.After)) {
			shown = append(shown, v)
		}
	}
	if len(shown) == 0 {
		return whole, nil
	}
	slices.SortFunc(shown, order.compare)
	out := make([]*Article, 0, q.Limit)
	for len(out) < q.Limit && (len(whole) > 0 || len(shown) > 0) {
		if len(shown) == 0 || (len(whole) > 0 && order.compare(whole[0], shown[0]) <= 0) {
			out, whole = append(out, whole[0]), whole[1:]
		} else {
			out, shown = append(out, shown[0]), shown[1:]
		}
	}
	return out, nil
}

// liveOnlyViews returns the live-snapshot views of every article that only its live snapshot
// puts on site.
func (s *Service) liveOnlyViews(ctx context.Context, site string, showDeleted, basic bool) ([]*Article, error) {
	q := ArticleQuery{
		Sites:       []string{site},                                                          // the draft or the live snapshot targets it...
		Conditions:  []listfilter.Condition{{Field: "site", Op: listfilter.Ne, Value: site}}, // ...not the draft
		ShowDeleted: showDeleted,
		OrderBy:     OrderCreateTime,
		Limit:       liveOnlyPage,
		Basic:       basic,
	}
	p := auth.Principal{Site: site}
	var out []*Article
	for {
		page, err := s.articles.ListArticles(ctx, q)
		if err != nil {
			return nil, err
		}
		for _, a := range page {
			if v := ViewFor(p, a); v != nil && v.LiveSnapshotOnly {
				out = append(out, v)
			}
		}
		if len(page) < q.Limit {
			return out, nil
		}
		last := page[len(page)-1]
		q.After = &Cursor{Time: last.CreateTime, ID: last.ID}
	}
}

// matchesAll reports whether a meets every condition, with the store's semantics (see
// store.ListArticles): array fields match = when an element equals the value and != when none
// does; a publish_time condition never matches an article without a publish time.
func matchesAll(a *Article, q ArticleQuery) (bool, error) {
	for _, c := range q.Conditions {
		ok, err := matches(a, c, q)
		if err != nil || !ok {
			return false, err
		}
	}
	return true, nil
}

func matches(a *Article, c listfilter.Condition, q ArticleQuery) (bool, error) {
	var values []string
	switch c.Field {
	case "review_due":
		// As the index answers it (articleindex), from what the key sees.
		due := ReviewDueOn(a.Draft.LastReview(), a.Draft.TargetSites, q.ReviewValidity)
		values = []string{strconv.FormatBool(!due.IsZero() && !q.Now.Before(due))}
	case "state":
		values = []string{a.State.String()}
	case "tag":
		values = a.Draft.Tags
	case "topic":
		values = a.Draft.Topics
	case "site":
		values = a.Draft.TargetSites
	case "author":
		for _, p := range a.Draft.Authors {
			values = append(values, p.DisplayName)
		}
	case "update_time":
		return compareTime(a.UpdateTime, c)
	case "create_time":
		return compareTime(a.CreateTime, c)
	case "publish_time":
		if a.Published == nil {
			return false, nil
		}
		return compareTime(a.Published.PublishTime, c)
	case "title":
		if c.Op != listfilter.Has {
			return false, fmt.Errorf("list articles: operator %q is not supported for %s", c.Op, c.Field)
		}
		return TitleContains(c.Value)(a.Draft.Title), nil
	default:
		return false, fmt.Errorf("list articles: unknown filter field %q", c.Field)
	}
	switch c.Op {
	case listfilter.Eq:
		return slices.Contains(values, c.Value), nil
	case listfilter.Ne:
		return !slices.Contains(values, c.Value), nil
	}
	return false, fmt.Errorf("list articles: operator %q is not supported for %s", c.Op, c.Field)
}

// compareTime applies a time condition at the store's millisecond precision.
func compareTime(t time.Time, c listfilter.Condition) (bool, error) {
	n := t.UTC().Truncate(time.Millisecond).Compare(c.Time.UTC().Truncate(time.Millisecond))
	switch c.Op {
	case listfilter.Eq:
		return n == 0, nil
	case listfilter.Ne:
		return n != 0, nil
	case listfilter.Lt:
		return n < 0, nil
	case listfilter.Le:
		return n <= 0, nil
	case listfilter.Gt:
		return n > 0, nil
	case listfilter.Ge:
		return n >= 0, nil
	}
	return false, fmt.Errorf("list articles: operator %q is not supported for %s", c.Op, c.Field)
}

// listOrder is a list's order: by field, then id, both ascending or both descending, as the
// store sorts (strings bytewise; no publish time before every publish time).
type listOrder struct {
	field OrderField
	desc  bool
}

// key returns a's order value as the cursor type holds it.
func (o listOrder) key(a *Article) Cursor {
	c := Cursor{ID: a.ID}
	switch o.field {
	case OrderCreateTime:
		c.Time = a.CreateTime
	case OrderPublishTime:
		if a.Published != nil {
			c.Time = a.Published.PublishTime
		}
	case OrderTitle:
		c.Title = a.Draft.Title
	default:
		c.Time = a.UpdateTime
	}
	return c
}

func (o listOrder) compareKeys(x, y Cursor) int {
	n := cmp.Or(x.Time.Compare(y.Time), cmp.Compare(x.Title, y.Title), cmp.Compare(x.ID, y.ID))
	if o.desc {
		return -n
	}
	return n
}

// compare orders two articles as the list does.
func (o listOrder) compare(a, b *Article) int { return o.compareKeys(o.key(a), o.key(b)) }

// afterCursor reports whether a comes strictly after the cursor in the order.
func (o listOrder) afterCursor(a *Article, c *Cursor) bool { return o.compareKeys(o.key(a), *c) > 0 }

// TitleContains returns the test of the title filter (title:"text"): whether a title contains
// text, case-insensitively (Unicode simple case folding, as a (?i) regular expression matches).
func TitleContains(text string) func(title string) bool {
	re := regexp.MustCompile("(?i)" + regexp.QuoteMeta(text))
	return re.MatchString
}
