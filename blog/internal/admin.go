package internal

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"
	"github.com/microcosm-cc/bluemonday"

	"rose-ash.com/platform/shared/contracts"
	"rose-ash.com/platform/shared/layout"
	"rose-ash.com/platform/shared/models"
	"rose-ash.com/platform/shared/pagecache"
	"rose-ash.com/platform/shared/services/posts"
	"rose-ash.com/platform/shared/web"
)

// admin holds the blog's administration handlers (behind RequireAdmin).
type admin struct {
	site    *web.Site
	posts   *posts.Store
	authors *posts.Store
	widgets *widgets
	pages   *pagecache.Cache
	policy  *bluemonday.Policy
}

// postPolicy is the one HTML policy for what the editor submits: the
// user-generated-content policy (no scripts, styles, event handlers or
// javascript: links), keeping language classes on code blocks.
func postPolicy() *bluemonday.Policy {
	p := bluemonday.UGCPolicy()
	p.AllowAttrs("class").Matching(bluemonday.SpaceSeparatedTokens).OnElements("code", "pre")
	p.RequireNoReferrerOnLinks(true)
	return p
}

func newAdmin(site *web.Site, posts *posts.Store, authors *posts.Store, wg *widgets, pages *pagecache.Cache) admin {
	return admin{site: site, posts: posts, authors: authors, widgets: wg, pages: pages, policy: postPolicy()}
}

func (a admin) listPosts(w http.ResponseWriter, r *http.Request) {
	status := r.URL.Query().Get("status")
	list, err := a.posts.AdminPosts(r.Context(), time.Now(), "", status, 500)
	if err != nil {
		a.site.Error(w, r, err)
		return
	}
	a.site.Render(w, r, http.StatusOK, AdminPostsPage(a.site.Page(r, "Posts and pages"), list, status, time.Now()))
}

func (a admin) editorPage(r *http.Request, title string) (p layout.Page) {
	p = a.site.Page(r, title)
	p.Head = editorHead(a.site.Assets.URL("editor.js"), a.site.Assets.URL("editor.css"))
	return p
}

// showEditor renders the post editor with the authors to choose from.
func (a admin) showEditor(w http.ResponseWriter, r *http.Request, status int, title, action string, e models.EditablePost,
	problem string, saved bool, uploaded string) {
	authors, err := a.authors.Authors(r.Context())
	if err != nil {
		a.site.Error(w, r, err)
		return
	}
	a.site.Render(w, r, status, EditPostPage(a.editorPage(r, title), action, e, authors, problem, saved, uploaded))
}

func (a admin) newPost(w http.ResponseWriter, r *http.Request) {
	typ := models.PostTypePost
	if r.URL.Query().Get("type") == models.PostTypePage {
		typ = models.PostTypePage
	}
	u, _ := web.Viewer(r.Context())
	e := models.EditablePost{Input: models.PostInput{Type: typ, Status: models.PostStatusDraft, AuthorID: u.ID}}
	a.showEditor(w, r, http.StatusOK, "New "+typ, "/admin/posts", e, "", false, "")
}

// input reads and sanitizes the editor form.
func (a admin) input(r *http.Request) (models.PostInput, error) {
	in := models.PostInput{
		Type: r.PostFormValue("type"), Slug: r.PostFormValue("slug"), Title: r.PostFormValue("title"),
		Excerpt: r.PostFormValue("excerpt"), HTML: a.policy.Sanitize(r.PostFormValue("html")), Doc: r.PostFormValue("doc"),
		FeatureImage: r.PostFormValue("feature_image"), Status: r.PostFormValue("status"),
		Tags: strings.Split(r.PostFormValue("tags"), ","),
	}
	if v := strings.TrimSpace(r.PostFormValue("author")); v != "" {
		id, err := uuid.Parse(v)
		if err != nil {
			return in, models.Errorf(models.EInvalid, "Choose the author from the list.")
		}
		in.AuthorID = id
	}
	if v := r.PostFormValue("version"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return in, models.Errorf(models.EInvalid, "The form is damaged; reload it.")
		}
		in.Version = n
	}
	if at := strings.TrimSpace(r.PostFormValue("published_at")); at != "" {
		t, err := time.Parse("2006-01-02T15:04", at)
		if err != nil {
			return in, models.Errorf(models.EInvalid, "%q is not a date and time.", at)
		}
		in.PublishedAt = t.UTC()
	}
	return in, nil
}

// saveNew creates a post; on a mistake the form comes back with what was
// typed and the message.
func (a admin) saveNew(w http.ResponseWriter, r *http.Request) {
	u, _ := web.Viewer(r.Context())
	in, err := a.input(r)
	var id uuid.UUID
	if err == nil {
		id, err = a.posts.CreatePost(r.Context(), u.ID, in)
	}
	if err != nil {
		a.refuse(w, r, "/admin/posts", models.EditablePost{Input: in}, err)
		return
	}
	a.changed(r)
	http.Redirect(w, r, "/admin/posts/"+id.String()+"?saved=1", http.StatusSeeOther)
}

func (a admin) postID(w http.ResponseWriter, r *http.Request) (uuid.UUID, bool) {
	id, err := uuid.Parse(chi.URLParam(r, "id"))
	if err != nil {
		a.site.Error(w, r, models.Errorf(models.ENotFound, "No such post."))
		return id, false
	}
	return id, true
}

