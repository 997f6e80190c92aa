// Command delivery benchmarks Beacon's delivery REST path against a ceiling: a minimal net/http
// server answering an equally large JSON body from memory. It seeds a temporary embedded store,
// starts `beacon dev` on it, drives each case with wrk, reads the server's RSS, measures a cold
// start on a larger store, and prints a Markdown report (written to a file with -write).
//
// Everything it starts listens on loopback only, every load run stops by itself, and every
// process it starts is stopped before it exits. `make bench` runs it; see bench/README.md.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// busyOther is the share of CPU (% of all cores) used by other processes during a measured
// run above which the report flags the run.
const busyOther = 5.0

type options struct {
	beacon       string
	memoryLimit  string
	wrk          string
	site         string
	articles     int
	coldArticles int
	bodyBytes    int
	query        string
	threads      int
	connections  int
	duration     time.Duration
	warmup       time.Duration
	startTimeout time.Duration
	coldTimeout  time.Duration
	retries      int
	write        string
	strict       bool
	keep         bool
	only         string // "", "delivery", "management", "console", "screening" or "resources"
	mgmtSizes    []int
	mgmtReps     int
	resourceRows int // rows per resources import file (two files)
	// consoleResources resources are imported for the console's Resources and Directories
	// screens on each management run.
	consoleResources int
	// consoleQuestionnaire is the questionnaire (JSON, as the API takes it) created for the
	// console's Questionnaires screens.
	consoleQuestionnaire string
}

func main() {
	var o options
	var ceilingBody string
	flag.StringVar(&o.beacon, "beacon", "bin/beacon", "beacon binary to measure (make build)")
	flag.StringVar(&o.wrk, "wrk", "wrk", "wrk 4.1 binary")
	flag.StringVar(&o.site, "site", "bench", "site to seed and read")
	flag.IntVar(&o.articles, "articles", 1000, "published articles for the load cases")
	flag.IntVar(&o.coldArticles, "cold-articles", 10000, "published articles for the cold start (0 skips it)")
	flag.IntVar(&o.bodyBytes, "body-bytes", 6000, "Markdown size of each article")
	flag.StringVar(&o.query, "query", "kratom withdrawal", "two-word search query")
	flag.IntVar(&o.threads, "threads", 2, "wrk threads")
	flag.IntVar(&o.connections, "connections", 64, "wrk connections")
	flag.DurationVar(&o.duration, "duration", 15*time.Second, "measured run of each case")
	flag.DurationVar(&o.warmup, "warmup", 3*time.Second, "warm-up run before each measured run")
	flag.DurationVar(&o.startTimeout, "start-timeout", 5*time.Minute, "how long the load-case beacon may take to start")
	flag.DurationVar(&o.coldTimeout, "cold-timeout", 15*time.Minute, "how long the cold-start beacon may take to answer")
	flag.IntVar(&o.retries, "retries", 2, "measure a case again up to this many times while other processes use the CPU")
	flag.StringVar(&o.memoryLimit, "memory-limit", "280MiB", "beacon --memory-limit (Go soft memory limit once loaded); empty for none")
	flag.StringVar(&o.write, "write", "", "also write the report to this file (e.g. docs/benchmarks.md)")
	flag.BoolVar(&o.strict, "strict", false, "exit 1 when a target is missed (by default only a broken run fails)")
	flag.BoolVar(&o.keep, "keep", false, "keep the temporary data directories and logs")
	flag.StringVar(&o.only, "only", "", `run only one section: "delivery", "management", "screening" or "resources" (with -write, the other sections of the file are kept); or "console": only the console screens of the management section, printed, never written`)
	mgmtSizes := flag.String("management-sizes", "100,10000", "library sizes (articles) of the management section, comma-separated; empty skips it")
	flag.IntVar(&o.mgmtReps, "management-reps", 100, "calls per management case (a p99 needs 100)")
	flag.IntVar(&o.resourceRows, "resource-rows", 10000, "rows per resources import file; the resources section imports two")
	flag.StringVar(&o.consoleQuestionnaire, "console-questionnaire", "services/screening/internal/instruments/data/kratom-self-check.json",
		"questionnaire (API JSON) created on each management run for the console's Questionnaires screens")
	flag.IntVar(&o.consoleResources, "console-resources", 3000, "resources imported for the console's Resources and Directories screens on each management run")
	flag.StringVar(&ceilingBody, "ceiling-body", "", "internal: run as the ceiling server, serving this file")
	flag.Parse()
	for f := range strings.SplitSeq(*mgmtSizes, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		n, err := strconv.Atoi(f)
		if err != nil || n < 0 {
			fmt.Fprintf(os.Stderr, "bench: bad -management-sizes %q\n", *mgmtSizes)
			os.Exit(2)
		}
		o.mgmtSizes = append(o.mgmtSizes, n)
	}
	if ceilingBody != "" {
		os.Exit(runCeiling(ceilingBody))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, o))
}

