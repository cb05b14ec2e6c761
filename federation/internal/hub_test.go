package internal

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"rose-ash.com/platform/shared/activitypub"
	"rose-ash.com/platform/shared/activitypub/aptest"
	"rose-ash.com/platform/shared/cache"
	"rose-ash.com/platform/shared/config"
	"rose-ash.com/platform/shared/fragments"
	"rose-ash.com/platform/shared/layout"
	"rose-ash.com/platform/shared/models"
	"rose-ash.com/platform/shared/postgres/pgtest"
	"rose-ash.com/platform/shared/services/identity"
	"rose-ash.com/platform/shared/services/social"
	"rose-ash.com/platform/shared/servicetest"
	"rose-ash.com/platform/shared/sessions"
	"rose-ash.com/platform/shared/web"
)

// hubEnv is the federation service's handler on a test server, with a
// fresh database and its own Redis keys; remote servers on loopback are
// reachable, as in development.
type hubEnv struct {
	t    *testing.T
	URL  string
	db   *pgxpool.Pool
	site *web.Site
	ids  *identity.Store
}

func startHub(t *testing.T) *hubEnv {
	t.Helper()
	db := pgtest.MustPool(t)
	rdb := servicetest.MustRedis(t)
	srv := httptest.NewUnstartedServer(nil)
	base := "http://" + srv.Listener.Addr().String()
	env := map[string]string{
		"CONFIG_FILE":  filepath.Join("..", "..", config.DefaultFile),
		"DATABASE_URL": "postgres://x/y", "REDIS_URL": "redis://x", "SECRET_KEY": strings.Repeat("k", 32),
		"FEDERATION_PUBLIC_URL": base, "FEDERATION_INTERNAL_URL": base,
		"REDIS_KEY_PREFIX":          fmt.Sprintf("hubtest%d", time.Now().UnixNano()),
		"ACTIVITYPUB_ALLOW_PRIVATE": "127.0.0.0/8",
	}
	cfg, err := config.Load(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.DiscardHandler)
	own, _ := fs.Sub(Static, "static")
	shared, _ := fs.Sub(layout.Static, "static")
	assets, err := web.NewAssets("/static/", own, shared)
	if err != nil {
		t.Fatal(err)
	}
	site := &web.Site{Service: "federation", Config: cfg, Logger: logger, Assets: assets, Metrics: web.NewMetrics()}
	keys := cache.Namespace(cfg.RedisPrefix)
	site.Fragments = fragments.NewClient(cfg, rdb, keys, site.Metrics.Registry, logger)
	jobs, err := river.NewClient(riverpgxv5.New(db), &river.Config{})
	if err != nil {
		t.Fatal(err)
	}
	resolver := &activitypub.Resolver{DB: db, Client: activitypub.NewClient(cfg, "test"), PlainHTTP: func(string) bool { return true }}
	st := social.New(db, jobs, social.Options{FederationURL: base, Lookup: resolver.Lookup, Notified: site.NotificationsChanged})
	key, err := activitypub.LoadOrCreateKey(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	ap := &activitypub.Service{Name: "federation", BaseURL: base, FederationURL: base, Users: true,
		DB: db, Key: key, Jobs: jobs, Resolver: resolver, Logger: logger, Hooks: social.NewInbound(base)}
	ids := identity.New(db)
	srv.Config.Handler = NewServer(Deps{Site: site, Identity: ids, Social: st, Resolver: resolver, AP: ap,
		Sessions: sessions.New(rdb, keys, "federation", false, time.Hour, logger, site.Error),
		Redis:    rdb, Keys: keys, MediaClient: mediaClient(cfg, "test", hubMediaTimeout)})
	srv.Start()
	t.Cleanup(srv.Close)
	return &hubEnv{t: t, URL: base, db: db, site: site, ids: ids}
}

// browser is a client with its own cookies.
type browser struct {
	t    *testing.T
	base string
	c    *http.Client
}

// page is a fetched page.
type page struct {
	Status int
	URL    string // after redirects
	Header http.Header
	Body   string
}

func (e *hubEnv) browser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: e.t, base: e.URL, c: &http.Client{Jar: jar, Timeout: 20 * time.Second}}
}

func (b *browser) read(resp *http.Response, err error) page {
	b.t.Helper()
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		b.t.Fatal(err)
	}
	return page{Status: resp.StatusCode, URL: resp.Request.URL.String(), Header: resp.Header, Body: string(body)}
}

func (b *browser) get(path string) page {
	b.t.Helper()
	return b.read(b.c.Get(b.base + path))
}

func (b *browser) post(path string, form url.Values) page {
	b.t.Helper()
	return b.read(b.c.PostForm(b.base+path, form))
}

