package calendars

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"rose-ash.com/platform/shared/models"
)

// Seats are taken and given back only by these two functions, in the
// caller's transaction (the bookings store's, the cart's later): the
// occurrence's row is locked first, so that bookings of one occurrence
// queue on it and the count of a ticket type's seats read under the lock
// stays true until the caller's transaction ends.

// takeSeatsFast takes the seats in one statement when nothing needs a
// count under the lock (the ticket type has no capacity of its own) and
// every condition holds; the UPDATE locks the row as FOR UPDATE would,
// and READ COMMITTED re-checks the conditions on the row's latest
// version. Zero rows send TakeSeats to the slow path, which says why.
const takeSeatsFast = `
UPDATE event_occurrences o SET taken = o.taken + $3, updated_at = now()
FROM events e, ticket_types t
WHERE o.id = $1 AND t.id = $2 AND e.id = o.event_id AND t.event_id = e.id
  AND e.status = 'scheduled' AND e.published_at IS NOT NULL
  AND o.status = 'scheduled' AND o.starts_at > $4
  AND (t.sales_start IS NULL OR t.sales_start <= $4) AND (t.sales_end IS NULL OR t.sales_end > $4)
  AND t.capacity IS NULL
  AND (o.capacity IS NULL OR o.taken + $3 <= o.capacity)`

const lockOccurrence = `
SELECT o.status, o.starts_at, o.capacity, o.taken, o.event_id, e.status, e.published_at IS NOT NULL
FROM event_occurrences o
JOIN events e ON e.id = o.event_id
WHERE o.id = $1
FOR UPDATE OF o`

const ticketTypeForSale = `
SELECT event_id, capacity, sales_start, sales_end FROM ticket_types WHERE id = $1`

// Held and confirmed bookings and waitlist offers hold a ticket type's
// seats at an occurrence.
const ticketTypeTaken = `
SELECT coalesce((SELECT sum(quantity) FROM bookings
                 WHERE occurrence_id = $1 AND ticket_type_id = $2 AND status IN ('held', 'confirmed')), 0)
     + coalesce((SELECT sum(quantity) FROM waitlist_entries
                 WHERE occurrence_id = $1 AND ticket_type_id = $2 AND status = 'offered'), 0)`

const takeSeats = `
UPDATE event_occurrences SET taken = taken + $2, updated_at = now()
WHERE id = $1 AND (capacity IS NULL OR taken + $2 <= capacity)`

// TakeSeats takes n seats of ticket type ticketTypeID at the occurrence
// occurrenceID in tx, as of now: the occurrence's row is locked (FOR
// UPDATE) until tx ends; the event must be scheduled and published, the
// occurrence scheduled and not started, the ticket type the event's and
// on sale at now, and both the ticket type's own capacity (its held and
// confirmed bookings and waitlist offers at this occurrence) and the
// occurrence's leave room for n. The caller then records what holds the
// seats (a booking, a waitlist offer) in tx. Errors: EInvalid (n not from
// 1 to models.MaxBookingQuantity, a ticket type of another event),
// ENotFound (no such occurrence or ticket type), EConflict ("Sold out.",
// "Only 3 places left.", cancelled, started, not on sale), EInternal.
func TakeSeats(ctx context.Context, tx pgx.Tx, occurrenceID, ticketTypeID uuid.UUID, n int, now time.Time) error {
	if err := models.ValidateQuantity(n); err != nil {
		return err
	}
	tag, err := tx.Exec(ctx, takeSeatsFast, occurrenceID, ticketTypeID, n, now)
	if err != nil {
		return internal("take seats", err)
	}
	if tag.RowsAffected() == 1 {
		return nil
	}
	var (
		occStatus, eventStatus string
		startsAt               time.Time
		capacity               *int
		taken                  int
		eventID                uuid.UUID
		published              bool
	)
	err = tx.QueryRow(ctx, lockOccurrence, occurrenceID).Scan(&occStatus, &startsAt, &capacity, &taken, &eventID, &eventStatus, &published)
	if errors.Is(err, pgx.ErrNoRows) {
		return models.Errorf(models.ENotFound, "There is no such date for this event.")
	}
	if err != nil {
		return internal("lock occurrence", err)
	}
	switch {
	case eventStatus == "cancelled":
		return models.Errorf(models.EConflict, "This event has been cancelled.")
	case eventStatus != "scheduled" || !published:
		return models.Errorf(models.ENotFound, "There is no such date for this event.")
	case occStatus != "scheduled":
		return models.Errorf(models.EConflict, "This date has been cancelled.")
	case !now.Before(startsAt):
		return models.Errorf(models.EConflict, "This event has already started: booking is closed.")
	}

	var (
		typeEvent            uuid.UUID
		typeCapacity         *int
		salesStart, salesEnd *time.Time
	)
	err = tx.QueryRow(ctx, ticketTypeForSale, ticketTypeID).Scan(&typeEvent, &typeCapacity, &salesStart, &salesEnd)
	if errors.Is(err, pgx.ErrNoRows) {
		return models.Errorf(models.ENotFound, "There is no such ticket type.")
	}
	if err != nil {
		return internal("ticket type", err)
	}
	switch {
	case typeEvent != eventID:
		return models.Errorf(models.EInvalid, "That ticket type is not one of this event's.")
	case salesStart != nil && now.Before(*salesStart):
		return models.Errorf(models.EConflict, "These tickets are not on sale yet.")
	case salesEnd != nil && !now.Before(*salesEnd):
		return models.Errorf(models.EConflict, "Sales of these tickets have ended.")
	}
	if typeCapacity != nil {
		var typeTaken int
		if err := tx.QueryRow(ctx, ticketTypeTaken, occurrenceID, ticketTypeID).Scan(&typeTaken); err != nil {
			return internal("ticket type's seats", err)
		}
		if left := *typeCapacity - typeTaken; left < n {
			return models.Errorf(models.EConflict, "%s", models.SeatsLeftMessage(left))
		}
	}
	if capacity != nil && taken+n > *capacity {
		return models.Errorf(models.EConflict, "%s", models.SeatsLeftMessage(*capacity-taken))
	}
	tag, err = tx.Exec(ctx, takeSeats, occurrenceID, n)
	if err != nil {
		return internal("take seats", err)
	}
	if tag.RowsAffected() != 1 { // the lock makes this unreachable; the CHECK backs it too
		return models.Errorf(models.EConflict, "Sold out.")
	}
	return nil
}

const releaseSeats = `
UPDATE event_occurrences SET taken = taken - $2, updated_at = now() WHERE id = $1`

// ReleaseSeats gives n seats back to the occurrence occurrenceID in tx
// (its row stays locked until tx ends). The caller gives back each
// holder's seats once (bookings.seats_released_at). Errors: EInvalid (n
// below 1), ENotFound (no such occurrence), EInternal (among them giving
// back more seats than were taken, which the CHECK refuses).
func ReleaseSeats(ctx context.Context, tx pgx.Tx, occurrenceID uuid.UUID, n int) error {
	if n < 1 {
		return models.Errorf(models.EInvalid, "Give back at least one seat.")
	}
	tag, err := tx.Exec(ctx, releaseSeats, occurrenceID, n)
	if err != nil {
		return internal("release seats", fmt.Errorf("%d at %s: %w", n, occurrenceID, err))
	}
	if tag.RowsAffected() != 1 {
		return models.Errorf(models.ENotFound, "There is no such date for this event.")
	}
	return nil
}
