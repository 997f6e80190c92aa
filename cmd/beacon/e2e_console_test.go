package main_test

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// consoleClient is a browser-like HTTP client of the console: it keeps cookies, does not
// follow redirects, and sends the Origin a browser sends with same-origin forms.
type consoleClient struct {
	in     *instance
	client *http.Client
}

func newConsoleClient(tb testing.TB, in *instance) *consoleClient {
	tb.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		tb.Fatal(err)
	}
	return &consoleClient{in: in, client: &http.Client{Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

type consolePage struct {
	status int
	header http.Header
	body   string
}

// do sends a request; form (may be nil) is posted; headers are added (e.g. a foreign Origin).
func (c *consoleClient) do(tb testing.TB, method, path string, form url.Values, headers ...string) consolePage {
	tb.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, c.in.restURL+path, body)
	if err != nil {
		tb.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", c.in.restURL)
		req.Header.Set("Sec-Fetch-Site", "same-origin")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := c.client.Do(req)
	if err != nil {
		tb.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return consolePage{status: resp.StatusCode, header: resp.Header, body: string(raw)}
}

func (c *consoleClient) signIn(tb testing.TB, email, password string) consolePage {
	tb.Helper()
	return c.do(tb, "POST", "/console/sign-in", url.Values{"email": {email}, "password": {password}})
}

func (p consolePage) must(tb testing.TB, status int, contains ...string) consolePage {
	tb.Helper()
	if p.status != status {
		tb.Fatalf("status %d, want %d; body:\n%s", p.status, status, p.body)
	}
	for _, s := range contains {
		if !strings.Contains(p.body, s) {
			tb.Fatalf("page does not contain %q:\n%s", s, p.body)
		}
	}
	return p
}

// TestConsole drives the console over HTTP as a browser would, against the real binary.
func TestConsole(t *testing.T) {
	in := startDev(t, t.TempDir(), "--log-level", "debug")
	if in.adminEmail != "admin@beacon.test" || len(in.adminPassword) < 20 {
		t.Fatalf("beacon dev printed the admin user %q with password %q", in.adminEmail, in.adminPassword)
	}
	admin := newConsoleClient(t, in)

	t.Run("signed out, pages go to sign-in", func(t *testing.T) {
		p := admin.do(t, "GET", "/console/", nil)
		if p.status != http.StatusSeeOther || p.header.Get("Location") != "/console/sign-in" {
			t.Fatalf("GET /console/ = %d to %q, want 303 to /console/sign-in", p.status, p.header.Get("Location"))
		}
		p = admin.do(t, "GET", "/console/sign-in", nil).must(t, 200, `<label for="email">Email</label>`, `<label for="password">Password</label>`)
		if csp := p.header.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") ||
			!strings.Contains(csp, "script-src 'self';") || strings.Contains(csp, "unsafe-") || !strings.Contains(csp, "default-src 'none'") {
			t.Errorf("Content-Security-Policy = %q, want script from 'self' only (never inline) and frame-ancestors 'none'", csp)
		}
		if p.header.Get("Cache-Control") != "no-store" || p.header.Get("X-Frame-Options") != "DENY" {
			t.Errorf("headers %v, want no-store and X-Frame-Options DENY", p.header)
		}
	})

	t.Run("unknown email and wrong password look alike", func(t *testing.T) {
		unknown := admin.signIn(t, "nobody@beacon.test", in.adminPassword).must(t, 401)
		wrong := admin.signIn(t, in.adminEmail, in.adminPassword+"x").must(t, 401)
		if unknown.body != strings.Replace(wrong.body, in.adminEmail, "nobody@beacon.test", 1) {
			t.Errorf("the pages differ:\n%s\n---\n%s", unknown.body, wrong.body)
		}
	})

	var sessionCookie string
	t.Run("sign in sets the session cookie", func(t *testing.T) {
		p := admin.signIn(t, in.adminEmail, in.adminPassword)
		if p.status != http.StatusSeeOther || p.header.Get("Location") != "/console/" {
			t.Fatalf("sign-in = %d to %q, want 303 to /console/\n%s", p.status, p.header.Get("Location"), p.body)
		}
		cookie := p.header.Get("Set-Cookie")
		for _, attr := range []string{"beacon_session=bs_", "Path=/console/", "HttpOnly", "SameSite=Lax", "Expires="} {
			if !strings.Contains(cookie, attr) {
				t.Errorf("Set-Cookie %q lacks %s", cookie, attr)
			}
		}
		if strings.Contains(cookie, "Secure") {
			t.Errorf("Set-Cookie %q is Secure on plain HTTP (the browser would drop it)", cookie)
		}
		sessionCookie = strings.TrimPrefix(strings.SplitN(cookie, ";", 2)[0], "beacon_session=")
		admin.do(t, "GET", "/console/", nil).must(t, 200, "Admin (beacon dev)", "admin on all sites", "Recently published",
			"Kratom withdrawal", "Create draft")
	})

	t.Run("the session acts as the user on the REST API too", func(t *testing.T) {
		// The same credential the console sends; the interceptor resolves it to the user.
		in.call(t, sessionCookie, "GET", "/v1/users", nil).must(t, 200)
	})

	t.Run("a cross-origin POST is refused", func(t *testing.T) {
		form := url.Values{"title": {"Forged from elsewhere"}, "site": {"kratom-help"}}
		admin.do(t, "POST", "/console/drafts", form, "Origin", "https://evil.example", "Sec-Fetch-Site", "cross-site").
			must(t, http.StatusForbidden, "came from another site")
		admin.do(t, "POST", "/console/sign-out", url.Values{}, "Origin", "https://evil.example", "Sec-Fetch-Site", "cross-site").
			must(t, http.StatusForbidden)
		// Neither the draft was made nor the session ended.
		p := admin.do(t, "GET", "/console/", nil).must(t, 200)
		if strings.Contains(p.body, "Forged from elsewhere") {
			t.Error("the cross-origin POST created a draft")
		}
	})

	t.Run("an editor creates a draft, listed as theirs", func(t *testing.T) {
		p := admin.do(t, "POST", "/console/drafts", url.Values{"title": {"Console draft one"}, "site": {"kratom-help"}})
		if p.status != http.StatusSeeOther {
			t.Fatalf("POST /console/drafts = %d\n%s", p.status, p.body)
		}
		// New draft opens the new article's editor.
		if loc := p.header.Get("Location"); !regexp.MustCompile(`^/console/articles/[^/?]+\?done=created$`).MatchString(loc) {
			t.Fatalf("New draft sends the editor to %q, want the new article's editor", loc)
		}
		admin.do(t, "GET", p.header.Get("Location"), nil).must(t, 200, "<h1>Console draft one</h1>", "Created.")
		admin.do(t, "GET", "/console/", nil).must(t, 200, "Console draft one")
		admin.do(t, "POST", "/console/drafts", url.Values{"title": {""}, "site": {"kratom-help"}}).must(t, 400, "article.title")
	})

	t.Run("an oversized form is refused", func(t *testing.T) {
		admin.do(t, "POST", "/console/drafts", url.Values{"title": {strings.Repeat("x", 70<<10)}, "site": {"kratom-help"}}).
			must(t, http.StatusBadRequest, "64 KiB")
	})

	var viewerPassword string
	t.Run("a viewer sees no write form and a forged write is refused", func(t *testing.T) {
		r := in.call(t, in.adminKey, "POST", "/v1/users", map[string]any{
			"user": map[string]any{"email": "Viewer@Beacon.test", "displayName": "Vera Viewer",
				"roles": []any{map[string]any{"role": "ROLE_VIEWER", "site": "sites/kratom-help"}}},
		}).must(t, 200)
		viewerPassword = r.str("generatedPassword")
		viewer := newConsoleClient(t, in)
		viewer.signIn(t, "viewer@beacon.test", viewerPassword).must(t, http.StatusSeeOther)
		p := viewer.do(t, "GET", "/console/", nil).must(t, 200, "Vera Viewer", "viewer on kratom-help", "Kratom withdrawal")
		if strings.Contains(p.body, "Create draft") || strings.Contains(p.body, `action="/console/drafts"`) {
			t.Error("a viewer is shown the new-draft form")
		}
		viewer.do(t, "POST", "/console/drafts", url.Values{"title": {"Forged by a viewer"}, "site": {"kratom-help"}}).
			must(t, http.StatusForbidden, "role")
		list := in.call(t, in.adminKey, "GET", "/v1/articles?filter="+url.QueryEscape(`state = DRAFT`), nil).must(t, 200)
		if strings.Contains(string(list.raw), "Forged by a viewer") {
			t.Error("the viewer's forged write created an article")
		}
	})

	t.Run("sign out ends the session", func(t *testing.T) {
		p := admin.do(t, "POST", "/console/sign-out", url.Values{})
		if p.status != http.StatusSeeOther || p.header.Get("Location") != "/console/sign-in" {
			t.Fatalf("sign-out = %d to %q", p.status, p.header.Get("Location"))
		}
		in.call(t, sessionCookie, "GET", "/v1/users", nil).must(t, 401)
		if p := admin.do(t, "GET", "/console/", nil); p.status != http.StatusSeeOther {
			t.Errorf("GET /console/ after sign-out = %d, want 303 to sign-in", p.status)
		}
	})

	t.Run("disabling a user ends its sessions", func(t *testing.T) {
		viewer := newConsoleClient(t, in)
		viewer.signIn(t, "viewer@beacon.test", viewerPassword).must(t, http.StatusSeeOther)
		viewer.do(t, "GET", "/console/", nil).must(t, 200)
		in.call(t, in.adminKey, "POST", "/v1/users/viewer@beacon.test:disable", map[string]any{}).must(t, 200)
		if p := viewer.do(t, "GET", "/console/", nil); p.status != http.StatusSeeOther {
			t.Errorf("GET /console/ of a disabled user = %d, want 303 to sign-in", p.status)
		}
		viewer.signIn(t, "viewer@beacon.test", viewerPassword).must(t, 401, "Wrong email or password.")
	})

	t.Run("sign-in attempts are limited per client address", func(t *testing.T) {
		// Unknown emails, so that no account's own limit applies: the address's burst ends with 429.
		var last consolePage
		for i := range 40 {
			if last = admin.signIn(t, "guess"+strconv.Itoa(i)+"@beacon.test", "not a password"); last.status == http.StatusTooManyRequests {
				break
			}
		}
		last.must(t, http.StatusTooManyRequests, "Too many sign-in attempts")
		if s, err := strconv.Atoi(last.header.Get("Retry-After")); err != nil || s < 1 {
			t.Errorf("Retry-After = %q, want whole seconds", last.header.Get("Retry-After"))
		}
	})

	in.stop(t)
	if strings.Contains(in.stderr.String(), sessionCookie) || strings.Contains(in.stderr.String(), "beacon_session=") {
		t.Error("the session cookie appears in the log")
	}
	if !strings.Contains(in.stderr.String(), "level=DEBUG") {
		t.Error("the log has no debug lines: the cookie check above proves nothing")
	}
}

func TestAdminUserCommand(t *testing.T) {
	dir := t.TempDir()
	out, err := exec.Command(beaconBinary, "admin-user", "--data-dir", dir, "--email", "Ops@Example.org", "--display-name", "Ops", "--log-level", "warn").Output()
	if err != nil {
		t.Fatalf("beacon admin-user: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	password := lines[len(lines)-1]
	if !strings.HasPrefix(lines[0], "users/ops@example.org (Ops, role admin, all sites)") || len(password) < 20 {
		t.Fatalf("admin-user printed %q; want the user and a password on its last line", out)
	}
	if out, err := exec.Command(beaconBinary, "admin-user", "--data-dir", dir, "--email", "ops@example.org", "--log-level", "error").CombinedOutput(); err == nil {
		t.Errorf("a second admin-user with the same email succeeded: %s", out)
	}
	if out, err := exec.Command(beaconBinary, "admin-user", "--data-dir", dir, "--log-level", "error").CombinedOutput(); err == nil || !strings.Contains(string(out), "--email") {
		t.Errorf("admin-user without --email = %v: %s", err, out)
	}
	// dev does not bootstrap a second admin user; the one made here signs in.
	in := startDev(t, dir)
	if in.adminPassword != "" {
		t.Errorf("dev created a bootstrap admin user although one exists")
	}
	newConsoleClient(t, in).signIn(t, "ops@example.org", password).must(t, http.StatusSeeOther)
}
