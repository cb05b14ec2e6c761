# shellcheck shell=bash
#
# scripts/deps.sh: the local dependencies of `make up` and `make test`.
# Source it (it is not a program):
#
#   source scripts/deps.sh
#   trap stop_started_deps EXIT
#   ensure_go; ensure_postgres; ensure_redis
#
# ensure_postgres reuses a PostgreSQL that accepts password-less connections as
# user postgres on 127.0.0.1:$PGPORT, or starts a private one (data under
# $ROSEASH_STATE/postgres) from the installed binaries, installing Debian's
# packages first when they are missing and we are root. ensure_redis does the
# same for Redis on 127.0.0.1:$REDIS_PORT. stop_started_deps stops exactly what
# this shell started (or adopted: a private server a killed run left behind).
# Functions print one line per action taken and nothing on plain reuse; every
# message goes to stderr. They return non-zero, with a message saying what to
# do, when a dependency can not be provided.
#
# Environment:
#   PGPORT              PostgreSQL port on 127.0.0.1 (default 5432)
#   REDIS_PORT          Redis port on 127.0.0.1 (default 6379)
#   ROSEASH_STATE       state directory (default <repo>/.dev)
#   ROSEASH_NO_INSTALL  1: never run apt-get, say what to install instead
#   ROSEASH_PG_BINDIR   directory holding initdb and pg_ctl (default: the newest
#                       /usr/lib/postgresql/<version>/bin)
#   ROSEASH_REDIS_SERVER  redis-server to run (default: redis-server on PATH)
#
# It works under `set -euo pipefail` in the caller.

if [[ -z ${ROSEASH_DEPS_SOURCED:-} ]]; then
ROSEASH_DEPS_SOURCED=1

