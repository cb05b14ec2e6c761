// Package schedule makes the platform's periodic River jobs alike: each is
// queued every interval on the queue of the service that works it, tried
// once (the next period's job tries again), with at most one of its kind
// and arguments waiting or running at a time, so that jobs do not pile up
// while no replica works their queue.
package schedule

import (
	"slices"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
)

// waitingOrRunning are the states in which a job counts as queued already.
var waitingOrRunning = []rivertype.JobState{
	rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRunning,
	rivertype.JobStateRetryable, rivertype.JobStateScheduled,
}

// Once returns the insert options of a job on queue that is tried once
// and queued only when none of its kind and arguments waits or runs.
func Once(queue string) river.InsertOpts {
	return river.InsertOpts{MaxAttempts: 1, Queue: queue,
		UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: slices.Clone(waitingOrRunning)}}
}

// Args are a periodic job's arguments: its kind and insert options.
type Args interface {
	river.JobArgs
	river.JobArgsWithInsertOpts
}

// Every returns the periodic job named id that queues args (with its
// InsertOpts, which should be Once's) every interval, and also when a
// replica becomes River's leader if onStart is set.
func Every(id string, interval time.Duration, args Args, onStart bool) *river.PeriodicJob {
	return river.NewPeriodicJob(river.PeriodicInterval(interval), func() (river.JobArgs, *river.InsertOpts) {
		opts := args.InsertOpts()
		return args, &opts
	}, &river.PeriodicJobOpts{ID: id, RunOnStart: onStart})
}
