package products

import (
	"context"
	"errors"
	"slices"
	"strings"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"rose-ash.com/platform/shared/models"
)

const marketColumns = `
SELECT m.id, m.slug, m.name, m.summary, m.description, m.location, m.image, m.version, m.updated_at,
       (SELECT count(*) FROM products p WHERE p.market_id = m.id AND p.status = 'published'),
       m.delivery_fee_minor, m.pickup_places
FROM markets m`

func scanMarket(r pgx.Row) (models.Market, error) {
	var m models.Market
	return m, r.Scan(&m.ID, &m.Slug, &m.Name, &m.Summary, &m.Description, &m.Location, &m.Image, &m.Version,
		&m.UpdatedAt, &m.ProductCount, &m.DeliveryFee, &m.PickupPlaces)
}

// Markets returns every market by name, with its count of published
// products. Errors: EInternal.
func (s *Store) Markets(ctx context.Context) ([]models.Market, error) {
	rows, err := s.db.Query(ctx, marketColumns+` ORDER BY lower(m.name), m.id`)
	if err != nil {
		return nil, internal("markets", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (models.Market, error) { return scanMarket(r) })
	if err != nil {
		return nil, internal("markets", err)
	}
	return out, nil
}

// Market returns the market at slug. Errors: ENotFound, EInternal.
func (s *Store) Market(ctx context.Context, slug string) (models.Market, error) {
	m, err := scanMarket(s.db.QueryRow(ctx, marketColumns+` WHERE m.slug = $1`, slug))
	if errors.Is(err, pgx.ErrNoRows) {
		return models.Market{}, models.Errorf(models.ENotFound, "There is no such market.")
	}
	if err != nil {
		return models.Market{}, internal("market", err)
	}
	return m, nil
}

// MarketInput is what an admin (or the demo) writes of a market.
type MarketInput struct {
	Slug, Name, Summary, Description, Location, Image string
	// DeliveryFee (minor units, 0: free) and PickupPlaces (none: no
	// pickup) are how the market hands over what it sells.
	DeliveryFee  int64
	PickupPlaces []string
}

// MaxPickupPlaces bounds a market's pickup places.
const MaxPickupPlaces = 10

func (in *MarketInput) validate() error {
	in.Slug, in.Name = strings.TrimSpace(in.Slug), strings.TrimSpace(in.Name)
	in.Summary, in.Location = strings.TrimSpace(in.Summary), strings.TrimSpace(in.Location)
	if in.Slug == "" {
		in.Slug = models.Slugify(in.Name)
	}
	switch {
	case in.Name == "":
		return models.Errorf(models.EInvalid, "The market needs a name.")
	case len(in.Name) > 120:
		return models.Errorf(models.EInvalid, "A market's name may have up to 120 characters.")
	case len(in.Summary) > 300:
		return models.Errorf(models.EInvalid, "The short description may have up to 300 characters.")
	case len(in.Location) > 200:
		return models.Errorf(models.EInvalid, "The location may have up to 200 characters.")
	}
	if in.DeliveryFee < 0 || in.DeliveryFee > 100000 {
		return models.Errorf(models.EInvalid, "The delivery fee must be between 0 and 1,000.00.")
	}
	places := make([]string, 0, len(in.PickupPlaces))
	for _, p := range in.PickupPlaces {
		if p = strings.TrimSpace(p); p != "" && !slices.Contains(places, p) {
			places = append(places, p)
		}
	}
	in.PickupPlaces = places
	if len(places) > MaxPickupPlaces {
		return models.Errorf(models.EInvalid, "A market may offer up to %d pickup places.", MaxPickupPlaces)
	}
	for _, p := range places {
		if len(p) > 200 {
			return models.Errorf(models.EInvalid, "A pickup place may have up to 200 characters.")
		}
	}
	in.Description = SanitizeDescription(in.Description)
	if len(in.Description) > 20000 {
		return models.Errorf(models.EInvalid, "The description may have up to 20,000 characters.")
	}
	return ValidSlug("market", in.Slug, 80)
}

// duplicate turns a unique violation into an EConflict with msg.
func duplicate(err error, msg string) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "23505" {
		return models.Errorf(models.EConflict, "%s", msg)
	}
	return nil
}

// CreateMarket adds a market. Errors: EInvalid, EConflict (the slug is
// taken), EInternal.
func (s *Store) CreateMarket(ctx context.Context, in MarketInput) (models.Market, error) {
	defer s.Forget() // after the commit: kept pages may hold what it changed
	if err := in.validate(); err != nil {
		return models.Market{}, err
	}
	var id uuid.UUID
	err := s.db.QueryRow(ctx, `INSERT INTO markets (slug, name, summary, description, location, image, delivery_fee_minor, pickup_places)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id`, in.Slug, in.Name, in.Summary, in.Description, in.Location, in.Image,
		in.DeliveryFee, in.PickupPlaces).Scan(&id)
	if err != nil {
		if d := duplicate(err, "Another market has the address "+in.Slug+"."); d != nil {
			return models.Market{}, d
		}
		return models.Market{}, internal("create market", err)
	}
	return s.Market(ctx, in.Slug)
}