// signIn signs a new user in by magic link, as the emailed link does, and
// has them choose their username; it returns the user.
func (e *hubEnv) signIn(b *browser, username string) models.User {
	e.t.Helper()
	ctx := context.Background()
	token, err := e.ids.IssueMagicLink(ctx, username+"@example.org", "/hub", time.Minute)
	if err != nil {
		e.t.Fatal(err)
	}
	if p := b.get("/auth/magic?token=" + url.QueryEscape(token)); !strings.Contains(p.Body, `action="/auth/magic"`) {
		e.t.Fatalf("the magic link shows no confirmation form: %d\n%s", p.Status, p.Body)
	}
	p := b.post("/auth/magic", url.Values{"token": {token}})
	if !strings.Contains(p.URL, "/auth/welcome") {
		e.t.Fatalf("magic link led to %s, want the welcome page", p.URL)
	}
	p = b.post("/auth/welcome", url.Values{"username": {username}, "display_name": {strings.ToUpper(username[:1]) + username[1:]}, "next": {"/hub"}})
	if p.Status != http.StatusOK || !strings.HasSuffix(p.URL, "/hub") {
		e.t.Fatalf("after choosing a username: %d at %s", p.Status, p.URL)
	}
	var id uuid.UUID
	if err := e.db.QueryRow(ctx, `SELECT id FROM users WHERE username = $1`, username).Scan(&id); err != nil {
		e.t.Fatal(err)
	}
	return models.User{ID: id, Username: username, Email: username + "@example.org"}
}

// actorID is a local user's actor.
func (e *hubEnv) actorID(username string) string { return activitypub.UserActorID(e.URL, username) }

// count runs a query that counts.
func (e *hubEnv) count(sql string, args ...any) int {
	e.t.Helper()
	var n int
	if err := e.db.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		e.t.Fatal(err)
	}
	return n
}

func (e *hubEnv) exec(sql string, args ...any) {
	e.t.Helper()
	if _, err := e.db.Exec(context.Background(), sql, args...); err != nil {
		e.t.Fatal(err)
	}
}

// remoteActor stores an actor as the resolver would, fresh.
func (e *hubEnv) remoteActor(uri, host, username, name, summary string) {
	e.t.Helper()
	e.exec(`INSERT INTO ap_actors (uri, host, username, name, summary, inbox, url) VALUES ($1, $2, $3, $4, $5, $1 || '/inbox', $6)`,
		uri, host, username, name, summary, "https://"+host+"/@"+username)
}

// remotePost stores a post of actor as the inbox would (content as given).
func (e *hubEnv) remotePost(actor, content string) string {
	e.t.Helper()
	uri := actor + "/statuses/" + uuid.NewString()
	e.exec(`INSERT INTO ap_objects (uri, type, actor, content, url, visibility) VALUES ($1, 'Note', $2, $3, $1, 'public')`, uri, actor, content)
	return uri
}

// activityTypes lists what actor emitted, oldest first.
func (e *hubEnv) activityTypes(actor string) []string {
	e.t.Helper()
	rows, err := e.db.Query(context.Background(), `SELECT type FROM ap_activities WHERE actor = $1 ORDER BY created_at, uri`, actor)
	if err != nil {
		e.t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			e.t.Fatal(err)
		}
		out = append(out, s)
	}
	return out
}

// formAction returns the action of the first form posting to a path that
// ends with suffix, "" if none.
func formAction(body, suffix string) string {
	for _, m := range regexp.MustCompile(`action="([^"]+)"`).FindAllStringSubmatch(body, -1) {
		if strings.HasSuffix(m[1], suffix) {
			return m[1]
		}
	}
	return ""
}

// A visitor who is not signed in is sent to sign in, and cannot post.
func TestHubNeedsSignIn(t *testing.T) {
	e := startHub(t)
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, path := range []string{"/hub", "/hub/notifications", "/hub/search?q=x", "/hub/actor?uri=https://x.example/u",
		"/hub/requests", "/hub/settings"} {
		resp, err := c.Get(e.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || loc != "/auth/signin?next="+url.QueryEscape(path) {
			t.Errorf("GET %s = %d to %q, want 303 to sign in", path, resp.StatusCode, loc)
		}
	}
	// A locked user's waiting follower, whom anonymous posts must not
	// answer.
	b := e.browser()
	e.signIn(b, "carol")
	bob := "https://social.example/users/bob"
	e.remoteActor(bob, "social.example", "bob", "Bob", "")
	e.exec(`UPDATE users SET fediverse_locked = true WHERE username = 'carol'`)
	e.exec(`INSERT INTO ap_followers (local_actor, actor_uri, follow_uri, state) VALUES ($1, $2, $2 || '/follows/1', 'pending')`,
		e.actorID("carol"), bob)
	for _, post := range []struct {
		path string
		form url.Values
	}{
		{"/hub/posts", url.Values{"text": {"anonymous"}}},
		{"/hub/requests/approve", url.Values{"uri": {bob}}},
		{"/hub/requests/reject", url.Values{"uri": {bob}}},
		{"/hub/settings", url.Values{}},
	} {
		resp, err := c.PostForm(e.URL+post.path, post.form)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/auth/signin") {
			t.Errorf("anonymous POST %s = %d to %q", post.path, resp.StatusCode, resp.Header.Get("Location"))
		}
	}
	var n int
	if err := e.db.QueryRow(context.Background(), `SELECT count(*) FROM ap_objects`).Scan(&n); err != nil || n != 0 {
		t.Errorf("%d posts stored (%v)", n, err)
	}
	var state string
	var locked bool
	if err := e.db.QueryRow(context.Background(), `SELECT f.state, u.fediverse_locked FROM ap_followers f, users u
		WHERE f.actor_uri = $1 AND u.username = 'carol'`, bob).Scan(&state, &locked); err != nil || state != "pending" || !locked {
		t.Errorf("after anonymous posts: request %q, locked %v (%v)", state, locked, err)
	}
	if n := e.count(`SELECT count(*) FROM ap_activities`); n != 0 {
		t.Errorf("%d activities sent for anonymous posts", n)
	}
}

