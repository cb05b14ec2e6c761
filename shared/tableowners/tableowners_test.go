package tableowners_test

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"rose-ash.com/platform/shared/servicetest"
)

// owners names the one package (a directory of this module) that writes
// each table of the schema; docs/DECISIONS.md ("One owner per table")
// lists the same. A table written only by a library names the library:
// none of our code may write it.
var owners = map[string]string{
	// Users and sign-in.
	"users":         "shared/services/identity",
	"magic_links":   "shared/services/identity",
	"sso_sessions":  "shared/services/identity",
	"oauth_grants":  "shared/services/identity",
	"oauth_codes":   "shared/services/identity",
	"oauth_tokens":  "shared/services/identity",
	"email_changes": "shared/services/identity",

	// The blog.
	"posts":            "shared/services/posts",
	"tags":             "shared/services/posts",
	"post_tags":        "shared/services/posts",
	"nav_items":        "shared/services/navigation",
	"ghost_sync_state": "shared/ghostsync",
	"ghost_conflicts":  "shared/ghostsync",

	// Events and the cart.
	"calendars":         "shared/services/calendars",
	"events":            "shared/services/calendars",
	"event_occurrences": "shared/services/calendars",
	"ticket_types":      "shared/services/calendars",
	"carts":             "shared/services/carts",
	"cart_items":        "shared/services/carts",

	// Newsletters: lists and subscriptions; campaigns and their recipients.
	"newsletter_lists":               "shared/services/newsletters",
	"newsletter_subscribers":         "shared/services/newsletters",
	"newsletter_subscriptions":       "shared/services/newsletters",
	"newsletter_consents":            "shared/services/newsletters",
	"newsletter_suppressions":        "shared/services/newsletters",
	"newsletter_bounces":             "shared/services/newsletters",
	"newsletter_campaigns":           "shared/services/campaigns",
	"newsletter_campaign_lists":      "shared/services/campaigns",
	"newsletter_campaign_recipients": "shared/services/campaigns",

	// Bookings of events: tickets, waitlists and check-in.
	"bookings":         "shared/services/bookings",
	"tickets":          "shared/services/bookings",
	"waitlist_entries": "shared/services/bookings",
	"checkin_lists":    "shared/services/bookings",
	"checkins":         "shared/services/bookings",

	// The market.
	"markets":            "shared/services/products",
	"product_categories": "shared/services/products",
	"products":           "shared/services/products",
	"product_variants":   "shared/services/products",
	"product_images":     "shared/services/products",
	"product_sources":    "shared/services/products",
	"product_imports":    "shared/services/products",

	// Orders and their payments.
	"orders":           "shared/services/orders",
	"order_lines":      "shared/services/orders",
	"payment_attempts": "shared/services/orders",
	"order_events":     "shared/services/orders",
	"order_refunds":    "shared/services/orders",

	// ActivityPub: our actors' keys, inboxes and followers...
	"ap_keypair":   "shared/activitypub",
	"ap_inbox":     "shared/activitypub",
	"ap_followers": "shared/activitypub",
	"ap_actors":    "shared/activitypub",
	// ...what they send...
	"ap_activities": "shared/activitypub/delivery",
	"ap_deliveries": "shared/activitypub/delivery",
	// ...and the social hub.
	"ap_objects":       "shared/services/social",
	"ap_following":     "shared/services/social",
	"ap_likes":         "shared/services/social",
	"ap_announces":     "shared/services/social",
	"ap_notifications": "shared/services/social",

	// Libraries.
	"river_job":          "github.com/riverqueue/river",
	"river_queue":        "github.com/riverqueue/river",
	"river_migration":    "github.com/riverqueue/river",
	"river_notification": "github.com/riverqueue/river",
	"schema_migrations":  "github.com/golang-migrate/migrate",
}

var createTable = regexp.MustCompile(`(?i)\bcreate\s+table\s+(?:if\s+not\s+exists\s+)?(?:public\.)?"?([a-z_][a-z0-9_]*)"?`)

