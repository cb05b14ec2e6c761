package layout

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// moduleRoot returns the directory holding go.mod, found by walking up from
// the test's working directory.
func moduleRoot(tb testing.TB) string {
	tb.Helper()
	dir, err := os.Getwd()
	if err != nil {
		tb.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			tb.Fatal("no go.mod above the test directory")
		}
		dir = parent
	}
}

// TestGeneratedTemplFilesAreCurrent fails when a committed *_templ.go file
// differs from what `go tool templ generate` makes of its .templ source.
func TestGeneratedTemplFilesAreCurrent(t *testing.T) {
	root := moduleRoot(t)
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to run the pinned templ tool: %v", err)
	}

	var sources []string
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			switch d.Name() {
			case ".git", "node_modules", "testdata":
				return filepath.SkipDir
			}
			return nil
		}
		if strings.HasSuffix(path, ".templ") {
			sources = append(sources, path)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("walk %s: %v", root, err)
	}
	if len(sources) == 0 {
		t.Fatal("found no .templ files; the walk is broken")
	}

	// templ generate -stdout prints nothing when the generated file already
	// matches, so each source is generated from a copy in a scratch tree,
	// where no _templ.go exists yet. The copy keeps its path relative to the
	// tree's root, so the file names templ writes into its output are the
	// same as when `go tool templ generate` runs at the module root.
	scratch := t.TempDir()
	for _, src := range sources {
		rel, err := filepath.Rel(root, src)
		if err != nil {
			t.Fatal(err)
		}
		t.Run(filepath.ToSlash(rel), func(t *testing.T) {
			t.Parallel()
			generated := strings.TrimSuffix(src, ".templ") + "_templ.go"
			relGenerated := strings.TrimSuffix(rel, ".templ") + "_templ.go"
			committed, err := os.ReadFile(generated)
			if errors.Is(err, fs.ErrNotExist) {
				t.Fatalf("%s is missing: run `go tool templ generate` in %s and commit the result", relGenerated, root)
			}
			if err != nil {
				t.Fatal(err)
			}

			source, err := os.ReadFile(src)
			if err != nil {
				t.Fatal(err)
			}
			copied := filepath.Join(scratch, rel)
			if err := os.MkdirAll(filepath.Dir(copied), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(copied, source, 0o644); err != nil {
				t.Fatal(err)
			}

			// Run from the module root so `go tool` finds the templ version
			// pinned in go.mod.
			cmd := exec.CommandContext(t.Context(), goBin, "tool", "templ", "generate",
				"-path", scratch, "-f", copied, "-stdout")
			cmd.Dir = root
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			if err := cmd.Run(); err != nil {
				t.Fatalf("templ generate -f %s: %v\n%s", rel, err, stderr.String())
			}
			if stdout.Len() == 0 {
				t.Fatalf("templ generate -f %s printed nothing\n%s", rel, stderr.String())
			}
			if !bytes.Equal(stdout.Bytes(), committed) {
				t.Errorf("%s is stale: run `go tool templ generate` in %s and commit the result", relGenerated, root)
			}
		})
	}
}