// A handle served by a remote server is found, its profile shown, and
// following it sends Follow and shows the request pending; unfollowing
// withdraws it. Unknown, unreachable and malformed searches say why.
func TestHubSearchAndFollow(t *testing.T) {
	e := startHub(t)
	remote := aptest.NewServer(t)
	alice := remote.AddActor("alice")
	b := e.browser()
	e.signIn(b, "carol")
	me := e.actorID("carol")

	p := b.get("/hub/search?q=" + url.QueryEscape("@alice@"+remote.Host()))
	if p.Status != http.StatusOK || !strings.Contains(p.URL, "/hub/actor?uri="+url.QueryEscape(alice.ID)) {
		t.Fatalf("search ended %d at %s:\n%s", p.Status, p.URL, p.Body)
	}
	if !strings.Contains(p.Body, "@alice@"+remote.Host()) || formAction(p.Body, "/hub/follow") == "" {
		t.Fatalf("profile lacks the handle or the follow button:\n%s", p.Body)
	}
	// What alice said before: the follow fetches it from her outbox.
	remote.AddNote(alice, "<p>Said before you came</p>", time.Now().Add(-time.Hour))
	p = b.post("/hub/follow", url.Values{"uri": {alice.ID}})
	if p.Status != http.StatusOK || !strings.Contains(p.Body, "Follow requested") || formAction(p.Body, "/hub/unfollow") == "" {
		t.Fatalf("after following: %d\n%s", p.Status, p.Body)
	}
	if !strings.Contains(p.Body, "Said before you came") {
		t.Errorf("the followed actor's recent posts are not on their page after following:\n%s", p.Body)
	}
	var state string
	if err := e.db.QueryRow(context.Background(), `SELECT state FROM ap_following WHERE local_actor = $1 AND actor_uri = $2`, me, alice.ID).
		Scan(&state); err != nil || state != social.Pending {
		t.Fatalf("ap_following state %q (%v), want pending", state, err)
	}
	if got := e.activityTypes(me); strings.Join(got, ",") != "Follow" {
		t.Fatalf("activities %q, want a Follow", got)
	}
	// The same search by the actor's link finds the same actor.
	p = b.get("/hub/search?q=" + url.QueryEscape(alice.ID))
	if !strings.Contains(p.URL, url.QueryEscape(alice.ID)) || !strings.Contains(p.Body, "Follow requested") {
		t.Fatalf("search by link ended at %s", p.URL)
	}
	p = b.post("/hub/unfollow", url.Values{"uri": {alice.ID}})
	if p.Status != http.StatusOK || formAction(p.Body, "/hub/follow") == "" {
		t.Fatalf("after unfollowing: %d\n%s", p.Status, p.Body)
	}
	if got := e.activityTypes(me); strings.Join(got, ",") != "Follow,Undo" {
		t.Fatalf("activities %q, want Follow then Undo", got)
	}

	for _, c := range []struct {
		q      string
		status int
		says   string
	}{
		{"@nobody@" + remote.Host(), http.StatusNotFound, "No account was found at @nobody@" + remote.Host()},
		{"@someone@127.0.0.1:1", http.StatusBadGateway, "could not be reached"},
		{"hello there", http.StatusUnprocessableEntity, "Enter an address like"},
	} {
		p := b.get("/hub/search?q=" + url.QueryEscape(c.q))
		if p.Status != c.status || !strings.Contains(p.Body, c.says) {
			t.Errorf("search %q = %d, want %d saying %q:\n%s", c.q, p.Status, c.status, c.says, p.Body)
		}
		if !strings.Contains(p.Body, `value="`+c.q+`"`) {
			t.Errorf("search %q: the box does not keep the query", c.q)
		}
	}
}

