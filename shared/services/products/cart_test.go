package products_test

import (
	"testing"

	"github.com/google/uuid"

	"rose-ash.com/platform/shared/models"
	"rose-ash.com/platform/shared/services/products"
)

// The basket reads its lines' variants in one call: published ones with
// their price, stock, VAT rate and first picture, sold out ones included;
// a draft's and unknown ids are absent.
func TestVariantsForCart(t *testing.T) {
	c := newCatalogue(t)
	honey := c.add(t, products.ProductInput{Market: "hillside-bees", Name: "Heather honey", VATRateBP: 2000,
		Variants: []products.VariantInput{{Name: "227 g", Price: 550, TrackStock: true, Stock: 3},
			{Name: "340 g", Price: 725, TrackStock: true, Stock: 0}},
		Images: []models.ProductImage{{URL: "/media/front.jpg", Alt: "Front"}, {URL: "/media/back.jpg", Alt: "Back"}}})
	loaf := c.add(t, products.ProductInput{Market: "creme-bakery", Name: "Rye loaf", Currency: "EUR",
		Variants: []products.VariantInput{{Price: 380}}})
	draft, err := c.st.CreateProduct(c.ctx, products.ProductInput{Market: "creme-bakery", Name: "Secret cake",
		Currency: "GBP", Variants: []products.VariantInput{{Price: 900}}})
	if err != nil {
		t.Fatal(err)
	}
	small, large, rye := honey.Variants[0].ID, honey.Variants[1].ID, loaf.Variants[0].ID
	got, err := c.st.VariantsForCart(c.ctx, []uuid.UUID{small, large, rye, draft.Variants[0].ID, uuid.New()})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Fatalf("got %d variants, want the 3 published ones: %+v", len(got), got)
	}
	s := got[small]
	if s.Title != "Heather honey (227 g)" || s.Price != (models.Money{Minor: 550, Currency: "GBP"}) || s.VATRateBP != 2000 ||
		s.Variant.Stock != 3 || !s.Variant.TrackStock || s.Image != (models.ProductImage{URL: "/media/front.jpg", Alt: "Front"}) ||
		s.ProductSlug != "heather-honey" {
		t.Errorf("small jar = %+v", s)
	}
	if l := got[large]; l.Title != "Heather honey (340 g)" || l.Variant.Buyable() {
		t.Errorf("sold-out jar = %+v, want it there and not buyable", l)
	}
	if r := got[rye]; r.Title != "Rye loaf" || r.Price.Currency != "EUR" || r.Image.URL != "" || r.VATRateBP != 0 {
		t.Errorf("loaf = %+v", r)
	}
	if none, err := c.st.VariantsForCart(c.ctx, nil); err != nil || len(none) != 0 {
		t.Errorf("no ids = %v, %v", none, err)
	}
}
