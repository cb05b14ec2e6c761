package internal

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"image"
	"image/color"
	"image/png"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"rose-ash.com/platform/shared/cache"
	"rose-ash.com/platform/shared/config"
	"rose-ash.com/platform/shared/media"
	"rose-ash.com/platform/shared/models"
	"rose-ash.com/platform/shared/oauth"
	"rose-ash.com/platform/shared/pagecache"
	"rose-ash.com/platform/shared/postgres/pgtest"
	"rose-ash.com/platform/shared/safefetch"
	"rose-ash.com/platform/shared/scrape"
	"rose-ash.com/platform/shared/services/products"
	"rose-ash.com/platform/shared/servicetest"
	"rose-ash.com/platform/shared/sessions"
	"rose-ash.com/platform/shared/web"
)

// supplierSite serves product pages on loopback whose bodies the test
// changes, and an image.
type supplierSite struct {
	srv   *httptest.Server
	mu    sync.Mutex
	pages map[string]string
}

func (s *supplierSite) set(path, body string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pages[path] = body
	return s.srv.URL + path
}

func newSupplierSite(t *testing.T) *supplierSite {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 2, 2))
	img.Set(0, 0, color.RGBA{255, 200, 0, 255})
	var png1 bytes.Buffer
	if err := png.Encode(&png1, img); err != nil {
		t.Fatal(err)
	}
	s := &supplierSite{pages: map[string]string{}}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/honey.png" {
			w.Header().Set("Content-Type", "image/png")
			_, _ = w.Write(png1.Bytes())
			return
		}
		s.mu.Lock()
		body, ok := s.pages[r.URL.Path]
		s.mu.Unlock()
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = io.WriteString(w, body)
	}))
	t.Cleanup(s.srv.Close)
	return s
}

// supplierProduct is a product page whose JSON-LD has markup in its
// description, which the review page must show escaped.
func supplierProduct(price string, second string) string {
	block := func(p string) string {
		return `<script type="application/ld+json">{"@context":"https://schema.org","@type":"Product","name":"Heather honey","sku":"HH-1",
"description":"Thick honey. <img src=x onerror=alert(1)>","image":"/honey.png",
"offers":{"@type":"Offer","price":"` + p + `","priceCurrency":"GBP","availability":"https://schema.org/InStock"}}</script>`
	}
	head := block(price)
	if second != "" {
		head += block(second)
	}
	return `<!doctype html><html><head><title>Heather honey</title>` + head + `</head><body><h1>Heather honey</h1></body></html>`
}

// newImportEnv is the market's handler with importing set up (supplier
// pages on loopback allowed), signed-in admin and member users that exist
// in the database.
func newImportEnv(t *testing.T) (*adminEnv, *supplierSite) {
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
	logger := slog.New(slog.DiscardHandler)
	site := &web.Site{Service: "market", Config: cfg, Logger: logger, Assets: assets, Metrics: web.NewMetrics()}
	rdb := servicetest.MustRedis(t)
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	keys := cache.Namespace("test-marketimports-" + hex.EncodeToString(b))
	t.Cleanup(func() {
		ctx := context.Background()
		if ks, err := rdb.Keys(ctx, string(keys)+"*").Result(); err == nil && len(ks) > 0 {
			rdb.Del(ctx, ks...)
		}
	})
	sm := sessions.New(rdb, keys, "market", false, time.Hour, logger, site.Error)
	db := pgtest.MustPool(t)
	grants := adminGrants{}
	for tok, admin := range map[string]bool{"admin-token": true, "member-token": false} {
		var id uuid.UUID
		email := strings.TrimSuffix(tok, "-token") + "@example.org"
		if err := db.QueryRow(context.Background(), `INSERT INTO users (email) VALUES ($1) RETURNING id`, email).Scan(&id); err != nil {
			t.Fatal(err)
		}
		grants[tok] = models.User{ID: id, Email: email, IsAdmin: admin}
	}
	store := products.New(db)
	ms, err := media.NewDiskStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	loopback := []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	imports := &products.Imports{Store: store, Currency: "GBP",
		Fetcher: scrape.NewFetcher(scrape.FetchOptions{UserAgent: "test", Delay: -1, Allow: loopback, Timeout: 10 * time.Second}),
		Images:  products.DownloadImages(safefetch.New(safefetch.Options{MaxBody: 1 << 20, Allow: loopback}), ms, 1<<20)}
	env := &adminEnv{store: store, media: ms,
		pages: pagecache.New(rdb, keys, "market", "test", time.Minute, prometheus.NewRegistry())}
	h := NewServer(Deps{Site: site, Auth: oauth.NewClient(site, sm, grants, http.DefaultClient), Products: store,
		Pages: env.pages, Media: ms, Imports: imports})
	mux := http.NewServeMux()
	mux.Handle("/test/signin", sessions.LoadAndSave(sm)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok := r.URL.Query().Get("token")
		sm.Put(r.Context(), sessionUserKey, grants[tok].ID.String())
		sm.Put(r.Context(), sessionTokenKey, tok)
	})))
	mux.Handle("/", h)
	env.srv = httptest.NewServer(mux)
	t.Cleanup(env.srv.Close)
	env.seedMarket(t, "Hillside Bees")
	return env, newSupplierSite(t)
}

