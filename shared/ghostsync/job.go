package ghostsync

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
)

// Queue is the River queue Ghost syncs run in; the blog works it with one
// worker, so syncs never overlap. Every request gets its own (incremental,
// cheap) sync rather than being merged into one already running, which
// could miss a change made while it ran.
const Queue = "ghost"

// SyncArgs asks for a Ghost sync in the background (from a webhook or the
// admin's "Sync now").
type SyncArgs struct {
	// Reason says what asked for it, for the logs ("webhook post.published").
	Reason string `json:"reason"`
}

// Kind names the job in River.
func (SyncArgs) Kind() string { return "ghost_sync" }

// InsertOpts puts the job on the Ghost queue, retried up to 8 times.
func (SyncArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{MaxAttempts: 8, Queue: Queue}
}

// PeriodicReason is the SyncArgs.Reason of the periodic sync.
const PeriodicReason = "periodic"

// Periodic returns the periodic job that queues a sync every interval (and
// once when a replica becomes River's leader, since a leader that changes
// more often than the interval, as on every deploy, would otherwise never
// reach it): the reconcile that removes posts deleted in Ghost even when
// a webhook was missed. At most one is queued per interval window.
func Periodic(interval time.Duration) *river.PeriodicJob {
	return river.NewPeriodicJob(river.PeriodicInterval(interval), func() (river.JobArgs, *river.InsertOpts) {
		opts := SyncArgs{}.InsertOpts()
		opts.UniqueOpts = river.UniqueOpts{ByArgs: true, ByPeriod: interval}
		return SyncArgs{Reason: PeriodicReason}, &opts
	}, &river.PeriodicJobOpts{ID: "ghost_sync", RunOnStart: true})
}

// Worker runs SyncArgs jobs: a retryable failure (Ghost down, 5xx) is
// retried by River with backoff; any other failure ends the job, with the
// error recorded in the sync state for the admin page.
type Worker struct {
	river.WorkerDefaults[SyncArgs]
	Client *Client
	DB     *pgxpool.Pool
	// Options are the sync's (its posts store, navigation, members-only
	// posts and embeds).
	Options Options
	// Changed runs after a sync that changed what readers see (the blog
	// purges its page cache, and the navigation fragment when navChanged).
	Changed func(ctx context.Context, navChanged bool)
}

// Work syncs once.
func (w *Worker) Work(ctx context.Context, job *river.Job[SyncArgs]) error {
	sum, err := SyncWith(ctx, w.Client, w.DB, w.Options, nil)
	if sum.Changed() && w.Changed != nil {
		w.Changed(ctx, sum.Nav)
	}
	if err != nil && !IsRetryable(err) {
		return river.JobCancel(err)
	}
	return err
}

// Timeout gives a full import time to finish.
func (w *Worker) Timeout(*river.Job[SyncArgs]) time.Duration { return 10 * time.Minute }

// State is what the admin page shows of the last sync.
type State struct {
	Cursor    *time.Time
	LastRunAt *time.Time
	LastError string
	Counts    Summary
	// Conflicts are the Ghost posts not imported because another post
	// holds their slug.
	Conflicts []Conflict
}

// LoadState returns the stored sync state, with the current conflicts;
// the zero State before any sync. Errors: the database's.
func LoadState(ctx context.Context, db *pgxpool.Pool) (State, error) {
	var (
		s      State
		counts []byte
	)
	err := db.QueryRow(ctx, `SELECT cursor, last_run_at, last_error, counts FROM ghost_sync_state WHERE id`).
		Scan(&s.Cursor, &s.LastRunAt, &s.LastError, &counts)
	if errors.Is(err, pgx.ErrNoRows) {
		return State{}, nil
	}
	if err != nil {
		return s, err
	}
	_ = json.Unmarshal(counts, &s.Counts)
	s.Conflicts, err = Conflicts(ctx, db)
	return s, err
}
