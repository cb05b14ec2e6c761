package internal

import (
	"context"
	"time"

	"github.com/a-h/templ"

	"rose-ash.com/platform/shared/fragments"
	"rose-ash.com/platform/shared/models"
	"rose-ash.com/platform/shared/services/calendars"
)

// upcomingLimit is how many events the upcoming fragment lists.
const upcomingLimit = 5

// calendarLimit is how many events a calendar's container widget lists.
const calendarLimit = 10

// fragmentRenderers are the fragments the events service serves.
func fragmentRenderers(events *calendars.Store, eventsURL string) map[string]fragments.Renderer {
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
	}
}
