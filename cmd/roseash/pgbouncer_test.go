package main

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"rose-ash.com/platform/shared/config"
	"rose-ash.com/platform/shared/ghostsync"
	"rose-ash.com/platform/shared/ghostsync/ghosttest"
	"rose-ash.com/platform/shared/postgres/pgtest"
	"rose-ash.com/platform/shared/servicetest"
)

// bouncerPoolSize is the server connections the test's PgBouncer keeps per
// database: fewer than the blog's own pool.
const bouncerPoolSize = 3

// The blog runs behind PgBouncer in transaction mode (database.pgbouncer):
// it migrates an empty database over the direct MIGRATE_DATABASE_URL,
// serves pages that query the database through PgBouncer, and its job
// queue works jobs through it (the Ghost sync River runs on start imports
// a post, which the home page then lists), on no more server connections
// than PgBouncer's pool.
func TestBlogThroughPgBouncer(t *testing.T) {
	bouncer := findPgBouncer(t)
	root := servicetest.RepoRoot(t)
	bin := t.TempDir()
	build := exec.Command("go", "build", "-o", bin+"/", "./blog")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}

	direct := pgtest.MustEmptyDatabaseURL(t)
	pooled := startPgBouncer(t, bouncer, direct)
	ghost := ghosttest.Start(t)
	published := time.Now().UTC().Add(-time.Hour)
	ghost.AddPost(ghostsync.Post{Title: "Pooled Post From Ghost", Slug: "pooled-post", HTML: "<p>Through the pooler.</p>",
		Status: "published", PublishedAt: &published, UpdatedAt: published})

	port := servicetest.FreePort(t)
	base := "http://127.0.0.1:" + port
	env := map[string]string{
		"CONFIG_FILE":                 filepath.Join(root, config.DefaultFile),
		"DATABASE_URL":                pooled,
		"DATABASE_PGBOUNCER":          "true",
		"MIGRATE_DATABASE_URL":        direct,
		"RUN_MIGRATIONS":              "true",
		"REDIS_URL":                   redisURL(),
		"SECRET_KEY":                  strings.Repeat("s", 32),
		"MAIL_DIR":                    t.TempDir(),
		"MEDIA_DIR":                   t.TempDir(),
		"REDIS_KEY_PREFIX":            fmt.Sprintf("bouncertest%d", time.Now().UnixNano()),
		"BLOG_LISTEN_ADDR":            "127.0.0.1:" + port,
		"BLOG_PUBLIC_URL":             base,
		"BLOG_INTERNAL_URL":           base,
		"GHOST_URL":                   ghost.URL,
		"GHOST_CONTENT_KEY":           ghosttest.ContentKey,
		"GHOST_ALLOW_PRIVATE_ADDRESS": "true",
		"GHOST_SYNC_INTERVAL":         "1h", // and once at start
	}
	log := &servicetest.SyncBuffer{}
	blog := processCommand(filepath.Join(bin, "blog"), nil, env, log, log)
	if err := blog.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = blog.Process.Signal(os.Interrupt)
		_ = blog.Wait()
		if t.Failed() {
			t.Logf("blog log:\n%s", log.String())
		}
	})

	get := func(path string) (int, string) {
		resp, err := http.Get(base + path)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	deadline := time.Now().Add(90 * time.Second)
	for {
		code, body := get("/")
		if code == http.StatusOK && strings.Contains(body, "Pooled Post From Ghost") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the blog's home never listed the post its Ghost sync job imports through PgBouncer; last GET / = %d", code)
		}
		time.Sleep(250 * time.Millisecond)
	}
	if !strings.Contains(log.String(), "pgbouncer=true") {
		t.Error("the blog did not log its connection budget with pgbouncer=true")
	}
	for range 3 { // pages served on whatever server connection PgBouncer picks
		if code, body := get("/pooled-post"); code != http.StatusOK || !strings.Contains(body, "Through the pooler.") {
			t.Fatalf("GET /pooled-post through PgBouncer = %d", code)
		}
		if code, _ := get("/readyz"); code != http.StatusOK {
			t.Fatalf("/readyz through PgBouncer = %d", code)
		}
	}

	ctx := context.Background()
	admin, err := pgx.Connect(ctx, pgtest.AdminURL())
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	u, _ := url.Parse(direct)
	var servers int
	if err := admin.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE datname = $1`, strings.TrimPrefix(u.Path, "/")).Scan(&servers); err != nil {
		t.Fatal(err)
	}
	if servers > bouncerPoolSize {
		t.Errorf("the blog holds %d server connections through a PgBouncer pool of %d", servers, bouncerPoolSize)
	}
	db, err := pgx.Connect(ctx, direct)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(ctx)
	// River records completions in batches, through PgBouncer too.
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		var state, errs string
		err := db.QueryRow(ctx, `SELECT state::text, coalesce(errors::text, '') FROM river_job WHERE kind = $1 ORDER BY id LIMIT 1`,
			ghostsync.SyncArgs{}.Kind()).Scan(&state, &errs)
		if err == nil && state == "completed" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the Ghost sync job: state %q, %v; want completed; its errors: %s", state, err, errs)
		}
	}
}

func redisURL() string {
	if u := os.Getenv("TEST_REDIS_URL"); u != "" {
		return u
	}
	return servicetest.DefaultRedisURL
}

// findPgBouncer returns the pgbouncer program, failing the test (not
// skipping it) when it is not installed.
func findPgBouncer(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("pgbouncer"); err == nil {
		return p
	}
	for _, p := range []string{"/usr/sbin/pgbouncer", "/usr/bin/pgbouncer"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	t.Fatal("pgbouncer is not installed: scripts/test.sh (make test) installs it, or: sudo apt-get install pgbouncer")
	return ""
}

// startPgBouncer runs PgBouncer in transaction mode on a free loopback port
// in front of the database at direct, and returns the URL that reaches the
// database through it. PgBouncer refuses to run as root: as root it runs as
// nobody.
func startPgBouncer(t *testing.T, program, direct string) string {
	t.Helper()
	u, err := url.Parse(direct)
	if err != nil {
		t.Fatal(err)
	}
	name := strings.TrimPrefix(u.Path, "/")
	user := u.User.Username()
	password, _ := u.User.Password()
	// A directory of its own that the unprivileged user can read.
	dir, err := os.MkdirTemp("", "roseash-pgbouncer-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	port := servicetest.FreePort(t)
	upstream := fmt.Sprintf("host=%s port=%s dbname=%s user=%s", u.Hostname(), cmp.Or(u.Port(), "5432"), name, user)
	if password != "" {
		upstream += " password=" + password
	}
	ini := fmt.Sprintf(`[databases]
%s = %s

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = %s
unix_socket_dir =
auth_type = trust
auth_file = %s
pool_mode = transaction
default_pool_size = %d
max_client_conn = 100
`, name, upstream, port, filepath.Join(dir, "userlist.txt"), bouncerPoolSize)
	files := map[string]string{"pgbouncer.ini": ini, "userlist.txt": fmt.Sprintf("%q \"\"\n", user)}
	for f, body := range files {
		if err := os.WriteFile(filepath.Join(dir, f), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	args := []string{program, filepath.Join(dir, "pgbouncer.ini")}
	if os.Geteuid() == 0 {
		args = append([]string{"setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"}, args...)
	}
	out := &servicetest.SyncBuffer{}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start pgbouncer: %v", err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
		if t.Failed() {
			t.Logf("pgbouncer log:\n%s", out.String())
		}
	})
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if c, err := net.Dial("tcp", "127.0.0.1:"+port); err == nil {
			c.Close()
			break
		}
		select {
		case <-exited:
			t.Fatalf("pgbouncer exited:\n%s", out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("pgbouncer does not listen on 127.0.0.1:%s:\n%s", port, out.String())
		}
	}
	pooled := *u
	pooled.Host = "127.0.0.1:" + port
	return pooled.String()
}
