package main

import (
	"rose-ash.com/platform/market/internal"
	"rose-ash.com/platform/shared/boot"
	"rose-ash.com/platform/shared/services/products"
)

// federate makes the market's products posts of its actor. (Being written:
// nothing is announced yet.)
func federate(_ boot.Deps, _ *products.Store) internal.ProductServer { return nil }
