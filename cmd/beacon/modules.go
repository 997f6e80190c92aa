package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"golang.org/x/sync/errgroup"
	"google.golang.org/grpc"

	"github.com/beaconcms/beacon/console"
	"github.com/beaconcms/beacon/gateway"
	"github.com/beaconcms/beacon/gen/openapi"
	"github.com/beaconcms/beacon/platform/auth"
	"github.com/beaconcms/beacon/platform/changelog"
	"github.com/beaconcms/beacon/platform/grpcserver"
	"github.com/beaconcms/beacon/platform/idempotency"
	"github.com/beaconcms/beacon/platform/loop"
	"github.com/beaconcms/beacon/platform/modules"
	"github.com/beaconcms/beacon/platform/mongodb"
	"github.com/beaconcms/beacon/platform/pagetoken"
	"github.com/beaconcms/beacon/platform/ratelimit"
	"github.com/beaconcms/beacon/services/access"
	"github.com/beaconcms/beacon/services/content"
	"github.com/beaconcms/beacon/services/resources"
	"github.com/beaconcms/beacon/services/screening"
	"github.com/beaconcms/beacon/services/sites"
	"github.com/beaconcms/beacon/services/sites/sitecatalog"
)

// Module names. Targets (user-visible) are the services, the gateway and all; the others are
// building blocks that targets pull in.
const (
	moduleStore    = "store"
	moduleCatalog  = "site-catalog"
	moduleVerifier = "key-verifier"
	moduleGRPC     = "grpc-server"
	moduleGateway  = "gateway"
	moduleDevSetup = "dev-setup"
	moduleConsole  = "console"
	moduleAll      = "all"
)

// serviceModule is one Beacon gRPC service. Adding a service means adding its folder and one entry
// to serviceModules; the module graph, --target, --<name>-addr, the gRPC server, health and the
// gateway's upstreams follow from the entry.
type serviceModule struct {
	// name is the module and target name. A gateway running without this service finds it at
	// --<name>-addr.
	name string
	// deps are the modules it needs besides the store and the gRPC server.
	deps []string
	// start builds the service from what its deps put in a.
	start func(ctx context.Context, a *app) (grpcService, error)
	// gateway registers the service's management REST routes over a connection to it.
	gateway gateway.RegisterFunc
	// readSide, if set, gives the gateway the service's read side: the service's own when it
	// runs in the process (a.running), else one the gateway loads from the store (read only)
	// and keeps fresh with the returned run (nil when there is nothing to run), or one that
	// calls the service over conn (readSideCallsService).
	readSide func(ctx context.Context, a *app, conn *grpc.ClientConn) (gateway.ReadSide, func(context.Context) error, error)
	// readSideCallsService: without the service in its process, the gateway's read side calls
	// it over gRPC instead of keeping a copy from the store (so it needs no --mongodb-uri).
	readSideCallsService bool
	// creates are the service's idempotent create methods (AIP-155 request_id); database names
	// its own database, which keeps their records.
	creates  func() map[string]idempotency.Method
	database func(Config) string
}

// grpcService is what a started service hands the gRPC server.
type grpcService struct {
	register func(grpc.ServiceRegistrar)
	rules    auth.Policy
	// names are the gRPC service names register adds: each one's health follows the store.
	names []string
	// run does the service's background work until ctx ends and returns once it has stopped (nil
	// for a service without any).
	run func(ctx context.Context) error
	// creates, when set, are the service's idempotent creates, for the gRPC server's
	// interceptor; initService runs their Store's prune loop beside run.
	creates *idempotency.Creates
}

