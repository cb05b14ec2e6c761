package calendars_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"rose-ash.com/platform/shared/models"
	"rose-ash.com/platform/shared/postgres/pgtest"
	"rose-ash.com/platform/shared/services/calendars"
)

func mustCalendar(t *testing.T, db *pgxpool.Pool, slug, title string) uuid.UUID {
	t.Helper()
	var id uuid.UUID
	if err := db.QueryRow(context.Background(),
		`INSERT INTO calendars (slug, title) VALUES ($1, $2) RETURNING id`, slug, title).Scan(&id); err != nil {
		t.Fatal(err)
	}
	return id
}

func mustEvent(t *testing.T, db *pgxpool.Pool, cal uuid.UUID, slug string, starts, ends time.Time, status string) {
	t.Helper()
	ctx := context.Background()
	st := calendars.New(db)
	e, err := st.CreateEvent(ctx, models.EventEntry{CalendarID: cal, Slug: slug, Title: "Event " + slug,
		Summary: "About " + slug, Location: "The hall", TimeZone: "Europe/London", StartsAt: starts, EndsAt: ends,
		Status: models.EventScheduled})
	if err != nil {
		t.Fatalf("add event %s: %v", slug, err)
	}
	if status == models.EventCancelled {
		if err := st.CancelEvent(ctx, e.ID, "Rain"); err != nil {
			t.Fatal(err)
		}
	}
}

func slugs(events []models.Event) []string {
	s := make([]string, len(events))
	for i, e := range events {
		s[i] = e.Slug
	}
	return s
}

func TestUpcomingEvents(t *testing.T) {
	ctx := context.Background()
	db := pgtest.MustPool(t)
	st := calendars.New(db)
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	h := time.Hour

	events, err := st.UpcomingEvents(ctx, now, 5)
	if err != nil || events == nil || len(events) != 0 {
		t.Fatalf("no events = %#v, %v; want an empty slice", events, err)
	}

	community := mustCalendar(t, db, "community", "Community")
	market := mustCalendar(t, db, "market-days", "Market days")
	mustEvent(t, db, community, "yesterday", now.Add(-26*h), now.Add(-24*h), "scheduled")
	mustEvent(t, db, community, "just-ended", now.Add(-2*h), now, "scheduled")
	mustEvent(t, db, community, "under-way", now.Add(-h), now.Add(h), "scheduled")
	mustEvent(t, db, market, "next-week", now.Add(7*24*h), now.Add(7*24*h+2*h), "scheduled")
	mustEvent(t, db, community, "tomorrow", now.Add(24*h), now.Add(26*h), "scheduled")
	mustEvent(t, db, community, "called-off", now.Add(2*24*h), now.Add(2*24*h+h), "cancelled")
	mustEvent(t, db, market, "tomorrow-long", now.Add(24*h), now.Add(30*h), "scheduled")
	mustEvent(t, db, market, "next-month", now.Add(30*24*h), now.Add(30*24*h+h), "scheduled")

	events, err = st.UpcomingEvents(ctx, now, 10)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"under-way", "tomorrow", "tomorrow-long", "next-week", "next-month"}
	if got := slugs(events); !slices.Equal(got, want) {
		t.Fatalf("upcoming = %v, want %v (past and cancelled left out, soonest first)", got, want)
	}
	e := events[3]
	if e.CalendarSlug != "market-days" || e.CalendarTitle != "Market days" || e.Title != "Event next-week" ||
		e.Summary != "About next-week" || e.Location != "The hall" || e.ID == uuid.Nil ||
		!e.StartsAt.Equal(now.Add(7*24*h)) || !e.EndsAt.Equal(now.Add(7*24*h+2*h)) ||
		e.StartsAt.Location() != time.UTC || e.EndsAt.Location() != time.UTC {
		t.Fatalf("event = %+v", e)
	}

	events, err = st.UpcomingEvents(ctx, now, 2)
	if err != nil {
		t.Fatal(err)
	}
	if got := slugs(events); !slices.Equal(got, want[:2]) {
		t.Fatalf("limit 2 gives %v", got)
	}

	// A later clock moves the window.
	events, err = st.UpcomingEvents(ctx, now.Add(10*24*h), 10)
	if err != nil {
		t.Fatal(err)
	}
	if got := slugs(events); !slices.Equal(got, want[4:]) {
		t.Fatalf("ten days later: %v", got)
	}

	for _, limit := range []int{0, -1, 101} {
		if _, err := st.UpcomingEvents(ctx, now, limit); models.Code(err) != models.EInvalid {
			t.Errorf("limit %d: %v, want invalid", limit, err)
		}
	}
}

