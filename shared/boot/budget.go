package boot

import (
	"context"
	"log/slog"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"rose-ash.com/platform/shared/config"
	"rose-ash.com/platform/shared/postgres"
)

// PoolOptions returns the PostgreSQL pool settings of one replica of the
// named service, from the config's database section.
func PoolOptions(cfg *config.Config, service string) postgres.PoolOptions {
	return postgres.PoolOptions{
		MaxConns:         cfg.MaxConns(service),
		ConnectTimeout:   cfg.Database.ConnectTimeout.Std(),
		StatementTimeout: cfg.Database.StatementTimeout.Std(),
		IdleTimeout:      cfg.Database.IdleTimeout.Std(),
		PgBouncer:        cfg.Database.PgBouncer,
	}
}

// Budget is the PostgreSQL connection arithmetic of a deployment.
type Budget struct {
	// Replica is the most one replica of the service holds.
	Replica int
	// Stack is the most every replica of every service holds together at
	// the configured replica count.
	Stack int
	// Rolling adds one more replica of every service, as a start-first
	// rolling update runs the new task beside the old one.
	Rolling int
}

// ConnectionBudget returns the connection budget of service's replica and
// of the whole stack, from the config's pool sizes and replica count.
//
// River's listener (LISTEN/NOTIFY) takes its connection out of the pool for
// good, so a replica holds one more than its pool's size; in PgBouncer's
// poll-only mode there is no listener.
func ConnectionBudget(cfg *config.Config, service string) Budget {
	listener := 1
	if cfg.Database.PgBouncer {
		listener = 0
	}
	perSet := 0
	for _, name := range config.Services {
		perSet += int(cfg.MaxConns(name)) + listener
	}
	stack := cfg.Database.Replicas * perSet
	return Budget{Replica: int(cfg.MaxConns(service)) + listener, Stack: stack, Rolling: stack + perSet}
}

// logBudget states at start-up how many PostgreSQL connections this replica
// and the stack may hold, and warns when PostgreSQL's max_connections
// (asked for once, briefly; not through PgBouncer, which caps the server
// side itself) leaves no room for them.
func logBudget(ctx context.Context, cfg *config.Config, service string, db *pgxpool.Pool, logger *slog.Logger) {
	b := ConnectionBudget(cfg, service)
	attrs := []any{"this_replica", b.Replica, "replicas", cfg.Database.Replicas, "stack", b.Stack,
		"stack_during_rolling_update", b.Rolling, "pgbouncer", cfg.Database.PgBouncer}
	if !cfg.Database.PgBouncer {
		qctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		var maxConnections string
		err := db.QueryRow(qctx, `SHOW max_connections`).Scan(&maxConnections)
		cancel()
		if n, perr := strconv.Atoi(maxConnections); err == nil && perr == nil {
			attrs = append(attrs, "postgres_max_connections", n)
			if b.Rolling > n-10 {
				logger.Warn("PostgreSQL connection budget exceeds max_connections (less 10 for psql and backups): lower database.max_conns, raise max_connections or add PgBouncer (README, Deploying)", attrs...)
				return
			}
		}
	}
	logger.Info("PostgreSQL connection budget", attrs...)
}
