package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// The resources section (issue #8): 20,000 resources spread over a country, imported with
// `beacon import resources` (10,000 CSV rows per file) on the embedded store, then the delivery
// request near + radiusKm=50 + kind through the REST edge at 64 connections, against a same-run
// ceiling serving the same bytes, with the server's RSS.

// Issue #8's targets.
const (
	resReqTarget    = 10000 // req/s
	resP99Target    = 15 * time.Millisecond
	resRSSTarget    = 150 << 20
	resImportTarget = 60 * time.Second
)

const (
	resSite      = "resbench"
	resFiles     = 2
	resRadiusKm  = 50
	resKind      = "support_group"
	resRemoteOne = 100 // one resource in resRemoteOne is virtual (no coordinates)
)

// resCities are population centres of the contiguous United States; most generated resources
// lie around one of them, the rest anywhere in the country's bounding box.
var resCities = []struct {
	name     string
	lat, lng float64
	weight   int
}{
	{"New York", 40.7128, -74.0060, 19}, {"Los Angeles", 34.0522, -118.2437, 13}, {"Chicago", 41.8781, -87.6298, 9},
	{"Dallas", 32.7767, -96.7970, 8}, {"Houston", 29.7604, -95.3698, 7}, {"Washington", 38.9072, -77.0369, 6},
	{"Philadelphia", 39.9526, -75.1652, 6}, {"Miami", 25.7617, -80.1918, 6}, {"Atlanta", 33.7490, -84.3880, 6},
	{"Boston", 42.3601, -71.0589, 5}, {"Phoenix", 33.4484, -112.0740, 5}, {"San Francisco", 37.7749, -122.4194, 5},
	{"Seattle", 47.6062, -122.3321, 4}, {"Minneapolis", 44.9778, -93.2650, 4}, {"Denver", 39.7392, -104.9903, 3},
	{"Austin", 30.2672, -97.7431, 3}, {"St. Louis", 38.6270, -90.1994, 3}, {"Nashville", 36.1627, -86.7816, 2},
	{"Kansas City", 39.0997, -94.5786, 2}, {"Salt Lake City", 40.7608, -111.8910, 1},
}

// resKinds are the CSV kinds, cycled through.
var resKinds = []string{"SUPPORT_GROUP", "TREATMENT_PROVIDER", "PEER_SUPPORT", "CRISIS_LINE", "TEXT_LINE", "CHAT", "ONLINE_COMMUNITY", "APP_OR_TOOL", "OTHER"}

type resRun struct {
	Resources    int
	Imports      []resImport
	Ceiling      *benchCase
	Near         *benchCase
	NearURL      string
	Local        int // items in the measured response's local list
	Remote       int // ... and in its remote list
	RSSLoaded    int64
	RSSAfterLoad int64
	PeakRSS      int64
	Ready        time.Duration
	Err          string
}

type resImport struct {
	Rows    int
	Bytes   int
	Took    time.Duration
	Created int
	Output  string // the command's last line
}

// generateResourcesCSV writes rows resources, from number first on, to path: deterministic
// (seeded), every row a valid listing labelled example data.
func generateResourcesCSV(path string, first, rows int) (int, error) {
	csv := resourcesCSV(first, rows)
	return len(csv), os.WriteFile(path, []byte(csv), 0o600)
}

// resourcesCSV is the CSV text of rows resources, from number first on: deterministic (seeded),
// every row a valid listing labelled example data.
func resourcesCSV(first, rows int) string {
	rng := rand.New(rand.NewPCG(8, uint64(first)))
	totalWeight := 0
	for _, c := range resCities {
		totalWeight += c.weight
	}
	var b strings.Builder
	b.WriteString("external_id,name,organization,kind,phones,hours,time_zone,latitude,longitude,city,country,virtual_url,languages,costs,taxonomy,description,last_verified\n")
	for i := first; i < first+rows; i++ {
		kind := resKinds[i%len(resKinds)]
		lat, lng, city := 0.0, 0.0, ""
		if rng.IntN(10) < 7 { // around a city: normal spread, σ ≈ 25 km
			w := rng.IntN(totalWeight)
			for _, c := range resCities {
				if w -= c.weight; w < 0 {
					lat = c.lat + rng.NormFloat64()*0.22
					lng = c.lng + rng.NormFloat64()*0.22/math.Cos(c.lat*math.Pi/180)
					city = c.name
					break
				}
			}
		} else { // anywhere in the contiguous US bounding box
			lat, lng, city = 25+rng.Float64()*24, -124+rng.Float64()*57, fmt.Sprintf("Example Town %d", i%997)
		}
		coords, virtual, country := fmt.Sprintf("%.5f,%.5f", lat, lng), "", "US"
		if i%resRemoteOne == 0 { // virtual: no physical location at all
			coords, virtual, city, country = ",", fmt.Sprintf("https://example.org/meet/%d", i), "", ""
		}
		hours := "MO-FR 09:00-17:00; SA 10:00-14:00"
		if i%4 == 0 {
			hours = "24/7"
		}
		fmt.Fprintf(&b, "bench-%d,Example %s %d (example data),Example Network %d (example data),%s,+1 202 555 %04d,%s,America/Chicago,%s,%s,%s,%s,en; es,FREE,kratom; recovery,Example listing %d for the benchmark.,2026-%02d-%02d\n",
			i, strings.ToLower(strings.ReplaceAll(kind, "_", " ")), i, i%500, kind, i%10000, hours, coords, city, country, virtual, i, 1+i%11, 1+i%28)
	}
	return b.String()
}