func must(t *testing.T, a answer, status int, contains ...string) answer {
	t.Helper()
	if a.Status != status {
		t.Fatalf("status %d, want %d; body:\n%s", a.Status, status, a.Body)
	}
	for _, c := range contains {
		if !strings.Contains(a.Body, c) {
			t.Fatalf("the page lacks %q:\n%s", c, a.Body)
		}
	}
	return a
}

var sourceLink = regexp.MustCompile(`^/admin/sources/([0-9a-f-]{36})\?added=1$`)

// An admin adds a supplier page, imports it, reviews the new product
// with its provenance (escaped), approves it; a price change comes back
// as a difference; rejecting leaves the listing.
func TestAdminImportsReviewsAndApproves(t *testing.T) {
	env, sup := newImportEnv(t)
	admin := env.browser(t, "admin-token")
	page := sup.set("/products/heather-honey", supplierProduct("7.25", ""))

	// A mistake keeps what was typed.
	must(t, admin.post("/admin/sources", url.Values{"url": {"ftp://nope"}, "market": {"hillside-bees"}, "hours": {"24"}}),
		http.StatusUnprocessableEntity, "is not a web address", `value="ftp://nope"`)
	must(t, admin.post("/admin/sources", url.Values{"url": {page}, "market": {"hillside-bees"}, "hours": {"soon"}}),
		http.StatusUnprocessableEntity, "whole number of hours", `value="soon"`)

	added := must(t, admin.post("/admin/sources", url.Values{"url": {page}, "market": {"hillside-bees"}, "hours": {"6"}}), http.StatusSeeOther)
	m := sourceLink.FindStringSubmatch(added.Location)
	if m == nil {
		t.Fatalf("added source redirects to %q", added.Location)
	}
	src := "/admin/sources/" + m[1]
	must(t, admin.post("/admin/sources", url.Values{"url": {page}, "market": {"hillside-bees"}}), http.StatusConflict, "already a source")

	ran := must(t, admin.post(src+"/run", nil), http.StatusSeeOther)
	must(t, admin.get(ran.Location), http.StatusOK, "Found 1: 1 new, 0 changed, 0 unchanged; 0 errors.", "wait in the review queue")
	must(t, admin.get("/admin/sources"), http.StatusOK, page, "Hillside Bees", "<td>1</td>")
	must(t, admin.get(src), http.StatusOK, "every 6 hours", "Waiting for review")

	// The queue shows the new product, its price and where it came from,
	// the page's markup escaped.
	q := must(t, admin.get("/admin/review"), http.StatusOK, "Heather honey", "New product", "£7.25", "schema.org JSON-LD",
		`&#34;price&#34;: &#34;7.25&#34;`, "&lt;img src=x onerror=alert(1)&gt;")
	if strings.Contains(q.Body, "<img src=x") {
		t.Fatal("the raw block's markup reached the page unescaped")
	}
	id := regexp.MustCompile(`/admin/review/([0-9a-f-]{36})/approve`).FindStringSubmatch(q.Body)
	if id == nil {
		t.Fatalf("no Approve button:\n%s", q.Body)
	}
	member := env.browser(t, "member-token")
	must(t, member.get("/admin/review"), http.StatusForbidden)
	must(t, member.post("/admin/review/"+id[1]+"/approve", nil), http.StatusForbidden)

	ok := must(t, admin.post("/admin/review/"+id[1]+"/approve", nil), http.StatusSeeOther)
	must(t, admin.get(ok.Location), http.StatusOK, "Approved", "Nothing waits for review.")
	p, err := env.store.Product(context.Background(), "heather-honey", false)
	if err != nil || p.MinPrice != 725 || len(p.Images) != 1 || !strings.HasPrefix(p.Images[0].URL, "/media/") {
		t.Fatalf("approved product = %+v, %v; want it published at £7.25 with a stored image", p, err)
	}
	f, _, err := env.media.Open(context.Background(), strings.TrimPrefix(p.Images[0].URL, "/media/"))
	if err != nil {
		t.Fatalf("image not in the media store: %v", err)
	}
	f.Close()
	must(t, admin.post("/admin/review/"+id[1]+"/approve", nil), http.StatusConflict, "already approved")

	// The supplier changes the price: the queue shows old and new.
	sup.set("/products/heather-honey", supplierProduct("7.95", ""))
	must(t, admin.post(src+"/run", nil), http.StatusSeeOther)
	q = must(t, admin.get("/admin/review"), http.StatusOK, "Changes to", "<del>£7.25</del>", "<ins>£7.95</ins>")
	id = regexp.MustCompile(`/admin/review/([0-9a-f-]{36})/reject`).FindStringSubmatch(q.Body)
	if id == nil {
		t.Fatalf("no Reject button:\n%s", q.Body)
	}
	must(t, admin.get("/admin/review/"+id[1]), http.StatusOK, "Waiting for review", "<del>£7.25</del>")
	rej := must(t, admin.post("/admin/review/"+id[1]+"/reject", nil), http.StatusSeeOther)
	must(t, admin.get(rej.Location), http.StatusOK, "Rejected", "Nothing waits for review.")
	if p, _ = env.store.Product(context.Background(), "heather-honey", false); p.MinPrice != 725 {
		t.Fatalf("price after rejecting = %d, want 725", p.MinPrice)
	}
	must(t, admin.get("/admin/review/"+uuid.NewString()), http.StatusNotFound)
	must(t, admin.get("/admin/review/not-an-id"), http.StatusNotFound)

	// Deleting the source keeps its product.
	del := must(t, admin.post(src+"/delete", nil), http.StatusSeeOther)
	must(t, admin.get(del.Location), http.StatusOK, "Source deleted", "No sources yet")
	if _, err := env.store.Product(context.Background(), "heather-honey", false); err != nil {
		t.Fatalf("product after deleting its source: %v", err)
	}
}

