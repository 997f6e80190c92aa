package fhir_test

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/beaconcms/beacon/services/screening/internal/domain"
	"github.com/beaconcms/beacon/services/screening/internal/fhir"
	"github.com/beaconcms/beacon/services/screening/internal/instruments"
)

const schemaID = "http://hl7.org/fhir/json-schema/4.0"

var (
	schemaOnce sync.Once
	schema     *jsonschema.Schema
	schemaErr  error
)

// r4Schema compiles the official FHIR R4 JSON schema (testdata/README.md) once per test binary.
func r4Schema(t testing.TB) *jsonschema.Schema {
	t.Helper()
	schemaOnce.Do(func() {
		f, err := os.Open("testdata/fhir.schema.json.gz")
		if err != nil {
			schemaErr = err
			return
		}
		defer f.Close()
		zr, err := gzip.NewReader(f)
		if err != nil {
			schemaErr = err
			return
		}
		doc, err := jsonschema.UnmarshalJSON(zr)
		if err != nil {
			schemaErr = err
			return
		}
		c := jsonschema.NewCompiler()
		if schemaErr = c.AddResource(schemaID, doc); schemaErr != nil {
			return
		}
		schema, schemaErr = c.Compile(schemaID)
	})
	if schemaErr != nil {
		t.Fatalf("FHIR R4 schema: %v", schemaErr)
	}
	return schema
}

func validate(t testing.TB, raw []byte) error {
	t.Helper()
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("export is not JSON: %v", err)
	}
	return r4Schema(t).Validate(inst)
}

// everyFeature uses every item type, operator kind and behaviour the export maps.
func everyFeature() domain.Content {
	yes := []domain.AnswerOption{{Value: "true", Display: "Yes", Score: 2}, {Value: "false", Display: "No", Score: 0}}
	return domain.Content{
		Title: "Every feature", Description: "Plain text.", Instructions: "Think of the **past month**.",
		Disclaimer: "Not a diagnosis.", Source: domain.Source{Citation: "Tests.", LicenseName: "CC0"},
		Items: []domain.Item{
			{LinkID: "intro", Text: "Hello", Type: domain.ItemDisplay},
			{LinkID: "scored-bool", Text: "Scored yes/no?", Type: domain.ItemBoolean, Required: true, Options: yes},
			{LinkID: "plain-bool", Text: "Plain yes/no?", Type: domain.ItemBoolean},
			{LinkID: "days", Text: "Days?", Type: domain.ItemInteger},
			{LinkID: "times", Text: "Times?", Type: domain.ItemInteger, Options: []domain.AnswerOption{{Value: "0", Score: 0}, {Value: "3", Score: -1}}},
			{LinkID: "freq", Text: "How often?", Type: domain.ItemChoice, Options: []domain.AnswerOption{{Value: "never", Display: "Never"}, {Value: "daily", Display: "Daily", Score: 3}}},
			{LinkID: "g", Type: domain.ItemGroup, EnableBehavior: domain.EnableAny, EnableWhen: []domain.EnableWhen{
				{Question: "scored-bool", Operator: domain.OpEquals, Answer: "true"},
				{Question: "plain-bool", Operator: domain.OpNotEquals, Answer: "false"},
				{Question: "days", Operator: domain.OpGreaterOrEqual, Answer: "10"},
				{Question: "freq", Operator: domain.OpEquals, Answer: "daily"},
				{Question: "times", Operator: domain.OpExists, Answer: "true"},
			}, Items: []domain.Item{
				{LinkID: "g.1", Text: "Inside?", Type: domain.ItemBoolean, Options: yes},
			}},
		},
	}
}

func TestExportValidatesAgainstTheR4Schema(t *testing.T) {
	all, err := instruments.All()
	if err != nil {
		t.Fatal(err)
	}
	contents := map[string]domain.Content{"every-feature": everyFeature()}
	for _, in := range all {
		contents[in.Name] = in.Content
	}
	for name, c := range contents {
		t.Run(name, func(t *testing.T) {
			raw, err := fhir.Export(fhir.Meta{ID: name, Version: 3, Published: true, PublishTime: time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)}, c)
			if err != nil {
				t.Fatal(err)
			}
			if err := validate(t, raw); err != nil {
				t.Fatalf("export does not validate against the FHIR R4 schema: %v\n%s", err, raw)
			}
			// Every option carries its score as an itemWeight.
			var q struct {
				ResourceType, Status, Version string
				Item                          []json.RawMessage
			}
			if err := json.Unmarshal(raw, &q); err != nil {
				t.Fatal(err)
			}
			if q.ResourceType != "Questionnaire" || q.Status != "active" || q.Version != "3" {
				t.Errorf("resourceType %q status %q version %q", q.ResourceType, q.Status, q.Version)
			}
			if want, got := countOptions(c.Items), strings.Count(string(raw), `"url": "`+fhir.ItemWeightURL+`"`); got != want {
				t.Errorf("%d itemWeight extensions for %d options", got, want)
			}
		})
	}
}

func countOptions(items []domain.Item) int {
	n := 0
	for _, it := range items {
		n += len(it.Options) + countOptions(it.Items)
	}
	return n
}

func TestExportMapsScoresAndConditions(t *testing.T) {
	raw, err := fhir.Export(fhir.Meta{ID: "x", Version: 1}, everyFeature())
	if err != nil {
		t.Fatal(err)
	}
	s := string(raw)
	for _, want := range []string{
		`"status": "draft"`,
		`"linkId": "scored-bool",` + "\n      \"text\": \"Scored yes/no?\",\n      \"type\": \"choice\"",
		`"linkId": "plain-bool",` + "\n      \"text\": \"Plain yes/no?\",\n      \"type\": \"boolean\"",
		`"valueDecimal": -1`,
		`"valueInteger": 3`,
		`"enableBehavior": "any"`,
		`"operator": "\u003e="`,
		`"answerInteger": 10`,
		`"answerCoding": {` + "\n            \"code\": \"true\"",
		`"answerBoolean": false`,
	} {
		if !strings.Contains(s, want) {
			t.Errorf("export lacks %s", want)
		}
	}
}

// TestSchemaCatchesBadResources shows the schema check can fail: an unknown property, a wrong
// item type and a misspelt extension value are each refused.
func TestSchemaCatchesBadResources(t *testing.T) {
	raw, err := fhir.Export(fhir.Meta{ID: "x", Version: 1}, everyFeature())
	if err != nil {
		t.Fatal(err)
	}
	for name, bad := range map[string]string{
		"unknown property": strings.Replace(string(raw), `"title":`, `"titel":`, 1),
		"unknown type":     strings.Replace(string(raw), `"type": "choice"`, `"type": "multiple-choice"`, 1),
		"bad extension":    strings.Replace(string(raw), `"valueDecimal":`, `"valueDecimals":`, 1),
		"bad status":       strings.Replace(string(raw), `"status": "draft"`, `"status": "live"`, 1),
	} {
		if bad == string(raw) {
			t.Fatalf("%s: replacement did not apply", name)
		}
		if err := validate(t, []byte(bad)); err == nil {
			t.Errorf("%s: the schema accepted it", name)
		}
	}
}