// serviceModules are Beacon's services, in the order they start.
var serviceModules = []serviceModule{
	// The site catalog module builds the sites service when this process runs it (the catalog
	// reads it in process); the sites module registers it.
	{name: "sites", deps: []string{moduleCatalog}, start: func(_ context.Context, a *app) (grpcService, error) {
		return grpcService{register: a.sites.Register, rules: sites.Rules(), names: sites.ServiceNames()}, nil
	}, gateway: sites.RegisterGateway,
		creates: sites.IdempotentCreates, database: func(c Config) string { return c.Sites.Database }},
	{name: "access", deps: []string{moduleVerifier}, start: func(_ context.Context, a *app) (grpcService, error) {
		return grpcService{register: a.keys.Register, rules: access.Rules(), names: access.ServiceNames(), run: a.keys.Run}, nil
	}, gateway: access.RegisterGateway,
		creates: access.IdempotentCreates, database: func(c Config) string { return c.AccessDatabase }},
	{name: "content", deps: []string{moduleCatalog}, start: func(ctx context.Context, a *app) (grpcService, error) {
		svc, err := newContent(ctx, a.cfg, a.store, a.catalog, a.logger)
		if err != nil {
			return grpcService{}, err
		}
		a.content = svc
		if err := a.obs.registerReadModel("content", svc.Delivery()); err != nil {
			return grpcService{}, err
		}
		if err := a.obs.registerScheduler("content", svc); err != nil {
			return grpcService{}, err
		}
		run := svc.Run
		if addr := a.cfg.ServiceAddrs["screening"]; !a.running["screening"] && addr != "" && a.cfg.ServiceKey != "" {
			// Articles' links to screeners are checked with the screening service elsewhere.
			conn, err := grpc.NewClient(addr, a.obs.dialOptions()...)
			if err != nil {
				return grpcService{}, fmt.Errorf("dial screening at %s: %w", addr, err)
			}
			svc.ResolveScreenersWith(screening.NewRemoteScreeners(conn, a.cfg.ServiceKey))
			run = func(ctx context.Context) error {
				defer conn.Close()
				return svc.Run(ctx)
			}
		}
		return grpcService{register: svc.Register, rules: content.Rules(), names: content.ServiceNames(), run: run}, nil
	}, gateway: content.RegisterGateway,
		creates: content.IdempotentCreates, database: func(c Config) string { return c.Content.Database },
		readSide: func(ctx context.Context, a *app, _ *grpc.ClientConn) (gateway.ReadSide, func(context.Context) error, error) {
			if a.content != nil {
				return a.content.Delivery().ReadSide(), nil, nil
			}
			d, err := content.OpenDelivery(ctx, a.store.client, a.cfg.Content, a.store.tokens, a.catalog, a.store.changes(a.cfg.Content.Database), a.logger)
			if err != nil {
				return nil, nil, err
			}
			if err := a.obs.registerReadModel("content", d); err != nil {
				return nil, nil, err
			}
			return d.ReadSide(), d.Run, nil
		}},
	{name: "resources", deps: []string{moduleCatalog}, start: func(ctx context.Context, a *app) (grpcService, error) {
		svc, err := newResources(ctx, a.cfg, a.store, a.catalog, a.logger)
		if err != nil {
			return grpcService{}, err
		}
		a.resources = svc
		if err := a.obs.registerReadModel("resources", svc); err != nil {
			return grpcService{}, err
		}
		return grpcService{register: svc.Register, rules: resources.Rules(), names: resources.ServiceNames(), run: svc.Run}, nil
	}, gateway: resources.RegisterGateway,
		creates: resources.IdempotentCreates, database: func(c Config) string { return c.Resources.Database },
		readSide: func(ctx context.Context, a *app, _ *grpc.ClientConn) (gateway.ReadSide, func(context.Context) error, error) {
			if a.resources != nil {
				return a.resources.ReadSide(), nil, nil
			}
			m, err := resources.OpenReadModel(ctx, resources.Deps{DB: a.store.client.Database(a.cfg.Resources.Database),
				Tokens: a.store.tokens, Sites: a.catalog, Changes: a.store.changes(a.cfg.Resources.Database)}, a.cfg.Resources, a.logger)
			if err != nil {
				return nil, nil, err
			}
			if err := a.obs.registerReadModel("resources", m); err != nil {
				return nil, nil, err
			}
			return m.ReadSide(), m.Run, nil
		}},
	// Screening calls content and resources over gRPC with its own key, also in one process (the
	// local gRPC port): it never reads their stores.
	{name: "screening", deps: []string{moduleCatalog}, start: func(ctx context.Context, a *app) (grpcService, error) {
		svc, closeConns, err := newScreening(ctx, a)
		if err != nil {
			return grpcService{}, err
		}
		a.screening = svc
		if a.content != nil {
			// Articles' links to screeners are checked against this process's screeners.
			a.content.ResolveScreenersWith(svc)
		}
		return grpcService{register: svc.Register, rules: screening.Rules(), names: screening.ServiceNames(), run: func(ctx context.Context) error {
			defer closeConns()
			return svc.Run(ctx)
		}}, nil
	}, gateway: screening.RegisterGateway, readSideCallsService: true,
		creates: screening.IdempotentCreates, database: func(c Config) string { return c.Screening.Database },
		readSide: func(_ context.Context, a *app, conn *grpc.ClientConn) (gateway.ReadSide, func(context.Context) error, error) {
			if a.screening != nil {
				return a.screening.ReadSide(), nil, nil
			}
			return screening.RemoteReadSide(conn, a.catalog, a.logger), nil, nil
		}},
}

