// Package boot runs one service process: it loads the config, builds the
// logger, opens PostgreSQL and Redis, applies migrations where asked, serves
// HTTP, and shuts down cleanly when its context ends.
package boot

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"rose-ash.com/platform/shared/activitypub"
	"rose-ash.com/platform/shared/activitypub/agenda"
	"rose-ash.com/platform/shared/activitypub/articles"
	"rose-ash.com/platform/shared/activitypub/delivery"
	"rose-ash.com/platform/shared/activitypub/listings"
	"rose-ash.com/platform/shared/cache"
	"rose-ash.com/platform/shared/config"
	"rose-ash.com/platform/shared/editor"
	"rose-ash.com/platform/shared/fragments"
	"rose-ash.com/platform/shared/ghostsync"
	"rose-ash.com/platform/shared/layout"
	"rose-ash.com/platform/shared/logging"
	"rose-ash.com/platform/shared/mail"
	"rose-ash.com/platform/shared/postgres"
	"rose-ash.com/platform/shared/services/bookings"
	"rose-ash.com/platform/shared/services/calendars"
	"rose-ash.com/platform/shared/services/campaigns"
	"rose-ash.com/platform/shared/services/identity"
	"rose-ash.com/platform/shared/services/orders"
	"rose-ash.com/platform/shared/services/products"
	"rose-ash.com/platform/shared/services/social"
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
	// Editor adds the rich-text editor (shared/editor's Assets: editor.js
	// and editor.css) to the service's static files, for pages that edit
	// rich text: served from the service's own origin under hashed names.
	Editor bool
	// MayMigrate lets this service apply migrations at start-up when the
	// config's run_migrations is true. Only the blog sets it.
	MayMigrate bool
	// Workers registers the service's background job workers and returns
	// how many it added; nil for a service that runs no jobs. With workers,
	// the service runs a River client (Deps.Jobs) that works its jobs in any
	// replica.
	Workers func(Deps, *river.Workers) (int, error)
	// Queues returns the service's job queues besides River's default one
	// (two workers), with their worker counts (nil for none). A replica
	// works only the queues it returns, so a queue whose jobs need
	// configuration (the blog's Ghost sync) is worked only where that
	// configuration is.
	Queues func(Deps) map[string]int
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
	// Jobs enqueues background jobs (nil for services without workers).
	Jobs *river.Client[pgx.Tx]
	// Sessions is the service's own first-party session (cookie + Redis).
	Sessions *scs.SessionManager
	// Mail sends email as the config says; DevMail is the development sink
	// behind it when mail.transport is dir (nil otherwise).
	Mail    mail.Sender
	DevMail *mail.DirSink
	// BulkMail sends many messages in a row (newsletters): with the smtp
	// transport a mail.SMTPPool of mail.bulk_connections connections,
	// closed when the service stops; with dir the same sink as Mail. Both
	// sign with DKIM when mail.dkim is set.
	BulkMail mail.Sender
	// AP is the service's presence on the fediverse: its actor, inboxes,
	// WebFinger and NodeInfo (mounted on every router of the service). Nil
	// when the schema was not migrated in time.
	AP *activitypub.Service
}

