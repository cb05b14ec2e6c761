package fragments_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/a-h/templ"
	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"rose-ash.com/platform/shared/cache"
	"rose-ash.com/platform/shared/config"
	"rose-ash.com/platform/shared/fragments"
	"rose-ash.com/platform/shared/models"
	"rose-ash.com/platform/shared/servicetest"
)

const secretKey = "fragments-test-secret-0123456789abcdef"

// upstream is a fake service serving fragments through the real Server.
type upstream struct {
	*httptest.Server
	hits  atomic.Int64
	delay time.Duration
}

func newUpstream(t *testing.T, delay time.Duration) *upstream {
	u := &upstream{delay: delay}
	text := func(s string) templ.Component {
		return templ.ComponentFunc(func(_ context.Context, w io.Writer) error { _, err := io.WriteString(w, s); return err })
	}
	srv := fragments.NewServer(secretKey, "http://public.example", "http://internal.example", slog.New(slog.DiscardHandler),
		map[string]fragments.Renderer{
			"hello": func(ctx context.Context, v *models.User) (templ.Component, error) {
				u.hits.Add(1)
				select {
				case <-time.After(u.delay):
				case <-ctx.Done():
					return nil, ctx.Err()
				}
				return text("<p>hello</p>"), nil
			},
			"whoami": func(_ context.Context, v *models.User) (templ.Component, error) {
				u.hits.Add(1)
				if v == nil {
					return text("<p>signed out</p>"), nil
				}
				return text("<p>" + v.DisplayName + "</p>"), nil
			},
		})
	r := chi.NewRouter()
	r.Handle("/internal/fragments/{type}", srv)
	u.Server = httptest.NewServer(r)
	t.Cleanup(u.Close)
	return u
}

