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

	"github.com/beaconcms/beacon/gateway"
	"github.com/beaconcms/beacon/platform/apikey"
	"github.com/beaconcms/beacon/platform/auth"
	"github.com/beaconcms/beacon/platform/grpcserver"
	"github.com/beaconcms/beacon/platform/loop"
	"github.com/beaconcms/beacon/platform/mongodb"
	"github.com/beaconcms/beacon/platform/pagetoken"
	"github.com/beaconcms/beacon/services/content"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"golang.org/x/sync/errgroup"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// serve runs cfg.Target until ctx ends, then shuts down gracefully: health turns NOT_SERVING,
// the HTTP server drains, the gRPC server drains, background work stops and the store closes.
func serve(ctx context.Context, cfg Config, dev bool, logger *slog.Logger, stdout io.Writer) error {
	var cleanup []func()
	defer func() {
		for i := len(cleanup) - 1; i >= 0; i-- {
			cleanup[i]()
		}
	}()
	if cfg.DebugAddr != "" {
		if err := serveDebug(cfg.DebugAddr, logger); err != nil {
			return err
		}
	}
	runsServices := cfg.Target == "all" || cfg.Target == "content"
	runsGateway := cfg.Target == "all" || cfg.Target == "gateway"

	var grpcSrv *grpcserver.Server
	var deliveryModel *content.Delivery
	var verifier auth.Verifier
	grpcAddr := cfg.ContentAddr
	bgCtx, stopBackground := context.WithCancel(context.WithoutCancel(ctx))
	defer stopBackground()

	// Every target reads the store: the services own it, and a gateway on its own keeps a
	// delivery read model and a key cache from it.
	st, closeStore, err := openStored(ctx, cfg, logger)
	if err != nil {
		return err
	}
	cleanup = append(cleanup, closeStore)
	// Background loops are joined before the store closes (cleanup runs in reverse).
	var background errgroup.Group
	cleanup = append(cleanup, func() {
		stopBackground()
		if err := background.Wait(); err != nil {
			logger.Error("background work stopped with an error", "err", err)
		}
	})
	if dev && cfg.MongoURI == "" {
		// Read-only tools (a read replica as in the end-to-end test, mongosh) can use the
		// embedded store while this runs; a second writer cannot (see docs/architecture.md).
		fmt.Fprintf(stdout, "store %s\n", st.uri)
	}
	client, tokens, keys := st.client, st.tokens, st.keys

	if runsServices {
		contentSvc, err := content.New(ctx, client, cfg.Content, tokens, logger)
		if err != nil {
			return err
		}
		deliveryModel, verifier = contentSvc.Delivery(), keys
		policy, err := auth.Merge(auth.HealthAndReflectionRules(), content.Rules(), apikey.Rules())
		if err != nil {
			return err
		}
		grpcSrv = grpcserver.New(cfg.GRPC, auth.NewInterceptor(policy, keys, logger), logger)
		contentSvc.Register(grpcSrv)
		keys.Register(grpcSrv)
		if missing := policy.MissingRules(grpcSrv); len(missing) > 0 {
			return fmt.Errorf("no access rule for %s", strings.Join(missing, ", "))
		}
		lis, err := net.Listen("tcp", cfg.GRPCAddr)
		if err != nil {
			return fmt.Errorf("listen gRPC: %w", err)
		}
		grpcAddr = lis.Addr().String()
		go func() {
			if err := grpcSrv.Serve(lis); err != nil {
				logger.Error("gRPC server stopped", "err", err)
			}
		}()
		cleanup = append(cleanup, func() { grpcSrv.Drain(cfg.ShutdownGrace) })
		background.Go(func() error { return contentSvc.Run(bgCtx) })
		serviceNames := append(content.ServiceNames(), apikey.ServiceName)
		grpcSrv.SetServing(serviceNames...)
		background.Go(func() error { return watchStore(bgCtx, client, grpcSrv, serviceNames, logger) })
		fmt.Fprintf(stdout, "gRPC  %s\n", grpcAddr)

		if dev {
			if err := prepareDev(ctx, cfg, contentSvc, keys, stdout); err != nil {
				return err
			}
		}
	}

	if runsGateway && !runsServices {
		if deliveryModel, err = content.OpenDelivery(ctx, client, cfg.Content, tokens, logger); err != nil {
			return err
		}
		verifier = keys
		background.Go(func() error { return deliveryModel.Run(bgCtx) })
	}

	var httpSrv *http.Server
	if runsGateway {
		conn, err := grpc.NewClient(grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			return fmt.Errorf("dial %s: %w", grpcAddr, err)
		}
		cleanup = append(cleanup, func() { _ = conn.Close() })
		handler, err := gateway.New(ctx, cfg.Gateway, gateway.Upstreams{Content: conn, Delivery: deliveryModel, Verifier: verifier})
		if err != nil {
			return err
		}
		lis, err := net.Listen("tcp", cfg.HTTPAddr)
		if err != nil {
			return fmt.Errorf("listen HTTP: %w", err)
		}
		httpSrv = &http.Server{
			Handler:           handler,
			ReadHeaderTimeout: 5 * time.Second,
			ReadTimeout:       15 * time.Second,
			WriteTimeout:      30 * time.Second,
			IdleTimeout:       120 * time.Second,
			MaxHeaderBytes:    64 << 10,
			ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
		}
		go func() {
			if err := httpSrv.Serve(lis); err != nil && !errors.Is(err, http.ErrServerClosed) {
				logger.Error("HTTP server stopped", "err", err)
			}
		}()
		fmt.Fprintf(stdout, "REST  http://%s\n", lis.Addr())
	}
	if limit, _ := parseBytes(cfg.MemoryLimit); limit > 0 {
		debug.SetMemoryLimit(limit)
		logger.Info("memory limit set", "bytes", limit)
	}
	logger.Info("beacon ready", "target", cfg.Target)

	<-ctx.Done()
	logger.Info("shutting down")
	if grpcSrv != nil {
		grpcSrv.Health.Shutdown()
	}
	if httpSrv != nil {
		shutdownCtx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownGrace)
		defer cancel()
		if err := httpSrv.Shutdown(shutdownCtx); err != nil {
			logger.Warn("HTTP shutdown", "err", err)
		}
	}
	return nil
}

