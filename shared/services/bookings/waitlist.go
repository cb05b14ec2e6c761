package bookings

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"rose-ash.com/platform/shared/models"
	"rose-ash.com/platform/shared/services/calendars"
)

// DefaultOfferWindow is how long a waitlist offer waits to be claimed
// when Store.OfferWindow is zero.
const DefaultOfferWindow = 24 * time.Hour

func (s *Store) offerWindow() time.Duration {
	if s.OfferWindow > 0 {
		return s.OfferWindow
	}
	return DefaultOfferWindow
}

// notify reads the offers made through q (the pool once committed, the
// caller's transaction otherwise) and hands them to the Offered hook.
func (s *Store) notify(ctx context.Context, q querier, ids []uuid.UUID) []models.WaitlistEntry {
	if len(ids) == 0 {
		return nil
	}
	offers := make([]models.WaitlistEntry, 0, len(ids))
	for _, id := range ids {
		e, err := waitlistEntry(ctx, q, id)
		if err != nil {
			continue // committed: the offer stands, only its email is lost; the page still shows it
		}
		offers = append(offers, e)
	}
	if s.Offered != nil && len(offers) > 0 {
		s.Offered(ctx, offers)
	}
	return offers
}

const occurrenceTicketType = `
SELECT t.price_minor FROM ticket_types t
JOIN event_occurrences o ON o.event_id = t.event_id
WHERE o.id = $1 AND t.id = $2`

const insertWaitlistEntry = `
INSERT INTO waitlist_entries (occurrence_id, ticket_type_id, quantity, user_id, email, name, created_at, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $7)
RETURNING id`

// JoinWaitlist puts q's booker on the waitlist of q's occurrence for
// q.Quantity seats of q's ticket type, behind those already waiting. An
// email address is required (the offer is sent to it), also for a
// signed-in user. Errors: EInvalid (quantity, name or email), ENotFound
// (no such occurrence, or a ticket type not of its event), EConflict
// (already waiting or offered at this occurrence; a paid ticket type),
// EInternal.
func (s *Store) JoinWaitlist(ctx context.Context, q Request, now time.Time) (models.WaitlistEntry, error) {
	if err := q.validate(); err != nil {
		return models.WaitlistEntry{}, err
	}
	if strings.TrimSpace(q.Email) == "" {
		return models.WaitlistEntry{}, models.Errorf(models.EInvalid, "Enter your email address: the offer of a place is sent to it.")
	}
	var price int64
	err := s.db.QueryRow(ctx, occurrenceTicketType, q.OccurrenceID, q.TicketTypeID).Scan(&price)
	if errors.Is(err, pgx.ErrNoRows) {
		return models.WaitlistEntry{}, models.Errorf(models.ENotFound, "There is no such date or ticket type for this event.")
	}
	if err != nil {
		return models.WaitlistEntry{}, internal("waitlist ticket type", err)
	}
	if price > 0 {
		return models.WaitlistEntry{}, errPaid
	}
	var id uuid.UUID
	err = s.db.QueryRow(ctx, insertWaitlistEntry, q.OccurrenceID, q.TicketTypeID, q.Quantity, nullUUID(q.UserID),
		q.Email, q.Name, now).Scan(&id)
	if isUniqueViolation(err, "waitlist_entries_once_key") {
		return models.WaitlistEntry{}, models.Errorf(models.EConflict, "You are on the waitlist for this date already.")
	}
	if err != nil {
		return models.WaitlistEntry{}, internal("insert waitlist entry", err)
	}
	return s.WaitlistEntry(ctx, id)
}

const firstWaiting = `
SELECT id, ticket_type_id, quantity FROM waitlist_entries
WHERE occurrence_id = $1 AND status = 'waiting'
ORDER BY created_at, id
LIMIT 1
FOR UPDATE`

const offerEntry = `
UPDATE waitlist_entries SET status = 'offered', offered_at = $2, offer_expires_at = $3, updated_at = $2
WHERE id = $1`

