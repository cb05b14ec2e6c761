package internal

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"

	"rose-ash.com/platform/shared/models"
	"rose-ash.com/platform/shared/pagecache"
	"rose-ash.com/platform/shared/services/bookings"
	"rose-ash.com/platform/shared/services/calendars"
	"rose-ash.com/platform/shared/web"
)

// eventsAdmin serves the admins' pages for calendars and events.
type eventsAdmin struct {
	site   *web.Site
	events *calendars.Store
	pages  *pages
	// cache is the page cache purged after every change (nil: none).
	cache *pagecache.Cache
	// tell emails the people whose bookings and waitlist places a change
	// cancelled (an event cancelled, dates dropped), after it committed
	// (nil: nobody is told).
	tell func(ctx context.Context, cs []bookings.Cancellation)
}

// told runs a change of an event under a context that collects what the
// bookings store cancels with it (bookings.CancelWithEvent, the calendars
// store's hook), and, when the change succeeds, tells those concerned.
func (a *eventsAdmin) told(ctx context.Context, change func(ctx context.Context) error) error {
	ctx, cancelled := bookings.CollectCancellations(ctx)
	if err := change(ctx); err != nil {
		return err
	}
	if cs := cancelled(); len(cs) > 0 && a.tell != nil {
		a.tell(ctx, cs)
	}
	return nil
}

// changed purges the cached calendar pages after a change has committed
// (a purge that fails leaves pages at most the cache's TTL old).
func (a *eventsAdmin) changed(ctx context.Context) {
	if a.cache == nil {
		return
	}
	if err := a.cache.Purge(ctx); err != nil {
		a.site.Logger.Warn("events: page cache not purged", "err", err)
	}
}

// mountAdmin mounts the calendar and event admin on r (behind
// RequireAdmin).
func mountAdmin(r chi.Router, a *eventsAdmin) {
	r.Get("/admin/events", a.list)
	r.Get("/admin/events/new", a.newEvent)
	r.Post("/admin/events", a.createEvent)
	r.Get("/admin/events/{id}", a.editEvent)
	r.Post("/admin/events/{id}", a.updateEvent)
	r.Post("/admin/events/{id}/publish", a.publishEvent)
	r.Post("/admin/events/{id}/cancel", a.cancelEvent)
	r.Get("/admin/calendars/new", a.newCalendar)
	r.Post("/admin/calendars", a.createCalendar)
	r.Get("/admin/calendars/{id}", a.editCalendar)
	r.Post("/admin/calendars/{id}", a.updateCalendar)
}

// adminList is the admin's list of calendars and events.
type adminList struct {
	Calendars []models.Calendar
	Events    []models.EventEntry
	Notice    string
}

func (a *eventsAdmin) list(w http.ResponseWriter, r *http.Request) {
	cals, err := a.events.Calendars(r.Context())
	if err != nil {
		a.site.Error(w, r, err)
		return
	}
	evs, err := a.events.AllEvents(r.Context())
	if err != nil {
		a.site.Error(w, r, err)
		return
	}
	a.site.Render(w, r, http.StatusOK, AdminEventsPage(a.pages.page(r, "Events admin"),
		adminList{Calendars: cals, Events: evs, Notice: r.URL.Query().Get("notice")}))
}

// localLayout is how the form shows and reads times: an HTML
// datetime-local value, in the event's zone.
const localLayout = "2006-01-02T15:04"

// eventForm is the event form as typed.
type eventForm struct {
	ID        uuid.UUID // uuid.Nil for a new event
	Version   int
	Status    string
	Calendars []models.Calendar
	Calendar  string // the calendar's id
	Title, Slug, Summary, Description, Image, ImageAlt, Location, Address,
	TimeZone, Organiser, Starts, Ends, Capacity, RRule, RDates, ExDates, Cutoff string
	Tickets []ticketRow
	Problem string
	Saved   bool
}

// ticketRow is one ticket type's row of the form; an empty row adds none,
// a row of an existing type with its name cleared removes it.
type ticketRow struct {
	ID                                                  string
	Name, Description, Price, Capacity, Start, End, Pos string
}

// blankTickets is how many empty ticket rows the form offers.
const blankTickets = 2

// action is where the form posts.
func (f eventForm) action() string {
	if f.ID == uuid.Nil {
		return "/admin/events"
	}
	return "/admin/events/" + f.ID.String()
}

