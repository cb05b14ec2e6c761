// Command blog runs the Rose Ash blog service.
package main

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"maps"
	"net/http"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"rose-ash.com/platform/blog/internal"
	"rose-ash.com/platform/shared/activitypub/articles"
	"rose-ash.com/platform/shared/boot"
	"rose-ash.com/platform/shared/fragments"
	"rose-ash.com/platform/shared/ghostsync"
	"rose-ash.com/platform/shared/media"
	"rose-ash.com/platform/shared/pagecache"
	"rose-ash.com/platform/shared/services/calendars"
	"rose-ash.com/platform/shared/services/navigation"
	"rose-ash.com/platform/shared/services/newsletters"
	"rose-ash.com/platform/shared/services/posts"
	"rose-ash.com/platform/shared/services/products"
)

func main() { boot.Main("blog", run) }

// run starts the blog service and blocks until ctx ends.
func run(ctx context.Context, getenv func(string) string, stdout io.Writer) error {
	static, err := fs.Sub(internal.Static, "static")
	if err != nil {
		return err
	}
	opts := boot.Options{Service: "blog", MayMigrate: true, Static: static, Editor: true, Workers: workers,
		Queues: queues}
	return boot.Run(ctx, opts, getenv, stdout, func(d boot.Deps) (http.Handler, error) {
		store, nav := posts.New(d.DB), navigation.New(d.DB)
		// Listings read by signed-in members are kept a moment (the page
		// cache serves only anonymous readers).
		if ttl := d.Config.PageCache.Listings.Std(); ttl > 0 {
			store.CacheListings(ttl)
		}
		mediaStore, err := media.NewDiskStore(d.Config.Media.Dir)
		if err != nil {
			return nil, err
		}
		return internal.NewServer(internal.Deps{
			Site: d.Site, Auth: d.SignIn(), Nav: nav, NavEditor: nav,
			Posts: store, Editor: store, Tags: store, Authors: store,
			Pages: pagecache.New(d.Redis, d.Keys, "blog", d.Site.Assets.Version(), d.Config.PageCache.TTL.Std(), d.Site.Metrics.Registry),
			Media: mediaStore, Ghost: ghostSync(d), Articles: federate(d, store), Products: products.New(d.DB),
			Calendars: calendars.New(d.DB), Newsletters: newsletters.New(d.DB, nil, newsletters.Links{}),
		}), nil
	})
}

// federate makes the blog's posts Articles of its actor: every change to a
// post announces it (Create, Update, Delete) in the change's transaction
// (posts scheduled for later, or imported from Ghost, are announced when
// their time comes by the scheduled-posts job, articles.DueWorker). It returns what
// serves an Article to fediverse servers; nil when the blog does not
// federate.
func federate(d boot.Deps, store *posts.Store) internal.ArticleServer {
	if d.AP == nil {
		return nil
	}
	pub := &articles.Publisher{BlogURL: d.Config.Service("blog").PublicURL, Jobs: d.Jobs}
	store.OnChange(pub.Sync)
	return func(w http.ResponseWriter, r *http.Request, postID uuid.UUID) {
		d.AP.ServeObject(w, r, pub.ObjectID(postID))
	}
}

// queues are the blog's own job queues: the blog queue (the scheduled
// posts' announcements) when the blog federates, and the Ghost sync's.
func queues(d boot.Deps) map[string]int {
	q := map[string]int{}
	if d.AP != nil {
		q[articles.Queue] = 1
	}
	maps.Copy(q, ghostQueues(d))
	return q
}

// workers registers the blog's jobs: the scheduled posts' announcements
// when the blog federates (boot.PeriodicJobs schedules them in every
// service; blog replicas work them), and the Ghost sync (ghostWorkers).
func workers(d boot.Deps, w *river.Workers) (int, error) {
	n := 0
	if d.AP != nil {
		err := river.AddWorkerSafely(w, &articles.DueWorker{BlogURL: d.Config.Service("blog").PublicURL, DB: d.DB})
		if err != nil {
			return 0, err
		}
		n++
	}
	added, err := ghostWorkers(d, w)
	return n + added, err
}