// freeLoopbackPort returns a loopback TCP port that was free a moment ago.
func freeLoopbackPort() (string, error) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer lis.Close()
	return lis.Addr().String(), nil
}

// measureResources runs the resources section. A beacon that fails is a result (Err); only an
// interrupted or broken run is an error.
func measureResources(ctx context.Context, o options, tmp string) (*resRun, error) {
	resPerFile := o.resourceRows
	run := &resRun{Resources: resPerFile * resFiles}
	dir := filepath.Join(tmp, "resources")
	grpcAddr, err := freeLoopbackPort()
	if err != nil {
		return nil, err
	}
	step("resources: starting beacon dev (gRPC %s)", grpcAddr)
	s, err := startServer(ctx, "beacon dev", o.beacon, []string{
		"dev", "--data-dir", dir, "--http-addr", "127.0.0.1:0", "--grpc-addr", grpcAddr, "--log-level", "warn",
		"--memory-limit", o.memoryLimit,
	}, "REST", filepath.Join(tmp, "beacon-resources.log"), o.startTimeout)
	defer s.stop()
	if err != nil {
		run.Err = err.Error()
		return run, nil
	}
	run.Ready = s.ready.Sub(s.started)
	keyBytes, err := os.ReadFile(filepath.Join(dir, "admin.key"))
	if err != nil {
		return nil, fmt.Errorf("reading the dev admin key: %w", err)
	}
	c := &mgmtClient{base: s.baseURL, key: strings.TrimSpace(string(keyBytes)), pid: s.cmd.Process.Pid}
	var site map[string]any
	if err := c.do(ctx, http.MethodPost, c.base+"/v1/sites?siteId="+resSite,
		map[string]any{"displayName": "Resources bench", "baseUrl": "https://resbench.example.org", "public": true}, &site); err != nil {
		return nil, fmt.Errorf("creating the site: %w", err)
	}
	if run.RSSLoaded, err = s.rss(); err != nil {
		return nil, err
	}

	for f := range resFiles {
		path := filepath.Join(tmp, fmt.Sprintf("resources-%d.csv", f+1))
		size, err := generateResourcesCSV(path, f*resPerFile+1, resPerFile)
		if err != nil {
			return nil, err
		}
		step("resources: importing %d rows (%s) with beacon import resources", resPerFile, fmtBytes(int64(size)))
		imp, err := runImportResources(ctx, o.beacon, grpcAddr, c.key, path, resPerFile, filepath.Join(tmp, fmt.Sprintf("import-%d.log", f+1)))
		if err != nil {
			run.Err = err.Error()
			return run, nil
		}
		imp.Bytes = size
		step("resources: imported in %s: %s", fmtDur(imp.Took), imp.Output)
		run.Imports = append(run.Imports, imp)
	}

	// The request: near the centre of the densest city, within 50 km, one kind.
	nearURL := fmt.Sprintf("%s/v1/sites/%s/resources?near=%.4f,%.4f&radiusKm=%d&kind=%s", s.baseURL, resSite,
		resCities[0].lat, resCities[0].lng, resRadiusKm, resKind)
	run.NearURL = nearURL
	r, err := expect(ctx, http.StatusOK, nearURL)
	if err != nil {
		return nil, err
	}
	var page struct {
		Resources []struct {
			DistanceKm float64 `json:"distanceKm"`
		} `json:"resources"`
		RemoteResources []json.RawMessage `json:"remoteResources"`
	}
	if err := json.Unmarshal(r.Body, &page); err != nil {
		return nil, fmt.Errorf("near list: %w: %.300s", err, r.Body)
	}
	run.Local, run.Remote = len(page.Resources), len(page.RemoteResources)
	if run.Local == 0 || page.Resources[run.Local-1].DistanceKm > resRadiusKm {
		return nil, fmt.Errorf("near list: %d local resources, last at %v km: %.300s", run.Local, page.Resources, r.Body)
	}
	etag := r.Header.Get("ETag")
	if etag == "" || strings.HasPrefix(etag, "W/") || !strings.HasPrefix(r.Header.Get("Cache-Control"), "public") {
		return nil, fmt.Errorf("near list: ETag %q, Cache-Control %q; want a strong ETag on a public site", etag, r.Header.Get("Cache-Control"))
	}
	if run.RSSAfterLoad, err = s.rss(); err != nil {
		return nil, err
	}

	// The ceiling: the same bytes from memory, measured in the same run.
	bodyPath := filepath.Join(tmp, "resources-ceiling-body.json")
	if err := os.WriteFile(bodyPath, r.Body, 0o600); err != nil {
		return nil, err
	}
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	ceiling, err := startServer(ctx, "ceiling", self, []string{"-ceiling-body", bodyPath}, "CEILING", filepath.Join(tmp, "resources-ceiling.log"), 30*time.Second)
	defer ceiling.stop()
	if err != nil {
		return nil, err
	}
	run.Ceiling = &benchCase{Name: "ceiling: net/http, same JSON from memory", URL: ceiling.baseURL + "/", WantStatus: 200, BodyBytes: len(r.Body), Target: "reference"}
	if err := load(ctx, o, run.Ceiling, ceiling); err != nil {
		return nil, err
	}
	ceiling.stop()

	run.Near = &benchCase{Name: fmt.Sprintf("near + radiusKm=%d + kind", resRadiusKm), URL: nearURL, WantStatus: 200, BodyBytes: len(r.Body),
		Target: fmt.Sprintf("≥ %s req/s, p99 < %s, 0 errors", fmtInt(resReqTarget), fmtDur(resP99Target))}
	if err := load(ctx, o, run.Near, s); err != nil {
		return nil, err
	}
	run.Near.Ratio = run.Near.Result.ReqPerSec / run.Ceiling.Result.ReqPerSec
	run.Near.Pass = run.Near.Result.Errors() == 0 && run.Near.Result.ReqPerSec >= resReqTarget && run.Near.Result.P99 < resP99Target
	if hwm, err := readStatusKB(s.cmd.Process.Pid, "VmHWM"); err == nil {
		run.PeakRSS = hwm
	}
	return run, nil
}

