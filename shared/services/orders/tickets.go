package orders

import (
	"context"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"rose-ash.com/platform/shared/models"
	"rose-ash.com/platform/shared/services/bookings"
	"rose-ash.com/platform/shared/services/calendars"
)

// Paid event tickets: an order's ticket lines hold their seats through
// the bookings store (a held booking of the order, until the order's own
// hold ends), in the order's transaction; paying the order confirms them
// (tickets issued), and an order that expires or is cancelled unpaid gives
// them back, where its stock goes back.

// errNoTickets refuses ticket lines when the store sells none.
var errNoTickets = models.Errorf(models.EUnavailable, "Event tickets cannot be bought here just now: try again later.")

// ticketsFor reads, in tx as of now, the tickets the lines order.
func (s *Store) ticketsFor(ctx context.Context, tx pgx.Tx, lines []LineInput, now time.Time) (map[calendars.TicketRef]calendars.CartTicket, error) {
	var refs []calendars.TicketRef
	for _, l := range lines {
		if l.IsTicket() {
			refs = append(refs, l.Ticket)
		}
	}
	if len(refs) == 0 {
		return nil, nil
	}
	if s.Bookings == nil {
		return nil, errNoTickets
	}
	return calendars.TicketsForCart(ctx, tx, refs, now)
}

// ticketLine is the order line of a basket's ticket line, at the ticket
// type's price now. Errors: ENotFound (no such ticket), EConflict (not
// on sale now, or free, booked on the event's page: the message says
// which).
func ticketLine(tickets map[calendars.TicketRef]calendars.CartTicket, l LineInput) (models.OrderLine, error) {
	t, ok := tickets[l.Ticket]
	if !ok {
		return models.OrderLine{}, models.Errorf(models.ENotFound, "A ticket in your basket is no longer for sale: take it out and choose again on the event's page.")
	}
	if t.Sale != models.SaleOpen {
		return models.OrderLine{}, models.Errorf(models.EConflict, "%s is not on sale now: take it out of your basket.", t.Title)
	}
	if t.Price.Minor == 0 {
		return models.OrderLine{}, models.Errorf(models.EConflict, "%s is free now: take it out of your basket and book it on the event's page.", t.Title)
	}
	return models.OrderLine{ID: uuid.New(), MarketName: t.Calendar, Title: t.Title, UnitPrice: t.Price.Minor,
		Quantity: l.Quantity, Ticket: true, OccurrenceID: uuid.NullUUID{UUID: t.OccurrenceID, Valid: true},
		TicketTypeID: uuid.NullUUID{UUID: t.TicketTypeID, Valid: true}}, nil
}

// holdSeats holds, in tx as of now, the seats of the order o's ticket
// lines until its hold ends: a held booking each, for the shopper.
// Errors: those of bookings.Store.Hold (EConflict "Sold out." and the
// like, prefixed by the line's title).
func (s *Store) holdSeats(ctx context.Context, tx pgx.Tx, in PlaceInput, o models.Order, now time.Time) error {
	name := in.Address.Name
	if name == "" {
		name = in.Name // a member's: what the site calls them
	}
	if name == "" && in.UserID == uuid.Nil {
		name = in.Email // a guest's booking needs a name: the checkout asks none
	}
	for _, l := range o.Lines {
		if !l.Ticket {
			continue
		}
		q := bookings.Request{OccurrenceID: l.OccurrenceID.UUID, TicketTypeID: l.TicketTypeID.UUID, Quantity: l.Quantity,
			UserID: in.UserID, Email: in.Email, Name: name}
		if _, err := s.Bookings.Hold(ctx, tx, q, o.ID, o.HoldUntil, now); err != nil {
			if c := models.Code(err); c == models.EConflict || c == models.EInvalid {
				return models.Errorf(c, "%s: %s", l.Title, models.Message(err))
			}
			return err
		}
	}
	return nil
}

// confirmTickets confirms, in tx as of now, the held bookings of the order
// being paid (their tickets issued), within a savepoint: when the seats
// are gone (the hold expired and they were taken), nothing of it stays and
// false is returned. Errors: EInternal.
func (s *Store) confirmTickets(ctx context.Context, tx pgx.Tx, orderID uuid.UUID, now time.Time) (bool, error) {
	if s.Bookings == nil {
		return true, nil
	}
	sp, err := tx.Begin(ctx)
	if err != nil {
		return false, err
	}
	if err := s.Bookings.ConfirmHeld(ctx, sp, orderID, now); err != nil {
		_ = sp.Rollback(ctx)
		if models.Code(err) == models.EConflict {
			return false, nil
		}
		return false, err
	}
	return true, sp.Commit(ctx)
}

// releaseSeats gives back, in tx as of now, the seats the unpaid order's
// held bookings hold (once: a hold that expired already gave them back).
func (s *Store) releaseSeats(ctx context.Context, tx pgx.Tx, orderID uuid.UUID, now time.Time) error {
	if s.Bookings == nil {
		return nil
	}
	return s.Bookings.ReleaseHeld(ctx, tx, orderID, now)
}

// OrderBookings returns the ids of the confirmed bookings the order paid
// for (their ticket pages are the events service's /tickets/{id}), in
// the order of its lines. Errors: EInternal.
func (s *Store) OrderBookings(ctx context.Context, orderID uuid.UUID) ([]uuid.UUID, error) {
	rows, err := s.db.Query(ctx, `SELECT id FROM bookings WHERE order_id = $1 AND status = 'confirmed' ORDER BY created_at, id`, orderID)
	if err != nil {
		return nil, internal("order bookings", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
	if err != nil {
		return nil, internal("order bookings", err)
	}
	return ids, nil
}
