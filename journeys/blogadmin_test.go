package journeys

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"rose-ash.com/platform/shared/demo"
)

// The admin writes a post, publishes it, and readers see it on the home
// page (past the page cache), in the feed and in the sitemap; scripts never
// get through; a stale save is refused without losing anything.
func TestAdminWritesAndPublishesAPost(t *testing.T) {
	st := StartStack(t, "blog")
	seedDemo(t, st)
	admin := NewBrowser(t)
	st.SignIn(t, admin, "blog", demo.AdminEmail, "admin")
	anon := NewBrowser(t)
	anon.Get(t, st.URL["blog"]+"/") // warm the anonymous page cache

	form := url.Values{"title": {"Apple day at the orchard"}, "type": {"post"}, "status": {"draft"},
		"html":    {`<p>Bring a basket.</p><script>alert(1)</script><p onclick="x()">Press your own juice.</p>`},
		"excerpt": {"Pick, press and taste."}, "tags": {"Events, Food"}, "version": {"0"}}
	saved := admin.Post(t, st.URL["blog"]+"/admin/posts", form)
	if saved.Status != 200 || !strings.Contains(saved.URL, "/admin/posts/") || !strings.Contains(saved.Body, "Saved.") {
		t.Fatalf("create: %d at %s\n%s", saved.Status, saved.URL, saved.Body)
	}
	if !strings.Contains(saved.Body, "data-editor") || !strings.Contains(saved.Body, "/static/editor.") {
		t.Error("the edit page does not load the editor")
	}
	if p := anon.Get(t, st.URL["blog"]+"/apple-day-at-the-orchard"); p.Status != http.StatusNotFound {
		t.Fatalf("a draft is public: %d", p.Status)
	}

	editURL := strings.SplitN(saved.URL, "?", 2)[0]
	form.Set("status", "published")
	form.Set("version", "1")
	if p := admin.Post(t, editURL, form); p.Status != 200 || !strings.Contains(p.Body, "Saved.") {
		t.Fatalf("publish: %d\n%s", p.Status, p.Body)
	}
	post := anon.Get(t, st.URL["blog"]+"/apple-day-at-the-orchard")
	if post.Status != 200 || !strings.Contains(post.Body, "Bring a basket.") {
		t.Fatalf("published post: %d", post.Status)
	}
	if strings.Contains(post.Body, "<script>alert") || strings.Contains(post.Body, "onclick") {
		t.Fatal("the post's HTML was not sanitized")
	}
	if home := anon.Get(t, st.URL["blog"]+"/"); !strings.Contains(home.Body, "Apple day at the orchard") {
		t.Fatal("the anonymous home page (cached before) does not show the new post")
	}
	if rss := anon.Get(t, st.URL["blog"]+"/rss.xml"); !strings.Contains(rss.Body, "Apple day at the orchard") {
		t.Fatal("the feed does not carry the new post")
	}
	if sm := anon.Get(t, st.URL["blog"]+"/sitemap.xml"); !strings.Contains(sm.Body, "/apple-day-at-the-orchard<") {
		t.Fatal("the sitemap does not list the new post")
	}

	// Saving from an editor opened before the last save: refused, nothing lost.
	form.Set("version", "1")
	form.Set("title", "Overwritten title")
	conflict := admin.Post(t, editURL, form)
	if conflict.Status != http.StatusConflict || !strings.Contains(conflict.Body, "Overwritten title") {
		t.Fatalf("stale save: %d (the form must come back with the typed title)", conflict.Status)
	}
	if p := anon.Get(t, st.URL["blog"]+"/apple-day-at-the-orchard"); !strings.Contains(p.Body, "Apple day at the orchard") {
		t.Fatal("a stale save overwrote the post")
	}

	// Invalid input comes back with a message, nothing saved.
	bad := admin.Post(t, st.URL["blog"]+"/admin/posts", url.Values{"title": {""}, "type": {"post"}, "status": {"draft"}, "version": {"0"}})
	if bad.Status != http.StatusUnprocessableEntity || !strings.Contains(bad.Body, "form-error") {
		t.Fatalf("empty title: %d", bad.Status)
	}

	// Deleting asks first.
	if p := admin.Get(t, editURL+"/delete"); !strings.Contains(p.Body, "cannot be undone") {
		t.Fatal("no confirmation before deleting")
	}
	admin.Post(t, editURL+"/delete", nil)
	if p := anon.Get(t, st.URL["blog"]+"/apple-day-at-the-orchard"); p.Status != http.StatusNotFound {
		t.Fatalf("deleted post still served: %d", p.Status)
	}
}

