package deploy

import (
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// changed runs the real scripts/changed-services.sh in repo and returns the
// services it prints.
func changed(t *testing.T, repo *gitRepo, args ...string) []string {
	t.Helper()
	cmd := exec.Command(filepath.Join(absRoot(t), "scripts", "changed-services.sh"), args...)
	cmd.Dir = repo.dir
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("changed-services.sh %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return lines(string(out))
}

// Each scripted commit on top of a deployed base is shown to the script,
// which must name exactly the services whose images it changes.
func TestChangedServices(t *testing.T) {
	for _, tc := range []struct {
		name  string
		files map[string]string
		want  []string
	}{
		{"one service changed", map[string]string{"events/internal/routes.go": "package internal\n"}, []string{"events"}},
		{"its Dockerfile changed", map[string]string{"federation/Dockerfile": "FROM scratch AS x\n"}, []string{"federation"}},
		{"two services changed", map[string]string{"cart/main.go": "package main // 2\n", "blog/main.go": "package main // 2\n"}, []string{"blog", "cart"}},
		{"shared changed", map[string]string{"shared/web/web.go": "package web // 2\n"}, services},
		{"a migration added", map[string]string{"migrations/0002_b.up.sql": "CREATE TABLE b (id int);\n"}, services},
		{"go.mod changed", map[string]string{"go.mod": "module example.org/platform\n\ngo 1.26\n"}, services},
		{"go.sum changed", map[string]string{"go.sum": "example.org/x v1 h1:x\n"}, services},
		{"the stack changed", map[string]string{"docker-compose.yml": "services: {x: {}}\n"}, services},
		{"the runtime config changed", map[string]string{"_config/app-config.yaml": "environment: production\n"}, services},
		{"docs only", map[string]string{"docs/DECISIONS.md": "# Decisions\n\nmore\n", "README.md": "# Platform\n\nmore\n"}, nil},
		{"operator CLI, journeys and tests of deploying", map[string]string{"cmd/roseash/main.go": "package main // 2\n", "journeys/j_test.go": "package journeys // 2\n", "deploy/x_test.go": "package deploy\n"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			repo := newGitRepo(t)
			base := repo.commit("deployed", platformTree())
			head := repo.commit(tc.name, tc.files)
			if got := changed(t, repo, base, head); !slices.Equal(got, tc.want) {
				t.Errorf("changed-services.sh BASE HEAD = %q, want %q", got, tc.want)
			}
		})
	}
}

// Several commits since the base count together, and a service that only
// changed in an earlier commit is still named.
func TestChangedServicesOverSeveralCommits(t *testing.T) {
	repo := newGitRepo(t)
	base := repo.commit("deployed", platformTree())
	repo.commit("market", map[string]string{"market/internal/x.go": "package internal\n"})
	repo.commit("docs", map[string]string{"docs/DECISIONS.md": "# more\n"})
	head := repo.commit("account", map[string]string{"account/main.go": "package main // 2\n"})
	if got, want := changed(t, repo, base, head), []string{"market", "account"}; !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

// A file moved out of a service still changes that service.
func TestChangedServicesSeesBothSidesOfAMove(t *testing.T) {
	repo := newGitRepo(t)
	base := repo.commit("deployed", platformTree())
	repo.git("mv", "cart/main.go", "docs/main.go.txt")
	repo.git("commit", "-q", "-m", "move")
	if got, want := changed(t, repo, base, "HEAD"), []string{"cart"}; !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

// Without a usable base (first deploy, a branch's first push, a commit this
// clone lacks) every service is deployed.
func TestChangedServicesWithoutABase(t *testing.T) {
	repo := newGitRepo(t)
	repo.commit("first", platformTree())
	for _, base := range []string{"", "0000000000000000000000000000000000000000", "0123456789abcdef0123456789abcdef01234567"} {
		if got := changed(t, repo, base, "HEAD"); !slices.Equal(got, services) {
			t.Errorf("base %q: got %q, want every service", base, got)
		}
	}
}

// Without a target the working tree is compared, as deploy.sh builds it:
// uncommitted and untracked files count.
func TestChangedServicesInTheWorkingTree(t *testing.T) {
	repo := newGitRepo(t)
	base := repo.commit("deployed", platformTree())
	repo.write(map[string]string{"account/main.go": "package main // edited\n", "federation/internal/new.go": "package internal\n"})
	if got, want := changed(t, repo, base), []string{"federation", "account"}; !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
	if got := changed(t, repo, base, "HEAD"); len(got) != 0 {
		t.Errorf("against HEAD got %q, want nothing (the edits are not committed)", got)
	}
}

// The script's list of services is the platform's.
func TestChangedServicesList(t *testing.T) {
	repo := newGitRepo(t)
	repo.commit("first", platformTree())
	if got := changed(t, repo, "--list"); !slices.Equal(got, services) {
		t.Errorf("--list = %q, want %q", got, services)
	}
}

func TestChangedServicesRefusesBadArguments(t *testing.T) {
	repo := newGitRepo(t)
	repo.commit("first", platformTree())
	for _, args := range [][]string{{}, {"--nope"}, {"HEAD", "no-such-commit"}, {"a", "b", "c"}} {
		cmd := exec.Command(filepath.Join(absRoot(t), "scripts", "changed-services.sh"), args...)
		cmd.Dir = repo.dir
		out, err := cmd.CombinedOutput()
		if err == nil {
			t.Errorf("changed-services.sh %q succeeded with %q, want an error", args, out)
		}
	}
}
