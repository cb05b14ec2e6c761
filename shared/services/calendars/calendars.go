// Package calendars is the PostgreSQL implementation of the events
// service's calendars and their events. It owns the tables calendars,
// events, event_occurrences and ticket_types: no other package writes
// them.
package calendars

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
	// Events are shown in their organisers' zones: the zone database is
	// embedded, so a container without one still knows Europe/London.
	_ "time/tzdata"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/microcosm-cc/bluemonday"

	"rose-ash.com/platform/shared/models"
)

// MaxUpcomingEvents is the largest limit the listing reads accept.
const MaxUpcomingEvents = 100

// Store reads and writes calendars, events, their occurrences and ticket
// types. The events service's pages and fragments (the blog's home shows
// them as fragments) and its admin are its callers, so it has no contract
// (see docs/DECISIONS.md). Reads of published events are public; now is a
// parameter so that pages and tests choose the clock.
type Store struct {
	db *pgxpool.Pool
	// changed run, in order, in the transaction of every event change.
	changed []func(ctx context.Context, tx pgx.Tx, id uuid.UUID) error
	// Now is the clock of writes (time.Now when nil).
	Now func() time.Time
}

// New returns a Store on db.
func New(db *pgxpool.Pool) *Store { return &Store{db: db} }

// OnChange adds f to the functions run inside the transaction of every
// create, update, publication and cancellation of an event, after the
// change: the events actor announces events on the fediverse there, so an
// event and its announcement commit together. f's error rolls the change
// back. Call it before the store is used.
func (s *Store) OnChange(f func(ctx context.Context, tx pgx.Tx, eventID uuid.UUID) error) {
	s.changed = append(s.changed, f)
}

func (s *Store) announce(ctx context.Context, tx pgx.Tx, id uuid.UUID) error {
	for _, f := range s.changed {
		if err := f(ctx, tx, id); err != nil {
			return err
		}
	}
	return nil
}

func (s *Store) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// Querier is what reads and writes run on: the pool or a transaction.
type Querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

func internal(what string, err error) error {
	var e *models.Error
	if errors.As(err, &e) {
		return err
	}
	return models.Wrap(models.EInternal, "", fmt.Errorf("calendars: %s: %w", what, err))
}

var (
	policyOnce sync.Once
	policy     *bluemonday.Policy
)

// SanitizeHTML returns html with only safe markup kept (paragraphs, lists,
// emphasis, links, images), the blog's policy: an event's description is
// stored sanitized.
func SanitizeHTML(html string) string {
	policyOnce.Do(func() {
		policy = bluemonday.UGCPolicy()
		policy.RequireNoFollowOnLinks(true)
		policy.AddTargetBlankToFullyQualifiedLinks(true)
	})
	return strings.TrimSpace(policy.Sanitize(html))
}

// listColumns are models.Event's fields for pgx.RowToStructByName, from
// an occurrence o of an event e in calendar c.
const listColumns = `
SELECT e.id, c.slug AS calendar_slug, c.title AS calendar_title, e.slug, e.title,
       e.summary, e.location, o.starts_at, o.ends_at, o.id AS occurrence_id, e.time_zone,
       (e.rrule <> '' OR cardinality(e.rdates) > 0) AS recurring
FROM event_occurrences o
JOIN events e ON e.id = o.event_id
JOIN calendars c ON c.id = e.calendar_id`

const upcomingEvents = listColumns + `
WHERE e.status = 'scheduled' AND o.status = 'scheduled' AND o.ends_at > $1 AND ($2 = '' OR c.slug = $2)
ORDER BY o.starts_at, o.ends_at, o.id
LIMIT $3 OFFSET $4`

// UpcomingQuery narrows and pages a list of occurrences.
type UpcomingQuery struct {
	// Calendar is a calendar's slug; "" for every calendar.
	Calendar string
	// Limit is 1 to MaxUpcomingEvents; Offset skips that many.
	Limit, Offset int
}

