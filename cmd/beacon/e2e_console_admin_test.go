package main_test

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestConsoleAdminInBrowser drives the admin screens in Chromium: an admin creates an API key
// (its secret shown once, gone on reload), uses and revokes it over REST; creates an editor of
// one site, who signs in in another browser context, sees only that site's content and no
// admin screen (a forged admin request is refused by the service), changes their password,
// and is signed out when the admin disables them; the admin edits a site's settings through an
// etag conflict. axe-core checks every screen.
func TestConsoleAdminInBrowser(t *testing.T) {
	in, admin := newConsoleTab(t)
	ctx := admin.ctx

	// A second site with an article of its own, which an editor of kratom-help must not see.
	in.call(t, in.adminKey, "POST", "/v1/sites?siteId=quit-help", map[string]any{"displayName": "Quit Help", "baseUrl": "https://quit-help.example.org"}).must(t, 200)
	in.call(t, in.adminKey, "POST", "/v1/articles", map[string]any{"title": "Only on quit-help", "targetSites": []string{"sites/quit-help"}}).must(t, 200)
	in.call(t, in.adminKey, "POST", "/v1/articles", map[string]any{"title": "A kratom-help draft", "targetSites": []string{"sites/kratom-help"}}).must(t, 200)

	admin.signIn(in.restURL, in.adminEmail, in.adminPassword)
	for _, id := range []string{"#nav-sites", "#nav-keys", "#nav-users", "#nav-account"} {
		if !admin.present(id) {
			t.Errorf("the admin's navigation lacks %s", id)
		}
	}

	// API keys: create one; its secret is shown once, with a working copy button.
	admin.do("open API keys", chromedp.Click(chromedp.CSS("#nav-keys")), chromedp.WaitVisible(chromedp.CSS("#new-key-heading")))
	checkAccessibility(t, ctx, "API keys")
	admin.do("create a key",
		chromedp.SendKeys(chromedp.CSS("#display_name"), "Browser test key"),
		chromedp.SetValue(chromedp.CSS("#role"), "ROLE_VIEWER"),
		chromedp.Submit(chromedp.CSS("#display_name")),
		chromedp.WaitVisible(chromedp.CSS("#secret")))
	secret := admin.value("#secret")
	if !strings.HasPrefix(secret, "bk_") || len(secret) < 40 {
		t.Fatalf("the created key's secret is %q", secret)
	}
	admin.do("copy the secret", chromedp.WaitVisible(chromedp.CSS(`button[data-copy="secret"]`)), chromedp.Click(chromedp.CSS(`button[data-copy="secret"]`)),
		chromedp.Poll[chromedp.Void](`document.querySelector('[data-copy-status="secret"]').textContent !== ""`))
	if got := admin.text(`[data-copy-status="secret"]`); got != "Copied to the clipboard." && !strings.HasPrefix(got, "Copying failed") {
		t.Errorf("the copy button reports %q", got)
	}
	checkAccessibility(t, ctx, "API keys with a new secret")
	screenshot(t, ctx, "keys")
	in.call(t, secret, "GET", "/v1/sites", nil).must(t, 200)

	// Reloading shows the list without the secret, and creates no second key.
	admin.do("reload", chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS("#keys")))
	if admin.present("#secret") || strings.Contains(eval[string](admin, `document.documentElement.outerHTML`), secret) {
		t.Errorf("the secret is shown again after a reload")
	}
	if n := eval[int](admin, `[...document.querySelectorAll("#keys tbody td:first-child")].filter(td => td.textContent === "Browser test key").length`); n != 1 {
		t.Errorf("%d keys labelled 'Browser test key' after the reload, want 1 (a reload must not create another)", n)
	}

	// Revoke it, through the confirmation; REST then refuses its secret.
	admin.do("revoke", chromedp.Click(chromedp.CSS(`a[aria-label="Revoke Browser test key"]`)), chromedp.WaitVisible(chromedp.CSS("#confirm")))
	checkAccessibility(t, ctx, "revoke confirmation")
	admin.do("confirm revoke", chromedp.Click(chromedp.CSS("#confirm")), chromedp.WaitVisible(chromedp.CSS("#revoked-note")))
	in.call(t, secret, "GET", "/v1/sites", nil).must(t, 401)

	// Users: create an editor of kratom-help with a generated password.
	admin.do("open Users", chromedp.Click(chromedp.CSS("#nav-users")), chromedp.WaitVisible(chromedp.CSS("#new-user-heading")))
	checkAccessibility(t, ctx, "users")
	admin.do("create a user",
		chromedp.SendKeys(chromedp.CSS("#email"), "ed@beacon.test"),
		chromedp.SendKeys(chromedp.CSS("#display_name"), "Ed Itor"),
		chromedp.SetValue(chromedp.CSS("#role"), "ROLE_EDITOR"),
		chromedp.SetValue(chromedp.CSS("#site"), "kratom-help"),
		chromedp.Submit(chromedp.CSS("#email")),
		chromedp.WaitVisible(chromedp.CSS("#secret")))
	password := admin.value("#secret")
	if len(password) < 12 {
		t.Fatalf("generated password %q", password)
	}
	if got := admin.text("#users tbody"); !strings.Contains(got, "ed@beacon.test") || !strings.Contains(got, "editor on kratom-help") {
		t.Errorf("the users list:\n%s", got)
	}
	checkAccessibility(t, ctx, "users with a new password")
	screenshot(t, ctx, "users")

	// The editor, in another browser: only kratom-help's content, no admin screen.
	ed := tab{t, newIsolatedTab(t, ctx)}
	ed.signIn(in.restURL, "ed@beacon.test", password)
	if got := ed.text(".account p"); !strings.Contains(got, "editor on kratom-help") {
		t.Errorf("the editor's account line: %q", got)
	}
	for _, id := range []string{"#nav-sites", "#nav-keys", "#nav-users"} {
		if ed.present(id) {
			t.Errorf("the editor is shown the admin link %s", id)
		}
	}
	ed.do("editor's articles", chromedp.Navigate(in.restURL+"/console/articles?size=100"), chromedp.WaitVisible(chromedp.CSS("#articles")))
	if got := ed.text("#articles tbody"); !strings.Contains(got, "A kratom-help draft") || strings.Contains(got, "Only on quit-help") {
		t.Errorf("the editor of kratom-help sees:\n%s", got)
	}
	ed.do("editor opens API keys", chromedp.Navigate(in.restURL+"/console/keys"), chromedp.WaitVisible(chromedp.CSS(".error")))
	if got := ed.text(".error"); !strings.Contains(got, "Your role does not allow this") {
		t.Errorf("the editor on /console/keys sees %q", got)
	}
	// A forged admin request from the editor's page: the access service refuses it.
	forged := eval[int](ed, `fetch("/console/users", {method: "POST", headers: {"Content-Type": "application/x-www-form-urlencoded"},
		body: "email=mallory%40beacon.test&display_name=M&role=ROLE_ADMIN&site="}).then(r => r.status)`)
	if forged != 403 {
		t.Errorf("the editor's forged create of an admin answered %d, want 403", forged)
	}
	in.call(t, in.adminKey, "GET", "/v1/users/mallory@beacon.test", nil).must(t, 404)

	// The editor changes their own password: every session ends; the new one signs in.
	ed.do("account", chromedp.Navigate(in.restURL+"/console/account"), chromedp.WaitVisible(chromedp.CSS("#current_password")))
	checkAccessibility(t, ctx, "my account")
	ed.do("wrong current password",
		chromedp.SendKeys(chromedp.CSS("#current_password"), "not my password"),
		chromedp.SendKeys(chromedp.CSS("#new_password"), "Ed's own passphrase"),
		chromedp.SendKeys(chromedp.CSS("#new_password_again"), "Ed's own passphrase"),
		chromedp.Submit(chromedp.CSS("#current_password")),
		chromedp.WaitVisible(chromedp.CSS("#current_password-error")))
	ed.do("change password",
		chromedp.SendKeys(chromedp.CSS("#current_password"), password),
		chromedp.SendKeys(chromedp.CSS("#new_password"), "Ed's own passphrase"),
		chromedp.SendKeys(chromedp.CSS("#new_password_again"), "Ed's own passphrase"),
		chromedp.Submit(chromedp.CSS("#current_password")),
		chromedp.WaitVisible(chromedp.CSS("#sign-in-notice")))
	ed.do("home after the change", chromedp.Navigate(in.restURL+"/console/"), chromedp.WaitVisible(chromedp.CSS("#email")))
	ed.signIn(in.restURL, "ed@beacon.test", "Ed's own passphrase")

	// The admin disables the editor, through the confirmation: the editor's session ends.
	admin.do("open the editor's page", chromedp.Navigate(in.restURL+"/console/users/ed@beacon.test"), chromedp.WaitVisible(chromedp.CSS("#roles")))
	checkAccessibility(t, ctx, "user")
	// Roles per site: the editor also becomes a viewer of quit-help.
	rowOf := eval[string](admin, `[...document.querySelectorAll("#roles tbody tr")].find(tr => tr.textContent.includes("quit-help")).querySelector("select").id`)
	admin.do("set roles", chromedp.SetValue(chromedp.CSS("#"+rowOf), "ROLE_VIEWER"), chromedp.Click(chromedp.CSS("#save-roles")),
		chromedp.WaitVisible(chromedp.CSS("#user-notice")))
	roles := in.call(t, in.adminKey, "GET", "/v1/users/ed@beacon.test", nil).must(t, 200)
	if got := string(roles.raw); !strings.Contains(got, `"site":"sites/quit-help"`) || !strings.Contains(got, `"ROLE_VIEWER"`) ||
		!strings.Contains(got, `"site":"sites/kratom-help"`) {
		t.Errorf("after setting roles the user is %s", got)
	}
	admin.do("disable", chromedp.Click(chromedp.CSS("#disable-user")), chromedp.WaitVisible(chromedp.CSS("#confirm")),
		chromedp.Click(chromedp.CSS("#confirm")), chromedp.WaitVisible(chromedp.CSS("#user-notice")))
	if got := admin.text("#user-state"); !strings.HasPrefix(got, "disabled since") {
		t.Errorf("the user's state after disabling: %q", got)
	}
	ed.do("editor after being disabled", chromedp.Navigate(in.restURL+"/console/articles"), chromedp.WaitVisible(chromedp.CSS("#email")))
	if got := ed.text("h1"); got != "Sign in" {
		t.Errorf("the disabled editor sees %q, want the sign-in page", got)
	}

	// Sites: edit kratom-help's crisis line; a bad URL is named beside its input; a change made
	// meanwhile over REST is shown, and saving again overwrites it knowingly.
	admin.do("open Sites", chromedp.Click(chromedp.CSS("#nav-sites")), chromedp.WaitVisible(chromedp.CSS("#sites")))
	checkAccessibility(t, ctx, "sites")
	admin.do("open kratom-help", chromedp.Click(chromedp.CSS(`a[href="/console/sites/kratom-help"]`)), chromedp.WaitVisible(chromedp.CSS("#crisis_line_text")))
	checkAccessibility(t, ctx, "site settings")
	admin.do("bad base URL",
		chromedp.SetValue(chromedp.CSS("#base_url"), "ftp://kratom-help.example.org"),
		chromedp.Submit(chromedp.CSS("#base_url")), chromedp.WaitVisible(chromedp.CSS("#base_url-error")))
	checkAccessibility(t, ctx, "site settings with a refused value")
	admin.do("reopen", chromedp.Navigate(in.restURL+"/console/sites/kratom-help"), chromedp.WaitVisible(chromedp.CSS("#crisis_line_text")))
	in.call(t, in.adminKey, "PATCH", "/v1/sites/kratom-help?updateMask=displayName", map[string]any{"displayName": "Kratom Help (renamed meanwhile)"}).must(t, 200)
	admin.do("save over a change made meanwhile",
		chromedp.SetValue(chromedp.CSS("#crisis_line_text"), "Call or text 988, any time"),
		chromedp.Submit(chromedp.CSS("#crisis_line_text")), chromedp.WaitVisible(chromedp.CSS("#site-form-error")))
	if got := admin.text("#display_name-saved"); !strings.Contains(got, "Kratom Help (renamed meanwhile)") {
		t.Errorf("the conflict shows %q for the name saved meanwhile", got)
	}
	admin.do("save again", chromedp.Submit(chromedp.CSS("#crisis_line_text")), chromedp.WaitVisible(chromedp.CSS("#site-saved")))
	site := in.call(t, in.adminKey, "GET", "/v1/sites/kratom-help", nil).must(t, 200)
	if site.str("crisisLineText") != "Call or text 988, any time" || site.str("displayName") == "Kratom Help (renamed meanwhile)" {
		t.Errorf("after overwriting knowingly the site is %s", site.raw)
	}
}
