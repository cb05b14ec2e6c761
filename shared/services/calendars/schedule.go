package calendars

import (
	"context"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/google/uuid"
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

const eventIDBySlug = `SELECT id FROM events WHERE slug = $1`

const moveEvent = `
UPDATE events SET starts_at = $2, ends_at = $3, version = version + 1, updated_at = now() WHERE id = $1`

// AddEventIfMissing adds, in tx, the event e (see CreateEvent) unless an
// event has its slug. An event already there keeps its fields, but a
// one-off one that has ended takes e's times, and a recurring one gets its
// occurrences up to the horizon: so the demo seed, which calls it, keeps
// its events upcoming. One never edited (version 1) that was saved before
// events had places, zones, repeats and tickets gets e's for those it
// lacks. Errors: as CreateEvent's.
func (s *Store) AddEventIfMissing(ctx context.Context, tx pgx.Tx, e models.EventEntry) error {
	if e.Status == "" {
		e.Status = models.EventScheduled
	}
	if err := prepare(&e); err != nil {
		return fmt.Errorf("event %s: %w", e.Slug, err)
	}
	var id = e.ID
	err := tx.QueryRow(ctx, eventIDBySlug, e.Slug).Scan(&id)
	if errNoRows(err) {
		if _, err := s.createEvent(ctx, tx, e); err != nil {
			return fmt.Errorf("event %s: %w", e.Slug, err)
		}
		return nil
	}
	if err != nil {
		return internal("event by slug", err)
	}
	old, err := eventByID(ctx, tx, id, true)
	if err != nil {
		return err
	}
	if old.Status != models.EventScheduled {
		return nil
	}
	if old.Version == 1 {
		if err := fillBlanks(ctx, tx, old, e); err != nil {
			return fmt.Errorf("event %s: %w", e.Slug, err)
		}
		if old, err = eventByID(ctx, tx, id, true); err != nil {
			return err
		}
	}
	if !old.Recurring() && !old.EndsAt.After(s.now()) {
		if _, err := tx.Exec(ctx, moveEvent, id, e.StartsAt, e.EndsAt); err != nil {
			return internal("move event", err)
		}
		old.StartsAt, old.EndsAt = e.StartsAt, e.EndsAt
	}
	if _, err := syncOccurrences(ctx, tx, old, s.now()); err != nil {
		return fmt.Errorf("event %s: %w", e.Slug, err)
	}
	return nil
}

// fillBlanks gives an event saved before events had them (blank) e's
// description, address, organiser, zone, capacity and repeat rule, and
// e's ticket types when it has none; it changes nothing when nothing is
// blank.
const fillBlanks1 = `
UPDATE events SET
  description_html = CASE WHEN description_html = '' THEN $2 ELSE description_html END,
  address = CASE WHEN address = '' THEN $3 ELSE address END,
  organiser_name = CASE WHEN organiser_name = '' THEN $4 ELSE organiser_name END,
  time_zone = CASE WHEN time_zone = 'UTC' THEN $5 ELSE time_zone END,
  capacity = coalesce(capacity, $6),
  rrule = CASE WHEN rrule = '' THEN $7 ELSE rrule END,
  version = version + 1, updated_at = now()
WHERE id = $1 AND version = 1
  AND ((description_html = '' AND $2 <> '') OR (address = '' AND $3 <> '') OR (organiser_name = '' AND $4 <> '')
       OR (time_zone = 'UTC' AND $5 <> 'UTC') OR (capacity IS NULL AND $6::integer IS NOT NULL) OR (rrule = '' AND $7 <> ''))`

func fillBlanks(ctx context.Context, tx pgx.Tx, old, e models.EventEntry) error {
	if _, err := tx.Exec(ctx, fillBlanks1, old.ID, e.DescriptionHTML, e.Address, e.OrganiserName, e.TimeZone,
		e.Capacity, e.RRule); err != nil {
		return internal("fill in event", err)
	}
	if len(old.TicketTypes) == 0 && len(e.TicketTypes) > 0 {
		e.ID = old.ID
		return saveTicketTypes(ctx, tx, e)
	}
	return nil
}

// validateCalendar returns an EInvalid error unless c has a valid slug, a
// title of 1 to 200 characters and a description of at most 2000.
func validateCalendar(c models.Calendar) error {
	if err := models.ValidateEventSlug(c.Slug); err != nil {
		return err
	}
	switch {
	case strings.TrimSpace(c.Title) == "":
		return models.Errorf(models.EInvalid, "Enter the calendar's title.")
	case utf8.RuneCountInString(c.Title) > 200:
		return models.Errorf(models.EInvalid, "A calendar's title is at most 200 characters.")
	case utf8.RuneCountInString(c.Description) > 2000:
		return models.Errorf(models.EInvalid, "A calendar's description is at most 2000 characters.")
	}
	return nil
}

func calendarError(what string, err error, c models.Calendar) error {
	switch constraintOf(err) {
	case "calendars_slug_key":
		return models.Errorf(models.EConflict, "Another calendar already has the address /calendars/%s: choose another slug.", c.Slug)
	case "calendars_container_post_id_fkey":
		return models.Errorf(models.EInvalid, "The page chosen to show the calendar does not exist.")
	}
	return internal(what, err)
}

const insertCalendar = `
INSERT INTO calendars (slug, title, description, container_post_id) VALUES ($1, $2, $3, $4)
RETURNING id, version`

const pageBySlug = `SELECT id FROM posts WHERE slug = $1 AND type = 'page'`

// container resolves c.ContainerSlug to the blog page's id when
// ContainerPostID is not given. Errors: EInvalid (no such page), EInternal.
func (s *Store) container(ctx context.Context, c *models.Calendar) error {
	c.ContainerSlug = strings.Trim(strings.TrimSpace(c.ContainerSlug), "/")
	if c.ContainerPostID != nil || c.ContainerSlug == "" {
		return nil
	}
	var id uuid.UUID
	err := s.db.QueryRow(ctx, pageBySlug, c.ContainerSlug).Scan(&id)
	if errNoRows(err) {
		return models.Errorf(models.EInvalid, "There is no blog page /%s to show the calendar: give the slug of a page.", c.ContainerSlug)
	}
	if err != nil {
		return internal("container page", err)
	}
	c.ContainerPostID = &id
	return nil
}

// CreateCalendar adds the calendar c (slug, title, description and the
// blog page that contains it, if any, by id or slug) and returns it with its id and
// version. Errors: EInvalid, EConflict (the slug is taken), EInternal.
func (s *Store) CreateCalendar(ctx context.Context, c models.Calendar) (models.Calendar, error) {
	if err := validateCalendar(c); err != nil {
		return c, err
	}
	if err := s.container(ctx, &c); err != nil {
		return c, err
	}
	if err := s.db.QueryRow(ctx, insertCalendar, c.Slug, c.Title, c.Description, c.ContainerPostID).
		Scan(&c.ID, &c.Version); err != nil {
		return c, calendarError("add calendar", err, c)
	}
	return c, nil
}

const updateCalendar = `
UPDATE calendars SET slug = $3, title = $4, description = $5, container_post_id = $6, version = version + 1,
       updated_at = now()
WHERE id = $1 AND version = $2
RETURNING version`

const calendarExists = `SELECT EXISTS (SELECT 1 FROM calendars WHERE id = $1)`

// UpdateCalendar saves c over the calendar with c.ID, which must still be
// at c.Version, and returns it with its new version. Errors: EInvalid,
// ENotFound, EConflict (saved by someone else since, or the slug is
// taken), EInternal.
func (s *Store) UpdateCalendar(ctx context.Context, c models.Calendar) (models.Calendar, error) {
	if err := validateCalendar(c); err != nil {
		return c, err
	}
	if err := s.container(ctx, &c); err != nil {
		return c, err
	}
	err := s.db.QueryRow(ctx, updateCalendar, c.ID, c.Version, c.Slug, c.Title, c.Description, c.ContainerPostID).
		Scan(&c.Version)
	if errNoRows(err) {
		var exists bool
		if err := s.db.QueryRow(ctx, calendarExists, c.ID).Scan(&exists); err != nil {
			return c, internal("calendar exists", err)
		}
		if !exists {
			return c, models.Errorf(models.ENotFound, "There is no such calendar: it may have been removed.")
		}
		return c, models.Errorf(models.EConflict, "Someone else saved this calendar while you were editing it: reload it to see their changes, then make yours again.")
	}
	if err != nil {
		return c, calendarError("update calendar", err, c)
	}
	return c, nil
}

const calendarWithID = calendarColumns + ` WHERE c.id = $1`

// CalendarWithID returns the calendar with that id. Errors: ENotFound,
// EInternal.
func (s *Store) CalendarWithID(ctx context.Context, id uuid.UUID) (models.Calendar, error) {
	c, err := scanCalendar(s.db.QueryRow(ctx, calendarWithID, id))
	if errNoRows(err) {
		return c, models.Errorf(models.ENotFound, "There is no such calendar: it may have been removed.")
	}
	if err != nil {
		return c, internal("calendar by id", err)
	}
	return c, nil
}

const calendarsOfPage = calendarColumns + ` WHERE c.container_post_id = $1 ORDER BY c.title, c.slug`

// CalendarsOfPage returns the calendars whose container is the blog page
// with id postID (the page shows their widgets), by title. Errors:
// EInternal.
func (s *Store) CalendarsOfPage(ctx context.Context, postID uuid.UUID) ([]models.Calendar, error) {
	rows, err := s.db.Query(ctx, calendarsOfPage, postID)
	if err != nil {
		return nil, internal("calendars of page", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (models.Calendar, error) { return scanCalendar(r) })
	if err != nil {
		return nil, internal("calendars of page", err)
	}
	return out, nil
}
