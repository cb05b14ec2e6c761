package activitypub

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// What the processor (process.go) does with one activity: embed makes sure
// its actor is known and its object can be believed (before the
// transaction: it may fetch); handle then applies it, by family: follows
// (follows.go), posts (notes.go), likes and boosts (reactions.go), deletes
// (deletes.go). What an activity means to the hub goes to the Hooks.

// errBadActivity marks activities that are malformed (400, do not retry).
var errBadActivity = errors.New("bad activity")

// embed makes sure the actor is known and that the object of a Create,
// Update or Announce can be believed: an object given by URI is fetched
// from its server; so is an embedded one that its sender cannot vouch for
// (a Create of an object attributed to someone else, as Mobilizon sends a
// group's events; a boost of a post on another server). fromOrigin
// reports that the object now in act came from its own server.
func (s *Service) embed(ctx context.Context, act map[string]any) (fromOrigin bool, err error) {
	actor := idOf(act["actor"])
	if seen, ok := s.actorsSeen.Load(actor); !ok || time.Since(seen.(time.Time)) > time.Minute {
		if _, err := s.Resolver.Actor(ctx, actor); err != nil && !errors.Is(err, ErrGone) {
			return false, fmt.Errorf("%w: actor %s: %v", errBadActivity, actor, err)
		}
		s.actorsSeen.Store(actor, time.Now())
	}
	typ := str(act["type"])
	if typ != "Create" && typ != "Update" && typ != "Announce" {
		return false, nil
	}
	uri := idOf(act["object"])
	if m, embedded := act["object"].(map[string]any); embedded {
		if !objectTypes[str(m["type"])] {
			return false, nil
		}
		author := idOf(firstOf(m["attributedTo"]))
		switch {
		case typ != "Announce" && (author == "" || author == actor):
			return false, nil // the sender's own object
		case typ == "Announce" && sameHost(uri, actor):
			return false, nil // boosting a post of its own server
		}
	}
	if uri == "" {
		return false, nil
	}
	if typ == "Announce" {
		var have bool
		if err := s.DB.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM ap_objects WHERE uri = $1)`, uri).Scan(&have); err != nil {
			return false, err
		}
		if have || sameHost(uri, s.BaseURL) || strings.HasPrefix(uri, "/") {
			act["object"] = uri // ours or known: the boost alone is news
			return false, nil
		}
	}
	obj, err := s.Resolver.Fetch(ctx, uri)
	if err != nil {
		if typ == "Announce" {
			act["object"] = uri // the boost is kept; the object may come later
			return false, nil
		}
		return false, fmt.Errorf("%w: object %s: %v", errBadActivity, uri, err)
	}
	act["object"] = obj
	// Its author (a group, the booster's friend) is named in the hub.
	if author := idOf(firstOf(obj["attributedTo"])); author != "" && author != actor && sameHost(author, uri) {
		if _, err := s.Resolver.Actor(ctx, author); err != nil {
			s.Logger.DebugContext(ctx, "inbox: the author of a fetched object", "author", author, "error", err)
		}
	}
	return true, nil
}

// objectTypes are the objects the hub stores.
var objectTypes = map[string]bool{"Note": true, "Article": true, "Page": true, "Event": true, "Question": true}

// actorTypes are the types of actor documents.
var actorTypes = map[string]bool{"Person": true, "Service": true, "Group": true, "Organization": true, "Application": true}

// handle applies one activity; fromOrigin says its object was fetched
// from its own server, and so may be attributed to another than the
// activity's actor.
func (s *Service) handle(ctx context.Context, tx pgx.Tx, act map[string]any, fromOrigin bool) error {
	typ, actor := str(act["type"]), idOf(act["actor"])
	obj := act["object"]
	switch typ {
	case "Follow":
		return s.onFollow(ctx, tx, act, actor, idOf(obj))
	case "Accept", "Reject":
		return s.onFollowAnswer(ctx, tx, typ, actor, obj)
	case "Undo":
		if err := s.onUndo(ctx, tx, actor, obj); err != nil {
			return err
		}
		if inner, _ := obj.(map[string]any); inner == nil || str(inner["type"]) == "Join" {
			return s.onParticipation(ctx, tx, act) // the Undo of a Join, or of a bare id that may be one
		}
		return nil
	case "Join", "Leave":
		return s.onParticipation(ctx, tx, act)
	case "Create", "Update":
		return s.onCreate(ctx, tx, act, typ, actor, fromOrigin)
	case "Delete":
		return s.onDelete(ctx, tx, actor, idOf(obj))
	case "Like":
		return s.onLike(ctx, tx, act, actor)
	case "Announce":
		return s.onAnnounce(ctx, tx, act, actor, fromOrigin)
	}
	return nil // other types are accepted and ignored
}

// ParticipationHandler handles a Join, a Leave or the Undo of a Join sent
// to this service (an events actor answers and books: package agenda), in
// the transaction that handles the activity. act is the activity as
// stored, its id, type and actor those the inbox verified; its object is
// as sent (Joins are not fetched). It returns only errors worth trying
// again (the database's): the activity is then handled again later.
type ParticipationHandler func(ctx context.Context, tx pgx.Tx, act map[string]any) error

// SetParticipation makes h handle the Joins, Leaves and Undos of Joins
// that arrive from now on (nil: they are ignored, as before). It may be
// called while Run handles activities.
func (s *Service) SetParticipation(h ParticipationHandler) {
	if h == nil {
		s.participation.Store(nil)
		return
	}
	s.participation.Store(&h)
}

func (s *Service) onParticipation(ctx context.Context, tx pgx.Tx, act map[string]any) error {
	if h := s.participation.Load(); h != nil {
		return (*h)(ctx, tx, act)
	}
	return nil
}
