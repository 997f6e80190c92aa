package main

import (
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/beaconcms/beacon/console"
	"github.com/beaconcms/beacon/gateway"
	"github.com/beaconcms/beacon/platform/auth"
	"github.com/beaconcms/beacon/platform/claimlint"
	"github.com/beaconcms/beacon/platform/grpcserver"
	"github.com/beaconcms/beacon/platform/ratelimit"
	"github.com/beaconcms/beacon/platform/weburl"
	"github.com/beaconcms/beacon/services/content"
	"github.com/beaconcms/beacon/services/resources"
	"github.com/beaconcms/beacon/services/screening"
	"github.com/beaconcms/beacon/services/sites"
	"github.com/beaconcms/beacon/services/sites/sitecatalog"
)

// Config is the whole binary's configuration: its own settings plus one Config per service.
// Every setting has a flag and a BEACON_* environment variable; a flag wins over the variable.
type Config struct {
	Target string
	// ReadSides selects the services whose read side (delivery routes under /v1/sites/{site}/)
	// a gateway serves: "all", a comma-separated list, or "" for a management-only gateway,
	// which needs neither the store nor the key verifier (see readSideNames).
	ReadSides string
	HTTPAddr  string
	GRPCAddr  string
	// ServiceAddrs are where a gateway finds each service (by module name) that does not run in
	// its process: --<service>-addr.
	ServiceAddrs map[string]string
	// MongoURI selects an external MongoDB; empty means the embedded store under DataDir.
	MongoURI string `secret:"true"`
	DataDir  string
	// PageTokenSecret signs page tokens; every replica needs the same one. Empty in dev mode
	// means one generated and kept under DataDir.
	PageTokenSecret string `secret:"true"`
	AccessDatabase  string
	// ServiceKey is the API key (all sites, viewer role) a process that does not run the sites
	// service uses to read sites from it over gRPC, for its site catalog.
	ServiceKey string `secret:"true"`
	// CatalogRefresh is how often the site catalog reloads every site.
	CatalogRefresh time.Duration
	LogLevel       string
	LogFormat      string
	ShutdownGrace  time.Duration
	// ShutdownDelay is how long a process keeps serving after SIGTERM, already reporting
	// unready (/readyz 503, gRPC health NOT_SERVING), before it closes its listeners: time for
	// load balancers to stop sending it new connections, which would otherwise be reset.
	ShutdownDelay time.Duration
	PrintConfig   bool
	// DebugAddr, when set, serves Go's pprof profiles there (keep it on loopback).
	DebugAddr string
	// MetricsAddr, when set, serves Prometheus metrics at /metrics there: a listener of its
	// own, never the public HTTP port. Empty: no metrics are collected.
	MetricsAddr string
	// OTLPEndpoint, when set, is the OTLP/HTTP collector (e.g. http://otel-collector:4318)
	// spans are exported to. Empty: no tracing.
	OTLPEndpoint string
	// AccessLogSample is the share of delivery (read route) requests given an access log line,
	// 0 (none) to 1 (all). Other HTTP requests and gRPC calls are always logged at info.
	AccessLogSample float64
	// MemoryLimit, e.g. "280MiB", is Go's soft memory limit, applied once the delivery read
	// model has loaded (loading decodes every stored article and needs more). Empty: 90 % of the
	// container's memory limit (see softMemoryLimit), or none without one.
	MemoryLimit string
	// GCPercent is Go's GOGC for the process (see gcPercent): how far the heap may grow past
	// what the last collection left before the next one. Unused when the GOGC environment
	// variable is set (RuntimeGOGC), which the runtime applied itself.
	GCPercent   int
	RuntimeGOGC string
	// LintTuning names a YAML file of per-site adjustments of the clinical-claim lint rules
	// (claimlint.Tuning); empty for none. It is read once here and handed to the services.
	LintTuning string

	// RateLimitPerKey limits the management calls of each API key or console user (zero: none).
	RateLimitPerKey ratelimit.Quota

	GRPC    grpcserver.Config
	Sites   sites.Config
	Content content.Config
	// Resources is the resources service's configuration.
	Resources resources.Config
	// Screening is the screening service's configuration.
	Screening screening.Config
	// ScreeningKey is the screening service's own API key (delivery or viewer role, all sites),
	// with which it calls content and resources. Without it, a process that runs the access
	// service makes one (kept in DataDir as screening.key when there is a data dir).
	ScreeningKey string `secret:"true"`
	Gateway      gateway.Config
	Console      console.Config
	Seed         SeedConfig
	// KeyName, KeyRole and KeySite describe the key `beacon admin-key` creates: its display
	// name, role (admin, editor, viewer, delivery) and site (empty for all sites).
	KeyName string
	KeyRole string
	KeySite string
	// UserEmail and UserDisplayName describe the admin user `beacon admin-user` creates.
	UserEmail       string
	UserDisplayName string

	// flags are the command's flags, bound to the fields above, for printConfig.
	flags *flag.FlagSet
}

