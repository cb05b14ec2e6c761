#!/usr/bin/env bash
# scripts/backup-postgres.sh: dump the stack's PostgreSQL into a dated file
# and delete dumps older than KEEP_DAYS.
#
#   scripts/backup-postgres.sh [DIR]     DIR defaults to /var/backups/roseash
#
# Run it on the node that runs PostgreSQL (the one labelled roseash.data=true),
# e.g. nightly from /etc/cron.d/roseash-backup:
#   15 3 * * * root /srv/roseash/scripts/backup-postgres.sh >>/var/log/roseash-backup.log 2>&1
# The dump is pg_dump's custom format: restore with pg_restore (README,
# "Deploying"). Copy DIR off the node as well: a backup on the same disk is no
# backup when that disk dies.
#
# Environment: STACK (default coop), KEEP_DAYS (default 14).
set -euo pipefail

dir=${1:-/var/backups/roseash}
stack=${STACK:-coop}
keep=${KEEP_DAYS:-14}

container=$(docker ps -q -f "label=com.docker.swarm.service.name=${stack}_postgres" | head -n 1)
if [[ -z $container ]]; then
	echo "backup-postgres: no running ${stack}_postgres container on this node" >&2
	exit 1
fi
mkdir -p "$dir"
out="$dir/roseash-$(date -u +%Y%m%dT%H%M%SZ).dump"
trap 'rm -f "$out.partial"' EXIT
docker exec "$container" pg_dump -U roseash -d roseash --format=custom >"$out.partial"
mv "$out.partial" "$out"
find "$dir" -maxdepth 1 -name 'roseash-*.dump' -mtime "+$keep" -delete
echo "backup-postgres: wrote $out ($(du -h "$out" | cut -f1))"
