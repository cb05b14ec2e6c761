package products

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"rose-ash.com/platform/shared/models"
)

// The demo seed (shared/demo) writes the catalogue through these, in its
// one transaction; slugs are their natural keys, so seeding again adds
// nothing, and what an admin has changed since is left as it is.

// AddMarketIfMissing adds the market at in.Slug unless there is one.
// Errors: EInvalid, the database's.
func AddMarketIfMissing(ctx context.Context, tx pgx.Tx, in MarketInput) error {
	if err := in.validate(); err != nil {
		return err
	}
	_, err := tx.Exec(ctx, `INSERT INTO markets (slug, name, summary, description, location, image)
VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (slug) DO NOTHING`,
		in.Slug, in.Name, in.Summary, in.Description, in.Location, in.Image)
	if err != nil {
		return internal("add market "+in.Slug, err)
	}
	return nil
}

// SetMarketImageIfNone gives the market at slug the image url when it has
// none (a market seeded before there were images, or without a media
// store); one an admin chose is kept. Errors: the database's.
func SetMarketImageIfNone(ctx context.Context, tx pgx.Tx, slug, url string) error {
	if _, err := tx.Exec(ctx, `UPDATE markets SET image = $2, updated_at = now() WHERE slug = $1 AND image = ''`, slug, url); err != nil {
		return internal("market image "+slug, err)
	}
	return nil
}

// AddCategoryIfMissing adds the category at in.Slug, under the category
// at in.Parent when that is set, unless there is one. Errors: EInvalid,
// ENotFound (the parent), the database's.
func AddCategoryIfMissing(ctx context.Context, tx pgx.Tx, in CategoryInput) error {
	if err := in.validate(); err != nil {
		return err
	}
	var parent uuid.NullUUID
	if in.Parent != "" {
		if err := tx.QueryRow(ctx, `SELECT id FROM product_categories WHERE slug = $1`, in.Parent).Scan(&parent); err != nil {
			if errors.Is(err, pgx.ErrNoRows) {
				return models.Errorf(models.ENotFound, "There is no parent category %q.", in.Parent)
			}
			return internal("parent category", err)
		}
	}
	_, err := tx.Exec(ctx, `INSERT INTO product_categories (slug, name, parent_id, position) VALUES ($1, $2, $3, $4)
ON CONFLICT (slug) DO NOTHING`, in.Slug, in.Name, parent, in.Position)
	if err != nil {
		return internal("add category "+in.Slug, err)
	}
	return nil
}

// AddProductIfMissing adds the product at in.Slug, with its variants and
// images, unless there is one; a published one is dated publishedAgo
// before now. It reports whether it added it. A product added is
// announced like any other (OnChange). Errors: EInvalid, ENotFound (the
// market or category), EConflict (a SKU is taken), the database's.
func (s *Store) AddProductIfMissing(ctx context.Context, tx pgx.Tx, in ProductInput, publishedAgo time.Duration) (bool, error) {
	if err := in.validate(); err != nil {
		return false, err
	}
	market, category, err := placeOf(ctx, tx, in.Market, in.Category)
	if err != nil {
		return false, err
	}
	var id uuid.UUID
	err = tx.QueryRow(ctx, `
INSERT INTO products (market_id, category_id, slug, name, summary, description, currency, vat_rate_bp, featured,
                      status, published_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, CASE WHEN $10 THEN 'published' ELSE 'draft' END, CASE WHEN $10 THEN $11::timestamptz END)
ON CONFLICT (slug) DO NOTHING
RETURNING id`, market, category, in.Slug, in.Name, in.Summary, in.Description, in.Currency, in.VATRateBP, in.Featured,
		in.Publish, s.now().Add(-publishedAgo)).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, internal("add product "+in.Slug, err)
	}
	return true, s.writeParts(ctx, tx, id, in)
}

// AddImagesIfNone gives the product at slug these images when it has none
// (a product seeded before there were images, or without a media store);
// images an admin chose are kept. No such product: nothing happens.
// Errors: the database's.
func AddImagesIfNone(ctx context.Context, tx pgx.Tx, slug string, images []models.ProductImage) error {
	var id uuid.UUID
	err := tx.QueryRow(ctx, `SELECT p.id FROM products p
WHERE p.slug = $1 AND NOT EXISTS (SELECT 1 FROM product_images i WHERE i.product_id = p.id)`, slug).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil
	}
	if err != nil {
		return internal("product images "+slug, err)
	}
	for i, img := range images {
		if _, err := tx.Exec(ctx, `INSERT INTO product_images (product_id, url, alt, position) VALUES ($1, $2, $3, $4)`,
			id, img.URL, img.Alt, i); err != nil {
			return internal("product image "+slug, err)
		}
	}
	return nil
}

// CartLineBySKU is VariantForCart for the variant with that SKU, read in
// tx (the demo puts demo products into a demo cart in the transaction
// that adds them). Errors: ENotFound, EInvalid (sold out), the
// database's.
func CartLineBySKU(ctx context.Context, tx pgx.Tx, sku string) (CartLine, error) {
	var id uuid.UUID
	if err := tx.QueryRow(ctx, `SELECT id FROM product_variants WHERE sku = $1`, sku).Scan(&id); errors.Is(err, pgx.ErrNoRows) {
		return CartLine{}, models.Errorf(models.ENotFound, "There is no variant with the SKU %s.", sku)
	} else if err != nil {
		return CartLine{}, internal("variant "+sku, err)
	}
	return variantForCart(ctx, tx, id)
}
