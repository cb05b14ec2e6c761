package navigation

import (
	"context"
	"errors"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"rose-ash.com/platform/shared/models"
	"rose-ash.com/platform/shared/postgres"
)

// SaveNav replaces the whole navigation with items (two levels: items
// and their Children), in the order given. Errors: EInvalid (a label or
// URL models.ValidateNavItem refuses, a third level, too many items, a
// duplicate link at one level; nothing is written), EInternal. The whole
// tree is replaced in one transaction.
func (s *Store) SaveNav(ctx context.Context, items []models.NavItem) error {
	if err := validateTree(items); err != nil {
		return err
	}
	err := postgres.InTx(ctx, s.db, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM nav_items`); err != nil {
			return err
		}
		for i, it := range items {
			var id uuid.UUID
			if err := tx.QueryRow(ctx, `INSERT INTO nav_items (label, url, position) VALUES ($1, $2, $3) RETURNING id`,
				it.Label, it.URL, (i+1)*10).Scan(&id); err != nil {
				return err
			}
			for j, ch := range it.Children {
				if _, err := tx.Exec(ctx, `INSERT INTO nav_items (label, url, position, parent_id) VALUES ($1, $2, $3, $4)`,
					ch.Label, ch.URL, (j+1)*10, id); err != nil {
					return err
				}
			}
		}
		return nil
	})
	var de *models.Error
	if errors.As(err, &de) {
		return err
	}
	if err != nil {
		if isUnique(err) {
			return models.Errorf(models.EInvalid, "The same link appears twice at one level.")
		}
		return internal("save nav", err)
	}
	return nil
}

func validateTree(items []models.NavItem) error {
	if len(items) > 50 {
		return models.Errorf(models.EInvalid, "The navigation holds at most 50 top-level links.")
	}
	for _, it := range items {
		if err := models.ValidateNavItem(it); err != nil {
			return err
		}
		if len(it.Children) > 30 {
			return models.Errorf(models.EInvalid, "A link holds at most 30 links under it.")
		}
		for _, ch := range it.Children {
			if len(ch.Children) > 0 {
				return models.Errorf(models.EInvalid, "The navigation has two levels.")
			}
			if err := models.ValidateNavItem(ch); err != nil {
				return err
			}
		}
	}
	return nil
}

func isUnique(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "23505"
}
