package deploy

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// stubDocker puts a stand-in docker first on PATH: it appends its arguments
// to the returned log file, one call a line, and fails when its first
// argument is listed in DOCKER_FAIL; with STUB_DETACH set, its `stack deploy
// --help` offers --detach, as Docker 26 and later do. It returns PATH and the
// log's path.
func stubDocker(t *testing.T) (path, log string) {
	t.Helper()
	bin := t.TempDir()
	log = filepath.Join(bin, "docker.log")
	script := `#!/bin/sh
echo "$*" >> "` + log + `"
[ "$*" = "stack deploy --help" ] && [ -n "$STUB_DETACH" ] && echo "  -d, --detach   Exit immediately instead of waiting for the stack services to converge"
for f in $DOCKER_FAIL; do [ "$1" = "$f" ] && { echo "docker $1 failed" >&2; exit 1; }; done
exit 0
`
	if err := os.WriteFile(filepath.Join(bin, "docker"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return bin + string(os.PathListSeparator) + os.Getenv("PATH"), log
}

// dockerCalls returns the stand-in docker's calls so far.
func dockerCalls(t *testing.T, log string) []string {
	t.Helper()
	b, err := os.ReadFile(log)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return lines(string(b))
}

// runDeploy runs the deploy.sh in dir with args, with this process's
// environment less anything deploy.sh or docker-compose.yml reads, plus env;
// no .env file is read. It returns the combined output and the exit code.
func runDeploy(t *testing.T, dir string, env []string, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(filepath.Join(dir, "deploy.sh"), args...)
	cmd.Dir = dir
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		switch {
		case name == "REGISTRY", name == "STACK", name == "DOMAIN", name == "CONFIG_VERSION",
			strings.HasPrefix(name, "DEPLOY_"), strings.HasPrefix(name, "DOCKER_"):
			continue
		}
		cmd.Env = append(cmd.Env, kv)
	}
	cmd.Env = append(append(cmd.Env, "DEPLOY_ENV_FILE=/dev/null"), env...)
	out, err := cmd.CombinedOutput()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return string(out), code
}

// builds returns the services deploy.sh's output says it builds, in order.
func builds(out string) []string {
	var got []string
	for _, m := range regexp.MustCompile(`(?m)docker build -f ([a-z]+)/Dockerfile`).FindAllStringSubmatch(out, -1) {
		got = append(got, m[1])
	}
	return got
}

// mentions reports which of names appear as words in out.
func mentions(out string, names []string) []string {
	var got []string
	for _, n := range names {
		if regexp.MustCompile(`\b` + n + `\b`).MatchString(out) {
			got = append(got, n)
		}
	}
	return got
}

// The argument forms, dry run, on the real deploy.sh: it says what it would
// do for exactly the services asked, and calls no docker.
func TestDeployDryRun(t *testing.T) {
	path, log := stubDocker(t)
	env := []string{"PATH=" + path, "REGISTRY=registry.example.org/roseash", "STACK=coop"}
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"--dry-run", "blog"}, []string{"blog"}},
		{[]string{"--dry-run", "market", "blog"}, []string{"blog", "market"}},
		{[]string{"-n", "cart"}, []string{"cart"}},
		{[]string{"--dry-run", "--all"}, services},
		{[]string{"--all", "--dry-run"}, services},
	} {
		out, code := runDeploy(t, absRoot(t), env, tc.args...)
		if code != 0 {
			t.Errorf("deploy.sh %q: exit %d\n%s", tc.args, code, out)
			continue
		}
		if got := builds(out); !slices.Equal(got, tc.want) {
			t.Errorf("deploy.sh %q builds %q, want %q\n%s", tc.args, got, tc.want, out)
		}
		// Not even in a header: a dry run for some services names no others.
		if got := mentions(out, others(tc.want...)); len(got) > 0 {
			t.Errorf("deploy.sh %q mentions %q, which it does not deploy\n%s", tc.args, got, out)
		}
		for _, s := range tc.want {
			for _, want := range []string{
				"docker push registry.example.org/roseash/" + s + ":latest",
				"-t registry.example.org/roseash/" + s + ":latest",
			} {
				if !strings.Contains(out, want) {
					t.Errorf("deploy.sh %q: output lacks %q\n%s", tc.args, want, out)
				}
			}
		}
		if n := strings.Count(out, "stack deploy"); n != 1 || !strings.Contains(out, "--with-registry-auth -c docker-compose.yml coop") {
			t.Errorf("deploy.sh %q: want one `docker stack deploy ... -c docker-compose.yml coop`, got %d\n%s", tc.args, n, out)
		}
		if !strings.Contains(out, "dry run") {
			t.Errorf("deploy.sh %q: output does not say it is a dry run\n%s", tc.args, out)
		}
	}
	if calls := dockerCalls(t, log); len(calls) > 0 {
		t.Errorf("dry runs called docker: %q", calls)
	}
}

