package contracts

import (
	"context"
	"time"

	"rose-ash.com/platform/shared/models"
)

// Events is the events service's calendars as others list them, such as
// the upcoming fragment on the blog's home page.
type Events interface {
	// UpcomingEvents returns at most limit scheduled (not cancelled) events
	// of every calendar that end after now, so events under way are
	// included: soonest start first, then soonest end. now is a parameter
	// so that pages and tests choose the clock. Anyone may call it: the
	// events are public. Errors: EInvalid when limit is not from 1 to
	// MaxUpcomingEvents; EInternal.
	UpcomingEvents(ctx context.Context, now time.Time, limit int) ([]models.Event, error)

	// CalendarUpcoming returns the calendar with that slug and at most
	// limit of its scheduled events that end after now, in the order of
	// UpcomingEvents: what a calendar's container widget shows. Anyone may
	// call it. Errors: ENotFound (no such calendar, or a slug no calendar
	// can have); EInvalid when limit is not from 1 to MaxUpcomingEvents;
	// EInternal.
	CalendarUpcoming(ctx context.Context, slug string, now time.Time, limit int) (models.Calendar, []models.Event, error)
}

// MaxUpcomingEvents is the largest limit Events.UpcomingEvents accepts.
const MaxUpcomingEvents = 100
