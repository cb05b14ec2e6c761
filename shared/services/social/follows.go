package social

import (
	"context"
	"errors"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"rose-ash.com/platform/shared/activitypub"
	"rose-ash.com/platform/shared/activitypub/delivery"
	"rose-ash.com/platform/shared/models"
)

// FollowState returns whether actor localActor follows actorURI:
// NotFollowing, Pending, Accepted or Rejected. Errors: EInternal.
func (s *Store) FollowState(ctx context.Context, localActor, actorURI string) (string, error) {
	var state string
	err := s.db.QueryRow(ctx, `SELECT state FROM ap_following WHERE local_actor = $1 AND actor_uri = $2`,
		localActor, actorURI).Scan(&state)
	if errors.Is(err, pgx.ErrNoRows) {
		return NotFollowing, nil
	}
	if err != nil {
		return "", internal("follow state", err)
	}
	return state, nil
}

// Follow asks actorURI (an actor in ap_actors: resolve it first) to let me
// follow it: the follow is Pending until its Accept arrives, and Follow is
// sent to it alone. Following an actor already followed (or asked) does
// nothing more; a rejected follow is asked again. It returns the follow's
// state. Errors: ENotFound (unknown actor), EInvalid (me itself, or an
// actor that is gone), EInternal.
func (s *Store) Follow(ctx context.Context, me Actor, actorURI string) (string, error) {
	if actorURI == me.ID {
		return "", models.Errorf(models.EInvalid, "You cannot follow yourself.")
	}
	state := Pending
	err := s.inTx(ctx, "follow", func(tx pgx.Tx, _ *[]uuid.UUID) error {
		a, err := knownActor(ctx, tx, actorURI)
		if err != nil {
			return err
		}
		if a.GoneAt != nil {
			return models.Errorf(models.EInvalid, "That account no longer exists.")
		}
		var current string
		err = tx.QueryRow(ctx, `SELECT state FROM ap_following WHERE local_actor = $1 AND actor_uri = $2 FOR UPDATE`,
			me.ID, actorURI).Scan(&current)
		switch {
		case err == nil && current != Rejected:
			state = current
			return nil
		case err != nil && !errors.Is(err, pgx.ErrNoRows):
			return err
		}
		id := delivery.NewID(me.ID)
		tag, err := tx.Exec(ctx, `
INSERT INTO ap_following (local_actor, actor_uri, follow_uri, state) VALUES ($1, $2, $3, 'pending')
ON CONFLICT (local_actor, actor_uri) DO UPDATE SET follow_uri = excluded.follow_uri, state = 'pending', created_at = now()
WHERE ap_following.state = 'rejected'`, me.ID, actorURI, id)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 { // a concurrent follow got there first
			return tx.QueryRow(ctx, `SELECT state FROM ap_following WHERE local_actor = $1 AND actor_uri = $2`,
				me.ID, actorURI).Scan(&state)
		}
		_, err = delivery.Emit(ctx, tx, s.jobs, delivery.Activity{
			ID: id, Actor: me.ID, Type: "Follow", ObjectURI: actorURI,
			Payload: map[string]any{"@context": activitypub.ContextURL, "id": id, "type": "Follow", "actor": me.ID,
				"object": actorURI},
			Recipients: []string{actorURI},
		})
		return err
	})
	if err != nil {
		return "", err
	}
	return state, nil
}

// Unfollow stops me following actorURI (or withdraws the request): the
// follow is forgotten and Undo(Follow), with the original Follow embedded,
// is sent to it. Unfollowing an actor not followed does nothing. Errors:
// EInternal.
func (s *Store) Unfollow(ctx context.Context, me Actor, actorURI string) error {
	return s.inTx(ctx, "unfollow", func(tx pgx.Tx, _ *[]uuid.UUID) error {
		var followID string
		err := tx.QueryRow(ctx, `DELETE FROM ap_following WHERE local_actor = $1 AND actor_uri = $2 RETURNING follow_uri`,
			me.ID, actorURI).Scan(&followID)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		id := delivery.NewID(me.ID)
		_, err = delivery.Emit(ctx, tx, s.jobs, delivery.Activity{
			ID: id, Actor: me.ID, Type: "Undo", ObjectURI: followID,
			Payload: map[string]any{"@context": activitypub.ContextURL, "id": id, "type": "Undo", "actor": me.ID,
				"object": map[string]any{"id": followID, "type": "Follow", "actor": me.ID, "object": actorURI}},
			Recipients: []string{actorURI},
		})
		return err
	})
}
