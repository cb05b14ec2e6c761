package deploy

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
)

// contextFilter reads ../.dockerignore into Docker's own matcher; its
// result is true for a path left out of the build context.
func contextFilter(t *testing.T) func(path string) bool {
	t.Helper()
	f, err := os.Open(filepath.Join(root, ".dockerignore"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	patterns, err := ignorefile.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	pm, err := patternmatcher.New(patterns)
	if err != nil {
		t.Fatal(err)
	}
	return func(path string) bool {
		out, err := pm.MatchesOrParentMatches(path)
		if err != nil {
			t.Fatalf(".dockerignore on %s: %v", path, err)
		}
		return out
	}
}

// buildInputs returns every file of this module that `go build` of the six
// services reads (Go sources, embedded files, go.mod and go.sum), relative
// to the repository root, as the go command lists them.
func buildInputs(t *testing.T) []string {
	t.Helper()
	args := []string{"list", "-deps", "-json=Dir,GoFiles,CgoFiles,EmbedFiles,Module"}
	for _, s := range services {
		args = append(args, "./"+s)
	}
	cmd := exec.Command("go", args...)
	cmd.Dir = root
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	top := absRoot(t)
	files := []string{"go.mod", "go.sum"}
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var pkg struct {
			Dir                           string
			GoFiles, CgoFiles, EmbedFiles []string
			Module                        *struct{ Main bool }
		}
		if err := dec.Decode(&pkg); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		if pkg.Module == nil || !pkg.Module.Main {
			continue
		}
		for _, group := range [][]string{pkg.GoFiles, pkg.CgoFiles, pkg.EmbedFiles} {
			for _, name := range group {
				rel, err := filepath.Rel(top, filepath.Join(pkg.Dir, name))
				if err != nil {
					t.Fatal(err)
				}
				files = append(files, filepath.ToSlash(rel))
			}
		}
	}
	return files
}

// The build context keeps every file the six builds read, the editor bundle
// and the compiled templ components among them, and leaves out what they
// do not (history, local state, npm trees, tests, docs).
func TestDockerignore(t *testing.T) {
	excluded := contextFilter(t)
	inputs := buildInputs(t)
	var editorBundle, templ bool
	for _, f := range inputs {
		if excluded(f) {
			t.Errorf("the image builds read %s, but .dockerignore leaves it out of the context", f)
		}
		editorBundle = editorBundle || f == "shared/editor/dist/editor.js"
		templ = templ || strings.HasSuffix(f, "_templ.go")
	}
	if !editorBundle || !templ {
		t.Errorf("go list does not show the editor bundle (%v) or templ components (%v) among the build's inputs", editorBundle, templ)
	}
	for _, f := range []string{
		".git/HEAD", ".dev/bin/blog", ".data/media/ab/x.png", ".env", ".gitea/workflows/ci.yml",
		"shared/editor/node_modules/@tiptap/core/index.js", "shared/editor/src/editor.js",
		"shared/editor/package.json", "shared/editor/package-lock.json", "shared/editor/build.mjs",
		"blog/main_test.go", "shared/web/testdata/page.html", "journeys/signin_test.go",
		"docs/DECISIONS.md", "README.md", "cmd/roseash/main.go", "deploy/compose_test.go", "schema.sql",
	} {
		if !excluded(f) {
			t.Errorf(".dockerignore lets %s into the build context", f)
		}
	}
}
