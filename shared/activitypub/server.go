package activitypub

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
)

// Software names the platform in NodeInfo.
const Software = "rose-ash"

// The paths, on every host, of the actors' avatar and header. They are
// PNG: Mastodon, GoToSocial and the hub's media proxy keep only raster
// images (PNG, JPEG, GIF, WebP), and show an SVG avatar as none.
const (
	IconPath   = "/activitypub/icon.png"
	HeaderPath = "/activitypub/header.png"
)

var (
	//go:embed static/icon.png
	iconPNG []byte
	//go:embed static/header.png
	headerPNG []byte
)

// serveImage answers with a PNG that never changes for a build.
func serveImage(png []byte) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/png")
		w.Header().Set("Cache-Control", "public, max-age=86400")
		w.Header().Set("Content-Length", strconv.Itoa(len(png)))
		if r.Method != http.MethodHead {
			_, _ = w.Write(png)
		}
	}
}

// Service is one service's presence on the fediverse: its own actor on its
// own host and, at federation, one actor per user.
type Service struct {
	// Name is the service ("blog"); its actor is @<Name>@<host>.
	Name string
	// BaseURL is the service's public base URL.
	BaseURL string
	// Title and Summary describe the service's actor.
	Title, Summary string
	// Users makes this host serve an actor per user (federation only).
	Users bool
	// FederationURL is federation's public base URL, where users' actors
	// live (for mentions and replies to them).
	FederationURL string
	// Version is the software version shown in NodeInfo.
	Version string

	DB       *pgxpool.Pool
	Key      SiteKey
	Resolver *Resolver
	// Jobs queues deliveries (Accepts of follows).
	Jobs   *river.Client[pgx.Tx]
	Logger *slog.Logger
	// Hooks is the hub's part in what arrives (services/social); nil
	// keeps followers of our actors and nothing else.
	Hooks Hooks
	// Notified is told, after the fact, of each local user an incoming
	// activity gave a notification (to refresh their badge); may be nil.
	Notified func(ctx context.Context, userID uuid.UUID)
	// Now is the clock (time.Now when nil).
	Now func() time.Time

	actorsSeen sync.Map // actor id -> when the inbox last made sure it is stored
	batchOnce  sync.Once
	batches    *batcher // the inbox's group commit (batch.go)
}

// ActorID is the id of this service's own actor.
func (s *Service) ActorID() string { return ServiceActorID(s.BaseURL, s.Name) }

func (s *Service) host() string { return hostOf(s.BaseURL) }

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// Mount adds the ActivityPub routes to r: WebFinger, NodeInfo, host-meta,
// actors with their inboxes and collections, the shared inbox, and the
// documents of activities and objects our actors published. None of them
// use the session.
func (s *Service) Mount(r chi.Router) {
	r.Use(s.negotiateHome)
	r.Get(IconPath, serveImage(iconPNG))
	r.Get(HeaderPath, serveImage(headerPNG))
	r.Get("/.well-known/webfinger", s.webfinger)
	r.Get("/.well-known/nodeinfo", s.nodeinfoLinks)
	r.Get("/.well-known/host-meta", s.hostMeta)
	r.Get("/nodeinfo/{version:2\\.[01]}", s.nodeinfo)
	r.Post("/inbox", s.inbox)
	r.Route("/users/{name}", func(r chi.Router) {
		r.Get("/", s.showActor)
		r.Post("/inbox", s.inbox)
		r.Get("/outbox", s.outbox)
		r.Get("/followers", s.followers)
		r.Get("/following", s.following)
		r.Get("/collections/featured", s.featured)
		r.Get("/activities/{id}", s.showActivity)
		r.Get("/{kind:notes|articles|events|products}/{id}", s.showObject)
	})
}

