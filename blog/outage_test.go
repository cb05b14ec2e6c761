package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"rose-ash.com/platform/shared/demo"
	"rose-ash.com/platform/shared/pagecache"
	"rose-ash.com/platform/shared/servicetest"
	"rose-ash.com/platform/shared/sessions"
)

// fakeFragments stands in for account, cart, events, federation and market:
// it serves every fragment as <div class="fake-TYPE">, and the events'
// "upcoming" fails while upcomingDown is set.
type fakeFragments struct {
	*httptest.Server
	upcomingDown atomic.Bool
}

func startFakeFragments(t *testing.T) *fakeFragments {
	t.Helper()
	f := &fakeFragments{}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		typ := strings.TrimPrefix(r.URL.Path, "/internal/fragments/")
		if typ == "upcoming" && f.upcomingDown.Load() {
			http.Error(w, "events is down", http.StatusBadGateway)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(`<div class="fake-` + typ + `">` + typ + `</div>`))
	}))
	t.Cleanup(f.Close)
	return f
}

// seededWith starts the blog with demo content, its fragments from f and
// the extra settings env.
func seededWith(t *testing.T, f *fakeFragments, env map[string]string) *servicetest.Service {
	t.Helper()
	opts := servicetest.Options{Env: map[string]string{}}
	for _, name := range []string{"ACCOUNT", "CART", "EVENTS", "FEDERATION", "MARKET"} {
		opts.Env[name+"_INTERNAL_URL"] = f.URL
	}
	for k, v := range env {
		opts.Env[k] = v
	}
	s := servicetest.Start(t, "blog", run, opts)
	seed(t, s)
	return s
}

func get(t *testing.T, s *servicetest.Service, path, cookie string) (int, http.Header, string) {
	t.Helper()
	if cookie == "" {
		return s.Get(t, path)
	}
	req, _ := http.NewRequest(http.MethodGet, s.BaseURL+path, nil)
	req.Header.Set("Cookie", cookie)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, string(b)
}

func seed(t *testing.T, s *servicetest.Service) {
	t.Helper()
	pool, err := pgxpool.New(context.Background(), s.DatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	if err := demo.Seed(context.Background(), pool, nil); err != nil {
		t.Fatal(err)
	}
}

// R6: the home page rendered while the events service is down (its
// upcoming events left out) is not kept: once events is back, anonymous
// visitors see the whole page again within seconds, not after the page
// cache's minute.
func TestDegradedHomeIsNotKeptAfterTheServiceReturns(t *testing.T) {
	f := startFakeFragments(t)
	s := seededWith(t, f, nil)
	f.upcomingDown.Store(true)
	code, _, home := s.Get(t, "/")
	if code != http.StatusOK || !strings.Contains(home, `post-summary"`) || strings.Contains(home, "fake-upcoming") {
		t.Fatalf("home with events down: %d, want the posts without upcoming events", code)
	}
	if !strings.Contains(home, "fake-cart-mini") {
		t.Fatal("home with events down lacks the other fragments")
	}
	f.upcomingDown.Store(false)
	time.Sleep(pagecache.DegradedTTL + 300*time.Millisecond)
	code, h, home := s.Get(t, "/")
	if code != http.StatusOK || !strings.Contains(home, "fake-upcoming") {
		t.Fatalf("%s after events came back, the anonymous home still lacks upcoming events (%d, X-Cache %q)",
			pagecache.DegradedTTL+300*time.Millisecond, code, h.Get("X-Cache"))
	}
	if _, h, _ := s.Get(t, "/"); h.Get("X-Cache") != "HIT" {
		t.Errorf("the whole page is not cached: X-Cache %q", h.Get("X-Cache"))
	}
}

// R5 drill: with Redis refusing, then silent (frozen), anonymous readers
// keep getting the real home page at nearly full speed (the old client
// waited out 1-2 s timeouts and a retry per call: 50 views took minutes),
// and the page cache works again once Redis is back.
func TestAnonymousPagesWhileRedisIsAway(t *testing.T) {
	f := startFakeFragments(t)
	s := seededWith(t, f, nil)
	s.Get(t, "/")
	if _, h, _ := s.Get(t, "/"); h.Get("X-Cache") != "HIT" {
		t.Fatalf("second view not from the page cache: X-Cache %q", h.Get("X-Cache"))
	}
	for _, fault := range []string{"cut", "frozen"} {
		if fault == "cut" {
			s.Redis.Cut()
		} else {
			s.Redis.Freeze()
		}
		start := time.Now()
		for i := range 50 {
			code, _, home := s.Get(t, "/")
			if code != http.StatusOK || !strings.Contains(home, `post-summary"`) || !strings.Contains(home, "fake-upcoming") {
				t.Fatalf("Redis %s, view %d: %d, want the whole home page", fault, i, code)
			}
		}
		if d := time.Since(start); d > 10*time.Second {
			t.Errorf("Redis %s: 50 anonymous views took %s, want well under 10s", fault, d)
		}
		s.Redis.Restore()
		deadline := time.Now().Add(15 * time.Second)
		for {
			if _, h, _ := s.Get(t, "/"); h.Get("X-Cache") == "HIT" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("after Redis %s: the page cache does not serve from Redis again within 15s", fault)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
}

// R3: with PostgreSQL cut, then silent (frozen), a page that is not in the
// page cache is never a 500: anonymous visitors and browsers with a session
// cookie (which skip the page cache) get the saved copy with a notice, and
// a page never seen before gets 503 with Retry-After.
func TestPagesWhileTheDatabaseIsAway(t *testing.T) {
	f := startFakeFragments(t)
	s := seededWith(t, f, map[string]string{"PAGE_CACHE_TTL": "1s"})
	stale := sessions.CookieNames[0] + "=an-old-session"
	for _, fault := range []string{"cut", "frozen"} {
		if code, _, body := s.Get(t, "/about"); code != http.StatusOK || strings.Contains(body, "saved copy") {
			t.Fatalf("GET /about = %d before the database %s", code, fault)
		}
		if fault == "cut" {
			s.DB.Cut()
		} else {
			s.DB.Freeze()
		}
		time.Sleep(1100 * time.Millisecond) // the cached page has expired; its saved copy has not
		for _, cookie := range []string{"", stale} {
			code, h, body := get(t, s, "/about", cookie)
			if code != http.StatusOK || !strings.Contains(body, "<h1>") || !strings.Contains(body, "saved copy") ||
				h.Get("X-Cache") != "SAVED" {
				t.Errorf("database %s, GET /about (cookie %q) = %d X-Cache %q, want the saved copy with its notice",
					fault, cookie, code, h.Get("X-Cache"))
			}
		}
		for _, path := range []string{"/tag/never-shown-before", "/search?q=bread"} {
			for _, cookie := range []string{"", stale} {
				code, h, _ := get(t, s, path, cookie)
				if code != http.StatusServiceUnavailable || h.Get("Retry-After") == "" {
					t.Errorf("database %s, GET %s (cookie %q) = %d Retry-After %q, want 503 with Retry-After",
						fault, path, cookie, code, h.Get("Retry-After"))
				}
			}
		}
		s.DB.Restore()
		deadline := time.Now().Add(15 * time.Second)
		for {
			code, _, body := s.Get(t, "/about")
			if code == http.StatusOK && !strings.Contains(body, "saved copy") {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("GET /about once the database is back = %d, still the saved copy or an error", code)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
}
