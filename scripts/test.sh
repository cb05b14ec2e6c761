#!/usr/bin/env bash
# scripts/test.sh (make test): run every test against real PostgreSQL and Redis.
#
# Makes sure Go, PostgreSQL, Redis, Chromium and PgBouncer are there (see scripts/deps.sh),
# then runs `go vet ./...` and `go test -count=1 -p 2 ./... [args...]`. The
# tests create one fresh database per test package through TEST_DATABASE_URL.
# Servers this script started are stopped when it ends.
#
#   scripts/test.sh [go test args...]   e.g. scripts/test.sh -run TestCheckout -v
#   scripts/test.sh --bench [args...]   benchmarks only: go test -run '^$' -bench .
#
# Environment (all optional):
#   TEST_DATABASE_URL  admin connection, default
#                      postgres://postgres@127.0.0.1:$PGPORT/postgres?sslmode=disable
#                      (when set, no local PostgreSQL is started; its server must answer)
#   TEST_REDIS_URL     default redis://127.0.0.1:$REDIS_PORT/0 (likewise)
#   PGPORT, REDIS_PORT, ROSEASH_STATE, ROSEASH_NO_INSTALL: see scripts/deps.sh
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/deps.sh
source scripts/deps.sh
trap stop_started_deps EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

bench=0
if [[ ${1:-} == --bench ]]; then
	bench=1
	shift
fi

ensure_go
ensure_postgres "${TEST_DATABASE_URL:-}"
ensure_redis "${TEST_REDIS_URL:-}"
if ((!bench)); then
	ensure_chromium
	ensure_pgbouncer
fi

export TEST_DATABASE_URL="${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:${PGPORT:-5432}/postgres?sslmode=disable}"
export TEST_REDIS_URL="${TEST_REDIS_URL:-redis://127.0.0.1:${REDIS_PORT:-6379}/0}"

if ((bench)); then
	# One package at a time, so that figures are comparable between runs.
	go test -count=1 -p 1 -run '^$' -bench . -benchmem ./... "$@"
else
	go vet ./...
	go test -count=1 -p 2 -timeout 5m ./... "$@"
fi
