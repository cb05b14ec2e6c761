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
}

// Calendar is one of the events service's calendars as readers see it.
type Calendar struct {
	Slug        string
	Title       string
	Description string
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
