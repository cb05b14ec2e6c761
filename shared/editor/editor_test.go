package editor

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// sourceHash is build.mjs's sourceHash: the SHA-256 of the contents of every regular file under
// src/ in order of their slash-separated paths relative to src/ (byte order), followed by
// package-lock.json, concatenated with nothing in between.
func sourceHash(t *testing.T) string {
	t.Helper()
	var rels []string
	err := filepath.WalkDir("src", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.Type().IsRegular() {
			return nil
		}
		rel, err := filepath.Rel("src", path)
		if err != nil {
			return err
		}
		rels = append(rels, filepath.ToSlash(rel))
		return nil
	})
	if err != nil {
		t.Fatalf("listing src: %v", err)
	}
	if len(rels) == 0 {
		t.Fatal("no files under src")
	}
	sort.Strings(rels)
	h := sha256.New()
	paths := make([]string, 0, len(rels)+1)
	for _, rel := range rels {
		paths = append(paths, filepath.Join("src", filepath.FromSlash(rel)))
	}
	for _, p := range append(paths, "package-lock.json") {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func TestBundleIsFresh(t *testing.T) {
	want := "/* rose-ash editor bundle; source sha256: " + sourceHash(t) + " */"

	f, err := os.Open(filepath.Join("dist", "editor.js"))
	if err != nil {
		t.Fatalf("editor bundle is stale: run `make editor` (%v)", err)
	}
	defer f.Close()
	first, err := bufio.NewReader(f).ReadString('\n')
	if err != nil {
		t.Fatalf("editor bundle is stale: run `make editor` (reading it: %v)", err)
	}
	if got := strings.TrimRight(first, "\r\n"); got != want {
		t.Fatalf("editor bundle is stale: run `make editor`\n got first line: %.120s\nwant first line: %s", got, want)
	}
}
