package internal

import (
	"context"
	"strconv"
	"time"

	"github.com/a-h/templ"

	"rose-ash.com/platform/shared/fragments"
	"rose-ash.com/platform/shared/models"
	"rose-ash.com/platform/shared/services/bookings"
	"rose-ash.com/platform/shared/web"
)

// fragmentRenderers are the fragments the account service serves; the
// account-nav of a member shows how many upcoming tickets they hold
// (store nil: no badge).
func fragmentRenderers(site *web.Site, store *bookings.Store) map[string]fragments.Renderer {
	ticketsURL := site.URL("account", "/#tickets")
	return map[string]fragments.Renderer{
		fragments.AccountNav: func(ctx context.Context, viewer *models.User) (templ.Component, error) {
			n := 0
			if viewer != nil && store != nil {
				var err error
				if n, err = store.UpcomingTicketCount(ctx, viewer.ID, time.Now()); err != nil {
					return nil, err
				}
			}
			return AccountNavFragment(viewer, n, ticketsURL), nil
		},
	}
}

// ticketsLabel is the badge's accessible label: "1 upcoming ticket" or
// "N upcoming tickets".
func ticketsLabel(n int) string {
	if n == 1 {
		return "1 upcoming ticket"
	}
	return strconv.Itoa(n) + " upcoming tickets"
}
