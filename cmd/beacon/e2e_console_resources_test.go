package main_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestConsoleResourcesInBrowser drives the console's Resources and Directories screens in
// Chromium against the real binary: Home's stale resources, the filtered list, a new resource
// with a phone, hours and a location (first refused for its hours, the error beside the field
// it names), :verify in one click, a CSV import with its per-row report, a directory built
// from resources and reordered with the keyboard alone, and that directory on the delivery
// API. axe-core checks every screen; a viewer sees no write button and its forged writes are
// refused.
func TestConsoleResourcesInBrowser(t *testing.T) {
	in, b := signedInConsoleTab(t)
	ctx := b.ctx
	step, text, eval, until := b.do, b.text, b.evalString, b.until
	// The demo's resources last verified long ago are on Home, least recently verified first.
	if got := text("#stale-resources"); !strings.Contains(got, "Example Peer Support Group Denver") {
		t.Errorf("Home's stale resources:\n%s", got)
	}
	checkAccessibility(t, ctx, "home with stale resources")

	// The list, filtered by kind through the resources API's filter.
	step("open Resources", chromedp.Click(chromedp.CSS(`nav.sections a[href="/console/resources"]`)), chromedp.WaitVisible(chromedp.CSS("#resources")))
	if got := text("#resources tbody"); !strings.Contains(got, "988 Suicide & Crisis Lifeline") || !strings.Contains(got, "Example Peer Support Group Denver") {
		t.Errorf("Resources lists:\n%s", got)
	}
	step("filter by kind",
		chromedp.SetValue(chromedp.CSS("#kind"), "CRISIS_LINE"),
		chromedp.Submit(chromedp.CSS("#kind")),
		chromedp.WaitReady(chromedp.CSS(`#kind option[value="CRISIS_LINE"][selected]`)))
	if got := text("#resources tbody"); !strings.Contains(got, "988 Suicide & Crisis Lifeline") || strings.Contains(got, "Example Peer Support Group Denver") {
		t.Errorf("Resources filtered to crisis lines:\n%s", got)
	}
	step("stale only", chromedp.Navigate(in.restURL+"/console/resources?stale=true"), chromedp.WaitVisible(chromedp.CSS("#resources")))
	if got := text("#resources tbody"); !strings.Contains(got, "Example Peer Support Group Denver") || strings.Contains(got, "988 Suicide & Crisis Lifeline") {
		t.Errorf("stale resources:\n%s", got)
	}
	step("all", chromedp.Navigate(in.restURL+"/console/resources"), chromedp.WaitVisible(chromedp.CSS("#resources")))
	checkAccessibility(t, ctx, "resources")
	screenshot(t, ctx, "resources")

	// A new resource: hours the service refuses (closing before opening) first.
	step("new resource", chromedp.Click(chromedp.CSS("#new-resource")), chromedp.WaitVisible(chromedp.CSS("#display_name")))
	step("fill in the resource",
		chromedp.SendKeys(chromedp.CSS("#display_name"), "Browser test line (example data)"),
		chromedp.SetValue(chromedp.CSS("#kind"), "CRISIS_LINE"),
		chromedp.SendKeys(chromedp.CSS("#organization_name"), "Example Org"),
		chromedp.SendKeys(chromedp.CSS("#phone-0-number"), "(202) 555-0143"),
		chromedp.SendKeys(chromedp.CSS("#time_zone"), "America/Chicago"),
		chromedp.SetValue(chromedp.CSS("#period-0-day"), "MONDAY"),
		chromedp.SendKeys(chromedp.CSS("#period-0-opens"), "09:00"),
		chromedp.SendKeys(chromedp.CSS("#period-0-closes"), "08:00"),
		chromedp.SetValue(chromedp.CSS("#period-1-day"), "TUESDAY"),
		chromedp.SendKeys(chromedp.CSS("#period-1-opens"), "09:00"),
		chromedp.SendKeys(chromedp.CSS("#period-1-closes"), "17:00"),
		chromedp.SetValue(chromedp.CSS("#location-0-type"), "PHYSICAL"),
		chromedp.SendKeys(chromedp.CSS("#location-0-address_1"), "1 Example St"),
		chromedp.SendKeys(chromedp.CSS("#location-0-city"), "Austin"),
		chromedp.SendKeys(chromedp.CSS("#location-0-region"), "TX"),
		chromedp.SendKeys(chromedp.CSS("#location-0-country"), "US"),
		chromedp.SendKeys(chromedp.CSS("#location-0-latitude"), "30.2672"),
		chromedp.SendKeys(chromedp.CSS("#location-0-longitude"), "-97.7431"),
	)
	if eval(`document.querySelector('input[name="target_sites"][value="kratom-help"]').checked ? "yes" : "no"`) != "yes" {
		step("target kratom-help", chromedp.Click(chromedp.CSS(`input[name="target_sites"][value="kratom-help"]`)))
	}
	step("save with bad hours", chromedp.Click(chromedp.CSS("#save")), chromedp.WaitVisible(chromedp.CSS("#period-0-closes-error")))
	if got := text("#period-0-closes-error"); !strings.Contains(got, "hours.periods[0].closes") || !strings.Contains(got, "after opens") {
		t.Errorf("the refused closing time shows %q; want the field named and the service's reason", got)
	}
	if got := eval(`document.querySelector("#period-0-closes").getAttribute("aria-describedby") + "|" + document.querySelector("#display_name").value`); got != "period-0-closes-error|Browser test line (example data)" {
		t.Errorf("the refused field and the kept input: %q", got)
	}
	checkAccessibility(t, ctx, "resource editor with a refused field")
	step("fix the hours and save",
		chromedp.SetValue(chromedp.CSS("#period-0-closes"), "17:00"),
		chromedp.Click(chromedp.CSS("#save")),
		chromedp.WaitVisible(chromedp.CSS("#verify")))
	if got := text("#resource-note"); got != "Created." {
		t.Errorf("after saving: %q", got)
	}
	if got := eval(`[document.querySelector("#phone-0-number").value, document.querySelector("#period-0-closes").value, document.querySelector("#location-0-city").value].join("|")`); got != "+12025550143|17:00|Austin" {
		t.Errorf("the stored phone, hours and location read back as %q", got)
	}
	resourcePath := eval(`location.pathname`)
	checkAccessibility(t, ctx, "resource editor")
	screenshot(t, ctx, "resource-editor")

	// :verify in one click.
	step("verify", chromedp.Click(chromedp.CSS("#verify")))
	until("verify", `(document.querySelector("#resource-note")?.textContent ?? "").startsWith("Verified")`)
	today := time.Now().UTC().Format(time.DateOnly)
	if got := text("#verified"); !strings.Contains(got, today) || !strings.Contains(got, in.adminEmail) || strings.Contains(got, "stale") {
		t.Errorf("after :verify: %q; want today (%s) by the admin user", got, today)
	}

	// A CSV import: one good row, one refused, with the per-row report.
	csvPath := filepath.Join(t.TempDir(), "browser.csv")
	csv := "external_id,name,kind,phones,address_1,city,region,country,latitude,longitude,time_zone,hours\n" +
		"b-1,Browser import group (example data),SUPPORT_GROUP,voice:202-555-0144,2 Example St,Austin,TX,US,30.27,-97.74,America/Chicago,MO-FR 18:00-19:00\n" +
		"b-2,Refused row (example data),CRISIS_LINE,voice:12,,,,,,,,\n"
	if err := os.WriteFile(csvPath, []byte(csv), 0o644); err != nil {
		t.Fatal(err)
	}
	step("import form", chromedp.Navigate(in.restURL+"/console/resources/import"), chromedp.WaitVisible(chromedp.CSS("#file")))
	checkAccessibility(t, ctx, "import form")
	step("import",
		chromedp.SetValue(chromedp.CSS("#site"), "kratom-help"),
		chromedp.SetUploadFiles(chromedp.CSS("#file"), []string{csvPath}),
		chromedp.Click(chromedp.CSS("#import")),
		chromedp.WaitVisible(chromedp.CSS("#import-report")))
	if got := text("#import-summary"); got != "1 created, 0 updated, 1 skipped (1 refused) of 2 rows." {
		t.Errorf("import summary %q", got)
	}
	if got := text("#import-report tbody"); !strings.Contains(got, "csv/b-1") || !strings.Contains(got, "created") ||
		!strings.Contains(got, "csv/b-2") || !strings.Contains(got, "phones[0].number") {
		t.Errorf("per-row report:\n%s", got)
	}
	if got := text("#import-progress"); !strings.Contains(got, "All 2 rows processed.") {
		t.Errorf("the progress shows %q at the end", got)
	}
	checkAccessibility(t, ctx, "import report")

	// A directory of three resources, reordered with the keyboard alone.
	step("directories", chromedp.Click(chromedp.CSS(`nav.sections a[href="/console/directories"]`)), chromedp.WaitVisible(chromedp.CSS("#directories")))
	if got := text("#directories"); !strings.Contains(got, "Crisis lines") {
		t.Errorf("Directories lists:\n%s", got)
	}
	checkAccessibility(t, ctx, "directories")
	step("new directory", chromedp.Navigate(in.restURL+"/console/directories/new?site=kratom-help"), chromedp.WaitVisible(chromedp.CSS("#create-directory")))
	picked := eval(`[...document.querySelectorAll('input[name="entries"]')].filter(i => /^(988 Suicide|Browser test line|Browser import group)/.test(i.labels[0].textContent)).map(i => (i.click(), i.labels[0].textContent)).join("|")`)
	if strings.Count(picked, "|") != 2 {
		t.Fatalf("picked %q; want the 988 line, the new resource and the imported one", picked)
	}
	checkAccessibility(t, ctx, "new directory")
	step("create the directory",
		chromedp.SendKeys(chromedp.CSS("#title"), "Browser directory"),
		chromedp.Click(chromedp.CSS("#create-directory")),
		// The new-directory form has an #entries fieldset too: wait for the editor's entries.
		chromedp.WaitVisible(chromedp.CSS("#entries .entry-name a")))
	order := func() []string {
		t.Helper()
		got, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll("#entries .entry-name a")].map(a => a.textContent)`))
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	want := []string{"988 Suicide & Crisis Lifeline", "Browser import group (example data)", "Browser test line (example data)"}
	if got := order(); !slices.Equal(got, want) {
		t.Fatalf("the new directory lists %q, want %q", got, want)
	}
	// Focus the last entry's Move up button and press Enter twice: the focus stays on the
	// moved entry across the page loads, on the button that still works.
	step("focus the last entry", chromedp.Focus(chromedp.CSS(`button[aria-label="Move up: Browser test line (example data)"]`)))
	step("Enter", chromedp.KeyEvent("\r"))
	until("first move", `(document.querySelector("#directory-note")?.textContent ?? "").includes("now 2 of 3")`)
	// autofocus applies once the page has loaded, which may come after the note is there.
	until("after the first move, the focus on the moved entry's Move up", `document.activeElement?.getAttribute("aria-label") === "Move up: Browser test line (example data)"`)
	step("Enter again", chromedp.KeyEvent("\r"))
	until("second move", `(document.querySelector("#directory-note")?.textContent ?? "").includes("now 1 of 3")`)
	until("at the top, the focus on the moved entry's Move down (Move up is disabled)", `document.activeElement?.getAttribute("aria-label") === "Move down: Browser test line (example data)"`)
	want = []string{"Browser test line (example data)", "988 Suicide & Crisis Lifeline", "Browser import group (example data)"}
	if got := order(); !slices.Equal(got, want) {
		t.Errorf("after two moves up the directory lists %q, want %q", got, want)
	}
	checkAccessibility(t, ctx, "directory editor")
	screenshot(t, ctx, "directory")
	directoryPath := eval(`location.pathname`)

	// The delivery API serves the directory in that order.
	var delivered []string
	deadline := time.Now().Add(15 * time.Second)
	for {
		r := in.call(t, in.adminKey, "GET", "/v1/sites/kratom-help/directories/browser-directory", nil)
		delivered = delivered[:0]
		if r.status == http.StatusOK {
			var body struct {
				Entries []struct {
					Resource struct {
						DisplayName string `json:"displayName"`
					} `json:"resource"`
				} `json:"entries"`
			}
			if err := json.Unmarshal(r.raw, &body); err != nil {
				t.Fatalf("directory JSON: %v\n%s", err, r.raw)
			}
			for _, e := range body.Entries {
				delivered = append(delivered, e.Resource.DisplayName)
			}
		}
		if slices.Equal(delivered, want) || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if !slices.Equal(delivered, want) {
		t.Errorf("delivery lists the directory as %q, want %q", delivered, want)
	}

	// The picker: a name search (case-insensitive) offers the site's matching resources, one
	// page of them; Add puts the chosen one at the end.
	step("find a resource to add",
		chromedp.Navigate(in.restURL+directoryPath), chromedp.WaitVisible(chromedp.CSS("#find")),
		chromedp.SendKeys(chromedp.CSS("#find"), "HELPLINE"), chromedp.Submit(chromedp.CSS("#find")),
		// The value attribute is the server's: only the page of results has it.
		chromedp.WaitVisible(chromedp.CSS(`#find[value="HELPLINE"]`)))
	if got := text("#add-resource"); !strings.Contains(got, "SAMHSA's National Helpline") || strings.Contains(got, "988") || strings.Contains(got, "Browser") {
		t.Errorf("the picker finds for HELPLINE:\n%s", got)
	}
	checkAccessibility(t, ctx, "directory editor, resources found")
	step("add it", chromedp.Click(chromedp.CSS("#add-entry")))
	until("added", `(document.querySelector("#directory-note")?.textContent ?? "").includes("now 4 of 4")`)
	if got := order(); len(got) != 4 || got[3] != "SAMHSA's National Helpline" {
		t.Errorf("after Add the directory lists %q, want SAMHSA's National Helpline last", got)
	}
	if got := eval(`document.querySelector("#find")?.value ?? ""`); got != "HELPLINE" {
		t.Errorf("after Add the picker's search is %q, want it kept", got)
	}

	// The rule: crisis lines of the site, after the entries.
	step("a rule", chromedp.Click(chromedp.CSS("#rule_on")),
		chromedp.Click(chromedp.CSS(`input[name="rule_kinds"][value="CRISIS_LINE"]`)),
		chromedp.Click(chromedp.CSS("#save-rule")))
	until("rule saved", `(document.querySelector("#directory-note")?.textContent ?? "") === "Rule saved."`)
	if got := text("#rule-description"); !strings.Contains(got, "resources of the site with kind crisis line") {
		t.Errorf("the rule is described as %q", got)
	}
	checkAccessibility(t, ctx, "directory editor with a rule")
	stored := in.call(t, in.adminKey, "GET", "/v1/"+strings.TrimPrefix(directoryPath, "/console/"), nil).must(t, 200)
	if !strings.Contains(string(stored.raw), `"rule":{"kinds":["KIND_CRISIS_LINE"]`) {
		t.Errorf("the stored directory: %s", stored.raw)
	}

	// A viewer sees no write button, and its forged writes are refused by the service.
	r := in.call(t, in.adminKey, "POST", "/v1/users", map[string]any{"user": map[string]any{"email": "vera@beacon.test", "displayName": "Vera Viewer",
		"roles": []any{map[string]any{"role": "ROLE_VIEWER", "site": "sites/kratom-help"}}}}).must(t, 200)
	viewer := newConsoleClient(t, in)
	viewer.signIn(t, "vera@beacon.test", r.str("generatedPassword")).must(t, http.StatusSeeOther)
	list := viewer.do(t, "GET", "/console/resources", nil).must(t, 200, "Browser test line (example data)")
	for _, write := range []string{`/verify"`, `href="/console/resources/new"`, `href="/console/resources/import"`} {
		if strings.Contains(list.body, write) {
			t.Errorf("a viewer's Resources shows %s", write)
		}
	}
	editor := viewer.do(t, "GET", resourcePath, nil).must(t, 200, "can read resources but not change them")
	if strings.Contains(editor.body, `id="save"`) || strings.Contains(editor.body, `id="verify"`) {
		t.Error("a viewer's resource editor has write buttons")
	}
	dir := viewer.do(t, "GET", directoryPath, nil).must(t, 200, "Browser test line (example data)")
	if strings.Contains(dir.body, "Move up") || strings.Contains(dir.body, `id="add-resource"`) || strings.Contains(dir.body, `id="save-directory"`) {
		t.Error("a viewer's directory editor has write buttons")
	}
	etag := regexp.MustCompile(`name="etag" value="([^"]*)"`).FindStringSubmatch(editor.body)
	dirEtag := regexp.MustCompile(`name="etag" value="([^"]*)"`).FindStringSubmatch(dir.body)
	if etag == nil || dirEtag == nil {
		t.Fatal("no etag in the viewer's pages")
	}
	viewer.do(t, "POST", resourcePath+"/verify", url.Values{"etag": {etag[1]}}).must(t, http.StatusForbidden, "Your role does not allow this")
	viewer.do(t, "POST", resourcePath, url.Values{"etag": {etag[1]}, "display_name": {"Forged"}, "kind": {"CHAT"}, "target_sites": {"kratom-help"}}).
		must(t, http.StatusForbidden, "Your role does not allow this")
	viewer.do(t, "POST", directoryPath+"/entries", url.Values{"etag": {dirEtag[1]}, "op": {"down"}, "index": {"0"}}).
		must(t, http.StatusForbidden, "Your role does not allow this")
	viewer.do(t, "POST", "/console/directories", url.Values{"site": {"kratom-help"}, "title": {"Forged"}, "entries": {strings.TrimPrefix(resourcePath, "/console/resources/")}}).
		must(t, http.StatusForbidden, "Your role does not allow this")
	after := in.call(t, in.adminKey, "GET", "/v1/"+strings.TrimPrefix(resourcePath, "/console/"), nil).must(t, 200)
	if after.str("displayName") != "Browser test line (example data)" || after.str("etag") != etag[1] {
		t.Errorf("the viewer's forged writes changed the resource: %s", after.raw)
	}
}
