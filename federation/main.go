// Command federation runs the Rose Ash federation service.
package main

import (
	"context"
	"io"
	"net/http"

	"rose-ash.com/platform/federation/internal"
	"rose-ash.com/platform/shared/boot"
)

func main() { boot.Main("federation", run) }

// run starts the federation service and blocks until ctx ends.
func run(ctx context.Context, getenv func(string) string, stdout io.Writer) error {
	opts := boot.Options{Service: "federation", MayMigrate: false}
	return boot.Run(ctx, opts, getenv, stdout, func(d boot.Deps) http.Handler {
		return internal.NewServer(d.Site)
	})
}