// ghostQueues is the Ghost sync's queue, worked only by a replica
// configured for Ghost: one without it would take the jobs and fail them
// as unknown.
func ghostQueues(d boot.Deps) map[string]int {
	if d.Config.Ghost.URL == "" {
		return nil
	}
	return map[string]int{ghostsync.Queue: 1}
}

// ghostWorkers registers the Ghost sync job when a Ghost site is configured.
// The sync writes through a posts store that announces its changes on the
// fediverse as the editor's do (when the blog federates); after a sync
// that changed what readers see it purges the blog's page cache (and the
// navigation fragment when the navigation changed). Ghost is reached
// through the SSRF-safe client (ghostsync.HTTPClient).
func ghostWorkers(d boot.Deps, workers *river.Workers) (int, error) {
	if d.Config.Ghost.URL == "" {
		return 0, nil
	}
	// Only the blog reads Ghost: the other services know ghost.url (they
	// schedule its periodic sync, boot.PeriodicJobs) but not its key.
	if d.Config.GhostContentKey == "" {
		return 0, errors.New("config: ghost content key (GHOST_CONTENT_KEY): is missing; the blog needs it with ghost.url")
	}
	client, err := ghostsync.NewClient(d.Config.Ghost.URL, d.Config.GhostContentKey,
		ghostsync.HTTPClient(d.Config.Ghost.AllowPrivateAddress))
	if err != nil {
		return 0, err
	}
	store := posts.New(d.DB)
	if d.AP != nil {
		// The job client starts after the workers are registered: a sync
		// (a job) finds it in its context.
		store.OnChange(func(ctx context.Context, tx pgx.Tx, id uuid.UUID) error {
			jobs, err := river.ClientFromContextSafely[pgx.Tx](ctx)
			if err != nil {
				return err
			}
			pub := &articles.Publisher{BlogURL: d.Config.Service("blog").PublicURL, Jobs: jobs}
			return pub.Sync(ctx, tx, id)
		})
	}
	opts := ghostsync.Options{Posts: store, MembersPosts: d.Config.Ghost.MembersPosts, EmbedHosts: d.Config.Ghost.EmbedHosts}
	if d.Config.Ghost.ImportNavigation {
		opts.Nav = navigation.New(d.DB)
	}
	err = river.AddWorkerSafely(workers, &ghostsync.Worker{Client: client, DB: d.DB, Options: opts,
		Changed: func(ctx context.Context, navChanged bool) {
			if navChanged && d.Site.Fragments != nil {
				if err := d.Site.Fragments.InvalidateNamed(ctx, fragments.NavTree, nil); err != nil {
					d.Logger.WarnContext(ctx, "nav-tree not invalidated after a Ghost sync", "error", err)
				}
			}
			if err := pagecache.Purge(ctx, d.Redis, d.Keys, "blog"); err != nil {
				d.Logger.WarnContext(ctx, "page cache not purged after a Ghost sync", "error", err)
			}
		}})
	return 1, err
}

// ghostSync is what the blog's Ghost handlers use; nil without a Ghost site.
func ghostSync(d boot.Deps) *internal.GhostSync {
	if d.Config.Ghost.URL == "" {
		return nil
	}
	return &internal.GhostSync{URL: d.Config.Ghost.URL, WebhookSecret: d.Config.GhostWebhookSecret, Jobs: d.Jobs,
		Interval: d.Config.Ghost.SyncInterval.Std(), MembersPosts: d.Config.Ghost.MembersPosts,
		ImportNavigation: d.Config.Ghost.ImportNavigation,
		State:            func(ctx context.Context) (ghostsync.State, error) { return ghostsync.LoadState(ctx, d.DB) }}
}
