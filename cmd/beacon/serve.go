package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"time"

	"github.com/KimMachineGun/automemlimit/memlimit"

	"github.com/beaconcms/beacon/platform/auth"
	"github.com/beaconcms/beacon/platform/metrics"
	"github.com/beaconcms/beacon/platform/mongodb"
	"github.com/beaconcms/beacon/platform/pagetoken"
	"github.com/beaconcms/beacon/platform/tracing"
	"github.com/beaconcms/beacon/services/access"
	"github.com/beaconcms/beacon/services/content"
	"github.com/beaconcms/beacon/services/resources"
	"github.com/beaconcms/beacon/services/screening"
	"github.com/beaconcms/beacon/services/sites"
	"github.com/beaconcms/beacon/services/sites/sitecatalog"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"google.golang.org/grpc"
)

// serve runs the modules of cfg.Target (with dev: all, the demo content and a bootstrap admin
// key) until ctx ends, then stops them in reverse order: the gateway drains, the services' gRPC
// health turns NOT_SERVING, their background work stops, the gRPC server drains, and the store
// closes last (see platform/modules).
func serve(ctx context.Context, cfg Config, dev bool, logger *slog.Logger, stdout io.Writer) error {
	a := &app{cfg: cfg, dev: dev, logger: logger, stdout: stdout, obs: newObservability(cfg)}
	graph, err := newGraph(a)
	if err != nil {
		return err
	}
	targets, err := parseTargets(graph, cfg.Target)
	if err != nil {
		return err
	}
	if dev {
		targets = []string{moduleAll, moduleDevSetup}
	}
	closure, err := graph.Closure(targets...)
	if err != nil {
		return err
	}
	a.running = map[string]bool{}
	for _, name := range closure {
		a.running[name] = true
	}
	if cfg.DebugAddr != "" {
		stopDebug, err := serveDebug(cfg.DebugAddr, logger)
		if err != nil {
			return err
		}
		defer stopDebug()
	}
	logger.Info("beacon starting", "version", buildVersion(), "modules", strings.Join(closure, ","))
	// Before the loads: they build the heap the percentage is of.
	if percent, source := gcPercent(cfg.GCPercent, cfg.RuntimeGOGC); percent > 0 {
		debug.SetGCPercent(percent)
		logger.Info("garbage collection target set", "gc_percent", percent, "from", source)
	} else {
		logger.Info("garbage collection target left to the runtime", "from", source, "GOGC", cfg.RuntimeGOGC)
	}
	a.obs.tracing, err = tracing.New(ctx, tracing.Config{Endpoint: cfg.OTLPEndpoint, ServiceName: "beacon", Version: buildVersion(), Target: strings.Join(targets, ",")}, logger)
	if err != nil {
		return err
	}
	defer func() {
		// The spans still buffered go out before the process exits.
		flushCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := a.obs.tracing.Shutdown(flushCtx); err != nil {
			logger.Warn("tracing: sending the last spans failed", "err", err)
		}
	}()
	if a.obs.registry != nil {
		addr, stopMetrics, err := metrics.Serve(cfg.MetricsAddr, a.obs.registry, logger)
		if err != nil {
			return err
		}
		defer stopMetrics()
		fmt.Fprintf(stdout, "metrics http://%s/metrics\n", addr)
	}
	err = graph.Run(ctx, targets, func() {
		if a.grpc != nil {
			fmt.Fprintf(stdout, "gRPC  %s\n", a.grpc.lis.Addr())
		}
		if a.restAddr != "" {
			fmt.Fprintf(stdout, "REST  http://%s\n", a.restAddr)
		}
		if limit, source, _ := softMemoryLimit(cfg.MemoryLimit, memlimit.FromCgroup); limit > 0 {
			debug.SetMemoryLimit(limit)
			logger.Info("memory limit set", "bytes", limit, "from", source)
		}
		logger.Info("beacon ready", "version", buildVersion(), "modules", strings.Join(closure, ","))
	})
	logger.Info("beacon stopped")
	return err
}

// openStored opens the store and the page-token codec, and makes the process's one set of
// document write locks.
func openStored(ctx context.Context, cfg Config, logger *slog.Logger, extra ...*options.ClientOptions) (stored, func(), error) {
	client, uri, embedded, closeStore, err := openStoreURI(ctx, cfg, logger, extra...)
	if err != nil {
		return stored{}, nil, err
	}
	tokens, err := pageTokenCodec(cfg)
	if err != nil {
		closeStore()
		return stored{}, nil, err
	}
	st := stored{client: client, uri: uri, embedded: embedded, tokens: tokens, locks: mongodb.NewDocLocks()}
	if cfg.MongoURI == "" {
		// The embedded store runs in this process, which alone writes its databases: its
		// services may keep start-up images beside it.
		st.imageDir = filepath.Join(cfg.DataDir, "images")
	}
	return st, closeStore, nil
}

