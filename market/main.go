// Command market runs the Rose Ash market service.
package main

import (
	"context"
	"io"
	"net/http"

	"rose-ash.com/platform/market/internal"
	"rose-ash.com/platform/shared/boot"
)

func main() { boot.Main("market", run) }

// run starts the market service and blocks until ctx ends.
func run(ctx context.Context, getenv func(string) string, stdout io.Writer) error {
	opts := boot.Options{Service: "market", MayMigrate: false}
	return boot.Run(ctx, opts, getenv, stdout, func(d boot.Deps) (http.Handler, error) {
		return internal.NewServer(internal.Deps{Site: d.Site, Auth: d.SignIn()}), nil
	})
}