func formOf(e models.EventEntry, cals []models.Calendar) eventForm {
	loc := zoneOf(e.TimeZone)
	f := eventForm{ID: e.ID, Version: e.Version, Status: e.Status, Calendars: cals, Calendar: e.CalendarID.String(),
		Title: e.Title, Slug: e.Slug, Summary: e.Summary, Description: e.DescriptionHTML, Image: e.Image,
		ImageAlt: e.ImageAlt, Location: e.Location, Address: e.Address, TimeZone: e.TimeZone,
		Organiser: e.OrganiserName, Starts: e.StartsAt.In(loc).Format(localLayout),
		Ends: e.EndsAt.In(loc).Format(localLayout), RRule: e.RRule, Cutoff: strconv.Itoa(e.CancelCutoffMinutes / 60)}
	if e.Capacity != nil {
		f.Capacity = strconv.Itoa(*e.Capacity)
	}
	var rd, ex []string
	for _, d := range e.RDates {
		rd = append(rd, d.In(loc).Format(localLayout))
	}
	for _, d := range e.ExDates {
		ex = append(ex, d.In(loc).Format(localLayout))
	}
	f.RDates, f.ExDates = strings.Join(rd, "\n"), strings.Join(ex, "\n")
	for _, t := range e.TicketTypes {
		row := ticketRow{ID: t.ID.String(), Name: t.Name, Description: t.Description, Price: t.Price().Decimal(),
			Pos: strconv.Itoa(t.Position)}
		if t.Capacity != nil {
			row.Capacity = strconv.Itoa(*t.Capacity)
		}
		if t.SalesStart != nil {
			row.Start = t.SalesStart.In(loc).Format(localLayout)
		}
		if t.SalesEnd != nil {
			row.End = t.SalesEnd.In(loc).Format(localLayout)
		}
		f.Tickets = append(f.Tickets, row)
	}
	return f.withBlankTickets()
}

func (f eventForm) withBlankTickets() eventForm {
	for range blankTickets {
		f.Tickets = append(f.Tickets, ticketRow{})
	}
	return f
}

// readEventForm reads the posted form into f and the event to save.
func readEventForm(r *http.Request) (eventForm, models.EventEntry, error) {
	if err := r.ParseForm(); err != nil {
		return eventForm{}, models.EventEntry{}, models.Errorf(models.EInvalid, "The form could not be read.")
	}
	pf := r.PostForm
	g := func(k string) string { return strings.TrimSpace(pf.Get(k)) }
	f := eventForm{Calendar: g("calendar"), Title: g("title"), Slug: g("slug"), Summary: g("summary"),
		Description: pf.Get("description"), Image: g("image"), ImageAlt: g("image_alt"), Location: g("location"),
		Address: g("address"), TimeZone: g("time_zone"), Organiser: g("organiser"), Starts: g("starts"),
		Ends: g("ends"), Capacity: g("capacity"), RRule: g("rrule"), RDates: pf.Get("rdates"),
		ExDates: pf.Get("exdates"), Cutoff: g("cutoff_hours"), Status: g("status")}
	ids, names, descs, prices := pf["tt_id"], pf["tt_name"], pf["tt_description"], pf["tt_price"]
	caps, starts, ends := pf["tt_capacity"], pf["tt_start"], pf["tt_end"]
	at := func(s []string, i int) string {
		if i < len(s) {
			return strings.TrimSpace(s[i])
		}
		return ""
	}
	for i := range names {
		f.Tickets = append(f.Tickets, ticketRow{ID: at(ids, i), Name: at(names, i), Description: at(descs, i),
			Price: at(prices, i), Capacity: at(caps, i), Start: at(starts, i), End: at(ends, i)})
	}
	if v := g("version"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return f, models.EventEntry{}, models.Errorf(models.EInvalid, "The form is damaged; reload the page.")
		}
		f.Version = n
	}
	e, err := f.entry()
	return f, e, err
}

