package internal

import (
	"bytes"
	"encoding/json"
	"image"
	"image/color"
	"image/png"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"rose-ash.com/platform/shared/config"
	"rose-ash.com/platform/shared/media"
	"rose-ash.com/platform/shared/web"
)

func mediaTestSite(t *testing.T) *web.Site {
	t.Helper()
	cfg, err := config.Load(func(k string) string {
		return map[string]string{"CONFIG_FILE": filepath.Join("..", "..", config.DefaultFile),
			"DATABASE_URL": "postgres://x/y", "REDIS_URL": "redis://x", "SECRET_KEY": strings.Repeat("k", 32)}[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	assets, err := web.NewAssets("/static/", fstest.MapFS{"site.css": {Data: []byte("body{}")}})
	if err != nil {
		t.Fatal(err)
	}
	return &web.Site{Service: "blog", Config: cfg, Logger: slog.New(slog.DiscardHandler), Assets: assets, Metrics: web.NewMetrics()}
}

func testPNG(t *testing.T) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 2, 2))
	img.Set(1, 1, color.RGBA{0, 128, 255, 255})
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// uploadRequest builds a multipart POST /admin/media with the file and the
// other form fields.
func uploadRequest(t *testing.T, file []byte, accept string, fields map[string]string) *http.Request {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for k, v := range fields {
		_ = mw.WriteField(k, v)
	}
	fw, err := mw.CreateFormFile("file", "upload.bin")
	if err != nil {
		t.Fatal(err)
	}
	_, _ = fw.Write(file)
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest(http.MethodPost, "/admin/media", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	return req
}

func TestUploadMedia(t *testing.T) {
	site := mediaTestSite(t)
	store, err := media.NewDiskStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	upload := uploadMedia(site, store, 1<<20)
	serve := media.Handler(store)
	img := testPNG(t)

	t.Run("json", func(t *testing.T) {
		rec := httptest.NewRecorder()
		upload(rec, uploadRequest(t, img, "application/json", nil))
		if rec.Code != http.StatusCreated {
			t.Fatalf("status = %d, body %s", rec.Code, rec.Body)
		}
		var got struct{ URL string }
		if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil || !strings.HasPrefix(got.URL, "/media/") {
			t.Fatalf("body %s: url %q, %v", rec.Body, got.URL, err)
		}
		srv := httptest.NewRecorder()
		serve.ServeHTTP(srv, httptest.NewRequest(http.MethodGet, got.URL, nil))
		if srv.Code != http.StatusOK || !bytes.Equal(srv.Body.Bytes(), img) || srv.Header().Get("Content-Type") != "image/png" {
			t.Errorf("GET %s = %d %q, %d bytes", got.URL, srv.Code, srv.Header().Get("Content-Type"), srv.Body.Len())
		}
	})

	t.Run("form redirects to next", func(t *testing.T) {
		rec := httptest.NewRecorder()
		upload(rec, uploadRequest(t, img, "text/html", map[string]string{"next": "/admin/posts/new?type=page"}))
		loc := rec.Header().Get("Location")
		if rec.Code != http.StatusSeeOther || !strings.HasPrefix(loc, "/admin/posts/new?type=page&uploaded=/media/") {
			t.Errorf("status %d, Location %q", rec.Code, loc)
		}
	})

	t.Run("next must be local", func(t *testing.T) {
		rec := httptest.NewRecorder()
		upload(rec, uploadRequest(t, img, "", map[string]string{"next": "https://evil.example/x"}))
		if loc := rec.Header().Get("Location"); !strings.HasPrefix(loc, "/?uploaded=/media/") {
			t.Errorf("Location %q, want the home page", loc)
		}
	})

	t.Run("text file", func(t *testing.T) {
		rec := httptest.NewRecorder()
		upload(rec, uploadRequest(t, []byte("just some words\n"), "application/json", nil))
		if rec.Code != http.StatusUnprocessableEntity || !strings.Contains(rec.Body.String(), "Only JPEG, PNG, GIF and WebP") ||
			rec.Header().Get("Content-Type") != "application/problem+json" {
			t.Errorf("status = %d %q, body %s", rec.Code, rec.Header().Get("Content-Type"), rec.Body)
		}
		rec = httptest.NewRecorder()
		upload(rec, uploadRequest(t, []byte("just some words\n"), "text/html", nil))
		if rec.Code != http.StatusUnprocessableEntity || !strings.Contains(rec.Body.String(), "Only JPEG, PNG, GIF and WebP") {
			t.Errorf("HTML: status = %d, body %s", rec.Code, rec.Body)
		}
	})

	t.Run("too large", func(t *testing.T) {
		rec := httptest.NewRecorder()
		small := uploadMedia(site, store, int64(len(img)-1))
		small(rec, uploadRequest(t, img, "application/json", nil))
		if rec.Code != http.StatusUnprocessableEntity || !strings.Contains(rec.Body.String(), "larger than") {
			t.Errorf("status = %d, body %s", rec.Code, rec.Body)
		}
		// A body beyond the request limit is cut off while parsing.
		rec = httptest.NewRecorder()
		small(rec, uploadRequest(t, bytes.Repeat(img, 1+(2<<20)/len(img)), "application/json", nil))
		if rec.Code != http.StatusUnprocessableEntity || !strings.Contains(rec.Body.String(), "larger than") {
			t.Errorf("oversized body: status = %d, body %s", rec.Code, rec.Body)
		}
	})

	t.Run("no file", func(t *testing.T) {
		req := httptest.NewRequest(http.MethodPost, "/admin/media", strings.NewReader("next=/"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Accept", "application/json")
		rec := httptest.NewRecorder()
		upload(rec, req)
		if rec.Code != http.StatusUnprocessableEntity {
			t.Errorf("status = %d, body %s", rec.Code, rec.Body)
		}
	})
}