func run(ctx context.Context, o options) int {
	if err := o.check(); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		return 2
	}
	tmp, err := os.MkdirTemp("", "beacon-bench-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		return 1
	}
	if o.keep {
		fmt.Fprintln(os.Stderr, "bench: keeping", tmp)
	} else {
		defer os.RemoveAll(tmp)
	}
	var md string
	rep := &report{}
	var old string // the report file as it was, whose sections a partial run keeps
	if o.write != "" {
		b, err := os.ReadFile(o.write)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			fmt.Fprintln(os.Stderr, "bench:", err)
			return 1
		}
		old = string(b)
	}
	if o.only == "" || o.only == "delivery" {
		if rep, err = measure(ctx, o, tmp); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			return 1
		}
		md = rep.markdown()
	} else {
		md = old
	}
	if o.only == "console" {
		return runConsoleOnly(ctx, o, tmp)
	}
	if (o.only == "" || o.only == "management") && len(o.mgmtSizes) > 0 {
		var runs []*mgmtRun
		for _, n := range o.mgmtSizes {
			r, err := measureManagement(ctx, o, tmp, n)
			if err != nil {
				fmt.Fprintln(os.Stderr, "bench:", err)
				return 1
			}
			runs = append(runs, r)
		}
		md = withManagementSection(md, managementMarkdown(runs, o))
	} else if o.only == "delivery" {
		// Keep the management section the file already has (-only delivery replaces the rest).
		if section, ok := managementSection(old); ok {
			md = withManagementSection(md, section)
		}
	}
	screeningOK := true
	if o.only == "" || o.only == "screening" {
		run, err := measureScreening(ctx, o, tmp)
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			return 1
		}
		screeningOK = run.Score.Pass && run.Degraded.Pass
		md = withSection(md, screeningBegin, screeningEnd, screeningMarkdown(run, o))
	} else if section, ok := sectionBetween(old, screeningBegin, screeningEnd); ok {
		md = withSection(md, screeningBegin, screeningEnd, section)
	}
	resourcesOK := true
	if o.only == "" || o.only == "resources" {
		started := time.Now().UTC()
		r, err := measureResources(ctx, o, tmp)
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			return 1
		}
		resourcesOK = r.pass()
		md = withSection(md, resBegin, resEnd, resourcesMarkdown(r, o, readMachine(o.beacon, o.wrk), started))
	} else if section, ok := sectionBetween(old, resBegin, resEnd); ok {
		md = withSection(md, resBegin, resEnd, section)
	}
	fmt.Print(md)
	if o.write != "" {
		if err := os.WriteFile(o.write, []byte(md), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			return 1
		}
		fmt.Fprintln(os.Stderr, "bench: wrote", o.write)
	}
	if o.strict && ((o.only == "" || o.only == "delivery") && !rep.allPass() || !screeningOK || !resourcesOK) {
		fmt.Fprintln(os.Stderr, "bench: a target was missed")
		return 1
	}
	return 0
}

