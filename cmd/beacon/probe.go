package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// runProbe is `beacon probe URL`, the container image's own health check (it has no shell and
// no curl):
//   - http://host:port/path: GET, healthy on 200 (/healthz liveness, /readyz readiness);
//   - grpc://host:port[/service]: grpc.health.v1 Check of service ("" without one: the server
//     as a whole, liveness; a service name: readiness), healthy on SERVING.
//
// It exits 0 when healthy, 1 when not (saying why on stderr), 2 on a bad command line.
func runProbe(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("beacon probe", flag.ContinueOnError)
	fs.SetOutput(stderr)
	timeout := fs.Duration("timeout", 3*time.Second, "how long the check may take")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: beacon probe [--timeout=3s] http://host:port/path | grpc://host:port[/service]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return 2
	}
	target, err := url.Parse(fs.Arg(0))
	if err != nil || target.Host == "" {
		fmt.Fprintf(stderr, "beacon probe: %q is not a URL such as http://127.0.0.1:8080/readyz or grpc://127.0.0.1:9090\n", fs.Arg(0))
		return 2
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	switch target.Scheme {
	case "http", "https":
		err = probeHTTP(ctx, target.String())
	case "grpc":
		err = probeGRPC(ctx, target.Host, strings.TrimPrefix(target.Path, "/"))
	default:
		fmt.Fprintf(stderr, "beacon probe: scheme %q: want http, https or grpc\n", target.Scheme)
		return 2
	}
	if err != nil {
		fmt.Fprintf(stderr, "beacon probe %s: %v\n", target, err)
		return 1
	}
	fmt.Fprintf(stdout, "%s healthy\n", target)
	return 0
}

func probeHTTP(ctx context.Context, target string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("status %d, want 200", resp.StatusCode)
	}
	return nil
}

func probeGRPC(ctx context.Context, addr, service string) error {
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return err
	}
	defer conn.Close()
	resp, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{Service: service})
	if err != nil {
		return err
	}
	if resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		return fmt.Errorf("service %q is %s, want SERVING", service, resp.GetStatus())
	}
	return nil
}
