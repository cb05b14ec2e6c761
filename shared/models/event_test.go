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
