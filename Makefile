# Rose Ash. The two commands that matter:
#   make up     set up and run the whole platform on this machine
#   make test   run every test
# Both start (or reuse) PostgreSQL and Redis; see scripts/deps.sh.

SHELL := /bin/bash
.DEFAULT_GOAL := help

# Go lives in /usr/local/go when it is not on PATH.
ifeq ($(shell command -v go 2>/dev/null),)
export PATH := /usr/local/go/bin:$(PATH)
endif

.PHONY: editor help up test generate schema build fmt vet bench gobench

help: ## list the targets
	@echo "usage: make <target> [ARGS=...]"
	@awk 'BEGIN { FS = ":.*## " } /^[a-z][a-z-]*:.*## / { printf "  %-10s %s\n", $$1, $$2 }' $(MAKEFILE_LIST)

up: ## run the whole platform: PostgreSQL, Redis, the six services (ARGS go to roseash up)
	@bash scripts/up.sh $(ARGS)

test: ## run every test: go vet, then go test against real PostgreSQL and Redis (ARGS go to go test)
	@bash scripts/test.sh $(ARGS)

generate: ## regenerate the templ components
	go tool templ generate

schema: ## regenerate schema.sql from the migrations
	@bash scripts/schema.sh

build: ## compile everything
	go build ./...

fmt: ## format the Go and templ sources
	go fmt ./...
	go tool templ fmt .

vet: ## go vet
	go vet ./...

bench: ## load-test the blog home against a static page with wrk, ~3 min (ARGS go to roseash bench)
	@bash scripts/bench.sh $(ARGS)

gobench: ## run the Go benchmarks, one package at a time (ARGS go to go test)
	@bash scripts/test.sh --bench $(ARGS)

editor: ## rebuild the rich-text editor bundle (shared/editor/dist/editor.js) from shared/editor (needs npm)
	cd shared/editor && npm ci && node build.mjs
