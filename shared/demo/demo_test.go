package demo_test

import (
	"context"
	"testing"

	"rose-ash.com/platform/shared/demo"
	"rose-ash.com/platform/shared/postgres/pgtest"
)

// Seeding twice leaves exactly one copy of each demo record.
func TestSeedIsIdempotent(t *testing.T) {
	ctx := context.Background()
	db := pgtest.MustPool(t)
	for i := 0; i < 2; i++ {
		if err := demo.Seed(ctx, db); err != nil {
			t.Fatalf("seed run %d: %v", i+1, err)
		}
	}
	var users, admins int
	if err := db.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE is_admin) FROM users`).Scan(&users, &admins); err != nil {
		t.Fatal(err)
	}
	if users != len(demo.Users) || admins != 1 {
		t.Fatalf("after seeding twice: %d users (%d admins), want %d (1)", users, admins, len(demo.Users))
	}
}
