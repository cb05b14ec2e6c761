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
	"sync"
	"sync/atomic"
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
	// no named prepared statements (pgx's cache-describe mode: the unnamed
	// statement, parsed again with every execution) and no session
	// settings are sent.
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
		cfg.ConnConfig.DialFunc = dialBounded(cfg.ConnConfig.DialFunc, opts.ConnectTimeout)
	}
	if opts.IdleTimeout > 0 {
		cfg.MaxConnIdleTime = opts.IdleTimeout
		// The health check is what closes idle connections: run it often
		// enough that they go within about a quarter of the idle time.
		cfg.HealthCheckPeriod = min(cfg.HealthCheckPeriod, max(opts.IdleTimeout/4, time.Second))
		// The idle time alone does not shrink a pool that the job queue
		// touches every second: the pool hands out its connections in
		// turn (its health check releases them in reverse order), so
		// none stays unused for long (measured: an idle stack kept every
		// connection it had opened). A lifetime of a few idle timeouts
		// does: an expired connection is closed, and a new one is opened
		// only when no other is free.
		cfg.MaxConnLifetime = min(cfg.MaxConnLifetime, 3*opts.IdleTimeout)
		cfg.MaxConnLifetimeJitter = opts.IdleTimeout / 2
	}
	if opts.PgBouncer {
		// No named prepared statements (PgBouncer 1.18, Debian 12's, cannot
		// carry them across server connections). Cache-describe learns a
		// statement's parameter and result types once (on the unnamed
		// statement, in its own round trip) and then sends the statement
		// with every execution, so each round trip stands alone. Exec mode
		// was tried first: it guesses parameter types from Go types, and
		// sent a []byte meant for a json column as bytea (the PgBouncer
		// test's Ghost sync failed on it).
		cfg.ConnConfig.DefaultQueryExecMode = pgx.QueryExecModeCacheDescribe
	}
	var silence *silence // nil: no statement bound, no breaker
	var fresh sync.Map   // *pgx.Conn made since last acquired: not yet handed out
	if opts.StatementTimeout > 0 {
		if !opts.PgBouncer {
			cfg.ConnConfig.RuntimeParams["statement_timeout"] = strconv.FormatInt(opts.StatementTimeout.Milliseconds(), 10)
		}
		tracer := &statementBound{d: opts.StatementTimeout + statementGrace}
		cfg.ConnConfig.Tracer = tracer
		silence = &tracer.silence
		// While the breaker is open, connections already in the pool are
		// dropped (they lead to the silent server) and new ones are
		// refused, but for the probe's once a second, which PrepareConn
		// must then let through.
		cfg.BeforeConnect = func(context.Context, *pgx.ConnConfig) error { return silence.err() }
		cfg.BeforeClose = func(c *pgx.Conn) { fresh.Delete(c) }
	}
	cfg.AfterConnect = func(_ context.Context, c *pgx.Conn) error {
		if silence != nil {
			fresh.Store(c, struct{}{})
		}
		// Established: lift dialBounded's start-up deadline.
		return c.PgConn().Conn().SetDeadline(time.Time{})
	}
	// A connection the server (or a proxy) closed while it sat in the pool
	// is dropped before it is handed out, and the query goes to a fresh
	// one: with the job queue touching connections every second, pgx's own
	// check (a ping after a second idle) would miss it, and the first
	// request after an outage would fail. The check is one non-blocking
	// peek at the socket; a ping on every use cost a round trip per query
	// (measured, a tenth of the signed-in blog home's time).
	cfg.PrepareConn = func(_ context.Context, c *pgx.Conn) (bool, error) {
		if _, new := fresh.LoadAndDelete(c); !new && silence != nil && silence.open() {
			return false, errSilent // a connection to a silent server: dropped
		}
		return socketOpen(c.PgConn().Conn()), nil
	}
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
//
// A statement that hit the bound also trips a breaker (silence): until a
// statement succeeds again, the pool hands out no connection and opens no
// new one, failing at once, except for one caller a second that goes
// through as the probe. Without it every later request, and the job
// queue's every poll, would wait out the bound (or the connect timeout) in
// turn, and requests queued behind the job queue for a full pool waited
// three times as long (measured: 19 s for the second request of a drill).
type statementBound struct {
	d       time.Duration
	silence silence
}

// silence is the breaker: zero while the server answers, otherwise when
// the last caller was let through to it (UnixNano).
type silence struct{ since atomic.Int64 }

// errSilent is what callers get while the breaker is open. It wraps
// context.DeadlineExceeded, which is what the statement that tripped it
// got, so that it reads as the database being unavailable.
var errSilent = fmt.Errorf("postgres: the server stopped answering (a statement got no reply within the statement timeout); failing at once until it answers: %w", context.DeadlineExceeded)

// allow reports whether a caller may use the server now: always while it
// answers, otherwise once a second (that caller is the probe).
func (s *silence) allow() bool {
	since := s.since.Load()
	if since == 0 {
		return true
	}
	now := time.Now().UnixNano()
	return now-since >= int64(time.Second) && s.since.CompareAndSwap(since, now)
}

func (s *silence) open() bool { return s.since.Load() != 0 }
func (s *silence) heard()     { s.since.Store(0) }
func (s *silence) silent()    { s.since.Store(time.Now().UnixNano()) }
func (s *silence) err() error {
	if s.allow() {
		return nil
	}
	return errSilent
}

type statementKey struct{}

// boundedStatement is what a bounded statement's context carries.
type boundedStatement struct {
	parent context.Context
	cancel context.CancelFunc
}

