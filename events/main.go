// Command events runs the Rose Ash events service.
package main

import (
	"context"
	"io"
	"net/http"

	"rose-ash.com/platform/events/internal"
	"rose-ash.com/platform/shared/boot"
	"rose-ash.com/platform/shared/internalnet"
	"rose-ash.com/platform/shared/oauth"
	"rose-ash.com/platform/shared/services/calendars"
	"rose-ash.com/platform/shared/services/identity"
)

func main() { boot.Main("events", run) }

// run starts the events service and blocks until ctx ends.
func run(ctx context.Context, getenv func(string) string, stdout io.Writer) error {
	opts := boot.Options{Service: "events", MayMigrate: false}
	return boot.Run(ctx, opts, getenv, stdout, func(d boot.Deps) (http.Handler, error) {
		auth := oauth.NewClient(d.Site, d.Sessions, identity.New(d.DB), internalnet.Client(d.Config))
		return internal.NewServer(d.Site, auth, calendars.New(d.DB)), nil
	})
}
