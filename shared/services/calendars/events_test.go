package calendars_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"rose-ash.com/platform/shared/models"
	"rose-ash.com/platform/shared/postgres/pgtest"
	"rose-ash.com/platform/shared/services/calendars"
)

var london = mustZone("Europe/London")

func mustZone(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

func ptr[T any](v T) *T { return &v }

// occurrences returns the event's occurrences, soonest first.
func occurrences(t *testing.T, db *pgxpool.Pool, eventID uuid.UUID) []models.Occurrence {
	t.Helper()
	rows, err := db.Query(context.Background(), `
		SELECT id, event_id, starts_at, ends_at, capacity, taken, status FROM event_occurrences
		WHERE event_id = $1 ORDER BY starts_at`, eventID)
	if err != nil {
		t.Fatal(err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (models.Occurrence, error) {
		var o models.Occurrence
		err := r.Scan(&o.ID, &o.EventID, &o.StartsAt, &o.EndsAt, &o.Capacity, &o.Taken, &o.Status)
		return o, err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func localTimes(os []models.Occurrence, status string) []string {
	var out []string
	for _, o := range os {
		if status == "" || o.Status == status {
			out = append(out, o.StartsAt.In(london).Format("2006-01-02 15:04"))
		}
	}
	return out
}

// thursdayClub is a weekly Thursday 19:00 (London) event over the end of
// British Summer Time (25 October 2026).
func thursdayClub(cal uuid.UUID) models.EventEntry {
	start := time.Date(2026, 10, 1, 19, 0, 0, 0, london)
	return models.EventEntry{CalendarID: cal, Slug: "thursday-club", Title: "Thursday club",
		TimeZone: "Europe/London", StartsAt: start, EndsAt: start.Add(2 * time.Hour), Status: models.EventScheduled,
		RRule: "FREQ=WEEKLY;BYDAY=TH;COUNT=6", Capacity: ptr(10),
		TicketTypes: []models.TicketType{{Name: "Place", PriceMinor: 0}}}
}

func newStore(db *pgxpool.Pool, now time.Time) *calendars.Store {
	st := calendars.New(db)
	st.Now = func() time.Time { return now }
	return st
}

// A weekly event keeps its local time across the DST change; an exception
// takes a date out and an added date puts one in.
func TestRecurrenceKeepsLocalTimeWithExceptionsAndAddedDates(t *testing.T) {
	ctx := context.Background()
	db := pgtest.MustPool(t)
	st := newStore(db, time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC))
	cal := mustCalendar(t, db, "clubs", "Clubs")
	e := thursdayClub(cal)
	e.ExDates = []time.Time{time.Date(2026, 10, 15, 19, 0, 0, 0, london)}
	e.RDates = []time.Time{time.Date(2026, 10, 17, 14, 0, 0, 0, london)}
	saved, err := st.CreateEvent(ctx, e)
	if err != nil {
		t.Fatal(err)
	}
	occ := occurrences(t, db, saved.ID)
	want := []string{"2026-10-01 19:00", "2026-10-08 19:00", "2026-10-17 14:00", "2026-10-22 19:00",
		"2026-10-29 19:00", "2026-11-05 19:00"}
	if got := localTimes(occ, ""); !slices.Equal(got, want) {
		t.Fatalf("occurrences (London) = %v, want %v", got, want)
	}
	// In UTC: 18:00 in summer time, 19:00 after it.
	if h := occ[0].StartsAt.UTC().Hour(); h != 18 {
		t.Errorf("1 October starts at %d:00 UTC, want 18", h)
	}
	if h := occ[4].StartsAt.UTC().Hour(); h != 19 {
		t.Errorf("29 October starts at %d:00 UTC, want 19", h)
	}
	for _, o := range occ {
		if o.EndsAt.Sub(o.StartsAt) != 2*time.Hour || o.Capacity == nil || *o.Capacity != 10 || o.Status != "scheduled" {
			t.Errorf("occurrence %+v: want two hours, 10 seats, scheduled", o)
		}
	}
}

// An unbounded rule is written for the horizon only, and ExtendHorizons
// adds the dates that come within it later.
func TestRecurrenceHorizonIsExtended(t *testing.T) {
	ctx := context.Background()
	db := pgtest.MustPool(t)
	now := time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC)
	st := newStore(db, now)
	cal := mustCalendar(t, db, "clubs", "Clubs")
	e := thursdayClub(cal)
	e.RRule = "FREQ=WEEKLY;BYDAY=TH"
	saved, err := st.CreateEvent(ctx, e)
	if err != nil {
		t.Fatal(err)
	}
	n := len(occurrences(t, db, saved.ID))
	if n != 48 { // 1 October 2026 to 26 August 2027
		t.Fatalf("%d weekly occurrences within a year of 1 September, want 48", n)
	}
	st.Now = func() time.Time { return now.AddDate(0, 1, 0) }
	added, err := st.ExtendHorizons(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if added < 4 || len(occurrences(t, db, saved.ID)) != n+added {
		t.Fatalf("a month later %d added (%d in all), want 4 or 5 more than %d", added, len(occurrences(t, db, saved.ID)), n)
	}
	if again, err := st.ExtendHorizons(ctx); err != nil || again != 0 {
		t.Fatalf("extending again added %d, %v", again, err)
	}
}

// Editing a recurring event keeps the occurrences still in its schedule
// (with their seats taken); a date taken out that had bookings is
// cancelled, one without is removed; the capacity cannot go below seats
// taken.
func TestEditingKeepsTakenSeats(t *testing.T) {
	ctx := context.Background()
	db := pgtest.MustPool(t)
	st := newStore(db, time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC))
	cal := mustCalendar(t, db, "clubs", "Clubs")
	saved, err := st.CreateEvent(ctx, thursdayClub(cal))
	if err != nil {
		t.Fatal(err)
	}
	before := occurrences(t, db, saved.ID)
	// Seats taken on the 2nd and 3rd dates.
	if _, err := db.Exec(ctx, `UPDATE event_occurrences SET taken = 3 WHERE id = ANY($1)`,
		[]uuid.UUID{before[1].ID, before[2].ID}); err != nil {
		t.Fatal(err)
	}

	e := saved
	e.Title = "Thursday evening club"
	e.ExDates = []time.Time{before[1].StartsAt, before[3].StartsAt} // one booked, one not
	e.RRule = "FREQ=WEEKLY;BYDAY=TH;COUNT=7"
	e.Capacity = ptr(2)
	if _, err := st.UpdateEvent(ctx, e); models.Code(err) != models.EInvalid ||
		!strings.Contains(err.Error(), "3 seats are already taken") {
		t.Fatalf("capacity below seats taken: %v", err)
	}
	e.Capacity = ptr(12)
	updated, err := st.UpdateEvent(ctx, e)
	if err != nil {
		t.Fatal(err)
	}
	if updated.Version != saved.Version+1 || updated.Title != "Thursday evening club" {
		t.Fatalf("saved %+v", updated)
	}
	after := occurrences(t, db, saved.ID)
	byID := map[uuid.UUID]models.Occurrence{}
	for _, o := range after {
		byID[o.ID] = o
	}
	if o, ok := byID[before[1].ID]; !ok || o.Status != "cancelled" || o.Taken != 3 {
		t.Errorf("the booked date taken out = %+v (found %v), want it cancelled with its 3 seats", o, ok)
	}
	if _, ok := byID[before[3].ID]; ok {
		t.Errorf("the unbooked date taken out is still there")
	}
	if o := byID[before[2].ID]; o.Status != "scheduled" || o.Taken != 3 || *o.Capacity != 12 {
		t.Errorf("the booked date kept = %+v, want scheduled, 3 taken of 12", o)
	}
	for _, i := range []int{0, 4, 5} {
		if _, ok := byID[before[i].ID]; !ok {
			t.Errorf("date %d lost its row", i)
		}
	}
	if got := localTimes(after, "scheduled"); len(got) != 5 || got[4] != "2026-11-12 19:00" {
		t.Errorf("scheduled dates %v, want 5 ending with the added 12 November", got)
	}

	// A one-off event moved keeps its one row and its seats.
	start := time.Date(2026, 12, 5, 10, 0, 0, 0, london)
	one, err := st.CreateEvent(ctx, models.EventEntry{CalendarID: cal, Slug: "fair", Title: "Fair",
		TimeZone: "Europe/London", StartsAt: start, EndsAt: start.Add(time.Hour), Status: models.EventScheduled})
	if err != nil {
		t.Fatal(err)
	}
	row := occurrences(t, db, one.ID)[0]
	if _, err := db.Exec(ctx, `UPDATE event_occurrences SET taken = 1 WHERE id = $1`, row.ID); err != nil {
		t.Fatal(err)
	}
	one.StartsAt, one.EndsAt = start.Add(time.Hour), start.Add(2*time.Hour)
	if _, err := st.UpdateEvent(ctx, one); err != nil {
		t.Fatal(err)
	}
	if occ := occurrences(t, db, one.ID); len(occ) != 1 || occ[0].ID != row.ID || occ[0].Taken != 1 ||
		!occ[0].StartsAt.Equal(start.Add(time.Hour)) {
		t.Errorf("moved one-off event's occurrences = %+v", occ)
	}
}

// A stale save is a conflict and changes nothing.
func TestOptimisticLocking(t *testing.T) {
	ctx := context.Background()
	db := pgtest.MustPool(t)
	st := newStore(db, time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC))
	cal := mustCalendar(t, db, "clubs", "Clubs")
	saved, err := st.CreateEvent(ctx, thursdayClub(cal))
	if err != nil {
		t.Fatal(err)
	}
	first, second := saved, saved
	first.Title = "First edit"
	if _, err := st.UpdateEvent(ctx, first); err != nil {
		t.Fatal(err)
	}
	second.Title = "Second edit"
	if _, err := st.UpdateEvent(ctx, second); models.Code(err) != models.EConflict {
		t.Fatalf("stale save: %v, want a conflict", err)
	}
	got, err := st.Event(ctx, "thursday-club")
	if err != nil || got.Title != "First edit" || got.Version != 2 {
		t.Fatalf("after the stale save: %+v, %v", got, err)
	}

	c, err := st.CreateCalendar(ctx, models.Calendar{Slug: "talks", Title: "Talks"})
	if err != nil {
		t.Fatal(err)
	}
	c1 := c
	c1.Title = "Evening talks"
	if c1, err = st.UpdateCalendar(ctx, c1); err != nil || c1.Version != 2 {
		t.Fatalf("update calendar: %+v, %v", c1, err)
	}
	if _, err := st.UpdateCalendar(ctx, c); models.Code(err) != models.EConflict {
		t.Fatalf("stale calendar save: %v", err)
	}
	if _, err := st.CreateCalendar(ctx, models.Calendar{Slug: "talks", Title: "Again"}); models.Code(err) != models.EConflict {
		t.Fatalf("a second calendar with one slug: %v", err)
	}

	// A calendar belongs to a blog page, named by its slug.
	var page uuid.UUID
	if err := db.QueryRow(ctx, `INSERT INTO posts (type, slug, title) VALUES ('page', 'whats-on', 'What''s on') RETURNING id`).Scan(&page); err != nil {
		t.Fatal(err)
	}
	c1.ContainerSlug = "no-such-page"
	if _, err := st.UpdateCalendar(ctx, c1); models.Code(err) != models.EInvalid || !strings.Contains(err.Error(), "no blog page /no-such-page") {
		t.Fatalf("an unknown container page: %v", err)
	}
	c1.ContainerSlug = "whats-on"
	if _, err := st.UpdateCalendar(ctx, c1); err != nil {
		t.Fatal(err)
	}
	got2, err := st.CalendarBySlug(ctx, "talks")
	if err != nil || got2.ContainerPostID == nil || *got2.ContainerPostID != page || got2.ContainerSlug != "whats-on" || got2.Version != 3 {
		t.Fatalf("calendar with its page: %+v, %v", got2, err)
	}
	if of, err := st.CalendarsOfPage(ctx, page); err != nil || len(of) != 1 || of[0].Slug != "talks" {
		t.Fatalf("calendars of the page: %+v, %v", of, err)
	}
}

// Each mistake is refused with a sentence naming it, and nothing is
// written.
func TestValidationErrors(t *testing.T) {
	ctx := context.Background()
	db := pgtest.MustPool(t)
	st := newStore(db, time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC))
	cal := mustCalendar(t, db, "clubs", "Clubs")
	cases := []struct {
		name string
		edit func(*models.EventEntry)
		says string
	}{
		{"end before start", func(e *models.EventEntry) { e.EndsAt = e.StartsAt.Add(-time.Hour) }, "cannot end before it starts"},
		{"unknown zone", func(e *models.EventEntry) { e.TimeZone = "Mars/Olympus" }, "not a time zone"},
		{"negative price", func(e *models.EventEntry) { e.TicketTypes[0].PriceMinor = -100 }, "cannot be negative"},
		{"sale ends first", func(e *models.EventEntry) {
			e.TicketTypes[0].SalesStart = ptr(e.StartsAt.Add(-24 * time.Hour))
			e.TicketTypes[0].SalesEnd = ptr(e.StartsAt.Add(-48 * time.Hour))
		}, "must end after it starts"},
		{"bad rule", func(e *models.EventEntry) { e.RRule = "EVERY THURSDAY" }, "repeat rule"},
		{"hourly rule", func(e *models.EventEntry) { e.RRule = "FREQ=HOURLY" }, "at most daily"},
		{"negative capacity", func(e *models.EventEntry) { e.Capacity = ptr(-1) }, "cannot be negative"},
		{"no title", func(e *models.EventEntry) { e.Title = "" }, "title"},
		{"same ticket names", func(e *models.EventEntry) {
			e.TicketTypes = append(e.TicketTypes, e.TicketTypes[0])
		}, "Two ticket types"},
	}
	for _, c := range cases {
		e := thursdayClub(cal)
		c.edit(&e)
		_, err := st.CreateEvent(ctx, e)
		if models.Code(err) != models.EInvalid || !strings.Contains(err.Error(), c.says) {
			t.Errorf("%s: %v, want invalid saying %q", c.name, err, c.says)
		}
	}
	var n int
	if err := db.QueryRow(ctx, `SELECT (SELECT count(*) FROM events) + (SELECT count(*) FROM event_occurrences)`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("%d rows written by refused saves, %v", n, err)
	}
	if _, err := st.CreateEvent(ctx, thursdayClub(cal)); err != nil {
		t.Fatal(err)
	}
	e := thursdayClub(cal)
	if _, err := st.CreateEvent(ctx, e); models.Code(err) != models.EConflict {
		t.Errorf("a second event with one slug: %v", err)
	}
}

// OnChange runs in the transaction of every create, update, publication
// and cancellation; its error undoes the change.
func TestOnChangeRunsInTheTransaction(t *testing.T) {
	ctx := context.Background()
	db := pgtest.MustPool(t)
	st := newStore(db, time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC))
	cal := mustCalendar(t, db, "clubs", "Clubs")
	var seen []string
	st.OnChange(func(ctx context.Context, tx pgx.Tx, id uuid.UUID) error {
		e, err := calendars.EventByID(ctx, tx, id)
		if err != nil {
			return err
		}
		seen = append(seen, e.Status+":"+e.Title)
		if e.Title == "Refused" {
			return models.Errorf(models.EUnavailable, "Try again.")
		}
		return nil
	})
	e := thursdayClub(cal)
	e.Status = models.EventDraft
	saved, err := st.CreateEvent(ctx, e)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.PublishEvent(ctx, saved.ID); err != nil {
		t.Fatal(err)
	}
	saved, _ = st.Event(ctx, saved.Slug)
	saved.Title = "Refused"
	if _, err := st.UpdateEvent(ctx, saved); models.Code(err) != models.EUnavailable {
		t.Fatalf("an update whose announcement failed: %v", err)
	}
	if err := st.CancelEvent(ctx, saved.ID, "The hall flooded."); err != nil {
		t.Fatal(err)
	}
	want := []string{"draft:Thursday club", "scheduled:Thursday club", "scheduled:Refused", "cancelled:Thursday club"}
	if !slices.Equal(seen, want) {
		t.Fatalf("OnChange saw %v, want %v", seen, want)
	}
	if got := localTimes(occurrences(t, db, saved.ID), "scheduled"); len(got) != 0 {
		t.Errorf("a cancelled event's scheduled dates: %v", got)
	}
	got, _ := st.Event(ctx, saved.Slug)
	if got.Status != models.EventCancelled || got.CancelReason != "The hall flooded." || got.CancelledAt == nil {
		t.Errorf("cancelled event = %+v", got)
	}
}

