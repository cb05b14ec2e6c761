// Command events runs the Rose Ash events service.
package main

import (
	"context"
	"io"
	"io/fs"
	"net/http"

	"github.com/riverqueue/river"

	"rose-ash.com/platform/events/internal"
	"rose-ash.com/platform/shared/boot"
	"rose-ash.com/platform/shared/pagecache"
	"rose-ash.com/platform/shared/services/bookings"
	"rose-ash.com/platform/shared/services/calendars"
)

func main() { boot.Main("events", run) }

// run starts the events service and blocks until ctx ends.
func run(ctx context.Context, getenv func(string) string, stdout io.Writer) error {
	static, err := fs.Sub(internal.Static, "static")
	if err != nil {
		return err
	}
	sweep := &sweepWorker{}
	opts := boot.Options{Service: "events", MayMigrate: false, Static: static, Queues: queues,
		Workers: func(d boot.Deps, w *river.Workers) (int, error) {
			n, err := workers(d, w)
			if err != nil {
				return 0, err
			}
			return n + 1, river.AddWorkerSafely(w, sweep)
		}}
	return boot.Run(ctx, opts, getenv, stdout, func(d boot.Deps) (http.Handler, error) {
		pages := pagecache.New(d.Redis, d.Keys, "events", d.Site.Assets.Version(), d.Config.PageCache.TTL.Std(), d.Site.Metrics.Registry)
		store, bk := calendars.New(d.DB), bookings.New(d.DB)
		h := internal.NewServer(internal.Deps{Site: d.Site, Auth: d.SignIn(), Events: store, Bookings: bk,
			Mail: d.Mail, Sessions: d.Sessions, Secret: []byte(d.Config.SecretKey), Pages: pages,
			Objects: federate(d, store, bk)})
		sweep.store.Store(bk) // NewServer set its Offered hook: offers are emailed
		return h, nil
	})
}
