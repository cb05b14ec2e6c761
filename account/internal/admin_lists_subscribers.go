package internal

import (
	"encoding/csv"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"rose-ash.com/platform/shared/models"
	"rose-ash.com/platform/shared/services/newsletters"
	"rose-ash.com/platform/shared/web"
)

var subscriptionStates = []string{newsletters.StatusConfirmed, newsletters.StatusUnconfirmed, newsletters.StatusUnsubscribed}

func subscriptionStatusText(s string) string {
	switch s {
	case newsletters.StatusConfirmed:
		return "Confirmed"
	case newsletters.StatusUnconfirmed:
		return "Unconfirmed"
	case newsletters.StatusUnsubscribed:
		return "Unsubscribed"
	}
	return s
}

func consentActionText(a string) string {
	switch a {
	case "subscribe":
		return "Subscribed"
	case "confirm":
		return "Confirmed"
	case "unsubscribe":
		return "Unsubscribed"
	case newsletters.ActionAdminAdd:
		return "Added by an admin"
	case newsletters.ActionAdminRemove:
		return "Removed by an admin"
	}
	return a
}

// subscribersView is a list's subscribers page.
type subscribersView struct {
	List    newsletters.List
	Query   newsletters.SubscriberQuery
	Page    newsletters.SubscriberPage
	Email   string // the add form's address, after a refusal
	Problem string
	Notice  string
}

// query is the filters and page as a query string ("" when none).
func (v subscribersView) query(page int) string {
	return web.ListQuery(map[string]string{"q": v.Query.Search, "status": v.Query.Status}, page)
}

func subscriberQuery(r *http.Request) newsletters.SubscriberQuery {
	q := newsletters.SubscriberQuery{Search: strings.TrimSpace(r.URL.Query().Get("q")), Status: r.URL.Query().Get("status")}
	q.Page, _ = strconv.Atoi(r.URL.Query().Get("page"))
	return q
}

var subscriberNotices = map[string]string{
	string(newsletters.Subscribed):          "Added and confirmed: the welcome message is on its way to the address.",
	string(newsletters.ConfirmationSent):    "A confirmation mail went to the address: it counts as unconfirmed, and receives nothing else, until it follows the link.",
	string(newsletters.ConfirmationPending): "A confirmation mail went to this address less than ten minutes ago: it was not sent again.",
	string(newsletters.AlreadySubscribed):   "That address was subscribed already: nothing changed.",
	"removed":                               "Removed: nothing more is sent to the address from this list. It stays in the table as unsubscribed, with the removal in its consent log.",
	"unchanged":                             "That address had unsubscribed already: nothing changed.",
}

func (a listAdmin) showSubscribers(w http.ResponseWriter, r *http.Request) {
	l, ok := a.load(w, r)
	if !ok {
		return
	}
	v := subscribersView{List: l, Query: subscriberQuery(r)}
	if k := r.URL.Query().Get("done"); k != "" {
		v.Notice = subscriberNotices[k]
	}
	a.renderSubscribers(w, r, http.StatusOK, v)
}

func (a listAdmin) renderSubscribers(w http.ResponseWriter, r *http.Request, status int, v subscribersView) {
	page, err := a.nl.Subscribers(r.Context(), v.List.ID, v.Query)
	if models.Code(err) == models.EInvalid {
		// An unknown state in the URL: show them all, and say why.
		v.Problem, v.Query.Status = adminProblem(err), ""
		page, err = a.nl.Subscribers(r.Context(), v.List.ID, v.Query)
	}
	if err != nil {
		a.site.Error(w, r, err)
		return
	}
	v.Page = page
	a.site.Render(w, r, status, AdminSubscribersPage(a.site.Page(r, v.List.Name+": subscribers"), v))
}

// adminConsent is the consent log's record of an admin's change: who,
// from where.
func adminConsent(r *http.Request) newsletters.Consent {
	u, _ := web.Viewer(r.Context())
	return consentOf(r, "admin "+u.Email)
}

func (a listAdmin) addSubscriber(w http.ResponseWriter, r *http.Request) {
	l, ok := a.load(w, r)
	if !ok {
		return
	}
	email := r.PostFormValue("email")
	res, err := a.nl.AddSubscriber(r.Context(), l.ID, email, adminConsent(r))
	if err != nil {
		status := adminFormStatus(err)
		if status == 0 {
			a.site.Error(w, r, err)
			return
		}
		a.renderSubscribers(w, r, status, subscribersView{List: l, Email: strings.TrimSpace(email), Problem: adminProblem(err)})
		return
	}
	http.Redirect(w, r, listPath(l.ID, "/subscribers?done="+string(res.Outcome)), http.StatusSeeOther)
}

func (a listAdmin) removeSubscriber(w http.ResponseWriter, r *http.Request) {
	l, ok := a.load(w, r)
	if !ok {
		return
	}
	id, err := uuid.Parse(r.PostFormValue("subscriber"))
	if err != nil {
		a.site.Error(w, r, models.Errorf(models.ENotFound, "That address is not on this list."))
		return
	}
	email, err := a.nl.RemoveSubscriber(r.Context(), l.ID, id, adminConsent(r))
	if err != nil {
		a.site.Error(w, r, err)
		return
	}
	done := "removed"
	if email == "" {
		done = "unchanged"
	}
	http.Redirect(w, r, listPath(l.ID, "/subscribers?done="+done), http.StatusSeeOther)
}

func csvTime(t *time.Time) string {
	if t == nil {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

var subscriberCSVHeader = []string{"email", "status", "since", "subscribed_at", "confirmed_at", "unsubscribed_at",
	"last_consent", "last_consent_source", "last_consent_at", "bounces", "suppressed"}

// exportSubscribers streams the list's subscribers matching the page's
// filters as CSV, by address, with a header row.
func (a listAdmin) exportSubscribers(w http.ResponseWriter, r *http.Request) {
	l, ok := a.load(w, r)
	if !ok {
		return
	}
	q := subscriberQuery(r)
	var cw *csv.Writer
	err := a.nl.EachSubscriber(r.Context(), l.ID, q, func(s newsletters.SubscriberRow) error {
		if cw == nil {
			cw = a.startCSV(w, l)
		}
		return cw.Write([]string{web.SpreadsheetSafe(s.Email), s.Status, csvTime(&s.Since), csvTime(&s.CreatedAt),
			csvTime(s.ConfirmedAt), csvTime(s.UnsubscribedAt), s.LastAction, web.SpreadsheetSafe(s.LastSource),
			csvTime(s.LastAt), strconv.Itoa(s.Bounces), strconv.FormatBool(s.Suppressed)})
	})
	if cw == nil {
		if err != nil {
			a.site.Error(w, r, err)
			return
		}
		cw = a.startCSV(w, l) // nothing matched: the header alone
	}
	cw.Flush()
	if err == nil {
		err = cw.Error()
	}
	if err != nil {
		// The header is sent: the file ends short, and the log says why.
		a.site.Logger.ErrorContext(r.Context(), "subscribers export cut short", "list", l.Slug, "error", err)
	}
}

func (a listAdmin) startCSV(w http.ResponseWriter, l newsletters.List) *csv.Writer {
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="`+l.Slug+`-subscribers.csv"`)
	w.Header().Set("Cache-Control", "no-store")
	cw := csv.NewWriter(w)
	_ = cw.Write(subscriberCSVHeader)
	return cw
}
