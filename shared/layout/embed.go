package layout

import "embed"

// Static holds the shared static assets under "static/", notably
// "static/site.css", the stylesheet every service links from Page.Stylesheet.
// Serve it with a content-hashed URL and a long cache lifetime.
//
//go:embed static
var Static embed.FS
