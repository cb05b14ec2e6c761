package calendars

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"rose-ash.com/platform/shared/models"
)

// TicketOffer is a ticket type as an occurrence's page offers it.
type TicketOffer struct {
	models.TicketType
	// SeatsLeft is how many of its seats can still be booked at the
	// occurrence (the fewer of the occurrence's and the type's own), -1
	// for no limit.
	SeatsLeft int
	// Sale is the type's sale state now (models.SaleOpen...).
	Sale string
}

// Bookable reports whether the offer can be booked now: on sale, with a
// seat left.
func (t TicketOffer) Bookable() bool { return t.Sale == models.SaleOpen && t.SeatsLeft != 0 }

// EventPage is what an event's page shows: the event, the occurrence
// shown, the event's next occurrences (for a recurring event) and its
// ticket types at that occurrence.
type EventPage struct {
	Event models.EventEntry
	// Occurrence is the date shown; its ID is uuid.Nil when the event has
	// none.
	Occurrence models.Occurrence
	// Next are the scheduled occurrences still to come other than the one
	// shown, soonest first (at most MaxNext).
	Next    []models.Occurrence
	Tickets []TicketOffer
}

// MaxNext is how many other dates an event's page lists.
const MaxNext = 12

const occurrenceColumns = `SELECT id, event_id, starts_at, ends_at, capacity, taken, status FROM event_occurrences`

func scanOccurrences(rows pgx.Rows) ([]models.Occurrence, error) {
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (models.Occurrence, error) {
		var o models.Occurrence
		err := r.Scan(&o.ID, &o.EventID, &o.StartsAt, &o.EndsAt, &o.Capacity, &o.Taken, &o.Status)
		o.StartsAt, o.EndsAt = o.StartsAt.UTC(), o.EndsAt.UTC()
		return o, err
	})
}

const (
	occurrenceOf  = occurrenceColumns + ` WHERE id = $1 AND event_id = $2`
	nextOf        = occurrenceColumns + ` WHERE event_id = $1 AND status = 'scheduled' AND ends_at > $2 ORDER BY starts_at LIMIT $3`
	latestOf      = occurrenceColumns + ` WHERE event_id = $1 ORDER BY starts_at DESC LIMIT 1`
	typeSeatsUsed = `
SELECT ticket_type_id, sum(quantity) FROM bookings
WHERE occurrence_id = $1 AND status IN ('held', 'confirmed') GROUP BY ticket_type_id`
)

// EventPage returns the page of the published (scheduled or cancelled)
// event with that slug at the occurrence with id occurrence, or, when
// occurrence is uuid.Nil, at its next occurrence still to come (its last
// one when none is). Errors: ENotFound (no such published event, or an
// occurrence of another event), EInternal.
func (s *Store) EventPage(ctx context.Context, slug string, occurrence uuid.UUID, now time.Time) (EventPage, error) {
	e, err := s.Event(ctx, slug)
	if err != nil {
		return EventPage{}, err
	}
	if e.Status == models.EventDraft {
		return EventPage{}, models.Errorf(models.ENotFound, "There is no event at /events/%s.", slug)
	}
	p := EventPage{Event: e}
	rows, err := s.db.Query(ctx, nextOf, e.ID, now, MaxNext+1)
	if err != nil {
		return p, internal("next occurrences", err)
	}
	next, err := scanOccurrences(rows)
	if err != nil {
		return p, internal("next occurrences", err)
	}
	switch {
	case occurrence != uuid.Nil:
		rows, err = s.db.Query(ctx, occurrenceOf, occurrence, e.ID)
	case len(next) > 0:
		rows, err = nil, nil
		p.Occurrence = next[0]
	default:
		rows, err = s.db.Query(ctx, latestOf, e.ID)
	}
	if err != nil {
		return p, internal("occurrence", err)
	}
	if rows != nil {
		found, err := scanOccurrences(rows)
		if err != nil {
			return p, internal("occurrence", err)
		}
		if len(found) == 0 && occurrence != uuid.Nil {
			return p, models.Errorf(models.ENotFound, "That date of %s is not on the calendar.", e.Title)
		}
		if len(found) > 0 {
			p.Occurrence = found[0]
		}
	}
	for _, o := range next {
		if o.ID != p.Occurrence.ID && len(p.Next) < MaxNext {
			p.Next = append(p.Next, o)
		}
	}
	if p.Occurrence.ID == uuid.Nil {
		return p, nil
	}
	used := map[uuid.UUID]int{}
	rows, err = s.db.Query(ctx, typeSeatsUsed, p.Occurrence.ID)
	if err != nil {
		return p, internal("seats by ticket type", err)
	}
	var id uuid.UUID
	var n int
	if _, err := pgx.ForEachRow(rows, []any{&id, &n}, func() error { used[id] = n; return nil }); err != nil {
		return p, internal("seats by ticket type", err)
	}
	for _, t := range e.TicketTypes {
		left := p.Occurrence.SeatsLeft()
		if t.Capacity != nil {
			own := max(*t.Capacity-used[t.ID], 0)
			if left < 0 || own < left {
				left = own
			}
		}
		sale := t.SaleState(now)
		if p.Occurrence.Status == models.EventCancelled || e.Status == models.EventCancelled || !p.Occurrence.EndsAt.After(now) {
			sale = models.SaleEnded
		}
		p.Tickets = append(p.Tickets, TicketOffer{TicketType: t, SeatsLeft: left, Sale: sale})
	}
	return p, nil
}

