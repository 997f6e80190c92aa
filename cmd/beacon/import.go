package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	resourcesv1 "github.com/beaconcms/beacon/gen/beacon/resources/v1"
	"github.com/beaconcms/beacon/platform/siteid"
	"github.com/beaconcms/beacon/services/resources/importfile"
)

const importUsage = `Usage: beacon import resources --site=ID [flags] FILE

Imports a CSV (columns in the README) or HSDS 3.0 JSON file (by extension, else by content) into
a site over gRPC, showing a progress bar on a terminal, then prints the per-row report: created,
updated or skipped, and why. Importing is idempotent by external id: running a file again
updates changed rows and skips the rest. Large files are sent in parts that fit the servers'
request limit; the report numbers rows as in the file.

The key comes from BEACON_API_KEY (or --key, which other users can see in the process list);
never put it in the address. Exit status: 0 when every row was imported or unchanged, 3 when
some rows were refused (see the report), 1 when the import could not run, 2 for bad usage.

Flags:
`

// importConfig is what `beacon import resources` takes.
type importConfig struct {
	site, addr, key, source, file string
	validateOnly                  bool
	maxPartBytes                  int
	timeout                       time.Duration
}

// runImport runs `beacon import <what> ...` and returns the exit code.
func runImport(ctx context.Context, args []string, env func(string) string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "resources" {
		fmt.Fprint(stderr, importUsage)
		fmt.Fprintln(stderr, "  (the only thing to import is resources)")
		return 2
	}
	cfg, err := parseImportFlags(args[1:], env, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "beacon import resources: %v\n", err)
		return 2
	}
	data, err := os.ReadFile(cfg.file)
	if err != nil {
		fmt.Fprintf(stderr, "beacon import resources: %v\n", err)
		return 1
	}
	conn, err := grpc.NewClient(cfg.addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		fmt.Fprintf(stderr, "beacon import resources: %v\n", err)
		return 1
	}
	defer conn.Close()
	if cfg.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, cfg.timeout)
		defer cancel()
	}
	ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+cfg.key)

	opts := importfile.Options{Site: cfg.site, Source: cfg.source, ValidateOnly: cfg.validateOnly, MaxPartBytes: cfg.maxPartBytes}
	var bar *progressbar.ProgressBar
	if f, ok := stderr.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		opts.Progress = func(done, total int) {
			if bar == nil {
				bar = progressbar.NewOptions(total, progressbar.OptionSetWriter(stderr), progressbar.OptionSetDescription("importing"),
					progressbar.OptionShowCount(), progressbar.OptionSetItsString("rows"), progressbar.OptionShowIts(),
					progressbar.OptionThrottle(100*time.Millisecond), progressbar.OptionClearOnFinish())
			}
			_ = bar.Set(done)
		}
	}
	format := importfile.DetectFormat(cfg.file, data)
	rep, err := importfile.Run(ctx, resourcesv1.NewResourceServiceClient(conn), format, data, opts)
	if bar != nil {
		_ = bar.Finish()
	}
	printImportReport(stdout, rep, cfg.validateOnly)
	if err != nil {
		fmt.Fprintf(stderr, "beacon import resources: %s\n", describeRPCError(err))
		return 1
	}
	if rep.Refused() > 0 {
		return 3
	}
	return 0
}

func parseImportFlags(args []string, env func(string) string, stderr io.Writer) (importConfig, error) {
	cfg := importConfig{addr: "127.0.0.1:9090"}
	fs := flag.NewFlagSet("beacon import resources", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, importUsage)
		fs.PrintDefaults()
	}
	fs.StringVar(&cfg.site, "site", "", "id of the site the resources are for (required)")
	fs.StringVar(&cfg.addr, "resources-addr", env("BEACON_RESOURCES_ADDR"), "gRPC address of the resources service, host:port (env BEACON_RESOURCES_ADDR; default "+cfg.addr+", beacon dev's)")
	fs.StringVar(&cfg.key, "key", "", "API key (admin or editor covering the site); prefer the environment variable BEACON_API_KEY")
	fs.StringVar(&cfg.source, "source", "", `external-id source of rows that name none (default "csv" or "hsds")`)
	fs.BoolVar(&cfg.validateOnly, "validate-only", false, "check every row and report what would happen, changing nothing")
	fs.IntVar(&cfg.maxPartBytes, "part-bytes", importfile.DefaultMaxPartBytes, "largest part of the file sent in one call (the servers accept 1 MiB requests)")
	fs.DurationVar(&cfg.timeout, "timeout", 0, "give up after this long (0: no limit)")
	// Flags may come before or after FILE.
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	var files []string
	for rest := fs.Args(); len(rest) > 0; rest = fs.Args() {
		files = append(files, rest[0])
		if err := fs.Parse(rest[1:]); err != nil {
			return cfg, err
		}
	}
	if cfg.addr == "" {
		cfg.addr = "127.0.0.1:9090"
	}
	if cfg.key == "" {
		cfg.key = env("BEACON_API_KEY")
	}
	switch {
	case len(files) != 1:
		return cfg, fmt.Errorf("give exactly one FILE (got %d)", len(files))
	case !siteid.Valid(cfg.site):
		return cfg, fmt.Errorf("--site must be a site id (%s), got %q", siteid.Rule, cfg.site)
	case strings.Contains(cfg.addr, "@") || strings.Contains(cfg.addr, "://"):
		return cfg, fmt.Errorf("--resources-addr must be host:port; put the key in BEACON_API_KEY, never in the address")
	case cfg.key == "":
		return cfg, errors.New("no API key: set BEACON_API_KEY (or --key)")
	}
	cfg.file = files[0]
	return cfg, nil
}

// printImportReport writes one line per row, then the totals.
func printImportReport(w io.Writer, rep importfile.Report, validateOnly bool) {
	if len(rep.Rows) > 0 {
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ROW\tOUTCOME\tEXTERNAL ID\tRESOURCE\tREASON")
		for _, r := range rep.Rows {
			outcome := strings.ToLower(strings.TrimPrefix(r.GetOutcome().String(), "OUTCOME_"))
			reason := r.GetReason()
			if v := r.GetFieldViolations(); len(v) > 0 {
				reason += ": " + strings.Join(v, "; ")
			}
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\n", r.GetRow(), outcome, dash(r.GetExternalId()), dash(r.GetResource()), reason)
		}
		_ = tw.Flush()
	}
	what := "imported"
	if validateOnly {
		what = "checked (validate only: nothing changed)"
	}
	fmt.Fprintf(w, "%d of %d rows %s: %d created, %d updated, %d skipped (%d refused)\n",
		len(rep.Rows), rep.Total, what, rep.Created, rep.Updated, rep.Skipped, rep.Refused())
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// describeRPCError is a gRPC error's code and message, with the fields a BadRequest names.
func describeRPCError(err error) string {
	st, ok := status.FromError(err)
	if !ok {
		return err.Error()
	}
	msg := st.Code().String() + ": " + st.Message()
	for _, d := range st.Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, v := range br.GetFieldViolations() {
				msg += "\n  " + v.GetField() + ": " + v.GetDescription()
			}
		}
	}
	return msg
}
