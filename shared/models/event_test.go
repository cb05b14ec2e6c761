package models_test

import (
	"strings"
	"testing"
	"time"

	"rose-ash.com/platform/shared/models"
)

func TestValidateEvent(t *testing.T) {
	start := time.Date(2026, 5, 2, 10, 0, 0, 0, time.UTC)
	good := models.Event{Slug: "bread-making-2", Title: "Bread-making workshop",
		Summary: "Bring an apron.\nFlour provided.", Location: "The bakehouse",
		StartsAt: start, EndsAt: start.Add(3 * time.Hour)}
	for _, tc := range []struct {
		name string
		edit func(*models.Event)
		ok   bool
	}{
		{"good", func(*models.Event) {}, true},
		{"instant", func(e *models.Event) { e.EndsAt = e.StartsAt }, true},
		{"upper slug", func(e *models.Event) { e.Slug = "Bread" }, false},
		{"double hyphen", func(e *models.Event) { e.Slug = "bread--making" }, false},
		{"trailing hyphen", func(e *models.Event) { e.Slug = "bread-" }, false},
		{"long slug", func(e *models.Event) { e.Slug = strings.Repeat("a", 81) }, false},
		{"no title", func(e *models.Event) { e.Title = " " }, false},
		{"control location", func(e *models.Event) { e.Location = "a\x1bb" }, false},
		{"long summary", func(e *models.Event) { e.Summary = strings.Repeat("s", 2001) }, false},
		{"no start", func(e *models.Event) { e.StartsAt = time.Time{} }, false},
		{"ends first", func(e *models.Event) { e.EndsAt = e.StartsAt.Add(-time.Minute) }, false},
	} {
		e := good
		tc.edit(&e)
		err := models.ValidateEvent(e)
		if (err == nil) != tc.ok || (err != nil && models.Code(err) != models.EInvalid) {
			t.Errorf("%s: ValidateEvent = %v, want ok=%v", tc.name, err, tc.ok)
		}
	}
}

// A ticket type is on sale from its sale's start (included) until its end
// (excluded); a date's seats left never go below zero, -1 for no limit.
func TestSaleStateAndSeatsLeft(t *testing.T) {
	at := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	start, end := at, at.Add(time.Hour)
	tt := models.TicketType{SalesStart: &start, SalesEnd: &end}
	for now, want := range map[time.Time]string{
		at.Add(-time.Second): models.SaleNotYet, at: models.SaleOpen, end.Add(-time.Second): models.SaleOpen, end: models.SaleEnded,
	} {
		if got := tt.SaleState(now); got != want {
			t.Errorf("at %v: %s, want %s", now, got, want)
		}
	}
	if got := (models.TicketType{}).SaleState(at); got != models.SaleOpen {
		t.Errorf("no window: %s", got)
	}
	two := 2
	for _, c := range []struct {
		o    models.Occurrence
		want int
	}{{models.Occurrence{}, -1}, {models.Occurrence{Capacity: &two}, 2}, {models.Occurrence{Capacity: &two, Taken: 2}, 0}, {models.Occurrence{Capacity: &two, Taken: 3}, 0}} {
		if got := c.o.SeatsLeft(); got != c.want {
			t.Errorf("%+v: %d seats left, want %d", c.o, got, c.want)
		}
	}
	e := models.EventEntry{Slug: "x", Title: "X", StartsAt: at, EndsAt: at, TimeZone: "Local", Status: models.EventDraft}
	if models.ValidateEventEntry(e) == nil {
		t.Error("the process's Local zone was accepted")
	}
	e.TimeZone = "Europe/London"
	if err := models.ValidateEventEntry(e); err != nil {
		t.Error(err)
	}
}
