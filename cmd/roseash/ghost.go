package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"rose-ash.com/platform/shared/cache"
	"rose-ash.com/platform/shared/config"
	"rose-ash.com/platform/shared/ghostsync"
	"rose-ash.com/platform/shared/pagecache"
)

// ghostSyncCmd copies what changed on the Ghost site at GHOST_URL (read
// with the Content API key GHOST_CONTENT_KEY) into the blog's posts,
// showing a progress bar, and prints what it did. Ghost is fetched through
// the SSRF-safe client: a site on loopback or a private network needs
// GHOST_ALLOW_PRIVATE_ADDRESS=true, refused in production.
func ghostSyncCmd(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	if len(args) > 0 {
		return fmt.Errorf("ghost-sync takes no arguments (it reads GHOST_URL and GHOST_CONTENT_KEY)")
	}
	var missing []string
	for _, name := range []string{"GHOST_URL", "GHOST_CONTENT_KEY"} {
		if getenv(name) == "" {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		verb := " is"
		if len(missing) > 1 {
			verb = " are"
		}
		return errors.New(strings.Join(missing, " and ") + verb + " not set: GHOST_URL is the Ghost site's address " +
			"(https://example.ghost.io) and GHOST_CONTENT_KEY a Content API key (Ghost admin: Settings > Integrations)")
	}
	dbURL, err := databaseURL(getenv)
	if err != nil {
		return err
	}
	allowPrivate, err := ghostAllowPrivate(getenv)
	if err != nil {
		return err
	}
	client, err := ghostsync.NewClient(getenv("GHOST_URL"), getenv("GHOST_CONTENT_KEY"), ghostsync.HTTPClient(allowPrivate))
	if err != nil {
		return err
	}
	pool, err := cliPool(ctx, dbURL, 4)
	if err != nil {
		return err
	}
	defer pool.Close()
	drawn := false
	// The blog's defaults (_config/app-config.yaml), or the same variables:
	// a sync here and one in the blog must clean posts alike, or each would
	// rewrite what the other wrote. Posts changed here are announced by the
	// blog's check of posts out of date with their Article.
	opts := ghostsync.Options{MembersPosts: getenv("GHOST_MEMBERS_POSTS"), EmbedHosts: ghostsync.DefaultEmbedHosts}
	if v := getenv("GHOST_EMBED_HOSTS"); v != "" {
		opts.EmbedHosts = nil
		for h := range strings.SplitSeq(v, ",") {
			if h = strings.TrimSpace(h); h != "" && h != "-" {
				opts.EmbedHosts = append(opts.EmbedHosts, h)
			}
		}
	}
	sum, err := ghostsync.SyncWith(ctx, client, pool, opts, func(done, total int) {
		fmt.Fprint(stdout, "\r"+progressBar(done, total, 30))
		drawn = true
	})
	if drawn {
		fmt.Fprintln(stdout)
	}
	fmt.Fprintf(stdout, "created %d, updated %d, deleted %d, skipped %d; authors created or changed %d\n",
		sum.Created, sum.Updated, sum.Deleted, sum.Skipped, sum.Authors)
	if err != nil {
		if ghostsync.IsRetryable(err) {
			return errors.Join(err, errors.New("the Ghost site may be down: run ghost-sync again later"))
		}
		return err
	}
	if sum.Changed() {
		purgeBlogPages(ctx, getenv, stdout)
	}
	return nil
}

// ghostAllowPrivate reads GHOST_ALLOW_PRIVATE_ADDRESS (default false),
// refusing it in production (APP_ENV, or the config file's environment).
func ghostAllowPrivate(getenv func(string) string) (bool, error) {
	raw := getenv("GHOST_ALLOW_PRIVATE_ADDRESS")
	if raw == "" {
		return false, nil
	}
	allow, err := strconv.ParseBool(raw)
	if err != nil {
		return false, fmt.Errorf("GHOST_ALLOW_PRIVATE_ADDRESS=%q is not true or false", raw)
	}
	if !allow {
		return false, nil
	}
	production := getenv("APP_ENV") == "production"
	if cfg, err := config.Load(getenv); err == nil && cfg.Production() {
		production = true
	}
	if production {
		return false, errors.New("GHOST_ALLOW_PRIVATE_ADDRESS is for development and tests; it is refused in production")
	}
	return true, nil
}

// purgeBlogPages drops the blog's cached pages so that synced posts show
// at once rather than after the page cache's lifetime. It needs the
// platform's config (REDIS_URL and the rest); without it, it says so.
func purgeBlogPages(ctx context.Context, getenv func(string) string, stdout io.Writer) {
	cfg, err := config.Load(getenv)
	if err != nil {
		fmt.Fprintln(stdout, "blog page cache not purged (cached pages expire within page_cache.ttl):", err)
		return
	}
	rdb, err := cache.Open(cfg.RedisURL)
	if err != nil {
		fmt.Fprintln(stdout, "blog page cache not purged:", err)
		return
	}
	defer rdb.Close()
	if err := pagecache.Purge(ctx, rdb, cache.Namespace(cfg.RedisPrefix), "blog"); err != nil {
		fmt.Fprintln(stdout, "blog page cache not purged:", err)
	}
}

// progressBar draws "[#####.....] 50/150" with width cells.
func progressBar(done, total, width int) string {
	filled := width
	if total > 0 {
		filled = min(width, done*width/total)
	}
	return fmt.Sprintf("[%s%s] %d/%d", strings.Repeat("#", filled), strings.Repeat(".", width-filled), done, total)
}
