package calendars

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"rose-ash.com/platform/shared/models"
)

const addCalendarIfMissing = `
INSERT INTO calendars (slug, title, description) VALUES ($1, $2, $3)
ON CONFLICT (slug) DO NOTHING`

// AddCalendarIfMissing adds, in tx, the calendar c unless one has its slug
// (which is then left as it is). The demo seed calls it. Errors: a slug
// models.ValidateEventSlug refuses (EInvalid), the database's.
func AddCalendarIfMissing(ctx context.Context, tx pgx.Tx, c models.Calendar) error {
	if err := models.ValidateEventSlug(c.Slug); err != nil {
		return fmt.Errorf("calendar %s: %w", c.Slug, err)
	}
	if _, err := tx.Exec(ctx, addCalendarIfMissing, c.Slug, c.Title, c.Description); err != nil {
		return fmt.Errorf("add calendar %s: %w", c.Slug, err)
	}
	return nil
}

// An event already there that has ended is moved to its new times, and so
// is one on a weekday other than the new one's; one still to come on its
// day is left as it is.
const scheduleEvent = `
INSERT INTO events (calendar_id, slug, title, summary, location, starts_at, ends_at)
SELECT c.id, $2, $3, $4, $5, $6, $7
FROM calendars c WHERE c.slug = $1
ON CONFLICT (slug) DO UPDATE
SET starts_at = excluded.starts_at, ends_at = excluded.ends_at, updated_at = now()
WHERE events.ends_at <= now()
   OR extract(dow FROM events.starts_at AT TIME ZONE 'UTC') <> extract(dow FROM excluded.starts_at AT TIME ZONE 'UTC')`

// ScheduleEvent adds, in tx, the event e to the calendar with slug
// calendarSlug (nothing when there is no such calendar). An event with
// e's slug already in that calendar keeps its fields, but takes e's times
// when it has ended or falls on another weekday (UTC) than e: so the demo
// seed, which calls it, keeps its events upcoming and on their days.
// Errors: an event models.ValidateEvent refuses (EInvalid), the database's.
func ScheduleEvent(ctx context.Context, tx pgx.Tx, calendarSlug string, e models.Event) error {
	if err := models.ValidateEvent(e); err != nil {
		return fmt.Errorf("event %s: %w", e.Slug, err)
	}
	if _, err := tx.Exec(ctx, scheduleEvent, calendarSlug, e.Slug, e.Title, e.Summary, e.Location,
		e.StartsAt, e.EndsAt); err != nil {
		return fmt.Errorf("schedule event %s: %w", e.Slug, err)
	}
	return nil
}
