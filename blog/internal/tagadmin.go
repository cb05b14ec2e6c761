package internal

import (
	"net/http"

	"github.com/go-chi/chi/v5"

	"rose-ash.com/platform/shared/models"
	"rose-ash.com/platform/shared/pagecache"
	"rose-ash.com/platform/shared/services/posts"
	"rose-ash.com/platform/shared/web"
)

// tagAdmin manages tags in the admin area.
type tagAdmin struct {
	site  *web.Site
	tags  *posts.Store
	pages *pagecache.Cache
}

func (ta tagAdmin) list(w http.ResponseWriter, r *http.Request) {
	ta.render(w, r, http.StatusOK, "")
}

func (ta tagAdmin) render(w http.ResponseWriter, r *http.Request, status int, problem string) {
	tags, err := ta.tags.TagsWithCounts(r.Context())
	if err != nil {
		ta.site.Error(w, r, err)
		return
	}
	ta.site.Render(w, r, status, TagsAdminPage(ta.site.Page(r, "Tags"), tags, problem))
}

// save renames or describes a tag, or deletes it when the Delete button was used.
func (ta tagAdmin) save(w http.ResponseWriter, r *http.Request) {
	slug := chi.URLParam(r, "slug")
	var err error
	if r.PostFormValue("delete") == "1" {
		err = ta.tags.DeleteTag(r.Context(), slug)
	} else {
		err = ta.tags.UpdateTag(r.Context(), slug, r.PostFormValue("name"), r.PostFormValue("description"))
	}
	if models.Code(err) == models.EInvalid {
		ta.render(w, r, http.StatusUnprocessableEntity, models.Message(err))
		return
	}
	if err != nil {
		ta.site.Error(w, r, err)
		return
	}
	if err := ta.pages.Purge(r.Context()); err != nil {
		ta.site.Logger.WarnContext(r.Context(), "page cache not purged", "error", err)
	}
	http.Redirect(w, r, "/admin/tags", http.StatusSeeOther)
}