// entry is the event the form describes. Errors: EInvalid naming the
// field that cannot be read.
func (f eventForm) entry() (models.EventEntry, error) {
	e := models.EventEntry{Version: f.Version, Title: f.Title, Slug: f.Slug, Summary: f.Summary,
		DescriptionHTML: f.Description, Image: f.Image, ImageAlt: f.ImageAlt, Location: f.Location,
		Address: f.Address, TimeZone: f.TimeZone, OrganiserName: f.Organiser, RRule: f.RRule, Status: f.Status}
	if e.Slug == "" {
		e.Slug = slugify(e.Title)
	}
	id, err := uuid.Parse(f.Calendar)
	if err != nil {
		return e, models.Errorf(models.EInvalid, "Choose one of the calendars for the event.")
	}
	e.CalendarID = id
	loc, err := time.LoadLocation(f.TimeZone)
	if err != nil || f.TimeZone == "" {
		loc = time.UTC // the store names the zone's mistake
	}
	when := func(v, what string) (time.Time, error) {
		t, err := time.ParseInLocation(localLayout, v, loc)
		if err != nil {
			return t, models.Errorf(models.EInvalid, "Give %s as a date and time, such as 2026-12-12T19:00 (you typed %q).", what, v)
		}
		return t.UTC(), nil
	}
	if e.StartsAt, err = when(f.Starts, "the start"); err != nil {
		return e, err
	}
	if e.EndsAt, err = when(f.Ends, "the end"); err != nil {
		return e, err
	}
	number := func(v, what string) (*int, error) {
		if v == "" {
			return nil, nil
		}
		n, err := strconv.Atoi(v)
		if err != nil {
			return nil, models.Errorf(models.EInvalid, "%s is a whole number (you typed %q).", what, v)
		}
		return &n, nil
	}
	if e.Capacity, err = number(f.Capacity, "The capacity"); err != nil {
		return e, err
	}
	e.CancelCutoffMinutes = 24 * 60
	if f.Cutoff != "" {
		h, err := number(f.Cutoff, "The cancellation cut-off (hours)")
		if err != nil {
			return e, err
		}
		e.CancelCutoffMinutes = *h * 60
	}
	dates := func(text, what string) ([]time.Time, error) {
		var out []time.Time
		for _, l := range strings.Split(text, "\n") {
			if l = strings.TrimSpace(l); l != "" {
				t, err := when(l, what)
				if err != nil {
					return nil, err
				}
				out = append(out, t)
			}
		}
		return out, nil
	}
	if e.RDates, err = dates(f.RDates, "each added date"); err != nil {
		return e, err
	}
	if e.ExDates, err = dates(f.ExDates, "each date taken out"); err != nil {
		return e, err
	}
	for i, row := range f.Tickets {
		if row.Name == "" {
			continue // an empty row, or a type removed
		}
		t := models.TicketType{Name: row.Name, Description: row.Description, Currency: "GBP", Position: i + 1}
		if row.ID != "" {
			if t.ID, err = uuid.Parse(row.ID); err != nil {
				return e, models.Errorf(models.EInvalid, "The form is damaged; reload the page.")
			}
		}
		if t.PriceMinor, err = parsePrice(row.Price, row.Name); err != nil {
			return e, err
		}
		if t.Capacity, err = number(row.Capacity, "The capacity of "+strconv.Quote(row.Name)); err != nil {
			return e, err
		}
		if row.Start != "" {
			s, err := when(row.Start, "the sale's start of "+strconv.Quote(row.Name))
			if err != nil {
				return e, err
			}
			t.SalesStart = &s
		}
		if row.End != "" {
			s, err := when(row.End, "the sale's end of "+strconv.Quote(row.Name))
			if err != nil {
				return e, err
			}
			t.SalesEnd = &s
		}
		e.TicketTypes = append(e.TicketTypes, t)
	}
	return e, nil
}

// parsePrice reads a price in pounds ("12", "12.50", "£12.50"; "" is
// free) as pence. Errors: EInvalid.
func parsePrice(v, name string) (int64, error) {
	v = strings.TrimPrefix(strings.TrimSpace(v), "£")
	if v == "" {
		return 0, nil
	}
	neg := strings.HasPrefix(v, "-")
	whole, frac, _ := strings.Cut(strings.TrimPrefix(v, "-"), ".")
	bad := models.Errorf(models.EInvalid, "The price of %q is an amount in pounds such as 12.50 (you typed %q).", name, v)
	if whole == "" && frac == "" || len(frac) > 2 || len(whole) > 9 {
		return 0, bad
	}
	for _, c := range whole + frac {
		if c < '0' || c > '9' {
			return 0, bad
		}
	}
	frac += strings.Repeat("0", 2-len(frac))
	n, err := strconv.ParseInt(whole+frac, 10, 64)
	if err != nil && whole != "" {
		return 0, bad
	}
	if neg {
		return -n, nil // the store says a price cannot be negative
	}
	return n, nil
}

// slugify makes an address from a title: "Bread & butter!" is
// "bread-butter".
func slugify(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(s) {
		switch {
		case r >= 'a' && r <= 'z' || r >= '0' && r <= '9':
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			b.WriteRune(r)
			dash = false
		default:
			dash = true
		}
		if b.Len() >= 70 {
			break
		}
	}
	return b.String()
}

