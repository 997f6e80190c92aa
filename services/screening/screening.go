// Package screening is the screening service: private self-check questionnaires (modelled on HL7
// FHIR Questionnaire) that sites offer their readers, scored in memory, whose results lead to
// articles (content service), resources and crisis lines (resources service). Management
// (QuestionnaireService), delivery (ScreenerService over gRPC, and the gateway read side for
// REST) and aggregate counters. See the README's screening section and docs/architecture.md.
//
// Privacy: answers are scored in memory and never stored or logged; only counters by
// questionnaire, version, site, band and day are kept, batched in memory and flushed every
// FlushInterval and on shutdown.
package screening

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"golang.org/x/sync/errgroup"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/beaconcms/beacon/gateway"
	screeningv1 "github.com/beaconcms/beacon/gen/beacon/screening/v1"
	"github.com/beaconcms/beacon/platform/apperr"
	"github.com/beaconcms/beacon/platform/auth"
	"github.com/beaconcms/beacon/platform/claimlint"
	"github.com/beaconcms/beacon/platform/idempotency"
	"github.com/beaconcms/beacon/platform/loop"
	"github.com/beaconcms/beacon/platform/mongodb"
	"github.com/beaconcms/beacon/platform/pagetoken"
	"github.com/beaconcms/beacon/services/screening/internal/api"
	"github.com/beaconcms/beacon/services/screening/internal/domain"
	"github.com/beaconcms/beacon/services/screening/internal/instruments"
	"github.com/beaconcms/beacon/services/screening/internal/recommend"
	"github.com/beaconcms/beacon/services/screening/internal/store"
	"github.com/beaconcms/beacon/services/sites/sitecatalog"
)

// Config is the screening service's configuration.
type Config struct {
	// Database is the MongoDB database the service owns.
	Database string
	// FlushInterval is how often counters are written: the most a crash can lose.
	FlushInterval time.Duration
	// CrisisRefresh is how often the cached copy of every served site's crisis lines is renewed.
	CrisisRefresh time.Duration
	// RecommendBudget is how long a score waits for content and resources before it answers
	// with the recommendations marked unavailable.
	RecommendBudget time.Duration
	// RecommendCacheTTL is how long recommendations that do not depend on the reader are reused
	// (negative: never).
	RecommendCacheTTL time.Duration
	// LintTuning is the sites' adjustments of the clinical-claim lint rules, read from the file
	// --lint-tuning names.
	LintTuning claimlint.Tuning
	// FinalFlushGrace bounds the last counter flush at shutdown.
	FinalFlushGrace time.Duration
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{
		Database: "beacon_screening", FlushInterval: domain.DefaultFlushInterval, CrisisRefresh: 30 * time.Second,
		RecommendBudget: domain.DefaultDeliverySettings().RecommendBudget, RecommendCacheTTL: recommend.DefaultCacheTTL,
		FinalFlushGrace: 5 * time.Second,
	}
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
	// Content and Resources are gRPC connections to those services (also in one process: the
	// local gRPC port), called with Key, the screening service's own API key (viewer or
	// delivery role, all sites).
	Content, Resources grpc.ClientConnInterface
	Key                string
}

// Service is a ready-to-register screening service.
type Service struct {
	cfg       Config
	domain    *domain.Service
	delivery  *domain.Delivery
	tally     *domain.Tally
	manage    *api.QuestionnaireServer
	screeners *api.ScreenerServer
	preview   *api.QuestionnairePreviewServer
	sites     catalogAdapter
	logger    *slog.Logger
}

// Migrate applies the screening database's migrations.
func Migrate(ctx context.Context, db *mongo.Database, logger *slog.Logger) error {
	return mongodb.Migrate(mongodb.WithScan(ctx, "migrations"), db, store.Migrations(), logger)
}

