// Package orders is what shoppers bought: orders, their lines, their
// payment attempts through SumUp, every change of their state and their
// refunds. It owns the tables orders, order_lines, payment_attempts,
// order_events and order_refunds; the stock an order holds is taken from
// the catalogue by the products store, in the order's transaction.
package orders

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"rose-ash.com/platform/shared/models"
	"rose-ash.com/platform/shared/postgres"
	"rose-ash.com/platform/shared/services/bookings"
	"rose-ash.com/platform/shared/services/calendars"
	"rose-ash.com/platform/shared/services/products"
)

// DefaultHold is how long an unpaid order holds its stock when the Store
// is given none.
const DefaultHold = 15 * time.Minute

// Store reads and writes orders.
type Store struct {
	db      *pgxpool.Pool
	catalog *products.Store
	// Hold is how long an unpaid order holds its stock.
	Hold time.Duration
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// Paid runs in the transaction that marks an order paid (the cart
	// empties the shopper's basket there).
	Paid func(ctx context.Context, tx pgx.Tx, o models.Order) error
	// Placed runs once a new order is committed (not when a checkout key
	// returns an order placed before): the cart emails "order received".
	Placed func(ctx context.Context, o models.Order)
	// Bookings holds the seats of an order's ticket lines (a held booking
	// of the order until it is paid), confirms them when it is paid and
	// gives them back when it expires or is cancelled unpaid. Nil: ticket
	// lines are refused.
	Bookings *bookings.Store
}

// New returns a Store on db, taking stock through catalog.
func New(db *pgxpool.Pool, catalog *products.Store) *Store {
	return &Store{db: db, catalog: catalog, Hold: DefaultHold}
}

func (s *Store) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

// LineInput is a basket line to order: a product's variant, or places
// of a ticket type at an event's date (Ticket set, VariantID empty).
type LineInput struct {
	VariantID uuid.UUID
	Ticket    calendars.TicketRef
	Quantity  int
}

// IsTicket reports whether the line orders event tickets.
func (l LineInput) IsTicket() bool { return l.Ticket.TicketTypeID != uuid.Nil }

// onlyTickets reports whether lines order event tickets and nothing to
// deliver or collect.
func onlyTickets(lines []LineInput) bool {
	for _, l := range lines {
		if !l.IsTicket() {
			return false
		}
	}
	return len(lines) > 0
}

// PlaceInput is a checkout form.
type PlaceInput struct {
	// UserID is the signed-in shopper (uuid.Nil for a guest); Name is
	// what a member is called (their display name), which their ticket
	// bookings carry (a guest's carry the delivery name, else the email).
	UserID      uuid.UUID
	Name        string
	Email       string
	Fulfilment  string
	PickupPlace string
	Address     models.Address
	AcceptTerms bool
	Lines       []LineInput
	// Key is the checkout form's one-time key: placing the same key again
	// returns the order it placed (a double click, two tabs, the back
	// button), with its live attempt. Empty: no such protection.
	Key string
}

// Validate checks the form, trimming it; the error's message says what to
// fix. Errors: EInvalid.
func (in *PlaceInput) Validate() error {
	in.Email = strings.TrimSpace(in.Email)
	a := &in.Address
	for _, f := range []*string{&a.Name, &a.Line1, &a.Line2, &a.City, &a.Postcode, &a.Country, &in.PickupPlace} {
		*f = strings.TrimSpace(*f)
	}
	a.Country = strings.ToUpper(a.Country)
	if onlyTickets(in.Lines) {
		// Tickets are neither delivered nor collected: shown at the door.
		in.Fulfilment, in.PickupPlace, in.Address = models.FulfilPickup, "", models.Address{}
	}
	if addr, err := mail.ParseAddress(in.Email); err != nil || addr.Address != in.Email || len(in.Email) > 320 {
		return models.Errorf(models.EInvalid, "Give an email address for the order, like name@example.org.")
	}
	switch in.Fulfilment {
	case models.FulfilPickup:
		in.Address = models.Address{}
	case models.FulfilDelivery:
		in.PickupPlace = ""
		if a.Line1 == "" || a.City == "" || a.Postcode == "" {
			return models.Errorf(models.EInvalid, "Give the delivery address: street, town and postcode.")
		}
		if a.Country == "" {
			a.Country = "GB"
		}
		if len(a.Country) != 2 || len(a.Name) > 200 || len(a.Line1) > 200 || len(a.Line2) > 200 || len(a.City) > 100 || len(a.Postcode) > 20 {
			return models.Errorf(models.EInvalid, "The delivery address is too long, or its country is not a two-letter code.")
		}
	default:
		return models.Errorf(models.EInvalid, "Choose delivery or pickup.")
	}
	if !in.AcceptTerms {
		return models.Errorf(models.EInvalid, "Accept the terms of sale to order.")
	}
	if len(in.Lines) == 0 {
		return models.Errorf(models.EInvalid, "Your basket is empty.")
	}
	for _, l := range in.Lines {
		if l.Quantity < 1 || l.Quantity > models.MaxCartQuantity {
			return models.Errorf(models.EInvalid, "Order between 1 and %d of each item.", models.MaxCartQuantity)
		}
	}
	return nil
}

