package products

import (
	"context"
	"errors"
	"strings"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"rose-ash.com/platform/shared/models"
)

// ProductInput is what an admin, the demo or an approved import writes of
// a product.
type ProductInput struct {
	Market                           string // the market's slug
	Category                         string // the category's slug, or ""
	Slug, Name, Summary, Description string
	Currency                         string
	// VATRateBP is the VAT rate in basis points (0 to 10000); prices
	// include it.
	VATRateBP int
	Featured  bool
	// Publish publishes the product (a draft otherwise).
	Publish  bool
	Variants []VariantInput
	Images   []models.ProductImage
}

// VariantInput is one variant of a ProductInput; an ID keeps an existing
// variant (its stock history, the carts that hold it), a zero ID adds one.
type VariantInput struct {
	ID             uuid.UUID
	Name, SKU      string
	Price          int64
	TrackStock     bool
	Stock          int
	AllowBackorder bool
}

// MaxVariants bounds a product's variants.
const MaxVariants = 50

func (in *ProductInput) validate() error {
	in.Name, in.Slug = strings.TrimSpace(in.Name), strings.TrimSpace(in.Slug)
	in.Summary = strings.TrimSpace(in.Summary)
	in.Currency = strings.ToUpper(strings.TrimSpace(in.Currency))
	if in.Slug == "" {
		in.Slug = models.Slugify(in.Name)
	}
	switch {
	case in.Name == "":
		return models.Errorf(models.EInvalid, "The product needs a name.")
	case len(in.Name) > 200:
		return models.Errorf(models.EInvalid, "A product's name may have up to 200 characters.")
	case in.Market == "":
		return models.Errorf(models.EInvalid, "Choose the market that sells the product.")
	case in.Currency == "":
		return models.Errorf(models.EInvalid, "The product needs a currency (GBP, EUR...).")
	case len(in.Currency) != 3 || strings.Trim(in.Currency, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != "":
		return models.Errorf(models.EInvalid, "The currency must be a three-letter code such as GBP or EUR, not %q.", in.Currency)
	case in.VATRateBP < 0 || in.VATRateBP > 10000:
		return models.Errorf(models.EInvalid, "The VAT rate must be from 0%% to 100%%.")
	case len(in.Summary) > 500:
		return models.Errorf(models.EInvalid, "The short description may have up to 500 characters.")
	case len(in.Variants) == 0:
		return models.Errorf(models.EInvalid, "The product needs at least one variant with a price.")
	case len(in.Variants) > MaxVariants:
		return models.Errorf(models.EInvalid, "A product may have up to %d variants.", MaxVariants)
	}
	if err := ValidSlug("product", in.Slug, 100); err != nil {
		return err
	}
	in.Description = SanitizeDescription(in.Description)
	if len(in.Description) > 100000 {
		return models.Errorf(models.EInvalid, "The description is too long (at most 100,000 characters).")
	}
	skus := map[string]bool{}
	for i := range in.Variants {
		v := &in.Variants[i]
		v.Name, v.SKU = strings.TrimSpace(v.Name), strings.TrimSpace(v.SKU)
		label := v.Name
		if label == "" {
			label = "the variant"
		}
		switch {
		case v.Price < 0:
			return models.Errorf(models.EInvalid, "The price of %s cannot be negative.", label)
		case v.Stock < 0:
			return models.Errorf(models.EInvalid, "The stock of %s cannot be negative.", label)
		case len(v.Name) > 120:
			return models.Errorf(models.EInvalid, "A variant's name may have up to 120 characters.")
		case len(v.SKU) > 64:
			return models.Errorf(models.EInvalid, "A SKU may have up to 64 characters.")
		case len(in.Variants) > 1 && v.Name == "":
			return models.Errorf(models.EInvalid, "Each variant of a product with several needs a name (size, weight, colour...).")
		case v.SKU != "" && skus[v.SKU]:
			return models.Errorf(models.EInvalid, "Two variants have the SKU %s.", v.SKU)
		}
		skus[v.SKU] = v.SKU != ""
	}
	for i := range in.Images {
		in.Images[i].URL = strings.TrimSpace(in.Images[i].URL)
		if in.Images[i].URL == "" || len(in.Images[i].URL) > 500 {
			return models.Errorf(models.EInvalid, "An image's address is missing or too long.")
		}
	}
	return nil
}

// CreateProduct adds a product with its variants and images, and
// announces it when published. Errors: EInvalid, ENotFound (the market or
// category), EConflict (the slug or a SKU is taken), EInternal.
func (s *Store) CreateProduct(ctx context.Context, in ProductInput) (models.Product, error) {
	defer s.Forget() // after the commit: kept pages may hold what it changed
	if err := in.validate(); err != nil {
		return models.Product{}, err
	}
	var id uuid.UUID
	err := pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		market, category, err := placeOf(ctx, tx, in.Market, in.Category)
		if err != nil {
			return err
		}
		err = tx.QueryRow(ctx, `
INSERT INTO products (market_id, category_id, slug, name, summary, description, currency, vat_rate_bp, featured,
                      status, published_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, CASE WHEN $10 THEN 'published' ELSE 'draft' END, CASE WHEN $10 THEN $11::timestamptz END)
RETURNING id`, market, category, in.Slug, in.Name, in.Summary, in.Description, in.Currency, in.VATRateBP, in.Featured,
			in.Publish, s.now()).Scan(&id)
		if err != nil {
			if d := duplicate(err, "Another product has the address "+in.Slug+"."); d != nil {
				return d
			}
			return internal("create product", err)
		}
		return s.writeParts(ctx, tx, id, in)
	})
	if err != nil {
		return models.Product{}, err
	}
	return s.ProductByID(ctx, id, true)
}

