package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"rose-ash.com/platform/shared/faultproxy"
	"rose-ash.com/platform/shared/models"
	"rose-ash.com/platform/shared/postgres"
	"rose-ash.com/platform/shared/postgres/pgtest"
)

// A database that is away (refusing, silent, or closing connections) is
// told apart from a query that is wrong, so that visitors get "try again
// in a moment" (503) instead of "something broke" (500).
func TestUnavailableTellsOutagesFromBadQueries(t *testing.T) {
	dbURL := pgtest.MustDatabaseURL(t)
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	proxy := faultproxy.MustStart(t, u.Host)
	u.Host = proxy.Addr()
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, u.String())
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()

	query := func() error {
		ctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
		defer cancel()
		var one int
		return pool.QueryRow(ctx, `SELECT 1`).Scan(&one)
	}
	if err := query(); err != nil {
		t.Fatal(err)
	}
	for _, fault := range []string{"cut", "frozen"} {
		if fault == "cut" {
			proxy.Cut()
		} else {
			proxy.Freeze()
		}
		err := query()
		if err == nil {
			t.Fatalf("database %s: the query succeeded", fault)
		}
		// As the services' stores report it: wrapped, maybe as a domain error.
		err = models.Wrap(models.EInternal, "", fmt.Errorf("posts: listing: %w", err))
		if !postgres.Unavailable(err) {
			t.Errorf("database %s: Unavailable(%v) = false", fault, err)
		}
		proxy.Restore()
	}

	var n int
	for _, q := range []string{`SELEC 1`, `SELECT 1/0`, `SELECT 1 WHERE false`} {
		err := pool.QueryRow(ctx, q).Scan(&n)
		if err == nil {
			t.Fatalf("%s succeeded", q)
		}
		if postgres.Unavailable(err) {
			t.Errorf("%s: Unavailable(%v) = true, want false (the query is wrong, not the database)", q, err)
		}
	}
	for _, err := range []error{nil, errors.New("posts: bad slug"), pgx.ErrNoRows,
		&pgconn.PgError{Code: "23505"}} {
		if postgres.Unavailable(err) {
			t.Errorf("Unavailable(%v) = true", err)
		}
	}
	for _, err := range []error{&pgconn.PgError{Code: "57P01"}, &pgconn.PgError{Code: "53300"},
		&pgconn.PgError{Code: "57014"}, &pgconn.PgError{Code: "08006"}, context.DeadlineExceeded} {
		if !postgres.Unavailable(fmt.Errorf("wrapped: %w", err)) {
			t.Errorf("Unavailable(%v) = false", err)
		}
	}
}
