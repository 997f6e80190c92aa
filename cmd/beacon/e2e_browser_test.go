package main_test

import (
	"context"
	_ "embed"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// axeSource is axe-core 4.11.0 (testdata/axe-core/README.md).
//
//go:embed testdata/axe-core/axe.min.js
var axeSource string

// chromiumPath returns Debian's Chromium (or another Chrome). Without one the test is skipped,
// except in CI (CI=true), where .ci/install-test-deps installs it and its absence fails.
func chromiumPath(tb testing.TB) string {
	tb.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if path, err := exec.LookPath(name); err == nil {
			return path
		}
	}
	if os.Getenv("CI") == "true" {
		tb.Fatal("Chromium is not installed: .ci/install-test-deps installs it (apt-get install chromium)")
	}
	tb.Skip("skipping the browser test: Chromium is not installed (apt-get install chromium, or run .ci/install-test-deps)")
	return ""
}

// newBrowser starts a headless Chromium and returns a tab's context, closed at the end of the
// test.
func newBrowser(tb testing.TB) context.Context {
	tb.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath(tb)),
		chromedp.NoSandbox, // CI runs as root
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.WindowSize(1280, 900),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx)
	tb.Cleanup(func() { cancel(); cancelAlloc() })
	// The first Run starts the browser; it must not run under a timeout (that would end it).
	if err := chromedp.Do(ctx, chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		// axe is injected by the test through the DevTools protocol; the page's own CSP (no
		// script) is checked by the HTTP test and must not block the checker.
		_, err := cdp.Call(ctx, t, page.SetBypassCSP, page.SetBypassCSPParams{Enabled: true})
		return err
	})); err != nil {
		tb.Fatalf("start Chromium: %v", err)
	}
	return ctx
}

// axeViolation is what axe reports of one rule.
type axeViolation struct {
	ID     string `json:"id"`
	Impact string `json:"impact"`
	Help   string `json:"help"`
	Nodes  []struct {
		Target []any `json:"target"`
	} `json:"nodes"`
}

// checkAccessibility runs axe-core on the current page (WCAG 2.1 A and AA, and best
// practices) and fails on serious or critical violations, naming each.
func checkAccessibility(tb testing.TB, ctx context.Context, pageName string) {
	tb.Helper()
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[chromedp.Void](axeSource)); err != nil {
		tb.Fatalf("inject axe-core: %v", err)
	}
	violations, err := chromedp.Run(ctx, chromedp.Evaluate[[]axeViolation](
		`axe.run(document, {runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]}}).then(r => r.violations)`,
		chromedp.EvalAwaitPromise))
	if err != nil {
		tb.Fatalf("axe.run on %s: %v", pageName, err)
	}
	for _, v := range violations {
		if v.Impact == "serious" || v.Impact == "critical" {
			var targets []string
			for _, n := range v.Nodes {
				targets = append(targets, fmt.Sprint(n.Target...))
			}
			tb.Errorf("%s: axe %s violation %s (%s) at %s", pageName, v.Impact, v.ID, v.Help, strings.Join(targets, ", "))
		} else {
			tb.Logf("%s: axe %s violation %s (%s)", pageName, v.Impact, v.ID, v.Help)
		}
	}
}

// screenshot saves the page as PNG: into docs/ when BEACON_UPDATE_SCREENSHOTS=1 (to refresh the
// README's pictures), else into the test's temporary directory.
func screenshot(tb testing.TB, ctx context.Context, name string) {
	tb.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		tb.Fatalf("screenshot %s: %v", name, err)
	}
	dir := tb.TempDir()
	if os.Getenv("BEACON_UPDATE_SCREENSHOTS") == "1" {
		dir = filepath.Join("..", "..", "docs")
	}
	if err := os.WriteFile(filepath.Join(dir, "console-"+name+".png"), png, 0o644); err != nil {
		tb.Fatal(err)
	}
}

// tab drives one browser tab in a test: every step fails the test on error (showing what the
// page says) and runs under a 30-second timeout.
type tab struct {
	tb  testing.TB
	ctx context.Context
}

