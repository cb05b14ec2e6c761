package bookings

import (
	"context"
	"errors"
	"time"

	"github.com/riverqueue/river"

	"rose-ash.com/platform/shared/schedule"
	"rose-ash.com/platform/shared/services/calendars"
)

// SweepEvery is how often waitlist offers not claimed in time and holds
// not paid in time are ended (ExpireOffers, ExpireHolds).
const SweepEvery = time.Minute

// SweepQueue is the River queue the sweep runs on: the events service's
// own, worked only by events replicas.
const SweepQueue = calendars.Queue

// SweepArgs asks for a sweep of expired offers and holds.
type SweepArgs struct{}

// Kind names the job in River.
func (SweepArgs) Kind() string { return "events_expire_offers_and_holds" }

// InsertOpts puts the job on the events queue, tried once (the next
// period's job tries again), at most one waiting or running at a time.
func (SweepArgs) InsertOpts() river.InsertOpts { return schedule.Once(SweepQueue) }

// SweepPeriodic returns the periodic job that queues a SweepArgs every
// interval (and when a replica becomes River's leader): every service
// declares it (boot.PeriodicJobs), the events service works it
// (SweepWorker).
func SweepPeriodic(interval time.Duration) *river.PeriodicJob {
	return schedule.Every("events_expire_offers_and_holds", interval, SweepArgs{}, true)
}

// SweepWorker runs SweepArgs jobs with Store, which should be the store
// the events server was given (its Offered hook emails the offers the
// sweep makes).
type SweepWorker struct {
	river.WorkerDefaults[SweepArgs]
	Store *Store
}

// Work ends the offers and holds due now. Errors: ExpireOffers' and
// ExpireHolds' (both are tried).
func (w *SweepWorker) Work(ctx context.Context, _ *river.Job[SweepArgs]) error {
	now := time.Now()
	_, offersErr := w.Store.ExpireOffers(ctx, now)
	_, holdsErr := w.Store.ExpireHolds(ctx, now)
	return errors.Join(offersErr, holdsErr)
}
