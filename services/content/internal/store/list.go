package store

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"sync"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/beaconcms/beacon/platform/apperr"
	"github.com/beaconcms/beacon/platform/listfilter"
	"github.com/beaconcms/beacon/platform/mongodb"
	"github.com/beaconcms/beacon/services/content/internal/articleindex"
	"github.com/beaconcms/beacon/services/content/internal/domain"
)

// The stored paths that filters and orders use. Nothing else ever reaches a query.
const (
	pathState       = "state"
	pathTags        = "draft.tags"
	pathTopics      = "draft.topics"
	pathTargetSites = "draft.targetSites"
	pathAuthorNames = "authorNames"
	pathTitle       = "draft.title"
	pathUpdateTime  = "updateTime"
	pathCreateTime  = "createTime"
	pathPublishTime = "publishTime"
	pathDeleteTime  = "deleteTime"
)

// stringFields maps the String and Enum filter fields of domain.ArticleFilterSchema to their paths.
// The array fields (all but state) match when any element equals the value (=) or none does (!=).
var stringFields = map[string]string{
	"state":  pathState,
	"tag":    pathTags,
	"topic":  pathTopics,
	"site":   pathTargetSites,
	"author": pathAuthorNames,
}

// timeFields maps the Time filter fields to their paths.
var timeFields = map[string]string{
	"update_time":  pathUpdateTime,
	"create_time":  pathCreateTime,
	"publish_time": pathPublishTime,
}

// ListArticles returns at most q.Limit articles matching q, in q's order.
//
// Conditions on publish_time match only articles that have a publish time (a Published snapshot),
// whatever the operator: "publish_time != t" does not list never-published articles. Ordering by
// publish_time lists all articles, those without one first in ascending order (last in descending
// order), by id; see the package documentation.
//
// The list comes from the in-memory index (LoadIndex must have run). Basic views (q.Basic) come
// from the index's entries (copies, whose slices may be shared: read-only); whole articles are
// read by _id.
func (s *Store) ListArticles(ctx context.Context, q domain.ArticleQuery) ([]*domain.Article, error) {
	if !s.indexLoaded.Load() {
		return nil, errors.New("list articles: the article index is not loaded")
	}
	entries, err := s.index.List(q)
	if err != nil {
		return nil, err
	}
	if q.Basic {
		out := make([]*domain.Article, len(entries))
		for i := range entries {
			b, err := s.codec.basicOf(&entries[i])
			if err != nil {
				return nil, err
			}
			c := *b
			out[i] = &c
		}
		return out, nil
	}
	return s.getArticles(ctx, entries)
}

// listFetchers bounds how many articles of one page are read at once.
const listFetchers = 4

// getArticles reads the listed articles by _id, in order; one deleted from the store meanwhile
// (never, as articles are soft-deleted) is left out.
func (s *Store) getArticles(ctx context.Context, entries []articleindex.Entry) ([]*domain.Article, error) {
	out := make([]*domain.Article, len(entries))
	errs := make([]error, len(entries))
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(listFetchers, len(entries)) {
		wg.Go(func() {
			for i := range next {
				out[i], errs[i] = s.GetArticle(ctx, entries[i].ID)
			}
		})
	}
	for i := range entries {
		next <- i
	}
	close(next)
	wg.Wait()
	articles := make([]*domain.Article, 0, len(entries))
	for i, a := range out {
		switch {
		case apperr.Is(errs[i], apperr.NotFound):
		case errs[i] != nil:
			return nil, errs[i]
		default:
			articles = append(articles, a)
		}
	}
	return articles, nil
}

// queryArticles is ListArticles as a store query, kept as the reference the index is tested
// against (it scans the articles collection on FerretDB).
func (s *Store) queryArticles(ctx context.Context, q domain.ArticleQuery) ([]*domain.Article, error) {
	ctx = mongodb.WithScan(ctx, "test: the reference query of the article index")
	if q.Limit <= 0 {
		return nil, fmt.Errorf("list articles: limit must be positive, got %d", q.Limit)
	}
	if q.Sites != nil && len(q.Sites) == 0 {
		return nil, nil // restricted to no site at all
	}
	filter, sort, err := compileQuery(q)
	if err != nil {
		return nil, err
	}
	opts := options.Find().SetSort(sort).SetLimit(int64(q.Limit))
	return s.findArticles(ctx, "list articles", filter, opts)
}

// compileQuery turns q into a filter and a sort. Every clause is built here from a known path and
// a typed value; user-supplied values only ever appear as operands of $eq, $ne, $in and ranges.
func compileQuery(q domain.ArticleQuery) (filter, sort bson.D, err error) {
	var and bson.A
	if !q.ShowDeleted {
		and = append(and, bson.D{{Key: pathDeleteTime, Value: bson.D{{Key: "$eq", Value: nil}}}})
	}
	if q.Sites != nil {
		sites := make(bson.A, 0, len(q.Sites))
		for _, site := range q.Sites {
			sites = append(sites, site)
		}
		// An article is on a site while its draft targets it or its live snapshot still does
		// (until the next publish): the same rule as domain access checks.
		and = append(and, bson.D{{Key: "$or", Value: bson.A{
			bson.D{{Key: pathTargetSites, Value: bson.D{{Key: "$in", Value: sites}}}},
			bson.D{{Key: "liveSites", Value: bson.D{{Key: "$in", Value: sites}}}},
		}}})
	}
	for _, c := range q.Conditions {
		clauses, err := compileCondition(c)
		if err != nil {
			return nil, nil, err
		}
		and = append(and, clauses...)
	}

	path, err := orderPath(q.OrderBy)
	if err != nil {
		return nil, nil, err
	}
	desc := q.Descending
	if q.After != nil {
		and = append(and, keyset(path, desc, q.After))
	}
	dir := 1
	if desc {
		dir = -1
	}
	sort = bson.D{{Key: path, Value: dir}, {Key: "_id", Value: dir}}

	filter = bson.D{}
	if len(and) > 0 {
		filter = bson.D{{Key: "$and", Value: and}}
	}
	return filter, sort, nil
}

