package domain

import (
	"context"
	"time"

	"github.com/beaconcms/beacon/platform/claimlint"
)

// Site is what the content service knows of a site: its settings, as the site catalog holds
// them. The sites service owns sites; content never writes them.
type Site struct {
	ID                 string // e.g. "kratom-help"
	DisplayName        string
	BaseURL            string
	DefaultLocale      string
	CrisisLineText     string
	Public             bool
	CacheMaxAgeSeconds int
	// ReviewValidityMonths is how long a review stays valid on the site; 0 means
	// DefaultReviewValidityMonths.
	ReviewValidityMonths int
	// PublishGates turns on the clinical publish gates (CheckPublishGates) for articles that
	// target the site.
	PublishGates bool
	// ExampleContent marks the site's content as example content (the demo site): fictional
	// reviewers count for its publish gates, and delivery labels its articles.
	ExampleContent bool
	// LintTuning is the site's own tuning of the clinical-claim lint (its lint_tuning setting),
	// layered over the operator's --lint-tuning file.
	LintTuning claimlint.SiteTuning
	CreateTime time.Time
	UpdateTime time.Time
	// DeleteTime is set while the site is soft-deleted: its articles are hidden from delivery
	// and from site-scoped lists, and nothing new may be written toward it.
	DeleteTime time.Time
	// Revision increases whenever the catalog's copy of the site changes (the catalog's
	// version); read models use it to skip unchanged sites.
	Revision int64
}

// Name returns the resource name "sites/{id}".
func (s *Site) Name() string { return "sites/" + s.ID }

// Deleted reports whether the site is soft-deleted.
func (s *Site) Deleted() bool { return !s.DeleteTime.IsZero() }

// SiteCatalog is what the content service needs to know of sites: the process's site catalog,
// adapted by the facade. It answers from memory for known sites.
type SiteCatalog interface {
	// Site returns the site with this id, deleted or not; found is false when there is no such
	// site. An error means the catalog could not answer.
	Site(ctx context.Context, id string) (site Site, found bool, err error)
	// DeletedSites returns the ids of the soft-deleted sites the catalog holds, from memory.
	DeletedSites() []string
}

// DefaultCacheMaxAge is the delivery cache lifetime when a site sets none.
const DefaultCacheMaxAge = 60
