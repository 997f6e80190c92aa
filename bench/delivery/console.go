package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"time"
)

// The console measure, part of the management section: on the management run's beacon (its
// seeded library), one signed-in admin GETs each console screen o.mgmtReps times, one request
// at a time, and the server-side render time of each screen is reported: p50 and p95 of the
// whole request on loopback. Issue #11's target: < 50 ms p95 per screen at 10,000 articles.

// consoleP95Target is issue #11's target for a console screen at 10,000 articles.
const consoleP95Target = 50 * time.Millisecond

// consoleArticlesDepth is how many pages of 25 the deep Articles page is from the first.
const consoleArticlesDepth = 100

// consoleBenchUser is the admin user the measure creates over REST and signs in as.
const (
	consoleBenchEmail    = "bench-admin@beacon.test"
	consoleBenchPassword = "bench console password"
)

// consoleNoSuchPage is what the console answers (404) for a path it has no route for.
const consoleNoSuchPage = "There is no such page in the console."

// consoleScreen is one measured screen.
type consoleScreen struct {
	Name  string
	Stats *opStats
	// NotServed says why the screen was not measured (e.g. a screen this build does not have:
	// its route answers 404), instead of a figure.
	NotServed string
}

func (s *consoleScreen) pass() bool {
	return s.NotServed == "" && len(s.Stats.Samples) > 0 && s.Stats.quantile(0.95) < consoleP95Target
}

// consoleClient is a signed-in browser-like client of the console: cookies, no redirects
// followed.
type consoleClient struct {
	base   string
	client *http.Client
}