// New builds the service and loads every questionnaire (a startup scan of the small
// questionnaires collection, then each published version by _id). It does not migrate: call
// Migrate first.
func New(ctx context.Context, deps Deps, cfg Config, logger *slog.Logger) (*Service, error) {
	logger = logger.With("service", "screening")
	if deps.DB == nil || deps.Locks == nil || deps.Tokens == nil || deps.Sites == nil || deps.Content == nil || deps.Resources == nil {
		return nil, errors.New("screening: Deps.DB, Locks, Tokens, Sites, Content and Resources are required")
	}
	if deps.Key == "" {
		return nil, errors.New("screening: Deps.Key is required: the service calls content and resources with a key of its own")
	}
	sites := catalogAdapter{deps.Sites}
	tally := domain.NewTally(store.NewCounters(deps.DB, deps.Locks), nil, logger)
	rec := recommend.New(deps.Content, deps.Resources, deps.Key, sites, cfg.RecommendCacheTTL)
	settings := domain.DefaultDeliverySettings()
	if cfg.RecommendBudget > 0 {
		settings.RecommendBudget = cfg.RecommendBudget
	}
	delivery := domain.NewDelivery(sites, rec, rec, tally, settings, logger)
	linter, err := claimlint.New(claimlint.Builtin(), cfg.LintTuning)
	if err != nil {
		return nil, fmt.Errorf("screening: %w", err)
	}
	svc := domain.NewService(store.NewQuestionnaires(deps.DB, deps.Locks, logger), sites, linter, nil, nil, logger)
	if err := svc.Load(mongodb.WithScan(ctx, "screening: load questionnaires"), delivery); err != nil {
		return nil, fmt.Errorf("screening: loading questionnaires: %w", err)
	}
	return &Service{
		cfg: cfg, domain: svc, delivery: delivery, tally: tally, sites: sites, logger: logger,
		manage:    api.NewQuestionnaireServer(svc, tally, deps.Tokens, nil),
		screeners: api.NewScreenerServer(delivery, sites),
		preview:   api.NewQuestionnairePreviewServer(svc, delivery),
	}, nil
}

// catalogAdapter gives the domain, the API and the recommendation client the catalog through
// their own interfaces.
type catalogAdapter struct{ c SiteCatalog }

func (a catalogAdapter) Site(ctx context.Context, id string) (domain.SiteSettings, error) {
	s, ok, err := a.c.Lookup(ctx, id)
	if err != nil {
		return domain.SiteSettings{}, err
	}
	return domain.SiteSettings{Exists: ok, Deleted: s.Deleted(), Commercial: s.Commercial, CrisisLineText: s.CrisisLineText, LintTuning: s.LintTuning}, nil
}

func (a catalogAdapter) Public(ctx context.Context, id string) bool {
	s, ok, err := a.c.Lookup(ctx, id)
	return err == nil && ok && !s.Deleted() && s.Public
}

func (a catalogAdapter) BaseURL(ctx context.Context, id string) string {
	s, _, _ := a.c.Lookup(ctx, id)
	return s.BaseURL
}

func (a catalogAdapter) Caching(ctx context.Context, id string) (bool, int) {
	s, ok, err := a.c.Lookup(ctx, id)
	if err != nil || !ok {
		return false, 0
	}
	return s.Public, s.CacheMaxAgeSeconds
}

// Register adds the service's gRPC services to srv.
func (s *Service) Register(srv grpc.ServiceRegistrar) {
	screeningv1.RegisterQuestionnaireServiceServer(srv, s.manage)
	screeningv1.RegisterScreenerServiceServer(srv, s.screeners)
	screeningv1.RegisterQuestionnairePreviewServiceServer(srv, s.preview)
}

// IdempotentCreates are the service's create methods that take an AIP-155 request_id, for
// platform/idempotency's interceptor (records in the service's own database).
func IdempotentCreates() map[string]idempotency.Method {
	return map[string]idempotency.Method{screeningv1.QuestionnaireService_CreateQuestionnaire_FullMethodName: {}}
}

// ServiceNames are the gRPC service names Register adds.
func ServiceNames() []string {
	return []string{screeningv1.QuestionnaireService_ServiceDesc.ServiceName, screeningv1.ScreenerService_ServiceDesc.ServiceName,
		screeningv1.QuestionnairePreviewService_ServiceDesc.ServiceName}
}

// Rules is the access policy of every method the service registers.
func Rules() auth.Policy {
	p, err := auth.Merge(api.Rules(), api.ScreenerRules(), api.PreviewRules())
	if err != nil {
		panic(err) // the policies name different services
	}
	return p
}

// RegisterGateway registers the management and preview REST routes over a connection to the
// service. The screener routes are the read side's (ReadSide, RemoteReadSide).
func RegisterGateway(ctx context.Context, mux *runtime.ServeMux, conn *grpc.ClientConn) error {
	if err := screeningv1.RegisterQuestionnaireServiceHandler(ctx, mux, conn); err != nil {
		return err
	}
	return screeningv1.RegisterQuestionnairePreviewServiceHandler(ctx, mux, conn)
}

// ReadSide is the service's REST read side for a gateway in the same process: screeners served
// and scored from memory.
func (s *Service) ReadSide() gateway.ReadSide {
	return api.NewReadSide(s.screeners, s.sites, s.logger)
}

