// Command cart runs the Rose Ash cart service.
package main

import (
	"context"
	"io"
	"net/http"

	"rose-ash.com/platform/cart/internal"
	"rose-ash.com/platform/shared/boot"
	"rose-ash.com/platform/shared/services/carts"
	"rose-ash.com/platform/shared/services/products"
)

func main() { boot.Main("cart", run) }

// run starts the cart service and blocks until ctx ends.
func run(ctx context.Context, getenv func(string) string, stdout io.Writer) error {
	opts := boot.Options{Service: "cart", MayMigrate: false}
	return boot.Run(ctx, opts, getenv, stdout, func(d boot.Deps) (http.Handler, error) {
		return internal.NewServer(internal.Deps{Site: d.Site, Auth: d.SignIn(), Carts: carts.New(d.DB),
			Catalogue: products.New(d.DB), Sessions: d.Sessions}), nil
	})
}