// measureConsole creates an admin user through the management API (key c.key), signs it in on
// the console and measures every screen. A failure is returned (the run's Err).
func (c *mgmtClient) measureConsole(ctx context.Context, run *mgmtRun, o options) error {
	var created map[string]any
	err := c.do(ctx, http.MethodPost, c.base+"/v1/users", map[string]any{
		"user":     map[string]any{"email": consoleBenchEmail, "displayName": "Bench admin", "roles": []map[string]any{{"role": "ROLE_ADMIN"}}},
		"password": consoleBenchPassword}, &created)
	if err != nil && !strings.Contains(err.Error(), "status 409") { // 409: made by an earlier run on this data
		return fmt.Errorf("console: create the bench user: %w", err)
	}
	jar, err := cookiejar.New(nil)
	if err != nil {
		return err
	}
	cc := &consoleClient{base: c.base, client: &http.Client{Transport: client.Transport, Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	if err := cc.signIn(ctx); err != nil {
		return err
	}

	// The pages: an article (the newest) for the editor and its revisions, and a deep page of
	// Articles reached by following the console's own Next links.
	var page struct {
		Articles []struct {
			Name string `json:"name"`
		} `json:"articles"`
	}
	if err := c.do(ctx, http.MethodGet, c.base+"/v1/articles?page_size=1", nil, &page); err != nil || len(page.Articles) == 0 {
		return fmt.Errorf("console: find an article: %d articles, %v", len(page.Articles), err)
	}
	article := page.Articles[0].Name // "articles/{id}"
	deep, depth, err := cc.walkArticles(ctx, consoleArticlesDepth)
	if err != nil {
		return err
	}
	step("management %d: console: the deep Articles page is page %d", run.Articles, depth+1)
	lib, err := c.seedConsoleLibrary(ctx, run, o)
	if err != nil {
		return err
	}
	screens := []struct{ name, path string }{
		{"Home", "/console/"},
		{"Articles, first page (25)", "/console/articles"},
		{fmt.Sprintf("Articles, page %d of 25 (or the last), by the console's Next links", consoleArticlesDepth+1), deep},
		{"Article editor", "/console/" + article},
		{"Revisions of the article", "/console/" + article + "/revisions"},
		{"Sites", "/console/sites"},
		{"API keys", "/console/keys"},
		{"Users", "/console/users"},
		{"My account", "/console/account"},
		{fmt.Sprintf("Resources, first page (of %s)", fmtInt(lib.resources)), "/console/resources"},
		{"Resources, stale filter", "/console/resources?stale=true"},
		{"Resource editor", "/console/" + lib.resource},
		{fmt.Sprintf("Directories (%d)", lib.directories), "/console/directories"},
		{fmt.Sprintf("Directory editor (%d entries)", consoleDirectoryEntries), "/console/" + lib.directory},
		{"Questionnaires", "/console/questionnaires"},
		{"Questionnaire editor", "/console/" + lib.questionnaire},
		{"Questionnaire stats", "/console/" + lib.questionnaire + "/stats"},
	}
	for _, s := range screens {
		screen := &consoleScreen{Name: s.name, Stats: &opStats{Name: s.name, Read: true}}
		run.Console = append(run.Console, screen)
		status, body, err := cc.get(ctx, s.path)
		switch {
		case err != nil:
			return fmt.Errorf("console: %s: %w", s.name, err)
		case status == http.StatusNotFound && strings.Contains(body, consoleNoSuchPage):
			screen.NotServed = "not in this build (404)"
			continue
		case status != http.StatusOK:
			return fmt.Errorf("console: %s (%s): status %d", s.name, s.path, status)
		}
		for range o.mgmtReps {
			before, _ := sampleCPU(c.pid)
			start := time.Now()
			status, _, err := cc.get(ctx, s.path)
			screen.Stats.Samples = append(screen.Stats.Samples, time.Since(start))
			after, _ := sampleCPU(c.pid)
			screen.Stats.CPUTicks += after.proc - before.proc
			if err != nil || status != http.StatusOK {
				return fmt.Errorf("console: %s (%s): status %d, %v", s.name, s.path, status, err)
			}
		}
		step("management %d: console %s p50 %s, p95 %s", run.Articles, s.name, fmtDur(screen.Stats.quantile(0.5)), fmtDur(screen.Stats.quantile(0.95)))
	}
	return nil
}

// consoleDirectories directories are made on the seeded site for the Directories screens,
// the measured one with consoleDirectoryEntries entries, the others with a few.
const (
	consoleDirectories      = 5
	consoleDirectoryEntries = 25
	consoleImportRows       = 1000 // rows per import request (the request must stay under 1 MiB)
)

// consoleLibrary is what the console measure seeds besides the articles, and the screens'
// subjects: "resources/{id}", "directories/{id}", "questionnaires/{id}".
type consoleLibrary struct {
	resources, directories             int
	resource, directory, questionnaire string
}

// seedConsoleLibrary imports o.consoleResources resources into the seeded site through the
// import API (consoleImportRows per request), makes consoleDirectories directories of them
// through the directories API, and picks the subjects of the editor screens: the resource
// first by name, the largest directory, and the first questionnaire `beacon dev` ships.
func (c *mgmtClient) seedConsoleLibrary(ctx context.Context, run *mgmtRun, o options) (consoleLibrary, error) {
	lib := consoleLibrary{resources: o.consoleResources, directories: consoleDirectories}
	start := time.Now()
	for first := 1; first <= o.consoleResources; first += consoleImportRows {
		rows := min(consoleImportRows, o.consoleResources-first+1)
		created, err := c.importResources(ctx, o.site, resourcesCSV(first, rows))
		if err != nil {
			return lib, fmt.Errorf("console: import resources %d to %d: %w", first, first+rows-1, err)
		}
		if created != rows {
			return lib, fmt.Errorf("console: import resources %d to %d: %d created, want %d", first, first+rows-1, created, rows)
		}
	}
	step("management %d: console: imported %s resources in %s", run.Articles, fmtInt(o.consoleResources), fmtDur(time.Since(start)))
	var page struct {
		Resources []struct {
			Name string `json:"name"`
		} `json:"resources"`
	}
	listURL := c.base + "/v1/resources?page_size=100&order_by=display_name&filter=" + url.QueryEscape(`site = "`+o.site+`"`)
	if err := c.do(ctx, http.MethodGet, listURL, nil, &page); err != nil {
		return lib, fmt.Errorf("console: list the site's resources: %w", err)
	}
	if len(page.Resources) < consoleDirectoryEntries+consoleDirectories {
		return lib, fmt.Errorf("console: the site lists %d resources, want at least %d", len(page.Resources), consoleDirectoryEntries+consoleDirectories)
	}
	lib.resource = page.Resources[0].Name
	for i := range consoleDirectories {
		n := 3
		if i == 0 {
			n = consoleDirectoryEntries
		}
		var entries []map[string]any
		for _, r := range page.Resources[i : i+n] {
			entries = append(entries, map[string]any{"resource": r.Name})
		}
		var d struct {
			Name string `json:"name"`
		}
		body := map[string]any{"title": fmt.Sprintf("Bench directory %d", i+1), "slug": fmt.Sprintf("bench-directory-%d", i+1),
			"site": "sites/" + o.site, "intro": "Example data for the console benchmark.", "entries": entries}
		if err := c.do(ctx, http.MethodPost, c.base+"/v1/directories", body, &d); err != nil {
			return lib, fmt.Errorf("console: create a directory: %w", err)
		}
		if i == 0 {
			lib.directory = d.Name
		}
	}
	raw, err := os.ReadFile(o.consoleQuestionnaire)
	if err != nil {
		return lib, fmt.Errorf("console: the questionnaire to seed: %w", err)
	}
	var q map[string]any
	if err := json.Unmarshal(raw, &q); err != nil {
		return lib, fmt.Errorf("console: the questionnaire to seed, %s: %w", o.consoleQuestionnaire, err)
	}
	q["targetSites"] = []string{"sites/" + o.site}
	var created struct {
		Name string `json:"name"`
		Etag string `json:"etag"`
	}
	if err := c.do(ctx, http.MethodPost, c.base+"/v1/questionnaires", q, &created); err != nil {
		return lib, fmt.Errorf("console: create the questionnaire: %w", err)
	}
	var published map[string]any
	if err := c.do(ctx, http.MethodPost, c.base+"/v1/"+created.Name+":publish", map[string]any{"etag": created.Etag}, &published); err != nil {
		return lib, fmt.Errorf("console: publish the questionnaire: %w", err)
	}
	lib.questionnaire = created.Name
	return lib, nil
}

// importResources imports a CSV into site through the REST import (a stream of progress
// messages, newline-delimited JSON) and returns how many resources the last message says
// were created.
func (c *mgmtClient) importResources(ctx context.Context, site, csv string) (int, error) {
	body, err := json.Marshal(map[string]any{"site": "sites/" + site, "format": "IMPORT_FORMAT_CSV", "content": csv})
	if err != nil {
		return 0, err
	}
	rawURL := c.base + "/v1/resources:import"
	if err := checkLoopback(rawURL); err != nil {
		return 0, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, rawURL, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+c.key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<10))
		return 0, fmt.Errorf("status %d: %s", resp.StatusCode, b)
	}
	// Each message is {"result": {...}} or, when the stream fails, {"error": {...}}.
	type progress struct {
		Result *struct {
			Done    bool `json:"done"`
			Created int  `json:"created"`
		} `json:"result"`
		Error json.RawMessage `json:"error"`
	}
	var last progress
	dec := json.NewDecoder(resp.Body)
	for {
		var msg progress
		if err := dec.Decode(&msg); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return 0, err
		}
		if msg.Error != nil {
			return 0, fmt.Errorf("the import failed: %s", msg.Error)
		}
		last = msg
	}
	if last.Result == nil || !last.Result.Done {
		return 0, errors.New("the import's stream ended before it was done")
	}
	return last.Result.Created, nil
}