// runImportResources runs `beacon import resources` and times it.
func runImportResources(ctx context.Context, beacon, grpcAddr, key, path string, resPerFile int, logPath string) (resImport, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, beacon, "import", "resources", "--site="+resSite, "--resources-addr", grpcAddr, path)
	cmd.Env = append(childEnv(), "BEACON_API_KEY="+key)
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 30 * time.Second
	logFile, err := os.Create(logPath)
	if err != nil {
		return resImport{}, err
	}
	defer logFile.Close()
	cmd.Stdout, cmd.Stderr = logFile, logFile
	start := time.Now()
	runErr := cmd.Run()
	took := time.Since(start)
	last := strings.TrimSpace(logTail(logPath))
	if i := strings.LastIndex(last, "\n"); i >= 0 {
		last = last[i+1:]
	}
	var exit *exec.ExitError
	if runErr != nil && !(errors.As(runErr, &exit) && exit.ExitCode() == 3) {
		return resImport{}, fmt.Errorf("beacon import resources: %w%s", runErr, logTail(logPath))
	}
	imp := resImport{Rows: resPerFile, Took: took, Output: last}
	if _, rest, ok := strings.Cut(last, "imported: "); ok {
		imp.Created, _ = strconv.Atoi(strings.Fields(rest)[0])
	}
	if imp.Created != resPerFile {
		return imp, fmt.Errorf("beacon import resources created %d of %d rows: %s", imp.Created, resPerFile, last)
	}
	return imp, nil
}

const (
	resBegin = "<!-- resources:begin -->"
	resEnd   = "<!-- resources:end -->"
)

