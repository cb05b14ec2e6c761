package internal

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"rose-ash.com/platform/shared/cache"
	"rose-ash.com/platform/shared/config"
	"rose-ash.com/platform/shared/fragments"
	"rose-ash.com/platform/shared/media"
	"rose-ash.com/platform/shared/models"
	"rose-ash.com/platform/shared/oauth"
	"rose-ash.com/platform/shared/pagecache"
	"rose-ash.com/platform/shared/postgres/pgtest"
	"rose-ash.com/platform/shared/services/products"
	"rose-ash.com/platform/shared/servicetest"
	"rose-ash.com/platform/shared/sessions"
	"rose-ash.com/platform/shared/web"
)

// adminGrants is the sign-in test double: each access token is one user.
type adminGrants map[string]models.User

func (g adminGrants) CheckAccessToken(_ context.Context, token string) (models.User, error) {
	if u, ok := g[token]; ok {
		return u, nil
	}
	return models.User{}, models.Errorf(models.EUnauthenticated, "unknown token")
}

func (adminGrants) SignOut(context.Context, string) error { return nil }

// adminEnv is the market's whole handler on a fresh database, real Redis
// (in a namespace of its own) and a media directory, with a way to sign
// a browser in as the admin or as a member.
type adminEnv struct {
	srv     *httptest.Server
	store   *products.Store
	pages   *pagecache.Cache
	media   media.Store
	cachedV atomic.Value // the string the page behind the page cache says now
}

// Session keys of shared/oauth (its Middleware reads them).
const (
	sessionUserKey  = "user_id"
	sessionTokenKey = "access_token"
)

// adminTestSite is the market's Site on the repository's config, without
// other services' fragments.
func adminTestSite(t *testing.T) *web.Site {
	t.Helper()
	cfg, err := config.Load(func(k string) string {
		return map[string]string{"CONFIG_FILE": filepath.Join("..", "..", config.DefaultFile),
			"DATABASE_URL": "postgres://x/y", "REDIS_URL": "redis://x", "SECRET_KEY": strings.Repeat("k", 32)}[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	cfg.Media.MaxBytes = 1 << 20
	assets, err := web.NewAssets("/static/", fstest.MapFS{"site.css": {Data: []byte("body{}")}})
	if err != nil {
		t.Fatal(err)
	}
	return &web.Site{Service: "market", Config: cfg, Logger: slog.New(slog.DiscardHandler), Assets: assets, Metrics: web.NewMetrics()}
}

// adminTestKeys is a Redis namespace of the test's own, emptied when it
// ends.
func adminTestKeys(t *testing.T, rdb *redis.Client) cache.Namespace {
	t.Helper()
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	keys := cache.Namespace("test-marketadmin-" + hex.EncodeToString(b))
	t.Cleanup(func() {
		ctx := context.Background()
		if ks, err := rdb.Keys(ctx, string(keys)+"*").Result(); err == nil && len(ks) > 0 {
			rdb.Del(ctx, ks...)
		}
	})
	return keys
}

func newAdminEnv(t *testing.T) *adminEnv {
	t.Helper()
	site := adminTestSite(t)
	logger := site.Logger
	rdb := servicetest.MustRedis(t)
	keys := adminTestKeys(t, rdb)
	sm := sessions.New(rdb, keys, "market", false, time.Hour, logger, site.Error)
	grants := adminGrants{
		"admin-token":  {ID: uuid.New(), Email: "admin@example.org", IsAdmin: true},
		"member-token": {ID: uuid.New(), Email: "member@example.org"},
	}
	store := products.New(pgtest.MustPool(t))
	ms, err := media.NewDiskStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	env := &adminEnv{store: store, media: ms,
		pages: pagecache.New(rdb, keys, "market", "test", time.Minute, prometheus.NewRegistry())}
	env.cachedV.Store("v1")
	h := NewServer(Deps{Site: site, Auth: oauth.NewClient(site, sm, grants, http.DefaultClient), Products: store,
		Pages: env.pages, Media: ms})

	mux := http.NewServeMux()
	// Signing in: the session oauth's callback would leave.
	mux.Handle("/test/signin", sessions.LoadAndSave(sm)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok := r.URL.Query().Get("token")
		sm.Put(r.Context(), sessionUserKey, grants[tok].ID.String())
		sm.Put(r.Context(), sessionTokenKey, tok)
	})))
	// An anonymous page behind the market's page cache, to see purges.
	mux.Handle("/test/cached", env.pages.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = io.WriteString(w, "<p>"+env.cachedV.Load().(string)+"</p>")
	})))
	mux.Handle("/", h)
	env.srv = httptest.NewServer(mux)
	t.Cleanup(env.srv.Close)
	return env
}

