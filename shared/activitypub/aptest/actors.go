package aptest

import (
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"strings"
)

// showActor serves an actor's document. Like Mastodon it answers HTML
// unless ActivityPub JSON is asked for, and in authorized-fetch mode only to
// a signed GET.
func (s *Server) showActor(w http.ResponseWriter, r *http.Request) {
	a := s.Actor(r.PathValue("username"))
	if a == nil {
		writeError(w, http.StatusNotFound, "Record not found")
		return
	}
	if !wantsActivityJSON(r) {
		s.writeProfilePage(w, a)
		return
	}
	if !s.allowFetch(w, r) {
		return
	}
	writeJSON(w, http.StatusOK, ActivityJSON+"; charset=utf-8", a.Document())
}

// showCollection serves an actor's outbox (the notes AddNote gave it),
// followers, following or featured collection (always empty), or the
// document at its key id when that is a path of its own.
func (s *Server) showCollection(w http.ResponseWriter, r *http.Request) {
	a := s.Actor(r.PathValue("username"))
	if a == nil {
		writeError(w, http.StatusNotFound, "Record not found")
		return
	}
	if a.KeyStyle == KeyDocument || a.KeyStyle == KeyStub {
		if r.URL.Path == strings.TrimPrefix(a.KeyID, s.URL()) {
			if !s.allowFetch(w, r) {
				return
			}
			writeJSON(w, http.StatusOK, ActivityJSON+"; charset=utf-8", a.KeyDocument())
			return
		}
	}
	s.serveCollection(w, r, a)
}

// showInstanceActor serves the instance actor, public even in
// authorized-fetch mode (others must be able to verify its signed fetches).
func (s *Server) showInstanceActor(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, ActivityJSON+"; charset=utf-8", s.instance.Document())
}

// showInstanceCollection serves the instance actor's empty collections.
func (s *Server) showInstanceCollection(w http.ResponseWriter, r *http.Request) {
	s.serveCollection(w, r, s.instance)
}

func (s *Server) serveCollection(w http.ResponseWriter, r *http.Request, a *Actor) {
	var id string
	switch r.URL.Path {
	case strings.TrimPrefix(a.Outbox, s.URL()):
		id = a.Outbox
	case strings.TrimPrefix(a.Followers, s.URL()):
		id = a.Followers
	case strings.TrimPrefix(a.Following, s.URL()):
		id = a.Following
	case strings.TrimPrefix(a.Featured, s.URL()):
		id = a.Featured
	default:
		writeError(w, http.StatusNotFound, "Record not found")
		return
	}
	if !s.allowFetch(w, r) {
		return
	}
	if id == a.Outbox {
		s.serveOutbox(w, r, a)
		return
	}
	writeJSON(w, http.StatusOK, ActivityJSON+"; charset=utf-8", map[string]any{
		"@context":     "https://www.w3.org/ns/activitystreams",
		"id":           id,
		"type":         "OrderedCollection",
		"totalItems":   0,
		"orderedItems": []any{},
	})
}

// serveOutbox serves an actor's outbox as Mastodon does: the collection
// names its first page (?page=true), which holds the Create activities,
// newest first, with their Notes embedded.
func (s *Server) serveOutbox(w http.ResponseWriter, r *http.Request, a *Actor) {
	s.mu.Lock()
	posts := append([]any(nil), s.posts[a.Username]...)
	s.mu.Unlock()
	items := make([]any, 0, len(posts))
	for i := len(posts) - 1; i >= 0; i-- {
		items = append(items, posts[i])
	}
	doc := map[string]any{"@context": "https://www.w3.org/ns/activitystreams", "id": a.Outbox,
		"type": "OrderedCollection", "totalItems": len(items)}
	if r.URL.Query().Get("page") == "" {
		doc["first"] = a.Outbox + "?page=true"
		doc["last"] = a.Outbox + "?min_id=0&page=true"
	} else {
		doc = map[string]any{"@context": "https://www.w3.org/ns/activitystreams", "id": a.Outbox + "?page=true",
			"type": "OrderedCollectionPage", "partOf": a.Outbox, "orderedItems": items}
	}
	writeJSON(w, http.StatusOK, ActivityJSON+"; charset=utf-8", doc)
}

// showProfilePage serves an actor's HTML profile at /@<username>.
func (s *Server) showProfilePage(w http.ResponseWriter, r *http.Request) {
	name, ok := strings.CutPrefix(r.PathValue("handle"), "@")
	a := s.Actor(name)
	if !ok || a == nil {
		writeError(w, http.StatusNotFound, "Record not found")
		return
	}
	s.writeProfilePage(w, a)
}

