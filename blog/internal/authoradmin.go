package internal

import (
	"net/http"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"

	"rose-ash.com/platform/shared/contracts"
	"rose-ash.com/platform/shared/models"
	"rose-ash.com/platform/shared/pagecache"
	"rose-ash.com/platform/shared/services/posts"
	"rose-ash.com/platform/shared/web"
)

// authorAdmin manages authors' names and biographies in the admin area.
type authorAdmin struct {
	site    *web.Site
	authors *posts.Store
	pages   *pagecache.Cache
}

// authorForm is what was typed into one author's form, shown again with
// the problem when it is refused.
type authorForm struct {
	ID               uuid.UUID
	DisplayName, Bio string
	Problem          string
}

func (aa authorAdmin) list(w http.ResponseWriter, r *http.Request) {
	aa.render(w, r, http.StatusOK, authorForm{}, r.URL.Query().Get("saved") == "1")
}

func (aa authorAdmin) render(w http.ResponseWriter, r *http.Request, status int, typed authorForm, saved bool) {
	list, err := aa.authors.Authors(r.Context())
	if err != nil {
		aa.site.Error(w, r, err)
		return
	}
	aa.site.Render(w, r, status, AuthorsAdminPage(aa.site.Page(r, "Authors"), list, typed, saved))
}

// save sets an author's display name and biography; a mistake shows the
// list again with the typed values and the message.
func (aa authorAdmin) save(w http.ResponseWriter, r *http.Request) {
	id, err := uuid.Parse(chi.URLParam(r, "id"))
	if err != nil {
		aa.site.Error(w, r, models.Errorf(models.ENotFound, "No such author."))
		return
	}
	name, bio := r.PostFormValue("display_name"), r.PostFormValue("bio")
	err = aa.authors.UpdateAuthor(r.Context(), id, name, bio)
	if models.Code(err) == models.EInvalid {
		aa.render(w, r, http.StatusUnprocessableEntity, authorForm{ID: id, DisplayName: name, Bio: bio, Problem: models.Message(err)}, false)
		return
	}
	if err != nil {
		aa.site.Error(w, r, err)
		return
	}
	if err := aa.pages.Purge(r.Context()); err != nil {
		aa.site.Logger.WarnContext(r.Context(), "page cache not purged", "error", err)
	}
	http.Redirect(w, r, "/admin/authors?saved=1#author-"+id.String(), http.StatusSeeOther)
}

// authorFormValues returns what an author's form shows: what was typed
// when that form was refused, else the stored values.
func authorFormValues(a contracts.AuthorSummary, typed authorForm) (name, bio, problem string) {
	if typed.ID == a.Author.ID {
		return typed.DisplayName, typed.Bio, typed.Problem
	}
	return a.DisplayName, a.Author.Bio, ""
}

// authorOrigin says where an author comes from, for the list.
func authorOrigin(a contracts.AuthorSummary) string {
	switch {
	case a.GhostOnly:
		return "Imported from Ghost (no sign-in)"
	case a.FromGhost:
		return "Member, linked to a Ghost author"
	case a.IsAdmin:
		return "Admin"
	}
	return "Member"
}
