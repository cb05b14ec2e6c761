// Package bookings is the events service's bookings: seats taken at an
// event's occurrence (never more than its capacity, under concurrency),
// the tickets they give (a random 128-bit secret each, shown as a QR
// code), waitlists for full occurrences, and check-in lists and scans. It
// owns the tables bookings, tickets, waitlist_entries, checkin_lists and
// checkins: no other package writes them.
package bookings

import "github.com/jackc/pgx/v5/pgxpool"

// Store books seats, issues tickets, keeps waitlists and checks tickets
// in. Its writes take seats from (and give them back to) the calendars
// store's occurrences in the same transaction.
type Store struct {
	db *pgxpool.Pool
}

// New returns a Store on db.
func New(db *pgxpool.Pool) *Store { return &Store{db: db} }
