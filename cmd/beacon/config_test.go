package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"runtime/debug"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/beaconcms/beacon/gateway"
	"github.com/beaconcms/beacon/services/content"
	"github.com/beaconcms/beacon/services/sites"
)

// envOf returns an env function reading m.
func envOf(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// pageSecret is a valid page-token secret (32 bytes) that must never be printed.
const pageSecret = "pts-0123456789abcdef0123456789ab"

func TestDefaultConfig(t *testing.T) {
	common := func(c *Config) {
		c.Target = "all"
		c.ReadSides = "all"
		c.HTTPAddr = "127.0.0.1:8080"
		c.GRPCAddr = "127.0.0.1:9090"
		c.AccessDatabase = "beacon_access"
		c.LogLevel = "info"
		c.ShutdownGrace = 10 * time.Second
		c.GRPC.Reflection = true
		c.Content = content.DefaultConfig()
		c.Sites = sites.DefaultConfig()
		c.CatalogRefresh = time.Second
		c.Gateway = gateway.DefaultConfig()
		c.Gateway.Version = buildVersion()
		c.ServiceAddrs = map[string]string{}
		c.GCPercent = 75
	}
	tests := []struct {
		command string
		args    []string
		want    func(c *Config)
	}{
		{"dev", nil, func(c *Config) {
			common(c)
			c.DataDir = "./data"
			c.LogFormat = "text"
			c.ShutdownDelay = 0 // a developer's Ctrl-C stops at once
		}},
		{"serve", []string{"--mongodb-uri", "mongodb://db:27017"}, func(c *Config) {
			common(c)
			c.MongoURI = "mongodb://db:27017"
			c.DataDir = ""
			c.LogFormat = "json"
			c.ShutdownDelay = 5 * time.Second
		}},
	}
	for _, tt := range tests {
		t.Run(tt.command, func(t *testing.T) {
			got, err := parseConfig(tt.command, tt.args, envOf(nil), io.Discard)
			if err != nil {
				t.Fatalf("parseConfig: %v", err)
			}
			// Start from what was parsed and overwrite every setting this test pins down, so that
			// settings added later do not break it while these ones are checked exactly.
			want := got
			tt.want(&want)
			if diff := cmp.Diff(want, got, cmpopts.IgnoreUnexported(Config{})); diff != "" {
				t.Errorf("defaults (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseConfig(t *testing.T) {
	dataDir := []string{"--data-dir", "/var/lib/beacon"}
	tests := []struct {
		name    string
		command string
		args    []string
		env     map[string]string
		want    func(c *Config) // applied to the defaults of the command; nil when an error is wanted
		wantErr []string        // substrings of the error
	}{
		{name: "env sets a setting", command: "dev", env: map[string]string{"BEACON_HTTP_ADDR": "0.0.0.0:80"},
			want: func(c *Config) { c.HTTPAddr = "0.0.0.0:80" }},
		{name: "flag beats env", command: "dev", args: []string{"--http-addr", "127.0.0.1:1"}, env: map[string]string{"BEACON_HTTP_ADDR": "0.0.0.0:80"},
			want: func(c *Config) { c.HTTPAddr = "127.0.0.1:1" }},
		{name: "flag with = beats env", command: "dev", args: []string{"--grpc-reflection=false"}, env: map[string]string{"BEACON_GRPC_REFLECTION": "true"},
			want: func(c *Config) { c.GRPC.Reflection = false }},
		{name: "env bool", command: "dev", env: map[string]string{"BEACON_GRPC_REFLECTION": "false"},
			want: func(c *Config) { c.GRPC.Reflection = false }},
		{name: "env durations and nested settings", command: "dev",
			env: map[string]string{"BEACON_SCHEDULER_INTERVAL": "5s", "BEACON_MAX_CALL_DURATION": "1m", "BEACON_CONTENT_DATABASE": "cms", "BEACON_GATEWAY_CALL_TIMEOUT": "3s"},
			want: func(c *Config) {
				c.Content.SchedulerInterval = 5 * time.Second
				c.GRPC.MaxCallDuration = time.Minute
				c.Content.Database = "cms"
				c.Sites.LegacyDatabase = "cms" // the sites of earlier releases are in the content database
				c.Gateway.CallTimeout = 3 * time.Second
			}},
		{name: "sites database, service key and catalog refresh", command: "dev",
			env: map[string]string{"BEACON_SITES_DATABASE": "sitesdb", "BEACON_SERVICE_KEY": "bk_x", "BEACON_CATALOG_REFRESH": "250ms"},
			want: func(c *Config) {
				c.Sites.Database, c.ServiceKey, c.CatalogRefresh = "sitesdb", "bk_x", 250*time.Millisecond
			}},
		{name: "delivery body cache from env", command: "dev", env: map[string]string{"BEACON_DELIVERY_BODY_CACHE": "8MiB"},
			want: func(c *Config) { c.Content.DeliveryBodyCacheBytes = 8 << 20 }},
		{name: "delivery body cache flag beats env", command: "dev", args: []string{"--delivery-body-cache", "512KiB"}, env: map[string]string{"BEACON_DELIVERY_BODY_CACHE": "8MiB"},
			want: func(c *Config) { c.Content.DeliveryBodyCacheBytes = 512 << 10 }},
		{name: "catalog refresh must be positive", command: "dev", args: []string{"--catalog-refresh", "0s"},
			wantErr: []string{"--catalog-refresh"}},
		{name: "gc percent by env", command: "dev", env: map[string]string{"BEACON_GC_PERCENT": "50"},
			want: func(c *Config) { c.GCPercent = 50 }},
		{name: "GOGC in the environment is noted", command: "dev", env: map[string]string{"GOGC": "200"},
			want: func(c *Config) { c.RuntimeGOGC = "200" }},
		{name: "gc percent out of range", command: "dev", args: []string{"--gc-percent", "0"},
			wantErr: []string{"--gc-percent", "between 10 and 1000"}},
		{name: "admin-key for a viewer of one site", command: "admin-key", args: append([]string{"--role", "viewer", "--site", "kratom-help", "--key-name", "svc"}, dataDir...),
			want: func(c *Config) {
				c.DataDir, c.KeyName, c.KeyRole, c.KeySite = "/var/lib/beacon", "svc", "viewer", "kratom-help"
			}},
		{name: "admin-key defaults to an all-sites admin", command: "admin-key", args: dataDir,
			want: func(c *Config) { c.DataDir, c.KeyName, c.KeyRole = "/var/lib/beacon", "admin", "admin" }},
		{name: "admin-key with a bad role", command: "admin-key", args: append([]string{"--role", "root"}, dataDir...),
			wantErr: []string{"--role", `"root"`}},
		{name: "env for serve only", command: "serve", args: dataDir, env: map[string]string{"BEACON_TARGET": "sites"},
			want: func(c *Config) { c.Target = "sites"; c.DataDir = "/var/lib/beacon" }},
		{name: "print-config is not read from env", command: "dev", env: map[string]string{"BEACON_PRINT_CONFIG": "true"},
			want: func(*Config) {}},
		{name: "print-config flag", command: "dev", args: []string{"--print-config"},
			want: func(c *Config) { c.PrintConfig = true }},
		{name: "management CORS origins", command: "dev", env: map[string]string{"BEACON_CORS_MANAGEMENT_ORIGINS": "https://admin.example.org, http://localhost:5173"},
			want: func(c *Config) {
				c.Gateway.ManagementOrigins = []string{"https://admin.example.org", "http://localhost:5173"}
			}},
		{name: "management CORS origins refuse a wildcard", command: "dev", args: []string{"--cors-management-origins", "https://*.example.org"},
			wantErr: []string{"--cors-management-origins", `"https://*.example.org"`, "wildcards"}},
		{name: "secret of 32 bytes", command: "dev", args: []string{"--page-token-secret", pageSecret},
			want: func(c *Config) { c.PageTokenSecret = pageSecret }},
		{name: "bad target", command: "serve", args: append([]string{"--target", "everything"}, dataDir...),
			wantErr: []string{`"everything"`, "access, content, resources, screening, console, gateway, all"}},
		{name: "bad target from env", command: "serve", args: dataDir, env: map[string]string{"BEACON_TARGET": "web"},
			wantErr: []string{`"web"`, "access, content, resources, screening, console, gateway, all"}},
		{name: "internal module is no target", command: "serve", args: append([]string{"--target", "store"}, dataDir...),
			wantErr: []string{`unknown target "store"`}},
		{name: "empty target", command: "serve", args: append([]string{"--target", " , "}, dataDir...),
			wantErr: []string{"--target is empty"}},
		{name: "several targets", command: "serve", args: append([]string{"--target", "sites,content,access"}, dataDir...),
			want: func(c *Config) { c.Target = "sites,content,access"; c.DataDir = "/var/lib/beacon" }},
		{name: "dev has no target flag", command: "dev", args: []string{"--target", "content"},
			wantErr: []string{"target"}},
		{name: "gateway without content address", command: "serve",
			args:    []string{"--target", "gateway", "--access-addr", "access:9090", "--sites-addr", "s:1", "--service-key", "k", "--mongodb-uri", "mongodb://db:27017"},
			wantErr: []string{"without content", "--content-addr", "BEACON_CONTENT_ADDR"}},
		{name: "gateway without access address", command: "serve",
			args:    []string{"--target", "gateway", "--content-addr", "content:9090", "--sites-addr", "s:1", "--service-key", "k", "--mongodb-uri", "mongodb://db:27017"},
			wantErr: []string{"without access", "--access-addr", "BEACON_ACCESS_ADDR"}},
		{name: "gateway without sites address", command: "serve",
			args:    []string{"--target", "gateway", "--content-addr", "c:1", "--access-addr", "a:1", "--service-key", "k", "--mongodb-uri", "mongodb://db:27017"},
			wantErr: []string{"without the sites service", "--sites-addr", "BEACON_SITES_ADDR"}},
		{name: "gateway without service key", command: "serve",
			args:    []string{"--target", "gateway", "--content-addr", "c:1", "--access-addr", "a:1", "--sites-addr", "s:1", "--mongodb-uri", "mongodb://db:27017"},
			wantErr: []string{"--service-key", "BEACON_SERVICE_KEY", "--role=viewer"}},
		{name: "content without sites needs the sites address and a service key", command: "serve",
			args:    []string{"--target", "content", "--data-dir", "d"},
			wantErr: []string{"--sites-addr"}},
		{name: "gateway and content need only the access and sites addresses", command: "serve",
			args: []string{"--target", "gateway,content,resources,screening", "--access-addr", "access:9090", "--sites-addr", "sites:9090", "--service-key", "k", "--screening-key", "sk", "--data-dir", "d"},
			want: func(c *Config) {
				c.Target, c.DataDir, c.ServiceKey, c.ScreeningKey = "gateway,content,resources,screening", "d", "k", "sk"
				c.ServiceAddrs = map[string]string{"access": "access:9090", "sites": "sites:9090"}
			}},
		{name: "screening without content and resources needs their addresses", command: "serve",
			args:    []string{"--target", "screening", "--sites-addr", "s:1", "--service-key", "k", "--screening-key", "sk", "--resources-addr", "r:1", "--data-dir", "d"},
			wantErr: []string{"without content", "--content-addr"}},
		{name: "screening without access needs its own key", command: "serve",
			args:    []string{"--target", "screening", "--sites-addr", "s:1", "--service-key", "k", "--content-addr", "c:1", "--resources-addr", "r:1", "--data-dir", "d"},
			wantErr: []string{"--screening-key", "BEACON_SCREENING_KEY", "--role=delivery"}},
		{name: "screening alone", command: "serve",
			args: []string{"--target", "screening", "--sites-addr", "s:1", "--service-key", "k", "--content-addr", "c:1", "--resources-addr", "r:1", "--screening-key", "sk", "--data-dir", "d", "--screening-database", "scr"},
			want: func(c *Config) {
				c.Target, c.DataDir, c.ServiceKey, c.ScreeningKey, c.Screening.Database = "screening", "d", "k", "sk", "scr"
				c.ServiceAddrs = map[string]string{"sites": "s:1", "content": "c:1", "resources": "r:1"}
			}},
		{name: "screening counters are flushed at least every 5 s", command: "dev", args: []string{"--screening-flush-interval", "6s"},
			wantErr: []string{"--screening-flush-interval"}},
		{name: "gateway without content needs MongoDB", command: "serve",
			args:    []string{"--target", "gateway", "--content-addr", "c:1", "--access-addr", "a:1", "--resources-addr", "r:1", "--screening-addr", "x:1", "--sites-addr", "s:1", "--service-key", "k", "--data-dir", "d"},
			wantErr: []string{"--mongodb-uri"}},
		{name: "gateway without resources address", command: "serve",
			args:    []string{"--target", "gateway", "--content-addr", "c:1", "--access-addr", "a:1", "--sites-addr", "s:1", "--service-key", "k", "--mongodb-uri", "mongodb://db:27017"},
			wantErr: []string{"without resources", "--resources-addr", "BEACON_RESOURCES_ADDR"}},
		{name: "gateway with service addresses", command: "serve",
			args: []string{"--target", "gateway", "--content-addr", "content:9090", "--sites-addr", "sites:9090", "--mongodb-uri", "mongodb://db:27017"},
			env:  map[string]string{"BEACON_ACCESS_ADDR": "access:9090", "BEACON_SERVICE_KEY": "bk_svc", "BEACON_RESOURCES_ADDR": "resources:9090", "BEACON_SCREENING_ADDR": "screening:9090"},
			want: func(c *Config) {
				c.Target, c.MongoURI, c.ServiceKey = "gateway", "mongodb://db:27017", "bk_svc"
				c.ServiceAddrs = map[string]string{"content": "content:9090", "access": "access:9090", "sites": "sites:9090", "resources": "resources:9090", "screening": "screening:9090"}
			}},
		{name: "gateway with only the screening read side needs no MongoDB address for it", command: "serve",
			args: []string{"--target", "gateway", "--read-sides=screening", "--content-addr", "c:1", "--access-addr", "a:1", "--sites-addr", "s:1", "--resources-addr", "r:1", "--screening-addr", "x:1", "--service-key", "k", "--data-dir", "d"},
			want: func(c *Config) {
				c.Target, c.ReadSides, c.ServiceKey, c.DataDir = "gateway", "screening", "k", "d"
				c.ServiceAddrs = map[string]string{"content": "c:1", "access": "a:1", "sites": "s:1", "resources": "r:1", "screening": "x:1"}
			}},
		{name: "management-only gateway needs no store and no service key", command: "serve",
			args: []string{"--target", "gateway", "--read-sides=", "--content-addr", "c:1", "--access-addr", "a:1", "--sites-addr", "s:1", "--resources-addr", "r:1", "--screening-addr", "x:1"},
			want: func(c *Config) {
				c.Target, c.ReadSides = "gateway", ""
				c.ServiceAddrs = map[string]string{"content": "c:1", "access": "a:1", "sites": "s:1", "resources": "r:1", "screening": "x:1"}
			}},
		{name: "management-only gateway still needs every service address", command: "serve",
			args:    []string{"--target", "gateway", "--read-sides=", "--content-addr", "c:1", "--access-addr", "a:1"},
			wantErr: []string{"--sites-addr"}},
		{name: "gateway with the content read side needs a store", command: "serve",
			args:    []string{"--target", "gateway", "--read-sides=content", "--content-addr", "c:1", "--access-addr", "a:1", "--sites-addr", "s:1", "--resources-addr", "r:1", "--screening-addr", "x:1", "--service-key", "k"},
			wantErr: []string{"--mongodb-uri"}},
		{name: "unknown read side", command: "serve",
			args:    []string{"--target", "gateway", "--read-sides=content,pictures", "--mongodb-uri", "mongodb://db:27017"},
			wantErr: []string{"--read-sides", `"pictures"`, "content"}},
		{name: "short page-token secret", command: "dev", args: []string{"--page-token-secret", pageSecret[:31]},
			wantErr: []string{"--page-token-secret", "32 bytes"}},
		{name: "short page-token secret from env", command: "serve", args: dataDir, env: map[string]string{"BEACON_PAGE_TOKEN_SECRET": "short"},
			wantErr: []string{"--page-token-secret", "32 bytes"}},
		{name: "serve needs a store", command: "serve",
			wantErr: []string{"--mongodb-uri", "--data-dir"}},
		{name: "bad duration in env", command: "dev", env: map[string]string{"BEACON_SHUTDOWN_GRACE": "soon"},
			wantErr: []string{"BEACON_SHUTDOWN_GRACE"}},
		{name: "bad bool in env", command: "dev", env: map[string]string{"BEACON_GRPC_REFLECTION": "maybe"},
			wantErr: []string{"BEACON_GRPC_REFLECTION"}},
		{name: "unknown flag", command: "dev", args: []string{"--colour"},
			wantErr: []string{"colour"}},
		{name: "positional arguments", command: "dev", args: []string{"extra", "args"},
			wantErr: []string{"unexpected arguments: extra args"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stderr bytes.Buffer
			got, err := parseConfig(tt.command, tt.args, envOf(tt.env), &stderr)
			if tt.want == nil {
				if err == nil {
					t.Fatalf("parseConfig = %+v, nil; want an error", got)
				}
				for _, s := range tt.wantErr {
					if !strings.Contains(err.Error(), s) {
						t.Errorf("error %q does not contain %q", err, s)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("parseConfig: %v (stderr: %s)", err, &stderr)
			}
			want := defaultConfig(tt.command == "dev")
			tt.want(&want)
			if diff := cmp.Diff(want, got, cmpopts.IgnoreUnexported(Config{})); diff != "" {
				t.Errorf("config (-want +got):\n%s", diff)
			}
		})
	}

	t.Run("help", func(t *testing.T) {
		var stderr bytes.Buffer
		_, err := parseConfig("dev", []string{"-h"}, envOf(nil), &stderr)
		if !errors.Is(err, flag.ErrHelp) {
			t.Fatalf("parseConfig(-h) = %v, want flag.ErrHelp", err)
		}
		for _, s := range []string{"-http-addr", "BEACON_HTTP_ADDR", "-page-token-secret"} {
			if !strings.Contains(stderr.String(), s) {
				t.Errorf("help does not mention %q:\n%s", s, &stderr)
			}
		}
	})
}

func TestPrintConfigMasksSecrets(t *testing.T) {
	const mongoURI = "mongodb://beacon:pa55-w0rd@db-1.internal:27017/?authSource=admin"
	tests := []struct {
		name string
		args []string
		env  map[string]string
	}{
		{"flags", []string{"serve", "--print-config", "--mongodb-uri", mongoURI, "--page-token-secret", pageSecret}, nil},
		{"env", []string{"serve", "--print-config"}, map[string]string{"BEACON_MONGODB_URI": mongoURI, "BEACON_PAGE_TOKEN_SECRET": pageSecret}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if code := run(context.Background(), tt.args, envOf(tt.env), &stdout, &stderr); code != 0 {
				t.Fatalf("run = %d, want 0; stderr: %s", code, &stderr)
			}
			out := stdout.String() + stderr.String()
			for _, leak := range []string{pageSecret, "pa55-w0rd", "db-1.internal"} {
				if strings.Contains(out, leak) {
					t.Errorf("output contains %q:\n%s", leak, out)
				}
			}
			for _, line := range []string{
				`--mongodb-uri="********" (env BEACON_MONGODB_URI)`,
				`--page-token-secret="********" (env BEACON_PAGE_TOKEN_SECRET)`,
				`--target="all" (env BEACON_TARGET)`,
				`--http-addr="127.0.0.1:8080" (env BEACON_HTTP_ADDR)`,
				`--content-database="beacon_content" (env BEACON_CONTENT_DATABASE)`,
				`--grpc-reflection="true" (env BEACON_GRPC_REFLECTION)`,
				`--gateway-call-timeout="10s" (env BEACON_GATEWAY_CALL_TIMEOUT)`,
			} {
				if !strings.Contains(stdout.String(), line+"\n") {
					t.Errorf("output has no line %s:\n%s", line, &stdout)
				}
			}
		})
	}
	t.Run("unset secrets print empty", func(t *testing.T) {
		var stdout bytes.Buffer
		if code := run(context.Background(), []string{"dev", "--print-config"}, envOf(nil), &stdout, io.Discard); code != 0 {
			t.Fatalf("run = %d, want 0", code)
		}
		for _, line := range []string{`--mongodb-uri="" (env BEACON_MONGODB_URI)`, `--page-token-secret="" (env BEACON_PAGE_TOKEN_SECRET)`, `--data-dir="./data" (env BEACON_DATA_DIR)`} {
			if !strings.Contains(stdout.String(), line+"\n") {
				t.Errorf("output has no line %s:\n%s", line, &stdout)
			}
		}
	})
}

// TestPrintConfigMasksEverySecret sets every string flag to a value of its own, and checks that
// no field tagged secret:"true" shows its value, so a new secret needs its flag in secretFlags.
func TestPrintConfigMasksEverySecret(t *testing.T) {
	probe, err := parseConfig("dev", nil, envOf(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	var args []string
	probe.flags.VisitAll(func(f *flag.Flag) {
		getter, ok := f.Value.(flag.Getter)
		if !ok {
			return
		}
		if _, isString := getter.Get().(string); isString && !slices.Contains([]string{"target", "read-sides", "log-level", "log-format", "memory-limit", "lint-tuning", "cors-management-origins"}, f.Name) {
			args = append(args, "--"+f.Name+"=value-of-"+f.Name+"-0123456789012345678901234567890123456789")
		}
	})
	cfg, err := parseConfig("dev", args, envOf(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	printConfig(&out, cfg)
	v, typ := reflect.ValueOf(cfg), reflect.TypeFor[Config]()
	secrets := 0
	for i := range typ.NumField() {
		if typ.Field(i).Tag.Get("secret") != "true" {
			continue
		}
		secrets++
		value := v.Field(i).String()
		if !strings.HasPrefix(value, "value-of-") {
			t.Fatalf("secret field %s has no flag of its own set by this test (%q)", typ.Field(i).Name, value)
		}
		if strings.Contains(out.String(), value) {
			t.Errorf("printConfig shows the secret %s: add its flag to secretFlags", typ.Field(i).Name)
		}
	}
	if secrets < 4 {
		t.Errorf("%d fields tagged secret, want at least 4", secrets)
	}
}

func TestInvalidEnumsAreRefusedAtStart(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"log level flag", []string{"serve", "--print-config", "--log-level=loud"}, nil, "--log-level (BEACON_LOG_LEVEL) \"loud\""},
		{"log level env", []string{"dev", "--print-config"}, map[string]string{"BEACON_LOG_LEVEL": "verbose"}, "--log-level (BEACON_LOG_LEVEL) \"verbose\""},
		{"log format", []string{"serve", "--print-config", "--log-format=xml"}, nil, "--log-format (BEACON_LOG_FORMAT) \"xml\""},
		{"target", []string{"serve", "--print-config", "--target=everything"}, nil, "--target"},
		{"read sides", []string{"serve", "--print-config", "--read-sides=blog"}, nil, "--read-sides"},
		{"memory limit", []string{"dev", "--print-config", "--memory-limit=lots"}, nil, "--memory-limit"},
		{"delivery body cache", []string{"dev", "--print-config", "--delivery-body-cache=lots"}, nil, "-delivery-body-cache"},
		{"delivery body cache of nothing", []string{"dev", "--print-config"}, map[string]string{"BEACON_DELIVERY_BODY_CACHE": "0"}, "BEACON_DELIVERY_BODY_CACHE"},
		{"rate limit", []string{"dev", "--print-config", "--rate-limit-per-key=600"}, nil, "-rate-limit-per-key"},
		{"rate limit env", []string{"dev", "--print-config"}, map[string]string{"BEACON_RATE_LIMIT_PER_SITE": "10/500ms"}, "BEACON_RATE_LIMIT_PER_SITE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if code := run(context.Background(), tt.args, envOf(tt.env), &stdout, &stderr); code != 2 || !strings.Contains(stderr.String(), tt.want) {
				t.Fatalf("run = %d, stderr %q; want 2 and %q", code, &stderr, tt.want)
			}
			if stdout.Len() != 0 {
				t.Errorf("printed a configuration it refused: %s", &stdout)
			}
		})
	}
}

func TestRunCommands(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStdout string
		wantStderr string
	}{
		{name: "no command", args: nil, wantCode: 2, wantStderr: "Usage: beacon"},
		{name: "unknown command", args: []string{"deploy"}, wantCode: 2, wantStderr: `unknown command "deploy"`},
		{name: "help", args: []string{"help"}, wantCode: 0, wantStdout: "Usage: beacon"},
		{name: "targets", args: []string{"targets"}, wantCode: 0, wantStdout: "gateway       yes     store key-verifier"},
		{name: "targets of a management-only gateway", args: []string{"targets", "--read-sides="}, wantCode: 0,
			wantStdout: "gateway       yes     -                                                         sites access content resources screening dev-setup console"},
		{name: "targets with an unknown read side", args: []string{"targets", "--read-sides=x"}, wantCode: 2, wantStderr: `"x" has no read side`},
		{name: "bad flag", args: []string{"serve", "--target", "nope", "--data-dir", "x"}, wantCode: 2, wantStderr: "beacon serve: --target"},
		{name: "flag help", args: []string{"dev", "-h"}, wantCode: 0, wantStderr: "-http-addr"},
		{name: "bad log level", args: []string{"dev", "--log-level", "loud", "--data-dir", "unused"}, wantCode: 2, wantStderr: "--log-level"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), tt.args, envOf(nil), &stdout, &stderr)
			if code != tt.wantCode {
				t.Errorf("run = %d, want %d; stderr: %s", code, tt.wantCode, &stderr)
			}
			if !strings.Contains(stdout.String(), tt.wantStdout) {
				t.Errorf("stdout %q does not contain %q", &stdout, tt.wantStdout)
			}
			if !strings.Contains(stderr.String(), tt.wantStderr) {
				t.Errorf("stderr %q does not contain %q", &stderr, tt.wantStderr)
			}
		})
	}
}

func TestLintTuningFile(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	if err := os.WriteFile(good, []byte("sites:\n  kratom-help:\n    disable: [stigma-soft-term]\n    severity: {number-needs-citation: error}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := parseConfig("dev", []string{"--lint-tuning", good}, envOf(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	st := cfg.Content.LintTuning.Sites["kratom-help"]
	if !slices.Equal(st.Disable, []string{"stigma-soft-term"}) || st.Severity["number-needs-citation"] != "error" {
		t.Errorf("content lint tuning %+v", cfg.Content.LintTuning)
	}
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("sites:\n  kratom-help:\n    disable: [no-such-rule]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"--lint-tuning", bad}, {"--lint-tuning", filepath.Join(dir, "missing.yaml")}} {
		if _, err := parseConfig("dev", args, envOf(nil), io.Discard); err == nil || !strings.Contains(err.Error(), "--lint-tuning") {
			t.Errorf("%v: error %v, want one naming --lint-tuning", args, err)
		}
	}
}

// Without a version injected by -ldflags, the binary reports what Go recorded of its build.
func TestVersionFromBuildInfo(t *testing.T) {
	for _, tc := range []struct {
		name string
		info debug.BuildInfo
		want string
	}{
		{"module version", debug.BuildInfo{Main: debug.Module{Version: "v1.4.0"}}, "v1.4.0"},
		{"VCS revision", debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "0123456789abcdef0123"}, {Key: "vcs.modified", Value: "false"}}}, "0123456789ab"},
		{"modified tree", debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "0123456789abcdef0123"}, {Key: "vcs.modified", Value: "true"}}}, "0123456789ab-dirty"},
		{"nothing recorded", debug.BuildInfo{Main: debug.Module{Version: "(devel)"}}, "devel"},
	} {
		if got := versionFromBuildInfo(&tc.info); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}
