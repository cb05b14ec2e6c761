package calendars

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"

	"rose-ash.com/platform/shared/schedule"
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
func (HorizonArgs) InsertOpts() river.InsertOpts { return schedule.Once(Queue) }

// HorizonPeriodic returns the periodic job that queues a HorizonArgs every
// interval (and when a replica becomes River's leader). Every service
// declares it (boot.PeriodicJobs); the events service works it
// (HorizonWorker).
func HorizonPeriodic(interval time.Duration) *river.PeriodicJob {
	return schedule.Every("events_extend_horizons", interval, HorizonArgs{}, true)
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
