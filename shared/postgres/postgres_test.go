package postgres_test

import (
	"context"
	"errors"
	"net/url"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/jackc/pgx/v5/pgxpool"

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
	pool, err := postgres.Open(ctx, u.String(), postgres.PoolOptions{MaxConns: 2})
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

// boundedPool opens a pool with second-long bounds on the test database
// behind a fault proxy.
func boundedPool(t *testing.T, pgbouncer bool) (*faultproxy.Proxy, *pgxpool.Pool) {
	t.Helper()
	u, err := url.Parse(pgtest.MustDatabaseURL(t))
	if err != nil {
		t.Fatal(err)
	}
	proxy := faultproxy.MustStart(t, u.Host)
	u.Host = proxy.Addr()
	pool, err := postgres.Open(context.Background(), u.String(), postgres.PoolOptions{MaxConns: 3,
		ConnectTimeout: time.Second, StatementTimeout: time.Second, IdleTimeout: time.Minute, PgBouncer: pgbouncer})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return proxy, pool
}

// A PostgreSQL that stops answering (a black hole: nothing refused,
// nothing comes back) fails statements on open connections and new
// connections within the bounds instead of holding them until the
// caller's own deadline; once it answers again, so does the pool.
func TestASilentServerFailsWithinTheBounds(t *testing.T) {
	for _, pgbouncer := range []bool{false, true} { // the client-side bound alone, as through PgBouncer
		proxy, pool := boundedPool(t, pgbouncer)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second) // a request's deadline
		defer cancel()
		var one int
		if err := pool.QueryRow(ctx, `SELECT 1`).Scan(&one); err != nil {
			t.Fatal(err)
		}
		proxy.Freeze()
		for _, what := range []string{"on an open connection", "again (a new connection)"} {
			start := time.Now()
			err := pool.QueryRow(ctx, `SELECT 1`).Scan(&one)
			if took := time.Since(start); err == nil || took > 10*time.Second {
				t.Fatalf("pgbouncer=%v: a query %s to a silent server: %v after %s, want an error within seconds", pgbouncer, what, err, took)
			}
		}
		proxy.Restore()
		deadline := time.Now().Add(20 * time.Second)
		for pool.QueryRow(ctx, `SELECT 1`).Scan(&one) != nil {
			if time.Now().After(deadline) {
				t.Fatalf("pgbouncer=%v: queries still fail 20s after the server answers again", pgbouncer)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
}

// A live but slow statement is cancelled by the server at
// statement_timeout, and the connection stays usable.
func TestTheServerCancelsALongStatement(t *testing.T) {
	_, pool := boundedPool(t, false)
	ctx := context.Background()
	conn, err := pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	_, err = conn.Exec(ctx, `SELECT pg_sleep(20)`)
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "57014" {
		t.Fatalf("a 20 s statement with a 1 s statement timeout: %v, want the server's cancellation (57014)", err)
	}
	var one int
	if err := conn.QueryRow(ctx, `SELECT 1`).Scan(&one); err != nil {
		t.Fatalf("the connection after a cancelled statement: %v", err)
	}
}

// Waiting for a notification (River's listener) is not a statement: it
// outlasts the statement bound and still receives what is sent.
func TestNotificationWaitsAreNotBounded(t *testing.T) {
	_, pool := boundedPool(t, false)
	ctx := context.Background()
	conn, err := pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, `LISTEN roseash_test`); err != nil {
		t.Fatal(err)
	}
	go func() {
		time.Sleep(3 * time.Second) // past the 2 s client-side bound
		_, _ = pool.Exec(ctx, `SELECT pg_notify('roseash_test', 'hello')`)
	}()
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	n, err := conn.Conn().WaitForNotification(wctx)
	if err != nil || n.Payload != "hello" {
		t.Fatalf("waiting for a notification: %v %+v", err, n)
	}
}
