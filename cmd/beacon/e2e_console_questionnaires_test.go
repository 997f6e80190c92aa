package main_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestConsoleQuestionnairesInBrowser builds a questionnaire in the console's editor in Chromium:
// an enableWhen item and bands, the live coverage flagging a gap and then none, sample answers
// tried (a severe one shows crisis lines, none is counted), publishing, the delivery API serving
// it, the version history and the statistics with a suppressed count. axe-core checks every
// page; a viewer sees no write button and a forged write is refused.
func TestConsoleQuestionnairesInBrowser(t *testing.T) {
	in, b := signedInConsoleTab(t)
	ctx := b.ctx
	step, text, present := b.do, b.text, b.present
	css := func(sel string) chromedp.CSS { return chromedp.CSS(sel) }

	step("open Questionnaires", chromedp.Click(css(`nav.sections a[href="/console/questionnaires"]`)), chromedp.WaitVisible(css("#questionnaires")))
	if got := text("#questionnaires tbody"); !strings.Contains(got, "published") || !strings.Contains(got, "kratom-help") {
		t.Errorf("the list does not show the demo's published instruments:\n%s", got)
	}
	checkAccessibility(t, ctx, "questionnaires")

	// A new questionnaire: q1, and q2 asked only when q1 is yes.
	step("new", chromedp.Click(css("#new-questionnaire")), chromedp.WaitVisible(css("#questionnaire-form")))
	step("about",
		chromedp.SendKeys(css("#f-title"), "Browser self-check"),
		chromedp.SetValue(css("#f-target-sites"), "kratom-help"),
		chromedp.SendKeys(css("#f-items-0-text"), "Have you used kratom in the past month?"))
	step("add an item", chromedp.Click(css("#add-item")), chromedp.WaitVisible(css("#f-items-1-text")))
	step("second item",
		chromedp.SendKeys(css("#f-items-1-text"), "Have you wanted to cut down?"),
		chromedp.SetValue(css("#f-items-1-answer-options-0-score"), "2"))
	step("add a condition", chromedp.Click(css(`button[value="add-condition-1"]`)), chromedp.WaitVisible(css("#f-items-1-enable-when-0-question")))
	step("condition",
		chromedp.SendKeys(css("#f-items-1-enable-when-0-question"), "q1"),
		chromedp.SendKeys(css("#f-items-1-enable-when-0-answer"), "true"))
	// Totals 0 (no), 1 (yes, no) and 3 (yes, yes). Band 2 ending at 1 leaves 3 uncovered:
	// the panel says so as the editor types (chromedp.SetValue fires input events too).
	step("band 2 ends at 1", chromedp.SendKeys(css("#f-bands-1-max-score"), "1"), chromedp.WaitVisible(css("#coverage-gaps")))
	if got := text("#coverage-gaps"); !strings.Contains(got, "no band covers 3") {
		t.Errorf("the coverage panel shows %q, want the gap at 3", got)
	}
	if got := text("#reachable"); got != "0–1, 3" {
		t.Errorf("reachable totals %q, want 0–1, 3 (the enableWhen rules out 2)", got)
	}
	checkAccessibility(t, ctx, "questionnaire editor")
	step("scroll to the top", chromedp.Evaluate[chromedp.Void](`window.scrollTo(0, 0)`))
	screenshot(t, ctx, "questionnaire-editor")

	step("add a band", chromedp.Click(css("#add-band")), chromedp.WaitVisible(css("#f-bands-2-code")))
	step("severe band",
		chromedp.SendKeys(css("#f-bands-2-code"), "many"),
		chromedp.SendKeys(css("#f-bands-2-title"), "Many signs"),
		chromedp.SetValue(css("#f-bands-2-severity"), "severe"),
		chromedp.Click(css("#f-bands-2-show-crisis-lines")),
		chromedp.SendKeys(css("#f-bands-2-result-text"), "Talking to someone can help. You do not have to do this alone."),
		chromedp.SetValue(css("#f-bands-2-min-score"), "2"),
		chromedp.WaitVisible(css("#coverage-complete")),
		chromedp.WaitVisible(css("#coverage-valid")))
	// The unsaved form has an #editor-note too ("Not saved yet"): wait for the saved page's.
	step("save", chromedp.Click(css("#save")))
	b.until("saved", `document.querySelector("#editor-note")?.textContent === "Created as a draft."`)
	if got := text(".meta"); !strings.Contains(got, "draft") {
		t.Errorf("header %q", got)
	}
	editorURL, err := chromedp.Run(ctx, chromedp.Evaluate[string](`location.pathname`))
	if err != nil {
		t.Fatal(err)
	}
	name := strings.TrimPrefix(editorURL, "/console/")
	checkAccessibility(t, ctx, "questionnaire editor, saved")

	// Try it: a refused combination, a low result, and a severe one with crisis lines.
	step("open Try it", chromedp.Click(css(`a[href="/console/`+name+`/try"]`)), chromedp.WaitVisible(css("#try-form")))
	step("q2 without q1", chromedp.SetValue(css("#answer-0"), "false"), chromedp.SetValue(css("#answer-1"), "true"),
		chromedp.Click(css("#try-score")), chromedp.WaitVisible(css("#answer-1-error")))
	if got := text("#answer-1-error"); !strings.Contains(got, "not enabled") {
		t.Errorf("the refused answer shows %q", got)
	}
	step("low", chromedp.SetValue(css("#answer-0"), "true"), chromedp.SetValue(css("#answer-1"), "false"),
		chromedp.Click(css("#try-score")), chromedp.WaitVisible(css("#try-result")))
	if got := text("#band-title"); got != "Some signs" || present("#crisis-lines") {
		t.Errorf("q1 yes, q2 no gives %q (crisis lines shown: %v), want Some signs without them", got, present("#crisis-lines"))
	}
	step("severe", chromedp.SetValue(css("#answer-1"), "true"), chromedp.Click(css("#try-score")), chromedp.WaitVisible(css("#crisis-lines")))
	if got := text("#band-title"); got != "Many signs" {
		t.Errorf("q1 yes, q2 yes gives %q, want Many signs", got)
	}
	if got := text("#try-result"); !strings.Contains(got, "Talking to someone can help.") || !strings.Contains(got, "not a diagnosis") || !strings.Contains(got, "Score 3 of at most 3") {
		t.Errorf("the reader's view:\n%s", got)
	}
	if got := text("#crisis-lines"); !strings.Contains(got, "988") {
		t.Errorf("crisis lines: %q, want the site's 988 line", got)
	}
	checkAccessibility(t, ctx, "try it")
	screenshot(t, ctx, "questionnaire-try")

	// Publish, and the delivery API serves it.
	step("publish", chromedp.Navigate(in.restURL+"/console/"+name), chromedp.WaitVisible(css("#publish")),
		chromedp.Click(css("#publish")), chromedp.WaitVisible(css("#editor-note")))
	if got := text("#editor-note"); !strings.Contains(got, "Published version 1") {
		t.Errorf("after Publish: %q", got)
	}
	served := in.call(t, "", "GET", "/v1/sites/kratom-help/screeners/browser-self-check", nil).must(t, 200)
	if served.str("title") != "Browser self-check" || served.str("name") != name {
		t.Errorf("the delivery API serves %s", served.raw)
	}
	step("versions", chromedp.Click(css(`a[href="/console/`+name+`/versions"]`)), chromedp.WaitVisible(css("#revisions")))
	if got := text("#published-versions"); !strings.Contains(got, "Version 1, published") {
		t.Errorf("published versions: %q", got)
	}
	checkAccessibility(t, ctx, "version history")

	// Once published, Try it scores the same answers with the published version too.
	step("try the published", chromedp.Navigate(in.restURL+"/console/"+name+"/try"), chromedp.WaitVisible(css("#try-form")),
		chromedp.SetValue(css("#answer-0"), "true"), chromedp.SetValue(css("#answer-1"), "true"),
		chromedp.Click(css("#try-score")), chromedp.WaitVisible(css("#try-published")))
	if got := text("#try-published"); !strings.Contains(got, "Published version 1, the same answers") || !strings.Contains(got, "Many signs") ||
		!strings.Contains(got, "The same score and band as the draft.") {
		t.Errorf("the published version's result:\n%s", got)
	}
	checkAccessibility(t, ctx, "try it, with the published version")

	// Statistics: the tries above were not counted; six severe screenings and one other are,
	// the one shown suppressed.
	stats := in.call(t, in.adminKey, "GET", "/v1/"+name+"/stats", nil).must(t, 200)
	if total, _ := stats.body["total"].(map[string]any); total["display"] != "0" {
		t.Fatalf("tries were counted: %s", stats.raw)
	}
	score := func(q2 bool) {
		in.call(t, "", "POST", "/v1/sites/kratom-help/screeners/browser-self-check:score", map[string]any{"version": 1,
			"answers": []map[string]any{{"linkId": "q1", "value": true}, {"linkId": "q2", "value": q2}}}).must(t, 200)
	}
	for range 6 {
		score(true)
	}
	score(false)
	deadline := time.Now().Add(20 * time.Second)
	for {
		stats = in.call(t, in.adminKey, "GET", "/v1/"+name+"/stats", nil).must(t, 200)
		counted := map[string]any{}
		bandTotals, _ := stats.body["bandTotals"].([]any)
		for _, bt := range bandTotals {
			m, _ := bt.(map[string]any)
			count, _ := m["count"].(map[string]any)
			counted[m["key"].(string)] = count["display"]
		}
		if counted["many"] == "6" && counted["some"] != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the screenings were not counted within 20 s: %s", stats.raw)
		}
		time.Sleep(500 * time.Millisecond)
	}
	step("stats", chromedp.Click(css(`a[href="/console/`+name+`/stats"]`)), chromedp.WaitVisible(css("#band-totals")))
	bands := text("#band-totals")
	if !strings.Contains(bands, "many") || !strings.Contains(bands, "6") || !strings.Contains(bands, "suppressed") {
		t.Errorf("band totals:\n%s\nwant many 6 and the single other screening suppressed", bands)
	}
	if !present("#suppression-note") || !present("#day-cells") {
		t.Errorf("the stats page lacks the suppression note or the day table")
	}
	checkAccessibility(t, ctx, "statistics")
	screenshot(t, ctx, "questionnaire-stats")

	// A viewer reads but sees no write button, and a forged write is refused by the service.
	r := in.call(t, in.adminKey, "POST", "/v1/users", map[string]any{
		"user": map[string]any{"email": "quest-viewer@beacon.test", "displayName": "Quinn Viewer",
			"roles": []any{map[string]any{"role": "ROLE_VIEWER", "site": "sites/kratom-help"}}},
	}).must(t, 200)
	viewer := newConsoleClient(t, in)
	viewer.signIn(t, "quest-viewer@beacon.test", r.str("generatedPassword")).must(t, http.StatusSeeOther)
	page := viewer.do(t, "GET", "/console/"+name, nil).must(t, 200, "Browser self-check", "your role does not allow changes")
	for _, button := range []string{`id="save"`, `id="publish"`, `value="add-item"`, `value="remove-item-0"`, `id="new-questionnaire"`} {
		if strings.Contains(page.body, button) {
			t.Errorf("a viewer is shown %s", button)
		}
	}
	if list := viewer.do(t, "GET", "/console/questionnaires", nil).must(t, 200, "Browser self-check"); strings.Contains(list.body, `id="new-questionnaire"`) {
		t.Error("a viewer is offered a new questionnaire")
	}
	forged := url.Values{"op": {"save"}, "title": {"Forged by a viewer"}, "target_sites": {"kratom-help"}}
	viewer.do(t, "POST", "/console/"+name, forged).must(t, http.StatusForbidden, "role")
	viewer.do(t, "POST", "/console/"+name+"/publish", url.Values{}).must(t, http.StatusForbidden, "role")
	viewer.do(t, "POST", "/console/questionnaires/new", forged).must(t, http.StatusForbidden, "role")
	if got := in.call(t, in.adminKey, "GET", "/v1/"+name, nil).must(t, 200); got.str("title") != "Browser self-check" {
		t.Errorf("the viewer's forged save changed the title to %q", got.str("title"))
	}
}