// signIn posts the sign-in form; the session cookie lands in the jar.
func (cc *consoleClient) signIn(ctx context.Context) error {
	form := url.Values{"email": {consoleBenchEmail}, "password": {consoleBenchPassword}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, cc.base+"/console/sign-in", strings.NewReader(form.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := cc.client.Do(req)
	if err != nil {
		return fmt.Errorf("console: sign in: %w", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/console/" {
		return fmt.Errorf("console: sign in: status %d to %q, want 303 to /console/", resp.StatusCode, resp.Header.Get("Location"))
	}
	return nil
}

// get fetches a console path as the signed-in user and returns the status and body.
func (cc *consoleClient) get(ctx context.Context, path string) (int, string, error) {
	rawURL := cc.base + path
	if err := checkLoopback(rawURL); err != nil {
		return 0, "", err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return 0, "", err
	}
	resp, err := cc.client.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return 0, "", err
	}
	if resp.StatusCode == http.StatusSeeOther {
		return 0, "", fmt.Errorf("redirected to %s (the session ended?)", resp.Header.Get("Location"))
	}
	return resp.StatusCode, string(b), nil
}

// nextPageLink finds the Articles screen's Next link.
var nextPageLink = regexp.MustCompile(`<a href="([^"]+)" id="next-page"`)

// walkArticles follows the Articles screen's Next links up to depth times and returns the path
// of the last page reached and how many links were followed.
func (cc *consoleClient) walkArticles(ctx context.Context, depth int) (string, int, error) {
	path := "/console/articles"
	n := 0
	for ; n < depth; n++ {
		status, body, err := cc.get(ctx, path)
		if err != nil || status != http.StatusOK {
			return "", 0, fmt.Errorf("console: Articles walk at %s: status %d, %v", path, status, err)
		}
		m := nextPageLink.FindStringSubmatch(body)
		if m == nil {
			break
		}
		path = html.UnescapeString(m[1])
	}
	return path, n, nil
}

// consoleMarkdown renders the console measure of the runs: a table of screens by library size.
func consoleMarkdown(runs []*mgmtRun, o options) string {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	p("### Editor console screens\n\n")
	p("On the same `beacon dev`, after the figures above, %s resources are imported into the site (REST import, 1,000 rows a request),\n", fmtInt(o.consoleResources))
	p("%d directories made of them (one of %d entries) and a questionnaire created and published (the shipped kratom self-check).\n", consoleDirectories, consoleDirectoryEntries)
	p("An admin user (made over REST) signs in on the console once; then each screen is\n")
	p("fetched %d times, one request at a time on loopback, with its session cookie: the whole server-side render\n", o.mgmtReps)
	p("(the console's gRPC calls to the services as the user, and the template). The deep Articles page is reached\n")
	p("by following the console's own Next links (page tokens). Target (issue #11, at 10,000 articles): p95 < 50 ms\n")
	p("per screen. A screen this build does not serve yet is marked so.\n\n")
	header, sep := "| screen |", "| --- |"
	for _, r := range runs {
		header += fmt.Sprintf(" %s articles |", fmtInt(r.Articles))
		sep += " ---: |"
	}
	p("%s\n%s\n", header, sep)
	var names []string
	for _, r := range runs {
		for _, s := range r.Console {
			if !slices.Contains(names, s.Name) {
				names = append(names, s.Name)
			}
		}
	}
	for _, name := range names {
		p("| %s — p50 / p95 (server CPU per call) |", name)
		for _, r := range runs {
			cell := "—"
			for _, s := range r.Console {
				if s.Name != name {
					continue
				}
				if s.NotServed != "" {
					cell = s.NotServed
					break
				}
				mark := ""
				if r.Articles >= 10000 && !s.pass() {
					mark = " ✗"
				}
				cell = fmt.Sprintf("%s / %s%s (%s)", fmtDur(s.Stats.quantile(0.5)), fmtDur(s.Stats.quantile(0.95)), mark, fmtDur(s.Stats.cpuPerCall()))
			}
			p(" %s |", cell)
		}
		p("\n")
	}
	p("\n")
	return b.String()
}