ROSEASH_REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
ROSEASH_STATE="${ROSEASH_STATE:-$ROSEASH_REPO/.dev}"
case $ROSEASH_STATE in
/*) ;;
*) ROSEASH_STATE="$PWD/$ROSEASH_STATE" ;;
esac

ROSEASH_STARTED_POSTGRES=0
ROSEASH_STARTED_REDIS=0
_RD_PG_BINDIR=
_RD_PG_ROOT=
_RD_PG_PORT=
_RD_REDIS_PID=
_RD_REDIS_PORT=
_RD_REDIS_DIR=
_RD_APT_UPDATED=0

_rd_say() { printf '%s\n' "$*" >&2; }
_rd_err() { printf 'error: %s\n' "$*" >&2; }

_rd_is_root() { [[ $(id -u) -eq 0 ]]; }

# _rd_no_install_reason prints why packages can not be installed here, or
# nothing (and fails) when they can.
_rd_no_install_reason() {
	if [[ ${ROSEASH_NO_INSTALL:-0} == 1 ]]; then
		echo "ROSEASH_NO_INSTALL=1 is set"
	elif ! _rd_is_root; then
		echo "installing it needs root"
	elif ! command -v apt-get >/dev/null 2>&1; then
		echo "apt-get is not available"
	else
		return 1
	fi
}

_rd_missing_server() { # what
	local reason
	reason=$(_rd_no_install_reason) || reason="it could not be installed"
	_rd_err "$1 is not installed and $reason."
	cat >&2 <<'EOF'
  Install the servers with:   sudo apt-get install postgresql redis-server
  or point DATABASE_URL and REDIS_URL (for make test: TEST_DATABASE_URL and
  TEST_REDIS_URL) at servers that are already running.
EOF
	return 1
}

_rd_tail_log() { # file
	if [[ -r $1 ]]; then
		_rd_say "--- last lines of $1:"
		tail -n 15 "$1" >&2 || true
	fi
}

_rd_redact() { # url: hide a password
	printf '%s' "$1" | sed -E 's#(//[^:/@]*):[^@/]*@#\1:***@#'
}

# _rd_apt_install pkg... runs apt-get update (once) and apt-get install.
_rd_apt_install() {
	local log="$ROSEASH_STATE/apt.log"
	mkdir -p "$ROSEASH_STATE"
	_rd_say "installing $* with apt-get (log: $log)"
	if [[ $_RD_APT_UPDATED != 1 ]]; then
		if ! apt-get -o DPkg::Lock::Timeout=300 update >>"$log" 2>&1 </dev/null; then
			_rd_err "apt-get update failed"
			_rd_tail_log "$log"
			return 1
		fi
		_RD_APT_UPDATED=1
	fi
	if ! DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y "$@" >>"$log" 2>&1 </dev/null; then
		_rd_err "apt-get install $* failed"
		_rd_tail_log "$log"
		return 1
	fi
}

_rd_proc_alive() { [[ -n ${1:-} && -d /proc/$1 ]]; }

# _rd_first_line file prints the file's first line, or nothing.
_rd_first_line() {
	local line=''
	if [[ -r $1 ]]; then
		IFS= read -r line <"$1" || true
	fi
	printf '%s' "$line"
}

# _rd_owner_alive file: whether the shell recorded in file is still running.
_rd_owner_alive() {
	local pid
	pid=$(_rd_first_line "$1")
	[[ -n $pid && $pid != "$$" ]] && _rd_proc_alive "$pid"
}

# --- Go --------------------------------------------------------------------

# ensure_go makes sure `go` is on PATH (adding /usr/local/go/bin when needed)
# and warns when it is older than go.mod asks for.
ensure_go() {
	local want have local_have
	if ! command -v go >/dev/null 2>&1 && [[ -x /usr/local/go/bin/go ]]; then
		export PATH="/usr/local/go/bin:$PATH"
	fi
	want=$(sed -n 's/^go \([0-9][0-9.]*\).*/\1/p' "$ROSEASH_REPO/go.mod" 2>/dev/null | head -n 1) || want=
	if ! command -v go >/dev/null 2>&1; then
		_rd_err "Go is not installed. Install Go ${want:-1.26} or newer from https://go.dev/dl/ into /usr/local/go:"
		_rd_say "  curl -fsSLO https://go.dev/dl/go${want:-1.26.0}.linux-amd64.tar.gz && sudo tar -C /usr/local -xzf go${want:-1.26.0}.linux-amd64.tar.gz"
		return 1
	fi
	[[ -n $want ]] || return 0
	have=$(cd / && GOTOOLCHAIN=local go env GOVERSION 2>/dev/null) || have=
	have=${have#go}
	if [[ $have =~ ^[0-9.]+$ ]] && ! _rd_version_ge "$have" "$want"; then
		if [[ -x /usr/local/go/bin/go && $(command -v go) != /usr/local/go/bin/go ]]; then
			local_have=$(cd / && GOTOOLCHAIN=local /usr/local/go/bin/go env GOVERSION 2>/dev/null) || local_have=
			local_have=${local_have#go}
			if [[ $local_have =~ ^[0-9.]+$ ]] && _rd_version_ge "$local_have" "$want"; then
				export PATH="/usr/local/go/bin:$PATH"
				return 0
			fi
		fi
		_rd_say "warning: go $have is older than the go $want that go.mod asks for; the go command will try to fetch go$want"
	fi
	return 0
}

_rd_version_ge() { # a b: a >= b
	[[ $(printf '%s\n%s\n' "$1" "$2" | sort -V | head -n 1) == "$2" ]]
}

# --- PostgreSQL ----------------------------------------------------------

# _rd_pg_bindir prints the directory with initdb and pg_ctl, newest version.
_rd_pg_bindir() {
	local d best='' v
	if [[ -n ${ROSEASH_PG_BINDIR:-} ]]; then
		if [[ -x $ROSEASH_PG_BINDIR/initdb && -x $ROSEASH_PG_BINDIR/pg_ctl ]]; then
			printf '%s\n' "$ROSEASH_PG_BINDIR"
			return 0
		fi
		return 1
	fi
	if [[ -n ${1:-} && -x /usr/lib/postgresql/$1/bin/pg_ctl ]]; then
		printf '%s\n' "/usr/lib/postgresql/$1/bin"
		return 0
	fi
	for v in $(
		shopt -s nullglob
		for d in /usr/lib/postgresql/*/bin; do
			d=${d%/bin}
			printf '%s\n' "${d##*/}"
		done | sort -V
	); do
		d=/usr/lib/postgresql/$v/bin
		if [[ -x $d/initdb && -x $d/pg_ctl ]]; then best=$d; fi
	done
	if [[ -z $best ]] && command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
		best=$(dirname "$(command -v pg_ctl)")
	fi
	[[ -n $best ]] && printf '%s\n' "$best"
}