func TestPostAdminIsForAdminsOnly(t *testing.T) {
	st := StartStack(t, "blog")
	member := NewBrowser(t)
	st.SignIn(t, member, "blog", "reader@example.org", "reader")
	if p := member.Get(t, st.URL["blog"]+"/admin/posts"); p.Status != http.StatusForbidden {
		t.Fatalf("member /admin/posts = %d", p.Status)
	}
	p := member.Post(t, st.URL["blog"]+"/admin/posts", url.Values{"title": {"Sneaky"}, "type": {"post"}, "status": {"published"}})
	if p.Status != http.StatusForbidden {
		t.Fatalf("member creating a post = %d", p.Status)
	}
}

// The admin uploads an image from the post editor; it is served from its
// content address with a year's cache, and the editor shows where it is.
func TestAdminUploadsAnImage(t *testing.T) {
	st := StartStack(t, "blog")
	seedDemo(t, st)
	admin := NewBrowser(t)
	st.SignIn(t, admin, "blog", demo.AdminEmail, "admin")
	saved := admin.Post(t, st.URL["blog"]+"/admin/posts", url.Values{"title": {"With a picture"}, "type": {"post"},
		"status": {"draft"}, "version": {"0"}})
	editURL := strings.SplitN(saved.URL, "?", 2)[0]
	editPath := strings.TrimPrefix(editURL, st.URL["blog"])

	var img bytes.Buffer
	pic := image.NewRGBA(image.Rect(0, 0, 4, 4))
	pic.Set(1, 1, color.RGBA{200, 30, 70, 255})
	if err := png.Encode(&img, pic); err != nil {
		t.Fatal(err)
	}
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	mw.WriteField("next", editPath)
	fw, _ := mw.CreateFormFile("file", "pic.png")
	fw.Write(img.Bytes())
	mw.Close()
	req, _ := http.NewRequest("POST", st.URL["blog"]+"/admin/media", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	resp, err := admin.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	page := read(t, resp)
	media := between(page.Body, "Uploaded: <code>", "</code>")
	if page.Status != 200 || !strings.HasPrefix(media, "/media/") {
		t.Fatalf("upload: %d at %s, no uploaded address shown", page.Status, page.URL)
	}
	served := NewBrowser(t).Get(t, st.URL["blog"]+media)
	if served.Status != 200 || served.Header.Get("Content-Type") != "image/png" || served.Body != img.String() ||
		!strings.Contains(served.Header.Get("Cache-Control"), "immutable") {
		t.Fatalf("GET %s: %d %s %q", media, served.Status, served.Header.Get("Content-Type"), served.Header.Get("Cache-Control"))
	}
}

// The admin renames and describes a tag, and readers see it; deleting a
// tag removes its page.
func TestAdminManagesTags(t *testing.T) {
	st := StartStack(t, "blog")
	seedDemo(t, st)
	admin := NewBrowser(t)
	st.SignIn(t, admin, "blog", demo.AdminEmail, "admin")
	list := admin.Get(t, st.URL["blog"]+"/admin/tags")
	if !strings.Contains(list.Body, `action="/admin/tags/producers"`) {
		t.Fatalf("tags page lacks the producers tag:\n%s", list.Body)
	}
	admin.Post(t, st.URL["blog"]+"/admin/tags/producers", url.Values{"name": {"Our producers"}, "description": {"Farms and bakers we buy from."}})
	if p := NewBrowser(t).Get(t, st.URL["blog"]+"/tag/producers"); !strings.Contains(p.Body, "Our producers") || !strings.Contains(p.Body, "Farms and bakers we buy from.") {
		t.Fatal("the renamed tag does not show on its page")
	}
	if p := admin.Post(t, st.URL["blog"]+"/admin/tags/producers", url.Values{"name": {""}}); p.Status != http.StatusUnprocessableEntity {
		t.Fatalf("empty tag name: %d", p.Status)
	}
	admin.Post(t, st.URL["blog"]+"/admin/tags/producers", url.Values{"delete": {"1"}})
	if p := NewBrowser(t).Get(t, st.URL["blog"]+"/tag/producers"); p.Status != http.StatusNotFound {
		t.Fatalf("deleted tag's page: %d", p.Status)
	}
}
