// Package bookings is the events service's bookings: seats taken at an
// event's occurrence (never more than its capacity, under concurrency),
// the tickets they give (a random 128-bit secret each, shown as a QR
// code), waitlists for full occurrences, and check-in lists and scans. It
// owns the tables bookings, tickets, waitlist_entries, checkin_lists and
// checkins: no other package writes them.
package bookings

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"rose-ash.com/platform/shared/models"
)

// Store books seats, issues tickets, keeps waitlists and checks tickets
// in. Its writes take seats from (and give them back to) the calendars
// store's occurrences in the same transaction.
//
// Set its fields when wiring, before the first call.
type Store struct {
	db *pgxpool.Pool
	// OfferWindow is how long a waitlist offer waits to be claimed;
	// zero means DefaultOfferWindow (24 hours).
	OfferWindow time.Duration
	// Offered, when set, is called after a cancellation or an expired
	// offer committed new waitlist offers, to email each its link to claim
	// the places (the events service sets it). It must not fail loudly:
	// the offers stand whatever it does.
	Offered func(ctx context.Context, offers []models.WaitlistEntry)
}

// New returns a Store on db.
func New(db *pgxpool.Pool) *Store { return &Store{db: db} }