// TestConsoleQuestionnaireGroupsInBrowser edits a group's items in the questionnaire editor in
// Chromium, without its script doing anything but the live coverage: a group added with its
// first question, a second question added inside it with a condition on a top-level item,
// one edited, one moved (the focus stays on the moved item's button), the live coverage
// counting the nested questions' scores, a save, a reload that shows them, a nested
// violation shown beside its input, and axe-core on the page with the group.
func TestConsoleQuestionnaireGroupsInBrowser(t *testing.T) {
	in, b := signedInConsoleTab(t)
	ctx := b.ctx
	step, text, value := b.do, b.text, b.value
	css := func(sel string) chromedp.CSS { return chromedp.CSS(sel) }

	step("new", chromedp.Navigate(in.restURL+"/console/questionnaires/new"), chromedp.WaitVisible(css("#questionnaire-form")))
	step("about",
		chromedp.SendKeys(css("#f-title"), "Grouped self-check"),
		chromedp.SetValue(css("#f-target-sites"), "kratom-help"),
		chromedp.SendKeys(css("#f-items-0-text"), "Have you used kratom in the past month?"))
	// A group comes with its first question (q3 in group q2), the group's text focused.
	step("add a group", chromedp.Click(css("#add-group")), chromedp.WaitVisible(css("#f-items-1-items-0-text")))
	// autofocus applies once the page has loaded, which may come after the wait above.
	b.until("after adding a group, the focus on the group's text", `document.activeElement !== null && document.activeElement.id === "f-items-1-text"`)
	step("the group and its first item",
		chromedp.SendKeys(css("#f-items-1-text"), "About cutting down"),
		chromedp.SendKeys(css("#f-items-1-items-0-text"), "Have you wanted to cut down?"),
		chromedp.SetValue(css("#f-items-1-items-0-answer-options-0-score"), "2"))
	step("add a second item to the group", chromedp.Click(css(`button[value="add-child-1"]`)), chromedp.WaitVisible(css("#f-items-1-items-1-text")))
	if got := value("#f-items-1-items-1-link-id"); got != "q4" {
		t.Errorf("the second item of the group is %q, want q4", got)
	}
	b.until("after adding an item, the focus on its link id", `document.activeElement !== null && document.activeElement.id === "f-items-1-items-1-link-id"`)
	step("second item", chromedp.SendKeys(css("#f-items-1-items-1-text"), "Have you used more than you meant to?"))
	step("its condition", chromedp.Click(css(`button[value="add-condition-1.1"]`)), chromedp.WaitVisible(css("#f-items-1-items-1-enable-when-0-question")))
	step("condition on a top-level item",
		chromedp.SendKeys(css("#f-items-1-items-1-enable-when-0-question"), "q1"),
		chromedp.SendKeys(css("#f-items-1-items-1-enable-when-0-answer"), "true"))
	// Edit the first: its text changes (the posted form carries the edit through the move).
	step("edit the first item", chromedp.Clear(css("#f-items-1-items-0-text")), chromedp.SendKeys(css("#f-items-1-items-0-text"), "Have you tried to cut down?"))
	// Move the second up: it becomes item 2.1, and the focus stays on it (on "down", as it is
	// now first).
	step("move q4 up", chromedp.Click(css(`button[value="up-1.1"]`)), chromedp.WaitVisible(css(`button[value="down-1.0"][autofocus]`)))
	b.until("after the move, the focus on the moved item's Move down", `document.activeElement !== null && document.activeElement.value === "down-1.0"`)
	if got := text("#editor-note"); !strings.Contains(got, "Moved q4: now item 2.1, 1 of 2 in its list.") {
		t.Errorf("the status line after the move: %q", got)
	}
	if first, second := value("#f-items-1-items-0-link-id"), value("#f-items-1-items-1-link-id"); first != "q4" || second != "q3" {
		t.Errorf("the group's items after the move: %s, %s; want q4, q3", first, second)
	}
	// Totals: q1 0|1, q3 0|2, q4 0|1 only after q1 yes: 0 to 4. The nested scores count.
	step("touch the form", chromedp.SetValue(css("#f-items-1-items-1-answer-options-0-score"), "2"))
	b.until("coverage of the nested scores", `document.querySelector("#reachable")?.textContent === "0–4"`)
	step("coverage complete", chromedp.WaitVisible(css("#coverage-complete")), chromedp.WaitVisible(css("#coverage-valid")))
	checkAccessibility(t, ctx, "questionnaire editor with a group")

	step("save", chromedp.Click(css("#save")))
	b.until("saved", `document.querySelector("#editor-note")?.textContent === "Created as a draft."`)
	editorURL, err := chromedp.Run(ctx, chromedp.Evaluate[string](`location.pathname`))
	if err != nil {
		t.Fatal(err)
	}
	step("reload", chromedp.Navigate(in.restURL+editorURL), chromedp.WaitVisible(css("#f-items-1-items-1-text")))
	for sel, want := range map[string]string{
		"#f-items-1-type": "group", "#f-items-1-text": "About cutting down",
		"#f-items-1-items-0-link-id": "q4", "#f-items-1-items-0-text": "Have you used more than you meant to?",
		"#f-items-1-items-0-enable-when-0-question": "q1", "#f-items-1-items-0-enable-when-0-answer": "true",
		"#f-items-1-items-1-link-id": "q3", "#f-items-1-items-1-text": "Have you tried to cut down?",
		"#f-items-1-items-1-answer-options-0-score": "2",
	} {
		if got := value(sel); got != want {
			t.Errorf("after reload %s = %q, want %q", sel, got, want)
		}
	}
	name := strings.TrimPrefix(editorURL, "/console/")
	stored := in.call(t, in.adminKey, "GET", "/v1/"+name, nil).must(t, 200)
	items, _ := stored.body["items"].([]any)
	if len(items) != 2 {
		t.Fatalf("the service stored %s", stored.raw)
	}
	if group, _ := items[1].(map[string]any); group["type"] != "TYPE_GROUP" || len(group["items"].([]any)) != 2 {
		t.Errorf("the stored group: %v", group)
	}
	checkAccessibility(t, ctx, "questionnaire editor with a saved group")

	// A nested item's violation shows beside its input.
	step("empty a nested text", chromedp.Clear(css("#f-items-1-items-1-text")), chromedp.Click(css("#save")), chromedp.WaitVisible(css("#f-items-1-items-1-text-error")))
	if got := text("#problems"); !strings.Contains(got, "items[1].items[1].text") {
		t.Errorf("the summary: %q", got)
	}
	if got := b.evalString(`document.querySelector("#f-items-1-items-1-text").getAttribute("aria-describedby")`); got != "f-items-1-items-1-text-error" {
		t.Errorf("the nested input is described by %q", got)
	}
	checkAccessibility(t, ctx, "questionnaire editor with a nested violation")
}
