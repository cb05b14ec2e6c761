package internal

import (
	"context"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"rose-ash.com/platform/shared/editor"
	"rose-ash.com/platform/shared/mail"
	"rose-ash.com/platform/shared/mail/mailtest"
	"rose-ash.com/platform/shared/models"
	"rose-ash.com/platform/shared/postgres/pgtest"
	"rose-ash.com/platform/shared/services/campaigns"
	"rose-ash.com/platform/shared/services/newsletters"
	"rose-ash.com/platform/shared/web"
)

type campaignSite struct {
	url   string
	db    *pgxpool.Pool
	sink  *mailtest.Server
	admin models.User
	user  models.User
	list  uuid.UUID
}

func newCampaignSite(t *testing.T) *campaignSite {
	t.Helper()
	db := pgtest.MustPool(t)
	ctx := context.Background()
	s := &campaignSite{db: db, sink: mailtest.Start(t)}
	s.admin = models.User{Email: "admin@example.org", IsAdmin: true}
	s.user = models.User{Email: "member@example.org"}
	for _, u := range []*models.User{&s.admin, &s.user} {
		if err := db.QueryRow(ctx, `INSERT INTO users (email, is_admin) VALUES ($1, $2) RETURNING id`, u.Email, u.IsAdmin).Scan(&u.ID); err != nil {
			t.Fatal(err)
		}
	}
	var err error
	if s.list, err = newsletters.SeedList(ctx, db, "news", "Rose Ash news"); err != nil {
		t.Fatal(err)
	}
	ids, err := newsletters.SeedSubscribers(ctx, db, []string{"a@example.org", "b@example.org"})
	if err != nil {
		t.Fatal(err)
	}
	if err := newsletters.SeedSubscriptions(ctx, db, s.list, ids, "confirmed"); err != nil {
		t.Fatal(err)
	}
	sender, err := mail.NewSMTP(s.sink.Config("news@rose-ash.test"))
	if err != nil {
		t.Fatal(err)
	}
	jobs, err := river.NewClient(riverpgxv5.New(db), &river.Config{})
	if err != nil {
		t.Fatal(err)
	}
	site := testSite(t)
	// The account's static files as boot gives them (boot.Options.Editor):
	// the shared rich-text editor among them.
	if site.Assets, err = web.NewAssets("/static/", editor.Assets(), fstest.MapFS{"site.css": {Data: []byte("body{}")}}); err != nil {
		t.Fatal(err)
	}
	// No blog runs: its addresses lead to a server already closed.
	gone := httptest.NewServer(http.NotFoundHandler())
	gone.Close()
	blog := site.Config.Services["blog"]
	blog.InternalURL, blog.PublicURL = gone.URL, gone.URL
	site.Config.Services["blog"] = blog
	c := &Campaigns{Store: campaigns.New(db), Jobs: jobs, Mail: sender,
		Renderer: campaigns.Renderer{Links: newsletters.Links{Key: []byte("k"), Base: "https://account.example.org"}}}
	byID := map[uuid.UUID]models.User{s.admin.ID: s.admin, s.user.ID: s.user}
	r := site.Router()
	site.MountPlatform(r, nil)
	r.Group(func(r chi.Router) {
		r.Use(func(next http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if id, err := uuid.Parse(r.Header.Get(testUserHeader)); err == nil {
					r = r.WithContext(web.WithViewer(r.Context(), byID[id]))
				}
				next.ServeHTTP(w, r)
			})
		})
		mountCampaigns(r, site, c)
	})
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	s.url = srv.URL
	return s
}

// post submits form to path as user, not following redirects.
func (s *campaignSite) post(t *testing.T, path string, user uuid.UUID, form url.Values) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest("POST", s.url+path, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set(testUserHeader, user.String())
	res, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res, string(b)
}

func (s *campaignSite) form(subject, html string, version string) url.Values {
	return url.Values{"subject": {subject}, "html": {html}, "list": {s.list.String()}, "archive": {"1"}, "version": {version}}
}

