package web_test

import (
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/go-chi/chi/v5"

	"rose-ash.com/platform/shared/config"
	"rose-ash.com/platform/shared/models"
	"rose-ash.com/platform/shared/web"
)

func testSite(t *testing.T, logs io.Writer) *web.Site {
	t.Helper()
	cfg, err := config.Load(func(k string) string {
		return map[string]string{
			"CONFIG_FILE":  filepath.Join("..", "..", config.DefaultFile),
			"DATABASE_URL": "postgres://x/y", "REDIS_URL": "redis://x", "SECRET_KEY": strings.Repeat("k", 32),
		}[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	assets, err := web.NewAssets("/static/",
		fstest.MapFS{"site.css": {Data: []byte("body{color:red}")}, "app.js": {Data: []byte("// service js")}},
		fstest.MapFS{"site.css": {Data: []byte("body{color:blue}")}, "logo.svg": {Data: []byte("<svg/>")}})
	if err != nil {
		t.Fatal(err)
	}
	return &web.Site{Service: "cart", Config: cfg, Logger: slog.New(slog.NewTextHandler(logs, nil)),
		Assets: assets, Metrics: web.NewMetrics()}
}

func do(h http.Handler, method, target string, hdr map[string]string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, target, nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestErrorCodesBecomeStatusesAndPages(t *testing.T) {
	var logs strings.Builder
	site := testSite(t, &logs)
	r := site.Router()
	r.Get("/fail/{code}", func(w http.ResponseWriter, req *http.Request) {
		code := models.ErrorCode(req.PathValue("code"))
		if code == "plain" {
			site.Error(w, req, errors.New("database password=hunter2 exploded"))
			return
		}
		site.Error(w, req, models.Errorf(code, "Message for %s.", code))
	})
	tests := []struct {
		code   string
		status int
		shown  string
	}{
		{"not_found", 404, "Message for not_found."},
		{"invalid", 422, "Message for invalid."},
		{"conflict", 409, "Message for conflict."},
		{"forbidden", 403, "Message for forbidden."},
		{"unauthenticated", 401, "Message for unauthenticated."},
		{"unavailable", 503, "Message for unavailable."},
		{"plain", 500, "Something went wrong"},
	}
	for _, tt := range tests {
		t.Run(tt.code, func(t *testing.T) {
			rec := do(r, "GET", "/fail/"+tt.code, nil)
			if rec.Code != tt.status || !strings.Contains(rec.Body.String(), tt.shown) || !strings.Contains(rec.Body.String(), "<html") {
				t.Fatalf("status %d, body lacks %q:\n%s", rec.Code, tt.shown, rec.Body.String())
			}
			if strings.Contains(rec.Body.String(), "hunter2") {
				t.Fatal("internal error detail shown to the user")
			}
			rec = do(r, "GET", "/fail/"+tt.code, map[string]string{"Accept": "application/json"})
			var problem struct {
				Status    int    `json:"status"`
				Detail    string `json:"detail"`
				RequestID string `json:"request_id"`
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &problem); err != nil || problem.Status != tt.status ||
				!strings.HasPrefix(problem.Detail, tt.shown) || problem.RequestID == "" ||
				rec.Header().Get("Content-Type") != "application/problem+json" {
				t.Fatalf("JSON problem = %s (%v)", rec.Body.String(), err)
			}
		})
	}
	if !strings.Contains(logs.String(), "hunter2") || strings.Contains(logs.String(), "Message for not_found") {
		t.Errorf("only internal errors should be logged, with their cause; log:\n%s", logs.String())
	}
}

func TestPanicBecomes500Page(t *testing.T) {
	var logs strings.Builder
	site := testSite(t, &logs)
	r := site.Router()
	r.Get("/boom", func(http.ResponseWriter, *http.Request) { panic("kaboom") })
	rec := do(r, "GET", "/boom", nil)
	if rec.Code != 500 || !strings.Contains(rec.Body.String(), "<html") {
		t.Fatalf("panic gave %d:\n%s", rec.Code, rec.Body.String())
	}
	if !strings.Contains(logs.String(), "kaboom") {
		t.Error("panic not logged")
	}
}

func TestNotFoundAndMethodNotAllowed(t *testing.T) {
	site := testSite(t, io.Discard)
	r := site.Router()
	r.Get("/only-get", func(w http.ResponseWriter, _ *http.Request) {})
	if rec := do(r, "GET", "/missing?q=<script>", nil); rec.Code != 404 || strings.Contains(rec.Body.String(), "<script>") {
		t.Fatalf("404 page: %d, escaped=%v", rec.Code, !strings.Contains(rec.Body.String(), "<script>"))
	}
	if rec := do(r, "DELETE", "/only-get", nil); rec.Code != 405 {
		t.Fatalf("DELETE /only-get = %d, want 405", rec.Code)
	}
}

func TestCrossOriginPostsAreRefused(t *testing.T) {
	site := testSite(t, io.Discard)
	r := site.Router()
	r.Post("/form", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(204) })
	if rec := do(r, "POST", "/form", map[string]string{"Sec-Fetch-Site": "cross-site"}); rec.Code != http.StatusForbidden {
		t.Fatalf("cross-site POST = %d, want 403", rec.Code)
	}
	if rec := do(r, "POST", "/form", map[string]string{"Sec-Fetch-Site": "same-origin"}); rec.Code != 204 {
		t.Fatalf("same-origin POST = %d, want 204", rec.Code)
	}
}

func TestAssets(t *testing.T) {
	site := testSite(t, io.Discard)
	r := site.Router()
	r.Handle("/static/*", site.Assets)

	url := site.Assets.URL("site.css")
	if !strings.HasPrefix(url, "/static/site.") || url == "/static/site.css" {
		t.Fatalf("URL(site.css) = %q, want a content-hashed URL", url)
	}
	rec := do(r, "GET", url, nil)
	if rec.Code != 200 || rec.Body.String() != "body{color:red}" {
		t.Fatalf("GET %s = %d %q; the service's file should override the shared one", url, rec.Code, rec.Body.String())
	}
	if cc := rec.Header().Get("Cache-Control"); !strings.Contains(cc, "immutable") || !strings.Contains(cc, "max-age=31536000") {
		t.Errorf("Cache-Control = %q", cc)
	}
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/css") {
		t.Errorf("Content-Type = %q", ct)
	}
	if rec := do(r, "GET", url, map[string]string{"If-None-Match": rec.Header().Get("ETag")}); rec.Code != http.StatusNotModified {
		t.Errorf("revalidation = %d, want 304", rec.Code)
	}
	if rec := do(r, "GET", site.Assets.URL("logo.svg"), nil); rec.Code != 200 {
		t.Errorf("shared-only file = %d", rec.Code)
	}
	if rec := do(r, "GET", "/static/site.css", nil); rec.Code != 200 || !strings.Contains(rec.Header().Get("Cache-Control"), "no-cache") {
		t.Errorf("unhashed name = %d %q, want 200 with revalidation", rec.Code, rec.Header().Get("Cache-Control"))
	}
	if rec := do(r, "GET", "/static/site.0000000000.css", nil); rec.Code != 404 {
		t.Errorf("stale hash = %d, want 404", rec.Code)
	}
}

func TestRealIPTrustsOnlyConfiguredProxies(t *testing.T) {
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	var seen string
	h := web.RealIP(trusted)(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) { seen = r.RemoteAddr }))
	tests := []struct {
		name, remote, xff, want string
	}{
		{"direct client cannot spoof", "203.0.113.9:5555", "1.2.3.4", "203.0.113.9:5555"},
		{"trusted proxy forwards client", "10.0.0.2:443", "198.51.100.7", "198.51.100.7:0"},
		{"spoofed left part ignored", "10.0.0.2:443", "1.2.3.4, 198.51.100.7, 10.0.0.3", "198.51.100.7:0"},
		{"garbage header ignored", "10.0.0.2:443", "not-an-ip", "10.0.0.2:443"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest("GET", "/", nil)
			req.RemoteAddr = tt.remote
			req.Header.Set("X-Forwarded-For", tt.xff)
			h.ServeHTTP(httptest.NewRecorder(), req)
			if seen != tt.want {
				t.Fatalf("RemoteAddr = %q, want %q", seen, tt.want)
			}
		})
	}
}