// writeProfilePage writes an actor's HTML profile, which links its
// ActivityPub document.
func (s *Server) writeProfilePage(w http.ResponseWriter, a *Actor) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	fmt.Fprintf(w, "<!DOCTYPE html>\n<html><head><title>%s</title><link rel=\"alternate\" type=\"%s\" href=\"%s\"></head><body><h1>@%s@%s</h1></body></html>\n",
		html.EscapeString(a.Username), ActivityJSON, html.EscapeString(a.ID), html.EscapeString(a.Username), s.Host())
}

// allowFetch enforces authorized fetch: in that mode a GET must be signed by
// a key the server can fetch, else it answers 401 and returns false.
func (s *Server) allowFetch(w http.ResponseWriter, r *http.Request) bool {
	if !s.opts.authorizedFetch {
		return true
	}
	if _, err := s.verify(r, nil); err != nil {
		writeError(w, http.StatusUnauthorized, "Request not signed: "+err.Error())
		return false
	}
	return true
}

// showWebFinger answers acct:<username>@<host> and actor URLs.
func (s *Server) showWebFinger(w http.ResponseWriter, r *http.Request) {
	resource := r.URL.Query().Get("resource")
	if resource == "" {
		writeError(w, http.StatusBadRequest, "missing resource")
		return
	}
	var a *Actor
	if acct, ok := strings.CutPrefix(resource, "acct:"); ok {
		user, host, _ := strings.Cut(acct, "@")
		if strings.EqualFold(host, s.Host()) {
			a = s.Actor(user)
		}
	} else {
		a = s.actorByURL(resource)
	}
	if a == nil {
		writeError(w, http.StatusNotFound, "Record not found")
		return
	}
	writeJSON(w, http.StatusOK, "application/jrd+json; charset=utf-8", map[string]any{
		"subject": "acct:" + a.Username + "@" + s.Host(),
		"aliases": []string{a.ProfileURL, a.ID},
		"links": []any{
			map[string]any{"rel": "http://webfinger.net/rel/profile-page", "type": "text/html", "href": a.ProfileURL},
			map[string]any{"rel": "self", "type": ActivityJSON, "href": a.ID},
		},
	})
}

func (s *Server) actorByURL(u string) *Actor {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, a := range s.actors {
		if a.ID == u || a.ProfileURL == u {
			return a
		}
	}
	return nil
}

// showHostMeta serves the XRD that points older clients at WebFinger.
func (s *Server) showHostMeta(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/xrd+xml; charset=utf-8")
	fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?>
<XRD xmlns="http://docs.oasis-open.org/ns/xri/xrd-1.0">
  <Link rel="lrdd" template="%s/.well-known/webfinger?resource={uri}"/>
</XRD>
`, s.URL())
}

// showNodeInfoLinks serves the NodeInfo discovery document.
func (s *Server) showNodeInfoLinks(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, "application/json; charset=utf-8", map[string]any{
		"links": []any{map[string]any{
			"rel":  "http://nodeinfo.diaspora.software/ns/schema/2.0",
			"href": s.URL() + "/nodeinfo/2.0",
		}},
	})
}

// showNodeInfo serves NodeInfo 2.0, claiming to be Mastodon.
func (s *Server) showNodeInfo(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	users := len(s.actors)
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, `application/json; profile="http://nodeinfo.diaspora.software/ns/schema/2.0#"`, map[string]any{
		"version":           "2.0",
		"software":          s.software(),
		"protocols":         []string{"activitypub"},
		"services":          map[string]any{"outbound": []string{}, "inbound": []string{}},
		"usage":             map[string]any{"users": map[string]any{"total": users, "activeMonth": users, "activeHalfyear": users}, "localPosts": 0},
		"openRegistrations": false,
		"metadata":          map[string]any{"nodeName": s.Host()},
	})
}

// software is what NodeInfo says the server runs.
func (s *Server) software() map[string]any {
	if s.opts.gotosocial {
		return map[string]any{"name": "gotosocial", "version": "0.17.0"}
	}
	return map[string]any{"name": "mastodon", "version": "4.3.0"}
}

// wantsActivityJSON reports whether the Accept header asks for an
// ActivityPub document rather than a page.
func wantsActivityJSON(r *http.Request) bool {
	accept := r.Header.Get("Accept")
	return strings.Contains(accept, "application/activity+json") ||
		strings.Contains(accept, "application/ld+json") ||
		strings.Contains(accept, "application/json")
}

func writeJSON(w http.ResponseWriter, status int, contentType string, v any) {
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v) // the client has gone if this fails
}

// writeError answers the way Mastodon's API does: {"error": "..."}.
func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, "application/json; charset=utf-8", map[string]string{"error": msg})
}
