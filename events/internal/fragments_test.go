package internal

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"rose-ash.com/platform/shared/fragments"
	"rose-ash.com/platform/shared/models"
)

// getFragment fetches a fragment with (or, secret "", without) the shared
// secret.
func (e *pagesEnv) getFragment(path, secret string) (int, string) {
	e.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, e.URL+path, nil)
	if secret != "" {
		req.Header.Set(fragments.SecretHeader, secret)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// The event card ([[widget:event:<slug>]] in blog posts) shows the next
// date in the event's zone, the place, the prices and a link to book; it
// needs the shared secret; an unknown or draft event is a 404; the
// upcoming and calendar fragments link each date's event page.
func TestEventCardAndListFragments(t *testing.T) {
	e := startPages(t)
	e.addEvent("bread-making", "Bread making", 3, nil)
	e.addEvent("weekly-club", "Weekly club", 1, func(ev *models.EventEntry) { ev.RRule = "FREQ=WEEKLY;COUNT=2" })
	e.addEvent("secret", "Secret", 4, func(ev *models.EventEntry) { ev.Status = models.EventDraft })
	secret := fragments.Secret(strings.Repeat("s", 32))
	if code, _ := e.getFragment("/internal/fragments/event-card?ref=bread-making", ""); code != http.StatusForbidden {
		t.Errorf("without the secret: %d, want 403", code)
	}
	code, body := e.getFragment("/internal/fragments/event-card?ref=bread-making", secret)
	if code != 200 {
		t.Fatalf("event card: %d\n%s", code, body)
	}
	for _, want := range []string{`class="widget event-card card"`, e.URL + `/events/bread-making"`, "Bread making",
		"19:00–21:00", "Europe/London", "The bakehouse, 3 Mill Lane", "Free – £12.50", "Book a place"} {
		if !strings.Contains(body, want) {
			t.Errorf("the card lacks %q:\n%s", want, body)
		}
	}
	for _, ref := range []string{"secret", "nope", "Bad%20Slug"} {
		if code, _ := e.getFragment("/internal/fragments/event-card?ref="+ref, secret); code != http.StatusNotFound {
			t.Errorf("card of %q: %d, want 404", ref, code)
		}
	}
	ev, _ := e.store.Event(context.Background(), "bread-making")
	if err := e.store.CancelEvent(context.Background(), ev.ID, ""); err != nil {
		t.Fatal(err)
	}
	if _, body := e.getFragment("/internal/fragments/event-card?ref=bread-making", secret); !strings.Contains(body, "This event has been cancelled.") || strings.Contains(body, "Book a place") {
		t.Errorf("a cancelled event's card:\n%s", body)
	}

	_, body = e.getFragment("/internal/fragments/upcoming", secret)
	if strings.Count(body, e.URL+"/events/weekly-club?occurrence=") != 2 || strings.Contains(body, "bread-making") {
		t.Errorf("upcoming fragment:\n%s", body)
	}
	_, body = e.getFragment("/internal/fragments/calendar?ref=workshops", secret)
	if !strings.Contains(body, e.URL+"/calendars/workshops") || !strings.Contains(body, "Weekly club") {
		t.Errorf("calendar fragment:\n%s", body)
	}
}