# _rd_pg_tool name prints the path of a client program (pg_isready, psql).
_rd_pg_tool() {
	local d
	if command -v "$1" >/dev/null 2>&1; then
		command -v "$1"
		return 0
	fi
	d=$(_rd_pg_bindir) || return 1
	[[ -x $d/$1 ]] && printf '%s\n' "$d/$1"
}

# _rd_pg_state port: 0 usable (accepts password-less login as postgres),
# 2 nothing answers, 3 a server answers but refuses that login.
_rd_pg_state() {
	local isready psql rc _
	isready=$(_rd_pg_tool pg_isready) || return 2
	psql=$(_rd_pg_tool psql) || return 2
	for _ in 1 2 3 4 5 6 7 8 9 10; do
		rc=0
		"$isready" -q -h 127.0.0.1 -p "$1" -t 3 >/dev/null 2>&1 || rc=$?
		[[ $rc == 1 ]] || break # 1: rejecting connections (starting up)
		sleep 1
	done
	[[ $rc == 0 ]] || return 2
	if PGCONNECT_TIMEOUT=5 "$psql" -X -w -q -h 127.0.0.1 -p "$1" -U postgres -d postgres -Atc 'select 1' >/dev/null 2>&1; then
		return 0
	fi
	return 3
}

# _rd_pg_run out cmd...: run a server program, as the postgres user when root
# (initdb and pg_ctl refuse to run as root), its stdout and stderr appended
# to out. The redirection belongs to the subshell, not to this shell, so
# that a trap running meanwhile (stop_started_deps on Ctrl-C) still writes
# its messages to the real stderr.
_rd_pg_run() {
	local out=$1
	shift
	if _rd_is_root; then
		(cd / && exec runuser -u postgres -- "$@") >>"$out" 2>&1
	else
		("$@") >>"$out" 2>&1
	fi
}

_rd_pg_fallback_root() {
	local hash
	hash=$(printf '%s' "$ROSEASH_STATE" | sha256sum | cut -c1-12)
	if _rd_is_root; then
		printf '%s\n' "/var/tmp/roseash-$hash/postgres"
	else
		printf '%s\n' "/tmp/roseash-$(id -u)-$hash/postgres"
	fi
}

