package boot_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"rose-ash.com/platform/shared/boot"
	"rose-ash.com/platform/shared/servicetest"
)

// runProbe runs a service named market through boot.Run, with the
// platform's pool, readiness and error pages, serving one page that needs
// the database: /count counts the users.
func runProbe(ctx context.Context, getenv func(string) string, stdout io.Writer) error {
	return boot.Run(ctx, boot.Options{Service: "market"}, getenv, stdout, func(d boot.Deps) (http.Handler, error) {
		r := d.Site.Router()
		r.Get("/healthz", d.Site.Healthz)
		r.Get("/readyz", d.Site.Readyz)
		r.Get("/count", func(w http.ResponseWriter, r *http.Request) {
			var n int
			if err := d.DB.QueryRow(r.Context(), `SELECT count(*) FROM users`).Scan(&n); err != nil {
				d.Site.Error(w, r, err)
				return
			}
			_, _ = io.WriteString(w, "users: ok")
		})
		return r, nil
	})
}

// timedGet fetches path and reports the status and how long the answer took.
func timedGet(t *testing.T, s *servicetest.Service, path string) (int, string, time.Duration) {
	t.Helper()
	start := time.Now()
	code, _, body := s.Get(t, path)
	return code, body, time.Since(start)
}

// The drill: PostgreSQL stops answering (a black hole, not a refusal) while
// the service runs with the repository's config. A page that needs the
// database answers 503 within seconds instead of hanging until the 30 s
// request timeout, /readyz reports postgres unreachable at once, /healthz
// stays up, and once PostgreSQL answers again the page works without a
// restart. The start-up log states the connection budget.
func TestDrillPostgresBlackHole(t *testing.T) {
	s := servicetest.Start(t, "market", runProbe, servicetest.Options{})
	if code, body, _ := timedGet(t, s, "/count"); code != http.StatusOK {
		t.Fatalf("GET /count with PostgreSQL up = %d %s", code, body)
	}
	s.WaitStatus(t, "/readyz", http.StatusOK)
	// The log is written through a buffer: wait for the line.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		log := s.Log.String()
		if strings.Contains(log, "PostgreSQL connection budget") && strings.Contains(log, "this_replica=5") && strings.Contains(log, "stack=") {
			break
		}
		if time.Now().After(deadline) {
			t.Errorf("the start-up log does not state the connection budget:\n%s", log)
			break
		}
	}

	s.DB.Freeze()
	for range 2 { // an open connection, then whatever the pool tries next
		code, body, took := timedGet(t, s, "/count")
		if code != http.StatusServiceUnavailable || took > 10*time.Second {
			t.Fatalf("GET /count with PostgreSQL silent = %d after %s, want 503 within seconds (the request timeout is 30s); body:\n%s",
				code, took.Round(time.Millisecond), body)
		}
	}
	code, body, took := timedGet(t, s, "/readyz")
	if code != http.StatusServiceUnavailable || !strings.Contains(body, "postgres: unreachable") || took > 5*time.Second {
		t.Fatalf("/readyz with PostgreSQL silent = %d after %s:\n%s", code, took.Round(time.Millisecond), body)
	}
	if code, _, _ := timedGet(t, s, "/healthz"); code != http.StatusOK {
		t.Errorf("/healthz = %d while PostgreSQL is silent; liveness must not depend on it", code)
	}

	s.DB.Restore()
	s.WaitStatus(t, "/count", http.StatusOK)
	s.WaitStatus(t, "/readyz", http.StatusOK)
}
