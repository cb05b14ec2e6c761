// Package servicetest starts a service through its real run function on a
// free port, against a fresh PostgreSQL database and the test Redis, each
// behind a proxy the test can cut, and checks what every service must serve.
package servicetest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	mathrand "math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"rose-ash.com/platform/shared/boot"
	"rose-ash.com/platform/shared/cache"
	"rose-ash.com/platform/shared/config"
	"rose-ash.com/platform/shared/faultproxy"
	"rose-ash.com/platform/shared/postgres/pgtest"
)

// DefaultRedisURL is used when TEST_REDIS_URL is unset.
const DefaultRedisURL = "redis://127.0.0.1:6379/0"

// Service is a running service under test.
type Service struct {
	// Name is the service's name, e.g. "blog".
	Name string
	// BaseURL is where it listens, e.g. http://127.0.0.1:41234.
	BaseURL string
	// DB and Redis stand between the service and its dependencies.
	DB, Redis *faultproxy.Proxy
	// DatabaseURL is the test database, reached directly (not through DB).
	DatabaseURL string
	// Log holds everything the service wrote to stdout.
	Log *SyncBuffer
}

// Options adjust how Start runs the service.
type Options struct {
	// Env adds or overrides environment variables.
	Env map[string]string
	// DatabaseURL replaces the fresh migrated database (e.g. with an empty one).
	DatabaseURL string
}

// Start runs the named service with run and waits until /healthz answers.
// When the test ends it cancels the service's context and fails the test if
// run does not return nil within the shutdown timeout.
func Start(t *testing.T, name string, run boot.RunFunc, opts Options) *Service {
	t.Helper()
	dbURL := opts.DatabaseURL
	if dbURL == "" {
		dbURL = pgtest.MustDatabaseURL(t)
	}
	redisURL := os.Getenv("TEST_REDIS_URL")
	if redisURL == "" {
		redisURL = DefaultRedisURL
	}
	s := &Service{Name: name, DatabaseURL: dbURL, Log: &SyncBuffer{}}
	s.DB = faultproxy.MustStart(t, hostPort(t, dbURL, "5432"))
	s.Redis = faultproxy.MustStart(t, hostPort(t, redisURL, "6379"))

	port := FreePort(t)
	s.BaseURL = "http://127.0.0.1:" + port
	env := map[string]string{
		"CONFIG_FILE":  filepath.Join(RepoRoot(t), config.DefaultFile),
		"DATABASE_URL": withHost(t, dbURL, s.DB.Addr()),
		"REDIS_URL":    withHost(t, redisURL, s.Redis.Addr()),
		"SECRET_KEY":   "test-secret-key-0123456789abcdefghijklmnop",
		"LOG_LEVEL":    "debug",
		"MAIL_DIR":     t.TempDir(),
		"MEDIA_DIR":    t.TempDir(),
		// Each test's Redis keys apart from every other's and from a dev stack's.
		"REDIS_KEY_PREFIX": fmt.Sprintf("test%d", time.Now().UnixNano()),
	}
	prefix := strings.ToUpper(name) + "_"
	env[prefix+"LISTEN_ADDR"] = "127.0.0.1:" + port
	env[prefix+"PUBLIC_URL"] = s.BaseURL
	env[prefix+"INTERNAL_URL"] = s.BaseURL
	for k, v := range opts.Env {
		env[k] = v
	}

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx, func(k string) string { return env[k] }, s.Log) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("%s: run returned %v after shutdown, want nil", name, err)
			}
		case <-time.After(20 * time.Second):
			t.Errorf("%s: run did not return within 20s of shutdown", name)
		}
		if t.Failed() {
			t.Logf("%s log:\n%s", name, s.Log.String())
		}
	})

	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case err := <-done:
			t.Fatalf("%s: run returned early: %v\n%s", name, err, s.Log.String())
		default:
		}
		if resp, err := http.Get(s.BaseURL + "/healthz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: /healthz did not answer 200 within 30s\n%s", name, s.Log.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Get fetches path from the service and returns the status, the headers and the body.
func (s *Service) Get(t *testing.T, path string) (int, http.Header, string) {
	t.Helper()
	resp, err := http.Get(s.BaseURL + path)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: read body: %v", path, err)
	}
	return resp.StatusCode, resp.Header, string(b)
}

