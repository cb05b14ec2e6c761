// Package postgres opens the platform's PostgreSQL pool, runs transactions,
// creates databases and applies the embedded migrations.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"syscall"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Open returns a pool for databaseURL holding at most maxConns connections.
// It does not wait for the server: the pool connects on first use and
// reconnects by itself, so a service starts (and reports not ready) while
// PostgreSQL is still coming up.
func Open(ctx context.Context, databaseURL string, maxConns int32) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(databaseURL)
	if err != nil {
		return nil, fmt.Errorf("postgres: parse DATABASE_URL: %w", redact(err, databaseURL))
	}
	if maxConns > 0 {
		cfg.MaxConns = maxConns
	}
	// A connection the server (or a proxy) closed while it sat in the pool
	// is dropped before it is handed out, and the query goes to a fresh
	// one: with the job queue touching connections every second, pgx's own
	// check (a ping after a second idle) would miss it, and the first
	// request after an outage would fail. The check is one non-blocking
	// peek at the socket; a ping on every use cost a round trip per query
	// (measured, a tenth of the signed-in blog home's time).
	cfg.PrepareConn = func(_ context.Context, c *pgx.Conn) (bool, error) { return socketOpen(c.PgConn().Conn()), nil }
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: open pool: %w", err)
	}
	return pool, nil
}

// InTx runs fn in one transaction: committed when fn returns nil, rolled
// back otherwise. A transaction the server aborted for a serialization
// failure or a deadlock is retried once, so fn must be safe to run again.
func InTx(ctx context.Context, db interface {
	Begin(context.Context) (pgx.Tx, error)
}, fn func(pgx.Tx) error) error {
	err := pgx.BeginFunc(ctx, db, fn)
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && (pgErr.Code == "40001" || pgErr.Code == "40P01") {
		err = pgx.BeginFunc(ctx, db, fn)
	}
	return err
}

// CreateDatabase creates the database named in databaseURL when it does not
// exist, connecting to the server's "postgres" database to do so.
func CreateDatabase(ctx context.Context, databaseURL string) error {
	u, err := url.Parse(databaseURL)
	if err != nil {
		return fmt.Errorf("postgres: parse database URL: %w", redact(err, databaseURL))
	}
	name := strings.TrimPrefix(u.Path, "/")
	if name == "" {
		return errors.New("postgres: database URL names no database")
	}
	admin := *u
	admin.Path = "/postgres"
	conn, err := pgx.Connect(ctx, admin.String())
	if err != nil {
		return fmt.Errorf("postgres: connect to create database %s: %w", name, err)
	}
	defer conn.Close(ctx)
	var exists bool
	if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, name).Scan(&exists); err != nil {
		return fmt.Errorf("postgres: look up database %s: %w", name, err)
	}
	if exists {
		return nil
	}
	_, err = conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize())
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "42P04" { // created meanwhile by someone else
		return nil
	}
	if err != nil {
		return fmt.Errorf("postgres: create database %s: %w", name, err)
	}
	return nil
}

// DropDatabase drops the database named in databaseURL, closing other
// sessions connected to it.
func DropDatabase(ctx context.Context, databaseURL string) error {
	u, err := url.Parse(databaseURL)
	if err != nil {
		return fmt.Errorf("postgres: parse database URL: %w", redact(err, databaseURL))
	}
	name := strings.TrimPrefix(u.Path, "/")
	admin := *u
	admin.Path = "/postgres"
	conn, err := pgx.Connect(ctx, admin.String())
	if err != nil {
		return fmt.Errorf("postgres: connect to drop database %s: %w", name, err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
		return fmt.Errorf("postgres: drop database %s: %w", name, err)
	}
	return nil
}

// redact keeps a password in a connection string out of error messages.
func redact(err error, databaseURL string) error {
	if u, perr := url.Parse(databaseURL); perr == nil && u.User != nil {
		if p, ok := u.User.Password(); ok && p != "" {
			return errors.New(strings.ReplaceAll(err.Error(), p, "xxxxx"))
		}
	}
	return err
}

// socketOpen reports whether c's socket may still be used: a peek that
// neither waits nor consumes finds a close (end of stream, a reset) or
// data nobody asked for (the server's goodbye) on an idle connection.
// Connections it cannot look into count as open.
func socketOpen(c net.Conn) bool {
	if t, ok := c.(interface{ NetConn() net.Conn }); ok {
		c = t.NetConn() // under TLS
	}
	sc, ok := c.(syscall.Conn)
	if !ok {
		return true
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return true
	}
	open := true
	var buf [1]byte
	err = raw.Read(func(fd uintptr) bool {
		n, _, err := syscall.Recvfrom(int(fd), buf[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		open = n < 0 && (errors.Is(err, syscall.EAGAIN) || errors.Is(err, syscall.EINTR))
		return true
	})
	return open && err == nil
}
