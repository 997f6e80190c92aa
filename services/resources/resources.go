// Package resources is the resources service: the help directory (crisis lines, support groups,
// treatment providers, ...) that sites list for their readers, modelled on Open Referral HSDS 3.0.
// Management (ResourceService, DirectoryService), delivery (DeliveryService over gRPC, and the gateway read side for
// REST) and HSDS/CSV import and export. See docs/architecture.md.
package resources

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"golang.org/x/sync/errgroup"
	"google.golang.org/grpc"

	"github.com/beaconcms/beacon/gateway"
	resourcesv1 "github.com/beaconcms/beacon/gen/beacon/resources/v1"
	"github.com/beaconcms/beacon/platform/auth"
	"github.com/beaconcms/beacon/platform/changelog"
	"github.com/beaconcms/beacon/platform/claimlint"
	"github.com/beaconcms/beacon/platform/idempotency"
	"github.com/beaconcms/beacon/platform/markdown"
	"github.com/beaconcms/beacon/platform/metrics"
	"github.com/beaconcms/beacon/platform/mongodb"
	"github.com/beaconcms/beacon/platform/pagetoken"
	"github.com/beaconcms/beacon/services/resources/internal/api"
	"github.com/beaconcms/beacon/services/resources/internal/csvfile"
	"github.com/beaconcms/beacon/services/resources/internal/delivery"
	"github.com/beaconcms/beacon/services/resources/internal/demo"
	"github.com/beaconcms/beacon/services/resources/internal/domain"
	"github.com/beaconcms/beacon/services/resources/internal/index"
	"github.com/beaconcms/beacon/services/resources/internal/store"
	"github.com/beaconcms/beacon/services/sites/sitecatalog"
)

// Config is the resources service's configuration.
type Config struct {
	// Database is the MongoDB database the service owns.
	Database string
	// PollInterval is how often the read model reads the change log for other replicas' writes.
	PollInterval time.Duration
	// PruneInterval is how often change-log entries older than store.ChangeRetention are deleted.
	PruneInterval time.Duration
	// LintTuning is the sites' adjustments of the clinical-claim lint rules, read from the file
	// --lint-tuning names.
	LintTuning claimlint.Tuning
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{Database: "beacon_resources", PollInterval: time.Second, PruneInterval: time.Minute}
}

// SiteCatalog answers questions about sites from memory (sitecatalog.Catalog).
type SiteCatalog interface {
	Lookup(ctx context.Context, id string) (sitecatalog.Site, bool, error)
}

// Deps are what the service needs from the process.
type Deps struct {
	DB     *mongo.Database
	Locks  *mongodb.DocLocks // the process's one set of document locks
	Tokens *pagetoken.Codec
	Sites  SiteCatalog
	// Changes, when set, tells of every write to DB as it happens (the embedded store running in
	// this process: mongodb.Embedded.Changes): the read model then reads the change log only
	// when told, instead of polling its head. nil: it polls.
	Changes changelog.Changes
}

// Service is a ready-to-register resources service.
type Service struct {
	cfg      Config
	domain   *domain.Service
	dirsRule *domain.DirectoryService
	store    *store.Store
	index    *index.Index
	manage   *api.ResourceServer
	dirs     *api.DirectoryServer
	delivery *api.DeliveryServer
	sites    catalogAdapter
	logger   *slog.Logger
}

// Migrate applies the resources database's migrations.
func Migrate(ctx context.Context, db *mongo.Database, logger *slog.Logger) error {
	return mongodb.Migrate(mongodb.WithScan(ctx, "migrations"), db, store.Migrations(), logger)
}

// New builds the service and loads its read model (a startup scan of the resources collection).
// It does not migrate: call Migrate first.
func New(ctx context.Context, deps Deps, cfg Config, logger *slog.Logger) (*Service, error) {
	logger = logger.With("service", "resources")
	if deps.DB == nil || deps.Locks == nil || deps.Tokens == nil || deps.Sites == nil {
		return nil, errors.New("resources: Deps.DB, Deps.Locks, Deps.Tokens and Deps.Sites are required")
	}
	var ix *index.Index
	st := store.New(deps.DB, deps.Locks, func(r *domain.Resource) { ix.Put(r) }, logger)
	st.OnDirectoryWrite(func(d *domain.Directory) { ix.PutDirectory(d) })
	ix = index.New(st, cfg.PollInterval, logger)
	ix.TellChanges(deps.Changes)
	if err := ix.Load(ctx); err != nil {
		return nil, fmt.Errorf("resources: loading the read model: %w", err)
	}
	sites := catalogAdapter{deps.Sites}
	linter, err := claimlint.New(claimlint.Builtin(), cfg.LintTuning)
	if err != nil {
		return nil, fmt.Errorf("resources: %w", err)
	}
	svc := domain.NewService(st, ix, sites, linter, nil, nil, logger)
	dirs := domain.NewDirectoryService(st, ix, ix, sites, linter, nil, nil, logger)
	return &Service{
		cfg: cfg, domain: svc, dirsRule: dirs, store: st, index: ix, sites: sites, logger: logger,
		manage:   api.NewResourceServer(svc, deps.Tokens),
		dirs:     api.NewDirectoryServer(dirs, deps.Tokens),
		delivery: api.NewDeliveryServer(delivery.New(ix, sites, nil, svc.RenderDescription), deps.Tokens),
	}, nil
}

