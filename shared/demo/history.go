package demo

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"rose-ash.com/platform/shared/models"
	"rose-ash.com/platform/shared/services/bookings"
	"rose-ash.com/platform/shared/services/orders"
)

// AdminOrder is what the demo admin bought a while ago: their account
// dashboard shows it as a collected order.
var AdminOrder = []orders.DemoLine{{SKU: "BH-SDL-800", Quantity: 1}, {SKU: "BC-WFH-340", Quantity: 1}}

// AdminTicketEvent is the demo event the admin holds a place at, so their
// dashboard shows a ticket with its QR code.
const AdminTicketEvent = "members-meeting"

// seedAdminHistory gives the demo admin an order placed twelve days ago
// (unless they have one) and a place at the next members' meeting (unless
// that date has bookings), so that a newcomer opening the account
// dashboard after `make up` sees what members see there.
func seedAdminHistory(ctx context.Context, tx pgx.Tx, now time.Time) error {
	var adminID uuid.UUID
	var name string
	err := tx.QueryRow(ctx, `SELECT id, display_name FROM users WHERE lower(email) = lower($1)`, AdminEmail).Scan(&adminID, &name)
	if err != nil {
		return fmt.Errorf("demo: the admin's history: %w", err)
	}
	placed := now.Add(-12 * 24 * time.Hour).Truncate(time.Minute)
	if err := orders.AddDemoOrderIfNone(ctx, tx, adminID, AdminEmail, AdminOrder, placed); err != nil {
		return fmt.Errorf("demo: the admin's order: %w", err)
	}
	var occurrence, ticketType uuid.UUID
	err = tx.QueryRow(ctx, `
SELECT o.id, t.id FROM events e
JOIN event_occurrences o ON o.event_id = e.id AND o.status = 'scheduled' AND o.starts_at > $2
JOIN ticket_types t ON t.event_id = e.id AND t.price_minor = 0
WHERE e.slug = $1
ORDER BY o.starts_at, t.position, t.id LIMIT 1`, AdminTicketEvent, now).Scan(&occurrence, &ticketType)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("demo: the admin's ticket: %w", err)
	}
	me := bookings.Request{Quantity: 1, UserID: adminID, Name: name, Email: AdminEmail}
	err = bookings.AddDemoBookingsIfNone(ctx, tx, occurrence, ticketType, []bookings.Request{me}, nil, now)
	if err != nil && models.Code(err) != models.EConflict {
		return fmt.Errorf("demo: the admin's ticket: %w", err)
	}
	return nil
}
