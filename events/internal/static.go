package internal

import "embed"

// Static holds the events service's own static assets, under "static/":
// events.css, the calendar pages' styles (month grid, event page, booking
// forms) on top of the shared site.css.
//
//go:embed static
var Static embed.FS
