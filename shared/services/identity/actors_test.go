package identity_test

import (
	"context"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"rose-ash.com/platform/shared/models"
	"rose-ash.com/platform/shared/postgres/pgtest"
	"rose-ash.com/platform/shared/services/identity"
)

func TestSetActorLockedIsKeptOnlyWhenItsTransactionCommits(t *testing.T) {
	ctx := context.Background()
	db := pgtest.MustPool(t)
	var id uuid.UUID
	if err := db.QueryRow(ctx, `INSERT INTO users (email, username) VALUES ('locked@example.org', 'locked') RETURNING id`).Scan(&id); err != nil {
		t.Fatal(err)
	}
	locked := func() bool {
		t.Helper()
		var l bool
		if err := db.QueryRow(ctx, `SELECT fediverse_locked FROM users WHERE id = $1`, id).Scan(&l); err != nil {
			t.Fatal(err)
		}
		return l
	}
	// Rolled back with the rest of its transaction (the actor's Update).
	tx, err := db.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := identity.SetActorLocked(ctx, tx, id, true); err != nil {
		t.Fatal(err)
	}
	_ = tx.Rollback(ctx)
	if locked() {
		t.Fatal("a rolled-back lock was kept")
	}
	if err := pgx.BeginFunc(ctx, db, func(tx pgx.Tx) error { return identity.SetActorLocked(ctx, tx, id, true) }); err != nil {
		t.Fatal(err)
	}
	if !locked() {
		t.Fatal("the account is not locked")
	}
	if err := pgx.BeginFunc(ctx, db, func(tx pgx.Tx) error { return identity.SetActorLocked(ctx, tx, id, false) }); err != nil {
		t.Fatal(err)
	}
	if locked() {
		t.Fatal("the account is still locked")
	}
	err = pgx.BeginFunc(ctx, db, func(tx pgx.Tx) error { return identity.SetActorLocked(ctx, tx, uuid.New(), true) })
	if models.Code(err) != models.ENotFound {
		t.Fatalf("an unknown user: %v, want ENotFound", err)
	}
}
