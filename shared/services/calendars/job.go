package calendars

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
)

// Queue is the River queue of the events service's own jobs, worked only
// by events replicas.
const Queue = "events"

// HorizonEvery is how often recurring events get the dates that have come
// within the horizon (ExtendHorizons).
const HorizonEvery = 6 * time.Hour

// HorizonArgs asks for ExtendHorizons.
type HorizonArgs struct{}

// Kind names the job in River.
func (HorizonArgs) Kind() string { return "events_extend_horizons" }

// InsertOpts puts the job on the events queue, tried once (the next
// period's job tries again), at most one waiting or running at a time.
func (HorizonArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{MaxAttempts: 1, Queue: Queue, UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: []rivertype.JobState{
		rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRunning,
		rivertype.JobStateRetryable, rivertype.JobStateScheduled,
	}}}
}

// HorizonPeriodic returns the periodic job that queues a HorizonArgs every
// interval (and when a replica becomes River's leader). Every service
// declares it (boot.PeriodicJobs); the events service works it
// (HorizonWorker).
func HorizonPeriodic(interval time.Duration) *river.PeriodicJob {
	return river.NewPeriodicJob(river.PeriodicInterval(interval), func() (river.JobArgs, *river.InsertOpts) {
		opts := HorizonArgs{}.InsertOpts()
		return HorizonArgs{}, &opts
	}, &river.PeriodicJobOpts{ID: "events_extend_horizons", RunOnStart: true})
}

// HorizonWorker runs HorizonArgs jobs.
type HorizonWorker struct {
	river.WorkerDefaults[HorizonArgs]
	DB *pgxpool.Pool
}

// Work extends every recurring event's dates to the horizon. Errors:
// ExtendHorizons'.
func (w *HorizonWorker) Work(ctx context.Context, _ *river.Job[HorizonArgs]) error {
	_, err := New(w.DB).ExtendHorizons(ctx)
	return err
}
