// Command beacon runs Beacon: its gRPC services and the REST gateway, all in one process
// (`beacon dev`, `beacon serve`) or one per process (`beacon serve --target=...`; `beacon targets`
// lists the targets), plus maintenance commands (migrate, admin-key, seed) and a client command
// (import resources). See
// docs/architecture.md for how the pieces fit.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

const usage = `Usage: beacon <command> [flags]

Commands:
  dev       run everything with the embedded store in ./data, demo content and a bootstrap admin key
  serve     run the targets named by --target (default all; e.g. --target=content,access)
  store     serve the embedded store of --data-dir on a unix socket for other beacon processes
            (a split deployment on one machine); prints the socket's --mongodb-uri
  migrate   apply database migrations and exit
  admin-key create an admin key for all sites and print it once (--key-name NAME)
  admin-user create an admin user for all sites (--email EMAIL) and print its generated password once;
            it signs in to the editor console at /console/
  seed      add generated published articles to a site (for benchmarks; stop other beacons on the same data dir first)
  import    import resources --site=ID FILE: a CSV or HSDS JSON file into a site over gRPC
            (--resources-addr, key in BEACON_API_KEY), with a progress bar and a per-row report
  probe     check a running beacon's health, for container health checks: probe URL, where URL is
            http://host:port/readyz (200 wanted) or grpc://host:port[/service] (SERVING wanted)
  version   print the version of this build
  targets   print the module graph: the targets serve accepts and what each one runs
            (--read-sides as for serve: 'beacon targets --read-sides=' shows a management-only gateway)

Run 'beacon <command> -h' for the flags of a command. Every flag also reads BEACON_<FLAG>,
e.g. --http-addr reads BEACON_HTTP_ADDR; a flag on the command line wins.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr))
}

// run is main without the process: it returns the exit code.
func run(ctx context.Context, args []string, env func(string) string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	command, rest := args[0], args[1:]
	switch command {
	case "targets":
		cfg, err := parseConfig(command, rest, env, stderr)
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		if err != nil {
			fmt.Fprintf(stderr, "beacon targets: %v\n", err)
			return 2
		}
		g, err := newGraph(&app{cfg: cfg})
		if err != nil {
			fmt.Fprintf(stderr, "beacon targets: %v\n", err)
			return 1
		}
		printTargets(stdout, g)
		return 0
	case "import":
		return runImport(ctx, rest, env, stdout, stderr)
	case "probe":
		return runProbe(ctx, rest, stdout, stderr)
	case "version", "--version":
		printVersion(stdout)
		return 0
	case "dev", "serve", "store", "migrate", "seed", "admin-key", "admin-user":
	case "-h", "--help", "help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "beacon: unknown command %q\n\n%s", command, usage)
		return 2
	}
	cfg, err := parseConfig(command, rest, env, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "beacon %s: %v\n", command, err)
		return 2
	}
	if cfg.PrintConfig {
		printConfig(stdout, cfg)
		return 0
	}
	logger, err := newLogger(cfg, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "beacon %s: %v\n", command, err)
		return 2
	}
	switch command {
	case "migrate":
		err = migrate(ctx, cfg, logger)
	case "seed":
		err = seed(ctx, cfg, logger)
	case "admin-key":
		err = createAdminKey(ctx, cfg, logger, stdout)
	case "admin-user":
		err = createAdminUser(ctx, cfg, logger, stdout)
	case "store":
		err = serveStore(ctx, cfg, logger, stdout)
	default:
		err = serve(ctx, cfg, command == "dev", logger, stdout)
	}
	if err != nil {
		logger.Error("beacon stopped with an error", "command", command, "err", err)
		return 1
	}
	return 0
}
