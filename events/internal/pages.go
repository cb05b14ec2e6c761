package internal

import (
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/a-h/templ"
	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"

	"rose-ash.com/platform/shared/activitypub"
	"rose-ash.com/platform/shared/models"
	"rose-ash.com/platform/shared/services/calendars"
	"rose-ash.com/platform/shared/web"
)

// noCalendar stands for a ?calendar= that is no slug: it matches no
// calendar, so the list is empty.
const noCalendar = "-"

// pageSize is how many dates a list page shows.
const pageSize = 50

// pages serves the public calendar pages.
type pages struct {
	site   *web.Site
	events *calendars.Store
	now    func() time.Time
	// objects serves events' ActivityStreams objects (nil: none).
	objects EventServer
}

// base is the events service's public address.
func (p *pages) base() string { return strings.TrimSuffix(p.site.URL("events", ""), "/") }

// listView is a page listing dates: the home, a calendar's page, the past.
type listView struct {
	Heading, Lead string
	Items         []models.Event
	Calendars     []models.Calendar
	// Calendar is the calendar filtered on ("" for all).
	Calendar string
	// Prev and Next are the neighbouring pages' addresses, "" for none.
	Prev, Next string
	// Month is the current month's view; ICS a feed's address ("" for
	// none).
	Month, ICS string
	Past       bool
	Empty      string
}

// pageNumber reads ?page= (1 when absent or malformed).
func pageNumber(r *http.Request) int {
	n, err := strconv.Atoi(r.URL.Query().Get("page"))
	if err != nil || n < 1 || n > 1000 {
		return 1
	}
	return n
}

// pageLinks returns the previous and next pages' addresses of path.
func pageLinks(path string, q url.Values, page int, more bool) (prev, next string) {
	link := func(n int) string {
		v := url.Values{}
		for k, vs := range q {
			v[k] = vs
		}
		v.Del("page")
		if n > 1 {
			v.Set("page", strconv.Itoa(n))
		}
		if len(v) == 0 {
			return path
		}
		return path + "?" + v.Encode()
	}
	if page > 1 {
		prev = link(page - 1)
	}
	if more {
		next = link(page + 1)
	}
	return prev, next
}

// list fetches one page (and whether more follow) of upcoming or past
// dates.
func (p *pages) list(r *http.Request, calendar string, past bool) ([]models.Event, bool, error) {
	page := pageNumber(r)
	q := calendars.UpcomingQuery{Calendar: calendar, Limit: pageSize + 1, Offset: (page - 1) * pageSize}
	read := p.events.Upcoming
	if past {
		read = p.events.Past
	}
	items, err := read(r.Context(), p.now(), q)
	if err != nil {
		return nil, false, err
	}
	more := len(items) > pageSize
	if more {
		items = items[:pageSize]
	}
	return items, more, nil
}

// home lists the upcoming dates of every calendar (or of ?calendar=),
// each linking to its event's page, with links to the month view and the
// past.
func (p *pages) home(w http.ResponseWriter, r *http.Request) {
	calendar := r.URL.Query().Get("calendar")
	if calendar != "" && models.ValidateEventSlug(calendar) != nil {
		calendar = noCalendar
	}
	cals, err := p.events.Calendars(r.Context())
	if err != nil {
		p.site.Error(w, r, err)
		return
	}
	items, more, err := p.list(r, calendar, false)
	if err != nil {
		p.site.Error(w, r, err)
		return
	}
	v := listView{Heading: "Upcoming events", Items: items, Calendars: cals, Calendar: calendar,
		Month: monthPath(p.now(), calendar), Empty: "No events are planned yet."}
	v.Prev, v.Next = pageLinks("/", r.URL.Query(), pageNumber(r), more)
	page := p.page(r, "")
	page.Description = "See what's on: markets, workshops and meetings of the cooperative and its neighbours."
	p.site.Render(w, r, http.StatusOK, HomePage(page, p.site.OtherServices(), v))
}

// past lists the dates that have ended, latest first.
func (p *pages) past(w http.ResponseWriter, r *http.Request) {
	calendar := r.URL.Query().Get("calendar")
	if calendar != "" && models.ValidateEventSlug(calendar) != nil {
		calendar = noCalendar
	}
	items, more, err := p.list(r, calendar, true)
	if err != nil {
		p.site.Error(w, r, err)
		return
	}
	v := listView{Heading: "Past events", Lead: "What has happened, latest first.", Items: items, Calendar: calendar,
		Past: true, Month: monthPath(p.now(), calendar), Empty: "Nothing has happened yet."}
	v.Prev, v.Next = pageLinks("/past", r.URL.Query(), pageNumber(r), more)
	p.site.Render(w, r, http.StatusOK, ListPage(p.page(r, "Past events"), v))
}

