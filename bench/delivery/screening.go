package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	mongooptions "go.mongodb.org/mongo-driver/v2/mongo/options"
)

// The screening section scores the shipped kratom self-check on the demo site of a fresh
// `beacon dev` through the REST edge, with a severe result (articles from content, resources and
// crisis lines from resources), against a ceiling answering the same response bytes to the
// same POST; then it counts the store writes of the counters; then it runs the same service
// without the resources service and measures the same score again.
const (
	screeningSite = "kratom-help"
	screeningSlug = "kratom-self-check"
	// The severe band of the kratom self-check starts at 6 signs.
	screeningYes = 7
)

var kratomSigns = []string{"more-than-meant", "cut-down", "time", "craving", "obligations", "relationships", "given-up", "risky-situations", "health", "tolerance", "withdrawal"}

// screeningBody is the POST body of a severe score.
func screeningBody() string {
	answers := []map[string]any{{"linkId": "used", "value": true}}
	for i, id := range kratomSigns {
		answers = append(answers, map[string]any{"linkId": id, "value": i < screeningYes})
	}
	raw, _ := json.Marshal(map[string]any{"version": 1, "answers": answers})
	return string(raw)
}

func scoreURL(base string) string {
	return base + "/v1/sites/" + screeningSite + "/screeners/" + screeningSlug + ":score"
}

// screeningRun is what the screening section measured.
type screeningRun struct {
	Ceiling, Score, Degraded *benchCase
	ResponseBytes            int
	Counted                  int64 // screenings the stats report (exact: far above 4)
	Sent                     int64 // scores the harness sent (pre-flight, warm-ups, measured runs)
	CounterWrites            int   // counter documents written, from the batch ids the documents keep
	CounterWritesCapped      bool  // the documents keep the last 32 batch ids: the count is a lower bound
	DegradedFloor            bool  // the degraded score carried the site's crisis-line text
	LoadAvg                  string
	Err                      string
}

