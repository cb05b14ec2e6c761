package internal

import (
	"net/http"
	"strings"
	"testing"

	"rose-ash.com/platform/shared/fragments"
)

// The product-card and market fragments answer only other services (the
// shared secret), render with absolute links for a blog post, and are
// 404s for a product or market that is not there, so the post shows
// nothing in their place.
func TestShopFragments(t *testing.T) {
	e := startShop(t)
	seedShop(e)
	secret := fragments.Secret(e.site.Config.SecretKey)
	if code, _ := e.get("/internal/fragments/product-card?ref=heather-honey"); code != http.StatusForbidden {
		t.Errorf("product-card without the secret = %d, want 403", code)
	}
	if code, _ := e.get("/internal/fragments/market?ref=hill-farm", fragments.SecretHeader, "guess"); code != http.StatusForbidden {
		t.Errorf("market with a wrong secret = %d, want 403", code)
	}
	code, body := e.get("/internal/fragments/product-card?ref=heather-honey", fragments.SecretHeader, secret)
	if code != http.StatusOK {
		t.Fatalf("product-card = %d:\n%s", code, body)
	}
	for _, want := range []string{`href="` + e.URL + `/products/heather-honey"`, `src="` + e.URL + `/media/heather.jpg"`,
		"Heather honey", "Hill Farm", "from £7.25", "In stock"} {
		if !strings.Contains(body, want) {
			t.Errorf("the product card lacks %s:\n%s", want, body)
		}
	}
	_, body = e.get("/internal/fragments/product-card?ref=wildflower-honey", fragments.SecretHeader, secret)
	if !strings.Contains(body, "Sold out") || !strings.Contains(body, "£6.00") {
		t.Errorf("a sold-out product's card:\n%s", body)
	}
	_, body = e.get("/internal/fragments/product-card?ref=blue-cheese", fragments.SecretHeader, secret)
	if !strings.Contains(body, "Only 2 left") {
		t.Errorf("a low-stock product's card:\n%s", body)
	}
	code, body = e.get("/internal/fragments/market?ref=river-dairy", fragments.SecretHeader, secret)
	if code != http.StatusOK || !strings.Contains(body, `href="`+e.URL+`/markets/river-dairy"`) || !strings.Contains(body, "River Dairy") ||
		!strings.Contains(body, e.URL+"/products/blue-cheese") || !strings.Contains(body, e.URL+"/products/smoked-cheddar") ||
		strings.Contains(body, "secret-jam") {
		t.Errorf("market fragment = %d:\n%s", code, body)
	}
	for _, path := range []string{"/internal/fragments/product-card?ref=no-such", "/internal/fragments/product-card?ref=secret-jam",
		"/internal/fragments/market?ref=moon-farm"} {
		if code, _ := e.get(path, fragments.SecretHeader, secret); code != http.StatusNotFound {
			t.Errorf("GET %s = %d, want 404", path, code)
		}
	}
}

// A market widget shows at most its latest four products.
func TestShopMarketFragmentLatestFour(t *testing.T) {
	e := startShop(t)
	seedShop(e)
	_, body := e.get("/internal/fragments/market?ref=hill-farm", fragments.SecretHeader, fragments.Secret(e.site.Config.SecretKey))
	if n := strings.Count(body, `class="card product-card"`); n != 3 {
		t.Errorf("Hill Farm's widget shows %d cards, want its 3 products", n)
	}
	if !strings.Contains(body, "All 3 products from Hill Farm") {
		t.Errorf("no link to the market's page:\n%s", body)
	}
}