// client returns a fragment client whose cart service is at cartURL and
// market service at marketURL.
func client(t *testing.T, cartURL, marketURL string, deadline time.Duration) (*fragments.Client, *prometheus.Registry, cache.Namespace) {
	t.Helper()
	env := map[string]string{
		"CONFIG_FILE": filepath.Join(servicetest.RepoRoot(t), config.DefaultFile), "DATABASE_URL": "postgres://x/y",
		"REDIS_URL": "redis://x", "SECRET_KEY": secretKey, "CART_INTERNAL_URL": cartURL, "MARKET_INTERNAL_URL": marketURL,
		"FRAGMENTS_DEADLINE": deadline.String(),
	}
	cfg, err := config.Load(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	rdb := servicetest.MustRedis(t)
	keys := cache.Namespace(fmt.Sprintf("fragtest%d", time.Now().UnixNano()))
	reg := prometheus.NewRegistry()
	return fragments.NewClient(cfg, rdb, keys, reg, slog.New(slog.DiscardHandler)), reg, keys
}

func html(c templ.Component) string {
	if c == nil {
		return ""
	}
	var b strings.Builder
	_ = c.Render(context.Background(), &b)
	return b.String()
}

func TestFragmentEndpointNeedsTheSecret(t *testing.T) {
	up := newUpstream(t, 0)
	get := func(hdr map[string]string, host string) int {
		req, _ := http.NewRequest("GET", up.URL+"/internal/fragments/hello", nil)
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		if host != "" {
			req.Host = host
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	secret := fragments.Secret(secretKey)
	cases := []struct {
		name string
		hdr  map[string]string
		host string
		want int
	}{
		{"no secret", nil, "", 403},
		{"wrong secret", map[string]string{fragments.SecretHeader: "guess"}, "", 403},
		{"through the public host", map[string]string{fragments.SecretHeader: secret}, "public.example", 403},
		{"forged user header", map[string]string{fragments.SecretHeader: secret, fragments.UserHeader: "eyJpZCI6IngifQ.bad"}, "", 403},
		{"with the secret", map[string]string{fragments.SecretHeader: secret}, "", 200},
	}
	for _, c := range cases {
		if got := get(c.hdr, c.host); got != c.want {
			t.Errorf("%s: %d, want %d", c.name, got, c.want)
		}
	}
}

func TestSlowOrDownServicesAreLeftOutPromptly(t *testing.T) {
	slow := newUpstream(t, 3*time.Second)
	fast := newUpstream(t, 0)
	down := httptest.NewServer(http.NotFoundHandler())
	down.Close()
	c, reg, _ := client(t, slow.URL, fast.URL, 150*time.Millisecond)
	reqs := []fragments.Request{{Service: "cart", Type: "hello"}, {Service: "market", Type: "hello"}, {Service: "events", Type: "hello"}}
	start := time.Now()
	got := c.Fetch(context.Background(), nil, reqs)
	took := time.Since(start)
	if took > time.Second {
		t.Fatalf("a 3s fragment delayed the page by %s with a 150ms deadline", took)
	}
	if got[0] != nil || html(got[1]) != "<p>hello</p>" {
		t.Fatalf("slow=%q fast=%q", html(got[0]), html(got[1]))
	}
	if got[2] != nil { // events' internal URL points at nothing listening in this test
		t.Fatalf("unreachable service gave %q", html(got[2]))
	}
	if v := (counter(t, reg, "cart", "hello", "timeout")); v != 1 {
		t.Errorf("timeouts counted: %v", v)
	}
}

// A page cache must know when a page was rendered with a part left out, so
// that it does not keep the degraded page after the service recovers; a
// page with every fragment is not marked.
func TestLeftOutFragmentsMarkThePage(t *testing.T) {
	fast := newUpstream(t, 0)
	down := httptest.NewServer(http.NotFoundHandler())
	down.Close()
	c, _, _ := client(t, down.URL, fast.URL, 150*time.Millisecond)
	ctx, omitted := fragments.TrackOmissions(context.Background())
	c.Fetch(ctx, nil, []fragments.Request{{Service: "market", Type: "hello"}})
	if n := omitted(); n != 0 {
		t.Fatalf("a complete page counts %d fragments left out", n)
	}
	got := c.Fetch(ctx, nil, []fragments.Request{{Service: "cart", Type: "hello"}, {Service: "market", Type: "hello"}})
	if got[0] != nil || omitted() != 1 {
		t.Fatalf("cart down: fragment %q, %d left out; want nil and 1", html(got[0]), omitted())
	}
	fragments.NoteOmission(context.Background()) // untracked: nothing happens
}

func TestCacheHitMissAndInvalidation(t *testing.T) {
	up := newUpstream(t, 0)
	c, reg, keys := client(t, up.URL, up.URL, time.Second)
	req := []fragments.Request{{Service: "cart", Type: "hello"}}
	c.Fetch(context.Background(), nil, req)
	c.Fetch(context.Background(), nil, req)
	if up.hits.Load() != 1 {
		t.Fatalf("%d upstream fetches for two views, want 1 (cached)", up.hits.Load())
	}
	if (counter(t, reg, "cart", "hello", "hit")) != 1 || (counter(t, reg, "cart", "hello", "miss")) != 1 {
		t.Error("hit/miss not counted")
	}
	if err := fragments.Invalidate(context.Background(), servicetest.MustRedis(t), keys, "cart", "hello", false, nil); err != nil {
		t.Fatal(err)
	}
	c.Fetch(context.Background(), nil, req)
	if up.hits.Load() != 2 {
		t.Fatalf("invalidation did not cause a fresh fetch (%d fetches)", up.hits.Load())
	}
}

func TestPerUserFragmentsNeverLeakBetweenUsers(t *testing.T) {
	up := newUpstream(t, 0)
	c, _, keys := client(t, up.URL, up.URL, time.Second)
	req := []fragments.Request{{Service: "cart", Type: "whoami", PerUser: true}}
	ann := &models.User{ID: uuid.New(), DisplayName: "Ann"}
	bob := &models.User{ID: uuid.New(), DisplayName: "Bob"}
	for range 2 {
		if got := html(c.Fetch(context.Background(), ann, req)[0]); got != "<p>Ann</p>" {
			t.Fatalf("Ann sees %q", got)
		}
		if got := html(c.Fetch(context.Background(), bob, req)[0]); got != "<p>Bob</p>" {
			t.Fatalf("Bob sees %q", got)
		}
		if got := html(c.Fetch(context.Background(), nil, req)[0]); got != "<p>signed out</p>" {
			t.Fatalf("a signed-out visitor sees %q", got)
		}
	}
	// Invalidating Ann's copy leaves Bob's cached.
	before := up.hits.Load()
	fragments.Invalidate(context.Background(), servicetest.MustRedis(t), keys, "cart", "whoami", true, &ann.ID)
	c.Fetch(context.Background(), ann, req)
	c.Fetch(context.Background(), bob, req)
	if up.hits.Load() != before+1 {
		t.Fatalf("invalidating one user's fragment refetched %d", up.hits.Load()-before)
	}
}

func TestConcurrentMissesFetchOnce(t *testing.T) {
	up := newUpstream(t, 100*time.Millisecond)
	c, _, _ := client(t, up.URL, up.URL, 2*time.Second)
	req := []fragments.Request{{Service: "cart", Type: "hello"}}
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			if got := html(c.Fetch(context.Background(), nil, req)[0]); got != "<p>hello</p>" {
				t.Errorf("got %q", got)
			}
		})
	}
	wg.Wait()
	if n := up.hits.Load(); n != 1 {
		t.Fatalf("20 concurrent misses made %d upstream fetches, want 1", n)
	}
}

