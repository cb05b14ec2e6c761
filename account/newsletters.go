package main

import (
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"rose-ash.com/platform/shared/boot"
	"rose-ash.com/platform/shared/config"
	"rose-ash.com/platform/shared/services/newsletters"
)

// newsletterStore is the mailing lists' store of the account service:
// links signed with the "newsletter-links" key and based on account's
// public URL, jobs queued with jobs (nil while the worker is being
// registered: the worker's store only sends).
func newsletterStore(d boot.Deps, jobs *river.Client[pgx.Tx]) *newsletters.Store {
	cfg := d.Config
	links := newsletters.Links{Key: config.DeriveKey(cfg.SecretKey, "newsletter-links"),
		Base: cfg.Service("account").PublicURL, Mailto: cfg.Newsletters.UnsubscribeMailto}
	var s *newsletters.Store
	if jobs != nil {
		s = newsletters.New(d.DB, jobs, links)
	} else {
		s = newsletters.New(d.DB, nil, links)
	}
	if cfg.Newsletters.SoftBounceLimit > 0 {
		s.SoftBounceLimit = cfg.Newsletters.SoftBounceLimit
	}
	return s
}

// newsletterWorkers registers the worker of the subscription mails
// (confirmation, welcome) on newsletters.MailQueue; it returns how many
// workers it added.
func newsletterWorkers(d boot.Deps, w *river.Workers) (int, error) {
	return 1, river.AddWorkerSafely(w, &newsletters.MailWorker{Store: newsletterStore(d, nil), Sender: d.Mail})
}