// negotiateHome answers the home page with the service's actor when a peer
// asks for ActivityStreams (the actor's url is the home page).
func (s *Service) negotiateHome(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/" && (r.Method == http.MethodGet || r.Method == http.MethodHead) && WantsAS2(r) {
			s.ServeActor(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// localActor is one of this host's actors.
type localActor struct {
	ID, Type, Username, Name, Summary, URL string
	Published                              time.Time
	UserID                                 *uuid.UUID
	// Locked actors approve their followers (manuallyApprovesFollowers).
	Locked bool
}

// local finds this host's actor called name.
func (s *Service) local(ctx context.Context, name string) (localActor, error) {
	if name == s.Name {
		return localActor{ID: s.ActorID(), Type: "Service", Username: s.Name, Name: s.Title, Summary: s.Summary,
			URL: strings.TrimRight(s.BaseURL, "/") + "/", Published: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}, nil
	}
	if !s.Users {
		return localActor{}, ErrNotFound
	}
	var a localActor
	var id uuid.UUID
	err := s.DB.QueryRow(ctx, `SELECT id, username, display_name, created_at, fediverse_locked FROM users WHERE username = $1`, name).
		Scan(&id, &a.Username, &a.Name, &a.Published, &a.Locked)
	if errors.Is(err, pgx.ErrNoRows) {
		return a, ErrNotFound
	}
	if err != nil {
		return a, err
	}
	a.ID, a.Type, a.UserID = UserActorID(s.BaseURL, a.Username), "Person", &id
	a.URL = a.ID
	if a.Name == "" {
		a.Name = a.Username
	}
	return a, nil
}

// localByID finds this host's actor with id uri.
func (s *Service) localByID(ctx context.Context, uri string) (localActor, error) {
	prefix := strings.TrimRight(s.BaseURL, "/") + "/users/"
	name, ok := strings.CutPrefix(uri, prefix)
	if !ok || name == "" || strings.ContainsAny(name, "/#?") {
		return localActor{}, ErrNotFound
	}
	return s.local(ctx, name)
}

func (s *Service) document(a localActor) map[string]any {
	base := strings.TrimRight(s.BaseURL, "/")
	return map[string]any{
		"@context": []any{ContextURL, SecurityContextURL, map[string]any{
			"manuallyApprovesFollowers": "as:manuallyApprovesFollowers",
			"toot":                      "http://joinmastodon.org/ns#",
			"discoverable":              "toot:discoverable",
			"featured":                  map[string]any{"@id": "toot:featured", "@type": "@id"},
		}},
		"id":                        a.ID,
		"type":                      a.Type,
		"preferredUsername":         a.Username,
		"name":                      a.Name,
		"summary":                   a.Summary,
		"url":                       a.URL,
		"inbox":                     a.ID + "/inbox",
		"outbox":                    a.ID + "/outbox",
		"followers":                 FollowersID(a.ID),
		"following":                 a.ID + "/following",
		"featured":                  a.ID + "/collections/featured",
		"manuallyApprovesFollowers": a.Locked,
		"discoverable":              true,
		"published":                 a.Published.UTC().Format(time.RFC3339),
		"icon":                      map[string]any{"type": "Image", "mediaType": "image/png", "url": base + IconPath},
		"image":                     map[string]any{"type": "Image", "mediaType": "image/png", "url": base + HeaderPath},
		"endpoints":                 map[string]any{"sharedInbox": base + "/inbox"},
		"publicKey":                 map[string]any{"id": KeyID(a.ID), "owner": a.ID, "publicKeyPem": s.Key.PublicPEM},
	}
}

// ServeActor writes this service's own actor document (for the HTML home
// page asked for as ActivityStreams).
func (s *Service) ServeActor(w http.ResponseWriter, r *http.Request) {
	a, _ := s.local(r.Context(), s.Name)
	WriteJSON(w, r, http.StatusOK, s.document(a))
}

func (s *Service) showActor(w http.ResponseWriter, r *http.Request) {
	a, err := s.local(r.Context(), chi.URLParam(r, "name"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if !WantsAS2(r) {
		// Browsers go to the actor's page.
		if a.URL != a.ID {
			http.Redirect(w, r, a.URL, http.StatusSeeOther)
			return
		}
		s.profilePage(w, r, a)
		return
	}
	WriteJSON(w, r, http.StatusOK, s.document(a))
}

// profilePage is a plain public page for a user's actor.
func (s *Service) profilePage(w http.ResponseWriter, r *http.Request, a localActor) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Vary", "Accept")
	fmt.Fprintf(w, "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>%s</title>"+
		"<link rel=\"alternate\" type=\"application/activity+json\" href=\"%s\"></head><body><main><h1>%s</h1><p>@%s@%s</p></main></body></html>",
		html.EscapeString(a.Name), html.EscapeString(a.ID), html.EscapeString(a.Name), html.EscapeString(a.Username), html.EscapeString(s.host()))
}

func (s *Service) fail(w http.ResponseWriter, r *http.Request, err error) {
	status, msg := http.StatusInternalServerError, "internal error"
	switch {
	case errors.Is(err, ErrNotFound):
		status, msg = http.StatusNotFound, "not found"
	case errors.Is(err, ErrGone):
		status, msg = http.StatusGone, "gone"
	default:
		s.Logger.ErrorContext(r.Context(), "activitypub", "path", r.URL.Path, "error", err)
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"status": status, "title": msg})
}

// webfinger answers acct:name@host (and the actor's URL) with the actor.
func (s *Service) webfinger(w http.ResponseWriter, r *http.Request) {
	res := r.URL.Query().Get("resource")
	if res == "" {
		http.Error(w, "resource is required", http.StatusBadRequest)
		return
	}
	var name string
	if acct, ok := strings.CutPrefix(res, "acct:"); ok {
		user, host, ok := strings.Cut(strings.TrimPrefix(acct, "@"), "@")
		if !ok || !strings.EqualFold(host, s.host()) {
			http.Error(w, "no such account on this host", http.StatusNotFound)
			return
		}
		name = user
	} else if n, ok := strings.CutPrefix(res, strings.TrimRight(s.BaseURL, "/")+"/users/"); ok {
		name = n
	} else if strings.TrimRight(res, "/") == strings.TrimRight(s.BaseURL, "/") {
		name = s.Name
	}
	a, err := s.local(r.Context(), strings.ToLower(name))
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			http.Error(w, "no such account on this host", http.StatusNotFound)
			return
		}
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/jrd+json; charset=utf-8")
	w.Header().Set("Access-Control-Allow-Origin", "*")
	w.Header().Set("Cache-Control", "max-age=300")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"subject": "acct:" + a.Username + "@" + s.host(),
		"aliases": dedupe(a.ID, a.URL),
		"links": []any{
			map[string]any{"rel": "self", "type": MediaType, "href": a.ID},
			map[string]any{"rel": "http://webfinger.net/rel/profile-page", "type": "text/html", "href": a.URL},
		},
	})
}