// Run starts the service and blocks until ctx is done, then drains requests
// and closes its connections. Before anything else it waits for PostgreSQL
// (DatabaseWait, WaitForPostgres). It returns an error when the config is
// invalid, PostgreSQL does not come up in time, migrations fail, or the listen
// address cannot be bound. Logs go to stdout.
func Run(ctx context.Context, opts Options, getenv func(string) string, stdout io.Writer, newServer func(Deps) (http.Handler, error)) error {
	cfg, err := config.Load(getenv)
	if err != nil {
		return err
	}
	logs := logging.NewBuffered(stdout)
	defer logs.Close()
	logger := logging.New(logs, cfg.Log.Format, cfg.LogLevel(), opts.Service)

	wait, err := DatabaseWait(getenv)
	if err != nil {
		return err
	}
	if wait > 0 {
		if err := WaitForPostgres(ctx, cfg.DatabaseURL, wait, logger); err != nil {
			if ctx.Err() != nil { // stopped while waiting: a clean exit
				return nil
			}
			return err
		}
	}
	if opts.MayMigrate && cfg.RunMigrations {
		// Over the direct connection when DATABASE_URL goes through
		// PgBouncer: migrations hold a session-level advisory lock.
		if err := migrateWithRetry(ctx, cfg.MigrationURL(), logger); err != nil {
			return err
		}
	}
	db, err := postgres.Open(ctx, cfg.DatabaseURL, PoolOptions(cfg, opts.Service))
	if err != nil {
		return err
	}
	defer db.Close()
	logBudget(ctx, cfg, opts.Service, db, logger)
	rdb, err := cache.Open(cfg.RedisURL)
	if err != nil {
		return err
	}
	defer rdb.Close()

	layers := []fs.FS{}
	if opts.Static != nil {
		layers = append(layers, opts.Static)
	}
	if opts.Editor {
		layers = append(layers, editor.Assets())
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
	sender, devMail, bulkMail, err := openMail(cfg)
	if err != nil {
		return err
	}
	if pool, ok := bulkMail.(*mail.SMTPPool); ok {
		// Deferred before the job queue's stop, so it runs after it: the
		// campaign jobs finish their messages first.
		defer pool.Close()
	}
	deps := Deps{Config: cfg, Logger: logger, DB: db, Redis: rdb, Site: site, Keys: keys, Sessions: sm,
		Mail: sender, DevMail: devMail, BulkMail: bulkMail}
	// The site key lives in the database: a service started before the
	// schema is migrated waits for it (DATABASE_WAIT), then runs without
	// federation (logged) rather than not at all.
	var deliverer *delivery.Deliverer
	siteKey, err := activitypub.WaitForKey(ctx, db, wait, logger)
	switch {
	case err != nil && ctx.Err() != nil:
		return nil
	case err != nil:
		logger.Error("ActivityPub is off until this service restarts", "error", err)
	default:
		fetch := activitypub.NewClient(cfg, Version())
		deps.AP = activitypub.NewService(cfg, opts.Service, db, siteKey, fetch, Version(), logger)
		deps.AP.Notified = site.NotificationsChanged
		// What arrives is the social hub's to keep, whichever service's
		// inbox it came to.
		deps.AP.Hooks = social.NewInbound(cfg.Service("federation").PublicURL)
		site.Mounts = append(site.Mounts, deps.AP.Mount)
		deliverer = &delivery.Deliverer{DB: db, Client: fetch, Key: siteKey.Private, Logger: logger, InboxGone: activitypub.InboxGone}
	}
	stopJobs, err := startJobs(ctx, opts, &deps, deliverer)
	if err != nil {
		return err
	}
	defer stopJobs()
	if deps.AP != nil {
		deps.AP.Jobs = deps.Jobs
		// Handles what the inboxes accepted, until shutdown.
		go deps.AP.Run(ctx)
	}
	h, err := newServer(deps)
	if err != nil {
		return err
	}
	logger.Info("starting", "public_url", svc.PublicURL, "environment", cfg.Environment)
	return web.Serve(ctx, svc.ListenAddr, h, cfg.HTTP.ShutdownTimeout.Std(), logger)
}

// PeriodicJobs are the platform's periodic jobs, the same in every
// service. River elects one leader among all the clients on the database,
// whichever service each runs in, and only the leader enqueues periodic
// jobs: so every client declares all of them (and skips River's check that
// it can work every kind it inserts), and each job goes to the queue of the
// service that works it. Today: the Ghost sync (ghost.url and
// ghost.sync_interval, so GHOST_URL is given to every service), worked on
// the ghost queue by blog replicas configured for Ghost; and the
// announcement of the blog's posts whose scheduled time has come, every
// articles.DueInterval, worked on the blog queue by blog replicas; and the
// announcement of the market's products never announced (the demo's), every
// listings.DueInterval, worked on the market queue by market replicas; and
// the refresh of the market's supplier sources whose interval has passed,
// every products.RefreshEvery, on the market queue too; and the sweep of
// unpaid orders past their hold and of pending payments, every
// orders.SweepEvery, on the cart queue; and the extension of recurring
// events' dates to their horizon, every calendars.HorizonEvery, and the
// announcement of events never announced, every agenda.DueInterval, and
// the sweep of unclaimed waitlist offers and unpaid holds, every
// bookings.SweepEvery, on the events queue; and the deletion of accounts
// whose grace period is over, every identity.DeletionEvery, on the
// account queue; and the newsletter campaigns' tick (scheduled campaigns
// start, sending ones keep their job), every campaigns.TickEvery, on the
// campaigns queue worked by account replicas.
func PeriodicJobs(cfg *config.Config) []*river.PeriodicJob {
	jobs := []*river.PeriodicJob{articles.Periodic(articles.DueInterval), listings.Periodic(listings.DueInterval),
		products.RefreshPeriodic(products.RefreshEvery), orders.SweepPeriodic(orders.SweepEvery),
		calendars.HorizonPeriodic(calendars.HorizonEvery), agenda.Periodic(agenda.DueInterval),
		bookings.SweepPeriodic(bookings.SweepEvery), identity.DeletionPeriodic(identity.DeletionEvery),
		campaigns.TickPeriodic(campaigns.TickEvery)}
	if cfg.Ghost.URL != "" && cfg.Ghost.SyncInterval > 0 {
		jobs = append(jobs, ghostsync.Periodic(cfg.Ghost.SyncInterval.Std()))
	}
	return jobs
}

// startJobs starts the service's River client, setting deps.Jobs: every
// service runs one, for the ActivityPub deliveries of its actor and its own
// workers; the returned function stops it gracefully.
func startJobs(ctx context.Context, opts Options, deps *Deps, deliverer *delivery.Deliverer) (func(), error) {
	workers := river.NewWorkers()
	added := 0
	if opts.Workers != nil {
		n, err := opts.Workers(*deps, workers)
		if err != nil {
			return nil, err
		}
		added += n
	}
	// Every service delivers what its actor emits.
	if deliverer != nil {
		if err := deliverer.Register(workers); err != nil {
			return nil, err
		}
		added += 2
	}
	if added == 0 {
		return func() {}, nil // nothing to work (a schema not migrated yet)
	}
	queues := map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: 2}, delivery.Queue: {MaxWorkers: delivery.QueueWorkers}}
	if opts.Queues != nil {
		for name, n := range opts.Queues(*deps) {
			queues[name] = river.QueueConfig{MaxWorkers: n}
		}
	}
	// Through PgBouncer in transaction mode there is no LISTEN/NOTIFY (a
	// notification goes to whichever server connection the listener last
	// ran on): River then polls for new jobs and leadership instead.
	jobs, err := river.NewClient(riverpgxv5.New(deps.DB), &river.Config{Logger: deps.Logger, Workers: workers, Queues: queues,
		PeriodicJobs: PeriodicJobs(deps.Config), SkipUnknownJobCheck: true, PollOnly: deps.Config.Database.PgBouncer,
		// At shutdown running jobs get half the drain to end on their own;
		// then their contexts are cancelled, so a long job (a campaign's
		// sending) records what it did and stops before the process exits.
		SoftStopTimeout: deps.Config.HTTP.ShutdownTimeout.Std() / 2})
	if err != nil {
		return nil, fmt.Errorf("start the job queue: %w", err)
	}
	// Started detached from ctx: cancelling Start's context would be a hard
	// stop; the function returned stops it gracefully instead.
	if err := jobs.Start(context.WithoutCancel(ctx)); err != nil {
		return nil, fmt.Errorf("start the job queue: %w", err)
	}
	deps.Jobs = jobs
	drain := deps.Config.HTTP.ShutdownTimeout.Std()
	return func() {
		stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), drain)
		defer cancel()
		_ = jobs.Stop(stopCtx)
	}, nil
}

