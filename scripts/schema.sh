#!/usr/bin/env bash
# scripts/schema.sh (make schema): regenerate schema.sql, the reference
# snapshot of the schema after all migrations, with `go run ./cmd/roseash schema`.
#
# It runs under the same dependencies as the tests: PostgreSQL is reused or
# started (and stopped again) as scripts/deps.sh describes. Exported for the
# command: DATABASE_URL (default postgres://postgres@127.0.0.1:$PGPORT/roseash?sslmode=disable)
# and TEST_DATABASE_URL (an admin connection, default .../postgres). schema.sql
# is replaced only when the command succeeds.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/deps.sh
source scripts/deps.sh
tmp=
cleanup() {
	[[ -z $tmp ]] || rm -f "$tmp"
	stop_started_deps
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

ensure_go
ensure_postgres "${DATABASE_URL:-}"

export DATABASE_URL="${DATABASE_URL:-postgres://postgres@127.0.0.1:${PGPORT:-5432}/roseash?sslmode=disable}"
export TEST_DATABASE_URL="${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:${PGPORT:-5432}/postgres?sslmode=disable}"

tmp=$(mktemp schema.sql.XXXXXX)
go run ./cmd/roseash schema >"$tmp"
chmod 644 "$tmp"
mv -f "$tmp" schema.sql
tmp=
echo "wrote schema.sql" >&2
