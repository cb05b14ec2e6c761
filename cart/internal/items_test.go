package internal

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"rose-ash.com/platform/shared/cache"
	"rose-ash.com/platform/shared/config"
	"rose-ash.com/platform/shared/models"
	"rose-ash.com/platform/shared/postgres/pgtest"
	"rose-ash.com/platform/shared/services/calendars"
	"rose-ash.com/platform/shared/services/carts"
	"rose-ash.com/platform/shared/services/products"
	"rose-ash.com/platform/shared/servicetest"
	"rose-ash.com/platform/shared/sessions"
	"rose-ash.com/platform/shared/web"
)

func testSite(t *testing.T) *web.Site {
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
	return &web.Site{Service: "cart", Config: cfg, Logger: slog.New(slog.DiscardHandler), Assets: assets, Metrics: web.NewMetrics()}
}

// shop is a catalogue with honey in two sizes (the larger has 2 left), a
// sold-out candle and jam that can be ordered at zero stock, and a
// shopper with an empty cart.
type shop struct {
	site     *web.Site
	db       *pgxpool.Pool
	carts    *carts.Store
	basket   basketDeps
	handler  http.Handler
	shopper  models.User
	small    uuid.UUID // Heather honey 227 g, £5.50, 10 left
	large    uuid.UUID // Heather honey 340 g, £7.25, 2 left
	candle   uuid.UUID // sold out
	jam      uuid.UUID // none in stock, backorders allowed
	unlisted uuid.UUID // a draft's variant
}

func newShop(t *testing.T) *shop {
	t.Helper()
	ctx := context.Background()
	db := pgtest.MustPool(t)
	cat := products.New(db)
	if _, err := cat.CreateMarket(ctx, products.MarketInput{Slug: "hive", Name: "The Hive"}); err != nil {
		t.Fatal(err)
	}
	create := func(in products.ProductInput) models.Product {
		t.Helper()
		in.Market, in.Currency = "hive", "GBP"
		p, err := cat.CreateProduct(ctx, in)
		if err != nil {
			t.Fatalf("create %s: %v", in.Name, err)
		}
		return p
	}
	honey := create(products.ProductInput{Name: "Heather honey", Publish: true, VATRateBP: 2000, Variants: []products.VariantInput{
		{Name: "227 g", Price: 550, TrackStock: true, Stock: 10},
		{Name: "340 g", Price: 725, TrackStock: true, Stock: 2},
	}, Images: []models.ProductImage{{URL: "/media/heather.jpg", Alt: "A jar of heather honey"}}})
	candle := create(products.ProductInput{Name: "Beeswax candle", Publish: true, Variants: []products.VariantInput{
		{Price: 900, TrackStock: true, Stock: 0},
	}})
	jam := create(products.ProductInput{Name: "Damson jam", Publish: true, Variants: []products.VariantInput{
		{Price: 475, TrackStock: true, Stock: 0, AllowBackorder: true},
	}})
	draft := create(products.ProductInput{Name: "Comb honey", Variants: []products.VariantInput{{Price: 1200}}})

	var user models.User
	if err := db.QueryRow(ctx, `INSERT INTO users (email, username, display_name) VALUES ('ann@example.org', 'ann', 'Ann') RETURNING id`).
		Scan(&user.ID); err != nil {
		t.Fatal(err)
	}
	site := testSite(t)
	st := carts.New(db)
	// The sessions the cart runs with (Redis, strings only), not scs's
	// defaults, so that what the basket keeps there is stored as it is in
	// production.
	sm := sessions.New(servicetest.MustRedis(t), cache.Namespace("test-"+uuid.NewString()), "cart", false, time.Hour,
		site.Logger, func(w http.ResponseWriter, _ *http.Request, err error) {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
		})
	b := newBasketDeps(Deps{Site: site, Carts: st, Catalogue: cat, Tickets: calendars.New(db), Sessions: sm})
	return &shop{site: site, db: db, carts: st, basket: b, handler: addItem(b), shopper: user,
		small: honey.Variants[0].ID, large: honey.Variants[1].ID, candle: candle.Variants[0].ID,
		jam: jam.Variants[0].ID, unlisted: draft.Variants[0].ID}
}

