// Package postgres opens the platform's PostgreSQL pool, runs transactions,
// creates databases and applies the embedded migrations.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// PoolOptions size a pool and bound how long its connections may wait on
// the server. Zero values leave pgx's defaults (no bounds).
type PoolOptions struct {
	// MaxConns is the most connections the pool holds.
	MaxConns int32
	// ConnectTimeout bounds opening one connection, TLS and authentication
	// included.
	ConnectTimeout time.Duration
	// StatementTimeout bounds one statement: sent to the server as its
	// statement_timeout (except through PgBouncer, which refuses it), and
	// enforced by the client a second later for a server that says nothing
	// at all (see statementBound).
	StatementTimeout time.Duration
	// IdleTimeout closes a connection left unused this long.
	IdleTimeout time.Duration
	// PgBouncer says the URL reaches PostgreSQL through PgBouncer in
	// transaction mode, where consecutive transactions of one client
	// connection may run on different server connections: queries then use
	// no named prepared statements (pgx's exec mode, one round trip, the
	// unnamed statement) and no session settings are sent.
	PgBouncer bool
}

// statementGrace is how much longer than the server's statement_timeout the
// client waits before it gives up on a server that said nothing: a live
// server cancels the statement first (an error, the connection kept).
const statementGrace = time.Second

// Open returns a pool for databaseURL shaped by opts. It does not wait for
// the server: the pool connects on first use and reconnects by itself, so a
// service starts (and reports not ready) while PostgreSQL is still coming
// up. It returns an error when databaseURL does not parse.
func Open(ctx context.Context, databaseURL string, opts PoolOptions) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(databaseURL)
	if err != nil {
		return nil, fmt.Errorf("postgres: parse DATABASE_URL: %w", redact(err, databaseURL))
	}
	if opts.MaxConns > 0 {
		cfg.MaxConns = opts.MaxConns
	}
	if opts.ConnectTimeout > 0 {
		// The whole connect (TCP, TLS, start-up, authentication), so a
		// server that accepts and then says nothing is bounded too.
		cfg.ConnConfig.ConnectTimeout = opts.ConnectTimeout
	}
	if opts.IdleTimeout > 0 {
		cfg.MaxConnIdleTime = opts.IdleTimeout
		// The health check is what closes idle connections: run it often
		// enough that they go within about a quarter of the idle time.
		cfg.HealthCheckPeriod = min(cfg.HealthCheckPeriod, max(opts.IdleTimeout/4, time.Second))
	}
	if opts.PgBouncer {
		cfg.ConnConfig.DefaultQueryExecMode = pgx.QueryExecModeExec
	}
	if opts.StatementTimeout > 0 {
		if !opts.PgBouncer {
			cfg.ConnConfig.RuntimeParams["statement_timeout"] = strconv.FormatInt(opts.StatementTimeout.Milliseconds(), 10)
		}
		cfg.ConnConfig.Tracer = statementBound(opts.StatementTimeout + statementGrace)
	}
	// A connection the server (or a proxy) closed while it sat in the pool
	// is dropped before it is handed out, and the query goes to a fresh
	// one: with the job queue touching connections every second, pgx's own
	// check (a ping after a second idle) would miss it, and the first
	// request after an outage would fail. The check is one non-blocking
	// peek at the socket; a ping on every use cost a round trip per query
	// (measured, a tenth of the signed-in blog home's time).
	cfg.PrepareConn = func(_ context.Context, c *pgx.Conn) (bool, error) { return socketOpen(c.PgConn().Conn()), nil }
	// pgx's ping of a connection idle for over a second is turned off: the
	// peek above finds closed connections, and that ping runs under the
	// caller's context alone, so against a server that stopped answering
	// it would hang until the request's own deadline (30 s), past every
	// bound set here.
	cfg.ShouldPing = func(context.Context, pgxpool.ShouldPingParams) bool { return false }
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: open pool: %w", err)
	}
	return pool, nil
}

// statementBound is a pgx tracer that gives every statement (a query, an
// exec, a batch, a copy) a deadline of its own, so that a statement sent to
// a server that stopped answering (a black hole: the network or the host
// gone silent, nothing refused) fails within the bound and its connection,
// interrupted mid-protocol, is closed and never reused, instead of waiting
// for the request's deadline. pgx has no per-statement timeout; its tracer
// hooks are where it lets a caller replace a statement's context, and its
// context watcher then interrupts the read when that context ends. The
// server's own statement_timeout is shorter, so a live but slow server
// answers first with a cancellation and the connection survives.
// Waits for notifications (River's listener) are not statements and stay
// unbounded.
type statementBound time.Duration

type statementCancelKey struct{}

func (b statementBound) bound(ctx context.Context) context.Context {
	ctx, cancel := context.WithTimeout(ctx, time.Duration(b))
	return context.WithValue(ctx, statementCancelKey{}, cancel)
}

func (b statementBound) release(ctx context.Context) {
	if cancel, ok := ctx.Value(statementCancelKey{}).(context.CancelFunc); ok {
		cancel()
	}
}

// TraceQueryStart bounds a query or exec.
func (b statementBound) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	return b.bound(ctx)
}

// TraceQueryEnd releases the query's timer.
func (b statementBound) TraceQueryEnd(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryEndData) {
	b.release(ctx)
}

// TraceBatchStart bounds a batch as a whole.
func (b statementBound) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	return b.bound(ctx)
}

// TraceBatchQuery is called for each query of a batch; the batch's bound covers them.
func (b statementBound) TraceBatchQuery(context.Context, *pgx.Conn, pgx.TraceBatchQueryData) {}

// TraceBatchEnd releases the batch's timer.
func (b statementBound) TraceBatchEnd(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchEndData) {
	b.release(ctx)
}

// TraceCopyFromStart bounds a COPY.
func (b statementBound) TraceCopyFromStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceCopyFromStartData) context.Context {
	return b.bound(ctx)
}

// TraceCopyFromEnd releases the COPY's timer.
func (b statementBound) TraceCopyFromEnd(ctx context.Context, _ *pgx.Conn, _ pgx.TraceCopyFromEndData) {
	b.release(ctx)
}

// TracePrepareStart bounds an explicit Prepare.
func (b statementBound) TracePrepareStart(ctx context.Context, _ *pgx.Conn, _ pgx.TracePrepareStartData) context.Context {
	return b.bound(ctx)
}

// TracePrepareEnd releases the Prepare's timer.
func (b statementBound) TracePrepareEnd(ctx context.Context, _ *pgx.Conn, _ pgx.TracePrepareEndData) {
	b.release(ctx)
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
