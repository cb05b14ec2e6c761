package orders

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"rose-ash.com/platform/shared/models"
)

// DemoLine is a line of a demo order: a catalogue variant by SKU and how
// many were bought.
type DemoLine struct {
	SKU      string
	Quantity int
}

// AddDemoOrderIfNone gives the user userID (email) a completed order
// collected at the first market's first pickup place, placed at placedAt,
// of lines at today's catalogue prices, unless they have an order already:
// the demo's "order history" on the account dashboard. Its history reads
// placed, paid, ready and collected; no stock is taken (it was sold
// long ago) and no payment attempt is recorded (the demo has no SumUp
// transaction to name). Errors: ENotFound for an unknown SKU, EInternal.
func AddDemoOrderIfNone(ctx context.Context, tx pgx.Tx, userID uuid.UUID, email string, lines []DemoLine, placedAt time.Time) error {
	var has bool
	if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM orders WHERE user_id = $1)`, userID).Scan(&has); err != nil {
		return internal("demo order", err)
	}
	if has || len(lines) == 0 {
		return nil
	}
	o := models.Order{ID: uuid.New(), UserID: uuid.NullUUID{UUID: userID, Valid: true}, Email: email, Fulfilment: models.FulfilPickup}
	for _, l := range lines {
		var (
			line  models.OrderLine
			place *string
		)
		err := tx.QueryRow(ctx, `
SELECT m.id, m.name, p.id, v.id, p.name || CASE WHEN v.name <> '' THEN ' (' || v.name || ')' ELSE '' END,
       v.price_minor, p.vat_rate_bp, p.currency, m.pickup_places[1]
FROM product_variants v JOIN products p ON p.id = v.product_id JOIN markets m ON m.id = p.market_id
WHERE v.sku = $1`, l.SKU).Scan(&line.MarketID.UUID, &line.MarketName, &line.ProductID.UUID, &line.VariantID.UUID,
			&line.Title, &line.UnitPrice, &line.VATRateBP, &o.Currency, &place)
		if errors.Is(err, pgx.ErrNoRows) {
			return models.Errorf(models.ENotFound, "There is no variant with the SKU %s.", l.SKU)
		}
		if err != nil {
			return internal("demo order line "+l.SKU, err)
		}
		line.ID, line.Quantity = uuid.New(), l.Quantity
		line.MarketID.Valid, line.ProductID.Valid, line.VariantID.Valid = true, true, true
		if o.PickupPlace == "" && place != nil {
			o.PickupPlace = *place
		}
		o.Lines = append(o.Lines, line)
		o.Subtotal += line.Total()
		o.VAT += models.VATIncluded(line.Total(), line.VATRateBP)
	}
	o.Total = o.Subtotal
	paidAt := placedAt.Add(2 * time.Minute)
	_, err := tx.Exec(ctx, `
INSERT INTO orders (id, user_id, email, status, fulfilment, pickup_place, currency, subtotal_minor, total_minor, vat_minor,
  hold_until, released_at, paid_at, created_at, updated_at)
VALUES ($1, $2, $3, 'completed', $4, $5, $6, $7, $8, $9, $10, $10, $11, $12, $13)`,
		o.ID, o.UserID, o.Email, o.Fulfilment, o.PickupPlace, o.Currency, o.Subtotal, o.Total, o.VAT,
		placedAt.Add(DefaultHold), paidAt, placedAt, placedAt.Add(3*24*time.Hour))
	if err != nil {
		return internal("demo order", err)
	}
	for i, l := range o.Lines {
		if _, err := tx.Exec(ctx, `
INSERT INTO order_lines (id, order_id, market_id, market_name, product_id, variant_id, title, unit_price_minor, vat_rate_bp, quantity, position)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
			l.ID, o.ID, l.MarketID, l.MarketName, l.ProductID, l.VariantID, l.Title, l.UnitPrice, l.VATRateBP, l.Quantity, i); err != nil {
			return internal("demo order line", err)
		}
	}
	steps := []struct {
		from, to, actor, reason string
		at                      time.Time
	}{
		{"", models.OrderPendingPayment, "shopper", "Order placed", placedAt},
		{models.OrderPendingPayment, models.OrderPaid, "system", "Paid with SumUp", paidAt},
		{models.OrderPaid, models.OrderReadyForPickup, "admin", "Packed for collection", placedAt.Add(2 * 24 * time.Hour)},
		{models.OrderReadyForPickup, models.OrderCompleted, "admin", "Collected", placedAt.Add(3 * 24 * time.Hour)},
	}
	for _, s := range steps {
		if _, err := tx.Exec(ctx, `
INSERT INTO order_events (order_id, from_status, to_status, actor, reason, at) VALUES ($1, $2, $3, $4, $5, $6)`,
			o.ID, s.from, s.to, s.actor, s.reason, s.at); err != nil {
			return internal(fmt.Sprintf("demo order event %s", s.to), err)
		}
	}
	return nil
}
