package main

import (
	"context"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
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
	p("On the same `beacon dev`, an admin user (made over REST) signs in on the console once; then each screen is\n")
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
