package internal

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"

	"rose-ash.com/platform/shared/models"
	"rose-ash.com/platform/shared/services/newsletters"
	"rose-ash.com/platform/shared/web"
)

// mountListAdmin adds the admin pages of the newsletter lists, their
// subscribers and the suppression list (admins only; the campaigns are in
// admin_campaigns.go).
func mountListAdmin(r chi.Router, site *web.Site, nl *newsletters.Store) {
	a := listAdmin{site: site, nl: nl}
	r.Group(func(r chi.Router) {
		r.Use(site.RequireAdmin)
		r.Get("/admin/newsletters", a.showLists)
		r.Get("/admin/newsletters/lists/new", a.newList)
		r.Post("/admin/newsletters/lists", a.createList)
		r.Get("/admin/newsletters/lists/{id}", a.editList)
		r.Post("/admin/newsletters/lists/{id}", a.updateList)
		r.Get("/admin/newsletters/lists/{id}/delete", a.confirmDeleteList)
		r.Post("/admin/newsletters/lists/{id}/delete", a.deleteList)
		r.Get("/admin/newsletters/lists/{id}/subscribers", a.showSubscribers)
		r.Get("/admin/newsletters/lists/{id}/subscribers.csv", a.exportSubscribers)
		r.Post("/admin/newsletters/lists/{id}/subscribers", a.addSubscriber)
		r.Post("/admin/newsletters/lists/{id}/subscribers/remove", a.removeSubscriber)
		r.Get("/admin/newsletters/suppressions", a.showSuppressions)
		r.Post("/admin/newsletters/suppressions", a.addSuppression)
		r.Post("/admin/newsletters/suppressions/remove", a.removeSuppression)
	})
}

// showAdmin is the account service's /admin: the newsletters' admin pages
// (when the service has them) and where people are administered.
func showAdmin(site *web.Site, lists, campaigns bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		site.Render(w, r, http.StatusOK, AccountAdminPage(site.Page(r, "Administration"), lists, campaigns, site.URL("federation", "/admin")))
	}
}

type listAdmin struct {
	site *web.Site
	nl   *newsletters.Store
}

func listPath(id uuid.UUID, suffix string) string {
	return "/admin/newsletters/lists/" + id.String() + suffix
}

func publicLabel(public bool) string {
	if public {
		return "Public"
	}
	return "Private"
}

func optInLabel(double bool) string {
	if double {
		return "Double"
	}
	return "Single"
}

func listLead(l newsletters.List) string {
	return publicLabel(l.Public) + " list, " + map[bool]string{true: "double", false: "single"}[l.DoubleOptIn] + " opt-in."
}

func countOf(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}

// adminProblem is the user-safe sentence of a domain error.
func adminProblem(err error) string {
	var me *models.Error
	if errors.As(err, &me) {
		return me.Message
	}
	return models.Message(err)
}

// adminFormStatus is the status of a form shown again after err: 422 for
// invalid input, 409 for a conflict, 0 for errors that go to the error
// page.
func adminFormStatus(err error) int {
	switch models.Code(err) {
	case models.EInvalid:
		return http.StatusUnprocessableEntity
	case models.EConflict:
		return http.StatusConflict
	}
	return 0
}

var listNotices = map[string]string{
	"deleted": "The list was deleted.",
}

func (a listAdmin) showLists(w http.ResponseWriter, r *http.Request) {
	lists, err := a.nl.ListsWithCounts(r.Context())
	if err != nil {
		a.site.Error(w, r, err)
		return
	}
	a.site.Render(w, r, http.StatusOK, AdminListsPage(a.site.Page(r, "Newsletter lists"), lists, adminNotice(r, listNotices)))
}

// adminNotice is the notice a redirect's query asks for (one of notices'
// keys), or "".
func adminNotice(r *http.Request, notices map[string]string) string {
	for k, v := range notices {
		if r.URL.Query().Has(k) {
			return v
		}
	}
	return ""
}

// listForm is the list editor's content.
type listForm struct {
	ID      uuid.UUID
	List    newsletters.List // zero for a new one
	Input   newsletters.ListInput
	Problem string
	Notice  string
}

func (f listForm) isNew() bool { return f.ID == uuid.Nil }

func (f listForm) action() string {
	if f.isNew() {
		return "/admin/newsletters/lists"
	}
	return listPath(f.ID, "")
}

func listInput(r *http.Request) newsletters.ListInput {
	return newsletters.ListInput{Name: r.PostFormValue("name"), Slug: r.PostFormValue("slug"),
		Description: r.PostFormValue("description"), Public: r.PostFormValue("public") != "",
		DoubleOptIn: r.PostFormValue("double_opt_in") != ""}
}

