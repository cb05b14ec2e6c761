package deploy

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/goccy/go-yaml"
)

// workflow is a Gitea Actions workflow, strictly decoded: an unknown key (a
// typo such as "run-on") fails the test.
type workflow struct {
	Name string `yaml:"name"`
	On   struct {
		Push struct {
			Branches []string `yaml:"branches"`
		} `yaml:"push"`
	} `yaml:"on"`
	Jobs map[string]job `yaml:"jobs"`
}

// job is one workflow job.
type job struct {
	Needs  any    `yaml:"needs"`
	RunsOn string `yaml:"runs-on"`
	Steps  []step `yaml:"steps"`
}

// step is one job step.
type step struct {
	ID   string            `yaml:"id"`
	Name string            `yaml:"name"`
	Uses string            `yaml:"uses"`
	If   string            `yaml:"if"`
	Run  string            `yaml:"run"`
	Env  map[string]string `yaml:"env"`
	With map[string]any    `yaml:"with"`
}

// loadWorkflow decodes ../.gitea/workflows/ci.yml.
func loadWorkflow(t *testing.T) workflow {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, ".gitea", "workflows", "ci.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var w workflow
	if err := yaml.UnmarshalWithOptions(b, &w, yaml.Strict()); err != nil {
		t.Fatalf("ci.yml does not parse: %v", err)
	}
	return w
}

// On a push to main: the tests, then (only after them) detection with the
// shared script, build and push through deploy.sh, and the stack deployed on
// the manager over SSH with the DEPLOY_SSH_KEY and DEPLOY_HOST secrets.
func TestWorkflow(t *testing.T) {
	w := loadWorkflow(t)
	if !slices.Contains(w.On.Push.Branches, "main") {
		t.Errorf("runs on pushes to %q, want main", w.On.Push.Branches)
	}
	test, ok := w.Jobs["test"]
	if !ok || !slices.ContainsFunc(test.Steps, func(s step) bool {
		return strings.Contains(s.Run, ".ci/run") || strings.Contains(s.Run, "make test")
	}) {
		t.Error("no test job running make test (.ci/run)")
	}
	deploy, ok := w.Jobs["deploy"]
	if !ok {
		t.Fatal("no deploy job")
	}
	if needs, _ := deploy.Needs.(string); needs != "test" {
		t.Errorf("deploy needs %v, want test", deploy.Needs)
	}
	var detect, ship, checkout int = -1, -1, -1
	secrets := map[string]bool{}
	for i, s := range deploy.Steps {
		if strings.HasPrefix(s.Uses, "actions/checkout") {
			checkout = i
			if d := s.With["fetch-depth"]; d == nil || fmt.Sprint(d) != "0" {
				t.Errorf("checkout fetch-depth %v, want 0: detection compares with the commit before the push", s.With["fetch-depth"])
			}
		}
		if strings.Contains(s.Run, "scripts/changed-services.sh") {
			detect = i
			if !strings.Contains(s.Env["BEFORE"]+s.Run, "github.event.before") {
				t.Error("detection does not start from the commit before the push")
			}
		}
		if strings.Contains(s.Run, "./deploy.sh") {
			ship = i
			if !strings.Contains(s.Run, "DEPLOY_DOCKER_HOST=\"ssh://$DEPLOY_HOST\"") {
				t.Errorf("deploy.sh does not reach the manager over SSH:\n%s", s.Run)
			}
		}
		for _, v := range s.Env {
			for _, m := range regexp.MustCompile(`secrets\.([A-Z_]+)`).FindAllStringSubmatch(v, -1) {
				secrets[m[1]] = true
			}
		}
	}
	if checkout < 0 || detect < checkout || ship < detect {
		t.Errorf("deploy steps: checkout %d, detection %d, deploy.sh %d; want them in that order", checkout, detect, ship)
	}
	for _, s := range []string{"DEPLOY_SSH_KEY", "DEPLOY_HOST"} {
		if !secrets[s] {
			t.Errorf("the deploy job does not use the %s secret", s)
		}
	}
	// One copy of the rules: no step's script names a path that decides a deploy.
	for _, j := range w.Jobs {
		for _, s := range j.Steps {
			for _, rule := range []string{"shared/", "migrations/", "go.sum", "git diff"} {
				if strings.Contains(s.Run, rule) {
					t.Errorf("step %q runs %q: the change rules belong in scripts/changed-services.sh only", s.Name, rule)
				}
			}
		}
	}
}

// Every run: block is valid bash once Actions expressions are filled in.
func TestWorkflowScriptsParse(t *testing.T) {
	w := loadWorkflow(t)
	expr := regexp.MustCompile(`\$\{\{[^}]*\}\}`)
	for job, j := range w.Jobs {
		for _, s := range j.Steps {
			if s.Run == "" {
				continue
			}
			cmd := exec.Command("bash", "-n")
			cmd.Stdin = strings.NewReader(expr.ReplaceAllString(s.Run, "placeholder"))
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Errorf("job %s, step %q: bash -n: %v\n%s", job, s.Name, err, out)
			}
		}
	}
}
