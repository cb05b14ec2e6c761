#!/usr/bin/env bash
# deploy.sh: build, push and roll out Rose Ash services on the Docker Swarm stack.
#
#   ./deploy.sh blog              rebuild and roll out one service
#   ./deploy.sh blog market       several
#   ./deploy.sh --all             every service
#   ./deploy.sh                   the services changed since each one's last deploy
#   ./deploy.sh --since COMMIT    the services changed since COMMIT
#   ./deploy.sh --dry-run ...     print what it would do and do nothing (needs no Docker)
#
# For each service it builds <service>/Dockerfile from the repository root,
# tags the image $REGISTRY/<service>:<commit> and :latest and pushes both; then
# `docker stack deploy` applies docker-compose.yml to the stack ($STACK, default
# coop) and waits until the services have converged. Swarm rolls only the
# services whose image or definition changed, one task at a time, new before
# old, and rolls a service back by itself when its new tasks fail their health
# check. After a deploy from a clean working tree it records the commit per
# service as the git ref refs/deploy/<service> (list them with
# `git for-each-ref refs/deploy/`); that is what "changed since the last
# deploy" means. A working tree with uncommitted changes is deployed under the
# tag <commit>-dirty and not recorded. Which changes need which services is
# decided by scripts/changed-services.sh, shared with CI.
#
# Settings come from the environment, or from .env beside this script
# (DEPLOY_ENV_FILE names another file):
#   REGISTRY            where images go, e.g. registry.example.org/roseash (required)
#   STACK               the stack's name (default coop)
#   DEPLOY_DOCKER_HOST  the Swarm manager's Docker, e.g. ssh://deploy@swarm.example.org
#                       (default: the local one); builds always use the local Docker
#   DOMAIN, SMTP_HOST, ...  what docker-compose.yml reads (see its header)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")"

die() {
	echo "deploy.sh: $*" >&2
	exit 2
}

usage() {
	sed -n '4,9p' "$0" | sed 's/^# \{0,1\}//'
}

env_file=${DEPLOY_ENV_FILE:-.env}
if [[ -f $env_file ]]; then
	set -a
	# shellcheck disable=SC1090
	. "$env_file"
	set +a
fi
STACK=${STACK:-coop}

dry=false all=false since= since_set=false
names=()
while (($#)); do
	case $1 in
	-n | --dry-run) dry=true ;;
	--all) all=true ;;
	--since)
		(($# >= 2)) || die "--since needs a commit"
		since=$2 since_set=true
		shift
		;;
	-h | --help)
		usage
		exit 0
		;;
	-*) die "unknown option $1 (see ./deploy.sh --help)" ;;
	*) names+=("$1") ;;
	esac
	shift
done

mapfile -t known < <(scripts/changed-services.sh --list)
for n in "${names[@]}"; do
	ok=false
	for k in "${known[@]}"; do [[ $n == "$k" ]] && ok=true; done
	$ok || die "unknown service \"$n\"; the services are: ${known[*]}"
done
if $all && ((${#names[@]})); then die "--all and service names do not go together"; fi
if $since_set && ($all || ((${#names[@]}))); then die "--since and --all or service names do not go together"; fi

git rev-parse -q --verify HEAD >/dev/null || die "not in a git repository with a commit"
commit=$(git rev-parse HEAD)
tag=${commit:0:12}
clean=true
# .env (settings, never committed) is no change to the code.
if [[ -n $(git status --porcelain -- . ':(exclude).env') ]]; then
	clean=false
	tag=$tag-dirty
	echo "deploy.sh: the working tree has uncommitted changes: images are tagged $tag and the deploy is not recorded" >&2
fi

# Which services, in the order of scripts/changed-services.sh --list.
declare -A want=()
if $all; then
	for k in "${known[@]}"; do want[$k]=1; done
elif ((${#names[@]})); then
	for n in "${names[@]}"; do want[$n]=1; done
elif $since_set; then
	git rev-parse -q --verify "$since^{commit}" >/dev/null || die "--since $since: not a commit in this repository"
	changes=$(scripts/changed-services.sh "$since") || die "cannot work out the changes since $since"
	while IFS= read -r s; do [[ -n $s ]] && want[$s]=1; done <<<"$changes"
else
	for k in "${known[@]}"; do
		last=$(git rev-parse -q --verify "refs/deploy/$k^{commit}" || true)
		if [[ -z $last ]]; then
			want[$k]=1
			echo "$k: no deploy recorded"
			continue
		fi
		changes=$(scripts/changed-services.sh "$last") || die "cannot work out the changes since ${last:0:12}"
		if grep -qx "$k" <<<"$changes"; then
			want[$k]=1
			echo "$k: changed since its last deploy (${last:0:12})"
		fi
	done
fi
selected=()
for k in "${known[@]}"; do [[ -n ${want[$k]:-} ]] && selected+=("$k"); done
if ((${#selected[@]} == 0)); then
	echo "nothing to deploy: no service changed"
	exit 0
fi

registry=${REGISTRY:-}
if [[ -z $registry ]]; then
	$dry || die "REGISTRY is not set: the registry the images are pushed to, e.g. registry.example.org/roseash (in the environment or $env_file)"
	echo "REGISTRY is not set: the images are shown as REGISTRY/..."
	registry=REGISTRY
fi
registry=${registry%/}
# Swarm configs cannot change in place: the app config's name carries a hash
# of its content, so a changed file becomes a new config and the services
# using it roll.
config_version=$(git hash-object _config/app-config.yaml | cut -c1-12)
stack_docker=(docker)
[[ -n ${DEPLOY_DOCKER_HOST:-} ]] && stack_docker=(docker -H "$DEPLOY_DOCKER_HOST")
# --detach=false (Docker 26 and later) waits until the services converge and
# fails when one is rolled back; older clients return at once.
wait_flag=(--detach=false)

run() {
	printf '+'
	printf ' %q' "$@"
	printf '\n'
	$dry || "$@"
}

if $dry; then
	echo "dry run: nothing is built, pushed, deployed or recorded"
else
	command -v docker >/dev/null || die "docker is not installed here"
fi
echo "deploying ${selected[*]} at ${commit:0:12} to stack $STACK"
for s in "${selected[@]}"; do
	run docker build -f "$s/Dockerfile" --label "org.opencontainers.image.revision=$commit" \
		-t "$registry/$s:$tag" -t "$registry/$s:latest" .
done
for s in "${selected[@]}"; do
	run docker push "$registry/$s:$tag"
	run docker push "$registry/$s:latest"
done
if ! $dry; then
	stack_help=$(docker stack deploy --help 2>&1 || true)
	[[ $stack_help == *--detach* ]] || wait_flag=()
fi
run env REGISTRY="$registry" CONFIG_VERSION="$config_version" "${stack_docker[@]}" stack deploy \
	"${wait_flag[@]}" --with-registry-auth -c docker-compose.yml "$STACK"
if $clean; then
	for s in "${selected[@]}"; do
		run git update-ref -m "deploy.sh: $s" "refs/deploy/$s" "$commit"
	done
fi
if $dry; then
	echo "dry run done"
else
	echo "deployed ${selected[*]} at ${commit:0:12}"
fi
