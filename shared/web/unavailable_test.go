package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"rose-ash.com/platform/shared/models"
)

// databaseError returns the error a store reports when PostgreSQL cannot be
// reached: a real connection attempt to a port where nothing listens.
func databaseError(t *testing.T) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, "postgres://postgres@127.0.0.1:1/x?sslmode=disable&connect_timeout=1")
	if err == nil {
		conn.Close(ctx)
		t.Fatal("connected to port 1")
	}
	return fmt.Errorf("posts: published: %w", err)
}

// A page that fails because the database is away is "try again in a
// moment" (503 with Retry-After, as HTML and as a problem document), not a
// 500; the outage is a warning in the log, not one error per request.
func TestDatabaseAwayIs503WithRetryAfter(t *testing.T) {
	var logs strings.Builder
	site := testSite(t, &logs)
	dbErr := databaseError(t)
	r := site.Router()
	r.Get("/post", func(w http.ResponseWriter, req *http.Request) { site.Error(w, req, dbErr) })
	r.Post("/post", func(w http.ResponseWriter, req *http.Request) { site.Error(w, req, dbErr) })
	r.Get("/broken", func(w http.ResponseWriter, req *http.Request) {
		site.Error(w, req, models.Wrap(models.EInternal, "", fmt.Errorf("template: %w", context.Canceled)))
	})

	for range 20 {
		rec := do(r, "GET", "/post", nil)
		if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") != "30" {
			t.Fatalf("GET /post with the database away = %d, Retry-After %q; want 503 with Retry-After 30",
				rec.Code, rec.Header().Get("Retry-After"))
		}
		if !strings.Contains(rec.Body.String(), "try again shortly") {
			t.Fatalf("the 503 page does not say to try again: %s", rec.Body.String())
		}
	}
	rec := do(r, "GET", "/post", map[string]string{"Accept": "application/json"})
	var problem map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &problem); err != nil {
		t.Fatal(err)
	}
	if rec.Code != 503 || rec.Header().Get("Retry-After") == "" || problem["code"] != "unavailable" || problem["status"] != 503.0 {
		t.Errorf("JSON: %d Retry-After %q %v", rec.Code, rec.Header().Get("Retry-After"), problem)
	}
	if strings.Contains(logs.String(), "level=ERROR") || strings.Count(logs.String(), "database unavailable") != 1 {
		t.Errorf("21 failures logged as:\n%s\nwant one warning", logs.String())
	}
	if rec := do(r, "GET", "/broken", nil); rec.Code != http.StatusInternalServerError {
		t.Errorf("a bug is %d, want 500", rec.Code)
	}

	// With a saved copy of the page, a GET gets it; a form post still gets 503.
	site.SavedPage = func(w http.ResponseWriter, req *http.Request) bool {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte("<html>saved copy</html>"))
		return true
	}
	if rec := do(r, "GET", "/post", nil); rec.Code != http.StatusOK || rec.Body.String() != "<html>saved copy</html>" {
		t.Errorf("GET with a saved copy = %d %q", rec.Code, rec.Body.String())
	}
	if rec := do(r, "POST", "/post", map[string]string{"Origin": "http://example.com", "Sec-Fetch-Site": "same-origin"}); rec.Code != http.StatusServiceUnavailable {
		t.Errorf("POST with a saved copy = %d, want 503", rec.Code)
	}
}