func (o *options) check() error {
	if o.only != "" && o.only != "delivery" && o.only != "management" && o.only != "console" && o.only != "screening" && o.only != "resources" {
		return errors.New(`-only must be "delivery", "management", "console", "screening" or "resources"`)
	}
	if o.only == "console" && (o.write != "" || len(o.mgmtSizes) == 0) {
		return errors.New("-only console prints the console's table (it is part of the management section, so it is never written) and needs -management-sizes")
	}
	if o.consoleResources < consoleDirectoryEntries+consoleDirectories {
		return fmt.Errorf("-console-resources must be at least %d", consoleDirectoryEntries+consoleDirectories)
	}
	if o.resourceRows < 100 {
		return errors.New("-resource-rows must be at least 100")
	}
	if o.mgmtReps < 1 {
		return errors.New("-management-reps must be at least 1")
	}
	if o.articles < 20 {
		return errors.New("-articles must be at least 20 (one page of cards)")
	}
	if o.coldArticles < 0 || o.bodyBytes <= 0 || o.threads <= 0 || o.connections < o.threads || o.retries < 0 {
		return errors.New("bad -cold-articles, -body-bytes, -threads, -connections or -retries")
	}
	if o.duration < time.Second || o.warmup < 0 || o.startTimeout <= 0 || o.coldTimeout <= 0 {
		return errors.New("-duration must be at least 1s, -warmup not negative, the timeouts positive")
	}
	if len(strings.Fields(o.query)) == 0 {
		return errors.New("-query is empty")
	}
	abs, err := filepath.Abs(o.beacon)
	if err != nil {
		return err
	}
	if st, err := os.Stat(abs); err != nil || st.IsDir() {
		return fmt.Errorf("no beacon binary at %s: run `make build` or pass -beacon", o.beacon)
	}
	o.beacon = abs
	if o.only == "console" {
		return nil // no load runs: wrk is not needed
	}
	wrk, err := exec.LookPath(o.wrk)
	if err != nil {
		return fmt.Errorf("wrk not found (%v): `make bench` installs it (apt-get install wrk)", err)
	}
	o.wrk = wrk
	return nil
}

// benchCase is one load case: a URL driven by wrk.
type benchCase struct {
	Name       string
	URL        string
	Headers    []string // wrk -H values
	Script     string   // wrk -s Lua script (e.g. a POST with a body); the pre-flight POSTs its body then
	WantStatus int
	BodyBytes  int // size of the pre-flight response body
	Target     string
	pass       func(c *benchCase, ceiling float64) bool

	Result   wrkResult
	CPU      cpuShare
	Attempts int   // measured runs; more than one when other processes were busy
	Sent     int64 // requests completed by every run of the case (warm-ups and retries included) and its status check
	RSS      int64
	Ratio    float64 // req/s over the ceiling's
	Pass     bool
	Args     []string // wrk arguments of the measured run (its URL is on a random port)
}

