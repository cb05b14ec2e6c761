package bookings

import (
	"context"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"rose-ash.com/platform/shared/services/calendars"
)

// DeletedAccountReason is the cancel_reason of the bookings cancelled
// because their holder deleted their account; like the holder's own
// cancellation, paid places are refunded by the cart's sweep.
const DeletedAccountReason = HolderCancelledReason

const userBookingsToCancel = `
SELECT b.id FROM bookings b JOIN event_occurrences o ON o.id = b.occurrence_id
WHERE b.user_id = $1 AND b.status IN ('held', 'confirmed') AND o.ends_at > $2
ORDER BY o.starts_at`

const userOffers = `
SELECT id, occurrence_id, quantity FROM waitlist_entries
WHERE user_id = $1 AND status = 'offered' FOR UPDATE`

// ForgetUser cancels and erases, in tx, the bookings of a user whose
// account is being deleted: their bookings of occurrences not ended at now
// are cancelled whatever the cutoff, their seats given back and offered to
// the waitlist (as the holder's cancellation, so paid places are
// refunded); every booking of theirs loses its name and email (the row
// keeps user_id, whose users row is scrubbed, for the organisers' counts);
// their waitlist places are left (an offer's seats go to the next
// waiting) and lose their name, email and user. The Offered hook is
// called with the offers made, read in tx. Errors: those of cancelling;
// EInternal.
func (s *Store) ForgetUser(ctx context.Context, tx pgx.Tx, userID uuid.UUID, now time.Time) error {
	rows, err := tx.Query(ctx, userBookingsToCancel, userID, now)
	if err != nil {
		return internal("bookings of a deleted user", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
	if err != nil {
		return internal("bookings of a deleted user", err)
	}
	var offered []uuid.UUID
	for _, id := range ids {
		o, err := s.cancelIn(ctx, tx, id, DeletedAccountReason, now, false)
		if err != nil {
			return err
		}
		offered = append(offered, o...)
	}
	rows, err = tx.Query(ctx, userOffers, userID)
	if err != nil {
		return internal("offers of a deleted user", err)
	}
	type offer struct {
		id, occ  uuid.UUID
		quantity int
	}
	offers, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (offer, error) {
		var o offer
		return o, r.Scan(&o.id, &o.occ, &o.quantity)
	})
	if err != nil {
		return internal("offers of a deleted user", err)
	}
	for _, o := range offers {
		if _, err := tx.Exec(ctx, leaveEntry, o.id, now); err != nil {
			return internal("leave waitlist", err)
		}
		if err := calendars.ReleaseSeats(ctx, tx, o.occ, o.quantity); err != nil {
			return err
		}
		more, err := s.offerFreedSeats(ctx, tx, o.occ, now)
		if err != nil {
			return err
		}
		offered = append(offered, more...)
	}
	if _, err := tx.Exec(ctx, `
		UPDATE waitlist_entries SET status = CASE WHEN status = 'waiting' THEN 'left' ELSE status END,
		       user_id = NULL, email = 'erased', name = '', updated_at = $2 WHERE user_id = $1`, userID, now); err != nil {
		return internal("erase a deleted user's waitlist places", err)
	}
	if _, err := tx.Exec(ctx, `UPDATE bookings SET name = '', email = '', updated_at = $2 WHERE user_id = $1`, userID, now); err != nil {
		return internal("erase a deleted user's bookings", err)
	}
	s.notify(ctx, tx, offered)
	return nil
}
