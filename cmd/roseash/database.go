package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"rose-ash.com/platform/shared/config"
	"rose-ash.com/platform/shared/demo"
	"rose-ash.com/platform/shared/media"
	"rose-ash.com/platform/shared/postgres"
	"rose-ash.com/platform/shared/services/identity"
)

// databaseURL returns DATABASE_URL; these commands need nothing else of the
// config, so they work before the rest is set.
func databaseURL(getenv func(string) string) (string, error) {
	u := getenv("DATABASE_URL")
	if u == "" {
		return "", errors.New("DATABASE_URL is not set (e.g. postgres://postgres@127.0.0.1:5432/roseash?sslmode=disable)")
	}
	return u, nil
}

// migrationURL returns MIGRATE_DATABASE_URL, the direct connection a
// deployment behind PgBouncer gives migrations, or else DATABASE_URL.
func migrationURL(getenv func(string) string) (string, error) {
	if u := getenv("MIGRATE_DATABASE_URL"); u != "" {
		return u, nil
	}
	return databaseURL(getenv)
}

// cliPool is the pool of a one-off command: maxConns connections, a bounded
// connect, and statements left unbounded (a seed or an import may take a
// while).
func cliPool(ctx context.Context, dbURL string, maxConns int32) (*pgxpool.Pool, error) {
	return postgres.Open(ctx, dbURL, postgres.PoolOptions{MaxConns: maxConns, ConnectTimeout: 10 * time.Second})
}

// prepareDatabase creates the database if needed, applies migrations and
// seeds the demo records, their images into the media directory mediaDir
// (none when it is empty).
func prepareDatabase(ctx context.Context, dbURL, mediaDir string, stdout io.Writer) error {
	if err := postgres.CreateDatabase(ctx, dbURL); err != nil {
		return err
	}
	if err := postgres.Migrate(ctx, dbURL); err != nil {
		return err
	}
	v, _, err := postgres.MigrationVersion(ctx, dbURL)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "database %s at migration %d\n", databaseName(dbURL), v)
	return seed(ctx, dbURL, mediaDir, stdout)
}

func seed(ctx context.Context, dbURL, mediaDir string, stdout io.Writer) error {
	var store media.Store
	if mediaDir != "" {
		disk, err := media.NewDiskStore(mediaDir)
		if err != nil {
			return err
		}
		store = disk
	}
	pool, err := cliPool(ctx, dbURL, 2)
	if err != nil {
		return err
	}
	defer pool.Close()
	if err := demo.Seed(ctx, pool, store); err != nil {
		return err
	}
	fmt.Fprintln(stdout, "demo content seeded")
	return nil
}

func migrateCmd(ctx context.Context, getenv func(string) string, stdout io.Writer) error {
	dbURL, err := migrationURL(getenv)
	if err != nil {
		return err
	}
	if err := postgres.CreateDatabase(ctx, dbURL); err != nil {
		return err
	}
	if err := postgres.Migrate(ctx, dbURL); err != nil {
		return err
	}
	v, _, err := postgres.MigrationVersion(ctx, dbURL)
	fmt.Fprintf(stdout, "database %s at migration %d\n", databaseName(dbURL), v)
	return err
}

func seedCmd(ctx context.Context, getenv func(string) string, stdout io.Writer) error {
	cfg, err := config.Load(getenv)
	if err != nil {
		return err
	}
	return seed(ctx, cfg.DatabaseURL, cfg.Media.Dir, stdout)
}

// schemaCmd migrates a scratch database and prints its schema.
func schemaCmd(ctx context.Context, getenv func(string) string, stdout io.Writer) error {
	dbURL, err := databaseURL(getenv)
	if err != nil {
		return err
	}
	u, err := url.Parse(dbURL)
	if err != nil {
		return err
	}
	u.Path = fmt.Sprintf("/roseash_schema_%d", time.Now().UnixNano())
	scratch := u.String()
	if err := postgres.CreateDatabase(ctx, scratch); err != nil {
		return err
	}
	defer postgres.DropDatabase(context.WithoutCancel(ctx), scratch) //nolint:errcheck // best effort
	if err := postgres.Migrate(ctx, scratch); err != nil {
		return err
	}
	dump, err := postgres.DumpSchema(ctx, scratch)
	if err != nil {
		return err
	}
	_, err = io.WriteString(stdout, dump)
	return err
}

// signInLink issues a magic link for email that, once opened, finishes on
// next (a URL on one of the services).
func signInLink(ctx context.Context, cfg *config.Config, email, next string) (string, error) {
	pool, err := cliPool(ctx, cfg.DatabaseURL, 2)
	if err != nil {
		return "", err
	}
	defer pool.Close()
	tok, err := identity.New(pool).IssueMagicLink(ctx, email, next, cfg.Auth.MagicLinkTTL.Std())
	if err != nil {
		return "", err
	}
	return strings.TrimSuffix(cfg.Service("federation").PublicURL, "/") + "/auth/magic?token=" + url.QueryEscape(tok), nil
}

// signInLinkCmd prints a sign-in link for an address, ending on the blog.
func signInLinkCmd(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	if len(args) != 1 {
		return errors.New("usage: roseash signin-link EMAIL")
	}
	cfg, err := config.Load(getenv)
	if err != nil {
		return err
	}
	link, err := signInLink(ctx, cfg, args[0], cfg.Service("blog").PublicURL+"/auth/login?next=/")
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, link)
	return nil
}

func databaseName(dbURL string) string {
	if u, err := url.Parse(dbURL); err == nil {
		return strings.TrimPrefix(u.Path, "/")
	}
	return "?"
}
