package internal

import (
	"net/http"
	"strings"
	"time"

	ics "github.com/arran4/golang-ical"

	"rose-ash.com/platform/shared/models"
	"rose-ash.com/platform/shared/services/calendars"
)

// feedPast is how far back a feed reaches: dates that ended more than
// this long ago are left out.
const feedPast = 90 * 24 * time.Hour

// eventICS serves an event's dates as an iCalendar file.
func (p *pages) eventICS(w http.ResponseWriter, r *http.Request, slug string) {
	e, items, err := p.events.EventFeed(r.Context(), slug, p.now().Add(-feedPast))
	if err != nil {
		p.site.Error(w, r, err)
		return
	}
	p.writeICS(w, e.Title, slug+".ics", items)
}

// calendarICS serves a calendar's dates as an iCalendar file.
func (p *pages) calendarICS(w http.ResponseWriter, r *http.Request, slug string) {
	c, items, err := p.events.CalendarFeed(r.Context(), slug, p.now().Add(-feedPast))
	if err != nil {
		p.site.Error(w, r, err)
		return
	}
	p.writeICS(w, c.Title, slug+".ics", items)
}

// writeICS writes one VEVENT per date: its UID the occurrence's id (stable
// across edits), times in UTC, the description as plain text, the place,
// the page's URL, and STATUS:CANCELLED for cancelled ones.
func (p *pages) writeICS(w http.ResponseWriter, name, file string, items []calendars.FeedItem) {
	host := p.base()
	domain := strings.TrimPrefix(strings.TrimPrefix(host, "https://"), "http://")
	cal := ics.NewCalendarFor("Rose Ash")
	cal.SetMethod(ics.MethodPublish)
	cal.SetName(name)
	cal.SetXWRCalName(name)
	now := p.now().UTC()
	for _, it := range items {
		e, o := it.Event, it.Occurrence
		ev := cal.AddEvent(o.ID.String() + "@" + domain)
		ev.SetDtStampTime(now)
		ev.SetStartAt(o.StartsAt.UTC())
		ev.SetEndAt(o.EndsAt.UTC())
		ev.SetSummary(e.Title)
		desc := plainText(e.DescriptionHTML)
		if desc == "" {
			desc = e.Summary
		}
		if desc != "" {
			ev.SetDescription(desc)
		}
		if place := placeText(models.EventEntry{Location: e.Location, Address: e.Address}); place != "" {
			ev.SetLocation(place)
		}
		ev.SetURL(host + eventPath(e.Slug, o.ID))
		if e.Status == models.EventCancelled || o.Status == models.EventCancelled {
			ev.SetStatus(ics.ObjectStatusCancelled)
		} else {
			ev.SetStatus(ics.ObjectStatusConfirmed)
		}
	}
	w.Header().Set("Content-Type", "text/calendar; charset=utf-8")
	w.Header().Set("Content-Disposition", `inline; filename="`+file+`"`)
	w.Header().Set("Cache-Control", "public, max-age=300")
	_ = cal.SerializeTo(w)
}
