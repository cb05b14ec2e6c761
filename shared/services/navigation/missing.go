package navigation

import (
	"context"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"rose-ash.com/platform/shared/models"
)

// An item already there (an admin may have renamed or moved it) is left as
// it is.
const addNavItemIfMissing = `
INSERT INTO nav_items (label, url, position, parent_id)
VALUES ($1, $2, $3, $4)
ON CONFLICT (parent_id, url) DO NOTHING`

const navItemID = `SELECT id FROM nav_items WHERE parent_id IS NOT DISTINCT FROM $1 AND url = $2`

// AddMissingNav adds, in tx, the items (and their Children) that are not
// in the navigation yet, an item's natural key being its parent and URL;
// items already there keep their label and position, and the rest of the
// navigation stays. The demo seed calls it. Errors: an item
// models.ValidateNavItem refuses (EInvalid), the database's.
func AddMissingNav(ctx context.Context, tx pgx.Tx, items []models.NavItem) error {
	return addMissingNav(ctx, tx, items, uuid.NullUUID{})
}

func addMissingNav(ctx context.Context, tx pgx.Tx, items []models.NavItem, parent uuid.NullUUID) error {
	for _, it := range items {
		if err := models.ValidateNavItem(it); err != nil {
			return fmt.Errorf("nav item %s: %w", it.URL, err)
		}
		if _, err := tx.Exec(ctx, addNavItemIfMissing, it.Label, it.URL, it.Position, parent); err != nil {
			return fmt.Errorf("add nav item %s: %w", it.URL, err)
		}
		var id uuid.UUID
		if err := tx.QueryRow(ctx, navItemID, parent, it.URL).Scan(&id); err != nil {
			return fmt.Errorf("look up nav item %s: %w", it.URL, err)
		}
		if err := addMissingNav(ctx, tx, it.Children, uuid.NullUUID{UUID: id, Valid: true}); err != nil {
			return err
		}
	}
	return nil
}
