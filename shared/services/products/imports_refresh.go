package products

import (
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
)

// Queue is the River queue of the market's own jobs, worked only by
// market replicas: the scheduled refresh of supplier sources (RefreshArgs).
const Queue = "market"

// RefreshEvery is how often the scheduled refresh looks for sources whose
// interval has passed.
const RefreshEvery = 5 * time.Minute

// RefreshArgs asks for the supplier sources whose refresh is due to be
// fetched again (Imports.RunDue), with conditional GETs.
type RefreshArgs struct{}

// Kind names the job.
func (RefreshArgs) Kind() string { return "market_refresh_sources" }

// InsertOpts puts the job on the market's queue, tried once: the next
// period's job picks up every source still due.
func (RefreshArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{MaxAttempts: 1, Queue: Queue}
}

// RefreshPeriodic returns the periodic job that queues a RefreshArgs every
// interval. Every service declares it (boot.PeriodicJobs); market replicas
// work it. At most one waits or runs at a time, so that they do not pile
// up while no market replica works the queue.
func RefreshPeriodic(interval time.Duration) *river.PeriodicJob {
	return river.NewPeriodicJob(river.PeriodicInterval(interval), func() (river.JobArgs, *river.InsertOpts) {
		opts := RefreshArgs{}.InsertOpts()
		opts.UniqueOpts = river.UniqueOpts{ByArgs: true, ByState: []rivertype.JobState{
			rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRunning,
			rivertype.JobStateRetryable, rivertype.JobStateScheduled,
		}}
		return RefreshArgs{}, &opts
	}, &river.PeriodicJobOpts{ID: "market_refresh_sources"})
}
