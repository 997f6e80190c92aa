package api_test

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"
	"google.golang.org/protobuf/proto"

	contentv1 "github.com/beaconcms/beacon/gen/beacon/content/v1"
	sitesv1 "github.com/beaconcms/beacon/gen/beacon/sites/v1"
	"github.com/beaconcms/beacon/platform/apperr"
	"github.com/beaconcms/beacon/platform/auth"
	"github.com/beaconcms/beacon/platform/claimlint"
	"github.com/beaconcms/beacon/platform/grpcserver"
	"github.com/beaconcms/beacon/platform/markdown"
	"github.com/beaconcms/beacon/platform/mongodb"
	"github.com/beaconcms/beacon/platform/mongodb/mongodbtest"
	"github.com/beaconcms/beacon/platform/pagetoken"
	"github.com/beaconcms/beacon/services/content/internal/api"
	"github.com/beaconcms/beacon/services/content/internal/domain"
	"github.com/beaconcms/beacon/services/content/internal/store"
	"github.com/beaconcms/beacon/services/sites"
	"github.com/beaconcms/beacon/services/sites/sitecatalog"
)

// The API keys the fake verifier knows. keyNone sends no authorization at all.
const (
	keyAdmin    = "admin-secret"
	keyEditorA  = "editor-a-secret" // editor limited to site-a
	keyViewer   = "viewer-secret"   // viewer of all sites
	keyDelivery = "delivery-secret" // delivery key of site-a
	keyUnknown  = "unknown-secret"
	keyNone     = ""
)

type fakeVerifier map[string]auth.Principal

func (f fakeVerifier) Verify(_ context.Context, secret string) (auth.Principal, error) {
	p, ok := f[secret]
	if !ok {
		return auth.Principal{}, apperr.New(apperr.Unauthenticated, "no such key")
	}
	return p, nil
}

var verifier = fakeVerifier{
	keyAdmin:    {KeyName: "apiKeys/admin", Role: auth.RoleAdmin},
	keyEditorA:  {KeyName: "apiKeys/editor-a", Role: auth.RoleEditor, Site: "site-a"},
	keyViewer:   {KeyName: "apiKeys/viewer", Role: auth.RoleViewer},
	keyDelivery: {KeyName: "apiKeys/delivery", Role: auth.RoleDelivery, Site: "site-a"},
}

// env is the site and article APIs (the sites service beside content) behind Beacon's real interceptor chain, on a fresh database
// holding sites site-a and site-b.
type env struct {
	sites    sitesv1.SiteServiceClient
	articles contentv1.ArticleServiceClient

	mu     sync.Mutex
	called map[string]bool // full method names the client has called
	n      atomic.Int64    // for unique titles
}

func newEnv(tb testing.TB) *env {
	tb.Helper()
	db := mongodbtest.NewDatabase(tb)
	logger := slog.New(slog.NewTextHandler(tb.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	if err := mongodb.Migrate(context.Background(), db, store.Migrations(), logger); err != nil {
		tb.Fatalf("migrating: %v", err)
	}
	tokens, err := pagetoken.NewCodec([]byte("test-page-token-secret-0123456789abcdef"))
	if err != nil {
		tb.Fatal(err)
	}
	// The sites service runs beside content, as in the binary, feeding content's site catalog.
	locks := mongodb.NewDocLocks()
	sitesDB := mongodbtest.NewDatabase(tb)
	if err := sites.Migrate(context.Background(), sitesDB, sites.Config{}, logger); err != nil {
		tb.Fatal(err)
	}
	siteSvc := sites.New(sites.Deps{DB: sitesDB, Locks: locks, Tokens: tokens}, logger)
	catalog := sitecatalog.New(siteSvc, sitecatalog.Config{}, logger)
	st := store.New(db, locks, logger)
	if err := st.LoadIndex(context.Background()); err != nil {
		tb.Fatalf("loading the article index: %v", err)
	}
	linter, err := claimlint.New(claimlint.Builtin(), claimlint.Tuning{})
	if err != nil {
		tb.Fatal(err)
	}
	svc := domain.NewService(st, catalogSites{catalog}, markdown.NewRenderer(), linter, nil, logger)
	policy, err := auth.Merge(api.Rules(), sites.Rules(), auth.HealthAndReflectionRules())
	if err != nil {
		tb.Fatal(err)
	}
	srv := grpcserver.New(grpcserver.Config{}, auth.NewInterceptor(policy, verifier, logger), logger)
	siteSvc.Register(srv)
	contentv1.RegisterArticleServiceServer(srv, api.NewArticleServer(svc, tokens))
	if missing := policy.MissingRules(srv); len(missing) > 0 {
		tb.Fatalf("methods without an access rule: %v", missing)
	}
	lis := bufconn.Listen(1 << 20)
	go func() { _ = srv.Serve(lis) }()

	e := &env{called: map[string]bool{}}
	record := func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		e.mu.Lock()
		e.called[method] = true
		e.mu.Unlock()
		return invoker(ctx, method, req, reply, cc, opts...)
	}
	conn, err := grpc.NewClient("passthrough:///bufnet",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithChainUnaryInterceptor(record))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		_ = conn.Close()
		srv.Stop()
	})
	e.sites = sitesv1.NewSiteServiceClient(conn)
	e.articles = contentv1.NewArticleServiceClient(conn)
	for _, id := range []string{"site-a", "site-b"} {
		e.createSite(tb, id)
	}
	return e
}

