package media_test

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/color"
	"image/png"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"rose-ash.com/platform/shared/media"
	"rose-ash.com/platform/shared/models"
)

func pngBytes(t *testing.T, c color.Color) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 4, 3))
	for x := range 4 {
		for y := range 3 {
			img.Set(x, y, c)
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func newStore(t *testing.T) (*media.DiskStore, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "media")
	s, err := media.NewDiskStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	return s, dir
}

func get(h http.Handler, target string, hdr ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodGet, target, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

var nameShape = regexp.MustCompile(`^([0-9a-f]{2})/([0-9a-f]{64})\.png$`)

func TestSaveAndServePNG(t *testing.T) {
	ctx := context.Background()
	store, dir := newStore(t)
	data := pngBytes(t, color.RGBA{200, 10, 10, 255})
	name, err := media.Save(ctx, store, bytes.NewReader(data), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	m := nameShape.FindStringSubmatch(name)
	if m == nil || !strings.HasPrefix(m[2], m[1]) {
		t.Fatalf("name %q is not ab/<sha256>.png", name)
	}
	if !media.ValidName(name) {
		t.Errorf("a saved name is not valid: %q", name)
	}
	if st, err := os.Stat(filepath.Join(dir, filepath.FromSlash(name))); err != nil || st.Mode().Perm() != 0o644 {
		t.Errorf("stored file: %v, %v", st, err)
	}
	if entries, _ := os.ReadDir(filepath.Join(dir, m[1])); len(entries) != 1 {
		t.Errorf("shard holds %d entries, want only the image (no temp files)", len(entries))
	}

	h := media.Handler(store)
	rec := get(h, media.URL(name))
	if rec.Code != http.StatusOK {
		t.Fatalf("GET %s = %d", media.URL(name), rec.Code)
	}
	if !bytes.Equal(rec.Body.Bytes(), data) {
		t.Error("served bytes differ from the upload")
	}
	for k, want := range map[string]string{
		"Content-Type":           "image/png",
		"Cache-Control":          "public, max-age=31536000, immutable",
		"X-Content-Type-Options": "nosniff",
	} {
		if got := rec.Header().Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	// Conditional requests revalidate by the content hash.
	if etag := rec.Header().Get("ETag"); etag == "" {
		t.Error("no ETag")
	} else if rec := get(h, media.URL(name), "If-None-Match", etag); rec.Code != http.StatusNotModified {
		t.Errorf("conditional GET = %d, want 304", rec.Code)
	}
}

func TestSameImageStoredOnce(t *testing.T) {
	ctx := context.Background()
	store, dir := newStore(t)
	data := pngBytes(t, color.Gray{100})
	a, err := media.Save(ctx, store, bytes.NewReader(data), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	b, err := media.Save(ctx, store, bytes.NewReader(data), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if a != b {
		t.Errorf("same bytes got two names: %q, %q", a, b)
	}
	c, err := media.Save(ctx, store, bytes.NewReader(pngBytes(t, color.Gray{101})), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if c == a {
		t.Error("different images got the same name")
	}
	var files int
	_ = filepath.WalkDir(dir, func(_ string, d fs.DirEntry, _ error) error {
		if d != nil && !d.IsDir() {
			files++
		}
		return nil
	})
	if files != 2 {
		t.Errorf("store holds %d files, want 2", files)
	}
}

func TestRefusesNonImages(t *testing.T) {
	store, dir := newStore(t)
	for name, body := range map[string]string{
		"text":  "hello, this is not an image\n",
		"html":  "<!DOCTYPE html><script>alert(1)</script>",
		"empty": "",
	} {
		_, err := media.Save(context.Background(), store, strings.NewReader(body), 1<<20)
		if models.Code(err) != models.EInvalid || !strings.Contains(models.Message(err), "Only JPEG, PNG, GIF and WebP") {
			t.Errorf("%s: err = %v, want EInvalid about image types", name, err)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("refused uploads left %d entries", len(entries))
	}
}

func TestRefusesTooLarge(t *testing.T) {
	store, dir := newStore(t)
	data := pngBytes(t, color.White)
	limit := int64(len(data) - 1)
	_, err := media.Save(context.Background(), store, bytes.NewReader(data), limit)
	if models.Code(err) != models.EInvalid || !strings.Contains(models.Message(err), "larger than") {
		t.Fatalf("err = %v, want EInvalid too large", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("a refused upload left %d entries", len(entries))
	}
	// Exactly at the limit is fine.
	if _, err := media.Save(context.Background(), store, bytes.NewReader(data), int64(len(data))); err != nil {
		t.Errorf("an image of exactly max bytes: %v", err)
	}
	if msg := models.Message(media.TooLarge(10 << 20)); msg != "The image is larger than 10 MB." {
		t.Errorf("message = %q", msg)
	}
}

func TestRefusesBadNames(t *testing.T) {
	ctx := context.Background()
	parent := t.TempDir()
	dir := filepath.Join(parent, "media")
	store, err := media.NewDiskStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	// A file outside the store that traversal would reach.
	if err := os.WriteFile(filepath.Join(parent, "x.png"), pngBytes(t, color.Black), 0o644); err != nil {
		t.Fatal(err)
	}
	h := media.Handler(store)
	bad := []string{"../x.png", "ab/../../x.png", "x.png", "ab/x.exe", "AB/x.png", "ab/.x.png", "ab/x.png/", "ab/cd/x.png", "", "ab/x.svg"}
	for _, name := range bad {
		if media.ValidName(name) {
			t.Errorf("ValidName(%q) = true", name)
		}
		if err := store.Put(ctx, name, strings.NewReader("x")); err == nil {
			t.Errorf("Put(%q) succeeded", name)
		}
		if f, _, err := store.Open(ctx, name); err == nil {
			f.Close()
			t.Errorf("Open(%q) succeeded", name)
		} else if !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("Open(%q) error %v is not fs.ErrNotExist", name, err)
		}
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.URL.Path = "/media/" + name // raw, as a client could send it unclean
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusNotFound {
			t.Errorf("GET /media/%s = %d, want 404", name, rec.Code)
		}
	}
	if _, err := os.Stat(filepath.Join(parent, "ab")); err == nil {
		t.Error("a refused Put created a directory")
	}
	if rec := get(h, "/media/ab/"+strings.Repeat("0", 64)+".png"); rec.Code != http.StatusNotFound {
		t.Errorf("unknown name = %d, want 404", rec.Code)
	}
	if rec := get(h, "/other/ab/x.png"); rec.Code != http.StatusNotFound {
		t.Errorf("path without /media/ = %d, want 404", rec.Code)
	}
}
