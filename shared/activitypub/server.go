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
	"sync/atomic"
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

	participation atomic.Pointer[ParticipationHandler] // SetParticipation

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

// local finds this host's actor called name. Errors: ErrNotFound, ErrGone
// for a member whose account was erased, the database's.
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
	var deleted bool
	err := s.DB.QueryRow(ctx, `SELECT id, username, display_name, created_at, fediverse_locked, deleted_at IS NOT NULL FROM users WHERE username = $1`, name).
		Scan(&id, &a.Username, &a.Name, &a.Published, &a.Locked, &deleted)
	if errors.Is(err, pgx.ErrNoRows) {
		return a, ErrNotFound
	}
	if err != nil {
		return a, err
	}
	if deleted {
		// An erased member's actor (its username is never given to anyone
		// else): 410, so that peers drop their copy of the account, as
		// Mastodon does on a 410 and not on a 404.
		return localActor{}, ErrGone
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

// sameHost reports whether two URLs are on the same host.
func sameHost(a, b string) bool {
	h := hostOf(a)
	return h != "" && h == hostOf(b)
}