func (q UpcomingQuery) check() error {
	if q.Limit < 1 || q.Limit > MaxUpcomingEvents || q.Offset < 0 {
		return models.Errorf(models.EInvalid, "Ask for 1 to %d events.", MaxUpcomingEvents)
	}
	return nil
}

// Upcoming returns the scheduled occurrences of published events ending
// after now, soonest first (each date of a recurring event is an item of
// its own), with times in UTC. Errors: EInvalid (a limit not from 1 to
// MaxUpcomingEvents, a negative offset), EInternal.
func (s *Store) Upcoming(ctx context.Context, now time.Time, q UpcomingQuery) ([]models.Event, error) {
	if err := q.check(); err != nil {
		return nil, err
	}
	return s.list(ctx, "upcoming", upcomingEvents, now, q.Calendar, q.Limit, q.Offset)
}

// UpcomingEvents returns at most limit scheduled occurrences ending after
// now, soonest first, with times in UTC. Errors: EInvalid (limit not from
// 1 to MaxUpcomingEvents), EInternal.
func (s *Store) UpcomingEvents(ctx context.Context, now time.Time, limit int) ([]models.Event, error) {
	return s.Upcoming(ctx, now, UpcomingQuery{Limit: limit})
}

const pastEvents = listColumns + `
WHERE e.status = 'scheduled' AND o.status = 'scheduled' AND o.ends_at <= $1 AND ($2 = '' OR c.slug = $2)
ORDER BY o.starts_at DESC, o.id
LIMIT $3 OFFSET $4`

// Past returns the scheduled occurrences that ended by now, latest first.
// Errors: as Upcoming's.
func (s *Store) Past(ctx context.Context, now time.Time, q UpcomingQuery) ([]models.Event, error) {
	if err := q.check(); err != nil {
		return nil, err
	}
	return s.list(ctx, "past", pastEvents, now, q.Calendar, q.Limit, q.Offset)
}

// maxMonth bounds how many occurrences a month lists.
const maxMonth = 1000

const monthEvents = listColumns + `
WHERE e.status = 'scheduled' AND o.status = 'scheduled' AND o.starts_at >= $1 AND o.starts_at < $2
  AND ($3 = '' OR c.slug = $3)
ORDER BY o.starts_at, o.ends_at, o.id
LIMIT $4`

// Between returns the scheduled occurrences starting from from up to
// (not including) to, soonest first, of one calendar (its slug) or of all
// (""): a month's grid. Errors: EInvalid (to before from), EInternal.
func (s *Store) Between(ctx context.Context, from, to time.Time, calendar string) ([]models.Event, error) {
	if to.Before(from) {
		return nil, models.Errorf(models.EInvalid, "A range of dates ends after it starts.")
	}
	return s.list(ctx, "between", monthEvents, from, to, calendar, maxMonth)
}

func (s *Store) list(ctx context.Context, what, sql string, args ...any) ([]models.Event, error) {
	rows, err := s.db.Query(ctx, sql, args...)
	if err != nil {
		return nil, internal(what, err)
	}
	events, err := pgx.CollectRows(rows, pgx.RowToStructByName[models.Event])
	if err != nil {
		return nil, internal(what, err)
	}
	for i := range events {
		events[i].StartsAt = events[i].StartsAt.UTC()
		events[i].EndsAt = events[i].EndsAt.UTC()
	}
	return events, nil
}

// calendarColumns are a calendar's columns, in scanCalendar's order.
const calendarColumns = `
SELECT c.id, c.slug, c.title, c.description, c.container_post_id, c.version, coalesce(p.slug, '')
FROM calendars c LEFT JOIN posts p ON p.id = c.container_post_id`

func scanCalendar(row pgx.Row) (models.Calendar, error) {
	var c models.Calendar
	err := row.Scan(&c.ID, &c.Slug, &c.Title, &c.Description, &c.ContainerPostID, &c.Version, &c.ContainerSlug)
	return c, err
}

const calendarBySlug = calendarColumns + ` WHERE c.slug = $1`