// serviceNames are the names of serviceModules, in order.
func serviceNames() []string {
	out := make([]string, len(serviceModules))
	for i, s := range serviceModules {
		out[i] = s.name
	}
	return out
}

// app is what the modules of one process share. Each field is set by the Init of the module that
// owns it, before any module that depends on it is initialized.
type app struct {
	cfg    Config
	dev    bool
	logger *slog.Logger
	stdout io.Writer
	obs    *observability // metrics, request ids

	store     stored               // moduleStore
	catalog   *sitecatalog.Catalog // moduleCatalog
	sites     *sites.Service       // moduleCatalog, when the process runs the sites service
	keys      *access.Service      // moduleVerifier
	grpc      *grpcRegistry        // moduleGRPC
	content   *content.Service
	resources *resources.Service
	screening *screening.Service
	console   *console.Console // moduleConsole; the gateway serves it
	running   map[string]bool  // the modules this process runs
	restAddr  string           // moduleGateway

	shutdownOnce  sync.Once
	shutdownStart time.Time // when the first listener module saw shutdown begin
}

// waitShutdownDelay returns cfg.ShutdownDelay after the first call (the moment the first
// listener module saw shutdown begin), so that the listeners close only once load balancers
// have had that long to see the process unready; later callers wait only for what is left.
func (a *app) waitShutdownDelay() {
	a.shutdownOnce.Do(func() { a.shutdownStart = time.Now() })
	if left := time.Until(a.shutdownStart.Add(a.cfg.ShutdownDelay)); left > 0 {
		time.Sleep(left)
	}
}