// stored is what every target that reads the store needs.
type stored struct {
	client *mongo.Client
	uri    string
	tokens *pagetoken.Codec
	keys   *apikey.Service
}

// openStored opens the store, the page-token codec and the API key service.
func openStored(ctx context.Context, cfg Config, logger *slog.Logger) (stored, func(), error) {
	client, uri, closeStore, err := openStoreURI(ctx, cfg, logger)
	if err != nil {
		return stored{}, nil, err
	}
	tokens, err := pageTokenCodec(cfg)
	if err == nil {
		var keys *apikey.Service
		if keys, err = apikey.Open(ctx, client.Database(cfg.AccessDatabase), logger); err == nil {
			return stored{client: client, uri: uri, tokens: tokens, keys: keys}, closeStore, nil
		}
	}
	closeStore()
	return stored{}, nil, err
}

// openStore connects to cfg.MongoURI, or starts the embedded store under cfg.DataDir.
func openStore(ctx context.Context, cfg Config, logger *slog.Logger) (*mongo.Client, func(), error) {
	client, _, closeStore, err := openStoreURI(ctx, cfg, logger)
	return client, closeStore, err
}

// openStoreURI is openStore that also returns the URI it connected to.
func openStoreURI(ctx context.Context, cfg Config, logger *slog.Logger) (*mongo.Client, string, func(), error) {
	uri := cfg.MongoURI
	var embedded *mongodb.Embedded
	if uri == "" {
		var err error
		embedded, err = mongodb.StartEmbedded(ctx, filepath.Join(cfg.DataDir, "store"), logger)
		if err != nil {
			return nil, "", nil, fmt.Errorf("start embedded store: %w", err)
		}
		uri = embedded.URI()
		logger.Info("embedded store started", "dir", filepath.Join(cfg.DataDir, "store"))
	}
	client, err := mongodb.Connect(ctx, uri)
	if err != nil {
		if embedded != nil {
			_ = embedded.Close()
		}
		return nil, "", nil, err
	}
	return client, uri, func() {
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

// prepareDev loads the demo content on first start and creates the bootstrap admin key,
// printing it once and writing it to <data-dir>/admin.key (0600).
func prepareDev(ctx context.Context, cfg Config, contentSvc *content.Service, keys *apikey.Service, stdout io.Writer) error {
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
	return nil
}

// createAdminKey makes a new all-sites admin key and prints it once.
func createAdminKey(ctx context.Context, cfg Config, logger *slog.Logger, stdout io.Writer) error {
	client, closeStore, err := openStore(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer closeStore()
	keys, err := apikey.Open(ctx, client.Database(cfg.AccessDatabase), logger)
	if err != nil {
		return err
	}
	name, token, err := keys.CreateAdmin(ctx, cfg.KeyName)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s (%s), shown once:\n%s\n", name, cfg.KeyName, token)
	return nil
}

// migrate applies every service's migrations.
func migrate(ctx context.Context, cfg Config, logger *slog.Logger) error {
	client, closeStore, err := openStore(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer closeStore()
	if _, err := apikey.Open(ctx, client.Database(cfg.AccessDatabase), logger); err != nil {
		return err
	}
	if err := content.Migrate(ctx, client, cfg.Content, logger); err != nil {
		return err
	}
	logger.Info("migrations applied")
	return nil
}

// seed fills cfg.Seed.Site with generated published articles.
func seed(ctx context.Context, cfg Config, logger *slog.Logger) error {
	if cfg.Seed.Articles < 0 || cfg.Seed.BodyBytes <= 0 {
		return errors.New("--articles must be >= 0 and --body-bytes > 0")
	}
	client, closeStore, err := openStore(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer closeStore()
	tokens, err := pageTokenCodec(cfg)
	if err != nil {
		return err
	}
	contentSvc, err := content.New(ctx, client, cfg.Content, tokens, logger)
	if err != nil {
		return err
	}
	start := time.Now()
	if err := contentSvc.ImportSynthetic(ctx, cfg.Seed.Site, cfg.Seed.BaseURL, cfg.Seed.Articles, cfg.Seed.BodyBytes, cfg.Seed.Seed); err != nil {
		return err
	}
	logger.Info("seeded", "site", cfg.Seed.Site, "articles", cfg.Seed.Articles, "took", time.Since(start))
	return nil
}

// serveDebug serves pprof on addr in the background.
func serveDebug(addr string, logger *slog.Logger) error {
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen debug: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := srv.Serve(lis); err != nil {
			logger.Warn("debug server stopped", "err", err)
		}
	}()
	logger.Info("pprof served", "addr", lis.Addr().String())
	return nil
}

// watchStore pings the store every few seconds and reports the services NOT_SERVING while it
// cannot be reached, so readiness probes take the replica out of rotation (liveness should not
// use this: a store outage is no reason to restart).
func watchStore(ctx context.Context, client *mongo.Client, srv *grpcserver.Server, services []string, logger *slog.Logger) error {
	healthy := true
	return loop.Every(ctx, 5*time.Second, func(ctx context.Context) {
		pingCtx, cancel := context.WithTimeout(ctx, 2*time.Second)
		err := client.Ping(pingCtx, nil)
		cancel()
		switch {
		case err != nil && healthy && ctx.Err() == nil:
			healthy = false
			logger.Error("store unreachable; reporting NOT_SERVING", "err", err)
			srv.SetNotServing(services...)
		case err == nil && !healthy:
			healthy = true
			logger.Info("store reachable again; reporting SERVING")
			srv.SetServing(services...)
		}
	})
}
