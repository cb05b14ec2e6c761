package internal

import (
	"net/http"
	"time"

	"rose-ash.com/platform/shared/services/calendars"
	"rose-ash.com/platform/shared/web"
)

// homeLimit is how many upcoming events the events home lists.
const homeLimit = 50

// showHome renders the events service's home page: every upcoming event
// (the ones the blog's home page shows first among them), each under its
// own anchor so other pages can link to it.
func showHome(site *web.Site, events *calendars.Store) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		list, err := events.UpcomingEvents(r.Context(), time.Now(), homeLimit)
		if err != nil {
			site.Error(w, r, err)
			return
		}
		site.Render(w, r, http.StatusOK, HomePage(site.Page(r, ""), site.OtherServices(), list))
	}
}

// eventAnchor is the id of an event's entry on the events home page, which
// the upcoming fragment and calendar widgets link to (there is no page of
// its own for an event yet). Event slugs are unique within a calendar.
func eventAnchor(calendarSlug, eventSlug string) string {
	return "event-" + calendarSlug + "-" + eventSlug
}
