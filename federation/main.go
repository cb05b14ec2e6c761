// Command federation runs the Rose Ash federation service: sign-in, the
// OAuth2 authorization server for the other services, and the social hub.
package main

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"net/http"

	"rose-ash.com/platform/federation/internal"
	"rose-ash.com/platform/shared/activitypub"
	"rose-ash.com/platform/shared/boot"
	"rose-ash.com/platform/shared/config"
	"rose-ash.com/platform/shared/ratelimit"
	"rose-ash.com/platform/shared/services/identity"
	"rose-ash.com/platform/shared/services/social"
)

func main() { boot.Main("federation", run) }

// run starts the federation service and blocks until ctx ends.
func run(ctx context.Context, getenv func(string) string, stdout io.Writer) error {
	static, err := fs.Sub(internal.Static, "static")
	if err != nil {
		return err
	}
	opts := boot.Options{Service: "federation", Static: static}
	return boot.Run(ctx, opts, getenv, stdout, func(d boot.Deps) (http.Handler, error) {
		if d.AP == nil {
			return nil, errors.New("federation: the social hub needs the site key: migrate the database first")
		}
		var devMail = d.DevMail
		if d.Config.Production() {
			devMail = nil
		}
		return internal.NewServer(internal.Deps{
			Site: d.Site, Identity: identity.New(d.DB), Sessions: d.Sessions,
			Mail: d.Mail, DevMail: devMail, Limiter: ratelimit.New(d.Redis, d.Keys),
			Social: hubStore(d), Resolver: d.AP.Resolver, AP: d.AP,
			MediaClient: internal.NewMediaClient(d.Config, boot.Version()), Redis: d.Redis, Keys: d.Keys,
		}), nil
	})
}

// hubStore is the social hub's store: every service's actor posts to every
// timeline, mentions are resolved like searches, and a change to someone's
// notifications refreshes their badge.
func hubStore(d boot.Deps) *social.Store {
	var services []string
	for _, name := range config.Services {
		services = append(services, activitypub.ServiceActorID(d.Config.Service(name).PublicURL, name))
	}
	return social.New(d.DB, d.Jobs, social.Options{
		FederationURL: d.Config.Service("federation").PublicURL, ServiceActors: services,
		Lookup: d.AP.Resolver.Lookup, Notified: d.Site.NotificationsChanged,
	})
}
