// Package pgtest gives tests a fresh PostgreSQL database with every
// migration applied, on the real server named by TEST_DATABASE_URL.
package pgtest

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"rose-ash.com/platform/migrations"
	"rose-ash.com/platform/shared/postgres"
)

// DefaultAdminURL is used when TEST_DATABASE_URL is unset: the local server's
// maintenance database, as `make test` provides it.
const DefaultAdminURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

var template struct {
	once sync.Once
	name string
	err  error
}

// AdminURL returns the connection string of the server's maintenance
// database that tests create their databases from.
func AdminURL() string {
	if u := os.Getenv("TEST_DATABASE_URL"); u != "" {
		return u
	}
	return DefaultAdminURL
}

// MustDatabaseURL creates a new, empty-of-data database with all migrations
// applied and returns its URL; the database is dropped when the test ends.
// It is cheap: databases are copied from a migrated template that is built
// once per set of migrations.
func MustDatabaseURL(tb testing.TB) string {
	tb.Helper()
	ctx := context.Background()
	tmpl, err := migratedTemplate(ctx)
	if err != nil {
		tb.Fatalf("pgtest: prepare template database (is PostgreSQL running? TEST_DATABASE_URL=%s): %v", AdminURL(), err)
	}
	name := "roseash_test_" + randomHex(6)
	conn, err := pgx.Connect(ctx, AdminURL())
	if err != nil {
		tb.Fatalf("pgtest: connect: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, fmt.Sprintf("CREATE DATABASE %s TEMPLATE %s",
		pgx.Identifier{name}.Sanitize(), pgx.Identifier{tmpl}.Sanitize())); err != nil {
		tb.Fatalf("pgtest: create database %s: %v", name, err)
	}
	dbURL := withDatabase(AdminURL(), name)
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := postgres.DropDatabase(ctx, dbURL); err != nil {
			tb.Errorf("pgtest: %v", err)
		}
	})
	return dbURL
}

// MustPool returns a pool on a fresh migrated database (see MustDatabaseURL),
// closed when the test ends.
func MustPool(tb testing.TB) *pgxpool.Pool {
	tb.Helper()
	pool, err := pgxpool.New(context.Background(), MustDatabaseURL(tb))
	if err != nil {
		tb.Fatalf("pgtest: open pool: %v", err)
	}
	tb.Cleanup(pool.Close)
	return pool
}

// MustEmptyDatabaseURL creates a database with no migrations applied, for
// tests of the migrations themselves; it is dropped when the test ends.
func MustEmptyDatabaseURL(tb testing.TB) string {
	tb.Helper()
	ctx := context.Background()
	dbURL := withDatabase(AdminURL(), "roseash_test_"+randomHex(6))
	if err := postgres.CreateDatabase(ctx, dbURL); err != nil {
		tb.Fatalf("pgtest: %v", err)
	}
	tb.Cleanup(func() {
		if err := postgres.DropDatabase(context.Background(), dbURL); err != nil {
			tb.Errorf("pgtest: %v", err)
		}
	})
	return dbURL
}

// migratedTemplate builds, once per process and once per migration set across
// processes (under an advisory lock), a template database named after the hash
// of the migrations.
func migratedTemplate(ctx context.Context) (string, error) {
	template.once.Do(func() {
		template.name, template.err = buildTemplate(ctx)
	})
	return template.name, template.err
}

func buildTemplate(ctx context.Context) (string, error) {
	sum, err := migrationsHash()
	if err != nil {
		return "", err
	}
	name := "roseash_tmpl_" + sum[:12]
	conn, err := pgx.Connect(ctx, AdminURL())
	if err != nil {
		return "", err
	}
	defer conn.Close(ctx)
	// Several test binaries start at once: one builds, the others wait.
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock(724031)"); err != nil {
		return "", err
	}
	defer conn.Exec(context.Background(), "SELECT pg_advisory_unlock(724031)") //nolint:errcheck // released with the connection anyway
	var ready bool
	err = conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1 AND datistemplate)`, name).Scan(&ready)
	if err != nil || ready {
		return name, err
	}
	tmplURL := withDatabase(AdminURL(), name)
	if err := postgres.DropDatabase(ctx, tmplURL); err != nil { // a half-built one from an interrupted run
		return "", err
	}
	if err := postgres.CreateDatabase(ctx, tmplURL); err != nil {
		return "", err
	}
	if err := postgres.Migrate(ctx, tmplURL); err != nil {
		return "", err
	}
	if _, err := conn.Exec(ctx, "ALTER DATABASE "+pgx.Identifier{name}.Sanitize()+" WITH is_template true"); err != nil {
		return "", err
	}
	return name, nil
}

func migrationsHash() (string, error) {
	h := sha256.New()
	err := fs.WalkDir(migrations.FS, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(migrations.FS, path)
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "%s\x00%d\x00", path, len(b))
		h.Write(b)
		return nil
	})
	// River's migrations run after ours; its version is part of the schema.
	for _, m := range postgres.RiverMigrations() {
		fmt.Fprintf(h, "river\x00%d\x00%s", m.Version, m.SQLUp)
	}
	return hex.EncodeToString(h.Sum(nil)), err
}

func withDatabase(adminURL, name string) string {
	u, err := url.Parse(adminURL)
	if err != nil {
		panic("pgtest: TEST_DATABASE_URL is not a URL: " + err.Error())
	}
	u.Path = "/" + name
	return u.String()
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
