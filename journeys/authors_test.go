package journeys

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"rose-ash.com/platform/shared/demo"
)

func userID(t *testing.T, st *Stack, username string) string {
	t.Helper()
	pool, err := pgxpool.New(context.Background(), st.DBURL)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	var id string
	if err := pool.QueryRow(context.Background(), `SELECT id::text FROM users WHERE username = $1`, username).Scan(&id); err != nil {
		t.Fatalf("user %s: %v", username, err)
	}
	return id
}

// The admin names and describes authors at /admin/authors, and readers see
// the biography on the author's page; mistakes come back with a message and
// what was typed; posts are credited to the author chosen in the editor.
func TestAdminEditsAuthors(t *testing.T) {
	st := StartStack(t, "blog")
	seedDemo(t, st)
	admin := NewBrowser(t)
	st.SignIn(t, admin, "blog", demo.AdminEmail, "admin")
	anon := NewBrowser(t)
	anon.Get(t, st.URL["blog"]+"/author/admin") // cached for visitors

	adminID := userID(t, st, "admin")
	list := admin.Get(t, st.URL["blog"]+"/admin/authors")
	if list.Status != 200 || !strings.Contains(list.Body, `action="/admin/authors/`+adminID+`"`) ||
		!strings.Contains(list.Body, "Rose Ash Admin") || !strings.Contains(list.Body, "published)") {
		t.Fatalf("authors page: %d\n%s", list.Status, list.Body)
	}
	if strings.Contains(list.Body, "maya") {
		t.Error("a member without posts is listed as an author")
	}

	saved := admin.Post(t, st.URL["blog"]+"/admin/authors/"+adminID, url.Values{
		"display_name": {"The Rose Ash team"}, "bio": {"We run the market.\r\n\r\nAnd write this blog."}})
	if saved.Status != 200 || !strings.Contains(saved.Body, "Saved.") {
		t.Fatalf("saving: %d\n%s", saved.Status, saved.Body)
	}
	page := anon.Get(t, st.URL["blog"]+"/author/admin")
	if !strings.Contains(page.Body, "<h1>The Rose Ash team</h1>") || !strings.Contains(page.Body, "<p>We run the market.</p>") ||
		!strings.Contains(page.Body, "<p>And write this blog.</p>") {
		t.Fatalf("the author page (cached before) lacks the new name or biography:\n%s", page.Body)
	}

	for name, c := range map[string]struct {
		form url.Values
		want string
	}{
		"empty name": {url.Values{"display_name": {"  "}, "bio": {"Typed bio kept"}}, "Enter the name"},
		"long bio":   {url.Values{"display_name": {"Team"}, "bio": {strings.Repeat("a", 501)}}, "at most 500 characters"},
		"bell":       {url.Values{"display_name": {"Team"}, "bio": {"ding\a"}}, "control characters"},
	} {
		p := admin.Post(t, st.URL["blog"]+"/admin/authors/"+adminID, c.form)
		if p.Status != http.StatusUnprocessableEntity || !strings.Contains(p.Body, "form-error") || !strings.Contains(p.Body, c.want) {
			t.Errorf("%s: %d, want 422 saying %q", name, p.Status, c.want)
		}
		if name == "empty name" && !strings.Contains(p.Body, "Typed bio kept") {
			t.Errorf("%s: the typed biography was lost", name)
		}
	}
	for _, path := range []string{"/admin/authors/not-a-uuid", "/admin/authors/00000000-0000-0000-0000-000000000001"} {
		if p := admin.Post(t, st.URL["blog"]+path, url.Values{"display_name": {"X"}}); p.Status != http.StatusNotFound {
			t.Errorf("POST %s: %d, want 404", path, p.Status)
		}
	}
	if p := anon.Get(t, st.URL["blog"]+"/author/admin"); !strings.Contains(p.Body, "The Rose Ash team") {
		t.Fatal("a refused save changed the author")
	}

	// The editor: new posts default to the signed-in admin; another
	// author can be chosen, but only an author.
	editor := admin.Get(t, st.URL["blog"]+"/admin/posts/new")
	if !strings.Contains(editor.Body, `<option value="`+adminID+`" selected>`) {
		t.Fatalf("the new post's author is not the signed-in admin:\n%s", between(editor.Body, `<select id="author"`, `</select>`))
	}
	mayaID := userID(t, st, "maya")
	form := url.Values{"title": {"Maya's harvest notes"}, "type": {"post"}, "status": {"published"}, "version": {"0"},
		"html": {"<p>Notes.</p>"}, "author": {mayaID}}
	if p := admin.Post(t, st.URL["blog"]+"/admin/posts", form); p.Status != http.StatusUnprocessableEntity ||
		!strings.Contains(p.Body, "Choose the author from the list") {
		t.Fatalf("crediting a member who is not an author: %d", p.Status)
	}
	pool, err := pgxpool.New(context.Background(), st.DBURL)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	if _, err := pool.Exec(context.Background(), `INSERT INTO posts (slug, title, author_id) VALUES ('maya-draft', 'Draft', $1)`, mayaID); err != nil {
		t.Fatal(err)
	}
	if p := admin.Post(t, st.URL["blog"]+"/admin/posts", form); p.Status != 200 || !strings.Contains(p.Body, `<option value="`+mayaID+`" selected>`) {
		t.Fatalf("crediting an author: %d", p.Status)
	}
	if p := anon.Get(t, st.URL["blog"]+"/maya-s-harvest-notes"); !strings.Contains(p.Body, `href="/author/maya">Maya Okafor</a>`) {
		t.Fatalf("the post is not credited to Maya:\n%s", between(p.Body, `<p class="byline`, `</p>`))
	}
}

func TestAuthorsAdminIsForAdminsOnly(t *testing.T) {
	st := StartStack(t, "blog")
	seedDemo(t, st)
	member := NewBrowser(t)
	st.SignIn(t, member, "blog", "reader@example.org", "reader")
	if p := member.Get(t, st.URL["blog"]+"/admin/authors"); p.Status != http.StatusForbidden {
		t.Fatalf("member GET /admin/authors = %d", p.Status)
	}
	adminID := userID(t, st, "admin")
	if p := member.Post(t, st.URL["blog"]+"/admin/authors/"+adminID, url.Values{"display_name": {"Pwned"}}); p.Status != http.StatusForbidden {
		t.Fatalf("member POST /admin/authors/{id} = %d", p.Status)
	}
	if p := NewBrowser(t).Get(t, st.URL["blog"]+"/author/admin"); strings.Contains(p.Body, "Pwned") {
		t.Fatal("a member renamed an author")
	}
}
