# syntax=docker/dockerfile:1
#
# Beacon: one static binary in a distroless image. See deploy/README.md.
#
#   docker build -t beacon .
#   docker run --rm beacon targets
#
# The same image runs every target: `serve --target=content`, `serve --target=gateway`,
# `serve` (all in one), `migrate`. Configure it with BEACON_* environment variables.

############################ build ############################
FROM golang:1.26 AS build
WORKDIR /src

# Module files first, so that dependency downloads are cached until go.mod/go.sum change.
# The repository is a Go workspace: the root module and gen/ (the generated API module).
COPY go.work go.work.sum go.mod go.sum ./
COPY gen/go.mod gen/go.sum ./gen/
RUN --mount=type=cache,target=/go/pkg/mod \
    go mod download

# Only the Go sources the binary needs: no .git, no .tools/, no ./data (which holds the dev
# admin key); .dockerignore keeps those out of the build context too. Add new top-level Go
# directories here.
COPY gen/ ./gen/
COPY cmd/ ./cmd/
COPY console/ ./console/
COPY gateway/ ./gateway/
COPY platform/ ./platform/
COPY services/ ./services/

# CGO_ENABLED=0 works with the embedded store too: FerretDB's SQLite is pure Go (modernc.org/sqlite).
# ferretdb_no_postgresql leaves FerretDB's unused PostgreSQL backend out of the binary.
# VERSION names the build (the context has no .git; see the labels below for the full command).
# No -trimpath, so that `go version -m /beacon` shows it among the build settings (paths are /src).
ARG VERSION=devel
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 go build -tags ferretdb_no_postgresql -ldflags "-X main.version=${VERSION}" -o /out/beacon ./cmd/beacon

############################ runtime ############################
# Static, no shell, no package manager. Runs as uid/gid 65532 ("nonroot"), given as numbers so
# that Kubernetes' runAsNonRoot can verify it.
FROM gcr.io/distroless/static-debian12:nonroot

# OCI labels. The build passes what it knows:
#   docker build --build-arg VERSION="$(git describe --tags --always --dirty)" \
#     --build-arg REVISION="$(git rev-parse HEAD)" \
#     --build-arg CREATED="$(date -u +%Y-%m-%dT%H:%M:%SZ)" -t beacon .
ARG VERSION=devel
ARG REVISION=unknown
ARG CREATED=unknown
LABEL org.opencontainers.image.title="beacon" \
      org.opencontainers.image.description="Beacon headless CMS: gRPC services, REST gateway and editor console in one binary" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.source="https://github.com/beaconcms/beacon" \
      org.opencontainers.image.base.name="gcr.io/distroless/static-debian12:nonroot"

COPY --from=build /out/beacon /beacon

# The binary's defaults listen on 127.0.0.1 only, which nothing outside the container can reach.
ENV BEACON_HTTP_ADDR=:8080 \
    BEACON_GRPC_ADDR=:9090

# 8080: REST gateway (targets all, gateway). 9090: gRPC services (targets all, content).
EXPOSE 8080 9090
USER 65532:65532

ENTRYPOINT ["/beacon"]
CMD ["serve"]
