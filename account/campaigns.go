package main

import (
	"cmp"

	"github.com/riverqueue/river"

	"rose-ash.com/platform/account/internal"
	"rose-ash.com/platform/shared/boot"
	"rose-ash.com/platform/shared/config"
	"rose-ash.com/platform/shared/services/campaigns"
	"rose-ash.com/platform/shared/services/newsletters"
)

// campaignRenderer renders campaign messages with the newsletters' links
// (the "newsletter-links" key, account's public URL, the unsubscribe
// mailbox).
func campaignRenderer(d boot.Deps) campaigns.Renderer {
	cfg := d.Config
	return campaigns.Renderer{Links: newsletters.Links{Key: config.DeriveKey(cfg.SecretKey, "newsletter-links"),
		Base: cfg.Service("account").PublicURL, Mailto: cfg.Newsletters.UnsubscribeMailto}}
}

// campaignOptions are the sending limits of newsletters.* in the config.
func campaignOptions(cfg *config.Config) campaigns.Options {
	n := cfg.Newsletters
	return campaigns.Options{Rate: n.SendRate, WindowCap: n.WindowCap, Window: n.Window.Std(),
		Concurrency: cmp.Or(n.Concurrency, 4)}
}

// campaignWorkers registers the campaign sender (through the bulk, pooled
// sender) and the tick that starts scheduled campaigns, on
// campaigns.Queue; it returns how many workers it added.
func campaignWorkers(d boot.Deps, w *river.Workers) (int, error) {
	send := &campaigns.SendWorker{DB: d.DB, Mail: cmp.Or(d.BulkMail, d.Mail), Renderer: campaignRenderer(d),
		Options: campaignOptions(d.Config), Logger: d.Logger}
	if err := river.AddWorkerSafely(w, send); err != nil {
		return 0, err
	}
	return 2, river.AddWorkerSafely(w, &campaigns.TickWorker{Store: campaigns.New(d.DB)})
}

// campaignAdmin is what the campaign admin pages and archive need; test
// messages go through the ordinary sender.
func campaignAdmin(d boot.Deps) *internal.Campaigns {
	return &internal.Campaigns{Store: campaigns.New(d.DB), Jobs: d.Jobs, Renderer: campaignRenderer(d), Mail: d.Mail}
}