// newGraph returns Beacon's module graph; the Inits act on a.
func newGraph(a *app) (*modules.Graph, error) {
	mods := []modules.Module{
		{Name: moduleStore, Init: a.initStore},
		{Name: moduleCatalog, Deps: []string{moduleStore}, Init: a.initCatalog},
		{Name: moduleVerifier, Deps: []string{moduleStore, moduleCatalog}, Init: a.initVerifier},
		{Name: moduleGRPC, Deps: []string{moduleStore, moduleVerifier}, Init: a.initGRPC},
	}
	for _, s := range serviceModules {
		mods = append(mods, modules.Module{
			Name:   s.name,
			Deps:   slices.Concat([]string{moduleStore, moduleGRPC}, s.deps),
			Target: true,
			Init:   func(ctx context.Context) (modules.Service, error) { return a.initService(ctx, s) },
		})
	}
	// A gateway with read sides loads them from the store (or from the service in the same
	// process) and verifies delivery keys itself. A management-only gateway (--read-sides=)
	// only forwards calls: the services' own interceptors authorize them, so it needs neither
	// the store nor the key verifier, only the services' addresses.
	readSides, err := readSideNames(a.cfg.ReadSides)
	if err != nil {
		return nil, err
	}
	var gatewayDeps []string
	if len(readSides) > 0 {
		gatewayDeps = []string{moduleStore, moduleVerifier}
	}
	mods = append(mods,
		modules.Module{Name: moduleDevSetup, Deps: []string{"sites", "content", "access", "resources", "screening"}, Init: a.initDevSetup},
		// The console is served on the gateway's listener and calls the services over gRPC like
		// the gateway's management routes: it needs neither the store nor the key verifier.
		modules.Module{Name: moduleConsole, Target: true, After: serviceNames(), Init: a.initConsole},
		modules.Module{Name: moduleGateway, Deps: gatewayDeps, Target: true,
			// With services in the same process, the gateway calls them through the local gRPC
			// server: it starts after them and stops before them.
			After: append(serviceNames(), moduleDevSetup, moduleConsole), Init: a.initGateway},
		modules.Module{Name: moduleAll, Deps: append(serviceNames(), moduleGateway, moduleConsole), Target: true},
	)
	return modules.New(mods...)
}

// parseTargets splits a --target value ("content,access") and checks each name is a target.
func parseTargets(g *modules.Graph, value string) ([]string, error) {
	var out []string
	for _, t := range strings.Split(value, ",") {
		if t = strings.TrimSpace(t); t != "" {
			out = append(out, t)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("--target is empty: want one or more of %s", strings.Join(g.Targets(), ", "))
	}
	if err := g.CheckTargets(out...); err != nil {
		return nil, fmt.Errorf("--target: %w", err)
	}
	return out, nil
}

// printTargets writes the module graph: every module, whether --target accepts it, what it needs.
func printTargets(w io.Writer, g *modules.Graph) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "MODULE\tTARGET\tDEPENDS ON\tSTARTS AFTER (if in the same process)")
	for _, m := range g.Modules() {
		target := "-"
		if m.Target {
			target = "yes"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", m.Name, target, orDash(m.Deps), orDash(m.After))
	}
	_ = tw.Flush()
}

func orDash(names []string) string {
	if len(names) == 0 {
		return "-"
	}
	return strings.Join(names, " ")
}

func (a *app) initStore(ctx context.Context) (modules.Service, error) {
	var monitor []*options.ClientOptions
	if a.obs.store != nil {
		monitor = append(monitor, options.Client().SetMonitor(a.obs.store.Monitor()))
	}
	st, closeStore, err := openStored(ctx, a.cfg, a.logger, monitor...)
	if err != nil {
		return nil, err
	}
	a.store = st
	if a.dev && a.cfg.MongoURI == "" {
		fmt.Fprintf(a.stdout, "store %s\n", st.uri)
	}
	return modules.RunFunc(func(ctx context.Context) error {
		<-ctx.Done()
		closeStore()
		return nil
	}), nil
}

// initCatalog builds the process's site catalog: fed in process by the sites service when this
// process runs it (built here), else over gRPC from --sites-addr with --service-key. Its Run
// refreshes it every --catalog-refresh until shutdown.
func (a *app) initCatalog(ctx context.Context) (modules.Service, error) {
	cfg := sitecatalog.Config{Refresh: a.cfg.CatalogRefresh}
	var conn *grpc.ClientConn
	if a.running["sites"] {
		svc, err := newSites(ctx, a.cfg, a.store, a.logger)
		if err != nil {
			return nil, err
		}
		a.sites = svc
		// Sites written by another process reach the catalog when the embedded store here tells
		// of them; without it (MongoDB, or a store in another process), by the refresh.
		cfg.Changes = a.store.changes(a.cfg.Sites.Database)
		a.catalog = sitecatalog.New(svc, cfg, a.logger)
	} else {
		addr := a.cfg.ServiceAddrs["sites"]
		if addr == "" || a.cfg.ServiceKey == "" {
			return nil, fmt.Errorf("the site catalog needs --sites-addr (%s) and --service-key (BEACON_SERVICE_KEY): the sites service does not run in this process", envName("sites-addr"))
		}
		var err error
		if conn, err = grpc.NewClient(addr, a.obs.dialOptions()...); err != nil {
			return nil, fmt.Errorf("dial sites at %s: %w", addr, err)
		}
		a.catalog = sitecatalog.New(sitecatalog.NewGRPCSource(conn, a.cfg.ServiceKey), cfg, a.logger)
	}
	if err := a.catalog.Refresh(ctx); err != nil {
		// Run keeps trying; meanwhile sites are read through on demand.
		a.logger.Warn("site catalog: the first load failed; retrying in the background", "err", err)
	}
	return modules.RunFunc(func(ctx context.Context) error {
		err := a.catalog.Run(ctx)
		if conn != nil {
			_ = conn.Close()
		}
		return err
	}), nil
}