func measure(ctx context.Context, o options, tmp string) (*report, error) {
	rep := &report{opts: o, started: time.Now().UTC(), machine: readMachine(o.beacon, o.wrk)}

	// Seed and start the load-case beacon.
	warmDir := filepath.Join(tmp, "warm")
	step("seeding %d articles", o.articles)
	seedTime, err := runSeed(ctx, o.beacon, warmDir, o.site, o.articles, o.bodyBytes, filepath.Join(tmp, "seed-warm.log"))
	if err != nil {
		return nil, err
	}
	rep.warmSeed = seedTime
	step("starting beacon dev")
	beacon, err := startBeacon(ctx, o, warmDir, filepath.Join(tmp, "beacon-warm.log"), o.startTimeout, o.memoryLimit)
	defer beacon.stop()
	if err != nil {
		return nil, err
	}
	rep.warmStart = beacon.ready.Sub(beacon.started)

	// Pre-flight: every case must answer what it should before it is measured.
	step("pre-flight against %s", beacon.baseURL)
	cases, articleBody, slug, err := preflight(ctx, o, beacon.baseURL)
	if err != nil {
		return nil, err
	}
	rep.slug = slug

	// The ceiling: a separate process serving the real article's bytes.
	bodyPath := filepath.Join(tmp, "ceiling-body.json")
	if err := os.WriteFile(bodyPath, articleBody, 0o600); err != nil {
		return nil, err
	}
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	step("starting the ceiling (%d-byte body)", len(articleBody))
	ceiling, err := startServer(ctx, "ceiling", self, []string{"-ceiling-body", bodyPath}, "CEILING", filepath.Join(tmp, "ceiling.log"), 30*time.Second)
	defer ceiling.stop()
	if err != nil {
		return nil, err
	}
	cr, err := expect(ctx, http.StatusOK, ceiling.baseURL+"/")
	if err != nil {
		return nil, err
	}
	if string(cr.Body) != string(articleBody) {
		return nil, errors.New("the ceiling does not serve the article's bytes")
	}
	ceil := &benchCase{Name: "ceiling: net/http, same JSON from memory", URL: ceiling.baseURL + "/", WantStatus: 200, BodyBytes: len(cr.Body), Target: "reference"}
	if err := load(ctx, o, ceil, ceiling); err != nil {
		return nil, err
	}
	ceiling.stop() // idle from here on; it shares the cores otherwise
	rep.ceiling = ceil

	for _, c := range cases {
		if err := load(ctx, o, c, beacon); err != nil {
			return nil, err
		}
		c.Ratio = c.Result.ReqPerSec / ceil.Result.ReqPerSec
		c.Pass = c.Result.Errors() == 0 && c.pass(c, ceil.Result.ReqPerSec)
	}
	rep.cases = cases
	if hwm, err := readStatusKB(beacon.cmd.Process.Pid, "VmHWM"); err == nil {
		rep.warmPeakRSS = hwm
	}
	beacon.stop()

	if o.coldArticles > 0 {
		cs, err := coldStart(ctx, o, tmp, slug)
		if err != nil {
			return nil, err
		}
		rep.cold = cs
	}
	rep.finished = time.Now().UTC()
	return rep, nil
}

// startBeacon starts beacon dev on dir with Go's soft memory limit set to memoryLimit once loaded
// ("" for none).
func startBeacon(ctx context.Context, o options, dir, logPath string, timeout time.Duration, memoryLimit string, extraArgs ...string) (*server, error) {
	return startServer(ctx, "beacon dev", o.beacon, append([]string{
		"dev", "--data-dir", dir, "--http-addr", "127.0.0.1:0", "--grpc-addr", "127.0.0.1:0", "--log-level", "warn",
		"--memory-limit", memoryLimit,
	}, extraArgs...), "REST", logPath, timeout)
}

