package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/beaconcms/beacon/gen/openapi"
)

// loadDocument loads and validates the committed OpenAPI 3 document with kin-openapi.
func loadDocument(tb testing.TB) *openapi3.T {
	tb.Helper()
	doc, err := openapi3.NewLoader().LoadFromData(openapi.JSON)
	if err != nil {
		tb.Fatalf("load gen/openapi/beacon.openapi.json: %v", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		tb.Fatalf("gen/openapi/beacon.openapi.json is not valid OpenAPI 3: %v", err)
	}
	return doc
}

// TestDocument checks the committed document: valid OpenAPI 3 (kin-openapi's validator), with
// its metadata, readable resource paths, PATCH bodies that require nothing and carry an
// updateMask, and the XML routes typed as XML.
func TestDocument(t *testing.T) {
	doc := loadDocument(t)
	if !strings.HasPrefix(doc.OpenAPI, "3.") || doc.Info.Title != "Beacon API" || doc.Info.Version != "v1" || doc.Info.Description == "" {
		t.Errorf("openapi %q, info %+v", doc.OpenAPI, doc.Info)
	}
	if len(doc.Servers) == 0 || doc.Servers[0].URL == "" {
		t.Errorf("servers = %v", doc.Servers)
	}
	scheme := doc.Components.SecuritySchemes["bearerAuth"]
	if scheme == nil || scheme.Value.Type != "http" || scheme.Value.Scheme != "bearer" {
		t.Fatalf("no bearer security scheme: %+v", doc.Components.SecuritySchemes)
	}
	if len(doc.Security) != 1 || doc.Security[0]["bearerAuth"] == nil {
		t.Errorf("document security = %v, want the bearer key", doc.Security)
	}

	for _, path := range []string{"/v1/articles/{article}", "/v1/sites/{site}", "/v1/resources/{resource}", "/v1/directories/{directory}",
		"/v1/questionnaires/{questionnaire}", "/v1/users/{user}", "/v1/apiKeys/{apiKey}:revoke",
		"/v1/sites/{site}/articles", "/v1/sites/{site}/articles/{slug}", "/v1/sites/{site}/feed.xml", "/openapi.json", "/healthz"} {
		if doc.Paths.Value(path) == nil {
			t.Errorf("no path %s", path)
		}
	}
	generic := regexp.MustCompile(`\{name|_\d+\}|\{[a-z]+ie\}`)
	patches := 0
	for path, item := range doc.Paths.Map() {
		if generic.MatchString(path) {
			t.Errorf("path %s is not one readable path per resource", path)
		}
		for method, op := range item.Operations() {
			if op.OperationID == "" || op.Description == "" {
				t.Errorf("%s %s: operationId %q, description %q", method, path, op.OperationID, op.Description)
			}
			for _, p := range op.Parameters {
				if p.Value.In == "path" && !strings.Contains(path, "{"+p.Value.Name+"}") {
					t.Errorf("%s %s: path parameter %s is not in the path", method, path, p.Value.Name)
				}
			}
		}
		if op := item.Patch; op != nil {
			patches++
			if op.Parameters.GetByInAndName("query", "updateMask") == nil {
				t.Errorf("PATCH %s has no updateMask parameter", path)
			}
			body := op.RequestBody.Value.Content.Get("application/json")
			if body == nil || body.Schema.Value == nil || len(body.Schema.Value.Required) != 0 || len(body.Schema.Value.Properties) == 0 {
				t.Errorf("PATCH %s body = %+v, want an object without required fields", path, body)
			}
		}
	}
	if patches != 5 {
		t.Errorf("%d PATCH operations, want 5 (sites, articles, resources, directories, questionnaires)", patches)
	}
	// The create of a site still requires what a site must have.
	create := doc.Paths.Value("/v1/sites").Post.RequestBody.Value.Content.Get("application/json").Schema.Value
	if len(create.Required) == 0 {
		t.Errorf("POST /v1/sites body requires nothing: the PATCH change leaked into the shared schema")
	}

	for path, mediaType := range map[string]string{"/v1/sites/{site}/sitemap.xml": "application/xml", "/v1/sites/{site}/feed.xml": "application/atom+xml"} {
		ok := doc.Paths.Value(path).Get.Responses.Status(200).Value
		if mt := ok.Content.Get(mediaType); mt == nil || mt.Schema.Value.Type.Is("string") == false || ok.Content.Get("application/json") != nil {
			t.Errorf("GET %s answers %v, want %s only", path, ok.Content, mediaType)
		}
	}
	delivery := doc.Paths.Value("/v1/sites/{site}/articles/{slug}").Get
	if delivery.Security == nil || len(*delivery.Security) != 2 {
		t.Errorf("delivery security = %v, want the key optional", delivery.Security)
	}
	if spec := doc.Paths.Value("/openapi.json").Get; spec.Security == nil || len(*spec.Security) != 0 {
		t.Errorf("/openapi.json security = %v, want none", spec.Security)
	}
}

// TestConvertRefuses: the generator fails on what it cannot type rather than writing a wrong
// document.
func TestConvertRefuses(t *testing.T) {
	base := `{"swagger":"2.0","info":{"title":"x","version":"1"},"consumes":["application/json"],"produces":["application/json"],
		"definitions":{"apiHttpBody":{"type":"object"},"v1Thing":{"type":"object","required":["a"],"properties":{"a":{"type":"string"}}}},"paths":{%s}}`
	tests := []struct {
		name, paths, wantErr string
	}{
		{"unknown HttpBody route", `"/v1/things:dump":{"get":{"operationId":"Dump","responses":{"200":{"description":"ok","schema":{"$ref":"#/definitions/apiHttpBody"}}}}}`,
			"add it to httpBodyTypes"},
		{"PATCH without updateMask", `"/v1/things/{thing}":{"patch":{"operationId":"Update","parameters":[{"name":"thing","in":"path","required":true,"type":"string"},
			{"name":"thing","in":"body","required":true,"schema":{"$ref":"#/definitions/v1Thing"}}],"responses":{"200":{"description":"ok"}}}}`,
			"no updateMask"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := convert([]byte(strings.Replace(base, "%s", tt.paths, 1)))
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("convert = %v, want an error containing %q", err, tt.wantErr)
			}
		})
	}
}

