// Package bookings is the events service's bookings: seats taken at an
// event's occurrence (never more than its capacity, under concurrency),
// the tickets they give (a random 128-bit secret each, shown as a QR
// code), waitlists for full occurrences, and check-in lists and scans. It
// owns the tables bookings, tickets, waitlist_entries, checkin_lists and
// checkins: no other package writes them.
package bookings