// secretFlags are the flags whose values printConfig masks.
var secretFlags = map[string]bool{"mongodb-uri": true, "page-token-secret": true, "service-key": true, "screening-key": true}

// SeedConfig is what `beacon seed` generates.
type SeedConfig struct {
	Site      string
	BaseURL   string
	Articles  int
	BodyBytes int
	Seed      uint64
}

func defaultConfig(dev bool) Config {
	cfg := Config{
		Target:         "all",
		ReadSides:      "all",
		HTTPAddr:       "127.0.0.1:8080",
		GRPCAddr:       "127.0.0.1:9090",
		DataDir:        "",
		AccessDatabase: "beacon_access",
		CatalogRefresh: sitecatalog.DefaultRefresh,
		LogLevel:       "info",
		LogFormat:      "text",
		ShutdownGrace:  10 * time.Second,
		GRPC:           grpcserver.Config{Reflection: true},
		Sites:          sites.DefaultConfig(),
		Content:        content.DefaultConfig(),
		Resources:      resources.DefaultConfig(),
		Screening:      screening.DefaultConfig(),
		Gateway:        gateway.DefaultConfig(),
		ServiceAddrs:   map[string]string{},
		GCPercent:      defaultGCPercent,
		Seed:           SeedConfig{Site: "bench", BaseURL: "https://bench.example.org", Articles: 1000, BodyBytes: 6000, Seed: 1},
	}
	cfg.Gateway.Version = buildVersion()
	if dev {
		cfg.DataDir = "./data"
	} else {
		cfg.LogFormat = "json"
		cfg.ShutdownDelay = 5 * time.Second
	}
	return cfg
}

