#!/usr/bin/env bash
# scripts/bench.sh (make bench): measure the blog home page against a static
# page, with the real service binaries under load from wrk.
#
# Makes sure Go, PostgreSQL and Redis are there (see scripts/deps.sh) and wrk
# (Debian's package, installed as root when missing), builds the roseash
# runner and the six services into $ROSEASH_STATE/bin, and runs
# `roseash bench --bin $ROSEASH_STATE/bin [args...]`. That uses its own
# database (roseash_bench), Redis prefix (roseash-bench) and ports 9101-9111,
# so it can run while `make up` is running, and stops everything it started
# when it ends or on Ctrl-C. The servers this script started are stopped
# afterwards. Takes about three minutes.
#
#   scripts/bench.sh                 the full run
#   scripts/bench.sh --rounds 1      roseash bench -h lists the flags
#
# Environment (all optional):
#   DATABASE_URL   a URL of the PostgreSQL server to use (its database name is
#                  replaced by roseash_bench); default
#                  postgres://postgres@127.0.0.1:$PGPORT/roseash?sslmode=disable
#   REDIS_URL      default redis://127.0.0.1:$REDIS_PORT/0
#   PGPORT, REDIS_PORT, ROSEASH_STATE, ROSEASH_NO_INSTALL: see scripts/deps.sh
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/deps.sh
source scripts/deps.sh
STATE=$ROSEASH_STATE

trap stop_started_deps EXIT
forward_signals

ensure_go
ensure_postgres "${DATABASE_URL:-}"
ensure_redis "${REDIS_URL:-}"
ensure_tools wrk

export DATABASE_URL="${DATABASE_URL:-postgres://postgres@127.0.0.1:${PGPORT:-5432}/roseash?sslmode=disable}"
export REDIS_URL="${REDIS_URL:-redis://127.0.0.1:${REDIS_PORT:-6379}/0}"

mkdir -p "$STATE/bin"
echo "building the services into $STATE/bin" >&2
go build -o "$STATE/bin/" ./cmd/roseash ./blog ./market ./cart ./events ./federation ./account

status=0
# ActivityPub first, on a quiet database (the page benchmark leaves
# PostgreSQL writing for a while): inbox throughput on one core against
# bare RSA-2048 verifies measured in the same run, and the fan-out of one
# Create to 10,000 followers on 100 fake hosts (shared inboxes) against the
# same POSTs sent without the job queue.
echo "ActivityPub inbox throughput (one core) and fan-out" >&2
go test -count=1 -run '^$' -bench 'InboxThroughput' -benchtime 1x -cpu 1 \
  ./shared/activitypub/ | grep -E 'GOMAXPROCS|Benchmark|round' || status=$?
go test -count=1 -run '^$' -bench 'Fanout' -benchtime 1x ./shared/activitypub/delivery/ | grep -E 'Benchmark|fan|requests' || status=$?

run_roseash "$STATE/bin/roseash" bench --bin "$STATE/bin" --logs "$STATE/bench" "$@" || status=$?
exit "$status"
