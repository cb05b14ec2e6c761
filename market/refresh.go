package main

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/riverqueue/river"

	"rose-ash.com/platform/shared/boot"
	"rose-ash.com/platform/shared/pagecache"
	"rose-ash.com/platform/shared/services/products"
)

// Bounds of the scheduled refresh: the sources one job runs, and the
// time one source may take (a listing fetches many pages, a delay apart).
const (
	refreshBatch     = 20
	refreshPerSource = 5 * time.Minute
)

// refreshWorker runs the scheduled refresh of supplier sources
// (products.RefreshArgs): the sources whose interval has passed are
// fetched again with conditional GETs, their price and stock changes
// queued for review (applied at once for trusted sources). It uses the
// Imports the server built (set once it is), so that what it applies is
// announced like an admin's change.
type refreshWorker struct {
	river.WorkerDefaults[products.RefreshArgs]
	imports atomic.Pointer[products.Imports]
	// purge drops the cached shop pages after a run applied something.
	purge func(context.Context) error
}

// Timeout lets one job run the whole batch.
func (w *refreshWorker) Timeout(*river.Job[products.RefreshArgs]) time.Duration {
	return refreshBatch*refreshPerSource + time.Minute
}

// Work runs the due sources; before the server is built there is nothing
// to run them with, and the next period's job runs them.
func (w *refreshWorker) Work(ctx context.Context, _ *river.Job[products.RefreshArgs]) error {
	im := w.imports.Load()
	if im == nil {
		return nil
	}
	results, err := im.RunDue(ctx, refreshBatch, refreshPerSource)
	applied := 0
	for _, r := range results {
		applied += r.Applied
	}
	if applied > 0 && w.purge != nil {
		_ = w.purge(ctx)
	}
	return err
}

// jobs registers the market's workers: federation's (workers) and the
// scheduled refresh of supplier sources. Neither is registered while the
// schema is not migrated (boot leaves Deps.AP nil then, and runs no job
// client without workers).
func (w *refreshWorker) jobs(d boot.Deps, ws *river.Workers) (int, error) {
	n, err := workers(d, ws)
	if err != nil || d.AP == nil {
		return n, err
	}
	w.purge = func(ctx context.Context) error { return pagecache.Purge(ctx, d.Redis, d.Keys, "market") }
	if err := river.AddWorkerSafely(ws, w); err != nil {
		return 0, err
	}
	return n + 1, nil
}

// jobQueues are the market's queues: the market queue (the refresh, and
// federation's announcements) with two workers, so that a long refresh
// does not hold up an announcement.
func jobQueues(d boot.Deps) map[string]int {
	if d.AP == nil {
		return queues(d)
	}
	q := map[string]int{}
	for name, n := range queues(d) {
		q[name] = n
	}
	q[products.Queue] = max(q[products.Queue], 2)
	return q
}
