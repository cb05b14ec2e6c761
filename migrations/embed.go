// Package migrations embeds the platform's one schema as golang-migrate SQL
// files (NNNN_name.up.sql / NNNN_name.down.sql).
package migrations

import "embed"

// FS holds every migration file.
//
//go:embed *.sql
var FS embed.FS
