// Package journeys holds black-box tests of what users do across services:
// the real service binaries run as processes on *.localhost ports, against a
// fresh PostgreSQL database and Redis (behind proxies the tests can cut),
// with mail delivered to an in-process SMTP server.
package journeys

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"rose-ash.com/platform/shared/config"
	"rose-ash.com/platform/shared/faultproxy"
	"rose-ash.com/platform/shared/mail/mailtest"
	"rose-ash.com/platform/shared/postgres/pgtest"
	"rose-ash.com/platform/shared/servicetest"
)

var built struct {
	once sync.Once
	dir  string
	err  error
}

// binaries builds the service binaries once per test process.
func binaries(t *testing.T) string {
	t.Helper()
	built.once.Do(func() {
		built.dir, built.err = os.MkdirTemp("", "roseash-journeys-")
		if built.err != nil {
			return
		}
		args := []string{"build", "-o", built.dir + "/"}
		for _, s := range config.Services {
			args = append(args, "./"+s)
		}
		cmd := exec.Command("go", args...)
		cmd.Dir = servicetest.RepoRoot(t)
		if out, err := cmd.CombinedOutput(); err != nil {
			built.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if built.err != nil {
		t.Fatal(built.err)
	}
	return built.dir
}

// Stack is a running set of services.
type Stack struct {
	URL       map[string]string // service -> public base URL (http://blog.localhost:PORT)
	DB, Redis *faultproxy.Proxy
	DBURL     string // direct, not through the proxy
	Mail      *mailtest.Server
	logs      map[string]*servicetest.SyncBuffer
	procs     map[string]*exec.Cmd
	env       []string
	bin       string
	prefix    string // Redis key namespace
}

// StartStack runs the named services (federation is always included).
func StartStack(t *testing.T, names ...string) *Stack {
	t.Helper()
	return StartStackWith(t, nil, names...)
}

// StartStackWith is StartStack with extra environment for every service.
func StartStackWith(t *testing.T, extra map[string]string, names ...string) *Stack {
	t.Helper()
	return startStack(t, "localhost", extra, names...)
}

// StartSiteStack is StartStack with the services on subdomains of one
// site, <service>.<site>.localhost, as in production (<service>.rose-ash.com).
// A browser then sends a service's SameSite=Lax session cookie with a form
// that another service's page posts to it (the market's Add to cart);
// on <service>.localhost each service is a site of its own, and it does
// not.
func StartSiteStack(t *testing.T, site string, names ...string) *Stack {
	t.Helper()
	return startStack(t, site+".localhost", nil, names...)
}

func startStack(t *testing.T, domain string, extra map[string]string, names ...string) *Stack {
	t.Helper()
	bin := binaries(t)
	st := &Stack{URL: map[string]string{}, logs: map[string]*servicetest.SyncBuffer{}}
	st.DBURL = pgtest.MustDatabaseURL(t)
	redisURL := os.Getenv("TEST_REDIS_URL")
	if redisURL == "" {
		redisURL = servicetest.DefaultRedisURL
	}
	st.DB = faultproxy.MustStart(t, hostOf(t, st.DBURL))
	st.Redis = faultproxy.MustStart(t, hostOf(t, redisURL))
	st.Mail = mailtest.Start(t)
	st.prefix = fmt.Sprintf("journey%d", time.Now().UnixNano())

	if !contains(names, "federation") {
		names = append([]string{"federation"}, names...)
	}
	env := append(os.Environ(),
		"CONFIG_FILE="+filepath.Join(servicetest.RepoRoot(t), config.DefaultFile),
		"DATABASE_URL="+withHost(t, st.DBURL, st.DB.Addr()),
		"REDIS_URL="+withHost(t, redisURL, st.Redis.Addr()),
		"SECRET_KEY=journeys-secret-key-0123456789abcdefghij",
		"MAIL_TRANSPORT=smtp", "SMTP_HOST="+st.Mail.Host(), fmt.Sprintf("SMTP_PORT=%d", st.Mail.Port()), "SMTP_TLS=none",
		"AUTH_GRANT_CHECK_CACHE="+GrantCheckCache.String(),
		"LOG_LEVEL=debug",
		"MEDIA_DIR="+t.TempDir(),
		"REDIS_KEY_PREFIX="+st.prefix,
	)
	for _, name := range config.Services {
		port := servicetest.FreePort(t)
		st.URL[name] = "http://" + name + "." + domain + ":" + port
		p := strings.ToUpper(name) + "_"
		env = append(env, p+"LISTEN_ADDR=127.0.0.1:"+port, p+"PUBLIC_URL="+st.URL[name], p+"INTERNAL_URL=http://127.0.0.1:"+port)
	}
	for k, v := range extra {
		env = append(env, k+"="+v)
	}
	st.env, st.bin, st.procs = env, bin, map[string]*exec.Cmd{}
	for _, name := range names {
		st.Start(t, name)
	}
	return st
}

// Start runs one more service of the stack (or runs a stopped one again)
// and waits until it is ready; it is stopped when the test ends.
func (st *Stack) Start(t *testing.T, name string) {
	t.Helper()
	log, ok := st.logs[name]
	if !ok {
		log = &servicetest.SyncBuffer{}
		st.logs[name] = log
	}
	cmd := exec.Command(filepath.Join(st.bin, name))
	cmd.Env = st.env
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	st.procs[name] = cmd
	t.Cleanup(func() {
		st.Stop(name)
		if t.Failed() {
			t.Logf("--- %s log ---\n%s", name, lastLines(log.String(), 60))
		}
	})
	waitHealthy(t, st.URL[name])
}

// Stop ends one service of the stack gracefully (SIGTERM, then SIGKILL
// after 15s); stopping a stopped service does nothing.
func (st *Stack) Stop(name string) {
	cmd := st.procs[name]
	if cmd == nil {
		return
	}
	delete(st.procs, name)
	_ = cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		_ = cmd.Process.Kill()
		<-done
	}
}

// GrantCheckCache is the bound on single logout in these tests.
const GrantCheckCache = time.Second

func waitHealthy(t *testing.T, base string) {
	t.Helper()
	c := NewBrowser(t)
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := c.http.Get(base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not ready after 30s: %v", base, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Browser is an HTTP client with its own cookie jar that resolves
// *.localhost to loopback, as browsers do.
type Browser struct {
	http *http.Client
	jar  *cookiejar.Jar
}

// NewBrowser returns a browser with empty cookies that follows redirects.
func NewBrowser(t *testing.T) *Browser {
	jar, _ := cookiejar.New(nil)
	d := &net.Dialer{Timeout: 5 * time.Second}
	tr := &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, port, _ := net.SplitHostPort(addr)
		if host == "localhost" || strings.HasSuffix(host, ".localhost") {
			addr = net.JoinHostPort("127.0.0.1", port)
		}
		return d.DialContext(ctx, network, addr)
	}}
	return &Browser{jar: jar, http: &http.Client{Jar: jar, Transport: tr, Timeout: 20 * time.Second}}
}

// Page is a fetched page.
type Page struct {
	Status int
	URL    string // after redirects
	Header http.Header
	Body   string
}

// Get fetches u, following redirects.
func (b *Browser) Get(t *testing.T, u string) Page {
	t.Helper()
	resp, err := b.http.Get(u)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	return read(t, resp)
}

// Post submits a form to u, following redirects.
func (b *Browser) Post(t *testing.T, u string, form url.Values) Page {
	t.Helper()
	resp, err := b.http.PostForm(u, form)
	if err != nil {
		t.Fatalf("POST %s: %v", u, err)
	}
	return read(t, resp)
}

// Do sends a request without following redirects.
func (b *Browser) Do(t *testing.T, req *http.Request) Page {
	t.Helper()
	c := *b.http
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	return read(t, resp)
}

func read(t *testing.T, resp *http.Response) Page {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return Page{Status: resp.StatusCode, URL: resp.Request.URL.String(), Header: resp.Header, Body: string(b)}
}

var magicLinkRE = regexp.MustCompile(`https?://\S+/auth/magic\?token=[A-Za-z0-9_\-%]+`)

// SignIn signs the browser in on service by magic link, as a user would:
// Sign in, enter the email, open the link from the mail, and (for a new
// user) choose a username. It returns the page sign-in ends on.
func (st *Stack) SignIn(t *testing.T, b *Browser, service, email, username string) Page {
	t.Helper()
	form := b.Get(t, st.URL[service]+"/auth/login?next=/")
	if !strings.Contains(form.Body, `action="/auth/signin"`) {
		t.Fatalf("sign in on %s did not reach federation's form; at %s:\n%s", service, form.URL, form.Body)
	}
	next := between(form.Body, `name="next" value="`, `"`)
	sent := b.Post(t, st.URL["federation"]+"/auth/signin", url.Values{"email": {email}, "next": {htmlUnescape(next)}})
	if sent.Status != 200 || !strings.Contains(sent.Body, "Check your email") {
		t.Fatalf("asking for a link: %d\n%s", sent.Status, sent.Body)
	}
	msg := st.Mail.WaitFor(t, email, 10*time.Second)
	link := magicLinkRE.FindString(msg.Text)
	if link == "" {
		t.Fatalf("no sign-in link in the mail:\n%s", msg.Text)
	}
	page := st.ConfirmSignInLink(t, b, link)
	if strings.Contains(page.URL, "/auth/welcome") {
		page = b.Post(t, st.URL["federation"]+"/auth/welcome", url.Values{
			"username": {username}, "display_name": {strings.ToUpper(username[:1]) + username[1:]},
			"next": {htmlUnescape(between(page.Body, `name="next" value="`, `"`))},
		})
	}
	return page
}

// ConfirmSignInLink opens an emailed sign-in link and presses its "Sign in
// as" button, as a person does; it returns the page that follows.
func (st *Stack) ConfirmSignInLink(t *testing.T, b *Browser, link string) Page {
	t.Helper()
	confirm := b.Get(t, link)
	if confirm.Status != http.StatusOK || !strings.Contains(confirm.Body, `action="/auth/magic"`) {
		t.Fatalf("the sign-in link shows no confirmation form: %d at %s\n%s", confirm.Status, confirm.URL, confirm.Body)
	}
	token := htmlUnescape(between(confirm.Body, `name="token" value="`, `"`))
	return b.Post(t, st.URL["federation"]+"/auth/magic", url.Values{"token": {token}})
}

// SignedInAs reports the name in the account bar of page, or "".
func SignedInAs(p Page) string {
	return between(p.Body, `<span class="account-name">`, `</span>`)
}

func between(s, start, end string) string {
	i := strings.Index(s, start)
	if i < 0 {
		return ""
	}
	s = s[i+len(start):]
	j := strings.Index(s, end)
	if j < 0 {
		return ""
	}
	return s[:j]
}

func htmlUnescape(s string) string {
	return strings.NewReplacer("&amp;", "&", "&#34;", `"`, "&#39;", "'", "&lt;", "<", "&gt;", ">", "&quot;", `"`).Replace(s)
}

func hostOf(t *testing.T, raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	if u.Port() == "" {
		if u.Scheme == "redis" {
			return u.Hostname() + ":6379"
		}
		return u.Hostname() + ":5432"
	}
	return u.Host
}

func withHost(t *testing.T, raw, host string) string {
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	u.Host = host
	return u.String()
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func lastLines(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// flushFragments drops every cached fragment of the stack.
func (st *Stack) flushFragments(t *testing.T) {
	t.Helper()
	rdb := servicetest.MustRedis(t)
	ctx := context.Background()
	iter := rdb.Scan(ctx, 0, st.prefix+":fragment:*", 100).Iterator()
	for iter.Next(ctx) {
		rdb.Del(ctx, iter.Val())
	}
	if err := iter.Err(); err != nil {
		t.Fatal(err)
	}
}