// Place creates the order of a checkout, pending payment, in one
// transaction: each line at the catalogue's current price, its stock held
// until the hold runs out (never oversold: see products.HoldStock), the
// delivery fee of each market delivering, and the first payment attempt
// (reference order-<id>-1). Errors: EInvalid (the form; mixed currencies;
// a pickup place no market offers), ENotFound (a product gone), EConflict
// (too few left: nothing is held), EInternal.
func (s *Store) Place(ctx context.Context, in PlaceInput) (models.Order, models.PaymentAttempt, error) {
	if err := in.Validate(); err != nil {
		return models.Order{}, models.PaymentAttempt{}, err
	}
	if in.Key != "" {
		if o, at, ok, err := s.placed(ctx, in.Key); ok || err != nil {
			return o, at, err
		}
	}
	now := s.now()
	var o models.Order
	var at models.PaymentAttempt
	err := postgres.InTx(ctx, s.db, func(tx pgx.Tx) error {
		o = models.Order{ID: uuid.New(), Email: in.Email, Status: models.OrderPendingPayment, Fulfilment: in.Fulfilment,
			PickupPlace: in.PickupPlace, Address: in.Address, HoldUntil: now.Add(s.hold()), CreatedAt: now}
		if in.UserID != uuid.Nil {
			o.UserID = uuid.NullUUID{UUID: in.UserID, Valid: true}
		}
		tickets, err := s.ticketsFor(ctx, tx, in.Lines, now)
		if err != nil {
			return err
		}
		variantIDs := make([]uuid.UUID, 0, len(in.Lines))
		for _, l := range in.Lines {
			if l.IsTicket() {
				line, err := ticketLine(tickets, l)
				if err != nil {
					return err
				}
				if o.Currency == "" {
					o.Currency = tickets[l.Ticket].Price.Currency
				} else if c := tickets[l.Ticket].Price.Currency; o.Currency != c {
					return models.Errorf(models.EInvalid, "Your basket holds prices in %s and %s: order them separately.", o.Currency, c)
				}
				o.Lines = append(o.Lines, line)
				o.Subtotal += line.Total()
				continue
			}
			h, err := s.catalog.HoldStock(ctx, tx, l.VariantID, l.Quantity)
			if err != nil {
				return err
			}
			if o.Currency == "" {
				o.Currency = h.Price.Currency
			} else if o.Currency != h.Price.Currency {
				return models.Errorf(models.EInvalid, "Your basket holds prices in %s and %s: order them separately.", o.Currency, h.Price.Currency)
			}
			line := models.OrderLine{ID: uuid.New(), MarketID: uuid.NullUUID{UUID: h.MarketID, Valid: true}, MarketName: h.MarketName,
				ProductID: uuid.NullUUID{UUID: h.ProductID, Valid: true}, VariantID: uuid.NullUUID{UUID: h.VariantID, Valid: true},
				Title: h.Title, UnitPrice: h.Price.Minor, VATRateBP: h.VATRateBP, Quantity: l.Quantity, Held: h.Taken}
			o.Lines = append(o.Lines, line)
			o.Subtotal += line.Total()
			o.VAT += models.VATIncluded(line.Total(), line.VATRateBP)
			variantIDs = append(variantIDs, l.VariantID)
		}
		var fee int64
		var places []string
		err = tx.QueryRow(ctx, handoverSQL, variantIDs).Scan(&fee, &places)
		if err != nil {
			return err
		}
		if in.Fulfilment == models.FulfilDelivery {
			o.Delivery = fee
		} else if len(variantIDs) > 0 && !slices.Contains(places, in.PickupPlace) {
			return models.Errorf(models.EInvalid, "Choose one of the pickup places offered.")
		}
		o.Total = o.Subtotal + o.Delivery
		err = tx.QueryRow(ctx, `
INSERT INTO orders (id, user_id, email, fulfilment, pickup_place, address_name, address_line1, address_line2,
  address_city, address_postcode, address_country, currency, subtotal_minor, delivery_minor, total_minor, vat_minor,
  hold_until, created_at, updated_at, checkout_key)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $18, nullif($19, ''))
RETURNING number`, o.ID, o.UserID, o.Email, o.Fulfilment, o.PickupPlace, o.Address.Name, o.Address.Line1, o.Address.Line2,
			o.Address.City, o.Address.Postcode, o.Address.Country, o.Currency, o.Subtotal, o.Delivery, o.Total, o.VAT,
			o.HoldUntil, now, in.Key).Scan(&o.Number)
		if err != nil {
			return err
		}
		for i, l := range o.Lines {
			if _, err := tx.Exec(ctx, `
INSERT INTO order_lines (id, order_id, market_id, market_name, product_id, variant_id, title, unit_price_minor, vat_rate_bp,
  quantity, held, position, kind, occurrence_id, ticket_type_id)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, CASE WHEN $13 THEN 'ticket' ELSE 'product' END, $14, $15)`,
				l.ID, o.ID, l.MarketID, l.MarketName, l.ProductID, l.VariantID,
				l.Title, l.UnitPrice, l.VATRateBP, l.Quantity, l.Held, i, l.Ticket, l.OccurrenceID, l.TicketTypeID); err != nil {
				return err
			}
		}
		if err := s.holdSeats(ctx, tx, in, o, now); err != nil {
			return err
		}
		if err := logEvent(ctx, tx, o.ID, "", models.OrderPendingPayment, o.UserID, "shopper", "Order placed"); err != nil {
			return err
		}
		at, err = newAttempt(ctx, tx, o, 1)
		return err
	})
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.ConstraintName == "orders_checkout_key_key" {
		// The same form placed at the same moment: that order stands.
		if o, at, ok, err := s.placed(ctx, in.Key); ok || err != nil {
			return o, at, err
		}
	}
	if err != nil {
		return models.Order{}, models.PaymentAttempt{}, domainError("place order", err)
	}
	if s.Placed != nil {
		s.Placed(ctx, o)
	}
	return o, at, nil
}