// offerFreedSeats offers the occurrence's free seats to its waitlist in
// order, in tx (which holds the occurrence's row lock after giving seats
// back): each offer takes its seats until it is claimed or expires. The
// first entry whose seats do not fit stops the round (first come, first
// served). It returns the ids of the entries offered.
func (s *Store) offerFreedSeats(ctx context.Context, tx pgx.Tx, occurrenceID uuid.UUID, now time.Time) ([]uuid.UUID, error) {
	var offered []uuid.UUID
	for {
		var (
			id, typeID uuid.UUID
			quantity   int
		)
		err := tx.QueryRow(ctx, firstWaiting, occurrenceID).Scan(&id, &typeID, &quantity)
		if errors.Is(err, pgx.ErrNoRows) {
			return offered, nil
		}
		if err != nil {
			return nil, internal("first waiting", err)
		}
		if err := calendars.TakeSeats(ctx, tx, occurrenceID, typeID, quantity, now); err != nil {
			if models.Code(err) == models.EInternal {
				return nil, err
			}
			return offered, nil // not enough seats (or no more sales): the entry keeps its place
		}
		if _, err := tx.Exec(ctx, offerEntry, id, now, now.Add(s.offerWindow())); err != nil {
			return nil, internal("offer entry", err)
		}
		offered = append(offered, id)
	}
}

const lockEntry = `
SELECT status, occurrence_id, ticket_type_id, quantity, user_id, email, name, offer_expires_at, booking_id
FROM waitlist_entries WHERE id = $1 FOR UPDATE`

const claimEntry = `
UPDATE waitlist_entries SET status = 'claimed', booking_id = $2, updated_at = $3 WHERE id = $1`

// ClaimOffer turns the waitlist offer id into a confirmed booking with
// its tickets (its seats were taken when it was offered), as of now. An
// offer claimed before returns its booking again. Who may claim is the
// caller's check (the emailed link is signed). Errors: ENotFound (no such
// entry), EConflict (not offered, or the offer has expired), EInternal.
func (s *Store) ClaimOffer(ctx context.Context, id uuid.UUID, now time.Time) (models.Booking, error) {
	var bookingID uuid.UUID
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var (
			status  string
			q       Request
			userID  *uuid.UUID
			expires *time.Time
			booked  *uuid.UUID
		)
		err := tx.QueryRow(ctx, lockEntry, id).Scan(&status, &q.OccurrenceID, &q.TicketTypeID, &q.Quantity,
			&userID, &q.Email, &q.Name, &expires, &booked)
		if errors.Is(err, pgx.ErrNoRows) {
			return models.Errorf(models.ENotFound, "There is no such place on the waitlist.")
		}
		if err != nil {
			return internal("lock waitlist entry", err)
		}
		switch {
		case status == models.WaitlistClaimed && booked != nil:
			bookingID = *booked
			return nil
		case status == models.WaitlistExpired || (status == models.WaitlistOffered && expires != nil && !now.Before(*expires)):
			return models.Errorf(models.EConflict, "This offer has expired: the places went to the next person waiting.")
		case status != models.WaitlistOffered:
			return models.Errorf(models.EConflict, "No places have been offered to you yet.")
		}
		if userID != nil {
			q.UserID = *userID
		}
		bookingID, err = insertBooking(ctx, tx, q, "", "", now)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, claimEntry, id, bookingID, now); err != nil {
			return internal("claim entry", err)
		}
		return nil
	})
	if err != nil {
		return models.Booking{}, err
	}
	return s.Booking(ctx, bookingID)
}

const offersDue = `
SELECT id FROM waitlist_entries WHERE status = 'offered' AND offer_expires_at <= $1
ORDER BY offer_expires_at LIMIT 500`

const expireEntry = `
UPDATE waitlist_entries SET status = 'expired', updated_at = $2 WHERE id = $1`