// parseConfig reads flags from args and BEACON_* variables from env (flags win).
func parseConfig(command string, args []string, env func(string) string, stderr io.Writer) (Config, error) {
	cfg := defaultConfig(command == "dev" || command == "seed")
	fs := flag.NewFlagSet("beacon "+command, flag.ContinueOnError)
	fs.SetOutput(stderr)
	str := func(p *string, name, usage string) {
		fs.StringVar(p, name, *p, usage+" (env "+envName(name)+")")
	}
	dur := func(p *time.Duration, name, usage string) {
		fs.DurationVar(p, name, *p, usage+" (env "+envName(name)+")")
	}
	if command == "serve" {
		str(&cfg.Target, "target", "what to run, comma-separated: "+strings.Join(graphTargets(), "|")+" ('beacon targets' shows the module graph)")
	}
	if command == "serve" || command == "targets" {
		str(&cfg.ReadSides, "read-sides", "read sides the gateway serves: all, a comma-separated list of "+strings.Join(readSideServices(), "|")+", or empty for management routes only (then the gateway needs no store)")
	}
	if command == "admin-key" {
		cfg.KeyName, cfg.KeyRole = "admin", "admin"
		fs.StringVar(&cfg.KeyName, "key-name", cfg.KeyName, "display name of the new key")
		fs.StringVar(&cfg.KeyRole, "role", cfg.KeyRole, "role of the new key: admin|editor|viewer|delivery (a --service-key is a viewer key for all sites)")
		fs.StringVar(&cfg.KeySite, "site", cfg.KeySite, "limit the key to this site id; empty for all sites")
	}
	if command == "admin-user" {
		cfg.UserDisplayName = "Admin"
		fs.StringVar(&cfg.UserEmail, "email", cfg.UserEmail, "sign-in email of the new admin user (required)")
		fs.StringVar(&cfg.UserDisplayName, "display-name", cfg.UserDisplayName, "name of the new admin user shown in the console")
	}
	if command == "seed" {
		str(&cfg.Seed.Site, "site", "site to create (if missing) and fill")
		str(&cfg.Seed.BaseURL, "base-url", "base URL of the site when it is created")
		fs.IntVar(&cfg.Seed.Articles, "articles", cfg.Seed.Articles, "number of published articles to generate")
		fs.IntVar(&cfg.Seed.BodyBytes, "body-bytes", cfg.Seed.BodyBytes, "approximate Markdown size of each article")
		fs.Uint64Var(&cfg.Seed.Seed, "seed", cfg.Seed.Seed, "random seed; the same seed generates the same articles")
	}
	str(&cfg.HTTPAddr, "http-addr", "REST listen address")
	str(&cfg.GRPCAddr, "grpc-addr", "gRPC listen address")
	addrs := map[string]*string{}
	for _, name := range serviceNames() {
		addrs[name] = new(string)
		str(addrs[name], name+"-addr", "gRPC address of the "+name+" service, for a gateway that runs without it")
	}
	str(&cfg.MongoURI, "mongodb-uri", "MongoDB URI; empty uses the embedded store in --data-dir")
	str(&cfg.DataDir, "data-dir", "directory of the embedded store")
	str(&cfg.PageTokenSecret, "page-token-secret", "secret (>= 32 bytes) signing page tokens; same on every replica")
	str(&cfg.AccessDatabase, "access-database", "database holding API keys, console users and sessions")
	str(&cfg.Content.Database, "content-database", "database of the content service")
	str(&cfg.Resources.Database, "resources-database", "database of the resources service")
	str(&cfg.Screening.Database, "screening-database", "database of the screening service")
	str(&cfg.ScreeningKey, "screening-key", "API key (delivery role, all sites) the screening service calls content and resources with; made and kept in --data-dir when the access service runs in the process")
	dur(&cfg.Screening.FlushInterval, "screening-flush-interval", "how often screening counters are written (the most a crash can lose)")
	str(&cfg.Sites.Database, "sites-database", "database of the sites service")
	str(&cfg.ServiceKey, "service-key", "API key (viewer, all sites) a process without the sites service reads sites with; needed by --target=gateway")
	dur(&cfg.CatalogRefresh, "catalog-refresh", "how often the site catalog reloads every site")
	dur(&cfg.Content.SchedulerInterval, "scheduler-interval", "the least time between two checks of the scheduled articles (the scheduler sleeps until the next is due)")
	dur(&cfg.Content.DeliveryPollInterval, "delivery-poll-interval", "how often delivery read models poll the store for other replicas' changes")
	fs.Var(byteSize{&cfg.Content.DeliveryBodyCacheBytes}, "delivery-body-cache", "memory for the rendered JSON of delivered articles, e.g. 64MiB: articles read least recently (CLOCK) are rendered again on their next request (env "+envName("delivery-body-cache")+")")
	str(&cfg.LintTuning, "lint-tuning", "YAML file of per-site clinical-claim lint adjustments (disable a rule, change its severity), the default beneath each site's lint_tuning setting; empty for none")
	str(&cfg.MemoryLimit, "memory-limit", "soft memory limit once loaded, e.g. 280MiB (Go's GOMEMLIMIT); empty for 90% of the container's memory limit (cgroup), or none without one")
	fs.IntVar(&cfg.GCPercent, "gc-percent", cfg.GCPercent, "Go's GOGC: heap growth (percent of the live heap) allowed between collections; lower uses less memory and more CPU. A GOGC environment variable, when set, wins (env "+envName("gc-percent")+")")
	str(&cfg.DebugAddr, "debug-addr", "serve /debug/pprof on this address (off when empty; keep it on loopback)")
	str(&cfg.MetricsAddr, "metrics-addr", "serve Prometheus metrics at /metrics on this address, a listener of its own (off when empty), e.g. :9464")
	str(&cfg.OTLPEndpoint, "otlp-endpoint", "export OpenTelemetry traces by OTLP/HTTP to this collector URL, e.g. http://otel-collector:4318 (off when empty)")
	fs.Float64Var(&cfg.AccessLogSample, "access-log-sample", cfg.AccessLogSample, "share of delivery requests logged, 0 (none) to 1 (all); other requests are always logged (env "+envName("access-log-sample")+")")
	str(&cfg.LogLevel, "log-level", "debug|info|warn|error")
	str(&cfg.LogFormat, "log-format", "text|json")
	dur(&cfg.ShutdownGrace, "shutdown-grace", "how long in-flight calls may finish on SIGTERM")
	dur(&cfg.ShutdownDelay, "shutdown-delay", "how long to keep serving after SIGTERM while reporting unready, before closing the listeners (for load balancers)")
	dur(&cfg.GRPC.MaxCallDuration, "max-call-duration", "deadline cap of every gRPC call")
	dur(&cfg.Gateway.CallTimeout, "gateway-call-timeout", "deadline of every REST call")
	var managementOrigins string
	str(&managementOrigins, "cors-management-origins", "browser origins, comma-separated (e.g. https://admin.example.org), whose pages may call the management REST routes with a key (CORS); empty keeps them same-origin. Delivery routes follow each site's allowed_origins")
	fs.Var(&cfg.RateLimitPerKey, "rate-limit-per-key", "at most N calls per window, e.g. 600/1m, from each API key or console user, on every gRPC and REST call but delivery keys'; empty for no limit (env "+envName("rate-limit-per-key")+")")
	fs.Var(&cfg.Gateway.PerAddress, "rate-limit-per-address", "at most N management requests per window, e.g. 1200/1m, from each client address at the REST edge (the peer's address: behind a proxy, the proxy's); empty for no limit (env "+envName("rate-limit-per-address")+")")
	fs.Var(&cfg.Gateway.PerSite, "rate-limit-per-site", "at most N delivery requests per window, e.g. 50000/1m, for each site at the REST edge; empty for no limit (env "+envName("rate-limit-per-site")+")")
	fs.BoolVar(&cfg.Console.SecureCookie, "console-secure-cookie", cfg.Console.SecureCookie, "mark the console's session cookie Secure on every response, for HTTPS served by a proxy in front of Beacon (without it: only requests that came over TLS) (env BEACON_CONSOLE_SECURE_COOKIE)")
	fs.BoolVar(&cfg.GRPC.Reflection, "grpc-reflection", cfg.GRPC.Reflection, "serve gRPC reflection (admin keys only) (env BEACON_GRPC_REFLECTION)")
	fs.BoolVar(&cfg.PrintConfig, "print-config", false, "print the configuration with secrets masked, then exit")

	// Environment first, so that flags given on the command line override it.
	var envErr error
	fs.VisitAll(func(f *flag.Flag) {
		if f.Name == "print-config" {
			return
		}
		if v := env(envName(f.Name)); v != "" && envErr == nil {
			if err := f.Value.Set(v); err != nil {
				envErr = fmt.Errorf("%s: %w", envName(f.Name), err)
			}
		}
	})
	if envErr != nil {
		return cfg, envErr
	}
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	cfg.flags = fs
	if err := checkLogging(cfg); err != nil {
		return cfg, err
	}
	// Sites lived in the content database before the sites service: its migration copies them.
	cfg.Sites.LegacyDatabase = cfg.Content.Database
	if cfg.LintTuning != "" {
		tuning, err := readLintTuning(cfg.LintTuning)
		if err != nil {
			return cfg, fmt.Errorf("--lint-tuning: %w", err)
		}
		cfg.Content.LintTuning, cfg.Resources.LintTuning, cfg.Screening.LintTuning = tuning, tuning, tuning
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	for _, o := range strings.Split(managementOrigins, ",") {
		if o = strings.TrimSpace(o); o == "" {
			continue
		}
		if err := weburl.CheckOrigin(o); err != nil {
			return cfg, fmt.Errorf("--cors-management-origins: %q %s", o, err)
		}
		cfg.Gateway.ManagementOrigins = append(cfg.Gateway.ManagementOrigins, o)
	}
	for name, addr := range addrs {
		if *addr != "" {
			cfg.ServiceAddrs[name] = *addr
		}
	}
	if _, err := readSideNames(cfg.ReadSides); err != nil {
		return cfg, err
	}
	if command == "targets" {
		return cfg, nil
	}
	if err := checkTargets(cfg); err != nil {
		return cfg, err
	}
	if command == "store" && (cfg.MongoURI != "" || cfg.DataDir == "") {
		return cfg, fmt.Errorf("beacon store serves the embedded store of --data-dir (BEACON_DATA_DIR); set it, and no --mongodb-uri")
	}
	if cfg.MongoURI == "" && cfg.DataDir == "" && needsStore(cfg) {
		return cfg, fmt.Errorf("set --mongodb-uri (BEACON_MONGODB_URI) or --data-dir (BEACON_DATA_DIR) for the embedded store")
	}
	if cfg.CatalogRefresh <= 0 {
		return cfg, fmt.Errorf("--catalog-refresh must be positive")
	}
	if cfg.Screening.FlushInterval <= 0 || cfg.Screening.FlushInterval > domainMaxFlushInterval {
		return cfg, fmt.Errorf("--screening-flush-interval must be positive and at most %s", domainMaxFlushInterval)
	}
	if command == "admin-user" && strings.TrimSpace(cfg.UserEmail) == "" {
		return cfg, fmt.Errorf("--email is required: the new admin user's sign-in email")
	}
	if command == "admin-key" {
		if _, err := auth.ParseRole(cfg.KeyRole); err != nil {
			return cfg, fmt.Errorf("--role: %w", err)
		}
	}
	if _, err := parseBytes(cfg.MemoryLimit); err != nil {
		return cfg, fmt.Errorf("--memory-limit: %w", err)
	}
	if cfg.GCPercent < 10 || cfg.GCPercent > 1000 {
		return cfg, fmt.Errorf("--gc-percent must be between 10 and 1000, got %d (for GOGC=off, set the GOGC environment variable)", cfg.GCPercent)
	}
	cfg.RuntimeGOGC = env("GOGC")
	if cfg.AccessLogSample < 0 || cfg.AccessLogSample > 1 {
		return cfg, fmt.Errorf("--access-log-sample must be between 0 and 1, got %v", cfg.AccessLogSample)
	}
	if cfg.PageTokenSecret != "" && len(cfg.PageTokenSecret) < 32 {
		return cfg, fmt.Errorf("--page-token-secret must be at least 32 bytes")
	}
	return cfg, nil
}

// checkLogging refuses a --log-level or --log-format newLogger would not take, so that a typo
// fails at start (and under --print-config) with the flag named.
func checkLogging(cfg Config) error {
	var level slog.Level
	if err := level.UnmarshalText([]byte(cfg.LogLevel)); err != nil {
		return fmt.Errorf("--log-level (%s) %q: want debug, info, warn or error", envName("log-level"), cfg.LogLevel)
	}
	if cfg.LogFormat != "text" && cfg.LogFormat != "json" {
		return fmt.Errorf("--log-format (%s) %q: want text or json", envName("log-format"), cfg.LogFormat)
	}
	return nil
}

// domainMaxFlushInterval caps --screening-flush-interval: the issue promises counters are
// written at least every 5 s.
const domainMaxFlushInterval = 5 * time.Second

func envName(flagName string) string {
	return "BEACON_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// readLintTuning reads and checks a lint tuning file: every rule it names must exist.
func readLintTuning(path string) (claimlint.Tuning, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return claimlint.Tuning{}, err
	}
	tuning, err := claimlint.ParseTuning(data)
	if err != nil {
		return claimlint.Tuning{}, fmt.Errorf("%s: %w", path, err)
	}
	if _, err := claimlint.New(claimlint.Builtin(), tuning); err != nil {
		return claimlint.Tuning{}, fmt.Errorf("%s: %w", path, err)
	}
	return tuning, nil
}

// printConfig writes every flag of the command with its value after the environment and the
// command line, and the environment variable it reads, masking the secrets:
//
//	--http-addr="127.0.0.1:8080" (env BEACON_HTTP_ADDR)
func printConfig(w io.Writer, cfg Config) {
	cfg.flags.VisitAll(func(f *flag.Flag) {
		if f.Name == "print-config" {
			return
		}
		val := f.Value.String()
		if secretFlags[f.Name] {
			val = mask(val)
		}
		fmt.Fprintf(w, "--%s=%s (env %s)\n", f.Name, strconv.Quote(val), envName(f.Name))
	})
}

func mask(s string) string {
	if s == "" {
		return ""
	}
	return "********"
}

// parseBytes reads a size such as "280MiB", "1GiB" or "300000000"; "" is 0.
func parseBytes(s string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	units := []struct {
		suffix string
		factor int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"B", 1}, {"", 1}}
	for _, u := range units {
		if num, ok := strings.CutSuffix(s, u.suffix); ok {
			n, err := strconv.ParseInt(strings.TrimSpace(num), 10, 64)
			if err != nil || n <= 0 {
				return 0, fmt.Errorf("want a positive size such as 280MiB, got %q", s)
			}
			return n * u.factor, nil
		}
	}
	return 0, fmt.Errorf("want a positive size such as 280MiB, got %q", s)
}