func TestCampaignAdminIsForAdminsOnly(t *testing.T) {
	s := newCampaignSite(t)
	if res, _ := getAs(t, s.url+"/admin/newsletters/campaigns", s.user.ID); res.StatusCode != http.StatusForbidden {
		t.Errorf("a member gets %d, want 403", res.StatusCode)
	}
	if res, _ := s.post(t, "/admin/newsletters/campaigns", s.user.ID, s.form("Hi", "<p>x</p>", "0")); res.StatusCode != http.StatusForbidden {
		t.Errorf("a member's post gets %d, want 403", res.StatusCode)
	}
	if res, _ := getAs(t, s.url+"/admin/newsletters/campaigns", uuid.Nil); res.StatusCode != http.StatusSeeOther {
		t.Errorf("a visitor gets %d, want a redirect to sign in", res.StatusCode)
	}
	if res, body := getAs(t, s.url+"/admin/newsletters/campaigns", s.admin.ID); res.StatusCode != http.StatusOK || !strings.Contains(body, "New campaign") {
		t.Errorf("the admin gets %d", res.StatusCode)
	}
}

func TestCampaignFormRefusesInvalidInputAndStaleSaves(t *testing.T) {
	s := newCampaignSite(t)
	res, body := s.post(t, "/admin/newsletters/campaigns", s.admin.ID, s.form("  ", "<p>Keep this text</p>", "0"))
	if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "Give the campaign a subject.") || !strings.Contains(body, "Keep this text") {
		t.Fatalf("no subject: %d\n%s", res.StatusCode, body)
	}
	f := s.form("Spring", "<p>Hello</p>", "0")
	f.Del("list")
	if res, body := s.post(t, "/admin/newsletters/campaigns", s.admin.ID, f); res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "Choose at least one list") {
		t.Fatalf("no list: %d", res.StatusCode)
	}
	var n int
	s.db.QueryRow(context.Background(), `SELECT count(*) FROM newsletter_campaigns`).Scan(&n)
	if n != 0 {
		t.Fatalf("%d campaigns saved from refused forms", n)
	}

	res, _ = s.post(t, "/admin/newsletters/campaigns", s.admin.ID, s.form("Spring", `<p>Hello <script>alert(1)</script><b>all</b></p>`, "0"))
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("create: %d", res.StatusCode)
	}
	path := strings.TrimSuffix(res.Header.Get("Location"), "?saved=1")
	_, page := getAs(t, s.url+path, s.admin.ID)
	if !strings.Contains(page, `value="Spring"`) || strings.Contains(page, "alert(1)") || !strings.Contains(page, "data-editor") {
		t.Errorf("the saved campaign's editor:\n%s", page)
	}
	// Two admins opened version 1; the second save is refused.
	if res, _ := s.post(t, path, s.admin.ID, s.form("Spring news", "<p>First</p>", "1")); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("first save: %d", res.StatusCode)
	}
	res, body = s.post(t, path, s.admin.ID, s.form("Spring!", "<p>Second</p>", "1"))
	if res.StatusCode != http.StatusConflict || !strings.Contains(body, "Someone else saved this campaign") || !strings.Contains(body, "Second") {
		t.Errorf("stale save: %d\n%s", res.StatusCode, body)
	}
	var subject string
	s.db.QueryRow(context.Background(), `SELECT subject FROM newsletter_campaigns`).Scan(&subject)
	if subject != "Spring news" {
		t.Errorf("subject %q after a refused stale save", subject)
	}
}

