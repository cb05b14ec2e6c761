package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"rose-ash.com/platform/shared/config"
	"rose-ash.com/platform/shared/demo"
	"rose-ash.com/platform/shared/models"
	"rose-ash.com/platform/shared/postgres/pgtest"
	"rose-ash.com/platform/shared/servicetest"
	"rose-ash.com/platform/shared/sumup"
)

// up builds nothing itself: this test builds the six binaries, then checks
// that up creates and seeds the database, brings all six services up on
// the ports it is given, prints their URLs, serves the SumUp sandbox the
// services pay through, and on cancellation (Ctrl-C) stops every one of
// them and returns nil.
func TestUpRunsAndStopsTheWholePlatform(t *testing.T) {
	root := servicetest.RepoRoot(t)
	bin := t.TempDir()
	build := exec.Command("go", append([]string{"build", "-o", bin + "/"}, prefixed("./", config.Services)...)...)
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}

	dbURL := pgtest.MustEmptyDatabaseURL(t) // up must migrate it itself
	env := map[string]string{
		"CONFIG_FILE":      filepath.Join(root, config.DefaultFile),
		"DATABASE_URL":     dbURL,
		"REDIS_URL":        "redis://127.0.0.1:6379/0",
		"SECRET_KEY":       strings.Repeat("s", 32),
		"MAIL_DIR":         t.TempDir(),
		"MEDIA_DIR":        t.TempDir(),
		"REDIS_KEY_PREFIX": fmt.Sprintf("uptest%d", time.Now().UnixNano()),
	}
	ports := map[string]string{}
	for _, name := range config.Services {
		ports[name] = servicetest.FreePort(t)
		env[strings.ToUpper(name)+"_PORT"] = ports[name]
	}
	sumupPort := servicetest.FreePort(t)
	env["SUMUP_PORT"] = sumupPort
	getenv := func(k string) string { return env[k] }

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out := &servicetest.SyncBuffer{}
	done := make(chan error, 1)
	go func() { done <- up(ctx, []string{"--bin", bin}, getenv, out) }()

	deadline := time.Now().Add(90 * time.Second)
	for !strings.Contains(out.String(), "Press Ctrl-C to stop.") {
		select {
		case err := <-done:
			t.Fatalf("up returned early: %v\n%s", err, out)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("up did not report ready within 90s:\n%s", out)
		}
		time.Sleep(100 * time.Millisecond)
	}
	for _, name := range config.Services {
		want := fmt.Sprintf("http://%s.localhost:%s", name, ports[name])
		if !strings.Contains(out.String(), want) {
			t.Errorf("up did not print %s", want)
		}
		resp, err := http.Get("http://127.0.0.1:" + ports[name] + "/")
		if err != nil {
			t.Fatalf("%s home: %v", name, err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("%s home = %d", name, resp.StatusCode)
		}
	}
	if n := countUsers(t, dbURL); n != len(demo.Users) {
		t.Errorf("%d users after up, want the %d demo users", n, len(demo.Users))
	}
	// The sandbox answers with the development settings the services use.
	if want := "sumup sandbox http://sumup.localhost:" + sumupPort; !strings.Contains(out.String(), want) {
		t.Errorf("up did not print %q", want)
	}
	sandboxClient := sumup.New(sumup.Options{APIURL: "http://sumup.localhost:" + sumupPort, APIKey: config.SumUpSandboxKey, MerchantCode: config.SumUpSandboxMerchant})
	if _, err := sandboxClient.CreateCheckout(ctx, sumup.CreateRequest{Reference: "up-test", Amount: models.Money{Minor: 100, Currency: "GBP"}}); err != nil {
		t.Errorf("the SumUp sandbox does not take a checkout during up: %v", err)
	}
	// The printed admin link signs the admin in on the blog.
	link := regexp.MustCompile(`http://federation\.localhost:\d+/auth/magic\?token=\S+`).FindString(out.String())
	if link == "" {
		t.Fatalf("up printed no sign-in link for the admin:\n%s", out)
	}
	if name := followSignInLink(t, link); name != "Rose Ash Admin" {
		t.Errorf("the printed link signs in as %q, want the demo admin", name)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("up returned %v after Ctrl-C, want nil\n%s", err, out)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("up did not stop within 30s of Ctrl-C")
	}
	for _, name := range config.Services {
		if c, err := net.DialTimeout("tcp", "127.0.0.1:"+ports[name], time.Second); err == nil {
			c.Close()
			t.Errorf("%s still listening after up stopped", name)
		}
	}
	if c, err := net.DialTimeout("tcp", "127.0.0.1:"+sumupPort, time.Second); err == nil {
		c.Close()
		t.Error("the SumUp sandbox still listening after up stopped")
	}

	// A second run of the preparation step duplicates nothing.
	if err := prepareDatabase(context.Background(), dbURL, t.TempDir(), &servicetest.SyncBuffer{}); err != nil {
		t.Fatal(err)
	}
	if n := countUsers(t, dbURL); n != len(demo.Users) {
		t.Errorf("%d users after preparing twice, want %d", n, len(demo.Users))
	}
}

func TestUpRejectsBadPort(t *testing.T) {
	err := up(context.Background(), nil, func(k string) string {
		if k == "CART_PORT" {
			return "eighty"
		}
		return ""
	}, &servicetest.SyncBuffer{})
	if err == nil || !strings.Contains(err.Error(), "CART_PORT") {
		t.Fatalf("err = %v, want one naming CART_PORT", err)
	}
}

func TestUnknownCommand(t *testing.T) {
	var stderr strings.Builder
	if err := run(context.Background(), []string{"frobnicate"}, func(string) string { return "" }, &strings.Builder{}, &stderr); err == nil ||
		!strings.Contains(stderr.String(), "usage") {
		t.Fatalf("err=%v stderr=%q", err, stderr.String())
	}
}

func countUsers(t *testing.T, dbURL string) int {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var n int
	if err := conn.QueryRow(context.Background(), `SELECT count(*) FROM users`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func prefixed(p string, names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = p + n
	}
	return out
}

// followSignInLink opens link in a cookie-keeping client that resolves
// *.localhost, and returns who the page it ends on says is signed in.
func followSignInLink(t *testing.T, link string) string {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	d := &net.Dialer{}
	c := &http.Client{Jar: jar, Transport: &http.Transport{DialContext: func(ctx context.Context, n, addr string) (net.Conn, error) {
		_, port, _ := net.SplitHostPort(addr)
		return d.DialContext(ctx, n, "127.0.0.1:"+port)
	}}}
	// The link shows a confirmation form; its POST signs in.
	u, err := url.Parse(link)
	if err != nil {
		t.Fatal(err)
	}
	if resp, err := c.Get(link); err != nil {
		t.Fatal(err)
	} else {
		resp.Body.Close()
	}
	resp, err := c.PostForm(u.Scheme+"://"+u.Host+"/auth/magic", url.Values{"token": {u.Query().Get("token")}})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	_, rest, _ := strings.Cut(string(b), `<span class="account-name">`)
	name, _, _ := strings.Cut(rest, "</span>")
	return name
}
