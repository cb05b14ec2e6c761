package listings

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"

	"rose-ash.com/platform/shared/schedule"
)

// Queue is the River queue of the market's own jobs, worked only by market
// replicas: the announcement of products never announced (DueArgs).
const Queue = "market"

// DueInterval is how often products never announced are looked for
// (Publisher.SyncDue).
const DueInterval = time.Minute

// DueBatch bounds how many products one run announces, so that a
// catalogue written without announcements reaches followers' timelines a
// few at a time rather than all at once.
const DueBatch = 25

// DueArgs asks for the published products never announced to be announced
// (Publisher.SyncDue).
type DueArgs struct{}

// Kind names the job in River.
func (DueArgs) Kind() string { return "market_unannounced_products" }

// InsertOpts puts the job on the market's queue, tried once (the next
// period's job tries again), and at most one waits or runs at a time:
// while no market replica works the queue, the jobs do not pile up.
func (DueArgs) InsertOpts() river.InsertOpts { return schedule.Once(Queue) }

// Periodic returns the periodic job that queues a DueArgs every interval
// (and once when a replica becomes River's leader). Every service declares
// it (boot.PeriodicJobs); the market works it (DueWorker).
func Periodic(interval time.Duration) *river.PeriodicJob {
	return schedule.Every("market_unannounced_products", interval, DueArgs{}, true)
}

// QueueDue asks for the products never announced to be announced now (the
// market does so when it starts, for the demo's products), unless such a
// job already waits.
func QueueDue(ctx context.Context, jobs *river.Client[pgx.Tx]) error {
	_, err := jobs.Insert(ctx, DueArgs{}, nil)
	return err
}

// DueWorker runs DueArgs jobs: it announces up to DueBatch products never
// announced (Publisher.SyncDue), queueing their deliveries with the job's
// own River client.
type DueWorker struct {
	river.WorkerDefaults[DueArgs]
	// MarketURL is the market's public base URL (Publisher.MarketURL).
	MarketURL string
	DB        *pgxpool.Pool
}

// Work announces one batch. Errors: River's client missing from ctx, or
// SyncDue's.
func (w *DueWorker) Work(ctx context.Context, job *river.Job[DueArgs]) error {
	jobs, err := river.ClientFromContextSafely[pgx.Tx](ctx)
	if err != nil {
		return err
	}
	pub := &Publisher{MarketURL: w.MarketURL, Jobs: jobs}
	_, err = pub.SyncDue(ctx, w.DB, DueBatch)
	return err
}