func (a *eventsAdmin) renderForm(w http.ResponseWriter, r *http.Request, status int, f eventForm) {
	if f.Calendars == nil {
		cals, err := a.events.Calendars(r.Context())
		if err != nil {
			a.site.Error(w, r, err)
			return
		}
		f.Calendars = cals
	}
	title := "New event"
	if f.ID != uuid.Nil {
		title = "Edit " + f.Title
	}
	a.site.Render(w, r, status, AdminEventPage(a.pages.page(r, title), f))
}

// refuse shows the form again with what was typed and why it was refused
// (422 for a mistake, 409 for a stale save).
func (a *eventsAdmin) refuse(w http.ResponseWriter, r *http.Request, f eventForm, err error) {
	status := http.StatusUnprocessableEntity
	switch models.Code(err) {
	case models.EInvalid:
	case models.EConflict:
		status = http.StatusConflict
	default:
		a.site.Error(w, r, err)
		return
	}
	f.Problem = models.Message(err)
	if len(f.Tickets) == 0 || f.Tickets[len(f.Tickets)-1].Name != "" {
		f = f.withBlankTickets()
	}
	a.renderForm(w, r, status, f)
}

func (a *eventsAdmin) newEvent(w http.ResponseWriter, r *http.Request) {
	f := eventForm{TimeZone: "Europe/London", Cutoff: "24", Status: models.EventDraft,
		Calendar: r.URL.Query().Get("calendar"),
		Tickets:  []ticketRow{{Name: "Free place"}}}
	a.renderForm(w, r, http.StatusOK, f.withBlankTickets())
}

func (a *eventsAdmin) createEvent(w http.ResponseWriter, r *http.Request) {
	f, e, err := readEventForm(r)
	if err == nil {
		e, err = a.events.CreateEvent(r.Context(), e)
	}
	if err != nil {
		a.refuse(w, r, f, err)
		return
	}
	a.changed(r.Context())
	http.Redirect(w, r, "/admin/events/"+e.ID.String()+"?saved=1", http.StatusSeeOther)
}

func (a *eventsAdmin) eventOf(w http.ResponseWriter, r *http.Request) (models.EventEntry, bool) {
	id, err := uuid.Parse(chi.URLParam(r, "id"))
	if err != nil {
		a.site.Error(w, r, models.Errorf(models.ENotFound, "There is no such event."))
		return models.EventEntry{}, false
	}
	e, err := a.events.EventWithID(r.Context(), id)
	if err != nil {
		a.site.Error(w, r, err)
		return e, false
	}
	return e, true
}

func (a *eventsAdmin) editEvent(w http.ResponseWriter, r *http.Request) {
	e, ok := a.eventOf(w, r)
	if !ok {
		return
	}
	f := formOf(e, nil)
	f.Saved = r.URL.Query().Get("saved") != ""
	a.renderForm(w, r, http.StatusOK, f)
}

func (a *eventsAdmin) updateEvent(w http.ResponseWriter, r *http.Request) {
	old, ok := a.eventOf(w, r)
	if !ok {
		return
	}
	f, e, err := readEventForm(r)
	f.ID = old.ID
	e.ID = old.ID
	if f.Status == "" {
		f.Status, e.Status = old.Status, old.Status
	}
	if err == nil && old.Status == models.EventCancelled {
		err = models.Errorf(models.EInvalid, "This event was cancelled: it can no longer be changed.")
	}
	if err == nil {
		// Dates dropped by the change are cancelled with their bookings.
		err = a.told(r.Context(), func(ctx context.Context) error {
			_, err := a.events.UpdateEvent(ctx, e)
			return err
		})
	}
	if err != nil {
		a.refuse(w, r, f, err)
		return
	}
	a.changed(r.Context())
	http.Redirect(w, r, "/admin/events/"+old.ID.String()+"?saved=1", http.StatusSeeOther)
}

func (a *eventsAdmin) publishEvent(w http.ResponseWriter, r *http.Request) {
	e, ok := a.eventOf(w, r)
	if !ok {
		return
	}
	if err := a.events.PublishEvent(r.Context(), e.ID); err != nil {
		a.site.Error(w, r, err)
		return
	}
	a.changed(r.Context())
	http.Redirect(w, r, "/admin/events?notice="+url.QueryEscape(e.Title+" is published."), http.StatusSeeOther)
}

