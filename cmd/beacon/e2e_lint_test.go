package main_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// TestLintOverREST drives the clinical-claim lint through the real REST edge of `beacon dev`: a
// site's lint_tuning setting is validated against the embedded rules (400 naming the entry),
// resources, directories and questionnaires return their findings and refuse an error naming
// the field, the site's tuning applies to each, and the scheduler refuses to publish an article
// that the site's tuning turned into an error after it was scheduled, recording why.
func TestLintOverREST(t *testing.T) {
	in := startDev(t, t.TempDir())
	admin := in.adminKey
	in.call(t, admin, "POST", "/v1/sites?siteId=lint-site", map[string]any{
		"displayName": "Lint Site", "baseUrl": "https://lint.example.org", "publishGates": false,
	}).must(t, 200)
	tune := func(t *testing.T, tuning map[string]any) response {
		t.Helper()
		return in.call(t, admin, "PATCH", "/v1/sites/lint-site?updateMask=lintTuning", map[string]any{"lintTuning": tuning})
	}
	const warn = "For people who want to stay clean, with peer support."

	t.Run("the site setting is validated on write", func(t *testing.T) {
		r := tune(t, map[string]any{"disabledRules": []string{"no-such-rule"}}).must(t, 400)
		if !strings.Contains(compactJSON(r.raw), `"field":"site.lint_tuning.disabled_rules[0]"`) {
			t.Errorf("unknown rule: %s, want the entry named", r.raw)
		}
		r = tune(t, map[string]any{"ruleSeverities": map[string]any{"stigma-soft-term": "SEVERITY_UNSPECIFIED"}}).must(t, 400)
		if !strings.Contains(compactJSON(r.raw), `site.lint_tuning.rule_severities[\"stigma-soft-term\"]`) {
			t.Errorf("unspecified severity: %s, want the entry named", r.raw)
		}
		ok := tune(t, map[string]any{"disabledRules": []string{"stigma-soft-term"}}).must(t, 200)
		if got := ok.body["lintTuning"].(map[string]any)["disabledRules"].([]any); len(got) != 1 || got[0] != "stigma-soft-term" {
			t.Errorf("lintTuning as written: %s", ok.raw)
		}
	})

	var resourceName, questionnaireName string
	t.Run("findings are returned; an error refuses the write", func(t *testing.T) {
		res := in.call(t, admin, "POST", "/v1/resources", map[string]any{
			"displayName": "Peer circle", "kind": "KIND_SUPPORT_GROUP", "website": "https://peer.example.org",
			"description": warn, "targetSites": []string{"sites/lint-site"},
		}).must(t, 200)
		resourceName = res.str("name")
		fs, _ := res.body["lintFindings"].([]any)
		if len(fs) != 1 || fs[0].(map[string]any)["ruleId"] != "stigmatising-clean-dirty" || fs[0].(map[string]any)["field"] != "description" ||
			fs[0].(map[string]any)["severity"] != "SEVERITY_WARNING" || fs[0].(map[string]any)["match"] != "clean" {
			t.Errorf("resource lintFindings: %s", res.raw)
		}
		got := in.call(t, admin, "GET", "/v1/"+resourceName, nil).must(t, 200)
		if fs, _ := got.body["lintFindings"].([]any); len(fs) != 1 {
			t.Errorf("GET resource lintFindings: %s", got.raw)
		}
		r := in.call(t, admin, "PATCH", "/v1/"+resourceName+"?updateMask=eligibility", map[string]any{"etag": res.str("etag"), "eligibility": "Open to addicts."}).must(t, 400)
		if r.body["code"] != float64(9) || !strings.Contains(compactJSON(r.raw), `"type":"LINT_STIGMATISING_TERM","subject":"resource.eligibility"`) {
			t.Errorf("resource with an error: %s", r.raw)
		}

		dir := in.call(t, admin, "POST", "/v1/directories", map[string]any{
			"title": "Peer groups", "intro": warn, "site": "sites/lint-site", "entries": []map[string]any{{"resource": resourceName}},
		}).must(t, 200)
		if fs, _ := dir.body["lintFindings"].([]any); len(fs) != 1 || fs[0].(map[string]any)["field"] != "intro" {
			t.Errorf("directory lintFindings: %s", dir.raw)
		}

		list := in.call(t, admin, "GET", "/v1/questionnaires?filter="+`slug%20%3D%20%22kratom-self-check%22`, nil).must(t, 200)
		q := list.body["questionnaires"].([]any)[0].(map[string]any)
		questionnaireName = q["name"].(string)
		moved := in.call(t, admin, "PATCH", "/v1/"+questionnaireName+"?updateMask=targetSites,disclaimer", map[string]any{
			"etag": q["etag"], "targetSites": []string{"sites/lint-site"}, "disclaimer": "A self-check, not a diagnosis. " + warn,
		}).must(t, 200)
		fs, _ = moved.body["lintFindings"].([]any)
		if len(fs) != 1 || fs[0].(map[string]any)["field"] != "disclaimer" || fs[0].(map[string]any)["ruleId"] != "stigmatising-clean-dirty" {
			t.Errorf("questionnaire lintFindings: %s", moved.raw)
		}
		r = in.call(t, admin, "PATCH", "/v1/"+questionnaireName+"?updateMask=disclaimer", map[string]any{
			"etag": moved.str("etag"), "disclaimer": "A self-check for addicts.",
		}).must(t, 400)
		if !strings.Contains(compactJSON(r.raw), `"subject":"questionnaire.disclaimer"`) {
			t.Errorf("questionnaire with an error: %s", r.raw)
		}
	})

	t.Run("the site's tuning applies to resources, directories and questionnaires", func(t *testing.T) {
		tune(t, map[string]any{"ruleSeverities": map[string]any{"stigmatising-clean-dirty": "SEVERITY_ERROR"}}).must(t, 200)
		r := in.call(t, admin, "POST", "/v1/resources", map[string]any{
			"displayName": "Another circle", "kind": "KIND_SUPPORT_GROUP", "website": "https://circle.example.org",
			"description": warn, "targetSites": []string{"sites/lint-site"},
		}).must(t, 400)
		if !strings.Contains(compactJSON(r.raw), `"type":"LINT_STIGMATISING_CLEAN_DIRTY","subject":"resource.description"`) {
			t.Errorf("resource under the site's tuning: %s", r.raw)
		}
		got := in.call(t, admin, "GET", "/v1/"+resourceName, nil).must(t, 200)
		if fs, _ := got.body["lintFindings"].([]any); len(fs) != 1 || fs[0].(map[string]any)["severity"] != "SEVERITY_ERROR" {
			t.Errorf("the saved resource read under the new tuning: %s", got.raw)
		}
		r = in.call(t, admin, "POST", "/v1/directories", map[string]any{
			"title": "More groups", "intro": warn, "site": "sites/lint-site", "entries": []map[string]any{{"resource": resourceName}},
		}).must(t, 400)
		if !strings.Contains(compactJSON(r.raw), `"subject":"directory.intro"`) {
			t.Errorf("directory under the site's tuning: %s", r.raw)
		}
		r = in.call(t, admin, "POST", "/v1/"+questionnaireName+":publish", map[string]any{}).must(t, 400)
		if !strings.Contains(compactJSON(r.raw), `"type":"LINT_STIGMATISING_CLEAN_DIRTY","subject":"questionnaire.disclaimer"`) {
			t.Errorf("questionnaire publish under the site's tuning: %s", r.raw)
		}
		tune(t, map[string]any{}).must(t, 200)

		// Back to a warning: publishing needs an acknowledgement.
		r = in.call(t, admin, "POST", "/v1/"+questionnaireName+":publish", map[string]any{}).must(t, 400)
		if !strings.Contains(compactJSON(r.raw), `"type":"LINT_STIGMATISING_CLEAN_DIRTY","subject":"questionnaire.disclaimer","description":"not acknowledged`) {
			t.Errorf("publish with an unacknowledged warning: %s", r.raw)
		}
		cur := in.call(t, admin, "GET", "/v1/"+questionnaireName, nil).must(t, 200)
		acked := in.call(t, admin, "PATCH", "/v1/"+questionnaireName+"?updateMask=acknowledgements", map[string]any{"etag": cur.str("etag"),
			"acknowledgements": []map[string]any{{"ruleId": "stigmatising-clean-dirty", "reviewer": "Dr. Rev", "reason": "the readers' own words"}}}).must(t, 200)
		if fs, _ := acked.body["lintFindings"].([]any); len(fs) != 1 || fs[0].(map[string]any)["acknowledged"] != true {
			t.Errorf("after the acknowledgement: %s", acked.raw)
		}
		in.call(t, admin, "POST", "/v1/"+questionnaireName+":publish", map[string]any{"etag": acked.str("etag")}).must(t, 200)
	})

	t.Run("the scheduler re-checks the lint at publish time", func(t *testing.T) {
		a := in.call(t, admin, "POST", "/v1/articles", map[string]any{
			"title": "Sleep comes back", "body": "## Sleep\n\nAfter a relapse, sleep comes back slowly.", "targetSites": []string{"sites/lint-site"},
		}).must(t, 200)
		name := a.str("name")
		at := time.Now().Add(2 * time.Second).UTC().Format(time.RFC3339Nano)
		in.call(t, admin, "POST", "/v1/"+name+":schedule", map[string]any{"publishTime": at}).must(t, 200)
		tune(t, map[string]any{"ruleSeverities": map[string]any{"stigma-soft-term": "SEVERITY_ERROR"}}).must(t, 200)
		deadline := time.Now().Add(15 * time.Second)
		var got response
		for {
			got = in.call(t, admin, "GET", "/v1/"+name, nil).must(t, 200)
			if got.body["scheduleFailure"] != nil || got.str("state") != "STATE_SCHEDULED" || time.Now().After(deadline) {
				break
			}
			time.Sleep(200 * time.Millisecond)
		}
		if got.str("state") != "STATE_DRAFT" || got.body["scheduleFailure"] == nil ||
			!strings.Contains(compactJSON(got.raw), `"type":"LINT_STIGMA_SOFT_TERM","subject":"article.body"`) {
			t.Fatalf("after its time: %s; want a draft with the schedule failure naming LINT_STIGMA_SOFT_TERM", got.raw)
		}
		time.Sleep(1500 * time.Millisecond) // more scheduler rounds: nothing retries it
		if again := in.call(t, admin, "GET", "/v1/"+name, nil).must(t, 200); again.str("etag") != got.str("etag") {
			t.Errorf("the article changed after the refusal: %s", again.raw)
		}
		if logs := in.stderr.String(); !strings.Contains(logs, "scheduled publish refused") || strings.Contains(logs, "relapse") {
			t.Errorf("scheduler log: want the refusal logged without the article's text; logs:\n%s", logs)
		}
	})
}

// compactJSON is raw with the gateway's spaces after ':' and ',' removed, so tests can look for
// a key and value pair as one string.
func compactJSON(raw []byte) string {
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		return string(raw)
	}
	return b.String()
}