// The event page shows the next date, the other dates, and each ticket
// type's seats left at that date (the occurrence's and the type's own
// limit, bookings counted) and sale state.
func TestEventPage(t *testing.T) {
	ctx := context.Background()
	db := pgtest.MustPool(t)
	now := time.Date(2026, 10, 10, 0, 0, 0, 0, time.UTC)
	st := newStore(db, time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC)) // saved before the series began
	cal := mustCalendar(t, db, "clubs", "Clubs")
	e := thursdayClub(cal)
	e.Capacity = ptr(10)
	e.DescriptionHTML = `<p>Bring <b>tea</b></p><script>alert(1)</script>`
	e.TicketTypes = []models.TicketType{
		{Name: "Free place"},
		{Name: "Supporter", PriceMinor: 500, Capacity: ptr(2)},
		{Name: "Late", SalesStart: ptr(now.Add(48 * time.Hour))},
	}
	saved, err := st.CreateEvent(ctx, e)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(saved.DescriptionHTML, "script") || !strings.Contains(saved.DescriptionHTML, "<b>tea</b>") {
		t.Errorf("description stored as %q", saved.DescriptionHTML)
	}
	p, err := st.EventPage(ctx, "thursday-club", uuid.Nil, now)
	if err != nil {
		t.Fatal(err)
	}
	// 1 and 8 October are past: the next is the 15th.
	if got := p.Occurrence.StartsAt.In(london).Format("2 Jan 15:04"); got != "15 Oct 19:00" || len(p.Next) != 3 {
		t.Fatalf("shown %s with %d other dates, want 15 Oct 19:00 and 3", got, len(p.Next))
	}
	var supporter uuid.UUID
	for _, tt := range p.Event.TicketTypes {
		if tt.Name == "Supporter" {
			supporter = tt.ID
		}
	}
	if _, err := db.Exec(ctx, `
		INSERT INTO bookings (occurrence_id, ticket_type_id, quantity, email, status) VALUES
		  ($1, $2, 1, 'a@example.org', 'confirmed'), ($1, $2, 1, 'b@example.org', 'cancelled')`,
		p.Occurrence.ID, supporter); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(ctx, `UPDATE event_occurrences SET taken = 8 WHERE id = $1`, p.Occurrence.ID); err != nil {
		t.Fatal(err)
	}
	p, err = st.EventPage(ctx, "thursday-club", p.Occurrence.ID, now)
	if err != nil {
		t.Fatal(err)
	}
	left := map[string]int{}
	sale := map[string]string{}
	for _, o := range p.Tickets {
		left[o.Name], sale[o.Name] = o.SeatsLeft, o.Sale
	}
	if left["Free place"] != 2 || left["Supporter"] != 1 || sale["Late"] != models.SaleNotYet || sale["Free place"] != models.SaleOpen {
		t.Errorf("seats left %v, sale %v", left, sale)
	}
	// Another date of the series, and one of another event.
	other := p.Next[1]
	if p, err = st.EventPage(ctx, "thursday-club", other.ID, now); err != nil || p.Occurrence.ID != other.ID {
		t.Fatalf("another date: %+v, %v", p.Occurrence, err)
	}
	if _, err := st.EventPage(ctx, "thursday-club", uuid.New(), now); models.Code(err) != models.ENotFound {
		t.Errorf("an unknown date: %v", err)
	}
	// A draft has no public page.
	d := thursdayClub(cal)
	d.Slug, d.Status = "secret-plans", models.EventDraft
	if _, err := st.CreateEvent(ctx, d); err != nil {
		t.Fatal(err)
	}
	if _, err := st.EventPage(ctx, "secret-plans", uuid.Nil, now); models.Code(err) != models.ENotFound {
		t.Errorf("a draft's page: %v", err)
	}

	hits, err := st.Search(ctx, "CLUB", 10)
	if err != nil || len(hits) != 2 || hits[0].Kind != "calendar" || hits[1].Slug != "thursday-club" {
		t.Errorf("search = %+v, %v (the calendar, then the published event only)", hits, err)
	}
	month, err := st.Between(ctx, time.Date(2026, 10, 1, 0, 0, 0, 0, london), time.Date(2026, 11, 1, 0, 0, 0, 0, london), "clubs")
	if err != nil || len(month) != 5 || month[0].OccurrenceID == uuid.Nil || month[0].TimeZone != "Europe/London" {
		t.Errorf("October = %d items, %v", len(month), err)
	}
	past, err := st.Past(ctx, now, calendars.UpcomingQuery{Limit: 10})
	if err != nil || len(past) != 2 || !past[0].StartsAt.After(past[1].StartsAt) {
		t.Errorf("past = %+v, %v", past, err)
	}
}
