// Command openapi3gen turns the Swagger 2.0 document that protoc-gen-openapiv2 writes from the
// protos (gen/openapi/beacon.swagger.json) into the OpenAPI 3 document Beacon serves at
// /openapi.json (gen/openapi/beacon.openapi.json). `make generate` runs it after `buf
// generate`; the result is committed, and `make check-generated` fails when it is stale.
//
// The conversion is kin-openapi's openapi2conv. On top of it the document gets what the protos
// cannot say or the generator gets wrong:
//   - a title, version, description, server and bearer security scheme; the delivery routes
//     (/v1/sites/{site}/...) need no key on a public site, so their key is optional;
//   - path parameters named after the resource's singular ("{directory}", not the
//     generator's "{directorie}");
//   - PATCH request bodies without required fields (an update names its fields in updateMask);
//   - the google.api.HttpBody routes typed by what they really send (sitemap.xml as XML, feed.xml
//     as Atom XML, the exports as their JSON);
//   - the edge's own routes: /openapi.json, /healthz and /readyz.
//
// Usage: openapi3gen -in beacon.swagger.json -out beacon.openapi.json
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"

	"github.com/getkin/kin-openapi/openapi2"
	"github.com/getkin/kin-openapi/openapi2conv"
	"github.com/getkin/kin-openapi/openapi3"
)

func main() {
	in := flag.String("in", "", "Swagger 2.0 document written by protoc-gen-openapiv2")
	out := flag.String("out", "", "OpenAPI 3 document to write")
	flag.Parse()
	if *in == "" || *out == "" {
		fmt.Fprintln(os.Stderr, "usage: openapi3gen -in beacon.swagger.json -out beacon.openapi.json")
		os.Exit(2)
	}
	src, err := os.ReadFile(*in)
	if err == nil {
		var doc []byte
		if doc, err = convert(src); err == nil {
			err = os.WriteFile(*out, doc, 0o644)
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "openapi3gen:", err)
		os.Exit(1)
	}
}

// Document metadata.
const (
	title       = "Beacon API"
	version     = "v1"
	description = "Beacon is a headless CMS for health content. Management routes (sites, articles, " +
		"resources, directories, questionnaires, API keys, users) need an API key as a bearer token. " +
		"Delivery routes (/v1/sites/{site}/...) serve published content from memory with ETag and " +
		"Cache-Control; a public site needs no key, and each site lists the browser origins allowed to " +
		"call them (CORS, the site's allowedOrigins). Errors are google.rpc.Status JSON: " +
		"{code, message, details}, details naming each bad field."
	bearerScheme = "bearerAuth"
)

// httpBodyTypes are the media types and schemas of the routes that answer a google.api.HttpBody,
// by the end of their path. A new HttpBody route must be added here (convert fails otherwise).
var httpBodyTypes = map[string]struct {
	mediaType string
	schema    *openapi3.Schema
}{
	"/sitemap.xml":          {"application/xml", described(openapi3.NewStringSchema(), "A sitemaps.org 0.9 urlset.")},
	"/feed.xml":             {"application/atom+xml", described(openapi3.NewStringSchema(), "An Atom 1.0 feed.")},
	"/v1/resources:export":  {"application/json", described(openapi3.NewArraySchema().WithItems(openapi3.NewObjectSchema()), "HSDS 3.0 service records.")},
	"/{questionnaire}:fhir": {"application/fhir+json", described(openapi3.NewObjectSchema(), "An HL7 FHIR R4 Questionnaire resource.")},
}

func described(s *openapi3.Schema, description string) *openapi3.Schema {
	s.Description = description
	return s
}

// singularParam matches a collection segment followed by the parameter the generator named
// by cutting its final "s": "directories/{directorie}".
var singularParam = regexp.MustCompile(`/([a-z]+)ies/\{([a-z]+)ie\}`)