func (a *app) initVerifier(ctx context.Context) (modules.Service, error) {
	keys, err := newAccess(ctx, a.cfg, a.store, a.catalog, a.logger)
	if err != nil {
		return nil, err
	}
	a.keys = keys
	return idle(), nil
}

// idle is the Service of a module without work of its own.
func idle() modules.Service {
	return modules.RunFunc(func(ctx context.Context) error { <-ctx.Done(); return nil })
}

// grpcRegistry collects the services of this process's gRPC server during init; the server is
// built from them when it starts.
type grpcRegistry struct {
	lis      net.Listener
	services []grpcService
}

func (a *app) initGRPC(ctx context.Context) (modules.Service, error) {
	lis, err := net.Listen("tcp", a.cfg.GRPCAddr)
	if err != nil {
		return nil, fmt.Errorf("listen gRPC: %w", err)
	}
	a.grpc = &grpcRegistry{lis: lis}
	shutdownBegun := ctx.Done()
	return modules.RunFunc(func(ctx context.Context) error {
		defer lis.Close() // when Run fails before serving
		policies := []auth.Policy{auth.HealthAndReflectionRules()}
		var names []string
		for _, s := range a.grpc.services {
			policies = append(policies, s.rules)
			names = append(names, s.names...)
		}
		policy, err := auth.Merge(policies...)
		if err != nil {
			return err
		}
		opts := append(a.obs.grpcServerOptions(), grpcserver.WithCaller(callerName))
		if !a.cfg.RateLimitPerKey.IsZero() {
			opts = append(opts, grpcserver.WithUnaryAfterAuth(ratelimit.NewPerCaller(a.cfg.RateLimitPerKey).Unary()))
		}
		var creates []idempotency.Creates
		for _, s := range a.grpc.services {
			if s.creates != nil {
				creates = append(creates, *s.creates)
			}
		}
		idempotent, err := idempotency.Interceptor(creates...)
		if err != nil {
			return err
		}
		// After the rate limit: a repeated create counts against the caller's quota too.
		opts = append(opts, grpcserver.WithUnaryAfterAuth(idempotent))
		srv := grpcserver.New(a.cfg.GRPC, auth.NewInterceptor(policy, a.keys, a.logger), a.logger, opts...)
		for _, s := range a.grpc.services {
			s.register(srv)
		}
		if missing := policy.MissingRules(srv); len(missing) > 0 {
			return fmt.Errorf("no access rule for %s", strings.Join(missing, ", "))
		}
		srv.SetServing(names...)

		g, gctx := errgroup.WithContext(ctx)
		g.Go(func() error { return srv.Serve(lis) })
		if a.store.embedded == nil {
			// An embedded store running in this process is reachable exactly while the process
			// runs: nothing to watch, and no ping every few seconds.
			g.Go(func() error { return watchStore(gctx, a.store.client, srv, names, a.logger) })
		}
		g.Go(func() error {
			select {
			case <-shutdownBegun: // take this replica out of rotation while the others stop
				srv.Health.Shutdown()
			case <-gctx.Done():
			}
			<-gctx.Done()
			if ctx.Err() != nil { // shutdown, not a failure: unready for the delay, then drain
				a.waitShutdownDelay()
			}
			srv.Drain(a.cfg.ShutdownGrace) // makes Serve return
			return nil
		})
		err = g.Wait()
		if ctx.Err() != nil && errors.Is(err, grpc.ErrServerStopped) {
			err = nil
		}
		return err
	}), nil
}