// A dry run needs no REGISTRY; a real deploy refuses to start without one.
func TestDeployNeedsARegistry(t *testing.T) {
	path, log := stubDocker(t)
	out, code := runDeploy(t, absRoot(t), []string{"PATH=" + path}, "--dry-run", "blog")
	if code != 0 || !strings.Contains(out, "REGISTRY/blog:latest") {
		t.Errorf("dry run without REGISTRY: exit %d\n%s", code, out)
	}
	out, code = runDeploy(t, absRoot(t), []string{"PATH=" + path}, "blog")
	if code == 0 || !strings.Contains(out, "REGISTRY is not set") {
		t.Errorf("deploy without REGISTRY: exit %d, want an error naming REGISTRY\n%s", code, out)
	}
	if calls := dockerCalls(t, log); len(calls) > 0 {
		t.Errorf("called docker: %q", calls)
	}
}

// Unknown names and contradictory arguments fail with a message, before
// anything is built.
func TestDeployRefusesBadArguments(t *testing.T) {
	path, log := stubDocker(t)
	env := []string{"PATH=" + path, "REGISTRY=registry.example.org/roseash"}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--dry-run", "nosuchservice"}, `unknown service "nosuchservice"`},
		{[]string{"nosuchservice"}, `unknown service "nosuchservice"`},
		{[]string{"--dry-run", "blog", "Blog"}, `unknown service "Blog"`},
		{[]string{"--dry-run", "--all", "blog"}, "do not go together"},
		{[]string{"--dry-run", "--since", "HEAD", "blog"}, "do not go together"},
		{[]string{"--dry-run", "--since"}, "--since needs a commit"},
		{[]string{"--frobnicate"}, "unknown option --frobnicate"},
		{[]string{"--dry-run", "--since", "no-such-commit"}, "not a commit"},
	} {
		out, code := runDeploy(t, absRoot(t), env, tc.args...)
		if code == 0 || !strings.Contains(out, tc.want) {
			t.Errorf("deploy.sh %q: exit %d, want non-zero with %q\n%s", tc.args, code, tc.want, out)
		}
		if got := builds(out); len(got) > 0 {
			t.Errorf("deploy.sh %q would build %q", tc.args, got)
		}
	}
	if calls := dockerCalls(t, log); len(calls) > 0 {
		t.Errorf("called docker: %q", calls)
	}
}

func TestDeployHelp(t *testing.T) {
	out, code := runDeploy(t, absRoot(t), []string{"PATH=" + os.Getenv("PATH")}, "--help")
	if code != 0 || !strings.Contains(out, "./deploy.sh --all") || !strings.Contains(out, "--dry-run") {
		t.Errorf("--help: exit %d\n%s", code, out)
	}
}

// deployRepo is a throwaway repository with the real deploy.sh and
// scripts/changed-services.sh, laid out like the platform.
func deployRepo(t *testing.T) *gitRepo {
	t.Helper()
	repo := newGitRepo(t)
	repo.copyFrom("deploy.sh", "scripts/changed-services.sh")
	repo.commit("platform", platformTree())
	return repo
}

