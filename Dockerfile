# syntax=docker/dockerfile:1
# The image of one Rose Ash service, named by the SERVICE build argument (one
# of blog, market, cart, events, federation, account). Build it from the
# repository root, the context:
#
#   docker build -f Dockerfile --build-arg SERVICE=blog -t "$REGISTRY/blog:latest" .
#
# (./deploy.sh does this for each service.) The first stage compiles one
# static binary, which carries everything the service serves: its templ
# components, static files and the shared layout are embedded (go:embed), as
# are the migrations. The second stage is distroless: no shell, no package
# manager, a non-root user. The binary is /usr/local/bin/service in every
# image, as the exec-form ENTRYPOINT and HEALTHCHECK cannot name it by the
# build argument. As there is no curl either, the health check is the binary
# itself: `service healthcheck` asks the running service's /healthz
# (shared/boot). The service waits for PostgreSQL at start-up (DATABASE_WAIT,
# default 60s).

# The Go of go.mod's go line (a test checks that they agree).
ARG GO_VERSION=1.26.8
# Which service the image runs; a build without it fails.
ARG SERVICE

FROM golang:${GO_VERSION} AS build
ARG SERVICE
WORKDIR /src
ENV CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS=-buildvcs=false
# The modules first, so that a code change does not download them again.
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    test -n "${SERVICE}" && test -f "./${SERVICE}/main.go" \
 && go build -trimpath -ldflags='-s -w' -o /out/${SERVICE} ./${SERVICE} \
 && mkdir -p /out/data/media

FROM gcr.io/distroless/static-debian12:nonroot
ARG SERVICE
LABEL org.opencontainers.image.title="rose-ash-${SERVICE}"
COPY --from=build /out/${SERVICE} /usr/local/bin/service
# MEDIA_DIR is a volume every blog replica mounts (docker-compose.yml); the
# directory exists in the image, owned by the runtime user, so a new volume
# starts writable.
COPY --from=build --chown=65532:65532 /out/data /var/lib/roseash
WORKDIR /var/lib/roseash
# distroless's "nonroot" user.
USER 65532:65532
# In the stack, the config file is a Swarm config mounted here. Every
# service listens on 8000 in its container; the image sets each service's
# listen address, as an environment variable's name cannot be built from the
# build argument (each service reads only its own).
ENV CONFIG_FILE=/etc/roseash/app-config.yaml \
    BLOG_LISTEN_ADDR=0.0.0.0:8000 \
    MARKET_LISTEN_ADDR=0.0.0.0:8000 \
    CART_LISTEN_ADDR=0.0.0.0:8000 \
    EVENTS_LISTEN_ADDR=0.0.0.0:8000 \
    FEDERATION_LISTEN_ADDR=0.0.0.0:8000 \
    ACCOUNT_LISTEN_ADDR=0.0.0.0:8000 \
    MEDIA_DIR=/var/lib/roseash/media
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=5s --start-period=90s --retries=3 \
    CMD ["/usr/local/bin/service", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/service"]
