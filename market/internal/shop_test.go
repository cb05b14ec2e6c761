package internal

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"

	"rose-ash.com/platform/shared/cache"
	"rose-ash.com/platform/shared/config"
	"rose-ash.com/platform/shared/layout"
	"rose-ash.com/platform/shared/media"
	"rose-ash.com/platform/shared/models"
	"rose-ash.com/platform/shared/oauth"
	"rose-ash.com/platform/shared/pagecache"
	"rose-ash.com/platform/shared/postgres/pgtest"
	"rose-ash.com/platform/shared/services/identity"
	"rose-ash.com/platform/shared/services/products"
	"rose-ash.com/platform/shared/servicetest"
	"rose-ash.com/platform/shared/sessions"
	"rose-ash.com/platform/shared/web"
)

// shopEnv is the market's handler on a test server with a fresh database,
// its own Redis keys and the page cache off (tests change the catalogue
// between views).
type shopEnv struct {
	t     *testing.T
	URL   string
	store *products.Store
	site  *web.Site
	deps  Deps
}

func startShop(t *testing.T) *shopEnv {
	t.Helper()
	db := pgtest.MustPool(t)
	rdb := servicetest.MustRedis(t)
	srv := httptest.NewUnstartedServer(nil)
	base := "http://" + srv.Listener.Addr().String()
	env := map[string]string{
		"CONFIG_FILE":  filepath.Join("..", "..", config.DefaultFile),
		"DATABASE_URL": "postgres://x/y", "REDIS_URL": "redis://x", "SECRET_KEY": strings.Repeat("s", 32),
		"MARKET_PUBLIC_URL": base, "MARKET_INTERNAL_URL": base,
		"REDIS_KEY_PREFIX": fmt.Sprintf("shoptest%d", time.Now().UnixNano()),
	}
	cfg, err := config.Load(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.DiscardHandler)
	own, _ := fs.Sub(Static, "static")
	shared, _ := fs.Sub(layout.Static, "static")
	assets, err := web.NewAssets("/static/", own, shared)
	if err != nil {
		t.Fatal(err)
	}
	site := &web.Site{Service: "market", Config: cfg, Logger: logger, Assets: assets, Metrics: web.NewMetrics()}
	keys := cache.Namespace(cfg.RedisPrefix)
	sm := sessions.New(rdb, keys, "market", false, time.Hour, logger, site.Error)
	mediaStore, err := media.NewDiskStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	store := products.New(db)
	// Products are published a minute apart, in the order they are made.
	var mu sync.Mutex
	clock := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	store.Now = func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		clock = clock.Add(time.Minute)
		return clock
	}
	d := Deps{Site: site, Auth: oauth.NewClient(site, sm, identity.New(db), http.DefaultClient), Products: store,
		Pages: pagecache.New(rdb, keys, "market", assets.Version(), 0, site.Metrics.Registry), Media: mediaStore}
	srv.Config.Handler = NewServer(d)
	srv.Start()
	t.Cleanup(srv.Close)
	return &shopEnv{t: t, URL: base, store: store, site: site, deps: d}
}