func dedupe(xs ...string) []string {
	var out []string
	for _, x := range xs {
		if len(out) == 0 || out[len(out)-1] != x {
			out = append(out, x)
		}
	}
	return out
}

func (s *Service) hostMeta(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/xrd+xml; charset=utf-8")
	fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?>
<XRD xmlns="http://docs.oasis-open.org/ns/xri/xrd-1.0"><Link rel="lrdd" template="%s/.well-known/webfinger?resource={uri}"/></XRD>
`, html.EscapeString(strings.TrimRight(s.BaseURL, "/")))
}

func (s *Service) nodeinfoLinks(w http.ResponseWriter, r *http.Request) {
	base := strings.TrimRight(s.BaseURL, "/")
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"links": []any{
		map[string]any{"rel": "http://nodeinfo.diaspora.software/ns/schema/2.1", "href": base + "/nodeinfo/2.1"},
		map[string]any{"rel": "http://nodeinfo.diaspora.software/ns/schema/2.0", "href": base + "/nodeinfo/2.0"},
	}})
}

func (s *Service) nodeinfo(w http.ResponseWriter, r *http.Request) {
	version := chi.URLParam(r, "version")
	var users, active, halfYear, posts int64
	err := s.DB.QueryRow(r.Context(), `
		SELECT (SELECT count(*) FROM users WHERE username IS NOT NULL),
		       (SELECT count(DISTINCT user_id) FROM ap_objects WHERE user_id IS NOT NULL AND published > now() - interval '30 days'),
		       (SELECT count(DISTINCT user_id) FROM ap_objects WHERE user_id IS NOT NULL AND published > now() - interval '180 days'),
		       (SELECT count(*) FROM ap_activities WHERE type = 'Create' AND listed)`).Scan(&users, &active, &halfYear, &posts)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	software := map[string]any{"name": Software, "version": s.Version}
	if version == "2.1" {
		software["repository"] = "https://git.rose-ash.com/rose-ash/platform"
		software["homepage"] = "https://rose-ash.com"
	}
	w.Header().Set("Content-Type", `application/json; profile="http://nodeinfo.diaspora.software/ns/schema/`+version+`#"`)
	w.Header().Set("Cache-Control", "max-age=1800")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"version":           version,
		"software":          software,
		"protocols":         []string{"activitypub"},
		"services":          map[string]any{"inbound": []string{}, "outbound": []string{"atom1.0", "rss2.0"}},
		"openRegistrations": true,
		"usage": map[string]any{
			"users":      map[string]any{"total": users, "activeMonth": active, "activeHalfyear": halfYear},
			"localPosts": posts,
		},
		"metadata": map[string]any{"nodeName": "Rose Ash " + s.Name},
	})
}

// pageSize is how many items a collection page holds.
const pageSize = 20

// collection serves an OrderedCollection whose first page is ?page=1.
func (s *Service) collection(w http.ResponseWriter, r *http.Request, id string, total int64, page func(offset int) ([]any, error)) {
	p, _ := strconv.Atoi(r.URL.Query().Get("page"))
	if r.URL.Query().Get("page") == "" || p < 1 {
		doc := map[string]any{"@context": ContextURL, "id": id, "type": "OrderedCollection", "totalItems": total}
		if total > 0 {
			doc["first"] = id + "?page=1"
			doc["last"] = id + "?page=" + strconv.FormatInt(max((total+pageSize-1)/pageSize, 1), 10)
		} else {
			doc["orderedItems"] = []any{}
		}
		WriteJSON(w, r, http.StatusOK, doc)
		return
	}
	items, err := page((p - 1) * pageSize)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if items == nil {
		items = []any{}
	}
	doc := map[string]any{"@context": ContextURL, "id": id + "?page=" + strconv.Itoa(p), "type": "OrderedCollectionPage",
		"partOf": id, "totalItems": total, "orderedItems": items}
	if int64(p*pageSize) < total {
		doc["next"] = id + "?page=" + strconv.Itoa(p+1)
	}
	if p > 1 {
		doc["prev"] = id + "?page=" + strconv.Itoa(p-1)
	}
	WriteJSON(w, r, http.StatusOK, doc)
}

func (s *Service) outbox(w http.ResponseWriter, r *http.Request) {
	a, err := s.local(r.Context(), chi.URLParam(r, "name"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var total int64
	if err := s.DB.QueryRow(r.Context(), `SELECT count(*) FROM ap_activities WHERE actor = $1 AND listed`, a.ID).Scan(&total); err != nil {
		s.fail(w, r, err)
		return
	}
	s.collection(w, r, a.ID+"/outbox", total, func(offset int) ([]any, error) {
		rows, err := s.DB.Query(r.Context(), `SELECT payload FROM ap_activities WHERE actor = $1 AND listed
			ORDER BY created_at DESC, id DESC LIMIT $2 OFFSET $3`, a.ID, pageSize, offset)
		if err != nil {
			return nil, err
		}
		docs, err := pgx.CollectRows(rows, pgx.RowTo[map[string]any])
		items := make([]any, len(docs))
		for i, d := range docs {
			delete(d, "@context")
			items[i] = d
		}
		return items, err
	})
}

func (s *Service) followers(w http.ResponseWriter, r *http.Request) {
	s.actorList(w, r, "/followers", `ap_followers`)
}

func (s *Service) following(w http.ResponseWriter, r *http.Request) {
	s.actorList(w, r, "/following", `ap_following`)
}

// actorList serves the accepted followers or followings of an actor.
func (s *Service) actorList(w http.ResponseWriter, r *http.Request, suffix, table string) {
	a, err := s.local(r.Context(), chi.URLParam(r, "name"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var total int64
	if err := s.DB.QueryRow(r.Context(), `SELECT count(*) FROM `+table+` WHERE local_actor = $1 AND state = 'accepted'`,
		a.ID).Scan(&total); err != nil {
		s.fail(w, r, err)
		return
	}
	s.collection(w, r, a.ID+suffix, total, func(offset int) ([]any, error) {
		rows, err := s.DB.Query(r.Context(), `SELECT actor_uri FROM `+table+` WHERE local_actor = $1 AND state = 'accepted'
			ORDER BY created_at DESC, actor_uri LIMIT $2 OFFSET $3`, a.ID, pageSize, offset)
		if err != nil {
			return nil, err
		}
		uris, err := pgx.CollectRows(rows, pgx.RowTo[string])
		items := make([]any, len(uris))
		for i, u := range uris {
			items[i] = u
		}
		return items, err
	})
}

// featured is the pinned posts collection: none are pinned yet, but peers
// fetch it on first contact, so it is served empty.
func (s *Service) featured(w http.ResponseWriter, r *http.Request) {
	a, err := s.local(r.Context(), chi.URLParam(r, "name"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	WriteJSON(w, r, http.StatusOK, map[string]any{"@context": ContextURL, "id": a.ID + "/collections/featured",
		"type": "OrderedCollection", "totalItems": 0, "orderedItems": []any{}})
}

// showActivity serves a listed activity our actor emitted.
func (s *Service) showActivity(w http.ResponseWriter, r *http.Request) {
	uri := strings.TrimRight(s.BaseURL, "/") + r.URL.Path
	var payload map[string]any
	err := s.DB.QueryRow(r.Context(), `SELECT payload FROM ap_activities WHERE uri = $1 AND listed`, uri).Scan(&payload)
	if errors.Is(err, pgx.ErrNoRows) {
		s.fail(w, r, ErrNotFound)
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	WriteJSON(w, r, http.StatusOK, payload)
}

func (s *Service) showObject(w http.ResponseWriter, r *http.Request) {
	s.ServeObject(w, r, strings.TrimRight(s.BaseURL, "/")+r.URL.Path)
}

// ServeObject serves an object our actors published, as its latest Create
// or Update carried it; a deleted object is a Tombstone with 410; browsers
// are sent to the object's url.
func (s *Service) ServeObject(w http.ResponseWriter, r *http.Request, uri string) {
	var typ string
	var payload map[string]any
	err := s.DB.QueryRow(r.Context(), `SELECT type, payload FROM ap_activities
		WHERE object_uri = $1 AND type IN ('Create', 'Update', 'Delete') AND listed
		ORDER BY created_at DESC, id DESC LIMIT 1`, uri).Scan(&typ, &payload)
	if errors.Is(err, pgx.ErrNoRows) {
		s.fail(w, r, ErrNotFound)
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if typ == "Delete" {
		WriteJSON(w, r, http.StatusGone, map[string]any{"@context": ContextURL, "id": uri, "type": "Tombstone"})
		return
	}
	obj, _ := payload["object"].(map[string]any)
	if obj == nil {
		s.fail(w, r, ErrNotFound)
		return
	}
	if !WantsAS2(r) {
		if u := firstURL(obj["url"]); u != "" && u != uri {
			http.Redirect(w, r, u, http.StatusSeeOther)
			return
		}
	}
	doc := map[string]any{"@context": ContextURL}
	for k, v := range obj {
		doc[k] = v
	}
	WriteJSON(w, r, http.StatusOK, doc)
}

// sameHost reports whether two URLs are on the same host.
func sameHost(a, b string) bool {
	h := hostOf(a)
	return h != "" && h == hostOf(b)
}
