package models

import (
	"encoding/base32"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Booking statuses (bookings.status).
const (
	BookingHeld      = "held"
	BookingConfirmed = "confirmed"
	BookingCancelled = "cancelled"
	BookingExpired   = "expired"
)

// MaxBookingQuantity is the most seats one booking takes.
const MaxBookingQuantity = 20

// Booking is seats of one ticket type at one occurrence of an event, with
// what its ticket page shows of the event. Times are UTC; TimeZone is the
// event's IANA zone, in which they are shown.
type Booking struct {
	ID           uuid.UUID
	OccurrenceID uuid.UUID
	TicketTypeID uuid.UUID
	Quantity     int
	// UserID is uuid.Nil for a guest's or a remote actor's booking.
	UserID uuid.UUID
	Email  string
	Name   string
	// RemoteActor is the fediverse actor's id for a booking made by a Join.
	RemoteActor  string
	Status       string
	CancelReason string
	CreatedAt    time.Time
	CancelledAt  time.Time // zero unless cancelled

	EventID             uuid.UUID
	EventSlug           string
	EventTitle          string
	Location            string
	Address             string
	TimeZone            string
	StartsAt            time.Time
	EndsAt              time.Time
	CancelCutoffMinutes int
	TicketTypeName      string
	PriceMinor          int64
	Currency            string

	Tickets []Ticket
}

// CancelDeadline is the last instant at which the booking's holder may
// cancel it: the occurrence's start less the event's cutoff.
func (b Booking) CancelDeadline() time.Time {
	return b.StartsAt.Add(-time.Duration(b.CancelCutoffMinutes) * time.Minute)
}

// Cancellable reports whether the holder may cancel the booking at now: it
// is held or confirmed and the cutoff has not passed.
func (b Booking) Cancellable(now time.Time) bool {
	return (b.Status == BookingConfirmed || b.Status == BookingHeld) && now.Before(b.CancelDeadline())
}

// Zone returns the event's time zone, UTC when its name is unknown.
func (b Booking) Zone() *time.Location { return ZoneOf(b.TimeZone) }

// ZoneOf returns the IANA zone named name, UTC when it is unknown.
func ZoneOf(name string) *time.Location {
	if loc, err := time.LoadLocation(name); err == nil && name != "" {
		return loc
	}
	return time.UTC
}

// Ticket is one seat of a booking; Secret (16 random bytes) is what its
// QR code carries, as Code.
type Ticket struct {
	ID     uuid.UUID
	Seat   int
	Secret []byte
	Status string // valid or cancelled
}

var ticketCodeEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// Code returns the ticket's secret as 26 upper-case base32 characters: what
// its QR code encodes and what a door volunteer types when a camera cannot
// read it.
func (t Ticket) Code() string { return TicketCode(t.Secret) }

// TicketCode returns secret as a ticket code (see Ticket.Code).
func TicketCode(secret []byte) string { return ticketCodeEncoding.EncodeToString(secret) }

// ParseTicketCode returns the 16-byte secret a ticket code names: base32 as
// Code writes it (any case, spaces and hyphens ignored) or 32 hex digits.
// Errors: EInvalid when s is neither.
func ParseTicketCode(s string) ([]byte, error) {
	s = strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' || r == '\t' || r == '\n' || r == '\r' {
			return -1
		}
		return r
	}, s)
	bad := Errorf(EInvalid, "That is not a ticket code: a ticket's code is 26 letters and digits.")
	switch len(s) {
	case 26:
		b, err := ticketCodeEncoding.DecodeString(strings.ToUpper(s))
		if err != nil || len(b) != 16 {
			return nil, bad
		}
		return b, nil
	case 32:
		b, err := hex.DecodeString(s)
		if err != nil {
			return nil, bad
		}
		return b, nil
	}
	return nil, bad
}

