package activitypub

import (
	"context"
	"fmt"
	"html"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// Posts: a Create or Update of a Note, Article, Page, Event or Question is
// checked here (its author, its host) and read into an Object, which the
// hub keeps (Hooks.ObjectReceived). A Create or Update of an actor is the
// actor changing its profile.

// onCreate handles a Create or Update: of a post, which the hub keeps; of
// an actor (an Update only), which is stored again.
func (s *Service) onCreate(ctx context.Context, tx pgx.Tx, act map[string]any, typ, actor string, fromOrigin bool) error {
	m, ok := act["object"].(map[string]any)
	if !ok {
		return nil
	}
	if actorTypes[str(m["type"])] && typ == "Update" {
		return s.onActorUpdate(ctx, actor, m)
	}
	if !objectTypes[str(m["type"])] {
		return nil
	}
	author := actor
	if attributed := idOf(firstOf(m["attributedTo"])); attributed != "" && attributed != actor {
		if !fromOrigin {
			return fmt.Errorf("%w: %s sent an object attributed to %s", errBadActivity, actor, attributed)
		}
		author = attributed // as its own server says
	}
	if !sameHost(str(m["id"]), author) {
		return fmt.Errorf("%w: object %s is not on its author's host", errBadActivity, str(m["id"]))
	}
	_, err := s.storeObject(ctx, tx, typ, author, m, act, true)
	return err
}

// onActorUpdate stores the profile an actor sent of itself.
func (s *Service) onActorUpdate(ctx context.Context, actor string, doc map[string]any) error {
	if str(doc["id"]) != actor {
		return fmt.Errorf("%w: %s may only update itself", errBadActivity, actor)
	}
	a, err := ParseActor(doc)
	if err != nil {
		return fmt.Errorf("%w: %v", errBadActivity, err)
	}
	return s.Resolver.Store(ctx, a)
}

// storeObject hands a post by actor (typ Create or Update, carried by act,
// nil when it came alone) to the hub, which keeps it and, when notify is
// set, tells the local users it replies to or mentions. It reports whether
// the post was new (never, without Hooks).
func (s *Service) storeObject(ctx context.Context, tx pgx.Tx, typ, actor string, m map[string]any, act map[string]any, notify bool) (bool, error) {
	if s.Hooks == nil {
		return false, nil
	}
	return s.Hooks.ObjectReceived(ctx, tx, readObject(typ, actor, m, act), notify)
}

// readObject reads post m by actor, carried by act (nil when it came
// alone) in an activity of type typ: its audience (from the activity when
// the post names none), its content (an Event's time and place first),
// sanitized, its media, tags and mentions.
func readObject(typ, actor string, m map[string]any, act map[string]any) Object {
	o := Object{URI: str(m["id"]), Type: str(m["type"]), Actor: actor, ActivityURI: str(m["id"]), Update: typ == "Update",
		URL: firstURL(m["url"]), InReplyTo: idOf(m["inReplyTo"]), Name: str(m["name"]),
		Summary: SanitizeHTML(str(m["summary"])), Published: parseTime(str(m["published"])),
		Attachments: []Attachment{}, Tags: []Tag{}}
	if act != nil {
		o.ActivityURI = str(act["id"])
	}
	to, cc := asStrings(m["to"]), asStrings(m["cc"])
	if act != nil && len(to) == 0 && len(cc) == 0 {
		to, cc = asStrings(act["to"]), asStrings(act["cc"])
	}
	o.Visibility = "direct"
	switch {
	case contains(to, Public, "as:Public", "Public"):
		o.Visibility = "public"
	case contains(cc, Public, "as:Public", "Public"):
		o.Visibility = "unlisted"
	case containsSuffix(append(to, cc...), "/followers"):
		o.Visibility = "followers"
	}
	content := str(m["content"])
	if content == "" {
		if cm, ok := m["contentMap"].(map[string]any); ok {
			for _, v := range cm {
				content = str(v)
				break
			}
		}
	}
	if o.Type == "Event" {
		content = eventLine(m) + content
	}
	o.Content = SanitizeHTML(content)
	for _, a := range asList(m["attachment"]) {
		if am, ok := a.(map[string]any); ok {
			if u := firstURL(am["url"]); strings.HasPrefix(u, "https://") || strings.HasPrefix(u, "http://") {
				o.Attachments = append(o.Attachments, Attachment{Type: str(am["type"]), MediaType: str(am["mediaType"]),
					URL: u, Name: str(am["name"])})
			}
		}
	}
	for _, t := range asList(m["tag"]) {
		if tm, ok := t.(map[string]any); ok {
			o.Tags = append(o.Tags, Tag{Type: str(tm["type"]), Name: str(tm["name"]), Href: str(tm["href"])})
			if str(tm["type"]) == "Mention" {
				o.Mentions = append(o.Mentions, str(tm["href"]))
			}
		}
	}
	o.Sensitive, _ = m["sensitive"].(bool)
	if o.Type == "Question" {
		o.Name = ""
	}
	return o
}

// eventLine says when and where an Event (Mobilizon's, say) happens, as
// a paragraph to put before its description; "" when it says neither.
func eventLine(m map[string]any) string {
	var parts []string
	if start, err := time.Parse(time.RFC3339, str(m["startTime"])); err == nil {
		when := start.UTC().Format("Mon 2 Jan 2006, 15:04")
		if end, err := time.Parse(time.RFC3339, str(m["endTime"])); err == nil && end.After(start) {
			if end.UTC().Format("2006-01-02") == start.UTC().Format("2006-01-02") {
				when += "–" + end.UTC().Format("15:04")
			} else {
				when += " – " + end.UTC().Format("Mon 2 Jan 2006, 15:04")
			}
		}
		parts = append(parts, when+" UTC")
	}
	if place, ok := m["location"].(map[string]any); ok {
		where := str(place["name"])
		if addr, ok := place["address"].(map[string]any); ok {
			for _, k := range []string{"streetAddress", "addressLocality"} {
				if v := strings.TrimSpace(str(addr[k])); v != "" && !strings.Contains(where, v) {
					where = strings.TrimPrefix(where+", "+v, ", ")
				}
			}
		}
		if where = strings.TrimSpace(where); where != "" {
			parts = append(parts, where)
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return "<p>" + html.EscapeString(strings.Join(parts, " · ")) + "</p>"
}
