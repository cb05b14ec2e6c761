// Package navigation is the PostgreSQL implementation of the site
// navigation the blog owns. It owns the table nav_items: no other package
// writes it.
package navigation

import (
	"context"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"rose-ash.com/platform/shared/models"
)

// Store reads and writes the site navigation. The blog is its only
// service (every other service's header gets the navigation as the blog's
// nav-tree fragment), so it has no contract (see docs/DECISIONS.md).
// Anyone may call NavTree: the navigation is public.
type Store struct {
	db *pgxpool.Pool
}

// New returns a Store on db.
func New(db *pgxpool.Pool) *Store { return &Store{db: db} }

const navItems = `
SELECT id, label, url, position, parent_id
FROM nav_items
ORDER BY position, label, id`

type navRow struct {
	ID       uuid.UUID
	Label    string
	URL      string
	Position int
	ParentID uuid.NullUUID
}

// NavTree returns the top-level navigation items with their children, every
// level ordered by position, then label. Errors: EInternal.
func (s *Store) NavTree(ctx context.Context) ([]models.NavItem, error) {
	rows, err := s.db.Query(ctx, navItems)
	if err != nil {
		return nil, internal("nav tree", err)
	}
	items, err := pgx.CollectRows(rows, pgx.RowToStructByPos[navRow])
	if err != nil {
		return nil, internal("nav tree", err)
	}
	return buildTree(items), nil
}

// buildTree nests the rows, already in display order, under their parents.
// Only rows reachable from a top-level item are placed, each once: rows in
// a parent cycle (which an admin edit could make) are left out, so the
// recursion always ends.
func buildTree(rows []navRow) []models.NavItem {
	children := make(map[uuid.UUID][]navRow)
	var roots []navRow
	for _, r := range rows {
		if r.ParentID.Valid {
			children[r.ParentID.UUID] = append(children[r.ParentID.UUID], r)
		} else {
			roots = append(roots, r)
		}
	}
	var build func([]navRow) []models.NavItem
	build = func(level []navRow) []models.NavItem {
		items := make([]models.NavItem, 0, len(level))
		for _, r := range level {
			items = append(items, models.NavItem{
				ID: r.ID, Label: r.Label, URL: r.URL, Position: r.Position, ParentID: r.ParentID,
				Children: build(children[r.ID]),
			})
		}
		return items
	}
	return build(roots)
}

func internal(what string, err error) error {
	return models.Wrap(models.EInternal, "", fmt.Errorf("navigation: %s: %w", what, err))
}