// Waitlist entry statuses (waitlist_entries.status).
const (
	WaitlistWaiting = "waiting"
	WaitlistOffered = "offered"
	WaitlistClaimed = "claimed"
	WaitlistExpired = "expired"
	WaitlistLeft    = "left"
)

// WaitlistEntry is someone waiting for seats at a full occurrence, or
// offered freed seats until OfferExpiresAt.
type WaitlistEntry struct {
	ID             uuid.UUID
	OccurrenceID   uuid.UUID
	TicketTypeID   uuid.UUID
	Quantity       int
	UserID         uuid.UUID // uuid.Nil for a guest
	Email          string
	Name           string
	Status         string
	OfferExpiresAt time.Time // zero unless offered
	BookingID      uuid.UUID // the claimed booking, uuid.Nil before
	EventSlug      string
	EventTitle     string
	TimeZone       string
	StartsAt       time.Time
}

// CheckinList is a list a ticket enters once: an entrance, a day of a
// series (OccurrenceID), some ticket types (none: all).
type CheckinList struct {
	ID            uuid.UUID
	EventID       uuid.UUID
	OccurrenceID  uuid.UUID // uuid.Nil: every occurrence
	Name          string
	TicketTypeIDs []uuid.UUID
}

// Scan kinds.
const (
	ScanEntry = "entry"
	ScanExit  = "exit"
)

// ScanResult is what a door volunteer sees after a scan.
type ScanResult struct {
	// Recorded is false when the scan changed nothing (a second entry).
	Recorded bool
	// Already is true for a ticket that had entered this list before.
	Already bool
	Kind    string
	// At and ByName are the scan's, or for Already the first entry's.
	At     time.Time
	ByName string
	// Holder is the booking's name (or email), TicketType its type, and
	// Seat/Of the ticket's place in its booking.
	Holder     string
	TicketType string
	Seat, Of   int
	// Message is the sentence to show ("Checked in: Ann Lee, Standard,
	// ticket 1 of 2." / "Already checked in at 19:02 by Bob.").
	Message string
}

// ValidateBooker returns an EInvalid error unless a booker's name is at
// most 200 characters and their email, when given, looks like an address
// of at most 320 characters; guest says whether both are required.
func ValidateBooker(name, email string, guest bool) error {
	name, email = strings.TrimSpace(name), strings.TrimSpace(email)
	switch {
	case guest && name == "":
		return Errorf(EInvalid, "Enter your name.")
	case len([]rune(name)) > 200:
		return Errorf(EInvalid, "A name is at most 200 characters.")
	case strings.ContainsFunc(name, func(r rune) bool { return r < ' ' || r == 0x7f }):
		return Errorf(EInvalid, "A name cannot contain control characters.")
	case guest && email == "":
		return Errorf(EInvalid, "Enter your email address.")
	case email != "" && !looksLikeEmail(email):
		return Errorf(EInvalid, "Enter an email address like name@example.com.")
	}
	return nil
}

func looksLikeEmail(s string) bool {
	if len(s) > 320 || strings.ContainsAny(s, " \t\r\n<>\"") {
		return false
	}
	at := strings.LastIndexByte(s, '@')
	return at > 0 && at < len(s)-1 && strings.Contains(s[at+1:], ".") && !strings.HasSuffix(s, ".")
}

// ValidateQuantity returns an EInvalid error unless n is from 1 to
// MaxBookingQuantity.
func ValidateQuantity(n int) error {
	if n < 1 || n > MaxBookingQuantity {
		return Errorf(EInvalid, "Book 1 to %d places.", MaxBookingQuantity)
	}
	return nil
}

// SeatsLeftMessage is the sentence for an occurrence or ticket type with
// left seats when more were asked for.
func SeatsLeftMessage(left int) string {
	switch {
	case left <= 0:
		return "Sold out."
	case left == 1:
		return "Only 1 place left."
	}
	return fmt.Sprintf("Only %d places left.", left)
}
