// Package editor holds the blog editor's front-end source: a Tiptap editor (src/) bundled with
// esbuild (build.mjs) into blog/internal/static/editor.js, which is committed so Go builds never
// need npm. The package has no Go code of its own; its test fails when that bundle is stale.
//
// Rebuild the bundle with:
//
//	cd shared/editor && npm ci && node build.mjs
package editor
