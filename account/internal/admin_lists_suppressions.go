package internal

import (
	"net/http"
	"strconv"
	"strings"

	"rose-ash.com/platform/shared/models"
	"rose-ash.com/platform/shared/services/newsletters"
	"rose-ash.com/platform/shared/web"
)

func suppressionReasonText(reason string) string {
	switch reason {
	case newsletters.ReasonHardBounce:
		return "Bounced for good"
	case newsletters.ReasonComplaint:
		return "Reported as unwanted"
	case newsletters.ReasonSoftBounces:
		return "Too many soft bounces"
	case newsletters.ReasonManual:
		return "Suppressed by an admin"
	}
	return reason
}

// suppressionsView is the suppression list's page.
type suppressionsView struct {
	Search    string
	Page      newsletters.SuppressionPage
	Bounced   []newsletters.Bounced
	SoftLimit int
	// Email and Detail are the add form's, after a refusal.
	Email   string
	Detail  string
	Problem string
	Notice  string
}

func (v suppressionsView) query(page int) string {
	return web.ListQuery(map[string]string{"q": v.Search}, page)
}

var suppressionNotices = map[string]string{
	"added":    "Suppressed: no newsletter goes to the address from now on, and it cannot subscribe again.",
	"already":  "That address was suppressed already: it keeps its reason.",
	"removed":  "Removed from the suppression list: newsletters go to the address again, to every list it is still subscribed to.",
	"notfound": "That address was not on the suppression list.",
}

func (a listAdmin) showSuppressions(w http.ResponseWriter, r *http.Request) {
	v := suppressionsView{Search: strings.TrimSpace(r.URL.Query().Get("q"))}
	if k := r.URL.Query().Get("done"); k != "" {
		v.Notice = suppressionNotices[k]
	}
	page, _ := strconv.Atoi(r.URL.Query().Get("page"))
	a.renderSuppressions(w, r, http.StatusOK, v, page)
}

func (a listAdmin) renderSuppressions(w http.ResponseWriter, r *http.Request, status int, v suppressionsView, page int) {
	var err error
	if v.Page, err = a.nl.Suppressions(r.Context(), v.Search, page, 50); err != nil {
		a.site.Error(w, r, err)
		return
	}
	if v.Bounced, err = a.nl.BouncedNotSuppressed(r.Context(), 50); err != nil {
		a.site.Error(w, r, err)
		return
	}
	v.SoftLimit = a.nl.SoftBounceLimit
	if v.SoftLimit <= 0 {
		v.SoftLimit = newsletters.DefaultSoftBounceLimit
	}
	a.site.Render(w, r, status, AdminSuppressionsPage(a.site.Page(r, "Suppression list"), v))
}

func (a listAdmin) addSuppression(w http.ResponseWriter, r *http.Request) {
	email, detail := r.PostFormValue("email"), r.PostFormValue("detail")
	_, added, err := a.nl.AddSuppression(r.Context(), email, detail)
	if err != nil {
		status := adminFormStatus(err)
		if status == 0 {
			a.site.Error(w, r, err)
			return
		}
		a.renderSuppressions(w, r, status, suppressionsView{Email: strings.TrimSpace(email), Detail: detail, Problem: adminProblem(err)}, 1)
		return
	}
	done := "added"
	if !added {
		done = "already"
	}
	http.Redirect(w, r, "/admin/newsletters/suppressions?done="+done, http.StatusSeeOther)
}

// removeSuppression shows what taking the posted address off the
// suppression list means, and does it when the form says confirm (the
// address travels in the form, not in a URL, to stay out of logs).
func (a listAdmin) removeSuppression(w http.ResponseWriter, r *http.Request) {
	email := r.PostFormValue("email")
	if r.PostFormValue("confirm") == "" {
		x, err := a.nl.SuppressionOf(r.Context(), email)
		if err != nil {
			a.site.Error(w, r, err)
			return
		}
		a.site.Render(w, r, http.StatusOK, AdminRemoveSuppressionPage(a.site.Page(r, "Remove "+x.Email+" from the suppression list"), x))
		return
	}
	done := "removed"
	switch err := a.nl.RemoveSuppression(r.Context(), email); {
	case models.Code(err) == models.ENotFound:
		done = "notfound" // removed meanwhile, e.g. by another admin
	case err != nil:
		a.site.Error(w, r, err)
		return
	}
	http.Redirect(w, r, "/admin/newsletters/suppressions?done="+done, http.StatusSeeOther)
}