// A page without a product is the source's error, on its page and in the
// list; a page whose product blocks disagree is flagged in the queue.
func TestAdminSeesSourceErrorsAndConflicts(t *testing.T) {
	env, sup := newImportEnv(t)
	admin := env.browser(t, "admin-token")
	bare := sup.set("/about", "<html><body><p>We keep bees.</p></body></html>")
	a := must(t, admin.post("/admin/sources", url.Values{"url": {bare}, "market": {"hillside-bees"}}), http.StatusSeeOther)
	src := strings.TrimSuffix(a.Location, "?added=1")
	ran := must(t, admin.post(src+"/run", nil), http.StatusSeeOther)
	must(t, admin.get(ran.Location), http.StatusOK, "Found 0", "1 errors", "has no product data")
	must(t, admin.get("/admin/sources"), http.StatusOK, "has no product data")

	two := sup.set("/products/two", supplierProduct("7.25", "6.50"))
	a = must(t, admin.post("/admin/sources", url.Values{"url": {two}, "market": {"hillside-bees"}}), http.StatusSeeOther)
	must(t, admin.post(strings.TrimSuffix(a.Location, "?added=1")+"/run", nil), http.StatusSeeOther)
	must(t, admin.get("/admin/review"), http.StatusOK, "Conflict:", "product blocks that disagree")
}