// add posts the add-to-cart form as the shopper, from origin when set.
func (s *shop) add(t *testing.T, form url.Values, origin string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, "http://cart.localhost:8003/items", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	req = req.WithContext(web.WithViewer(req.Context(), s.shopper))
	rec := httptest.NewRecorder()
	s.handler.ServeHTTP(rec, req)
	return rec
}

func (s *shop) lines(t *testing.T) []models.CartLine {
	t.Helper()
	lines, err := s.carts.CartLines(context.Background(), s.shopper.ID)
	if err != nil {
		t.Fatal(err)
	}
	return lines
}

func variantForm(id uuid.UUID, qty string) url.Values {
	return url.Values{"variant_id": {id.String()}, "quantity": {qty}, "next": {"/products/heather-honey"}}
}

// The cart takes the price, currency and title from the catalogue: a form
// that says the honey costs a penny in dollars and is called "Free" puts
// it in the basket at its real price, under its real name.
func TestAddingAVariantUsesItsPriceFromTheCatalogue(t *testing.T) {
	s := newShop(t)
	form := variantForm(s.large, "2")
	form.Set("unit_price_minor", "1")
	form.Set("currency", "USD")
	form.Set("title", "Free")
	form.Set("product_ref", "something-else")
	rec := s.add(t, form, "")
	if rec.Code != http.StatusSeeOther {
		t.Fatalf("add = %d, want 303\n%s", rec.Code, rec.Body)
	}
	want := []models.CartLine{{ProductRef: s.large.String(), Title: "Heather honey (340 g)",
		UnitPrice: models.Money{Minor: 725, Currency: "GBP"}, Quantity: 2}}
	if got := s.lines(t); len(got) != 1 || got[0] != want[0] {
		t.Fatalf("cart = %+v, want %+v", got, want)
	}
	// The same variant again adds to its line; a blank quantity is one.
	if rec := s.add(t, url.Values{"variant_id": {s.small.String()}}, ""); rec.Code != http.StatusSeeOther {
		t.Fatalf("add with no quantity = %d\n%s", rec.Code, rec.Body)
	}
	if rec := s.add(t, variantForm(s.small, "3"), ""); rec.Code != http.StatusSeeOther {
		t.Fatalf("add again = %d\n%s", rec.Code, rec.Body)
	}
	got := s.lines(t)
	if len(got) != 2 || got[1].Title != "Heather honey (227 g)" || got[1].Quantity != 4 || got[1].UnitPrice.Minor != 550 {
		t.Fatalf("cart after adding the small jar twice = %+v", got)
	}
}

// A sold-out variant is refused with a page saying so and a way back;
// nothing is added.
func TestASoldOutVariantIsRefused(t *testing.T) {
	s := newShop(t)
	rec := s.add(t, variantForm(s.candle, "1"), "")
	if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "Beeswax candle is sold out.") ||
		!strings.Contains(rec.Body.String(), `href="/products/heather-honey"`) {
		t.Fatalf("sold-out add = %d\n%s", rec.Code, rec.Body)
	}
	if got := s.lines(t); len(got) != 0 {
		t.Fatalf("a sold-out variant reached the cart: %+v", got)
	}
	// At zero stock with backorders allowed, it can be ordered.
	if rec := s.add(t, variantForm(s.jam, "5"), ""); rec.Code != http.StatusSeeOther {
		t.Fatalf("backorderable add = %d\n%s", rec.Code, rec.Body)
	}
	if got := s.lines(t); len(got) != 1 || got[0].Title != "Damson jam" || got[0].Quantity != 5 {
		t.Fatalf("cart = %+v, want 5 damson jam", got)
	}
}

