package boot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// DefaultDatabaseWait is how long a service waits at start-up for PostgreSQL
// to accept connections when DATABASE_WAIT is not set. In a fresh Swarm stack
// the services start before PostgreSQL has initialised its volume.
const DefaultDatabaseWait = 60 * time.Second

// databaseWaitLogEvery is how often a service still waiting says so.
const databaseWaitLogEvery = 5 * time.Second

// DatabaseWait returns the start-up wait for PostgreSQL from DATABASE_WAIT (a
// Go duration such as "90s"; "0" turns the wait off), DefaultDatabaseWait when
// it is unset. A malformed or negative value is an error naming the variable.
func DatabaseWait(getenv func(string) string) (time.Duration, error) {
	v := getenv("DATABASE_WAIT")
	if v == "" {
		return DefaultDatabaseWait, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("config: DATABASE_WAIT=%q is malformed: want a duration such as 60s, or 0 for no wait", v)
	}
	return d, nil
}

// WaitForPostgres connects to databaseURL once a second until a connection
// succeeds (it is closed again at once), logging "waiting for PostgreSQL at
// host:port" every few seconds meanwhile. It returns nil on success; ctx's
// error when ctx ends first; at once, an error when the server answers with a
// refusal that waiting cannot cure (wrong password, no such database); and,
// after wait, an error naming the host and port and the last failure.
func WaitForPostgres(ctx context.Context, databaseURL string, wait time.Duration, logger *slog.Logger) error {
	cfg, err := pgx.ParseConfig(databaseURL)
	if err != nil {
		return fmt.Errorf("postgres: parse DATABASE_URL: %w", err)
	}
	addr := net.JoinHostPort(cfg.Host, strconv.Itoa(int(cfg.Port)))
	start := time.Now()
	deadline := start.Add(wait)
	var lastLog time.Time
	for {
		attempt := min(5*time.Second, max(time.Until(deadline), 100*time.Millisecond))
		cfg.ConnectTimeout = attempt
		actx, cancel := context.WithTimeout(ctx, attempt)
		conn, err := pgx.ConnectConfig(actx, cfg)
		cancel()
		if err == nil {
			_ = conn.Close(ctx)
			if !lastLog.IsZero() {
				logger.Info("PostgreSQL is up", "addr", addr, "waited", time.Since(start).Round(time.Millisecond).String())
			}
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if permanent(err) {
			return fmt.Errorf("PostgreSQL at %s refused the connection: %w", addr, err)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("PostgreSQL at %s did not accept connections within %s (DATABASE_WAIT): %w", addr, wait, err)
		}
		if time.Since(lastLog) >= databaseWaitLogEvery {
			logger.Warn("waiting for PostgreSQL at "+addr, "error", err.Error(), "waited", time.Since(start).Round(time.Second).String(), "limit", wait.String())
			lastLog = time.Now()
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(min(time.Second, max(time.Until(deadline), 0))):
		}
	}
}

// permanent reports whether err is the server refusing for a reason that
// waiting will not change. "Starting up", "shutting down" and "too many
// connections" are passing states, so they are waited out.
func permanent(err error) bool {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		return false
	}
	switch pgErr.Code {
	case "57P03", "57P01", "57P02", "53300":
		return false
	}
	return true
}