// catalogAdapter gives the domain and the read model the catalog through their own interfaces.
// A site's stale threshold of 0 means domain.DefaultStaleAfterDays (the sites service's default).
type catalogAdapter struct{ c SiteCatalog }

func (a catalogAdapter) Site(ctx context.Context, id string) (domain.SiteSettings, bool, error) {
	s, ok, err := a.c.Lookup(ctx, id)
	return domain.SiteSettings{ID: id, Deleted: s.Deleted(), StaleAfterDays: s.ResourceStaleAfterDays, HideStale: s.HideStaleResources, LintTuning: s.LintTuning}, ok, err
}

func (a catalogAdapter) Public(ctx context.Context, id string) bool {
	s, ok, err := a.c.Lookup(ctx, id)
	return err == nil && ok && !s.Deleted() && s.Public
}

// DefaultCacheMaxAge is a site's delivery max-age when it sets none (as for articles).
const DefaultCacheMaxAge = 60

func (a catalogAdapter) CacheMaxAge(ctx context.Context, id string) int {
	if s, ok, err := a.c.Lookup(ctx, id); err == nil && ok && s.CacheMaxAgeSeconds > 0 {
		return s.CacheMaxAgeSeconds
	}
	return DefaultCacheMaxAge
}

// Register adds the service's gRPC services to srv.
func (s *Service) Register(srv grpc.ServiceRegistrar) {
	resourcesv1.RegisterResourceServiceServer(srv, s.manage)
	resourcesv1.RegisterDirectoryServiceServer(srv, s.dirs)
	resourcesv1.RegisterDeliveryServiceServer(srv, s.delivery)
}

// IdempotentCreates are the service's create methods that take an AIP-155 request_id, for
// platform/idempotency's interceptor (records in the service's own database).
func IdempotentCreates() map[string]idempotency.Method {
	return map[string]idempotency.Method{
		resourcesv1.ResourceService_CreateResource_FullMethodName:   {},
		resourcesv1.DirectoryService_CreateDirectory_FullMethodName: {},
	}
}

// ServiceNames are the gRPC service names Register adds.
func ServiceNames() []string {
	return []string{resourcesv1.ResourceService_ServiceDesc.ServiceName, resourcesv1.DirectoryService_ServiceDesc.ServiceName,
		resourcesv1.DeliveryService_ServiceDesc.ServiceName}
}

// Rules is the access policy of every method the service registers.
func Rules() auth.Policy {
	p, err := auth.Merge(api.Rules(), api.DirectoryRules(), api.DeliveryRules())
	if err != nil {
		panic(err) // the policies name different services
	}
	return p
}

// RegisterGateway registers the management REST routes over a connection to the service.
func RegisterGateway(ctx context.Context, mux *runtime.ServeMux, conn *grpc.ClientConn) error {
	if err := resourcesv1.RegisterResourceServiceHandler(ctx, mux, conn); err != nil {
		return err
	}
	return resourcesv1.RegisterDirectoryServiceHandler(ctx, mux, conn)
}

// ReadSide is the service's REST read side for the gateway (resources, crisis-lines, directories).
func (s *Service) ReadSide() gateway.ReadSide {
	return api.NewReadSide(s.delivery, s.sites, s.logger)
}

// Run follows the change log (other replicas' writes) and prunes it until ctx ends; it returns
// once both loops have stopped.
func (s *Service) Run(ctx context.Context) error {
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error { return s.index.Run(ctx) })
	pruner := &changelog.Pruner{
		Head: s.store.ChangesHead, Prune: s.store.PruneChanges,
		Retention: store.ChangeRetention, Interval: s.cfg.PruneInterval,
		Logger: s.logger.With("log", "resource_changes"),
	}
	g.Go(func() error { return pruner.Run(ctx) })
	return g.Wait()
}

// ReadModelStats reports the read model's size and progress (metrics.RegisterReadModel).
func (s *Service) ReadModelStats() metrics.ReadModelStats {
	return readModelStats(s.index, s.delivery)
}

func readModelStats(ix *index.Index, d *api.DeliveryServer) metrics.ReadModelStats {
	st := ix.Stats()
	return metrics.ReadModelStats{Entries: st.Resources + st.Directories, Bytes: d.JSONBytes(), LastChange: st.LastChange, Synced: st.Synced}
}

// ReadModel is a read-only copy of the resources read model, for a gateway that runs without
// the service (see OpenReadModel).
type ReadModel struct {
	index    *index.Index
	delivery *api.DeliveryServer
	readSide gateway.ReadSide
}

