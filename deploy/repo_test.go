package deploy

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"rose-ash.com/platform/shared/config"
)

// root is the repository root, where the files under test live.
const root = ".."

// services are the six deployable services, in the platform's order.
var services = config.Services

// others returns every service but the ones named.
func others(names ...string) []string {
	var out []string
	for _, s := range services {
		if !slices.Contains(names, s) {
			out = append(out, s)
		}
	}
	return out
}

// absRoot returns the repository root as an absolute path.
func absRoot(t *testing.T) string {
	t.Helper()
	p, err := filepath.Abs(root)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// absPath returns the absolute path of a file in the repository.
func absPath(t *testing.T, name string) string {
	t.Helper()
	return filepath.Join(absRoot(t), name)
}

// gitRepo is a throwaway git repository for scripted commits.
type gitRepo struct {
	t   *testing.T
	dir string
}

// newGitRepo makes an empty repository with an author configured.
func newGitRepo(t *testing.T) *gitRepo {
	t.Helper()
	r := &gitRepo{t: t, dir: t.TempDir()}
	r.git("init", "-q", "-b", "main")
	r.git("config", "user.name", "Deploy Test")
	r.git("config", "user.email", "deploy-test@example.org")
	r.git("config", "commit.gpgsign", "false")
	return r
}

// git runs a git command in the repository and returns its trimmed output.
func (r *gitRepo) git(args ...string) string {
	r.t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = r.dir
	cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null")
	out, err := cmd.CombinedOutput()
	if err != nil {
		r.t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// write creates or replaces files (path relative to the repository: content).
func (r *gitRepo) write(files map[string]string) {
	r.t.Helper()
	for name, content := range files {
		p := filepath.Join(r.dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			r.t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			r.t.Fatal(err)
		}
	}
}

// copyFrom copies files from the real repository, keeping their mode.
func (r *gitRepo) copyFrom(names ...string) {
	r.t.Helper()
	for _, name := range names {
		b, err := os.ReadFile(filepath.Join(root, name))
		if err != nil {
			r.t.Fatal(err)
		}
		info, err := os.Stat(filepath.Join(root, name))
		if err != nil {
			r.t.Fatal(err)
		}
		p := filepath.Join(r.dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			r.t.Fatal(err)
		}
		if err := os.WriteFile(p, b, info.Mode().Perm()); err != nil {
			r.t.Fatal(err)
		}
	}
}

// commit writes files and commits everything, returning the new commit.
func (r *gitRepo) commit(msg string, files map[string]string) string {
	r.t.Helper()
	r.write(files)
	r.git("add", "-A")
	r.git("commit", "-q", "-m", msg)
	return r.git("rev-parse", "HEAD")
}

// platformTree is a minimal tree laid out like the platform: each service,
// shared/, migrations/, the config, docs and the module files.
func platformTree() map[string]string {
	files := map[string]string{
		"go.mod":                   "module example.org/platform\n",
		"go.sum":                   "",
		"shared/web/web.go":        "package web\n",
		"migrations/0001_a.up.sql": "CREATE TABLE a (id int);\n",
		"_config/app-config.yaml":  "environment: development\n",
		"docker-compose.yml":       "services: {}\n",
		"docs/DECISIONS.md":        "# Decisions\n",
		"README.md":                "# Platform\n",
		"cmd/roseash/main.go":      "package main\n",
		"journeys/j_test.go":       "package journeys\n",
	}
	for _, s := range services {
		files[s+"/main.go"] = "package main\n"
		files[s+"/Dockerfile"] = "FROM scratch\n"
	}
	return files
}

// lines splits output into its non-empty lines.
func lines(out string) []string {
	var ls []string
	for _, l := range strings.Split(out, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			ls = append(ls, l)
		}
	}
	return ls
}