// get fetches path and returns the status and the body.
func (e *shopEnv) get(path string, header ...string) (int, string) {
	e.t.Helper()
	req, err := http.NewRequest(http.MethodGet, e.URL+path, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// page fetches path, wants status, and returns it parsed.
func (e *shopEnv) page(path string, status int) *goquery.Document {
	e.t.Helper()
	code, body := e.get(path)
	if code != status {
		e.t.Fatalf("GET %s = %d, want %d:\n%s", path, code, status, body)
	}
	doc, err := goquery.NewDocumentFromReader(strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	return doc
}

// productLinks returns the product slugs a page links to (in the main
// content), in order, each once.
func productLinks(doc *goquery.Document) []string {
	var out []string
	seen := map[string]bool{}
	doc.Find("main a[href]").Each(func(_ int, a *goquery.Selection) {
		href, _ := a.Attr("href")
		i := strings.Index(href, "/products/")
		if i < 0 {
			return
		}
		slug := href[i+len("/products/"):]
		if !seen[slug] {
			seen[slug] = true
			out = append(out, slug)
		}
	})
	return out
}

func (e *shopEnv) mustMarket(slug, name, summary string) {
	e.t.Helper()
	if _, err := e.store.CreateMarket(context.Background(), products.MarketInput{Slug: slug, Name: name, Summary: summary,
		Location: "Hill Road, Ashby", Description: "<p>Family run since 1952.</p>", Image: "/media/" + slug + ".jpg"}); err != nil {
		e.t.Fatal(err)
	}
}

func (e *shopEnv) mustCategory(slug, name, parent string) {
	e.t.Helper()
	if _, err := e.store.SaveCategory(context.Background(), uuid.Nil, products.CategoryInput{Slug: slug, Name: name, Parent: parent}); err != nil {
		e.t.Fatal(err)
	}
}

func (e *shopEnv) mustProduct(in products.ProductInput) models.Product {
	e.t.Helper()
	if in.Currency == "" {
		in.Currency = "GBP"
	}
	p, err := e.store.CreateProduct(context.Background(), in)
	if err != nil {
		e.t.Fatalf("create %s: %v", in.Name, err)
	}
	return p
}

// seedShop makes two markets, a category tree (pantry > honey; dairy) and
// products in every stock state: heather honey (two sizes at different
// prices, one low, and a sold-out comb), wildflower honey (sold out),
// oat biscuits (honey only in the description), a cheddar to order, a
// blue cheese with 2 left, and a draft.
func seedShop(e *shopEnv) {
	e.t.Helper()
	e.mustMarket("hill-farm", "Hill Farm", "Honey and baking from the hills.")
	e.mustMarket("river-dairy", "River Dairy", "Cheese from the river meadows.")
	e.mustCategory("pantry", "Pantry", "")
	e.mustCategory("honey", "Honey", "pantry")
	e.mustCategory("dairy", "Dairy", "")
	e.mustProduct(products.ProductInput{Market: "hill-farm", Category: "honey", Slug: "heather-honey", Name: "Heather honey",
		Summary: "Raw honey from the heather moors.", Description: "<p>Thick, <em>floral</em> &amp; raw.</p>", VATRateBP: 2000,
		Featured: true, Publish: true,
		Images: []models.ProductImage{{URL: "/media/heather.jpg", Alt: "A jar of heather honey"}, {URL: "/media/heather-2.jpg"}},
		Variants: []products.VariantInput{
			{Name: "340 g", SKU: "HH-340", Price: 725, TrackStock: true, Stock: 20},
			{Name: "1 kg", SKU: "HH-1000", Price: 1800, TrackStock: true, Stock: 3},
			{Name: "Comb", SKU: "HH-COMB", Price: 1200, TrackStock: true, Stock: 0},
		}})
	e.mustProduct(products.ProductInput{Market: "hill-farm", Category: "honey", Slug: "wildflower-honey", Name: "Wildflower honey",
		Publish: true, Variants: []products.VariantInput{{SKU: "WH-1", Price: 600, TrackStock: true, Stock: 0}}})
	e.mustProduct(products.ProductInput{Market: "hill-farm", Category: "pantry", Slug: "oat-biscuits", Name: "Oat biscuits",
		Description: "<p>Baked with a spoonful of honey.</p>", Publish: true,
		Variants: []products.VariantInput{{SKU: "OB-1", Price: 300, TrackStock: false}}})
	e.mustProduct(products.ProductInput{Market: "river-dairy", Category: "dairy", Slug: "smoked-cheddar", Name: "Oak-smoked cheddar",
		Publish: true, Variants: []products.VariantInput{{SKU: "SC-1", Price: 450, TrackStock: true, Stock: 0, AllowBackorder: true}}})
	e.mustProduct(products.ProductInput{Market: "river-dairy", Category: "dairy", Slug: "blue-cheese", Name: "Blue cheese",
		Publish: true, Variants: []products.VariantInput{{SKU: "BC-1", Price: 575, TrackStock: true, Stock: 2}}})
	e.mustProduct(products.ProductInput{Market: "river-dairy", Category: "dairy", Slug: "secret-jam", Name: "Secret jam",
		Variants: []products.VariantInput{{SKU: "SJ-1", Price: 100, TrackStock: false}}})
}

// The home page lists the markets with their product counts and links to
// the products, each card with its price ("from" for several prices) and
// a "Sold out" badge when it cannot be bought; drafts are not shown; the
// header has the product search.
func TestShopHome(t *testing.T) {
	e := startShop(t)
	seedShop(e)
	doc := e.page("/", http.StatusOK)
	markets := doc.Find(".market-card")
	if markets.Length() != 2 {
		t.Fatalf("%d market cards, want 2", markets.Length())
	}
	hill := markets.First()
	if hill.Find(`a[href="/markets/hill-farm"]`).Text() != "Hill Farm" || !strings.Contains(hill.Text(), "Honey and baking") ||
		!strings.Contains(hill.Text(), "3 products") || hill.Find(`img[src="/media/hill-farm.jpg"]`).Length() != 1 {
		t.Errorf("Hill Farm's card: %q", hill.Text())
	}
	links := productLinks(doc)
	if len(links) != 5 {
		t.Errorf("home links products %v, want the 5 published ones", links)
	}
	for _, slug := range links {
		if slug == "secret-jam" {
			t.Error("the home page links a draft")
		}
	}
	card := func(slug string) string {
		return doc.Find(`.product-card:has(a[href="/products/` + slug + `"])`).First().Text()
	}
	if c := card("heather-honey"); !strings.Contains(c, "from £7.25") || !strings.Contains(c, "Hill Farm") {
		t.Errorf("heather honey's card: %q", c)
	}
	if c := card("wildflower-honey"); !strings.Contains(c, "Sold out") || !strings.Contains(c, "£6.00") || strings.Contains(c, "from") {
		t.Errorf("wildflower honey's card: %q", c)
	}
	if c := card("smoked-cheddar"); !strings.Contains(c, "Available to order") {
		t.Errorf("the cheddar's card: %q", c)
	}
	if doc.Find(`section:contains("Featured") a[href="/products/heather-honey"]`).Length() == 0 {
		t.Error("the featured heather honey is not among the featured products")
	}
	if doc.Find(`header ~ .market-bar form[action="/search"][method="get"] input[name="q"]`).Length() != 1 {
		t.Error("the header has no product search")
	}
}

// Browsing filters by stock, price, market and category (subcategories
// included), sorts, and keeps the filters in the form.
func TestShopBrowse(t *testing.T) {
	e := startShop(t)
	seedShop(e)
	for _, tc := range []struct {
		path string
		want []string // in order
	}{
		{"/products", []string{"blue-cheese", "smoked-cheddar", "oat-biscuits", "wildflower-honey", "heather-honey"}},
		{"/products?in_stock=1", []string{"blue-cheese", "oat-biscuits", "heather-honey"}},
		{"/products?min=4&max=6", []string{"blue-cheese", "smoked-cheddar", "wildflower-honey"}},
		{"/products?min=4.50&max=5.75", []string{"blue-cheese", "smoked-cheddar"}},
		{"/products?min=4.51&max=5.74", nil},
		{"/products?max=%C2%A33", []string{"oat-biscuits"}},
		{"/products?market=river-dairy", []string{"blue-cheese", "smoked-cheddar"}},
		{"/products?category=pantry", []string{"oat-biscuits", "wildflower-honey", "heather-honey"}},
		{"/products?category=honey&sort=price-desc", []string{"heather-honey", "wildflower-honey"}},
		{"/products?sort=price-asc", []string{"oat-biscuits", "smoked-cheddar", "blue-cheese", "wildflower-honey", "heather-honey"}},
		{"/products?sort=price-desc&in_stock=1&market=hill-farm", []string{"heather-honey", "oat-biscuits"}},
		{"/products?sort=name", []string{"blue-cheese", "heather-honey", "smoked-cheddar", "oat-biscuits", "wildflower-honey"}},
		{"/categories/pantry", []string{"oat-biscuits", "wildflower-honey", "heather-honey"}},
		{"/categories/pantry?in_stock=1", []string{"oat-biscuits", "heather-honey"}},
		{"/categories/honey?sort=price-asc", []string{"wildflower-honey", "heather-honey"}},
		{"/markets/river-dairy?sort=price-asc", []string{"smoked-cheddar", "blue-cheese"}},
		{"/markets/hill-farm?category=honey", []string{"wildflower-honey", "heather-honey"}},
	} {
		doc := e.page(tc.path, http.StatusOK)
		var got []string
		doc.Find(".product-grid .product-card a").Each(func(_ int, a *goquery.Selection) {
			href, _ := a.Attr("href")
			got = append(got, strings.TrimPrefix(href, "/products/"))
		})
		if strings.Join(got, " ") != strings.Join(tc.want, " ") {
			t.Errorf("GET %s lists %v, want %v", tc.path, got, tc.want)
		}
		if len(tc.want) == 0 && !strings.Contains(doc.Find("main").Text(), "No products match these filters.") {
			t.Errorf("GET %s: no empty state", tc.path)
		}
	}

	// The form keeps what was chosen.
	doc := e.page("/products?market=hill-farm&category=honey&in_stock=1&min=2.5&max=30&sort=name", http.StatusOK)
	for sel, want := range map[string]string{
		`select[name="market"] option[selected]`:   "hill-farm",
		`select[name="category"] option[selected]`: "honey",
		`select[name="sort"] option[selected]`:     "name",
		`input[name="min"]`:                        "2.5",
		`input[name="max"]`:                        "30",
	} {
		if got, _ := doc.Find("form.filters " + sel).Attr("value"); got != want {
			t.Errorf("%s = %q, want %q", sel, got, want)
		}
	}
	if doc.Find(`form.filters input[name="in_stock"][checked]`).Length() != 1 {
		t.Error("in stock only is not kept ticked")
	}

	// A category's page: its breadcrumb and the category tree.
	doc = e.page("/categories/honey", http.StatusOK)
	crumbs := strings.Join(doc.Find("nav.breadcrumb li").Map(func(_ int, li *goquery.Selection) string { return li.Text() }), " ")
	if crumbs != "Markets Products Pantry Honey" || doc.Find(`nav.breadcrumb a[href="/categories/pantry"]`).Length() != 1 {
		t.Errorf("breadcrumb %q", crumbs)
	}
	if doc.Find(`nav.category-nav a[href="/categories/honey"][aria-current="page"]`).Length() != 1 {
		t.Error("the category tree does not mark the current category")
	}
	if h := doc.Find("h1").Text(); h != "Honey" {
		t.Errorf("h1 %q", h)
	}

	// A market's page: its description, location and image.
	doc = e.page("/markets/hill-farm", http.StatusOK)
	if !strings.Contains(doc.Find(".market-description").Text(), "Family run since 1952.") ||
		!strings.Contains(doc.Find(".market-location").Text(), "Hill Road, Ashby") || doc.Find(`img[src="/media/hill-farm.jpg"]`).Length() == 0 {
		t.Errorf("the market's page lacks its description, location or image")
	}

	// Filters that cannot be read are a 400 that says why and keeps them.
	for _, tc := range []struct{ path, msg, keep string }{
		{"/products?min=abc", "The lowest price must be an amount such as 5 or 5.50, not “abc”.", `value="abc"`},
		{"/products?max=5.555", "The highest price must be an amount such as 5 or 5.50", `value="5.555"`},
		{"/products?min=-2", "The lowest price must be an amount", `value="-2"`},
		{"/products?min=9&max=3", "The lowest price is above the highest.", `value="9"`},
		{"/products?sort=cheapest", "Products can be sorted by newest, price or name, not “cheapest”.", ""},
		{"/products?in_stock=yes", "“In stock only” is 1 or left out", ""},
		{"/products?market=moon-farm", "There is no market “moon-farm”.", ""},
		{"/products?category=jam", "There is no category “jam”.", ""},
		{"/products?page=0", "There is no page “0”", ""},
		{"/categories/honey?page=x", "There is no page “x”", ""},
	} {
		code, body := e.get(tc.path)
		if code != http.StatusBadRequest || !strings.Contains(body, tc.msg) || !strings.Contains(body, tc.keep) {
			t.Errorf("GET %s = %d, want 400 saying %q and keeping %s", tc.path, code, tc.msg, tc.keep)
		}
	}
	for _, path := range []string{"/categories/jam", "/markets/moon-farm", "/products?page=9"} {
		if code, _ := e.get(path); code != http.StatusNotFound {
			t.Errorf("GET %s = %d, want 404", path, code)
		}
	}
}

// Pages of a listing do not overlap and together hold every product; the
// pagination links keep the filters.
func TestShopPagination(t *testing.T) {
	e := startShop(t)
	e.mustMarket("orchard", "The Orchard", "")
	for i := range 30 {
		// Equal prices for the price sort: the order must still be stable.
		e.mustProduct(products.ProductInput{Market: "orchard", Slug: fmt.Sprintf("apple-%02d", i), Name: fmt.Sprintf("Apple %02d", i),
			Publish: true, Variants: []products.VariantInput{{Price: int64(100 + i%3*50), TrackStock: false}}})
	}
	for _, sort := range []string{"newest", "price-asc", "price-desc", "name"} {
		seen := map[string]int{}
		var all []string
		for n := 1; n <= 2; n++ {
			path := fmt.Sprintf("/products?in_stock=1&sort=%s&page=%d", sort, n)
			doc := e.page(path, http.StatusOK)
			links := productLinks(doc)
			if want := map[int]int{1: 24, 2: 6}[n]; len(links) != want {
				t.Fatalf("GET %s lists %d products, want %d", path, len(links), want)
			}
			for _, l := range links {
				seen[l]++
			}
			all = append(all, links...)
			nav := doc.Find(`nav.pagination[aria-label="Pagination"]`)
			if nav.Length() != 1 {
				t.Fatalf("GET %s has no pagination", path)
			}
			rel := map[int]string{1: "next", 2: "prev"}[n]
			href, _ := nav.Find(`a[rel="` + rel + `"]`).Attr("href")
			other := map[int]string{1: "&page=2", 2: ""}[n]
			if want := "/products?in_stock=1" + other + "&sort=" + sort; href != want {
				t.Errorf("GET %s: %s link %q, want %q", path, rel, href, want)
			}
		}
		if len(seen) != 30 {
			t.Errorf("sort %s: the two pages hold %d distinct products, want 30 (%v)", sort, len(seen), all)
		}
		// The same page twice is the same list.
		if a, b := productLinks(e.page("/products?sort="+sort, http.StatusOK)), productLinks(e.page("/products?sort="+sort, http.StatusOK)); strings.Join(a, " ") != strings.Join(b, " ") {
			t.Errorf("sort %s: page 1 changed between views", sort)
		}
	}
	if code, _ := e.get("/products?page=3"); code != http.StatusNotFound {
		t.Errorf("a page past the last = %d, want 404", code)
	}
}

// Search matches words as prefixes, ranks name matches above description
// ones, keeps the query in the box and says when nothing matches.
func TestShopSearch(t *testing.T) {
	e := startShop(t)
	seedShop(e)
	doc := e.page("/search?q=hon", http.StatusOK)
	links := productLinks(doc)
	if len(links) != 3 || links[2] != "oat-biscuits" {
		t.Errorf("search hon lists %v, want both honeys, then the biscuits (honey only in their description)", links)
	}
	if !containsAll(links, "heather-honey", "wildflower-honey") {
		t.Errorf("search hon lists %v", links)
	}
	if v, _ := doc.Find(`.market-bar input[name="q"]`).Attr("value"); v != "hon" {
		t.Errorf("the search box holds %q, want hon", v)
	}
	if got := productLinks(e.page("/search?q=Heather+hon", http.StatusOK)); strings.Join(got, " ") != "heather-honey" {
		t.Errorf("search 'Heather hon' lists %v", got)
	}
	if got := productLinks(e.page("/search?q=river", http.StatusOK)); !containsAll(got, "blue-cheese", "smoked-cheddar") || len(got) != 2 {
		t.Errorf("search by market name lists %v", got)
	}
	doc = e.page("/search?q=zebra", http.StatusOK)
	if !strings.Contains(doc.Find("main").Text(), "No products match “zebra”.") {
		t.Error("no message when nothing matches")
	}
	if got := productLinks(e.page("/search?q=jam", http.StatusOK)); len(got) != 0 {
		t.Errorf("search finds a draft: %v", got)
	}
	code, body := e.get("/search?q=" + strings.Repeat("a", 201))
	if code != http.StatusBadRequest || !strings.Contains(body, "Search for at most 200 characters.") {
		t.Errorf("a query too long = %d", code)
	}
	doc = e.page("/search", http.StatusOK)
	if doc.Find("h1").Text() != "Search the market" {
		t.Errorf("the empty search page: %q", doc.Find("h1").Text())
	}
}

func containsAll(list []string, want ...string) bool {
	for _, w := range want {
		found := false
		for _, l := range list {
			found = found || l == w
		}
		if !found {
			return false
		}
	}
	return true
}

// cartForms returns the page's forms that post to the cart.
func cartForms(doc *goquery.Document) *goquery.Selection {
	return doc.Find("form").FilterFunction(func(_ int, f *goquery.Selection) bool {
		action, _ := f.Attr("action")
		return strings.Contains(action, "cart")
	})
}

// A product page shows its gallery, variants with prices, SKUs and
// stock, the VAT, one add-to-cart form for the variants that can be
// bought, related products, and Product JSON-LD and OpenGraph tags.
func TestShopProductPage(t *testing.T) {
	e := startShop(t)
	seedShop(e)
	heather, err := e.store.Product(context.Background(), "heather-honey", false)
	if err != nil {
		t.Fatal(err)
	}
	doc := e.page("/products/heather-honey", http.StatusOK)
	if doc.Find("h1").Text() != "Heather honey" || doc.Find(`.product-meta a[href="/markets/hill-farm"]`).Text() != "Hill Farm" ||
		doc.Find(`.product-meta a[href="/categories/honey"]`).Text() != "Honey" {
		t.Errorf("name, market or category missing: %q", doc.Find(".product-details header").Text())
	}
	if doc.Find(`.product-gallery img[src="/media/heather.jpg"][alt="A jar of heather honey"]`).Length() != 1 ||
		doc.Find(`.product-gallery img[src="/media/heather-2.jpg"]`).Length() != 1 {
		t.Error("the gallery lacks an image")
	}
	if !strings.Contains(doc.Find(".product-description").Text(), "Thick, floral & raw.") {
		t.Errorf("description %q", doc.Find(".product-description").Text())
	}
	rows := map[string]string{}
	doc.Find("table.variants tbody tr").Each(func(_ int, tr *goquery.Selection) {
		rows[tr.Find("th").Text()] = strings.Join(tr.Find("td").Map(func(_ int, td *goquery.Selection) string { return td.Text() }), " ")
	})
	for name, want := range map[string]string{"340 g": "£7.25 HH-340 In stock", "1 kg": "£18.00 HH-1000 Only 3 left", "Comb": "£12.00 HH-COMB Sold out"} {
		if rows[name] != want {
			t.Errorf("variant %s: %q, want %q", name, rows[name], want)
		}
	}
	if !strings.Contains(doc.Find(".product-vat").Text(), "Price includes VAT at 20%") {
		t.Errorf("VAT: %q", doc.Find(".product-vat").Text())
	}

	// Exactly one form posts to the cart, offering only what can be bought.
	forms := cartForms(doc)
	if forms.Length() != 1 {
		t.Fatalf("%d forms post to the cart, want 1", forms.Length())
	}
	form := forms.First()
	if a, _ := form.Attr("action"); a != e.site.URL("cart", "/items") {
		t.Errorf("the form posts to %q", a)
	}
	if m, _ := form.Attr("method"); m != "post" {
		t.Errorf("the form's method is %q", m)
	}
	var options []string
	form.Find(`select[name="variant_id"] option`).Each(func(_ int, o *goquery.Selection) {
		v, _ := o.Attr("value")
		options = append(options, v)
	})
	if want := []string{heather.Variants[0].ID.String(), heather.Variants[1].ID.String()}; strings.Join(options, " ") != strings.Join(want, " ") {
		t.Errorf("the variant menu offers %v, want the two buyable variants %v", options, want)
	}
	q := form.Find(`input[name="quantity"]`)
	if typ, _ := q.Attr("type"); typ != "number" || attr(q, "value") != "1" || attr(q, "min") != "1" || attr(q, "max") != "99" {
		t.Errorf("quantity input: type %q value %q min %q max %q", typ, attr(q, "value"), attr(q, "min"), attr(q, "max"))
	}
	if next := attr(form.Find(`input[name="next"]`), "value"); next != e.URL+"/products/heather-honey" {
		t.Errorf("next = %q", next)
	}
	if !strings.Contains(form.Find(`button[type="submit"]`).Text(), "Add to cart") {
		t.Error("the submit button does not say Add to cart")
	}

	// JSON-LD: a Product with an Offer per variant, prices as decimal
	// strings from minor units.
	var ld struct {
		Type        string   `json:"@type"`
		Name        string   `json:"name"`
		Description string   `json:"description"`
		Image       []string `json:"image"`
		SKU         string   `json:"sku"`
		URL         string   `json:"url"`
		Brand       struct{ Name string }
		Offers      []struct {
			Price         string
			PriceCurrency string
			Availability  string
			SKU           string
			URL           string
		}
	}
	scripts := doc.Find(`script[type="application/ld+json"]`)
	if scripts.Length() != 1 {
		t.Fatalf("%d JSON-LD scripts", scripts.Length())
	}
	if err := json.Unmarshal([]byte(scripts.Text()), &ld); err != nil {
		t.Fatalf("JSON-LD does not parse: %v\n%s", err, scripts.Text())
	}
	if ld.Type != "Product" || ld.Name != "Heather honey" || ld.Description != "Thick, floral & raw." || ld.SKU != "HH-340" ||
		ld.Brand.Name != "Hill Farm" || ld.URL != e.URL+"/products/heather-honey" ||
		strings.Join(ld.Image, " ") != e.URL+"/media/heather.jpg "+e.URL+"/media/heather-2.jpg" {
		t.Errorf("JSON-LD: %+v", ld)
	}
	wantOffers := []struct{ price, availability string }{
		{"7.25", "https://schema.org/InStock"}, {"18.00", "https://schema.org/LimitedAvailability"}, {"12.00", "https://schema.org/OutOfStock"},
	}
	if len(ld.Offers) != 3 {
		t.Fatalf("%d offers, want 3", len(ld.Offers))
	}
	for i, w := range wantOffers {
		o := ld.Offers[i]
		if o.Price != w.price || o.PriceCurrency != "GBP" || o.Availability != w.availability || o.URL != ld.URL {
			t.Errorf("offer %d: %+v, want price %s availability %s", i, o, w.price, w.availability)
		}
	}
	// OpenGraph.
	og := map[string]string{}
	doc.Find(`meta[property]`).Each(func(_ int, m *goquery.Selection) {
		if _, ok := og[attr(m, "property")]; !ok {
			og[attr(m, "property")] = attr(m, "content")
		}
	})
	for k, want := range map[string]string{
		"og:type": "product", "og:title": "Heather honey", "og:url": e.URL + "/products/heather-honey",
		"og:image": e.URL + "/media/heather.jpg", "product:price:amount": "7.25", "product:price:currency": "GBP",
		"product:availability": "in stock",
	} {
		if og[k] != want {
			t.Errorf("%s = %q, want %q", k, og[k], want)
		}
	}
	// Related: the other honey, same category.
	if doc.Find(`.section .product-card a[href="/products/wildflower-honey"]`).Length() != 1 {
		t.Error("related products do not show the other honey")
	}
}

func attr(s *goquery.Selection, name string) string {
	v, _ := s.Attr(name)
	return v
}

// Stock states and VAT on other products: a sold-out product has no form
// and says so; one to order and one with a single variant post that
// variant; unknown and draft products are 404s.
func TestShopProductStates(t *testing.T) {
	e := startShop(t)
	seedShop(e)
	doc := e.page("/products/wildflower-honey", http.StatusOK)
	if cartForms(doc).Length() != 0 {
		t.Error("a sold-out product has a form to add it to the cart")
	}
	if !strings.Contains(doc.Find(".product-details").Text(), "Sold out") {
		t.Error("a sold-out product does not say so")
	}
	if !strings.Contains(doc.Find(".product-vat").Text(), "No VAT is charged") {
		t.Errorf("VAT for a zero rate: %q", doc.Find(".product-vat").Text())
	}
	var ld struct {
		Offers []struct{ Availability string }
	}
	if err := json.Unmarshal([]byte(doc.Find(`script[type="application/ld+json"]`).Text()), &ld); err != nil ||
		len(ld.Offers) != 1 || ld.Offers[0].Availability != "https://schema.org/OutOfStock" {
		t.Errorf("sold-out JSON-LD: %+v %v", ld, err)
	}

	cheddar, err := e.store.Product(context.Background(), "smoked-cheddar", false)
	if err != nil {
		t.Fatal(err)
	}
	doc = e.page("/products/smoked-cheddar", http.StatusOK)
	forms := cartForms(doc)
	if forms.Length() != 1 || attr(forms.Find(`input[type="hidden"][name="variant_id"]`), "value") != cheddar.Variants[0].ID.String() {
		t.Errorf("the cheddar's form does not post its one variant")
	}
	if !strings.Contains(doc.Find("table.variants").Text(), "Available to order") {
		t.Error("a backorderable variant does not say Available to order")
	}

	for _, path := range []string{"/products/secret-jam", "/products/no-such-thing"} {
		if code, _ := e.get(path); code != http.StatusNotFound {
			t.Errorf("GET %s = %d, want 404", path, code)
		}
	}
	if code, _ := e.get("/objects/products/" + cheddar.ID.String()); code != http.StatusNotFound {
		t.Errorf("a product's object without federation = %d, want 404", code)
	}
}

// Text from a product cannot break out of the JSON-LD script or the page.
func TestShopProductEscapes(t *testing.T) {
	e := startShop(t)
	e.mustMarket("hill-farm", "Hill <b>Farm</b>", "")
	e.mustProduct(products.ProductInput{Market: "hill-farm", Slug: "odd", Name: `Jam </script><script>alert(1)</script>`,
		Summary: `"quoted" <i>`, Publish: true, Variants: []products.VariantInput{{Price: 100, TrackStock: false}}})
	code, body := e.get("/products/odd")
	if code != http.StatusOK {
		t.Fatalf("GET = %d", code)
	}
	if strings.Contains(body, "<script>alert(1)") || strings.Contains(body, "<b>Farm</b>") {
		t.Error("a product's text is not escaped")
	}
	doc := e.page("/products/odd", http.StatusOK)
	var ld struct{ Name string }
	if err := json.Unmarshal([]byte(doc.Find(`script[type="application/ld+json"]`).Text()), &ld); err != nil || ld.Name != `Jam </script><script>alert(1)</script>` {
		t.Errorf("JSON-LD name %q, %v", ld.Name, err)
	}
}

// A product's ActivityPub object is served by the market's actor when it
// federates: at /objects/products/<id>, and at the product page for a
// client asking for ActivityStreams; a bad id is a 404.
func TestShopProductObject(t *testing.T) {
	e := startShop(t)
	seedShop(e)
	heather, err := e.store.Product(context.Background(), "heather-honey", false)
	if err != nil {
		t.Fatal(err)
	}
	d := e.deps
	d.Objects = func(w http.ResponseWriter, _ *http.Request, id uuid.UUID) {
		w.Header().Set("Content-Type", "application/activity+json")
		_, _ = io.WriteString(w, `{"id":"`+id.String()+`"}`)
	}
	s := newShop(d)
	r := chi.NewRouter()
	r.Get("/objects/products/{id}", s.productObject)
	r.Get("/products/{slug}", s.product)
	for _, tc := range []struct {
		path, accept string
		status       int
		body         string
	}{
		{"/objects/products/" + heather.ID.String(), "", http.StatusOK, heather.ID.String()},
		{"/objects/products/not-a-uuid", "", http.StatusNotFound, ""},
		{"/products/heather-honey", "application/activity+json", http.StatusOK, `{"id":"` + heather.ID.String() + `"}`},
		{"/products/heather-honey", "text/html", http.StatusOK, "Add to cart"},
	} {
		req := httptest.NewRequest(http.MethodGet, tc.path, nil)
		if tc.accept != "" {
			req.Header.Set("Accept", tc.accept)
		}
		w := httptest.NewRecorder()
		r.ServeHTTP(w, req)
		if w.Code != tc.status || !strings.Contains(w.Body.String(), tc.body) {
			t.Errorf("GET %s (%s) = %d, want %d with %q", tc.path, tc.accept, w.Code, tc.status, tc.body)
		}
	}
}
