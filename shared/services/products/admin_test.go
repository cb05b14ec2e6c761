package products_test

import (
	"slices"
	"testing"

	"rose-ash.com/platform/shared/models"
	"rose-ash.com/platform/shared/services/products"
)

// The admin's list has drafts too, filters by market, category (with its
// subcategories), status and text (name, slug or SKU, accents and case
// ignored, wildcards literal), and carries every variant.
func TestAdminProductsFiltersDraftsToo(t *testing.T) {
	c := newCatalogue(t)
	c.add(t, products.ProductInput{Market: "hillside-bees", Category: "honey", Name: "Crème de miel",
		Variants: []products.VariantInput{{Name: "Small", SKU: "HB-100", Price: 450}, {Name: "Large", SKU: "HB-200", Price: 900, TrackStock: true}}})
	c.add(t, products.ProductInput{Market: "creme-bakery", Category: "bread", Name: "Sourdough 100% rye", Variants: one(400, 3)})
	draft, err := c.st.CreateProduct(c.ctx, products.ProductInput{Market: "hillside-bees", Name: "Wax_block", Currency: "GBP",
		Variants: one(300, 0)})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		q    products.AdminQuery
		want []string
	}{
		{products.AdminQuery{}, []string{"Wax_block", "Sourdough 100% rye", "Crème de miel"}},
		{products.AdminQuery{Status: models.ProductDraft}, []string{"Wax_block"}},
		{products.AdminQuery{Status: models.ProductPublished, Market: "hillside-bees"}, []string{"Crème de miel"}},
		{products.AdminQuery{Category: "pantry"}, []string{"Crème de miel"}},
		{products.AdminQuery{Text: "CREME"}, []string{"Crème de miel"}},
		{products.AdminQuery{Text: "hb-2"}, []string{"Crème de miel"}},
		{products.AdminQuery{Text: "100%"}, []string{"Sourdough 100% rye"}},
		{products.AdminQuery{Text: "x_b"}, []string{"Wax_block"}},
		{products.AdminQuery{Text: "_"}, []string{"Wax_block"}},
		{products.AdminQuery{Text: "sourdough-100"}, []string{"Sourdough 100% rye"}},
	} {
		page, err := c.st.AdminProducts(c.ctx, tc.q)
		if err != nil {
			t.Fatalf("%+v: %v", tc.q, err)
		}
		if got := names(page.Products); !slices.Equal(got, tc.want) || page.Total != len(tc.want) {
			t.Errorf("%+v: %v (total %d), want %v", tc.q, got, page.Total, tc.want)
		}
	}
	page, _ := c.st.AdminProducts(c.ctx, products.AdminQuery{Text: "miel"})
	if len(page.Products) != 1 || len(page.Products[0].Variants) != 2 || page.Products[0].Variants[1].SKU != "HB-200" {
		t.Errorf("variants of the listed product: %+v", page.Products)
	}
	if page, _ := c.st.AdminProducts(c.ctx, products.AdminQuery{Text: "wax"}); len(page.Products) != 1 ||
		page.Products[0].ID != draft.ID || len(page.Products[0].Variants) != 1 {
		t.Errorf("the draft: %+v", page.Products)
	}
	if _, err := c.st.AdminProducts(c.ctx, products.AdminQuery{Status: "archived"}); models.Code(err) != models.EInvalid {
		t.Errorf("unknown status: %v", err)
	}
}
