package main

import (
	"context"
	"sync/atomic"

	"github.com/riverqueue/river"

	"rose-ash.com/platform/cart/internal"
	"rose-ash.com/platform/shared/boot"
	"rose-ash.com/platform/shared/services/orders"
)

// sweepWorker runs the periodic sweep of orders and payments
// (orders.SweepArgs) with the Payments the server built.
type sweepWorker struct {
	river.WorkerDefaults[orders.SweepArgs]
	payments atomic.Pointer[internal.Payments]
}

// Work sweeps, once the server is built.
func (w *sweepWorker) Work(ctx context.Context, _ *river.Job[orders.SweepArgs]) error {
	p := w.payments.Load()
	if p == nil {
		return nil
	}
	return p.Sweep(ctx)
}

// jobs registers the sweep, unless the schema is not migrated yet (boot
// leaves Deps.AP nil then, and runs no job client without workers).
func (w *sweepWorker) jobs(d boot.Deps, ws *river.Workers) (int, error) {
	if d.AP == nil {
		return 0, nil
	}
	if err := river.AddWorkerSafely(ws, w); err != nil {
		return 0, err
	}
	return 1, nil
}

// jobQueues are the cart's queues: its own, with one worker.
func jobQueues(boot.Deps) map[string]int { return map[string]int{orders.Queue: 1} }