// newSites migrates the sites database and builds the sites service on it.
func newSites(ctx context.Context, cfg Config, st stored, logger *slog.Logger) (*sites.Service, error) {
	db := st.client.Database(cfg.Sites.Database)
	if err := sites.Migrate(ctx, db, cfg.Sites, logger); err != nil {
		return nil, err
	}
	return sites.New(sites.Deps{DB: db, Locks: st.locks, Tokens: st.tokens}, logger), nil
}

// newAccess migrates the access database and builds the API key service on it.
func newAccess(ctx context.Context, cfg Config, st stored, catalog *sitecatalog.Catalog, logger *slog.Logger) (*access.Service, error) {
	db := st.client.Database(cfg.AccessDatabase)
	if err := access.Migrate(ctx, db, logger); err != nil {
		return nil, err
	}
	return access.New(access.Deps{DB: db, Locks: st.locks, Sites: catalog}, logger), nil
}

// newContent migrates the content database and builds the content service on it.
func newContent(ctx context.Context, cfg Config, st stored, catalog *sitecatalog.Catalog, logger *slog.Logger) (*content.Service, error) {
	db := st.client.Database(cfg.Content.Database)
	if err := content.Migrate(ctx, db, logger); err != nil {
		return nil, err
	}
	return content.New(ctx, content.Deps{DB: db, Locks: st.locks, Tokens: st.tokens, Sites: catalog, ImageDir: st.imageDirOf(db), Changes: st.changes(cfg.Content.Database)}, cfg.Content, logger)
}

func newResources(ctx context.Context, cfg Config, st stored, catalog *sitecatalog.Catalog, logger *slog.Logger) (*resources.Service, error) {
	db := st.client.Database(cfg.Resources.Database)
	if err := resources.Migrate(ctx, db, logger); err != nil {
		return nil, err
	}
	return resources.New(ctx, resources.Deps{DB: db, Locks: st.locks, Tokens: st.tokens, Sites: catalog, Changes: st.changes(cfg.Resources.Database)}, cfg.Resources, logger)
}

// newScreening migrates the screening database and builds the service. The service calls
// content and resources over gRPC (the local gRPC port for those running in this process) with
// its own key (screeningKey). close closes those connections once the service has stopped.
func newScreening(ctx context.Context, a *app) (svc *screening.Service, close func(), err error) {
	key, err := screeningKey(ctx, a)
	if err != nil {
		return nil, nil, err
	}
	var conns []*grpc.ClientConn
	close = func() {
		for _, c := range conns {
			_ = c.Close()
		}
	}
	dial := func(name string) (*grpc.ClientConn, error) {
		addr := a.cfg.ServiceAddrs[name]
		if a.running[name] {
			addr = a.grpc.lis.Addr().String()
		}
		if addr == "" {
			return nil, fmt.Errorf("screening needs --%s-addr (%s): %s does not run in this process", name, envName(name+"-addr"), name)
		}
		conn, err := grpc.NewClient(addr, a.obs.dialOptions()...)
		if err != nil {
			return nil, fmt.Errorf("dial %s at %s: %w", name, addr, err)
		}
		conns = append(conns, conn)
		return conn, nil
	}
	contentConn, err := dial("content")
	if err != nil {
		return nil, nil, err
	}
	resourcesConn, err := dial("resources")
	if err != nil {
		close()
		return nil, nil, err
	}
	db := a.store.client.Database(a.cfg.Screening.Database)
	if err := screening.Migrate(ctx, db, a.logger); err != nil {
		close()
		return nil, nil, err
	}
	svc, err = screening.New(ctx, screening.Deps{DB: db, Locks: a.store.locks, Tokens: a.store.tokens, Sites: a.catalog,
		Content: contentConn, Resources: resourcesConn, Key: key}, a.cfg.Screening, a.logger)
	if err != nil {
		close()
		return nil, nil, err
	}
	return svc, close, nil
}

// screeningKeyFile holds, in the data directory, the key a process running both the access and
// the screening service made for screening, so it is made once, not at every start.
const screeningKeyFile = "screening.key"