func (b *statementBound) bound(ctx context.Context) context.Context {
	bctx, cancel := context.WithTimeout(ctx, b.d)
	return context.WithValue(bctx, statementKey{}, &boundedStatement{parent: ctx, cancel: cancel})
}

// release ends the statement's timer and tells the breaker what happened:
// a success closes it; the bound itself running out (not the caller's own
// deadline or cancellation) opens it.
func (b *statementBound) release(ctx context.Context, err error) {
	st, ok := ctx.Value(statementKey{}).(*boundedStatement)
	if !ok {
		return
	}
	switch {
	case err == nil:
		b.silence.heard()
	case ctx.Err() == context.DeadlineExceeded && st.parent.Err() == nil:
		b.silence.silent()
	}
	st.cancel()
}

// TraceQueryStart bounds a query or exec.
func (b *statementBound) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	return b.bound(ctx)
}

// TraceQueryEnd releases the query's timer.
func (b *statementBound) TraceQueryEnd(ctx context.Context, _ *pgx.Conn, data pgx.TraceQueryEndData) {
	b.release(ctx, data.Err)
}

// TraceBatchStart bounds a batch as a whole.
func (b *statementBound) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	return b.bound(ctx)
}

// TraceBatchQuery is called for each query of a batch; the batch's bound covers them.
func (b *statementBound) TraceBatchQuery(context.Context, *pgx.Conn, pgx.TraceBatchQueryData) {}

// TraceBatchEnd releases the batch's timer.
func (b *statementBound) TraceBatchEnd(ctx context.Context, _ *pgx.Conn, data pgx.TraceBatchEndData) {
	b.release(ctx, data.Err)
}

// TraceCopyFromStart bounds a COPY.
func (b *statementBound) TraceCopyFromStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceCopyFromStartData) context.Context {
	return b.bound(ctx)
}

// TraceCopyFromEnd releases the COPY's timer.
func (b *statementBound) TraceCopyFromEnd(ctx context.Context, _ *pgx.Conn, data pgx.TraceCopyFromEndData) {
	b.release(ctx, data.Err)
}

// TracePrepareStart bounds an explicit Prepare.
func (b *statementBound) TracePrepareStart(ctx context.Context, _ *pgx.Conn, _ pgx.TracePrepareStartData) context.Context {
	return b.bound(ctx)
}

// TracePrepareEnd releases the Prepare's timer.
func (b *statementBound) TracePrepareEnd(ctx context.Context, _ *pgx.Conn, data pgx.TracePrepareEndData) {
	b.release(ctx, data.Err)
}

// closeWait bounds how long a connection being closed waits for the
// server's goodbye (see boundedConn).
const closeWait = time.Second

// dialBounded wraps dial so that every socket it opens must finish its
// start-up within limit: the deadline set here is lifted by the pool's
// AfterConnect once the connection is established. The sockets pgx opens
// to send a cancel request never get there, and that is the point: when a
// statement is interrupted, pgx closes its connection in the background
// by dialling the server to cancel the statement, then draining the socket
// under a 15-second deadline, and the pool keeps that connection's place
// until it is done. Against a silent server that held a pool slot for 15
// seconds per interrupted statement (measured in the drill: the next
// request waited 15 s for a slot). Bounded, the cancel takes at most limit
// and the drain closeWait.
func dialBounded(dial pgconn.DialFunc, limit time.Duration) pgconn.DialFunc {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		dctx, cancel := context.WithTimeout(ctx, limit)
		defer cancel()
		c, err := dial(dctx, network, addr)
		if err != nil {
			return nil, err
		}
		if err := c.SetDeadline(time.Now().Add(limit)); err != nil {
			c.Close()
			return nil, err
		}
		return &boundedConn{Conn: c}, nil
	}
}

// boundedConn is a socket whose deadlines are never further than
// closeWait ahead: pgx's only longer one is the 15 s it gives a closing
// connection to drain (a live server says goodbye within milliseconds);
// its others are "now" (interrupt) and none.
type boundedConn struct{ net.Conn }

// NetConn returns the socket underneath, for socketOpen.
func (c *boundedConn) NetConn() net.Conn { return c.Conn }

// SetDeadline sets both deadlines, at most closeWait ahead.
func (c *boundedConn) SetDeadline(t time.Time) error { return c.Conn.SetDeadline(clampDeadline(t)) }

// SetReadDeadline sets the read deadline, at most closeWait ahead.
func (c *boundedConn) SetReadDeadline(t time.Time) error {
	return c.Conn.SetReadDeadline(clampDeadline(t))
}

// SetWriteDeadline sets the write deadline, at most closeWait ahead.
func (c *boundedConn) SetWriteDeadline(t time.Time) error {
	return c.Conn.SetWriteDeadline(clampDeadline(t))
}

func clampDeadline(t time.Time) time.Time {
	if limit := time.Now().Add(closeWait); !t.IsZero() && t.After(limit) {
		return limit
	}
	return t
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
//
// The peek runs under the socket's Control, not its Read: pgx starts a
// background reader when a write stalls for 15 ms (a busy machine), and
// that reader can stay blocked in a Read on the idle connection, holding
// the socket's read lock until the server next speaks. Waiting for that
// lock hung the pool's Acquire, and with it a service's start-up, for
// good (seen under the benchmark's load).
func socketOpen(c net.Conn) bool {
	for {
		t, ok := c.(interface{ NetConn() net.Conn }) // under TLS, under boundedConn
		if !ok {
			break
		}
		c = t.NetConn()
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
	err = raw.Control(func(fd uintptr) {
		n, _, err := syscall.Recvfrom(int(fd), buf[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		open = n < 0 && (errors.Is(err, syscall.EAGAIN) || errors.Is(err, syscall.EINTR))
	})
	return open && err == nil
}