// calendar shows a calendar's page (its upcoming dates), or its iCalendar
// feed for /calendars/{slug}.ics.
func (p *pages) calendar(w http.ResponseWriter, r *http.Request) {
	slug := chi.URLParam(r, "slug")
	if s, ok := strings.CutSuffix(slug, ".ics"); ok {
		p.calendarICS(w, r, s)
		return
	}
	cal, err := p.events.CalendarBySlug(r.Context(), slug)
	if err != nil {
		p.site.Error(w, r, err)
		return
	}
	items, more, err := p.list(r, slug, false)
	if err != nil {
		p.site.Error(w, r, err)
		return
	}
	v := listView{Heading: cal.Title, Lead: cal.Description, Items: items, Calendar: slug,
		Month: monthPath(p.now(), slug), ICS: "/calendars/" + slug + ".ics",
		Empty: "No events are planned in this calendar yet."}
	v.Prev, v.Next = pageLinks("/calendars/"+slug, r.URL.Query(), pageNumber(r), more)
	page := p.page(r, cal.Title)
	page.Description = cal.Description
	page.Head = joinHead(page.Head, calendarHead(p.base()+v.ICS))
	p.site.Render(w, r, http.StatusOK, ListPage(page, v))
}

// monthPath is the month view of t's month (in London), for a calendar or
// all.
func monthPath(t time.Time, calendar string) string {
	path := "/month/" + t.In(siteZone).Format("2006-01")
	if calendar != "" && calendar != noCalendar {
		path += "?calendar=" + url.QueryEscape(calendar)
	}
	return path
}

// siteZone is the zone months are laid out in (each event's own time is
// still shown in its own zone).
var siteZone = mustZone("Europe/London")

func mustZone(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err) // calendars embeds time/tzdata
	}
	return loc
}

// monthView is a month's grid: weeks of days, Monday first.
type monthView struct {
	Title      string
	Calendar   string
	Prev, Next string
	Weeks      [][]dayCell
}

// dayCell is one day of the grid; Other marks days of the neighbouring
// months.
type dayCell struct {
	Date  time.Time
	Other bool
	Today bool
	Items []models.Event
}

var monthRE = regexp.MustCompile(`^\d{4}-(0[1-9]|1[0-2])$`)

// month shows /month/{yyyy-mm}: the month's grid with each day's events
// (in their own zone's dates).
func (p *pages) month(w http.ResponseWriter, r *http.Request) {
	m := chi.URLParam(r, "month")
	if !monthRE.MatchString(m) {
		p.site.Error(w, r, models.Errorf(models.ENotFound, "There is no month %q: months are written like 2026-12.", m))
		return
	}
	first, _ := time.ParseInLocation("2006-01", m, siteZone)
	if first.Year() < 2000 || first.Year() > 2100 {
		p.site.Error(w, r, models.Errorf(models.ENotFound, "There is no calendar for %s.", m))
		return
	}
	calendar := r.URL.Query().Get("calendar")
	if calendar != "" && models.ValidateEventSlug(calendar) != nil {
		calendar = noCalendar
	}
	next := first.AddDate(0, 1, 0)
	// A day's margin either side: an event's date is its own zone's.
	items, err := p.events.Between(r.Context(), first.Add(-36*time.Hour), next.Add(36*time.Hour), calendar)
	if err != nil {
		p.site.Error(w, r, err)
		return
	}
	byDay := map[string][]models.Event{}
	for _, e := range items {
		d := e.StartsAt.In(zoneOf(e.TimeZone)).Format("2006-01-02")
		byDay[d] = append(byDay[d], e)
	}
	v := monthView{Title: first.Format("January 2006"), Calendar: calendar}
	q := ""
	if calendar != "" && calendar != noCalendar {
		q = "?calendar=" + url.QueryEscape(calendar)
	}
	v.Prev = "/month/" + first.AddDate(0, -1, 0).Format("2006-01") + q
	v.Next = "/month/" + next.Format("2006-01") + q
	today := p.now().In(siteZone).Format("2006-01-02")
	start := first.AddDate(0, 0, -((int(first.Weekday()) + 6) % 7)) // the Monday on or before the 1st
	for d := start; d.Before(next); {
		week := make([]dayCell, 7)
		for i := range week {
			key := d.Format("2006-01-02")
			week[i] = dayCell{Date: d, Other: d.Month() != first.Month(), Today: key == today}
			if !week[i].Other {
				week[i].Items = byDay[key]
			}
			d = d.AddDate(0, 0, 1)
		}
		v.Weeks = append(v.Weeks, week)
	}
	p.site.Render(w, r, http.StatusOK, MonthPage(p.page(r, v.Title), v))
}

