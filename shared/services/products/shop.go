package products

import (
	"context"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// VariedPrices returns which of the given products have variants at
// different prices (a card then says "from £x"). Errors: EInternal.
func (s *Store) VariedPrices(ctx context.Context, ids []uuid.UUID) (map[uuid.UUID]bool, error) {
	out := make(map[uuid.UUID]bool)
	if len(ids) == 0 {
		return out, nil
	}
	rows, err := s.db.Query(ctx, `
SELECT product_id FROM product_variants WHERE product_id = ANY($1)
GROUP BY product_id HAVING min(price_minor) <> max(price_minor)`, ids)
	if err != nil {
		return nil, internal("varied prices", err)
	}
	varied, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
	if err != nil {
		return nil, internal("varied prices", err)
	}
	for _, id := range varied {
		out[id] = true
	}
	return out, nil
}