// preflight checks every delivery route once and builds the load cases.
func preflight(ctx context.Context, o options, base string) (cases []*benchCase, articleBody []byte, slug string, err error) {
	lr, err := expect(ctx, http.StatusOK, listURL(base, o.site, 20, ""))
	if err != nil {
		return nil, nil, "", fmt.Errorf("list (are the delivery routes there?): %w", err)
	}
	var page listPage
	if err := json.Unmarshal(lr.Body, &page); err != nil {
		return nil, nil, "", fmt.Errorf("list: %w: %.300s", err, lr.Body)
	}
	if len(page.Articles) != 20 || page.Articles[0].Slug == "" {
		return nil, nil, "", fmt.Errorf("list: %d cards (want 20) or no slug: %.300s", len(page.Articles), lr.Body)
	}
	slug = page.Articles[len(page.Articles)/2].Slug

	aURL := articleURL(base, o.site, slug)
	ar, err := expect(ctx, http.StatusOK, aURL)
	if err != nil {
		return nil, nil, "", err
	}
	etag := ar.Header.Get("ETag")
	if etag == "" || strings.HasPrefix(etag, "W/") {
		return nil, nil, "", fmt.Errorf("article: ETag %q, want a strong ETag", etag)
	}
	if ct := ar.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		return nil, nil, "", fmt.Errorf("article: Content-Type %q", ct)
	}
	if _, err := expect(ctx, http.StatusNotModified, aURL, "If-None-Match", etag); err != nil {
		return nil, nil, "", fmt.Errorf("conditional GET: %w", err)
	}

	sURL := searchURL(base, o.site, o.query)
	sr, err := expect(ctx, http.StatusOK, sURL)
	if err != nil {
		return nil, nil, "", err
	}
	var sp searchPage
	if err := json.Unmarshal(sr.Body, &sp); err != nil {
		return nil, nil, "", fmt.Errorf("search: %w: %.300s", err, sr.Body)
	}
	if len(sp.Results) == 0 {
		return nil, nil, "", fmt.Errorf("search %q found nothing; pass a -query that matches: %.300s", o.query, sr.Body)
	}

	ratio := func(min float64) func(*benchCase, float64) bool {
		return func(c *benchCase, ceiling float64) bool { return c.Result.ReqPerSec >= min*ceiling }
	}
	cases = []*benchCase{
		{Name: "article by slug", URL: aURL, WantStatus: 200, BodyBytes: len(ar.Body),
			Target: "≥ 0.8× ceiling, p99 < 20 ms, 0 errors",
			pass: func(c *benchCase, ceiling float64) bool {
				return ratio(0.8)(c, ceiling) && c.Result.P99 < 20*time.Millisecond
			}},
		{Name: "list (page of 20 cards)", URL: listURL(base, o.site, 20, ""), WantStatus: 200, BodyBytes: len(lr.Body),
			Target: "≥ 0.5× ceiling", pass: ratio(0.5)},
		{Name: "article, If-None-Match → 304", URL: aURL, Headers: []string{"If-None-Match: " + etag}, WantStatus: 304,
			Target: "≥ 0.8× ceiling", pass: ratio(0.8)},
		{Name: fmt.Sprintf("search %q", o.query), URL: sURL, WantStatus: 200, BodyBytes: len(sr.Body),
			Target: "≥ 2,000 req/s", pass: func(c *benchCase, _ float64) bool { return c.Result.ReqPerSec >= 2000 }},
	}
	return cases, ar.Body, slug, nil
}

// load runs the warm-up and the measured wrk run of c against s, then reads s's RSS. A run
// during which other processes used more than busyOther of the CPU is run again, up to
// o.retries times, 10 s later; the run with the least such CPU is kept.
func load(ctx context.Context, o options, c *benchCase, s *server) error {
	// The status is checked once more right before the load, since wrk cannot tell 200 from 304.
	var hdr []string
	for _, h := range c.Headers {
		k, v, _ := strings.Cut(h, ":")
		hdr = append(hdr, strings.TrimSpace(k), strings.TrimSpace(v))
	}
	if c.Script != "" {
		if r, err := post(ctx, c.URL, screeningBody(), hdr...); err != nil || r.Status != c.WantStatus {
			return fmt.Errorf("%s: POST %s: %v, status %d, want %d", c.Name, c.URL, err, r.Status, c.WantStatus)
		}
	} else if _, err := expect(ctx, c.WantStatus, c.URL, hdr...); err != nil {
		return fmt.Errorf("%s: %w", c.Name, err)
	}
	c.Sent++
	c.Args = c.wrkArgs(o, o.duration)
	for attempt := 1; ; attempt++ {
		res, cpu, rss, err := loadOnce(ctx, o, c, s)
		if err != nil {
			return fmt.Errorf("%s: %w", c.Name, err)
		}
		step("%s: %.0f req/s, p50 %s, p99 %s, %d errors, RSS %s; CPU server %.0f%%, wrk %.0f%%, other %.0f%%",
			c.Name, res.ReqPerSec, fmtDur(res.P50), fmtDur(res.P99), res.Errors(), fmtBytes(rss), cpu.Server, cpu.Wrk, cpu.Other)
		if attempt == 1 || cpu.Other < c.CPU.Other {
			c.Result, c.CPU, c.RSS = res, cpu, rss
		}
		c.Attempts = attempt
		if c.CPU.Other <= busyOther {
			return nil
		}
		if attempt > o.retries {
			step("WARNING: other processes used %.0f%% of the CPU during %s: the figures are not representative", c.CPU.Other, c.Name)
			return nil
		}
		step("%s: other processes used %.0f%% of the CPU; measuring again in 10 s", c.Name, cpu.Other)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(10 * time.Second):
		}
	}
}

