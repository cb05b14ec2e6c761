#!/usr/bin/env bash
# scripts/changed-services.sh: which services a change needs deployed.
#
#   scripts/changed-services.sh BASE [TARGET]   print the services to deploy, one a line
#   scripts/changed-services.sh --list          print every service, one a line
#
# BASE is the commit last deployed. TARGET is the commit to deploy; without it
# the working tree is compared (committed or not, untracked files included),
# which is what ./deploy.sh builds from. Run it inside the repository.
#
# The rules, for each file that differs between BASE and TARGET:
#   <service>/...                                    that service
#   shared/, migrations/, _config/, go.mod, go.sum,
#   docker-compose.yml, .dockerignore                every service (they go into
#                                                    every image or every service)
#   anything else (docs, README.md, cmd/, journeys/,
#   scripts/, deploy/, .gitea/, Makefile, ...)       nothing
# An empty BASE, the all-zero commit (a branch's first push) or a BASE this
# clone does not have means every service.
#
# Used by ./deploy.sh (no arguments: changes since the last deploy) and by
# .gitea/workflows/ci.yml (changes in a push); keep the rules here only.
set -euo pipefail

services=(blog market cart events federation account)

usage() {
	sed -n '4,5p' "$0" | sed 's/^# \{0,1\}//' >&2
	exit 2
}

if [[ ${1:-} == --list ]]; then
	printf '%s\n' "${services[@]}"
	exit 0
fi
[[ $# -ge 1 && $# -le 2 && ${1:-} != -* ]] || usage
base=$1
target=${2:-}

cd "$(git rev-parse --show-toplevel)"

if [[ -n $target ]] && ! git rev-parse -q --verify "$target^{commit}" >/dev/null; then
	echo "changed-services: $target is not a commit in this repository" >&2
	exit 2
fi
if [[ -z $base ]] || ! git rev-parse -q --verify "$base^{commit}" >/dev/null; then
	echo "changed-services: no usable base commit (${base:-none given}): every service" >&2
	printf '%s\n' "${services[@]}"
	exit 0
fi

if [[ -n $target ]]; then
	files=$(git diff --no-renames --name-only "$base" "$target" --)
else
	files=$(git diff --no-renames --name-only "$base" --; git ls-files --others --exclude-standard)
fi

declare -A picked=()
while IFS= read -r f; do
	[[ -n $f ]] || continue
	case $f in
	shared/* | migrations/* | _config/* | go.mod | go.sum | docker-compose.yml | .dockerignore)
		printf '%s\n' "${services[@]}"
		exit 0
		;;
	esac
	for s in "${services[@]}"; do
		[[ $f == "$s"/* ]] && picked[$s]=1
	done
done <<<"$files"

for s in "${services[@]}"; do
	[[ -n ${picked[$s]:-} ]] && echo "$s"
done
exit 0
