package domain

import (
	"context"
	"time"

	"github.com/beaconcms/beacon/platform/listfilter"
)

// ArticleStore persists articles and their revisions. Implementations return apperr errors:
// NotFound for missing ids, Conflict when a conditional write lost a race, AlreadyExists when a
// slug key is held by another live article.
type ArticleStore interface {
	// CreateArticle inserts a new article (RevisionID 1), claims its slug keys and records revision 1.
	CreateArticle(ctx context.Context, a *Article) error
	// GetArticle returns the article, deleted or not.
	GetArticle(ctx context.Context, id string) (*Article, error)
	// GetBasic returns the article's basic view (Article.Basic), deleted or not, from memory when
	// the store keeps one. The view may be shared: treat it as read-only.
	GetBasic(ctx context.Context, id string) (*Article, error)
	// UpdateArticle replaces prev by next when the stored revision is still prev.RevisionID
	// (next.RevisionID must be prev.RevisionID+1), moves slug claims from prev.SlugKeys() to
	// next.SlugKeys() and records next's revision. Nothing changes when it fails.
	UpdateArticle(ctx context.Context, prev, next *Article) error
	// ListArticles returns at most q.Limit articles matching q, in q's order.
	ListArticles(ctx context.Context, q ArticleQuery) ([]*Article, error)
	// ListRevisions returns revisions of one article newest first, those below beforeID when it is > 0.
	ListRevisions(ctx context.Context, articleID string, beforeID int64, limit int) ([]Revision, error)
	// GetRevision returns one revision.
	GetRevision(ctx context.Context, articleID string, revisionID int64) (Revision, error)
	// ListDueScheduled returns scheduled, undeleted articles whose time is at or before now.
	ListDueScheduled(ctx context.Context, now time.Time, limit int) ([]*Article, error)
}

// OrderField is a field articles can be listed by.
type OrderField string

// The orderable fields, in proto names.
const (
	OrderUpdateTime  OrderField = "update_time"
	OrderCreateTime  OrderField = "create_time"
	OrderPublishTime OrderField = "publish_time"
	OrderTitle       OrderField = "title"
)

// ArticleQuery selects articles for a list.
type ArticleQuery struct {
	// Conditions from the caller's filter; fields are canonical names from ArticleFilterSchema.
	Conditions []listfilter.Condition
	// Sites restricts to articles targeting one of them; nil means every site.
	Sites []string
	// ShowDeleted lists soft-deleted articles, and the articles of deleted sites, too.
	ShowDeleted bool
	// DeletedSites are soft-deleted sites: unless ShowDeleted, an article that targets (draft or
	// live snapshot) at least one site and only sites among these is left out. An article that
	// targets no site is never left out by this rule.
	DeletedSites []string
	OrderBy      OrderField
	Descending   bool
	// After continues a previous page: only articles strictly after this position in the order.
	After *Cursor
	Limit int
	// Now and ReviewValidity (months of review validity per site id) answer the review_due
	// condition: an article is due when its next review (ReviewDueOn its last review and its
	// draft's target sites) is at or before Now.
	Now            time.Time
	ReviewValidity func(site string) int
	// Basic asks for basic views (Article.Basic), which the store answers from memory, rather
	// than whole articles read from the store.
	Basic bool
}

// Cursor is a position in an ordered list: the order field's value and the id breaking ties.
type Cursor struct {
	Time  time.Time
	Title string
	ID    string
}

// ArticleChange says that an article was written at a revision: the publication log read models
// poll to learn of changes made by other replicas.
type ArticleChange struct {
	ArticleID  string
	RevisionID int64
	Time       time.Time
}