// A post with a content warning shows on the user's own timeline behind
// it; a mistake keeps what was typed.
func TestHubComposeShowsOnOwnTimeline(t *testing.T) {
	e := startHub(t)
	b := e.browser()
	e.signIn(b, "carol")
	me := e.actorID("carol")

	p := b.post("/hub/posts", url.Values{"text": {""}, "summary": {"kept warning"}, "visibility": {"unlisted"}})
	if p.Status != http.StatusUnprocessableEntity || !strings.Contains(p.Body, `class="form-error"`) ||
		!strings.Contains(p.Body, `value="kept warning"`) || !regexp.MustCompile(`<option value="unlisted" selected`).MatchString(p.Body) {
		t.Fatalf("an empty post: %d\n%s", p.Status, p.Body)
	}
	p = b.post("/hub/posts", url.Values{"text": {"Plot <b>twist</b>: it was\n\nthe butler"}, "summary": {"Spoilers"}, "visibility": {"unlisted"}})
	if p.Status != http.StatusOK || !strings.HasSuffix(p.URL, "/hub") {
		t.Fatalf("posting: %d at %s", p.Status, p.URL)
	}
	timeline := between(p.Body, `class="hub-timeline"`, `</section>`)
	for _, want := range []string{
		"<details", "<summary>Spoilers</summary>", "Plot &lt;b&gt;twist&lt;/b&gt;: it was</p><p>the butler", "unlisted", "@carol@",
	} {
		if !strings.Contains(timeline, want) {
			t.Errorf("timeline lacks %q:\n%s", want, timeline)
		}
	}
	if got := e.activityTypes(me); strings.Join(got, ",") != "Create" {
		t.Errorf("activities %q, want a Create", got)
	}
	// The user's own profile, linked from the hub's menu, has the post.
	p = b.get(actorPath(me))
	if p.Status != http.StatusOK || !strings.Contains(p.Body, "This is you") || !strings.Contains(p.Body, "the butler") ||
		!strings.Contains(p.Body, `aria-current="page">Your profile`) {
		t.Errorf("own profile: %d\n%s", p.Status, p.Body)
	}
}

// The timeline comes in pages linked by "Older", newest first, without
// gaps or repeats; buttons on an older page come back to it.
func TestHubTimelinePages(t *testing.T) {
	e := startHub(t)
	b := e.browser()
	e.signIn(b, "carol")
	me := e.actorID("carol")
	bob := "https://social.example/users/bob"
	e.remoteActor(bob, "social.example", "bob", "Bob", "")
	e.exec(`INSERT INTO ap_following (local_actor, actor_uri, follow_uri, state) VALUES ($1, $2, $3, 'accepted')`, me, bob, me+"/follows/1")
	for i := range hubPageSize + 5 {
		e.exec(`INSERT INTO ap_objects (uri, type, actor, content, visibility, published) VALUES ($1, 'Note', $2, $3, 'public', now() - $4 * interval '1 minute')`,
			fmt.Sprintf("%s/statuses/%d", bob, i), bob, fmt.Sprintf("<p>post number %d.</p>", i), i)
	}
	first := b.get("/hub")
	older := between(first.Body, `<a rel="next" href="`, `"`)
	if older == "" || strings.Count(first.Body, `class="card hub-post"`) != hubPageSize ||
		!strings.Contains(first.Body, "post number 0.") || strings.Contains(first.Body, fmt.Sprintf("post number %d.", hubPageSize)) {
		t.Fatalf("first page: no Older link, or not the newest %d posts:\n%s", hubPageSize, first.Body)
	}
	second := b.get(strings.ReplaceAll(older, "&amp;", "&"))
	if strings.Count(second.Body, `class="card hub-post"`) != 5 || !strings.Contains(second.Body, fmt.Sprintf("post number %d.", hubPageSize+4)) ||
		strings.Contains(second.Body, "post number 0.") || strings.Contains(second.Body, `rel="next"`) {
		t.Fatalf("second page:\n%s", second.Body)
	}
	if !strings.Contains(second.Body, `name="next" value="/hub?before=`) {
		t.Error("buttons on an older page do not come back to it")
	}
}

