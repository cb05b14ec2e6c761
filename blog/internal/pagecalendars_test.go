package internal

import (
	"context"
	"strings"
	"testing"

	"github.com/google/uuid"

	"rose-ash.com/platform/shared/models"
	"rose-ash.com/platform/shared/postgres/pgtest"
	"rose-ash.com/platform/shared/services/calendars"
)

// A page that contains calendars (their container) shows each one's
// widget after its body, once even when the body embeds it; a post, or a
// page containing none, is left as it is.
func TestPageShowsTheCalendarsItContains(t *testing.T) {
	ctx := context.Background()
	db := pgtest.MustPool(t)
	var page uuid.UUID
	if err := db.QueryRow(ctx, `INSERT INTO posts (type, slug, title) VALUES ('page', 'whats-on', 'What''s on') RETURNING id`).Scan(&page); err != nil {
		t.Fatal(err)
	}
	store := calendars.New(db)
	for _, slug := range []string{"workshops", "markets"} {
		if _, err := store.CreateCalendar(ctx, models.Calendar{Slug: slug, Title: slug, ContainerSlug: "whats-on"}); err != nil {
			t.Fatal(err)
		}
	}
	rd := reader{site: mediaTestSite(t), calendars: store}
	html := rd.withCalendars(ctx, models.Post{ID: page, Type: "page", Slug: "whats-on",
		HTML: "<p>Hello</p><p>[[widget:events-calendar:markets]]</p>"})
	if strings.Count(html, "[[widget:events-calendar:markets]]") != 1 || !strings.HasSuffix(html, "<p>[[widget:events-calendar:workshops]]</p>") {
		t.Errorf("the page's body: %s", html)
	}
	if got := rd.withCalendars(ctx, models.Post{ID: page, Type: "post", HTML: "<p>Hi</p>"}); got != "<p>Hi</p>" {
		t.Errorf("a post: %s", got)
	}
	if got := rd.withCalendars(ctx, models.Post{ID: uuid.New(), Type: "page", HTML: "<p>Hi</p>"}); got != "<p>Hi</p>" {
		t.Errorf("a page containing no calendar: %s", got)
	}
}