# _rd_pg_root prints (creating it) the directory for the private server: its
# data dir, socket and log. As root it belongs to the postgres user; if that
# user can not reach the state dir, or the socket path would be too long, it
# lives under /var/tmp instead.
_rd_pg_root() {
	local root=$ROSEASH_STATE/postgres
	mkdir -p "$ROSEASH_STATE"
	if _rd_is_root; then
		if ! id -u postgres >/dev/null 2>&1; then
			_rd_err "there is no postgres system user to run PostgreSQL as (install Debian's postgresql package)"
			return 1
		fi
		if ((${#root} > 80)) || ! runuser -u postgres -- test -x "$ROSEASH_STATE"; then
			root=$(_rd_pg_fallback_root)
		fi
		mkdir -p "$root"
		if [[ $(stat -c %U "$root") != postgres ]]; then
			chown -R postgres:postgres "$root"
		fi
		chmod 700 "$root"
		if ! runuser -u postgres -- test -w "$root" -a -x "$root"; then
			_rd_err "the postgres user can not write to $root"
			return 1
		fi
	else
		if ((${#root} > 80)); then
			root=$(_rd_pg_fallback_root)
		fi
		mkdir -p "$root" 2>/dev/null || true
		chmod 700 "$root" 2>/dev/null || true
		if [[ ! -w $root || ! -x $root ]]; then
			_rd_err "can not write to $root (set ROSEASH_STATE to a directory you own)"
			return 1
		fi
	fi
	printf '%s\n' "$root"
}

# _rd_pg_orphan port: a private server of ours left running on port by a run
# that was killed. Prints its root directory.
_rd_pg_orphan() {
	local root pid port
	for root in "$ROSEASH_STATE/postgres" "$(_rd_pg_fallback_root)"; do
		[[ -r $root/data/postmaster.pid ]] || continue
		pid=$(sed -n 1p "$root/data/postmaster.pid" 2>/dev/null) || continue
		port=$(sed -n 4p "$root/data/postmaster.pid" 2>/dev/null) || continue
		if [[ $port != "$1" ]] || ! _rd_proc_alive "$pid"; then
			continue
		fi
		_rd_owner_alive "$root/owner" && return 1 # another run is using it
		printf '%s\n' "$root"
		return 0
	done
	return 1
}

_rd_sq() { # single-quote a value for postgresql.conf
	printf "'%s'" "${1//\'/\'\'}"
}

# _rd_pg_start bindir port: start (initialising if needed) the private server.
_rd_pg_start() {
	local bindir=$1 port=$2 root data log v
	root=$(_rd_pg_root) || return 1
	data=$root/data
	log=$root/postgres.log
	if [[ -s $data/PG_VERSION ]]; then
		v=$(cat "$data/PG_VERSION")
		if [[ -z ${ROSEASH_PG_BINDIR:-} && -x /usr/lib/postgresql/$v/bin/pg_ctl ]]; then
			bindir=/usr/lib/postgresql/$v/bin
		fi
		if [[ $("$bindir/pg_ctl" --version | sed -E 's/.*\(PostgreSQL\) ([0-9]+).*/\1/') != "$v" ]]; then
			_rd_err "$data was made by PostgreSQL $v, which is not installed; remove $root to start afresh"
			return 1
		fi
	else
		_rd_pg_run /dev/null rm -rf "$data"
		if ! _rd_pg_run "$log.init" "$bindir/initdb" -D "$data" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 &&
			! _rd_pg_run "$log.init" "$bindir/initdb" -D "$data" -U postgres --auth=trust --encoding=UTF8 --no-locale; then
			_rd_err "initdb failed"
			_rd_tail_log "$log.init"
			return 1
		fi
		printf "\ninclude_if_exists = 'roseash.conf'\n" | _rd_pg_run /dev/null tee -a "$data/postgresql.conf"
	fi
	# Written on every start: the port may differ from last time. This is a
	# disposable dev/test server, so durability is traded for speed.
	_rd_pg_run /dev/null tee "$data/roseash.conf" <<EOF
# written by scripts/deps.sh on every start
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = $(_rd_sq "$root")
max_connections = 200
fsync = off
synchronous_commit = off
full_page_writes = off
EOF
	# Recorded first, so that a signal arriving while pg_ctl runs still
	# leads stop_started_deps to this server.
	ROSEASH_STARTED_POSTGRES=1
	_RD_PG_BINDIR=$bindir
	_RD_PG_ROOT=$root
	_RD_PG_PORT=$port
	echo "$$" >"$root/owner"
	if ! _rd_pg_run /dev/null "$bindir/pg_ctl" -D "$data" -l "$log" -w -t 60 -s start; then
		ROSEASH_STARTED_POSTGRES=0
		rm -f "$root/owner"
		_rd_err "could not start PostgreSQL on 127.0.0.1:$port"
		_rd_tail_log "$log"
		return 1
	fi
	if ! _rd_pg_state "$port"; then
		_rd_err "PostgreSQL started in $data but does not accept connections on 127.0.0.1:$port"
		_rd_tail_log "$log"
		return 1
	fi
	_rd_say "started private PostgreSQL on 127.0.0.1:$port (data in $data)"
}

# _rd_pg_install installs Debian's PostgreSQL server and client without the
# package's own "main" cluster: that one would take port 5432 with password
# authentication over TCP, which the password-less URLs here can not use.
_rd_pg_install() {
	local conf=/etc/postgresql-common/createcluster.conf saved rc=0
	if ! dpkg-query -W -f='${Status}' postgresql-common 2>/dev/null | grep -q 'ok installed'; then
		_rd_apt_install postgresql-common || return 1
	fi
	saved=$(mktemp)
	if [[ -f $conf ]]; then
		cp -p "$conf" "$saved"
		printf '\n# temporarily added by roseash scripts/deps.sh\ncreate_main_cluster = false\n' >>"$conf"
	fi
	_rd_apt_install postgresql postgresql-client || rc=$?
	if [[ -s $saved ]]; then
		cat "$saved" >"$conf"
	fi
	rm -f "$saved"
	return "$rc"
}

# ensure_postgres [url]: with a url (a DATABASE_URL the user set), only check
# that its server answers. Otherwise make a PostgreSQL available on
# 127.0.0.1:${PGPORT:-5432} with password-less access for user postgres.
ensure_postgres() {
	local url=${1:-} port=${PGPORT:-5432} isready bindir root state=0 reason
	if [[ -n $url ]]; then
		if isready=$(_rd_pg_tool pg_isready) && ! "$isready" -q -d "$url" -t 5 >/dev/null 2>&1; then
			_rd_err "no PostgreSQL accepts connections at $(_rd_redact "$url")"
			return 1
		fi
		return 0
	fi
	if ! _rd_pg_tool pg_isready >/dev/null || ! _rd_pg_tool psql >/dev/null; then
		if reason=$(_rd_no_install_reason); then
			_rd_missing_server PostgreSQL
			return 1
		fi
		_rd_pg_install || return 1
	fi
	_rd_pg_state "$port" || state=$?
	if [[ $state == 2 ]] && ! _rd_pg_bindir >/dev/null; then
		if reason=$(_rd_no_install_reason); then
			_rd_missing_server "the PostgreSQL server"
			return 1
		fi
		_rd_pg_install || return 1
		# The package may have started a server of its own: reuse it if it fits.
		state=0
		_rd_pg_state "$port" || state=$?
	fi
	case $state in
	0)
		if root=$(_rd_pg_orphan "$port"); then
			bindir=$(_rd_pg_bindir "$(cat "$root/data/PG_VERSION" 2>/dev/null)") || bindir=$(_rd_pg_bindir) || bindir=
			if [[ -n $bindir ]]; then
				ROSEASH_STARTED_POSTGRES=1
				_RD_PG_BINDIR=$bindir
				_RD_PG_ROOT=$root
				_RD_PG_PORT=$port
				echo "$$" >"$root/owner"
				_rd_say "adopted private PostgreSQL on 127.0.0.1:$port left running by an earlier run (data in $root/data)"
			fi
		fi
		return 0
		;;
	3)
		_rd_err "the PostgreSQL on 127.0.0.1:$port refuses password-less connections as user postgres."
		_rd_say "  Set PGPORT to a free port (a private server is started there), or set DATABASE_URL"
		_rd_say "  (for make test: TEST_DATABASE_URL) to a URL with credentials."
		return 1
		;;
	esac
	bindir=$(_rd_pg_bindir) || {
		_rd_err "PostgreSQL's server programs (initdb, pg_ctl) were not found"
		return 1
	}
	_rd_pg_start "$bindir" "$port"
}

_rd_pg_stop() {
	[[ $ROSEASH_STARTED_POSTGRES == 1 ]] || return 0
	ROSEASH_STARTED_POSTGRES=0
	if _rd_pg_run /dev/null "$_RD_PG_BINDIR/pg_ctl" -D "$_RD_PG_ROOT/data" -m fast -w -t 60 -s stop; then
		_rd_say "stopped private PostgreSQL on 127.0.0.1:$_RD_PG_PORT"
	else
		_rd_err "could not stop the private PostgreSQL in $_RD_PG_ROOT/data"
	fi
	rm -f "$_RD_PG_ROOT/owner"
}

# --- Redis -----------------------------------------------------------------

_rd_redis_server() {
	if [[ -n ${ROSEASH_REDIS_SERVER:-} ]]; then
		[[ -x $ROSEASH_REDIS_SERVER ]] && printf '%s\n' "$ROSEASH_REDIS_SERVER"
		return
	fi
	command -v redis-server
}

# _rd_redis_state port: 0 answers PONG, 2 nothing answers, 3 something else.
_rd_redis_state() {
	local out
	out=$(timeout 5 redis-cli -h 127.0.0.1 -p "$1" ping 2>&1) || true
	case $out in
	PONG) return 0 ;;
	"" | *"Could not connect"* | *"Connection refused"*) return 2 ;;
	*) return 3 ;;
	esac
}

_rd_is_redis_pid() {
	local comm
	_rd_proc_alive "${1:-}" || return 1
	comm=$(_rd_first_line "/proc/$1/comm")
	[[ $comm == redis-server* || $comm == redis-check* ]]
}

_rd_redis_started() { # pid port dir
	ROSEASH_STARTED_REDIS=1
	_RD_REDIS_PID=$1
	_RD_REDIS_PORT=$2
	_RD_REDIS_DIR=$3
	echo "$$" >"$3/owner"
}

# ensure_redis [url]: with a url (a REDIS_URL the user set), only check that it
# answers. Otherwise make a Redis available on 127.0.0.1:${REDIS_PORT:-6379}.
ensure_redis() {
	local url=${1:-} port=${REDIS_PORT:-6379} dir=$ROSEASH_STATE/redis server pid="" state=0 reason
	if [[ -n $url ]]; then
		if command -v redis-cli >/dev/null 2>&1 && [[ $(timeout 5 redis-cli -u "$url" ping 2>&1) != *PONG* ]]; then
			_rd_err "no Redis answers at $(_rd_redact "$url")"
			return 1
		fi
		return 0
	fi
	if ! command -v redis-cli >/dev/null 2>&1; then
		if reason=$(_rd_no_install_reason); then
			_rd_missing_server Redis
			return 1
		fi
		_rd_apt_install redis-server redis-tools || return 1
	fi
	_rd_redis_state "$port" || state=$?
	if [[ $state == 2 ]] && ! _rd_redis_server >/dev/null; then
		if reason=$(_rd_no_install_reason); then
			_rd_missing_server "the Redis server"
			return 1
		fi
		_rd_apt_install redis-server || return 1
		# Debian's package starts a Redis of its own on 6379: reuse it if it fits.
		state=0
		_rd_redis_state "$port" || state=$?
	fi
	case $state in
	0)
		# A private one of ours that a killed run left behind?
		pid=$(_rd_first_line "$dir/redis.pid")
		if _rd_is_redis_pid "$pid" && ! _rd_owner_alive "$dir/owner" &&
			[[ $(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) == *":$port"* ]]; then
			_rd_redis_started "$pid" "$port" "$dir"
			_rd_say "adopted private Redis on 127.0.0.1:$port left running by an earlier run"
		fi
		return 0
		;;
	3)
		_rd_err "something on 127.0.0.1:$port is not a password-less Redis."
		_rd_say "  Set REDIS_PORT to a free port (a private server is started there), or set REDIS_URL"
		_rd_say "  (for make test: TEST_REDIS_URL) to a URL with credentials."
		return 1
		;;
	esac
	server=$(_rd_redis_server) || {
		_rd_err "redis-server was not found"
		return 1
	}
	mkdir -p "$dir"
	rm -f "$dir/redis.pid"
	# Recorded first, so that a signal arriving now still leads
	# stop_started_deps to this server (through its pidfile).
	_rd_redis_started "" "$port" "$dir"
	if ! "$server" --bind 127.0.0.1 --port "$port" --save "" --appendonly no --daemonize yes \
		--pidfile "$dir/redis.pid" --logfile "$dir/redis.log" --dir "$dir" >/dev/null 2>&1; then
		ROSEASH_STARTED_REDIS=0
		_rd_err "could not start Redis on 127.0.0.1:$port"
		_rd_tail_log "$dir/redis.log"
		return 1
	fi
	for _ in $(seq 1 100); do
		if _rd_redis_state "$port"; then
			pid=$(_rd_first_line "$dir/redis.pid")
			if ! _rd_is_redis_pid "$pid"; then
				ROSEASH_STARTED_REDIS=0
				_rd_err "Redis answers on 127.0.0.1:$port but $dir/redis.pid does not name it"
				return 1
			fi
			_RD_REDIS_PID=$pid
			_rd_say "started private Redis on 127.0.0.1:$port (files in $dir)"
			return 0
		fi
		sleep 0.1
	done
	_rd_err "Redis did not come up on 127.0.0.1:$port"
	_rd_tail_log "$dir/redis.log"
	_rd_redis_stop >/dev/null 2>&1 || true
	return 1
}

