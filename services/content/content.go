// Package content is the content service: articles, from draft to published, and their
// delivery to the sites. It is the exported facade the beacon binary wires; everything else is
// internal. Sites belong to the sites service: content reads their settings from the process's
// site catalog (see [SiteCatalog]), and honours a deleted site by hiding its articles from
// delivery and site-scoped lists and refusing writes toward it until it is undeleted.
package content

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	contentv1 "github.com/beaconcms/beacon/gen/beacon/content/v1"
	"github.com/beaconcms/beacon/platform/apperr"
	"github.com/beaconcms/beacon/platform/auth"
	"github.com/beaconcms/beacon/platform/changelog"
	"github.com/beaconcms/beacon/platform/claimlint"
	"github.com/beaconcms/beacon/platform/idempotency"
	"github.com/beaconcms/beacon/platform/loop"
	"github.com/beaconcms/beacon/platform/markdown"
	"github.com/beaconcms/beacon/platform/metrics"
	"github.com/beaconcms/beacon/platform/mongodb"
	"github.com/beaconcms/beacon/platform/pagetoken"
	"github.com/beaconcms/beacon/services/content/internal/api"
	"github.com/beaconcms/beacon/services/content/internal/delivery"
	"github.com/beaconcms/beacon/services/content/internal/demo"
	"github.com/beaconcms/beacon/services/content/internal/domain"
	"github.com/beaconcms/beacon/services/content/internal/render"
	"github.com/beaconcms/beacon/services/content/internal/store"
	"github.com/beaconcms/beacon/services/sites/sitecatalog"
	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"golang.org/x/sync/errgroup"
	"google.golang.org/grpc"
)

// Config is the content service's configuration.
type Config struct {
	// Database is the MongoDB database the service owns.
	Database string
	// SchedulerInterval is the least time between two checks of the scheduled articles. The
	// scheduler sleeps until the next scheduled time (woken by any change of the schedule), so
	// scheduled articles are published at their time (plus one store round trip), or this
	// interval after the previous check if that is later.
	SchedulerInterval time.Duration
	// DeliveryPollInterval is how often the delivery read model polls the store for changes
	// made by other replicas. Changes made by this process show at once.
	DeliveryPollInterval time.Duration
	// DeliveryBodyCacheBytes bounds the memory of the delivery read model's rendered article
	// JSON (and its gzip form); an article whose JSON was evicted is rendered again on its next
	// request. 0: readmodel's default (render.DefaultBodyCacheBytes).
	DeliveryBodyCacheBytes int64
	// ChangeLogRetention is how long article change-log entries are kept, and
	// ChangeLogPruneInterval how often older ones are deleted. Read models read the log within
	// their poll interval (plus a 10 s overlap); one that starts later loads everything anyway.
	// Short, because on FerretDB v1 every poll decodes every entry.
	ChangeLogRetention     time.Duration
	ChangeLogPruneInterval time.Duration
	// LintTuning is the sites' adjustments of the clinical-claim lint rules (disable a rule,
	// change its severity), read from the file --lint-tuning names.
	LintTuning claimlint.Tuning
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{Database: "beacon_content", SchedulerInterval: time.Second, DeliveryPollInterval: time.Second,
		DeliveryBodyCacheBytes: render.DefaultBodyCacheBytes, ChangeLogRetention: 5 * time.Minute, ChangeLogPruneInterval: time.Minute}
}

// Service is a ready-to-register content service.
type Service struct {
	cfg      Config
	domain   *domain.Service
	sites    catalogSites
	store    *store.Store
	changes  changelog.Changes // tells of writes to the database; nil: the article index polls
	articles *api.ArticleServer
	delivery *Delivery
	links    *linkTargets
	logger   *slog.Logger
}

// Deps is what the content service is built on.
type Deps struct {
	// DB is the service's own database (Config.Database), migrated with [Migrate].
	DB *mongo.Database
	// Locks is the process's one set of document write locks, shared by every store.
	Locks *mongodb.DocLocks
	// Tokens signs page tokens.
	Tokens *pagetoken.Codec
	// Sites is the process's site catalog.
	Sites SiteCatalog
	// ImageDir, when set, is where the service keeps its start-up image (see
	// store.UseStartupImage): only in the process that owns the store and alone writes DB.
	ImageDir string
	// Changes, when set, tells of every write to DB as it happens (the embedded store running in
	// this process: mongodb.Embedded.Changes): the article index and the delivery read model
	// then read the change log only when told, instead of polling its head. nil: they poll.
	Changes changelog.Changes
}

// SiteCatalog is what the content service needs of the process's site catalog
// (*sitecatalog.Catalog implements it).
type SiteCatalog interface {
	// Lookup returns a site, deleted or not, from memory (reading through on a miss).
	Lookup(ctx context.Context, id string) (sitecatalog.Site, bool, error)
	// All returns every site in memory, deleted ones included.
	All() []sitecatalog.Site
	// Subscribe registers fn, called after every change of the catalog.
	Subscribe(fn func())
}