// FeedItem is one occurrence of an event in an iCalendar feed.
type FeedItem struct {
	Event      models.EventEntry
	Occurrence models.Occurrence
}

// maxFeed bounds the occurrences of a feed.
const maxFeed = 1000

const feedItems = `
SELECT e.id, e.slug, e.title, e.summary, e.description_html, e.location, e.address, e.time_zone, e.status,
       e.cancel_reason, c.slug, c.title,
       o.id, o.event_id, o.starts_at, o.ends_at, o.capacity, o.taken, o.status
FROM event_occurrences o
JOIN events e ON e.id = o.event_id
JOIN calendars c ON c.id = e.calendar_id
WHERE e.status <> 'draft' AND o.ends_at > $1 AND ($2 = '' OR e.slug = $2) AND ($3 = '' OR c.slug = $3)
ORDER BY o.starts_at, o.id
LIMIT $4`

func (s *Store) feed(ctx context.Context, since time.Time, event, calendar string) ([]FeedItem, error) {
	rows, err := s.db.Query(ctx, feedItems, since, event, calendar, maxFeed)
	if err != nil {
		return nil, internal("feed", err)
	}
	items, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (FeedItem, error) {
		var it FeedItem
		e, o := &it.Event, &it.Occurrence
		err := r.Scan(&e.ID, &e.Slug, &e.Title, &e.Summary, &e.DescriptionHTML, &e.Location, &e.Address,
			&e.TimeZone, &e.Status, &e.CancelReason, &e.CalendarSlug, &e.CalendarTitle,
			&o.ID, &o.EventID, &o.StartsAt, &o.EndsAt, &o.Capacity, &o.Taken, &o.Status)
		o.StartsAt, o.EndsAt = o.StartsAt.UTC(), o.EndsAt.UTC()
		return it, err
	})
	if err != nil {
		return nil, internal("feed", err)
	}
	return items, nil
}

// EventFeed returns the published event with that slug and its
// occurrences ending after since (cancelled ones included, marked),
// soonest first: its iCalendar feed. Errors: ENotFound, EInternal.
func (s *Store) EventFeed(ctx context.Context, slug string, since time.Time) (models.EventEntry, []FeedItem, error) {
	e, err := s.Event(ctx, slug)
	if err == nil && e.Status == models.EventDraft {
		err = models.Errorf(models.ENotFound, "There is no event at /events/%s.", slug)
	}
	if err != nil {
		return e, nil, err
	}
	items, err := s.feed(ctx, since, slug, "")
	return e, items, err
}

// CalendarFeed returns the calendar with that slug and the occurrences of
// its published events ending after since (cancelled ones included),
// soonest first. Errors: ENotFound, EInternal.
func (s *Store) CalendarFeed(ctx context.Context, slug string, since time.Time) (models.Calendar, []FeedItem, error) {
	c, err := s.CalendarBySlug(ctx, slug)
	if err != nil {
		return c, nil, err
	}
	items, err := s.feed(ctx, since, "", slug)
	return c, items, err
}

// errNoRows reports whether err is pgx's no-rows error.
func errNoRows(err error) bool { return errors.Is(err, pgx.ErrNoRows) }
