package internal

import "embed"

// Static holds the blog's own static assets, under "static/": editor.js, the rich-text editor
// bundle built from shared/editor (committed, so Go builds need no npm; regenerate it with
// `cd shared/editor && npm ci && node build.mjs`), and editor.css, its styles.
//
//go:embed static
var Static embed.FS
