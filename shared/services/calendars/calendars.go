// Package calendars is the PostgreSQL implementation of the events
// service's calendars and their events. It owns the tables calendars,
// events, event_occurrences and ticket_types: no other package writes
// them.
package calendars

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"rose-ash.com/platform/shared/models"
)

// MaxUpcomingEvents is the largest limit UpcomingEvents and
// CalendarUpcoming accept.
const MaxUpcomingEvents = 100

// Store reads calendars and events: the events service's pages and
// fragments (the blog's home shows them as fragments) are its only
// readers, so it has no contract (see docs/DECISIONS.md). Anyone may call
// its reads: the events are public; now is a parameter so that pages and
// tests choose the clock.
type Store struct {
	db *pgxpool.Pool
}

// New returns a Store on db.
func New(db *pgxpool.Pool) *Store { return &Store{db: db} }

// The column names match models.Event's fields for pgx.RowToStructByName.
const upcomingEvents = `
SELECT e.id, c.slug AS calendar_slug, c.title AS calendar_title, e.slug, e.title,
       e.summary, e.location, e.starts_at, e.ends_at
FROM events e
JOIN calendars c ON c.id = e.calendar_id
WHERE e.status = 'scheduled' AND e.ends_at > $1
ORDER BY e.starts_at, e.ends_at, e.id
LIMIT $2`

// UpcomingEvents returns at most limit scheduled events ending after now,
// soonest first, with times in UTC. Errors: EInvalid (limit not from 1 to
// MaxUpcomingEvents), EInternal.
func (s *Store) UpcomingEvents(ctx context.Context, now time.Time, limit int) ([]models.Event, error) {
	if limit < 1 || limit > MaxUpcomingEvents {
		return nil, models.Errorf(models.EInvalid, "Ask for 1 to %d events.", MaxUpcomingEvents)
	}
	rows, err := s.db.Query(ctx, upcomingEvents, now, limit)
	if err != nil {
		return nil, internal("upcoming events", err)
	}
	events, err := pgx.CollectRows(rows, pgx.RowToStructByName[models.Event])
	if err != nil {
		return nil, internal("upcoming events", err)
	}
	for i := range events {
		events[i].StartsAt = events[i].StartsAt.UTC()
		events[i].EndsAt = events[i].EndsAt.UTC()
	}
	return events, nil
}

func internal(what string, err error) error {
	return models.Wrap(models.EInternal, "", fmt.Errorf("calendars: %s: %w", what, err))
}

const calendarBySlug = `SELECT slug, title, description FROM calendars WHERE slug = $1`

// The column names match models.Event's fields for pgx.RowToStructByName.
const calendarUpcoming = `
SELECT e.id, c.slug AS calendar_slug, c.title AS calendar_title, e.slug, e.title,
       e.summary, e.location, e.starts_at, e.ends_at
FROM events e
JOIN calendars c ON c.id = e.calendar_id
WHERE c.slug = $1 AND e.status = 'scheduled' AND e.ends_at > $2
ORDER BY e.starts_at, e.ends_at, e.id
LIMIT $3`

// CalendarUpcoming returns the calendar with that slug and at most limit
// of its scheduled events ending after now, soonest first, with times in
// UTC. Errors: ENotFound (no such calendar, or an impossible slug),
// EInvalid (limit not from 1 to MaxUpcomingEvents), EInternal.
func (s *Store) CalendarUpcoming(ctx context.Context, slug string, now time.Time, limit int) (models.Calendar, []models.Event, error) {
	if limit < 1 || limit > MaxUpcomingEvents {
		return models.Calendar{}, nil, models.Errorf(models.EInvalid, "Ask for 1 to %d events.", MaxUpcomingEvents)
	}
	notFound := models.Errorf(models.ENotFound, "There is no calendar %q.", slug)
	if models.ValidateEventSlug(slug) != nil {
		return models.Calendar{}, nil, notFound
	}
	var cal models.Calendar
	err := s.db.QueryRow(ctx, calendarBySlug, slug).Scan(&cal.Slug, &cal.Title, &cal.Description)
	if errors.Is(err, pgx.ErrNoRows) {
		return models.Calendar{}, nil, notFound
	}
	if err != nil {
		return models.Calendar{}, nil, internal("calendar by slug", err)
	}
	rows, err := s.db.Query(ctx, calendarUpcoming, slug, now, limit)
	if err != nil {
		return models.Calendar{}, nil, internal("calendar upcoming", err)
	}
	events, err := pgx.CollectRows(rows, pgx.RowToStructByName[models.Event])
	if err != nil {
		return models.Calendar{}, nil, internal("calendar upcoming", err)
	}
	for i := range events {
		events[i].StartsAt = events[i].StartsAt.UTC()
		events[i].EndsAt = events[i].EndsAt.UTC()
	}
	return cal, events, nil
}