// TestConvertFixes: singular path parameters, PATCH bodies without required fields (a copy, so
// the shared schema keeps them), XML routes.
func TestConvertFixes(t *testing.T) {
	src := `{"swagger":"2.0","info":{"title":"x","version":"1"},"consumes":["application/json"],"produces":["application/json"],
		"definitions":{"apiHttpBody":{"type":"object"},"v1Directory":{"type":"object","required":["title"],"properties":{"title":{"type":"string"}}}},
		"paths":{
		"/v1/directories":{"post":{"operationId":"Create","summary":"Create.","parameters":[{"name":"directory","in":"body","required":true,"schema":{"$ref":"#/definitions/v1Directory"}}],"responses":{"200":{"description":"ok","schema":{"$ref":"#/definitions/v1Directory"}}}}},
		"/v1/directories/{directorie}":{"patch":{"operationId":"Update","summary":"Update.","parameters":[{"name":"directorie","in":"path","required":true,"type":"string"},
			{"name":"directory","in":"body","required":true,"schema":{"$ref":"#/definitions/v1Directory"}},{"name":"updateMask","in":"query","type":"string"}],
			"responses":{"200":{"description":"ok","schema":{"$ref":"#/definitions/v1Directory"}}}}},
		"/v1/sites/{site}/sitemap.xml":{"get":{"operationId":"Sitemap","summary":"Sitemap.","parameters":[{"name":"site","in":"path","required":true,"type":"string"}],
			"responses":{"200":{"description":"ok","schema":{"$ref":"#/definitions/apiHttpBody"}}}}}}}`
	out, err := convert([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	doc, err := openapi3.NewLoader().LoadFromData(out)
	if err != nil {
		t.Fatal(err)
	}
	item := doc.Paths.Value("/v1/directories/{directory}")
	if item == nil || item.Patch.Parameters.GetByInAndName("path", "directory") == nil {
		t.Fatalf("paths %v: want /v1/directories/{directory} with its parameter", doc.Paths.InMatchingOrder())
	}
	if req := item.Patch.RequestBody.Value.Content.Get("application/json").Schema; req.Ref != "" || len(req.Value.Required) != 0 {
		t.Errorf("PATCH body = %+v (ref %q), want an inline schema without required", req.Value, req.Ref)
	}
	if shared := doc.Components.Schemas["v1Directory"].Value; len(shared.Required) != 1 {
		t.Errorf("shared schema required = %v, want [title]", shared.Required)
	}
	if doc.Paths.Value("/v1/sites/{site}/sitemap.xml").Get.Responses.Status(200).Value.Content.Get("application/xml") == nil {
		t.Errorf("sitemap.xml is not typed as XML")
	}
	if _, ok := doc.Components.Schemas["apiHttpBody"]; ok {
		t.Errorf("apiHttpBody left in the components")
	}
}

// TestSpectral lints the committed document with Spectral's spectral:oas ruleset
// (clients/typescript/.spectral.yaml) and fails on any error. It needs Node.js and the npm
// packages of clients/typescript (`npm ci` there); without them it is skipped, except in CI
// (CI=true), where .ci/install-test-deps installs them and their absence fails.
func TestSpectral(t *testing.T) {
	dir := filepath.Join("..", "..", "clients", "typescript")
	spectral := filepath.Join(dir, "node_modules", ".bin", "spectral")
	if _, err := exec.LookPath("node"); err != nil {
		needNode(t, "Node.js is not installed (apt-get install nodejs npm)")
	}
	if _, err := os.Stat(spectral); err != nil {
		needNode(t, "Spectral is not installed: run `npm ci` in clients/typescript")
	}
	cmd := exec.Command(spectral, "lint", "--ruleset", ".spectral.yaml", "--fail-severity", "error", "--format", "text",
		filepath.Join("..", "..", "gen", "openapi", "beacon.openapi.json"))
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("spectral lint found errors (%v):\n%s", err, out)
	}
	t.Logf("spectral lint: %d lines of warnings", strings.Count(string(out), "\n"))
}

// needNode skips the test, or fails it in CI, where the Node.js tools must be there.
func needNode(tb testing.TB, why string) {
	tb.Helper()
	if os.Getenv("CI") == "true" {
		tb.Fatalf("%s: .ci/install-test-deps installs it", why)
	}
	tb.Skipf("skipping: %s", why)
}
