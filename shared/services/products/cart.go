package products

import (
	"context"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"rose-ash.com/platform/shared/models"
)

// CartVariant is what the basket page shows of a variant in a cart: the
// CartLine (title, current price, stock), with its product's VAT rate and
// first image.
type CartVariant struct {
	CartLine
	// VATRateBP is the product's VAT rate in basis points; the price
	// includes it.
	VATRateBP int
	// Image is the product's first image (a media path such as
	// /media/x.jpg, served by the market), or the zero ProductImage.
	Image models.ProductImage
}

// The image is the first by position, as the product page shows them.
const variantsForCart = `
SELECT p.id, p.slug, p.name, p.currency, p.vat_rate_bp, v.id, v.name, coalesce(v.sku, ''), v.price_minor,
       v.track_stock, v.stock, v.allow_backorder, v.position,
       (SELECT count(*) FROM product_variants w WHERE w.product_id = p.id),
       coalesce(i.url, ''), coalesce(i.alt, '')
FROM product_variants v
JOIN products p ON p.id = v.product_id
LEFT JOIN LATERAL (
    SELECT url, alt FROM product_images pi WHERE pi.product_id = p.id ORDER BY pi.position, pi.id LIMIT 1
) i ON true
WHERE v.id = ANY($1) AND p.status = 'published'`

// VariantsForCart returns the published products' variants among ids, by
// id, with their current price, stock, VAT rate and first image, in one
// query: what the basket page checks its lines against. A variant that
// does not exist or whose product is not published is absent from the
// map; a sold-out one is there (its Variant says so). Errors: EInternal.
func (s *Store) VariantsForCart(ctx context.Context, ids []uuid.UUID) (map[uuid.UUID]CartVariant, error) {
	out := make(map[uuid.UUID]CartVariant, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	rows, err := s.db.Query(ctx, variantsForCart, ids)
	if err != nil {
		return nil, internal("variants for cart", err)
	}
	_, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (struct{}, error) {
		var cv CartVariant
		var name, currency string
		var count int
		if err := r.Scan(&cv.ProductID, &cv.ProductSlug, &name, &currency, &cv.VATRateBP, &cv.Variant.ID,
			&cv.Variant.Name, &cv.Variant.SKU, &cv.Variant.Price, &cv.Variant.TrackStock, &cv.Variant.Stock,
			&cv.Variant.AllowBackorder, &cv.Variant.Position, &count, &cv.Image.URL, &cv.Image.Alt); err != nil {
			return struct{}{}, err
		}
		cv.VariantID, cv.Variant.ProductID = cv.Variant.ID, cv.ProductID
		// The same title VariantForCart gives, so a line keeps its name.
		cv.Title = variantTitle(name, cv.Variant.Name, count)
		cv.Price = models.Money{Minor: cv.Variant.Price, Currency: currency}
		out[cv.VariantID] = cv
		return struct{}{}, nil
	})
	if err != nil {
		return nil, internal("variants for cart", err)
	}
	return out, nil
}