// screeningKey is the screening service's own API key: --screening-key, else (only where the
// access service runs in this process, so this process may write keys) the key kept in the data
// directory, made there on first use; without a data directory, a key made for this process.
func screeningKey(ctx context.Context, a *app) (string, error) {
	if a.cfg.ScreeningKey != "" {
		return a.cfg.ScreeningKey, nil
	}
	if !a.running["access"] {
		return "", errors.New("screening runs without the access service: set --screening-key (BEACON_SCREENING_KEY), a delivery key for all sites made with 'beacon admin-key --role=delivery'")
	}
	path := ""
	if a.cfg.DataDir != "" {
		path = filepath.Join(a.cfg.DataDir, screeningKeyFile)
		if raw, err := os.ReadFile(path); err == nil {
			token := strings.TrimSpace(string(raw))
			if p, err := a.keys.Verify(ctx, token); err == nil && p.Site == "" && p.Role == auth.RoleDelivery {
				return token, nil
			}
		}
	}
	name, token, err := a.keys.CreateKey(ctx, "screening service (made by beacon)", auth.RoleDelivery, "")
	if err != nil {
		return "", fmt.Errorf("making the screening service's key: %w", err)
	}
	if path == "" {
		a.logger.Warn("made an API key for the screening service of this process; set --screening-key to use one key across restarts", "key", name)
		return token, nil
	}
	if err := os.MkdirAll(a.cfg.DataDir, 0o700); err != nil {
		return "", fmt.Errorf("create %s: %w", a.cfg.DataDir, err)
	}
	if err := os.WriteFile(path, []byte(token+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("write %s: %w", path, err)
	}
	a.logger.Info("made the screening service's API key", "key", name, "file", path)
	return token, nil
}

// openStore connects to cfg.MongoURI, or starts the embedded store under cfg.DataDir.
func openStore(ctx context.Context, cfg Config, logger *slog.Logger) (*mongo.Client, func(), error) {
	client, _, _, closeStore, err := openStoreURI(ctx, cfg, logger)
	return client, closeStore, err
}

// embeddedHeartbeat is how often the driver checks an embedded store running in this process.
const embeddedHeartbeat = time.Minute

// openStoreURI is openStore that also returns the URI it connected to, and the embedded store
// when it started one in this process (nil for --mongodb-uri).
func openStoreURI(ctx context.Context, cfg Config, logger *slog.Logger, extra ...*options.ClientOptions) (*mongo.Client, string, *mongodb.Embedded, func(), error) {
	uri := cfg.MongoURI
	var embedded *mongodb.Embedded
	if uri == "" {
		var err error
		embedded, err = mongodb.StartEmbedded(ctx, filepath.Join(cfg.DataDir, "store"), logger)
		if err != nil {
			return nil, "", nil, nil, fmt.Errorf("start embedded store: %w", err)
		}
		uri = embedded.URI()
		logger.Info("embedded store started", "dir", filepath.Join(cfg.DataDir, "store"))
		// The server runs in this process, on a socket: its state cannot change under the
		// driver, which checks it again at once after a failed command anyway. A heartbeat
		// every minute instead of the driver's 10 s keeps an idle process asleep.
		extra = append([]*options.ClientOptions{options.Client().SetHeartbeatInterval(embeddedHeartbeat)}, extra...)
	}
	client, err := mongodb.Connect(ctx, uri, extra...)
	if err != nil {
		if embedded != nil {
			_ = embedded.Close()
		}
		return nil, "", nil, nil, err
	}
	return client, uri, embedded, func() {
		disconnectCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = client.Disconnect(disconnectCtx)
		if embedded != nil {
			_ = embedded.Close()
		}
	}, nil
}

// pageTokenCodec uses the configured secret, or with the embedded store one kept in the data
// directory (created on first start, mode 0600).
func pageTokenCodec(cfg Config) (*pagetoken.Codec, error) {
	secret := cfg.PageTokenSecret
	if secret == "" {
		if cfg.MongoURI != "" {
			return nil, errors.New("set --page-token-secret (BEACON_PAGE_TOKEN_SECRET) to at least 32 random bytes; every replica needs the same value")
		}
		var err error
		secret, err = readOrCreateSecret(filepath.Join(cfg.DataDir, "page-token.secret"))
		if err != nil {
			return nil, err
		}
	}
	return pagetoken.NewCodec([]byte(secret))
}

func readOrCreateSecret(path string) (string, error) {
	if b, err := os.ReadFile(path); err == nil && len(b) >= 32 {
		return string(b), nil
	}
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", err
	}
	secret := base64.RawURLEncoding.EncodeToString(raw[:])
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return "", err
	}
	if err := os.WriteFile(path, []byte(secret), 0o600); err != nil {
		return "", fmt.Errorf("write %s: %w", path, err)
	}
	return secret, nil
}