// initService starts s and registers it with the gRPC server.
func (a *app) initService(ctx context.Context, s serviceModule) (modules.Service, error) {
	svc, err := s.start(ctx, a)
	if err != nil {
		return nil, err
	}
	if s.creates != nil {
		store := idempotency.NewStore(a.store.client.Database(s.database(a.cfg)), a.store.locks, a.logger)
		svc.creates = &idempotency.Creates{Store: store, Methods: s.creates()}
	}
	a.grpc.services = append(a.grpc.services, svc)
	if svc.creates == nil && svc.run == nil {
		return idle(), nil
	}
	return modules.RunFunc(func(ctx context.Context) error {
		g, gctx := errgroup.WithContext(ctx)
		if svc.run != nil {
			g.Go(func() error { return svc.run(gctx) })
		}
		if svc.creates != nil {
			g.Go(func() error { return svc.creates.Store.Run(gctx) })
		}
		return g.Wait()
	}), nil
}

// initDevSetup loads the demo content on first start and makes the bootstrap admin key.
func (a *app) initDevSetup(ctx context.Context) (modules.Service, error) {
	// The demo articles link to the shipped self-check: the screeners are published first.
	seedScreeners := func(ctx context.Context) error {
		instruments, err := a.screening.SeedDemo(ctx, "kratom-help")
		if err != nil {
			return fmt.Errorf("demo screeners: %w", err)
		}
		if instruments > 0 {
			fmt.Fprintf(a.stdout, "demo  %d published screeners for sites/kratom-help (TAPS-1, CAGE-AID, kratom self-check)\n", instruments)
		}
		return nil
	}
	if err := prepareDev(ctx, a.cfg, a.sites, a.content, a.keys, a.stdout, seedScreeners); err != nil {
		return nil, err
	}
	created, err := a.resources.SeedDemo(ctx)
	if err != nil {
		return nil, fmt.Errorf("demo directory: %w", err)
	}
	if created > 0 {
		fmt.Fprintf(a.stdout, "demo  %d resources for sites/kratom-help (988 Lifeline and SAMHSA's National Helpline are real; the rest is example data)\n", created)
	}
	return idle(), nil
}

// serviceConn dials the named service: this process's own gRPC port when it runs there, else
// --<name>-addr.
func (a *app) serviceConn(name, user string) (*grpc.ClientConn, error) {
	addr := a.cfg.ServiceAddrs[name]
	if a.running[name] {
		addr = a.grpc.lis.Addr().String()
	}
	if addr == "" {
		return nil, fmt.Errorf("the %s needs --%s-addr (%s): %s does not run in this process", user, name, envName(name+"-addr"), name)
	}
	conn, err := grpc.NewClient(addr, a.obs.dialOptions()...)
	if err != nil {
		return nil, fmt.Errorf("dial %s at %s: %w", name, addr, err)
	}
	return conn, nil
}