// catalogSites adapts a SiteCatalog to the domain's SiteCatalog.
type catalogSites struct{ catalog SiteCatalog }

// DeletedSites implements domain.SiteCatalog.
func (c catalogSites) DeletedSites() []string {
	var out []string
	for _, s := range c.catalog.All() {
		if s.Deleted() {
			out = append(out, s.ID)
		}
	}
	return out
}

// Site implements domain.SiteCatalog.
func (c catalogSites) Site(ctx context.Context, id string) (domain.Site, bool, error) {
	s, found, err := c.catalog.Lookup(ctx, id)
	if err != nil || !found {
		return domain.Site{}, false, err
	}
	return domain.Site{
		ID:                   s.ID,
		DisplayName:          s.DisplayName,
		BaseURL:              s.BaseURL,
		DefaultLocale:        s.DefaultLocale,
		CrisisLineText:       s.CrisisLineText,
		Public:               s.Public,
		CacheMaxAgeSeconds:   s.CacheMaxAgeSeconds,
		ReviewValidityMonths: s.ReviewValidityMonths,
		PublishGates:         s.PublishGates,
		ExampleContent:       s.ExampleContent,
		LintTuning:           s.LintTuning,
		CreateTime:           s.CreateTime,
		UpdateTime:           s.UpdateTime,
		DeleteTime:           s.DeleteTime,
	}, true, nil
}

// ScreenerDirectory answers from memory whether a site serves a published screener at a slug
// (the screening service in the same process).
type ScreenerDirectory interface {
	ScreenerPublished(ctx context.Context, site, slug string) (bool, error)
}

// ResolveScreenersWith makes publishing check links to screeners against d. Call it before the
// service runs. Without it (no screening service in this process), an article that links to a
// screener cannot be published: the link cannot be verified.
func (s *Service) ResolveScreenersWith(d ScreenerDirectory) { s.links.screeners.Store(&d) }

// linkTargets resolves articles' internal links in process: articles from the delivery read
// model (which this service's own writes reach synchronously), screeners from the
// ScreenerDirectory, if any.
type linkTargets struct {
	delivery  *Delivery
	screeners atomic.Pointer[ScreenerDirectory]
}

// ArticlePublished implements domain.LinkTargets.
func (t *linkTargets) ArticlePublished(site, slug string) bool {
	v := t.delivery.model.View(site)
	return v != nil && v.Article(slug) != nil
}

// ScreenerPublished implements domain.LinkTargets.
func (t *linkTargets) ScreenerPublished(ctx context.Context, site, slug string) (bool, error) {
	d := t.screeners.Load()
	if d == nil {
		return false, errors.New("no screening service runs in this process")
	}
	return (*d).ScreenerPublished(ctx, site, slug)
}

// New builds the service on deps.DB, which [Migrate] must have brought up to date.
func New(ctx context.Context, deps Deps, cfg Config, logger *slog.Logger) (*Service, error) {
	logger = logger.With("service", "content")
	st := store.New(deps.DB, deps.Locks, logger)
	if deps.ImageDir != "" {
		st.UseStartupImage(deps.ImageDir)
	}
	renderer := markdown.NewRenderer()
	sites := catalogSites{deps.Sites}
	linter, err := claimlint.New(claimlint.Builtin(), cfg.LintTuning)
	if err != nil {
		return nil, err
	}
	svc := domain.NewService(st, sites, renderer, linter, nil, logger)
	// Startup reads, in parallel: the article index (small entries) and the delivery read model.
	var d *Delivery
	g, gctx := errgroup.WithContext(ctx)
	began := time.Now()
	g.Go(func() error {
		if err := st.LoadIndex(gctx); err != nil {
			return fmt.Errorf("load the article index: %w", err)
		}
		logger.Info("loaded the article index", "took", time.Since(began))
		return nil
	})
	g.Go(func() (err error) {
		if d, err = loadDelivery(gctx, st, deps.Sites, renderer, cfg, deps.Tokens, deps.Changes, logger); err == nil {
			logger.Info("loaded the delivery read model", "took", time.Since(began))
		}
		return err
	})
	if err := g.Wait(); err != nil {
		return nil, err
	}
	svc.Observe(d.observer())
	links := &linkTargets{delivery: d}
	svc.ResolveLinksWith(links)
	return &Service{
		links:    links,
		cfg:      cfg,
		domain:   svc,
		sites:    sites,
		store:    st,
		changes:  deps.Changes,
		articles: api.NewArticleServer(svc, deps.Tokens),
		delivery: d,
		logger:   logger,
	}, nil
}