func loadOnce(ctx context.Context, o options, c *benchCase, s *server) (wrkResult, cpuShare, int64, error) {
	if o.warmup > 0 {
		step("%s: warm-up %s", c.Name, o.warmup)
		warm, _, err := runWrk(ctx, o.wrk, c.wrkArgs(o, o.warmup), o.warmup)
		if err != nil {
			return wrkResult{}, cpuShare{}, 0, fmt.Errorf("warm-up: %w", err)
		}
		c.Sent += warm.Requests
	}
	step("%s: measuring %s", c.Name, o.duration)
	pid := s.cmd.Process.Pid
	before, err := sampleCPU(pid)
	if err != nil {
		return wrkResult{}, cpuShare{}, 0, err
	}
	res, wrkCPU, err := runWrk(ctx, o.wrk, c.Args, o.duration)
	if err != nil {
		return wrkResult{}, cpuShare{}, 0, err
	}
	c.Sent += res.Requests
	after, err := sampleCPU(pid)
	if err != nil {
		return wrkResult{}, cpuShare{}, 0, err
	}
	if err := s.alive(); err != nil {
		return wrkResult{}, cpuShare{}, 0, err
	}
	rss, err := s.rss()
	if err != nil {
		return wrkResult{}, cpuShare{}, 0, fmt.Errorf("RSS: %w", err)
	}
	return res, share(before, after, wrkCPU), rss, nil
}

// wrkArgs is the wrk command line of a run of c lasting d.
func (c *benchCase) wrkArgs(o options, d time.Duration) []string {
	args := wrkArgs(o.threads, o.connections, d, c.Headers, c.URL)
	if c.Script != "" {
		args = append(args[:len(args)-1], "-s", c.Script, c.URL)
	}
	return args
}

// coldStartResult is the cold start on a store of o.coldArticles articles. Err is set when
// the beacon did not get there (no answer in time, a wrong list); the figures up to that point
// are kept.
type coldStartResult struct {
	Articles    int
	Seed        time.Duration
	RESTLine    time.Duration // process start → "REST" line printed
	FirstOK     time.Duration // process start → first 200 on the known article
	Polls       int
	Before      map[int]int // statuses seen before the first 200 (0 = no answer)
	RSSReady    int64       // at the first 200, or when it gave up
	ListWalk    time.Duration
	ListCards   int
	ListPages   int
	RSSAfterAll int64
	// ReadAll is the time to GET every article of the list once (readAllWorkers at a time,
	// accepting gzip, as a crawler), RSSAfterReads the RSS then: the delivery read model's
	// rendered bodies are bounded by --delivery-body-cache.
	ReadAll       time.Duration
	RSSAfterReads int64
	// NoImageFirstOK is FirstOK of a second start after the first stopped and its start-up
	// images were removed, as after a crash: the services then read the store whole.
	NoImageFirstOK time.Duration
	Err            string
}

// readAllWorkers is how many requests the cold start's read of every article keeps in flight.
const readAllWorkers = 4

