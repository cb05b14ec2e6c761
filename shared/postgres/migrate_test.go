package postgres_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"

	"rose-ash.com/platform/shared/postgres"
	"rose-ash.com/platform/shared/postgres/pgtest"
)

func tables(t *testing.T, dbURL string) []string {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	rows, _ := conn.Query(ctx, `SELECT table_name::text FROM information_schema.tables
		WHERE table_schema = 'public' AND table_name <> 'schema_migrations' ORDER BY 1`)
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return names
}

// Every migration must apply, revert completely, and apply again.
func TestMigrationsRoundTrip(t *testing.T) {
	ctx := context.Background()
	dbURL := pgtest.MustEmptyDatabaseURL(t)

	if err := postgres.Migrate(ctx, dbURL); err != nil {
		t.Fatalf("up: %v", err)
	}
	up := tables(t, dbURL)
	if len(up) == 0 {
		t.Fatal("no tables after migrating up")
	}
	v, dirty, err := postgres.MigrationVersion(ctx, dbURL)
	if err != nil || dirty || v == 0 {
		t.Fatalf("version after up = %d dirty=%v err=%v", v, dirty, err)
	}
	if err := postgres.Migrate(ctx, dbURL); err != nil {
		t.Fatalf("second up is not a no-op: %v", err)
	}

	if err := postgres.MigrateDown(ctx, dbURL); err != nil {
		t.Fatalf("down: %v", err)
	}
	if left := tables(t, dbURL); len(left) != 0 {
		t.Fatalf("tables left after migrating down: %v", left)
	}
	if v, _, _ := postgres.MigrationVersion(ctx, dbURL); v != 0 {
		t.Fatalf("version after down = %d", v)
	}

	if err := postgres.Migrate(ctx, dbURL); err != nil {
		t.Fatalf("up again: %v", err)
	}
	if again := tables(t, dbURL); len(again) != len(up) {
		t.Fatalf("tables after up, down, up = %v, want %v", again, up)
	}
}

func TestInTxRollsBackOnError(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.MustPool(t)
	err := postgres.InTx(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO users (email) VALUES ('a@example.org')`); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO users (email) VALUES ('A@example.org')`) // same address, other case
		return err
	})
	if err == nil {
		t.Fatal("duplicate email accepted")
	}
	var n int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM users`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Fatalf("partial write: %d users after a failed transaction", n)
	}
}

func TestCreateDatabaseIsIdempotent(t *testing.T) {
	ctx := context.Background()
	dbURL := pgtest.MustEmptyDatabaseURL(t)
	if err := postgres.CreateDatabase(ctx, dbURL); err != nil {
		t.Fatalf("creating an existing database: %v", err)
	}
}