// counter returns the value of fragment_requests_total for the labels.
func counter(t *testing.T, reg *prometheus.Registry, service, typ, result string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "fragment_requests_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			l := map[string]string{}
			for _, p := range m.GetLabel() {
				l[p.GetName()] = p.GetValue()
			}
			if l["service"] == service && l["type"] == typ && l["result"] == result {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}

// A fragment type with many instances (a calendar) is asked for by ref:
// the renderer reads it, each ref is cached apart, and a ref the renderer
// does not know is a 404, left out of the page.
func TestFragmentsByRef(t *testing.T) {
	var hits atomic.Int64
	srv := fragments.NewServer(secretKey, "http://public.example", "http://internal.example", slog.New(slog.DiscardHandler),
		map[string]fragments.Renderer{
			"calendar": func(ctx context.Context, _ *models.User) (templ.Component, error) {
				hits.Add(1)
				ref := fragments.Ref(ctx)
				if ref != "community" && ref != "market days" {
					return nil, models.Errorf(models.ENotFound, "No calendar %q.", ref)
				}
				return templ.Raw("<p>calendar " + ref + "</p>"), nil
			},
		})
	r := chi.NewRouter()
	r.Handle("/internal/fragments/{type}", srv)
	up := httptest.NewServer(r)
	t.Cleanup(up.Close)
	c, _, keys := client(t, "http://127.0.0.1:1", up.URL, time.Second)

	reqs := []fragments.Request{
		{Service: "market", Type: "calendar", Ref: "community"},
		{Service: "market", Type: "calendar", Ref: "market days"},
		{Service: "market", Type: "calendar", Ref: "nope"},
		{Service: "market", Type: "calendar", Ref: strings.Repeat("x", fragments.MaxRef+1)},
	}
	got := c.Fetch(context.Background(), nil, reqs)
	if html(got[0]) != "<p>calendar community</p>" || html(got[1]) != "<p>calendar market days</p>" {
		t.Fatalf("got %q and %q", html(got[0]), html(got[1]))
	}
	if got[2] != nil || got[3] != nil {
		t.Fatalf("an unknown or overlong ref rendered %q / %q", html(got[2]), html(got[3]))
	}
	before := hits.Load()
	got = c.Fetch(context.Background(), nil, reqs[:2])
	if hits.Load() != before || html(got[1]) != "<p>calendar market days</p>" {
		t.Fatalf("refs not cached apart: %d more renders, %q", hits.Load()-before, html(got[1]))
	}
	// Invalidating one ref fetches that one again, not the other.
	if err := fragments.InvalidateRef(context.Background(), servicetest.MustRedis(t), keys, "market", "calendar", "community"); err != nil {
		t.Fatal(err)
	}
	c.Fetch(context.Background(), nil, reqs[:2])
	if hits.Load() != before+1 {
		t.Fatalf("%d renders after invalidating one ref, want 1", hits.Load()-before)
	}

	req, _ := http.NewRequest("GET", up.URL+"/internal/fragments/calendar?ref=nope", nil)
	req.Header.Set(fragments.SecretHeader, fragments.Secret(secretKey))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("unknown ref: %d, want 404", resp.StatusCode)
	}
}

// A service's own fragments render in-process for its own pages, as its
// server would answer them (refs, not-found refs left out, per-user
// viewers), while other services' still come over HTTP.
func TestOwnFragmentsRenderInProcess(t *testing.T) {
	cart := newUpstream(t, 0)
	// market's internal address answers nothing: its fragments must not
	// need it.
	c, _, _ := client(t, cart.URL, "http://127.0.0.1:1", time.Second)
	var renders atomic.Int64
	c.ServeLocally("market", map[string]fragments.Renderer{
		"card": func(ctx context.Context, v *models.User) (templ.Component, error) {
			renders.Add(1)
			if fragments.Ref(ctx) == "gone" {
				return nil, models.Errorf(models.ENotFound, "No such product.")
			}
			who := "nobody"
			if v != nil {
				who = v.DisplayName
			}
			return templ.Raw("<p>card " + fragments.Ref(ctx) + " for " + who + "</p>"), nil
		},
	})
	viewer := &models.User{DisplayName: "Ada"}
	got := c.Fetch(context.Background(), viewer, []fragments.Request{
		{Service: "market", Type: "card", Ref: "apples"},
		{Service: "market", Type: "card", Ref: "pears", PerUser: true},
		{Service: "market", Type: "card", Ref: "gone"},
		{Service: "cart", Type: "whoami", PerUser: true},
	})
	if html(got[0]) != "<p>card apples for nobody</p>" || html(got[1]) != "<p>card pears for Ada</p>" {
		t.Fatalf("own fragments rendered %q and %q", html(got[0]), html(got[1]))
	}
	if got[2] != nil {
		t.Fatalf("a ref the renderer does not know rendered %q", html(got[2]))
	}
	if html(got[3]) != "<p>Ada</p>" || cart.hits.Load() != 1 {
		t.Fatalf("another service's fragment = %q after %d fetches", html(got[3]), cart.hits.Load())
	}
	if renders.Load() != 3 {
		t.Fatalf("%d in-process renders, want 3", renders.Load())
	}
}