// UpdateMarket saves a market if it is still at version (optimistic
// locking: a stale save is an EConflict and changes nothing), and
// re-indexes its products for search. Errors: EInvalid, ENotFound,
// EConflict (stale, or the slug is taken), EInternal.
func (s *Store) UpdateMarket(ctx context.Context, id uuid.UUID, version int, in MarketInput) (models.Market, error) {
	defer s.Forget() // after the commit: kept pages may hold what it changed
	if err := in.validate(); err != nil {
		return models.Market{}, err
	}
	err := pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE markets SET slug = $3, name = $4, summary = $5, description = $6, location = $7,
       image = $8, delivery_fee_minor = $9, pickup_places = $10, version = version + 1, updated_at = now()
WHERE id = $1 AND version = $2`, id, version, in.Slug, in.Name, in.Summary, in.Description, in.Location, in.Image,
			in.DeliveryFee, in.PickupPlaces)
		if err != nil {
			if d := duplicate(err, "Another market has the address "+in.Slug+"."); d != nil {
				return d
			}
			return internal("update market", err)
		}
		if tag.RowsAffected() == 0 {
			return stale(ctx, tx, "markets", id, "market")
		}
		ids, err := idsOf(ctx, tx, `SELECT id FROM products WHERE market_id = $1`, id)
		if err != nil {
			return err
		}
		return s.refresh(ctx, tx, ids)
	})
	if err != nil {
		return models.Market{}, err
	}
	return s.Market(ctx, in.Slug)
}

// DeleteMarket removes a market that has no products. Errors: ENotFound,
// EConflict (it still has products), EInternal.
func (s *Store) DeleteMarket(ctx context.Context, id uuid.UUID) error {
	defer s.Forget() // after the commit: kept pages may hold what it changed
	tag, err := s.db.Exec(ctx, `DELETE FROM markets WHERE id = $1`, id)
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "23503" {
		return models.Errorf(models.EConflict, "The market still has products: delete them or move them to another market first.")
	}
	if err != nil {
		return internal("delete market", err)
	}
	if tag.RowsAffected() == 0 {
		return models.Errorf(models.ENotFound, "There is no such market.")
	}
	return nil
}

// stale explains a versioned update that changed nothing: the row is gone
// (ENotFound) or someone saved it since (EConflict).
func stale(ctx context.Context, tx pgx.Tx, table string, id uuid.UUID, what string) error {
	var exists bool
	if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM `+table+` WHERE id = $1)`, id).Scan(&exists); err != nil {
		return internal("check "+what, err)
	}
	if !exists {
		return models.Errorf(models.ENotFound, "The %s was deleted meanwhile.", what)
	}
	return models.Errorf(models.EConflict, "Someone else saved this %s since you opened it. Your changes are below: compare them with the current version (reload in another tab), then save again.", what)
}

