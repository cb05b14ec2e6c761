// Package deploy holds no code: its tests check the operator interface kept
// at the repository root, without a Docker engine. They load
// docker-compose.yml with the Compose specification's own loader
// (compose-go) and feed each service's environment to the platform's config
// loader; parse every <service>/Dockerfile with BuildKit's parser; check that
// .dockerignore keeps everything the builds read, with Docker's own pattern
// matcher; run scripts/changed-services.sh and deploy.sh against throwaway git
// repositories (with a stand-in docker that records what it is asked); run
// scripts/backup-postgres.sh against a stand-in docker; and parse the Gitea
// workflow. The files under test are read at "../".
package deploy