// initConsole builds the editor console, which the gateway of this process serves at /console/.
func (a *app) initConsole(context.Context) (modules.Service, error) {
	if !a.running[moduleGateway] {
		return nil, fmt.Errorf("the console is served by the gateway's HTTP listener: run it with --target=gateway,console")
	}
	conns := map[string]*grpc.ClientConn{}
	closeConns := func() {
		for _, c := range conns {
			_ = c.Close()
		}
	}
	for _, name := range []string{"access", "content", "sites", "resources", "screening"} {
		if name == "screening" && !a.running[name] && a.cfg.ServiceAddrs[name] == "" {
			continue // the questionnaires screen is not offered without the screening service
		}
		conn, err := a.serviceConn(name, "console")
		if err != nil {
			closeConns()
			return nil, err
		}
		conns[name] = conn
	}
	c, err := console.New(a.cfg.Console, console.Upstreams{Access: conns["access"], Content: conns["content"], Sites: conns["sites"],
		Resources: conns["resources"], Screening: conns["screening"]}, a.logger)
	if err != nil {
		closeConns()
		return nil, err
	}
	a.console = c
	return modules.RunFunc(func(ctx context.Context) error {
		<-ctx.Done() // the gateway, which serves the console, has stopped
		closeConns()
		return nil
	}), nil
}

// catalogOrigins answers the edge's CORS question, which origins may call a site's delivery
// routes, with the site's allowed_origins setting from the process's site catalog, in memory
// only (sitecatalog.Catalog.Cached): a preflight naming a made-up site never reaches the store.
// A site written by this process is in memory at once; one written by another replica arrives
// with the catalog's next refresh (or the first delivery read that looks it up). A deleted
// site allows no origin.
type catalogOrigins struct{ catalog *sitecatalog.Catalog }

func (c catalogOrigins) AllowedOrigins(_ context.Context, site string) []string {
	s, found := c.catalog.Cached(site)
	if !found || s.Deleted() {
		return nil
	}
	return s.AllowedOrigins
}

// withConsole hands the console's paths to c and everything else to edge (c nil: edge alone).
// A prefix test, so the edge's read routes pay no pattern matching.
func withConsole(edge http.Handler, c *console.Console) http.Handler {
	if c == nil {
		return edge
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if console.Owns(r.URL.Path) {
			gateway.SetRoute(r.Context(), "/console/")
			c.ServeHTTP(w, r)
			return
		}
		edge.ServeHTTP(w, r)
	})
}

func (a *app) initGateway(ctx context.Context) (modules.Service, error) {
	var conns []*grpc.ClientConn
	closeConns := func() {
		for _, c := range conns {
			_ = c.Close()
		}
	}
	upstream := map[string]*grpc.ClientConn{}
	routes := map[string]gateway.RegisterFunc{}
	for _, s := range serviceModules {
		routes[s.name] = s.gateway
		conn, err := a.serviceConn(s.name, "gateway")
		if err != nil {
			closeConns()
			return nil, err
		}
		conns = append(conns, conn)
		upstream[s.name] = conn
	}
	selected, err := readSideNames(a.cfg.ReadSides)
	if err != nil {
		closeConns()
		return nil, err
	}
	var background []func(context.Context) error
	var readSides []gateway.ReadSide
	for _, s := range serviceModules {
		if s.readSide == nil || !slices.Contains(selected, s.name) {
			continue
		}
		side, run, err := s.readSide(ctx, a, upstream[s.name])
		if err != nil {
			closeConns()
			return nil, fmt.Errorf("%s read side: %w", s.name, err)
		}
		readSides = append(readSides, side)
		if run != nil {
			background = append(background, run)
		}
	}
	var verifier auth.Verifier // only read sides verify keys at the edge
	var origins gateway.SiteOrigins
	if len(readSides) > 0 {
		verifier = a.keys
		origins = catalogOrigins{a.catalog}
	}
	shutdownBegun := ctx.Done()
	handler, err := gateway.New(ctx, a.cfg.Gateway, gateway.Upstreams{
		Conns:     upstream,
		Routes:    routes,
		ReadSides: readSides,
		Verifier:  verifier,
		// Ready from now (the read sides have loaded) until shutdown begins, whatever the
		// services and the store do.
		Ready: func() bool {
			select {
			case <-shutdownBegun:
				return false
			default:
				return true
			}
		},
		Logger:  a.logger,
		Origins: origins,
		OpenAPI: openapi.JSON,
		Metrics: a.obs.http,
	})
	if err != nil {
		closeConns()
		return nil, err
	}
	lis, err := net.Listen("tcp", a.cfg.HTTPAddr)
	if err != nil {
		closeConns()
		return nil, fmt.Errorf("listen HTTP: %w", err)
	}
	a.restAddr = lis.Addr().String()
	srv := &http.Server{
		Handler: a.obs.tracing.HTTPHandler(gateway.Observe(withConsole(handler, a.console), gateway.ObserveConfig{
			Metrics: a.obs.http, Logger: a.logger, AccessLogSample: a.cfg.AccessLogSample, IDs: a.obs.ids,
			Tracing: a.obs.tracing.Enabled()})),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(a.logger.Handler(), slog.LevelWarn),
	}
	return modules.RunFunc(func(ctx context.Context) error {
		defer closeConns()
		g, gctx := errgroup.WithContext(ctx)
		g.Go(func() error {
			if err := srv.Serve(lis); !errors.Is(err, http.ErrServerClosed) {
				return err
			}
			return nil
		})
		g.Go(func() error {
			<-gctx.Done()
			if ctx.Err() != nil { // shutdown, not a failure: /readyz answers 503 during the delay
				a.waitShutdownDelay()
			}
			shutdownCtx, cancel := context.WithTimeout(context.Background(), a.cfg.ShutdownGrace)
			defer cancel()
			if err := srv.Shutdown(shutdownCtx); err != nil {
				a.logger.Warn("HTTP shutdown", "err", err)
			}
			return nil
		})
		for _, run := range background {
			g.Go(func() error { return run(gctx) })
		}
		return g.Wait()
	}), nil
}

