package postgres

import (
	"context"
	"errors"
	"fmt"
	"net/url"

	"github.com/golang-migrate/migrate/v4"
	_ "github.com/golang-migrate/migrate/v4/database/pgx/v5" // registers the pgx5:// driver
	"github.com/golang-migrate/migrate/v4/source/iofs"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"

	"rose-ash.com/platform/migrations"
)

// Migrate applies every embedded migration not yet applied to the database
// at databaseURL, then River's own migrations (the job queue's tables, which
// River versions itself). Concurrent callers (several blog replicas) are
// serialized by the drivers' advisory locks.
func Migrate(ctx context.Context, databaseURL string) error {
	err := withMigrator(ctx, databaseURL, func(m *migrate.Migrate) error {
		if err := m.Up(); err != nil && !errors.Is(err, migrate.ErrNoChange) {
			return fmt.Errorf("postgres: migrate up: %w", err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	return withRiver(ctx, databaseURL, func(m *rivermigrate.Migrator[pgx.Tx]) error {
		if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
			return fmt.Errorf("postgres: migrate the job queue up: %w", err)
		}
		return nil
	})
}

// RiverMigrations lists River's migrations (what Migrate applies after the
// platform's own), so that anything fingerprinting the schema can include them.
func RiverMigrations() []rivermigrate.Migration {
	m, err := rivermigrate.New(riverpgxv5.New(nil), nil)
	if err != nil {
		panic("postgres: job queue migrator: " + err.Error())
	}
	return m.AllVersions()
}

// withRiver runs fn with River's migrator on a short-lived pool.
func withRiver(ctx context.Context, databaseURL string, fn func(*rivermigrate.Migrator[pgx.Tx]) error) error {
	pool, err := pgxpool.New(ctx, databaseURL)
	if err != nil {
		return fmt.Errorf("postgres: open pool for the job queue migrations: %w", redact(err, databaseURL))
	}
	defer pool.Close()
	m, err := rivermigrate.New(riverpgxv5.New(pool), nil)
	if err != nil {
		return fmt.Errorf("postgres: job queue migrator: %w", err)
	}
	return fn(m)
}

// MigrateDown reverts every applied migration. It exists for tests and for
// operators rebuilding a development database.
func MigrateDown(ctx context.Context, databaseURL string) error {
	err := withRiver(ctx, databaseURL, func(m *rivermigrate.Migrator[pgx.Tx]) error {
		if _, err := m.Migrate(ctx, rivermigrate.DirectionDown, &rivermigrate.MigrateOpts{TargetVersion: -1}); err != nil {
			return fmt.Errorf("postgres: migrate the job queue down: %w", err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	return withMigrator(ctx, databaseURL, func(m *migrate.Migrate) error {
		if err := m.Down(); err != nil && !errors.Is(err, migrate.ErrNoChange) {
			return fmt.Errorf("postgres: migrate down: %w", err)
		}
		return nil
	})
}

// MigrationVersion returns the applied schema version and whether a failed
// migration left the database dirty; version 0 means none applied.
func MigrationVersion(ctx context.Context, databaseURL string) (version uint, dirty bool, err error) {
	err = withMigrator(ctx, databaseURL, func(m *migrate.Migrate) error {
		version, dirty, err = m.Version()
		if errors.Is(err, migrate.ErrNilVersion) {
			version, dirty, err = 0, false, nil
		}
		return err
	})
	return version, dirty, err
}

func withMigrator(ctx context.Context, databaseURL string, fn func(*migrate.Migrate) error) error {
	src, err := iofs.New(migrations.FS, ".")
	if err != nil {
		return fmt.Errorf("postgres: read embedded migrations: %w", err)
	}
	u, err := url.Parse(databaseURL)
	if err != nil {
		return fmt.Errorf("postgres: parse database URL: %w", redact(err, databaseURL))
	}
	u.Scheme = "pgx5"
	m, err := migrate.NewWithSourceInstance("iofs", src, u.String())
	if err != nil {
		return fmt.Errorf("postgres: open migrator: %w", redact(err, databaseURL))
	}
	defer m.Close()
	done := make(chan struct{})
	defer close(done)
	go func() {
		select {
		case <-ctx.Done():
			select {
			case m.GracefulStop <- true:
			default:
			}
		case <-done:
		}
	}()
	return fn(m)
}