// loadPost loads the post named by the {id} in the path; when it cannot,
// it has answered the request (404 or error page) and returns false.
func (a admin) loadPost(w http.ResponseWriter, r *http.Request) (models.EditablePost, bool) {
	id, ok := a.postID(w, r)
	if !ok {
		return models.EditablePost{}, false
	}
	e, err := a.posts.PostForEdit(r.Context(), id)
	if err != nil {
		a.site.Error(w, r, err)
		return e, false
	}
	return e, true
}

func (a admin) editPost(w http.ResponseWriter, r *http.Request) {
	e, ok := a.loadPost(w, r)
	if !ok {
		return
	}
	id := e.ID
	uploaded := r.URL.Query().Get("uploaded")
	if !strings.HasPrefix(uploaded, "/media/") {
		uploaded = ""
	}
	a.showEditor(w, r, http.StatusOK, "Edit "+e.Input.Title, "/admin/posts/"+id.String(), e, "",
		r.URL.Query().Get("saved") == "1", uploaded)
}

// saveEdit saves a post if nobody saved it since the editor opened it;
// otherwise the editor comes back with a conflict and nothing is lost.
func (a admin) saveEdit(w http.ResponseWriter, r *http.Request) {
	id, ok := a.postID(w, r)
	if !ok {
		return
	}
	in, err := a.input(r)
	if err == nil {
		_, err = a.posts.UpdatePost(r.Context(), id, in)
	}
	if err != nil {
		a.refuse(w, r, "/admin/posts/"+id.String(), models.EditablePost{ID: id, Input: in}, err)
		return
	}
	a.changed(r)
	http.Redirect(w, r, "/admin/posts/"+id.String()+"?saved=1", http.StatusSeeOther)
}

// refuse shows the editor again with the submitted values for invalid input
// and conflicts, and the error page for anything else.
func (a admin) refuse(w http.ResponseWriter, r *http.Request, action string, e models.EditablePost, err error) {
	code := models.Code(err)
	if code != models.EInvalid && code != models.EConflict {
		a.site.Error(w, r, err)
		return
	}
	a.showEditor(w, r, web.Status(code), "Edit "+e.Input.Title, action, e, models.Message(err), false, "")
}

func (a admin) previewPost(w http.ResponseWriter, r *http.Request) {
	e, ok := a.loadPost(w, r)
	if !ok {
		return
	}
	post := models.Post{ID: e.ID, Type: e.Input.Type, Slug: e.Input.Slug, Title: e.Input.Title, Excerpt: e.Input.Excerpt,
		HTML: e.Input.HTML, FeatureImage: e.Input.FeatureImage, Status: e.Input.Status, UpdatedAt: e.UpdatedAt, ReadingMinutes: 1}
	if e.PublishedAt != nil {
		post.PublishedAt = *e.PublishedAt
	}
	plan := a.widgets.plan(r.Context(), post.HTML)
	p, got := a.site.PageWith(r, "Preview: "+post.Title, plan.reqs...)
	post.HTML = a.widgets.render(r.Context(), plan, got)
	a.site.Render(w, r, http.StatusOK, PostPage(p, post))
}

func (a admin) confirmDelete(w http.ResponseWriter, r *http.Request) {
	e, ok := a.loadPost(w, r)
	if !ok {
		return
	}
	a.site.Render(w, r, http.StatusOK, DeletePostPage(a.site.Page(r, "Delete"), e))
}

func (a admin) deletePost(w http.ResponseWriter, r *http.Request) {
	id, ok := a.postID(w, r)
	if !ok {
		return
	}
	if err := a.posts.DeletePost(r.Context(), id); err != nil {
		a.site.Error(w, r, err)
		return
	}
	a.changed(r)
	http.Redirect(w, r, "/admin/posts", http.StatusSeeOther)
}

// changed drops the cached public pages after a change to posts.
func (a admin) changed(r *http.Request) {
	if err := a.pages.Purge(r.Context()); err != nil {
		a.site.Logger.WarnContext(r.Context(), "page cache not purged", "error", err)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

func statusLabel(s string) string {
	if s == "" {
		return "All"
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func postState(e models.EditablePost, now time.Time) string {
	if e.Scheduled(now) {
		return "scheduled for " + e.PublishedAt.Format("2006-01-02 15:04") + " UTC"
	}
	return e.Input.Status
}

func editHeading(e models.EditablePost) string {
	if e.Input.Version == 0 {
		return "New " + e.Input.Type
	}
	return "Edit " + e.Input.Type
}

// selectedAuthor is the author the editor's select shows: the one chosen
// in the form, else the post's; uuid.Nil for a post without one.
func selectedAuthor(e models.EditablePost) uuid.UUID {
	if e.Input.AuthorID != uuid.Nil {
		return e.Input.AuthorID
	}
	return e.AuthorID
}

// authorLabel is how the editor's select names an author.
func authorLabel(a contracts.AuthorSummary) string {
	label := a.Author.Name
	if label == "" {
		label = "(no name yet)"
	}
	if a.Author.Username != "" && a.Author.Username != label {
		label += " (" + a.Author.Username + ")"
	}
	if a.GhostOnly {
		label += ", from Ghost"
	}
	return label
}

func publishedAtValue(e models.EditablePost) string {
	if e.PublishedAt == nil {
		if !e.Input.PublishedAt.IsZero() {
			return e.Input.PublishedAt.UTC().Format("2006-01-02T15:04")
		}
		return ""
	}
	return e.PublishedAt.UTC().Format("2006-01-02T15:04")
}
