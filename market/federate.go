package main

import (
	"context"
	"net/http"

	"github.com/google/uuid"
	"github.com/riverqueue/river"

	"rose-ash.com/platform/market/internal"
	"rose-ash.com/platform/shared/activitypub/listings"
	"rose-ash.com/platform/shared/boot"
	"rose-ash.com/platform/shared/services/products"
)

// federate makes the market's products posts of its actor (@market): every
// change to a product announces it (Create, Update, Delete) in the change's
// transaction; products written without the store's hook (the demo's) are
// announced by the unannounced-products job (listings.DueWorker), queued
// once now and then periodically. It returns what serves a product's Note
// to fediverse servers; nil when the market does not federate.
func federate(d boot.Deps, store *products.Store) internal.ProductServer {
	if d.AP == nil || d.Jobs == nil {
		return nil
	}
	pub := &listings.Publisher{MarketURL: d.Config.Service("market").PublicURL, Jobs: d.Jobs}
	store.OnChange(pub.Sync)
	if err := listings.QueueDue(context.Background(), d.Jobs); err != nil {
		d.Logger.Warn("products never announced wait for the periodic job", "error", err)
	}
	return func(w http.ResponseWriter, r *http.Request, productID uuid.UUID) {
		d.AP.ServeObject(w, r, pub.ObjectID(productID))
	}
}

// queues are the market's own job queues: the market queue (the
// announcement of products never announced) when the market federates.
func queues(d boot.Deps) map[string]int {
	if d.AP == nil {
		return nil
	}
	return map[string]int{listings.Queue: 1}
}

// workers registers the market's jobs: the announcement of products never
// announced, when the market federates (boot.PeriodicJobs schedules it in
// every service; market replicas work it).
func workers(d boot.Deps, w *river.Workers) (int, error) {
	if d.AP == nil {
		return 0, nil
	}
	err := river.AddWorkerSafely(w, &listings.DueWorker{MarketURL: d.Config.Service("market").PublicURL, DB: d.DB})
	if err != nil {
		return 0, err
	}
	return 1, nil
}
