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
	"github.com/beaconcms/beacon/platform/markdown"
)

// ArticleRef is a published article recommended with a result.
type ArticleRef struct {
	Name, Title, Slug, Summary, URL string
}

// ResourceRef is a resource recommended with a result.
type ResourceRef struct {
	Name, Title, Kind, Phone, URL string
	DistanceMeters                float64
}

// CrisisLine is a helpline to call or text now.
type CrisisLine struct {
	Title, Phone, SMS, URL, Hours string
}

// Point is where a reader is, to rank resources by distance.
type Point struct{ Latitude, Longitude float64 }

// ArticleSource finds a site's published articles (the content service, over gRPC).
type ArticleSource interface {
	// RecommendArticles returns up to limit published articles of site with any of the tags or
	// topics.
	RecommendArticles(ctx context.Context, site string, tags, topics []string, limit int) ([]ArticleRef, error)
}

// ResourceSource finds a site's resources and crisis lines (the resources service, over gRPC).
type ResourceSource interface {
	// RecommendResources returns up to limit resources of site of any of the kinds, nearest
	// first when near is given.
	RecommendResources(ctx context.Context, site string, kinds []string, near *Point, limit int) ([]ResourceRef, error)
	// CrisisLines returns the site's crisis lines.
	CrisisLines(ctx context.Context, site string) ([]CrisisLine, error)
}

// DeliverySettings tunes delivery.
type DeliverySettings struct {
	// RecommendBudget is how long a score waits for content and resources. Past it, the
	// recommendations are marked unavailable and crisis lines come from the cached copy, so a
	// score returns within the budget plus the (in-memory) scoring itself.
	RecommendBudget time.Duration
	// MaxArticles and MaxResources bound the recommendations of one result.
	MaxArticles, MaxResources int
}

// DefaultDeliverySettings keeps a score well within 500 ms with a dependency down.
func DefaultDeliverySettings() DeliverySettings {
	return DeliverySettings{RecommendBudget: 250 * time.Millisecond, MaxArticles: 5, MaxResources: 5}
}

// Outcome is everything a scored screening returns. It holds no answer.
type Outcome struct {
	Result               Result
	ResultHTML           string // the band's result text, sanitized HTML
	Disclaimer           string
	Articles             []ArticleRef
	ArticlesUnavailable  bool
	Resources            []ResourceRef
	ResourcesUnavailable bool
	// CrisisLines and CrisisLineText are set when the band shows crisis lines. CrisisLineText is
	// the site's own text: the floor when no crisis line could be had.
	CrisisLines    []CrisisLine
	CrisisLineText string
}

// Delivery serves published questionnaires to sites and scores answers, from memory. Scoring
// never waits on the store; it waits on content and resources for at most the recommendation
// budget.
type Delivery struct {
	sites     SiteCatalog
	articles  ArticleSource
	resources ResourceSource
	tally     *Tally
	settings  DeliverySettings
	renderer  *markdown.Renderer
	logger    *slog.Logger

	mu       sync.RWMutex
	bySlug   map[string]*screener // "site/slug" -> screener
	byID     map[string]*screener
	crisisMu sync.Mutex
	crisis   map[string][]CrisisLine // last crisis lines fetched per site

	warnMu   sync.Mutex
	lastWarn map[string]time.Time // "what\x00site" -> when an outage of it was last logged
}

// outageLogEvery bounds the warnings about one unavailable dependency of one site: an outage
// under traffic would otherwise log once per screening.
const outageLogEvery = time.Minute

// warnOutage logs that what is unavailable for site, at most once per outageLogEvery.
func (d *Delivery) warnOutage(ctx context.Context, what, site string, err error) {
	key := what + "\x00" + site
	now := time.Now()
	d.warnMu.Lock()
	last, seen := d.lastWarn[key]
	if seen && now.Sub(last) < outageLogEvery {
		d.warnMu.Unlock()
		return
	}
	d.lastWarn[key] = now
	d.warnMu.Unlock()
	d.logger.WarnContext(ctx, what+" (logged at most once a minute per site while it lasts)", "site", site, "err", err)
}

// screener is one questionnaire's published versions, ready to score.
type screener struct {
	id         string
	latest     *Scorer
	scorers    []*Scorer
	resultHTML map[int64][]string // version -> rendered result text per band
	keys       []string           // its bySlug keys
	served     *Served            // the latest version as sites render it
}