// compileCondition returns the clauses (all must hold) for one filter condition.
func compileCondition(c listfilter.Condition) ([]any, error) {
	if path, ok := stringFields[c.Field]; ok {
		if path == pathState {
			if _, ok := domain.ParseState(c.Value); !ok {
				return nil, apperr.InvalidField("filter", "invalid value %q for state: want one of %v", c.Value, domain.StateNames())
			}
		}
		switch c.Op {
		case listfilter.Eq:
			return []any{bson.D{{Key: path, Value: bson.D{{Key: "$eq", Value: c.Value}}}}}, nil
		case listfilter.Ne:
			return []any{bson.D{{Key: path, Value: bson.D{{Key: "$ne", Value: c.Value}}}}}, nil
		}
		return nil, fmt.Errorf("list articles: operator %q is not supported for %s", c.Op, c.Field)
	}
	if path, ok := timeFields[c.Field]; ok {
		op, ok := rangeOps[c.Op]
		if !ok {
			return nil, fmt.Errorf("list articles: operator %q is not supported for %s", c.Op, c.Field)
		}
		clauses := []any{bson.D{{Key: path, Value: bson.D{{Key: op, Value: toTime(c.Time)}}}}}
		if path == pathPublishTime {
			// Never-published articles have no publish time: no condition matches them, not even !=.
			clauses = append(clauses, bson.D{{Key: path, Value: bson.D{{Key: "$ne", Value: nil}}}})
		}
		return clauses, nil
	}
	if c.Field == "title" {
		if c.Op != listfilter.Has {
			return nil, fmt.Errorf("list articles: operator %q is not supported for %s", c.Op, c.Field)
		}
		// The reference query only (a scan): lists answer from the index (domain.TitleContains).
		return []any{bson.D{{Key: pathTitle, Value: bson.Regex{Pattern: regexp.QuoteMeta(c.Value), Options: "i"}}}}, nil
	}
	return nil, fmt.Errorf("list articles: unknown filter field %q", c.Field)
}

var rangeOps = map[listfilter.Op]string{
	listfilter.Eq: "$eq",
	listfilter.Ne: "$ne",
	listfilter.Lt: "$lt",
	listfilter.Le: "$lte",
	listfilter.Gt: "$gt",
	listfilter.Ge: "$gte",
}

// orderPath returns the stored path of an order field. The empty field orders by update time.
func orderPath(f domain.OrderField) (string, error) {
	switch f {
	case domain.OrderUpdateTime, "":
		return pathUpdateTime, nil
	case domain.OrderCreateTime:
		return pathCreateTime, nil
	case domain.OrderPublishTime:
		return pathPublishTime, nil
	case domain.OrderTitle:
		return pathTitle, nil
	}
	return "", fmt.Errorf("list articles: unknown order field %q", f)
}

// keyset returns the clause selecting the articles strictly after the cursor in the order
// (path, _id), both ascending or both descending: (path > v) OR (path == v AND _id > id), with <
// for descending.
//
// publishTime may be null, which sorts before every date. A cursor with a zero Time stands on a
// null: ascending, what follows is the nulls with a greater id and then every date; descending,
// only the nulls with a smaller id. A cursor on a date, descending, is followed by the smaller
// dates and then by all the nulls. ($gt/$lt on a date never match null, on MongoDB as on FerretDB.)
func keyset(path string, desc bool, c *domain.Cursor) bson.D {
	cmp := "$gt"
	if desc {
		cmp = "$lt"
	}
	var v any
	switch path {
	case pathTitle:
		v = c.Title
	case pathPublishTime:
		if !c.Time.IsZero() {
			v = toTime(c.Time)
		} // else nil: the cursor stands on an article without a publish time
	default:
		v = toTime(c.Time)
	}
	idAfter := bson.D{{Key: "_id", Value: bson.D{{Key: cmp, Value: c.ID}}}}
	tie := bson.D{{Key: path, Value: bson.D{{Key: "$eq", Value: v}}}, idAfter[0]}
	switch {
	case v == nil && desc:
		return tie
	case v == nil:
		return or(tie, bson.D{{Key: path, Value: bson.D{{Key: "$ne", Value: nil}}}})
	case desc && path == pathPublishTime:
		return or(bson.D{{Key: path, Value: bson.D{{Key: cmp, Value: v}}}}, tie,
			bson.D{{Key: path, Value: bson.D{{Key: "$eq", Value: nil}}}})
	default:
		return or(bson.D{{Key: path, Value: bson.D{{Key: cmp, Value: v}}}}, tie)
	}
}

func or(clauses ...bson.D) bson.D {
	a := make(bson.A, 0, len(clauses))
	for _, c := range clauses {
		a = append(a, c)
	}
	return bson.D{{Key: "$or", Value: a}}
}