// prepareDev loads the demo site (through the sites service) and its articles on first start
// and creates the bootstrap admin key, printing it once and writing it to <data-dir>/admin.key
// (0600). beforeArticles runs between the two: what the articles link to (the screeners) must
// be published before they are.
func prepareDev(ctx context.Context, cfg Config, sitesSvc *sites.Service, contentSvc *content.Service, keys *access.Service, stdout io.Writer, beforeArticles func(context.Context) error) error {
	if _, err := sitesSvc.SeedDemo(ctx); err != nil {
		return fmt.Errorf("demo site: %w", err)
	}
	if err := beforeArticles(ctx); err != nil {
		return err
	}
	seeded, err := contentSvc.SeedDemo(ctx)
	if err != nil {
		return fmt.Errorf("demo content: %w", err)
	}
	if seeded {
		fmt.Fprintln(stdout, "demo  site sites/kratom-help with published articles")
	}
	keyPath := filepath.Join(cfg.DataDir, "admin.key")
	token, created, err := keys.Bootstrap(ctx, "bootstrap admin (beacon dev)")
	if err != nil {
		return fmt.Errorf("bootstrap admin key: %w", err)
	}
	if created {
		fmt.Fprintf(stdout, "admin key (shown once, also in %s):\n  %s\n", keyPath, token)
		if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
			return fmt.Errorf("create %s: %w", cfg.DataDir, err)
		}
		if err := os.WriteFile(keyPath, []byte(token+"\n"), 0o600); err != nil {
			return fmt.Errorf("write %s (the key above still works): %w", keyPath, err)
		}
	} else if _, err := os.Stat(keyPath); err == nil {
		fmt.Fprintf(stdout, "admin key in %s\n", keyPath)
	} else {
		fmt.Fprintf(stdout, "an admin key exists but %s does not; make a new one with 'beacon admin-key'\n", keyPath)
	}
	return bootstrapAdminUser(ctx, cfg, keys, stdout)
}

// devAdminEmail is the sign-in email of the admin user `beacon dev` creates (.test is a
// reserved top-level domain: it never reaches anyone).
const devAdminEmail = "admin@beacon.test"

// bootstrapAdminUser creates the console's first admin user when there is no active one, and
// prints its email and generated password once, also writing them to
// <data-dir>/admin-user.txt (0600), as the admin key is kept.
func bootstrapAdminUser(ctx context.Context, cfg Config, keys *access.Service, stdout io.Writer) error {
	path := filepath.Join(cfg.DataDir, "admin-user.txt")
	password, created, err := keys.BootstrapAdminUser(ctx, devAdminEmail, "Admin (beacon dev)")
	if err != nil {
		return err
	}
	if !created {
		if _, err := os.Stat(path); err == nil {
			fmt.Fprintf(stdout, "admin user in %s\n", path)
		}
		return nil
	}
	fmt.Fprintf(stdout, "admin user for the console (shown once, also in %s):\n  email    %s\n  password %s\n", path, devAdminEmail, password)
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return fmt.Errorf("create %s: %w", cfg.DataDir, err)
	}
	if err := os.WriteFile(path, []byte("email "+devAdminEmail+"\npassword "+password+"\n"), 0o600); err != nil {
		return fmt.Errorf("write %s (the user above still signs in): %w", path, err)
	}
	return nil
}