// schemaTables returns the tables schema.sql and the migrations create.
func schemaTables(t *testing.T, dir string) []string {
	t.Helper()
	files := []string{filepath.Join(dir, "schema.sql")}
	ups, err := filepath.Glob(filepath.Join(dir, "migrations", "*.up.sql"))
	if err != nil {
		t.Fatal(err)
	}
	files = append(files, ups...)
	seen := map[string]bool{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range createTable.FindAllStringSubmatch(stripSQLComments(string(b)), -1) {
			seen[strings.ToLower(m[1])] = true
		}
	}
	var tables []string
	for name := range seen {
		tables = append(tables, name)
	}
	sort.Strings(tables)
	if len(tables) == 0 {
		t.Fatal("schema.sql creates no table: is it where it should be?")
	}
	return tables
}

// A table written in our code belongs to one package: adding a table
// means naming its owner here (and in docs/DECISIONS.md).
func TestEveryTableHasOneOwner(t *testing.T) {
	tables := schemaTables(t, servicetest.RepoRoot(t))
	for _, table := range tables {
		if owners[table] == "" {
			t.Errorf("table %s has no owner: name the one package that writes it in owners (tableowners_test.go) and in docs/DECISIONS.md", table)
		}
	}
	for table := range owners {
		if !slices.Contains(tables, table) {
			t.Errorf("owners names table %s, which the schema does not have", table)
		}
	}
}

// A write is one SQL statement that changes a table. UPDATE needs its SET
// (so "ON CONFLICT ... DO UPDATE SET" and "FOR UPDATE" never match, nor
// words in a message); what comes after the table name is checked below.
var writeRE = regexp.MustCompile(`(?is)\b(?:(insert\s+into)|(update)|(delete\s+from)|(truncate)(?:\s+table)?|(merge\s+into))\s+(?:only\s+)?(?:public\.)?"?([a-z_][a-z0-9_]*)"?`)

var updateTailRE = regexp.MustCompile(`(?is)^\s*\*?\s*(?:(?:as\s+)?[a-z_][a-z0-9_]*\s+)?set\b`)

// write is a statement writing table at a line of a file.
type write struct {
	file  string
	line  int
	table string
}

// writesIn returns the writes of sql, a string literal's value starting at
// line (raw strings keep their line breaks, so later lines are counted).
func writesIn(file string, line int, sql string) []write {
	sql = stripSQLComments(sql)
	var out []write
	for _, m := range writeRE.FindAllStringSubmatchIndex(sql, -1) {
		table := strings.ToLower(sql[m[12]:m[13]])
		if m[4] >= 0 { // UPDATE
			if !updateTailRE.MatchString(sql[m[13]:]) {
				continue
			}
			before := strings.ToLower(strings.TrimRight(sql[:m[4]], " \t\r\n"))
			if strings.HasSuffix(before, "do") || strings.HasSuffix(before, "for") || strings.HasSuffix(before, "key") {
				continue // ON CONFLICT DO UPDATE, FOR UPDATE, FOR NO KEY UPDATE
			}
		}
		out = append(out, write{file: file, line: line + strings.Count(sql[:m[0]], "\n"), table: table})
	}
	return out
}

// stripSQLComments blanks -- and /* */ comments, keeping line breaks.
func stripSQLComments(sql string) string {
	var b strings.Builder
	for i := 0; i < len(sql); i++ {
		switch {
		case strings.HasPrefix(sql[i:], "--"):
			for i < len(sql) && sql[i] != '\n' {
				i++
			}
			if i < len(sql) {
				b.WriteByte('\n')
			}
		case strings.HasPrefix(sql[i:], "/*"):
			end := strings.Index(sql[i+2:], "*/")
			if end < 0 {
				end = len(sql) - i - 2
			}
			b.WriteString(strings.Repeat("\n", strings.Count(sql[i:i+2+end], "\n")))
			i += 2 + end + 1
		default:
			b.WriteByte(sql[i])
		}
	}
	return b.String()
}

var generated = regexp.MustCompile(`(?m)^// Code generated .* DO NOT EDIT\.$`)