// resourcesMarkdown renders the resources section.
func resourcesMarkdown(run *resRun, o options, m machine, started time.Time) string {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	p("## Resources: %s resources spread over a country\n\n", fmtInt(run.Resources))
	p("- Command: `go run ./bench/delivery -beacon bin/beacon -only resources -write docs/benchmarks.md` (part of `make bench`)\n")
	p("- Date: %s; machine: %s cores, %s; load average before: %s; beacon revision %s\n", started.Format("2006-01-02 15:04 MST"),
		m.Cores, orUnknown(m.Model), orUnknown(m.LoadAvg), orUnknown(m.Revision))
	if run.Err != "" {
		p("\n**FAIL:** %s\n\n", strings.ReplaceAll(strings.TrimSpace(firstLine(run.Err)), "|", "\\|"))
	}
	p("- Data: generated example listings (deterministic): 70 %% around %d US cities (weighted by size, σ ≈ 25 km), "+
		"30 %% anywhere in the contiguous US; 1 in %d virtual; 9 kinds in turn. `beacon dev` on a fresh data directory "+
		"(embedded store), site %q public, imported with `beacon import resources` over gRPC in files of %s rows.\n\n",
		len(resCities), resRemoteOne, resSite, fmtInt(o.resourceRows))
	if len(run.Imports) > 0 {
		p("| import | rows | CSV size | time | rows/s | target | result |\n| --- | ---: | ---: | ---: | ---: | --- | --- |\n")
		for i, imp := range run.Imports {
			result := "**FAIL**"
			if imp.Took < resImportTarget {
				result = "pass"
			}
			p("| file %d (store holds %s before) | %s | %s | %s | %s | < %s | %s |\n", i+1, fmtInt(i*o.resourceRows), fmtInt(imp.Rows),
				fmtBytes(int64(imp.Bytes)), fmtDur(imp.Took), fmtInt(int(float64(imp.Rows)/imp.Took.Seconds())), fmtDur(resImportTarget), result)
		}
		p("\n")
	}
	if run.Near != nil {
		p("| case | req/s | × ceiling | p50 | p99 | errors | body | server RSS | server CPU per request | target | result |\n")
		p("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |\n")
		c := run.Ceiling
		p("| %s | %s | 1.00 | %s | %s | %s | %s | %s | %s | reference | — |\n", c.Name, fmtRate(c.Result.ReqPerSec), fmtDur(c.Result.P50),
			fmtDur(c.Result.P99), fmtErrors(c.Result), fmtBytes(int64(c.BodyBytes)), fmtBytes(c.RSS), cpuPerRequest(c))
		n := run.Near
		result := "**FAIL**"
		if n.Pass {
			result = "pass"
		}
		p("| %s | %s | %.2f | %s | %s | %s | %s | %s | %s | %s | %s |\n\n", n.Name, fmtRate(n.Result.ReqPerSec), n.Ratio, fmtDur(n.Result.P50),
			fmtDur(n.Result.P99), fmtErrors(n.Result), fmtBytes(int64(n.BodyBytes)), fmtBytes(n.RSS), cpuPerRequest(n), n.Target, result)
		p("- Request: `GET %s` → 200 (%d local resources on the first page, sorted by distance, and %d remote ones)\n", pathOf(run.NearURL), run.Local, run.Remote)
		p("- CPU during the measured runs (%% of all cores): ceiling server %.0f %%, wrk %.0f %%, other %.0f %%; beacon server %.0f %%, wrk %.0f %%, other %.0f %%. "+
			"The server's CPU time per request (its share of the %d cores over the run, per request served) grows little when other processes share the cores; latency does.\n",
			run.Ceiling.CPU.Server, run.Ceiling.CPU.Wrk, run.Ceiling.CPU.Other, n.CPU.Server, n.CPU.Wrk, n.CPU.Other, runtime.NumCPU())
		if n.CPU.Other > busyOther || run.Ceiling.CPU.Other > busyOther {
			p("- **The machine was shared:** other processes used more than %.0f %% of the CPU during a measured run even after %d retries; the absolute figures are low, the ratio to the ceiling is the comparable one.\n", busyOther, o.retries)
		}
	}
	rssResult := "**FAIL**"
	if run.RSSAfterLoad > 0 && run.RSSAfterLoad < resRSSTarget {
		rssResult = "pass"
	}
	p("- RSS (VmRSS of the beacon dev process, which also holds the embedded store, the content service and the demo): "+
		"%s before the import, %s with %s resources loaded (target < %s: %s), %s after the load run; peak (VmHWM) %s. "+
		"`beacon dev` printed its REST line %s after it was started.\n",
		fmtBytes(run.RSSLoaded), fmtBytes(run.RSSAfterLoad), fmtInt(run.Resources), fmtBytes(resRSSTarget), rssResult,
		fmtBytes(rssOf(run.Near)), fmtBytes(run.PeakRSS), fmtDur(run.Ready))
	p("- Method as for the delivery cases above: wrk `%s`, %s warm-up, the ceiling a minimal net/http server answering the exact bytes of the measured response.\n\n",
		strings.Join(wrkArgs(o.threads, o.connections, o.duration, nil, "URL"), " "), o.warmup)
	return b.String()
}

// cpuPerRequest is the server's CPU time per request served during c's measured run.
func cpuPerRequest(c *benchCase) string {
	if c.Result.ReqPerSec <= 0 {
		return "—"
	}
	return fmtDur(time.Duration(c.CPU.Server / 100 * float64(runtime.NumCPU()) / c.Result.ReqPerSec * float64(time.Second)))
}

func rssOf(c *benchCase) int64 {
	if c == nil {
		return 0
	}
	return c.RSS
}

// pass reports whether the run met every target.
func (r *resRun) pass() bool {
	ok := r.Err == "" && r.Near != nil && r.Near.Pass && r.RSSAfterLoad < resRSSTarget
	for _, imp := range r.Imports {
		ok = ok && imp.Took < resImportTarget
	}
	return ok
}