// placed returns the order a checkout key placed, with its latest attempt.
func (s *Store) placed(ctx context.Context, key string) (models.Order, models.PaymentAttempt, bool, error) {
	o, err := scanOrder(s.db.QueryRow(ctx, orderColumns+` WHERE o.checkout_key = $1`, key))
	if errors.Is(err, pgx.ErrNoRows) {
		return models.Order{}, models.PaymentAttempt{}, false, nil
	}
	if err != nil {
		return models.Order{}, models.PaymentAttempt{}, false, internal("placed order", err)
	}
	at, err := scanAttempt(s.db.QueryRow(ctx, attemptColumns+` WHERE order_id = $1 ORDER BY attempt DESC LIMIT 1`, o.ID))
	if err != nil {
		return models.Order{}, models.PaymentAttempt{}, false, internal("placed order", err)
	}
	return o, at, true, nil
}

func (s *Store) hold() time.Duration {
	if s.Hold <= 0 {
		return DefaultHold
	}
	return s.Hold
}

// handoverSQL reads the delivery fee (the highest of the markets': one
// parcel) and the pickup places of the markets selling the variants $1.
const handoverSQL = `
SELECT coalesce(max(m.delivery_fee_minor), 0), coalesce(array_agg(DISTINCT p ORDER BY p) FILTER (WHERE p IS NOT NULL), '{}')
FROM markets m LEFT JOIN LATERAL unnest(m.pickup_places) p ON true
WHERE m.id IN (SELECT pr.market_id FROM product_variants v JOIN products pr ON pr.id = v.product_id WHERE v.id = ANY($1))`