func TestRequestIDFromUntrustedClientIsReplaced(t *testing.T) {
	site := testSite(t, io.Discard)
	r := site.Router()
	r.Get("/", func(http.ResponseWriter, *http.Request) {})
	rec := do(r, "GET", "/", map[string]string{"X-Request-Id": "chosen-by-client"})
	if id := rec.Header().Get("X-Request-Id"); id == "" || id == "chosen-by-client" {
		t.Fatalf("X-Request-Id = %q; an untrusted client must not choose it", id)
	}
}

func TestSecurityHeaders(t *testing.T) {
	h := web.SecurityHeaders(true)(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	rec := do(h, "GET", "/", nil)
	for _, k := range []string{"Content-Security-Policy", "X-Content-Type-Options", "X-Frame-Options", "Referrer-Policy", "Strict-Transport-Security"} {
		if rec.Header().Get(k) == "" {
			t.Errorf("%s missing", k)
		}
	}
	if csp := rec.Header().Get("Content-Security-Policy"); strings.Contains(csp, "unsafe-inline") {
		t.Errorf("CSP allows inline code: %s", csp)
	}
}

// A product card in a blog post shows the market's image: the platform's
// own origins may serve images, nobody else, and nothing else widens.
func TestSecurityHeadersAllowThePlatformsImages(t *testing.T) {
	h := web.SecurityHeaders(false, "https://market.example.org", "https://evil.example; script-src *")(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	csp := do(h, "GET", "/", nil).Header().Get("Content-Security-Policy")
	if !strings.Contains(csp, "img-src 'self' data: https://market.example.org;") {
		t.Errorf("CSP %q does not let the market's images show", csp)
	}
	if strings.Contains(csp, "evil") || !strings.Contains(csp, "script-src 'self';") {
		t.Errorf("CSP %q took an origin with a directive in it", csp)
	}
}

func TestSlowHandlerTimesOut(t *testing.T) {
	site := testSite(t, io.Discard)
	site.Config.HTTP.RequestTimeout = config.Duration(20 * time.Millisecond)
	r := site.Router()
	r.Get("/slow", func(w http.ResponseWriter, req *http.Request) {
		select {
		case <-req.Context().Done():
		case <-time.After(5 * time.Second):
			w.WriteHeader(200)
		}
	})
	if rec := do(r, "GET", "/slow", nil); rec.Code != http.StatusGatewayTimeout {
		t.Fatalf("slow handler = %d, want 504", rec.Code)
	}
}

// Tokens in paths (signed media links) never reach the access log.
func TestAccessLogLeavesTokensOut(t *testing.T) {
	var logs strings.Builder
	site := testSite(t, &logs)
	r := site.Router()
	r.Get("/media/{token}", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })
	r.Get("/posts/{slug}", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })
	do(r, "GET", "/media/c2VjcmV0LXVybA.bWFj", nil)
	do(r, "GET", "/posts/hello-world", nil)
	if strings.Contains(logs.String(), "c2VjcmV0LXVybA") {
		t.Errorf("a token was logged:\n%s", logs.String())
	}
	if !strings.Contains(logs.String(), "path=/media/{token}") || !strings.Contains(logs.String(), "path=/posts/hello-world") {
		t.Errorf("the access log lost its paths:\n%s", logs.String())
	}
}

// Machine routes (health probes, other services' fragment fetches) are
// logged only when debugging, or when they fail; pages always are.
func TestAccessLogKeepsMachineRoutesQuiet(t *testing.T) {
	var logs strings.Builder
	site := testSite(t, &logs)
	r := site.Router()
	r.Get("/healthz", site.Healthz)
	r.Get("/internal/fragments/{type}", func(w http.ResponseWriter, r *http.Request) {
		if chi.URLParam(r, "type") == "broken" {
			w.WriteHeader(http.StatusInternalServerError)
		}
	})
	r.Get("/page", func(w http.ResponseWriter, _ *http.Request) {})
	do(r, "GET", "/healthz", nil)
	do(r, "GET", "/internal/fragments/cart-mini", nil)
	if logs.Len() != 0 {
		t.Errorf("machine routes logged at info:\n%s", logs.String())
	}
	do(r, "GET", "/internal/fragments/broken", nil)
	do(r, "GET", "/page", nil)
	if !strings.Contains(logs.String(), "level=WARN") || !strings.Contains(logs.String(), "status=500") ||
		!strings.Contains(logs.String(), "path=/page") {
		t.Errorf("a failing fragment or a page was not logged:\n%s", logs.String())
	}
}