// zoneOf returns the named zone, UTC when unknown.
func zoneOf(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		return time.UTC
	}
	return loc
}

// eventPath is the page of an event's date: the event's page, with the
// occurrence named when given.
func eventPath(slug string, occurrence uuid.UUID) string {
	if occurrence == uuid.Nil {
		return "/events/" + slug
	}
	return "/events/" + slug + "?occurrence=" + occurrence.String()
}

// listPath is the page of a listed date: the event's page, at that date
// for a repeating event.
func listPath(e models.Event) string {
	if !e.Recurring {
		return eventPath(e.Slug, uuid.Nil)
	}
	return eventPath(e.Slug, e.OccurrenceID)
}

// whenText is a date's time as readers see it, in its event's zone, with
// the zone named: "Thursday 15 October 2026, 19:00–21:00 BST (Europe/London)".
func whenText(start, end time.Time, zone string) string {
	loc := zoneOf(zone)
	s, e := start.In(loc), end.In(loc)
	out := s.Format("Monday 2 January 2006, 15:04")
	switch {
	case e.Equal(s):
	case e.Format("2006-01-02") == s.Format("2006-01-02"):
		out += "–" + e.Format("15:04")
	default:
		out += " – " + e.Format("Monday 2 January 2006, 15:04")
	}
	abbr := s.Format("MST")
	if abbr == zone {
		return out + " " + zone
	}
	return out + " " + abbr + " (" + zone + ")"
}

// shortWhen is a date in a list: "Sat 12 Dec, 09:00 GMT".
func shortWhen(e models.Event) string {
	return e.StartsAt.In(zoneOf(e.TimeZone)).Format("Mon 2 Jan 2006, 15:04 MST")
}

// eventView is an event's page.
type eventView struct {
	calendars.EventPage
	// URL is the page's absolute address.
	URL      string
	SignedIn bool
	// ICS, Google and Map are the links to the event's feed, a Google
	// Calendar template and the address on OpenStreetMap ("" without an
	// address).
	ICS, Google, Map string
	Image            string
	Now              time.Time
	// CartURL is where a paid ticket type's form posts (the cart's POST
	// /items): paid places are bought through the cart's checkout.
	CartURL string
}

// Cancelled reports whether the date shown (or the whole event) is
// cancelled.
func (v eventView) Cancelled() bool {
	return v.Event.Status == models.EventCancelled || v.Occurrence.Status == models.EventCancelled
}

// SoldOut reports whether the date shown has no seat left.
func (v eventView) SoldOut() bool {
	return v.Occurrence.ID != uuid.Nil && v.Occurrence.SeatsLeft() == 0
}

// Over reports whether the date shown has ended.
func (v eventView) Over() bool { return !v.Occurrence.EndsAt.After(v.Now) }

// event shows /events/{slug} (?occurrence= for another date of a
// recurring event), or its iCalendar feed for /events/{slug}.ics.
func (p *pages) event(w http.ResponseWriter, r *http.Request) {
	slug := chi.URLParam(r, "slug")
	if s, ok := strings.CutSuffix(slug, ".ics"); ok {
		p.eventICS(w, r, s)
		return
	}
	occ := uuid.Nil
	if o := r.URL.Query().Get("occurrence"); o != "" {
		id, err := uuid.Parse(o)
		if err != nil {
			p.site.Error(w, r, models.Errorf(models.ENotFound, "That date is not on the calendar."))
			return
		}
		occ = id
	}
	now := p.now()
	ep, err := p.events.EventPage(r.Context(), slug, occ, now)
	if err != nil {
		p.site.Error(w, r, err)
		return
	}
	if p.objects != nil && activitypub.WantsAS2(r) {
		p.objects(w, r, ep.Event.ID) // a fediverse server asking for the event's object
		return
	}
	_, signedIn := web.Viewer(r.Context())
	e := ep.Event
	v := eventView{EventPage: ep, URL: p.base() + eventPath(slug, occ), SignedIn: signedIn,
		ICS: "/events/" + slug + ".ics", Image: absolute(p.base(), e.Image), Now: now, CartURL: p.site.URL("cart", "/items")}
	if e.Address != "" {
		v.Map = "https://www.openstreetmap.org/search?query=" + url.QueryEscape(e.Address)
	}
	if ep.Occurrence.ID != uuid.Nil {
		v.Google = googleLink(e, ep.Occurrence, p.base()+eventPath(slug, uuid.Nil))
	}
	page := p.page(r, e.Title)
	page.Description = e.Summary
	if page.Description == "" {
		page.Description = clip(plainText(e.DescriptionHTML), 300)
	}
	page.Head = joinHead(page.Head, eventHead(p.openGraph(v), p.eventLD(v), p.base()+v.ICS))
	p.site.Render(w, r, http.StatusOK, EventPageView(page, v))
}

