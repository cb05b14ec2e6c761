// Command events runs the Rose Ash events service.
package main

import (
	"context"
	"io"
	"io/fs"
	"net/http"

	"rose-ash.com/platform/events/internal"
	"rose-ash.com/platform/shared/boot"
	"rose-ash.com/platform/shared/services/bookings"
	"rose-ash.com/platform/shared/services/calendars"
)

func main() { boot.Main("events", run) }

// run starts the events service and blocks until ctx ends.
func run(ctx context.Context, getenv func(string) string, stdout io.Writer) error {
	static, err := fs.Sub(internal.Static, "static")
	if err != nil {
		return err
	}
	opts := boot.Options{Service: "events", MayMigrate: false, Static: static}
	return boot.Run(ctx, opts, getenv, stdout, func(d boot.Deps) (http.Handler, error) {
		return internal.NewServer(internal.Deps{Site: d.Site, Auth: d.SignIn(), Events: calendars.New(d.DB),
			Bookings: bookings.New(d.DB), Mail: d.Mail, Sessions: d.Sessions, Secret: []byte(d.Config.SecretKey)}), nil
	})
}
