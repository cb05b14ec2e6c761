// Package social is the PostgreSQL store behind federation's social hub:
// a signed-in user's home timeline, the posts we hold of a remote actor,
// follows, the user's own posts (compose, reply, delete), likes, boosts and
// notifications. Every change a remote server must hear of is written with
// its activity (delivery.Emit) in the same transaction, so nothing is said
// that was not done, and nothing done goes unsaid.
//
// A local user acts through their actor at federation,
// activitypub.UserActorID(federation URL, username); an Actor names both.
//
// This package alone writes the hub's tables: ap_objects (our users' posts
// and the remote ones we hold), ap_likes, ap_announces, ap_notifications
// and ap_following (our users' follows of remote actors). What remote
// servers send reaches them through Inbound, the activitypub.Hooks every
// service's inbox processor calls (inbound.go); what our users do, through
// Store. It reads, never writes, activitypub's tables (ap_actors,
// ap_followers) and identity's users.
package social

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"

	"rose-ash.com/platform/shared/activitypub"
	"rose-ash.com/platform/shared/models"
)

// Visibilities a local post may have (ap_objects.visibility). Remote
// objects may also be "direct".
const (
	Public    = "public"
	Unlisted  = "unlisted"
	Followers = "followers"
	Direct    = "direct"
)

// Follow states (ap_following.state); NotFollowing is the absence of a row.
const (
	NotFollowing = ""
	Pending      = "pending"
	Accepted     = "accepted"
	Rejected     = "rejected"
)

// Options configure a Store.
type Options struct {
	// FederationURL is federation's public base URL, under which users'
	// actors live (https://federation.example/users/alice).
	FederationURL string
	// ServiceActors are the platform services' own actors (the blog's,
	// the market's, events'): their public posts show on every timeline.
	ServiceActors []string
	// Lookup resolves a mentioned @user@host that is not in ap_actors yet
	// (activitypub.Resolver.Lookup, over WebFinger); nil leaves mentions of
	// unknown actors as plain text.
	Lookup func(ctx context.Context, handle string) (activitypub.RemoteActor, error)
	// Notified is called after a change committed that added or removed
	// notifications of a local user (to refresh their unread badge); nil
	// for none.
	Notified func(ctx context.Context, userID uuid.UUID)
	// Now returns the time; nil is time.Now.
	Now func() time.Time
}

// Store reads and writes the hub's data.
type Store struct {
	db   *pgxpool.Pool
	jobs *river.Client[pgx.Tx]
	o    Options
	host string // federation's host, for local handles
}

// New returns a Store on db that queues deliveries on jobs (an insert-only
// River client is enough).
func New(db *pgxpool.Pool, jobs *river.Client[pgx.Tx], o Options) *Store {
	o.FederationURL = strings.TrimRight(o.FederationURL, "/")
	if o.Now == nil {
		o.Now = time.Now
	}
	host := ""
	if u, err := url.Parse(o.FederationURL); err == nil {
		host = strings.ToLower(u.Host)
	}
	return &Store{db: db, jobs: jobs, o: o, host: host}
}

// Actor is a local user acting in the hub: who they are and their actor id.
type Actor struct {
	UserID uuid.UUID
	// ID is the user's actor id at federation.
	ID string
	// Username is the user's username, the local part of their handle.
	Username string
}

// ActorOf returns the hub actor of a signed-in user. Errors: EForbidden
// when the user has not chosen a username yet (their actor has no name).
func (s *Store) ActorOf(u models.User) (Actor, error) {
	if u.Username == "" {
		return Actor{}, models.Errorf(models.EForbidden, "Choose a username before using the social hub.")
	}
	return Actor{UserID: u.ID, ID: activitypub.UserActorID(s.o.FederationURL, u.Username), Username: u.Username}, nil
}

// LocalHandle returns the fediverse handle of a local username:
// @alice@federation.example.
func (s *Store) LocalHandle(username string) string { return "@" + username + "@" + s.host }

// localUsername returns the username of a local user's actor id, or "" for
// any other URI.
func (s *Store) localUsername(actorURI string) string {
	name, ok := strings.CutPrefix(actorURI, s.o.FederationURL+"/users/")
	if !ok || name == "" || strings.ContainsAny(name, "/?#") {
		return ""
	}
	return name
}

// IsLocal reports whether an actor id is one of our users' actors.
func (s *Store) IsLocal(actorURI string) bool { return s.localUsername(actorURI) != "" }