// UpdateProduct saves a product if it is still at version (a stale save
// is an EConflict and changes nothing), replacing its variants (kept by
// ID) and images, and announces the change. Errors: EInvalid, ENotFound,
// EConflict (stale, or the slug or a SKU is taken), EInternal.
func (s *Store) UpdateProduct(ctx context.Context, id uuid.UUID, version int, in ProductInput) (models.Product, error) {
	defer s.Forget() // after the commit: kept pages may hold what it changed
	if err := in.validate(); err != nil {
		return models.Product{}, err
	}
	err := pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		market, category, err := placeOf(ctx, tx, in.Market, in.Category)
		if err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `
UPDATE products SET market_id = $3, category_id = $4, slug = $5, name = $6, summary = $7, description = $8,
       currency = $9, vat_rate_bp = $10, featured = $11,
       status = CASE WHEN $12 THEN 'published' ELSE 'draft' END,
       published_at = CASE WHEN $12 THEN coalesce(published_at, $13::timestamptz) ELSE published_at END,
       version = version + 1, updated_at = now()
WHERE id = $1 AND version = $2`, id, version, market, category, in.Slug, in.Name, in.Summary, in.Description,
			in.Currency, in.VATRateBP, in.Featured, in.Publish, s.now())
		if err != nil {
			if d := duplicate(err, "Another product has the address "+in.Slug+"."); d != nil {
				return d
			}
			return internal("update product", err)
		}
		if tag.RowsAffected() == 0 {
			return stale(ctx, tx, "products", id, "product")
		}
		return s.writeParts(ctx, tx, id, in)
	})
	if err != nil {
		return models.Product{}, err
	}
	return s.ProductByID(ctx, id, true)
}

// placeOf resolves a market's and a category's slugs.
func placeOf(ctx context.Context, tx pgx.Tx, market, category string) (uuid.UUID, uuid.NullUUID, error) {
	var m uuid.UUID
	var c uuid.NullUUID
	if err := tx.QueryRow(ctx, `SELECT id FROM markets WHERE slug = $1`, market).Scan(&m); errors.Is(err, pgx.ErrNoRows) {
		return m, c, models.Errorf(models.ENotFound, "There is no market %q.", market)
	} else if err != nil {
		return m, c, internal("market", err)
	}
	if category != "" {
		if err := tx.QueryRow(ctx, `SELECT id FROM product_categories WHERE slug = $1`, category).Scan(&c); errors.Is(err, pgx.ErrNoRows) {
			return m, c, models.Errorf(models.ENotFound, "There is no category %q.", category)
		} else if err != nil {
			return m, c, internal("category", err)
		}
	}
	return m, c, nil
}

