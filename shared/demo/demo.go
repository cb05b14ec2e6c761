// Package demo seeds a development database with a few realistic records so
// that every page has something to show. Seeding is idempotent: running it
// again adds nothing that is already there.
package demo

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"rose-ash.com/platform/shared/postgres"
)

// Users are the demo accounts: one admin and a few members.
var Users = []struct {
	Email, Username, DisplayName string
	Admin                        bool
}{
	{AdminEmail, "admin", "Rose Ash Admin", true},
	{"maya.okafor@example.org", "maya", "Maya Okafor", false},
	{"tom.bright@example.org", "tom", "Tom Bright", false},
	{"lena.fischer@example.org", "lena", "Lena Fischer", false},
}

// AdminEmail is the demo administrator's address; `make up` prints a
// sign-in link for it.
const AdminEmail = "admin@rose-ash.localhost"

const insertUser = `
INSERT INTO users (email, username, display_name, is_admin)
VALUES ($1, $2, $3, $4)
ON CONFLICT ((lower(email))) DO NOTHING`

// Seed inserts the demo records that are missing, in one transaction.
func Seed(ctx context.Context, db *pgxpool.Pool) error {
	return postgres.InTx(ctx, db, func(tx pgx.Tx) error {
		for _, u := range Users {
			if _, err := tx.Exec(ctx, insertUser, u.Email, u.Username, u.DisplayName, u.Admin); err != nil {
				return fmt.Errorf("demo: seed user %s: %w", u.Email, err)
			}
		}
		return nil
	})
}