// catalogSites adapts the site catalog to domain.SiteCatalog, as the content facade does.
type catalogSites struct{ catalog *sitecatalog.Catalog }

func (c catalogSites) DeletedSites() []string {
	var out []string
	for _, s := range c.catalog.All() {
		if s.Deleted() {
			out = append(out, s.ID)
		}
	}
	return out
}

func (c catalogSites) Site(ctx context.Context, id string) (domain.Site, bool, error) {
	s, found, err := c.catalog.Lookup(ctx, id)
	return domain.Site{ID: s.ID, BaseURL: s.BaseURL, DeleteTime: s.DeleteTime, PublishGates: s.PublishGates,
		ReviewValidityMonths: s.ReviewValidityMonths, ExampleContent: s.ExampleContent}, found, err
}

// as returns a context carrying key as bearer token (none for keyNone).
func as(ctx context.Context, key string) context.Context {
	if key == keyNone {
		return ctx
	}
	return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+key)
}

// createSite creates a site without the clinical publish gates (see createGatedSite).
func (e *env) createSite(tb testing.TB, id string) *sitesv1.Site {
	tb.Helper()
	return e.createSiteWith(tb, id, &sitesv1.Site{PublishGates: proto.Bool(false)})
}

// createSiteWith creates a site with the settings of s (display name and base URL derived
// from id).
func (e *env) createSiteWith(tb testing.TB, id string, s *sitesv1.Site) *sitesv1.Site {
	tb.Helper()
	s.DisplayName, s.BaseUrl = "Site "+id, "https://"+id+".example.org"
	s, err := e.sites.CreateSite(as(context.Background(), keyAdmin), &sitesv1.CreateSiteRequest{SiteId: id, Site: s})
	if err != nil {
		tb.Fatalf("CreateSite(%s): %v", id, err)
	}
	return s
}

// title returns a title no other article of the env has.
func (e *env) title() string { return fmt.Sprintf("Article %03d", e.n.Add(1)) }

// article creates a draft on the given sites (site ids) as admin.
func (e *env) article(tb testing.TB, sites ...string) *contentv1.Article {
	tb.Helper()
	a := &contentv1.Article{Title: e.title(), Body: "Body.", EditorNotes: "notes"}
	for _, s := range sites {
		a.TargetSites = append(a.TargetSites, "sites/"+s)
	}
	out, err := e.articles.CreateArticle(as(context.Background(), keyAdmin), &contentv1.CreateArticleRequest{Article: a})
	if err != nil {
		tb.Fatalf("CreateArticle: %v", err)
	}
	return out
}

// do applies a lifecycle call as admin and returns the article it leaves.
func (e *env) do(tb testing.TB, a *contentv1.Article, action string) *contentv1.Article {
	tb.Helper()
	ctx := as(context.Background(), keyAdmin)
	var (
		out *contentv1.Article
		err error
	)
	switch action {
	case "publish":
		out, err = e.articles.PublishArticle(ctx, &contentv1.PublishArticleRequest{Name: a.GetName(), Etag: a.GetEtag()})
	case "delete":
		out, err = e.articles.DeleteArticle(ctx, &contentv1.DeleteArticleRequest{Name: a.GetName(), Etag: a.GetEtag()})
	case "archive":
		out, err = e.articles.ArchiveArticle(ctx, &contentv1.ArchiveArticleRequest{Name: a.GetName(), Etag: a.GetEtag()})
	default:
		tb.Fatalf("unknown action %q", action)
	}
	if err != nil {
		tb.Fatalf("%s %s: %v", action, a.GetName(), err)
	}
	return out
}

// badRequestFields returns the field names of err's errdetails.BadRequest, or nil.
func badRequestFields(err error) []string {
	var fields []string
	for _, d := range status.Convert(err).Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, v := range br.GetFieldViolations() {
				fields = append(fields, v.GetField())
			}
		}
	}
	return fields
}

func methodNames(methods []grpc.MethodDesc) []string {
	out := make([]string, len(methods))
	for i, m := range methods {
		out[i] = m.MethodName
	}
	return out
}
