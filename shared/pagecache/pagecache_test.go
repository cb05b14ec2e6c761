package pagecache_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"rose-ash.com/platform/shared/cache"
	"rose-ash.com/platform/shared/faultproxy"
	"rose-ash.com/platform/shared/fragments"
	"rose-ash.com/platform/shared/layout"
	"rose-ash.com/platform/shared/pagecache"
	"rose-ash.com/platform/shared/sessions"
)

// site is a page cache in front of a handler whose page says which render
// it is, and which can be made to leave a fragment out or to fail as when
// the database is away.
type site struct {
	pages    *pagecache.Cache
	redis    *faultproxy.Proxy
	renders  atomic.Int32
	degraded atomic.Bool
	dbDown   atomic.Bool
	handler  http.Handler
}

func newSite(t *testing.T, ttl time.Duration) *site {
	t.Helper()
	u := os.Getenv("TEST_REDIS_URL")
	if u == "" {
		u = "redis://127.0.0.1:6379/0"
	}
	opts, err := redis.ParseURL(u)
	if err != nil {
		t.Fatal(err)
	}
	s := &site{redis: faultproxy.MustStart(t, opts.Addr)}
	rdb, err := cache.Open("redis://" + s.redis.Addr() + "/0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rdb.Close() })
	keys := cache.Namespace(fmt.Sprintf("pagecache-test%d", time.Now().UnixNano()))
	t.Cleanup(func() { pagecache.Purge(context.Background(), rdb, keys, "blog") })
	s.pages = pagecache.New(rdb, keys, "blog", "v1", ttl, prometheus.NewRegistry())
	s.handler = s.pages.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.dbDown.Load() {
			if !s.pages.ServeSaved(w, r) {
				http.Error(w, "database away", http.StatusServiceUnavailable)
			}
			return
		}
		n := s.renders.Add(1)
		upcoming := "<section>upcoming events</section>"
		if s.degraded.Load() {
			fragments.NoteOmission(r.Context())
			upcoming = ""
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, "<html><body>%s<main>render %d</main>%s</body></html>", layout.NoticeMarker, n, upcoming)
	}))
	return s
}

func (s *site) get(t *testing.T, path string, cookie bool) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(http.MethodGet, path, nil)
	if cookie {
		r.AddCookie(&http.Cookie{Name: sessions.CookieNames[0], Value: "x"})
	}
	w := httptest.NewRecorder()
	s.handler.ServeHTTP(w, r)
	return w
}

// While Redis is away, anonymous visitors keep getting the page (this
// process's copy) without a render per view and without waiting for Redis;
// once it is back, pages come from Redis again.
func TestPagesServedWhileRedisIsAway(t *testing.T) {
	s := newSite(t, time.Minute)
	s.get(t, "/", false)
	if w := s.get(t, "/", false); w.Header().Get("X-Cache") != "HIT" {
		t.Fatalf("second view X-Cache = %q, want HIT", w.Header().Get("X-Cache"))
	}
	for _, fault := range []string{"cut", "frozen"} {
		if fault == "cut" {
			s.redis.Cut()
		} else {
			s.redis.Freeze()
		}
		start := time.Now()
		for i := range 50 {
			w := s.get(t, "/", false)
			if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), "render 1") {
				t.Fatalf("Redis %s, view %d: %d %q, want the page of render 1", fault, i, w.Code, w.Body.String())
			}
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("Redis %s: 50 views took %s, want well under 5s", fault, d)
		}
		if n := s.renders.Load(); n != 1 {
			t.Errorf("Redis %s: %d renders for 51 views, want 1", fault, n)
		}
		s.redis.Restore()
		deadline := time.Now().Add(10 * time.Second)
		for s.get(t, "/", false).Header().Get("X-Cache") != "HIT" {
			if time.Now().After(deadline) {
				t.Fatalf("after Redis %s: pages not served from Redis again within 10s", fault)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}

// A page rendered with a fragment left out is not kept once the fragment's
// service is back (only DegradedTTL), and never becomes the saved copy.
func TestDegradedPagesAreNotKept(t *testing.T) {
	s := newSite(t, time.Minute)
	s.degraded.Store(true)
	if w := s.get(t, "/", false); strings.Contains(w.Body.String(), "upcoming") {
		t.Fatal("the degraded page shows the fragment")
	}
	s.degraded.Store(false) // the service is back
	time.Sleep(pagecache.DegradedTTL + 200*time.Millisecond)
	if w := s.get(t, "/", false); !strings.Contains(w.Body.String(), "upcoming events") {
		t.Fatalf("%s after the service came back, anonymous view still degraded (X-Cache %q): %q",
			pagecache.DegradedTTL+200*time.Millisecond, w.Header().Get("X-Cache"), w.Body.String())
	}

	s2 := newSite(t, time.Minute)
	s2.degraded.Store(true)
	s2.get(t, "/only-degraded", false)
	s2.dbDown.Store(true)
	time.Sleep(pagecache.DegradedTTL + 200*time.Millisecond)
	if w := s2.get(t, "/only-degraded", false); w.Code != http.StatusServiceUnavailable {
		t.Fatalf("a degraded render was kept as the saved copy: %d %q", w.Code, w.Body.String())
	}
}

// With the database away, a page that cannot be rendered is answered with
// its saved copy and a notice, for anonymous visitors and members alike,
// from Redis or (Redis away too) from memory; the copy is never cached as
// the page; Purge drops it.
func TestSavedCopyWhenTheDatabaseIsAway(t *testing.T) {
	s := newSite(t, time.Second)
	s.get(t, "/post", false) // render 1, saved
	s.dbDown.Store(true)
	time.Sleep(1100 * time.Millisecond) // the page itself has expired
	check := func(what string, w *httptest.ResponseRecorder) {
		t.Helper()
		body := w.Body.String()
		if w.Code != http.StatusOK || !strings.Contains(body, "render 1") || w.Header().Get("X-Cache") != "SAVED" {
			t.Fatalf("%s: %d X-Cache %q %q, want the saved copy", what, w.Code, w.Header().Get("X-Cache"), body)
		}
		if !strings.Contains(body, layout.NoticeHTML(pagecache.SavedNotice)) || strings.Contains(body, layout.NoticeMarker) {
			t.Errorf("%s: the saved copy lacks its notice: %q", what, body)
		}
		if w.Header().Get("Cache-Control") != "no-store" {
			t.Errorf("%s: Cache-Control %q", what, w.Header().Get("Cache-Control"))
		}
	}
	check("anonymous", s.get(t, "/post", false))
	check("with a session cookie", s.get(t, "/post", true))
	s.redis.Cut()
	check("Redis away too", s.get(t, "/post", true))
	s.redis.Restore()

	s.dbDown.Store(false)
	deadline := time.Now().Add(10 * time.Second)
	for {
		w := s.get(t, "/post", false)
		if strings.Contains(w.Body.String(), pagecache.SavedNotice) {
			t.Fatal("the saved copy was cached as the page")
		}
		if w.Header().Get("X-Cache") != "LOCAL" || time.Now().After(deadline) {
			break // LOCAL: Redis's breaker is still open
		}
		time.Sleep(50 * time.Millisecond)
	}
	if n := s.renders.Load(); n < 2 {
		t.Errorf("the page was not rendered afresh once the database was back (%d renders)", n)
	}

	if err := s.pages.Purge(context.Background()); err != nil {
		t.Fatal(err)
	}
	s.dbDown.Store(true)
	if w := s.get(t, "/post", false); w.Code != http.StatusServiceUnavailable {
		t.Fatalf("after Purge: %d %q, want no saved copy", w.Code, w.Body.String())
	}
}
