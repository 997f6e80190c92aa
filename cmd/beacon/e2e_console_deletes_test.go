package main_test

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestConsoleDeletesInBrowser deletes an article, a resource and a directory in Chromium, each
// through its confirmation page with the keyboard alone (the confirm button focused, Enter),
// sees each soft-deleted (the REST API agrees) and undeletes it; Cancel deletes nothing. It then
// sets a site's allowed CORS origins: a bad one is refused beside the textarea, naming it, and a
// good one is saved. axe-core checks the new pages.
func TestConsoleDeletesInBrowser(t *testing.T) {
	in, b := signedInConsoleTab(t)
	css := func(sel string) chromedp.CSS { return chromedp.CSS(sel) }
	article := in.call(t, in.adminKey, "POST", "/v1/articles", map[string]any{"title": "A draft to delete", "targetSites": []string{"sites/kratom-help"}}).must(t, 200).str("name")
	resource := in.call(t, in.adminKey, "POST", "/v1/resources", map[string]any{"displayName": "A line to delete (example data)", "kind": "KIND_CRISIS_LINE",
		"phones": []map[string]any{{"number": "(512) 555-0100"}}, "targetSites": []string{"sites/kratom-help"}}).must(t, 200).str("name")
	directory := in.call(t, in.adminKey, "POST", "/v1/directories", map[string]any{"title": "A directory to delete", "site": "sites/kratom-help",
		"entries": []map[string]any{{"resource": resource}}}).must(t, 200).str("name")

	// confirmByKeyboard opens path's editor, presses its Delete button, checks the
	// confirmation page, and confirms with the keyboard: focus the button, Enter.
	confirmByKeyboard := func(what, path, heading string) {
		t.Helper()
		b.do("open the "+what, chromedp.Navigate(in.restURL+path), chromedp.WaitVisible(css("#delete")))
		b.do("delete the "+what, chromedp.Click(css("#delete")), chromedp.WaitVisible(css("#confirm")))
		if got := b.text("h1"); got != heading {
			t.Errorf("the %s's Delete opens %q, want the confirmation %q", what, got, heading)
		}
		checkAccessibility(t, b.ctx, what+" delete confirmation")
		b.do("confirm with the keyboard", chromedp.Focus(css("#confirm")), chromedp.KeyEvent("\r"))
		b.until(what+" deleted", `document.querySelector("#undelete") !== null`)
	}

	// Cancel deletes nothing.
	b.do("open the article", chromedp.Navigate(in.restURL+"/console/"+article), chromedp.WaitVisible(css("#delete")))
	b.do("delete, then cancel", chromedp.Click(css("#delete")), chromedp.WaitVisible(css("#confirm")), chromedp.Click(css(`form.confirm a`)))
	b.until("back in the editor", `document.querySelector("#save-button") !== null`)
	if r := in.call(t, in.adminKey, "GET", "/v1/"+article, nil).must(t, 200); r.body["deleteTime"] != nil {
		t.Fatalf("Cancel deleted the article: %s", r.raw)
	}

	confirmByKeyboard("article", "/console/"+article, "Delete an article")
	if r := in.call(t, in.adminKey, "GET", "/v1/"+article, nil).must(t, 200); r.body["deleteTime"] == nil {
		t.Errorf("the confirmed delete left the article live: %s", r.raw)
	}
	b.do("undelete the article", chromedp.Click(css("#undelete")), chromedp.WaitVisible(css(`#notice[data-done="undelete"]`)))

	confirmByKeyboard("resource", "/console/"+resource, "Delete a resource")
	if got := b.text("#deleted"); !strings.Contains(got, "This resource was deleted on") {
		t.Errorf("the deleted resource's editor says %q", got)
	}
	if b.present("#save") || b.present("#verify") {
		t.Error("a deleted resource's editor offers Save or Verify")
	}
	checkAccessibility(t, b.ctx, "deleted resource")
	if r := in.call(t, in.adminKey, "GET", "/v1/"+resource, nil).must(t, 200); r.body["deleteTime"] == nil {
		t.Errorf("the confirmed delete left the resource live: %s", r.raw)
	}
	b.do("list deleted resources", chromedp.Navigate(in.restURL+"/console/resources?deleted=include"), chromedp.WaitVisible(css("#resources")))
	if got := b.text("#resources tbody"); !strings.Contains(got, "A line to delete (example data) deleted") {
		t.Errorf("Resources with deleted ones listed:\n%s", got)
	}
	b.do("back to it", chromedp.Navigate(in.restURL+"/console/"+resource), chromedp.WaitVisible(css("#undelete")))
	b.do("undelete the resource", chromedp.Click(css("#undelete")), chromedp.WaitVisible(css("#save")))
	if got := b.text("#resource-note"); !strings.Contains(got, "Undeleted") {
		t.Errorf("after Undelete the resource's editor says %q", got)
	}

	confirmByKeyboard("directory", "/console/"+directory, "Delete a directory")
	if b.present("#add-resource") || b.present("#save-directory") || b.present("button[aria-label^='Move']") {
		t.Error("a deleted directory's editor offers changes")
	}
	in.call(t, "", "GET", "/v1/sites/kratom-help/directories/a-directory-to-delete", nil).must(t, 404)
	b.do("undelete the directory", chromedp.Click(css("#undelete")), chromedp.WaitVisible(css("#save-directory")))
	in.call(t, "", "GET", "/v1/sites/kratom-help/directories/a-directory-to-delete", nil).must(t, 200)

	// A site's allowed CORS origins: a bad one named beside the field, then a good one saved.
	b.do("open the site", chromedp.Navigate(in.restURL+"/console/sites/kratom-help"), chromedp.WaitVisible(css("#allowed_origins")))
	b.do("a bad origin", chromedp.SetValue(css("#allowed_origins"), "https://app.example.org\nftp://files.example.org"),
		chromedp.Click(css("#save-site")), chromedp.WaitVisible(css("#allowed_origins-error")))
	if got := b.text("#allowed_origins-error"); !strings.Contains(got, "origin 2, ftp://files.example.org:") {
		t.Errorf("the refused origin is shown as %q", got)
	}
	checkAccessibility(t, b.ctx, "site with a refused origin")
	b.do("a good origin", chromedp.SetValue(css("#allowed_origins"), "https://app.example.org"),
		chromedp.Click(css("#save-site")), chromedp.WaitVisible(css("#site-saved")))
	site := in.call(t, in.adminKey, "GET", "/v1/sites/kratom-help", nil).must(t, 200)
	if got, _ := site.body["allowedOrigins"].([]any); len(got) != 1 || got[0] != "https://app.example.org" {
		t.Errorf("the site's allowed origins are %v", site.body["allowedOrigins"])
	}
}