// A variant that does not exist, is not a variant id at all or belongs to
// an unpublished product is not for sale: 404 with a message.
func TestAnUnknownVariantIsRefused(t *testing.T) {
	s := newShop(t)
	for _, id := range []string{uuid.NewString(), "heather-honey", "", s.unlisted.String()} {
		rec := s.add(t, url.Values{"variant_id": {id}, "quantity": {"1"}}, "")
		if rec.Code != http.StatusNotFound || !strings.Contains(rec.Body.String(), "for sale") {
			t.Errorf("add of variant %q = %d\n%s", id, rec.Code, rec.Body)
		}
	}
	if got := s.lines(t); len(got) != 0 {
		t.Fatalf("an unknown variant reached the cart: %+v", got)
	}
}

// More than are left is refused, saying how many are left and how many
// the basket already holds.
func TestMoreThanTheStockIsRefused(t *testing.T) {
	s := newShop(t)
	for _, c := range []struct {
		qty, want string
		status    int
	}{
		{"3", "Only 2 left of Heather honey (340 g).", http.StatusBadRequest},
		{"1", "", http.StatusSeeOther},
		{"2", "Only 2 left of Heather honey (340 g): your basket has 1, so you can add 1 more.", http.StatusBadRequest},
		{"1", "", http.StatusSeeOther},
		{"1", "Only 2 left of Heather honey (340 g), and your basket has 2 already.", http.StatusBadRequest},
	} {
		rec := s.add(t, variantForm(s.large, c.qty), "")
		if rec.Code != c.status || !strings.Contains(rec.Body.String(), c.want) {
			t.Fatalf("adding %s: %d, want %d with %q\n%s", c.qty, rec.Code, c.status, c.want, rec.Body)
		}
	}
	if got := s.lines(t); len(got) != 1 || got[0].Quantity != 2 {
		t.Fatalf("cart = %+v, want the 2 that were left", got)
	}
}

// A quantity must be a whole number from 1 to 99.
func TestABadQuantityIsRefused(t *testing.T) {
	s := newShop(t)
	for _, q := range []string{"0", "-1", "100", "two", "1.5"} {
		rec := s.add(t, variantForm(s.small, q), "")
		if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "The quantity must be a whole number from 1 to 99.") {
			t.Errorf("quantity %q: %d\n%s", q, rec.Code, rec.Body)
		}
	}
	if got := s.lines(t); len(got) != 0 {
		t.Fatalf("a bad quantity reached the cart: %+v", got)
	}
}

// After adding, the shopper is back on the page the form was on: a path
// from the market's product page is the market's, an address on another
// service is kept, and anywhere else is the basket.
func TestAddingReturnsToTheProductPage(t *testing.T) {
	s := newShop(t)
	market := s.site.URL("market", "")
	for _, c := range []struct{ next, origin, want string }{
		{"/products/heather-honey", market, market + "/products/heather-honey"},
		{market + "/products/heather-honey?v=2", "", market + "/products/heather-honey?v=2"},
		{"/", "", "/"},
		{"/products/heather-honey", "http://evil.example", "/products/heather-honey"},
		{"https://evil.example/phish", market, "/"},
		{"//evil.example/", market, "/"},
	} {
		form := variantForm(s.small, "1")
		form.Set("next", c.next)
		rec := s.add(t, form, c.origin)
		if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != c.want {
			t.Errorf("next %q from %q: %d to %q, want %q", c.next, c.origin, rec.Code, rec.Header().Get("Location"), c.want)
		}
	}
	// A refusal links back to the same place.
	form := variantForm(s.candle, "1")
	rec := s.add(t, form, market)
	if !strings.Contains(rec.Body.String(), `href="`+market+`/products/heather-honey"`) {
		t.Errorf("the sold-out page does not link back to the product:\n%s", rec.Body)
	}
}
