// Command market runs the Rose Ash market service.
package main

import (
	"context"
	"io"
	"io/fs"
	"net/http"

	"rose-ash.com/platform/market/internal"
	"rose-ash.com/platform/shared/boot"
	"rose-ash.com/platform/shared/media"
	"rose-ash.com/platform/shared/pagecache"
	"rose-ash.com/platform/shared/services/products"
)

func main() { boot.Main("market", run) }

// run starts the market service and blocks until ctx ends.
func run(ctx context.Context, getenv func(string) string, stdout io.Writer) error {
	static, err := fs.Sub(internal.Static, "static")
	if err != nil {
		return err
	}
	refresh := &refreshWorker{}
	opts := boot.Options{Service: "market", MayMigrate: false, Static: static, Workers: refresh.jobs, Queues: jobQueues}
	return boot.Run(ctx, opts, getenv, stdout, func(d boot.Deps) (http.Handler, error) {
		store := products.New(d.DB)
		// Listings and search results read by signed-in shoppers are kept
		// a moment (the page cache serves only anonymous visitors).
		if ttl := d.Config.PageCache.Listings.Std(); ttl > 0 {
			store.CacheListings(ttl)
		}
		mediaStore, err := media.NewDiskStore(d.Config.Media.Dir)
		if err != nil {
			return nil, err
		}
		imports := products.NewImports(d.Config, store, mediaStore)
		refresh.imports.Store(imports)
		return internal.NewServer(internal.Deps{
			Site: d.Site, Auth: d.SignIn(), Products: store, Media: mediaStore,
			Pages:   pagecache.New(d.Redis, d.Keys, "market", d.Site.Assets.Version(), d.Config.PageCache.TTL.Std(), d.Site.Metrics.Registry),
			Objects: federate(d, store), Imports: imports,
		}), nil
	})
}
