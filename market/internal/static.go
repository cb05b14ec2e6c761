package internal

import "embed"

// Static holds the market's own static assets, under "static/": market.css,
// the shop pages' styles (gallery, filters, variants) on top of the shared
// site.css, which has the product card's (cards are shown on the blog too).
//
//go:embed static
var Static embed.FS