// absolute returns u on base when it is a path ("/media/x.jpg"), else u.
func absolute(base, u string) string {
	if u == "" || !strings.HasPrefix(u, "/") || strings.HasPrefix(u, "//") {
		return u
	}
	return base + u
}

// googleLink is a Google Calendar "add event" link for the occurrence.
func googleLink(e models.EventEntry, o models.Occurrence, pageURL string) string {
	const f = "20060102T150405Z"
	details := e.Summary
	if details != "" {
		details += "\n\n"
	}
	details += pageURL
	v := url.Values{"action": {"TEMPLATE"}, "text": {e.Title},
		"dates":   {o.StartsAt.UTC().Format(f) + "/" + o.EndsAt.UTC().Format(f)},
		"details": {details}, "location": {placeText(e)}, "ctz": {e.TimeZone}}
	return "https://calendar.google.com/calendar/render?" + v.Encode()
}

// placeText is the event's place in one line: name and address.
func placeText(e models.EventEntry) string {
	switch {
	case e.Location != "" && e.Address != "" && !strings.HasPrefix(strings.ToLower(e.Address), strings.ToLower(e.Location)):
		return e.Location + ", " + e.Address
	case e.Address != "":
		return e.Address
	}
	return e.Location
}

var tagRE = regexp.MustCompile(`<[^>]*>`)
var blockEndRE = regexp.MustCompile(`(?i)</(p|li|h[1-6]|div|blockquote)>|<br\s*/?>`)
var spacesRE = regexp.MustCompile(`[ \t]+`)
var blankLinesRE = regexp.MustCompile(`\n{3,}`)

// plainText is sanitized HTML as plain text, blocks on their own lines.
func plainText(h string) string {
	h = blockEndRE.ReplaceAllString(h, "\n")
	h = html.UnescapeString(tagRE.ReplaceAllString(h, ""))
	lines := strings.Split(h, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimSpace(spacesRE.ReplaceAllString(l, " "))
	}
	return strings.TrimSpace(blankLinesRE.ReplaceAllString(strings.Join(lines, "\n"), "\n\n"))
}

// clip shortens s to at most n characters at a word, with an ellipsis.
func clip(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)[:n]
	if i := strings.LastIndexByte(string(r), ' '); i > n/2 {
		return string(r)[:i] + "…"
	}
	return string(r) + "…"
}

// ogTag is one OpenGraph <meta property content>.
type ogTag struct{ Property, Content string }

func (p *pages) openGraph(v eventView) []ogTag {
	e := v.Event
	tags := []ogTag{{"og:type", "website"}, {"og:title", e.Title}, {"og:url", v.URL}, {"og:site_name", "Rose Ash"}}
	desc := e.Summary
	if desc == "" {
		desc = clip(plainText(e.DescriptionHTML), 300)
	}
	if v.Occurrence.ID != uuid.Nil {
		desc = strings.TrimSpace(whenText(v.Occurrence.StartsAt, v.Occurrence.EndsAt, e.TimeZone) + ". " + desc)
	}
	tags = append(tags, ogTag{"og:description", desc})
	if v.Image != "" {
		tags = append(tags, ogTag{"og:image", v.Image})
		if e.ImageAlt != "" {
			tags = append(tags, ogTag{"og:image:alt", e.ImageAlt})
		}
	}
	return tags
}

