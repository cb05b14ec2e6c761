package orders

import (
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
)

// Queue is the job queue of cart replicas: the sweep of orders and
// payments (SweepArgs).
const Queue = "cart"

// SweepEvery is how often unpaid orders past their hold are expired and
// payments left pending are asked about.
const SweepEvery = time.Minute

// SweepArgs asks for the sweep: expire the unpaid orders whose hold ran
// out (their stock given back, their checkouts deactivated) and ask SumUp
// about payments pending for a while (the reconciler: a webhook may never
// come, a shopper may never return).
type SweepArgs struct{}

// Kind names the job.
func (SweepArgs) Kind() string { return "cart_sweep_orders" }

// InsertOpts puts the job on the cart's queue, tried once: the next
// period's sweep picks up whatever is left.
func (SweepArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{MaxAttempts: 1, Queue: Queue} }

// SweepPeriodic returns the periodic job that queues a SweepArgs every
// interval. Every service declares it (boot.PeriodicJobs); cart replicas
// work it; at most one waits or runs at a time.
func SweepPeriodic(interval time.Duration) *river.PeriodicJob {
	return river.NewPeriodicJob(river.PeriodicInterval(interval), func() (river.JobArgs, *river.InsertOpts) {
		opts := SweepArgs{}.InsertOpts()
		opts.UniqueOpts = river.UniqueOpts{ByArgs: true, ByState: []rivertype.JobState{
			rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRunning,
			rivertype.JobStateRetryable, rivertype.JobStateScheduled,
		}}
		return SweepArgs{}, &opts
	}, &river.PeriodicJobOpts{ID: "cart_sweep_orders"})
}