func (a *eventsAdmin) cancelEvent(w http.ResponseWriter, r *http.Request) {
	e, ok := a.eventOf(w, r)
	if !ok {
		return
	}
	if err := r.ParseForm(); err != nil {
		a.site.Error(w, r, models.Errorf(models.EInvalid, "The form could not be read."))
		return
	}
	// Its bookings are cancelled with it (in its transaction) and their
	// holders emailed once it has committed.
	err := a.told(r.Context(), func(ctx context.Context) error {
		return a.events.CancelEvent(ctx, e.ID, r.PostForm.Get("reason"))
	})
	if err != nil {
		if models.Code(err) == models.EInvalid {
			f := formOf(e, nil)
			f.Problem = models.Message(err)
			a.renderForm(w, r, http.StatusUnprocessableEntity, f)
			return
		}
		a.site.Error(w, r, err)
		return
	}
	a.changed(r.Context())
	http.Redirect(w, r, "/admin/events?notice="+url.QueryEscape(e.Title+" is cancelled."), http.StatusSeeOther)
}

// calendarForm is the calendar form as typed.
type calendarForm struct {
	models.Calendar
	Problem string
	Saved   bool
}

func (f calendarForm) action() string {
	if f.ID == uuid.Nil {
		return "/admin/calendars"
	}
	return "/admin/calendars/" + f.ID.String()
}

func (a *eventsAdmin) renderCalendar(w http.ResponseWriter, r *http.Request, status int, f calendarForm) {
	title := "New calendar"
	if f.ID != uuid.Nil {
		title = "Edit " + f.Title
	}
	a.site.Render(w, r, status, AdminCalendarPage(a.pages.page(r, title), f))
}

func (a *eventsAdmin) newCalendar(w http.ResponseWriter, r *http.Request) {
	a.renderCalendar(w, r, http.StatusOK, calendarForm{})
}

func readCalendarForm(r *http.Request) (calendarForm, error) {
	if err := r.ParseForm(); err != nil {
		return calendarForm{}, models.Errorf(models.EInvalid, "The form could not be read.")
	}
	pf := r.PostForm
	f := calendarForm{Calendar: models.Calendar{Title: strings.TrimSpace(pf.Get("title")),
		Slug: strings.TrimSpace(pf.Get("slug")), Description: strings.TrimSpace(pf.Get("description")),
		ContainerSlug: strings.TrimSpace(pf.Get("container"))}}
	if f.Slug == "" {
		f.Slug = slugify(f.Title)
	}
	if v := pf.Get("version"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return f, models.Errorf(models.EInvalid, "The form is damaged; reload the page.")
		}
		f.Version = n
	}
	return f, nil
}

func (a *eventsAdmin) refuseCalendar(w http.ResponseWriter, r *http.Request, f calendarForm, err error) {
	status := http.StatusUnprocessableEntity
	switch models.Code(err) {
	case models.EInvalid:
	case models.EConflict:
		status = http.StatusConflict
	default:
		a.site.Error(w, r, err)
		return
	}
	f.Problem = models.Message(err)
	a.renderCalendar(w, r, status, f)
}

func (a *eventsAdmin) createCalendar(w http.ResponseWriter, r *http.Request) {
	f, err := readCalendarForm(r)
	var c models.Calendar
	if err == nil {
		c, err = a.events.CreateCalendar(r.Context(), f.Calendar)
	}
	if err != nil {
		a.refuseCalendar(w, r, f, err)
		return
	}
	a.changed(r.Context())
	http.Redirect(w, r, "/admin/calendars/"+c.ID.String()+"?saved=1", http.StatusSeeOther)
}

func (a *eventsAdmin) calendarOf(w http.ResponseWriter, r *http.Request) (models.Calendar, bool) {
	id, err := uuid.Parse(chi.URLParam(r, "id"))
	if err != nil {
		a.site.Error(w, r, models.Errorf(models.ENotFound, "There is no such calendar."))
		return models.Calendar{}, false
	}
	c, err := a.events.CalendarWithID(r.Context(), id)
	if err != nil {
		a.site.Error(w, r, err)
		return c, false
	}
	return c, true
}

func (a *eventsAdmin) editCalendar(w http.ResponseWriter, r *http.Request) {
	c, ok := a.calendarOf(w, r)
	if !ok {
		return
	}
	a.renderCalendar(w, r, http.StatusOK, calendarForm{Calendar: c, Saved: r.URL.Query().Get("saved") != ""})
}

func (a *eventsAdmin) updateCalendar(w http.ResponseWriter, r *http.Request) {
	c, ok := a.calendarOf(w, r)
	if !ok {
		return
	}
	f, err := readCalendarForm(r)
	f.ID = c.ID
	if err == nil {
		_, err = a.events.UpdateCalendar(r.Context(), f.Calendar)
	}
	if err != nil {
		a.refuseCalendar(w, r, f, err)
		return
	}
	a.changed(r.Context())
	http.Redirect(w, r, "/admin/calendars/"+c.ID.String()+"?saved=1", http.StatusSeeOther)
}
