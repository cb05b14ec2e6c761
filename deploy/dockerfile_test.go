package deploy

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/moby/buildkit/frontend/dockerfile/parser"
)

// instruction is one Dockerfile instruction as BuildKit parses it.
type instruction struct {
	cmd   string // lower case: from, run, copy...
	flags []string
	args  []string
	json  bool // exec (JSON) form
}

// stage is one FROM and the instructions under it.
type stage struct {
	image, name string
	body        []instruction
}

// parseDockerfile parses path with BuildKit's parser into the global ARGs
// and the stages; parser warnings fail the test.
func parseDockerfile(t *testing.T, path string) (args []instruction, stages []stage) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	res, err := parser.Parse(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	for _, w := range res.Warnings {
		t.Errorf("%s: parser warning: %s", path, w.Short)
	}
	for _, n := range res.AST.Children {
		in := instruction{cmd: strings.ToLower(n.Value), flags: n.Flags, json: n.Attributes["json"]}
		for a := n.Next; a != nil; a = a.Next {
			in.args = append(in.args, a.Value)
		}
		switch {
		case in.cmd == "from":
			st := stage{image: in.args[0]}
			if len(in.args) == 3 && strings.EqualFold(in.args[1], "as") {
				st.name = in.args[2]
			}
			stages = append(stages, st)
		case len(stages) == 0:
			args = append(args, in)
		default:
			stages[len(stages)-1].body = append(stages[len(stages)-1].body, in)
		}
	}
	return args, stages
}

// find returns the stage's instructions of one kind.
func (s stage) find(cmd string) []instruction {
	var out []instruction
	for _, in := range s.body {
		if in.cmd == cmd {
			out = append(out, in)
		}
	}
	return out
}

// envOf returns the variables a stage's ENV instructions set.
func (s stage) envOf() map[string]string {
	vars := map[string]string{}
	for _, in := range s.find("env") {
		for i := 0; i+1 < len(in.args); i += 3 { // key, value, "="
			vars[in.args[i]] = in.args[i+1]
		}
	}
	return vars
}

// goVersion returns go.mod's go line.
func goVersion(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "go "); ok {
			return strings.TrimSpace(v)
		}
	}
	t.Fatal("go.mod has no go line")
	return ""
}

// Each service's Dockerfile: a Go build stage on go.mod's Go that compiles
// this service statically, and a shell-less runtime stage that runs it as a
// non-root user, health-checks it with its own binary, and starts it.
func TestDockerfiles(t *testing.T) {
	stack := mustLoadStack(t)
	for _, svc := range services {
		t.Run(svc, func(t *testing.T) {
			global, stages := parseDockerfile(t, filepath.Join(root, svc, "Dockerfile"))
			if len(stages) < 2 {
				t.Fatalf("%d stages, want a build stage and a runtime stage", len(stages))
			}
			build, final := stages[0], stages[len(stages)-1]

			// Build stage: golang at go.mod's version.
			if build.image != "golang:${GO_VERSION}" || build.name == "" {
				t.Errorf("build stage FROM %q AS %q, want golang:${GO_VERSION} AS <name>", build.image, build.name)
			}
			if !slices.ContainsFunc(global, func(in instruction) bool {
				return in.cmd == "arg" && slices.Contains(in.args, "GO_VERSION="+goVersion(t))
			}) {
				t.Errorf("no ARG GO_VERSION=%s (go.mod's go line) before the first FROM", goVersion(t))
			}
			if cgo := build.envOf()["CGO_ENABLED"]; cgo != "0" {
				t.Errorf("build stage CGO_ENABLED=%q, want 0 for a static binary", cgo)
			}
			copies := build.find("copy")
			modules := slices.IndexFunc(copies, func(in instruction) bool { return slices.Equal(in.args, []string{"go.mod", "go.sum", "./"}) })
			tree := slices.IndexFunc(copies, func(in instruction) bool { return slices.Equal(in.args, []string{".", "."}) })
			if modules < 0 || tree < 0 || modules > tree {
				t.Errorf("build stage copies %v; want go.mod and go.sum copied (and downloaded) before the tree", copies)
			}
			var compiles []string
			for _, in := range build.find("run") {
				cmd := strings.Join(in.args, " ")
				if strings.Contains(cmd, "go build") {
					compiles = append(compiles, cmd)
				}
			}
			wantBuild := "-o /out/" + svc + " ./" + svc
			if len(compiles) != 1 || !strings.Contains(compiles[0], wantBuild) || !strings.Contains(compiles[0], "-trimpath") {
				t.Errorf("go build commands %q, want one with -trimpath and %q", compiles, wantBuild)
			}

			// Runtime stage: no shell, not root.
			if !strings.HasPrefix(final.image, "gcr.io/distroless/static") && final.image != "scratch" {
				t.Errorf("runtime stage FROM %q, want distroless static or scratch", final.image)
			}
			bin := "/usr/local/bin/" + svc
			if !slices.ContainsFunc(final.find("copy"), func(in instruction) bool {
				return slices.Contains(in.flags, "--from="+build.name) && slices.Equal(in.args, []string{"/out/" + svc, bin})
			}) {
				t.Errorf("runtime stage does not copy /out/%s from the build stage to %s", svc, bin)
			}
			users := final.find("user")
			if len(users) == 0 {
				t.Fatal("runtime stage sets no USER")
			}
			user, _, _ := strings.Cut(users[len(users)-1].args[0], ":")
			if user == "" || user == "root" || user == "0" {
				t.Errorf("USER %q, want a non-root user", users[len(users)-1].args[0])
			}
			checks := final.find("healthcheck")
			if len(checks) != 1 {
				t.Fatalf("%d HEALTHCHECKs in the runtime stage, want 1", len(checks))
			}
			wantCheck := []string{"CMD", bin, "healthcheck"}
			if hc := checks[0]; !hc.json || !slices.Equal(hc.args, wantCheck) {
				t.Errorf("HEALTHCHECK %q (exec form %v), want exec form %q: the image has no shell", hc.args, hc.json, wantCheck)
			}
			for _, flag := range []string{"--interval=", "--timeout=", "--retries="} {
				if !slices.ContainsFunc(checks[0].flags, func(f string) bool { return strings.HasPrefix(f, flag) }) {
					t.Errorf("HEALTHCHECK lacks %s", flag)
				}
			}
			if got := stack.Services[svc].HealthCheck; got == nil || !slices.Equal(got.Test, wantCheck) {
				t.Errorf("docker-compose.yml's healthcheck for %s differs from the image's", svc)
			}
			entry := final.find("entrypoint")
			if len(entry) != 1 || !entry[0].json || !slices.Equal(entry[0].args, []string{bin}) {
				t.Errorf("ENTRYPOINT %v, want [%q]", entry, bin)
			}
			vars := final.envOf()
			if got := vars[strings.ToUpper(svc)+"_LISTEN_ADDR"]; got != "0.0.0.0:8000" {
				t.Errorf("%s_LISTEN_ADDR=%q in the image, want 0.0.0.0:8000", strings.ToUpper(svc), got)
			}
			if got := vars["CONFIG_FILE"]; got != env(stack.Services[svc], "CONFIG_FILE") {
				t.Errorf("image CONFIG_FILE=%q differs from the stack's", got)
			}
			if ports := final.find("expose"); len(ports) != 1 || !slices.Equal(ports[0].args, []string{"8000"}) {
				t.Errorf("EXPOSE %v, want 8000", ports)
			}
		})
	}
}
