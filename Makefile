# Beacon. `make help` lists the targets.
SHELL := /bin/bash
TOOLS := $(CURDIR)/.tools
export PATH := $(TOOLS):$(PATH)
GO_TAGS := ferretdb_no_postgresql
MODULES := . ./gen

BUF_VERSION := v1.75.0
PROTOC_GEN_GO_VERSION := v1.36.12
PROTOC_GEN_GO_GRPC_VERSION := v1.6.2
GRPC_GATEWAY_VERSION := v2.33.0
# The stamp names every pinned version, so changing any pin reinstalls the tools.
TOOLS_STAMP := $(TOOLS)/.stamp-$(BUF_VERSION)-$(PROTOC_GEN_GO_VERSION)-$(PROTOC_GEN_GO_GRPC_VERSION)-$(GRPC_GATEWAY_VERSION)

.DEFAULT_GOAL := help

.PHONY: help
help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

.PHONY: tools
tools: $(TOOLS_STAMP) ## install the pinned code generators into .tools/

$(TOOLS_STAMP):
	mkdir -p $(TOOLS)
	GOBIN=$(TOOLS) GOWORK=off go install github.com/bufbuild/buf/cmd/buf@$(BUF_VERSION)
	GOBIN=$(TOOLS) GOWORK=off go install google.golang.org/protobuf/cmd/protoc-gen-go@$(PROTOC_GEN_GO_VERSION)
	GOBIN=$(TOOLS) GOWORK=off go install google.golang.org/grpc/cmd/protoc-gen-go-grpc@$(PROTOC_GEN_GO_GRPC_VERSION)
	GOBIN=$(TOOLS) GOWORK=off go install github.com/grpc-ecosystem/grpc-gateway/v2/protoc-gen-grpc-gateway@$(GRPC_GATEWAY_VERSION) \
		github.com/grpc-ecosystem/grpc-gateway/v2/protoc-gen-openapiv2@$(GRPC_GATEWAY_VERSION)
	touch $@

# The TypeScript client, whose types openapi-typescript generates from the OpenAPI document.
TS_CLIENT := clients/typescript

.PHONY: generate
generate: tools ## regenerate Go code and the OpenAPI documents from proto/
	rm -rf gen/beacon gen/openapi/*.json
	buf generate
	go run ./tools/openapi3gen -in gen/openapi/beacon.swagger.json -out gen/openapi/beacon.openapi.json
	@if [ -x $(TS_CLIENT)/node_modules/.bin/openapi-typescript ]; then \
		cd $(TS_CLIENT) && node_modules/.bin/openapi-typescript ../../gen/openapi/beacon.openapi.json --output src/beacon.d.ts --silent; \
	else echo "$(TS_CLIENT)/src/beacon.d.ts not regenerated: run 'npm ci' in $(TS_CLIENT) (TestTypeScriptClient checks it)"; fi

.PHONY: lint
lint: tools ## buf lint + format, gofmt, go vet, and fail if generated code is stale
	buf lint
	buf format -d --exit-code
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { echo "gofmt needed:"; gofmt -l $$(git ls-files '*.go'); exit 1; }
	go vet -tags $(GO_TAGS) ./... ./gen/...
	$(MAKE) --no-print-directory check-generated
	$(MAKE) --no-print-directory breaking

.PHONY: check-generated
check-generated: tools
	@tmp=$$(mktemp -d); cp -r gen/beacon gen/openapi $(TS_CLIENT)/src/beacon.d.ts $$tmp/; \
	$(MAKE) --no-print-directory generate >/dev/null; \
	if ! diff -r $$tmp/beacon gen/beacon >/dev/null || ! diff -r $$tmp/openapi gen/openapi >/dev/null || \
		! diff $$tmp/beacon.d.ts $(TS_CLIENT)/src/beacon.d.ts >/dev/null; then \
		echo "generated code is stale: run 'make generate' and commit the result"; rm -rf $$tmp; exit 1; fi; \
	rm -rf $$tmp

# VERSION names the build (`beacon version`, /healthz, the startup log, beacon_build_info):
# git describe of the checkout, e.g. v1.2.0-3-gabc1234-dirty. `go version -m bin/beacon` shows it
# among the build settings (-ldflags), which -trimpath would hide: the build does without it.
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo devel)
LDFLAGS := -X main.version=$(VERSION)

.PHONY: build
build: ## build bin/beacon, its version from git
	CGO_ENABLED=0 go build -tags $(GO_TAGS) -ldflags '$(LDFLAGS)' -o bin/beacon ./cmd/beacon

# -timeout: cmd/beacon's end-to-end tests start the real binary many times (and Chromium); on 2
# busy cores the package takes more than go test's default limit of 10 minutes.
.PHONY: test
test: ## run every test: unit, store (embedded FerretDB), API, fuzz seeds and end to end
	go test -tags $(GO_TAGS) -count=1 -timeout 30m ./... ./gen/...

.PHONY: run
run: ## run everything locally: embedded store in ./data, demo content, REST :8080, gRPC :9090
	go run -tags $(GO_TAGS) ./cmd/beacon dev

.PHONY: bench
bench: build ## measure the delivery path (see docs/benchmarks.md)
	command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk)
	go run ./bench/delivery -beacon bin/beacon -write docs/benchmarks.md

.PHONY: fuzz
fuzz: ## run each fuzz target for FUZZTIME (default 30s)
	@for t in "FuzzRender ./platform/markdown" "FuzzNormalize ./platform/slug" "FuzzParse ./platform/listfilter" "FuzzDecode ./platform/pagetoken" "FuzzLint ./platform/claimlint" "FuzzParse ./platform/startimage"; do \
		set -- $$t; go test -tags $(GO_TAGS) -run '^$$' -fuzz "^$$1$$" -fuzztime $${FUZZTIME:-30s} $$2 || exit 1; done

.PHONY: breaking
# BREAKING_AGAINST is the commit the protos are compared with (e.g. `make breaking
# BREAKING_AGAINST=main` before landing several commits).
BREAKING_AGAINST ?= HEAD~1

breaking: tools ## fail on wire or JSON breaking proto changes against the previous commit
	@if git rev-parse -q --verify $(BREAKING_AGAINST) >/dev/null && git cat-file -e $(BREAKING_AGAINST):proto 2>/dev/null; then \
		buf breaking --against '.git#ref=$(BREAKING_AGAINST)'; else echo "no previous commit with protos; skipping"; fi
# buf's WIRE_JSON rules compare the files present in both trees. A file moved to another package
# (as site.proto and api_key.proto were, from beacon.content.v1 to beacon.sites.v1 and
# beacon.access.v1) is a deleted file plus a new one, so none of its messages are compared and
# the check passes, although every gRPC full name in it changed. Such moves are allowed only
# together with a note in the README ("gRPC renames"), so the target names them and fails when
# the README does not name each old service.
	@git diff --name-status --find-renames $(BREAKING_AGAINST) -- proto 2>/dev/null | awk '$$1 ~ /^(D|R)/ {print $$2}' | while read -r old; do \
		pkg=$$(git show $(BREAKING_AGAINST):"$$old" | sed -n 's/^package \(.*\);/\1/p'); \
		echo "proto file moved or removed since $(BREAKING_AGAINST): $$old (package $$pkg): its gRPC full names changed"; \
		for svc in $$(git show $(BREAKING_AGAINST):"$$old" | sed -n 's/^service \([A-Za-z0-9_]*\).*/\1/p'); do \
			grep -qF "$$pkg.$$svc" README.md || { echo "README.md does not name the old $$pkg.$$svc: add it to the gRPC renames"; exit 1; }; \
		done; \
	done