func idsOf(ctx context.Context, tx pgx.Tx, sql string, args ...any) ([]uuid.UUID, error) {
	rows, err := tx.Query(ctx, sql, args...)
	if err != nil {
		return nil, internal("ids", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
	if err != nil {
		return nil, internal("ids", err)
	}
	return ids, nil
}

// Categories returns every category as a tree: top categories in order,
// each with its children. Errors: EInternal.
func (s *Store) Categories(ctx context.Context) ([]models.Category, error) {
	rows, err := s.db.Query(ctx, `SELECT id, parent_id, slug, name, position FROM product_categories ORDER BY position, lower(name), id`)
	if err != nil {
		return nil, internal("categories", err)
	}
	all, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (models.Category, error) {
		var c models.Category
		return c, r.Scan(&c.ID, &c.ParentID, &c.Slug, &c.Name, &c.Position)
	})
	if err != nil {
		return nil, internal("categories", err)
	}
	return tree(all, uuid.NullUUID{}), nil
}

func tree(all []models.Category, parent uuid.NullUUID) []models.Category {
	var out []models.Category
	for _, c := range all {
		if c.ParentID == parent {
			c.Children = tree(all, uuid.NullUUID{UUID: c.ID, Valid: true})
			out = append(out, c)
		}
	}
	return out
}

// Category returns the category at slug (without children). Errors:
// ENotFound, EInternal.
func (s *Store) Category(ctx context.Context, slug string) (models.Category, error) {
	var c models.Category
	err := s.db.QueryRow(ctx, `SELECT id, parent_id, slug, name, position FROM product_categories WHERE slug = $1`, slug).
		Scan(&c.ID, &c.ParentID, &c.Slug, &c.Name, &c.Position)
	if errors.Is(err, pgx.ErrNoRows) {
		return c, models.Errorf(models.ENotFound, "There is no such category.")
	}
	if err != nil {
		return c, internal("category", err)
	}
	return c, nil
}

// CategoryInput is what an admin writes of a category.
type CategoryInput struct {
	Slug, Name string
	// Parent is the parent's slug, "" for a top category.
	Parent   string
	Position int
}

func (in *CategoryInput) validate() error {
	in.Name, in.Slug = strings.TrimSpace(in.Name), strings.TrimSpace(in.Slug)
	if in.Slug == "" {
		in.Slug = models.Slugify(in.Name)
	}
	switch {
	case in.Name == "":
		return models.Errorf(models.EInvalid, "The category needs a name.")
	case len(in.Name) > 80:
		return models.Errorf(models.EInvalid, "A category's name may have up to 80 characters.")
	}
	return ValidSlug("category", in.Slug, 80)
}

// SaveCategory creates the category at in.Slug or, when id is set,
// renames and moves that one, re-indexing its products. A category cannot
// become its own descendant. Errors: EInvalid, ENotFound (the parent),
// EConflict (the slug is taken), EInternal.
func (s *Store) SaveCategory(ctx context.Context, id uuid.UUID, in CategoryInput) (models.Category, error) {
	defer s.Forget() // after the commit: kept pages may hold what it changed
	if err := in.validate(); err != nil {
		return models.Category{}, err
	}
	err := pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		var parent uuid.NullUUID
		if in.Parent != "" {
			if err := tx.QueryRow(ctx, `SELECT id FROM product_categories WHERE slug = $1`, in.Parent).Scan(&parent); errors.Is(err, pgx.ErrNoRows) {
				return models.Errorf(models.ENotFound, "There is no parent category %q.", in.Parent)
			} else if err != nil {
				return internal("parent category", err)
			}
		}
		var err error
		if id == uuid.Nil {
			_, err = tx.Exec(ctx, `INSERT INTO product_categories (slug, name, parent_id, position) VALUES ($1, $2, $3, $4)`,
				in.Slug, in.Name, parent, in.Position)
		} else {
			if parent.Valid {
				var cycle bool
				if err := tx.QueryRow(ctx, `
WITH RECURSIVE up AS (
  SELECT id, parent_id FROM product_categories WHERE id = $1
  UNION ALL
  SELECT k.id, k.parent_id FROM product_categories k JOIN up ON k.id = up.parent_id)
SELECT EXISTS (SELECT 1 FROM up WHERE id = $2)`, parent.UUID, id).Scan(&cycle); err != nil {
					return internal("category cycle", err)
				}
				if cycle {
					return models.Errorf(models.EInvalid, "A category cannot be placed under itself or one of its subcategories.")
				}
			}
			var tag pgconn.CommandTag
			tag, err = tx.Exec(ctx, `UPDATE product_categories SET slug = $2, name = $3, parent_id = $4, position = $5 WHERE id = $1`,
				id, in.Slug, in.Name, parent, in.Position)
			if err == nil && tag.RowsAffected() == 0 {
				return models.Errorf(models.ENotFound, "There is no such category.")
			}
		}
		if err != nil {
			if d := duplicate(err, "Another category has the address "+in.Slug+"."); d != nil {
				return d
			}
			return internal("save category", err)
		}
		if id == uuid.Nil {
			return nil
		}
		ids, err := idsOf(ctx, tx, `SELECT id FROM products WHERE category_id = $1`, id)
		if err != nil {
			return err
		}
		return s.refresh(ctx, tx, ids)
	})
	if err != nil {
		return models.Category{}, err
	}
	return s.Category(ctx, in.Slug)
}

// DeleteCategory removes a category without subcategories; its products
// keep no category. Errors: ENotFound, EConflict (it has subcategories),
// EInternal.
func (s *Store) DeleteCategory(ctx context.Context, id uuid.UUID) error {
	defer s.Forget() // after the commit: kept pages may hold what it changed
	return pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		ids, err := idsOf(ctx, tx, `SELECT id FROM products WHERE category_id = $1`, id)
		if err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `DELETE FROM product_categories WHERE id = $1`, id)
		var pe *pgconn.PgError
		if errors.As(err, &pe) && pe.Code == "23503" {
			return models.Errorf(models.EConflict, "The category has subcategories: move or delete them first.")
		}
		if err != nil {
			return internal("delete category", err)
		}
		if tag.RowsAffected() == 0 {
			return models.Errorf(models.ENotFound, "There is no such category.")
		}
		return s.refresh(ctx, tx, ids)
	})
}