// ExpireOffers ends the waitlist offers not claimed by now: each gives its
// seats back and they are offered to the next waiting, as after a
// cancellation (the Offered hook is called with the new offers, which are
// also returned). The events service runs it periodically; up to 500
// offers a call. Errors: EInternal (offers expired before it stay
// expired).
func (s *Store) ExpireOffers(ctx context.Context, now time.Time) ([]models.WaitlistEntry, error) {
	rows, err := s.db.Query(ctx, offersDue, now)
	if err != nil {
		return nil, internal("offers due", err)
	}
	due, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
	if err != nil {
		return nil, internal("offers due", err)
	}
	var offered []uuid.UUID
	for _, id := range due {
		var ids []uuid.UUID
		err := s.inTx(ctx, func(tx pgx.Tx) error {
			var (
				status  string
				q       Request
				userID  *uuid.UUID
				expires *time.Time
				booked  *uuid.UUID
			)
			if err := tx.QueryRow(ctx, lockEntry, id).Scan(&status, &q.OccurrenceID, &q.TicketTypeID, &q.Quantity,
				&userID, &q.Email, &q.Name, &expires, &booked); err != nil {
				return internal("lock waitlist entry", err)
			}
			if status != models.WaitlistOffered || expires == nil || now.Before(*expires) {
				return nil // claimed meanwhile
			}
			if _, err := tx.Exec(ctx, expireEntry, id, now); err != nil {
				return internal("expire entry", err)
			}
			if err := calendars.ReleaseSeats(ctx, tx, q.OccurrenceID, q.Quantity); err != nil {
				return err
			}
			var err error
			ids, err = s.offerFreedSeats(ctx, tx, q.OccurrenceID, now)
			return err
		})
		if err != nil {
			s.notify(ctx, s.db, offered)
			return nil, err
		}
		offered = append(offered, ids...)
	}
	return s.notify(ctx, s.db, offered), nil
}

// OfferSeats offers the occurrence's free seats to its waitlist in order,
// as of now, as a cancellation does (the Offered hook is called with the
// offers, which are also returned): for a change that frees seats
// without a booking being cancelled, such as a larger capacity. Errors:
// EInternal.
func (s *Store) OfferSeats(ctx context.Context, occurrenceID uuid.UUID, now time.Time) ([]models.WaitlistEntry, error) {
	var offered []uuid.UUID
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var err error
		offered, err = s.offerFreedSeats(ctx, tx, occurrenceID, now)
		return err
	})
	if err != nil {
		return nil, err
	}
	return s.notify(ctx, s.db, offered), nil
}

const leaveEntry = `UPDATE waitlist_entries SET status = 'left', updated_at = $2 WHERE id = $1`

// LeaveWaitlist takes the entry id off its waitlist as of now (its
// holder is no longer interested); an offer it had gives its seats back,
// offered to the next waiting (the Offered hook is called). Who may
// leave is the caller's check (the emailed link is signed). Errors:
// ENotFound (no such entry), EConflict (claimed, expired or left
// already), EInternal.
func (s *Store) LeaveWaitlist(ctx context.Context, id uuid.UUID, now time.Time) error {
	var offered []uuid.UUID
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var (
			status  string
			q       Request
			userID  *uuid.UUID
			expires *time.Time
			booked  *uuid.UUID
		)
		err := tx.QueryRow(ctx, lockEntry, id).Scan(&status, &q.OccurrenceID, &q.TicketTypeID, &q.Quantity,
			&userID, &q.Email, &q.Name, &expires, &booked)
		if errors.Is(err, pgx.ErrNoRows) {
			return models.Errorf(models.ENotFound, "There is no such place on the waitlist.")
		}
		if err != nil {
			return internal("lock waitlist entry", err)
		}
		if status != models.WaitlistWaiting && status != models.WaitlistOffered {
			return models.Errorf(models.EConflict, "You are not on this waitlist any more.")
		}
		if _, err := tx.Exec(ctx, leaveEntry, id, now); err != nil {
			return internal("leave waitlist", err)
		}
		if status != models.WaitlistOffered {
			return nil
		}
		if err := calendars.ReleaseSeats(ctx, tx, q.OccurrenceID, q.Quantity); err != nil {
			return err
		}
		offered, err = s.offerFreedSeats(ctx, tx, q.OccurrenceID, now)
		return err
	})
	if err != nil {
		return err
	}
	s.notify(ctx, s.db, offered)
	return nil
}
