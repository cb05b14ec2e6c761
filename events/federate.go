package main

import (
	"context"
	"net/http"

	"github.com/google/uuid"
	"github.com/riverqueue/river"

	"rose-ash.com/platform/events/internal"
	"rose-ash.com/platform/shared/activitypub/agenda"
	"rose-ash.com/platform/shared/boot"
	"rose-ash.com/platform/shared/services/bookings"
	"rose-ash.com/platform/shared/services/calendars"
)

// federate makes the events posts of the events service's actor
// (@events): every change to an event announces it (Create, Update,
// Delete) in the change's transaction (agenda.Publisher.Sync as the
// store's OnChange); events written without the hook (the demo's) are
// announced by the unannounced-events job, queued once now and then
// periodically; remote Joins and Leaves book and cancel places through the
// bookings store. It returns what serves an event's object to fediverse
// servers; nil when the service does not federate.
func federate(d boot.Deps, store *calendars.Store, bk *bookings.Store) internal.EventServer {
	if d.AP == nil || d.Jobs == nil {
		return nil
	}
	pub := &agenda.Publisher{EventsURL: d.Config.Service("events").PublicURL, Jobs: d.Jobs}
	store.OnChange(pub.Sync)
	part := &agenda.Participation{Publisher: pub, Attendance: bk}
	d.AP.SetParticipation(part.Handle)
	if err := agenda.QueueDue(context.Background(), d.Jobs); err != nil {
		d.Logger.Warn("events never announced wait for the periodic job", "error", err)
	}
	serve := pub.Server(d.AP)
	return func(w http.ResponseWriter, r *http.Request, eventID uuid.UUID) { serve(w, r, eventID) }
}

// queues are the events service's own job queues: the events queue (the
// extension of recurring events' dates, and the announcement of events
// never announced).
func queues(boot.Deps) map[string]int { return map[string]int{calendars.Queue: 2} }

// workers registers the events service's jobs: the extension of recurring
// events' dates (calendars.HorizonWorker) and, when the service federates,
// the announcement of events never announced (agenda.DueWorker; both are
// scheduled by boot.PeriodicJobs in every service).
func workers(d boot.Deps, w *river.Workers) (int, error) {
	if err := river.AddWorkerSafely(w, &calendars.HorizonWorker{DB: d.DB}); err != nil {
		return 0, err
	}
	if d.AP == nil {
		return 1, nil
	}
	err := river.AddWorkerSafely(w, &agenda.DueWorker{EventsURL: d.Config.Service("events").PublicURL, DB: d.DB})
	if err != nil {
		return 0, err
	}
	return 2, nil
}