// post sends body to rawURL as JSON.
func post(ctx context.Context, rawURL, body string, headers ...string) (response, error) {
	if err := checkLoopback(rawURL); err != nil {
		return response{}, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, rawURL, strings.NewReader(body))
	if err != nil {
		return response{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := client.Do(req)
	if err != nil {
		return response{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	return response{Status: resp.StatusCode, Header: resp.Header, Body: b}, err
}

// scoreResponse is the part of a score response the pre-flight checks.
type scoreResponse struct {
	Band struct {
		Code string `json:"code"`
	} `json:"band"`
	Articles struct {
		Unavailable bool              `json:"unavailable"`
		Articles    []json.RawMessage `json:"articles"`
	} `json:"articles"`
	Resources struct {
		Unavailable bool              `json:"unavailable"`
		Resources   []json.RawMessage `json:"resources"`
	} `json:"resources"`
	CrisisLines    []json.RawMessage `json:"crisisLines"`
	CrisisLineText string            `json:"crisisLineText"`
}

func checkScore(ctx context.Context, base string) (response, scoreResponse, error) {
	r, err := post(ctx, scoreURL(base), screeningBody())
	if err != nil {
		return r, scoreResponse{}, err
	}
	if r.Status != http.StatusOK || r.Header.Get("Cache-Control") != "no-store" {
		return r, scoreResponse{}, fmt.Errorf("score: status %d, Cache-Control %q: %.300s", r.Status, r.Header.Get("Cache-Control"), r.Body)
	}
	var s scoreResponse
	if err := json.Unmarshal(r.Body, &s); err != nil {
		return r, s, fmt.Errorf("score: %w: %.300s", err, r.Body)
	}
	return r, s, nil
}

// writeScoreScript writes the wrk Lua script that POSTs the severe score.
func writeScoreScript(dir string) (string, error) {
	body, _ := json.Marshal(screeningBody()) // a JSON string is a valid Lua string literal here
	script := "wrk.method = \"POST\"\nwrk.headers[\"Content-Type\"] = \"application/json\"\nwrk.body = " + string(body) + "\n"
	path := filepath.Join(dir, "score.lua")
	return path, os.WriteFile(path, []byte(script), 0o600)
}

func measureScreening(ctx context.Context, o options, tmp string) (*screeningRun, error) {
	run := &screeningRun{}
	if la, err := os.ReadFile("/proc/loadavg"); err == nil {
		run.LoadAvg = strings.Join(strings.Fields(string(la))[:3], " ")
	}
	dir := filepath.Join(tmp, "screening")
	step("screening: starting beacon dev (demo site, shipped screeners)")
	beacon, err := startBeacon(ctx, o, dir, filepath.Join(tmp, "beacon-screening.log"), o.startTimeout, o.memoryLimit)
	defer beacon.stop()
	if err != nil {
		return nil, err
	}
	resp, score, err := checkScore(ctx, beacon.baseURL)
	if err != nil {
		return nil, err
	}
	run.Sent++
	if score.Band.Code != "many-signs" || score.Articles.Unavailable || len(score.Articles.Articles) == 0 ||
		score.Resources.Unavailable || len(score.Resources.Resources) == 0 || len(score.CrisisLines) == 0 {
		return nil, fmt.Errorf("score pre-flight: want the severe band with articles, resources and crisis lines: %.600s", resp.Body)
	}
	run.ResponseBytes = len(resp.Body)
	script, err := writeScoreScript(tmp)
	if err != nil {
		return nil, err
	}

	// The ceiling answers the same POST with the same bytes from memory.
	bodyPath := filepath.Join(tmp, "ceiling-score.json")
	if err := os.WriteFile(bodyPath, resp.Body, 0o600); err != nil {
		return nil, err
	}
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	ceiling, err := startServer(ctx, "ceiling", self, []string{"-ceiling-body", bodyPath}, "CEILING", filepath.Join(tmp, "ceiling-screening.log"), 30*time.Second)
	defer ceiling.stop()
	if err != nil {
		return nil, err
	}
	ceil := &benchCase{Name: "ceiling: net/http, same POST, same JSON from memory", URL: ceiling.baseURL + "/", Script: script, WantStatus: 200,
		BodyBytes: len(resp.Body), Target: "reference"}
	if err := load(ctx, o, ceil, ceiling); err != nil {
		return nil, err
	}
	ceiling.stop()
	run.Ceiling = ceil

	sc := &benchCase{Name: "POST :score, severe result with articles, resources and crisis lines", URL: scoreURL(beacon.baseURL), Script: script,
		WantStatus: 200, BodyBytes: len(resp.Body), Target: "≥ 5,000 req/s, p99 < 25 ms, 0 errors"}
	if err := load(ctx, o, sc, beacon); err != nil {
		return nil, err
	}
	sc.Ratio = sc.Result.ReqPerSec / ceil.Result.ReqPerSec
	sc.Pass = sc.Result.Errors() == 0 && sc.Result.ReqPerSec >= 5000 && sc.Result.P99 < 25*time.Millisecond
	run.Score = sc
	run.Sent += sc.Sent

	// The counters: what the stats count, and how many times the store was written.
	if err := screeningCounters(ctx, o, beacon, dir, run); err != nil {
		return nil, err
	}
	beacon.stop()

	// The same store without the resources service: the score's p99 while it is down.
	step("screening: starting sites, access, content, screening and the gateway without resources")
	degraded, err := startServer(ctx, "beacon without resources", o.beacon, []string{
		"serve", "--target=sites,access,content,screening,gateway", "--data-dir", dir, "--read-sides=content,screening",
		"--resources-addr", "127.0.0.1:1", "--page-token-secret", strings.Repeat("b", 32),
		"--http-addr", "127.0.0.1:0", "--grpc-addr", "127.0.0.1:0", "--log-level", "warn", "--memory-limit", o.memoryLimit,
	}, "REST", filepath.Join(tmp, "beacon-degraded.log"), o.startTimeout)
	defer degraded.stop()
	if err != nil {
		return nil, err
	}
	resp, score, err = checkScore(ctx, degraded.baseURL)
	if err != nil {
		return nil, err
	}
	if !score.Resources.Unavailable || score.CrisisLineText == "" {
		return nil, fmt.Errorf("degraded pre-flight: want resources unavailable and the crisis-line floor: %.600s", resp.Body)
	}
	run.DegradedFloor = score.CrisisLineText != ""
	dg := &benchCase{Name: "POST :score with the resources service down", URL: scoreURL(degraded.baseURL), Script: script,
		WantStatus: 200, BodyBytes: len(resp.Body), Target: "score and band within 500 ms (p99)"}
	if err := load(ctx, o, dg, degraded); err != nil {
		return nil, err
	}
	dg.Ratio = dg.Result.ReqPerSec / ceil.Result.ReqPerSec
	dg.Pass = dg.Result.Errors() == 0 && dg.Result.P99 < 500*time.Millisecond
	run.Degraded = dg
	return run, nil
}

// screeningCounters waits for a counter flush, then reads the stats total through the API and
// the counter document of the day from the store (its recent batch ids: one per write).
func screeningCounters(ctx context.Context, o options, beacon *server, dir string, run *screeningRun) error {
	key, err := os.ReadFile(filepath.Join(dir, "admin.key"))
	if err != nil {
		return err
	}
	auth := "Bearer " + strings.TrimSpace(string(key))
	lr, err := get(ctx, beacon.baseURL+"/v1/questionnaires?filter="+url.QueryEscape(`slug = "`+screeningSlug+`"`), "Authorization", auth)
	if err != nil || lr.Status != http.StatusOK {
		return fmt.Errorf("list questionnaires: %v %d %.300s", err, lr.Status, lr.Body)
	}
	var list struct {
		Questionnaires []struct {
			Name string `json:"name"`
		} `json:"questionnaires"`
	}
	if err := json.Unmarshal(lr.Body, &list); err != nil || len(list.Questionnaires) != 1 {
		return fmt.Errorf("list questionnaires: %v: %.300s", err, lr.Body)
	}
	name := list.Questionnaires[0].Name
	step("screening: waiting 6 s for a counter flush")
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(6 * time.Second):
	}
	sr, err := get(ctx, beacon.baseURL+"/v1/"+name+"/stats", "Authorization", auth)
	if err != nil || sr.Status != http.StatusOK {
		return fmt.Errorf("stats: %v %d %.300s", err, sr.Status, sr.Body)
	}
	var stats struct {
		Total struct {
			Min json.Number `json:"min"`
		} `json:"total"`
	}
	if err := json.Unmarshal(sr.Body, &stats); err != nil {
		return fmt.Errorf("stats: %w: %.300s", err, sr.Body)
	}
	run.Counted, _ = stats.Total.Min.Int64()

	uri := "mongodb://" + url.QueryEscape(filepath.Join(dir, "store", "mongodb.sock")) + "/"
	if abs, err := filepath.Abs(filepath.Join(dir, "store", "mongodb.sock")); err == nil {
		uri = "mongodb://" + url.QueryEscape(abs) + "/"
	}
	mc, err := mongo.Connect(mongooptions.Client().ApplyURI(uri))
	if err != nil {
		return err
	}
	defer func() { _ = mc.Disconnect(context.Background()) }()
	id := strings.TrimPrefix(name, "questionnaires/") + "/" + time.Now().UTC().Format("2006-01-02")
	var doc struct {
		RecentBatches []string `bson:"recentBatches"`
	}
	readCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := mc.Database("beacon_screening").Collection("screening_counters").FindOne(readCtx, bson.D{{Key: "_id", Value: id}}).Decode(&doc); err != nil {
		if errors.Is(err, mongo.ErrNoDocuments) {
			return fmt.Errorf("no counter document %s after the run", id)
		}
		return fmt.Errorf("reading counter document %s: %w", id, err)
	}
	run.CounterWrites = len(doc.RecentBatches)
	run.CounterWritesCapped = run.CounterWrites >= 32
	return nil
}

// Markers around the screening section in the report file (see managementSection).
const (
	screeningBegin = "<!-- screening:begin -->"
	screeningEnd   = "<!-- screening:end -->"
)

func screeningMarkdown(r *screeningRun, o options) string {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	p("## Screening: `POST /v1/sites/%s/screeners/%s:score` through the REST edge\n\n", screeningSite, screeningSlug)
	p("A fresh `beacon dev` (demo site, demo articles and directory, the shipped screeners published). Every request\n")
	p("scores the same %d answers of the kratom self-check to the severe band, which recommends articles (from\n", 1+len(kratomSigns))
	p("the content service over gRPC), resources and crisis lines (from the resources service over gRPC; in `dev`\n")
	p("they are dialled on the process's own gRPC port with the screening service's key, and what does not depend\n")
	p("on the reader is kept for 10 s). wrk POSTs it with a Lua script (`wrk.method`, `wrk.body`), %d connections;\n", o.connections)
	p("the ceiling is a minimal net/http server answering the same POST with the same %s-byte response from memory,\n", fmtInt(r.ResponseBytes))
	p("measured in the same run just before. The server's CPU time per request (its share of the %d cores over\n", runtime.NumCPU())
	p("the run, per request served) does not grow when other processes share the cores; latency does.\n\n")
	if r.LoadAvg != "" {
		p("Load average when the section started: %s (2 cores shared with other work: figures vary from run to run).\n\n", r.LoadAvg)
	}
	p("| case | req/s | × ceiling | p50 | p99 | errors | body | server RSS | server CPU per request | CPU other | target | result |\n")
	p("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |\n")
	for _, c := range []*benchCase{r.Ceiling, r.Score, r.Degraded} {
		if c == nil {
			continue
		}
		ratio, result := "1.00", "—"
		if c != r.Ceiling {
			ratio = fmt.Sprintf("%.2f", c.Ratio)
			result = "pass"
			if !c.Pass {
				result = "**miss**"
			}
		}
		perRequest := "—"
		if c.Result.ReqPerSec > 0 {
			perRequest = fmtDur(time.Duration(c.CPU.Server / 100 * float64(runtime.NumCPU()) / c.Result.ReqPerSec * float64(time.Second)))
		}
		p("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %.0f %% | %s | %s |\n", c.Name, fmtRate(c.Result.ReqPerSec), ratio,
			fmtDur(c.Result.P50), fmtDur(c.Result.P99), fmtErrors(c.Result), fmtBytes(int64(c.BodyBytes)), fmtBytes(c.RSS), perRequest, c.CPU.Other, c.Target, result)
	}
	p("\n**Counters.** wrk completed %s scores (pre-flight, warm-up and measured runs, retries included); the stats\n",
		fmtInt(int(r.Sent)))
	p("endpoint counts %s (a few more: wrk counts only the responses it read before each run stopped, the server\n", fmtInt(int(r.Counted)))
	p("also scored the requests still in flight).\n")
	capped := ""
	if r.CounterWritesCapped {
		capped = " (at least: the document keeps the last 32 batch ids)"
	}
	p("The store received **%d** writes of counters for them%s: one replace by `_id` of the questionnaire's day\n", r.CounterWrites, capped)
	p("document per flush (every 5 s and at shutdown), never one per submission.\n\n")
	p("**Degraded mode.** The same store served by `beacon serve --target=sites,access,content,screening,gateway`\n")
	p("with `--resources-addr` on a port nothing listens on (resources stopped: every call is refused at once). The\n")
	p("score and band come back with the resources marked unavailable; the crisis lines come from screening's cached\n")
	p("copy, which after this cold start is empty, so the site's crisis-line text is the floor")
	if r.DegradedFloor {
		p(" (present in every response checked)")
	}
	p(". A resources\nservice that hangs instead of refusing costs the recommendation budget (250 ms) per score; the domain test\n")
	p("`TestDeliveryDegradedMode` covers that case.\n")
	return b.String()
}

// sectionBetween returns what stands between begin and end in doc, if both are there.
func sectionBetween(doc, begin, end string) (string, bool) {
	i := strings.Index(doc, begin)
	j := strings.Index(doc, end)
	if i < 0 || j < i {
		return "", false
	}
	return strings.TrimLeft(doc[i+len(begin):j], "\n"), true
}

// withSection returns doc with the section between begin and end replaced by section (or
// appended when doc has none).
func withSection(doc, begin, end, section string) string {
	block := begin + "\n" + section + end + "\n"
	i := strings.Index(doc, begin)
	j := strings.Index(doc, end)
	if i < 0 || j < i {
		if doc != "" && !strings.HasSuffix(doc, "\n\n") {
			doc = strings.TrimRight(doc, "\n") + "\n\n"
		}
		return doc + block
	}
	return doc[:i] + block + strings.TrimLeft(doc[j+len(end):], "\n")
}
