package campaigns

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"rose-ash.com/platform/shared/schedule"
)

// Queue is the River queue campaigns are sent on: the account service's,
// worked by account replicas.
const Queue = "campaigns"

// TickEvery is how often scheduled campaigns are started and sending
// campaigns without a job are given one again (TickArgs).
const TickEvery = 30 * time.Second

// SendArgs asks for a campaign's messages to be sent. At most one job per
// campaign waits or runs at a time.
type SendArgs struct {
	CampaignID uuid.UUID `json:"campaign_id"`
}

// Kind names the job in River.
func (SendArgs) Kind() string { return "newsletter_campaign_send" }

// InsertOpts puts the job on Queue, unique per campaign while waiting or
// running.
func (SendArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: Queue, UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: []rivertype.JobState{
		rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRetryable,
		rivertype.JobStateRunning, rivertype.JobStateScheduled}}}
}

// TickArgs asks for due scheduled campaigns to start and for every
// campaign that should be sending (or waits for the relay) to have its job.
type TickArgs struct{}

// Kind names the job in River.
func (TickArgs) Kind() string { return "newsletter_campaigns_tick" }

// InsertOpts: on Queue, once at a time.
func (TickArgs) InsertOpts() river.InsertOpts { return schedule.Once(Queue) }

// TickPeriodic returns the periodic job queuing a TickArgs every interval
// (boot.PeriodicJobs declares it; the account service works it).
func TickPeriodic(interval time.Duration) *river.PeriodicJob {
	return schedule.Every("newsletter_campaigns_tick", interval, TickArgs{}, true)
}

// TickWorker runs TickArgs jobs.
type TickWorker struct {
	river.WorkerDefaults[TickArgs]
	Store *Store
}

// Work starts due campaigns and re-queues the send job of campaigns that
// are sending or paused because the relay was unreachable (the insert is
// skipped where one exists), so no race between a pause and a resume
// leaves a campaign without its job.
func (w *TickWorker) Work(ctx context.Context, _ *river.Job[TickArgs]) error {
	jobs := river.ClientFromContext[pgx.Tx](ctx)
	_, startErr := w.Store.StartDue(ctx, jobs, time.Now())
	rows, err := w.Store.db.Query(ctx, `SELECT id FROM newsletter_campaigns WHERE status = 'sending' OR (status = 'paused' AND status_note = $1)`, NoteRelayUnreachable)
	if err != nil {
		return errors.Join(startErr, fmt.Errorf("campaigns: tick: %w", err))
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
	if err != nil {
		return errors.Join(startErr, fmt.Errorf("campaigns: tick: %w", err))
	}
	for _, id := range ids {
		if _, err := jobs.Insert(ctx, SendArgs{CampaignID: id}, nil); err != nil {
			return errors.Join(startErr, fmt.Errorf("campaigns: tick: %w", err))
		}
	}
	return startErr
}
