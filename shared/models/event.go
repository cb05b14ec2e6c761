package models

import (
	"regexp"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"
)

// Event is a scheduled happening in one of the events service's calendars,
// as listed to readers: its calendar's slug and title come with it. Times
// are UTC.
type Event struct {
	ID            uuid.UUID
	CalendarSlug  string
	CalendarTitle string
	Slug          string
	Title         string
	Summary       string
	Location      string
	StartsAt      time.Time
	EndsAt        time.Time
	// OccurrenceID is the date listed (uuid.Nil for none); TimeZone the
	// event's zone, in which its times are shown.
	OccurrenceID uuid.UUID
	TimeZone     string
	// Recurring is set for a date of a repeating event.
	Recurring bool
}

// Calendar is one of the events service's calendars as readers see it.
type Calendar struct {
	ID          uuid.UUID
	Slug        string
	Title       string
	Description string
	// ContainerPostID is the blog page that shows the calendar, if any;
	// ContainerSlug is its slug (on a write, it names the page when
	// ContainerPostID is nil; "" for none).
	ContainerPostID *uuid.UUID
	ContainerSlug   string
	// Version is the optimistic lock of an update.
	Version int
}

var eventSlugRE = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)

// ValidateEventSlug returns an EInvalid error unless s, a calendar's or an
// event's slug, is at most 80 lower-case letters and digits in words joined
// by single hyphens ("bread-making-workshop").
func ValidateEventSlug(s string) error {
	if len(s) > 80 || !eventSlugRE.MatchString(s) {
		return Errorf(EInvalid, "A slug is lower-case letters and digits joined by single hyphens, at most 80 characters.")
	}
	return nil
}

// ValidateEvent returns an EInvalid error unless e has a valid slug, a
// title of 1 to 200 characters, a summary of at most 2000 and a location of
// at most 200 (none of them with control characters, line breaks allowed
// in the summary), and a start and end with the end not before the start.
func ValidateEvent(e Event) error {
	if err := ValidateEventSlug(e.Slug); err != nil {
		return err
	}
	isControl := func(r rune) bool { return unicode.IsControl(r) && r != '\n' && r != '\r' && r != '\t' }
	switch {
	case strings.TrimSpace(e.Title) == "":
		return Errorf(EInvalid, "Enter the event's title.")
	case utf8.RuneCountInString(e.Title) > 200:
		return Errorf(EInvalid, "An event's title is at most 200 characters.")
	case strings.IndexFunc(e.Title, unicode.IsControl) >= 0 || strings.IndexFunc(e.Location, unicode.IsControl) >= 0 ||
		strings.IndexFunc(e.Summary, isControl) >= 0:
		return Errorf(EInvalid, "An event's title, summary and location cannot contain control characters.")
	case utf8.RuneCountInString(e.Summary) > 2000:
		return Errorf(EInvalid, "An event's summary is at most 2000 characters.")
	case utf8.RuneCountInString(e.Location) > 200:
		return Errorf(EInvalid, "An event's location is at most 200 characters.")
	case e.StartsAt.IsZero() || e.EndsAt.IsZero():
		return Errorf(EInvalid, "Enter when the event starts and ends.")
	case e.EndsAt.Before(e.StartsAt):
		return Errorf(EInvalid, "An event cannot end before it starts.")
	}
	return nil
}

// Event statuses: a draft is not shown; a scheduled event is public; a
// cancelled one is shown as cancelled and takes no bookings.
const (
	EventDraft     = "draft"
	EventScheduled = "scheduled"
	EventCancelled = "cancelled"
)

// EventEntry is an event as its organiser writes it and its page shows it:
// the first occurrence's start and end (StartsAt, EndsAt, UTC), its time
// zone, place, recurrence, seats and ticket types.
type EventEntry struct {
	ID uuid.UUID
	// CalendarID is the event's calendar; CalendarSlug names it instead
	// when CalendarID is uuid.Nil on a write.
	CalendarID      uuid.UUID
	CalendarSlug    string
	CalendarTitle   string
	Slug            string
	Title           string
	Summary         string
	DescriptionHTML string
	// Image is a media path (/media/x.jpg) or an absolute URL; "" for none.
	Image    string
	ImageAlt string
	// Location is the place's name, Address its postal address.
	Location string
	Address  string
	// TimeZone is an IANA zone name (Europe/London).
	TimeZone      string
	OrganiserName string
	OrganiserID   *uuid.UUID
	StartsAt      time.Time
	EndsAt        time.Time
	// Capacity is the seats per occurrence; nil for no limit.
	Capacity *int
	// RRule is an RFC 5545 recurrence rule without DTSTART
	// ("FREQ=WEEKLY;BYDAY=TH"), "" for a one-off event; RDates are added
	// starts, ExDates starts taken out.
	RRule               string
	RDates              []time.Time
	ExDates             []time.Time
	CancelCutoffMinutes int
	Status              string
	PublishedAt         *time.Time
	CancelledAt         *time.Time
	CancelReason        string
	// Version is the optimistic lock: an update names the version it read.
	Version     int
	TicketTypes []TicketType
}

// Recurring reports whether e repeats (a rule or added dates).
func (e EventEntry) Recurring() bool { return e.RRule != "" || len(e.RDates) > 0 }

// TicketType is what a booking buys: a free (PriceMinor 0) or priced
// place, with its own seats per occurrence (nil: only the occurrence's
// limit) and an optional sale window.
type TicketType struct {
	// ID is uuid.Nil for a type to add.
	ID          uuid.UUID
	Name        string
	Description string
	PriceMinor  int64
	Currency    string
	Capacity    *int
	SalesStart  *time.Time
	SalesEnd    *time.Time
	Position    int
}