// eventLD is the schema.org Event describing the date shown.
func (p *pages) eventLD(v eventView) map[string]any {
	e := v.Event
	loc := zoneOf(e.TimeZone)
	status := "https://schema.org/EventScheduled"
	if v.Cancelled() {
		status = "https://schema.org/EventCancelled"
	}
	place := map[string]any{"@type": "Place", "name": e.Location}
	if e.Location == "" {
		place["name"] = e.Address
	}
	if e.Address != "" {
		place["address"] = map[string]any{"@type": "PostalAddress", "streetAddress": e.Address}
	}
	ld := map[string]any{
		"@context": "https://schema.org", "@type": "Event", "name": e.Title, "url": v.URL,
		"eventStatus":         status,
		"eventAttendanceMode": "https://schema.org/OfflineEventAttendanceMode",
		"location":            place,
	}
	start, end := e.StartsAt, e.EndsAt
	if v.Occurrence.ID != uuid.Nil {
		start, end = v.Occurrence.StartsAt, v.Occurrence.EndsAt
	}
	ld["startDate"] = start.In(loc).Format(time.RFC3339)
	ld["endDate"] = end.In(loc).Format(time.RFC3339)
	if d := plainText(e.DescriptionHTML); d != "" {
		ld["description"] = d
	} else if e.Summary != "" {
		ld["description"] = e.Summary
	}
	if v.Image != "" {
		ld["image"] = []string{v.Image}
	}
	organiser := e.OrganiserName
	if organiser == "" {
		organiser = "Rose Ash"
	}
	ld["organizer"] = map[string]any{"@type": "Organization", "name": organiser, "url": p.base() + "/"}
	if v.Occurrence.Capacity != nil {
		ld["maximumAttendeeCapacity"] = *v.Occurrence.Capacity
		ld["remainingAttendeeCapacity"] = v.Occurrence.SeatsLeft()
	}
	offers := make([]map[string]any, 0, len(v.Tickets))
	for _, t := range v.Tickets {
		availability := "https://schema.org/InStock"
		switch {
		case t.Sale == models.SaleNotYet:
			availability = "https://schema.org/PreSale"
		case t.Sale == models.SaleEnded:
			availability = "https://schema.org/SoldOut"
			if !v.Cancelled() {
				availability = "https://schema.org/Discontinued"
			}
		case t.SeatsLeft == 0:
			availability = "https://schema.org/SoldOut"
		case t.SeatsLeft > 0 && t.SeatsLeft <= 5:
			availability = "https://schema.org/LimitedAvailability"
		}
		o := map[string]any{"@type": "Offer", "name": t.Name, "price": t.Price().Decimal(),
			"priceCurrency": t.Currency, "availability": availability, "url": v.URL}
		if t.SalesStart != nil {
			o["validFrom"] = t.SalesStart.In(loc).Format(time.RFC3339)
		}
		if t.SalesEnd != nil {
			o["validThrough"] = t.SalesEnd.In(loc).Format(time.RFC3339)
		}
		offers = append(offers, o)
	}
	if len(offers) > 0 {
		ld["offers"] = offers
	}
	return ld
}

// bookLabel is a ticket type's booking button: "Book" when free, "Book
// for £x" when paid.
func bookLabel(t calendars.TicketOffer) string {
	if t.Free() {
		return "Book"
	}
	return "Book for " + t.Price().String()
}

// seatsText says how many seats are left, "" for no limit.
func seatsText(n int) string {
	switch {
	case n < 0:
		return ""
	case n == 0:
		return "Sold out"
	case n == 1:
		return "1 place left"
	}
	return fmt.Sprintf("%d places left", n)
}

// saleText describes a ticket type's sale window in its event's zone, ""
// when it is on sale without limits.
func saleText(t calendars.TicketOffer, zone string) string {
	loc := zoneOf(zone)
	const f = "Mon 2 Jan 2006, 15:04 MST"
	switch t.Sale {
	case models.SaleNotYet:
		return "On sale from " + t.SalesStart.In(loc).Format(f)
	case models.SaleEnded:
		if t.SalesEnd != nil {
			return "Sale ended " + t.SalesEnd.In(loc).Format(f)
		}
		return "No longer on sale"
	}
	if t.SalesEnd != nil {
		return "On sale until " + t.SalesEnd.In(loc).Format(f)
	}
	return ""
}

// maxBookQuantity is the most seats one booking takes.
const maxBookQuantity = 20

// safeHTML is an event's description as HTML: stored sanitized, and
// sanitized again here, since rows written before (or by fixtures) may not
// have been.
func safeHTML(h string) templ.Component { return templ.Raw(calendars.SanitizeHTML(h)) }

// bookMost is the most places one booking form offers: 20, or fewer when
// fewer seats are left.
func bookMost(left int) int {
	if left > 0 && left < maxBookQuantity {
		return left
	}
	return maxBookQuantity
}
