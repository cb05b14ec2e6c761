package products

import (
	"context"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"rose-ash.com/platform/shared/models"
)

// CreateProducts adds many products at once, each validated as
// CreateProduct does, in one transaction written with COPY: a catalogue
// loaded in bulk (the benchmark's 10,000 products) in seconds rather than
// one transaction each. Each is announced as CreateProduct announces one.
// It returns how many it added. Errors: EInvalid (naming the product),
// ENotFound (a market or category), EConflict (a slug or SKU is taken),
// EInternal.
func (s *Store) CreateProducts(ctx context.Context, ins []ProductInput) (int, error) {
	defer s.Forget() // after the commit: kept pages may hold what it changed
	for i := range ins {
		if err := ins[i].validate(); err != nil {
			return 0, models.Errorf(models.Code(err), "Product %d (%s): %s", i+1, ins[i].Name, models.Message(err))
		}
	}
	err := pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		type place struct {
			market   uuid.UUID
			category uuid.NullUUID
		}
		places := map[[2]string]place{}
		ids := make([]uuid.UUID, len(ins))
		var products, variants, images [][]any
		now := s.now()
		for i, in := range ins {
			key := [2]string{in.Market, in.Category}
			pl, ok := places[key]
			if !ok {
				m, c, err := placeOf(ctx, tx, in.Market, in.Category)
				if err != nil {
					return err
				}
				pl = place{m, c}
				places[key] = pl
			}
			ids[i] = uuid.New()
			status, pub := models.ProductDraft, any(nil)
			if in.Publish {
				status, pub = models.ProductPublished, now
			}
			products = append(products, []any{ids[i], pl.market, pl.category, in.Slug, in.Name, in.Summary, in.Description,
				in.Currency, in.VATRateBP, in.Featured, status, pub})
			for j, v := range in.Variants {
				var sku any
				if v.SKU != "" {
					sku = v.SKU
				}
				variants = append(variants, []any{ids[i], v.Name, sku, v.Price, v.TrackStock, v.Stock, v.AllowBackorder, j})
			}
			for j, img := range in.Images {
				images = append(images, []any{ids[i], img.URL, img.Alt, j})
			}
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"products"}, []string{"id", "market_id", "category_id", "slug", "name",
			"summary", "description", "currency", "vat_rate_bp", "featured", "status", "published_at"},
			pgx.CopyFromRows(products)); err != nil {
			if d := duplicate(err, "A product's address (slug) is taken."); d != nil {
				return d
			}
			return internal("copy products", err)
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"product_variants"}, []string{"product_id", "name", "sku", "price_minor",
			"track_stock", "stock", "allow_backorder", "position"}, pgx.CopyFromRows(variants)); err != nil {
			if d := duplicate(err, "A variant's SKU is taken."); d != nil {
				return d
			}
			return internal("copy variants", err)
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"product_images"}, []string{"product_id", "url", "alt", "position"},
			pgx.CopyFromRows(images)); err != nil {
			return internal("copy images", err)
		}
		return s.refresh(ctx, tx, ids)
	})
	if err != nil {
		return 0, err
	}
	if len(ins) >= analyzeAfter {
		// The planner's statistics would still describe the catalogue
		// before the load (an empty one, say), and a search would filter
		// every product rather than use the index until autovacuum came;
		// the vacuum also drops the rows the load's second pass (the
		// derived columns) left dead, and marks the pages all-visible so
		// that a listing's count reads the index only.
		if _, err := s.db.Exec(ctx, `VACUUM (ANALYZE) products, product_variants, product_images`); err != nil {
			return len(ins), internal("analyze products", err)
		}
	}
	return len(ins), nil
}

// analyzeAfter is the size of a load after which CreateProducts refreshes
// the planner's statistics of the catalogue's tables.
const analyzeAfter = 1000
