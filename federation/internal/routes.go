// Package internal is the federation service's HTTP layer: sign-in by magic
// link, the OAuth2 authorization server every other service signs in
// through, and the social hub (hub*.go).
package internal

import (
	"net/http"

	"github.com/go-chi/chi/v5"
	"github.com/redis/go-redis/v9"

	"github.com/alexedwards/scs/v2"

	"rose-ash.com/platform/shared/activitypub"
	"rose-ash.com/platform/shared/cache"
	"rose-ash.com/platform/shared/fragments"
	"rose-ash.com/platform/shared/mail"
	"rose-ash.com/platform/shared/oauth"
	"rose-ash.com/platform/shared/ratelimit"
	"rose-ash.com/platform/shared/services/identity"
	"rose-ash.com/platform/shared/services/social"
	"rose-ash.com/platform/shared/sessions"
	"rose-ash.com/platform/shared/web"
)

// Deps are what the federation service's handlers need.
type Deps struct {
	Site     *web.Site
	Identity *identity.Store
	Sessions *scs.SessionManager
	Mail     mail.Sender
	// DevMail is the development mail sink shown at /dev/mail; nil in
	// production or with the smtp transport.
	DevMail *mail.DirSink
	Limiter *ratelimit.Limiter

	// The social hub: its store, and the resolver of remote actors.
	Social   *social.Store
	Resolver *activitypub.Resolver
	// AP is federation's ActivityPub service: the hub locks and unlocks
	// users' actors and answers their follow requests through it.
	AP *activitypub.Service
	// MediaClient fetches remote images for the hub's media proxy
	// (NewMediaClient); Redis, under Keys, caches them.
	MediaClient *http.Client
	Redis       *redis.Client
	Keys        cache.Namespace
}

// NewServer returns the federation service's HTTP handler; every route it
// serves is listed here.
func NewServer(d Deps) http.Handler {
	site := d.Site
	site.SignInPath = "/auth/signin"
	as := newAuthServer(d)
	hub := newHub(d)
	media := newMediaProxy(d)
	r := site.Router()

	// Machine routes: no session.
	site.MountPlatform(r, map[string]fragments.Renderer{
		fragments.Notifications: notificationsFragment(d.Social, site.URL("federation", "")),
	})
	r.Get("/.well-known/oauth-authorization-server", as.showMetadata)
	r.Post("/oauth/token", as.token)
	r.Post("/oauth/revoke", as.revoke)
	r.Get("/oauth/userinfo", as.userinfo)

	// Pages and the authorization endpoint: the browser's federation session.
	r.Group(func(r chi.Router) {
		r.Use(sessions.LoadAndSave(d.Sessions), as.viewer)
		r.Get("/", as.showHome)

		// Sign-in by magic link, at federation itself.
		r.Get("/auth/signin", as.showSignIn)
		r.Post("/auth/signin", as.sendSignInLink)
		r.Get("/auth/magic", as.showMagicLink)
		r.Post("/auth/magic", as.useMagicLink)
		r.With(site.RequireUser).Get("/auth/welcome", as.showWelcome)
		r.With(site.RequireUser).Post("/auth/welcome", as.saveWelcome)
		r.Post("/auth/logout", as.signOut)
		r.Get(oauth.EndSessionPath, as.endSession)

		// The OAuth2 authorization endpoint for the other services.
		r.Get("/oauth/authorize", as.authorize)

		// The social hub, for signed-in users (hub*.go).
		r.Route("/hub", func(r chi.Router) {
			r.Use(site.RequireUser, media.provide)
			r.Get("/", hub.showTimeline)
			r.Post("/posts", hub.savePost)
			r.Get("/posts/{id}/reply", hub.showReply)
			r.Post("/posts/{id}/reply", hub.saveReply)
			r.Post("/posts/{id}/{action:like|unlike|boost|unboost|delete}", hub.act)
			r.Get("/search", hub.search)
			r.Get("/actor", hub.showActor)
			r.Post("/follow", hub.follow)
			r.Post("/unfollow", hub.unfollow)
			r.Get("/notifications", hub.showNotifications)
			r.Get("/requests", hub.showRequests)
			r.Post("/requests/{answer:approve|reject}", hub.answerRequest)
			r.Get("/settings", hub.showSettings)
			r.Post("/settings", hub.saveSettings)
			r.Get("/media/{token}", media.serveImage)
		})

		r.With(site.RequireAdmin).Get("/admin", as.showAdminUsers)
		if d.DevMail != nil {
			r.Get("/dev/mail", as.showDevMail)
			r.Get("/dev/mail/{name}", as.showDevMessage)
		}
	})
	return r
}
