package internal

import "embed"

// Static holds the blog's own static assets, under "static/" (cards.css, the styles of Ghost's
// cards in imported posts). The rich-text editor the post editor loads (editor.js, editor.css)
// is not here: it is shared/editor's Assets, which boot adds to the blog's static files
// (boot.Options.Editor) so that a.site.Assets.URL("editor.js") gives its content-hashed URL
// on the blog's own origin.
//
//go:embed static
var Static embed.FS