// createAdminUser makes a new all-sites admin user with a generated password and prints it once.
func createAdminUser(ctx context.Context, cfg Config, logger *slog.Logger, stdout io.Writer) error {
	st, closeStore, err := openStored(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer closeStore()
	sitesSvc, err := newSites(ctx, cfg, st, logger)
	if err != nil {
		return err
	}
	keys, err := newAccess(ctx, cfg, st, sitecatalog.New(sitesSvc, sitecatalog.Config{}, logger), logger)
	if err != nil {
		return err
	}
	name, password, err := keys.CreateAdminUser(ctx, cfg.UserEmail, cfg.UserDisplayName)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s (%s, role admin, all sites); sign in at /console/ with this password, shown once:\n%s\n", name, cfg.UserDisplayName, password)
	return nil
}

// createAdminKey makes a new key (by default an all-sites admin key) and prints it once. A key
// for one site needs the site to exist: the sites database is read in process.
func createAdminKey(ctx context.Context, cfg Config, logger *slog.Logger, stdout io.Writer) error {
	role, err := auth.ParseRole(cfg.KeyRole)
	if err != nil {
		return err
	}
	if cfg.DebugAddr != "" {
		stopDebug, err := serveDebug(cfg.DebugAddr, logger)
		if err != nil {
			return err
		}
		defer stopDebug()
	}
	st, closeStore, err := openStored(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer closeStore()
	sitesSvc, err := newSites(ctx, cfg, st, logger)
	if err != nil {
		return err
	}
	keys, err := newAccess(ctx, cfg, st, sitecatalog.New(sitesSvc, sitecatalog.Config{}, logger), logger)
	if err != nil {
		return err
	}
	name, token, err := keys.CreateKey(ctx, cfg.KeyName, role, cfg.KeySite)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s (%s, role %s%s), shown once:\n%s\n", name, cfg.KeyName, role, siteText(cfg.KeySite), token)
	return nil
}

func siteText(site string) string {
	if site == "" {
		return ", all sites"
	}
	return ", site " + site
}

// migrate applies every service's migrations.
func migrate(ctx context.Context, cfg Config, logger *slog.Logger) error {
	client, closeStore, err := openStore(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer closeStore()
	if err := sites.Migrate(ctx, client.Database(cfg.Sites.Database), cfg.Sites, logger); err != nil {
		return err
	}
	if err := access.Migrate(ctx, client.Database(cfg.AccessDatabase), logger); err != nil {
		return err
	}
	if err := content.Migrate(ctx, client.Database(cfg.Content.Database), logger); err != nil {
		return err
	}
	if err := resources.Migrate(ctx, client.Database(cfg.Resources.Database), logger); err != nil {
		return err
	}
	if err := screening.Migrate(ctx, client.Database(cfg.Screening.Database), logger); err != nil {
		return err
	}
	logger.Info("migrations applied")
	return nil
}

// seed fills cfg.Seed.Site (created through the sites service when missing) with generated
// published articles.
func seed(ctx context.Context, cfg Config, logger *slog.Logger) error {
	if cfg.Seed.Articles < 0 || cfg.Seed.BodyBytes <= 0 {
		return errors.New("--articles must be >= 0 and --body-bytes > 0")
	}
	if cfg.DebugAddr != "" {
		stopDebug, err := serveDebug(cfg.DebugAddr, logger)
		if err != nil {
			return err
		}
		defer stopDebug()
	}
	st, closeStore, err := openStored(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer closeStore()
	sitesSvc, err := newSites(ctx, cfg, st, logger)
	if err != nil {
		return err
	}
	if _, err := sitesSvc.EnsureSite(ctx, cfg.Seed.Site, "Synthetic "+cfg.Seed.Site, cfg.Seed.BaseURL); err != nil {
		return fmt.Errorf("create site: %w", err)
	}
	db := st.client.Database(cfg.Content.Database)
	if err := content.Migrate(ctx, db, logger); err != nil {
		return err
	}
	start := time.Now()
	deps := content.Deps{DB: db, Locks: st.locks, Tokens: st.tokens, Sites: sitecatalog.New(sitesSvc, sitecatalog.Config{}, logger), ImageDir: st.imageDirOf(db)}
	if err := content.Seed(ctx, deps, cfg.Seed.Site, cfg.Seed.Articles, cfg.Seed.BodyBytes, cfg.Seed.Seed, logger); err != nil {
		return err
	}
	logger.Info("seeded", "site", cfg.Seed.Site, "articles", cfg.Seed.Articles, "took", time.Since(start))
	return nil
}

// serveDebug serves pprof on addr until the returned stop is called; stop waits for the server
// to close.
func serveDebug(addr string, logger *slog.Logger) (stop func(), err error) {
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen debug: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(lis); !errors.Is(err, http.ErrServerClosed) {
			logger.Warn("debug server stopped", "err", err)
		}
	}()
	logger.Info("pprof served", "addr", lis.Addr().String())
	return func() {
		_ = srv.Close()
		<-done
	}, nil
}

// serveStore runs the embedded store of cfg.DataDir until ctx ends, for beacon processes that
// share it (one process per service; see docs/architecture.md). It serves only on a unix socket
// in the 0700 data directory, so only processes of the same user can reach it, and prints the
// --mongodb-uri they use.
func serveStore(ctx context.Context, cfg Config, logger *slog.Logger, stdout io.Writer) error {
	e, err := mongodb.StartEmbedded(ctx, filepath.Join(cfg.DataDir, "store"), logger)
	if err != nil {
		return fmt.Errorf("start embedded store: %w", err)
	}
	fmt.Fprintf(stdout, "socket %s\n", e.Socket())
	fmt.Fprintf(stdout, "store %s\n", e.URI())
	logger.Info("embedded store serving", "socket", e.Socket())
	<-ctx.Done()
	// FerretDB gives connected clients a few seconds to leave; stop the beacons first.
	return e.Close()
}