// Price is the ticket type's price.
func (t TicketType) Price() Money { return Money{Minor: t.PriceMinor, Currency: t.Currency} }

// Free reports whether the ticket type costs nothing.
func (t TicketType) Free() bool { return t.PriceMinor == 0 }

// Sale states of a ticket type at a moment.
const (
	SaleNotYet = "not-yet"
	SaleOpen   = "open"
	SaleEnded  = "ended"
)

// SaleState is whether t is on sale at now: SaleNotYet, SaleOpen or
// SaleEnded.
func (t TicketType) SaleState(now time.Time) string {
	switch {
	case t.SalesStart != nil && now.Before(*t.SalesStart):
		return SaleNotYet
	case t.SalesEnd != nil && !now.Before(*t.SalesEnd):
		return SaleEnded
	}
	return SaleOpen
}

// Occurrence is one date of an event, bookable on its own. Times are UTC.
type Occurrence struct {
	ID       uuid.UUID
	EventID  uuid.UUID
	StartsAt time.Time
	EndsAt   time.Time
	// Capacity is nil for no limit; Taken counts held and confirmed seats.
	Capacity *int
	Taken    int
	Status   string
}

// SeatsLeft is how many seats can still be booked, -1 for no limit.
func (o Occurrence) SeatsLeft() int {
	if o.Capacity == nil {
		return -1
	}
	return max(*o.Capacity-o.Taken, 0)
}

// ValidateEventEntry returns an EInvalid error, in a sentence for the
// organiser, unless e can be saved: the checks of ValidateEvent, a known
// time zone, a status, fields within their lengths, no negative capacity
// and valid ticket types (see ValidateTicketType) with distinct names. The
// recurrence rule and the seats already taken are checked by the store.
func ValidateEventEntry(e EventEntry) error {
	if err := ValidateEvent(Event{Slug: e.Slug, Title: e.Title, Summary: e.Summary, Location: e.Location,
		StartsAt: e.StartsAt, EndsAt: e.EndsAt}); err != nil {
		return err
	}
	if e.TimeZone == "" {
		return Errorf(EInvalid, "Choose the event's time zone.")
	}
	if _, err := time.LoadLocation(e.TimeZone); err != nil || e.TimeZone == "Local" || len(e.TimeZone) > 64 {
		return Errorf(EInvalid, "%q is not a time zone we know: use a name such as Europe/London.", e.TimeZone)
	}
	switch {
	case e.Status != EventDraft && e.Status != EventScheduled && e.Status != EventCancelled:
		return Errorf(EInvalid, "An event is a draft, scheduled or cancelled.")
	case len(e.DescriptionHTML) > 100000:
		return Errorf(EInvalid, "An event's description is at most 100,000 characters.")
	case len(e.Image) > 2000 || utf8.RuneCountInString(e.ImageAlt) > 300:
		return Errorf(EInvalid, "An event's image address is at most 2000 characters and its description 300.")
	case utf8.RuneCountInString(e.Address) > 500:
		return Errorf(EInvalid, "An event's address is at most 500 characters.")
	case utf8.RuneCountInString(e.OrganiserName) > 200:
		return Errorf(EInvalid, "An organiser's name is at most 200 characters.")
	case e.Capacity != nil && *e.Capacity < 0:
		return Errorf(EInvalid, "An event's capacity cannot be negative.")
	case e.CancelCutoffMinutes < 0 || e.CancelCutoffMinutes > 525600:
		return Errorf(EInvalid, "Bookings can be cancelled until at most a year before the event, and not after it starts.")
	case len(e.RRule) > 500:
		return Errorf(EInvalid, "An event's recurrence rule is at most 500 characters.")
	}
	names := map[string]bool{}
	for _, t := range e.TicketTypes {
		if err := ValidateTicketType(t); err != nil {
			return err
		}
		if names[t.Name] {
			return Errorf(EInvalid, "Two ticket types are called %q: give each its own name.", t.Name)
		}
		names[t.Name] = true
	}
	return nil
}

// ValidateTicketType returns an EInvalid error unless t has a name of 1 to
// 100 characters, a description of at most 1000, a price that is not
// negative in a three-letter currency, no negative capacity, and a sale
// window that ends after it starts.
func ValidateTicketType(t TicketType) error {
	switch {
	case strings.TrimSpace(t.Name) == "":
		return Errorf(EInvalid, "Give every ticket type a name.")
	case utf8.RuneCountInString(t.Name) > 100:
		return Errorf(EInvalid, "A ticket type's name is at most 100 characters.")
	case utf8.RuneCountInString(t.Description) > 1000:
		return Errorf(EInvalid, "A ticket type's description is at most 1000 characters.")
	case t.PriceMinor < 0:
		return Errorf(EInvalid, "The price of %q cannot be negative.", t.Name)
	case !currencyRE.MatchString(t.Currency):
		return Errorf(EInvalid, "The currency of %q is a three-letter code such as GBP.", t.Name)
	case t.Capacity != nil && *t.Capacity < 0:
		return Errorf(EInvalid, "The capacity of %q cannot be negative.", t.Name)
	case t.SalesStart != nil && t.SalesEnd != nil && !t.SalesEnd.After(*t.SalesStart):
		return Errorf(EInvalid, "The sale of %q must end after it starts.", t.Name)
	}
	return nil
}
