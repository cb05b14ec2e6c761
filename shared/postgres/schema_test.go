package postgres_test

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"rose-ash.com/platform/shared/postgres"
	"rose-ash.com/platform/shared/postgres/pgtest"
)

// schema.sql must be what the migrations produce; `make schema` regenerates it.
func TestSchemaSnapshotMatchesMigrations(t *testing.T) {
	want, err := postgres.DumpSchema(context.Background(), pgtest.MustDatabaseURL(t))
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join("..", "..", "schema.sql"))
	if err != nil {
		t.Fatalf("read schema.sql: %v (run make schema)", err)
	}
	if string(got) != want {
		t.Fatalf("schema.sql is stale: run `make schema` and commit it.\n%s", firstDifference(string(got), want))
	}
}

func firstDifference(got, want string) string {
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	for i := 0; i < len(g) || i < len(w); i++ {
		var gl, wl string
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if gl != wl {
			return "line " + strconv.Itoa(i+1) + ":\n  schema.sql: " + gl + "\n  migrations: " + wl
		}
	}
	return ""
}

func TestNormalizeDumpDropsVaryingLines(t *testing.T) {
	in := "--\n-- PostgreSQL database dump\n\\restrict abc123\nSET statement_timeout = 0;\n" +
		"SELECT pg_catalog.set_config('search_path', '', false);\n\n\nCREATE TABLE t (id int);\n\n\n\\unrestrict abc123\n"
	if got := postgres.NormalizeDump(in); got != "CREATE TABLE t (id int);\n" {
		t.Fatalf("NormalizeDump = %q", got)
	}
}