// convert turns the Swagger 2.0 document src into Beacon's OpenAPI 3 document, indented JSON.
func convert(src []byte) ([]byte, error) {
	var doc2 openapi2.T
	if err := json.Unmarshal(src, &doc2); err != nil {
		return nil, fmt.Errorf("read Swagger 2.0: %w", err)
	}
	renameSingularParams(&doc2)
	doc, err := openapi2conv.ToV3(&doc2)
	if err != nil {
		return nil, fmt.Errorf("convert to OpenAPI 3: %w", err)
	}
	doc.Info = &openapi3.Info{Title: title, Version: version, Description: description}
	doc.Servers = openapi3.Servers{{
		URL:         "{origin}",
		Description: "A Beacon REST edge: its scheme, host and port (`beacon dev` listens on http://localhost:8080).",
		Variables:   map[string]*openapi3.ServerVariable{"origin": {Default: "http://localhost:8080"}},
	}}
	if doc.Components == nil {
		doc.Components = &openapi3.Components{}
	}
	doc.Components.SecuritySchemes = openapi3.SecuritySchemes{bearerScheme: &openapi3.SecuritySchemeRef{Value: &openapi3.SecurityScheme{
		Type: "http", Scheme: "bearer",
		Description: "A Beacon API key (bk_...) in `Authorization: Bearer <key>`; its role and site decide what it may do.",
	}}}
	doc.Security = openapi3.SecurityRequirements{{bearerScheme: []string{}}}
	for path, item := range doc.Paths.Map() {
		if strings.HasPrefix(path, "/v1/sites/{site}/") {
			for _, op := range item.Operations() {
				// A public site needs no key; a private one needs a key covering it.
				op.Security = &openapi3.SecurityRequirements{{}, {bearerScheme: []string{}}}
			}
		}
		for _, op := range item.Operations() {
			// The generator puts a method's comment in the summary; tools show the description.
			if op.Description == "" {
				op.Description = op.Summary
			}
		}
		if item.Patch != nil {
			if err := optionalPatchBody(path, item.Patch); err != nil {
				return nil, err
			}
		}
		if err := typeHTTPBody(path, item); err != nil {
			return nil, err
		}
	}
	delete(doc.Components.Schemas, "apiHttpBody")
	addEdgeRoutes(doc)
	dropUnusedTags(doc)
	if err := doc.Validate(context.Background()); err != nil {
		return nil, fmt.Errorf("the converted document is not valid OpenAPI 3: %w", err)
	}
	raw, err := json.Marshal(doc)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := json.Indent(&buf, raw, "", "  "); err != nil {
		return nil, err
	}
	buf.WriteByte('\n')
	return buf.Bytes(), nil
}

// renameSingularParams renames the path parameters the generator named by cutting a final "s"
// off "...ies" ("{directorie}") to their singular ("{directory}"), in paths and parameters.
func renameSingularParams(doc *openapi2.T) {
	for path, item := range doc.Paths {
		m := singularParam.FindStringSubmatch(path)
		if m == nil || m[1] != m[2] {
			continue
		}
		wrong, right := m[2]+"ie", m[1]+"y"
		for _, op := range item.Operations() {
			for _, p := range op.Parameters {
				if p.In == "path" && p.Name == wrong {
					p.Name = right
				}
			}
		}
		delete(doc.Paths, path)
		doc.Paths[strings.Replace(path, "{"+wrong+"}", "{"+right+"}", 1)] = item
	}
}

// optionalPatchBody removes the required list of a PATCH body: an update sends only the fields
// its updateMask names. It checks that the operation has an updateMask parameter.
func optionalPatchBody(path string, op *openapi3.Operation) error {
	if op.Parameters.GetByInAndName("query", "updateMask") == nil {
		return fmt.Errorf("PATCH %s has no updateMask query parameter", path)
	}
	if op.RequestBody == nil || op.RequestBody.Value == nil {
		return fmt.Errorf("PATCH %s has no request body", path)
	}
	for _, mt := range op.RequestBody.Value.Content {
		if mt.Schema == nil {
			continue
		}
		if mt.Schema.Ref != "" {
			// A shared schema keeps its required fields for creates: use a copy.
			copied := *mt.Schema.Value
			mt.Schema = openapi3.NewSchemaRef("", &copied)
		}
		mt.Schema.Value.Required = nil
		mt.Schema.Value.Description = strings.TrimSpace("The fields to change, as named in updateMask (every writable field when it is empty). " + mt.Schema.Value.Description)
	}
	op.RequestBody.Value.Required = true
	return nil
}

