// Command market runs the Rose Ash market service.
package main

import (
	"context"
	"io"
	"net/http"

	"rose-ash.com/platform/market/internal"
	"rose-ash.com/platform/shared/boot"
	"rose-ash.com/platform/shared/internalnet"
	"rose-ash.com/platform/shared/oauth"
	"rose-ash.com/platform/shared/services/identity"
)

func main() { boot.Main("market", run) }

// run starts the market service and blocks until ctx ends.
func run(ctx context.Context, getenv func(string) string, stdout io.Writer) error {
	opts := boot.Options{Service: "market", MayMigrate: false}
	return boot.Run(ctx, opts, getenv, stdout, func(d boot.Deps) (http.Handler, error) {
		auth := oauth.NewClient(d.Site, d.Sessions, identity.New(d.DB), internalnet.Client(d.Config))
		return internal.NewServer(d.Site, auth), nil
	})
}
