package bookings

import (
	"context"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"rose-ash.com/platform/shared/services/calendars"
)

// AddDemoBookingsIfNone books, in tx, the seats of each of bookers at the
// occurrence (confirmed, with their tickets, the seats taken as Book takes
// them) and puts waiting on the occurrence's waitlist, unless the
// occurrence has bookings already: the demo seed's nearly full and sold
// out dates. Each request's OccurrenceID and TicketTypeID are set from
// the arguments. Errors: calendars.TakeSeats' (EConflict when they do not
// fit), EInternal.
func AddDemoBookingsIfNone(ctx context.Context, tx pgx.Tx, occurrenceID, ticketTypeID uuid.UUID, bookers, waiting []Request, now time.Time) error {
	var booked bool
	if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM bookings WHERE occurrence_id = $1)`, occurrenceID).Scan(&booked); err != nil {
		return internal("demo bookings", err)
	}
	if booked {
		return nil
	}
	for _, q := range bookers {
		q.OccurrenceID, q.TicketTypeID = occurrenceID, ticketTypeID
		if err := q.validate(); err != nil {
			return err
		}
		if err := calendars.TakeSeats(ctx, tx, occurrenceID, ticketTypeID, q.Quantity, now); err != nil {
			return err
		}
		if _, err := insertBooking(ctx, tx, q, "", "", now); err != nil {
			return err
		}
	}
	for i, q := range waiting {
		// One after the other, as they joined.
		at := now.Add(time.Duration(i) * time.Minute)
		if _, err := tx.Exec(ctx, insertWaitlistEntry, occurrenceID, ticketTypeID, q.Quantity, nullUUID(q.UserID),
			q.Email, q.Name, at); err != nil {
			return internal("demo waitlist entry", err)
		}
	}
	return nil
}
