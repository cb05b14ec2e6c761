package internal

import (
	"context"
	"time"

	"github.com/a-h/templ"

	"rose-ash.com/platform/shared/contracts"
	"rose-ash.com/platform/shared/fragments"
	"rose-ash.com/platform/shared/models"
)

// upcomingLimit is how many events the upcoming fragment lists.
const upcomingLimit = 5

// fragmentRenderers are the fragments the events service serves.
func fragmentRenderers(events contracts.Events, eventsURL string) map[string]fragments.Renderer {
	return map[string]fragments.Renderer{
		"upcoming": func(ctx context.Context, _ *models.User) (templ.Component, error) {
			list, err := events.UpcomingEvents(ctx, time.Now(), upcomingLimit)
			if err != nil {
				return nil, err
			}
			return UpcomingFragment(list, eventsURL), nil
		},
	}
}