// deployedRefs returns refs/deploy/<service> for each service ("" when unset).
func deployedRefs(repo *gitRepo) map[string]string {
	refs := map[string]string{}
	for _, line := range lines(repo.git("for-each-ref", "--format=%(refname) %(objectname)", "refs/deploy/")) {
		name, sha, _ := strings.Cut(line, " ")
		refs[strings.TrimPrefix(name, "refs/deploy/")] = sha
	}
	return refs
}

// The whole cycle on a throwaway repository with a stand-in docker: the first
// deploy takes everything and records each service's commit; afterwards,
// with no arguments, only what changed since is deployed; explicit names
// record only themselves; a dirty tree is deployed but not recorded; a
// failed build deploys and records nothing.
func TestDeployCycle(t *testing.T) {
	repo := deployRepo(t)
	path, log := stubDocker(t)
	env := []string{"PATH=" + path, "REGISTRY=registry.example.org/roseash/", "STACK=coop"}
	deploy := func(args ...string) string {
		t.Helper()
		out, code := runDeploy(t, repo.dir, env, args...)
		if code != 0 {
			t.Fatalf("deploy.sh %q: exit %d\n%s", args, code, out)
		}
		return out
	}
	first := repo.git("rev-parse", "HEAD")

	// First deploy: nothing recorded, so every service.
	out := deploy("--dry-run")
	if got := builds(out); !slices.Equal(got, services) {
		t.Fatalf("first dry run builds %q, want every service\n%s", got, out)
	}
	if len(dockerCalls(t, log)) > 0 || len(deployedRefs(repo)) > 0 {
		t.Fatal("the dry run called docker or recorded a deploy")
	}
	deploy()
	tag := first[:12]
	calls := dockerCalls(t, log)
	var want []string
	for _, s := range services {
		want = append(want, "build -f "+s+"/Dockerfile --label org.opencontainers.image.revision="+first+
			" -t registry.example.org/roseash/"+s+":"+tag+" -t registry.example.org/roseash/"+s+":latest .")
	}
	for _, s := range services {
		want = append(want, "push registry.example.org/roseash/"+s+":"+tag, "push registry.example.org/roseash/"+s+":latest")
	}
	if !slices.Equal(calls[:len(want)], want) {
		t.Fatalf("docker calls:\n%s\nwant first:\n%s", strings.Join(calls, "\n"), strings.Join(want, "\n"))
	}
	// The stand-in has no --detach in its help, so deploy.sh leaves the flag out.
	if rest := calls[len(want):]; !slices.Equal(rest, []string{"stack deploy --help", "stack deploy --with-registry-auth -c docker-compose.yml coop"}) {
		t.Fatalf("docker calls after the pushes: %q", rest)
	}
	for _, s := range services {
		if got := deployedRefs(repo)[s]; got != first {
			t.Errorf("refs/deploy/%s = %q, want %s", s, got, first)
		}
	}

	// Nothing changed since.
	if out := deploy("--dry-run"); !strings.Contains(out, "nothing to deploy") || len(builds(out)) > 0 {
		t.Errorf("dry run with nothing changed:\n%s", out)
	}
	// Docs only: still nothing.
	repo.commit("docs", map[string]string{"docs/DECISIONS.md": "# more\n"})
	if out := deploy(); !strings.Contains(out, "nothing to deploy") || len(builds(out)) > 0 {
		t.Errorf("deploy after a docs change:\n%s", out)
	}

	// One service changed: only it.
	second := repo.commit("market", map[string]string{"market/internal/x.go": "package internal\n"})
	out = deploy("--dry-run")
	if got := builds(out); !slices.Equal(got, []string{"market"}) {
		t.Fatalf("dry run after a market change builds %q, want [market]\n%s", got, out)
	}
	if got := mentions(out, others("market")); len(got) > 0 {
		t.Errorf("dry run mentions %q\n%s", got, out)
	}
	// An explicit other name deploys and records only that one: market stays pending.
	deploy("cart")
	refs := deployedRefs(repo)
	if refs["cart"] != second || refs["market"] != first {
		t.Errorf("after deploy.sh cart: cart at %s, market at %s; want cart at %s and market still at %s", refs["cart"], refs["market"], second, first)
	}
	if got := builds(deploy("--dry-run")); !slices.Equal(got, []string{"market"}) {
		t.Errorf("market no longer pending after deploying cart: %q", got)
	}
	deploy()
	if refs := deployedRefs(repo); refs["market"] != second {
		t.Errorf("refs/deploy/market = %s, want %s", refs["market"], second)
	}

	// shared/ changed: everything.
	repo.commit("shared", map[string]string{"shared/web/web.go": "package web // 2\n"})
	if got := builds(deploy("--dry-run")); !slices.Equal(got, services) {
		t.Errorf("dry run after a shared/ change builds %q, want every service", got)
	}
	// --since picks changes since a given commit.
	if got := builds(deploy("--dry-run", "--since", "HEAD")); len(got) > 0 {
		t.Errorf("--since HEAD builds %q, want nothing", got)
	}
	if got := builds(deploy("--dry-run", "--since", first)); !slices.Equal(got, services) {
		t.Errorf("--since %s builds %q, want every service", first[:12], got)
	}
	deploy("--all")

	// Uncommitted changes: deployed as <commit>-dirty, not recorded.
	before := deployedRefs(repo)
	repo.write(map[string]string{"blog/main.go": "package main // uncommitted\n"})
	out = deploy()
	head := repo.git("rev-parse", "HEAD")
	if got := builds(out); !slices.Equal(got, []string{"blog"}) || !strings.Contains(out, "registry.example.org/roseash/blog:"+head[:12]+"-dirty") {
		t.Errorf("dirty deploy:\n%s", out)
	}
	if after := deployedRefs(repo); after["blog"] != before["blog"] {
		t.Errorf("a dirty deploy was recorded: refs/deploy/blog %s -> %s", before["blog"], after["blog"])
	}
	repo.git("checkout", "--", "blog/main.go")

	// A failed build: non-zero, nothing pushed, deployed or recorded.
	repo.commit("events", map[string]string{"events/main.go": "package main // 2\n"})
	if err := os.Truncate(log, 0); err != nil {
		t.Fatal(err)
	}
	out, code := runDeploy(t, repo.dir, append(env, "DOCKER_FAIL=build"))
	if code == 0 {
		t.Fatalf("deploy with a failing build exited 0\n%s", out)
	}
	if calls := dockerCalls(t, log); len(calls) != 1 || !strings.HasPrefix(calls[0], "build -f events/Dockerfile") {
		t.Errorf("docker calls after a failed build: %q", calls)
	}
	if refs := deployedRefs(repo); refs["events"] == repo.git("rev-parse", "HEAD") {
		t.Error("a failed deploy was recorded")
	}
	// A failed stack deploy is not recorded either.
	out, code = runDeploy(t, repo.dir, append(env, "DOCKER_FAIL=stack"))
	if code == 0 {
		t.Fatalf("deploy with a failing stack deploy exited 0\n%s", out)
	}
	if refs := deployedRefs(repo); refs["events"] == repo.git("rev-parse", "HEAD") {
		t.Error("a failed stack deploy was recorded")
	}
}

// The stack is deployed through DEPLOY_DOCKER_HOST when it is set (CI
// reaches the Swarm manager over SSH), waiting for the rollout where the
// client can; images are built by the local Docker.
func TestDeployToARemoteSwarm(t *testing.T) {
	repo := deployRepo(t)
	path, log := stubDocker(t)
	out, code := runDeploy(t, repo.dir, []string{"PATH=" + path, "REGISTRY=r.example.org/x", "DEPLOY_DOCKER_HOST=ssh://deploy@swarm.example.org", "STUB_DETACH=1"}, "events")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, out)
	}
	calls := dockerCalls(t, log)
	last := calls[len(calls)-1]
	// This docker can wait for the rollout, so deploy.sh asks it to.
	if last != "-H ssh://deploy@swarm.example.org stack deploy --detach=false --with-registry-auth -c docker-compose.yml coop" {
		t.Errorf("stack deployed with %q", last)
	}
	if !strings.HasPrefix(calls[0], "build ") {
		t.Errorf("built with %q, want the local docker", calls[0])
	}
}
