package main

import (
	"context"
	"testing"

	"rose-ash.com/platform/shared/postgres"
	"rose-ash.com/platform/shared/postgres/pgtest"
	"rose-ash.com/platform/shared/servicetest"
)

// Only the blog migrates: RUN_MIGRATIONS=true is ignored by other services.
func TestMarketNeverMigrates(t *testing.T) {
	empty := pgtest.MustEmptyDatabaseURL(t)
	servicetest.Start(t, "market", run, servicetest.Options{
		DatabaseURL: empty, Env: map[string]string{"RUN_MIGRATIONS": "true", "DATABASE_WAIT": "1s"},
	})
	if v, _, err := postgres.MigrationVersion(context.Background(), empty); err != nil || v != 0 {
		t.Fatalf("version %d err=%v: market migrated the database", v, err)
	}
}
