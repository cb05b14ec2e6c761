package products

import (
	"context"
	"errors"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"rose-ash.com/platform/shared/models"
)

// Held is what an order line took of its variant: the line as the
// catalogue sells it now (market, title, price, VAT), and how much of the
// quantity came out of the variant's stock.
type Held struct {
	CartLine
	MarketID   uuid.UUID
	MarketName string
	VATRateBP  int
	// Taken is how much of the quantity came out of stock: all of it for
	// tracked stock, what there was for a backorderable variant, none when
	// stock is not tracked.
	Taken int
}

// HoldStock takes quantity of a published variant's stock for an order,
// in the order's transaction tx, and returns the line at its current
// price. The variant row is locked until tx ends, so concurrent orders
// for the last units queue here and never oversell (the stock >= 0 check
// backs it). Errors: ENotFound (no such variant, or unpublished),
// EConflict (fewer left than asked for: the message says how many),
// EInternal.
func (s *Store) HoldStock(ctx context.Context, tx pgx.Tx, variantID uuid.UUID, quantity int) (Held, error) {
	var h Held
	var name, currency string
	var count int
	err := tx.QueryRow(ctx, `
SELECT p.id, p.slug, p.name, p.currency, p.vat_rate_bp, m.id, m.name, v.id, v.name, v.price_minor, v.track_stock,
       v.stock, v.allow_backorder, (SELECT count(*) FROM product_variants w WHERE w.product_id = p.id)
FROM product_variants v JOIN products p ON p.id = v.product_id JOIN markets m ON m.id = p.market_id
WHERE v.id = $1 AND p.status = 'published'
FOR UPDATE OF v`, variantID).Scan(&h.ProductID, &h.ProductSlug, &name, &currency, &h.VATRateBP, &h.MarketID,
		&h.MarketName, &h.Variant.ID, &h.Variant.Name, &h.Variant.Price, &h.Variant.TrackStock, &h.Variant.Stock,
		&h.Variant.AllowBackorder, &count)
	if errors.Is(err, pgx.ErrNoRows) {
		return Held{}, models.Errorf(models.ENotFound, "A product in your basket is no longer for sale.")
	}
	if err != nil {
		return Held{}, internal("hold stock", err)
	}
	h.VariantID, h.Variant.ProductID = h.Variant.ID, h.ProductID
	h.Title = variantTitle(name, h.Variant.Name, count)
	h.Price = models.Money{Minor: h.Variant.Price, Currency: currency}
	v := h.Variant
	switch {
	case !v.TrackStock:
		return h, nil
	case v.AllowBackorder:
		h.Taken = min(v.Stock, quantity)
	case v.Stock < quantity:
		if v.Stock == 0 {
			return Held{}, models.Errorf(models.EConflict, "%s has just sold out.", h.Title)
		}
		return Held{}, models.Errorf(models.EConflict, "Only %d of %s %s left.", v.Stock, h.Title, isAre(v.Stock))
	default:
		h.Taken = quantity
	}
	if h.Taken > 0 {
		tag, err := tx.Exec(ctx, `UPDATE product_variants SET stock = stock - $2, updated_at = now() WHERE id = $1 AND stock >= $2`,
			variantID, h.Taken)
		if err != nil {
			return Held{}, internal("hold stock", err)
		}
		if tag.RowsAffected() != 1 {
			return Held{}, models.Errorf(models.EConflict, "%s has just sold out.", h.Title)
		}
		if err := s.refresh(ctx, tx, []uuid.UUID{h.ProductID}); err != nil {
			return Held{}, err
		}
	}
	return h, nil
}

// ReleaseStock gives back quantity of a variant's stock that HoldStock
// took, in tx (an order expired or cancelled unpaid). A variant deleted
// since is nothing to give back to. Errors: EInternal.
func (s *Store) ReleaseStock(ctx context.Context, tx pgx.Tx, variantID uuid.UUID, quantity int) error {
	if quantity <= 0 {
		return nil
	}
	var productID uuid.UUID
	err := tx.QueryRow(ctx, `UPDATE product_variants SET stock = stock + $2, updated_at = now() WHERE id = $1 RETURNING product_id`,
		variantID, quantity).Scan(&productID)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil
	}
	if err != nil {
		return internal("release stock", err)
	}
	return s.refresh(ctx, tx, []uuid.UUID{productID})
}

func isAre(n int) string {
	if n == 1 {
		return "is"
	}
	return "are"
}

// SetHandoverIfNone gives the market at slug a delivery fee and pickup
// places when it has neither (the demo seed; an admin's choice is kept).
// Errors: the database's.
func SetHandoverIfNone(ctx context.Context, tx pgx.Tx, slug string, feeMinor int64, places []string) error {
	if _, err := tx.Exec(ctx, `UPDATE markets SET delivery_fee_minor = $2, pickup_places = $3, updated_at = now()
WHERE slug = $1 AND delivery_fee_minor = 0 AND pickup_places = '{}'`, slug, feeMinor, places); err != nil {
		return internal("market handover "+slug, err)
	}
	return nil
}

// SetStock sets a variant's stock to n (the benchmark resets its checkout
// product between runs; admins change stock through UpdateProduct).
// Errors: ENotFound, EInvalid (negative), EInternal.
func (s *Store) SetStock(ctx context.Context, variantID uuid.UUID, n int) error {
	if n < 0 {
		return models.Errorf(models.EInvalid, "Stock cannot be negative.")
	}
	defer s.Forget()
	return pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		var productID uuid.UUID
		err := tx.QueryRow(ctx, `UPDATE product_variants SET stock = $2, updated_at = now() WHERE id = $1 RETURNING product_id`,
			variantID, n).Scan(&productID)
		if errors.Is(err, pgx.ErrNoRows) {
			return models.Errorf(models.ENotFound, "There is no such variant.")
		}
		if err != nil {
			return internal("set stock", err)
		}
		return s.refresh(ctx, tx, []uuid.UUID{productID})
	})
}