// RemoteReadSide is the read side of a gateway without the screening service: it calls the
// service over conn with the caller's own key. It loads nothing and needs no store.
func RemoteReadSide(conn grpc.ClientConnInterface, sites SiteCatalog, logger *slog.Logger) gateway.ReadSide {
	return api.NewRemoteReadSide(conn, catalogAdapter{sites}, logger.With("service", "screening", "role", "read-side"))
}

// Run flushes the counters every FlushInterval and renews the cached crisis lines every
// CrisisRefresh (the first time at once) until ctx ends; then it flushes the counters once more
// and returns once both loops have stopped.
func (s *Service) Run(ctx context.Context) error {
	var g errgroup.Group
	g.Go(func() error { return s.tally.Run(ctx, s.cfg.FlushInterval, s.cfg.FinalFlushGrace) })
	g.Go(func() error {
		s.delivery.RefreshCrisisLines(ctx)
		return loop.Every(ctx, s.cfg.CrisisRefresh, s.delivery.RefreshCrisisLines)
	})
	return g.Wait()
}

// ScreenerPublished reports whether site serves a published screener at slug (from memory): what
// a link to /v1/sites/{site}/screeners/{slug} reaches. The content service checks its
// articles' internal links with it.
func (s *Service) ScreenerPublished(ctx context.Context, site, slug string) (bool, error) {
	_, err := s.delivery.Screener(ctx, site, slug)
	switch {
	case apperr.Is(err, apperr.NotFound):
		return false, nil
	case err != nil:
		return false, err
	}
	return true, nil
}

// RemoteScreeners tells whether a site serves a published screener by asking the screening
// service over gRPC (GetScreener) with a key that covers every site (a process's --service-key):
// for a content service that runs apart from screening, to check its articles' links.
type RemoteScreeners struct {
	client screeningv1.ScreenerServiceClient
	key    string
}

// NewRemoteScreeners returns a RemoteScreeners calling the screening service over conn with key.
func NewRemoteScreeners(conn grpc.ClientConnInterface, key string) *RemoteScreeners {
	return &RemoteScreeners{client: screeningv1.NewScreenerServiceClient(conn), key: key}
}

// remoteScreenerTimeout bounds one question to the screening service (a publish waits for it).
const remoteScreenerTimeout = 5 * time.Second

// ScreenerPublished reports whether site serves a published screener at slug: NOT_FOUND from
// the service means no; any other error is returned (the link cannot be checked).
func (r *RemoteScreeners) ScreenerPublished(ctx context.Context, site, slug string) (bool, error) {
	ctx, cancel := context.WithTimeout(metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+r.key), remoteScreenerTimeout)
	defer cancel()
	_, err := r.client.GetScreener(ctx, &screeningv1.GetScreenerRequest{Site: "sites/" + site, Slug: slug})
	switch status.Code(err) {
	case codes.OK:
		return true, nil
	case codes.NotFound:
		return false, nil
	}
	return false, fmt.Errorf("ask the screening service for screener %q of sites/%s: %w", slug, site, err)
}

// SeedDemo loads the shipped instruments (TAPS-1, CAGE-AID, the kratom self-check) for site,
// published, unless a questionnaire with the same slug is there already. It reports how many
// it created. A site that does not exist or is deleted gets none; a commercial site gets only
// the instruments whose licence allows commercial use.
func (s *Service) SeedDemo(ctx context.Context, site string) (int, error) {
	st, err := s.sites.Site(ctx, site)
	if err != nil || !st.Exists || st.Deleted {
		return 0, err
	}
	all, err := instruments.All()
	if err != nil {
		return 0, err
	}
	p := auth.Principal{KeyName: "system:demo", Role: auth.RoleAdmin}
	created := 0
	for _, in := range all {
		if st.Commercial && !in.Content.Source.CommercialUseAllowed {
			continue
		}
		c := in.Content.Clone()
		c.TargetSites = []string{site}
		q, err := s.domain.Create(ctx, p, c)
		if apperr.Is(err, apperr.AlreadyExists) {
			continue // loaded at an earlier start (the slug is taken on the site)
		}
		if err != nil {
			return created, fmt.Errorf("instrument %s: %w", in.Name, err)
		}
		if _, err := s.domain.Publish(ctx, p, q.ID, q.Etag()); err != nil {
			return created, fmt.Errorf("publishing instrument %s: %w", in.Name, err)
		}
		created++
	}
	return created, nil
}
