package ghostsync_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"rose-ash.com/platform/shared/ghostsync"
	"rose-ash.com/platform/shared/ghostsync/ghosttest"
	"rose-ash.com/platform/shared/postgres/pgtest"
)

var base = time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)

func tp(t time.Time) *time.Time { return &t }

func post(slug string, at time.Time) ghostsync.Post {
	return ghostsync.Post{
		Title: "Post " + slug, Slug: slug, HTML: "<p>Hello " + slug + "</p>", Excerpt: "Hello",
		PublishedAt: tp(at), UpdatedAt: at,
		Tags:          []ghostsync.Tag{{ID: "tag-news", Name: "News", Slug: "news"}},
		PrimaryAuthor: &ghostsync.Author{Name: "Ann", Slug: "ann"},
	}
}

func mustSync(t *testing.T, c *ghostsync.Client, db *pgxpool.Pool) ghostsync.Summary {
	t.Helper()
	sum, err := ghostsync.Sync(context.Background(), c, db, nil)
	if err != nil {
		t.Fatal(err)
	}
	return sum
}

func count(t *testing.T, db *pgxpool.Pool, q string, args ...any) int {
	t.Helper()
	var n int
	if err := db.QueryRow(context.Background(), q, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestFullImportPagesThrough(t *testing.T) {
	db := pgtest.MustPool(t)
	g := ghosttest.Start(t)
	for i := range 150 {
		g.AddPost(post(fmt.Sprintf("post-%03d", i), base.Add(time.Duration(i)*time.Minute)))
	}
	g.AddPage(post("about", base))
	var last, lastTotal, calls int
	sum, err := ghostsync.Sync(context.Background(), g.Client(t), db, func(done, total int) {
		calls++
		if done < last {
			t.Errorf("progress went back: %d after %d", done, last)
		}
		last, lastTotal = done, total
	})
	if err != nil {
		t.Fatal(err)
	}
	if sum != (ghostsync.Summary{Created: 151, Authors: 1}) {
		t.Fatalf("summary %+v", sum)
	}
	if last != 151 || lastTotal != 151 || calls != 151 {
		t.Fatalf("progress ended at %d/%d after %d calls", last, lastTotal, calls)
	}
	if n := count(t, db, `SELECT count(*) FROM posts WHERE ghost_id IS NOT NULL AND status = 'published' AND type = 'post'`); n != 150 {
		t.Fatalf("%d posts stored", n)
	}
	if n := count(t, db, `SELECT count(*) FROM posts WHERE slug = 'about' AND type = 'page'`); n != 1 {
		t.Fatal("page not stored")
	}
	var postPages int
	for _, u := range g.Requests() {
		if u.Path == "/ghost/api/content/posts/" && u.Query().Get("fields") == "" {
			postPages++
			q := u.Query()
			if q.Get("limit") != "100" || q.Get("include") != "tags,authors" || q.Get("formats") != "html" || q.Get("filter") != "" {
				t.Errorf("request %s", u)
			}
		}
	}
	if postPages != 2 {
		t.Fatalf("%d pages of posts fetched, want 2", postPages)
	}
	var cursor time.Time
	if err := db.QueryRow(context.Background(), `SELECT cursor FROM ghost_sync_state`).Scan(&cursor); err != nil {
		t.Fatal(err)
	}
	if !cursor.Equal(base.Add(149 * time.Minute)) {
		t.Fatalf("cursor %v", cursor)
	}
	if n := count(t, db, `SELECT count(*) FROM post_tags pt JOIN tags t ON t.id = pt.tag_id WHERE t.slug = 'news' AND t.ghost_id = 'tag-news'`); n != 151 {
		t.Fatalf("%d posts tagged news", n)
	}
}

func TestIncrementalSyncFetchesNewerAndUpdates(t *testing.T) {
	db := pgtest.MustPool(t)
	g := ghosttest.Start(t)
	c := g.Client(t)
	a := g.AddPost(post("a", base))
	b := g.AddPost(post("b", base.Add(time.Minute)))
	mustSync(t, c, db)

	g.ResetRequests()
	g.Update(a, base.Add(time.Hour), func(p *ghostsync.Post) { p.Title = "A changed" })
	sum := mustSync(t, c, db)
	// b (updated_at cursor) is inside the overlap window: seen again, skipped.
	if sum != (ghostsync.Summary{Updated: 1, Skipped: 1}) {
		t.Fatalf("summary %+v", sum)
	}
	want := "updated_at:>'" + base.Add(time.Minute-ghostsync.Overlap).Format("2006-01-02 15:04:05") + "'"
	for _, u := range g.Requests() {
		listsPosts := u.Path == "/ghost/api/content/posts/" || u.Path == "/ghost/api/content/pages/"
		if listsPosts && u.Query().Get("fields") == "" && u.Query().Get("filter") != want {
			t.Errorf("filter %q, want %q", u.Query().Get("filter"), want)
		}
	}
	var title string
	var version int
	if err := db.QueryRow(context.Background(), `SELECT title, version FROM posts WHERE ghost_id = $1`, a).Scan(&title, &version); err != nil {
		t.Fatal(err)
	}
	if title != "A changed" || version != 2 {
		t.Fatalf("title %q version %d", title, version)
	}
	_ = b
	// Nothing changed: nothing is fetched except the overlap.
	sum = mustSync(t, c, db)
	if sum.Created+sum.Updated+sum.Deleted != 0 {
		t.Fatalf("summary %+v", sum)
	}
}

// Ghost stores updated_at to the second: two edits within one second, with
// a sync between, carry the same date. The second must still arrive.
func TestEditWithinOneSecondIsNotLost(t *testing.T) {
	db := pgtest.MustPool(t)
	g := ghosttest.Start(t)
	c := g.Client(t)
	id := g.AddPost(post("a", base))
	mustSync(t, c, db)
	g.Update(id, base.Add(400*time.Millisecond), func(p *ghostsync.Post) { p.Title = "Second edit" })
	sum := mustSync(t, c, db)
	if sum != (ghostsync.Summary{Updated: 1}) {
		t.Fatalf("summary %+v", sum)
	}
	if n := count(t, db, `SELECT count(*) FROM posts WHERE title = 'Second edit'`); n != 1 {
		t.Fatal("the second edit within one second was lost")
	}
	// Seen again unchanged (the overlap): left alone, not rewritten.
	sum = mustSync(t, c, db)
	if sum != (ghostsync.Summary{Skipped: 1}) {
		t.Fatalf("summary %+v", sum)
	}
	if n := count(t, db, `SELECT version FROM posts WHERE ghost_id = $1`, id); n != 2 {
		t.Fatalf("version %d: an unchanged post was written again", n)
	}
}

func TestReconcileDeletes(t *testing.T) {
	db := pgtest.MustPool(t)
	g := ghosttest.Start(t)
	c := g.Client(t)
	var ids []string
	for i := range 120 {
		ids = append(ids, g.AddPost(post(fmt.Sprintf("p%d", i), base)))
	}
	page := g.AddPage(post("about", base))
	mustSync(t, c, db)
	g.Delete(ids[5])
	g.Delete(page)
	g.Update(ids[110], base.Add(time.Hour), func(p *ghostsync.Post) { p.Status = "draft" }) // unpublished
	sum := mustSync(t, c, db)
	if sum.Deleted != 3 {
		t.Fatalf("summary %+v", sum)
	}
	if n := count(t, db, `SELECT count(*) FROM posts`); n != 118 {
		t.Fatalf("%d posts left", n)
	}
	var sawIDs bool
	for _, u := range g.Requests() {
		if u.Query().Get("fields") == "id,visibility" && u.Query().Get("page") == "2" {
			sawIDs = true
		}
	}
	if !sawIDs {
		t.Fatal("reconcile did not page through the ids")
	}
}

func TestLocalPostsAreNeverDeletedAndSlugCollisionSkips(t *testing.T) {
	db := pgtest.MustPool(t)
	if _, err := db.Exec(context.Background(), `INSERT INTO posts (slug, title) VALUES ('mine', 'Mine')`); err != nil {
		t.Fatal(err)
	}
	g := ghosttest.Start(t)
	g.AddPost(post("mine", base))
	g.AddPost(post("theirs", base))
	sum := mustSync(t, g.Client(t), db)
	if sum != (ghostsync.Summary{Created: 1, Conflicts: 1, Authors: 1}) {
		t.Fatalf("summary %+v", sum)
	}
	// A full run again (no cursor): the conflict is not reported again, nor
	// counted as skipped; the admin page still lists it.
	if _, err := db.Exec(context.Background(), `DELETE FROM ghost_sync_state`); err != nil {
		t.Fatal(err)
	}
	sum = mustSync(t, g.Client(t), db)
	if sum != (ghostsync.Summary{Skipped: 1}) {
		t.Fatalf("second run: summary %+v", sum)
	}
	conflicts, err := ghostsync.Conflicts(context.Background(), db)
	if err != nil || len(conflicts) != 1 || conflicts[0].Slug != "mine" {
		t.Fatalf("conflicts %+v, %v", conflicts, err)
	}
	if n := count(t, db, `SELECT count(*) FROM posts WHERE slug = 'mine' AND ghost_id IS NULL AND title = 'Mine'`); n != 1 {
		t.Fatal("the local post was touched")
	}
}

func TestServerErrorIsRetryableAndKeepsCursor(t *testing.T) {
	db := pgtest.MustPool(t)
	g := ghosttest.Start(t)
	c := g.Client(t)
	for i := range 150 {
		g.AddPost(post(fmt.Sprintf("p%d", i), base.Add(time.Duration(i)*time.Second)))
	}
	mustSync(t, c, db)
	before, _ := ghostsync.Cursor(context.Background(), db)

	for i := range 150 {
		g.AddPost(post(fmt.Sprintf("n%d", i), base.Add(time.Hour+time.Duration(i)*time.Second)))
	}
	// The second page of the new posts fails.
	calls := 0
	first, err := ghostsync.Sync(context.Background(), c, db, func(done, total int) {
		calls++
		if calls == 200 {
			g.FailNext(1, http.StatusBadGateway)
		}
	})
	if err == nil || !ghostsync.IsRetryable(err) {
		t.Fatalf("err %v, want retryable", err)
	}
	after, _ := ghostsync.Cursor(context.Background(), db)
	if !after.Equal(*before) {
		t.Fatalf("cursor moved from %v to %v on a failed run", before, after)
	}
	var lastErr string
	db.QueryRow(context.Background(), `SELECT last_error FROM ghost_sync_state`).Scan(&lastErr)
	if !strings.Contains(lastErr, "502") || strings.Contains(lastErr, ghosttest.ContentKey) {
		t.Fatalf("last_error %q", lastErr)
	}
	// The retry completes the work.
	sum := mustSync(t, c, db)
	if first.Created == 0 || first.Created+sum.Created != 150 {
		t.Fatalf("failed run %+v, retry %+v", first, sum)
	}
	if n := count(t, db, `SELECT count(*) FROM posts`); n != 300 {
		t.Fatalf("%d posts", n)
	}
}

func TestConflictIsNotRetryable(t *testing.T) {
	db := pgtest.MustPool(t)
	g := ghosttest.Start(t)
	g.AddPost(post("a", base))
	g.FailNext(1, http.StatusConflict)
	_, err := ghostsync.Sync(context.Background(), g.Client(t), db, nil)
	if err == nil || ghostsync.IsRetryable(err) || !strings.Contains(err.Error(), "409") {
		t.Fatalf("err %v", err)
	}
	// A wrong key is not retryable either.
	c, _ := ghostsync.NewClient(g.URL, "wrong", ghostsync.HTTPClient(true))
	_, err = ghostsync.Sync(context.Background(), c, db, nil)
	if err == nil || ghostsync.IsRetryable(err) || !strings.Contains(err.Error(), "401") {
		t.Fatalf("err %v", err)
	}
	// An unreachable site is retryable.
	c, _ = ghostsync.NewClient("http://127.0.0.1:1", "k", ghostsync.HTTPClient(true))
	if _, err = ghostsync.Sync(context.Background(), c, db, nil); !ghostsync.IsRetryable(err) {
		t.Fatalf("err %v", err)
	}
}

// The Ghost client goes through the SSRF-safe client: a Ghost site on
// loopback or a private network is refused (for good: not retried) unless
// allowed, and link-local (cloud metadata) addresses are refused even then.
func TestGhostOnAPrivateAddressIsRefused(t *testing.T) {
	db := pgtest.MustPool(t)
	g := ghosttest.Start(t)
	g.AddPost(post("a", base))
	c, err := ghostsync.NewClient(g.URL, ghosttest.ContentKey, nil) // the default: ghostsync.HTTPClient(false)
	if err != nil {
		t.Fatal(err)
	}
	_, err = ghostsync.Sync(context.Background(), c, db, nil)
	if err == nil || ghostsync.IsRetryable(err) || !strings.Contains(err.Error(), "private or local network") {
		t.Fatalf("err %v, want a refusal that is not retried", err)
	}
	if len(g.Requests()) != 0 {
		t.Fatal("the fake Ghost on loopback was reached")
	}
	if n := count(t, db, `SELECT count(*) FROM posts`); n != 0 {
		t.Fatalf("%d posts imported", n)
	}
	c, _ = ghostsync.NewClient("http://169.254.169.254", ghosttest.ContentKey, ghostsync.HTTPClient(true))
	if _, _, err := c.ListRefs(context.Background(), ghostsync.KindPosts, 1); err == nil || !strings.Contains(err.Error(), "private or local network") {
		t.Fatalf("metadata address: %v", err)
	}
	// Allowed, the same site syncs.
	if sum := mustSync(t, g.Client(t), db); sum.Created != 1 {
		t.Fatalf("summary %+v", sum)
	}
}

// An answer larger than ghostsync.MaxAnswer is an error that is not
// retried (it would be as large next time), and nothing is half-imported.
func TestHugeAnswerIsRefused(t *testing.T) {
	db := pgtest.MustPool(t)
	g := ghosttest.Start(t)
	p := post("huge", base)
	p.HTML = "<p>" + strings.Repeat("x", ghostsync.MaxAnswer) + "</p>"
	g.AddPost(p)
	_, err := ghostsync.Sync(context.Background(), g.Client(t), db, nil)
	if err == nil || ghostsync.IsRetryable(err) || !strings.Contains(err.Error(), "larger than") {
		t.Fatalf("err %v, want a non-retryable size error", err)
	}
	if n := count(t, db, `SELECT count(*) FROM posts`); n != 0 {
		t.Fatalf("%d posts imported", n)
	}
}

func TestSanitizingKeepsCardsAndInternalTagsAreIgnored(t *testing.T) {
	db := pgtest.MustPool(t)
	g := ghosttest.Start(t)
	p := post("cards", base)
	p.HTML = `<figure class="kg-card kg-image-card kg-width-wide kg-card-hascaption">` +
		`<img src="/content/images/a.jpg" class="kg-image" alt="A" onerror="alert(1)">` +
		`<figcaption>Caption</figcaption></figure><script>alert(1)</script>` +
		`<p class="evil">x</p><a href="javascript:alert(1)">j</a>`
	p.FeatureImage = "/content/images/f.jpg"
	p.Tags = []ghostsync.Tag{{ID: "t1", Name: "#hidden", Slug: "hash-hidden"}, {ID: "t2", Name: "Market", Slug: "market"},
		{ID: "t3", Name: "Secret", Slug: "secret", Visibility: "internal"}}
	id := g.AddPost(p)
	mustSync(t, g.Client(t), db)
	var html, fi string
	if err := db.QueryRow(context.Background(), `SELECT html, feature_image FROM posts WHERE ghost_id = $1`, id).Scan(&html, &fi); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`<figure class="kg-card kg-image-card kg-width-wide kg-card-hascaption">`,
		`<img src="` + g.URL + `/content/images/a.jpg" class="kg-image" alt="A">`, `<figcaption>Caption</figcaption>`} {
		if !strings.Contains(html, want) {
			t.Errorf("html lacks %s:\n%s", want, html)
		}
	}
	for _, bad := range []string{"script", "onerror", "evil", "javascript"} {
		if strings.Contains(html, bad) {
			t.Errorf("html keeps %s:\n%s", bad, html)
		}
	}
	if fi != g.URL+"/content/images/f.jpg" {
		t.Errorf("feature image %q", fi)
	}
	var tags []string
	if err := db.QueryRow(context.Background(), `SELECT array_agg(slug ORDER BY slug) FROM tags`).Scan(&tags); err != nil {
		t.Fatal(err)
	}
	if strings.Join(tags, ",") != "market,news" && strings.Join(tags, ",") != "market" {
		t.Fatalf("tags %v", tags)
	}
}

func TestVerifySignature(t *testing.T) {
	now := time.Now()
	body := []byte(`{"post":{"current":{"id":"abc"}}}`)
	h := ghostsync.Sign("s3cret", body, now)
	// Computed independently: HMAC-SHA256(secret, body + t).
	ts := fmt.Sprint(now.UnixMilli())
	mac := hmac.New(sha256.New, []byte("s3cret"))
	mac.Write([]byte(string(body) + ts))
	if want := "sha256=" + hex.EncodeToString(mac.Sum(nil)) + ", t=" + ts; h != want {
		t.Fatalf("Sign = %q, want %q", h, want)
	}
	if err := ghostsync.VerifySignature("s3cret", body, h, now); err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]struct {
		secret, header string
		body           []byte
	}{
		"wrong secret": {"other", h, body},
		"changed body": {"s3cret", h, []byte(`{"post":{"current":{"id":"abd"}}}`)},
		"stale":        {"s3cret", ghostsync.Sign("s3cret", body, now.Add(-6*time.Minute)), body},
		"future":       {"s3cret", ghostsync.Sign("s3cret", body, now.Add(2*time.Minute)), body},
		"no t":         {"s3cret", strings.Split(h, ",")[0], body},
		"garbage":      {"s3cret", "nonsense", body},
		"empty":        {"s3cret", "", body},
		"changed t":    {"s3cret", strings.Replace(h, "t="+ts, fmt.Sprintf("t=%d", now.UnixMilli()-1), 1), body},
		"non-hex":      {"s3cret", "sha256=zz, t=" + ts, body},
		"empty secret": {"", h, body},
	} {
		if err := ghostsync.VerifySignature(c.secret, c.body, c.header, now); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if err := ghostsync.VerifySignature("s3cret", body, ghostsync.Sign("s3cret", body, now.Add(-4*time.Minute)), now); err != nil {
		t.Errorf("4 minutes old: %v", err)
	}
}

func TestParseWebhook(t *testing.T) {
	for body, want := range map[string][2]string{
		`{"post":{"current":{"id":"p1","title":"T"},"previous":{"title":"Old"}}}`: {"post", "p1"},
		`{"post":{"current":{},"previous":{"id":"p2","title":"Gone"}}}`:           {"post", "p2"},
		`{"page":{"current":{"id":"g1"},"previous":{}}}`:                          {"page", "g1"},
		`{"page":{"current":{},"previous":{"id":"g2"}}}`:                          {"page", "g2"},
	} {
		kind, id, err := ghostsync.ParseWebhook([]byte(body))
		if err != nil || kind != want[0] || id != want[1] {
			t.Errorf("%s: %q %q %v", body, kind, id, err)
		}
	}
	for _, bad := range []string{`nope`, `{"tag":{"current":{"id":"t"}}}`, `{"post":{"current":{},"previous":{}}}`} {
		if _, _, err := ghostsync.ParseWebhook([]byte(bad)); err == nil {
			t.Errorf("%s: accepted", bad)
		}
	}
}

func TestAdminToken(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	secret := "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	tok, err := ghostsync.AdminToken("65f0c0ffee:"+secret, now)
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("token %q", tok)
	}
	dec := func(s string) map[string]any {
		b, err := base64.RawURLEncoding.DecodeString(s)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	h, c := dec(parts[0]), dec(parts[1])
	if h["alg"] != "HS256" || h["kid"] != "65f0c0ffee" || h["typ"] != "JWT" {
		t.Fatalf("header %v", h)
	}
	iat, exp := c["iat"].(float64), c["exp"].(float64)
	if c["aud"] != "/admin/" || int64(iat) != now.Unix() || exp <= iat || exp-iat > 300 {
		t.Fatalf("claims %v", c)
	}
	key, _ := hex.DecodeString(secret)
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(parts[0] + "." + parts[1]))
	if parts[2] != base64.RawURLEncoding.EncodeToString(mac.Sum(nil)) {
		t.Fatal("not signed with the hex-decoded secret")
	}
	auth, _ := ghostsync.AdminAuthorization("65f0c0ffee:"+secret, now)
	if auth != "Ghost "+tok {
		t.Fatalf("authorization %q", auth)
	}
	for _, bad := range []string{"", "nocolon", "id:", ":abcd", "id:nothex"} {
		if _, err := ghostsync.AdminToken(bad, now); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	_ = errors.New
}