// byteSize is a flag of a size in bytes, given as parseBytes reads it (e.g. 32MiB).
type byteSize struct{ p *int64 }

func (b byteSize) Set(s string) error {
	n, err := parseBytes(strings.TrimSpace(s))
	if err == nil && n == 0 {
		err = fmt.Errorf("want a positive size such as 32MiB, got %q", s)
	}
	if err != nil {
		return err
	}
	*b.p = n
	return nil
}

func (b byteSize) String() string {
	if b.p == nil {
		return ""
	}
	for _, u := range []struct {
		suffix string
		factor int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if *b.p >= u.factor && *b.p%u.factor == 0 {
			return strconv.FormatInt(*b.p/u.factor, 10) + u.suffix
		}
	}
	return strconv.FormatInt(*b.p, 10) + "B"
}

// readSideServices lists the services that have a read side, in order.
func readSideServices() []string {
	var out []string
	for _, s := range serviceModules {
		if s.readSide != nil {
			out = append(out, s.name)
		}
	}
	return out
}

// readSideNames parses a --read-sides value: "all" is every service with a read side, "" none,
// else a comma-separated list of such services.
func readSideNames(value string) ([]string, error) {
	if strings.TrimSpace(value) == "all" {
		return readSideServices(), nil
	}
	var out []string
	for _, name := range strings.Split(value, ",") {
		name = strings.TrimSpace(name)
		if name == "" {
			continue
		}
		if !slices.Contains(readSideServices(), name) {
			return nil, fmt.Errorf("--read-sides: %q has no read side; want all, empty, or some of %s", name, strings.Join(readSideServices(), ", "))
		}
		if !slices.Contains(out, name) {
			out = append(out, name)
		}
	}
	return out, nil
}