// writeParts replaces a product's variants and images, then refreshes what
// is derived from them and announces the product.
func (s *Store) writeParts(ctx context.Context, tx pgx.Tx, id uuid.UUID, in ProductInput) error {
	var keep []uuid.UUID
	for _, v := range in.Variants {
		if v.ID != uuid.Nil {
			keep = append(keep, v.ID)
		}
	}
	if _, err := tx.Exec(ctx, `DELETE FROM product_variants WHERE product_id = $1 AND NOT (id = ANY($2))`, id, keep); err != nil {
		return internal("variants", err)
	}
	for i, v := range in.Variants {
		sku := &v.SKU
		if v.SKU == "" {
			sku = nil
		}
		var err error
		if v.ID == uuid.Nil {
			_, err = tx.Exec(ctx, `
INSERT INTO product_variants (product_id, name, sku, price_minor, track_stock, stock, allow_backorder, position)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, id, v.Name, sku, v.Price, v.TrackStock, v.Stock, v.AllowBackorder, i)
		} else {
			var tag pgconn.CommandTag
			tag, err = tx.Exec(ctx, `
UPDATE product_variants SET name = $3, sku = $4, price_minor = $5, track_stock = $6, stock = $7, allow_backorder = $8,
       position = $9, updated_at = now()
WHERE id = $1 AND product_id = $2`, v.ID, id, v.Name, sku, v.Price, v.TrackStock, v.Stock, v.AllowBackorder, i)
			if err == nil && tag.RowsAffected() == 0 {
				return models.Errorf(models.EConflict, "A variant of this product was removed meanwhile: reload the page.")
			}
		}
		if err != nil {
			if d := duplicate(err, "Another product has a variant with the SKU "+v.SKU+"."); d != nil {
				return d
			}
			return internal("variant", err)
		}
	}
	if _, err := tx.Exec(ctx, `DELETE FROM product_images WHERE product_id = $1`, id); err != nil {
		return internal("images", err)
	}
	for i, img := range in.Images {
		if _, err := tx.Exec(ctx, `INSERT INTO product_images (product_id, url, alt, position) VALUES ($1, $2, $3, $4)`,
			id, img.URL, img.Alt, i); err != nil {
			return internal("image", err)
		}
	}
	return s.refresh(ctx, tx, []uuid.UUID{id})
}

// searchDocument is a product's search text: its name (weight A), its
// market and category (B), its summary and description without tags (C),
// with accents folded (market_fold).
const searchDocument = `
  setweight(to_tsvector('english', market_fold(p.name)), 'A') ||
  setweight(to_tsvector('english', market_fold(m.name || ' ' ||
    coalesce((SELECT c.name FROM product_categories c WHERE c.id = p.category_id), ''))), 'B') ||
  setweight(to_tsvector('english', market_fold(p.summary || ' ' || regexp_replace(p.description, '<[^>]*>', ' ', 'g'))), 'C')`

// refresh recomputes what products derive from their variants, market and
// category (lowest price, stock, search text) and announces each.
func (s *Store) refresh(ctx context.Context, tx pgx.Tx, ids []uuid.UUID) error {
	if len(ids) == 0 {
		return nil
	}
	_, err := tx.Exec(ctx, `
UPDATE products p SET
  min_price_minor = coalesce((SELECT min(v.price_minor) FROM product_variants v WHERE v.product_id = p.id), 0),
  in_stock = EXISTS (SELECT 1 FROM product_variants v WHERE v.product_id = p.id AND (NOT v.track_stock OR v.stock > 0)),
  search = `+searchDocument+`
FROM markets m
WHERE m.id = p.market_id AND p.id = ANY($1)`, ids)
	if err != nil {
		return internal("refresh products", err)
	}
	if s.changed == nil {
		return nil
	}
	for _, id := range ids {
		if err := s.changed(ctx, tx, id); err != nil {
			return internal("announce product", err)
		}
	}
	return nil
}

// SetPublished publishes or unpublishes products (a bulk action) and
// announces each change. It returns how many changed. Errors: EInternal.
func (s *Store) SetPublished(ctx context.Context, ids []uuid.UUID, publish bool) (int, error) {
	defer s.Forget() // after the commit: kept pages may hold what it changed
	var n int
	err := pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		changed, err := idsOf(ctx, tx, `
UPDATE products SET status = CASE WHEN $2 THEN 'published' ELSE 'draft' END,
       published_at = CASE WHEN $2 THEN coalesce(published_at, $3::timestamptz) ELSE published_at END,
       version = version + 1, updated_at = now()
WHERE id = ANY($1) AND status <> CASE WHEN $2 THEN 'published' ELSE 'draft' END
RETURNING id`, ids, publish, s.now())
		if err != nil {
			return err
		}
		n = len(changed)
		return s.refresh(ctx, tx, changed)
	})
	return n, err
}

// MoveToCategory puts products in the category at slug ("" for none).
// Errors: ENotFound (the category), EInternal.
func (s *Store) MoveToCategory(ctx context.Context, ids []uuid.UUID, category string) (int, error) {
	defer s.Forget() // after the commit: kept pages may hold what it changed
	var n int
	err := pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		var c uuid.NullUUID
		if category != "" {
			if err := tx.QueryRow(ctx, `SELECT id FROM product_categories WHERE slug = $1`, category).Scan(&c); errors.Is(err, pgx.ErrNoRows) {
				return models.Errorf(models.ENotFound, "There is no category %q.", category)
			} else if err != nil {
				return internal("category", err)
			}
		}
		changed, err := idsOf(ctx, tx, `UPDATE products SET category_id = $2, version = version + 1, updated_at = now()
WHERE id = ANY($1) AND category_id IS DISTINCT FROM $2 RETURNING id`, ids, c)
		if err != nil {
			return err
		}
		n = len(changed)
		return s.refresh(ctx, tx, changed)
	})
	return n, err
}

// DeleteProduct removes a product (its Delete is announced when it was
// published). Errors: ENotFound, EInternal.
func (s *Store) DeleteProduct(ctx context.Context, id uuid.UUID) error {
	defer s.Forget() // after the commit: kept pages may hold what it changed
	return pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM products WHERE id = $1`, id)
		if err != nil {
			return internal("delete product", err)
		}
		if tag.RowsAffected() == 0 {
			return models.Errorf(models.ENotFound, "There is no such product.")
		}
		if s.changed != nil {
			if err := s.changed(ctx, tx, id); err != nil {
				return internal("announce product", err)
			}
		}
		return nil
	})
}
