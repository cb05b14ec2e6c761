// Command blog runs the Rose Ash blog service.
package main

import (
	"context"
	"io"
	"io/fs"
	"net/http"

	"rose-ash.com/platform/blog/internal"
	"rose-ash.com/platform/shared/boot"
	"rose-ash.com/platform/shared/internalnet"
	"rose-ash.com/platform/shared/media"
	"rose-ash.com/platform/shared/oauth"
	"rose-ash.com/platform/shared/pagecache"
	"rose-ash.com/platform/shared/services/identity"
	"rose-ash.com/platform/shared/services/navigation"
	"rose-ash.com/platform/shared/services/posts"
)

func main() { boot.Main("blog", run) }

// run starts the blog service and blocks until ctx ends.
func run(ctx context.Context, getenv func(string) string, stdout io.Writer) error {
	static, err := fs.Sub(internal.Static, "static")
	if err != nil {
		return err
	}
	opts := boot.Options{Service: "blog", MayMigrate: true, Static: static}
	return boot.Run(ctx, opts, getenv, stdout, func(d boot.Deps) (http.Handler, error) {
		store, nav := posts.New(d.DB), navigation.New(d.DB)
		mediaStore, err := media.NewDiskStore(d.Config.Media.Dir)
		if err != nil {
			return nil, err
		}
		auth := oauth.NewClient(d.Site, d.Sessions, identity.New(d.DB), internalnet.Client(d.Config))
		return internal.NewServer(d.Site, auth, nav, nav, store, store, store,
			pagecache.New(d.Redis, d.Keys, "blog", d.Site.Assets.Version(), d.Config.PageCache.TTL.Std(), d.Site.Metrics.Registry), mediaStore), nil
	})
}
