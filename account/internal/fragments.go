package internal

import (
	"context"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/a-h/templ"

	"rose-ash.com/platform/shared/fragments"
	"rose-ash.com/platform/shared/models"
	"rose-ash.com/platform/shared/services/bookings"
	"rose-ash.com/platform/shared/services/identity"
	"rose-ash.com/platform/shared/web"
)

// fragmentRenderers are the fragments the account service serves; the
// account-nav of a member shows how many upcoming tickets they hold
// (store nil: no badge) and their picture (profiles nil: none).
func fragmentRenderers(site *web.Site, store *bookings.Store, profiles *identity.Store) map[string]fragments.Renderer {
	ticketsURL := site.URL("account", "/#tickets")
	return map[string]fragments.Renderer{
		fragments.AccountNav: func(ctx context.Context, viewer *models.User) (templ.Component, error) {
			if viewer == nil {
				return AccountNavFragment(nil, "", 0, ticketsURL), nil
			}
			n := 0
			if store != nil {
				var err error
				if n, err = store.UpcomingTicketCount(ctx, viewer.ID, time.Now()); err != nil {
					return nil, err
				}
			}
			avatar := ""
			if profiles != nil {
				p, err := profiles.Profile(ctx, viewer.ID)
				if err != nil && models.Code(err) != models.ENotFound {
					return nil, err
				}
				avatar = navAvatar(site, p.AvatarURL)
			}
			return AccountNavFragment(viewer, avatar, n, ticketsURL), nil
		},
	}
}

// navAvatar returns the picture the account menu shows for avatarURL: the
// URL itself when it is on one of the platform's services (uploaded to the
// account's media, say), which every service's content security policy
// lets pages load images from; "" otherwise (no picture, or one elsewhere,
// such as a Ghost author's, that the pages would refuse).
func navAvatar(site *web.Site, avatarURL string) string {
	u, err := url.Parse(avatarURL)
	if avatarURL == "" || err != nil || u.Host == "" {
		return ""
	}
	origin := strings.ToLower(u.Scheme + "://" + u.Host)
	for _, o := range site.PlatformOrigins() {
		if strings.ToLower(o) == origin {
			return avatarURL
		}
	}
	return ""
}

// ticketsLabel is the badge's accessible label: "1 upcoming ticket" or
// "N upcoming tickets".
func ticketsLabel(n int) string {
	if n == 1 {
		return "1 upcoming ticket"
	}
	return strconv.Itoa(n) + " upcoming tickets"
}
