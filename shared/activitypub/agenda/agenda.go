// Package agenda publishes the events service's events on the fediverse as
// Event objects of its actor (@events), shaped as Mobilizon sends them (name,
// startTime, endTime, a Place with a PostalAddress, joinMode,
// maximumAttendeeCapacity, ical:status), and answers the Joins and Leaves
// that remote actors send about them (participation.go). Sync compares an
// event with what was last sent about it and emits Create, Update or Delete
// in the caller's transaction, as package listings does for the market's
// products, so an event and its announcement are saved together or not at
// all.
//
// Mastodon shows an Event as a post made of its name and link (it converts
// every object that is not a Note), GoToSocial, Pleroma, Misskey and
// Mobilizon show its content: so the content carries the date, the place,
// the description and the link as text, and the name stays the event's
// title, which Mobilizon shows as such.
package agenda

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"html"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"rose-ash.com/platform/shared/activitypub"
	"rose-ash.com/platform/shared/activitypub/delivery"
)

// Publisher emits the events service's events.
type Publisher struct {
	// EventsURL is the events service's public base URL.
	EventsURL string
	// Jobs queues the deliveries.
	Jobs *river.Client[pgx.Tx]
}

// Actor is the events service's actor id (acct:events@<events host>).
func (p *Publisher) Actor() string { return activitypub.ServiceActorID(p.EventsURL, "events") }

// ObjectID is the Event id of an event: stable when its slug changes, and
// served by the service's ActivityPub routes (/users/events/events/<id>).
func (p *Publisher) ObjectID(eventID uuid.UUID) string {
	return p.Actor() + "/events/" + eventID.String()
}

// eventID is the event an object id of ours names; ok is false for any
// other id.
func (p *Publisher) eventID(objectID string) (uuid.UUID, bool) {
	rest, found := strings.CutPrefix(objectID, p.Actor()+"/events/")
	if !found {
		return uuid.Nil, false
	}
	id, err := uuid.Parse(rest)
	return id, err == nil && id.String() == rest
}

// Context is the JSON-LD context of the activities and objects sent: the
// ActivityStreams vocabulary plus the terms Mobilizon defines for events
// (schema.org's place and capacity, Mobilizon's joinMode, iCalendar's
// status).
var Context = []any{activitypub.ContextURL, map[string]any{
	"sc":                       "http://schema.org#",
	"ical":                     "http://www.w3.org/2002/12/cal/ical#",
	"mz":                       "https://joinmobilizon.org/ns#",
	"sensitive":                "as:sensitive",
	"maximumAttendeeCapacity":  "sc:maximumAttendeeCapacity",
	"location":                 map[string]any{"@id": "sc:location", "@type": "sc:Place"},
	"PostalAddress":            "sc:PostalAddress",
	"address":                  map[string]any{"@id": "sc:address", "@type": "sc:PostalAddress"},
	"streetAddress":            "sc:streetAddress",
	"joinModeType":             map[string]any{"@id": "mz:joinModeType", "@type": "rdfs:Class"},
	"joinMode":                 map[string]any{"@id": "mz:joinMode", "@type": "mz:joinModeType"},
	"timezone":                 map[string]any{"@id": "mz:timezone", "@type": "sc:Text"},
	"participationMessage":     map[string]any{"@id": "mz:participationMessage", "@type": "sc:Text"},
	"externalParticipationUrl": map[string]any{"@id": "mz:externalParticipationUrl", "@type": "sc:URL"},
}}

// event is what followers are told of an event.
type event struct {
	ID                   uuid.UUID
	Slug, Title, Summary string
	DescriptionHTML      string
	Location, Address    string
	StartsAt, EndsAt     time.Time
	TimeZone             string
	Image, ImageAlt      string
	Capacity             *int
	RRule                string
	Recurring            bool
	Status               string
	PublishedAt          *time.Time
	CancelReason         string
	UpdatedAt            time.Time
	Organiser            string
	// Free says a place can be had for nothing (a free ticket type): a
	// remote actor's Join can then be booked.
	Free bool
}

// Statuses of an event (events.status).
const (
	statusScheduled = "scheduled"
	statusCancelled = "cancelled"
)

