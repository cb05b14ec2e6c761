package articles

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
)

// Queue is the River queue of the blog's own jobs, worked only by blog
// replicas: the scheduled posts' announcements (DueArgs).
const Queue = "blog"

// DueInterval is how often posts whose scheduled time has come are
// announced (SyncDue).
const DueInterval = 30 * time.Second

// DueArgs asks for the posts whose time has come to be announced
// (Publisher.SyncDue).
type DueArgs struct{}

// Kind names the job in River.
func (DueArgs) Kind() string { return "blog_scheduled_posts" }

// InsertOpts puts the job on the blog's queue, tried once: the next
// period's job tries again, as SyncDue finds every post still due.
func (DueArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{MaxAttempts: 1, Queue: Queue}
}

// Periodic returns the periodic job that queues a DueArgs every interval
// (and once when a replica becomes River's leader, as leaders may change
// more often than the interval). Every service declares it
// (boot.PeriodicJobs); the blog works it (DueWorker). At most one waits or
// runs at a time: while no blog replica works the queue (none federates
// yet), the jobs do not pile up one per interval, and one run announces
// every post then due.
func Periodic(interval time.Duration) *river.PeriodicJob {
	return river.NewPeriodicJob(river.PeriodicInterval(interval), func() (river.JobArgs, *river.InsertOpts) {
		opts := DueArgs{}.InsertOpts()
		opts.UniqueOpts = river.UniqueOpts{ByArgs: true, ByState: []rivertype.JobState{
			rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRunning,
			rivertype.JobStateRetryable, rivertype.JobStateScheduled,
		}}
		return DueArgs{}, &opts
	}, &river.PeriodicJobOpts{ID: "blog_scheduled_posts", RunOnStart: true})
}

// DueWorker runs DueArgs jobs: it announces the posts whose scheduled time
// has come (Publisher.SyncDue), queueing their deliveries with the job's
// own River client.
type DueWorker struct {
	river.WorkerDefaults[DueArgs]
	// BlogURL is the blog's public base URL (Publisher.BlogURL).
	BlogURL string
	DB      *pgxpool.Pool
}

// Work announces the due posts once. Errors: River's client missing from
// ctx, or SyncDue's.
func (w *DueWorker) Work(ctx context.Context, job *river.Job[DueArgs]) error {
	jobs, err := river.ClientFromContextSafely[pgx.Tx](ctx)
	if err != nil {
		return err
	}
	pub := &Publisher{BlogURL: w.BlogURL, Jobs: jobs}
	_, err = pub.SyncDue(ctx, w.DB)
	return err
}
