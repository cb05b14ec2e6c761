// Package boot runs one service process: it loads the config, builds the
// logger, opens PostgreSQL and Redis, applies migrations where asked, serves
// HTTP, and shuts down cleanly when its context ends.
package boot

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/alexedwards/scs/v2"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"rose-ash.com/platform/shared/cache"
	"rose-ash.com/platform/shared/config"
	"rose-ash.com/platform/shared/fragments"
	"rose-ash.com/platform/shared/layout"
	"rose-ash.com/platform/shared/logging"
	"rose-ash.com/platform/shared/mail"
	"rose-ash.com/platform/shared/postgres"
	"rose-ash.com/platform/shared/sessions"
	"rose-ash.com/platform/shared/web"
)

// Options describe the service being started.
type Options struct {
	// Service is the service's name, one of config.Services.
	Service string
	// Static holds the service's own static files (nil for none); they
	// override the shared layout's files of the same name.
	Static fs.FS
	// MayMigrate lets this service apply migrations at start-up when the
	// config's run_migrations is true. Only the blog sets it.
	MayMigrate bool
}

// Deps are what a service's NewServer is built from.
type Deps struct {
	Config *config.Config
	Logger *slog.Logger
	DB     *pgxpool.Pool
	Redis  *redis.Client
	Site   *web.Site
	// Keys namespaces the service's Redis keys.
	Keys cache.Namespace
	// Sessions is the service's own first-party session (cookie + Redis).
	Sessions *scs.SessionManager
	// Mail sends email as the config says; DevMail is the development sink
	// behind it when mail.transport is dir (nil otherwise).
	Mail    mail.Sender
	DevMail *mail.DirSink
}

// Run starts the service and blocks until ctx is done, then drains requests
// and closes its connections. It returns an error when the config is invalid,
// migrations fail, or the listen address cannot be bound. Logs go to stdout.
func Run(ctx context.Context, opts Options, getenv func(string) string, stdout io.Writer, newServer func(Deps) (http.Handler, error)) error {
	cfg, err := config.Load(getenv)
	if err != nil {
		return err
	}
	logs := logging.NewBuffered(stdout)
	defer logs.Close()
	logger := logging.New(logs, cfg.Log.Format, cfg.LogLevel(), opts.Service)

	if opts.MayMigrate && cfg.RunMigrations {
		if err := migrateWithRetry(ctx, cfg.DatabaseURL, logger); err != nil {
			return err
		}
	}
	db, err := postgres.Open(ctx, cfg.DatabaseURL, cfg.Database.MaxConns)
	if err != nil {
		return err
	}
	defer db.Close()
	rdb, err := cache.Open(cfg.RedisURL)
	if err != nil {
		return err
	}
	defer rdb.Close()

	layers := []fs.FS{}
	if opts.Static != nil {
		layers = append(layers, opts.Static)
	}
	shared, err := fs.Sub(layout.Static, "static")
	if err != nil {
		return err
	}
	assets, err := web.NewAssets("/static/", append(layers, shared)...)
	if err != nil {
		return err
	}
	site := &web.Site{
		Service: opts.Service, Config: cfg, Logger: logger, Assets: assets, Metrics: web.NewMetrics(),
		Checks: []web.Check{
			{Name: "postgres", Ping: db.Ping},
			{Name: "redis", Ping: func(ctx context.Context) error { return rdb.Ping(ctx).Err() }},
		},
	}
	svc := cfg.Service(opts.Service)
	secure := strings.HasPrefix(svc.PublicURL, "https://")
	keys := cache.Namespace(cfg.RedisPrefix)
	site.Fragments = fragments.NewClient(cfg, rdb, keys, site.Metrics.Registry, logger)
	site.Fragments.Declare(web.HeaderFragments...)
	sm := sessions.New(rdb, keys, opts.Service, secure, cfg.Auth.SessionTTL.Std(), logger, site.Error)
	sender, devMail, err := openMail(cfg)
	if err != nil {
		return err
	}
	h, err := newServer(Deps{Config: cfg, Logger: logger, DB: db, Redis: rdb, Site: site, Keys: keys, Sessions: sm,
		Mail: sender, DevMail: devMail})
	if err != nil {
		return err
	}
	logger.Info("starting", "public_url", svc.PublicURL, "environment", cfg.Environment)
	return web.Serve(ctx, svc.ListenAddr, h, cfg.HTTP.ShutdownTimeout.Std(), logger)
}

// openMail returns the sender the config asks for.
func openMail(cfg *config.Config) (mail.Sender, *mail.DirSink, error) {
	m := cfg.Mail
	if m.Transport == "dir" {
		sink, err := mail.NewDirSink(m.Dir, m.From)
		return sink, sink, err
	}
	s, err := mail.NewSMTP(mail.SMTPConfig{Host: m.SMTPHost, Port: m.SMTPPort, Username: m.SMTPUsername,
		Password: cfg.SMTPPassword, From: m.From, TLS: m.SMTPTLS})
	return s, nil, err
}

// migrateWithRetry applies migrations, waiting up to a minute for PostgreSQL
// to accept connections (in a fresh stack the blog may start first).
func migrateWithRetry(ctx context.Context, databaseURL string, logger *slog.Logger) error {
	deadline := time.Now().Add(time.Minute)
	for {
		err := postgres.Migrate(ctx, databaseURL)
		if err == nil {
			v, _, _ := postgres.MigrationVersion(ctx, databaseURL)
			logger.Info("migrations applied", "version", v)
			return nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("apply migrations: %w", err)
		}
		logger.Warn("migrations not applied yet; retrying", "error", err)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(2 * time.Second):
		}
	}
}
