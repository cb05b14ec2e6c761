package boot

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"rose-ash.com/platform/shared/config"
)

// healthEnv is a complete environment for the blog whose listen address is
// listenAddr, with the repository's config file.
func healthEnv(listenAddr string) map[string]string {
	return map[string]string{
		"CONFIG_FILE":      filepath.Join("..", "..", config.DefaultFile),
		"DATABASE_URL":     "postgres://postgres@127.0.0.1:1/none?sslmode=disable",
		"REDIS_URL":        "redis://127.0.0.1:1/0",
		"SECRET_KEY":       "test-secret-key-0123456789abcdefghijklmnop",
		"BLOG_LISTEN_ADDR": listenAddr,
	}
}

// healthServer serves /healthz with status and returns its port.
func healthServer(t *testing.T, status int, delay time.Duration) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/healthz" {
			http.NotFound(w, r)
			return
		}
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
		}
		w.WriteHeader(status)
	}))
	t.Cleanup(srv.Close)
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	return port
}

func TestHealthcheck(t *testing.T) {
	healthy := healthServer(t, http.StatusOK, 0)
	failing := healthServer(t, http.StatusServiceUnavailable, 0)
	slow := healthServer(t, http.StatusOK, 5*time.Second)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()

	for _, tc := range []struct {
		name, listen, wantErr string
	}{
		// The container's listen address is a wildcard; the check reaches it on loopback.
		{"wildcard address, healthy", "0.0.0.0:" + healthy, ""},
		{"port only, healthy", ":" + healthy, ""},
		{"loopback, healthy", "127.0.0.1:" + healthy, ""},
		{"answers 503", "0.0.0.0:" + failing, "503"},
		{"nothing listening", closed, "GET http://" + closed + "/healthz"},
		{"too slow", ":" + slow, "deadline exceeded"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := healthEnv(tc.listen)
			ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
			defer cancel()
			start := time.Now()
			err := Healthcheck(ctx, "blog", func(k string) string { return env[k] })
			if tc.wantErr == "" && err != nil {
				t.Fatalf("Healthcheck: %v, want healthy", err)
			}
			if tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("Healthcheck: %v, want an error containing %q", err, tc.wantErr)
			}
			if took := time.Since(start); took > 2*time.Second {
				t.Fatalf("Healthcheck took %s, want it bounded by its context", took)
			}
		})
	}
}

// A service whose config is broken is reported unhealthy with the config's message.
func TestHealthcheckReportsABrokenConfig(t *testing.T) {
	env := healthEnv(":8000")
	delete(env, "SECRET_KEY")
	err := Healthcheck(context.Background(), "blog", func(k string) string { return env[k] })
	if err == nil || !strings.Contains(err.Error(), "SECRET_KEY") {
		t.Fatalf("Healthcheck: %v, want the missing SECRET_KEY named", err)
	}
}

func TestHealthzURL(t *testing.T) {
	for listen, want := range map[string]string{
		":8000":          "http://127.0.0.1:8000/healthz",
		"0.0.0.0:8000":   "http://127.0.0.1:8000/healthz",
		"[::]:8000":      "http://[::1]:8000/healthz",
		"127.0.0.1:8001": "http://127.0.0.1:8001/healthz",
		"blog:8000":      "http://blog:8000/healthz",
	} {
		got, err := healthzURL(listen)
		if err != nil || got != want {
			t.Errorf("healthzURL(%q) = %q, %v; want %q", listen, got, err, want)
		}
	}
	if _, err := healthzURL("8000"); err == nil {
		t.Error(`healthzURL("8000") succeeded, want an error`)
	}
}

// `blog healthcheck` goes through Main: the Dockerfiles' HEALTHCHECK runs
// exactly that. It exits 0 for a healthy service and 1 otherwise, and never
// starts the service.
func TestMainHealthcheckSubcommand(t *testing.T) {
	if os.Getenv("BOOT_TEST_MAIN") == "1" {
		os.Args = []string{"blog", "healthcheck"}
		Main("blog", func(context.Context, func(string) string, io.Writer) error {
			os.Stdout.WriteString("run was called\n")
			os.Exit(3)
			return nil
		})
		os.Exit(0)
	}
	healthy := healthServer(t, http.StatusOK, 0)
	failing := healthServer(t, http.StatusInternalServerError, 0)
	for _, tc := range []struct {
		port     string
		wantCode int
	}{{healthy, 0}, {failing, 1}} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestMainHealthcheckSubcommand$")
		cmd.Env = append(os.Environ(), "BOOT_TEST_MAIN=1")
		for k, v := range healthEnv("0.0.0.0:" + tc.port) {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
		out, err := cmd.CombinedOutput()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		if code != tc.wantCode || strings.Contains(string(out), "run was called") {
			t.Errorf("blog healthcheck against port %s: exit %d, want %d; output:\n%s", tc.port, code, tc.wantCode, out)
		}
		if tc.wantCode == 1 && !strings.Contains(string(out), "blog healthcheck:") {
			t.Errorf("unhealthy check printed %q, want a message starting with \"blog healthcheck:\"", out)
		}
	}
}
