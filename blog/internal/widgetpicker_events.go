package internal

import (
	"context"
	"slices"
	"time"

	"rose-ash.com/platform/shared/services/calendars"
)

// pickedEvent is an event the editor lists, with its next (or first)
// date in words.
type pickedEvent struct {
	Slug string `json:"slug"`
	Name string `json:"name"`
	Date string `json:"date"`
}

// eventsFound returns, for the widget picker, the calendars and the
// published events whose name or slug contains q ([[widget:events-calendar:
// <slug>]], [[widget:event:<slug>]]); without q, every calendar and the
// next events (up to pickerLimit each). Never nil.
func (p widgetPicker) eventsFound(ctx context.Context, q string) ([]pickedMarket, []pickedEvent, error) {
	cals, evs := []pickedMarket{}, []pickedEvent{}
	if p.calendars == nil {
		return cals, evs, nil
	}
	if q != "" {
		hits, err := p.calendars.Search(ctx, q, pickerLimit)
		if err != nil {
			return nil, nil, err
		}
		for _, h := range hits {
			if h.Kind == "calendar" {
				cals = append(cals, pickedMarket{Slug: h.Slug, Name: h.Title})
			} else {
				evs = append(evs, pickedEvent{Slug: h.Slug, Name: h.Title, Date: h.StartsAt.Format("2 Jan 2006")})
			}
		}
		return cals, evs, nil
	}
	all, err := p.calendars.Calendars(ctx)
	if err != nil {
		return nil, nil, err
	}
	for _, c := range all[:min(len(all), pickerLimit)] {
		cals = append(cals, pickedMarket{Slug: c.Slug, Name: c.Title})
	}
	next, err := p.calendars.Upcoming(ctx, time.Now(), calendars.UpcomingQuery{Limit: calendars.MaxUpcomingEvents})
	if err != nil {
		return nil, nil, err
	}
	for _, e := range next {
		if len(evs) == pickerLimit {
			break
		}
		if !slices.ContainsFunc(evs, func(p pickedEvent) bool { return p.Slug == e.Slug }) {
			evs = append(evs, pickedEvent{Slug: e.Slug, Name: e.Title, Date: e.StartsAt.Format("2 Jan 2006")})
		}
	}
	return cals, evs, nil
}
