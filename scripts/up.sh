#!/usr/bin/env bash
# scripts/up.sh (make up): run the whole platform on this machine.
#
# Makes sure Go, PostgreSQL and Redis are there (starting private servers, and
# installing Debian's packages as root when they are missing), builds the
# roseash runner and the six services into $ROSEASH_STATE/bin, and runs
# `roseash up --bin $ROSEASH_STATE/bin [args...]`, which creates the database,
# migrates, seeds and starts the services. Ctrl-C (or SIGTERM) is passed on to
# roseash; once it has stopped, the servers this script started are stopped.
#
# Environment (all optional):
#   DATABASE_URL   default postgres://postgres@127.0.0.1:$PGPORT/roseash?sslmode=disable
#                  (when set, no local PostgreSQL is started; its server must answer)
#   REDIS_URL      default redis://127.0.0.1:$REDIS_PORT/0 (likewise)
#   SECRET_KEY     default: generated once into $ROSEASH_STATE/secret-key
#   DATABASE_URL_FILE, REDIS_URL_FILE, SECRET_KEY_FILE  read instead when the
#                  variable itself is unset
#   PGPORT, REDIS_PORT, ROSEASH_STATE, ROSEASH_NO_INSTALL: see scripts/deps.sh
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
# roseash up reports start-up time from here, so the build is counted.
export ROSEASH_UP_STARTED_MS="${ROSEASH_UP_STARTED_MS:-$(date +%s%3N)}"
# shellcheck source=scripts/deps.sh
source scripts/deps.sh
STATE=$ROSEASH_STATE

trap stop_started_deps EXIT
forward_signals

# NAME_FILE (Docker-secret style, as the services accept it) stands for NAME,
# so that no default below overrides it.
for name in DATABASE_URL REDIS_URL SECRET_KEY; do
	file_var=${name}_FILE
	if [[ -z ${!name:-} && -n ${!file_var:-} ]]; then
		if [[ ! -r ${!file_var} ]]; then
			echo "error: $file_var names ${!file_var}, which can not be read" >&2
			exit 1
		fi
		printf -v "$name" '%s' "$(<"${!file_var}")"
		export "${name?}"
	fi
done

ensure_go
ensure_postgres "${DATABASE_URL:-}"
ensure_redis "${REDIS_URL:-}"

export DATABASE_URL="${DATABASE_URL:-postgres://postgres@127.0.0.1:${PGPORT:-5432}/roseash?sslmode=disable}"
export REDIS_URL="${REDIS_URL:-redis://127.0.0.1:${REDIS_PORT:-6379}/0}"

if [[ -z ${SECRET_KEY:-} ]]; then
	keyfile=$STATE/secret-key
	mkdir -p "$STATE"
	if [[ ! -s $keyfile || $(wc -c <"$keyfile") -lt 32 ]]; then
		(
			umask 077
			head -c 48 /dev/urandom | base64 -w 0 | tr '+/' '-_' | tr -d '=' >"$keyfile"
		)
		echo "generated SECRET_KEY into $keyfile" >&2
	fi
	chmod 600 "$keyfile"
	SECRET_KEY=$(<"$keyfile")
	export SECRET_KEY
fi

mkdir -p "$STATE/bin"
go build -o "$STATE/bin/" ./cmd/roseash ./blog ./market ./cart ./events ./federation ./account

status=0
run_roseash "$STATE/bin/roseash" up --bin "$STATE/bin" "$@" || status=$?
exit "$status"
