package products

import (
	"context"
	"strings"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"rose-ash.com/platform/shared/models"
)

// AdminQuery selects a page of the admin's product list: drafts included,
// the most recently changed first.
type AdminQuery struct {
	Market   string // a market's slug, or ""
	Category string // a category's slug (its subcategories included), or ""
	// Status is models.ProductDraft, models.ProductPublished or "" for both.
	Status string
	// Text matches part of a product's name, slug or a variant's SKU,
	// ignoring case and accents; "" matches every product.
	Text          string
	Page, PerPage int
}

const adminFilter = `
WHERE ($1 = '' OR m.slug = $1)
  AND ($2 = '' OR p.category_id IN (
        WITH RECURSIVE sub AS (
          SELECT id FROM product_categories WHERE slug = $2
          UNION ALL
          SELECT k.id FROM product_categories k JOIN sub ON k.parent_id = sub.id)
        SELECT id FROM sub))
  AND ($3 = '' OR p.status = $3)
  AND ($4 = '' OR market_fold(lower(p.name)) LIKE '%' || market_fold(lower($4)) || '%' ESCAPE '\'
       OR p.slug LIKE '%' || lower($4) || '%' ESCAPE '\'
       OR EXISTS (SELECT 1 FROM product_variants v WHERE v.product_id = p.id AND lower(v.sku) LIKE '%' || lower($4) || '%' ESCAPE '\'))`

// likeEscape escapes LIKE's wildcards in s.
func likeEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// AdminProducts returns a page of products for the admin, drafts
// included, each with all its variants (for a stock summary) and its first
// image. Errors: EInvalid (paging, status, a search too long), EInternal.
func (s *Store) AdminProducts(ctx context.Context, q AdminQuery) (Page, error) {
	page, perPage, err := paging(q.Page, q.PerPage)
	if err != nil {
		return Page{}, err
	}
	switch q.Status {
	case "", models.ProductDraft, models.ProductPublished:
	default:
		return Page{}, models.Errorf(models.EInvalid, "Products are drafts or published.")
	}
	q.Text = strings.TrimSpace(q.Text)
	if len(q.Text) > MaxQueryLength {
		return Page{}, models.Errorf(models.EInvalid, "Search for at most %d characters.", MaxQueryLength)
	}
	text := likeEscape(q.Text)
	out := Page{Page: page, PerPage: perPage}
	rows, err := s.db.Query(ctx, cardColumns+`, count(*) OVER ()`+fromProducts+adminFilter+`
ORDER BY p.updated_at DESC, p.id DESC
LIMIT $5 OFFSET $6`, q.Market, q.Category, q.Status, text, perPage, (page-1)*perPage)
	if err != nil {
		return Page{}, internal("admin products", err)
	}
	defer rows.Close()
	for rows.Next() {
		p, err := scanCard(rows, &out.Total)
		if err != nil {
			return Page{}, internal("admin products", err)
		}
		out.Products = append(out.Products, p)
	}
	if err := rows.Err(); err != nil {
		return Page{}, internal("admin products", err)
	}
	if len(out.Products) == 0 {
		if page > 1 {
			if err := s.db.QueryRow(ctx, `SELECT count(*)`+fromProducts+adminFilter, q.Market, q.Category, q.Status, text).
				Scan(&out.Total); err != nil {
				return Page{}, internal("count admin products", err)
			}
		}
		return out, nil
	}
	ids := make([]uuid.UUID, len(out.Products))
	at := map[uuid.UUID]int{}
	for i, p := range out.Products {
		ids[i], at[p.ID] = p.ID, i
		out.Products[i].Variants = nil
	}
	vrows, err := s.db.Query(ctx, variantColumns+` WHERE product_id = ANY($1) ORDER BY product_id, position, price_minor, id`, ids)
	if err != nil {
		return Page{}, internal("admin variants", err)
	}
	vs, err := pgx.CollectRows(vrows, scanVariant)
	if err != nil {
		return Page{}, internal("admin variants", err)
	}
	for _, v := range vs {
		i := at[v.ProductID]
		out.Products[i].Variants = append(out.Products[i].Variants, v)
	}
	return out, nil
}