// goWrites returns every write in the non-test, non-generated Go files
// under dir: in string literals (SQL is kept in constants and literals,
// and a statement built with + keeps its verb and table in one literal),
// and in pgx CopyFrom calls naming a pgx.Identifier.
func goWrites(t *testing.T, dir string) []write {
	t.Helper()
	var out []write
	fset := token.NewFileSet()
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); path != dir && (strings.HasPrefix(name, ".") || name == "node_modules" ||
				name == "testdata" || name == "vendor") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if generated.Match(src) {
			return nil
		}
		f, err := parser.ParseFile(fset, path, src, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		rel = filepath.ToSlash(rel)
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.BasicLit:
				if n.Kind != token.STRING {
					return true
				}
				s, err := strconv.Unquote(n.Value)
				if err != nil {
					return true
				}
				out = append(out, writesIn(rel, fset.Position(n.Pos()).Line, s)...)
			case *ast.CallExpr:
				if sel, ok := n.Fun.(*ast.SelectorExpr); ok && sel.Sel.Name == "CopyFrom" && len(n.Args) > 1 {
					if lit, ok := n.Args[1].(*ast.CompositeLit); ok && len(lit.Elts) > 0 {
						if s, ok := lit.Elts[len(lit.Elts)-1].(*ast.BasicLit); ok && s.Kind == token.STRING {
							if name, err := strconv.Unquote(s.Value); err == nil {
								out = append(out, write{file: rel, line: fset.Position(n.Pos()).Line, table: strings.ToLower(name)})
							}
						}
					}
				}
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// Every INSERT, UPDATE, DELETE and TRUNCATE of a table in our code is in
// the table's owner package: any other package writes it by calling the
// owner (the demo seed and the Ghost sync write posts through the posts
// store, so Ghost edits federate; users only through identity...).
func TestEveryTableIsWrittenOnlyByItsOwner(t *testing.T) {
	dir := servicetest.RepoRoot(t)
	writes := goWrites(t, dir)
	if len(writes) == 0 {
		t.Fatal("found no SQL write at all: the scan is broken")
	}
	for _, w := range writes {
		owner, ok := owners[w.table]
		pkg := filepath.ToSlash(filepath.Dir(w.file))
		switch {
		case !ok:
			t.Errorf("%s:%d writes table %s, which has no owner (or does not exist): add it to owners", w.file, w.line, w.table)
		case pkg != owner:
			t.Errorf("%s:%d writes table %s, owned by %s: call %s instead", w.file, w.line, w.table, owner, owner)
		}
	}
}

// The scanner itself: what counts as a write and what does not.
func TestWritesAreFoundAndOnlyWrites(t *testing.T) {
	for _, tc := range []struct {
		sql  string
		want []string // table@line
	}{
		{"INSERT INTO posts (slug) VALUES ($1)", []string{"posts@1"}},
		{"insert into public.users(email) values ($1)", []string{"users@1"}},
		{"\nUPDATE users u SET bio = $2\nWHERE u.id = $1", []string{"users@2"}},
		{"UPDATE ONLY tags AS t SET name = $2", []string{"tags@1"}},
		{"update\n  posts\n  set x = 1", []string{"posts@1"}},
		{"DELETE FROM post_tags WHERE post_id = $1", []string{"post_tags@1"}},
		{`TRUNCATE TABLE "ap_inbox"`, []string{"ap_inbox@1"}},
		{"INSERT INTO tags (slug) VALUES ($1)\nON CONFLICT (slug) DO UPDATE SET slug = EXCLUDED.slug", []string{"tags@1"}},
		{"INSERT INTO events (slug) SELECT 1\nON CONFLICT (calendar_id, slug) DO UPDATE\nSET starts_at = excluded.starts_at", []string{"events@1"}},
		{"SELECT id FROM posts WHERE ghost_id = $1 FOR UPDATE", nil},
		{"SELECT id FROM posts FOR NO KEY UPDATE", nil},
		{"SELECT 1 FROM users FOR UPDATE SKIP LOCKED", nil},
		{"update author", nil},
		{"could not update posts", nil},
		{"-- DELETE FROM users\nSELECT 1", nil},
		{"/* UPDATE posts SET x = 1 */ SELECT 1", nil},
		{"WITH gone AS (DELETE FROM carts RETURNING id)\nUPDATE cart_items SET quantity = 0", []string{"carts@1", "cart_items@2"}},
		{"UPDATE ap_objects SET ", []string{"ap_objects@1"}},
	} {
		var got []string
		for _, w := range writesIn("f.go", 1, tc.sql) {
			got = append(got, fmt.Sprintf("%s@%d", w.table, w.line))
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("writesIn(%q) = %v, want %v", tc.sql, got, tc.want)
		}
	}
}

var wordRE = regexp.MustCompile(`[a-z_][a-z0-9_]*`)

// docWords returns the words of the package comments of the package in
// dir (non-test files).
func docWords(t *testing.T, dir string) map[string]bool {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	words := map[string]bool{}
	fset := token.NewFileSet()
	for _, path := range files {
		if strings.HasSuffix(path, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, path, nil, parser.PackageClauseOnly|parser.ParseComments)
		if err != nil {
			t.Fatal(err)
		}
		if f.Doc == nil {
			continue
		}
		for _, w := range wordRE.FindAllString(f.Doc.Text(), -1) {
			words[w] = true
		}
	}
	return words
}

// An owner says so: its package comment names every table it owns, so a
// reader of the package learns where its tables' writes belong.
func TestOwnersNameTheirTables(t *testing.T) {
	dir := servicetest.RepoRoot(t)
	byOwner := map[string][]string{}
	for table, owner := range owners {
		if strings.Contains(owner, ".") {
			continue // a library
		}
		byOwner[owner] = append(byOwner[owner], table)
	}
	var names []string
	for owner := range byOwner {
		names = append(names, owner)
	}
	sort.Strings(names)
	for _, owner := range names {
		tables := byOwner[owner]
		words := docWords(t, filepath.Join(dir, filepath.FromSlash(owner)))
		sort.Strings(tables)
		for _, table := range tables {
			if !words[table] {
				t.Errorf("package %s owns table %s but its package comment does not name it", owner, table)
			}
		}
	}
}

var ownerRowRE = regexp.MustCompile("(?m)^\\s*\\|\\s*([a-z_, ]+?)\\s*\\|\\s*(.+?)\\s*\\|\\s*$")

// docs/DECISIONS.md shows owners as a table ("One owner per table"): it
// says what this test checks, no more and no less.
func TestDecisionsListTheSameOwners(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(servicetest.RepoRoot(t), "docs", "DECISIONS.md"))
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	start := strings.Index(doc, "## One owner per table")
	if start < 0 {
		t.Fatal(`docs/DECISIONS.md has no section "One owner per table"`)
	}
	section := doc[start:]
	if end := strings.Index(section[3:], "\n## "); end >= 0 {
		section = section[:end+3]
	}
	listed := map[string]string{}
	for _, m := range ownerRowRE.FindAllStringSubmatch(section, -1) {
		if m[1] == "tables" {
			continue
		}
		owner := "a library"
		if i := strings.Index(m[2], "`"); i >= 0 {
			owner = strings.Trim(m[2][i:], "` ")
		}
		for _, table := range strings.Split(m[1], ",") {
			table = strings.TrimSpace(table)
			if _, dup := listed[table]; dup {
				t.Errorf("docs/DECISIONS.md lists table %s twice", table)
			}
			listed[table] = owner
		}
	}
	for table, owner := range owners {
		want := owner
		if strings.Contains(owner, ".") {
			want = "a library"
		}
		switch got, ok := listed[table]; {
		case !ok:
			t.Errorf("docs/DECISIONS.md does not list table %s (owner %s)", table, owner)
		case got != want:
			t.Errorf("docs/DECISIONS.md gives table %s to %s, the test to %s", table, got, owner)
		}
	}
	for table := range listed {
		if _, ok := owners[table]; !ok {
			t.Errorf("docs/DECISIONS.md lists table %s, which owners does not", table)
		}
	}
}