// WaitStatus polls path until it answers want, failing the test after 15s.
func (s *Service) WaitStatus(t *testing.T, path string, want int) string {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		code, _, body := s.Get(t, path)
		if code == want {
			return body
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET %s: still %d after 15s, want %d; body:\n%s", path, code, want, body)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// handedOut are the ports FreePort has returned in this process.
var handedOut = struct {
	sync.Mutex
	ports map[string]bool
}{ports: map[string]bool{}}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago,
// and that it has not returned before in this process.
func FreePort(t *testing.T) string {
	t.Helper()
	// Ports are taken below Linux's ephemeral range (32768-60999): a port
	// from that range, free when chosen, can be taken by any outgoing
	// connection before the service binds it (with every service running
	// a job queue, that happened).
	// A port handed out before is never handed out again in this process:
	// two services of one stack were once given the same port (free when
	// each was chosen, as neither was bound yet).
	handedOut.Lock()
	defer handedOut.Unlock()
	for range 100 {
		port := strconv.Itoa(20000 + mathrand.IntN(12000))
		if handedOut.ports[port] {
			continue
		}
		ln, err := net.Listen("tcp", "127.0.0.1:"+port)
		if err != nil {
			continue
		}
		ln.Close()
		handedOut.ports[port] = true
		return port
	}
	t.Fatal("servicetest: no free port between 20000 and 32000")
	return ""
}

// RepoRoot returns the module root (the directory holding go.mod).
func RepoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("servicetest: go.mod not found above the working directory")
		}
		dir = parent
	}
}

func hostPort(t *testing.T, rawURL, defPort string) string {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	if u.Port() == "" {
		return net.JoinHostPort(u.Hostname(), defPort)
	}
	return u.Host
}

func withHost(t *testing.T, rawURL, host string) string {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	u.Host = host
	return u.String()
}

