package main

import (
	"context"
	"sync/atomic"

	"github.com/riverqueue/river"

	"rose-ash.com/platform/shared/services/bookings"
)

// sweepWorker runs the periodic sweep of unclaimed waitlist offers and
// unpaid holds (bookings.SweepArgs) with the bookings store the server
// built, whose Offered hook emails the next in line.
type sweepWorker struct {
	river.WorkerDefaults[bookings.SweepArgs]
	store atomic.Pointer[bookings.Store]
}

// Work sweeps, once the server is built (a job run before then does
// nothing: the next period's tries again).
func (w *sweepWorker) Work(ctx context.Context, job *river.Job[bookings.SweepArgs]) error {
	s := w.store.Load()
	if s == nil {
		return nil
	}
	return (&bookings.SweepWorker{Store: s}).Work(ctx, job)
}