// Handover returns what the markets of the given variants offer: the
// delivery fee and the pickup places, for the checkout form. Errors:
// EInternal.
func (s *Store) Handover(ctx context.Context, variantIDs []uuid.UUID) (fee int64, places []string, err error) {
	if err := s.db.QueryRow(ctx, handoverSQL, variantIDs).Scan(&fee, &places); err != nil {
		return 0, nil, internal("handover", err)
	}
	return fee, places, nil
}

// Reference is the SumUp checkout reference of an order's attempt.
func Reference(orderID uuid.UUID, attempt int) string {
	return fmt.Sprintf("order-%s-%d", orderID, attempt)
}

func newAttempt(ctx context.Context, tx pgx.Tx, o models.Order, n int) (models.PaymentAttempt, error) {
	at := models.PaymentAttempt{ID: uuid.New(), OrderID: o.ID, Attempt: n, Reference: Reference(o.ID, n),
		Status: models.AttemptPending, Amount: o.Money(o.Total)}
	err := tx.QueryRow(ctx, `
INSERT INTO payment_attempts (id, order_id, attempt, reference, amount_minor, currency)
VALUES ($1, $2, $3, $4, $5, $6) RETURNING created_at, updated_at`, at.ID, o.ID, n, at.Reference, o.Total, o.Currency).
		Scan(&at.CreatedAt, &at.UpdatedAt)
	return at, err
}

func logEvent(ctx context.Context, tx pgx.Tx, orderID uuid.UUID, from, to string, actorID uuid.NullUUID, actor, reason string) error {
	_, err := tx.Exec(ctx, `
INSERT INTO order_events (order_id, from_status, to_status, actor_id, actor, reason) VALUES ($1, $2, $3, $4, $5, $6)`,
		orderID, from, to, actorID, actor, reason)
	return err
}

const orderColumns = `
SELECT o.id, o.number, o.user_id, o.email, o.status, o.fulfilment, o.pickup_place, o.address_name, o.address_line1,
       o.address_line2, o.address_city, o.address_postcode, o.address_country, o.currency::text, o.subtotal_minor,
       o.delivery_minor, o.total_minor, o.vat_minor, o.refunded_minor, o.hold_until, o.paid_at, o.created_at
FROM orders o`

func scanOrder(row pgx.Row) (models.Order, error) {
	var o models.Order
	a := &o.Address
	err := row.Scan(&o.ID, &o.Number, &o.UserID, &o.Email, &o.Status, &o.Fulfilment, &o.PickupPlace, &a.Name, &a.Line1,
		&a.Line2, &a.City, &a.Postcode, &a.Country, &o.Currency, &o.Subtotal, &o.Delivery, &o.Total, &o.VAT, &o.Refunded,
		&o.HoldUntil, &o.PaidAt, &o.CreatedAt)
	return o, err
}

