package main_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// TestConsoleEditorInBrowser drives the article editor and the revisions screen of the real
// binary's console in Chromium: sign in, create an article (the lint as you type, then
// preview), hit an etag conflict from a second session (a REST write with the admin key) and
// overwrite knowingly, publish (blocked by an unacknowledged lint warning until a reviewer
// acknowledges it), see the article on the delivery API, compare revisions and roll back, and
// sign out. Every new screen is checked with axe-core.
func TestConsoleEditorInBrowser(t *testing.T) {
	in, b := signedInConsoleTab(t)
	ctx := b.ctx
	step, text, present := b.do, b.text, b.present

	// A new article: the lint reports as the editor types (the console's script, under the
	// CSP), and Preview renders it with the delivery renderer's TOC and reading level.
	step("new article", chromedp.Navigate(in.restURL+"/console/articles/new"), chromedp.WaitVisible(chromedp.CSS("#body")))
	checkAccessibility(t, ctx, "new article")
	// The script runs under the console's real Content-Security-Policy (newBrowser bypasses it
	// for axe; not on this page).
	step("enforce the CSP", bypassCSP(false), chromedp.Navigate(in.restURL+"/console/articles/new"), chromedp.WaitVisible(chromedp.CSS("#body")))
	step("type",
		chromedp.SendKeys(chromedp.CSS("#title"), "Sleeping after kratom"),
		chromedp.SetValue(chromedp.CSS("#body"), "## Sleep\n\nJunkies sleep badly at first."),
		chromedp.SendKeys(chromedp.CSS("#body"), " Sleep usually improves within a week or two."),
		// A lint may run while the sentence is being typed (the machine is slow): wait for the
		// one about the whole text.
		chromedp.WaitVisible(chromedp.CSS(`#lint-live-findings [data-rule="number-needs-citation"]`)))
	if got := text("#lint-live"); !strings.Contains(got, "Suggested rewrite") || !strings.Contains(got, "stigmatising-term") {
		t.Errorf("the lint as you type shows:\n%s", got)
	}
	step("preview", bypassCSP(true), chromedp.Click(chromedp.CSS("#preview-button")), chromedp.WaitVisible(chromedp.CSS("#preview-body")))
	if got := text("#reading-level"); !strings.Contains(got, "Reading ease") || !strings.Contains(got, "words") {
		t.Errorf("reading level: %q", got)
	}
	if got := text("#preview-toc"); got != "Sleep" {
		t.Errorf("preview TOC: %q", got)
	}
	if got := text("#preview-body h2"); got != "Sleep" {
		t.Errorf("preview body heading: %q", got)
	}
	if got := text("#lint-findings"); !strings.Contains(got, "stigmatising-term") || !strings.Contains(got, "Suggested rewrite") {
		t.Errorf("preview lint findings:\n%s", got)
	}
	title, err := chromedp.Run(ctx, chromedp.Value(chromedp.CSS("#title")))
	if err != nil || title != "Sleeping after kratom" {
		t.Errorf("after preview the title input holds %q (%v)", title, err)
	}
	checkAccessibility(t, ctx, "editor with a preview")

	step("fix and create",
		chromedp.SetValue(chromedp.CSS("#body"), "## Sleep\n\nPeople who stop often sleep badly at first. Sleep usually improves within a week or two."),
		chromedp.SetValue(chromedp.CSS(`[name="reviewers.0.display_name"]`), "Dr. Rev"),
		chromedp.SetValue(chromedp.CSS(`[name="reviewers.0.credentials"]`), "MD"),
		chromedp.SetValue(chromedp.CSS(`[name="authors.0.display_name"]`), "Ann Author"),
		chromedp.SetValue(chromedp.CSS(`[name="citations.0.title"]`), "Kratom withdrawal, a review"),
		chromedp.SetValue(chromedp.CSS(`[name="citations.0.pmid"]`), "12345678"),
		chromedp.SetValue(chromedp.CSS("#tags"), "sleep, kratom"),
		chromedp.SetValue(chromedp.CSS(`[name="seo.meta_title"]`), "Sleep after kratom"),
		chromedp.Click(chromedp.CSS("#save-button")),
		chromedp.WaitVisible(chromedp.CSS(`#notice[data-done="created"]`)))
	if got := text("#notice"); got != "Created." {
		t.Fatalf("after create: %q", got)
	}
	location, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(location)
	name := strings.TrimPrefix(u.Path, "/console/")
	if !strings.HasPrefix(name, "articles/") {
		t.Fatalf("created article at %q", location)
	}
	created := in.call(t, in.adminKey, "GET", "/v1/"+name, nil).must(t, 200)
	if created.str("title") != "Sleeping after kratom" || len(created.body["reviewers"].([]any)) != 1 || len(created.body["citations"].([]any)) != 1 {
		t.Fatalf("the article as created: %s", created.raw)
	}
	if created.body["seo"].(map[string]any)["metaTitle"] != "Sleep after kratom" {
		t.Errorf("seo: %v", created.body["seo"])
	}

	// A second session changes the article: the editor's save is refused, shows the server's
	// change beside the editor's, and overwrites only when asked.
	step("edit the summary and the body", chromedp.SendKeys(chromedp.CSS("#summary"), "How sleep comes back."),
		chromedp.SetValue(chromedp.CSS("#body"), "## Sleep\n\nPeople who stop often sleep badly at first. Sleep usually improves within a week or two.\n\n## Help\n\nAsk a doctor about sleep."))
	in.call(t, in.adminKey, "PATCH", "/v1/"+name+"?updateMask=title", map[string]any{
		"title": "Sleeping after kratom (second session)", "etag": created.str("etag")}).must(t, 200)
	step("save over a change", chromedp.Click(chromedp.CSS("#save-button")), chromedp.WaitVisible(chromedp.CSS("#conflict")))
	if got := text("#conflict-fields"); !strings.Contains(got, "Sleeping after kratom (second session)") || !strings.Contains(got, "How sleep comes back.") ||
		!strings.Contains(got, "+ Ask a doctor about sleep.") {
		t.Errorf("the conflict lists:\n%s", got)
	}
	if r := in.call(t, in.adminKey, "GET", "/v1/"+name, nil).must(t, 200); r.str("summary") != "" || r.str("title") != "Sleeping after kratom (second session)" {
		t.Fatalf("the refused save changed the article: %s", r.raw)
	}
	checkAccessibility(t, ctx, "editor with a conflict")
	step("overwrite knowingly", chromedp.Click(chromedp.CSS("#overwrite")), chromedp.WaitVisible(chromedp.CSS(`#notice[data-done="saved"]`)))
	if r := in.call(t, in.adminKey, "GET", "/v1/"+name, nil).must(t, 200); r.str("summary") != "How sleep comes back." || r.str("title") != "Sleeping after kratom" ||
		!strings.HasSuffix(r.str("body"), "\n\n## Help\n\nAsk a doctor about sleep.") {
		t.Fatalf("after the overwrite the server has: %s", r.raw)
	}

	// Publish: refused while a warning is not acknowledged, each unmet check explained; a
	// reviewer acknowledges it, and the article publishes.
	step("publish blocked", chromedp.Click(chromedp.CSS("#publish")), chromedp.WaitVisible(chromedp.CSS("#unmet")))
	if got := text("#unmet"); !strings.Contains(got, "LINT_NUMBER_NEEDS_CITATION") || !strings.Contains(got, "What to do") {
		t.Errorf("the blocked publish explains:\n%s", got)
	}
	checkAccessibility(t, ctx, "editor with a blocked publish")
	step("acknowledge",
		chromedp.SetValue(chromedp.CSS(`#lint-findings [data-rule="number-needs-citation"] input[name$=".reason"]`), "general experience, not a study figure"),
		chromedp.Click(chromedp.CSS(`#lint-findings [data-rule="number-needs-citation"] button`)),
		chromedp.WaitVisible(chromedp.CSS("#acknowledgements")))
	if got := text("#acknowledgements"); !strings.Contains(got, "by Dr. Rev") {
		t.Errorf("acknowledgements: %q", got)
	}
	screenshot(t, ctx, "editor")
	step("publish", chromedp.Click(chromedp.CSS("#publish")), chromedp.WaitVisible(chromedp.CSS(`#notice[data-done="publish"]`)))
	if got := text("#article-state"); got != "published" {
		t.Errorf("state after publish: %q", got)
	}
	live := in.call(t, "", "GET", "/v1/sites/kratom-help/articles/sleeping-after-kratom", nil).must(t, 200)
	if !strings.Contains(string(live.raw), "How sleep comes back.") {
		t.Errorf("delivery serves: %s", live.raw)
	}

	// Schedule, in a named time zone, shows the time in UTC.
	step("schedule",
		chromedp.SetValue(chromedp.CSS("#zone"), "America/New_York"),
		chromedp.SetValue(chromedp.CSS("#publish_at"), time.Now().AddDate(0, 1, 0).Format("2006-01-02")+"T09:30"),
		chromedp.Click(chromedp.CSS("#schedule")),
		chromedp.WaitVisible(chromedp.CSS(`#notice[data-done="schedule"]`)))
	if got := text("#scheduled-time"); !strings.Contains(got, ":30 UTC") || (!strings.Contains(got, "13:30") && !strings.Contains(got, "14:30")) {
		t.Errorf("09:30 in New York is scheduled at %q", got)
	}
	step("unpublish", chromedp.Click(chromedp.CSS("#unpublish")), chromedp.WaitVisible(chromedp.CSS(`#notice[data-done="unpublish"]`)))
	in.call(t, "", "GET", "/v1/sites/kratom-help/articles/sleeping-after-kratom", nil).must(t, 404)
	step("publish again", chromedp.Click(chromedp.CSS("#publish")), chromedp.WaitVisible(chromedp.CSS(`#notice[data-done="publish"]`)))

	// Revisions: the list, the last change by default, any two compared field by field (the
	// body as a line diff), and a rollback after a confirmation.
	step("revisions", chromedp.Click(chromedp.CSS("#revisions-link")), chromedp.WaitVisible(chromedp.CSS("#revisions")))
	if got := text("#revisions tbody"); !strings.Contains(got, "create") || !strings.Contains(got, "publish") || !strings.Contains(got, "update") {
		t.Errorf("revisions list:\n%s", got)
	}
	checkAccessibility(t, ctx, "revisions")
	step("compare the first and the second revision",
		chromedp.Click(chromedp.CSS("#from-1")), chromedp.Click(chromedp.CSS("#to-2")),
		chromedp.Click(chromedp.CSS("#compare")),
		chromedp.WaitVisible(chromedp.CSS(`#diff-fields [data-field="title"]`)))
	if got := text("#diff-heading"); got != "Revision 1 → revision 2" {
		t.Errorf("diff heading %q", got)
	}
	if got := text(`#diff-fields [data-field="title"]`); !strings.Contains(got, "Sleeping after kratom (second session)") {
		t.Errorf("title change: %q", got)
	}
	step("compare the first and the overwrite",
		chromedp.Click(chromedp.CSS("#from-1")), chromedp.Click(chromedp.CSS("#to-3")),
		chromedp.Click(chromedp.CSS("#compare")))
	// The 1 → 2 page may list a summary change too: wait for the 1 → 3 page's heading.
	b.until("the 1 → 3 diff", `document.querySelector("#diff-heading")?.textContent === "Revision 1 → revision 3"`)
	if got := text(`#diff-fields [data-field="summary"]`); !strings.Contains(got, "How sleep comes back.") {
		t.Errorf("summary change: %q", got)
	}
	if got := text(`#diff-fields [data-field="body"] .line-diff`); !strings.Contains(got, "+ Ask a doctor about sleep.") || !strings.Contains(got, "+ ## Help") {
		t.Errorf("body line diff: %q", got)
	}
	checkAccessibility(t, ctx, "revisions with a diff")
	screenshot(t, ctx, "revisions")
	step("roll back to revision 1", chromedp.Click(chromedp.CSS("#rollback-1")), chromedp.WaitVisible(chromedp.CSS("#confirm-rollback")))
	if got := text("#diff-fields"); !strings.Contains(got, "How sleep comes back.") {
		t.Errorf("the rollback confirmation shows:\n%s", got)
	}
	checkAccessibility(t, ctx, "rollback confirmation")
	step("confirm", chromedp.Click(chromedp.CSS("#confirm-rollback")), chromedp.WaitVisible(chromedp.CSS(`#notice[data-done="rollback"]`)))
	if r := in.call(t, in.adminKey, "GET", "/v1/"+name, nil).must(t, 200); r.str("summary") != "" || r.body["acknowledgements"] != nil {
		t.Errorf("after the rollback to revision 1 the draft is: %s", r.raw)
	}

	// The Articles screen finds it by a part of its title, in another case.
	step("search titles",
		chromedp.Navigate(in.restURL+"/console/articles"),
		chromedp.WaitVisible(chromedp.CSS("#title-search")),
		chromedp.SendKeys(chromedp.CSS("#title-search"), "SLEEPING AFTER"),
		chromedp.Submit(chromedp.CSS("#title-search")),
		// The unfiltered list links the article too: wait for the filtered page (its input's
		// value attribute is the server's).
		chromedp.WaitReady(chromedp.CSS(`#title-search[value="SLEEPING AFTER"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#articles a[href="/console/`+name+`"]`)))
	if got := text("#articles tbody"); !strings.Contains(got, "Sleeping after kratom") || strings.Contains(got, "Kratom withdrawal") {
		t.Errorf("the title search lists:\n%s", got)
	}

	// A viewer sees the article without a write control, and a forged write is refused.
	r := in.call(t, in.adminKey, "POST", "/v1/users", map[string]any{
		"user": map[string]any{"email": "vera@beacon.test", "displayName": "Vera Viewer",
			"roles": []any{map[string]any{"role": "ROLE_VIEWER"}}},
	}).must(t, 200)
	viewer := newConsoleClient(t, in)
	viewer.signIn(t, "vera@beacon.test", r.str("generatedPassword")).must(t, http.StatusSeeOther)
	p := viewer.do(t, "GET", "/console/"+name, nil).must(t, 200, "Sleeping after kratom", "<fieldset class=\"plain\" disabled>")
	for _, control := range []string{`id="save-button"`, `id="preview-button"`, `id="publish"`, `id="delete"`, `id="unpublish"`, `acknowledge:`} {
		if strings.Contains(p.body, control) {
			t.Errorf("the viewer's editor has %s", control)
		}
	}
	p = viewer.do(t, "GET", "/console/"+name+"/revisions", nil).must(t, 200, `id="revisions"`)
	if strings.Contains(p.body, "Roll back to") {
		t.Error("the viewer's revisions offer a rollback")
	}
	etag := in.call(t, in.adminKey, "GET", "/v1/"+name, nil).must(t, 200).str("etag")
	viewer.do(t, "POST", "/console/"+name+"/unpublish", url.Values{"etag": {etag}}).must(t, http.StatusForbidden, "Your role does not allow this")
	viewer.do(t, "POST", "/console/"+name, url.Values{"etag": {etag}, "op": {"save"}, "title": {"Forged"}, "target_sites": {"kratom-help"}}).
		must(t, http.StatusForbidden, "Your role does not allow this")
	viewer.do(t, "POST", "/console/"+name+"/rollback", url.Values{"etag": {etag}, "revision_id": {"2"}}).must(t, http.StatusForbidden, "Your role does not allow this")
	if r := in.call(t, in.adminKey, "GET", "/v1/"+name, nil).must(t, 200); r.str("title") == "Forged" || r.str("state") != "STATE_PUBLISHED" || r.str("etag") != etag {
		t.Errorf("the viewer's forged writes changed the article: %s", r.raw)
	}

	step("sign out",
		chromedp.Click(chromedp.CSS(`form[action="/console/sign-out"] button`)),
		chromedp.WaitVisible(chromedp.CSS("#email")))
	if present("#article-form") {
		t.Error("the editor is still shown after sign-out")
	}
}

// bypassCSP turns Chromium's bypass of pages' Content-Security-Policy on or off for the
// documents the tab loads next.
func bypassCSP(enabled bool) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, page.SetBypassCSP, page.SetBypassCSPParams{Enabled: enabled})
		return err
	})
}
