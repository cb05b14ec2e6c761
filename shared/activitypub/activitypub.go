// Package activitypub puts the platform on the fediverse: every service is
// an actor on its own host (@blog@blog.example, @market@market.example...),
// federation also hosts one actor per user, and all of them sign with the
// one site keypair. It serves WebFinger, NodeInfo, actor documents and
// their collections; verifies and processes what arrives in the inboxes;
// and resolves remote actors through the SSRF-safe client with signed GETs.
// What our actors send goes through the delivery subpackage.
//
// One inbox POST, top to bottom: inbox.go (checks, signature) stores it
// through batch.go (group commit into ap_inbox); process.go claims it and
// handle.go dispatches it by type to follows.go, notes.go, reactions.go or
// deletes.go, which hand what it means to the hub to Hooks (hooks.go).
//
// Tables this package alone writes: ap_keypair (keys.go), ap_actors (the
// Resolver's cache of remote actors; an actor's own Delete marks it gone),
// ap_followers (followers of our actors, services' and users'), ap_inbox
// (the intake queue). ap_activities and ap_deliveries are delivery's. The
// hub's tables (ap_objects, ap_likes, ap_announces, ap_notifications,
// ap_following) are services/social's: this package hands them what
// arrives through Hooks and never writes them; users is identity's.
package activitypub

import (
	"encoding/json"
	"mime"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"sync"

	"github.com/microcosm-cc/bluemonday"
)

// Vocabulary and media types.
const (
	// ContextURL is the ActivityStreams JSON-LD context.
	ContextURL = "https://www.w3.org/ns/activitystreams"
	// SecurityContextURL is the context of publicKey.
	SecurityContextURL = "https://w3id.org/security/v1"
	// Public is the special collection that makes an object public.
	Public = "https://www.w3.org/ns/activitystreams#Public"
	// MediaType is what actor and activity documents are served as.
	MediaType = "application/activity+json"
	// LDMediaType is the other media type peers ask for.
	LDMediaType = `application/ld+json; profile="https://www.w3.org/ns/activitystreams"`
	// AcceptHeader is sent when fetching remote documents.
	AcceptHeader = `application/activity+json, application/ld+json; profile="https://www.w3.org/ns/activitystreams"`
	// MaxBody caps an inbox POST and a fetched document, as Mastodon does.
	MaxBody = 1 << 20
)

// UserActorID is the id of a platform user's actor at federation.
func UserActorID(federationBaseURL, username string) string {
	return strings.TrimRight(federationBaseURL, "/") + "/users/" + username
}

// ServiceActorID is the id of a service's own actor on its own host.
func ServiceActorID(serviceBaseURL, service string) string {
	return strings.TrimRight(serviceBaseURL, "/") + "/users/" + service
}

// FollowersID is the followers collection of an actor.
func FollowersID(actorID string) string { return actorID + "/followers" }

// KeyID is the key id every local actor signs with: the site key, named
// under the actor.
func KeyID(actorID string) string { return actorID + "#main-key" }

// WantsAS2 reports whether a request asks for an ActivityStreams document
// rather than HTML.
func WantsAS2(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept"), ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		switch mt {
		case "application/activity+json":
			return true
		case "application/ld+json":
			// Without a profile it is still JSON-LD asked for by a peer.
			if p := params["profile"]; p == "" || strings.Contains(p, "activitystreams") {
				return true
			}
		}
	}
	return false
}

// WriteJSON writes an ActivityStreams document with the media type asked
// for (activity+json unless the client asked for ld+json only).
func WriteJSON(w http.ResponseWriter, r *http.Request, status int, doc any) {
	ct := MediaType
	if a := r.Header.Get("Accept"); strings.Contains(a, "application/ld+json") && !strings.Contains(a, "application/activity+json") {
		ct = LDMediaType
	}
	w.Header().Set("Content-Type", ct+"; charset=utf-8")
	w.Header().Set("Vary", "Accept")
	w.Header().Set("Cache-Control", "max-age=60")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(doc)
}

var (
	policyOnce sync.Once
	policy     *bluemonday.Policy
)

// SanitizeHTML cleans HTML from remote servers (notes, bios) with one
// policy, created once: Mastodon's subset of HTML (paragraphs, line breaks,
// links, emphasis, lists, quotes, code), links opened without referrer.
func SanitizeHTML(html string) string {
	policyOnce.Do(func() {
		p := bluemonday.NewPolicy()
		p.AllowElements("p", "br", "span", "strong", "b", "em", "i", "u", "del", "s", "blockquote", "pre", "code",
			"ul", "ol", "li", "h1", "h2", "h3", "h4", "h5", "h6", "sub", "sup")
		p.AllowStandardURLs()
		p.AllowURLSchemes("http", "https")
		p.AllowAttrs("href").OnElements("a")
		p.AllowAttrs("class").Matching(bluemonday.SpaceSeparatedTokens).OnElements("a", "span")
		p.AllowAttrs("rel").OnElements("a")
		p.RequireNoReferrerOnLinks(true)
		p.AddTargetBlankToFullyQualifiedLinks(true)
		policy = p
	})
	return strings.TrimSpace(policy.Sanitize(html))
}

// hostOf is the host (with port) of a URL, "" when it has none.
func hostOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return strings.ToLower(u.Host)
}

// SameObject reports whether two objects we sent (a Note, an Article, an
// Event) read the same to followers: equal but for "updated", compared
// after a JSON round trip so that a stored copy and a new one have the
// same types. A publisher sends Update only when they differ.
func SameObject(a, b map[string]any) bool {
	norm := func(m map[string]any) map[string]any {
		out := make(map[string]any, len(m))
		for k, v := range m {
			if k != "updated" {
				out[k] = v
			}
		}
		raw, _ := json.Marshal(out)
		var back map[string]any
		_ = json.Unmarshal(raw, &back)
		return back
	}
	return reflect.DeepEqual(norm(a), norm(b))
}

// AbsoluteURL makes ref, an image or a link of one of our objects,
// absolute against base (a service's public URL): an http(s) URL is kept,
// a path (/media/x.jpg) joined to base, anything else ("", //host, other
// schemes) gives "".
func AbsoluteURL(base, ref string) string {
	switch {
	case ref == "":
		return ""
	case strings.HasPrefix(ref, "https://") || strings.HasPrefix(ref, "http://"):
		return ref
	case strings.HasPrefix(ref, "/") && !strings.HasPrefix(ref, "//"):
		return base + ref
	}
	return ""
}

// ImageMediaType guesses an image's media type from its URL's extension
// (png, gif, webp, avif; JPEG otherwise).
func ImageMediaType(u string) string {
	path := u
	if pu, err := url.Parse(u); err == nil {
		path = pu.Path
	}
	switch ext := strings.ToLower(path[strings.LastIndex(path, ".")+1:]); ext {
	case "png", "gif", "webp", "avif":
		return "image/" + ext
	}
	return "image/jpeg"
}
