package internal

import (
	"context"
	"strings"
	"time"

	"github.com/a-h/templ"
	"github.com/google/uuid"

	"rose-ash.com/platform/shared/fragments"
	"rose-ash.com/platform/shared/models"
	"rose-ash.com/platform/shared/services/calendars"
)

// upcomingLimit is how many dates the upcoming fragment lists.
const upcomingLimit = 5

// calendarLimit is how many dates a calendar's container widget lists.
const calendarLimit = 10

// fragmentRenderers are the fragments the events service serves.
func fragmentRenderers(events *calendars.Store, eventsURL string) map[string]fragments.Renderer {
	eventsURL = strings.TrimSuffix(eventsURL, "/")
	return map[string]fragments.Renderer{
		fragments.Upcoming: func(ctx context.Context, _ *models.User) (templ.Component, error) {
			list, err := events.UpcomingEvents(ctx, time.Now(), upcomingLimit)
			if err != nil {
				return nil, err
			}
			return UpcomingFragment(list, eventsURL), nil
		},
		// calendar is a calendar's container widget in blog posts
		// (?ref=<calendar slug>): its coming events. An unknown calendar
		// is a 404, so the post shows nothing in its place.
		fragments.Calendar: func(ctx context.Context, _ *models.User) (templ.Component, error) {
			cal, list, err := events.CalendarUpcoming(ctx, fragments.Ref(ctx), time.Now(), calendarLimit)
			if err != nil {
				return nil, err
			}
			return CalendarFragment(cal, list, eventsURL), nil
		},
		// event-card is an event's card in blog posts (?ref=<event slug>):
		// its next date. An unknown or draft event is a 404.
		fragments.EventCard: func(ctx context.Context, _ *models.User) (templ.Component, error) {
			p, err := events.EventPage(ctx, fragments.Ref(ctx), uuid.Nil, time.Now())
			if err != nil {
				return nil, err
			}
			return EventCardFragment(cardOf(p, time.Now()), eventsURL), nil
		},
	}
}

// eventCard is what an event's card shows.
type eventCard struct {
	calendars.EventPage
	When, Place, Price  string
	Cancelled, Bookable bool
}

// cardOf summarises an event's page for its card: its date, place, the
// cheapest and dearest ticket ("Free", "£12.00", "Free – £5.00").
func cardOf(p calendars.EventPage, now time.Time) eventCard {
	c := eventCard{EventPage: p, Place: placeText(p.Event),
		Cancelled: p.Event.Status == models.EventCancelled || p.Occurrence.Status == models.EventCancelled}
	if p.Occurrence.ID != uuid.Nil {
		c.When = whenText(p.Occurrence.StartsAt, p.Occurrence.EndsAt, p.Event.TimeZone)
	}
	var lo, hi *calendars.TicketOffer
	for i := range p.Tickets {
		t := &p.Tickets[i]
		if lo == nil || t.PriceMinor < lo.PriceMinor {
			lo = t
		}
		if hi == nil || t.PriceMinor > hi.PriceMinor {
			hi = t
		}
		if t.Bookable() && p.Occurrence.EndsAt.After(now) && !c.Cancelled {
			c.Bookable = true
		}
	}
	price := func(t *calendars.TicketOffer) string {
		if t.Free() {
			return "Free"
		}
		return t.Price().String()
	}
	switch {
	case lo == nil:
	case lo.PriceMinor == hi.PriceMinor:
		c.Price = price(lo)
	default:
		c.Price = price(lo) + " – " + price(hi)
	}
	return c
}

// Path is the card's link: the event's page, at the date shown for a
// repeating event.
func (c eventCard) Path() string {
	if c.Event.Recurring() {
		return eventPath(c.Event.Slug, c.Occurrence.ID)
	}
	return eventPath(c.Event.Slug, uuid.Nil)
}
