// Package openapi holds Beacon's OpenAPI 3 document, which the REST edge serves at
// /openapi.json. `make generate` writes it from the protos: protoc-gen-openapiv2 writes
// beacon.swagger.json (Swagger 2.0), and tools/openapi3gen converts that to
// beacon.openapi.json. Both are committed; `make check-generated` fails when they are stale.
package openapi

import _ "embed"

// JSON is the OpenAPI 3 document (beacon.openapi.json). Shared: never modify it.
//
//go:embed beacon.openapi.json
var JSON []byte
