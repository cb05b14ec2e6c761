// Package editor is the platform's rich-text editor: a Tiptap editor (src/) bundled with esbuild
// (build.mjs) into dist/editor.js, beside its styles, dist/editor.css. Both are committed, so Go
// builds never need npm, and embedded: Assets serves them to every service whose pages edit rich
// text (the blog's posts, the account's newsletter campaigns), each from its own origin under
// content-hashed names (boot.Options.Editor). The package's test fails when the bundle is stale.
//
// Rebuild the bundle with:
//
//	cd shared/editor && npm ci && node build.mjs
package editor