// SchedulerStats reports what scheduled publishing has done (metrics.RegisterScheduler).
func (s *Service) SchedulerStats() metrics.SchedulerStats {
	st := s.domain.SchedulerStats()
	return metrics.SchedulerStats{Runs: st.Runs, FailedRuns: st.FailedRuns, Published: st.Published, Lag: st.Lag, LastRun: st.LastRun}
}

// Delivery returns the service's own read side.
func (s *Service) Delivery() *Delivery { return s.delivery }

// Migrate applies the migrations of db, the content service's database, and returns.
func Migrate(ctx context.Context, db *mongo.Database, logger *slog.Logger) error {
	if err := mongodb.Migrate(ctx, db, store.Migrations(), logger); err != nil {
		return fmt.Errorf("migrate content database %s: %w", db.Name(), err)
	}
	return nil
}

// Register adds the article and delivery services to srv.
func (s *Service) Register(srv grpc.ServiceRegistrar) {
	contentv1.RegisterArticleServiceServer(srv, s.articles)
	contentv1.RegisterDeliveryServiceServer(srv, delivery.NewServer(s.delivery.model, s.delivery.tokens))
}

// IdempotentCreates are the service's create methods that take an AIP-155 request_id, for
// platform/idempotency's interceptor (records in the service's own database).
func IdempotentCreates() map[string]idempotency.Method {
	return map[string]idempotency.Method{contentv1.ArticleService_CreateArticle_FullMethodName: {}}
}

// ServiceNames are the gRPC service names Register adds, for health checks.
func ServiceNames() []string {
	return []string{contentv1.ArticleService_ServiceDesc.ServiceName, contentv1.DeliveryService_ServiceDesc.ServiceName}
}

// Rules is the access policy of the registered services.
func Rules() auth.Policy {
	p, err := auth.Merge(api.Rules(), delivery.Rules())
	if err != nil {
		panic(err) // the two tables are fixed; a clash is a programming error caught by tests
	}
	return p
}

// flushInterval is how soon Run completes revision records whose write was interrupted, once the
// store suspects one (see Store.NextFlush); with none suspected, it sleeps until the store's
// rare rescan.
const flushInterval = 10 * time.Second

// Run does the service's background work until ctx ends: scheduled publishing, keeping the
// delivery read model and the article index fresh, completing revision records whose write was interrupted, and
// pruning the article change log (only the content service, which writes the log, prunes it).
// It returns only when all of them have stopped, so the caller may then close the store; the
// error is the first loop's that failed to start (a bad interval), nil after a normal stop.
func (s *Service) Run(ctx context.Context) error {
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error { return s.domain.RunScheduler(ctx, s.cfg.SchedulerInterval, s.store) })
	g.Go(func() error { return s.delivery.Run(ctx) })
	g.Go(func() error { return s.store.FollowChanges(ctx, s.cfg.DeliveryPollInterval, s.changes) })
	g.Go(func() error {
		s.flushPendingRevisions(ctx)
		return loop.Timed(ctx, s.store.FlushWake(), func() (time.Duration, bool) {
			return s.store.NextFlush(flushInterval), true
		}, s.flushPendingRevisions)
	})
	pruner := &changelog.Pruner{
		Head: s.store.ArticleChangesHead, Prune: s.store.PruneArticleChanges,
		Retention: s.cfg.ChangeLogRetention, Interval: s.cfg.ChangeLogPruneInterval,
		Logger: s.logger.With("log", "article_changes"),
	}
	g.Go(func() error { return pruner.Run(ctx) })
	err := g.Wait()
	// The loops have stopped: what the store holds now is what the next start loads.
	closeCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), imageCloseTimeout)
	defer cancel()
	s.store.CloseStartupImage(closeCtx)
	return err
}

// imageCloseTimeout bounds the one store read of sealing the start-up image at a stop.
const imageCloseTimeout = 5 * time.Second

func (s *Service) flushPendingRevisions(ctx context.Context) {
	if err := s.store.FlushPendingRevisions(ctx); err != nil && ctx.Err() == nil {
		s.logger.ErrorContext(ctx, "flush pending revisions", "err", err)
	}
}

// RegisterGateway adds the REST routes of the article service to mux; calls go through conn,
// so the gRPC interceptors run for REST callers too.
func RegisterGateway(ctx context.Context, mux *runtime.ServeMux, conn *grpc.ClientConn) error {
	return contentv1.RegisterArticleServiceHandler(ctx, mux, conn)
}

