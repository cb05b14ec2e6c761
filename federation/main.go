// Command federation runs the Rose Ash federation service: sign-in, the
// OAuth2 authorization server for the other services, and the social hub.
package main

import (
	"context"
	"io"
	"net/http"

	"rose-ash.com/platform/federation/internal"
	"rose-ash.com/platform/shared/boot"
	"rose-ash.com/platform/shared/ratelimit"
	"rose-ash.com/platform/shared/services/identity"
)

func main() { boot.Main("federation", run) }

// run starts the federation service and blocks until ctx ends.
func run(ctx context.Context, getenv func(string) string, stdout io.Writer) error {
	opts := boot.Options{Service: "federation"}
	return boot.Run(ctx, opts, getenv, stdout, func(d boot.Deps) (http.Handler, error) {
		var devMail = d.DevMail
		if d.Config.Production() {
			devMail = nil
		}
		return internal.NewServer(internal.Deps{
			Site: d.Site, Identity: identity.New(d.DB), Sessions: d.Sessions,
			Mail: d.Mail, DevMail: devMail, Limiter: ratelimit.New(d.Redis, d.Keys),
		}), nil
	})
}