// typeHTTPBody gives the successful response of a google.api.HttpBody route its real media type.
func typeHTTPBody(path string, item *openapi3.PathItem) error {
	for method, op := range item.Operations() {
		ok := op.Responses.Status(200)
		if ok == nil || ok.Value == nil {
			continue
		}
		json := ok.Value.Content.Get("application/json")
		if json == nil || json.Schema == nil || json.Schema.Ref != "#/components/schemas/apiHttpBody" {
			continue
		}
		var found bool
		for suffix, t := range httpBodyTypes {
			if strings.HasSuffix(path, suffix) {
				ok.Value.Content = openapi3.NewContentWithSchema(t.schema, []string{t.mediaType})
				found = true
				break
			}
		}
		if !found {
			return fmt.Errorf("%s %s answers a google.api.HttpBody whose media type openapi3gen does not know: add it to httpBodyTypes", method, path)
		}
	}
	return nil
}

// addEdgeRoutes adds the routes the REST edge itself serves, without a key.
func addEdgeRoutes(doc *openapi3.T) {
	noKey := &openapi3.SecurityRequirements{}
	health := func(id, summary string, codes ...int) *openapi3.Operation {
		status := openapi3.NewObjectSchema().WithProperty("status", openapi3.NewStringSchema().WithEnum("SERVING", "NOT_SERVING"))
		op := &openapi3.Operation{OperationID: id, Summary: summary, Description: summary, Tags: []string{"Edge"}, Security: noKey, Responses: openapi3.NewResponses()}
		for _, code := range codes {
			op.Responses.Set(fmt.Sprint(code), &openapi3.ResponseRef{Value: openapi3.NewResponse().
				WithDescription(map[int]string{200: "SERVING", 503: "NOT_SERVING"}[code]).WithJSONSchema(status)})
		}
		op.Responses.Delete("default")
		return op
	}
	spec := &openapi3.Operation{OperationID: "Edge_GetOpenAPI", Summary: "This document.",
		Description: "This OpenAPI 3 document, generated from the protos. No key; cacheable, readable from any origin.", Tags: []string{"Edge"}, Security: noKey, Responses: openapi3.NewResponses()}
	spec.Responses.Delete("default")
	spec.Responses.Set("200", &openapi3.ResponseRef{Value: openapi3.NewResponse().WithDescription("The OpenAPI 3 document of this API.").
		WithJSONSchema(openapi3.NewObjectSchema())})
	doc.Paths.Set("/openapi.json", &openapi3.PathItem{Get: spec})
	doc.Paths.Set("/healthz", &openapi3.PathItem{Get: health("Edge_Liveness", "Liveness: 200 while the process serves HTTP.", 200)})
	doc.Paths.Set("/readyz", &openapi3.PathItem{Get: health("Edge_Readiness", "Readiness: 200 while the edge should receive traffic, 503 during shutdown.", 200, 503)})
	doc.Tags = append(doc.Tags, &openapi3.Tag{Name: "Edge", Description: "The REST edge's own routes: this document and health. No key."})
}

// dropUnusedTags removes tags no operation uses (services without REST routes).
func dropUnusedTags(doc *openapi3.T) {
	used := map[string]bool{}
	for _, item := range doc.Paths.Map() {
		for _, op := range item.Operations() {
			for _, t := range op.Tags {
				used[t] = true
			}
		}
	}
	doc.Tags = slices.DeleteFunc(doc.Tags, func(t *openapi3.Tag) bool { return !used[t.Name] })
}