_rd_redis_stop() {
	local _
	[[ $ROSEASH_STARTED_REDIS == 1 ]] || return 0
	ROSEASH_STARTED_REDIS=0
	if [[ -z $_RD_REDIS_PID ]]; then # interrupted while starting
		for _ in $(seq 1 20); do
			_RD_REDIS_PID=$(_rd_first_line "$_RD_REDIS_DIR/redis.pid")
			[[ -z $_RD_REDIS_PID ]] || break
			sleep 0.1
		done
	fi
	if _rd_is_redis_pid "$_RD_REDIS_PID"; then
		kill -TERM "$_RD_REDIS_PID" 2>/dev/null || true
		for _ in $(seq 1 100); do
			_rd_is_redis_pid "$_RD_REDIS_PID" || break
			sleep 0.1
		done
		if _rd_is_redis_pid "$_RD_REDIS_PID"; then
			kill -KILL "$_RD_REDIS_PID" 2>/dev/null || true
		fi
		_rd_say "stopped private Redis on 127.0.0.1:$_RD_REDIS_PORT"
	fi
	rm -f "$_RD_REDIS_DIR/owner"
}

# --- Chromium --------------------------------------------------------------

# ensure_chromium installs Debian's chromium for the browser tests when it is
# missing and we may install; otherwise it only says so.
ensure_chromium() {
	local c reason
	for c in chromium chromium-browser google-chrome google-chrome-stable; do
		command -v "$c" >/dev/null 2>&1 && return 0
	done
	if reason=$(_rd_no_install_reason); then
		_rd_say "note: Chromium is not installed and $reason; browser tests need it: sudo apt-get install chromium"
		return 0
	fi
	_rd_apt_install chromium
}

