package main_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// kratomSigns are the sign questions of the shipped kratom self-check, in order.
var kratomSigns = []string{"more-than-meant", "cut-down", "time", "craving", "obligations", "relationships", "given-up", "risky-situations", "health", "tolerance", "withdrawal"}

// publishKratomCheck posts the shipped kratom self-check for site through the gateway, publishes
// it and returns its name.
func publishKratomCheck(tb testing.TB, gw *instance, key, site string) string {
	tb.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "services", "screening", "internal", "instruments", "data", "kratom-self-check.json"))
	if err != nil {
		tb.Fatal(err)
	}
	var q map[string]any
	if err := json.Unmarshal(raw, &q); err != nil {
		tb.Fatal(err)
	}
	q["targetSites"] = []string{"sites/" + site}
	created := gw.call(tb, key, "POST", "/v1/questionnaires", q).must(tb, 200)
	name := created.str("name")
	gw.call(tb, key, "POST", "/v1/"+name+":publish", map[string]any{"etag": created.str("etag")}).must(tb, 200)
	return name
}

// scoreKratom scores the kratom self-check on site with yes "yes" answers (the first signs).
func scoreKratom(tb testing.TB, gw *instance, site string, yes int) response {
	tb.Helper()
	answers := []map[string]any{{"linkId": "used", "value": true}}
	for i, id := range kratomSigns {
		answers = append(answers, map[string]any{"linkId": id, "value": i < yes})
	}
	return gw.call(tb, "", "POST", "/v1/sites/"+site+"/screeners/kratom-self-check:score", map[string]any{"version": 1, "answers": answers})
}

// TestScreeningCountersSurviveARestart scores, stops beacon dev gracefully within the flush
// interval, starts it again and finds every screening counted.
func TestScreeningCountersSurviveARestart(t *testing.T) {
	dir := t.TempDir()
	in := startDev(t, dir)
	list := in.call(t, in.adminKey, "GET", "/v1/questionnaires?filter="+`slug%20%3D%20%22kratom-self-check%22`, nil).must(t, 200)
	qs, _ := list.body["questionnaires"].([]any)
	if len(qs) != 1 {
		t.Fatalf("beacon dev loaded %d kratom self-checks, want 1: %s", len(qs), list.raw)
	}
	name := qs[0].(map[string]any)["name"].(string)
	const screenings = 7 // over 4, so the total is shown exactly
	for range screenings {
		scoreKratom(t, in, "kratom-help", 1).must(t, 200)
	}
	in.stop(t) // at once: well within the 5 s flush interval, so only the final flush saves them
	in = startDev(t, dir)
	stats := in.call(t, in.adminKey, "GET", "/v1/"+name+"/stats", nil).must(t, 200)
	total, _ := stats.body["total"].(map[string]any)
	if total["display"] != "7" {
		t.Errorf("after a graceful restart the stats total is %v, want 7: %s", total, stats.raw)
	}
}

// TestScreeningLogsNoAnswers runs beacon dev at debug level, scores answers with distinctive
// values (accepted and refused ones), and finds none of them in any log line.
func TestScreeningLogsNoAnswers(t *testing.T) {
	in := startDev(t, t.TempDir(), "--log-level", "debug")
	const accepted, refused = "canary-accepted-5821", "canary-refused-9034"
	q := map[string]any{
		"title": "Canary check", "disclaimer": "A self-check, not a diagnosis.",
		"source":      map[string]any{"citation": "Written for a test.", "licenseName": "Public domain", "commercialUseAllowed": true},
		"targetSites": []string{"sites/kratom-help"},
		"items": []map[string]any{{"linkId": "mood", "text": "How is it?", "type": "TYPE_CHOICE", "required": true, "answerOptions": []map[string]any{
			{"value": accepted, "score": 1}, {"value": "fine", "score": 0}}}},
		"bands": []map[string]any{
			{"minScore": 0, "maxScore": 0, "code": "none", "title": "None", "severity": "SEVERITY_NONE"},
			{"minScore": 1, "code": "some", "title": "Some", "severity": "SEVERITY_SEVERE", "showCrisisLines": true,
				"recommendations": map[string]any{"articleTags": []string{"kratom"}, "resourceKinds": []string{"crisis_line"}}},
		},
	}
	created := in.call(t, in.adminKey, "POST", "/v1/questionnaires", q).must(t, 200)
	in.call(t, in.adminKey, "POST", "/v1/"+created.str("name")+":publish", map[string]any{}).must(t, 200)
	path := "/v1/sites/kratom-help/screeners/canary-check:score"
	ok := in.call(t, "", "POST", path, map[string]any{"version": 1, "answers": []map[string]any{{"linkId": "mood", "value": accepted}}}).must(t, 200)
	if !strings.Contains(string(ok.raw), `"code":"some"`) {
		t.Fatalf("canary score: %s", ok.raw)
	}
	bad := in.call(t, "", "POST", path, map[string]any{"version": 1, "answers": []map[string]any{{"linkId": "mood", "value": refused}}}).must(t, 400)
	if strings.Contains(string(bad.raw), refused) {
		t.Errorf("the 400 echoes the answer: %s", bad.raw)
	}
	in.call(t, "", "POST", path, []byte(`{"version": 1, "answers": [{"linkId": "mood", "value": `+refused+`}]}`)).must(t, 400)
	time.Sleep(200 * time.Millisecond) // let the last log lines arrive
	in.stop(t)
	logs := in.stderr.String()
	if !strings.Contains(logs, "level=DEBUG") {
		t.Fatalf("no debug lines logged; the test proves nothing:\n%s", logs)
	}
	for i, line := range strings.Split(logs, "\n") {
		for _, canary := range []string{accepted, refused} {
			if strings.Contains(line, canary) {
				t.Errorf("log line %d carries a submitted answer: %s", i+1, line)
			}
		}
	}
}