// Sync brings the fediverse up to date with event id, inside tx: a
// published event (scheduled, with published_at set) is sent as Create the
// first time and as Update when what followers see of it (name, times,
// place, status, capacity, description, image, link, whether a place is
// free to join) changed since last sent; a cancelled event that was sent
// is sent as an Update with ical:status CANCELLED; an event followers can
// no longer see (back to draft, deleted) is sent as Delete, if it had been
// sent. A save that changes nothing they see sends nothing. Errors: the
// database's.
func (p *Publisher) Sync(ctx context.Context, tx pgx.Tx, id uuid.UUID) error {
	objectID := p.ObjectID(id)
	// The event's row lock (taken by load) serializes Syncs of one event.
	ev, err := load(ctx, tx, id)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return err
	}
	lastType, last, err := lastSent(ctx, tx, objectID)
	if err != nil {
		return err
	}
	sent := lastType == "Create" || lastType == "Update"
	published := ev.ID != uuid.Nil && ev.PublishedAt != nil
	visible := published && (ev.Status == statusScheduled || (ev.Status == statusCancelled && sent))

	actor := p.Actor()
	to, cc := []any{activitypub.Public}, []any{activitypub.FollowersID(actor)}
	switch {
	case !visible && sent:
		return p.emit(ctx, tx, "Delete", objectID, map[string]any{
			"@context": activitypub.ContextURL, "type": "Delete", "actor": actor, "to": to, "cc": cc,
			"object": map[string]any{"id": objectID, "type": "Tombstone", "formerType": "Event"},
		})
	case !visible:
		return nil
	}
	obj := p.object(ev)
	if !sent {
		return p.emit(ctx, tx, "Create", objectID, map[string]any{
			"@context": Context, "type": "Create", "actor": actor, "published": obj["published"], "to": to, "cc": cc, "object": obj,
		})
	}
	if prev, ok := last["object"].(map[string]any); ok && activitypub.SameObject(prev, obj) {
		return nil
	}
	// Never before the last edit peers hold (Mastodon ignores an Update
	// that is not newer): a recurring event's next date comes without an
	// edit of its row.
	obj["updated"] = latest(ev.UpdatedAt, time.Now()).UTC().Format(time.RFC3339)
	return p.emit(ctx, tx, "Update", objectID, map[string]any{
		"@context": Context, "type": "Update", "actor": actor, "to": to, "cc": cc, "object": obj,
	})
}

func latest(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// lastSent is the latest Create, Update or Delete of objectID ("" when
// none).
func lastSent(ctx context.Context, tx pgx.Tx, objectID string) (string, map[string]any, error) {
	var typ string
	var payload map[string]any
	err := tx.QueryRow(ctx, `SELECT type, payload FROM ap_activities WHERE object_uri = $1 AND type IN ('Create', 'Update', 'Delete')
		ORDER BY created_at DESC, id DESC LIMIT 1`, objectID).Scan(&typ, &payload)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil, nil
	}
	return typ, payload, err
}

func (p *Publisher) emit(ctx context.Context, tx pgx.Tx, typ, objectID string, payload map[string]any) error {
	return delivery.EmitPublic(ctx, tx, p.Jobs, p.Actor(), typ, objectID, payload)
}

// load reads an event for its announcement, locking its row, with the
// times of its next occurrence (a recurring event's next one still to
// end, else its last). Reads only: the calendars store owns the tables.
func load(ctx context.Context, tx pgx.Tx, id uuid.UUID) (event, error) {
	var ev event
	err := tx.QueryRow(ctx, `
		SELECT e.id, e.slug, e.title, e.summary, e.description_html, e.location, e.address, e.starts_at, e.ends_at,
		       e.time_zone, e.image, e.image_alt, e.capacity, e.rrule, e.rrule <> '' OR cardinality(e.rdates) > 0,
		       e.status, e.published_at, e.cancel_reason, e.updated_at, e.organiser_name,
		       EXISTS (SELECT 1 FROM ticket_types t WHERE t.event_id = e.id AND t.price_minor = 0)
		FROM events e WHERE e.id = $1 FOR UPDATE`, id).Scan(
		&ev.ID, &ev.Slug, &ev.Title, &ev.Summary, &ev.DescriptionHTML, &ev.Location, &ev.Address, &ev.StartsAt, &ev.EndsAt,
		&ev.TimeZone, &ev.Image, &ev.ImageAlt, &ev.Capacity, &ev.RRule, &ev.Recurring,
		&ev.Status, &ev.PublishedAt, &ev.CancelReason, &ev.UpdatedAt, &ev.Organiser, &ev.Free)
	if err != nil {
		return event{}, err
	}
	if !ev.Recurring {
		return ev, nil
	}
	err = tx.QueryRow(ctx, `SELECT starts_at, ends_at FROM event_occurrences WHERE event_id = $1 AND status = 'scheduled'
		ORDER BY ends_at > now() DESC, CASE WHEN ends_at > now() THEN starts_at END ASC, starts_at DESC LIMIT 1`, id).
		Scan(&ev.StartsAt, &ev.EndsAt)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return event{}, err
	}
	return ev, nil
}

// zone is the event's time zone (UTC when unknown).
func (ev event) zone() *time.Location {
	if loc, err := time.LoadLocation(ev.TimeZone); err == nil {
		return loc
	}
	return time.UTC
}

// When is an event's date and times as followers read them, in the
// event's time zone: "Saturday 12 December 2026, 19:00–21:00 GMT", or with
// the end's date when it ends on another day.
func When(start, end time.Time, loc *time.Location) string {
	start, end = start.In(loc), end.In(loc)
	s := start.Format("Monday 2 January 2006, 15:04")
	switch {
	case end.Equal(start):
	case end.Year() == start.Year() && end.YearDay() == start.YearDay():
		s += "–" + end.Format("15:04")
	default:
		s += " – " + end.Format("Monday 2 January 2006, 15:04")
	}
	return s + " " + start.Format("MST")
}