// coldStart returns an error only when the run itself breaks (seed fails, interrupted); a
// beacon that is too slow or answers wrongly is a result, in coldStartResult.Err.
func coldStart(ctx context.Context, o options, tmp, slug string) (*coldStartResult, error) {
	res := &coldStartResult{Articles: o.coldArticles, Before: map[int]int{}}
	dir := filepath.Join(tmp, "cold")
	step("cold start: seeding %d articles", o.coldArticles)
	d, err := runSeed(ctx, o.beacon, dir, o.site, o.coldArticles, o.bodyBytes, filepath.Join(tmp, "seed-cold.log"))
	if err != nil {
		return nil, err
	}
	res.Seed = d
	step("cold start: starting beacon dev (seeding took %s)", fmtDur(d))
	s, err := startBeacon(ctx, o, dir, filepath.Join(tmp, "beacon-cold.log"), o.coldTimeout, o.memoryLimit)
	defer s.stop()
	fail := func(err error) (*coldStartResult, error) {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if s != nil && s.alive() == nil && res.RSSReady == 0 {
			res.RSSReady, _ = s.rss()
		}
		res.Err = err.Error()
		step("cold start: %v", err)
		return res, nil
	}
	if err != nil {
		return fail(err)
	}
	res.RESTLine = s.ready.Sub(s.started)

	if res.FirstOK, err = firstOK(ctx, s, articleURL(s.baseURL, o.site, slug), o.coldTimeout, res); err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return fail(err)
	}
	if res.RSSReady, err = s.rss(); err != nil {
		return nil, err
	}
	step("cold start: article answered after %s, RSS %s; walking the list", fmtDur(res.FirstOK), fmtBytes(res.RSSReady))
	start := time.Now()
	slugs, pages, err := walkList(ctx, s.baseURL, o.site, o.coldArticles/100+50)
	res.ListCards, res.ListPages = len(slugs), pages
	if err != nil {
		return fail(fmt.Errorf("list: %w", err))
	}
	res.ListWalk = time.Since(start)
	if res.RSSAfterAll, err = s.rss(); err != nil {
		return nil, err
	}
	if res.ListCards != o.coldArticles {
		return fail(fmt.Errorf("the list has %d articles, want %d", res.ListCards, o.coldArticles))
	}
	step("cold start: list walked in %s, RSS %s; reading every article once", fmtDur(res.ListWalk), fmtBytes(res.RSSAfterAll))
	start = time.Now()
	if err := readEach(ctx, s.baseURL, o.site, slugs, readAllWorkers); err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return fail(fmt.Errorf("reading every article: %w", err))
	}
	res.ReadAll = time.Since(start)
	if res.RSSAfterReads, err = s.rss(); err != nil {
		return nil, err
	}
	step("cold start: every article read once in %s, RSS %s", fmtDur(res.ReadAll), fmtBytes(res.RSSAfterReads))
	// Again without the start-up images the first start's stop left: as after a crash.
	s.stop()
	if err := os.RemoveAll(filepath.Join(dir, "images")); err != nil {
		return nil, err
	}
	step("cold start: starting beacon dev again without start-up images")
	s, err = startBeacon(ctx, o, dir, filepath.Join(tmp, "beacon-cold-noimage.log"), o.coldTimeout, o.memoryLimit)
	if err != nil {
		return fail(err)
	}
	defer s.stop()
	if res.NoImageFirstOK, err = firstOK(ctx, s, articleURL(s.baseURL, o.site, slug), o.coldTimeout, &coldStartResult{Before: map[int]int{}}); err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return fail(err)
	}
	step("cold start without start-up images: article answered after %s", fmtDur(res.NoImageFirstOK))
	return res, nil
}

// firstOK polls u every 50 ms until it answers 200 and returns the time since s started;
// res counts the polls and the statuses seen before.
func firstOK(ctx context.Context, s *server, u string, timeout time.Duration, res *coldStartResult) (time.Duration, error) {
	deadline := s.started.Add(timeout)
	for {
		res.Polls++
		pollCtx, cancel := context.WithDeadline(ctx, deadline)
		r, err := get(pollCtx, u)
		cancel()
		if err == nil && r.Status == http.StatusOK {
			return time.Since(s.started), nil
		}
		res.Before[r.Status]++ // 0 when there was no answer
		if err := s.alive(); err != nil {
			return 0, err
		}
		if ctx.Err() != nil {
			return 0, ctx.Err()
		}
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("%s did not answer 200 within %s (statuses seen: %v)", u, timeout, res.Before)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func readStatusKB(pid int, field string) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			var kb int64
			if _, err := fmt.Sscanf(strings.TrimSpace(rest), "%d kB", &kb); err != nil {
				return 0, err
			}
			return kb << 10, nil
		}
	}
	return 0, fmt.Errorf("no %s", field)
}

func step(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench: "+format+"\n", args...)
}