// SyncBuffer is a bytes.Buffer safe for a service writing logs while the
// test reads them.
type SyncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write appends p.
func (b *SyncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns everything written so far.
func (b *SyncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// CheckPlatform checks what every service must serve: a home page through
// the shared layout linking the other five services, liveness, readiness
// that follows PostgreSQL and Redis going away and coming back without a
// restart, Prometheus metrics by route, hashed static files, error pages, and
// request ids in the log.
func CheckPlatform(t *testing.T, s *Service) {
	t.Helper()
	cfg, err := config.Load(func(k string) string {
		return map[string]string{"CONFIG_FILE": filepath.Join(RepoRoot(t), config.DefaultFile),
			"DATABASE_URL": "postgres://x/y", "REDIS_URL": "redis://x", "SECRET_KEY": strings.Repeat("x", 32)}[k]
	})
	if err != nil {
		t.Fatal(err)
	}

	t.Run("home page", func(t *testing.T) {
		code, h, body := s.Get(t, "/")
		if code != http.StatusOK || !strings.HasPrefix(h.Get("Content-Type"), "text/html") {
			t.Fatalf("GET / = %d %s", code, h.Get("Content-Type"))
		}
		title := cfg.Service(s.Name).Title
		if !strings.Contains(body, "<title>") || !strings.Contains(body, title) {
			t.Errorf("home page does not name the service %q", title)
		}
		for _, other := range config.Services {
			if other == s.Name {
				continue
			}
			if u := cfg.Service(other).PublicURL; !strings.Contains(body, `href="`+u) {
				t.Errorf("home page has no link to %s (%s)", other, u)
			}
		}
		if h.Get("Content-Security-Policy") == "" || h.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("security headers missing: %v", h)
		}
		if h.Get("X-Request-Id") == "" {
			t.Error("no X-Request-Id header")
		}
	})

	t.Run("stylesheet", func(t *testing.T) {
		_, _, body := s.Get(t, "/")
		i := strings.Index(body, `href="/static/site.`)
		if i < 0 {
			t.Fatal("home page links no content-hashed stylesheet")
		}
		href := body[i+len(`href="`):]
		href = href[:strings.IndexByte(href, '"')]
		code, h, css := s.Get(t, href)
		if code != http.StatusOK || !strings.HasPrefix(h.Get("Content-Type"), "text/css") || len(css) < 100 {
			t.Fatalf("GET %s = %d %s (%d bytes)", href, code, h.Get("Content-Type"), len(css))
		}
		if !strings.Contains(h.Get("Cache-Control"), "immutable") {
			t.Errorf("hashed stylesheet Cache-Control = %q", h.Get("Cache-Control"))
		}
	})

	t.Run("not found", func(t *testing.T) {
		code, _, body := s.Get(t, "/no-such-page/at-all")
		if code != http.StatusNotFound || !strings.Contains(body, "<html") || !strings.Contains(body, "/no-such-page/at-all") {
			t.Fatalf("GET /no-such-page/at-all = %d, want the 404 page", code)
		}
	})

	t.Run("readiness follows dependencies", func(t *testing.T) {
		s.WaitStatus(t, "/readyz", http.StatusOK)
		s.DB.Cut()
		body := s.WaitStatus(t, "/readyz", http.StatusServiceUnavailable)
		if !strings.Contains(body, "postgres") {
			t.Errorf("503 body does not name postgres: %q", body)
		}
		if code, _, _ := s.Get(t, "/healthz"); code != http.StatusOK {
			t.Errorf("/healthz = %d while the database is down; liveness must not depend on it", code)
		}
		s.DB.Restore()
		s.WaitStatus(t, "/readyz", http.StatusOK)

		s.Redis.Cut()
		body = s.WaitStatus(t, "/readyz", http.StatusServiceUnavailable)
		if !strings.Contains(body, "redis") {
			t.Errorf("503 body does not name redis: %q", body)
		}
		s.Redis.Restore()
		s.WaitStatus(t, "/readyz", http.StatusOK)
	})

	t.Run("metrics", func(t *testing.T) {
		s.Get(t, "/")
		code, _, body := s.Get(t, "/metrics")
		if code != http.StatusOK {
			t.Fatalf("/metrics = %d", code)
		}
		for _, want := range []string{
			`http_requests_total{method="GET",route="/",status="200"}`,
			`http_request_duration_seconds_bucket{method="GET",route="/",status="200"`,
			`http_requests_total{method="GET",route="unmatched",status="404"}`,
		} {
			if !strings.Contains(body, want) {
				t.Errorf("/metrics lacks %s", want)
			}
		}
	})

	t.Run("request ids in the log", func(t *testing.T) {
		resp, err := http.Get(s.BaseURL + "/?probe=1")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		id := resp.Header.Get("X-Request-Id")
		deadline := time.Now().Add(2 * time.Second)
		for !strings.Contains(s.Log.String(), "request_id="+id) {
			if time.Now().After(deadline) {
				t.Fatalf("no log line carries request_id=%s", id)
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
}

// String describes the service for test output.
func (s *Service) String() string { return fmt.Sprintf("%s at %s", s.Name, s.BaseURL) }

// MustRedis returns a client on the test Redis (TEST_REDIS_URL), closed when
// the test ends.
func MustRedis(t testing.TB) *redis.Client {
	t.Helper()
	u := os.Getenv("TEST_REDIS_URL")
	if u == "" {
		u = DefaultRedisURL
	}
	rdb, err := cache.Open(u)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rdb.Close() })
	return rdb
}
