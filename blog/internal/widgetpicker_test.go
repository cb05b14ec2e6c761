package internal

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/go-chi/chi/v5"

	"rose-ash.com/platform/shared/models"
	"rose-ash.com/platform/shared/postgres/pgtest"
	"rose-ash.com/platform/shared/services/products"
	"rose-ash.com/platform/shared/web"
)

// The editor's widget picker lists, for an administrator only, the
// published products whose names match what was typed (with their market)
// and the matching markets; never drafts.
func TestWidgetPickerFindsProductsAndMarketsForAdmins(t *testing.T) {
	ctx := context.Background()
	store := products.New(pgtest.MustPool(t))
	for _, m := range []products.MarketInput{{Name: "Hillside Bees"}, {Name: "Stone Bakery"}} {
		if _, err := store.CreateMarket(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	for _, in := range []products.ProductInput{
		{Market: "hillside-bees", Name: "Heather honey", Publish: true},
		{Market: "hillside-bees", Name: "Honeycomb frame", Publish: false},
		{Market: "stone-bakery", Name: "Sourdough loaf", Publish: true},
	} {
		in.Currency = "GBP"
		in.Variants = []products.VariantInput{{Price: 500, TrackStock: false}}
		if _, err := store.CreateProduct(ctx, in); err != nil {
			t.Fatal(err)
		}
	}

	site := mediaTestSite(t)
	r := chi.NewRouter()
	r.Use(func(next http.Handler) http.Handler { // the session, as the sign-in middleware sets it
		return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			switch req.Header.Get("X-Test-User") {
			case "admin":
				req = req.WithContext(web.WithViewer(req.Context(), models.User{Username: "admin", IsAdmin: true}))
			case "member":
				req = req.WithContext(web.WithViewer(req.Context(), models.User{Username: "ann"}))
			}
			next.ServeHTTP(w, req)
		})
	})
	r.With(site.RequireAdmin).Get("/admin/widgets/products", widgetPicker{site: site, products: store}.search)

	get := func(user, q string) (*httptest.ResponseRecorder, pickerAnswer) {
		req := httptest.NewRequest(http.MethodGet, "/admin/widgets/products?q="+q, nil)
		req.Header.Set("Accept", "application/json")
		if user != "" {
			req.Header.Set("X-Test-User", user)
		}
		rec := httptest.NewRecorder()
		r.ServeHTTP(rec, req)
		var a pickerAnswer
		if rec.Code == http.StatusOK {
			if err := json.Unmarshal(rec.Body.Bytes(), &a); err != nil {
				t.Fatalf("%s: %v", rec.Body.String(), err)
			}
		}
		return rec, a
	}

	if rec, _ := get("", "hon"); rec.Code == http.StatusOK {
		t.Errorf("a visitor got the catalogue: %d", rec.Code)
	}
	if rec, _ := get("member", "hon"); rec.Code != http.StatusForbidden {
		t.Errorf("a member who is no administrator: %d, want 403", rec.Code)
	}

	rec, a := get("admin", "hon")
	if rec.Code != http.StatusOK || rec.Header().Get("Cache-Control") != "no-store" {
		t.Fatalf("an administrator: %d %q", rec.Code, rec.Header().Get("Cache-Control"))
	}
	if len(a.Products) != 1 || a.Products[0] != (pickedProduct{Slug: "heather-honey", Name: "Heather honey", Market: "Hillside Bees"}) {
		t.Errorf("products for \"hon\": %+v, want the published heather honey alone", a.Products)
	}
	if len(a.Markets) != 0 {
		t.Errorf("markets for \"hon\": %+v", a.Markets)
	}

	_, a = get("admin", "bake")
	if len(a.Markets) != 1 || a.Markets[0] != (pickedMarket{Slug: "stone-bakery", Name: "Stone Bakery"}) {
		t.Errorf("markets for \"bake\": %+v", a.Markets)
	}

	_, a = get("admin", "")
	if len(a.Products) != 2 || len(a.Markets) != 2 {
		t.Errorf("with nothing typed: %+v, want the two published products and both markets", a)
	}
	_, a = get("admin", "zzz")
	if a.Products == nil || a.Markets == nil || len(a.Products)+len(a.Markets) != 0 {
		t.Errorf("nothing matches: %+v, want two empty lists", a)
	}
}

type pickerAnswer struct {
	Products []pickedProduct `json:"products"`
	Markets  []pickedMarket  `json:"markets"`
}