func TestEventsMustEndAfterTheyStartAndBeUniquePerCalendar(t *testing.T) {
	db := pgtest.MustPool(t)
	cal := mustCalendar(t, db, "community", "Community")
	now := time.Now()
	ctx := context.Background()
	insert := `INSERT INTO events (calendar_id, slug, title, starts_at, ends_at) VALUES ($1, $2, 'T', $3, $4)`
	if _, err := db.Exec(ctx, insert, cal, "backwards", now, now.Add(-time.Minute)); err == nil {
		t.Error("an event ending before it starts was stored")
	}
	if _, err := db.Exec(ctx, insert, cal, "twice", now, now); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(ctx, insert, cal, "twice", now, now); err == nil {
		t.Error("two events with one slug in one calendar")
	}
	if _, err := db.Exec(ctx, insert, cal, "Not A Slug", now, now); err == nil {
		t.Error("a malformed slug was stored")
	}
}

// A calendar's widget lists only that calendar's coming events; an unknown
// or impossible slug is not found.
func TestCalendarUpcoming(t *testing.T) {
	ctx := context.Background()
	db := pgtest.MustPool(t)
	st := calendars.New(db)
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	h := time.Hour
	community := mustCalendar(t, db, "community", "Community")
	market := mustCalendar(t, db, "market-days", "Market days")
	if _, err := db.Exec(ctx, `UPDATE calendars SET description = 'Our gatherings.' WHERE id = $1`, community); err != nil {
		t.Fatal(err)
	}
	mustEvent(t, db, community, "past", now.Add(-3*h), now.Add(-2*h), "scheduled")
	mustEvent(t, db, community, "later", now.Add(48*h), now.Add(50*h), "scheduled")
	mustEvent(t, db, community, "sooner", now.Add(24*h), now.Add(26*h), "scheduled")
	mustEvent(t, db, community, "off", now.Add(30*h), now.Add(31*h), "cancelled")
	mustEvent(t, db, market, "elsewhere", now.Add(h), now.Add(2*h), "scheduled")

	cal, events, err := st.CalendarUpcoming(ctx, "community", now, 10)
	if err != nil {
		t.Fatal(err)
	}
	if cal.ID != community || cal.Slug != "community" || cal.Title != "Community" || cal.Description != "Our gatherings." {
		t.Fatalf("calendar %+v", cal)
	}
	if got, want := slugs(events), []string{"sooner", "later"}; !slices.Equal(got, want) {
		t.Fatalf("events %v, want %v", got, want)
	}
	if _, events, _ := st.CalendarUpcoming(ctx, "community", now, 1); len(events) != 1 {
		t.Fatalf("limit 1 gave %d events", len(events))
	}
	_, events, err = st.CalendarUpcoming(ctx, "market-days", now.Add(100*h), 10)
	if err != nil || events == nil || len(events) != 0 {
		t.Fatalf("a calendar with nothing coming = %#v, %v; want an empty slice", events, err)
	}
	for _, slug := range []string{"nope", "", "../etc", "Community"} {
		if _, _, err := st.CalendarUpcoming(ctx, slug, now, 10); models.Code(err) != models.ENotFound {
			t.Errorf("%q: %v, want not found", slug, err)
		}
	}
	if _, _, err := st.CalendarUpcoming(ctx, "community", now, 0); models.Code(err) != models.EInvalid {
		t.Errorf("limit 0: %v", err)
	}
}