// Like, boost, reply and delete buttons do what they say and come back to
// the timeline.
func TestHubPostActions(t *testing.T) {
	e := startHub(t)
	b := e.browser()
	e.signIn(b, "carol")
	me := e.actorID("carol")
	bob := "https://social.example/users/bob"
	e.remoteActor(bob, "social.example", "bob", "Bob", "")
	e.exec(`INSERT INTO ap_following (local_actor, actor_uri, follow_uri, state) VALUES ($1, $2, $3, 'accepted')`, me, bob, me+"/follows/1")
	theirs := e.remotePost(bob, "<p>A remote post</p>")

	p := b.get("/hub")
	like := formAction(p.Body, postKey(theirs)+"/like")
	if like == "" {
		t.Fatalf("no like button on the remote post:\n%s", p.Body)
	}
	p = b.post(like, url.Values{"next": {"/hub"}})
	if p.Status != http.StatusOK || formAction(p.Body, postKey(theirs)+"/unlike") == "" {
		t.Fatalf("after liking: %d, no unlike button\n%s", p.Status, p.Body)
	}
	p = b.post(formAction(p.Body, postKey(theirs)+"/boost"), url.Values{"next": {"/hub"}})
	if p.Status != http.StatusOK || formAction(p.Body, postKey(theirs)+"/unboost") == "" || !strings.Contains(p.Body, "Carol</a> boosted") {
		t.Fatalf("after boosting: %d\n%s", p.Status, p.Body)
	}
	p = b.post(formAction(p.Body, postKey(theirs)+"/unlike"), url.Values{"next": {"/hub"}})
	if formAction(p.Body, postKey(theirs)+"/like") == "" {
		t.Fatal("after unliking there is no like button")
	}

	p = b.get("/hub/posts/" + postKey(theirs) + "/reply")
	if p.Status != http.StatusOK || !strings.Contains(p.Body, ">@bob@social.example </textarea>") || !strings.Contains(p.Body, "A remote post") {
		t.Fatalf("reply page: %d\n%s", p.Status, p.Body)
	}
	p = b.post("/hub/posts/"+postKey(theirs)+"/reply", url.Values{"text": {"@bob@social.example my answer"}, "visibility": {"public"}})
	if p.Status != http.StatusOK || !strings.Contains(p.Body, "my answer") || !strings.Contains(p.Body, "in reply") {
		t.Fatalf("after replying: %d\n%s", p.Status, p.Body)
	}
	var reply string
	if err := e.db.QueryRow(context.Background(), `SELECT uri FROM ap_objects WHERE in_reply_to = $1`, theirs).Scan(&reply); err != nil {
		t.Fatal(err)
	}
	if formAction(p.Body, postKey(theirs)+"/delete") != "" {
		t.Error("a delete button on someone else's post")
	}
	del := formAction(p.Body, postKey(reply)+"/delete")
	if del == "" {
		t.Fatal("no delete button on one's own reply")
	}
	p = b.post(del, url.Values{"next": {"/hub/posts/" + postKey(reply) + "/reply"}})
	if p.Status != http.StatusOK || !strings.HasSuffix(p.URL, "/hub") || strings.Contains(p.Body, "my answer") {
		t.Fatalf("after deleting: %d, reply still shown\n%s", p.Status, p.Body)
	}
	if got := e.activityTypes(me); strings.Join(got, ",") != "Like,Announce,Undo,Create,Delete" {
		t.Errorf("activities %q", got)
	}
	// A forged next never leaves the hub.
	resp, err := (&http.Client{Jar: b.c.Jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).
		PostForm(e.URL+formAction(b.get("/hub").Body, postKey(theirs)+"/like"), url.Values{"next": {"//evil.example/"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if loc := resp.Header.Get("Location"); !strings.HasPrefix(loc, "/hub#") {
		t.Errorf("redirect after a forged next: %q", loc)
	}
}

// Notifications show with an unread count (on the hub and in the header
// fragment), and viewing them marks them read.
func TestHubNotificationsShowAndClear(t *testing.T) {
	e := startHub(t)
	b := e.browser()
	user := e.signIn(b, "carol")
	bob := "https://social.example/users/bob"
	e.remoteActor(bob, "social.example", "bob", "Bob", "")
	post := e.remotePost(e.actorID("carol"), "<p>My post</p>")
	e.exec(`INSERT INTO ap_notifications (user_id, kind, actor, object_uri, activity_uri) VALUES ($1, 'like', $2, $3, $2 || '/likes/1'),
		($1, 'follow', $2, '', $2 || '/follows/1')`, user.ID, bob, post)
	// As the inbox does after storing notifications (signing in showed a
	// page whose header cached the badge).
	e.site.NotificationsChanged(context.Background(), user.ID)

	badge := func() string {
		t.Helper()
		got := e.site.Fragments.Fetch(context.Background(), &user, []fragments.Request{{Service: "federation", Type: "notifications", PerUser: true}})
		if got[0] == nil {
			t.Fatal("the notifications fragment did not render")
		}
		var sb strings.Builder
		if err := got[0].Render(context.Background(), &sb); err != nil {
			t.Fatal(err)
		}
		return sb.String()
	}
	if f := badge(); !strings.Contains(f, `/hub/notifications"`) || !strings.Contains(f, ">2</span>") {
		t.Fatalf("fragment before reading: %s", f)
	}
	p := b.get("/hub")
	if !strings.Contains(between(p.Body, `class="hub-nav"`, `</nav>`), ">2</span>") {
		t.Fatalf("the hub menu shows no unread count:\n%s", p.Body)
	}
	p = b.get("/hub/notifications")
	for _, want := range []string{"liked your post", "followed you", "My post", "@bob@social.example", `class="hub-badge">new`} {
		if !strings.Contains(p.Body, want) {
			t.Errorf("notifications page lacks %q:\n%s", want, p.Body)
		}
	}
	p = b.get("/hub/notifications")
	if strings.Contains(p.Body, `class="hub-badge">new`) || strings.Contains(between(p.Body, `class="hub-nav"`, `</nav>`), "unread") {
		t.Errorf("notifications still unread after being viewed:\n%s", p.Body)
	}
	if f := badge(); strings.Contains(f, "hub-badge") {
		t.Errorf("fragment after reading (should have been invalidated): %s", f)
	}
	var anon strings.Builder
	got := e.site.Fragments.Fetch(context.Background(), nil, []fragments.Request{{Service: "federation", Type: "notifications", PerUser: true}})
	if got[0] != nil {
		_ = got[0].Render(context.Background(), &anon)
	}
	if strings.Contains(anon.String(), "Notifications") {
		t.Errorf("signed-out fragment: %q", anon.String())
	}
}

// Names, bios and posts from other servers never reach the page as markup.
func TestHubEscapesRemoteStrings(t *testing.T) {
	e := startHub(t)
	b := e.browser()
	e.signIn(b, "carol")
	me := e.actorID("carol")
	eve := "https://evil.example/users/eve"
	e.remoteActor(eve, "evil.example", "eve", `<script>alert(1)</script>Eve`,
		`<p>bio</p><script>alert(2)</script><img src=x onerror=alert(3)><a href="javascript:alert(4)">x</a>`)
	e.exec(`INSERT INTO ap_following (local_actor, actor_uri, follow_uri, state) VALUES ($1, $2, $3, 'accepted')`, me, eve, me+"/follows/1")
	e.exec(`UPDATE ap_actors SET icon_url = 'javascript:alert(5)' WHERE uri = $1`, eve)
	post := e.remotePost(eve, `<p>hello</p><script>alert(6)</script><p onclick="alert(7)">x</p>`)
	e.exec(`UPDATE ap_objects SET summary = '<script>alert(8)</script>cw', url = 'javascript:alert(9)' WHERE uri = $1`, post)

	for _, path := range []string{"/hub", actorPath(eve), "/hub/posts/" + postKey(post) + "/reply"} {
		p := b.get(path)
		if p.Status != http.StatusOK {
			t.Fatalf("GET %s = %d\n%s", path, p.Status, p.Body)
		}
		for _, bad := range []string{"<script", "onerror", "onclick", "javascript:"} {
			if strings.Contains(p.Body, bad) {
				t.Errorf("GET %s renders %q:\n%s", path, bad, p.Body)
			}
		}
		if !strings.Contains(p.Body, "&lt;script&gt;alert(1)&lt;/script&gt;Eve") {
			t.Errorf("GET %s does not show the name as text", path)
		}
		// Images and scripts load from the platform only (avatars through
		// the media proxy; the platform's services show each other's
		// images).
		if csp := p.Header.Get("Content-Security-Policy"); !platformImagesOnly(csp) || strings.Contains(csp, "evil.example") ||
			!strings.Contains(csp, "script-src 'self';") {
			t.Errorf("GET %s CSP %q", path, csp)
		}
	}
	if csp := b.get("/").Header.Get("Content-Security-Policy"); strings.Contains(csp, "https:") {
		t.Errorf("the CSP outside the hub was widened: %q", csp)
	}
}

// between returns the text of s between the first start and the next end,
// "" when either is missing.
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

// answerOf returns how many activities of type typ actor sent that answer
// the Follow followURI (embedded, as Misskey needs).
func (e *hubEnv) answerOf(actor, typ, followURI string) int {
	e.t.Helper()
	return e.count(`SELECT count(*) FROM ap_activities WHERE actor = $1 AND type = $2
		AND payload->'object'->>'type' = 'Follow' AND payload->'object'->>'id' = $3`, actor, typ, followURI)
}

// A locked user sees who waits, newest first, and approves or rejects
// each: the answer goes to the follower's server and the page says what
// happened. A request answered already (or someone else's) is said to be
// no longer waiting, and nothing is sent.
func TestHubFollowRequests(t *testing.T) {
	e := startHub(t)
	b := e.browser()
	user := e.signIn(b, "carol")
	me := e.actorID("carol")
	alice, bob := "https://social.example/users/alice", "https://other.example/users/bob"
	eve := "https://social.example/users/eve"
	e.remoteActor(alice, "social.example", "alice", "Alice Liddell", "")
	e.remoteActor(bob, "other.example", "bob", "Bob", "")
	e.remoteActor(eve, "social.example", "eve", "Eve", "")
	e.exec(`UPDATE ap_actors SET icon_url = 'https://social.example/alice.png' WHERE uri = $1`, alice)
	e.exec(`UPDATE users SET fediverse_locked = true WHERE id = $1`, user.ID)
	e.exec(`INSERT INTO ap_followers (local_actor, actor_uri, follow_uri, state, created_at) VALUES
		($1, $2, $2 || '/follows/1', 'pending', now() - interval '2 minutes'),
		($1, $3, $3 || '/follows/1', 'pending', now() - interval '1 minute'),
		($4, $5, $5 || '/follows/1', 'pending', now())`, me, alice, bob, e.actorID("dave"), eve)
	e.exec(`INSERT INTO ap_notifications (user_id, kind, actor, object_uri, activity_uri) VALUES
		($1, 'follow_request', $2, '', $2 || '/follows/1')`, user.ID, alice)

	// The notification says what it is, and leads to the requests.
	p := b.get("/hub/notifications")
	note := between(p.Body, `class="hub-notifications"`, `</ol>`)
	if !strings.Contains(note, "Alice Liddell</a>") || !strings.Contains(note, "asked to follow you") ||
		!strings.Contains(note, `href="/hub/requests"`) {
		t.Errorf("the follow request notification:\n%s", note)
	}
	menu := between(p.Body, `class="hub-nav"`, `</nav>`)
	if !strings.Contains(menu, `href="/hub/requests"`) || !strings.Contains(menu, `aria-label="2 waiting">2</span>`) {
		t.Errorf("the hub menu does not show 2 requests waiting:\n%s", menu)
	}

	p = b.get("/hub/requests")
	list := between(p.Body, `class="hub-requests"`, `</ol>`)
	if p.Status != http.StatusOK || strings.Count(list, `class="card hub-request"`) != 2 {
		t.Fatalf("requests page: %d\n%s", p.Status, p.Body)
	}
	if i, j := strings.Index(list, "@bob@other.example"), strings.Index(list, "@alice@social.example"); i < 0 || j < 0 || i > j {
		t.Errorf("requests are not bob then alice (newest first):\n%s", list)
	}
	for _, want := range []string{
		`href="` + strings.ReplaceAll(actorPath(alice), "&", "&amp;") + `"`, ">Alice Liddell</a>", `<img class="hub-avatar" src="/hub/media/`,
		`action="/hub/requests/approve"`, `action="/hub/requests/reject"`, `name="uri" value="` + alice + `"`,
	} {
		if !strings.Contains(list, want) {
			t.Errorf("requests page lacks %q:\n%s", want, list)
		}
	}
	if strings.Contains(list, eve) {
		t.Error("another user's request is listed")
	}
	if !regexp.MustCompile(`aria-current="page">\s*Requests`).MatchString(between(p.Body, `class="hub-nav"`, `</nav>`)) {
		t.Error("the menu does not mark Requests as the current page")
	}

	p = b.post("/hub/requests/approve", url.Values{"uri": {alice}})
	if p.Status != http.StatusOK || !strings.HasSuffix(p.URL, "/hub/requests?answered=approved") ||
		!strings.Contains(p.Body, `role="status">Approved: they now follow you`) {
		t.Fatalf("after approving: %d at %s\n%s", p.Status, p.URL, p.Body)
	}
	if strings.Contains(between(p.Body, `class="hub-requests"`, `</ol>`), alice) {
		t.Error("an approved request is still listed")
	}
	if n := e.count(`SELECT count(*) FROM ap_followers WHERE local_actor = $1 AND actor_uri = $2 AND state = 'accepted'`, me, alice); n != 1 {
		t.Error("alice is not an accepted follower")
	}
	if e.answerOf(me, "Accept", alice+"/follows/1") != 1 {
		t.Errorf("no Accept of alice's Follow queued: %q", e.activityTypes(me))
	}

	p = b.post("/hub/requests/reject", url.Values{"uri": {bob}})
	if p.Status != http.StatusOK || !strings.Contains(p.Body, `role="status">Declined`) {
		t.Fatalf("after rejecting: %d\n%s", p.Status, p.Body)
	}
	if n := e.count(`SELECT count(*) FROM ap_followers WHERE actor_uri = $1`, bob); n != 0 {
		t.Error("a rejected follower is kept")
	}
	if e.answerOf(me, "Reject", bob+"/follows/1") != 1 {
		t.Errorf("no Reject of bob's Follow queued: %q", e.activityTypes(me))
	}
	if !strings.Contains(p.Body, "Nobody is waiting") || strings.Contains(p.Body, `class="hub-badge"`) {
		t.Errorf("with every request answered the page still lists some, or the badge shows:\n%s", p.Body)
	}

	// Again, in another tab; and someone else's request.
	for _, c := range []struct{ answer, uri string }{{"approve", alice}, {"reject", bob}, {"approve", eve}, {"reject", ""}} {
		p = b.post("/hub/requests/"+c.answer, url.Values{"uri": {c.uri}})
		if p.Status != http.StatusOK || !strings.Contains(p.Body, "That request is no longer waiting") {
			t.Errorf("%s %q again: %d\n%s", c.answer, c.uri, p.Status, p.Body)
		}
	}
	if got := e.activityTypes(me); strings.Join(got, ",") != "Accept,Reject" && strings.Join(got, ",") != "Reject,Accept" {
		t.Errorf("activities %q, want one Accept and one Reject", got)
	}
	if n := e.count(`SELECT count(*) FROM ap_followers WHERE actor_uri = $1 AND state = 'pending'`, eve); n != 1 {
		t.Error("another user's request was answered")
	}
	// Locked, with nobody waiting, the menu still leads to the requests.
	if menu := between(b.get("/hub").Body, `class="hub-nav"`, `</nav>`); !strings.Contains(menu, `href="/hub/requests"`) {
		t.Errorf("a locked account's menu has no Requests:\n%s", menu)
	}
}

// The settings page locks and unlocks the account: the checkbox shows the
// setting, saving it tells followers' servers (the actor's Update) and
// says so, and unlocking approves whoever waits.
func TestHubSettingsLockAndUnlock(t *testing.T) {
	e := startHub(t)
	b := e.browser()
	user := e.signIn(b, "carol")
	me := e.actorID("carol")
	locked := func() bool {
		t.Helper()
		var v bool
		if err := e.db.QueryRow(context.Background(), `SELECT fediverse_locked FROM users WHERE id = $1`, user.ID).Scan(&v); err != nil {
			t.Fatal(err)
		}
		return v
	}
	checkbox := regexp.MustCompile(`<input id="settings-locked" name="locked" type="checkbox" value="1"( checked)?`)
	// updates lists manuallyApprovesFollowers of each Update of the actor sent, oldest first.
	updates := func() string {
		t.Helper()
		rows, err := e.db.Query(context.Background(), `SELECT payload->'object'->>'manuallyApprovesFollowers' FROM ap_activities
			WHERE actor = $1 AND type = 'Update' AND payload->'object'->>'id' = $1 AND to_followers ORDER BY created_at`, me)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var out []string
		for rows.Next() {
			var s string
			if err := rows.Scan(&s); err != nil {
				t.Fatal(err)
			}
			out = append(out, s)
		}
		return strings.Join(out, ",")
	}

	p := b.get("/hub/settings")
	m := checkbox.FindStringSubmatch(p.Body)
	if p.Status != http.StatusOK || m == nil || m[1] != "" || formAction(p.Body, "/hub/settings") == "" {
		t.Fatalf("settings page (want the box unchecked): %d\n%s", p.Status, p.Body)
	}
	for _, want := range []string{"Approve new followers by hand", "followers-only posts reach only the followers you approved",
		"Turning it off approves everyone who is still waiting", `aria-current="page">Settings</a>`} {
		if !strings.Contains(p.Body, want) {
			t.Errorf("settings page lacks %q", want)
		}
	}
	if strings.Contains(between(p.Body, `class="hub-nav"`, `</nav>`), "/hub/requests") {
		t.Error("an open account with nobody waiting has Requests in its menu")
	}

	p = b.post("/hub/settings", url.Values{"locked": {"1"}})
	if p.Status != http.StatusOK || !strings.HasSuffix(p.URL, "/hub/settings?saved=1") || !strings.Contains(p.Body, `role="status">Saved.</p>`) {
		t.Fatalf("after locking: %d at %s\n%s", p.Status, p.URL, p.Body)
	}
	if m := checkbox.FindStringSubmatch(p.Body); m == nil || m[1] != " checked" {
		t.Errorf("after locking the box is not checked:\n%s", p.Body)
	}
	if !locked() || updates() != "true" {
		t.Fatalf("after locking: locked %v, updates %q", locked(), updates())
	}
	if !strings.Contains(between(p.Body, `class="hub-nav"`, `</nav>`), `href="/hub/requests"`) {
		t.Error("a locked account's menu has no Requests")
	}

	// Someone asks meanwhile; unlocking lets them in.
	alice := "https://social.example/users/alice"
	e.remoteActor(alice, "social.example", "alice", "Alice", "")
	e.exec(`INSERT INTO ap_followers (local_actor, actor_uri, follow_uri, state) VALUES ($1, $2, $2 || '/follows/1', 'pending')`, me, alice)
	if p := b.get("/hub/settings"); !strings.Contains(p.Body, "approves the one request still waiting") {
		t.Errorf("the settings page does not say one request waits:\n%s", p.Body)
	}
	p = b.post("/hub/settings", url.Values{})
	if p.Status != http.StatusOK || !strings.Contains(p.Body, "Everyone who was waiting has been approved") {
		t.Fatalf("after unlocking: %d\n%s", p.Status, p.Body)
	}
	if m := checkbox.FindStringSubmatch(p.Body); m == nil || m[1] != "" {
		t.Errorf("after unlocking the box is checked")
	}
	if locked() || updates() != "true,false" {
		t.Fatalf("after unlocking: locked %v, updates %q", locked(), updates())
	}
	if n := e.count(`SELECT count(*) FROM ap_followers WHERE actor_uri = $1 AND state = 'accepted'`, alice); n != 1 || e.answerOf(me, "Accept", alice+"/follows/1") != 1 {
		t.Error("unlocking did not approve alice")
	}
	// Saving what is already so sends nothing more.
	p = b.post("/hub/settings", url.Values{})
	if !strings.Contains(p.Body, `role="status">Saved.</p>`) || updates() != "true,false" {
		t.Errorf("saving an unchanged setting: updates %q", updates())
	}
}

// platformImagesOnly says whether a content security policy lets images
// come only from the page's own origin, data: URLs and the platform's
// services (the test config's public URLs: *.localhost and this test's
// own loopback address), never from a wildcard or another host.
func platformImagesOnly(csp string) bool {
	for _, d := range strings.Split(csp, ";") {
		f := strings.Fields(d)
		if len(f) == 0 || f[0] != "img-src" {
			continue
		}
		for _, src := range f[1:] {
			switch {
			case src == "'self'" || src == "data:":
			case strings.HasPrefix(src, "http://") && (strings.Contains(src, ".localhost:") || strings.HasPrefix(src, "http://127.0.0.1:")):
			default:
				return false
			}
		}
		return true
	}
	return false
}