// ReadSide is the copy's REST read side.
func (m *ReadModel) ReadSide() gateway.ReadSide { return m.readSide }

// Run follows the change log until ctx ends.
func (m *ReadModel) Run(ctx context.Context) error { return m.index.Run(ctx) }

// ReadModelStats reports the copy's size and progress (metrics.RegisterReadModel).
func (m *ReadModel) ReadModelStats() metrics.ReadModelStats {
	return readModelStats(m.index, m.delivery)
}

// OpenReadModel loads a read-only copy of the resources read model for a gateway that runs
// without the service: it never migrates, writes or prunes. Its Run follows the change log until
// its context ends.
func OpenReadModel(ctx context.Context, deps Deps, cfg Config, logger *slog.Logger) (*ReadModel, error) {
	logger = logger.With("service", "resources", "role", "read-side")
	if deps.DB == nil || deps.Tokens == nil || deps.Sites == nil {
		return nil, errors.New("resources: Deps.DB, Deps.Tokens and Deps.Sites are required")
	}
	st := store.New(deps.DB, mongodb.NewDocLocks(), nil, logger) // never writes: no locks shared
	ix := index.New(st, cfg.PollInterval, logger)
	ix.TellChanges(deps.Changes)
	if err := ix.Load(ctx); err != nil {
		return nil, fmt.Errorf("resources: loading the read model: %w", err)
	}
	sites := catalogAdapter{deps.Sites}
	renderer := markdown.NewRenderer()
	d := api.NewDeliveryServer(delivery.New(ix, sites, nil, func(md string) string { return renderer.Render(md).HTML }), deps.Tokens)
	return &ReadModel{index: ix, delivery: d, readSide: api.NewReadSide(d, sites, logger)}, nil
}

// SeedDemo imports the demo directory into sites/kratom-help (see internal/demo) and creates the
// demo directories ("crisis-lines", "peer-support") the site lacks. Import is idempotent, so
// running it at every `beacon dev` start changes nothing after the first. It
// reports how many resources it created. The sites service makes the demo site only in a store
// without sites (not in one that `beacon seed` filled first); without it there is nothing to
// seed, and SeedDemo returns 0 and no error.
func (s *Service) SeedDemo(ctx context.Context) (int, error) {
	if site, found, err := s.sites.Site(ctx, demo.Site); err != nil || !found || site.Deleted {
		return 0, err
	}
	records, err := csvfile.Read(strings.NewReader(demo.DirectoryCSV), demoSource)
	if err != nil {
		return 0, err
	}
	p := auth.Principal{KeyName: "system:demo", Role: auth.RoleAdmin}
	sum, results, err := s.domain.Import(ctx, p, domain.ImportRequest{Site: demo.Site, Records: records})
	if err != nil {
		return 0, err
	}
	for _, r := range results {
		if r.Reason == domain.ReasonInvalid || r.Reason == domain.ReasonConflict {
			return sum.Created, fmt.Errorf("demo row %d (%s): %s %v", r.Row, r.ExternalID, r.Reason, r.Violations)
		}
	}
	return sum.Created, s.seedDemoDirectories(ctx, p)
}

// seedDemoDirectories creates the demo directories whose slug the demo site does not have yet
// (an editor's own directory of that slug, or a deleted demo one, is left alone).
func (s *Service) seedDemoDirectories(ctx context.Context, p auth.Principal) error {
	for _, dd := range demo.Directories {
		if _, ok := s.index.DirectoryBySlug(demo.Site, dd.Slug); ok {
			continue
		}
		if existing, _ := s.dirsRule.List(ctx, p, domain.DirectoryQuery{Site: demo.Site, ShowDeleted: true,
			Match: func(d *domain.Directory) bool { return d.Slug == dd.Slug }}); len(existing) > 0 {
			continue // deleted by an editor: not brought back
		}
		f := domain.DirectoryFields{Title: dd.Title, Slug: dd.Slug, Intro: dd.Intro, Site: demo.Site}
		for _, e := range dd.Entries {
			id, held, err := s.store.ResourceIDByExternalID(ctx, domain.ExternalID{Source: demoSource, ID: e.ExternalID})
			if err != nil {
				return err
			}
			if held {
				f.Entries = append(f.Entries, domain.DirectoryEntry{ResourceID: id, Note: e.Note})
			}
		}
		if len(dd.RuleKinds) > 0 {
			f.Rule = &domain.DirectoryRule{}
			for _, k := range dd.RuleKinds {
				kind, ok := domain.ParseKind(k)
				if !ok {
					return fmt.Errorf("demo directory %s: unknown kind %q", dd.Slug, k)
				}
				f.Rule.Kinds = append(f.Rule.Kinds, kind)
			}
		}
		if _, err := s.dirsRule.Create(ctx, p, f); err != nil {
			return fmt.Errorf("demo directory %s: %w", dd.Slug, err)
		}
	}
	return nil
}

// demoSource is the external-id source of the demo directory's rows.
const demoSource = "beacon-demo"