# --- PgBouncer ---------------------------------------------------------------

# ensure_pgbouncer installs Debian's pgbouncer for the test that runs the blog
# through it (cmd/roseash TestBlogThroughPgBouncer) when it is missing and we
# may install; otherwise it only says so (that test then fails, saying how to
# get it). The test runs a PgBouncer of its own on a free port, as an
# unprivileged user; it does not use the package's service.
ensure_pgbouncer() {
	local reason
	if command -v pgbouncer >/dev/null 2>&1 || [[ -x /usr/sbin/pgbouncer ]]; then
		return 0
	fi
	if reason=$(_rd_no_install_reason); then
		_rd_say "note: PgBouncer is not installed and $reason; a test needs it: sudo apt-get install pgbouncer"
		return 0
	fi
	_rd_apt_install pgbouncer
}

# --- other tools -------------------------------------------------------------

# ensure_tools cmd...: each command must be on PATH; missing ones are
# installed from the Debian package of the same name when we may install.
ensure_tools() {
	local c missing=() reason
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 || missing+=("$c")
	done
	((${#missing[@]})) || return 0
	if reason=$(_rd_no_install_reason); then
		_rd_err "${missing[*]} not installed and $reason: sudo apt-get install ${missing[*]}"
		return 1
	fi
	_rd_apt_install "${missing[@]}"
}

# --- stopping ----------------------------------------------------------------

# stop_started_deps stops the servers this shell started or adopted, and
# nothing else. Safe to call more than once; never fails.
stop_started_deps() {
	_rd_redis_stop || true
	_rd_pg_stop || true
	return 0
}

fi

# --- running the platform's runner --------------------------------------------

# Set by forward_signals and run_roseash; the PID of the running child.
ROSEASH_CHILD=

# forward_signals: until run_roseash starts its child, a signal ends the
# calling script (its EXIT trap stops the servers it started); afterwards it
# is passed on to the child as SIGTERM. (A command started with & from a
# script has SIGINT ignored, and roseash treats SIGINT and SIGTERM alike.)
forward_signals() {
	# shellcheck disable=SC2317 # invoked by trap
	_forward() {
		if [[ -n $ROSEASH_CHILD ]] && kill -0 "$ROSEASH_CHILD" 2>/dev/null; then
			kill -TERM "$ROSEASH_CHILD" 2>/dev/null || true
		else
			exit 130
		fi
	}
	trap _forward INT TERM HUP QUIT
}

# run_roseash CMD ARGS...: runs the command in the background, in this
# process group (so a Ctrl-C on the terminal or a SIGINT to the group reaches
# it and its services directly, even when this script was started in the
# background with SIGINT ignored, which bash cannot trap; Go's signal
# handling un-ignores it), waits for it through forwarded signals, and
# returns its exit status.
run_roseash() {
	"$@" </dev/null &
	ROSEASH_CHILD=$!
	local status=0 again
	while :; do
		status=0
		wait "$ROSEASH_CHILD" || status=$?
		# wait returns early when a trapped signal arrives: wait again while
		# the child is still shutting down.
		kill -0 "$ROSEASH_CHILD" 2>/dev/null || break
	done
	if ((status > 128)); then
		# That status may be from an interrupted wait; the real one, if still
		# unreported, comes now (127 means it was already reported).
		again=0
		wait "$ROSEASH_CHILD" 2>/dev/null || again=$?
		if ((again != 127)); then status=$again; fi
	fi
	return "$status"
}