func TestCampaignTestPreviewSendAndArchive(t *testing.T) {
	s := newCampaignSite(t)
	res, _ := s.post(t, "/admin/newsletters/campaigns", s.admin.ID, s.form("Harvest", `<p>Apples are <a href="https://rose-ash.test/market">in</a>.</p>`, "0"))
	path := strings.TrimSuffix(res.Header.Get("Location"), "?saved=1")

	if res, body := getAs(t, s.url+path+"/preview", s.admin.ID); res.StatusCode != http.StatusOK ||
		!strings.Contains(body, "Apples are") || !strings.Contains(body, "/newsletters/unsubscribe?t=") ||
		!strings.Contains(res.Header.Get("Content-Security-Policy"), "sandbox") {
		t.Errorf("preview: %d %q\n%s", res.StatusCode, res.Header.Get("Content-Security-Policy"), body)
	}
	if res, _ := s.post(t, path+"/test", s.admin.ID, nil); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("test: %d", res.StatusCode)
	}
	m := s.sink.WaitFor(t, s.admin.Email, 5*time.Second)
	if m.Subject != "[Test] Harvest" || !strings.Contains(m.Text, "Apples are in (https://rose-ash.test/market).") {
		t.Errorf("test message %q:\n%s", m.Subject, m.Text)
	}

	if res, body := s.post(t, path+"/schedule", s.admin.ID, url.Values{"version": {"1"}, "at": {"2001-01-01T10:00"}}); res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "in the future") {
		t.Errorf("schedule in the past: %d", res.StatusCode)
	}
	if res, body := s.post(t, path+"/send", s.admin.ID, url.Values{"version": {"7"}}); res.StatusCode != http.StatusConflict {
		t.Errorf("send from a stale page: %d\n%s", res.StatusCode, body)
	}
	if res, _ := s.post(t, path+"/send", s.admin.ID, url.Values{"version": {"1"}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("send: %d", res.StatusCode)
	}
	_, page := getAs(t, s.url+path, s.admin.ID)
	if !strings.Contains(page, "<progress") || !strings.Contains(page, "0 sent of 2") || !strings.Contains(page, `http-equiv="refresh"`) {
		t.Errorf("the sending campaign's page:\n%s", page)
	}
	if res, _ := s.post(t, path+"/pause", s.admin.ID, nil); res.StatusCode != http.StatusSeeOther {
		t.Errorf("pause: %d", res.StatusCode)
	}
	if _, page := getAs(t, s.url+path, s.admin.ID); !strings.Contains(page, "Paused: paused by an admin") || !strings.Contains(page, "Resume") {
		t.Errorf("paused page:\n%s", page)
	}

	// Not in the archive until it has been sent.
	_, archive := getAs(t, s.url+"/newsletters/archive", uuid.Nil)
	if strings.Contains(archive, "Harvest") {
		t.Error("an unsent campaign is on the archive")
	}
	var slug string
	if err := s.db.QueryRow(context.Background(), `UPDATE newsletter_campaigns SET status = 'sent', finished_at = now() RETURNING slug`).Scan(&slug); err != nil {
		t.Fatal(err)
	}
	_, archive = getAs(t, s.url+"/newsletters/archive", uuid.Nil)
	if !strings.Contains(archive, "/newsletters/archive/"+slug) {
		t.Errorf("archive:\n%s", archive)
	}
	if res, body := getAs(t, s.url+"/newsletters/archive/"+slug, uuid.Nil); res.StatusCode != http.StatusOK || !strings.Contains(body, "Apples are") {
		t.Errorf("web version: %d", res.StatusCode)
	}
	if res, _ := getAs(t, s.url+"/newsletters/archive/no-such-thing", uuid.Nil); res.StatusCode != http.StatusNotFound {
		t.Errorf("unknown archive slug: %d", res.StatusCode)
	}
}

// The campaign form loads the rich-text editor from the account's own
// origin under content-hashed names, as the blog does, and the account
// serves it (the bundle built from shared/editor, cached for a year) while
// no blog runs at all.
func TestCampaignFormLoadsTheEditorFromThisOriginWithoutTheBlog(t *testing.T) {
	s := newCampaignSite(t)
	_, page := getAs(t, s.url+"/admin/newsletters/campaigns/new", s.admin.ID)
	if !strings.Contains(page, `data-editor`) || !strings.Contains(page, `<textarea`) {
		t.Errorf("the form has no textarea for the editor to replace:\n%s", page)
	}
	for _, f := range []struct{ name, tag, ctype, start string }{
		{"editor.js", `<script src="`, "text/javascript", "/* rose-ash editor bundle; source sha256: "},
		{"editor.css", `<link rel="stylesheet" href="`, "text/css", "/* The rich-text editor"},
	} {
		m := regexp.MustCompile(regexp.QuoteMeta(f.tag) + `(/static/editor\.[0-9a-f]{10}\.` + strings.TrimPrefix(path.Ext(f.name), ".") + `)"`).FindStringSubmatch(page)
		if m == nil {
			t.Errorf("the form does not load %s from /static/ under a hashed name:\n%s", f.name, page)
			continue
		}
		res, body := getAs(t, s.url+m[1], s.admin.ID)
		if res.StatusCode != http.StatusOK || !strings.HasPrefix(body, f.start) || !strings.HasPrefix(res.Header.Get("Content-Type"), f.ctype) {
			t.Errorf("%s: %d %q %.80q", m[1], res.StatusCode, res.Header.Get("Content-Type"), body)
		}
		if cc := res.Header.Get("Cache-Control"); !strings.Contains(cc, "immutable") {
			t.Errorf("%s: Cache-Control %q, want a long immutable lifetime", m[1], cc)
		}
		want, err := fs.ReadFile(editor.Assets(), f.name)
		if err != nil || body != string(want) {
			t.Errorf("%s is not shared/editor's %s (%v)", m[1], f.name, err)
		}
	}
	if res, _ := getAs(t, s.url+"/admin/newsletters/campaigns/editor/editor.js", s.admin.ID); res.StatusCode == http.StatusOK {
		t.Errorf("the old editor address still answers")
	}
}
