package calendars

import (
	"context"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"rose-ash.com/platform/shared/models"
)

// TicketRef names what a cart line of tickets buys: places of a ticket
// type at one date (occurrence) of its event.
type TicketRef struct {
	OccurrenceID, TicketTypeID uuid.UUID
}

// ticketRefPrefix begins a ticket's cart reference (a product's is its
// variant id).
const ticketRefPrefix = "ticket:"

// String is the cart reference of r: ticket:<occurrence id>:<ticket type id>.
func (r TicketRef) String() string {
	return ticketRefPrefix + r.OccurrenceID.String() + ":" + r.TicketTypeID.String()
}

// ParseTicketRef reads a cart reference made by TicketRef.String; false
// for any other (a product's).
func ParseTicketRef(ref string) (TicketRef, bool) {
	rest, ok := strings.CutPrefix(ref, ticketRefPrefix)
	if !ok {
		return TicketRef{}, false
	}
	occ, typ, ok := strings.Cut(rest, ":")
	if !ok {
		return TicketRef{}, false
	}
	o, err1 := uuid.Parse(occ)
	t, err2 := uuid.Parse(typ)
	if err1 != nil || err2 != nil {
		return TicketRef{}, false
	}
	return TicketRef{OccurrenceID: o, TicketTypeID: t}, true
}

// CartTicket is a ticket type at a date as the cart sells it now.
type CartTicket struct {
	TicketRef
	EventSlug string
	// Calendar is the name of the event's calendar (an order groups its
	// ticket lines under it, as it groups products under their market).
	Calendar string
	// Title names the event, the ticket type and the date in the event's
	// zone: "Bread-making workshop — Workshop place, Sat 19 Dec 10:00".
	Title    string
	Price    models.Money
	StartsAt time.Time
	// SeatsLeft is how many can still be booked (the fewer of the date's
	// and the type's own), -1 for no limit.
	SeatsLeft int
	// Sale is models.SaleOpen when it can be bought now; SaleEnded also
	// for a cancelled or unpublished event or date, or one begun.
	Sale string
}

const ticketsForCart = `
SELECT o.id, t.id, e.slug, c.title, e.title, t.name, t.price_minor, t.currency::text, o.starts_at, e.time_zone,
       o.capacity, o.taken, t.capacity,
       coalesce((SELECT sum(b.quantity) FROM bookings b
                 WHERE b.occurrence_id = o.id AND b.ticket_type_id = t.id AND b.status IN ('held', 'confirmed')), 0)
     + coalesce((SELECT sum(w.quantity) FROM waitlist_entries w
                 WHERE w.occurrence_id = o.id AND w.ticket_type_id = t.id AND w.status = 'offered'), 0),
       t.sales_start, t.sales_end,
       (e.status = 'scheduled' AND e.published_at IS NOT NULL AND o.status = 'scheduled')
FROM unnest($1::uuid[], $2::uuid[]) AS r(occ, typ)
JOIN event_occurrences o ON o.id = r.occ
JOIN ticket_types t ON t.id = r.typ
JOIN events e ON e.id = o.event_id AND e.id = t.event_id
JOIN calendars c ON c.id = e.calendar_id`

// TicketsForCart returns, in one query on q (the pool or the caller's
// transaction), the tickets refs name as the cart sells them at now; a
// ref naming nothing (a date or type gone, a type of another event) is
// left out. Errors: EInternal.
func TicketsForCart(ctx context.Context, q Querier, refs []TicketRef, now time.Time) (map[TicketRef]CartTicket, error) {
	out := make(map[TicketRef]CartTicket, len(refs))
	if len(refs) == 0 {
		return out, nil
	}
	occs, types := make([]uuid.UUID, len(refs)), make([]uuid.UUID, len(refs))
	for i, r := range refs {
		occs[i], types[i] = r.OccurrenceID, r.TicketTypeID
	}
	rows, err := q.Query(ctx, ticketsForCart, occs, types)
	if err != nil {
		return nil, internal("tickets for cart", err)
	}
	var (
		t                    CartTicket
		event, typ, zone     string
		occCap, typeCap      *int
		taken, used          int
		salesStart, salesEnd *time.Time
		open                 bool
	)
	_, err = pgx.ForEachRow(rows, []any{&t.OccurrenceID, &t.TicketTypeID, &t.EventSlug, &t.Calendar, &event, &typ,
		&t.Price.Minor, &t.Price.Currency, &t.StartsAt, &zone, &occCap, &taken, &typeCap, &used, &salesStart, &salesEnd, &open},
		func() error {
			c := t
			c.StartsAt = c.StartsAt.UTC()
			c.Title = event + " — " + typ + ", " + c.StartsAt.In(models.ZoneOf(zone)).Format("Mon 2 Jan 15:04")
			c.SeatsLeft = models.Occurrence{Capacity: occCap, Taken: taken}.SeatsLeft()
			if typeCap != nil {
				own := max(*typeCap-used, 0)
				if c.SeatsLeft < 0 || own < c.SeatsLeft {
					c.SeatsLeft = own
				}
			}
			c.Sale = models.TicketType{SalesStart: salesStart, SalesEnd: salesEnd}.SaleState(now)
			if !open || !c.StartsAt.After(now) {
				c.Sale = models.SaleEnded
			}
			out[c.TicketRef] = c
			return nil
		})
	if err != nil {
		return nil, internal("tickets for cart", err)
	}
	return out, nil
}

// TicketsForCart is TicketsForCart on the store's pool.
func (s *Store) TicketsForCart(ctx context.Context, refs []TicketRef, now time.Time) (map[TicketRef]CartTicket, error) {
	return TicketsForCart(ctx, s.db, refs, now)
}