// needsStore reports whether the modules cfg runs include the store (every service does; a
// gateway does only with read sides).
func needsStore(cfg Config) bool {
	g, err := newGraph(&app{cfg: cfg})
	if err != nil {
		return true
	}
	targets, err := parseTargets(g, cfg.Target)
	if err != nil {
		return true
	}
	closure, err := g.Closure(targets...)
	return err != nil || slices.Contains(closure, moduleStore)
}

// graphTargets lists the targets of the module graph.
func graphTargets() []string {
	g, err := newGraph(&app{})
	if err != nil {
		panic(err) // the graph is fixed; a bad one is a programming error caught by every test
	}
	return g.Targets()
}

// checkTargets checks --target, that a gateway running without a service knows its address, and
// that a process without the sites service can read it for its site catalog.
func checkTargets(cfg Config) error {
	g, err := newGraph(&app{cfg: cfg})
	if err != nil {
		return err
	}
	targets, err := parseTargets(g, cfg.Target)
	if err != nil {
		return err
	}
	closure, err := g.Closure(targets...)
	if err != nil {
		return err
	}
	// A process that needs the site catalog without running the sites service reads the sites
	// service over gRPC: it needs its address and a service key.
	if slices.Contains(closure, moduleCatalog) && !slices.Contains(closure, "sites") {
		if cfg.ServiceAddrs["sites"] == "" {
			return fmt.Errorf("--target=%s runs without the sites service: set --sites-addr (%s) for the site catalog", cfg.Target, envName("sites-addr"))
		}
		if cfg.ServiceKey == "" {
			return fmt.Errorf("--target=%s runs without the sites service: set --service-key (BEACON_SERVICE_KEY), a viewer key for all sites made with 'beacon admin-key --role=viewer', for the site catalog", cfg.Target)
		}
	}
	// The screening service calls content and resources over gRPC with a key of its own.
	if slices.Contains(closure, "screening") {
		for _, name := range []string{"content", "resources"} {
			if !slices.Contains(closure, name) && cfg.ServiceAddrs[name] == "" {
				return fmt.Errorf("--target=%s runs screening without %s: set --%s-addr (%s)", cfg.Target, name, name, envName(name+"-addr"))
			}
		}
		if !slices.Contains(closure, "access") && cfg.ScreeningKey == "" {
			return fmt.Errorf("--target=%s runs screening without the access service: set --screening-key (BEACON_SCREENING_KEY), a delivery key for all sites made with 'beacon admin-key --role=delivery'", cfg.Target)
		}
	}
	if !slices.Contains(closure, moduleGateway) {
		return nil
	}
	for _, name := range serviceNames() {
		if !slices.Contains(closure, name) && cfg.ServiceAddrs[name] == "" {
			return fmt.Errorf("--target=%s runs the gateway without %s: set --%s-addr (%s)", cfg.Target, name, name, envName(name+"-addr"))
		}
	}
	readSides, err := readSideNames(cfg.ReadSides)
	if err != nil {
		return err
	}
	for _, s := range serviceModules {
		if slices.Contains(readSides, s.name) && !slices.Contains(closure, s.name) && !s.readSideCallsService && cfg.MongoURI == "" {
			return fmt.Errorf("--target=%s runs the gateway without %s: set --mongodb-uri (BEACON_MONGODB_URI): the gateway keeps its own copy of %s's published data from the store", cfg.Target, s.name, s.name)
		}
	}
	return nil
}
