package activitypub

import (
	"context"

	"github.com/jackc/pgx/v5"
)

// Likes and boosts are the hub's (Hooks): here an Announce's post is kept
// first when it can be believed (fetched from its server, or boosted from
// it), so that the boost shows it.

// onLike hands a Like to the hub.
func (s *Service) onLike(ctx context.Context, tx pgx.Tx, act map[string]any, actor string) error {
	if s.Hooks == nil {
		return nil
	}
	return s.Hooks.Liked(ctx, tx, str(act["id"]), actor, idOf(act["object"]))
}

// onAnnounce keeps a boosted post that can be believed, then hands the
// boost to the hub.
func (s *Service) onAnnounce(ctx context.Context, tx pgx.Tx, act map[string]any, actor string, fromOrigin bool) error {
	obj := act["object"]
	objID := idOf(obj)
	if m, ok := obj.(map[string]any); ok && objectTypes[str(m["type"])] && (fromOrigin || sameHost(objID, actor)) {
		author := idOf(firstOf(m["attributedTo"]))
		if author != "" && sameHost(str(m["id"]), author) {
			if _, err := s.storeObject(ctx, tx, "Create", author, m, nil, true); err != nil {
				return err
			}
		}
	}
	if s.Hooks == nil {
		return nil
	}
	return s.Hooks.Announced(ctx, tx, str(act["id"]), actor, objID, parseTime(str(act["published"])))
}

// undoReaction hands the hub the Undo of a like or boost, by its id (or
// by actor and object).
func (s *Service) undoReaction(ctx context.Context, tx pgx.Tx, actor, id, object string) error {
	if s.Hooks == nil {
		return nil
	}
	return s.Hooks.ReactionUndone(ctx, tx, actor, id, object)
}
