package internal

import (
	_ "embed"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"

	"rose-ash.com/platform/shared/models"
	"rose-ash.com/platform/shared/services/bookings"
	"rose-ash.com/platform/shared/web"
)

// checkinScript is the check-in page's scanner: the camera through the
// browser's BarcodeDetector where there is one, scans posted as JSON,
// queued in localStorage while offline and uploaded later with their
// own ids (the server counts each once). Without it the page's form
// still works.
//
//go:embed checkin.js
var checkinScript []byte

// checkinScriptPath is where the scanner is served (the site's content
// security policy allows scripts of its own origin only, not inline).
const checkinScriptPath = "/check-in.js"

func serveCheckinScript(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
	w.Header().Set("Cache-Control", "public, max-age=300")
	_, _ = w.Write(checkinScript)
}

// checkinView is the check-in page.
type checkinView struct {
	Event     bookings.EventRef
	Lists     []models.CheckinList
	List      models.CheckinList
	CheckedIn int
	Booked    int
	// Result is the last scan's answer (nil before one), Problem a
	// refusal's message.
	Result  *models.ScanResult
	Problem string
	// NewList is the form that adds a check-in list.
	NewList listForm
}

// listForm is the check-in page's form for a new list (per entrance, per
// date of a series, for some ticket types): its choices, the event's
// dates to come and ticket types, and what was typed with why it was
// refused.
type listForm struct {
	Dates   []models.Occurrence
	Zone    string
	Types   []models.TicketType
	Name    string
	Date    string
	Chosen  map[string]bool
	Problem string
}

// checkinEvent loads the event of a check-in route for its organiser or
// an admin (403 for anyone else signed in; RequireUser sent visitors to
// sign in) and the list asked for (list in the query or form), or its
// default list.
func (h *bookingHandlers) checkinEvent(w http.ResponseWriter, r *http.Request, listParam string) (checkinView, bool) {
	ctx := r.Context()
	ev, ok := h.organisedEvent(w, r)
	if !ok {
		return checkinView{}, false
	}
	var err error
	v := checkinView{Event: ev}
	if id, err := uuid.Parse(listParam); err == nil {
		v.List, err = h.Bookings.CheckinList(ctx, id)
		if err == nil && v.List.EventID != ev.ID {
			err = models.Errorf(models.ENotFound, "There is no such check-in list.")
		}
		if err != nil {
			h.Site.Error(w, r, err)
			return checkinView{}, false
		}
	} else if v.List, err = h.Bookings.DefaultCheckinList(ctx, ev.ID); err != nil {
		h.Site.Error(w, r, err)
		return checkinView{}, false
	}
	if v.Lists, err = h.Bookings.CheckinLists(ctx, ev.ID); err != nil {
		h.Site.Error(w, r, err)
		return checkinView{}, false
	}
	return v, true
}

// organisedEvent loads the event of the route's slug for its organiser
// or an admin; anyone else signed in gets 403 (RequireUser sent visitors
// to sign in).
func (h *bookingHandlers) organisedEvent(w http.ResponseWriter, r *http.Request) (bookings.EventRef, bool) {
	ev, err := h.Bookings.EventBySlug(r.Context(), chi.URLParam(r, "slug"))
	if err != nil {
		h.Site.Error(w, r, err)
		return bookings.EventRef{}, false
	}
	u, _ := web.Viewer(r.Context())
	if !u.IsAdmin && (ev.OrganiserID == uuid.Nil || ev.OrganiserID != u.ID) {
		h.Site.Error(w, r, models.Errorf(models.EForbidden, "This page is for the event's organiser and administrators."))
		return bookings.EventRef{}, false
	}
	return ev, true
}

func (h *bookingHandlers) countCheckins(w http.ResponseWriter, r *http.Request, v *checkinView) bool {
	var err error
	v.CheckedIn, v.Booked, err = h.Bookings.CheckinCount(r.Context(), v.List.ID, h.now())
	if err != nil {
		h.Site.Error(w, r, err)
		return false
	}
	return true
}

// renderCheckin renders the check-in page; the camera is allowed on it
// (the site's Permissions-Policy turns it off everywhere else).
func (h *bookingHandlers) renderCheckin(w http.ResponseWriter, r *http.Request, status int, v checkinView) {
	// The new-list form's choices; an event whose page cannot be read (a
	// draft) gets lists for every date and type only.
	if h.Events == nil {
		// no calendars (a test's desk): lists for every date and type only
	} else if page, err := h.Events.EventPage(r.Context(), v.Event.Slug, uuid.Nil, h.now()); err == nil {
		if page.Occurrence.ID != uuid.Nil {
			v.NewList.Dates = append([]models.Occurrence{page.Occurrence}, page.Next...)
		}
		v.NewList.Zone = page.Event.TimeZone
		for _, t := range page.Tickets {
			v.NewList.Types = append(v.NewList.Types, t.TicketType)
		}
	}
	w.Header().Set("Permissions-Policy", "camera=(self), microphone=(), geolocation=(), interest-cohort=()")
	w.Header().Set("Cache-Control", "private, no-store")
	h.Site.Render(w, r, status, CheckinPage(h.Site.Page(r, "Check-in: "+v.Event.Title), v))
}