func (a listAdmin) showForm(w http.ResponseWriter, r *http.Request, status int, f listForm) {
	title := "New list"
	if !f.isNew() {
		title = "List: " + f.List.Name
	}
	a.site.Render(w, r, status, AdminListFormPage(a.site.Page(r, title), f))
}

// refuseForm shows the list form again with what was submitted and why it
// was refused, or the error page for other errors.
func (a listAdmin) refuseForm(w http.ResponseWriter, r *http.Request, f listForm, err error) {
	status := adminFormStatus(err)
	if status == 0 {
		a.site.Error(w, r, err)
		return
	}
	f.Problem = adminProblem(err)
	a.showForm(w, r, status, f)
}

func (a listAdmin) newList(w http.ResponseWriter, r *http.Request) {
	a.showForm(w, r, http.StatusOK, listForm{Input: newsletters.ListInput{Public: true, DoubleOptIn: true}})
}

func (a listAdmin) createList(w http.ResponseWriter, r *http.Request) {
	in := listInput(r)
	l, err := a.nl.CreateList(r.Context(), in)
	if err != nil {
		a.refuseForm(w, r, listForm{Input: in}, err)
		return
	}
	http.Redirect(w, r, listPath(l.ID, "?saved=1"), http.StatusSeeOther)
}

// load reads the list of the URL; it writes the error page and returns
// false when there is none.
func (a listAdmin) load(w http.ResponseWriter, r *http.Request) (newsletters.List, bool) {
	id, err := uuid.Parse(chi.URLParam(r, "id"))
	if err != nil {
		a.site.Error(w, r, models.Errorf(models.ENotFound, "There is no such newsletter."))
		return newsletters.List{}, false
	}
	l, err := a.nl.ListByID(r.Context(), id)
	if err != nil {
		a.site.Error(w, r, err)
		return l, false
	}
	return l, true
}

func (a listAdmin) editList(w http.ResponseWriter, r *http.Request) {
	l, ok := a.load(w, r)
	if !ok {
		return
	}
	f := listForm{ID: l.ID, List: l, Input: newsletters.ListInput{Name: l.Name, Slug: l.Slug, Description: l.Description,
		Public: l.Public, DoubleOptIn: l.DoubleOptIn}}
	if r.URL.Query().Has("saved") {
		f.Notice = "Saved."
	}
	a.showForm(w, r, http.StatusOK, f)
}

func (a listAdmin) updateList(w http.ResponseWriter, r *http.Request) {
	l, ok := a.load(w, r)
	if !ok {
		return
	}
	in := listInput(r)
	if _, err := a.nl.UpdateList(r.Context(), l.ID, in); err != nil {
		a.refuseForm(w, r, listForm{ID: l.ID, List: l, Input: in}, err)
		return
	}
	http.Redirect(w, r, listPath(l.ID, "?saved=1"), http.StatusSeeOther)
}

// campaignConsequence says what deleting a list does to a campaign that
// names it (the migration's foreign keys cascade).
func campaignConsequence(c newsletters.ListCampaign) string {
	switch {
	case c.InFlight():
		return "it is going out to this list; cancel it or wait until it has been sent before deleting the list."
	case c.Status == "draft":
		return "it will no longer be sent to this list."
	}
	return "its figures will no longer count the recipients it reached through this list."
}

func (a listAdmin) confirmDeleteList(w http.ResponseWriter, r *http.Request) {
	a.showDelete(w, r, http.StatusOK, "")
}

func (a listAdmin) showDelete(w http.ResponseWriter, r *http.Request, status int, problem string) {
	l, ok := a.load(w, r)
	if !ok {
		return
	}
	counts, err := a.nl.ListsWithCounts(r.Context())
	if err != nil {
		a.site.Error(w, r, err)
		return
	}
	lc := newsletters.ListCounts{List: l}
	for _, c := range counts {
		if c.ID == l.ID {
			lc = c
		}
	}
	used, err := a.nl.ListCampaigns(r.Context(), l.ID)
	if err != nil {
		a.site.Error(w, r, err)
		return
	}
	a.site.Render(w, r, status, AdminDeleteListPage(a.site.Page(r, "Delete "+l.Name), lc, used, problem))
}

func (a listAdmin) deleteList(w http.ResponseWriter, r *http.Request) {
	l, ok := a.load(w, r)
	if !ok {
		return
	}
	if err := a.nl.DeleteListUnlessSending(r.Context(), l.ID); err != nil {
		if status := adminFormStatus(err); status != 0 {
			a.showDelete(w, r, status, adminProblem(err))
			return
		}
		a.site.Error(w, r, err)
		return
	}
	http.Redirect(w, r, "/admin/newsletters?deleted=1", http.StatusSeeOther)
}
