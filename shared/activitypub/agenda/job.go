package agenda

import (
	"context"
	"net/http"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"

	"rose-ash.com/platform/shared/activitypub"
	"rose-ash.com/platform/shared/schedule"
)

// Queue is the River queue of the events service's own jobs, worked only
// by events replicas: the announcement of events never announced
// (DueArgs).
const Queue = "events"

// DueInterval is how often events never announced, and events whose
// announced date is over while they are still to come, are looked for
// (Publisher.SyncDue).
const DueInterval = time.Minute

// DueBatch bounds how many events one run announces, so that a calendar
// written without announcements reaches followers' timelines a few at a
// time rather than all at once.
const DueBatch = 25

// DueArgs asks for the published events never announced to be announced
// (Publisher.SyncDue).
type DueArgs struct{}

// Kind names the job in River.
func (DueArgs) Kind() string { return "events_unannounced_events" }

// InsertOpts puts the job on the events queue, tried once (the next
// period's job tries again), and at most one waits or runs at a time:
// while no events replica works the queue, the jobs do not pile up.
func (DueArgs) InsertOpts() river.InsertOpts { return schedule.Once(Queue) }

// Periodic returns the periodic job that queues a DueArgs every interval
// (and once when a replica becomes River's leader). Every service declares
// it (boot.PeriodicJobs); the events service works it (DueWorker).
func Periodic(interval time.Duration) *river.PeriodicJob {
	return schedule.Every("events_unannounced_events", interval, DueArgs{}, true)
}

// QueueDue asks for the events never announced to be announced now (the
// events service does so when it starts, for the demo's events), unless
// such a job already waits. Errors: River's.
func QueueDue(ctx context.Context, jobs *river.Client[pgx.Tx]) error {
	_, err := jobs.Insert(ctx, DueArgs{}, nil)
	return err
}

// DueWorker runs DueArgs jobs: it announces up to DueBatch events never
// announced (Publisher.SyncDue), queueing their deliveries with the job's
// own River client.
type DueWorker struct {
	river.WorkerDefaults[DueArgs]
	// EventsURL is the events service's public base URL
	// (Publisher.EventsURL).
	EventsURL string
	DB        *pgxpool.Pool
}

// Work announces one batch. Errors: River's client missing from ctx, or
// SyncDue's.
func (w *DueWorker) Work(ctx context.Context, job *river.Job[DueArgs]) error {
	jobs, err := river.ClientFromContextSafely[pgx.Tx](ctx)
	if err != nil {
		return err
	}
	pub := &Publisher{EventsURL: w.EventsURL, Jobs: jobs}
	_, err = pub.SyncDue(ctx, w.DB, DueBatch)
	return err
}

// SyncDue announces up to limit published events never announced that
// are still to end (the soonest first): those written without the
// calendars store's hook, such as the demo's. It also brings up to date
// the events whose announced date is over but which are still to come (a
// recurring event's next occurrence; a demo event moved on without the
// hook), so that followers are shown the next date. It returns how many
// events it synced.
// Errors: the database's.
func (p *Publisher) SyncDue(ctx context.Context, db *pgxpool.Pool, limit int) (int, error) {
	prefix := p.Actor() + "/events/"
	rows, err := db.Query(ctx, `
		(SELECT e.id FROM events e
		 WHERE e.status = 'scheduled' AND e.published_at IS NOT NULL
		   AND (e.ends_at > now() OR EXISTS (SELECT 1 FROM event_occurrences o WHERE o.event_id = e.id AND o.ends_at > now()))
		   AND NOT EXISTS (SELECT 1 FROM ap_activities a WHERE a.object_uri = $1 || e.id::text)
		 ORDER BY e.starts_at, e.id LIMIT $2)
		UNION
		(SELECT e.id FROM events e
		 CROSS JOIN LATERAL (SELECT a.type, a.payload FROM ap_activities a WHERE a.object_uri = $1 || e.id::text
		                     ORDER BY a.created_at DESC, a.id DESC LIMIT 1) last
		 WHERE e.status = 'scheduled' AND e.published_at IS NOT NULL
		   AND last.type IN ('Create', 'Update') AND (last.payload->'object'->>'endTime')::timestamptz < now()
		   AND (e.ends_at > now() OR EXISTS (SELECT 1 FROM event_occurrences o WHERE o.event_id = e.id AND o.ends_at > now()))
		 LIMIT $2)`, prefix, limit)
	if err != nil {
		return 0, err
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
	if err != nil {
		return 0, err
	}
	for _, id := range ids {
		if err := pgx.BeginFunc(ctx, db, func(tx pgx.Tx) error { return p.Sync(ctx, tx, id) }); err != nil {
			return 0, err
		}
	}
	return len(ids), nil
}

// EventServer serves an event's Event object (as last sent) to
// fediverse servers asking for its page with an ActivityStreams Accept
// header; a handler of the events service calls it when
// activitypub.WantsAS2(r).
type EventServer func(w http.ResponseWriter, r *http.Request, eventID uuid.UUID)

// Server returns the EventServer of ap, the events service's ActivityPub
// presence: the event's latest Create or Update, with the Mobilizon
// context; a Tombstone (410) once deleted; 404 when never announced.
func (p *Publisher) Server(ap *activitypub.Service) EventServer {
	return func(w http.ResponseWriter, r *http.Request, eventID uuid.UUID) {
		ap.ServeObject(w, r, p.ObjectID(eventID))
	}
}
