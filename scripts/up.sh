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

# Before roseash runs, a signal ends this script (the EXIT trap stops the
# servers it started). Afterwards it is passed on to roseash as SIGTERM: a
# command started with & from a script has SIGINT ignored, and roseash treats
# SIGINT and SIGTERM alike.
child=
# shellcheck disable=SC2317 # invoked by trap
forward() {
	if [[ -n $child ]] && kill -0 "$child" 2>/dev/null; then
		kill -TERM "$child" 2>/dev/null || true
	else
		exit 130
	fi
}
trap stop_started_deps EXIT
trap forward INT TERM HUP QUIT

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

# roseash stays in this process group, so a Ctrl-C on the terminal or a
# SIGINT to the group reaches it (and the services) directly, even when this
# script was started in the background with SIGINT ignored, which bash cannot
# trap; Go's signal handling un-ignores it. A signal sent to this script alone
# is forwarded by the trap above. A SIGKILL to the group ends everything.
"$STATE/bin/roseash" up --bin "$STATE/bin" "$@" </dev/null &
child=$!

status=0
while :; do
	status=0
	wait "$child" || status=$?
	# wait returns early when a trapped signal arrives: wait again while
	# roseash is still shutting down.
	kill -0 "$child" 2>/dev/null || break
done
if ((status > 128)); then
	# That status may be from an interrupted wait; the real one, if still
	# unreported, comes now (127 means it was already reported).
	again=0
	wait "$child" 2>/dev/null || again=$?
	if ((again != 127)); then status=$again; fi
fi
exit "$status"