// callerName is the name of the API key (or console user) a call was authorized as, for its
// log line: never its secret.
func callerName(ctx context.Context) string {
	p, _ := auth.FromContext(ctx)
	return p.KeyName
}

// watchStore pings the store every few seconds and reports services NOT_SERVING while it cannot
// be reached, so readiness probes take the replica out of rotation. The whole server ("") is
// liveness and does not follow the store: a store outage is no reason to restart.
func watchStore(ctx context.Context, client *mongo.Client, srv *grpcserver.Server, services []string, logger *slog.Logger) error {
	healthy := true
	return loop.Every(ctx, storeWatchInterval, func(ctx context.Context) {
		pingCtx, cancel := context.WithTimeout(ctx, 2*time.Second)
		err := client.Ping(pingCtx, nil)
		cancel()
		switch {
		case err != nil && healthy && ctx.Err() == nil:
			healthy = false
			logger.Error("store unreachable; reporting the services NOT_SERVING", "err", err)
			srv.SetNotServing(services...)
		case err == nil && !healthy:
			healthy = true
			logger.Info("store reachable again; reporting the services SERVING")
			srv.SetServing(services...)
		}
	})
}

// storeWatchInterval is how often watchStore pings the store.
const storeWatchInterval = 5 * time.Second

// stored is what the store module opens.
type stored struct {
	client *mongo.Client
	uri    string
	// embedded is the embedded store when this process runs it (nil for --mongodb-uri, and for a
	// store served by another process): it tells of every commit to its databases (changes).
	embedded *mongodb.Embedded
	tokens   *pagetoken.Codec
	// locks are the process's one set of document write locks, passed to every store.
	locks *mongodb.DocLocks
	// imageDir is where services keep start-up images (package startimage), a directory per
	// database; empty when the store is not this process's own (an external MongoDB).
	imageDir string
}

// imageDirOf returns the start-up image directory of db, or "" when images are not kept.
func (st stored) imageDirOf(db *mongo.Database) string {
	if st.imageDir == "" {
		return ""
	}
	return filepath.Join(st.imageDir, db.Name())
}

// changes tells of the writes to database as they happen, when this process runs the embedded
// store (which sees every commit, whichever process makes it); nil otherwise, and readers of
// the database then poll it.
func (s stored) changes(database string) changelog.Changes {
	if s.embedded == nil {
		return nil
	}
	return s.embedded.Changes(database)
}
