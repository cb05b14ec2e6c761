package editor

import (
	"embed"
	"io/fs"
)

//go:embed dist
var dist embed.FS

// Assets returns the built editor: editor.js (the bundle) and editor.css
// (its styles), at the root of the file system. A service serves them
// among its static files (web.NewAssets), under content-hashed URLs.
func Assets() fs.FS {
	sub, err := fs.Sub(dist, "dist")
	if err != nil {
		panic(err) // "dist" is a valid path: fs.Sub cannot fail
	}
	return sub
}