// Repeats describes an RFC 5545 recurrence rule in words ("Every week",
// "Every 2 months"), "Repeats" for one it does not read, "" for none.
func Repeats(rrule string) string {
	if rrule == "" {
		return ""
	}
	parts := map[string]string{}
	for _, kv := range strings.Split(strings.TrimPrefix(strings.ToUpper(rrule), "RRULE:"), ";") {
		if k, v, ok := strings.Cut(kv, "="); ok {
			parts[k] = v
		}
	}
	unit := map[string]string{"DAILY": "day", "WEEKLY": "week", "MONTHLY": "month", "YEARLY": "year"}[parts["FREQ"]]
	if unit == "" {
		return "Repeats"
	}
	n, err := strconv.Atoi(parts["INTERVAL"])
	if err != nil || n <= 1 {
		return "Every " + unit
	}
	return fmt.Sprintf("Every %d %ss", n, unit)
}

// object is the event as followers' servers are sent it: a Mobilizon-shaped
// Event whose content is its date, place, description and link.
func (p *Publisher) object(ev event) map[string]any {
	base := strings.TrimRight(p.EventsURL, "/")
	link := base + "/events/" + ev.Slug
	loc := ev.zone()
	cancelled := ev.Status == statusCancelled

	var b strings.Builder
	b.WriteString("<p><strong>" + html.EscapeString(ev.Title) + "</strong></p>")
	if cancelled {
		line := "Cancelled."
		if r := strings.TrimSpace(ev.CancelReason); r != "" {
			line = "Cancelled: " + r
		}
		b.WriteString("<p><strong>" + html.EscapeString(line) + "</strong></p>")
	}
	when := html.EscapeString(When(ev.StartsAt, ev.EndsAt, loc))
	if r := Repeats(ev.RRule); r != "" || ev.Recurring {
		when = html.EscapeString(cmp.Or(r, "Repeats")) + "; next: " + when
	}
	b.WriteString("<p>" + when + "</p>")
	if place := placeText(ev.Location, ev.Address); place != "" {
		b.WriteString("<p>" + html.EscapeString(place) + "</p>")
	}
	if o := strings.TrimSpace(ev.Organiser); o != "" {
		b.WriteString("<p>Organised by " + html.EscapeString(o) + "</p>")
	}
	if s := strings.TrimSpace(ev.Summary); s != "" {
		b.WriteString("<p>" + html.EscapeString(s) + "</p>")
	}
	if d := strings.TrimSpace(activitypub.SanitizeHTML(ev.DescriptionHTML)); d != "" {
		b.WriteString(d)
	}
	b.WriteString(`<p><a href="` + html.EscapeString(link) + `">` + html.EscapeString(link) + `</a></p>`)

	status := "CONFIRMED"
	if cancelled {
		status = "CANCELLED"
	}
	actor := p.Actor()
	obj := map[string]any{
		"id":           p.ObjectID(ev.ID),
		"type":         "Event",
		"name":         ev.Title,
		"attributedTo": actor,
		"actor":        actor,
		"content":      b.String(),
		"mediaType":    "text/html",
		"url":          link,
		"startTime":    ev.StartsAt.In(loc).Format(time.RFC3339),
		"endTime":      ev.EndsAt.In(loc).Format(time.RFC3339),
		"timezone":     loc.String(),
		"joinMode":     "free",
		"ical:status":  status,
		"status":       status,
		"published":    ev.PublishedAt.UTC().Format(time.RFC3339),
		"to":           []any{activitypub.Public},
		"cc":           []any{activitypub.FollowersID(actor)},
		"sensitive":    false,
	}
	if ev.Location != "" || ev.Address != "" {
		place := map[string]any{"type": "Place", "name": cmp.Or(ev.Location, ev.Address)}
		if ev.Address != "" {
			place["address"] = map[string]any{"type": "PostalAddress", "streetAddress": ev.Address}
		}
		obj["location"] = place
	}
	if ev.Capacity != nil {
		obj["maximumAttendeeCapacity"] = *ev.Capacity
	}
	if !ev.Free {
		// Only paid places (bought on the event's page): Mobilizon then
		// links to the page rather than offering a Join we would reject.
		obj["joinMode"] = "external"
		obj["externalParticipationUrl"] = link
	}
	if img := activitypub.AbsoluteURL(base, ev.Image); img != "" {
		alt := cmp.Or(ev.ImageAlt, ev.Title)
		// A Document, which Mobilizon takes as the event's banner (the
		// first Document attached) and Mastodon shows as an image.
		obj["image"] = map[string]any{"type": "Image", "url": img, "mediaType": activitypub.ImageMediaType(img)}
		obj["attachment"] = []any{map[string]any{"type": "Document", "url": img, "mediaType": activitypub.ImageMediaType(img), "name": alt}}
	}
	return obj
}

// placeText is the place in words: its name and address, without saying
// either twice.
func placeText(name, address string) string {
	name, address = strings.TrimSpace(name), strings.TrimSpace(address)
	switch {
	case name == "":
		return address
	case address == "" || strings.Contains(address, name):
		return name
	}
	return name + ", " + address
}