// openMail returns the senders the config asks for: one for occasional
// messages, the development sink behind it (dir transport only), and one
// for bulk sending (an SMTPPool with the smtp transport, which the caller
// closes). Both sign when mail.dkim is set.
func openMail(cfg *config.Config) (mail.Sender, *mail.DirSink, mail.Sender, error) {
	m := cfg.Mail
	var dkim *mail.DKIM
	if m.DKIM.Domain != "" {
		// config.Load has checked the settings; this cannot fail for a
		// loaded config.
		d, err := mail.NewDKIM(m.DKIM.Domain, m.DKIM.Selector, cfg.MailDKIMPrivateKey)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("mail.dkim: %w", err)
		}
		dkim = d
	}
	if m.Transport == "dir" {
		sink, err := mail.NewDirSink(m.Dir, m.From)
		if err != nil {
			return nil, nil, nil, err
		}
		sink = sink.WithDKIM(dkim)
		return sink, sink, sink, nil
	}
	smtpCfg := mail.SMTPConfig{Host: m.SMTPHost, Port: m.SMTPPort, Username: m.SMTPUsername,
		Password: cfg.SMTPPassword, From: m.From, TLS: m.SMTPTLS, DKIM: dkim}
	s, err := mail.NewSMTP(smtpCfg)
	if err != nil {
		return nil, nil, nil, err
	}
	pool, err := mail.NewSMTPPool(smtpCfg, cmp.Or(m.BulkConnections, config.DefaultMailBulkConnections))
	if err != nil {
		return nil, nil, nil, err
	}
	return s, nil, pool, nil
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