// showCheckin shows the check-in page of an event: the scanner, the code
// field, and the live count.
func (h *bookingHandlers) showCheckin(w http.ResponseWriter, r *http.Request) {
	v, ok := h.checkinEvent(w, r, r.URL.Query().Get("list"))
	if !ok || !h.countCheckins(w, r, &v) {
		return
	}
	h.renderCheckin(w, r, http.StatusOK, v)
}

// createCheckinList adds a check-in list to the event (a name; one date
// or every date; some ticket types or all) and shows the check-in page
// on it; a refused list shows the page again with what was typed and why
// (422, or 409 for a name taken).
func (h *bookingHandlers) createCheckinList(w http.ResponseWriter, r *http.Request) {
	ev, ok := h.organisedEvent(w, r)
	if !ok {
		return
	}
	if err := r.ParseForm(); err != nil {
		h.Site.Error(w, r, models.Errorf(models.EInvalid, "The form could not be read."))
		return
	}
	form := listForm{Name: r.PostFormValue("name"), Date: r.PostFormValue("date"), Chosen: map[string]bool{}}
	l := models.CheckinList{EventID: ev.ID, Name: form.Name}
	var err error
	if form.Date != "" {
		if l.OccurrenceID, err = uuid.Parse(form.Date); err != nil {
			err = models.Errorf(models.EInvalid, "Choose a date of this event.")
		}
	}
	for _, t := range r.PostForm["ticket_type"] {
		form.Chosen[t] = true
		id, perr := uuid.Parse(t)
		if perr != nil {
			err = models.Errorf(models.EInvalid, "Choose ticket types of this event.")
			continue
		}
		l.TicketTypeIDs = append(l.TicketTypeIDs, id)
	}
	if err == nil {
		var created models.CheckinList
		if created, err = h.Bookings.CreateCheckinList(r.Context(), l); err == nil {
			http.Redirect(w, r, "/admin/check-in/"+ev.Slug+"?list="+created.ID.String(), http.StatusSeeOther)
			return
		}
	}
	if code := models.Code(err); code != models.EInvalid && code != models.EConflict {
		h.Site.Error(w, r, err)
		return
	}
	v, ok := h.checkinEvent(w, r, "")
	if !ok || !h.countCheckins(w, r, &v) {
		return
	}
	form.Problem = models.Message(err)
	v.NewList = form
	h.renderCheckin(w, r, web.Status(models.Code(err)), v)
}

// scanRequest is a scan posted as JSON by the page's scanner.
type scanRequest struct {
	Code   string `json:"code"`
	Kind   string `json:"kind"`
	List   string `json:"list"`
	ScanID string `json:"scan_id"`
}

// scanAnswer is the JSON answer to a scan.
type scanAnswer struct {
	OK        bool   `json:"ok"`
	Already   bool   `json:"already"`
	Message   string `json:"message"`
	CheckedIn int    `json:"checked_in"`
	Booked    int    `json:"booked"`
}

// scan checks a ticket in (or out): from the page's form, answered with
// the page; or as JSON from its scanner, answered as JSON (a refusal is
// 200 with ok false, so that a queued scan is not sent again; only a
// failure on our side is a 5xx, worth retrying).
func (h *bookingHandlers) scan(w http.ResponseWriter, r *http.Request) {
	var req scanRequest
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	asJSON := ct == "application/json"
	if asJSON {
		if err := json.NewDecoder(io.LimitReader(r.Body, 8<<10)).Decode(&req); err != nil {
			h.Site.Error(w, r, models.Errorf(models.EInvalid, "A scan is a JSON object with a code."))
			return
		}
	} else {
		req = scanRequest{Code: r.PostFormValue("code"), Kind: r.PostFormValue("kind"), List: r.PostFormValue("list"),
			ScanID: r.PostFormValue("scan_id")}
	}
	v, ok := h.checkinEvent(w, r, req.List)
	if !ok {
		return
	}
	u, _ := web.Viewer(r.Context())
	res, err := h.Bookings.Scan(r.Context(), bookings.ScanRequest{ListID: v.List.ID, Code: req.Code, ByUserID: u.ID,
		ByName: u.Name(), Kind: req.Kind, ClientScanID: strings.TrimSpace(req.ScanID)}, h.now())
	if models.Code(err) == models.EInternal || models.Code(err) == models.EUnavailable {
		h.Site.Error(w, r, err)
		return
	}
	if !h.countCheckins(w, r, &v) {
		return
	}
	if asJSON || strings.Contains(r.Header.Get("Accept"), "application/json") {
		a := scanAnswer{OK: err == nil && !res.Already, Already: res.Already, Message: res.Message, CheckedIn: v.CheckedIn, Booked: v.Booked}
		if err != nil {
			a.Message = models.Message(err)
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		_ = json.NewEncoder(w).Encode(a)
		return
	}
	status := http.StatusOK
	if err != nil {
		v.Problem = models.Message(err)
		status = web.Status(models.Code(err))
	} else {
		v.Result = &res
	}
	h.renderCheckin(w, r, status, v)
}