// adminBrowser is a cookie-keeping client that does not follow redirects.
type adminBrowser struct {
	t    *testing.T
	env  *adminEnv
	http *http.Client
}

// answer is one response: its status, Location and body.
type answer struct {
	Status   int
	Location string
	Body     string
}

func (e *adminEnv) browser(t *testing.T, token string) *adminBrowser {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	b := &adminBrowser{t: t, env: e, http: &http.Client{Jar: jar, Timeout: 20 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	if token != "" {
		if a := b.get("/test/signin?token=" + token); a.Status != http.StatusOK {
			t.Fatalf("sign in: %d", a.Status)
		}
	}
	return b
}

func (b *adminBrowser) do(req *http.Request) answer {
	b.t.Helper()
	resp, err := b.http.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return answer{Status: resp.StatusCode, Location: resp.Header.Get("Location"), Body: string(body)}
}

func (b *adminBrowser) get(path string) answer {
	b.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, b.env.srv.URL+path, nil)
	return b.do(req)
}

func (b *adminBrowser) post(path string, form url.Values) answer {
	b.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, b.env.srv.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

// seedMarket adds a market and returns it.
func (e *adminEnv) seedMarket(t *testing.T, name string) models.Market {
	t.Helper()
	m, err := e.store.CreateMarket(context.Background(), products.MarketInput{Name: name})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// productFormValues returns the product form's fields for a product of market
// with the given variants (name, price pairs), as a browser sends them.
func productFormValues(market, name string, variants ...[2]string) url.Values {
	f := url.Values{"version": {"0"}, "market": {market}, "category": {""}, "name": {name}, "slug": {""},
		"summary": {"From the hill."}, "description": {"<p>Raw and runny.</p>"}, "currency": {"GBP"}, "vat": {"0"},
		"variants": {strconv.Itoa(len(variants) + spareVariantRows)}, "images": {strconv.Itoa(spareImageRows)}}
	for i, v := range variants {
		k := "v" + strconv.Itoa(i) + "."
		f.Set(k+"name", v[0])
		f.Set(k+"price", v[1])
		f.Set(k+"track", "1")
		f.Set(k+"stock", "10")
	}
	return f
}

// A change drops the cached cards of the products it names (other
// services' pages show them) and the market's cached pages.
func TestAdminChangeDropsCachedCards(t *testing.T) {
	site := adminTestSite(t)
	rdb := servicetest.MustRedis(t)
	keys := adminTestKeys(t, rdb)
	site.Fragments = fragments.NewClient(site.Config, rdb, keys, prometheus.NewRegistry(), site.Logger)
	ctx := context.Background()
	card := func(slug string) string { return fragments.CacheKeyRef(keys, "market", fragments.ProductCard, slug) }
	for _, slug := range []string{"old-honey", "new-honey", "other-honey"} {
		if err := rdb.Set(ctx, card(slug), "<article>cached</article>", time.Minute).Err(); err != nil {
			t.Fatal(err)
		}
	}
	store := products.New(pgtest.MustPool(t))
	if _, err := store.CreateMarket(ctx, products.MarketInput{Name: "Hillside Bees"}); err != nil {
		t.Fatal(err)
	}
	widget := fragments.CacheKeyRef(keys, "market", fragments.MarketWidget, "hillside-bees")
	if err := rdb.Set(ctx, widget, "<section>cached</section>", time.Minute).Err(); err != nil {
		t.Fatal(err)
	}
	a := newCatalogueAdmin(Deps{Site: site, Products: store, Pages: pagecache.New(rdb, keys, "market", "test", time.Minute, prometheus.NewRegistry())})
	a.changed(ctx, "old-honey", "new-honey")
	for slug, want := range map[string]int64{"old-honey": 0, "new-honey": 0, "other-honey": 1} {
		if n, err := rdb.Exists(ctx, card(slug)).Result(); err != nil || n != want {
			t.Errorf("card %s cached: %d, want %d (%v)", slug, n, want, err)
		}
	}
	// A market's widget shows its latest products: it is dropped too.
	if n, err := rdb.Exists(ctx, widget).Result(); err != nil || n != 0 {
		t.Errorf("the market's widget is still cached (%d, %v)", n, err)
	}
}