// Served is the newest published version of a questionnaire as a site renders it. It is
// immutable: the same value is returned until the questionnaire is published again.
type Served struct {
	Version          *Version
	InstructionsHTML string // the instructions, sanitized HTML
	Min, Max         int    // reachable totals
}

// NewDelivery returns an empty Delivery; Put adds published questionnaires.
func NewDelivery(sites SiteCatalog, articles ArticleSource, resources ResourceSource, tally *Tally, settings DeliverySettings, logger *slog.Logger) *Delivery {
	return &Delivery{
		sites: sites, articles: articles, resources: resources, tally: tally, settings: settings,
		renderer: markdown.NewRenderer(), logger: logger,
		bySlug: map[string]*screener{}, byID: map[string]*screener{}, crisis: map[string][]CrisisLine{},
		lastWarn: map[string]time.Time{},
	}
}

// Put makes a questionnaire's published versions servable, replacing what was there for it: its
// newest version is served at each of that version's target sites under its slug, and every
// version stays scoreable there. A questionnaire that is deleted or has no version is removed.
func (d *Delivery) Put(q *Questionnaire, versions []*Version) error {
	var s *screener
	if !q.Deleted() && len(versions) > 0 {
		s = &screener{id: q.ID, resultHTML: map[int64][]string{}}
		for _, v := range versions {
			sc, err := NewScorer(v)
			if err != nil {
				return err
			}
			s.scorers = append(s.scorers, sc)
			html := make([]string, len(v.Content.Bands))
			for i, b := range v.Content.Bands {
				html[i] = d.renderer.Render(b.ResultText).HTML
			}
			s.resultHTML[v.Number] = html
			if s.latest == nil || v.Number > s.latest.version.Number {
				s.latest = sc
			}
		}
		lo, hi := s.latest.Range()
		s.served = &Served{Version: s.latest.version, InstructionsHTML: d.renderer.Render(s.latest.version.Content.Instructions).HTML, Min: lo, Max: hi}
		for _, site := range s.latest.version.Content.TargetSites {
			s.keys = append(s.keys, site+"/"+s.latest.version.Content.Slug)
		}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if old := d.byID[q.ID]; old != nil {
		for _, k := range old.keys {
			if d.bySlug[k] == old {
				delete(d.bySlug, k)
			}
		}
		delete(d.byID, q.ID)
	}
	if s != nil {
		d.byID[q.ID] = s
		for _, k := range s.keys {
			d.bySlug[k] = s
		}
	}
	return nil
}

// lookup finds the screener a site serves at slug, honouring the site's state: a site that
// does not exist or is deleted serves nothing.
func (d *Delivery) lookup(ctx context.Context, site, slug string) (*screener, SiteSettings, error) {
	settings, err := d.sites.Site(ctx, site)
	if err != nil {
		return nil, SiteSettings{}, fmt.Errorf("site %s: %w", site, err)
	}
	d.mu.RLock()
	s := d.bySlug[site+"/"+slug]
	d.mu.RUnlock()
	if s == nil || !settings.Exists || settings.Deleted {
		return nil, SiteSettings{}, apperr.New(apperr.NotFound, "no screener %q on site %q", slug, "sites/"+site)
	}
	return s, settings, nil
}

// Screener returns the newest published version a site serves at slug.
func (d *Delivery) Screener(ctx context.Context, site, slug string) (*Served, error) {
	s, _, err := d.lookup(ctx, site, slug)
	if err != nil {
		return nil, err
	}
	return s.served, nil
}

// Score scores answers against version of the screener a site serves at slug, counts the
// result, and gathers what the band recommends. Bad answers give an Invalid error naming each
// problem, and nothing is counted. Recommendations that do not arrive within the budget are
// marked unavailable; crisis lines then come from the last copy fetched for the site, and the
// site's crisis-line text is always there when the band shows crisis lines.
func (d *Delivery) Score(ctx context.Context, site, slug string, version int64, answers Answers, near *Point) (Outcome, error) {
	s, settings, err := d.lookup(ctx, site, slug)
	if err != nil {
		return Outcome{}, err
	}
	sc, err := FindScorer(s.scorers, version)
	if err != nil {
		return Outcome{}, err
	}
	res, err := sc.Score(answers)
	if err != nil {
		return Outcome{}, err
	}
	d.tally.Count(res, site)
	out := Outcome{Result: res, Disclaimer: sc.version.Content.Disclaimer}
	if i := slices.IndexFunc(sc.version.Content.Bands, func(b Band) bool { return b.Code == res.Band.Code }); i >= 0 {
		out.ResultHTML = s.resultHTML[sc.version.Number][i]
	}
	d.recommend(ctx, site, settings, res.Band, near, &out)
	return out, nil
}

// Preview scores answers against v, which need not be published, and returns the outcome a
// reader of site would get (wording, recommendations, crisis lines), without counting it: for
// an editor trying sample answers. The caller checks that site is one of v's target sites.
// Bad answers give an Invalid error naming each problem, as for Score.
func (d *Delivery) Preview(ctx context.Context, site string, v *Version, answers Answers) (Outcome, error) {
	settings, err := d.sites.Site(ctx, site)
	if err != nil {
		return Outcome{}, fmt.Errorf("site %s: %w", site, err)
	}
	if !settings.Exists || settings.Deleted {
		return Outcome{}, apperr.FailedPreconditionField("site", "site %q does not exist or is deleted", "sites/"+site)
	}
	sc, err := NewScorer(v)
	if err != nil {
		return Outcome{}, err
	}
	res, err := sc.Score(answers)
	if err != nil {
		return Outcome{}, err
	}
	out := Outcome{Result: res, Disclaimer: v.Content.Disclaimer, ResultHTML: d.renderer.Render(res.Band.ResultText).HTML}
	d.recommend(ctx, site, settings, res.Band, nil, &out)
	return out, nil
}

// recommend fetches articles, resources and crisis lines concurrently, each bounded by the
// budget, and waits for all three (every call ends by the deadline: the sources honour ctx).
func (d *Delivery) recommend(ctx context.Context, site string, settings SiteSettings, b Band, near *Point, out *Outcome) {
	ctx, cancel := context.WithTimeout(ctx, d.settings.RecommendBudget)
	defer cancel()
	var wg sync.WaitGroup
	r := b.Recommend
	if len(r.ArticleTags)+len(r.ArticleTopics) > 0 {
		wg.Go(func() {
			list, err := d.articles.RecommendArticles(ctx, site, r.ArticleTags, r.ArticleTopics, d.settings.MaxArticles)
			if err != nil {
				d.warnOutage(ctx, "article recommendations unavailable", site, err)
				out.ArticlesUnavailable = true
				return
			}
			out.Articles = list
		})
	}
	if len(r.ResourceKinds) > 0 {
		wg.Go(func() {
			list, err := d.resources.RecommendResources(ctx, site, r.ResourceKinds, near, d.settings.MaxResources)
			if err != nil {
				d.warnOutage(ctx, "resource recommendations unavailable", site, err)
				out.ResourcesUnavailable = true
				return
			}
			out.Resources = list
		})
	}
	if b.ShowCrisisLines {
		out.CrisisLineText = settings.CrisisLineText
		wg.Go(func() {
			lines, err := d.resources.CrisisLines(ctx, site)
			d.crisisMu.Lock()
			defer d.crisisMu.Unlock()
			if err != nil {
				d.warnOutage(ctx, "crisis lines from the cached copy", site, err)
				out.CrisisLines = slices.Clone(d.crisis[site])
				return
			}
			d.crisis[site] = slices.Clone(lines)
			out.CrisisLines = lines
		})
	}
	wg.Wait()
}

// RefreshCrisisLines fetches every served site's crisis lines into the cached copy, so a cold
// start or an outage of resources still has them. Run it at start and periodically.
func (d *Delivery) RefreshCrisisLines(ctx context.Context) {
	d.mu.RLock()
	sites := map[string]bool{}
	for k := range d.bySlug {
		site, _, _ := strings.Cut(k, "/")
		sites[site] = true
	}
	d.mu.RUnlock()
	for site := range sites {
		lines, err := d.resources.CrisisLines(ctx, site)
		if err != nil {
			continue // keep the last copy; Score logs outages
		}
		d.crisisMu.Lock()
		d.crisis[site] = slices.Clone(lines)
		d.crisisMu.Unlock()
	}
}