// lockOrder reads the order in tx and locks its row until tx ends.
// Errors: ENotFound, the database's.
func lockOrder(ctx context.Context, tx pgx.Tx, id uuid.UUID) (models.Order, error) {
	o, err := scanOrder(tx.QueryRow(ctx, orderColumns+` WHERE o.id = $1 FOR UPDATE`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return models.Order{}, models.Errorf(models.ENotFound, "There is no such order.")
	}
	return o, err
}

// Order returns the order with its lines, payment attempts, history and
// refunds. Errors: ENotFound, EInternal.
func (s *Store) Order(ctx context.Context, id uuid.UUID) (models.Order, error) {
	o, err := scanOrder(s.db.QueryRow(ctx, orderColumns+` WHERE o.id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return models.Order{}, models.Errorf(models.ENotFound, "There is no such order.")
	}
	if err != nil {
		return models.Order{}, internal("order", err)
	}
	if err := s.details(ctx, &o); err != nil {
		return models.Order{}, err
	}
	return o, nil
}

func (s *Store) details(ctx context.Context, o *models.Order) error {
	rows, err := s.db.Query(ctx, `
SELECT id, market_id, market_name, product_id, variant_id, title, unit_price_minor, vat_rate_bp, quantity, held,
       kind = 'ticket', occurrence_id, ticket_type_id
FROM order_lines WHERE order_id = $1 ORDER BY position`, o.ID)
	if err != nil {
		return internal("order lines", err)
	}
	o.Lines, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (models.OrderLine, error) {
		var l models.OrderLine
		err := r.Scan(&l.ID, &l.MarketID, &l.MarketName, &l.ProductID, &l.VariantID, &l.Title, &l.UnitPrice, &l.VATRateBP, &l.Quantity, &l.Held,
			&l.Ticket, &l.OccurrenceID, &l.TicketTypeID)
		return l, err
	})
	if err != nil {
		return internal("order lines", err)
	}
	rows, err = s.db.Query(ctx, attemptColumns+` WHERE order_id = $1 ORDER BY attempt`, o.ID)
	if err != nil {
		return internal("payment attempts", err)
	}
	o.Attempts, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (models.PaymentAttempt, error) { return scanAttempt(r) })
	if err != nil {
		return internal("payment attempts", err)
	}
	rows, err = s.db.Query(ctx, `
SELECT e.from_status, e.to_status, e.actor_id, coalesce(nullif(u.display_name, ''), e.actor), e.reason, e.at
FROM order_events e LEFT JOIN users u ON u.id = e.actor_id WHERE e.order_id = $1 ORDER BY e.at, e.id`, o.ID)
	if err != nil {
		return internal("order events", err)
	}
	o.Events, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (models.OrderEvent, error) {
		var e models.OrderEvent
		err := r.Scan(&e.From, &e.To, &e.ActorID, &e.Actor, &e.Reason, &e.At)
		return e, err
	})
	if err != nil {
		return internal("order events", err)
	}
	rows, err = s.db.Query(ctx, `
SELECT r.id, r.amount_minor, r.reason, coalesce(nullif(u.display_name, ''), u.email, 'system'), r.created_at
FROM order_refunds r LEFT JOIN users u ON u.id = r.actor_id WHERE r.order_id = $1 AND NOT r.pending ORDER BY r.created_at`, o.ID)
	if err != nil {
		return internal("order refunds", err)
	}
	o.Refunds, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (models.OrderRefund, error) {
		var f models.OrderRefund
		err := r.Scan(&f.ID, &f.Amount, &f.Reason, &f.Actor, &f.CreatedAt)
		return f, err
	})
	if err != nil {
		return internal("order refunds", err)
	}
	return nil
}

// OrdersOf returns the user's orders, newest first (without their
// details). Errors: EInternal.
func (s *Store) OrdersOf(ctx context.Context, userID uuid.UUID, limit int) ([]models.Order, error) {
	rows, err := s.db.Query(ctx, orderColumns+` WHERE o.user_id = $1 ORDER BY o.created_at DESC LIMIT $2`, userID, limit)
	if err != nil {
		return nil, internal("orders of", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (models.Order, error) { return scanOrder(r) })
	if err != nil {
		return nil, internal("orders of", err)
	}
	return out, nil
}

// domainError passes on an error the domain already described (a
// *models.Error) and wraps any other as EInternal.
func domainError(what string, err error) error {
	if err == nil {
		return nil
	}
	var me *models.Error
	if errors.As(err, &me) {
		return err
	}
	return internal(what, err)
}

func internal(what string, err error) error {
	return models.Wrap(models.EInternal, "", fmt.Errorf("orders: %s: %w", what, err))
}

// ListQuery filters the admins' list of orders.
type ListQuery struct {
	// Status is one state, or "" for all.
	Status string
	// Search matches the email (a part of it) or the order number.
	Search string
	Limit  int
}

// List returns orders newest first, as the admins' list shows them
// (without their details). Errors: EInternal.
func (s *Store) List(ctx context.Context, q ListQuery) ([]models.Order, error) {
	if q.Limit <= 0 || q.Limit > 500 {
		q.Limit = 100
	}
	search := strings.TrimSpace(q.Search)
	rows, err := s.db.Query(ctx, orderColumns+`
WHERE ($1 = '' OR o.status = $1)
  AND ($2 = '' OR o.email ILIKE '%' || $2 || '%' OR o.number::text = $2)
ORDER BY o.created_at DESC LIMIT $3`, q.Status, likeEscape(search), q.Limit)
	if err != nil {
		return nil, internal("list orders", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (models.Order, error) { return scanOrder(r) })
	if err != nil {
		return nil, internal("list orders", err)
	}
	return out, nil
}

func likeEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}