// CalendarBySlug returns the calendar with that slug. Errors: ENotFound,
// EInternal.
func (s *Store) CalendarBySlug(ctx context.Context, slug string) (models.Calendar, error) {
	notFound := models.Errorf(models.ENotFound, "There is no calendar %q.", slug)
	if models.ValidateEventSlug(slug) != nil {
		return models.Calendar{}, notFound
	}
	cal, err := scanCalendar(s.db.QueryRow(ctx, calendarBySlug, slug))
	if errors.Is(err, pgx.ErrNoRows) {
		return models.Calendar{}, notFound
	}
	if err != nil {
		return models.Calendar{}, internal("calendar by slug", err)
	}
	return cal, nil
}

const allCalendars = calendarColumns + ` ORDER BY c.title, c.slug`

// Calendars returns every calendar, by title. Errors: EInternal.
func (s *Store) Calendars(ctx context.Context) ([]models.Calendar, error) {
	rows, err := s.db.Query(ctx, allCalendars)
	if err != nil {
		return nil, internal("calendars", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (models.Calendar, error) { return scanCalendar(r) })
	if err != nil {
		return nil, internal("calendars", err)
	}
	return out, nil
}

// CalendarUpcoming returns the calendar with that slug and at most limit
// of its scheduled occurrences ending after now, soonest first, with times
// in UTC. Errors: ENotFound (no such calendar, or an impossible slug),
// EInvalid (limit not from 1 to MaxUpcomingEvents), EInternal.
func (s *Store) CalendarUpcoming(ctx context.Context, slug string, now time.Time, limit int) (models.Calendar, []models.Event, error) {
	q := UpcomingQuery{Calendar: slug, Limit: limit}
	if err := q.check(); err != nil {
		return models.Calendar{}, nil, err
	}
	cal, err := s.CalendarBySlug(ctx, slug)
	if err != nil {
		return models.Calendar{}, nil, err
	}
	events, err := s.Upcoming(ctx, now, q)
	if err != nil {
		return models.Calendar{}, nil, err
	}
	return cal, events, nil
}

// SearchHit is a calendar or an event found by name.
type SearchHit struct {
	// Kind is "calendar" or "event".
	Kind  string
	Slug  string
	Title string
	// StartsAt is an event's first start (UTC); zero for a calendar.
	StartsAt time.Time
}

const search = `
(SELECT 'calendar' AS kind, slug, title, NULL::timestamptz AS starts_at FROM calendars
 WHERE title ILIKE $1 ESCAPE '\' OR slug ILIKE $1 ESCAPE '\' ORDER BY title LIMIT $2)
UNION ALL
(SELECT 'event', slug, title, starts_at FROM events
 WHERE status <> 'draft' AND (title ILIKE $1 ESCAPE '\' OR slug ILIKE $1 ESCAPE '\')
 ORDER BY starts_at DESC LIMIT $2)`

// Search returns the calendars, then the published events, whose title or
// slug contains q (any case), at most limit of each: the blog editor's
// widget picker. Errors: EInvalid (an empty q, a limit not from 1 to
// MaxUpcomingEvents), EInternal.
func (s *Store) Search(ctx context.Context, q string, limit int) ([]SearchHit, error) {
	q = strings.TrimSpace(q)
	if q == "" || len(q) > 200 {
		return nil, models.Errorf(models.EInvalid, "Type part of a calendar's or an event's name.")
	}
	if limit < 1 || limit > MaxUpcomingEvents {
		return nil, models.Errorf(models.EInvalid, "Ask for 1 to %d results.", MaxUpcomingEvents)
	}
	pattern := "%" + strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(q) + "%"
	rows, err := s.db.Query(ctx, search, pattern, limit)
	if err != nil {
		return nil, internal("search", err)
	}
	var out []SearchHit
	for rows.Next() {
		var h SearchHit
		var at *time.Time
		if err := rows.Scan(&h.Kind, &h.Slug, &h.Title, &at); err != nil {
			return nil, internal("search", err)
		}
		if at != nil {
			h.StartsAt = at.UTC()
		}
		out = append(out, h)
	}
	if err := rows.Err(); err != nil {
		return nil, internal("search", err)
	}
	return out, nil
}
