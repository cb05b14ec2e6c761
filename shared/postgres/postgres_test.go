package postgres_test

import (
	"context"
	"net/url"
	"testing"

	"rose-ash.com/platform/shared/faultproxy"
	"rose-ash.com/platform/shared/postgres"
	"rose-ash.com/platform/shared/postgres/pgtest"
)

// A pooled connection cut while idle (the database restarted, a proxy
// dropped it) is never handed to a query: the first query after the
// outage succeeds, on a fresh connection.
func TestTheFirstQueryAfterAnOutageSucceeds(t *testing.T) {
	dbURL := pgtest.MustDatabaseURL(t)
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	proxy := faultproxy.MustStart(t, u.Host)
	u.Host = proxy.Addr()
	ctx := context.Background()
	pool, err := postgres.Open(ctx, u.String(), 2)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	var one int
	if err := pool.QueryRow(ctx, `SELECT 1`).Scan(&one); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		proxy.Cut()
		proxy.Restore()
		if err := pool.QueryRow(ctx, `SELECT 1`).Scan(&one); err != nil {
			t.Fatalf("the first query after the connection was cut: %v", err)
		}
	}
}