// SeedDemo creates and publishes the demo articles in the demo site (which the sites service
// creates) when no article targets that site yet, their fictional reviews dated the day it seeds
// (demo.Articles). It reports whether it seeded anything. An
// article that fails the publish checks (CheckPublishable: the site's gates, its internal links)
// is left as a draft and logged. The articles link to the shipped self-check screener: publish
// the screeners first, and resolve them (ResolveScreenersWith).
func (s *Service) SeedDemo(ctx context.Context) (bool, error) {
	system := auth.Principal{KeyName: "system:demo", Role: auth.RoleAdmin}
	// The sites service makes the demo site only in a store without sites (e.g. not in one that
	// `beacon seed` filled first): without it there is nothing to seed.
	if _, found, err := s.sites.Site(ctx, demo.SiteID); err != nil || !found {
		return false, err
	}
	existing, err := s.domain.ListArticles(ctx, system, domain.ArticleQuery{Sites: []string{demo.SiteID}, ShowDeleted: true, OrderBy: domain.OrderUpdateTime, Limit: 1})
	if err != nil {
		return false, err
	}
	if len(existing) > 0 {
		return false, nil
	}
	// The (fictional) reviews are dated today: a demo seeded at any time passes its site's gates.
	articles, err := demo.Articles(time.Now())
	if err != nil {
		return false, fmt.Errorf("load demo articles: %w", err)
	}
	pending := make([]*domain.Article, 0, len(articles))
	for _, c := range articles {
		a, err := s.domain.CreateArticle(ctx, system, c)
		if err != nil {
			return false, fmt.Errorf("create demo article %q: %w", c.Title, err)
		}
		pending = append(pending, a)
	}
	// The articles link to each other: publish in rounds until no round publishes more, so an
	// article whose link target comes later in the files still publishes.
	refusals := map[string]error{}
	for len(pending) > 0 {
		var next []*domain.Article
		for _, a := range pending {
			_, err := s.domain.PublishArticle(ctx, system, a.ID, a.Etag())
			switch {
			case apperr.Is(err, apperr.FailedPrecondition):
				refusals[a.ID] = err
				next = append(next, a)
			case err != nil:
				return false, fmt.Errorf("publish demo article %q: %w", a.Draft.Title, err)
			}
		}
		if len(next) == len(pending) {
			break
		}
		pending = next
	}
	for _, a := range pending {
		// The demo is held to its site's publish gates like any content: once its (fictional)
		// review has lapsed, or a link it makes is missing, it stays a draft, and says why.
		s.logger.WarnContext(ctx, "demo article left as a draft: it does not pass the publish checks", "title", a.Draft.Title, "err", refusals[a.ID])
	}
	return true, nil
}

// Seed imports n generated, published articles of about bodyBytes of Markdown each into site
// siteID (which must exist in deps.Sites), in batches, on deps.DB, which [Migrate] must have
// brought up to date. It is for benchmarks and load tests (`beacon seed`), and builds only the
// store and the domain: no read model, no index load. Rendering and encoding the next batch
// overlap storing the current one.
func Seed(ctx context.Context, deps Deps, siteID string, n, bodyBytes int, seed uint64, logger *slog.Logger) error {
	st := store.New(deps.DB, deps.Locks, logger)
	linter, err := claimlint.New(claimlint.Builtin(), claimlint.Tuning{})
	if err != nil {
		return err
	}
	if deps.ImageDir != "" {
		// Leave the start-up image of what is stored once seeded: load what is there (from the
		// image, or by scanning: nothing in a new store), import, seal.
		st.UseStartupImage(deps.ImageDir)
		if err := st.LoadIndex(ctx); err != nil {
			return err
		}
		if err := st.ForEachLiveArticle(ctx, func(*domain.Article) error { return nil }); err != nil {
			return err
		}
	}
	svc := domain.NewService(st, catalogSites{deps.Sites}, markdown.NewRenderer(), linter, nil, logger)
	system := auth.Principal{KeyName: "system:seed", Role: auth.RoleAdmin}
	contents := demo.Synthetic(seed, n, bodyBytes, siteID)
	const batch = 500
	type prepared struct {
		first, last int
		batch       *store.ImportBatch
		err         error
	}
	ready := make(chan prepared, 1) // one batch rendered and encoded ahead
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		defer close(ready)
		for start := 0; start < len(contents); start += batch {
			end := min(start+batch, len(contents))
			articles, err := svc.PrepareImport(gctx, system, contents[start:end])
			var batch *store.ImportBatch
			if err == nil {
				batch, err = st.EncodeImport(articles)
			}
			select {
			case ready <- prepared{first: start + 1, last: end, batch: batch, err: err}:
			case <-gctx.Done():
				return gctx.Err()
			}
			if err != nil {
				return nil
			}
		}
		return nil
	})
	g.Go(func() error {
		for p := range ready {
			if p.err == nil {
				p.err = st.ImportEncoded(gctx, p.batch)
			}
			if p.err != nil {
				return fmt.Errorf("import articles %d-%d: %w", p.first, p.last, p.err)
			}
		}
		return nil
	})
	if err := g.Wait(); err != nil {
		return err
	}
	st.CloseStartupImage(ctx)
	return nil
}
