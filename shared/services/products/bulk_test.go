package products_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"rose-ash.com/platform/shared/models"
	"rose-ash.com/platform/shared/services/products"
)

// A catalogue loaded in bulk is what shoppers then find: published, priced
// from its variants, searchable and announced; a bad product in the batch
// is named and nothing is added.
func TestCreateProductsLoadsACatalogueAtOnce(t *testing.T) {
	c := newCatalogue(t)
	var announced int
	c.st.OnChange(func(_ context.Context, _ pgx.Tx, _ uuid.UUID) error { announced++; return nil })
	var ins []products.ProductInput
	for i := range 50 {
		ins = append(ins, products.ProductInput{Market: "hillside-bees", Category: "honey", Slug: fmt.Sprintf("jar-%02d", i),
			Name: fmt.Sprintf("Clover honey jar %d", i), Currency: "GBP", Publish: i%10 != 0,
			Variants: []products.VariantInput{{Name: "Small", Price: 400 + int64(i), TrackStock: true, Stock: 3},
				{Name: "Large", Price: 900, TrackStock: true}},
			Images: []models.ProductImage{{URL: "/media/jar.jpg"}}})
	}
	n, err := c.st.CreateProducts(c.ctx, ins)
	if err != nil || n != 50 {
		t.Fatalf("CreateProducts = %d, %v", n, err)
	}
	if announced != 50 {
		t.Errorf("%d products announced, want 50", announced)
	}
	p, err := c.st.Product(c.ctx, "jar-07", false)
	if err != nil {
		t.Fatal(err)
	}
	if p.MinPrice != 407 || !p.InStock || len(p.Variants) != 2 || p.Image() != "/media/jar.jpg" || p.MarketName != "Hillside Bees" || p.CategorySlug != "honey" {
		t.Errorf("a product loaded in bulk: %+v", p)
	}
	if _, err := c.st.Product(c.ctx, "jar-10", false); models.Code(err) != models.ENotFound {
		t.Errorf("a draft loaded in bulk is shown to shoppers: %v", err)
	}
	found, err := c.st.Search(c.ctx, "clover", 1, 10)
	if err != nil || found.Total != 45 {
		t.Errorf("search finds %d of the 45 published, %v", found.Total, err)
	}

	bad := []products.ProductInput{
		{Market: "hillside-bees", Slug: "fine", Name: "Fine", Currency: "GBP", Variants: one(100, 1)},
		{Market: "hillside-bees", Slug: "no-price", Name: "No price", Currency: "GBP"},
	}
	if _, err := c.st.CreateProducts(c.ctx, bad); models.Code(err) != models.EInvalid || !strings.Contains(models.Message(err), "No price") {
		t.Errorf("a product without variants: %v", err)
	}
	taken := []products.ProductInput{{Market: "hillside-bees", Slug: "jar-01", Name: "Again", Currency: "GBP", Variants: one(100, 1)}}
	if _, err := c.st.CreateProducts(c.ctx, taken); models.Code(err) != models.EConflict {
		t.Errorf("a slug taken: %v", err)
	}
	if _, err := c.st.Product(c.ctx, "fine", true); models.Code(err) != models.ENotFound {
		t.Errorf("a refused batch added a product: %v", err)
	}
}
