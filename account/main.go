// Command account runs the Rose Ash account service.
package main

import (
	"context"
	"io"
	"net/http"

	"github.com/riverqueue/river"

	"rose-ash.com/platform/account/internal"
	"rose-ash.com/platform/shared/boot"
	"rose-ash.com/platform/shared/media"
	"rose-ash.com/platform/shared/ratelimit"
	"rose-ash.com/platform/shared/services/bookings"
	"rose-ash.com/platform/shared/services/campaigns"
	"rose-ash.com/platform/shared/services/carts"
	"rose-ash.com/platform/shared/services/identity"
	"rose-ash.com/platform/shared/services/newsletters"
	"rose-ash.com/platform/shared/services/orders"
	"rose-ash.com/platform/shared/services/products"
)

func main() { boot.Main("account", run) }

// run starts the account service and blocks until ctx ends.
func run(ctx context.Context, getenv func(string) string, stdout io.Writer) error {
	// Editor: the campaign form's rich-text editor (admin_campaigns.go).
	opts := boot.Options{Service: "account", MayMigrate: false, Editor: true,
		// The deletion of accounts whose grace period is over (deletion_job.go).
		Workers: func(d boot.Deps, w *river.Workers) (int, error) {
			// Places a deleted member gives back are offered to the waitlist,
			// and each offer is emailed as the events service emails it.
			bk := bookings.New(d.DB)
			bk.Offered = bookings.OfferMailer{Mail: d.Mail, Secret: []byte(d.Config.SecretKey), Logger: d.Logger,
				EventsURL: func(path string) string { return d.Site.URL("events", path) }}.Send
			eraser := &internal.Eraser{DB: d.DB, Identity: identity.New(d.DB), Bookings: bk,
				FederationURL: d.Config.Service("federation").PublicURL, Logger: d.Logger}
			if err := river.AddWorkerSafely(w, &internal.DeletionWorker{Eraser: eraser}); err != nil {
				return 0, err
			}
			n, err := newsletterWorkers(d, w)
			if err != nil {
				return 0, err
			}
			m, err := campaignWorkers(d, w)
			return 1 + n + m, err
		},
		Queues: func(boot.Deps) map[string]int {
			return map[string]int{identity.DeletionQueue: 1, newsletters.MailQueue: 2, campaigns.Queue: 3}
		},
	}
	return boot.Run(ctx, opts, getenv, stdout, func(d boot.Deps) (http.Handler, error) {
		mediaStore, err := media.NewDiskStore(d.Config.Media.Dir)
		if err != nil {
			return nil, err
		}
		nl := newsletterStore(d, d.Jobs)
		return internal.NewServer(internal.Deps{Site: d.Site, Auth: d.SignIn(), Carts: carts.New(d.DB),
			Newsletters: nl, BounceSecret: d.Config.NewsletterBounceSecret, EmailMover: nl,
			Orders: orders.New(d.DB, products.New(d.DB)), Bookings: bookings.New(d.DB), DB: d.DB,
			Media: mediaStore, Mail: d.Mail, Campaigns: campaignAdmin(d),
			Limiter: ratelimit.New(d.Redis, d.Keys)}), nil
	})
}
