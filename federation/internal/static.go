package internal

import "embed"

// Static holds federation's own static assets, under "static/": hub.css,
// the social hub's styles (on top of the shared site.css).
//
//go:embed static
var Static embed.FS