// newConsoleTab starts `beacon dev` on a fresh data directory and a headless Chromium, and
// returns the instance and a tab (on no page yet). Every browser test starts here.
func newConsoleTab(tb testing.TB) (*instance, tab) {
	tb.Helper()
	ctx := newBrowser(tb)
	return startDev(tb, tb.TempDir()), tab{tb, ctx}
}

// signedInConsoleTab is newConsoleTab with the dev admin signed in: the tab is on Home.
func signedInConsoleTab(tb testing.TB) (*instance, tab) {
	tb.Helper()
	in, b := newConsoleTab(tb)
	b.signIn(in.restURL, in.adminEmail, in.adminPassword)
	return in, b
}

func (b tab) do(name string, steps ...chromedp.Action[chromedp.Void]) {
	b.tb.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.tb.Fatalf("%s: %v; the page shows:\n%s", name, err, b.pageText())
	}
}

// pageText is the text of the page's body, for failure messages ("" when there is none).
func (b tab) pageText() string {
	ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
	defer cancel()
	s, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText : ""`))
	return s
}

func (b tab) text(sel string) string {
	b.tb.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		b.tb.Fatalf("text of %s: %v", sel, err)
	}
	return s
}

func (b tab) value(sel string) string {
	b.tb.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Value(chromedp.CSS(sel)))
	if err != nil {
		b.tb.Fatalf("value of %s: %v", sel, err)
	}
	return s
}

// eval evaluates a JavaScript expression (awaiting a promise) on the page.
func eval[T any](b tab, expr string) T {
	b.tb.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		b.tb.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// evalString evaluates a JavaScript expression of a string on the page.
func (b tab) evalString(expr string) string {
	b.tb.Helper()
	return eval[string](b, expr)
}

func (b tab) present(sel string) bool {
	b.tb.Helper()
	return eval[bool](b, `document.querySelector(`+jsString(sel)+`) !== null`)
}

// until waits up to 30 s for a JavaScript condition, typically after a click that navigates
// (a poll the navigation interrupts is asked again on the new page).
func (b tab) until(name, expr string) {
	b.tb.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
		_, err := chromedp.Run(ctx, chromedp.Poll[bool](expr))
		cancel()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			b.tb.Fatalf("%s: waiting for %s: %v\npage:\n%s", name, expr, err, b.pageText())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func jsString(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// signIn signs in on the console's sign-in page and waits for Home (its drafts heading: the
// sign-in page has no such element).
func (b tab) signIn(url, email, password string) {
	b.tb.Helper()
	b.do("sign in as "+email, chromedp.Navigate(url+"/console/sign-in"), chromedp.WaitVisible(chromedp.CSS("#email")),
		chromedp.SendKeys(chromedp.CSS("#email"), email), chromedp.SendKeys(chromedp.CSS("#password"), password),
		chromedp.Submit(chromedp.CSS("#password")), chromedp.WaitVisible(chromedp.CSS("#drafts-heading")))
}

// newIsolatedTab opens a tab in a new browser context of the browser of ctx: its own cookies,
// like a second person's browser.
func newIsolatedTab(tb testing.TB, ctx context.Context) context.Context {
	tb.Helper()
	other, cancel := chromedp.NewContext(ctx, chromedp.WithNewBrowserContext())
	tb.Cleanup(cancel)
	if err := chromedp.Do(other, chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, page.SetBypassCSP, page.SetBypassCSPParams{Enabled: true}) // for axe, as newBrowser does
		return err
	})); err != nil {
		tb.Fatalf("open a second browser context: %v", err)
	}
	return other
}

// TestConsoleInBrowser signs in to the real binary's console in Chromium, sees Home, checks
// both pages with axe-core and the keyboard focus ring, and signs out.
func TestConsoleInBrowser(t *testing.T) {
	in, b := newConsoleTab(t)
	ctx := b.ctx
	step, text := b.do, b.text

	// A scheduled article, for Home's scheduled publications (made over REST with the admin key).
	scheduledAt := time.Now().Add(30 * 24 * time.Hour).UTC().Truncate(time.Minute)
	draft := in.call(t, in.adminKey, "POST", "/v1/articles", map[string]any{"title": "A scheduled piece", "targetSites": []string{"sites/kratom-help"}}).must(t, 200)
	in.call(t, in.adminKey, "POST", "/v1/"+draft.str("name")+":schedule", map[string]any{"publishTime": scheduledAt.Format(time.RFC3339)}).must(t, 200)
	// An article clinically reviewed two years ago, for Home's overdue reviews.
	in.call(t, in.adminKey, "POST", "/v1/articles", map[string]any{"title": "A review long ago", "targetSites": []string{"sites/kratom-help"},
		"lastReviewedDate": map[string]int{"year": time.Now().Year() - 2, "month": 1, "day": 15},
		"reviewers":        []map[string]any{{"displayName": "Dr. Old Review", "credentials": "MD", "role": "ROLE_CLINICAL"}}}).must(t, 200)

	step("open the console", chromedp.Navigate(in.restURL+"/console/"), chromedp.WaitVisible(chromedp.CSS("#email")))
	if got := text("h1"); got != "Sign in" {
		t.Fatalf("the console opens on %q, want the sign-in page", got)
	}
	checkAccessibility(t, ctx, "sign-in")

	// The keyboard reaches the skip link first, and focus is visible (a 3px ring).
	step("tab", chromedp.KeyEvent("\t"))
	focus, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](
		`[document.activeElement.textContent.trim(), getComputedStyle(document.activeElement).outlineStyle, getComputedStyle(document.activeElement).outlineWidth]`))
	if err != nil || len(focus) != 3 || focus[0] != "Skip to content" || focus[1] == "none" || focus[2] != "3px" {
		t.Errorf("first Tab focuses %q (%v); want the skip link with a visible 3px outline", focus, err)
	}

	// A wrong password shows the error beside the form, then the right one signs in.
	step("wrong password",
		chromedp.SendKeys(chromedp.CSS("#email"), in.adminEmail),
		chromedp.SendKeys(chromedp.CSS("#password"), "not the password"),
		chromedp.Submit(chromedp.CSS("#password")),
		chromedp.WaitVisible(chromedp.CSS("#sign-in-error")))
	if got := text("#sign-in-error"); got != "Wrong email or password." {
		t.Errorf("error shown: %q", got)
	}
	checkAccessibility(t, ctx, "sign-in with an error")
	screenshot(t, ctx, "sign-in")
	// The email stays filled in; only the password is typed again.
	step("sign in",
		chromedp.SendKeys(chromedp.CSS("#password"), in.adminPassword),
		chromedp.Submit(chromedp.CSS("#password")),
		chromedp.WaitVisible(chromedp.CSS("#drafts-heading")))
	if got := text("h1"); got != "Home" {
		t.Fatalf("after sign-in the console shows %q, want Home", got)
	}
	if got := text(".account p"); !strings.Contains(got, "Admin (beacon dev)") || !strings.Contains(got, "admin on all sites") {
		t.Errorf("account line %q", got)
	}
	if got := text("#main"); !strings.Contains(got, "Recently published") || !strings.Contains(got, "Kratom withdrawal: what to expect") {
		t.Errorf("Home does not list the published demo articles:\n%s", got)
	}
	if got := text(`section[aria-labelledby="scheduled-heading"]`); !strings.Contains(got, "A scheduled piece") ||
		!strings.Contains(got, scheduledAt.Format("2 Jan 2006, 15:04 UTC")) {
		t.Errorf("Home's scheduled publications do not list the scheduled article at %v:\n%s", scheduledAt, got)
	}
	if got := text(`section[aria-labelledby="review-heading"]`); !strings.Contains(got, "A review long ago") || strings.Contains(got, "A scheduled piece") {
		t.Errorf("Home's overdue reviews list:\n%s", got)
	}

	// New draft opens the new draft's editor; back on Home it is listed as the user's own.
	step("create a draft",
		chromedp.SendKeys(chromedp.CSS("#title"), "A draft from the browser"),
		chromedp.Submit(chromedp.CSS("#title")),
		// Only the editor has a Save button (Home has a #title too).
		chromedp.WaitVisible(chromedp.CSS("#save-button")))
	if got := text("h1"); got != "A draft from the browser" {
		t.Errorf("New draft opens %q, want the new draft's editor", got)
	}
	if got := text("#main"); !strings.Contains(got, "Created.") {
		t.Errorf("the editor of the new draft does not say it was created:\n%s", got)
	}
	step("back to Home", chromedp.Click(chromedp.CSS(`nav.sections a[href="/console/"]`)), chromedp.WaitVisible(chromedp.CSS("#drafts-heading")))
	if got := text(`section[aria-labelledby="drafts-heading"]`); !strings.Contains(got, "A draft from the browser") {
		t.Errorf("My drafts does not list the new draft:\n%s", got)
	}
	checkAccessibility(t, ctx, "home")
	screenshot(t, ctx, "home")

	// Articles, from Home's link: filtered by state (the new draft alone), then sorted by
	// title and paged two at a time through the API's page tokens.
	step("open Articles", chromedp.Click(chromedp.CSS("#all-articles")), chromedp.WaitVisible(chromedp.CSS("#articles")))
	if got := text("h1"); got != "Articles" {
		t.Fatalf("the Articles link opens %q", got)
	}
	step("filter by state",
		chromedp.SetValue(chromedp.CSS("#state"), "DRAFT"),
		chromedp.Submit(chromedp.CSS("#state")),
		chromedp.WaitReady(chromedp.CSS(`#state option[value="DRAFT"][selected]`)))
	if got := text("#articles tbody"); !strings.Contains(got, "A draft from the browser") || strings.Contains(got, "Kratom withdrawal: what to expect") {
		t.Errorf("Articles filtered to drafts lists:\n%s", got)
	}
	step("sort by title, two per page",
		chromedp.Navigate(in.restURL+"/console/articles?sort=title&dir=asc&size=2"),
		chromedp.WaitVisible(chromedp.CSS("#next-page")))
	titles := func() []string {
		t.Helper()
		got, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll("#articles tbody td:first-child")].map(td => td.textContent)`))
		if err != nil {
			t.Fatalf("read the titles: %v", err)
		}
		return got
	}
	var listed []string
	for page := 1; ; page++ {
		got := titles()
		if len(got) == 0 || len(got) > 2 {
			t.Fatalf("page %d lists %q; want one or two articles", page, got)
		}
		listed = append(listed, got...)
		if page == 1 {
			checkAccessibility(t, ctx, "articles")
			screenshot(t, ctx, "articles")
		}
		more, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.querySelector("#next-page") !== null`))
		if err != nil {
			t.Fatal(err)
		}
		if !more {
			break
		}
		if page > 10 {
			t.Fatalf("more than 10 pages of two: %q", listed)
		}
		// Every page after the first has #first-page: wait for the page the link opens.
		next := eval[string](b, `document.querySelector("#next-page").href`)
		step("next page", chromedp.Click(chromedp.CSS("#next-page")))
		b.until("page "+fmt.Sprint(page+1), `location.href === `+jsString(next)+` && document.readyState === "complete"`)
	}
	if len(listed) < 3 || !slices.IsSortedFunc(listed, func(a, b string) int { return strings.Compare(strings.ToLower(a), strings.ToLower(b)) }) ||
		!slices.Contains(listed, "A draft from the browser") {
		t.Errorf("the pages sorted by title list %q; want every article (the demo's and the new draft) in title order", listed)
	}
	// A refused filter is shown beside its field with the API's message, not as an error page.
	step("bad filter", chromedp.Navigate(in.restURL+"/console/articles?state=NOPE"), chromedp.WaitVisible(chromedp.CSS("#state-error")))
	if got := text("#state-error"); !strings.Contains(got, "NOPE") {
		t.Errorf("the refused state shows %q", got)
	}
	checkAccessibility(t, ctx, "articles with a refused filter")

	step("sign out",
		chromedp.Click(chromedp.CSS(`form[action="/console/sign-out"] button`)),
		chromedp.WaitVisible(chromedp.CSS("#email")))
	step("home after sign-out", chromedp.Navigate(in.restURL+"/console/"), chromedp.WaitVisible(chromedp.CSS("#email")))
	if got := text("h1"); got != "Sign in" {
		t.Errorf("after sign-out /console/ shows %q, want the sign-in page", got)
	}
}