// ActorRef is how the hub shows an actor: a remote one from ap_actors, a
// local user from users.
type ActorRef struct {
	URI     string
	Name    string
	Handle  string
	IconURL string
	// URL is the actor's profile page on their own server ("" if unknown).
	URL string
	// Local marks our own users.
	Local bool
}

// DisplayName returns the name to show: the actor's name, else its
// username, else the last part of its id.
func (a ActorRef) DisplayName() string {
	if strings.TrimSpace(a.Name) != "" {
		return a.Name
	}
	if a.Handle != "" {
		user, _, _ := strings.Cut(strings.TrimPrefix(a.Handle, "@"), "@")
		if user != "" {
			return user
		}
	}
	i := strings.LastIndexByte(strings.TrimRight(a.URI, "/"), '/')
	return strings.TrimRight(a.URI, "/")[i+1:]
}

// LocalProfile returns a local user's actor as the hub shows it. Errors:
// ENotFound when actorURI is not a local user's actor, EInternal.
func (s *Store) LocalProfile(ctx context.Context, actorURI string) (ActorRef, error) {
	name := s.localUsername(actorURI)
	if name == "" {
		return ActorRef{}, models.Errorf(models.ENotFound, "No such account here.")
	}
	var display string
	err := s.db.QueryRow(ctx, `SELECT display_name FROM users WHERE username = $1`, name).Scan(&display)
	if errors.Is(err, pgx.ErrNoRows) {
		return ActorRef{}, models.Errorf(models.ENotFound, "No such account here.")
	}
	if err != nil {
		return ActorRef{}, internal("local profile", err)
	}
	return ActorRef{URI: actorURI, Name: display, Handle: s.LocalHandle(name), Local: true}, nil
}

// knownActor returns a row of ap_actors. Errors: ENotFound, EInternal.
func knownActor(ctx context.Context, q pgx.Tx, uri string) (activitypub.RemoteActor, error) {
	var a activitypub.RemoteActor
	err := q.QueryRow(ctx, `
SELECT uri, host, type, username, name, inbox, gone_at FROM ap_actors WHERE uri = $1`, uri).
		Scan(&a.URI, &a.Host, &a.Type, &a.Username, &a.Name, &a.Inbox, &a.GoneAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return a, models.Errorf(models.ENotFound, "We do not know that account; search for it first.")
	}
	if err != nil {
		return a, internal("known actor", err)
	}
	return a, nil
}

// localUserID returns the id of the local user behind an actor id, if it
// is one.
func (s *Store) localUserID(ctx context.Context, tx pgx.Tx, actorURI string) (uuid.UUID, bool, error) {
	name := s.localUsername(actorURI)
	if name == "" {
		return uuid.Nil, false, nil
	}
	var id uuid.UUID
	err := tx.QueryRow(ctx, `SELECT id FROM users WHERE username = $1`, name).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return uuid.Nil, false, nil
	}
	if err != nil {
		return uuid.Nil, false, internal("local user", err)
	}
	return id, true, nil
}

// notify records a notification of a local user, once per activity and
// kind (the inbox, should the activity also arrive there, adds nothing).
// It reports whether a row was added.
func notify(ctx context.Context, tx pgx.Tx, userID uuid.UUID, kind, actor, objectURI, activityURI string) (bool, error) {
	tag, err := tx.Exec(ctx, `
INSERT INTO ap_notifications (user_id, kind, actor, object_uri, activity_uri)
VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (user_id, activity_uri, kind) DO NOTHING`, userID, kind, actor, objectURI, activityURI)
	if err != nil {
		return false, internal("notify", err)
	}
	return tag.RowsAffected() == 1, nil
}

// inTx runs fn in a transaction and, once it committed, tells Notified of
// the users fn notified.
func (s *Store) inTx(ctx context.Context, what string, fn func(tx pgx.Tx, notified *[]uuid.UUID) error) error {
	var notified []uuid.UUID
	err := pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		notified = notified[:0]
		return fn(tx, &notified)
	})
	if err != nil {
		var domain *models.Error
		if errors.As(err, &domain) {
			return err
		}
		return internal(what, err)
	}
	if s.o.Notified != nil {
		for _, id := range notified {
			s.o.Notified(ctx, id)
		}
	}
	return nil
}

func internal(what string, err error) error {
	return models.Wrap(models.EInternal, "", fmt.Errorf("social: %s: %w", what, err))
}
