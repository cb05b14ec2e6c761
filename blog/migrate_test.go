package main

import (
	"context"
	"testing"

	"rose-ash.com/platform/shared/postgres"
	"rose-ash.com/platform/shared/postgres/pgtest"
	"rose-ash.com/platform/shared/servicetest"
)

// With RUN_MIGRATIONS=true the blog brings an empty database to the latest
// schema before it serves.
func TestBlogAppliesMigrationsWhenAsked(t *testing.T) {
	empty := pgtest.MustEmptyDatabaseURL(t)
	s := servicetest.Start(t, "blog", run, servicetest.Options{
		DatabaseURL: empty, Env: map[string]string{"RUN_MIGRATIONS": "true", "DATABASE_WAIT": "1s"},
	})
	v, dirty, err := postgres.MigrationVersion(context.Background(), s.DatabaseURL)
	if err != nil || dirty || v == 0 {
		t.Fatalf("after blog start-up: version %d dirty=%v err=%v, want migrated", v, dirty, err)
	}
}

// Without RUN_MIGRATIONS the blog leaves the schema alone.
func TestBlogDoesNotMigrateByDefault(t *testing.T) {
	empty := pgtest.MustEmptyDatabaseURL(t)
	servicetest.Start(t, "blog", run, servicetest.Options{DatabaseURL: empty, Env: map[string]string{"DATABASE_WAIT": "1s"}})
	if v, _, err := postgres.MigrationVersion(context.Background(), empty); err != nil || v != 0 {
		t.Fatalf("version %d err=%v, want an untouched database", v, err)
	}
}
